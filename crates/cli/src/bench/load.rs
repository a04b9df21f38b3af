//! The load: workers sending quote + payment pairs over one shared HTTP/1.1 client (keep-alive,
//! one connection per worker), in a closed loop (next pair as soon as the last is answered) or
//! an open loop (pair `i` is due at `start + i / rate`; its latency counts from that due time,
//! so a slow server cannot hide its queueing: no coordinated omission).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Mode;

/// Quote requests, used in turn: several currencies so ledgers of each shape are checked, all
/// below the default per-payment limit so every payment can settle.
const QUOTES: [&str; 4] = [
    r#"{"source_currency":"USD","target_currency":"EUR","amount":"100.00"}"#,
    r#"{"source_currency":"EUR","target_currency":"GBP","amount":"250.50"}"#,
    r#"{"source_currency":"GBP","target_currency":"JPY","amount":"75.25"}"#,
    r#"{"source_currency":"USD","target_currency":"INR","amount":"1200.00","customer_tier":"premium"}"#,
];

/// How many accepted payments are sent again with the same key and body after the run.
const REPLAYS: u64 = 20;

/// The API under test: base URL, optional API key, one client for every request.
pub struct Api {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
}

impl Api {
    pub fn new(base: &str, api_key: Option<String>, concurrency: usize) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(16))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api {
            http,
            base: base.to_owned(),
            api_key,
        })
    }

    fn with_key(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(k) => req.header("x-api-key", k),
            None => req,
        }
    }

    /// `POST path` with a JSON body; the status and the raw body.
    pub async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Vec<u8>), reqwest::Error> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = self.with_key(req).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await?.to_vec()))
    }

    /// `GET path?params`; the status and the body as JSON (a body that is not JSON is an error).
    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> anyhow::Result<(u16, Value)> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))?;
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        let resp = self.with_key(self.http.get(url)).send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "GET {path} answered {status} with a body that is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })?;
        Ok((status, body))
    }
}

/// A payment the API accepted (202), with the idempotency key it was sent with.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub payment_id: String,
    pub key: String,
}

/// An accepted request kept to send again (same key, same body) after the run.
pub struct ReplaySample {
    key: String,
    body: Vec<u8>,
    payment_id: String,
}

/// What the load did.
pub struct Outcome {
    pub accepted: Vec<Accepted>,
    pub replay_samples: Vec<ReplaySample>,
    /// Service time of each request, µs.
    pub quote_latency: Histogram<u64>,
    pub payment_latency: Histogram<u64>,
    /// Quote + payment, µs, from the pair's start (closed loop) or due time (open loop).
    pub pair_latency: Histogram<u64>,
    /// `"<HTTP status> <error.code>"` or `"transport <kind>"` → count.
    pub errors: BTreeMap<String, u64>,
    pub quote_requests: u64,
    pub payment_requests: u64,
    /// From the first pair's start to the last answer.
    pub elapsed: Duration,
    /// Open loop: how late the latest pair started after its due time (workers all busy).
    pub max_start_lag: Option<Duration>,
}

/// Latency histogram in µs, from 1 µs to an hour at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    // Constant bounds that hdrhistogram accepts (low ≥ 1, high ≥ 2 × low, 3 digits).
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Pairs an open loop sends: `rate × duration`, at least one.
pub fn open_total(rate: f64, duration: Duration) -> u64 {
    ((rate * duration.as_secs_f64()).round() as u64).max(1)
}

struct Recorder {
    accepted: Vec<(u64, Accepted)>,
    replay_samples: Vec<ReplaySample>,
    quote_latency: Histogram<u64>,
    payment_latency: Histogram<u64>,
    pair_latency: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    quote_requests: u64,
    payment_requests: u64,
    max_start_lag: Duration,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            accepted: Vec::new(),
            replay_samples: Vec::new(),
            quote_latency: histogram(),
            payment_latency: histogram(),
            pair_latency: histogram(),
            errors: BTreeMap::new(),
            quote_requests: 0,
            payment_requests: 0,
            max_start_lag: Duration::ZERO,
        }
    }

    fn error(&mut self, key: String) {
        *self.errors.entry(key).or_default() += 1;
    }
}

