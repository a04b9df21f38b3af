//! The compiled form of a pattern, and matching it against an event.
//!
//! A pattern is a tree keyed by field-name segments (a pattern key `"a.b"` is the path `a`,
//! `b`, exactly as AWS joins nested names with dots). Each node ANDs its fields and its `$or`
//! groups. Matching walks the event alongside the tree, so a field is looked up once per event
//! and nothing is re-parsed. Where the event holds an array of objects, one element must satisfy
//! the whole sub-tree below it, which is AWS's "array consistency".

use serde_json::{Map, Value};

use crate::condition::Condition;

#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    fields: Vec<Field>,
    /// Each group needs one of its alternatives to match.
    ors: Vec<Vec<Node>>,
    /// Whether the node matches where the event has nothing at all.
    absent_ok: bool,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    /// Tests on the values at this path (OR).
    leaf: Option<Vec<Condition>>,
    /// Fields below this path.
    sub: Option<Node>,
}

impl Node {
    fn field_mut(&mut self, name: &str) -> &mut Field {
        let at = match self.fields.iter().position(|f| f.name == name) {
            Some(at) => at,
            None => {
                self.fields.push(Field {
                    name: name.to_string(),
                    leaf: None,
                    sub: None,
                });
                self.fields.len() - 1
            }
        };
        &mut self.fields[at]
    }

    /// The node at `segments` below this one, created on demand.
    pub(crate) fn descend(&mut self, segments: &[&str]) -> &mut Node {
        match segments.split_first() {
            None => self,
            Some((first, rest)) => self
                .field_mut(first)
                .sub
                .get_or_insert_with(Node::default)
                .descend(rest),
        }
    }

    /// Sets the tests at `segments`; a later definition of the same path replaces an earlier
    /// one, as AWS does.
    pub(crate) fn set_leaf(&mut self, segments: &[&str], conditions: Vec<Condition>) {
        if let Some((last, parents)) = segments.split_last() {
            self.descend(parents).field_mut(last).leaf = Some(conditions);
        }
    }

    pub(crate) fn add_or(&mut self, alternatives: Vec<Node>) {
        self.ors.push(alternatives);
    }

    /// Precomputes `absent_ok` bottom-up; call once the tree is complete.
    pub(crate) fn finish(&mut self) {
        for f in &mut self.fields {
            if let Some(sub) = &mut f.sub {
                sub.finish();
            }
        }
        for group in &mut self.ors {
            for alt in group.iter_mut() {
                alt.finish();
            }
        }
        self.absent_ok = self.fields.iter().all(|f| {
            f.leaf.as_ref().is_none_or(|c| leaf_matches(c, None))
                && f.sub.as_ref().is_none_or(|s| s.absent_ok)
        }) && self.ors.iter().all(|g| g.iter().any(|a| a.absent_ok));
    }

    /// The fields of this node: name, tests on the values at that name, and the node below it.
    pub(crate) fn fields(
        &self,
    ) -> impl Iterator<Item = (&str, Option<&[Condition]>, Option<&Node>)> {
        self.fields
            .iter()
            .map(|f| (f.name.as_str(), f.leaf.as_deref(), f.sub.as_ref()))
    }

    /// The `$or` groups of this node; each needs one of its alternatives.
    pub(crate) fn or_groups(&self) -> &[Vec<Node>] {
        &self.ors
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.ors.is_empty()
    }

    /// Matches this node against an event object (or against nothing).
    pub(crate) fn matches(&self, object: Option<&Map<String, Value>>) -> bool {
        let Some(object) = object else {
            return self.absent_ok;
        };
        self.fields.iter().all(|f| {
            let value = object.get(&f.name);
            f.leaf.as_ref().is_none_or(|c| leaf_matches(c, value))
                && f.sub.as_ref().is_none_or(|s| s.matches_value(value))
        }) && self
            .ors
            .iter()
            .all(|g| g.iter().any(|alt| alt.matches(Some(object))))
    }

    fn matches_value(&self, value: Option<&Value>) -> bool {
        match value {
            Some(Value::Object(o)) => self.matches(Some(o)),
            Some(Value::Array(items)) => {
                let mut saw_object = false;
                if self.any_element(items, &mut saw_object) {
                    return true;
                }
                // An array of scalars holds nothing below this path.
                !saw_object && self.absent_ok
            }
            _ => self.absent_ok,
        }
    }

    fn any_element(&self, items: &[Value], saw_object: &mut bool) -> bool {
        items.iter().any(|item| match item {
            Value::Object(o) => {
                *saw_object = true;
                self.matches(Some(o))
            }
            Value::Array(inner) => self.any_element(inner, saw_object),
            _ => false,
        })
    }
}

/// Whether `v` holds at least one scalar (arrays are looked through, objects hold none).
fn has_scalar(v: Option<&Value>) -> bool {
    any_scalar(v, &mut |_| true)
}

fn any_scalar(v: Option<&Value>, test: &mut impl FnMut(&Value) -> bool) -> bool {
    match v {
        None | Some(Value::Object(_)) => false,
        Some(Value::Array(items)) => items.iter().any(|i| any_scalar(Some(i), test)),
        Some(scalar) => test(scalar),
    }
}

fn leaf_matches(conditions: &[Condition], value: Option<&Value>) -> bool {
    conditions.iter().any(|c| match c {
        Condition::Exists(want) => has_scalar(value) == *want,
        other => any_scalar(value, &mut |s| other.accepts(s)),
    })
}
