//! Every rule of a rule set compiled together, so matching an event costs lookups per event
//! field plus work per plausible rule, instead of an evaluation per rule.
//!
//! Each rule is expanded into branches (ANDs of field tests, see [`crate::branches`]). Identical
//! tests and identical branches are shared between rules, so a thousand rules written from a
//! few shapes cost little more than the shapes. Each branch is keyed on its most selective
//! test that demands a value; an event offers, per field present, the branches whose key
//! accepts one of its values ([`KeyIndex`]), and only those branches have their other tests
//! checked against the event's flattened values. Branches without such a test (only
//! `exists: false`) are checked on every event.
//!
//! Evaluated whole instead, with [`crate::Pattern`]'s own matcher: rules of more than
//! [`crate::branches::MAX_BRANCHES`] branches (always), and rules whose sub-pattern with several
//! tests meets objects inside an array in this event (AWS wants one element to satisfy it all).
//! The latter are only evaluated when one of their branches was offered, which is sound
//! because whatever an element satisfies is also among the flattened values.

use std::cmp::Reverse;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::branches::{self, Test};
use crate::condition::{self, Condition};
use crate::key_index::{KeyIndex, PRESENCE, key_rank};
use crate::paths::{Flat, Paths};
use crate::tree::Node;

#[derive(Debug, Clone)]
struct Branch {
    /// Test ids, sorted and distinct.
    tests: Vec<u32>,
    /// The test the branch is indexed by, when the index already proves it holds (not for
    /// presence keys, which only prove the field has a value).
    proven: Option<u32>,
    /// Rules (ids, ascending) having this branch.
    owners: Vec<u32>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RuleIndex {
    paths: Paths,
    /// Distinct field tests: path id and tests.
    tests: Vec<(u32, Vec<Condition>)>,
    branches: Vec<Branch>,
    /// Key index per path id.
    keys: Vec<KeyIndex>,
    /// Branches with no test demanding a value.
    unkeyed: Vec<u32>,
    /// Rules evaluated whole on every event.
    whole: Vec<u32>,
    /// Per path id: rules to evaluate whole when the event has objects in an array there.
    array_sensitive: Vec<Vec<u32>>,
}

impl RuleIndex {
    /// Compiles the rules' pattern trees; rule ids are positions in `roots`.
    pub(crate) fn build<'a>(roots: impl IntoIterator<Item = &'a Node>) -> Self {
        let mut index = RuleIndex::default();
        let mut test_ids: HashMap<(u32, &'a [Condition]), u32> = HashMap::new();
        let mut branch_ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut sensitive: Vec<(u32, u32)> = Vec::new();
        for (rule, root) in roots.into_iter().enumerate() {
            let rule = rule as u32;
            // An empty pattern matches nothing (and cannot be parsed anyway).
            if root.is_empty() {
                continue;
            }
            let paths = &mut index.paths;
            let mut intern = |segments: &[&str]| paths.intern(segments);
            let Some(expanded) = branches::expand(root, &mut Vec::new(), &mut intern) else {
                index.whole.push(rule);
                continue;
            };
            let mut sensitive_paths = Vec::new();
            branches::array_sensitive_paths(
                root,
                &mut Vec::new(),
                &mut intern,
                &mut sensitive_paths,
            );
            sensitive.extend(sensitive_paths.into_iter().map(|p| (p, rule)));
            for branch in expanded {
                let ids = index.intern_tests(&branch, &mut test_ids);
                let next = index.branches.len() as u32;
                let id = *branch_ids.entry(ids.clone()).or_insert(next);
                if id == next {
                    index.branches.push(Branch {
                        tests: ids,
                        proven: None,
                        owners: Vec::new(),
                    });
                }
                if let Some(b) = index.branches.get_mut(id as usize) {
                    // Two branches of one rule may coincide; the rule is listed once.
                    if b.owners.last() != Some(&rule) {
                        b.owners.push(rule);
                    }
                }
            }
        }
        index.array_sensitive = vec![Vec::new(); index.paths.len()];
        for (path, rule) in sensitive {
            if let Some(rules) = index.array_sensitive.get_mut(path as usize) {
                rules.push(rule);
            }
        }
        index.choose_keys();
        index
    }

    fn intern_tests<'a>(
        &mut self,
        branch: &[Test<'a>],
        ids: &mut HashMap<(u32, &'a [Condition]), u32>,
    ) -> Vec<u32> {
        let mut out: Vec<u32> = branch
            .iter()
            .map(|&(path, conditions)| {
                *ids.entry((path, conditions)).or_insert_with(|| {
                    self.tests.push((path, conditions.to_vec()));
                    self.tests.len() as u32 - 1
                })
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Keys each branch on its best test: exact values first, and among those the field with
    /// the most distinct values across the rules (an event then offers the fewest branches).
    fn choose_keys(&mut self) {
        let mut distinct = vec![0usize; self.paths.len()];
        for (path, conditions) in &self.tests {
            if key_rank(conditions) == Some(0)
                && let Some(n) = distinct.get_mut(*path as usize)
            {
                *n += 1;
            }
        }
        self.keys = vec![KeyIndex::default(); self.paths.len()];
        for (id, branch) in self.branches.iter_mut().enumerate() {
            let best = branch
                .tests
                .iter()
                .filter_map(|t| {
                    let (path, conditions) = self.tests.get(*t as usize)?;
                    let rank = key_rank(conditions)?;
                    let spread = distinct.get(*path as usize).copied().unwrap_or(0);
                    Some(((rank, Reverse(spread)), *t, *path))
                })
                .min_by_key(|(score, _, _)| *score);
            match best {
                Some(((rank, _), test, path)) => {
                    if rank < PRESENCE {
                        branch.proven = Some(test);
                    }
                    if let (Some(keys), Some((_, conditions))) = (
                        self.keys.get_mut(path as usize),
                        self.tests.get(test as usize),
                    ) {
                        keys.add(conditions, id as u32);
                    }
                }
                None => self.unkeyed.push(id as u32),
            }
        }
        for keys in &mut self.keys {
            keys.finish();
        }
    }

    /// Ids of the rules matching `event` (dotted keys already expanded), ascending.
    /// `whole_match` evaluates one rule with its own matcher.
    pub(crate) fn matching(
        &self,
        event: &Map<String, Value>,
        whole_match: impl Fn(u32) -> bool,
    ) -> Vec<u32> {
        let flat = self.paths.flatten(event);
        let mut offered = self.unkeyed.clone();
        for pairs in flat.groups() {
            if let Some(keys) = pairs.first().and_then(|(p, _)| self.keys.get(*p as usize)) {
                keys.candidates(pairs, &mut offered);
            }
        }
        offered.sort_unstable();
        offered.dedup();

        let mut sensitive: Vec<u32> = flat
            .object_arrays
            .iter()
            .filter_map(|p| self.array_sensitive.get(*p as usize))
            .flatten()
            .copied()
            .collect();
        sensitive.sort_unstable();
        sensitive.dedup();

        let mut matched = Vec::new();
        let mut whole = self.whole.clone();
        for branch in offered
            .iter()
            .filter_map(|b| self.branches.get(*b as usize))
        {
            let mut holds = None;
            for &rule in &branch.owners {
                if sensitive.binary_search(&rule).is_ok() {
                    whole.push(rule);
                } else if *holds.get_or_insert_with(|| self.holds(branch, &flat)) {
                    matched.push(rule);
                }
            }
        }
        whole.sort_unstable();
        whole.dedup();
        matched.extend(whole.into_iter().filter(|r| whole_match(*r)));
        matched.sort_unstable();
        matched.dedup();
        matched
    }

    /// Whether every test of an offered branch but its key holds on the flattened event.
    fn holds(&self, branch: &Branch, flat: &Flat<'_>) -> bool {
        branch
            .tests
            .iter()
            .filter(|t| Some(**t) != branch.proven)
            .all(|t| {
                self.tests
                    .get(*t as usize)
                    .is_some_and(|(path, conditions)| {
                        condition::field_accepts(conditions, flat.at(*path))
                    })
            })
    }
}