/// The key of an error response: its status and `error.code`.
fn error_key(status: u16, body: &[u8]) -> String {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
    match code {
        Some(code) => format!("{status} {code}"),
        None => format!("{status} (no error code)"),
    }
}

fn transport_key(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    format!("transport {kind}")
}

#[derive(Deserialize)]
struct QuoteOut {
    token: String,
}

#[derive(Deserialize)]
struct PaymentOut {
    payment_id: String,
}

/// Runs the load and returns what it did.
/// With `quotes_only` each pair is just its `POST /quotes` (the quote path's own throughput).
pub async fn run(
    api: &Arc<Api>,
    mode: Mode,
    concurrency: usize,
    quotes_only: bool,
    bar: &ProgressBar,
) -> Outcome {
    let (total, interval_rate) = match mode {
        Mode::Closed { payments } => (payments, None),
        Mode::Open { rate, duration } => (open_total(rate, duration), Some(rate)),
    };
    let workers = usize::try_from(total).map_or(concurrency, |t| t.min(concurrency));
    // Keys unique to this run, so a run against a shared deployment never replays another's.
    let run_id = format!(
        "bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (api, next, bar, run_id) = (api.clone(), next.clone(), bar.clone(), run_id.clone());
        handles.push(tokio::spawn(async move {
            let mut rec = Recorder::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let begin = match interval_rate {
                    Some(rate) => {
                        let due = start + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        rec.max_start_lag = rec
                            .max_start_lag
                            .max(Instant::now().saturating_duration_since(due));
                        due
                    }
                    None => Instant::now(),
                };
                if pair(&api, i, &run_id, quotes_only, &mut rec).await {
                    rec.pair_latency.saturating_record(micros(begin.elapsed()));
                }
                bar.inc(1);
            }
            rec
        }));
    }
    let mut all = Recorder::new();
    let mut accepted = Vec::new();
    for handle in handles {
        // A worker only ends by running out of pairs; a panic there is a bug worth showing.
        let rec = match handle.await {
            Ok(rec) => rec,
            Err(e) => {
                all.error(format!("worker failed: {e}"));
                continue;
            }
        };
        accepted.extend(rec.accepted);
        all.replay_samples.extend(rec.replay_samples);
        let _ = all.quote_latency.add(&rec.quote_latency);
        let _ = all.payment_latency.add(&rec.payment_latency);
        let _ = all.pair_latency.add(&rec.pair_latency);
        for (k, n) in rec.errors {
            *all.errors.entry(k).or_default() += n;
        }
        all.quote_requests += rec.quote_requests;
        all.payment_requests += rec.payment_requests;
        all.max_start_lag = all.max_start_lag.max(rec.max_start_lag);
    }
    let elapsed = start.elapsed();
    accepted.sort_by_key(|(i, _)| *i);
    Outcome {
        accepted: accepted.into_iter().map(|(_, a)| a).collect(),
        replay_samples: all.replay_samples,
        quote_latency: all.quote_latency,
        payment_latency: all.payment_latency,
        pair_latency: all.pair_latency,
        errors: all.errors,
        quote_requests: all.quote_requests,
        payment_requests: all.payment_requests,
        elapsed,
        max_start_lag: interval_rate.map(|_| all.max_start_lag),
    }
}

