//! The console's live figures: one sampler per process reads the in-memory counters (and a few
//! counts on indexes: stream records waiting, queue depths, running executions) once a second and
//! publishes a snapshot that every open console receives as a server-sent event. Totals by status
//! are counted every ten seconds only. While work flows, a one-line summary goes to the log.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::Console;
use crate::db::{Db, now_millis};
use crate::error::LocalError;
use crate::queue::{self, QueueConfig};
use crate::trace::{COUNTERS, CounterSnapshot};
use crate::{executions, forwarder, store, stream};

const TICK: Duration = Duration::from_secs(1);
/// Rates are averaged over this many ticks, so a burst does not flicker.
const WINDOW: usize = 5;
const TOTALS_EVERY: u64 = 10;
const SUMMARY_EVERY: u64 = 10;

/// The latest snapshot, shared by every console connection.
#[derive(Clone)]
pub struct Live {
    latest: watch::Receiver<Arc<String>>,
}

/// Takes the samples; the only sender, so when it stops every live stream ends.
pub struct Sampler {
    db: Db,
    queue: QueueConfig,
    latest: watch::Sender<Arc<String>>,
}

impl Live {
    pub fn new(db: Db, queue: QueueConfig) -> (Live, Sampler) {
        let (tx, rx) = watch::channel(Arc::new("{}".to_owned()));
        (
            Live { latest: rx },
            Sampler {
                db,
                queue,
                latest: tx,
            },
        )
    }
}

impl Sampler {
    /// Samples until `closing` flips; then every live stream ends, so open consoles do not hold
    /// the server's graceful shutdown.
    pub async fn run(self, mut closing: watch::Receiver<bool>) {
        let mut window: VecDeque<(i64, CounterSnapshot)> = VecDeque::new();
        let mut totals = (BTreeMap::new(), BTreeMap::new());
        let mut last_logged = CounterSnapshot::default();
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        for tick in 0u64.. {
            tokio::select! {
                _ = interval.tick() => {}
                _ = crate::stage::stopped(&mut closing) => break,
            }
            let now = now_millis();
            let counters = COUNTERS.snapshot();
            window.push_back((now, counters.clone()));
            if window.len() > WINDOW + 1 {
                window.pop_front();
            }
            if tick % TOTALS_EVERY == 0 {
                match self.totals().await {
                    Ok(t) => totals = t,
                    Err(e) => tracing::warn!(error = %e, "console: counting totals failed"),
                }
            }
            let gauges = match self.gauges(now).await {
                Ok(g) => g,
                Err(e) => {
                    tracing::warn!(error = %e, "console: reading queue figures failed");
                    continue;
                }
            };
            let rates = rates(&window);
            let snapshot = json!({
                "at": now,
                "counters": counters,
                "rates": rates,
                "stream_waiting": gauges.0,
                "queue": gauges.1,
                "executions_running": gauges.2,
                "executions": totals.0,
                "payments": totals.1,
            });
            self.latest.send_replace(Arc::new(snapshot.to_string()));
            if tick % SUMMARY_EVERY == 0 && counters != last_logged {
                tracing::info!(
                    "flow: {:.1} req/s, {:.1} settled/s, stream waiting {}, queue depth {} (in flight {}, DLQ {}), executions running {}",
                    rate(&rates, "requests"),
                    rate(&rates, "settled"),
                    gauges.0,
                    gauges.1.depth,
                    gauges.1.in_flight,
                    gauges.1.dead_letter_depth,
                    gauges.2
                );
                last_logged = counters;
            }
        }
        // Dropping the sender ends every live stream.
        drop(self.latest);
    }

    async fn gauges(&self, now: i64) -> Result<(u64, queue::QueueStats, u64), LocalError> {
        let cfg = self.queue.clone();
        self.db
            .read(move |c| {
                let running = executions::count_running(c)?;
                Ok((
                    stream::waiting(c, forwarder::CONSUMER)?,
                    queue::stats(c, &cfg, now)?,
                    running,
                ))
            })
            .await
    }

    #[allow(clippy::type_complexity)]
    async fn totals(&self) -> Result<(BTreeMap<String, u64>, BTreeMap<String, u64>), LocalError> {
        self.db
            .read(|c| {
                let by_status = executions::counts(c)?.into_iter().collect();
                Ok((by_status, store::count_by_status(c)?))
            })
            .await
    }
}

fn rate(rates: &Value, key: &str) -> f64 {
    rates.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// Per-second rates over the window.
fn rates(window: &VecDeque<(i64, CounterSnapshot)>) -> Value {
    let (Some((t0, a)), Some((t1, b))) = (window.front(), window.back()) else {
        return json!({});
    };
    let secs = ((t1 - t0) as f64 / 1000.0).max(0.001);
    let per = |x: u64, y: u64| ((y.saturating_sub(x)) as f64 / secs * 10.0).round() / 10.0;
    let rules: BTreeMap<&String, f64> = b
        .rules
        .iter()
        .map(|(k, v)| (k, per(a.rules.get(k).copied().unwrap_or(0), *v)))
        .collect();
    json!({
        "requests": per(a.requests, b.requests),
        "writes": per(a.writes, b.writes),
        "forwarded": per(a.forwarded, b.forwarded),
        "received": per(a.received, b.received),
        "events": per(a.events, b.events),
        "settled": per(a.settled, b.settled),
        "rejected": per(a.rejected, b.rejected),
        "failed": per(a.failed, b.failed),
        "rules": rules,
    })
}

/// `GET /console/api/live`: the snapshot now and after every tick, as server-sent events.
pub async fn stream(
    State(console): State<Console>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = console.live.latest.clone();
    let events = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let data = rx.borrow_and_update().clone();
        Some((
            Ok(Event::default().event("figures").data(data.as_str())),
            (rx, false),
        ))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_over_the_window() {
        let mut a = CounterSnapshot::default();
        let mut b = CounterSnapshot::default();
        a.settled = 10;
        b.settled = 30;
        b.rules.insert("audit".into(), 8);
        let window = VecDeque::from([(0, a), (4000, b)]);
        let r = rates(&window);
        assert_eq!(r["settled"], 5.0);
        assert_eq!(r["rules"]["audit"], 2.0);
    }
}
