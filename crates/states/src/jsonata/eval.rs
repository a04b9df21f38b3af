//! Evaluates an expression tree. Navigation produces *sequences* that collapse after every
//! expression (empty: nothing, one item: the item), which is what makes `a.b` return a value
//! rather than a one-item array. Depth and work are bounded so no expression can overflow the
//! stack or run forever.

use super::JsonataError;
use super::functions;
use super::parser::{BinOp, Node};
use super::select::{descendants, lookup, wildcard};
use super::value::{
    Apply, Flags, Frame, JValue, Lambda, MAX_ARRAY, Object, Out, deep_equal, stringify, truthy,
};
use std::rc::Rc;

/// Deeper evaluation (nested calls, recursion) fails with U1001 instead of overflowing the stack.
pub(crate) const MAX_DEPTH: usize = 150;
/// Work budget of one evaluation (expression nodes visited).
const MAX_STEPS: u64 = 2_000_000;

pub(crate) struct Evaluator<'a> {
    /// Variables from outside the expression (`$states`, workflow variables).
    pub(crate) outer: &'a dyn Fn(&str) -> Option<JValue>,
    depth: usize,
    steps: u64,
}

/// A sequence with no items is nothing; with one item (unless `[]` kept it) it is that item.
fn collapse(v: Option<JValue>) -> Option<JValue> {
    match v {
        Some(JValue::Array(mut items, f)) if f.sequence => {
            if items.is_empty() {
                None
            } else if items.len() == 1 && !f.keep {
                items.pop()
            } else {
                Some(JValue::Array(items, f))
            }
        }
        other => other,
    }
}

