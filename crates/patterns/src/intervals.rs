//! Which `numeric` ranges of a field contain an event number: a segment tree over the ranges'
//! end points, so a lookup costs `O(log n + hits)` however many ranges the rules declare.
//!
//! Open and closed ends are folded into closed integer intervals by doubling: the number `v`
//! is the point `2v`, an open low end `> v` starts at `2v + 1` and an open high end `< v` stops
//! at `2v - 1`. Numbers are millionths within ±5e15, so doubling cannot overflow.

use crate::numeric::Range;

/// Ranges, each tagged with an id, answering "which contain this number".
#[derive(Debug, Clone, Default)]
pub(crate) struct Intervals {
    /// Sorted distinct start points of the elementary segments; segment `j` covers
    /// `bounds[j] .. bounds[j + 1]`.
    bounds: Vec<i64>,
    /// Segment tree in heap order (root at 1): ids of ranges covering the node's whole span.
    nodes: Vec<Vec<u32>>,
}

fn closed(range: &Range) -> (i64, i64) {
    let low = 2 * range.low + i64::from(range.low_open);
    let high = 2 * range.high - i64::from(range.high_open);
    (low, high)
}

impl Intervals {
    pub(crate) fn build(ranges: &[(Range, u32)]) -> Self {
        let spans: Vec<(i64, i64, u32)> = ranges
            .iter()
            .map(|(r, id)| {
                let (low, high) = closed(r);
                (low, high + 1, *id)
            })
            .collect();
        let mut bounds: Vec<i64> = spans.iter().flat_map(|s| [s.0, s.1]).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let segments = bounds.len().saturating_sub(1);
        let mut tree = Intervals {
            bounds,
            nodes: vec![Vec::new(); 4 * segments.max(1)],
        };
        for (start, end, id) in spans {
            let from = tree.bounds.partition_point(|b| *b < start);
            let to = tree.bounds.partition_point(|b| *b < end);
            tree.insert(1, 0, segments, from, to, id);
        }
        tree
    }

    /// Adds `id` to the nodes covering segments `from..to`; the node spans `lo..hi`.
    fn insert(&mut self, node: usize, lo: usize, hi: usize, from: usize, to: usize, id: u32) {
        if from >= hi || to <= lo || lo >= hi {
            return;
        }
        if from <= lo && hi <= to {
            if let Some(ids) = self.nodes.get_mut(node) {
                ids.push(id);
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        self.insert(2 * node, lo, mid, from, to, id);
        self.insert(2 * node + 1, mid, hi, from, to, id);
    }

    /// Appends the ids of the ranges containing `value` (millionths).
    pub(crate) fn containing(&self, value: i64, out: &mut Vec<u32>) {
        let point = 2 * value;
        let segments = self.bounds.len().saturating_sub(1);
        // The segment whose start is the last bound at or below the point.
        let Some(segment) = self.bounds.partition_point(|b| *b <= point).checked_sub(1) else {
            return;
        };
        if segment >= segments {
            return;
        }
        let (mut node, mut lo, mut hi) = (1, 0, segments);
        while lo < hi {
            if let Some(ids) = self.nodes.get(node) {
                out.extend_from_slice(ids);
            }
            if hi - lo == 1 {
                break;
            }
            let mid = lo + (hi - lo) / 2;
            if segment < mid {
                (node, hi) = (2 * node, mid);
            } else {
                (node, lo) = (2 * node + 1, mid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(t: &Intervals, v: i64) -> Vec<u32> {
        let mut out = Vec::new();
        t.containing(v, &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn open_and_closed_ends() {
        let ranges = [
            (Range::new(Some(0), true, Some(10), false).unwrap(), 0),
            (Range::new(Some(5), false, Some(20), true).unwrap(), 1),
            (Range::equal(10), 2),
            (Range::new(None, false, Some(0), false).unwrap(), 3),
        ];
        let t = Intervals::build(&ranges);
        for v in -3..25 {
            let expected: Vec<u32> = ranges
                .iter()
                .filter(|(r, _)| r.contains(v))
                .map(|(_, id)| *id)
                .collect();
            assert_eq!(ids(&t, v), expected, "value {v}");
        }
        assert!(ids(&Intervals::default(), 1).is_empty());
    }
}
