//! String functions: `$string`, `$substring`, `$pad`, `$split`, `$join`, `$replace`, `$match` ...

use super::{Args, arg, num_val, number_arg, signature, some, str_val, string_arg, unknown};
use crate::jsonata::JsonataError;
use crate::jsonata::value::{Apply, JValue, MAX_ARRAY, Object, Out, stringify};
use base64::Engine as _;

pub(super) const NAMES: &[&str] = &[
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "replace",
    "match",
    "base64encode",
    "base64decode",
];

// Over 80 lines on purpose: one match arm per function of this group (a dispatch table).
pub(super) fn call(ev: &mut dyn Apply, f: &str, a: &Args, input: Option<&JValue>) -> Out {
    match f {
        "string" => match arg(a, 0) {
            None => Ok(None),
            Some(JValue::Number(n)) if !n.is_finite() => Err(JsonataError::new(
                "D3001",
                "Attempting to invoke string function on Infinity or NaN",
            )),
            Some(v) => str_val(stringify(v)?),
        },
        "length" => match string_arg(a, 0, f)? {
            None => Ok(None),
            Some(s) => num_val(s.chars().count() as f64),
        },
        "substring" => {
            let Some(s) = string_arg(a, 0, f)? else {
                return Ok(None);
            };
            let start = number_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            let len = number_arg(a, 2, f)?;
            str_val(chars_slice(&s, start as i64, len.map(|l| l as i64)))
        }
        "substringBefore" | "substringAfter" => {
            let Some(s) = string_arg(a, 0, f)? else {
                return Ok(None);
            };
            let sep = string_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
            str_val(match s.find(&sep) {
                None => s.clone(),
                Some(i) if f == "substringBefore" => s[..i].to_string(),
                Some(i) => s[i + sep.len()..].to_string(),
            })
        }
        "uppercase" => Ok(string_arg(a, 0, f)?.map(|s| JValue::String(s.to_uppercase()))),
        "lowercase" => Ok(string_arg(a, 0, f)?.map(|s| JValue::String(s.to_lowercase()))),
        "trim" => Ok(string_arg(a, 0, f)?
            .map(|s| JValue::String(s.split_whitespace().collect::<Vec<_>>().join(" ")))),
        "pad" => {
            let Some(s) = string_arg(a, 0, f)? else {
                return Ok(None);
            };
            let width = number_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))? as i64;
            let fill = string_arg(a, 2, f)?
                .filter(|c| !c.is_empty())
                .unwrap_or(" ".into());
            let len = s.chars().count() as i64;
            let missing = (width.saturating_abs() - len).clamp(0, MAX_ARRAY as i64) as usize;
            let padding: String = fill.chars().cycle().take(missing).collect();
            str_val(if width < 0 {
                format!("{padding}{s}")
            } else {
                format!("{s}{padding}")
            })
        }
        "contains" => {
            let Some(s) = string_arg(a, 0, f)? else {
                return Ok(None);
            };
            let found = match pattern_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))? {
                Pattern::Text(t) => s.contains(&t),
                Pattern::Regex(r) => r.is_match(&s),
            };
            some(JValue::Bool(found))
        }
        "split" => {
            let Some(s) = string_arg(a, 0, f)? else {
                return Ok(None);
            };
            let limit = number_arg(a, 2, f)?
                .map(|l| l.max(0.0) as usize)
                .unwrap_or(usize::MAX);
            let parts: Vec<JValue> = match pattern_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))? {
                Pattern::Text(t) if t.is_empty() => {
                    s.chars().map(|c| JValue::String(c.to_string())).collect()
                }
                Pattern::Text(t) => s
                    .split(t.as_str())
                    .map(|p| JValue::String(p.into()))
                    .collect(),
                Pattern::Regex(r) => r.split(&s).map(|p| JValue::String(p.into())).collect(),
            };
            some(JValue::array(parts.into_iter().take(limit).collect()))
        }
        "join" => {
            let Some(v) = arg(a, 0) else { return Ok(None) };
            let sep = string_arg(a, 1, f)?.unwrap_or_default();
            let parts = v
                .clone()
                .into_items()
                .into_iter()
                .map(|x| match x {
                    JValue::String(s) => Ok(s),
                    _ => Err(signature(f, 0)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            str_val(parts.join(&sep))
        }
        "replace" => replace(ev, a, input),
        "match" => {
            let Some(s) = string_arg(a, 0, f)? else {
                return Ok(None);
            };
            let Some(Pattern::Regex(r)) = pattern_arg(a, 1, f)? else {
                return Err(signature(f, 1));
            };
            let limit = number_arg(a, 2, f)?
                .map(|l| l.max(0.0) as usize)
                .unwrap_or(usize::MAX);
            let matches = r
                .captures_iter(&s)
                .take(limit)
                .map(|c| match_object(&s, &c))
                .collect();
            Ok(Some(JValue::sequence(matches)))
        }
        "base64encode" => Ok(string_arg(a, 0, f)?
            .map(|s| JValue::String(base64::engine::general_purpose::STANDARD.encode(s)))),
        "base64decode" => match string_arg(a, 0, f)? {
            None => Ok(None),
            Some(s) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|e| JsonataError::new("D3137", format!("$base64decode: {e}")))?;
                str_val(String::from_utf8_lossy(&bytes).into_owned())
            }
        },
        other => Err(unknown(other)),
    }
}

