//! Timestamps as ASL accepts them: ISO-8601 extended offset date-time (RFC 3339, with `T` and an
//! explicit zone).

use chrono::{DateTime, Utc};

pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if !s.contains('T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// AWS's rendering of event and context timestamps (millisecond precision, `Z`).
pub(crate) fn render(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
