//! The change-stream record (DynamoDB Streams' INSERT/MODIFY with NEW_AND_OLD_IMAGES), in the
//! plain JSON form the forwarder puts on the payments queue and the processor reads back.

use crate::payment::Payment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRecord {
    /// Unique per change; the processor derives the event id from it, so a redelivered record
    /// yields the same event.
    pub event_id: String,
    pub event_name: ChangeKind,
    /// The stream's sequence number: decimal digits, up to 40 on DynamoDB Streams (kept as text,
    /// since it does not fit a 64-bit integer).
    pub sequence_number: String,
    pub payment_id: String,
    pub old_image: Option<Payment>,
    pub new_image: Payment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    Insert,
    Modify,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Insert => "INSERT",
            ChangeKind::Modify => "MODIFY",
        }
    }
}