fn arith_operand(v: &Option<JValue>, side: &str, op: &str) -> Result<Option<f64>, JsonataError> {
    match v {
        None => Ok(None),
        Some(JValue::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(JsonataError::new(
            if side == "left" { "T2001" } else { "T2002" },
            format!("The {side} side of the \"{op}\" operator must evaluate to a number"),
        )),
    }
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Eq => "=",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Concat => "&",
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::In => "in",
        BinOp::Elvis => "?:",
        BinOp::Coalesce => "??",
    }
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(outer: &'a dyn Fn(&str) -> Option<JValue>) -> Evaluator<'a> {
        Evaluator {
            outer,
            depth: 0,
            steps: 0,
        }
    }

    /// One level deeper (an evaluation or a builtin call); the caller decrements `depth`
    /// when it returns. Too deep is JSONata's stack overflow error.
    fn descend(&mut self) -> Result<(), JsonataError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(JsonataError::new(
                "U1001",
                "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.",
            ));
        }
        Ok(())
    }

    pub(crate) fn eval(&mut self, node: &Node, input: Option<&JValue>, frame: &Rc<Frame>) -> Out {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(JsonataError::new(
                "U1001",
                "Expression evaluation timeout: Check for infinite loop",
            ));
        }
        self.descend()?;
        let r = self.eval_node(node, input, frame);
        self.depth -= 1;
        Ok(collapse(r?))
    }

    // Each arm of consequence lives in its own function: in unoptimized builds a frame holds
    // the locals of every arm, and this function is on the stack once per nesting level.
    fn eval_node(&mut self, node: &Node, input: Option<&JValue>, frame: &Rc<Frame>) -> Out {
        match node {
            Node::Str(s) => Ok(Some(JValue::String(s.clone()))),
            Node::Num(n) => Ok(Some(JValue::Number(*n))),
            Node::Bool(b) => Ok(Some(JValue::Bool(*b))),
            Node::Null => Ok(Some(JValue::Null)),
            Node::Regex(r) => Ok(Some(JValue::Regex(Rc::new(r.clone())))),
            Node::Var(name) => Ok(self.variable(name, input, frame)),
            Node::Name(key) => Ok(input.and_then(|v| lookup(v, key))),
            Node::Wildcard => Ok(input.map(wildcard)),
            Node::Descendants => Ok(input.map(|v| {
                let mut out = Vec::new();
                descendants(v, &mut out, 0);
                JValue::sequence(out)
            })),
            Node::Path { steps, keep } => self.path(steps, *keep, input, frame),
            Node::Filter(inner, preds) => self.filter(inner, preds, input, frame),
            Node::Neg(inner) => self.negate(inner, input, frame),
            Node::Binary(op, l, r) => self.binary(*op, l, r, input, frame),
            Node::Array(items) => self.array(items, input, frame).map(Some),
            Node::Range(..) => Err(JsonataError::new(
                "S0299",
                "The range operator '..' can only be used inside an array constructor",
            )),
            Node::Object(pairs) => self.object(pairs, input, frame),
            Node::Call(callee, args) => self.call(callee, None, args, input, frame),
            Node::Lambda { params, body } => Ok(Some(JValue::Lambda(Rc::new(Lambda {
                params: params.clone(),
                body: body.clone(),
                frame: frame.clone(),
            })))),
            Node::Cond(c, then, otherwise) => {
                self.condition(c, then, otherwise.as_deref(), input, frame)
            }
            Node::Bind(name, value) => {
                let v = self.eval(value, input, frame)?;
                frame.set(name, v.clone());
                Ok(v)
            }
            Node::Block(items) => self.block(items, input, frame),
            Node::Chain(l, r) => self.chain(l, r, input, frame),
        }
    }

    #[inline(never)]
    fn filter(
        &mut self,
        inner: &Node,
        preds: &[Node],
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Out {
        let mut v = self.eval(inner, input, frame)?;
        for p in preds {
            v = match v {
                None => return Ok(None),
                Some(v) => self.predicate(v, p, frame)?,
            };
        }
        Ok(v)
    }

    #[inline(never)]
    fn negate(&mut self, inner: &Node, input: Option<&JValue>, frame: &Rc<Frame>) -> Out {
        match self.eval(inner, input, frame)? {
            None => Ok(None),
            Some(JValue::Number(n)) => Ok(Some(JValue::Number(-n))),
            Some(_) => Err(JsonataError::new(
                "D1002",
                "Cannot negate a non-numeric value",
            )),
        }
    }

    #[inline(never)]
    fn object(&mut self, pairs: &[(Node, Node)], input: Option<&JValue>, frame: &Rc<Frame>) -> Out {
        let mut out = Object::new();
        for (k, v) in pairs {
            let key = match self.eval(k, input, frame)? {
                Some(JValue::String(s)) => s,
                _ => {
                    return Err(JsonataError::new(
                        "T1003",
                        "Key in object structure must evaluate to a string",
                    ));
                }
            };
            if let Some(val) = self.eval(v, input, frame)? {
                out.insert(key, val);
            }
        }
        Ok(Some(JValue::Object(out)))
    }

    /// A call; `first` is the left side of `~>`, passed before the written arguments.
    #[inline(never)]
    fn call(
        &mut self,
        callee: &Node,
        first: Option<Option<JValue>>,
        args: &[Node],
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Out {
        let f = self.callee(callee, input, frame)?;
        let mut values: Vec<Option<JValue>> = first.into_iter().collect();
        for a in args {
            values.push(self.eval(a, input, frame)?);
        }
        self.apply(&f, values, input)
    }

    #[inline(never)]
    fn condition(
        &mut self,
        c: &Node,
        then: &Node,
        otherwise: Option<&Node>,
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Out {
        let c = self.eval(c, input, frame)?;
        if c.as_ref().is_some_and(truthy) {
            self.eval(then, input, frame)
        } else if let Some(o) = otherwise {
            self.eval(o, input, frame)
        } else {
            Ok(None)
        }
    }

    #[inline(never)]
    fn block(&mut self, items: &[Node], input: Option<&JValue>, frame: &Rc<Frame>) -> Out {
        let inner = Frame::child(frame);
        let mut last = None;
        for it in items {
            last = self.eval(it, input, &inner)?;
        }
        Ok(last)
    }

    #[inline(never)]
    fn chain(&mut self, l: &Node, r: &Node, input: Option<&JValue>, frame: &Rc<Frame>) -> Out {
        let lhs = self.eval(l, input, frame)?;
        if let Node::Call(callee, args) = r {
            return self.call(callee, Some(lhs), args, input, frame);
        }
        match self.eval(r, input, frame)? {
            Some(f) if f.is_function() => self.apply(&f, vec![lhs], input),
            _ => Err(JsonataError::new(
                "T2006",
                "The right side of the function application operator ~> must be a function",
            )),
        }
    }

    fn variable(
        &mut self,
        name: &str,
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Option<JValue> {
        if name.is_empty() || name == "$" {
            return input.cloned();
        }
        if frame.bound(name) {
            return frame.get(name);
        }
        if let Some(v) = (self.outer)(name) {
            return Some(v);
        }
        functions::builtin(name).map(JValue::Builtin)
    }

    fn callee(
        &mut self,
        callee: &Node,
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Result<JValue, JsonataError> {
        match self.eval(callee, input, frame)? {
            Some(f) if f.is_function() => Ok(f),
            _ => Err(JsonataError::new(
                "T1006",
                "Attempted to invoke a non-function",
            )),
        }
    }

    #[inline(never)]
    fn array(
        &mut self,
        items: &[Node],
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Result<JValue, JsonataError> {
        let mut out = Vec::new();
        for it in items {
            if let Node::Range(a, b) = it {
                let lo = self.eval(a, input, frame)?;
                let hi = self.eval(b, input, frame)?;
                let as_int = |v: &Option<JValue>, code: &'static str, side: &str| match v {
                    None => Ok(None),
                    Some(JValue::Number(n)) if n.fract() == 0.0 => Ok(Some(*n as i64)),
                    Some(_) => Err(JsonataError::new(
                        code,
                        format!(
                            "The {side} side of the range operator (..) must evaluate to an integer"
                        ),
                    )),
                };
                let (Some(lo), Some(hi)) = (
                    as_int(&lo, "T2003", "left")?,
                    as_int(&hi, "T2004", "right")?,
                ) else {
                    continue;
                };
                if hi >= lo && hi.saturating_sub(lo) >= MAX_ARRAY as i64 {
                    return Err(JsonataError::new(
                        "D2014",
                        format!(
                            "The size of the sequence allocated by the range operator (..) must not exceed {MAX_ARRAY}."
                        ),
                    ));
                }
                out.extend((lo..=hi).map(|i| JValue::Number(i as f64)));
                continue;
            }
            match self.eval(it, input, frame)? {
                None => {}
                Some(v) if matches!(it, Node::Array(_)) => out.push(v),
                Some(JValue::Array(inner, _)) => out.extend(inner),
                Some(v) => out.push(v),
            }
        }
        Ok(JValue::Array(
            out,
            Flags {
                cons: true,
                ..Flags::default()
            },
        ))
    }

    /// `and`, `or`, `?:` and `??` evaluate their right side only when the left does not decide.
    #[inline(never)]
    fn short_circuit(
        &mut self,
        op: BinOp,
        l: &Node,
        r: &Node,
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Out {
        let a = self.eval(l, input, frame)?;
        let left_truthy = a.as_ref().is_some_and(truthy);
        let decided = match op {
            BinOp::And => !left_truthy,
            BinOp::Coalesce => a.is_some(),
            _ => left_truthy,
        };
        let logical = matches!(op, BinOp::And | BinOp::Or);
        match (decided, logical) {
            (true, true) => Ok(Some(JValue::Bool(op == BinOp::Or))),
            (true, false) => Ok(a),
            (false, true) => {
                let b = self.eval(r, input, frame)?;
                Ok(Some(JValue::Bool(b.as_ref().is_some_and(truthy))))
            }
            (false, false) => self.eval(r, input, frame),
        }
    }

    // Over 80 lines on purpose: one match arm per binary operator (a dispatch table).
    #[inline(never)]
    fn binary(
        &mut self,
        op: BinOp,
        l: &Node,
        r: &Node,
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Out {
        if matches!(op, BinOp::And | BinOp::Or | BinOp::Elvis | BinOp::Coalesce) {
            return self.short_circuit(op, l, r, input, frame);
        }
        let a = self.eval(l, input, frame)?;
        let b = self.eval(r, input, frame)?;
        let sym = op_symbol(op);
        Ok(match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let x = arith_operand(&a, "left", sym)?;
                let y = arith_operand(&b, "right", sym)?;
                let (Some(x), Some(y)) = (x, y) else {
                    return Ok(None);
                };
                let n = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    _ => x % y,
                };
                if !n.is_finite() {
                    return Err(JsonataError::new(
                        "D1001",
                        format!("Number out of range: {n}"),
                    ));
                }
                Some(JValue::Number(n))
            }
            BinOp::Eq | BinOp::Ne => {
                let (Some(a), Some(b)) = (a, b) else {
                    return Ok(Some(JValue::Bool(false)));
                };
                let eq = deep_equal(&a, &b);
                Some(JValue::Bool(if op == BinOp::Eq { eq } else { !eq }))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let comparable = |v: &Option<JValue>| {
                    matches!(v, None | Some(JValue::Number(_)) | Some(JValue::String(_)))
                };
                if !comparable(&a) || !comparable(&b) {
                    return Err(JsonataError::new(
                        "T2010",
                        format!(
                            "The expressions either side of operator \"{sym}\" must evaluate to numeric or string values"
                        ),
                    ));
                }
                let ord = match (&a, &b) {
                    (None, _) | (_, None) => return Ok(Some(JValue::Bool(false))),
                    (Some(JValue::Number(x)), Some(JValue::Number(y))) => x.partial_cmp(y),
                    (Some(JValue::String(x)), Some(JValue::String(y))) => Some(x.cmp(y)),
                    _ => {
                        return Err(JsonataError::new(
                            "T2009",
                            format!(
                                "The values {} and {} either side of operator \"{sym}\" must be of the same data type",
                                shown(&a),
                                shown(&b)
                            ),
                        ));
                    }
                };
                let Some(ord) = ord else {
                    return Ok(Some(JValue::Bool(false)));
                };
                use std::cmp::Ordering::*;
                Some(JValue::Bool(match op {
                    BinOp::Lt => ord == Less,
                    BinOp::Le => ord != Greater,
                    BinOp::Gt => ord == Greater,
                    _ => ord != Less,
                }))
            }
            BinOp::Concat => {
                let s = |v: &Option<JValue>| v.as_ref().map(stringify).transpose();
                Some(JValue::String(format!(
                    "{}{}",
                    s(&a)?.unwrap_or_default(),
                    s(&b)?.unwrap_or_default()
                )))
            }
            BinOp::In => {
                let (Some(a), Some(b)) = (a, b) else {
                    return Ok(Some(JValue::Bool(false)));
                };
                Some(JValue::Bool(
                    b.into_items().iter().any(|x| deep_equal(&a, x)),
                ))
            }
            BinOp::And | BinOp::Or | BinOp::Elvis | BinOp::Coalesce => None,
        })
    }
}

fn shown(v: &Option<JValue>) -> String {
    v.as_ref()
        .and_then(|v| stringify(v).ok())
        .map(|s| format!("\"{s}\""))
        .unwrap_or_else(|| "undefined".into())
}

impl Apply for Evaluator<'_> {
    /// Calls a function value with already evaluated arguments.
    #[inline(never)]
    fn apply(&mut self, f: &JValue, args: Vec<Option<JValue>>, input: Option<&JValue>) -> Out {
        match f {
            JValue::Lambda(l) => {
                let frame = Frame::child(&l.frame);
                for (i, p) in l.params.iter().enumerate() {
                    frame.set(p, args.get(i).cloned().flatten());
                }
                self.eval(&l.body, input, &frame)
            }
            JValue::Builtin(name) => {
                self.descend()?;
                let r = functions::call(self, name, args, input);
                self.depth -= 1;
                r.map(collapse)
            }
            _ => Err(JsonataError::new(
                "T1006",
                "Attempted to invoke a non-function",
            )),
        }
    }
}
