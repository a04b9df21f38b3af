//! End-to-end tests of `eventpay up`: the built binary as a process, driven over HTTP.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, assert_balanced, assert_error, eventually, statuses};

fn server(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), extra);
    (dir, s)
}

#[test]
fn quote_has_every_field_and_rounds_to_minor_units() {
    let (_d, s) = server(&[]);
    let q = s.quote("USD", "EUR", "1000.00");
    for field in [
        "quote_id",
        "source_currency",
        "target_currency",
        "amount",
        "rate",
        "fee",
        "target_amount",
        "expires_at",
        "token",
    ] {
        assert!(!q[field].is_null(), "missing {field} in {q}");
    }
    assert_eq!(q["amount"], "1000.00");
    let jpy = s.quote("USD", "JPY", "1000.00");
    assert!(
        !jpy["target_amount"].as_str().unwrap().contains('.'),
        "JPY has no minor units: {jpy}"
    );
    let from_jpy = s.quote("JPY", "USD", "150000");
    assert_eq!(
        from_jpy["target_amount"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .map(str::len),
        Some(2)
    );
}

#[test]
fn rates_differ_by_tier_and_band() {
    let (_d, s) = server(&[]);
    let rate = |amount: &str, tier: &str| -> f64 {
        let (status, q) = s.post(
            "/quotes",
            &json!({"source_currency": "USD", "target_currency": "EUR", "amount": amount, "customer_tier": tier}),
        );
        assert_eq!(status, 201, "{q}");
        q["rate"].as_str().unwrap().parse().unwrap()
    };
    assert!(rate("1000.00", "premium") > rate("1000.00", "standard"));
    assert!(
        rate("10000.00", "standard") > rate("9999.99", "standard"),
        "band boundary at 10,000.00"
    );
}

#[test]
fn payment_settles_with_history_and_balanced_ledger() {
    let (_d, s) = server(&[]);
    let id = s.pay("1000.00", "FR7630006000011234567890189");
    let p = s.wait_final(&id, Duration::from_secs(2));
    assert_eq!(p["status"], "SETTLED", "{p}");
    assert_eq!(statuses(&p), ["PENDING", "PROCESSING", "SETTLED"]);
    assert!(
        p["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["at"].is_string())
    );
    assert_balanced(&p);
    let currencies: Vec<&str> = p["settlement"]["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["currency"].as_str().unwrap())
        .collect();
    assert!(currencies.contains(&"USD") && currencies.contains(&"EUR"));

    // What happened is visible under /_local (asynchronously: events still flow after SETTLED).
    let wait = Duration::from_secs(5);
    eventually("a SETTLED notification naming the payment", wait, || {
        let (_, notes) = s.get("/_local/notifications");
        notes["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| {
                let m = n["message"].as_str().unwrap();
                // Published to the outcomes topic with the status attribute the e-mail
                // subscription's filter policy matches on (AWS; locally every outcome is kept).
                m.contains(&id)
                    && m.contains("SETTLED")
                    && n["topic_arn"]
                        .as_str()
                        .unwrap()
                        .ends_with(":eventpay-outcomes")
                    && n["message_attributes"]["status"]["StringValue"] == "SETTLED"
            })
            .then_some(())
    });
    eventually(
        "PaymentCreated, PaymentProcessing, PaymentSettled in the audit log",
        wait,
        || {
            let (_, audit) = s.get("/_local/audit");
            let types: Vec<String> = audit["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"]["detail"]["payment_id"] == id.as_str())
                .map(|e| e["event"]["detail-type"].as_str().unwrap().to_owned())
                .collect();
            ["PaymentCreated", "PaymentProcessing", "PaymentSettled"]
                .iter()
                .all(|t| types.iter().any(|x| x == t))
                .then_some(())
        },
    );
    let exec = eventually("the execution SUCCEEDED", wait, || {
        let (_, execs) = s.get("/_local/executions");
        let exec = execs["executions"].as_array().unwrap()[0].clone();
        (exec["status"] == "SUCCEEDED").then_some(exec)
    });
    let (status, detail) = s.get(&format!(
        "/_local/executions/{}",
        exec["executionArn"].as_str().unwrap()
    ));
    assert_eq!(status, 200);
    let events: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"ExecutionStarted"));
    assert_eq!(events.last(), Some(&"ExecutionSucceeded"));
    assert!(events.contains(&"LambdaFunctionSucceeded"), "{events:?}");
    assert!(
        events.contains(&"TaskSucceeded"),
        "the SNS integration: {events:?}"
    );
    let ids: Vec<u64> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    eventually("an empty queue and DLQ", wait, || {
        let (_, queues) = s.get("/_local/queues");
        let q = &queues["queues"][0];
        ((
            q["depth"].as_u64(),
            q["in_flight"].as_u64(),
            q["dead_letter_depth"].as_u64(),
        ) == (Some(0), Some(0), Some(0)))
            .then_some(())
    });
}

