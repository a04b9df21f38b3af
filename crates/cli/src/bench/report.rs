//! The bench report: figures of the run, the correctness checks, ratios to the disk's limit; as
//! one JSON object (`--json`) or as text.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use eventpay_core::{PaymentStatus, imbalance};
use hdrhistogram::Histogram;
use serde::Serialize;

use super::Mode;
use super::load::{self, Outcome, Replays};
use super::probe::DiskLimit;
use super::runtime;
use super::settle::{Settled, View};

/// Everything measured, handed to [`Report::build`].
pub struct Inputs {
    pub mode: Mode,
    pub target: String,
    pub durability: String,
    pub concurrency: usize,
    pub quotes_only: bool,
    pub load: Outcome,
    pub settled: Settled,
    pub settle_wait: Duration,
    pub replays: Replays,
    pub client_cpu: Duration,
    pub runtime_cpu: Option<Duration>,
    pub peak_rss: Option<u64>,
    pub data_dir_bytes: Option<u64>,
    pub disk_limit: Option<DiskLimit>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub run: Run,
    pub load: Load,
    /// HTTP request latencies (service time), ms.
    pub http_latency_ms: HttpLatency,
    pub settle: Settle,
    /// Accepted (the PENDING entry of the payment's history) to final status, ms.
    pub post_to_final_ms: Percentiles,
    /// `"<HTTP status> <error.code>"` (or `"transport <kind>"`) → count.
    pub errors: BTreeMap<String, u64>,
    pub resources: Resources,
    /// `null` with `--probe-secs 0`.
    pub disk_limit: Option<DiskLimit>,
    pub ratios: Ratios,
    pub checks: Checks,
}

