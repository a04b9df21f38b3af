//! Intrinsic functions (`States.Format(...)`, `States.Array(...)` ...): parsing at validation
//! time and evaluation against the state's data.

use crate::digest;
use crate::path::{JsonPath, PathMiss, Roots};
use base64::Engine as _;
use serde_json::{Map, Number, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Literal(Value),
    Path(JsonPath),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) name: String,
    pub(crate) args: Vec<Arg>,
}

const FUNCTIONS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

/// True when a `.$` value is an intrinsic call rather than a path.
pub(crate) fn looks_like_call(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

impl Call {
    pub(crate) fn parse(text: &str) -> Result<Call, String> {
        let mut p = P {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        let call = p.call()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!(
                "unexpected text after the intrinsic function call in '{text}'"
            ));
        }
        Ok(call)
    }

    pub(crate) fn evaluate(&self, roots: &Roots) -> Result<Value, String> {
        let mut args = Vec::with_capacity(self.args.len());
        for a in &self.args {
            args.push(match a {
                Arg::Literal(v) => v.clone(),
                Arg::Call(c) => c.evaluate(roots)?,
                Arg::Path(p) => p.evaluate(roots).map_err(|m| match m {
                    PathMiss::NoMatch => format!(
                        "The JsonPath argument for the field '{}' could not be found in the input",
                        p.text
                    ),
                    PathMiss::UndefinedVariable(v) => {
                        format!("The variable '{v}' is not defined")
                    }
                })?,
            });
        }
        apply(&self.name, args)
    }
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl P<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.ws();
        let start = self.i;
        while matches!(self.s.get(self.i), Some(c) if c.is_ascii_alphanumeric() || *c == b'.') {
            self.i += 1;
        }
        let name = self.text[start..self.i].to_string();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(format!("unknown intrinsic function '{name}'"));
        }
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b')') {
            self.i += 1;
            return Ok(Call { name, args });
        }
        loop {
            // States.Format's first argument is its template.
            let template = name == "States.Format" && args.is_empty();
            args.push(self.arg(template)?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(Call { name, args });
                }
                _ => return Err(format!("expected ',' or ')' in '{}'", self.text)),
            }
        }
    }

    fn arg(&mut self, template: bool) -> Result<Arg, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'\'') => self
                .string(template)
                .map(|s| Arg::Literal(Value::String(s))),
            Some(b'$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote: Option<u8> = None;
                while let Some(&c) = self.s.get(self.i) {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, b'\'' | b'"') => quote = Some(c),
                        (None, b'[' | b'(') => depth += 1,
                        (None, b']') => depth -= 1,
                        (None, b')') if depth > 0 => depth -= 1,
                        (None, b',' | b')') if depth == 0 => break,
                        _ => {}
                    }
                    self.i += 1;
                }
                let text = self.text[start..self.i].trim_end();
                JsonPath::parse(text).map(Arg::Path)
            }
            Some(b'S') => self.call().map(Arg::Call),
            _ => {
                let start = self.i;
                while matches!(self.s.get(self.i), Some(c) if *c != b',' && *c != b')') {
                    self.i += 1;
                }
                let lit = self.text[start..self.i].trim();
                serde_json::from_str::<Value>(lit)
                    .ok()
                    .filter(|v| !v.is_object() && !v.is_array() && !v.is_string())
                    .map(Arg::Literal)
                    .ok_or_else(|| format!("invalid intrinsic function argument '{lit}'"))
            }
        }
    }

    /// A quoted string argument. The States Language's escapes are `\'`, `\{`, `\}` and `\\`
    /// (for `'`, `{`, `}` and `\`); a backslash before anything else is an open escape, an
    /// error. In States.Format's template (`template`) `\{`, `\}` and `\\` stay escaped so
    /// that `format` can tell a literal brace or backslash from a `{}` placeholder; every
    /// other argument gets the plain text.
    fn string(&mut self, template: bool) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                b'\\' => match self.s.get(self.i) {
                    Some(&n @ (b'\'' | b'{' | b'}' | b'\\')) => {
                        if template && n != b'\'' {
                            out.push(b'\\');
                        }
                        out.push(n);
                        self.i += 1;
                    }
                    _ => {
                        return Err(format!(
                            "an open escape backslash in '{}': only \\', \\{{, \\}} and \\\\ are escapes in an intrinsic function's string",
                            self.text
                        ));
                    }
                },
                b'\'' => return String::from_utf8(out).map_err(|e| e.to_string()),
                _ => out.push(c),
            }
        }
        Err(format!("unterminated string literal in '{}'", self.text))
    }
}

