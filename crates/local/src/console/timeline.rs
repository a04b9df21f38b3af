//! A payment's causal timeline: its trace hops (request, table writes with their stream
//! records, forwards, queue receives, bus events and matched rules) merged with its execution's
//! history (each state with input, output, error, attempts and duration), the ledger write and
//! the notifications, in time order. Each item's duration is how long that hop took, or for a
//! hand-off, how long the payment waited for the next stage.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eventpay_core::Payment;
use serde::Serialize;
use serde_json::{Value, json};

use crate::bus;
use crate::executions::ExecutionLine;
use crate::trace::{HOP_EVENT, HOP_FORWARD, HOP_RECEIVE, HOP_REQUEST, HOP_WRITE, Hop};

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Microseconds since the epoch.
    pub at_us: i64,
    pub at: String,
    pub dur_ms: Option<f64>,
    /// `http`, `table`, `stream`, `forwarder`, `queue`, `bus`, `rule`, `execution`, `state`,
    /// `ledger`, `notification`.
    pub kind: &'static str,
    pub title: String,
    pub detail: Option<Value>,
    /// Where the item's detail is shown in the console.
    pub link: Option<String>,
}

fn rfc3339(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

fn item(at_us: i64, kind: &'static str, title: String) -> Item {
    Item {
        at_us,
        at: rfc3339(at_us),
        dur_ms: None,
        kind,
        title,
        detail: None,
        link: None,
    }
}

fn ms(from_us: i64, to_us: i64) -> Option<f64> {
    (to_us >= from_us).then(|| ((to_us - from_us) as f64 / 100.0).round() / 10.0)
}

/// The name of the payment's settlement execution: it derives from the event id of its
/// `PaymentCreated` event, which derives from the change record's id.
pub fn execution_name(hops: &[Hop]) -> Option<String> {
    hops.iter()
        .find(|h| {
            h.hop == HOP_EVENT
                && h.info
                    .as_deref()
                    .is_some_and(|i| i.starts_with("PaymentCreated"))
        })
        .and_then(|h| h.reference.as_deref())
        .map(bus::event_id)
}

fn parse_time(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_micros())
}

/// Shortens a JSON text shown inline; the full value is in the execution's page.
fn short(text: &str) -> String {
    const MAX: usize = 400;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn details<'a>(ev: &'a Value, key: &str) -> Option<&'a Value> {
    ev.get(key)
}

