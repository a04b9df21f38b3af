//! `eventpay simulate`: a seeded fault simulation of the whole flow. For each seed, on a fresh
//! data dir, it launches this binary's `up` with seeded faults (`--chaos`: duplicate and
//! reordered stream records, duplicate queue deliveries, task failures, lost task answers, a
//! crash right after a seeded commit), posts the seed's payments over a few rounds, relaunches
//! after each crash, lets the last round run without a crash until everything has settled, then
//! checks the invariants ([`check`]). Every wait has a deadline; a failure prints `seed=S`, the
//! round and what it was waiting for, or the violated invariant with the payment id.

mod check;
mod workload;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::bench::load::Api;
use crate::bench::runtime::{ExitedBeforeListening, Runtime};
use check::{ClientLog, View};
use workload::Op;

/// At most this many payments per seed: `/_local/notifications` lists the newest 1,000.
const MAX_PAYMENTS: usize = 300;
/// How long one look at the work left may take (a few GETs).
const LOOK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args)]
pub struct SimulateArgs {
    /// The first seed; `eventpay simulate --seed S` replays a failing seed's faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many seeds to run (S, S+1, ...).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Payments posted per seed (at most 300).
    #[arg(long, default_value_t = 40)]
    payments: usize,
    /// Crashes per seed: the runtime is killed at a seeded commit this many times.
    #[arg(long, default_value_t = 2)]
    crashes: u32,
    /// Seconds each round may take to crash or settle before the seed fails.
    #[arg(long, default_value_t = 120)]
    round_timeout: u64,
    /// Folder the temporary data dirs are made in (default: the system's temp dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    if args.payments == 0 || args.payments > MAX_PAYMENTS {
        bail!("--payments must be between 1 and {MAX_PAYMENTS}");
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut failed = Vec::new();
    for seed in args.seed..args.seed.saturating_add(args.seeds) {
        let started = Instant::now();
        match simulate(seed, &args, &parent).await {
            Ok(summary) => println!("seed={seed} ok in {:.0?}: {summary}", started.elapsed()),
            Err(e) => {
                println!("seed={seed} FAILED: {e:#}");
                println!(
                    "  replay: eventpay simulate --seed {seed} --payments {} --crashes {}",
                    args.payments, args.crashes
                );
                failed.push(seed);
            }
        }
    }
    if failed.is_empty() {
        println!("{} seed(s) passed", args.seeds);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("failing seeds: {failed:?}");
        Ok(ExitCode::FAILURE)
    }
}

/// The faults of one round, from the seed: the crash point only before the last round.
fn chaos_arg(rng: &mut ChaCha8Rng, seed: u64, round: u32, crash_within: Option<u64>) -> String {
    let mut arg = format!(
        "seed={},reorder=true,duplicates={:.2},deliveries={:.2},task_failures={:.2},task_timeouts={:.2}",
        seed.wrapping_mul(1_000).wrapping_add(u64::from(round)),
        rng.random_range(0.05..0.3),
        rng.random_range(0.05..0.3),
        rng.random_range(0.02..0.15),
        rng.random_range(0.02..0.15),
    );
    if let Some(within) = crash_within {
        arg.push_str(&format!(
            ",crash_after={}",
            rng.random_range(1..=within.max(1))
        ));
    }
    arg
}

fn runtime_args(chaos: &str) -> Vec<String> {
    [
        "--quote-ttl-secs",
        "3600",
        "--visibility-timeout-secs",
        "2",
        "--blocked-accounts",
        workload::BLOCKED,
        "--sweep-every-secs",
        "5",
        "--stuck-after-secs",
        "30",
        "--quiet",
        "--chaos",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([chaos.to_owned()])
    .collect()
}

/// One seed, start to end, on a fresh data dir that is removed if the seed passes and kept (with
/// the runtime's log) if it fails.
async fn simulate(seed: u64, args: &SimulateArgs, parent: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("eventpay-sim-{seed}-"))
        .tempdir_in(parent)
        .context("creating a data dir")?;
    let outcome = rounds(seed, args, dir.path()).await;
    if outcome.is_err() {
        let kept = dir.keep();
        return outcome.with_context(|| {
            format!(
                "the data dir and runtime.log are kept in {}",
                kept.display()
            )
        });
    }
    outcome
}

