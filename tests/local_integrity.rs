//! End-to-end tests of the flow's integrity (issue 9, points 1 and 6), against the built binary:
//! a queue message that is not a change of the payments table is refused and suppresses no real
//! event; payments left stuck (execution ended without a final status, or no execution at all)
//! are found by the sweeper at start-up, reported at `/_local/stuck` and resolved.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Server, eventually, statuses};

fn notifications(s: &Server) -> Vec<String> {
    let (_, notes) = s.get("/_local/notifications");
    notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn audit_mentions(s: &Server, payment_id: &str) -> usize {
    let (_, audit) = s.get("/_local/audit");
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["detail"]["payment_id"] == payment_id)
        .count()
}

fn inject(s: &Server, record: &Value) {
    let (status, sent) = s.post_raw(
        "/_local/queues/eventpay-payments/messages",
        record.to_string().into_bytes(),
        None,
    );
    assert_eq!(status, 200, "{sent}");
}

/// A change record as the forwarder writes it, with the given id and image.
fn record(event_id: &str, image: &Value) -> Value {
    json!({
        "event_id": event_id,
        "event_name": "INSERT",
        "sequence_number": "1",
        "payment_id": image["payment_id"],
        "old_image": null,
        "new_image": image,
    })
}

#[test]
fn forged_change_records_are_refused_and_suppress_no_real_event() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let first = s.pay("10.00", "ACC-FIRST");
    assert_eq!(
        s.wait_final(&first, Duration::from_secs(10))["status"],
        "SETTLED"
    );
    // The reproduction: records carrying the ids the next real changes would have had
    // (`stream-<seq>`), for a high-value payment that does not exist...
    let q = s.quote("USD", "EUR", "10.00");
    let (status, mut ghost) = s.post(
        "/payments",
        &Server::payment_body(q["token"].as_str().unwrap(), "ACC-REAL"),
    );
    assert_eq!(status, 202, "{ghost}");
    let real_small = ghost["payment_id"].as_str().unwrap().to_owned();
    s.wait_final(&real_small, Duration::from_secs(10));
    // ...and for a real payment, its amount forged to a high value.
    let mut inflated = ghost.clone();
    for field in ["amount", "base_amount"] {
        inflated[field] = json!("990000.00");
    }
    ghost["payment_id"] = json!("ghost-1");
    ghost["quote_id"] = json!("q-ghost");
    for field in ["amount", "base_amount"] {
        ghost[field] = json!("990000.00");
    }
    for seq in 1..=12 {
        inject(&s, &record(&format!("stream-{seq}"), &ghost));
    }
    inject(&s, &record("stream-13", &inflated));
    inject(&s, &json!({"not": "a change record"}));
    eventually(
        "the forged messages in the DLQ",
        Duration::from_secs(10),
        || {
            let (_, queues) = s.get("/_local/queues");
            (queues["queues"][0]["dead_letter_depth"] == 14).then_some(())
        },
    );
    let (_, figures) = s.get("/_local/figures");
    assert_eq!(figures["refused_messages"], 14, "{figures}");
    // The next real payments still settle, a high-value one announced once.
    let next = s.pay("10.00", "ACC-NEXT");
    let big = s.pay("20000.00", "ACC-BIG");
    for id in [&next, &big] {
        let p = s.wait_final(id, Duration::from_secs(10));
        assert_eq!(p["status"], "SETTLED", "{p}");
        assert_eq!(statuses(&p), ["PENDING", "PROCESSING", "SETTLED"]);
    }
    let notes = eventually("the real high-value notice", Duration::from_secs(5), || {
        let notes = notifications(&s);
        notes
            .iter()
            .any(|m| m.contains(&big) && m.starts_with("High-value"))
            .then_some(notes)
    });
    assert!(
        !notes
            .iter()
            .any(|m| m.contains("ghost-1")
                || m.contains(&format!("High-value payment {real_small}"))),
        "no forged notification: {notes:?}"
    );
    assert_eq!(audit_mentions(&s, "ghost-1"), 0, "no forged audit entry");
    // The real small payment's audit entries are its three real events, none forged.
    assert_eq!(audit_mentions(&s, &real_small), 3);
}

fn sql(data_dir: &Path, statements: &str) {
    let conn = rusqlite::Connection::open(data_dir.join("eventpay.sqlite3")).unwrap();
    conn.execute_batch(statements).unwrap();
}

fn stuck(s: &Server) -> Vec<Value> {
    s.get("/_local/stuck").1["stuck"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn an_execution_that_ended_without_a_final_status_is_swept_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let id = s.pay("10.00", "ACC-SWEPT");
    assert_eq!(
        s.wait_final(&id, Duration::from_secs(10))["status"],
        "SETTLED"
    );
    assert!(s.interrupt().success());
    // While stopped: the execution FAILED but the payment is left PROCESSING (as if its
    // MarkFailed had never run).
    sql(
        dir.path(),
        &format!(
            "UPDATE payments SET status = 'PROCESSING',
                 body = json_set(json_remove(body, '$.history[2]'), '$.status', 'PROCESSING',
                                 '$.settlement', json('null'))
             WHERE payment_id = '{id}';
             UPDATE executions SET status = 'FAILED';"
        ),
    );
    let s = Server::start(dir.path(), &[]);
    let p = s.wait_final(&id, Duration::from_secs(10));
    assert_eq!(p["status"], "FAILED", "{p}");
    assert!(p["reason"].as_str().unwrap().starts_with("stuck: "), "{p}");
    let found = stuck(&s);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["payment_id"], id.as_str());
    assert_eq!(found[0]["execution_status"], "FAILED");
    assert_eq!(found[0]["remedy"]["action"], "mark_failed");
    assert_eq!(found[0]["outcome"], "marked FAILED and notified");
    eventually("the FAILED notification", Duration::from_secs(5), || {
        notifications(&s)
            .contains(&format!("Payment {id} is FAILED."))
            .then_some(())
    });
    // The next pass finds nothing more: the payment is final.
    assert_eq!(s.get("/_local/stuck").1["passes"], 1);
}

#[test]
fn a_payment_without_an_execution_is_published_again_and_settles() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let id = s.pay("10.00", "ACC-ORPHAN");
    assert_eq!(
        s.wait_final(&id, Duration::from_secs(10))["status"],
        "SETTLED"
    );
    assert!(s.interrupt().success());
    // While stopped: the payment back to PENDING (its ledger posting undone: it is the only one)
    // and its execution gone, nothing in flight.
    sql(
        dir.path(),
        &format!(
            "UPDATE payments SET status = 'PENDING',
                 body = json_set(json_remove(body, '$.history[2]', '$.history[1]'),
                                 '$.status', 'PENDING', '$.settlement', json('null'),
                                 '$.updated_at', json_extract(body, '$.created_at'))
             WHERE payment_id = '{id}';
             DELETE FROM transfers; DELETE FROM balances;
             DELETE FROM history; DELETE FROM executions;"
        ),
    );
    let s = Server::start(dir.path(), &["--stuck-after-secs", "0"]);
    let p = s.wait_final(&id, Duration::from_secs(15));
    assert_eq!(p["status"], "SETTLED", "{p}");
    let found = stuck(&s);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["remedy"]["action"], "republish");
    assert_eq!(found[0]["execution_status"], Value::Null);
    assert_eq!(found[0]["outcome"], "its change was published again");
}