#[test]
fn high_value_payment_notifies_through_the_numeric_rule() {
    let (_d, s) = server(&[]);
    let small = s.pay("9999.99", "ACC-SMALL");
    let big = s.pay("10000.00", "ACC-BIG");
    for id in [&small, &big] {
        s.wait_final(id, Duration::from_secs(5));
    }
    // The high-value notice comes from the PaymentCreated event; wait until both settled
    // payments' outcome notices are in, by then their PaymentCreated were long routed.
    eventually("both outcome notifications", Duration::from_secs(5), || {
        let (_, notes) = s.get("/_local/notifications");
        let all = notes.to_string();
        (all.contains(&format!("Payment {small} is SETTLED"))
            && all.contains(&format!("Payment {big} is SETTLED")))
        .then_some(())
    });
    let (_, notes) = s.get("/_local/notifications");
    let high: Vec<String> = notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap().to_owned())
        .filter(|m| m.starts_with("High-value"))
        .collect();
    assert_eq!(high.len(), 1, "{high:?}");
    assert!(high[0].contains(&big));
}

#[test]
fn over_limit_and_blocked_beneficiary_are_rejected_without_ledger() {
    let (_d, s) = server(&[
        "--payment-limit",
        "50000.00",
        "--blocked-accounts",
        "BLOCKED-1,BLOCKED-2",
    ]);
    let over = s.pay("50000.01", "ACC-1");
    let blocked = s.pay("10.00", "BLOCKED-2");
    let at_limit = s.pay("50000.00", "ACC-2");
    for (id, want) in [
        (&over, "REJECTED"),
        (&blocked, "REJECTED"),
        (&at_limit, "SETTLED"),
    ] {
        let p = s.wait_final(id, Duration::from_secs(5));
        assert_eq!(p["status"], want, "{p}");
        if want == "REJECTED" {
            assert!(p["reason"].as_str().is_some_and(|r| !r.is_empty()), "{p}");
            assert!(p["settlement"].is_null(), "no transfers: {p}");
            assert_eq!(statuses(&p), ["PENDING", "PROCESSING", "REJECTED"]);
        }
    }
    eventually(
        "REJECTED notifications naming both payments",
        Duration::from_secs(5),
        || {
            let (_, notes) = s.get("/_local/notifications");
            let all = notes.to_string();
            (all.contains(&format!("Payment {over} is REJECTED"))
                && all.contains(&format!("Payment {blocked} is REJECTED")))
            .then_some(())
        },
    );
}

#[test]
fn technical_failure_after_retries_ends_failed() {
    let (_d, s) = server(&[]);
    let (status, _) = s.post(
        "/_local/faults",
        &json!({"function": "eventpay-post-ledger", "failures": 1000}),
    );
    assert_eq!(status, 200);
    let id = s.pay("100.00", "ACC-F");
    let p = s.wait_final(&id, Duration::from_secs(15));
    assert_eq!(p["status"], "FAILED", "{p}");
    // The injected fault stands for a store outage: a retryable failure, named by the task
    // contract.
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("Store.Unavailable: a fault injected"),
        "{p}"
    );
    assert!(p["settlement"].is_null());
    // The execution notifies, then fails, just after the payment is FAILED.
    eventually(
        "the execution FAILED after notifying",
        Duration::from_secs(5),
        || {
            let (_, execs) = s.get("/_local/executions");
            (execs["executions"][0]["status"] == "FAILED").then_some(())
        },
    );
    let (_, notes) = s.get("/_local/notifications");
    assert!(
        notes
            .to_string()
            .contains(&format!("Payment {id} is FAILED")),
        "{notes}"
    );
}