fn num(v: &Value, f: &str) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{f}: expected a number but got {v}"))
}

fn int(v: &Value, f: &str) -> Result<i64, String> {
    match v.as_i64() {
        Some(i) => Ok(i),
        None => {
            let x = num(v, f)?;
            if x.fract() == 0.0 {
                Ok(x as i64)
            } else {
                Err(format!("{f}: expected an integer but got {v}"))
            }
        }
    }
}

fn arr<'a>(v: &'a Value, f: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{f}: expected an array but got {v}"))
}

fn string<'a>(v: &'a Value, f: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{f}: expected a string but got {v}"))
}

fn arity(f: &str, args: &[Value], min: usize, max: usize) -> Result<(), String> {
    if args.len() < min || args.len() > max {
        return Err(format!("{f}: wrong number of arguments ({})", args.len()));
    }
    Ok(())
}

/// Java's Math.round, which AWS applies to MathAdd/MathRandom/ArrayRange arguments.
fn java_round(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

// Over 80 lines on purpose: one match arm per intrinsic function, so the whole function
// library reads as one table.
fn apply(f: &str, a: Vec<Value>) -> Result<Value, String> {
    match f {
        "States.Format" => {
            arity(f, &a, 1, usize::MAX)?;
            format(string(&a[0], f)?, &a[1..])
        }
        "States.StringToJson" => {
            arity(f, &a, 1, 1)?;
            let text = string(&a[0], f)?;
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            let v: Value = serde_json::from_str(text).map_err(|e| format!("{f}: {e}"))?;
            // Java's parser reads "-0" as the integer 0.
            Ok(
                if v.as_f64() == Some(0.0) && v.is_f64() && !text.contains('.') {
                    Value::from(0)
                } else {
                    v
                },
            )
        }
        "States.JsonToString" => {
            arity(f, &a, 1, 1)?;
            Ok(Value::String(a[0].to_string()))
        }
        "States.Array" => Ok(Value::Array(a)),
        "States.ArrayPartition" => {
            arity(f, &a, 2, 2)?;
            let size = int(&a[1], f)?;
            if size <= 0 {
                return Err(format!("{f}: the chunk size must be positive, got {size}"));
            }
            let chunks = arr(&a[0], f)?
                .chunks(size as usize)
                .map(|c| Value::Array(c.to_vec()));
            Ok(Value::Array(chunks.collect()))
        }
        "States.ArrayContains" => {
            arity(f, &a, 2, 2)?;
            Ok(Value::Bool(arr(&a[0], f)?.contains(&a[1])))
        }
        "States.ArrayRange" => {
            arity(f, &a, 3, 3)?;
            let (start, end, step) = (int(&a[0], f)?, int(&a[1], f)?, int(&a[2], f)?);
            if step == 0 {
                return Err(format!("{f}: step must not be 0"));
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0 && x <= end) || (step < 0 && x >= end) {
                out.push(Value::from(x));
                if out.len() > 1000 {
                    return Err(format!("{f}: the range has more than 1000 items"));
                }
                x += step;
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            arity(f, &a, 2, 2)?;
            let idx = int(&a[1], f)?;
            usize::try_from(idx)
                .ok()
                .and_then(|i| arr(&a[0], f).ok()?.get(i).cloned())
                .ok_or_else(|| format!("{f}: index {idx} out of bounds"))
        }
        "States.ArrayLength" => {
            arity(f, &a, 1, 1)?;
            Ok(Value::from(arr(&a[0], f)?.len()))
        }
        "States.ArrayUnique" => {
            arity(f, &a, 1, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in arr(&a[0], f)? {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            arity(f, &a, 1, 1)?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(string(&a[0], f)?),
            ))
        }
        "States.Base64Decode" => {
            arity(f, &a, 1, 1)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(string(&a[0], f)?)
                .map_err(|e| format!("{f}: {e}"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|e| format!("{f}: {e}"))
        }
        "States.Hash" => {
            arity(f, &a, 2, 2)?;
            let data = match &a[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            digest::hex_digest(string(&a[1], f)?, data.as_bytes()).map(Value::String)
        }
        "States.JsonMerge" => {
            arity(f, &a, 3, 3)?;
            if a[2] != Value::Bool(false) {
                return Err(format!("{f}: only shallow merge (false) is supported"));
            }
            let (Value::Object(x), Value::Object(y)) = (&a[0], &a[1]) else {
                return Err(format!("{f}: both arguments must be objects"));
            };
            let mut out: Map<String, Value> = x.clone();
            out.extend(y.clone());
            Ok(Value::Object(out))
        }
        "States.MathRandom" => {
            arity(f, &a, 2, 3)?;
            let (lo, hi) = (java_round(num(&a[0], f)?), java_round(num(&a[1], f)?));
            if hi <= lo {
                return Err(format!("{f}: the end must be greater than the start"));
            }
            let r = u64::from_le_bytes(
                uuid::Uuid::new_v4().as_bytes()[..8]
                    .try_into()
                    .unwrap_or([0; 8]),
            );
            Ok(Value::from(lo + (r % (hi - lo) as u64) as i64))
        }
        "States.MathAdd" => {
            arity(f, &a, 2, 2)?;
            Ok(Value::from(
                java_round(num(&a[0], f)?) + java_round(num(&a[1], f)?),
            ))
        }
        "States.StringSplit" => {
            arity(f, &a, 2, 2)?;
            let delims: Vec<char> = string(&a[1], f)?.chars().collect();
            let parts = string(&a[0], f)?
                .split(|c| delims.contains(&c))
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()));
            Ok(Value::Array(parts.collect()))
        }
        "States.UUID" => {
            arity(f, &a, 0, 0)?;
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        _ => Err(format!("unknown intrinsic function '{f}'")),
    }
}

fn format(template: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = next
                    .next()
                    .ok_or("States.Format: more placeholders than arguments".to_string())?;
                out.push_str(&java_text(v));
            }
            _ => out.push(c),
        }
    }
    if next.next().is_some() {
        return Err("States.Format: more arguments than placeholders".into());
    }
    Ok(Value::String(out))
}

