//! Case-insensitive string comparison without allocating per event value.
//!
//! Both sides are compared as streams of lower-cased characters (full Unicode lower-casing),
//! so `"ß"`-style expansions and non-ASCII letters behave the same at the start, the end and
//! across the whole string.

fn lower(s: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// Lower-cases a pattern once, at compile time.
pub(crate) fn fold(s: &str) -> String {
    lower(s).collect()
}

/// `folded` must come from [`fold`].
pub(crate) fn equals(folded: &str, value: &str) -> bool {
    lower(value).eq(folded.chars())
}

pub(crate) fn starts_with(value: &str, folded: &str) -> bool {
    let mut v = lower(value);
    folded.chars().all(|c| v.next() == Some(c))
}

pub(crate) fn ends_with(value: &str, folded: &str) -> bool {
    let mut v = lower(value).rev();
    folded.chars().rev().all(|c| v.next() == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert!(equals(&fold("Alice"), "aLiCe"));
        assert!(!equals(&fold("Alice"), "Alic"));
        assert!(starts_with("EvEnTb", &fold("EventB")));
        assert!(starts_with("EVENTBRIDGE", &fold("eventb")));
        assert!(!starts_with("Even", &fold("EventB")));
        assert!(ends_with("image.PNG", &fold(".png")));
        assert!(!ends_with("image.jpg", &fold(".png")));
        assert!(equals(&fold(""), ""));
        assert!(equals(&fold("ÉTÉ"), "été"));
    }
}