#[test]
fn idempotency_key_returns_the_same_payment_or_409() {
    let (_d, s) = server(&[]);
    let q = s.quote("GBP", "INR", "250.00");
    let body = Server::payment_body(q["token"].as_str().unwrap(), "IN-1");
    let (a_status, a) = s.post_raw("/payments", body.to_string().into_bytes(), Some("key-1"));
    let (b_status, b) = s.post_raw("/payments", body.to_string().into_bytes(), Some("key-1"));
    assert_eq!((a_status, b_status), (202, 202));
    assert_eq!(a["payment_id"], b["payment_id"]);
    let mut other = body.clone();
    other["reference"] = json!("something else");
    assert_error(
        s.post_raw("/payments", other.to_string().into_bytes(), Some("key-1")),
        409,
        "idempotency_conflict",
    );
    let (_, list) = s.get("/payments");
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "no second payment"
    );
}

#[test]
fn forged_altered_and_expired_tokens_have_their_own_codes() {
    let (_d, s) = server(&["--quote-ttl-secs", "1"]);
    let q = s.quote("USD", "CHF", "10.00");
    let token = q["token"].as_str().unwrap().to_owned();
    let (payload, mac) = token.split_once('.').unwrap();
    let mut forged_mac: Vec<char> = mac.chars().collect();
    forged_mac[0] = if forged_mac[0] == 'A' { 'B' } else { 'A' };
    let forged = format!("{payload}.{}", forged_mac.into_iter().collect::<String>());
    let mut altered: Vec<char> = payload.chars().collect();
    altered[10] = if altered[10] == 'A' { 'B' } else { 'A' };
    let altered = format!("{}.{mac}", altered.into_iter().collect::<String>());
    let pay = |t: &str| s.post("/payments", &Server::payment_body(t, "X-1"));
    assert_error(pay(&forged), 422, "quote_token_invalid");
    let (status, body) = pay(&altered);
    assert!(status == 422 || status == 400, "{body}");
    assert!(
        ["quote_token_invalid", "quote_token_malformed"]
            .contains(&body["error"]["code"].as_str().unwrap())
    );
    assert_error(pay("garbage"), 400, "quote_token_malformed");
    std::thread::sleep(Duration::from_millis(1100));
    assert_error(pay(&token), 422, "quote_expired");
}

#[test]
fn bad_input_gets_json_4xx_and_never_crashes() {
    let (_d, s) = server(&[]);
    let quote = |v: Value| s.post("/quotes", &v);
    assert_error(
        s.post_raw("/quotes", b"{not json".to_vec(), None),
        400,
        "invalid_json",
    );
    assert_error(
        quote(
            json!({"source_currency": "USD", "target_currency": "EUR", "amount": "1.00", "x": 1}),
        ),
        400,
        "unknown_field",
    );
    assert_error(
        quote(json!({"source_currency": "USD", "target_currency": "XXX", "amount": "1.00"})),
        422,
        "unknown_currency",
    );
    assert_error(
        quote(json!({"source_currency": "USD", "target_currency": "EUR", "amount": "-1.00"})),
        422,
        "invalid_amount",
    );
    assert_error(
        quote(json!({"source_currency": "USD", "target_currency": "EUR", "amount": "1e5"})),
        422,
        "invalid_amount",
    );
    assert_error(
        quote(json!({"source_currency": "USD", "target_currency": "EUR", "amount": "1.001"})),
        422,
        "invalid_amount",
    );
    assert_error(
        quote(json!({"source_currency": "USD", "target_currency": "JPY", "amount": 10})),
        400,
        "invalid_field",
    );
    assert_error(
        quote(json!({"source_currency": "USD", "target_currency": "EUR"})),
        400,
        "missing_field",
    );
    let huge = format!(
        "{{\"source_currency\":\"USD\",\"target_currency\":\"EUR\",\"amount\":\"{}\"}}",
        "9".repeat(17 * 1024)
    );
    assert_error(
        s.post_raw("/quotes", huge.into_bytes(), None),
        413,
        "payload_too_large",
    );
    assert_error(
        s.post("/payments", &json!({"quote_token": "x"})),
        400,
        "missing_field",
    );
    assert_error(s.get("/payments/does-not-exist"), 404, "not_found");
    assert_error(s.get("/payments?status=NOPE"), 400, "invalid_status");
    assert_error(s.get("/payments?limit=0"), 400, "invalid_limit");
    assert_error(s.get("/payments?cursor=zzz"), 422, "invalid_field");
    assert_error(s.get("/nowhere"), 404, "not_found");
    // Still serving.
    s.quote("USD", "EUR", "1.00");
}

