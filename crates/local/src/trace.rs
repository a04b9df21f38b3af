//! The causal trace of each payment: one small row per hop the payment takes through the
//! runtime (the HTTP request, each payments-table write with its stream record, the forwarder's
//! hand-off to the queue, each queue receive, each bus event with the rules it matched), written
//! inside the transaction that makes the hop, so the trace is exactly as durable as the work.
//! The workflow's states, the ledger and the notifications are not copied here: the console reads
//! them from their own tables (execution history, the payment). Rows carry references (stream
//! sequence numbers, message ids), never copies of documents, so a settled payment's trace stays
//! well under a kilobyte.
//!
//! The module also keeps the process's live counters (requests, writes, events per rule...),
//! updated by the same calls, which the console's flow view turns into rates without a query.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use rusqlite::{Connection, Transaction, params};
use serde::Serialize;

use crate::error::LocalError;

/// `at` is microseconds since the epoch; the primary key orders a payment's hops in time and
/// makes the table its own index (no rowid, no second copy of the payment id). The payment id is
/// kept as its 16 UUID bytes and the hop as a small code: a settled payment's ~13 rows stay
/// well under a kilobyte.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS trace (
    payment_id BLOB NOT NULL,
    at         INTEGER NOT NULL,
    hop        INTEGER NOT NULL,
    ref        TEXT NOT NULL,
    info       TEXT,
    PRIMARY KEY (payment_id, at, hop, ref)
) WITHOUT ROWID;
"#;

pub const HOP_REQUEST: &str = "http";
pub const HOP_WRITE: &str = "write";
pub const HOP_FORWARD: &str = "forward";
pub const HOP_RECEIVE: &str = "receive";
pub const HOP_EVENT: &str = "event";

/// One stored hop.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hop {
    /// Microseconds since the Unix epoch.
    pub at: i64,
    pub hop: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub info: Option<String>,
}

/// The HTTP request a write happens in: set by the console's request middleware for the
/// duration of the request, read by the payments store before it opens its transaction.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub trace_id: String,
    pub method: String,
    pub path: String,
    /// Microseconds since the Unix epoch.
    pub started_at: i64,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// Runs `f` with `ctx` as the current request.
pub async fn with_request<F: std::future::Future>(ctx: RequestContext, f: F) -> F::Output {
    REQUEST.scope(ctx, f).await
}

/// The request being served by the current task, if any.
pub fn current_request() -> Option<RequestContext> {
    REQUEST.try_with(Clone::clone).ok()
}

pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The stored form of a payment id: its UUID bytes (any other id as text).
fn key(payment_id: &str) -> rusqlite::types::Value {
    match uuid::Uuid::parse_str(payment_id) {
        Ok(u) => rusqlite::types::Value::Blob(u.as_bytes().to_vec()),
        Err(_) => rusqlite::types::Value::Text(payment_id.to_owned()),
    }
}

const HOPS: [&str; 5] = [HOP_REQUEST, HOP_WRITE, HOP_FORWARD, HOP_RECEIVE, HOP_EVENT];

/// The hop's code: its place in causal order, which also orders hops of the same microsecond.
fn code(hop: &str) -> i64 {
    HOPS.iter()
        .position(|h| *h == hop)
        .map_or(0, |i| i as i64 + 1)
}

fn insert(
    tx: &Transaction<'_>,
    payment_id: &str,
    at: i64,
    hop: &str,
    reference: Option<&str>,
    info: Option<&str>,
) -> Result<(), LocalError> {
    // The same hop of the same reference in the same microsecond is one hop seen twice.
    tx.prepare_cached(
        "INSERT OR IGNORE INTO trace (payment_id, at, hop, ref, info) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        key(payment_id),
        at,
        code(hop),
        reference.unwrap_or_default(),
        info
    ])?;
    Ok(())
}

/// The HTTP request that created the payment (its trace id and route).
pub fn request(
    tx: &Transaction<'_>,
    payment_id: &str,
    ctx: Option<&RequestContext>,
) -> Result<(), LocalError> {
    let Some(ctx) = ctx else { return Ok(()) };
    let route = format!("{} {}", ctx.method, ctx.path);
    insert(
        tx,
        payment_id,
        ctx.started_at,
        HOP_REQUEST,
        Some(&ctx.trace_id),
        Some(&route),
    )
}

