//! After the load: wait until every accepted payment is final, then collect each one's final state
//! (history, settlement). Cheap on the server: while waiting it lists only the non-final payments
//! (`GET /payments?status=PENDING|PROCESSING`, 100 a page, less often as the scan takes longer);
//! then it pages once through `GET /payments` newest first until it has seen all of ours, and
//! GETs by id only the few that listing missed or found not final yet.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use eventpay_core::{PaymentStatus, Settlement, StatusChange};
use indicatif::ProgressBar;
use serde::Deserialize;
use serde_json::Value;

use super::load::{Accepted, Api};

/// The API's largest page.
const PAGE: &str = "100";
/// GETs by id in flight at once, in the last phase.
const PARALLEL_GETS: usize = 16;

/// What the checks and the report need of a payment.
#[derive(Clone, Debug, Deserialize)]
pub struct View {
    pub payment_id: String,
    pub status: PaymentStatus,
    pub history: Vec<StatusChange>,
    #[serde(default)]
    pub settlement: Option<Settlement>,
}

/// The outcome of waiting.
pub struct Settled {
    /// The last state read of each accepted payment (final, unless the wait timed out).
    pub payments: HashMap<String, View>,
    /// Payments that the full listing showed more than once.
    pub listed_twice: Vec<String>,
    /// True if `--settle-timeout` passed with payments not final.
    pub timed_out: bool,
    pub stats: Stats,
}

/// What the reads cost and found that was not a payment.
#[derive(Default)]
pub struct Stats {
    /// Requests sent while waiting and collecting.
    pub requests: u64,
    /// Items that were not a payment as the API defines it.
    pub malformed: Vec<String>,
    /// Reads that failed (refused connection, 5xx) and were retried: a runtime restarting under
    /// the bench does not end the wait.
    pub read_errors: u64,
    pub last_read_error: Option<String>,
    /// Accepted payments the API answered 404 for: lost.
    pub not_found: Vec<String>,
}

impl Stats {
    fn read_error(&mut self, e: anyhow::Error) {
        self.read_errors += 1;
        self.last_read_error = Some(format!("{e:#}"));
    }
}

/// Waits (at most `timeout`) until every payment in `accepted` is final and reads them.
/// `only_ours` says no one else writes to this deployment, so its non-final list is ours alone.
pub async fn wait(
    api: &Arc<Api>,
    accepted: &[Accepted],
    only_ours: bool,
    timeout: Duration,
    bar: &ProgressBar,
) -> anyhow::Result<Settled> {
    let started = Instant::now();
    let ours: HashSet<&str> = accepted.iter().map(|a| a.payment_id.as_str()).collect();
    let mut stats = Stats::default();
    let mut payments: HashMap<String, View> = HashMap::new();
    let mut timed_out = false;

    if accepted.is_empty() {
        return Ok(Settled {
            payments,
            listed_twice: Vec::new(),
            timed_out,
            stats,
        });
    }

    // 1. Wait while any of ours is PENDING or PROCESSING.
    loop {
        let scan_started = Instant::now();
        let mut not_final = 0u64;
        let mut failed = false;
        for status in [PaymentStatus::Pending, PaymentStatus::Processing] {
            let params = [("status", status.as_str())];
            let scanned = scan(api, &params, &mut stats, |view| {
                if only_ours || ours.contains(view.payment_id.as_str()) {
                    not_final += 1;
                }
                true
            })
            .await;
            if let Err(e) = scanned {
                stats.read_error(e);
                failed = true;
            }
        }
        if !failed {
            bar.set_position((ours.len() as u64).saturating_sub(not_final));
        }
        if not_final == 0 && !failed {
            break;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            break;
        }
        let scan_took = scan_started.elapsed();
        tokio::time::sleep((scan_took * 2).max(Duration::from_millis(100))).await;
    }

    // 2. One pass over the list, newest first, until each of ours has been seen.
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut unseen = ours.len();
    // A failed pass is not fatal: what it did not see is read by id below.
    let listed = scan(api, &[], &mut stats, |view| {
        if !ours.contains(view.payment_id.as_str()) {
            return true;
        }
        let n = seen.entry(view.payment_id.clone()).or_default();
        *n += 1;
        if *n == 1 {
            unseen -= 1;
        }
        payments.insert(view.payment_id.clone(), view);
        unseen > 0
    })
    .await;
    if let Err(e) = listed {
        stats.read_error(e);
    }
    let mut listed_twice: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id)
        .collect();
    listed_twice.sort();

    // 3. By id, those the listing missed or showed not final, until final or the timeout.
    loop {
        let todo: Vec<String> = accepted
            .iter()
            .map(|a| a.payment_id.clone())
            .filter(|id| !payments.get(id).is_some_and(|v| v.status.is_final()))
            .filter(|id| !stats.not_found.contains(id))
            .collect();
        bar.set_position((ours.len() - todo.len().min(ours.len())) as u64);
        if todo.is_empty() {
            break;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            break;
        }
        for chunk in todo.chunks(PARALLEL_GETS) {
            let mut tasks = tokio::task::JoinSet::new();
            for id in chunk {
                let (api, id) = (api.clone(), id.clone());
                tasks.spawn(async move { (api.get(&format!("/payments/{id}"), &[]).await, id) });
            }
            while let Some(joined) = tasks.join_next().await {
                let (result, id) = joined?;
                stats.requests += 1;
                match result {
                    Ok((200, body)) => match serde_json::from_value::<View>(body) {
                        Ok(view) => {
                            payments.insert(id, view);
                        }
                        Err(e) => stats.malformed.push(format!("payment {id}: {e}")),
                    },
                    Ok((404, _)) => stats.not_found.push(id),
                    Ok((status, body)) => stats.read_error(anyhow::anyhow!(
                        "GET /payments/{id} answered {status}: {body}"
                    )),
                    Err(e) => stats.read_error(e),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(Settled {
        payments,
        listed_twice,
        timed_out,
        stats,
    })
}

/// Pages through `GET /payments` with `params`, newest first, giving each item to `visit` until
/// it returns false or the pages end.
async fn scan(
    api: &Api,
    params: &[(&str, &str)],
    stats: &mut Stats,
    mut visit: impl FnMut(View) -> bool,
) -> anyhow::Result<()> {
    let mut cursor: Option<String> = None;
    loop {
        let mut query: Vec<(&str, &str)> = params.to_vec();
        query.push(("limit", PAGE));
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let (status, mut body) = api.get("/payments", &query).await?;
        stats.requests += 1;
        if status != 200 {
            bail!("GET /payments answered {status}: {body}");
        }
        let Value::Array(items) = body["items"].take() else {
            bail!("GET /payments: no items in {body}");
        };
        for item in items {
            match serde_json::from_value::<View>(item) {
                Ok(view) => {
                    if !visit(view) {
                        return Ok(());
                    }
                }
                Err(e) => stats.malformed.push(format!("listed item: {e}")),
            }
        }
        match body["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(()),
        }
    }
}
