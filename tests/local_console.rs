//! The web console's JSON endpoints over HTTP against the built binary: a payment's causal
//! timeline is complete and in order (also after a restart), search, filters and pagination,
//! the tools, the trace id from the client's `traceparent`, and the local endpoints'
//! protections (foreign Host, cross-origin and non-JSON writes).

mod support;

use std::time::Duration;

use serde_json::{Value, json};

use support::{Server, assert_error, client, eventually};

const FLAGS: [&str; 2] = ["--blocked-accounts", "BLOCKED-1"];

/// The hops every settled payment's timeline shows, in causal order.
const SETTLED_HOPS: [&str; 11] = [
    "http",
    "table",
    "stream",
    "forwarder",
    "queue",
    "bus",
    "rule",
    "execution",
    "state",
    "ledger",
    "notification",
];

fn timeline(s: &Server, id: &str) -> Value {
    // The execution's last step (the notification) ends just after the payment settles.
    eventually("the execution ends", Duration::from_secs(10), || {
        let (status, t) = s.get(&format!("/console/api/payments/{id}/timeline"));
        assert_eq!(status, 200, "{t}");
        let items = t["items"].as_array().unwrap();
        let ended = items.iter().any(|i| {
            i["kind"] == "execution"
                && i["title"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("SUCCEEDED") || t.ends_with("FAILED"))
        });
        ended.then_some(t)
    })
}

fn kinds(t: &Value) -> Vec<String> {
    t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// `wanted` appears in `got` as a subsequence (in this order).
fn in_order(got: &[String], wanted: &[&str]) -> bool {
    let mut it = got.iter();
    wanted.iter().all(|w| it.any(|g| g == w))
}

fn pay_with_traceparent(s: &Server, traceparent: &str) -> String {
    let q = s.quote("USD", "EUR", "250.00");
    let body = Server::payment_body(q["token"].as_str().unwrap(), "ACC-T");
    let resp = client()
        .post(s.url("/payments"))
        .header("content-type", "application/json")
        .header("traceparent", traceparent)
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let echoed = resp.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(
        echoed.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{echoed}"
    );
    let p: Value = resp.json().unwrap();
    p["payment_id"].as_str().unwrap().to_owned()
}

#[test]
fn timeline_is_complete_ordered_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &FLAGS);
    let id = pay_with_traceparent(
        &s,
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    );
    assert_eq!(
        s.wait_final(&id, Duration::from_secs(20))["status"],
        "SETTLED"
    );
    let t = timeline(&s, &id);
    assert_eq!(t["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let got = kinds(&t);
    assert!(in_order(&got, &SETTLED_HOPS), "{got:?}");
    let at: Vec<i64> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["at_us"].as_i64().unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "ordered: {at:?}");
    let titles: Vec<&str> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    for want in [
        "payments table: INSERT → PENDING",
        "payments table: MODIFY → PROCESSING",
        "payments table: MODIFY → SETTLED",
        "queue receive stream-1 (receive count 1)",
        "event PaymentCreated on the bus",
        "rule settlement matched → settlement-workflow",
        "state MarkProcessing",
        "state PostLedger",
        "ledger write: 3 transfers, balanced per currency",
        "state NotifyOutcome: notification published",
    ] {
        assert!(titles.contains(&want), "{want:?} missing from {titles:#?}");
    }
    // Every item links to where its detail is shown.
    assert!(
        t["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["link"].is_string())
    );
    let before = t["items"].clone();
    assert!(s.interrupt().success());

    let s = Server::start(dir.path(), &FLAGS);
    let (_, again) = s.get(&format!("/console/api/payments/{id}/timeline"));
    assert_eq!(
        again["items"], before,
        "the timeline is the same after a restart"
    );
}

#[test]
fn rejected_and_failed_payments_show_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &FLAGS);
    let rejected = s.pay("100.00", "BLOCKED-1");
    assert_eq!(
        s.wait_final(&rejected, Duration::from_secs(20))["status"],
        "REJECTED"
    );
    let (status, _) = s.post(
        "/_local/faults",
        &json!({"function": "eventpay-post-ledger", "failures": 3}),
    );
    assert_eq!(status, 200);
    let failed = s.pay("100.00", "ACC-F");
    assert_eq!(
        s.wait_final(&failed, Duration::from_secs(30))["status"],
        "FAILED"
    );

    let t = timeline(&s, &rejected);
    let titles: Vec<String> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        titles.contains(&"state MarkRejected".to_owned()),
        "{titles:#?}"
    );
    assert!(
        !kinds(&t).contains(&"ledger".to_owned()),
        "no ledger for a rejected payment"
    );

    let t = timeline(&s, &failed);
    let post_ledger = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "state PostLedger")
        .unwrap_or_else(|| panic!("{t}"));
    assert_eq!(post_ledger["detail"]["attempts"], 3, "{post_ledger}");
    assert_eq!(post_ledger["detail"]["retries"], 2);
    // An injected fault is a transient failure in the task contract (issue 9).
    assert_eq!(post_ledger["detail"]["error"]["error"], "Store.Unavailable");

    // Executions list with a status filter; one execution's graph input and history.
    let (_, list) = s.get("/console/api/executions?status=SUCCEEDED");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (_, list) = s.get("/console/api/executions?status=FAILED");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let name = t["execution"].as_str().unwrap();
    let (status, x) = s.get(&format!("/console/api/executions/{name}"));
    assert_eq!(status, 200);
    assert_eq!(x["definition"]["StartAt"], "MarkProcessing");
    assert!(x["events"].as_array().unwrap().len() > 10);
    assert_eq!(x["execution"]["status"], "FAILED");
    assert_eq!(x["redrive"]["possible"], true, "a FAILED execution: {x}");
    assert!(
        x["redrive"]["reason"]
            .as_str()
            .unwrap()
            .contains("RedriveExecution")
    );
    let ended: Vec<&str> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(ended.contains(&"state MarkFailed"), "{ended:#?}");
    assert!(ended.contains(&"state SettlementFailed"), "{ended:#?}");
    assert!(
        ended.contains(&"state NotifyFailure: notification published"),
        "{ended:#?}"
    );
    assert!(
        ended.contains(&format!("execution {name} FAILED").as_str()),
        "{ended:#?}"
    );
    assert_error(
        s.get("/console/api/executions?status=NOPE"),
        400,
        "invalid_status",
    );
    assert_error(s.get("/console/api/executions/no-such"), 404, "not_found");
}

