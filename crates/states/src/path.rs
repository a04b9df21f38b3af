//! The JSONPath subset that Amazon States Language accepts: `$` (state input), `$$` (context
//! object), member names, indexes, slices, wildcards, unions, deep scan and simple filters; plus
//! ResultPath's "write a value at a definite path".

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Root {
    /// `$`: the value the path is applied to (state input, effective input, result ...).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable (Assign).
    Variable(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Member(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<Segment>),
    Deep(Box<Segment>),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Exists(Vec<Segment>),
    Compare(Vec<Segment>, CmpOp, Value),
    Regex(Vec<Segment>, String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed path. `text` keeps the source for error messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    pub(crate) text: String,
    pub(crate) root: Root,
    segments: Vec<Segment>,
}

/// The data a path can reach.
pub(crate) struct Roots<'a> {
    pub(crate) input: &'a Value,
    pub(crate) context: &'a Value,
    pub(crate) variables: &'a Map<String, Value>,
    /// JSONata's `$states` (`input`, `context`, `result`, `errorOutput`); None in JSONPath states.
    pub(crate) states: Option<&'a Value>,
}

/// Why a path matched nothing; callers turn it into AWS's wording for their field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PathMiss {
    NoMatch,
    UndefinedVariable(String),
}

impl JsonPath {
    pub(crate) fn parse(text: &str) -> Result<JsonPath, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        let root = p.root()?;
        let mut segments = Vec::new();
        while p.i < p.s.len() {
            segments.push(p.segment()?);
        }
        Ok(JsonPath {
            text: text.to_string(),
            root,
            segments,
        })
    }

    /// Definite paths select at most one value; the others yield an array of matches.
    pub(crate) fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Member(_) | Segment::Index(_)))
    }

    /// Member/index steps when the path is definite (used for ResultPath writes).
    fn definite_steps(&self) -> Option<Vec<Step>> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Member(m) => Some(Step::Member(m.clone())),
                Segment::Index(i) => Some(Step::Index(*i)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn evaluate(&self, roots: &Roots) -> Result<Value, PathMiss> {
        let base = match &self.root {
            Root::Input => roots.input,
            Root::Context => roots.context,
            Root::Variable(name) => roots
                .variables
                .get(name)
                .ok_or_else(|| PathMiss::UndefinedVariable(name.clone()))?,
        };
        let mut current = vec![base.clone()];
        for seg in &self.segments {
            current = current.iter().flat_map(|v| apply(seg, v)).collect();
        }
        if self.is_definite() {
            current.into_iter().next().ok_or(PathMiss::NoMatch)
        } else {
            Ok(Value::Array(current))
        }
    }

    /// AWS's normalized form, used in "No results for path: $['a']['b']".
    pub(crate) fn normalized(&self) -> String {
        let mut out = String::from("$");
        for s in &self.segments {
            match s {
                Segment::Member(m) => out.push_str(&format!("['{m}']")),
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                _ => out.push_str("[*]"),
            }
        }
        out
    }
}

enum Step {
    Member(String),
    Index(i64),
}

/// Writes `value` into `target` at the definite path (ResultPath semantics: missing objects
/// are created, existing non-objects on the way are replaced).
pub(crate) fn write_at(path: &JsonPath, target: Value, value: Value) -> Result<Value, String> {
    let steps = path
        .definite_steps()
        .ok_or_else(|| format!("The path '{}' is not a reference path", path.text))?;
    let mut root = target;
    {
        let mut cur = &mut root;
        for step in &steps {
            cur = match step {
                Step::Member(m) => {
                    if !cur.is_object() {
                        *cur = Value::Object(Map::new());
                    }
                    let Value::Object(obj) = cur else {
                        return Err("unreachable".into());
                    };
                    obj.entry(m.clone()).or_insert(Value::Null)
                }
                Step::Index(i) => {
                    let Value::Array(arr) = cur else {
                        return Err(format!(
                            "Unable to apply ResultPath '{}': index on a non-array",
                            path.text
                        ));
                    };
                    let len = arr.len() as i64;
                    let idx = if *i < 0 { len + i } else { *i };
                    if idx < 0 || idx >= len {
                        return Err(format!(
                            "Unable to apply ResultPath '{}': index out of bounds",
                            path.text
                        ));
                    }
                    &mut arr[idx as usize]
                }
            };
        }
        *cur = value;
    }
    Ok(root)
}

fn apply(seg: &Segment, v: &Value) -> Vec<Value> {
    match seg {
        Segment::Member(m) => v.get(m.as_str()).cloned().into_iter().collect(),
        Segment::Index(i) => match v {
            Value::Array(a) => {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if idx >= 0 {
                    a.get(idx as usize).cloned().into_iter().collect()
                } else {
                    vec![]
                }
            }
            _ => vec![],
        },
        Segment::Wildcard => match v {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o.values().cloned().collect(),
            _ => vec![],
        },
        Segment::Slice(start, end, step) => match v {
            Value::Array(a) => slice(a, *start, *end, *step),
            _ => vec![],
        },
        Segment::Union(parts) => parts.iter().flat_map(|p| apply(p, v)).collect(),
        Segment::Deep(inner) => {
            let mut out = Vec::new();
            deep(inner, v, &mut out);
            out
        }
        Segment::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => o.values().collect(),
                _ => vec![],
            };
            items
                .into_iter()
                .filter(|item| filter_matches(f, item))
                .cloned()
                .collect()
        }
    }
}

