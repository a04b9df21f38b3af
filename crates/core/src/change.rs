//! The change-stream record (DynamoDB Streams' INSERT/MODIFY with NEW_AND_OLD_IMAGES), in the
//! plain JSON form the forwarder puts on the payments queue and the processor reads back; the
//! derivation of its id, and the check that a record read from the queue is the change it says.

use crate::ids::PaymentId;
use crate::payment::Payment;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRecord {
    /// The change's id, [`change_event_id`] of its table, payment and version: unique per
    /// change, the same on every delivery; the processor derives the bus event's id from it
    /// (so a redelivered record yields the same event) after [`verify_change`].
    pub event_id: String,
    pub event_name: ChangeKind,
    /// The stream's sequence number: decimal digits, up to 40 on DynamoDB Streams (kept as text,
    /// since it does not fit a 64-bit integer).
    pub sequence_number: String,
    pub payment_id: PaymentId,
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

/// The id of a change record, derived from what identifies the change: the table (an id the
/// table got once, when it was made: a local data dir's own id, or the DynamoDB stream's ARN,
/// which names the table's incarnation), the payment and the payment's own version
/// ([`Payment::version`]). A change is the same change however often it is delivered, so it
/// keeps its id across redeliveries and restarts; no two changes of any table share one. The id
/// is a UUID (version 8, custom) made from a SHA-256 of the three parts, so it has one shape wherever it is used.
pub fn change_event_id(table_id: &str, payment_id: &str, version: u64) -> String {
    let mut hasher = Sha256::new();
    for part in [
        "eventpay-change",
        table_id,
        payment_id,
        &version.to_string(),
    ] {
        // Length-prefixed, so no two different triples hash the same bytes.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl ChangeRecord {
    /// The record of a change to `new` (from `old`, `None` for the insert), with its derived id.
    pub fn of_change(
        table_id: &str,
        sequence_number: String,
        old_image: Option<Payment>,
        new_image: Payment,
    ) -> ChangeRecord {
        ChangeRecord {
            event_id: change_event_id(table_id, &new_image.payment_id, new_image.version()),
            event_name: if old_image.is_none() {
                ChangeKind::Insert
            } else {
                ChangeKind::Modify
            },
            sequence_number,
            payment_id: new_image.payment_id.clone(),
            old_image,
            new_image,
        }
    }
}

/// Why a queue message's change record is not taken as a change of the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefused {
    #[error("its event id {got} is not the id of the change it describes ({expected})")]
    WrongEventId { got: String, expected: String },
    #[error("its payment_id {record} is not its image's {image}")]
    PaymentIdMismatch { record: String, image: String },
    #[error("{0}")]
    Inconsistent(String),
    #[error("no payment {0} is in the table")]
    UnknownPayment(String),
    #[error("payment {payment_id} never was as its version {version} shows it")]
    NotThePayment { payment_id: PaymentId, version: u64 },
}

/// Checks a change record read from the queue against the table it claims to come from: its id
/// must be the one derived from its image ([`change_event_id`]), its kind and images must agree
/// (an insert is version 1 with no old image; a modify's old image is the version before), and
/// each image must be the stored payment as it was at that version (`stored` is the payment as
/// the table holds it now; a payment only moves forward, so an older version is a prefix of its
/// history). A record that passes is the change it says it is, whoever put it on the queue; one
/// that fails is refused, so it can never be taken for (and deduplicate away) a real change.
pub fn verify_change(
    record: &ChangeRecord,
    table_id: &str,
    stored: Option<&Payment>,
) -> Result<(), ChangeRefused> {
    let new = &record.new_image;
    if record.payment_id != new.payment_id {
        return Err(ChangeRefused::PaymentIdMismatch {
            record: record.payment_id.to_string(),
            image: new.payment_id.to_string(),
        });
    }
    let expected = change_event_id(table_id, &new.payment_id, new.version());
    if record.event_id != expected {
        return Err(ChangeRefused::WrongEventId {
            got: record.event_id.clone(),
            expected,
        });
    }
    check_kind(record)?;
    let stored = stored.ok_or_else(|| ChangeRefused::UnknownPayment(new.payment_id.to_string()))?;
    for image in record.old_image.iter().chain([new]) {
        if !was_at_its_version(image, stored) {
            return Err(ChangeRefused::NotThePayment {
                payment_id: image.payment_id.clone(),
                version: image.version(),
            });
        }
    }
    Ok(())
}

fn check_kind(record: &ChangeRecord) -> Result<(), ChangeRefused> {
    let version = record.new_image.version();
    let bad = |why: &str| Err(ChangeRefused::Inconsistent(why.to_owned()));
    match (record.event_name, &record.old_image) {
        (ChangeKind::Insert, None) if version == 1 => Ok(()),
        (ChangeKind::Insert, _) => bad("an INSERT is a payment's first version, with no old image"),
        (ChangeKind::Modify, Some(old))
            if old.payment_id == record.payment_id && old.version() + 1 == version =>
        {
            Ok(())
        }
        (ChangeKind::Modify, _) => {
            bad("a MODIFY's old image is the same payment at the version before")
        }
    }
}

/// Whether `image` is `stored` as it was at the image's version.
fn was_at_its_version(image: &Payment, stored: &Payment) -> bool {
    let version = image.version();
    let Ok(len) = usize::try_from(version) else {
        return false;
    };
    if version == 0 || version > stored.version() {
        return false;
    }
    if version == stored.version() {
        return image == stored;
    }
    // An earlier version is never final (nothing follows a final status): no reason, no
    // settlement; its status and time are those of its last history entry.
    let mut then = stored.clone();
    then.history.truncate(len);
    let Some(last) = then.history.last() else {
        return false;
    };
    then.status = last.status;
    then.updated_at = last.at;
    then.reason = None;
    then.settlement = None;
    image == &then
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::PaymentStatus;
    use crate::payment::tests::payment;
    use crate::quote::tests::t0;

    const TABLE: &str = "table-a";

    fn processing() -> (Payment, Payment) {
        let created = payment("USD", "EUR", "100.00");
        let mut next = created.clone();
        next.transition(PaymentStatus::Processing, t0(), None)
            .unwrap();
        (created, next)
    }

    #[test]
    fn ids_derive_from_table_payment_and_version() {
        let id = change_event_id(TABLE, "p-1", 1);
        assert_eq!(id, change_event_id(TABLE, "p-1", 1), "stable");
        assert_ne!(id, change_event_id(TABLE, "p-1", 2));
        assert_ne!(id, change_event_id(TABLE, "p-2", 1));
        assert_ne!(id, change_event_id("table-b", "p-1", 1));
        // Parts are length-prefixed: moving characters between them changes the id.
        assert_ne!(change_event_id("ab", "c", 1), change_event_id("a", "bc", 1));
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }

    #[test]
    fn the_records_of_real_changes_pass() {
        let (created, next) = processing();
        let insert = ChangeRecord::of_change(TABLE, "1".into(), None, created.clone());
        let modify =
            ChangeRecord::of_change(TABLE, "2".into(), Some(created.clone()), next.clone());
        assert_eq!(insert.event_name, ChangeKind::Insert);
        assert_eq!(modify.event_name, ChangeKind::Modify);
        // Checked against the payment as it is now, also when the record is older.
        assert_eq!(verify_change(&insert, TABLE, Some(&next)), Ok(()));
        assert_eq!(verify_change(&modify, TABLE, Some(&next)), Ok(()));
        assert_eq!(verify_change(&insert, TABLE, Some(&created)), Ok(()));
    }

    #[test]
    fn forged_or_mismatched_records_are_refused() {
        let (created, next) = processing();
        let real = ChangeRecord::of_change(TABLE, "1".into(), None, created.clone());
        let mut forged_id = real.clone();
        forged_id.event_id = "stream-2".into();
        assert!(matches!(
            verify_change(&forged_id, TABLE, Some(&next)),
            Err(ChangeRefused::WrongEventId { .. })
        ));
        // Another table's record, or a ghost payment.
        assert!(verify_change(&real, "table-b", Some(&next)).is_err());
        assert_eq!(
            verify_change(&real, TABLE, None),
            Err(ChangeRefused::UnknownPayment("p-1".into()))
        );
        // A forged high value with a correctly derived id: not what the table holds.
        let mut big = created.clone();
        big.terms.base_amount = rust_decimal::Decimal::new(100_000_000, 2);
        let forged = ChangeRecord::of_change(TABLE, "1".into(), None, big);
        assert!(matches!(
            verify_change(&forged, TABLE, Some(&next)),
            Err(ChangeRefused::NotThePayment { version: 1, .. })
        ));
        // A version the payment has not reached, and a status it never had.
        let mut ahead = next.clone();
        ahead
            .transition(PaymentStatus::Failed, t0(), Some("x".into()))
            .unwrap();
        let early = ChangeRecord::of_change(TABLE, "3".into(), Some(next.clone()), ahead);
        assert!(verify_change(&early, TABLE, Some(&next)).is_err());
        let mut insert_as_modify = real.clone();
        insert_as_modify.event_name = ChangeKind::Modify;
        assert!(matches!(
            verify_change(&insert_as_modify, TABLE, Some(&next)),
            Err(ChangeRefused::Inconsistent(_))
        ));
        let mut other = real;
        other.payment_id = "p-2".into();
        assert!(matches!(
            verify_change(&other, TABLE, Some(&next)),
            Err(ChangeRefused::PaymentIdMismatch { .. })
        ));
    }
}
