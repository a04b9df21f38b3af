//! The key tests of one path: given the event's scalars at that path, which branches' key field
//! accepts one of them, found by lookups rather than by trying each branch.
//!
//! Exact values are hashed (numbers by their fixed-point value, or by text when AWS cannot scale
//! them), `equals-ignore-case` by the lower-cased text, prefixes and suffixes by the text cut at
//! each length some rule uses, numeric ranges in a segment tree. Tests that cannot be looked up
//! (anything-but, wildcard, cidr, IP-address strings, `exists: true`) key a branch on the field
//! being present at all, which is still a superset of the values they accept.

use serde_json::Value;

use crate::condition::{Condition, number_text};
use crate::fast_hash::FastMap;
use crate::ignore_case;
use crate::intervals::Intervals;
use crate::numeric::{self, Range};

/// How selective a field's tests are as a key, best first; `None` when the field accepts a
/// missing value (`exists: false`) and so cannot be required to be present.
pub(crate) fn key_rank(conditions: &[Condition]) -> Option<u8> {
    conditions.iter().try_fold(0, |worst, c| {
        let rank = match c {
            Condition::Exists(false) => return None,
            Condition::Str { ip: None, .. }
            | Condition::Num { .. }
            | Condition::Bool(_)
            | Condition::Null
            | Condition::EqualsIgnoreCase(_) => 0,
            Condition::Prefix(_)
            | Condition::PrefixIgnoreCase(_)
            | Condition::Suffix(_)
            | Condition::SuffixIgnoreCase(_) => 1,
            Condition::Numeric(_) => 2,
            _ => PRESENCE,
        };
        Some(rank.max(worst))
    })
}

/// Rank of tests only indexed by the field's presence.
pub(crate) const PRESENCE: u8 = 3;

type Ids = Vec<u32>;

/// Prefixes (or suffixes) by text, with the distinct lengths to cut event strings at.
#[derive(Debug, Clone, Default)]
struct Affixes {
    texts: FastMap<String, Ids>,
    lengths: Vec<usize>,
}

impl Affixes {
    fn add(&mut self, text: &str, id: u32) {
        self.texts.entry(text.to_string()).or_default().push(id);
        self.lengths.push(text.len());
    }

    fn finish(&mut self) {
        self.lengths.sort_unstable();
        self.lengths.dedup();
    }

    fn starts(&self, s: &str, out: &mut Ids) {
        for len in &self.lengths {
            match s.get(..*len) {
                Some(head) => extend(out, self.texts.get(head)),
                None if *len > s.len() => break,
                None => {}
            }
        }
    }

    fn ends(&self, s: &str, out: &mut Ids) {
        for len in &self.lengths {
            let Some(start) = s.len().checked_sub(*len) else {
                break;
            };
            extend(out, s.get(start..).and_then(|tail| self.texts.get(tail)));
        }
    }

    fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }
}

fn extend(out: &mut Ids, ids: Option<&Ids>) {
    if let Some(ids) = ids {
        out.extend_from_slice(ids);
    }
}

/// Branches keyed on one path.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyIndex {
    strings: FastMap<String, Ids>,
    numbers: FastMap<i64, Ids>,
    /// Numbers AWS cannot scale, by their text.
    number_texts: FastMap<String, Ids>,
    trues: Ids,
    falses: Ids,
    nulls: Ids,
    folded: FastMap<String, Ids>,
    prefixes: Affixes,
    suffixes: Affixes,
    folded_prefixes: Affixes,
    folded_suffixes: Affixes,
    ranges: Vec<(Range, u32)>,
    intervals: Intervals,
    present: Ids,
}

impl KeyIndex {
    /// Keys `branch` on these tests (which must have a [`key_rank`]).
    pub(crate) fn add(&mut self, conditions: &[Condition], branch: u32) {
        if key_rank(conditions).is_none_or(|rank| rank >= PRESENCE) {
            self.present.push(branch);
            return;
        }
        for c in conditions {
            match c {
                Condition::Str { text, .. } => {
                    self.strings.entry(text.clone()).or_default().push(branch)
                }
                Condition::Num { value: Some(v), .. } => {
                    self.numbers.entry(*v).or_default().push(branch)
                }
                Condition::Num { text, value: None } => self
                    .number_texts
                    .entry(text.clone())
                    .or_default()
                    .push(branch),
                Condition::Bool(true) => self.trues.push(branch),
                Condition::Bool(false) => self.falses.push(branch),
                Condition::Null => self.nulls.push(branch),
                Condition::EqualsIgnoreCase(t) => {
                    self.folded.entry(t.clone()).or_default().push(branch)
                }
                Condition::Prefix(t) => self.prefixes.add(t, branch),
                Condition::Suffix(t) => self.suffixes.add(t, branch),
                Condition::PrefixIgnoreCase(t) => self.folded_prefixes.add(t, branch),
                Condition::SuffixIgnoreCase(t) => self.folded_suffixes.add(t, branch),
                Condition::Numeric(r) => self.ranges.push((r.clone(), branch)),
                // Ranked as presence keys above; nothing else reaches here.
                _ => self.present.push(branch),
            }
        }
    }

    /// Prepares lookups; call once every branch is added.
    pub(crate) fn finish(&mut self) {
        self.intervals = Intervals::build(&self.ranges);
        for affixes in [
            &mut self.prefixes,
            &mut self.suffixes,
            &mut self.folded_prefixes,
            &mut self.folded_suffixes,
        ] {
            affixes.finish();
        }
    }

    /// Appends the branches whose key accepts one of the scalars of one path's (path, scalar)
    /// pairs, possibly more than once.
    pub(crate) fn candidates(&self, scalars: &[(u32, &Value)], out: &mut Ids) {
        if scalars.is_empty() {
            return;
        }
        out.extend_from_slice(&self.present);
        for (_, value) in scalars {
            match value {
                Value::String(s) => self.string_candidates(s, out),
                Value::Number(n) => {
                    if let Ok(v) = numeric::comparable(n) {
                        extend(out, self.numbers.get(&v));
                        self.intervals.containing(v, out);
                    }
                    if !self.number_texts.is_empty() {
                        extend(out, self.number_texts.get(&number_text(n)));
                    }
                }
                Value::Bool(true) => out.extend_from_slice(&self.trues),
                Value::Bool(false) => out.extend_from_slice(&self.falses),
                Value::Null => out.extend_from_slice(&self.nulls),
                _ => {}
            }
        }
    }

    fn string_candidates(&self, s: &str, out: &mut Ids) {
        extend(out, self.strings.get(s));
        self.prefixes.starts(s, out);
        self.suffixes.ends(s, out);
        if self.folded.is_empty()
            && self.folded_prefixes.is_empty()
            && self.folded_suffixes.is_empty()
        {
            return;
        }
        let folded = ignore_case::fold(s);
        extend(out, self.folded.get(&folded));
        self.folded_prefixes.starts(&folded, out);
        self.folded_suffixes.ends(&folded, out);
    }
}