fn deep(inner: &Segment, v: &Value, out: &mut Vec<Value>) {
    out.extend(apply(inner, v));
    match v {
        Value::Array(a) => a.iter().for_each(|c| deep(inner, c, out)),
        Value::Object(o) => o.values().for_each(|c| deep(inner, c, out)),
        _ => {}
    }
}

fn slice(a: &[Value], start: Option<i64>, end: Option<i64>, step: Option<i64>) -> Vec<Value> {
    let len = a.len() as i64;
    let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
    let step = step.unwrap_or(1);
    if step <= 0 {
        return vec![];
    }
    let s = norm(start.unwrap_or(0));
    let e = norm(end.unwrap_or(len));
    (s..e)
        .step_by(step as usize)
        .filter_map(|i| a.get(i as usize).cloned())
        .collect()
}

fn select_rel(segs: &[Segment], v: &Value) -> Option<Value> {
    let mut current = vec![v.clone()];
    for s in segs {
        current = current.iter().flat_map(|c| apply(s, c)).collect();
    }
    current.into_iter().next()
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    match f {
        Filter::Exists(segs) => select_rel(segs, item).is_some(),
        Filter::Regex(segs, re) => match (select_rel(segs, item), regex::Regex::new(re)) {
            (Some(Value::String(s)), Ok(r)) => r.is_match(&s),
            _ => false,
        },
        Filter::Compare(segs, op, rhs) => {
            let Some(lhs) = select_rel(segs, item) else {
                return false;
            };
            let ord = match (&lhs, rhs) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            match op {
                CmpOp::Eq => ord == Some(std::cmp::Ordering::Equal) || lhs == *rhs,
                CmpOp::Ne => !(ord == Some(std::cmp::Ordering::Equal) || lhs == *rhs),
                CmpOp::Lt => ord == Some(std::cmp::Ordering::Less),
                CmpOp::Le => matches!(ord, Some(o) if o != std::cmp::Ordering::Greater),
                CmpOp::Gt => ord == Some(std::cmp::Ordering::Greater),
                CmpOp::Ge => matches!(ord, Some(o) if o != std::cmp::Ordering::Less),
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!(
            "invalid JSONPath '{}': {what} at position {}",
            self.text, self.i
        )
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn root(&mut self) -> Result<Root, String> {
        if self.peek() != Some(b'$') {
            return Err(self.err("must start with '$'"));
        }
        self.i += 1;
        if self.peek() == Some(b'$') {
            self.i += 1;
            return Ok(Root::Context);
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            Ok(Root::Input)
        } else {
            Ok(Root::Variable(self.text[start..self.i].to_string()))
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            return Err(self.err("empty member name"));
        }
        Ok(self.text[start..self.i].to_string())
    }

    fn segment(&mut self) -> Result<Segment, String> {
        match self.peek() {
            Some(b'.') => {
                self.i += 1;
                if self.peek() == Some(b'.') {
                    self.i += 1;
                    let inner = if self.peek() == Some(b'[') {
                        self.bracket()?
                    } else if self.peek() == Some(b'*') {
                        self.i += 1;
                        Segment::Wildcard
                    } else {
                        Segment::Member(self.name()?)
                    };
                    return Ok(Segment::Deep(Box::new(inner)));
                }
                if self.peek() == Some(b'*') {
                    self.i += 1;
                    return Ok(Segment::Wildcard);
                }
                Ok(Segment::Member(self.name()?))
            }
            Some(b'[') => self.bracket(),
            _ => Err(self.err("expected '.' or '['")),
        }
    }

    fn skip_ws(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or_else(|| self.err("expected quote"))?;
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\\' && self.peek() == Some(q) {
                // Only the quote itself is escaped; other backslashes are literal.
                out.push(q);
                self.i += 1;
            } else if c == q {
                return String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"));
            } else {
                out.push(c);
            }
        }
        Err(self.err("unterminated string"))
    }

    fn int(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if self.i == start {
            return Ok(None);
        }
        self.text[start..self.i]
            .parse()
            .map(Some)
            .map_err(|_| self.err("bad number"))
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        self.expect(b'[')?;
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Segment::Wildcard
            }
            Some(b'\'') | Some(b'"') => {
                let mut names = vec![Segment::Member(self.quoted()?)];
                self.skip_ws();
                while self.peek() == Some(b',') {
                    self.i += 1;
                    self.skip_ws();
                    names.push(Segment::Member(self.quoted()?));
                    self.skip_ws();
                }
                if names.len() == 1 {
                    names.remove(0)
                } else {
                    Segment::Union(names)
                }
            }
            Some(b'?') => {
                self.i += 1;
                self.expect(b'(')?;
                let f = self.filter()?;
                self.expect(b')')?;
                Segment::Filter(f)
            }
            _ => {
                let first = self.int()?;
                self.skip_ws();
                match self.peek() {
                    Some(b':') => {
                        self.i += 1;
                        let end = self.int()?;
                        self.skip_ws();
                        let step = if self.peek() == Some(b':') {
                            self.i += 1;
                            self.int()?
                        } else {
                            None
                        };
                        Segment::Slice(first, end, step)
                    }
                    Some(b',') => {
                        let mut idx = vec![Segment::Index(first.ok_or_else(|| self.err("index"))?)];
                        while self.peek() == Some(b',') {
                            self.i += 1;
                            idx.push(Segment::Index(
                                self.int()?.ok_or_else(|| self.err("index"))?,
                            ));
                            self.skip_ws();
                        }
                        Segment::Union(idx)
                    }
                    _ => Segment::Index(first.ok_or_else(|| self.err("expected index"))?),
                }
            }
        };
        self.expect(b']')?;
        Ok(seg)
    }

    fn filter(&mut self) -> Result<Filter, String> {
        self.skip_ws();
        if self.peek() != Some(b'@') {
            return Err(self.err("filter must start with '@'"));
        }
        self.i += 1;
        let mut segs = Vec::new();
        while matches!(self.peek(), Some(b'.') | Some(b'[')) {
            segs.push(self.segment_in_filter()?);
        }
        self.skip_ws();
        let rest = &self.text[self.i..];
        let ops = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        if rest.starts_with("=~") {
            self.i += 2;
            self.skip_ws();
            if self.peek() != Some(b'/') {
                return Err(self.err("expected /regex/"));
            }
            self.i += 1;
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'/' {
                    break;
                }
                self.i += 1;
            }
            let re = self.text[start..self.i].to_string();
            self.expect(b'/')?;
            // Flags such as /i are accepted and applied inline.
            let mut flags = String::new();
            while let Some(c @ (b'i' | b'm' | b's')) = self.peek() {
                flags.push(c as char);
                self.i += 1;
            }
            let re = if flags.is_empty() {
                re
            } else {
                format!("(?{flags}){re}")
            };
            return Ok(Filter::Regex(segs, re));
        }
        for (tok, op) in ops {
            if rest.starts_with(tok) {
                self.i += tok.len();
                self.skip_ws();
                let v = self.literal()?;
                return Ok(Filter::Compare(segs, op, v));
            }
        }
        Ok(Filter::Exists(segs))
    }

    fn segment_in_filter(&mut self) -> Result<Segment, String> {
        if self.peek() == Some(b'.') {
            self.i += 1;
            let start = self.i;
            while let Some(c) = self.peek() {
                if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
                    break;
                }
                self.i += 1;
            }
            if self.i == start {
                return Err(self.err("empty member name"));
            }
            return Ok(Segment::Member(self.text[start..self.i].to_string()));
        }
        self.bracket()
    }

    fn literal(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'\'') | Some(b'"') => Ok(Value::String(self.quoted()?)),
            _ => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c == b')' || c == b' ' {
                        break;
                    }
                    self.i += 1;
                }
                serde_json::from_str(&self.text[start..self.i]).map_err(|_| self.err("bad literal"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(p: &str, v: Value) -> Result<Value, PathMiss> {
        let ctx = json!({});
        let vars = Map::new();
        JsonPath::parse(p).unwrap().evaluate(&Roots {
            input: &v,
            context: &ctx,
            variables: &vars,
            states: None,
        })
    }

    #[test]
    fn selects() {
        let v = json!({"a": {"b": [1, 2, 3]}, "users": [{"s": 0, "n": "x"}, {"s": 1}]});
        assert_eq!(eval("$.a.b[1]", v.clone()), Ok(json!(2)));
        assert_eq!(eval("$.a.b[-1]", v.clone()), Ok(json!(3)));
        assert_eq!(eval("$.a.b[1:]", v.clone()), Ok(json!([2, 3])));
        assert_eq!(eval("$.a.b[:1]", v.clone()), Ok(json!([1])));
        assert_eq!(eval("$['a']['b'][*]", v.clone()), Ok(json!([1, 2, 3])));
        assert_eq!(
            eval("$.users[?(@.s == 0)]", v.clone()),
            Ok(json!([{"s": 0, "n": "x"}]))
        );
        assert_eq!(eval("$..n", v.clone()), Ok(json!(["x"])));
        assert_eq!(eval("$.nope", v), Err(PathMiss::NoMatch));
    }

    #[test]
    fn writes() {
        let p = JsonPath::parse("$.a.b").unwrap();
        assert_eq!(
            write_at(&p, json!({"x": 1}), json!(2)).unwrap(),
            json!({"x": 1, "a": {"b": 2}})
        );
    }
}
