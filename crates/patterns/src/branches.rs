//! A compiled pattern read as a disjunction of branches, each an AND of field tests on full
//! paths, which is what lets a rule set index rules field by field.
//!
//! `$or` groups multiply out into branches; a rule with more than [`MAX_BRANCHES`] is not
//! expanded (the rule set then evaluates it whole). Reading a branch against an event's
//! flattened (path, scalar) pairs is exact except where the event holds objects inside an array
//! below a sub-pattern with several tests, because there one element must satisfy them all;
//! [`array_sensitive_paths`] names those paths so the rule set can evaluate such rules whole.

use crate::condition::Condition;
use crate::tree::Node;

/// Above this many branches a rule is evaluated whole rather than expanded.
pub(crate) const MAX_BRANCHES: usize = 64;

/// One field test of a branch: the path id and its tests (any of which suffices).
pub(crate) type Test<'a> = (u32, &'a [Condition]);

/// The branches of `node`, whose path is `prefix`; `None` past [`MAX_BRANCHES`].
pub(crate) fn expand<'a>(
    node: &'a Node,
    prefix: &mut Vec<&'a str>,
    intern: &mut impl FnMut(&[&str]) -> u32,
) -> Option<Vec<Vec<Test<'a>>>> {
    let mut branches: Vec<Vec<Test<'a>>> = vec![Vec::new()];
    for (name, leaf, sub) in node.fields() {
        prefix.push(name);
        if let Some(conditions) = leaf {
            let path = intern(prefix);
            for branch in &mut branches {
                branch.push((path, conditions));
            }
        }
        let below = sub.map(|s| expand(s, prefix, intern));
        prefix.pop();
        if let Some(below) = below {
            branches = product(&branches, &below?)?;
        }
    }
    for group in node.or_groups() {
        let mut alternatives = Vec::new();
        for alt in group {
            alternatives.extend(expand(alt, prefix, intern)?);
            if alternatives.len() > MAX_BRANCHES {
                return None;
            }
        }
        branches = product(&branches, &alternatives)?;
    }
    Some(branches)
}

/// Every branch of `left` joined with every branch of `right`.
fn product<'a>(left: &[Vec<Test<'a>>], right: &[Vec<Test<'a>>]) -> Option<Vec<Vec<Test<'a>>>> {
    if left.len().saturating_mul(right.len()) > MAX_BRANCHES {
        return None;
    }
    Some(
        left.iter()
            .flat_map(|l| right.iter().map(move |r| [l.as_slice(), r].concat()))
            .collect(),
    )
}

/// Paths (below `prefix`) where `node` has a sub-pattern that is more than one test demanding a
/// value: an array of objects there must have one element satisfying all of it, which
/// flattened pairs cannot tell.
pub(crate) fn array_sensitive_paths<'a>(
    node: &'a Node,
    prefix: &mut Vec<&'a str>,
    intern: &mut impl FnMut(&[&str]) -> u32,
    out: &mut Vec<u32>,
) {
    for (name, _, sub) in node.fields() {
        let Some(sub) = sub else {
            continue;
        };
        prefix.push(name);
        if !is_single_required_test(sub) {
            out.push(intern(prefix));
        }
        array_sensitive_paths(sub, prefix, intern, out);
        prefix.pop();
    }
    for group in node.or_groups() {
        for alt in group {
            array_sensitive_paths(alt, prefix, intern, out);
        }
    }
}

/// Whether the sub-pattern is exactly one field test, without `exists: false`, and no `$or`:
/// then "some element satisfies it" equals "some value at its path satisfies it".
fn is_single_required_test(node: &Node) -> bool {
    let mut count = 0;
    let mut required = true;
    count_tests(node, &mut count, &mut required);
    count == 1 && required
}

fn count_tests(node: &Node, count: &mut usize, required: &mut bool) {
    if !node.or_groups().is_empty() {
        // Any `$or` makes the sub-pattern more than a single test.
        *count += 2;
    }
    for (_, leaf, sub) in node.fields() {
        if let Some(conditions) = leaf {
            *count += 1;
            if conditions
                .iter()
                .any(|c| matches!(c, Condition::Exists(false)))
            {
                *required = false;
            }
        }
        if let Some(sub) = sub {
            count_tests(sub, count, required);
        }
    }
}