#[test]
fn payments_list_filters_searches_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &FLAGS);
    let ids: Vec<String> = (0..5)
        .map(|i| s.pay(&format!("{}.00", 10 + i), "ACC-P"))
        .collect();
    let blocked = s.pay("10.00", "BLOCKED-1");
    for id in ids.iter().chain([&blocked]) {
        s.wait_final(id, Duration::from_secs(20));
    }
    let (_, page) = s.get("/console/api/payments?limit=4");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["payment_id"], blocked.as_str(), "newest first");
    let next = page["next_before"].as_str().unwrap().to_owned();
    let (_, rest) = s.get(&format!("/console/api/payments?limit=4&before={next}"));
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert!(rest["next_before"].is_null());

    let (_, rejected) = s.get("/console/api/payments?status=REJECTED");
    assert_eq!(rejected["items"].as_array().unwrap().len(), 1);
    for q in [blocked.as_str(), "BLOCK", "invoice", "DE8937"] {
        let (_, found) = s.get(&format!("/console/api/payments?q={q}&status=REJECTED"));
        assert_eq!(found["items"].as_array().unwrap().len(), 1, "{q}: {found}");
    }
    let (_, none) = s.get("/console/api/payments?q=nothing-like-this");
    assert!(none["items"].as_array().unwrap().is_empty());
    assert_error(
        s.get("/console/api/payments?status=DONE"),
        400,
        "invalid_status",
    );
    assert_error(s.get("/console/api/payments?limit=0"), 400, "invalid_limit");
    assert_error(
        s.get("/console/api/payments?before=x"),
        400,
        "invalid_cursor",
    );
    assert_error(s.get("/console/api/payments?bogus=1"), 400, "invalid_query");
    assert_error(
        s.get("/console/api/payments/nope/timeline"),
        404,
        "not_found",
    );
}

#[test]
fn tools_overview_and_assets() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &FLAGS);
    let (status, r) = s.post(
        "/console/api/test-pattern",
        &json!({"event_pattern": {"detail": {"n": [{"numeric": [">=", 10]}]}}, "event": {"detail": {"n": 12}}}),
    );
    assert_eq!((status, &r["Result"]), (200, &json!(true)));
    assert_error(
        s.post(
            "/console/api/test-pattern",
            &json!({"event_pattern": {"detail": 5}, "event": {}}),
        ),
        400,
        "invalid_event_pattern",
    );
    let machine =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": true}}});
    let (status, r) = s.post(
        "/console/api/run-state-machine",
        &json!({"definition": machine, "input": {}}),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (&r["status"], &r["output"]),
        (&json!("SUCCEEDED"), &json!(7))
    );
    assert_error(
        s.post(
            "/console/api/run-state-machine",
            &json!({"definition": {"StartAt": "X", "States": {}}}),
        ),
        400,
        "invalid_definition",
    );

    let (_, o) = s.get("/console/api/overview");
    let rules: Vec<&str> = o["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["audit", "high-value", "settlement"]);
    assert!(
        o["spec_files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["file"] == "spec/settlement.asl.json"
                && f["sha256"].as_str().unwrap().len() == 12)
    );

    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = http.get(s.url("/")).send().unwrap();
    assert_eq!(root.status().as_u16(), 307);
    assert_eq!(root.headers()["location"], "/console/");
    for (path, kind) in [
        ("/console/", "text/html"),
        ("/console/payments/anything", "text/html"),
        ("/console/assets/app.js", "text/javascript"),
        ("/console/assets/graph.js", "text/javascript"),
        ("/console/assets/app.css", "text/css"),
    ] {
        let r = http.get(s.url(path)).send().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(kind), "{path}: {ct}");
        let body = r.text().unwrap();
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} fetches nothing from elsewhere"
        );
    }
    assert_error(s.get("/console/api/nothing"), 404, "not_found");
}

#[test]
fn console_refuses_foreign_hosts_and_cross_origin_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &FLAGS);
    let http = client();
    let decode = |r: reqwest::blocking::Response| {
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap())
    };
    let foreign = http
        .get(s.url("/console/api/overview"))
        .header("host", "attacker.example")
        .send()
        .unwrap();
    assert_error(decode(foreign), 403, "forbidden_host");
    let page = http
        .get(s.url("/console/"))
        .header("host", "attacker.example:80")
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 403);
    let body = r#"{"event_pattern":{"source":["x"]},"event":{"source":"x"}}"#;
    let text = http
        .post(s.url("/console/api/test-pattern"))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .unwrap();
    assert_error(decode(text), 415, "unsupported_media_type");
    let cross = http
        .post(s.url("/console/api/test-pattern"))
        .header("content-type", "application/json")
        .header("origin", "http://attacker.example")
        .body(body)
        .send()
        .unwrap();
    assert_error(decode(cross), 403, "cross_origin");
    let same = http
        .post(s.url("/console/api/test-pattern"))
        .header("content-type", "application/json")
        .header("origin", s.base.clone())
        .body(body)
        .send()
        .unwrap();
    assert_eq!(same.status().as_u16(), 200);
}
