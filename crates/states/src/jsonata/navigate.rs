//! Path navigation: steps over sequences, predicates and indexes (field lookup, `*` and `**`
//! are in `select`).
//! A step maps over every item of the previous step's result and flattens what it gets.

use super::JsonataError;
use super::eval::Evaluator;
use super::parser::Node;
use super::value::{Flags, Frame, JValue, Out, truthy};
use std::rc::Rc;

impl Evaluator<'_> {
    #[inline(never)]
    pub(super) fn path(
        &mut self,
        steps: &[Node],
        keep: bool,
        input: Option<&JValue>,
        frame: &Rc<Frame>,
    ) -> Out {
        let Some((first, rest)) = steps.split_first() else {
            return Ok(None);
        };
        // A leading name or wildcard navigates every item of the input; anything else (a
        // variable, a literal, a call) is evaluated once.
        let navigates = |n: &Node| match n {
            Node::Name(_) | Node::Wildcard | Node::Descendants => true,
            Node::Filter(inner, _) => {
                matches!(**inner, Node::Name(_) | Node::Wildcard | Node::Descendants)
            }
            _ => false,
        };
        let mut seq = if navigates(first) {
            let items = match input {
                None => Vec::new(),
                Some(JValue::Array(items, _)) => items.clone(),
                Some(v) => vec![v.clone()],
            };
            self.step(first, &items, rest.is_empty(), frame)?
        } else {
            let r = self.eval(first, input, frame)?;
            gather(r.into_iter().collect(), rest.is_empty())
        };
        for (i, s) in rest.iter().enumerate() {
            let items = match seq {
                JValue::Array(items, _) => items,
                other => vec![other],
            };
            if items.is_empty() {
                return Ok(None);
            }
            seq = self.step(s, &items, i + 1 == rest.len(), frame)?;
        }
        if keep {
            seq = match seq {
                JValue::Array(items, f) => JValue::Array(
                    items,
                    Flags {
                        keep: true,
                        sequence: true,
                        ..f
                    },
                ),
                other => JValue::Array(
                    vec![other],
                    Flags {
                        keep: true,
                        sequence: true,
                        cons: false,
                    },
                ),
            };
        }
        Ok(Some(seq))
    }

    #[inline(never)]
    fn step(
        &mut self,
        step: &Node,
        items: &[JValue],
        last: bool,
        frame: &Rc<Frame>,
    ) -> Result<JValue, JsonataError> {
        let mut results = Vec::new();
        for it in items {
            if let Some(r) = self.eval(step, Some(it), frame)? {
                results.push(r);
            }
        }
        Ok(gather(results, last))
    }

    #[inline(never)]
    pub(super) fn predicate(&mut self, v: JValue, pred: &Node, frame: &Rc<Frame>) -> Out {
        let items = match v {
            JValue::Array(items, _) => items,
            other => vec![other],
        };
        let len = items.len() as i64;
        let index_of = |n: f64| {
            let i = n.floor() as i64;
            if i < 0 { i.saturating_add(len) } else { i }
        };
        if let Node::Num(n) = pred {
            let i = index_of(*n);
            let picked: Vec<JValue> = usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .into_iter()
                .collect();
            return Ok(Some(JValue::sequence(picked)));
        }
        let mut out = Vec::new();
        for (idx, item) in items.into_iter().enumerate() {
            let keep = match self.eval(pred, Some(&item), frame)? {
                None => false,
                Some(JValue::Number(n)) => index_of(n) == idx as i64,
                Some(JValue::Array(ns, _))
                    if !ns.is_empty() && ns.iter().all(|x| matches!(x, JValue::Number(_))) =>
                {
                    ns.iter()
                        .any(|x| matches!(x, JValue::Number(n) if index_of(*n) == idx as i64))
                }
                Some(other) => truthy(&other),
            };
            if keep {
                out.push(item);
            }
        }
        Ok(Some(JValue::sequence(out)))
    }
}

/// The results of one navigation step, flattened into a sequence. A lone array at the last
/// step is returned as it is, so `a.list` gives the list itself.
fn gather(results: Vec<JValue>, last: bool) -> JValue {
    if last && results.len() == 1 && matches!(&results[0], JValue::Array(_, f) if !f.sequence) {
        return results.into_iter().next().unwrap_or(JValue::Null);
    }
    let mut out = Vec::new();
    for r in results {
        match r {
            JValue::Array(items, f) if !f.cons => out.extend(items),
            other => out.push(other),
        }
    }
    JValue::sequence(out)
}