/// One quote + payment (or the quote alone); true if all of it succeeded.
async fn pair(api: &Api, i: u64, run_id: &str, quotes_only: bool, rec: &mut Recorder) -> bool {
    let quote_body = QUOTES[(i % QUOTES.len() as u64) as usize];
    rec.quote_requests += 1;
    let sent = Instant::now();
    let token = match api.post("/quotes", quote_body, None).await {
        Ok((201, body)) => match serde_json::from_slice::<QuoteOut>(&body) {
            Ok(q) => q.token,
            Err(_) => {
                rec.error("201 quote without a token".into());
                return false;
            }
        },
        Ok((status, body)) => {
            rec.error(error_key(status, &body));
            return false;
        }
        Err(e) => {
            rec.error(transport_key(&e));
            return false;
        }
    };
    rec.quote_latency.saturating_record(micros(sent.elapsed()));
    if quotes_only {
        return true;
    }

    let body = json!({
        "quote_token": token,
        "sender": {"name": "Bench Sender", "account": format!("BENCH-S-{}", i % 97)},
        "beneficiary": {"name": "Bench Beneficiary", "account": format!("BENCH-B-{}", i % 89)},
        "reference": format!("bench {i}"),
    })
    .to_string()
    .into_bytes();
    let key = format!("{run_id}-{i}");
    rec.payment_requests += 1;
    let sent = Instant::now();
    match api.post("/payments", body.clone(), Some(&key)).await {
        Ok((202, resp)) => match serde_json::from_slice::<PaymentOut>(&resp) {
            Ok(p) => {
                rec.payment_latency
                    .saturating_record(micros(sent.elapsed()));
                if i < REPLAYS {
                    rec.replay_samples.push(ReplaySample {
                        key: key.clone(),
                        body,
                        payment_id: p.payment_id.clone(),
                    });
                }
                rec.accepted.push((
                    i,
                    Accepted {
                        payment_id: p.payment_id,
                        key,
                    },
                ));
                true
            }
            Err(_) => {
                rec.error("202 payment without a payment_id".into());
                false
            }
        },
        Ok((status, resp)) => {
            rec.error(error_key(status, &resp));
            false
        }
        Err(e) => {
            rec.error(transport_key(&e));
            false
        }
    }
}

/// The idempotency check: the first accepted requests sent again, same key and body, must be
/// answered 202 with the payment they made.
#[derive(Debug, Default, serde::Serialize)]
pub struct Replays {
    pub sent: u64,
    pub same_payment: u64,
    pub problems: Vec<String>,
}

pub async fn replay_check(api: &Api, samples: &[ReplaySample]) -> Replays {
    let mut out = Replays::default();
    for s in samples {
        out.sent += 1;
        match api.post("/payments", s.body.clone(), Some(&s.key)).await {
            Ok((202, resp)) => match serde_json::from_slice::<PaymentOut>(&resp) {
                Ok(p) if p.payment_id == s.payment_id => out.same_payment += 1,
                Ok(p) => out.problems.push(format!(
                    "key {} replayed gave payment {} instead of {}",
                    s.key, p.payment_id, s.payment_id
                )),
                Err(_) => out
                    .problems
                    .push(format!("key {} replayed: 202 without payment_id", s.key)),
            },
            Ok((status, resp)) => out.problems.push(format!(
                "key {} replayed: {}",
                s.key,
                error_key(status, &resp)
            )),
            Err(e) => out
                .problems
                .push(format!("key {} replayed: {}", s.key, transport_key(&e))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_keys_name_status_and_code() {
        assert_eq!(
            error_key(422, br#"{"error":{"code":"quote_expired","message":"x"}}"#),
            "422 quote_expired"
        );
        assert_eq!(error_key(502, b"Bad Gateway"), "502 (no error code)");
    }

    #[test]
    fn quote_bodies_are_json() {
        for q in QUOTES {
            let v: Value = serde_json::from_str(q).unwrap();
            assert!(v["amount"].is_string());
        }
    }

    #[test]
    fn open_loop_total_is_rate_times_duration() {
        assert_eq!(open_total(250.0, Duration::from_secs(4)), 1000);
        assert_eq!(open_total(0.1, Duration::from_secs(1)), 1);
    }
}