/// The rounds of one seed in `dir`; a summary of what happened, or what went wrong.
async fn rounds(seed: u64, args: &SimulateArgs, dir: &Path) -> anyhow::Result<String> {
    let data_dir = dir.join("data");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut ops = workload::plan(seed, args.payments);
    let mut log = ClientLog::default();
    let total = args.crashes + 1;
    let per_round = args.payments.div_ceil(total as usize);
    let deadline = Duration::from_secs(args.round_timeout);
    let (mut crashed, mut killed) = (0, 0);
    for round in 0..total {
        let last = round + 1 == total;
        // A round makes about 9 commits a payment (posted one at a time, as here; the summary
        // shows the last round's): the crash point falls anywhere from start-up to settling.
        let crash_within = (!last).then_some(per_round as u64 * 9 + 10);
        let chaos = chaos_arg(&mut rng, seed, round, crash_within);
        let launched = Runtime::launch(
            &data_dir,
            &runtime_args(&chaos),
            None,
            Some(&dir.join("runtime.log")),
        )
        .await;
        let mut rt = match launched {
            Ok(rt) => rt,
            // The crash point fell among the start-up's own commits (resumed executions, the
            // sweeper's first pass): a crash like any other.
            Err(e) if !last && e.is::<ExitedBeforeListening>() => {
                crashed += 1;
                continue;
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("round {round}: waiting for the runtime to listen (--chaos {chaos})")
                });
            }
        };
        let api = Api::new(&rt.base, None, 4)?;
        let upto = ((round as usize + 1) * per_round).min(ops.len());
        let posted = post_round(&api, &mut rt, &mut ops[..upto], &mut log);
        if tokio::time::timeout(deadline, posted).await.is_err() {
            bail!(
                "round {round}: after {deadline:?} still waiting for answers to the round's requests (--chaos {chaos})"
            );
        }
        match settle(&api, &mut rt, deadline, last).await {
            Ok(Ended::Crashed) if last => {
                bail!("round {round}: the runtime exited without a crash point")
            }
            Ok(Ended::Crashed) => crashed += 1,
            Ok(Ended::Settled) if last => {
                let outcome = verify(&api, &log, &ops).await;
                rt.kill();
                return outcome.map(|s| {
                    format!("{s}; {crashed} crash point(s) hit, {killed} killed once settled")
                });
            }
            Ok(Ended::Settled) => {
                // The crash point lay beyond the round's work: a kill from outside instead.
                rt.kill();
                killed += 1;
            }
            Err(e) => return Err(e).with_context(|| format!("round {round} (--chaos {chaos})")),
        }
    }
    bail!("no rounds ran")
}

/// Drives every op not yet done, in order, until the runtime stops answering.
async fn post_round(api: &Api, rt: &mut Runtime, ops: &mut [Op], log: &mut ClientLog) {
    for op in ops.iter_mut().filter(|o| !o.done) {
        if let Err(lost) = workload::drive(api, op, log).await {
            tracing::debug!(payment = op.index, reason = %lost.0, "answer lost; taken up next round");
            if rt.has_exited() {
                return;
            }
        }
    }
}

enum Ended {
    Crashed,
    Settled,
}