/// Pattern arguments are a string or a regular expression.
enum Pattern {
    Text(String),
    Regex(std::rc::Rc<regex::Regex>),
}

fn pattern_arg(a: &Args, i: usize, f: &str) -> Result<Option<Pattern>, JsonataError> {
    match arg(a, i) {
        None => Ok(None),
        Some(JValue::String(s)) => Ok(Some(Pattern::Text(s.clone()))),
        Some(JValue::Regex(r)) => Ok(Some(Pattern::Regex(r.clone()))),
        Some(_) => Err(signature(f, i)),
    }
}

fn chars_slice(s: &str, start: i64, len: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let mut from = if start < 0 {
        n.saturating_add(start).max(0)
    } else {
        start.min(n)
    };
    let to = match len {
        None => n,
        Some(l) if l <= 0 => from,
        Some(l) => from.saturating_add(l).min(n),
    };
    from = from.min(to);
    chars[from as usize..to as usize].iter().collect()
}

fn match_object(s: &str, c: &regex::Captures) -> JValue {
    let whole = c.get(0);
    let groups = (1..c.len())
        .map(|i| JValue::String(c.get(i).map(|m| m.as_str().to_string()).unwrap_or_default()))
        .collect();
    let index = whole.map(|m| s[..m.start()].chars().count()).unwrap_or(0);
    JValue::Object(Object::from([
        (
            "match".to_string(),
            JValue::String(whole.map(|m| m.as_str().to_string()).unwrap_or_default()),
        ),
        ("index".to_string(), JValue::Number(index as f64)),
        ("groups".to_string(), JValue::array(groups)),
    ]))
}

/// `$0`, `$1` ... in a replacement string refer to the match and its groups; `$$` is `$`.
fn expand(replacement: &str, c: &regex::Captures) -> String {
    let mut out = String::new();
    let chars: Vec<char> = replacement.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            if chars.get(i + 1) == Some(&'$') {
                out.push('$');
                i += 2;
                continue;
            }
            let digits: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if !digits.is_empty() {
                // The longest group number that exists wins, as in JavaScript.
                let mut used = digits.len();
                while used > 0 {
                    if let Ok(g) = digits[..used].parse::<usize>()
                        && g < c.len()
                    {
                        out.push_str(c.get(g).map(|m| m.as_str()).unwrap_or(""));
                        break;
                    }
                    used -= 1;
                }
                if used == 0 {
                    out.push('$');
                    i += 1;
                    continue;
                }
                i += 1 + used;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn replace(ev: &mut dyn Apply, a: &Args, input: Option<&JValue>) -> Out {
    let f = "replace";
    let Some(s) = string_arg(a, 0, f)? else {
        return Ok(None);
    };
    let pattern = pattern_arg(a, 1, f)?.ok_or_else(|| signature(f, 1))?;
    let limit = number_arg(a, 3, f)?
        .map(|l| l.max(0.0) as usize)
        .unwrap_or(usize::MAX);
    let replacement = arg(a, 2).cloned().ok_or_else(|| signature(f, 2))?;
    match pattern {
        Pattern::Text(t) => {
            if t.is_empty() {
                return Err(JsonataError::new(
                    "D3010",
                    "Second argument of replace function cannot be an empty string",
                ));
            }
            let JValue::String(r) = replacement else {
                return Err(signature(f, 2));
            };
            str_val(s.replacen(t.as_str(), &r, limit))
        }
        Pattern::Regex(re) => {
            let mut out = String::new();
            let mut last = 0;
            for c in re.captures_iter(&s).take(limit) {
                let Some(m) = c.get(0) else { continue };
                out.push_str(&s[last..m.start()]);
                match &replacement {
                    JValue::String(r) => out.push_str(&expand(r, &c)),
                    fun if fun.is_function() => {
                        match ev.apply(fun, vec![Some(match_object(&s, &c))], input)? {
                            Some(JValue::String(r)) => out.push_str(&r),
                            _ => {
                                return Err(JsonataError::new(
                                    "D3012",
                                    "Attempted to replace a matched string with a non-string value",
                                ));
                            }
                        }
                    }
                    _ => return Err(signature(f, 2)),
                }
                last = m.end();
            }
            out.push_str(&s[last..]);
            str_val(out)
        }
    }
}