/// Builds the timeline. `rules` are (rule name, target kind) to name each match's target.
pub fn build(
    payment: &Payment,
    hops: &[Hop],
    execution: Option<&(ExecutionLine, Vec<Value>)>,
    rules: &[(String, String)],
) -> Value {
    let pid = &payment.payment_id;
    let mut items: Vec<Item> = Vec::new();
    let next_at = |kind: &str, pred: &dyn Fn(&Hop) -> bool, after: i64| {
        hops.iter()
            .filter(|h| h.hop == kind && h.at >= after && pred(h))
            .map(|h| h.at)
            .next()
    };
    let first_write = hops.iter().find(|h| h.hop == HOP_WRITE).map(|h| h.at);
    let mut settled_at = None;
    for h in hops {
        let reference = h.reference.clone().unwrap_or_default();
        let info = h.info.clone().unwrap_or_default();
        match h.hop.as_str() {
            HOP_REQUEST => {
                let mut it = item(h.at, "http", format!("HTTP {info}"));
                it.dur_ms = first_write.and_then(|w| ms(h.at, w));
                it.detail = Some(json!({"trace_id": reference, "until": "committed"}));
                it.link = Some(format!("/console/payments/{pid}"));
                items.push(it);
            }
            HOP_WRITE => {
                let (change, status) = info.split_once(' ').unwrap_or((info.as_str(), ""));
                let mut it = item(
                    h.at,
                    "table",
                    format!("payments table: {change} → {status}"),
                );
                it.detail =
                    Some(json!({"change": change, "status": status, "stream_record": reference}));
                it.link = Some(format!("/console/payments/{pid}#history"));
                items.push(it);
                let fwd = next_at(
                    HOP_FORWARD,
                    &|f| f.reference.as_deref() == Some(reference.as_str()),
                    h.at,
                );
                let mut st = item(
                    h.at + 1,
                    "stream",
                    format!("stream record #{reference} ({change})"),
                );
                st.dur_ms = fwd.and_then(|f| ms(h.at, f));
                st.detail = Some(
                    json!({"sequence_number": reference, "event_name": change, "waited_until": "forwarded"}),
                );
                st.link = Some("/console/flow".into());
                items.push(st);
                if status == "SETTLED" {
                    settled_at = Some(h.at);
                }
            }
            HOP_FORWARD => {
                let message = format!("stream-{reference}");
                let recv = next_at(
                    HOP_RECEIVE,
                    &|r| r.reference.as_deref() == Some(message.as_str()),
                    h.at,
                );
                let mut it = item(
                    h.at,
                    "forwarder",
                    format!("forwarded to the queue as message {message}"),
                );
                it.dur_ms = recv.and_then(|r| ms(h.at, r));
                it.detail = Some(json!({"message_id": message, "waited_until": "received"}));
                it.link = Some("/console/queues".into());
                items.push(it);
            }
            HOP_RECEIVE => {
                let mut it = item(
                    h.at,
                    "queue",
                    format!("queue receive {reference} (receive count {info})"),
                );
                let event = next_at(
                    HOP_EVENT,
                    &|e| e.reference.as_deref() == Some(reference.as_str()),
                    h.at,
                );
                it.dur_ms = event.and_then(|e| ms(h.at, e));
                it.detail = Some(
                    json!({"message_id": reference, "receive_count": info.parse::<u32>().ok()}),
                );
                it.link = Some("/console/queues".into());
                items.push(it);
            }
            HOP_EVENT => {
                let (detail_type, matched) = info.split_once(' ').unwrap_or((info.as_str(), ""));
                let event_id = bus::event_id(&reference);
                let matched: Vec<&str> = matched.split(',').filter(|r| !r.is_empty()).collect();
                let mut it = item(h.at, "bus", format!("event {detail_type} on the bus"));
                it.detail = Some(
                    json!({"event_id": event_id, "detail_type": detail_type, "matched_rules": matched}),
                );
                it.link = Some(format!("/console/log?q={event_id}"));
                items.push(it);
                for (i, rule) in matched.iter().enumerate() {
                    let target = rules
                        .iter()
                        .find(|(n, _)| n == rule)
                        .map(|(_, t)| t.as_str())
                        .unwrap_or("unknown");
                    let kind = if target == "notifications" {
                        "notification"
                    } else {
                        "rule"
                    };
                    let mut r = item(
                        h.at + 1 + i as i64,
                        kind,
                        format!("rule {rule} matched → {target}"),
                    );
                    r.detail = Some(json!({"rule": rule, "target": target, "event_id": event_id}));
                    r.link = Some(match target {
                        "settlement-workflow" => format!("/console/executions/{event_id}"),
                        "notifications" => "/console/log".to_string(),
                        _ => format!("/console/log?q={event_id}"),
                    });
                    items.push(r);
                }
            }
            _ => {}
        }
    }
    if let Some((line, events)) = execution {
        execution_items(line, events, &mut items);
    }
    if let Some(settlement) = &payment.settlement {
        let at = settled_at.unwrap_or_else(|| settlement.posted_at.timestamp_micros());
        let transfers = &settlement.transfers;
        let balanced = eventpay_core::imbalance(transfers).is_none();
        let mut it = item(
            at + 2,
            "ledger",
            format!(
                "ledger write: {} transfers, {}",
                transfers.len(),
                if balanced {
                    "balanced per currency"
                } else {
                    "NOT balanced"
                }
            ),
        );
        it.detail = Some(json!({"transfers": transfers, "balanced": balanced}));
        it.link = Some(format!("/console/payments/{pid}#ledger"));
        items.push(it);
    }
    items.sort_by_key(|i| i.at_us);
    let start = items.first().map(|i| i.at_us);
    let end = items
        .iter()
        .map(|i| i.at_us + i.dur_ms.map(|d| (d * 1000.0) as i64).unwrap_or(0))
        .max();
    json!({
        "payment_id": pid,
        "status": payment.status,
        // The payment's own (derived for one stored before trace ids): every hop of the
        // payment is of this trace, whichever request (a replay too) it started from.
        "trace_id": payment.trace(),
        "execution": execution.map(|(l, _)| l.name.clone()),
        "start_us": start,
        "end_us": end,
        "items": items,
    })
}