/// A payments-table write and the stream record it appended (`stream_seq`).
pub fn write(
    tx: &Transaction<'_>,
    payment_id: &str,
    change: &str,
    status: &str,
    stream_seq: i64,
) -> Result<(), LocalError> {
    COUNTERS.add(&COUNTERS.writes, 1);
    match status {
        "SETTLED" => COUNTERS.add(&COUNTERS.settled, 1),
        "REJECTED" => COUNTERS.add(&COUNTERS.rejected, 1),
        "FAILED" => COUNTERS.add(&COUNTERS.failed, 1),
        _ => {}
    }
    insert(
        tx,
        payment_id,
        now_micros(),
        HOP_WRITE,
        Some(&stream_seq.to_string()),
        Some(&format!("{change} {status}")),
    )
}

/// The forwarder sent stream record `stream_seq` to the queue.
pub fn forward(tx: &Transaction<'_>, payment_id: &str, stream_seq: i64) -> Result<(), LocalError> {
    COUNTERS.add(&COUNTERS.forwarded, 1);
    insert(
        tx,
        payment_id,
        now_micros(),
        HOP_FORWARD,
        Some(&stream_seq.to_string()),
        None,
    )
}

/// What the processor did with one message of a payment: received it (`receive_count`-th time)
/// at `received_at`, and put the event of stream record `stream_seq` on the bus, where it matched
/// `rules`. `detail_type` is `None` for a change that makes no event.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub payment_id: String,
    pub message_id: String,
    pub receive_count: u32,
    pub received_at: i64,
    /// The change record's event id (derived from table, payment and version); the bus event id
    /// derives from it.
    pub change_id: String,
    pub detail_type: Option<String>,
    pub rules: Vec<String>,
    /// When the event was matched against the rules (before its targets were prepared).
    pub routed_at: i64,
}

pub fn delivered(tx: &Transaction<'_>, d: &Delivered) -> Result<(), LocalError> {
    COUNTERS.add(&COUNTERS.received, 1);
    insert(
        tx,
        &d.payment_id,
        d.received_at,
        HOP_RECEIVE,
        Some(&d.message_id),
        Some(&d.receive_count.to_string()),
    )?;
    let Some(detail_type) = &d.detail_type else {
        return Ok(());
    };
    COUNTERS.add(&COUNTERS.events, 1);
    COUNTERS.matched(&d.rules);
    insert(
        tx,
        &d.payment_id,
        d.routed_at.max(d.received_at + 1),
        HOP_EVENT,
        Some(&d.change_id),
        Some(&format!("{detail_type} {}", d.rules.join(","))),
    )
}

