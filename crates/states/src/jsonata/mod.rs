//! A JSONata evaluator for Step Functions' JSONata query language: the subset of JSONata that
//! state machines use (paths, predicates, operators, conditionals, blocks and bindings, lambdas,
//! object/array constructors, regular expressions and the function library in `functions`).
//! Unsupported syntax and functions are refused when the expression is parsed.

mod eval;
mod functions;
mod lexer;
mod navigate;
mod parser;
mod select;
mod value;

#[cfg(test)]
mod tests;

use parser::Node;
use serde_json::Value;
use std::rc::Rc;

/// A JSONata error: `code` is JSONata's error code (`T1006` ...), shown before the message as
/// AWS shows it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub(crate) struct JsonataError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// The code of a result that has no JSON form (a function).
pub(crate) const UNSUPPORTED_RESULT: &str = "UNSUPPORTED_RESULT";

impl JsonataError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> JsonataError {
        JsonataError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn syntax(
        code: &'static str,
        message: impl Into<String>,
        pos: usize,
    ) -> JsonataError {
        JsonataError {
            code,
            message: format!("{} (at character {})", message.into(), pos + 1),
        }
    }

    pub(crate) fn unsupported_result() -> JsonataError {
        JsonataError::new(UNSUPPORTED_RESULT, "the expression returned a function")
    }
}

/// A parsed expression; `text` is the source for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Expression {
    pub(crate) text: String,
    root: Node,
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Expression {
    pub(crate) fn parse(text: &str) -> Result<Expression, JsonataError> {
        let root = parser::parse(text)?;
        refuse_unsupported(&root)?;
        Ok(Expression {
            text: text.to_string(),
            root,
        })
    }

    /// Evaluates with no context value; `outer` resolves `$states` and workflow variables.
    /// `Ok(None)` is JSONata's *undefined*.
    pub(crate) fn evaluate(
        &self,
        outer: &dyn Fn(&str) -> Option<Value>,
    ) -> Result<Option<Value>, JsonataError> {
        let lookup = |name: &str| outer(name).map(|v| value::JValue::from_json(&v));
        let mut ev = eval::Evaluator::new(&lookup);
        let frame = Rc::new(value::Frame::default());
        match ev.eval(&self.root, None, &frame)? {
            None => Ok(None),
            Some(v) => v.to_json().map(Some),
        }
    }
}

/// Calls of standard functions this interpreter lacks fail validation rather than at run time.
fn refuse_unsupported(node: &Node) -> Result<(), JsonataError> {
    let mut result = Ok(());
    visit(node, &mut |n| {
        if let Node::Call(callee, _) = n
            && let Node::Var(name) = &**callee
            && functions::UNSUPPORTED.contains(&name.as_str())
            && result.is_ok()
        {
            result = Err(JsonataError::new(
                "S0299",
                format!("the function ${name} is not supported by this interpreter"),
            ));
        }
    });
    result
}

fn visit(node: &Node, f: &mut dyn FnMut(&Node)) {
    f(node);
    match node {
        Node::Path { steps, .. } => steps.iter().for_each(|s| visit(s, f)),
        Node::Filter(inner, preds) => {
            visit(inner, f);
            preds.iter().for_each(|p| visit(p, f));
        }
        Node::Neg(x) => visit(x, f),
        Node::Binary(_, a, b) | Node::Range(a, b) | Node::Chain(a, b) => {
            visit(a, f);
            visit(b, f);
        }
        Node::Array(items) | Node::Block(items) => items.iter().for_each(|i| visit(i, f)),
        Node::Object(pairs) => pairs.iter().for_each(|(k, v)| {
            visit(k, f);
            visit(v, f);
        }),
        Node::Call(callee, args) => {
            visit(callee, f);
            args.iter().for_each(|a| visit(a, f));
        }
        Node::Lambda { body, .. } => visit(body, f),
        Node::Cond(c, t, o) => {
            visit(c, f);
            visit(t, f);
            if let Some(o) = o {
                visit(o, f);
            }
        }
        Node::Bind(_, v) => visit(v, f),
        _ => {}
    }
}