struct Open {
    at: i64,
    input: Option<String>,
    attempts: u32,
    error: Option<Value>,
    notify: bool,
}

fn execution_items(line: &ExecutionLine, events: &[Value], items: &mut Vec<Item>) {
    let link = format!("/console/executions/{}", line.name);
    let mut open: HashMap<String, Open> = HashMap::new();
    let mut current: Option<String> = None;
    let mut started = None;
    for ev in events {
        let Some(at) = ev.get("timestamp").and_then(parse_time) else {
            continue;
        };
        let ty = ev.get("type").and_then(Value::as_str).unwrap_or_default();
        match ty {
            "ExecutionStarted" => {
                started = Some(at);
                let mut it = item(at, "execution", format!("execution {} started", line.name));
                it.link = Some(link.clone());
                it.detail = Some(json!({"execution_arn": line.execution_arn}));
                items.push(it);
            }
            t if t.ends_with("StateEntered") => {
                let d = details(ev, "stateEnteredEventDetails");
                let name = d
                    .and_then(|d| d.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let input = d
                    .and_then(|d| d.get("input"))
                    .and_then(Value::as_str)
                    .map(short);
                open.insert(
                    name.clone(),
                    Open {
                        at,
                        input,
                        attempts: 0,
                        error: None,
                        notify: false,
                    },
                );
                current = Some(name);
            }
            "LambdaFunctionScheduled" | "TaskScheduled" => {
                if let Some(o) = current.as_ref().and_then(|c| open.get_mut(c)) {
                    o.attempts += 1;
                    let d = details(ev, "taskScheduledEventDetails");
                    if d.and_then(|d| d.get("resourceType"))
                        .and_then(Value::as_str)
                        == Some("sns")
                    {
                        o.notify = true;
                    }
                }
            }
            t if t.ends_with("Failed") || t.ends_with("TimedOut") => {
                let key = ev
                    .as_object()
                    .and_then(|m| m.keys().find(|k| k.ends_with("EventDetails")).cloned());
                let err = key.and_then(|k| ev.get(&k)).map(|d| {
                    json!({"error": d.get("error"), "cause": d.get("cause").and_then(Value::as_str).map(short)})
                });
                if t.starts_with("Execution") {
                    // A Fail state is entered and never exited: it ends with the execution.
                    for (name, o) in open.drain() {
                        let mut it = item(o.at, "state", format!("state {name}"));
                        it.dur_ms = ms(o.at, at);
                        it.detail = Some(json!({"state": name, "input": o.input, "error": err}));
                        it.link = Some(format!("{link}#state-{name}"));
                        items.push(it);
                    }
                    let mut it = item(
                        at,
                        "execution",
                        format!("execution {} {}", line.name, line.status),
                    );
                    it.dur_ms = started.and_then(|s| ms(s, at));
                    it.detail = err;
                    it.link = Some(link.clone());
                    items.push(it);
                } else if let Some(o) = current.as_ref().and_then(|c| open.get_mut(c)) {
                    o.error = err;
                }
            }
            t if t.ends_with("StateExited") => {
                let d = details(ev, "stateExitedEventDetails");
                let name = d
                    .and_then(|d| d.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let output = d
                    .and_then(|d| d.get("output"))
                    .and_then(Value::as_str)
                    .map(short);
                if let Some(o) = open.remove(&name) {
                    let kind = if o.notify { "notification" } else { "state" };
                    let title = if o.notify {
                        format!("state {name}: notification published")
                    } else {
                        format!("state {name}")
                    };
                    let mut it = item(o.at, kind, title);
                    it.dur_ms = ms(o.at, at);
                    it.detail = Some(json!({
                        "state": name, "input": o.input, "output": output,
                        "attempts": o.attempts, "retries": o.attempts.saturating_sub(1),
                        "error": o.error,
                    }));
                    it.link = Some(format!("{link}#state-{name}"));
                    items.push(it);
                }
            }
            "ExecutionSucceeded" | "ExecutionAborted" => {
                let mut it = item(
                    at,
                    "execution",
                    format!("execution {} {}", line.name, line.status),
                );
                it.dur_ms = started.and_then(|s| ms(s, at));
                it.link = Some(link.clone());
                items.push(it);
            }
            _ => {}
        }
    }
}