/// A payment's hops, oldest first.
pub fn hops(conn: &Connection, payment_id: &str) -> Result<Vec<Hop>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, hop, ref, info FROM trace WHERE payment_id = ?1 ORDER BY at, hop",
    )?;
    let rows = stmt.query_map(params![key(payment_id)], |r| {
        let code: i64 = r.get(1)?;
        Ok(Hop {
            at: r.get(0)?,
            hop: HOPS
                .get((code - 1).max(0) as usize)
                .copied()
                .unwrap_or("unknown")
                .to_owned(),
            reference: Some(r.get::<_, String>(2)?).filter(|s| !s.is_empty()),
            info: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Drops the traces of the given payments.
pub fn forget(tx: &Transaction<'_>, payment_ids: &[String]) -> Result<usize, LocalError> {
    let mut stmt = tx.prepare_cached("DELETE FROM trace WHERE payment_id = ?1")?;
    let mut removed = 0;
    for id in payment_ids {
        removed += stmt.execute(params![key(id)])?;
    }
    Ok(removed)
}

/// How often the trace is pruned: finding old rows scans the table (it is keyed by payment, and
/// an index on time would double its size), so it runs hourly rather than on every prune.
const PRUNE_EVERY_MICROS: i64 = 3600 * 1_000_000;
static LAST_PRUNE: AtomicI64 = AtomicI64::new(0);

/// Drops up to `limit` hops older than `before_micros` (the execution-history retention), at
/// most once an hour; returns how many went.
pub fn prune(tx: &Transaction<'_>, before_micros: i64, limit: i64) -> Result<u64, LocalError> {
    let now = now_micros();
    if now - LAST_PRUNE.load(Ordering::Relaxed) < PRUNE_EVERY_MICROS {
        return Ok(0);
    }
    let removed = prune_now(tx, before_micros, limit)?;
    // A full pass may leave more: come back at the next prune instead of in an hour.
    if removed < limit as u64 {
        LAST_PRUNE.store(now, Ordering::Relaxed);
    }
    Ok(removed)
}

/// [`prune`] without the hourly gate.
fn prune_now(tx: &Transaction<'_>, before_micros: i64, limit: i64) -> Result<u64, LocalError> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM trace WHERE (payment_id, at, hop, ref) IN
               (SELECT payment_id, at, hop, ref FROM trace WHERE at < ?1 LIMIT ?2)",
        )?
        .execute(params![before_micros, limit])? as u64)
}

/// Monotonic counters since the process started. Process-wide because the hops that bump them
/// run deep inside transactions where no handle is at hand; the console reads differences.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub writes: AtomicU64,
    pub forwarded: AtomicU64,
    pub received: AtomicU64,
    pub events: AtomicU64,
    pub settled: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    rules: Mutex<BTreeMap<String, u64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub requests: u64,
    pub writes: u64,
    pub forwarded: u64,
    pub received: u64,
    pub events: u64,
    pub settled: u64,
    pub rejected: u64,
    pub failed: u64,
    pub rules: BTreeMap<String, u64>,
}

impl Counters {
    const fn new() -> Counters {
        Counters {
            requests: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            received: AtomicU64::new(0),
            events: AtomicU64::new(0),
            settled: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            rules: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn matched(&self, rules: &[String]) {
        if let Ok(mut map) = self.rules.lock() {
            for rule in rules {
                *map.entry(rule.clone()).or_default() += 1;
            }
        }
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            requests: get(&self.requests),
            writes: get(&self.writes),
            forwarded: get(&self.forwarded),
            received: get(&self.received),
            events: get(&self.events),
            settled: get(&self.settled),
            rejected: get(&self.rejected),
            failed: get(&self.failed),
            rules: self.rules.lock().map(|m| m.clone()).unwrap_or_default(),
        }
    }
}

pub static COUNTERS: Counters = Counters::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_come_back_in_time_order_and_are_forgotten() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let tx = conn.transaction().unwrap();
        let ctx = RequestContext {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            method: "POST".into(),
            path: "/payments".into(),
            started_at: 10,
        };
        write(&tx, "p1", "INSERT", "PENDING", 7).unwrap();
        request(&tx, "p1", Some(&ctx)).unwrap();
        forward(&tx, "p1", 7).unwrap();
        delivered(
            &tx,
            &Delivered {
                payment_id: "p1".into(),
                message_id: "stream-7".into(),
                receive_count: 2,
                received_at: now_micros(),
                change_id: "stream-7".into(),
                detail_type: Some("PaymentCreated".into()),
                rules: vec!["audit".into(), "settlement".into()],
                routed_at: now_micros(),
            },
        )
        .unwrap();
        let got = hops(&tx, "p1").unwrap();
        let kinds: Vec<&str> = got.iter().map(|h| h.hop.as_str()).collect();
        assert_eq!(
            kinds,
            [HOP_REQUEST, HOP_WRITE, HOP_FORWARD, HOP_RECEIVE, HOP_EVENT]
        );
        assert_eq!(got[3].info.as_deref(), Some("2"));
        assert_eq!(
            got[4].info.as_deref(),
            Some("PaymentCreated audit,settlement")
        );
        assert!(COUNTERS.snapshot().rules["settlement"] >= 1);
        assert_eq!(
            prune_now(&tx, 11, 100).unwrap(),
            1,
            "only the request is older"
        );
        assert_eq!(forget(&tx, &["p1".into()]).unwrap(), 4);
        assert!(hops(&tx, "p1").unwrap().is_empty());
    }
}
