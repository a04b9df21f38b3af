//! Splits a JSONata expression into tokens. A `/` starts a regular expression only where an
//! operand is expected, which is why the lexer tracks the previous token.

use super::JsonataError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Str(String),
    Num(f64),
    /// A field name or keyword (`and`, `or`, `in`, `true`, `function` ...); backquoted names
    /// are `Name` too but never keywords (`quoted`).
    Name(String, bool),
    /// `$name`; `$` alone is the empty name, `$$` is `"$"`.
    Var(String),
    Regex(String, String),
    Op(&'static str),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

const OPS: &[&str] = &[
    "..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??", ".", "[", "]", "{", "}", "(", ")", ",",
    "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "<", ">", "^", "&", "!",
];

// Over 80 lines on purpose: one scanning loop with an arm per token class; split up, the
// position bookkeeping would be shared across functions.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, JsonataError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let rest: String = chars[i + 2..].iter().collect();
            let end = rest
                .find("*/")
                .ok_or_else(|| JsonataError::syntax("S0106", "Comment has no closing tag", i))?;
            i += 2 + rest[..end].chars().count() + 2;
            continue;
        }
        let pos = i;
        if c == '/' && operand_expected(out.last()) {
            let (tok, next) = regex(&chars, i)?;
            out.push(Token { tok, pos });
            i = next;
            continue;
        }
        if c == '"' || c == '\'' {
            let (s, next) = string(&chars, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            i = next;
            continue;
        }
        if c.is_ascii_digit() {
            let (n, next) = number(&chars, i)?;
            out.push(Token {
                tok: Tok::Num(n),
                pos,
            });
            i = next;
            continue;
        }
        if c == '`' {
            let end = chars[i + 1..]
                .iter()
                .position(|&x| x == '`')
                .ok_or_else(|| {
                    JsonataError::syntax(
                        "S0105",
                        "Quoted property name must be terminated with a backquote (`)",
                        i,
                    )
                })?;
            let name: String = chars[i + 1..i + 1 + end].iter().collect();
            out.push(Token {
                tok: Tok::Name(name, true),
                pos,
            });
            i += end + 2;
            continue;
        }
        if c == '$' {
            let mut j = i + 1;
            if chars.get(j) == Some(&'$') {
                out.push(Token {
                    tok: Tok::Var("$".into()),
                    pos,
                });
                i = j + 1;
                continue;
            }
            while j < chars.len() && is_name_char(chars[j]) {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Var(chars[i + 1..j].iter().collect()),
                pos,
            });
            i = j;
            continue;
        }
        if let Some(op) = OPS.iter().find(|op| {
            op.chars()
                .enumerate()
                .all(|(k, oc)| chars.get(i + k) == Some(&oc))
        }) {
            out.push(Token {
                tok: Tok::Op(op),
                pos,
            });
            i += op.chars().count();
            continue;
        }
        if is_name_char(c) {
            let mut j = i;
            while j < chars.len() && is_name_char(chars[j]) {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Name(chars[i..j].iter().collect(), false),
                pos,
            });
            i = j;
            continue;
        }
        return Err(JsonataError::syntax(
            "S0204",
            format!("Unknown operator: \"{c}\""),
            i,
        ));
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    !c.is_whitespace() && !"`'\".,[]{}()@#;:?+-*/%|=<>^&!~$".contains(c)
}

/// A `/` after an operator (or at the start) begins a regex; after an operand it divides.
fn operand_expected(prev: Option<&Token>) -> bool {
    match prev.map(|t| &t.tok) {
        None => true,
        Some(Tok::Op(op)) => !matches!(*op, ")" | "]" | "}"),
        Some(Tok::Name(n, false)) => matches!(n.as_str(), "and" | "or" | "in"),
        Some(_) => false,
    }
}

fn regex(chars: &[char], start: usize) -> Result<(Tok, usize), JsonataError> {
    let mut i = start + 1;
    let mut pattern = String::new();
    let mut in_class = false;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(JsonataError::syntax(
                "S0302",
                "No terminating / in regular expression",
                start,
            ));
        };
        match c {
            '\\' => {
                pattern.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    pattern.push(n);
                }
                i += 2;
                continue;
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '/' if !in_class => break,
            _ => {}
        }
        pattern.push(c);
        i += 1;
    }
    i += 1;
    let mut flags = String::new();
    while let Some(&c) = chars.get(i) {
        if !c.is_ascii_alphabetic() {
            break;
        }
        flags.push(c);
        i += 1;
    }
    if pattern.is_empty() {
        return Err(JsonataError::syntax(
            "S0301",
            "Empty regular expressions are not allowed",
            start,
        ));
    }
    Ok((Tok::Regex(pattern, flags), i))
}

fn string(chars: &[char], start: usize) -> Result<(String, usize), JsonataError> {
    let quote = chars[start];
    let mut i = start + 1;
    let mut s = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(JsonataError::syntax(
                "S0101",
                "String literal must be terminated by a matching quote",
                start,
            ));
        };
        i += 1;
        if c == quote {
            return Ok((s, i));
        }
        if c != '\\' {
            s.push(c);
            continue;
        }
        let Some(&e) = chars.get(i) else { continue };
        i += 1;
        match e {
            '"' | '\\' | '/' | '\'' => s.push(e),
            'b' => s.push('\u{8}'),
            'f' => s.push('\u{c}'),
            'n' => s.push('\n'),
            'r' => s.push('\r'),
            't' => s.push('\t'),
            'u' => {
                let hex: String = chars.iter().skip(i).take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .ok_or_else(|| {
                        JsonataError::syntax(
                            "S0104",
                            "The escape sequence \\u must be followed by 4 hex digits",
                            i,
                        )
                    })?;
                i += 4;
                // Surrogate pairs arrive as two escapes; an unpaired half becomes U+FFFD.
                if (0xD800..0xDC00).contains(&code)
                    && chars.get(i) == Some(&'\\')
                    && chars.get(i + 1) == Some(&'u')
                {
                    let low: String = chars.iter().skip(i + 2).take(4).collect();
                    if let Ok(lo) = u32::from_str_radix(&low, 16)
                        && (0xDC00..0xE000).contains(&lo)
                    {
                        let c = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                        s.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                        i += 6;
                        continue;
                    }
                }
                s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            other => {
                return Err(JsonataError::syntax(
                    "S0103",
                    format!("Unsupported escape sequence: \\{other}"),
                    i,
                ));
            }
        }
    }
}

fn number(chars: &[char], start: usize) -> Result<(f64, usize), JsonataError> {
    let mut i = start;
    let digits = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_ascii_digit()) {
            *i += 1;
        }
    };
    digits(&mut i);
    // `1..5` is a range, not the number `1.`.
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        i += 1;
        digits(&mut i);
    }
    if matches!(chars.get(i), Some('e') | Some('E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+') | Some('-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            i = j;
            digits(&mut i);
        }
    }
    let text: String = chars[start..i].iter().collect();
    let n: f64 = text.parse().map_err(|_| {
        JsonataError::syntax("S0102", format!("Number out of range: {text}"), start)
    })?;
    if !n.is_finite() {
        return Err(JsonataError::syntax(
            "S0102",
            format!("Number out of range: {text}"),
            start,
        ));
    }
    Ok((n, i))
}
