//! Shared fixtures of this crate's unit tests.

use eventpay_core::{Party, PaymentRequest, PricingPolicy, QuoteRequest, RateTable};

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
