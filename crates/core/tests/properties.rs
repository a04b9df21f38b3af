//! Property tests of the domain rules, through the public API only.

use chrono::{DateTime, Duration, Utc};
use eventpay_core::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::str::FromStr;

mod book;

const SPEC_RATES: &str = include_str!("../../../spec/rates.json");

fn rates() -> RateTable {
    RateTable::from_json(SPEC_RATES).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn key() -> SigningKey {
    SigningKey::new(b"an example key of at least 32 bytes!").unwrap()
}

fn any_currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(currencies().to_vec())
}

fn currency_pair() -> impl Strategy<Value = (Currency, Currency)> {
    (any_currency(), any_currency()).prop_filter("different currencies", |(a, b)| a != b)
}

fn any_tier() -> impl Strategy<Value = CustomerTier> {
    prop_oneof![Just(CustomerTier::Standard), Just(CustomerTier::Premium)]
}

/// An amount text valid for `c`: from one minor unit up to the maximum (every order of magnitude
/// equally likely), with 0..=minor_units decimals.
fn amount_text(c: Currency) -> impl Strategy<Value = String> {
    let max_minor = 1_000_000_000_000u64 * 10u64.pow(c.minor_units);
    let digits = 12 + c.minor_units;
    (0..=digits, any::<u64>(), 0..=c.minor_units).prop_map(move |(magnitude, raw, keep)| {
        let minor = (1 + raw % 10u64.pow(magnitude)).min(max_minor);
        // Drop digits the chosen precision cannot show; keep at least one minor unit.
        let step = 10u64.pow(c.minor_units - keep);
        let minor = (minor / step).max(1) * step;
        let d = rust_decimal::Decimal::from_i128_with_scale(minor as i128, c.minor_units);
        let text = d.round_dp(keep).to_string();
        if keep == 0 {
            text.split('.').next().unwrap().to_string()
        } else {
            text
        }
    })
}

/// A request for an arbitrary valid quote.
fn quote_request() -> impl Strategy<Value = QuoteRequest> {
    (currency_pair(), prop::option::of(any_tier())).prop_flat_map(|((s, t), tier)| {
        amount_text(s).prop_map(move |amount| QuoteRequest {
            source_currency: s.code.into(),
            target_currency: t.code.into(),
            amount,
            customer_tier: tier,
        })
    })
}

/// Quotes of arbitrary valid requests; dust (converts to less than one minor unit) is skipped.
fn try_quote(req: &QuoteRequest, ttl_secs: i64) -> Option<Quote> {
    match create_quote(
        req,
        &rates(),
        &PricingPolicy::default(),
        "q-prop".into(),
        t0(),
        Duration::seconds(ttl_secs),
    ) {
        Ok(q) => Some(q),
        Err(DomainError::InvalidAmount(msg)) if msg.contains("too small") => None,
        Err(e) => panic!("valid request {req:?} refused: {e}"),
    }
}

fn party(name: &str, account: &str) -> Party {
    Party {
        name: name.into(),
        account: account.into(),
    }
}

