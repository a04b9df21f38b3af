//! The field paths a rule set mentions, as a trie of name segments, and an event flattened
//! along them into (path, scalar) pairs.
//!
//! Walking the event alongside the trie visits only the fields some rule names, so the cost of
//! flattening depends on the event and on the set of distinct paths, not on the number of rules.
//! Arrays are looked through (as matching does) and objects found inside arrays are recorded,
//! because there AWS demands that one element satisfy all tests below that path.

use serde_json::{Map, Value};

use crate::fast_hash::FastMap;

/// Path id of the event root.
const ROOT: u32 = 0;

#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// Children of each path, by the next name segment; index = path id.
    children: Vec<FastMap<String, u32>>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            children: vec![FastMap::default()],
        }
    }
}

impl Paths {
    /// The id of a path (created on first use).
    pub(crate) fn intern(&mut self, segments: &[&str]) -> u32 {
        let mut at = ROOT;
        for segment in segments {
            let next = self.children.len() as u32;
            let slot = at as usize;
            let Some(children) = self.children.get_mut(slot) else {
                return at;
            };
            at = *children.entry((*segment).to_string()).or_insert(next);
            if at == next {
                self.children.push(FastMap::default());
            }
        }
        at
    }

    pub(crate) fn len(&self) -> usize {
        self.children.len()
    }

    /// The scalars of `event` at every known path, grouped by path.
    pub(crate) fn flatten<'e>(&self, event: &'e Map<String, Value>) -> Flat<'e> {
        let mut pairs = Vec::with_capacity(16);
        let mut object_arrays = Vec::new();
        self.visit_object(event, ROOT, false, &mut pairs, &mut object_arrays);
        pairs.sort_by_key(|(path, _)| *path);
        object_arrays.sort_unstable();
        object_arrays.dedup();
        Flat {
            pairs,
            object_arrays,
        }
    }

    fn visit<'e>(
        &self,
        value: &'e Value,
        path: u32,
        in_array: bool,
        pairs: &mut Vec<(u32, &'e Value)>,
        object_arrays: &mut Vec<u32>,
    ) {
        match value {
            Value::Object(map) => self.visit_object(map, path, in_array, pairs, object_arrays),
            Value::Array(items) => {
                for item in items {
                    self.visit(item, path, true, pairs, object_arrays);
                }
            }
            scalar => pairs.push((path, scalar)),
        }
    }

    fn visit_object<'e>(
        &self,
        map: &'e Map<String, Value>,
        path: u32,
        in_array: bool,
        pairs: &mut Vec<(u32, &'e Value)>,
        object_arrays: &mut Vec<u32>,
    ) {
        if in_array {
            object_arrays.push(path);
        }
        let Some(children) = self.children.get(path as usize) else {
            return;
        };
        // Look up from the smaller side: an envelope has more fields than rules name, or fewer.
        if children.len() < map.len() {
            for (name, child) in children {
                if let Some(v) = map.get(name) {
                    self.visit(v, *child, false, pairs, object_arrays);
                }
            }
        } else {
            for (name, v) in map {
                if let Some(child) = children.get(name) {
                    self.visit(v, *child, false, pairs, object_arrays);
                }
            }
        }
    }
}

/// An event's scalars by path id, sorted by path.
#[derive(Debug, Default)]
pub(crate) struct Flat<'e> {
    pairs: Vec<(u32, &'e Value)>,
    /// Paths at which the event holds an object inside an array.
    pub(crate) object_arrays: Vec<u32>,
}

impl<'e> Flat<'e> {
    /// The scalars at one path (none when the field is absent or holds no scalar).
    pub(crate) fn at(&self, path: u32) -> impl Iterator<Item = &'e Value> + Clone + '_ {
        let from = self.pairs.partition_point(|(p, _)| *p < path);
        let to = self.pairs.partition_point(|(p, _)| *p <= path);
        self.pairs
            .get(from..to)
            .unwrap_or(&[])
            .iter()
            .map(|(_, v)| *v)
    }

    /// Each path present, with its (path, scalar) pairs.
    pub(crate) fn groups(&self) -> impl Iterator<Item = &[(u32, &'e Value)]> {
        self.pairs.chunk_by(|a, b| a.0 == b.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_named_paths_are_kept() {
        let mut paths = Paths::default();
        let a_b = paths.intern(&["a", "b"]);
        let c = paths.intern(&["c"]);
        let event = json!({"a": [{"b": 1}, {"b": [2, {"x": 3}]}], "c": {"d": 4}, "e": 5});
        let Value::Object(map) = &event else {
            unreachable!()
        };
        let flat = paths.flatten(map);
        assert_eq!(flat.at(a_b).collect::<Vec<_>>(), [&json!(1), &json!(2)]);
        assert_eq!(flat.at(c).count(), 0);
        assert_eq!(flat.object_arrays, vec![paths.intern(&["a"]), a_b]);
        assert_eq!(flat.groups().count(), 1);
    }
}
