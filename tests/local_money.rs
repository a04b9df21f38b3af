//! End-to-end tests of what a payment system must guarantee (issue 9), against the built binary:
//! no payment stuck once its workflow ended, limits and pricing bands in one base currency, a
//! quote pays one payment, idempotency conflicts that name the fields, a blocklist that no
//! spelling bypasses, and deterministic task failures that are not retried.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Server, assert_error, eventually, statuses};

fn server(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), extra);
    (dir, s)
}

fn pay_from(s: &Server, source: &str, amount: &str, beneficiary: &str) -> String {
    let q = s.quote(source, "USD", amount);
    let body = Server::payment_body(q["token"].as_str().unwrap(), beneficiary);
    let (status, p) = s.post("/payments", &body);
    assert_eq!(status, 202, "{p}");
    p["payment_id"].as_str().unwrap().to_owned()
}

fn notifications(s: &Server) -> Vec<String> {
    let (_, notes) = s.get("/_local/notifications");
    notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_payment_whose_first_step_keeps_failing_ends_failed_and_notified() {
    let (_d, s) = server(&[]);
    // MarkProcessing fails on its first attempt and both retries; MarkFailed then succeeds.
    let (status, _) = s.post(
        "/_local/faults",
        &json!({"function": "eventpay-update-status", "failures": 3}),
    );
    assert_eq!(status, 200);
    let id = s.pay("100.00", "ACC-STUCK");
    let p = s.wait_final(&id, Duration::from_secs(20));
    assert_eq!(p["status"], "FAILED", "{p}");
    assert_eq!(statuses(&p), ["PENDING", "FAILED"], "{p}");
    assert!(
        p["reason"]
            .as_str()
            .unwrap()
            .starts_with("Store.Unavailable"),
        "{p}"
    );
    assert!(p["settlement"].is_null());
    eventually("the FAILED notification", Duration::from_secs(5), || {
        notifications(&s)
            .iter()
            .any(|m| m == &format!("Payment {id} is FAILED."))
            .then_some(())
    });
}

#[test]
fn bands_limits_and_the_high_value_rule_use_the_base_currency() {
    let (_d, s) = server(&[]);
    let quote = |amount: &str| s.quote("JPY", "USD", amount);
    // 100 JPY and 10,000 JPY (about 66 USD) are in the same band: the same rate.
    let (small, larger) = (quote("100"), quote("10000"));
    assert_eq!(small["rate"], larger["rate"], "{small} {larger}");
    assert_eq!(larger["base_currency"], "USD");
    assert_eq!(larger["base_amount"], "66.06");
    // The band boundary is 10,000.00 USD: 1,513,700 JPY at 151.37.
    let below = quote("1513699");
    let at = quote("1513700");
    assert_eq!(
        (below["base_amount"].as_str(), at["base_amount"].as_str()),
        (Some("9999.99"), Some("10000.00"))
    );
    let rate = |q: &Value| q["rate"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(rate(&at) > rate(&below), "{below} {at}");

    // 6,000,000 JPY (about 39,638 USD) is under the 50,000.00 USD limit; 7,568,501 JPY is over.
    let under = pay_from(&s, "JPY", "6000000", "ACC-JPY-1");
    let over = pay_from(&s, "JPY", "7568501", "ACC-JPY-2");
    let small_one = pay_from(&s, "JPY", "10000", "ACC-JPY-3");
    assert_eq!(
        s.wait_final(&under, Duration::from_secs(10))["status"],
        "SETTLED"
    );
    let p = s.wait_final(&over, Duration::from_secs(10));
    assert_eq!(p["status"], "REJECTED", "{p}");
    assert_eq!(
        p["reason"],
        "amount 7568501 JPY (50000.01 USD) exceeds the per-payment limit of 50000.00 USD"
    );
    assert_eq!(p["base_amount"], "50000.01");
    s.wait_final(&small_one, Duration::from_secs(10));

    // High value means 10,000.00 or more in the base currency: the two big ones, not 10,000 JPY.
    let high = eventually("two high-value notices", Duration::from_secs(5), || {
        let high: Vec<String> = notifications(&s)
            .into_iter()
            .filter(|m| m.starts_with("High-value"))
            .collect();
        (high.len() >= 2).then_some(high)
    });
    assert_eq!(high.len(), 2, "{high:?}");
    assert!(
        high.iter()
            .any(|m| m.contains(&under) && m.contains("6000000 JPY (39637.97 USD)"))
    );
    assert!(!high.iter().any(|m| m.contains(&small_one)), "{high:?}");
}

#[test]
fn a_quote_pays_one_payment() {
    let (_d, s) = server(&[]);
    let q = s.quote("USD", "EUR", "100.00");
    let token = q["token"].as_str().unwrap();
    let body = Server::payment_body(token, "ACC-ONCE");
    let post = |body: &Value, key: Option<&str>| {
        s.post_raw("/payments", body.to_string().into_bytes(), key)
    };
    let (status, first) = post(&body, Some("key-1"));
    assert_eq!(status, 202, "{first}");
    let id = first["payment_id"].as_str().unwrap();
    // The same key and body: the first payment again.
    let (status, again) = post(&body, Some("key-1"));
    assert_eq!((status, &again["payment_id"]), (202, &first["payment_id"]));
    // Another key, no key, or another beneficiary: refused, naming the payment.
    let mut elsewhere = body.clone();
    elsewhere["beneficiary"]["account"] = json!("ACC-ELSEWHERE");
    for (b, key) in [
        (&body, Some("key-2")),
        (&body, None),
        (&elsewhere, None),
        (&elsewhere, Some("key-3")),
    ] {
        let (status, err) = post(b, key);
        assert_error((status, err.clone()), 409, "quote_already_used");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(id),
            "{err}"
        );
    }
    // The first key with another body: the fields that differ are named.
    let (status, err) = post(&elsewhere, Some("key-1"));
    assert_error((status, err.clone()), 409, "idempotency_conflict");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with("fields that differ: beneficiary.account"),
        "{message}"
    );

    // 30 concurrent posts without a key: one payment.
    let q = s.quote("USD", "GBP", "42.00");
    let body = Server::payment_body(q["token"].as_str().unwrap(), "ACC-RACE");
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..30)
            .map(|_| scope.spawn(|| s.post("/payments", &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let accepted: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 202)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(accepted.len(), 1, "{answers:?}");
    let winner = accepted[0]["payment_id"].as_str().unwrap();
    for (status, answer) in &answers {
        if *status != 202 {
            assert_error((*status, answer.clone()), 409, "quote_already_used");
            assert!(answer.to_string().contains(winner), "{answer}");
        }
    }
    assert_eq!(
        s.wait_final(winner, Duration::from_secs(10))["status"],
        "SETTLED"
    );
    let (_, list) = s.get("/payments?limit=100");
    let quote_id = q["quote_id"].as_str().unwrap();
    let paid = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["quote_id"] == quote_id)
        .count();
    assert_eq!(paid, 1);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[test]
fn no_spelling_of_a_blocked_account_settles() {
    let (_d, s) = server(&["--blocked-accounts", "ACC-EVIL"]);
    let spellings = [
        "ACC\u{200b}-EVIL",
        "\u{feff}ACC-EVIL",
        "acc-evil",
        "ACC\u{ff0d}EVIL",
        "ＡＣＣ－ＥＶＩＬ",
    ];
    let ids: Vec<String> = spellings
        .iter()
        .map(|account| s.pay("10.00", account))
        .collect();
    for (id, spelling) in ids.iter().zip(spellings) {
        let p = s.wait_final(id, Duration::from_secs(10));
        assert_eq!(p["status"], "REJECTED", "{spelling:?}: {p}");
        // Stored as the one canonical spelling.
        assert_eq!(p["beneficiary"]["account"], "ACC-EVIL", "{p}");
        assert_eq!(p["reason"], "beneficiary account ACC-EVIL is blocked");
    }
    // An IBAN with wrong check digits is refused at the door.
    let q = s.quote("USD", "EUR", "10.00");
    let body = Server::payment_body(q["token"].as_str().unwrap(), "GB28NWBK60161331926819");
    let (status, err) = s.post("/payments", &body);
    assert_error((status, err.clone()), 422, "invalid_field");
    assert!(err.to_string().contains("check digits"), "{err}");
}

#[test]
fn a_deterministic_failure_is_not_retried() {
    let (_d, s) = server(&[]);
    // MarkProcessing fails once as the core would refuse an illegal move (a failure no retry
    // can change); queue messages that do not come from the change stream are refused, so the
    // failure is injected at the task instead.
    let (status, set) = s.post(
        "/_local/faults",
        &json!({"function": "eventpay-update-status", "failures": 1, "error": "Payment.IllegalTransition"}),
    );
    assert_eq!(status, 200, "{set}");
    assert_error(
        s.post(
            "/_local/faults",
            &json!({"function": "eventpay-update-status", "failures": 1, "error": "Nope"}),
        ),
        400,
        "unknown_error",
    );
    let id = s.pay("10.00", "ACC-DETERMINISTIC");
    let p = s.wait_final(&id, Duration::from_secs(15));
    assert_eq!(p["status"], "FAILED", "{p}");
    assert!(
        p["reason"]
            .as_str()
            .unwrap()
            .starts_with("Payment.IllegalTransition"),
        "{p}"
    );
    let execution = eventually("the execution to end", Duration::from_secs(15), || {
        let (_, execs) = s.get("/_local/executions");
        execs["executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] != "RUNNING")
            .map(|e| {
                s.get(&format!(
                    "/_local/executions/{}",
                    e["name"].as_str().unwrap()
                ))
                .1
            })
            .find(|e| e["input"].as_str().unwrap_or_default().contains(&id))
    });
    assert_eq!(execution["status"], "FAILED", "{execution}");
    let scheduled = execution["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "LambdaFunctionScheduled" || e["type"] == "TaskScheduled")
        .count();
    // MarkProcessing once (not retried), then MarkFailed and NotifyFailure once each.
    assert_eq!(scheduled, 3, "no retries: {execution}");
}