fn payment_for(quote: &Quote) -> Payment {
    let req = PaymentRequest {
        quote_token: "t".into(),
        sender: party("Ada", "ACC-SENDER"),
        beneficiary: party("Bob", "ACC-BENEFICIARY"),
        reference: None,
    };
    new_payment(&req, quote, "p-prop".into(), t0()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // ---- money ----

    #[test]
    fn rounding_lands_on_the_minor_scale(c in any_currency(), mantissa in -10i64.pow(15)..10i64.pow(15), scale in 0u32..10) {
        let x = rust_decimal::Decimal::new(mantissa, scale);
        let r = round_minor(x, c);
        prop_assert_eq!(r.scale(), c.minor_units);
        let half_unit = rust_decimal::Decimal::new(5, c.minor_units + 1);
        prop_assert!((r - x).abs() <= half_unit);
        // Half away from zero: symmetric around zero.
        prop_assert_eq!(round_minor(-x, c), -r);
        let text = format_amount(x, c);
        prop_assert_eq!(text.contains('.'), c.minor_units > 0);
        if c.minor_units > 0 {
            prop_assert_eq!(text.split('.').nth(1).unwrap().len() as u32, c.minor_units);
        }
    }

    #[test]
    fn valid_amounts_parse_to_the_currency_scale(c in any_currency(), text in any_currency().prop_flat_map(amount_text)) {
        // `text` was generated for some currency; it is valid for `c` when its decimals fit.
        let decimals = text.split('.').nth(1).map_or(0, |f| f.len() as u32);
        match parse_amount(&text, c) {
            Ok(v) => {
                prop_assert!(decimals <= c.minor_units);
                prop_assert_eq!(v.scale(), c.minor_units);
                prop_assert!(v > rust_decimal::Decimal::ZERO);
                prop_assert_eq!(v, rust_decimal::Decimal::from_str(&text).unwrap());
                prop_assert_eq!(parse_amount(&format_amount(v, c), c).unwrap(), v);
            }
            Err(e) => {
                prop_assert!(decimals > c.minor_units, "{text} refused: {e}");
            }
        }
    }

    #[test]
    fn parse_never_panics_and_rejects_signs_and_spaces(text in "[ +\\-0-9.eE,]{0,20}", c in any_currency()) {
        if let Ok(v) = parse_amount(&text, c) {
            prop_assert!(text.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
            prop_assert!(v > rust_decimal::Decimal::ZERO && v.scale() == c.minor_units);
        }
    }

    // ---- pricing ----

    #[test]
    fn every_priced_figure_is_at_its_scale(req in quote_request()) {
        if let Some(q) = try_quote(&req, 900) {
            let (s, t) = (q.terms.source_currency, q.terms.target_currency);
            prop_assert_eq!(q.terms.amount.scale(), s.minor_units);
            prop_assert_eq!(q.terms.fee.scale(), s.minor_units);
            prop_assert_eq!(q.terms.target_amount.scale(), t.minor_units);
            prop_assert_eq!(q.terms.rate.scale(), 6);
            prop_assert!(q.terms.fee >= rust_decimal::Decimal::ZERO && q.terms.fee < q.terms.amount);
            prop_assert!(q.terms.target_amount > rust_decimal::Decimal::ZERO);
            let json = serde_json::to_value(&q).unwrap();
            prop_assert_eq!(json["amount"].as_str().unwrap(), format_amount(q.terms.amount, s));
            prop_assert_eq!(json["target_amount"].as_str().unwrap(), format_amount(q.terms.target_amount, t));
        }
    }

    #[test]
    fn premium_is_never_worse_than_standard((s, t) in currency_pair(), units in 1u64..2_000_000) {
        let amount = round_minor(rust_decimal::Decimal::from(units), s);
        let policy = PricingPolicy::default();
        let std = price(&rates(), &policy, s, t, amount, CustomerTier::Standard).unwrap();
        let pre = price(&rates(), &policy, s, t, amount, CustomerTier::Premium).unwrap();
        prop_assert!(pre.spread_bps < std.spread_bps);
        prop_assert!(pre.rate >= std.rate);
        prop_assert!(pre.fee <= std.fee);
        prop_assert!(pre.target_amount >= std.target_amount);
    }

    #[test]
    fn larger_bands_have_smaller_spreads((s, t) in currency_pair(), tier in any_tier(), a in 1u64..1_000_000, b in 1u64..1_000_000) {
        let (lo, hi) = (a.min(b), a.max(b));
        let policy = PricingPolicy::default();
        let p_lo = price(&rates(), &policy, s, t, round_minor(lo.into(), s), tier).unwrap();
        let p_hi = price(&rates(), &policy, s, t, round_minor(hi.into(), s), tier).unwrap();
        prop_assert!(p_hi.spread_bps <= p_lo.spread_bps);
        prop_assert!(p_hi.rate >= p_lo.rate);
        // Bands are chosen by the amount in the base currency.
        let band = |x: rust_decimal::Decimal| if x < 10_000.into() { 0 } else if x < 100_000.into() { 1 } else { 2 };
        if band(p_hi.base_amount) > band(p_lo.base_amount) {
            prop_assert!(p_hi.spread_bps < p_lo.spread_bps);
        }
    }

    #[test]
    fn band_boundaries_are_exact_in_every_currency((s, t) in currency_pair(), tier in any_tier()) {
        let rates = rates();
        let policy = PricingPolicy::default();
        let base = rates.base_currency().unwrap();
        let minor = rust_decimal::Decimal::new(1, s.minor_units);
        let (first, second, third) = match tier {
            CustomerTier::Standard => (100, 60, 40),
            CustomerTier::Premium => (50, 30, 20),
        };
        for (boundary, below_bps, at_bps) in [(10_000, first, second), (100_000, second, third)] {
            let boundary = rust_decimal::Decimal::from(boundary);
            // The smallest amount of `s` worth the boundary in the base currency.
            let mut at = round_minor(boundary * rates.mid_rate(base, s).unwrap(), s);
            while rates.to_base(at, s).unwrap() >= boundary { at -= minor; }
            while rates.to_base(at, s).unwrap() < boundary { at += minor; }
            let below = at - minor;
            let p_at = price(&rates, &policy, s, t, at, tier).unwrap();
            let p_below = price(&rates, &policy, s, t, below, tier).unwrap();
            prop_assert!(p_at.base_amount >= boundary && p_below.base_amount < boundary);
            prop_assert_eq!(p_below.spread_bps, below_bps, "{} {} below {}", below, s, boundary);
            prop_assert_eq!(p_at.spread_bps, at_bps, "{} {} at {}", at, s, boundary);
        }
    }

    #[test]
    fn base_amount_is_the_mid_market_conversion(req in quote_request()) {
        if let Some(q) = try_quote(&req, 900) {
            let rates = rates();
            let base = rates.base_currency().unwrap();
            let s = q.terms.source_currency;
            prop_assert_eq!(q.terms.base_currency, base);
            prop_assert_eq!(q.terms.base_amount.scale(), base.minor_units);
            let exact = q.terms.amount * rates.mid_rate(s, base).unwrap();
            prop_assert!((q.terms.base_amount - exact).abs() <= rust_decimal::Decimal::new(5, base.minor_units + 1) + rust_decimal::Decimal::new(1, 20));
            // The payment carries it, and the limit compares it whatever the source currency.
            let p = payment_for(&q);
            prop_assert_eq!(p.terms.base_amount, q.terms.base_amount);
            let policy = SettlementPolicy { per_payment_limit: q.terms.base_amount, ..Default::default() };
            prop_assert_eq!(decide(&p, &policy), Decision::Approved);
            let tighter = SettlementPolicy { per_payment_limit: q.terms.base_amount - rust_decimal::Decimal::new(1, base.minor_units), ..Default::default() };
            prop_assert!(!decide(&p, &tighter).is_approved());
        }
    }

    #[test]
    fn account_canonical_form_is_a_fixed_point(raw in "\\PC{0,24}") {
        let once = canonical_account(&raw);
        prop_assert_eq!(canonical_account(&once), once.clone());
        prop_assert!(same_account(&raw, &once));
        prop_assert!(!once.chars().any(char::is_whitespace));
        // Invisible characters anywhere do not make another account.
        let mut disguised = String::new();
        for c in raw.chars() {
            disguised.push(c);
            disguised.push('\u{200b}');
        }
        prop_assert_eq!(canonical_account(&disguised), once.clone());
        prop_assert_eq!(canonical_account(&raw.to_lowercase()), canonical_account(&raw.to_uppercase()));
    }

    // ---- tokens ----

    #[test]
    fn tokens_round_trip(req in quote_request(), ttl in 1i64..86_400, before in 1i64..86_400) {
        if let Some(q) = try_quote(&req, ttl) {
            let token = sign_quote(&q, &key());
            let now = q.expires_at - Duration::seconds(before.min(ttl));
            prop_assert_eq!(verify_quote(&token, &key(), now).unwrap(), q);
        }
    }

    #[test]
    fn expiry_boundary(req in quote_request(), ttl in 1i64..86_400, nanos in 0i64..2_000_000_000) {
        if let Some(q) = try_quote(&req, ttl) {
            let token = sign_quote(&q, &key());
            let late = q.expires_at + Duration::nanoseconds(nanos);
            prop_assert_eq!(verify_quote(&token, &key(), late), Err(DomainError::TokenExpired));
            let early = q.expires_at - Duration::nanoseconds(nanos + 1);
            prop_assert!(verify_quote(&token, &key(), early).is_ok());
        }
    }

    #[test]
    fn any_altered_byte_is_refused(req in quote_request(), pos in any::<prop::sample::Index>(), byte in 0x20u8..0x7f) {
        if let Some(q) = try_quote(&req, 900) {
            let token = sign_quote(&q, &key());
            let i = pos.index(token.len());
            prop_assume!(token.as_bytes()[i] != byte);
            let mut bytes = token.into_bytes();
            bytes[i] = byte;
            let altered = String::from_utf8(bytes).unwrap();
            match verify_quote(&altered, &key(), t0()) {
                Err(DomainError::TokenForged | DomainError::TokenMalformed) => {}
                other => prop_assert!(false, "altered token at {} gave {:?}", i, other),
            }
        }
    }

    #[test]
    fn truncated_or_extended_tokens_are_refused(req in quote_request(), cut in any::<prop::sample::Index>(), extra in "[A-Za-z0-9_.=-]{1,4}") {
        if let Some(q) = try_quote(&req, 900) {
            let token = sign_quote(&q, &key());
            let truncated = &token[..cut.index(token.len())];
            prop_assert!(verify_quote(truncated, &key(), t0()).is_err());
            let appended = format!("{token}{extra}");
            let prepended = format!("{extra}{token}");
            prop_assert!(verify_quote(&appended, &key(), t0()).is_err());
            prop_assert!(verify_quote(&prepended, &key(), t0()).is_err());
        }
    }

    // ---- payments ----

    #[test]
    fn only_legal_transitions_succeed(moves in prop::collection::vec(prop::sample::select(PaymentStatus::ALL.to_vec()), 0..8)) {
        let q = try_quote(&QuoteRequest { source_currency: "USD".into(), target_currency: "EUR".into(), amount: "100".into(), customer_tier: None }, 900).unwrap();
        let mut p = payment_for(&q);
        for (i, to) in moves.into_iter().enumerate() {
            let from = p.status;
            let before = p.clone();
            let now = t0() + Duration::seconds(i as i64 + 1);
            match p.transition(to, now, Some("why".into())) {
                Ok(TransitionOutcome::Applied) => {
                    prop_assert!(from.can_transition_to(to));
                    prop_assert_eq!(p.status, to);
                    prop_assert_eq!(p.history.len(), before.history.len() + 1);
                    prop_assert_eq!(p.updated_at, now);
                }
                Ok(TransitionOutcome::AlreadyInStatus) => {
                    prop_assert_eq!(from, to);
                    prop_assert_eq!(&p, &before);
                }
                Err(e) => {
                    prop_assert_eq!(e, DomainError::IllegalTransition { from, to });
                    prop_assert!(from != to && !from.can_transition_to(to));
                    prop_assert_eq!(&p, &before);
                }
            }
        }
        // The history is always a legal path from PENDING.
        prop_assert_eq!(p.history[0].status, PaymentStatus::Pending);
        for w in p.history.windows(2) {
            prop_assert!(w[0].status.can_transition_to(w[1].status));
        }
    }

    // ---- ledger ----

    #[test]
    fn every_settlements_transfers_balance_per_currency(req in quote_request()) {
        if let Some(q) = try_quote(&req, 900) {
            let p = payment_for(&q);
            let transfers = transfers_for(&p, t0()).unwrap();
            prop_assert!(transfers.len() == 2 || transfers.len() == 3);
            for t in &transfers {
                prop_assert!(t.defect().is_none(), "{:?}", t);
                prop_assert_eq!(t.amount.scale(), t.currency.minor_units);
                prop_assert_eq!(&t.payment_id, &p.payment_id);
            }
            let changes = balance_changes(&transfers);
            let mut per_currency = std::collections::BTreeMap::new();
            for ((_, c), change) in &changes {
                *per_currency.entry(*c).or_insert(Decimal::ZERO) += change.net();
            }
            prop_assert!(per_currency.values().all(|v| v.is_zero()), "{:?}", per_currency);
            let src = p.terms.source_currency;
            let tgt = p.terms.target_currency;
            prop_assert_eq!(changes[&(p.sender.account.clone(), src)].debits, p.terms.amount);
            prop_assert_eq!(changes[&(p.beneficiary.account.clone(), tgt)].credits, p.terms.target_amount);
        }
    }

    /// Any sequence of settlements, retries, late failures and crashes (before or after the
    /// atomic write lands) leaves a book that reconciles: balances are the sums of transfers,
    /// every currency sums to zero, and only settled payments have transfers, exactly theirs.
    #[test]
    fn balances_equal_the_sum_of_transfers_after_any_history(
        quotes in prop::collection::vec(quote_request(), 1..5),
        ops in prop::collection::vec((0usize..5, 0u8..3, 0u8..3), 0..40),
    ) {
        let book = book::Book::default();
        let mut ids = Vec::new();
        for (i, req) in quotes.iter().enumerate() {
            if let Some(q) = try_quote(req, 900) {
                let mut p = payment_for(&q);
                p.payment_id = format!("p-{i}").into();
                book.insert(p.clone());
                ids.push(p.payment_id);
            }
        }
        for (n, (which, op, fault)) in ops.into_iter().enumerate() {
            let Some(id) = ids.get(which % ids.len().max(1)) else { break };
            book.set_fault(fault);
            let now = t0() + Duration::seconds(n as i64 + 1);
            let status = |status| StatusUpdate { payment_id: id.clone(), status, reason: None };
            // Errors are the crashes and refused moves under test: the book must hold anyway.
            let _ = match op {
                0 => book::run(update_status(&book, &status(PaymentStatus::Processing), now)).map(|_| ()),
                1 => book::run(post_ledger(&book, id, now)).map(|_| ()),
                _ => book::run(update_status(&book, &status(PaymentStatus::Failed), now)).map(|_| ()),
            };
        }
        let r = book.reconcile();
        prop_assert!(r.is_balanced(), "{:?}", r.discrepancies);
        prop_assert!(r.currencies.values().all(|s| s.is_zero()));
    }

    // ---- idempotency fingerprint ----

    #[test]
    fn fingerprint_ignores_key_order(pairs in prop::collection::btree_map("[a-z_]{1,8}", json_leaf(), 0..8), seed in any::<u64>()) {
        let mut items: Vec<(String, Value)> = pairs.into_iter().collect();
        let text_of = |items: &[(String, Value)]| {
            let inner: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), v))
                .collect();
            format!("{{ \"nested\": {{ {} }}, {} }}", inner.join(", "), if inner.is_empty() { "\"z\": 0".to_string() } else { inner.join(" ,\n ") })
        };
        let a: Value = serde_json::from_str(&text_of(&items)).unwrap();
        // A deterministic shuffle.
        let mut s = seed;
        for i in (1..items.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            items.swap(i, (s >> 33) as usize % (i + 1));
        }
        let b: Value = serde_json::from_str(&text_of(&items)).unwrap();
        prop_assert_eq!(request_fingerprint(&a), request_fingerprint(&b));
        let mut c = a.clone();
        c["extra"] = json!(1);
        prop_assert_ne!(request_fingerprint(&a), request_fingerprint(&c));
    }
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::collection::vec(any::<i32>().prop_map(Value::from), 0..3).prop_map(Value::from),
        Just(Value::Null),
    ]
}

#[test]
fn every_status_pair_is_checked() {
    use PaymentStatus::*;
    let legal = [
        (Pending, Processing),
        (Pending, Failed),
        (Processing, Settled),
        (Processing, Rejected),
        (Processing, Failed),
    ];
    let q = try_quote(
        &QuoteRequest {
            source_currency: "GBP".into(),
            target_currency: "JPY".into(),
            amount: "250".into(),
            customer_tier: Some(CustomerTier::Premium),
        },
        900,
    )
    .unwrap();
    for from in PaymentStatus::ALL {
        for to in PaymentStatus::ALL {
            let mut p = payment_for(&q);
            p.status = from;
            let outcome = p.transition(to, t0(), None);
            match (from == to, legal.contains(&(from, to))) {
                (true, _) => assert_eq!(outcome, Ok(TransitionOutcome::AlreadyInStatus)),
                (false, true) => {
                    assert_eq!(outcome, Ok(TransitionOutcome::Applied), "{from} -> {to}")
                }
                (false, false) => {
                    assert_eq!(
                        outcome,
                        Err(DomainError::IllegalTransition { from, to }),
                        "{from} -> {to}"
                    )
                }
            }
        }
    }
}
