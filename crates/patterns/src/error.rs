//! The error type shared by validation and event parsing.

/// An event pattern (or an event handed to [`crate::Pattern::matches_str`]) that cannot be used.
///
/// `reason` carries the words AWS puts after `Reason:` in its `InvalidEventPatternException`,
/// so a pattern refused here is refused by `PutRule` / `TestEventPattern` for the same reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Event pattern is not valid. Reason: {reason}")]
pub struct PatternError {
    /// Dotted path of the offending field, e.g. `detail.amount`; empty for the pattern as a whole.
    pub path: String,
    /// What is wrong, worded as AWS words it where AWS has a wording.
    pub reason: String,
}

impl PatternError {
    pub(crate) fn new(path: &[String], reason: impl Into<String>) -> Self {
        PatternError {
            path: path.join("."),
            reason: reason.into(),
        }
    }
}
