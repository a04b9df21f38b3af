//! Shared fixtures of this crate's unit tests.

use eventpay_core::{ChangeKind, Party, PaymentRequest, PricingPolicy, QuoteRequest, RateTable};

use crate::db::{Db, Durability};

/// A database in a new temp dir with `records` INSERT records on its change stream.
pub async fn db_with_stream(records: usize) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Durability::Normal).unwrap();
    let payment = payment_json();
    db.write(move |tx| {
        for _ in 0..records {
            crate::stream::append(tx, ChangeKind::Insert, "p", None, &payment)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    (dir, db)
}

/// A new payment's stored JSON, as the payments table holds it.
pub fn payment_json() -> String {
    let rates = RateTable::from_json(include_str!("../../../spec/rates.json")).unwrap();
    let now = chrono::Utc::now();
    let req = QuoteRequest {
        source_currency: "USD".into(),
        target_currency: "EUR".into(),
        amount: "10.00".into(),
        customer_tier: None,
    };
    let quote = eventpay_core::create_quote(
        &req,
        &rates,
        &PricingPolicy::default(),
        "q".into(),
        now,
        chrono::Duration::minutes(5),
    )
    .unwrap();
    let party = |n: &str| Party {
        name: n.into(),
        account: n.into(),
    };
    let req = PaymentRequest {
        quote_token: String::new(),
        sender: party("S"),
        beneficiary: party("B"),
        reference: None,
    };
    serde_json::to_string(&eventpay_core::new_payment(&req, &quote, "p".into(), now).unwrap())
        .unwrap()
}