#[derive(Debug, Serialize)]
pub struct Run {
    /// `closed` or `open`.
    pub mode: &'static str,
    /// `own runtime` or the URL driven.
    pub target: String,
    pub durability: String,
    pub concurrency: usize,
    /// Only `POST /quotes` was sent.
    pub quotes_only: bool,
    pub payments_requested: Option<u64>,
    pub rate_per_s: Option<f64>,
    pub duration_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Load {
    pub elapsed_s: f64,
    pub quote_requests: u64,
    pub quote_requests_per_s: f64,
    pub payment_requests: u64,
    pub accepted: u64,
    pub accepted_per_s: f64,
    /// Open loop: the latest any pair started after its due time (all workers busy); `null` in a
    /// closed loop.
    pub max_start_lag_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct HttpLatency {
    pub quote: Percentiles,
    pub payment: Percentiles,
    /// Quote + payment; in the open loop measured from the pair's due time.
    pub pair: Percentiles,
}

#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Settle {
    /// Accepted payments found final.
    pub r#final: u64,
    pub not_final: u64,
    pub timed_out: bool,
    /// From the end of the load until all were final (or the timeout).
    pub wait_s: f64,
    /// Final status → count (and PENDING/PROCESSING for those not final).
    pub by_status: BTreeMap<String, u64>,
    /// SETTLED payments per second over the span of their SETTLED timestamps.
    pub settled_per_s: Option<f64>,
    /// Final payments per second over the span of their final timestamps.
    pub final_per_s: Option<f64>,
    /// First accepted to last final, from the payments' history.
    pub first_accepted_to_last_final_s: Option<f64>,
    /// GETs sent to wait for and collect the payments.
    pub read_requests: u64,
    /// Of those, failed and retried (e.g. while the runtime restarted), and the last failure.
    pub read_errors: u64,
    pub last_read_error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Resources {
    /// Of the runtime's data dir after the run (`null` if unknown: `--url` without `--data-dir`).
    pub data_dir_bytes: Option<u64>,
    pub bytes_on_disk_per_payment: Option<f64>,
    /// The runtime's `VmHWM` (`null` if unknown: `--url` without `--pid`).
    pub runtime_peak_rss_bytes: Option<u64>,
    /// The runtime's CPU time (user + system) during load and settling, per accepted payment
    /// (per quote with `--quotes-only`, as the next figure).
    pub runtime_cpu_us_per_payment: Option<f64>,
    /// This load generator's own CPU time during the load, per accepted payment.
    pub client_cpu_us_per_payment: Option<f64>,
    pub client_peak_rss_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Ratios {
    /// settled/s ÷ single-row commits/s at `--durability`.
    pub settled_per_s_to_commits_per_s: Option<f64>,
    /// settled/s ÷ rows/s batched 256 to a commit.
    pub settled_per_s_to_batched_rows_per_s: Option<f64>,
    /// accepted/s ÷ single-row commits/s at `--durability`.
    pub accepted_per_s_to_commits_per_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Checks {
    /// At least one payment was accepted (with `--quotes-only`: one quote made).
    pub accepted_any: bool,
    /// Every accepted payment reached SETTLED, REJECTED or FAILED.
    pub all_final: bool,
    /// Accepted ids distinct, one per idempotency key, none listed twice, replays of a key gave
    /// its payment.
    pub no_duplicates: bool,
    /// Every SETTLED payment's ledger balances per currency; no other has a ledger.
    pub ledgers_balanced: bool,
    /// Each final payment's history starts PENDING and ends with its status.
    pub histories_complete: bool,
    /// Every figure is a finite number and the counts add up.
    pub report_well_formed: bool,
    pub passed: bool,
    /// What failed, first few of each kind.
    pub failures: Vec<String>,
}

/// At most this many examples per failed check.
const EXAMPLES: usize = 5;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentiles_us(h: &Histogram<u64>) -> Percentiles {
    let at = |q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1e3);
    Percentiles {
        count: h.len(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: (!h.is_empty()).then(|| h.max() as f64 / 1e3),
    }
}

fn per_s(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

/// `n / span` where the span is between the earliest and latest of `times` (None if < 2 or zero).
fn rate_over_span(times: &[chrono::DateTime<chrono::Utc>]) -> Option<f64> {
    let (first, last) = (times.iter().min()?, times.iter().max()?);
    let span = (*last - *first).num_microseconds()? as f64 / 1e6;
    (times.len() > 1 && span > 0.0).then(|| times.len() as f64 / span)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// When the payment was accepted (its PENDING entry) and reached its final status.
fn accepted_and_final(
    v: &View,
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let accepted = v
        .history
        .first()
        .filter(|h| h.status == PaymentStatus::Pending)?;
    let last = v
        .history
        .last()
        .filter(|h| h.status == v.status && v.status.is_final())?;
    Some((accepted.at, last.at))
}

struct Failures(Vec<String>);

impl Failures {
    /// Records a failed check with a few examples; returns whether it passed.
    fn check(&mut self, what: &str, examples: Vec<String>) -> bool {
        if examples.is_empty() {
            return true;
        }
        let shown: Vec<&str> = examples.iter().take(EXAMPLES).map(String::as_str).collect();
        self.0
            .push(format!("{what}: {} ({})", examples.len(), shown.join("; ")));
        false
    }
}

impl Report {
    pub fn build(i: Inputs) -> Report {
        let accepted = i.load.accepted.len() as u64;
        let views: Vec<&View> = i
            .load
            .accepted
            .iter()
            .filter_map(|a| i.settled.payments.get(&a.payment_id))
            .collect();
        let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
        for v in &views {
            *by_status.entry(v.status.as_str().to_owned()).or_default() += 1;
        }
        let final_count = views.iter().filter(|v| v.status.is_final()).count() as u64;

        let mut latency = load::histogram();
        let (mut accepted_at, mut final_at, mut settled_at) = (Vec::new(), Vec::new(), Vec::new());
        for v in &views {
            if let Some((a, f)) = accepted_and_final(v) {
                let us = (f - a).num_microseconds().unwrap_or(0).max(0) as u64;
                latency.saturating_record(us);
                accepted_at.push(a);
                final_at.push(f);
                if v.status == PaymentStatus::Settled {
                    settled_at.push(f);
                }
            }
        }
        let settled_per_s = rate_over_span(&settled_at);
        let first_to_last = match (accepted_at.iter().min(), final_at.iter().max()) {
            (Some(a), Some(f)) => (*f - *a).num_microseconds().map(|us| us as f64 / 1e6),
            _ => None,
        };

        let accepted_per_s = per_s(accepted, i.load.elapsed);
        // CPU per unit of work: a payment, or with --quotes-only a quote.
        let units = if i.quotes_only {
            i.load.quote_latency.len()
        } else {
            accepted
        };
        let per_payment = |d: Duration| (units > 0).then(|| d.as_secs_f64() * 1e6 / units as f64);
        let commits = i
            .disk_limit
            .as_ref()
            .map(|l| l.commits_per_s(&i.durability));
        let batched = i.disk_limit.as_ref().map(|l| l.rows_per_s_batch_256);

        let (mode, payments_requested, rate_per_s, duration_s) = match i.mode {
            Mode::Closed { payments } => ("closed", Some(payments), None, None),
            Mode::Open { rate, duration } => {
                ("open", None, Some(rate), Some(duration.as_secs_f64()))
            }
        };
        let mut report = Report {
            run: Run {
                mode,
                target: i.target,
                durability: i.durability,
                concurrency: i.concurrency,
                quotes_only: i.quotes_only,
                payments_requested,
                rate_per_s,
                duration_s,
            },
            load: Load {
                elapsed_s: i.load.elapsed.as_secs_f64(),
                quote_requests: i.load.quote_requests,
                quote_requests_per_s: per_s(i.load.quote_requests, i.load.elapsed),
                payment_requests: i.load.payment_requests,
                accepted,
                accepted_per_s,
                max_start_lag_ms: i.load.max_start_lag.map(ms),
            },
            http_latency_ms: HttpLatency {
                quote: percentiles_us(&i.load.quote_latency),
                payment: percentiles_us(&i.load.payment_latency),
                pair: percentiles_us(&i.load.pair_latency),
            },
            settle: Settle {
                r#final: final_count,
                not_final: accepted - final_count,
                timed_out: i.settled.timed_out,
                wait_s: i.settle_wait.as_secs_f64(),
                by_status,
                settled_per_s,
                final_per_s: rate_over_span(&final_at),
                first_accepted_to_last_final_s: first_to_last,
                read_requests: i.settled.stats.requests,
                read_errors: i.settled.stats.read_errors,
                last_read_error: i.settled.stats.last_read_error.clone(),
            },
            post_to_final_ms: percentiles_us(&latency),
            errors: i.load.errors,
            resources: Resources {
                data_dir_bytes: i.data_dir_bytes,
                bytes_on_disk_per_payment: i
                    .data_dir_bytes
                    .filter(|_| accepted > 0)
                    .map(|b| b as f64 / accepted as f64),
                runtime_peak_rss_bytes: i.peak_rss,
                runtime_cpu_us_per_payment: i.runtime_cpu.and_then(per_payment),
                client_cpu_us_per_payment: per_payment(i.client_cpu),
                client_peak_rss_bytes: runtime::own_peak_rss(),
            },
            disk_limit: i.disk_limit.clone(),
            ratios: Ratios {
                settled_per_s_to_commits_per_s: ratio(settled_per_s, commits),
                settled_per_s_to_batched_rows_per_s: ratio(settled_per_s, batched),
                accepted_per_s_to_commits_per_s: ratio(Some(accepted_per_s), commits),
            },
            checks: Checks {
                accepted_any: false,
                all_final: false,
                no_duplicates: false,
                ledgers_balanced: false,
                histories_complete: false,
                report_well_formed: false,
                passed: false,
                failures: Vec::new(),
            },
        };
        report.checks = checks(&report, &i.load.accepted, &i.settled, &i.replays);
        report
    }
}

fn checks(
    report: &Report,
    accepted: &[load::Accepted],
    settled: &Settled,
    replays: &Replays,
) -> Checks {
    let mut f = Failures(Vec::new());
    let nothing = if report.run.quotes_only {
        report.http_latency_ms.quote.count == 0
    } else {
        accepted.is_empty()
    };
    let accepted_any = f.check(
        "nothing accepted",
        if nothing {
            vec!["0 accepted".into()]
        } else {
            vec![]
        },
    );

    let views: Vec<(&str, Option<&View>)> = accepted
        .iter()
        .map(|a| (a.payment_id.as_str(), settled.payments.get(&a.payment_id)))
        .collect();
    let all_final = f.check(
        "accepted payments not final",
        views
            .iter()
            .filter(|(_, v)| !v.is_some_and(|v| v.status.is_final()))
            .map(|(id, v)| {
                let state = match v {
                    Some(v) => v.status.as_str(),
                    None if settled.stats.not_found.iter().any(|n| n == id) => "not found (lost)",
                    None => "unread",
                };
                format!("{id} {state}")
            })
            .collect(),
    );

    let mut dup = Vec::new();
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    for a in accepted {
        if !ids.insert(a.payment_id.as_str()) {
            dup.push(format!("payment {} accepted for two keys", a.payment_id));
        }
        if !keys.insert(a.key.as_str()) {
            dup.push(format!("key {} used twice", a.key));
        }
    }
    dup.extend(
        settled
            .listed_twice
            .iter()
            .map(|id| format!("payment {id} listed twice")),
    );
    dup.extend(replays.problems.iter().cloned());
    if replays.same_payment != replays.sent && replays.problems.is_empty() {
        dup.push(format!(
            "{} of {} replays gave their payment",
            replays.same_payment, replays.sent
        ));
    }
    let no_duplicates = f.check("duplicates", dup);

    let ledgers_balanced = f.check(
        "ledgers",
        views
            .iter()
            .filter_map(|(id, v)| {
                let v = (*v)?;
                match (v.status, &v.settlement) {
                    (PaymentStatus::Settled, None) => {
                        Some(format!("{id} SETTLED without a ledger"))
                    }
                    (PaymentStatus::Settled, Some(s)) if s.transfers.is_empty() => {
                        Some(format!("{id} SETTLED with no transfers"))
                    }
                    (PaymentStatus::Settled, Some(s)) => {
                        imbalance(&s.transfers).map(|e| format!("{id}: {e}"))
                    }
                    (status, Some(_)) => Some(format!("{id} {status} has a ledger")),
                    (_, None) => None,
                }
            })
            .collect(),
    );

    let histories_complete = f.check(
        "histories",
        views
            .iter()
            .filter_map(|(id, v)| {
                let v = (*v)?;
                (v.status.is_final() && accepted_and_final(v).is_none()).then(|| {
                    format!(
                        "{id} history {:?}",
                        v.history
                            .iter()
                            .map(|h| h.status.as_str())
                            .collect::<Vec<_>>()
                    )
                })
            })
            .chain(settled.stats.malformed.iter().cloned())
            .collect(),
    );

    let report_well_formed = f.check("report", well_formed(report));
    let passed = accepted_any
        && all_final
        && no_duplicates
        && ledgers_balanced
        && histories_complete
        && report_well_formed;
    Checks {
        accepted_any,
        all_final,
        no_duplicates,
        ledgers_balanced,
        histories_complete,
        report_well_formed,
        passed,
        failures: f.0,
    }
}

/// Problems of the report itself: numbers that are not finite, counts that do not add up.
fn well_formed(r: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    let finite = |problems: &mut Vec<String>, name: &str, v: Option<f64>| {
        if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
            problems.push(format!("{name} is {v:?}"));
        }
    };
    finite(&mut problems, "load.elapsed_s", Some(r.load.elapsed_s));
    finite(
        &mut problems,
        "load.accepted_per_s",
        Some(r.load.accepted_per_s),
    );
    finite(
        &mut problems,
        "load.quote_requests_per_s",
        Some(r.load.quote_requests_per_s),
    );
    finite(
        &mut problems,
        "settle.settled_per_s",
        r.settle.settled_per_s,
    );
    finite(&mut problems, "settle.final_per_s", r.settle.final_per_s);
    finite(
        &mut problems,
        "resources.bytes_on_disk_per_payment",
        r.resources.bytes_on_disk_per_payment,
    );
    finite(
        &mut problems,
        "resources.client_cpu_us_per_payment",
        r.resources.client_cpu_us_per_payment,
    );
    finite(
        &mut problems,
        "ratios.settled_per_s_to_commits_per_s",
        r.ratios.settled_per_s_to_commits_per_s,
    );
    for (name, p) in [
        ("post_to_final_ms", &r.post_to_final_ms),
        ("http_latency_ms.quote", &r.http_latency_ms.quote),
        ("http_latency_ms.payment", &r.http_latency_ms.payment),
    ] {
        for v in [p.p50, p.p95, p.p99, p.max] {
            finite(&mut problems, name, v);
        }
        if let (Some(p50), Some(p99), Some(max)) = (p.p50, p.p99, p.max)
            && !(p50 <= p99 && p99 <= max)
        {
            problems.push(format!(
                "{name}: p50 {p50} ≤ p99 {p99} ≤ max {max} does not hold"
            ));
        }
    }
    if let Some(l) = &r.disk_limit {
        for (name, v) in [
            ("commits_per_s_normal", l.commits_per_s_normal),
            ("commits_per_s_full", l.commits_per_s_full),
            ("rows_per_s_batch_32", l.rows_per_s_batch_32),
            ("rows_per_s_batch_256", l.rows_per_s_batch_256),
        ] {
            if !(v.is_finite() && v > 0.0) {
                problems.push(format!("disk_limit.{name} is {v}"));
            }
        }
    }
    let by_status: u64 = r.settle.by_status.values().sum();
    if r.settle.r#final + r.settle.not_final != r.load.accepted || by_status > r.load.accepted {
        problems.push(format!(
            "counts: {} final + {} not final, {by_status} by status, {} accepted",
            r.settle.r#final, r.settle.not_final, r.load.accepted
        ));
    }
    if r.load.accepted > r.load.payment_requests || r.load.payment_requests > r.load.quote_requests
    {
        problems.push("accepted ≤ payment requests ≤ quote requests does not hold".into());
    }
    problems
}

/// The report as text, for people.
pub fn print_text(r: &Report) {
    let opt = |v: Option<f64>, digits: usize| {
        v.map_or("unavailable".to_owned(), |v| format!("{v:.digits$}"))
    };
    let pct = |p: &Percentiles| {
        format!(
            "p50 {} · p95 {} · p99 {} · max {} ms ({})",
            opt(p.p50, 1),
            opt(p.p95, 1),
            opt(p.p99, 1),
            opt(p.max, 1),
            p.count
        )
    };
    let unit = if r.run.quotes_only {
        "quote"
    } else {
        "payment"
    };
    let mib = |b: Option<u64>| opt(b.map(|b| b as f64 / (1024.0 * 1024.0)), 1);
    let shape = match (r.run.payments_requested, r.run.rate_per_s, r.run.duration_s) {
        (Some(n), _, _) => format!("closed loop, {n} payments"),
        (_, Some(rate), Some(d)) => format!("open loop, {rate}/s for {d} s"),
        _ => r.run.mode.to_owned(),
    } + if r.run.quotes_only {
        " (quotes only)"
    } else {
        ""
    };
    println!(
        "eventpay bench: {shape}, concurrency {}, {}, durability {}",
        r.run.concurrency, r.run.target, r.run.durability
    );
    println!(
        "  load           {:.2} s: {} accepted ({:.0}/s), {} quote requests ({:.0}/s){}",
        r.load.elapsed_s,
        r.load.accepted,
        r.load.accepted_per_s,
        r.load.quote_requests,
        r.load.quote_requests_per_s,
        r.load.max_start_lag_ms.map_or(String::new(), |l| format!(
            ", latest start {l:.1} ms after due"
        ))
    );
    println!(
        "  settled        {} final of {} in {:.2} s after the load{}; {:?}",
        r.settle.r#final,
        r.load.accepted,
        r.settle.wait_s,
        if r.settle.timed_out {
            " (TIMED OUT)"
        } else {
            ""
        },
        r.settle.by_status
    );
    println!(
        "  throughput     settled/s {} · final/s {} · first accepted → last final {} s",
        opt(r.settle.settled_per_s, 0),
        opt(r.settle.final_per_s, 0),
        opt(r.settle.first_accepted_to_last_final_s, 2)
    );
    println!("  POST→final     {}", pct(&r.post_to_final_ms));
    println!("  POST /quotes   {}", pct(&r.http_latency_ms.quote));
    println!("  POST /payments {}", pct(&r.http_latency_ms.payment));
    println!("  pair           {}", pct(&r.http_latency_ms.pair));
    println!(
        "  disk           {} MiB data dir, {} bytes per payment",
        mib(r.resources.data_dir_bytes),
        opt(r.resources.bytes_on_disk_per_payment, 0)
    );
    println!(
        "  memory         runtime peak RSS {} MiB, client {} MiB",
        mib(r.resources.runtime_peak_rss_bytes),
        mib(r.resources.client_peak_rss_bytes)
    );
    println!(
        "  CPU            runtime {} µs per {unit}, client {} µs per {unit}",
        opt(r.resources.runtime_cpu_us_per_payment, 0),
        opt(r.resources.client_cpu_us_per_payment, 0)
    );
    if r.errors.is_empty() {
        println!("  errors         none");
    } else {
        println!("  errors         {:?}", r.errors);
    }
    match &r.disk_limit {
        Some(l) => {
            println!(
                "  disk limit     {:.0} commits/s NORMAL, {:.0} FULL; {:.0} rows/s in 32s, {:.0} in 256s ({}; {} s each, in {})",
                l.commits_per_s_normal,
                l.commits_per_s_full,
                l.rows_per_s_batch_32,
                l.rows_per_s_batch_256,
                l.batched_synchronous,
                l.secs_each,
                l.dir
            );
            println!(
                "  ratios         settled/s ÷ commits/s {} · settled/s ÷ batched rows/s {} · accepted/s ÷ commits/s {}",
                opt(r.ratios.settled_per_s_to_commits_per_s, 3),
                opt(r.ratios.settled_per_s_to_batched_rows_per_s, 3),
                opt(r.ratios.accepted_per_s_to_commits_per_s, 3)
            );
        }
        None => println!("  disk limit     not measured (--probe-secs 0)"),
    }
    if r.checks.passed {
        println!(
            "  checks         passed: all final, none twice, ledgers balanced, histories complete"
        );
    } else {
        println!("  checks         FAILED");
        for failure in &r.checks.failures {
            println!("    {failure}");
        }
    }
}