#[test]
fn list_is_newest_first_with_a_cursor_and_a_status_filter() {
    let (_d, s) = server(&[]);
    let ids: Vec<String> = (0..5)
        .map(|i| s.pay(&format!("{}.00", 10 + i), "ACC-L"))
        .collect();
    for id in &ids {
        s.wait_final(id, Duration::from_secs(5));
    }
    let mut seen = Vec::new();
    let mut path = "/payments?status=SETTLED&limit=2".to_owned();
    loop {
        let (status, page) = s.get(&path);
        assert_eq!(status, 200, "{page}");
        for p in page["items"].as_array().unwrap() {
            assert_eq!(p["status"], "SETTLED");
            seen.push(p["payment_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/payments?status=SETTLED&limit=2&cursor={c}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let (_, pending) = s.get("/payments?status=PENDING");
    assert!(pending["items"].as_array().unwrap().is_empty());
}

#[test]
fn smoke_passes_against_the_local_runtime_and_names_the_failed_step() {
    let (_d, s) = server(&[]);
    let started = Instant::now();
    let out = std::process::Command::new(support::binary())
        .args(["smoke", "--url", &s.base])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let out = std::process::Command::new(support::binary())
        .args([
            "smoke",
            "--url",
            "http://127.0.0.1:9",
            "--timeout-secs",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("step 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn poison_message_goes_to_the_dead_letter_queue_and_can_be_redriven() {
    let (_d, s) = server(&["--max-receive-count", "2", "--visibility-timeout-secs", "1"]);
    let (status, sent) = s.post_raw(
        "/_local/queues/eventpay-payments/messages",
        b"not a change record".to_vec(),
        None,
    );
    assert_eq!(status, 200, "{sent}");
    let id = s.pay("10.00", "ACC-DLQ");
    assert_eq!(
        s.wait_final(&id, Duration::from_secs(5))["status"],
        "SETTLED",
        "a poison message fails alone"
    );
    eventually(
        "the poison message in the DLQ",
        Duration::from_secs(10),
        || {
            let (_, queues) = s.get("/_local/queues");
            let q = &queues["queues"][0];
            (q["dead_letter_depth"] == 1 && q["depth"] == 0 && q["in_flight"] == 0).then_some(())
        },
    );
    let (status, moved) = s.post_raw("/_local/queues/eventpay-payments/redrive", Vec::new(), None);
    assert_eq!((status, moved["moved"].as_u64()), (200, Some(1)));
    assert_error(
        s.post_raw("/_local/queues/nope/redrive", Vec::new(), None),
        404,
        "not_found",
    );
}

#[test]
fn the_request_trace_id_reaches_the_payment_its_events_and_its_execution() {
    let (_dir, s) = server(&[]);
    let q = s.quote("USD", "EUR", "100.00");
    let body = Server::payment_body(q["token"].as_str().unwrap(), "GB29NWBK60161331926819");
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let resp = support::client()
        .post(s.url("/payments"))
        .header("content-type", "application/json")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let p: Value = resp.json().unwrap();
    assert_eq!(p["trace_id"], trace, "{p}");
    let id = p["payment_id"].as_str().unwrap().to_owned();
    let done = s.wait_final(&id, Duration::from_secs(30));
    assert_eq!(done["trace_id"], trace, "kept through every change");

    // Every event of the payment on the bus carries it, and so does the execution's input.
    let events = eventually(
        "three events in the audit log",
        Duration::from_secs(30),
        || {
            let (_, audit) = s.get("/_local/audit");
            let mine: Vec<Value> = audit["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"]["detail"]["payment_id"] == id.as_str())
                .cloned()
                .collect();
            (mine.len() >= 3).then_some(mine)
        },
    );
    for e in &events {
        assert_eq!(e["event"]["detail"]["trace_id"], trace, "{e}");
    }
    let (_, t) = s.get(&format!("/console/api/payments/{id}/timeline"));
    assert_eq!(t["trace_id"], trace, "the timeline is the request's trace");
    let name = t["execution"].as_str().unwrap();
    let (_, x) = s.get(&format!("/_local/executions/{name}"));
    let input: Value = serde_json::from_str(x["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["trace_id"], trace, "{input}");
    // Every task call gets it (the workflow's `Parameters`), the publish as an attribute too.
    let mut calls = 0;
    for e in x["events"].as_array().unwrap() {
        let given = match e["type"].as_str() {
            Some("LambdaFunctionScheduled") => &e["lambdaFunctionScheduledEventDetails"]["input"],
            Some("TaskScheduled") => &e["taskScheduledEventDetails"]["parameters"],
            _ => continue,
        };
        let given: Value = serde_json::from_str(given.as_str().unwrap()).unwrap();
        let named = given
            .get("trace_id")
            .or_else(|| given.pointer("/MessageAttributes/trace_id/StringValue"));
        assert_eq!(named, Some(&json!(trace)), "{e}");
        calls += 1;
    }
    assert_eq!(
        calls, 4,
        "MarkProcessing, Validate, PostLedger, NotifyOutcome"
    );
    let (_, n) = s.get("/_local/notifications");
    let outcome = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| {
            n["message"]
                .as_str()
                .is_some_and(|m| m.contains(id.as_str()))
        })
        .unwrap_or_else(|| panic!("no notification of {id}: {n}"));
    assert_eq!(
        outcome["message_attributes"]["trace_id"],
        json!({"DataType": "String", "StringValue": trace}),
        "{outcome}"
    );
    assert_eq!(
        outcome["message_attributes"]["status"]["StringValue"],
        "SETTLED"
    );

    // Without a trace header a payment still gets one, made up for its request.
    let other = s.pay("100.00", "GB29NWBK60161331926819");
    let (_, o) = s.get(&format!("/payments/{other}"));
    assert_eq!(o["trace_id"].as_str().map(str::len), Some(32), "{o}");
}

/// A payment stored before trace ids existed has none in its document; every event of it still
/// names one, derived from its id (the first 32 hex digits of the SHA-256 of the payment id),
/// and the console's timeline is that trace. Made here by removing the id from a payment's
/// document while its execution waits, as a data dir of an older version holds it.
#[test]
fn a_payment_stored_without_a_trace_id_gets_the_one_derived_from_its_id() {
    use sha2::{Digest, Sha256};
    let spec = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    support::copy_spec(spec.path());
    let asl = spec.path().join("settlement.asl.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&asl).unwrap()).unwrap();
    // Each execution waits after MarkProcessing, so the runtime can be stopped mid-way.
    let next = v["States"]["MarkProcessing"]["Next"].clone();
    v["States"]["Hold"] = json!({"Type": "Wait", "Seconds": 3, "Next": next});
    v["States"]["MarkProcessing"]["Next"] = "Hold".into();
    std::fs::write(&asl, v.to_string()).unwrap();

    let s = Server::start_with_spec(data.path(), spec.path(), &[]);
    let id = s.pay("100.00", "GB29NWBK60161331926819");
    eventually("the payment is PROCESSING", Duration::from_secs(30), || {
        let (_, p) = s.get(&format!("/payments/{id}"));
        (p["status"] == "PROCESSING").then_some(())
    });
    s.kill9();
    let conn = rusqlite::Connection::open(data.path().join("eventpay.sqlite3")).unwrap();
    let changed = conn
        .execute(
            "UPDATE payments SET body = json_remove(body, '$.trace_id') WHERE payment_id = ?1",
            [&id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);

    let s = Server::start_with_spec(data.path(), spec.path(), &[]);
    let done = s.wait_final(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "SETTLED", "{done}");
    assert!(
        done.get("trace_id").is_none(),
        "the document has none: {done}"
    );
    let digest = Sha256::digest(id.as_bytes());
    let derived: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let settled = eventually("the PaymentSettled event", Duration::from_secs(30), || {
        let (_, audit) = s.get("/_local/audit");
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["event"]["detail"]["payment_id"] == id.as_str()
                    && e["event"]["detail-type"] == "PaymentSettled"
            })
            .cloned()
    });
    assert_eq!(settled["event"]["detail"]["trace_id"], derived, "{settled}");
    let (_, t) = s.get(&format!("/console/api/payments/{id}/timeline"));
    assert_eq!(t["trace_id"], derived, "the timeline is the derived trace");
}