/// How AWS (Java) renders a value inside States.Format: strings raw, objects as `{k=v, ...}`.
fn java_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => number_text(n),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(java_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{k}={}", java_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn number_text(n: &Number) -> String {
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, input: Value) -> Result<Value, String> {
        let ctx = json!({});
        let vars = Map::new();
        Call::parse(expr)?.evaluate(&Roots {
            input: &input,
            context: &ctx,
            variables: &vars,
            states: None,
        })
    }

    #[test]
    fn format_and_friends() {
        assert_eq!(
            run(
                "States.Format('Payment {} is {}.', $.id, $.s)",
                json!({"id": "p1", "s": "OK"})
            )
            .unwrap(),
            json!("Payment p1 is OK.")
        );
        assert_eq!(
            run("States.Format('\\{\\} {}', 1)", json!({})).unwrap(),
            json!("{} 1")
        );
        assert_eq!(
            run("States.MathAdd(1.5, -2.5)", json!({})).unwrap(),
            json!(0)
        );
        assert_eq!(
            run("States.ArrayLength(States.Array(1, 'a', null))", json!({})).unwrap(),
            json!(3)
        );
        assert_eq!(
            run("States.StringSplit('a,,b', ',')", json!({})).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            run("States.Hash('input data', 'MD5')", json!({})).unwrap(),
            json!("812f45842bc6d66ee14572ce20db8e86")
        );
    }

    /// Every escape the States Language defines for intrinsic strings (`\'`, `\{`, `\}`, `\\`),
    /// in States.Format's template and in plain arguments. (Rust raw strings: what is written
    /// here is the intrinsic text itself, after JSON unescaping.)
    #[test]
    fn string_escapes() {
        let cases: &[(&str, Value)] = &[
            (r"States.Format('it\'s')", json!("it's")),
            (r"States.Format('\{\}')", json!("{}")),
            (r"States.Format('\{{}\}', 'x')", json!("{x}")),
            (r"States.Format('a\\b')", json!("a\\b")),
            (r"States.Format('C:\\{}', 'dir')", json!("C:\\dir")),
            (r"States.Format('\\\{')", json!("\\{")),
            (r"States.Format('\\\\')", json!("\\\\")),
            (r"States.Format('{} \\ {}', 'a', 'b')", json!("a \\ b")),
            (
                r"States.Array('it\'s', '\{x\}', 'a\\b', '\\')",
                json!(["it's", "{x}", "a\\b", "\\"]),
            ),
            (
                r"States.StringSplit('a\\b\\c', '\\')",
                json!(["a", "b", "c"]),
            ),
            (r"States.Format('{}', 'a\\{}')", json!("a\\{}")),
            (r"States.JsonToString('\{\}')", json!("\"{}\"")),
        ];
        for (expr, want) in cases {
            assert_eq!(&run(expr, json!({})).unwrap(), want, "{expr}");
        }
    }

    /// A template from a path is read as it always was: `{}` placeholders, `\x` is `x`.
    #[test]
    fn template_from_a_path() {
        assert_eq!(
            run("States.Format($.t, 'x')", json!({"t": "a{}b \\{\\}"})).unwrap(),
            json!("axb {}")
        );
    }

    /// A backslash that escapes nothing (an open escape) is refused, as the spec says.
    #[test]
    fn open_escapes_are_refused() {
        for expr in [
            r"States.Format('a\nb')",
            r"States.Array('\x')",
            r"States.Format('a\ ')",
        ] {
            let e = Call::parse(expr).unwrap_err();
            assert!(e.contains("open escape"), "{expr}: {e}");
        }
        let e = Call::parse(r"States.Format('a\')").unwrap_err();
        assert!(e.contains("unterminated"), "{e}");
    }

    /// Objects keep their own key order through JsonToString, StringToJson, JsonMerge and
    /// States.Format's rendering of an object.
    #[test]
    fn objects_keep_their_key_order() {
        let input: Value = serde_json::from_str(
            r#"{"o": {"zebra": 1, "apple": {"y": 2, "x": 3}}, "p": {"mango": 4, "apple": 5}}"#,
        )
        .unwrap();
        assert_eq!(
            run("States.JsonToString($.o)", input.clone()).unwrap(),
            json!(r#"{"zebra":1,"apple":{"y":2,"x":3}}"#)
        );
        assert_eq!(
            run(
                "States.JsonToString(States.StringToJson('\\{\"b\":1,\"a\":2\\}'))",
                json!({})
            )
            .unwrap(),
            json!(r#"{"b":1,"a":2}"#)
        );
        assert_eq!(
            run(
                "States.JsonToString(States.JsonMerge($.o, $.p, false))",
                input.clone()
            )
            .unwrap(),
            json!(r#"{"zebra":1,"apple":5,"mango":4}"#)
        );
        assert_eq!(
            run("States.Format('{}', $.o)", input).unwrap(),
            json!("{zebra=1, apple={y=2, x=3}}")
        );
    }
}