/// Waits until the runtime has crashed or all its work is done (no payment non-final, no
/// execution running, nothing on the queue); fails naming what is left after `deadline`.
async fn settle(
    api: &Api,
    rt: &mut Runtime,
    deadline: Duration,
    last: bool,
) -> anyhow::Result<Ended> {
    let started = Instant::now();
    let mut left: String;
    loop {
        if rt.has_exited() {
            return Ok(Ended::Crashed);
        }
        match tokio::time::timeout(LOOK_TIMEOUT, work_left(api)).await {
            Ok(Ok(None)) => return Ok(Ended::Settled),
            Ok(Ok(Some(what))) => left = what,
            Ok(Err(e)) => left = format!("an answer ({e:#})"),
            Err(_) => left = format!("an answer within {LOOK_TIMEOUT:?}"),
        }
        if started.elapsed() > deadline {
            let end = if last { "settle" } else { "crash or settle" };
            bail!("after {deadline:?} waiting for the runtime to {end}, still waiting for {left}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What is still in progress, or `None` if nothing is.
async fn work_left(api: &Api) -> anyhow::Result<Option<String>> {
    let mut open = Vec::new();
    for status in ["PENDING", "PROCESSING"] {
        let (_, body) = api
            .get("/payments", &[("status", status), ("limit", "100")])
            .await?;
        for p in body["items"].as_array().into_iter().flatten() {
            open.push(format!(
                "{} {status}",
                p["payment_id"].as_str().unwrap_or("?")
            ));
        }
    }
    if !open.is_empty() {
        return Ok(Some(format!(
            "{} payment(s) to be final: {}",
            open.len(),
            open.join(", ")
        )));
    }
    let (_, body) = api
        .get("/_local/executions", &[("status", "RUNNING")])
        .await?;
    let running = body["executions"].as_array().map_or(0, Vec::len);
    if running > 0 {
        return Ok(Some(format!("{running} execution(s) to end")));
    }
    let (_, body) = api.get("/_local/queues", &[]).await?;
    let q = &body["queues"][0];
    let queued = q["depth"].as_u64().unwrap_or(0) + q["in_flight"].as_u64().unwrap_or(0);
    Ok((queued > 0).then(|| format!("{queued} message(s) on the queue")))
}

/// Reads everything and checks the invariants.
async fn verify(api: &Api, log: &ClientLog, ops: &[Op]) -> anyhow::Result<String> {
    let payments = list_payments(api).await?;
    let (_, notes) = api.get("/_local/notifications", &[]).await?;
    let messages: Vec<String> = notes["notifications"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["message"].as_str().map(str::to_owned))
        .collect();
    let (_, queues) = api.get("/_local/queues", &[]).await?;
    let dead = queues["queues"][0]["dead_letter_depth"]
        .as_u64()
        .unwrap_or(0);
    let mut violations = check::check(log, &payments, &messages);
    violations.extend(check::nothing_dead_lettered(dead));
    if let Some(first) = violations.first() {
        let more = violations.len() - 1;
        bail!(
            "{first}{}",
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        );
    }
    let count = |s: &str| payments.iter().filter(|p| p.status.as_str() == s).count();
    let unanswered = ops.iter().filter(|o| o.payment_id.is_none()).count();
    let swept = payments
        .iter()
        .filter(|p| p.reason.as_deref().is_some_and(|r| r.starts_with("stuck")))
        .count();
    let (_, figures) = api.get("/_local/figures", &[]).await?;
    let commits = figures["writer"]["commits"].as_u64().unwrap_or(0);
    Ok(format!(
        "{} payments ({} SETTLED, {} REJECTED, {} FAILED, {swept} of them by the sweeper), {} accepted, {} without a known answer, {commits} commits in the last round",
        payments.len(),
        count("SETTLED"),
        count("REJECTED"),
        count("FAILED"),
        log.accepted.len(),
        unanswered
    ))
}

/// Every payment, through `GET /payments`' pages.
async fn list_payments(api: &Api) -> anyhow::Result<Vec<View>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "100".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, mut body) = api.get("/payments", &query).await?;
        if status != 200 {
            bail!("GET /payments answered {status}: {body}");
        }
        let items = match body["items"].take() {
            Value::Array(items) => items,
            other => bail!("GET /payments: no items in {other}"),
        };
        for item in items {
            out.push(serde_json::from_value(item).context("a listed payment")?);
        }
        match body["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(out),
        }
    }
}
