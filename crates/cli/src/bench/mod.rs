//! `eventpay bench`: a load generator for the payment API. It starts its own runtime (this binary,
//! `eventpay up`, as a child process on a temporary data dir) or drives `--url`, runs a closed or
//! an open loop of quote + payment pairs, waits until every accepted payment is final, checks the
//! outcome (all final, none twice, ledgers balanced) and reports throughput, latency, disk and
//! memory beside the disk's own limit measured in the same run.
//!
//! Split by concern: [`load`] sends the requests, [`settle`] waits for and collects the outcomes,
//! [`runtime`] owns the child process and reads `/proc`, [`probe`] measures raw SQLite on the same
//! disk, [`report`] assembles, checks and prints the figures.

pub(crate) mod load;
mod probe;
mod report;
pub(crate) mod runtime;
mod settle;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::up::DurabilityArg;

#[derive(Args)]
pub struct BenchArgs {
    /// Drive a running deployment (local or AWS) instead of starting a runtime.
    #[arg(long, env = "EVENTPAY_URL")]
    url: Option<String>,
    /// API key sent as x-api-key (API Gateway usage plans).
    #[arg(long, env = "EVENTPAY_API_KEY")]
    api_key: Option<String>,
    /// Closed loop: this many quote + payment pairs, `--concurrency` at a time (the default: 2000).
    #[arg(long, conflicts_with_all = ["rate", "duration"])]
    payments: Option<u64>,
    /// Open loop: pairs started per second at fixed intervals (with `--duration`).
    #[arg(long, requires = "duration")]
    rate: Option<f64>,
    /// Open loop: how long to keep the rate, in seconds.
    #[arg(long, requires = "rate")]
    duration: Option<f64>,
    /// Send only `POST /quotes` (no payments, nothing to settle): the quote path's throughput.
    #[arg(long)]
    quotes_only: bool,
    /// Workers (connections) sending pairs; in the open loop, the most pairs in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// After the load, how long to wait for every accepted payment to be final, in seconds.
    #[arg(long, default_value_t = 300)]
    settle_timeout: u64,
    /// The started runtime's durability; with `--url`, which raw commit rate to compare with.
    #[arg(long, value_enum, default_value_t = DurabilityArg::Normal)]
    durability: DurabilityArg,
    /// Without `--url`: the folder the temporary data dir is made in (its disk is the one
    /// measured). With `--url`: the deployment's data dir, to report its size.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With `--url`: the runtime's process id, to report its peak RSS and CPU.
    #[arg(long)]
    pid: Option<u32>,
    /// The spec/ directory handed to the started runtime (default: as `eventpay up`).
    #[arg(long)]
    spec_dir: Option<PathBuf>,
    /// Seconds each raw SQLite measurement runs (4 of them); 0 skips the disk-limit probe.
    #[arg(long, default_value_t = 2.0)]
    probe_secs: f64,
    /// Print one JSON object instead of text (and no progress bar).
    #[arg(long)]
    json: bool,
    /// Exit non-zero if a correctness check fails.
    #[arg(long)]
    check: bool,
}

/// What the load is: a number of pairs as fast as the workers go, or a rate for a time.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Closed { payments: u64 },
    Open { rate: f64, duration: Duration },
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mode = match (args.payments, args.rate, args.duration) {
        (_, Some(rate), Some(secs)) => {
            if !(rate.is_finite() && rate > 0.0 && secs.is_finite() && secs > 0.0) {
                bail!("--rate and --duration must be positive");
            }
            Mode::Open {
                rate,
                duration: Duration::from_secs_f64(secs),
            }
        }
        (Some(0), _, _) => bail!("--payments must be at least 1"),
        (payments, _, _) => Mode::Closed {
            payments: payments.unwrap_or(2000),
        },
    };
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if !(args.probe_secs.is_finite() && args.probe_secs >= 0.0) {
        bail!("--probe-secs must be 0 or more");
    }
    let durability = args
        .durability
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_else(|| "normal".into());
    let show_progress = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());

    // The runtime under test: our own child, or the one at --url.
    let own = match &args.url {
        Some(_) => None,
        None => {
            let parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
            Some(
                runtime::Runtime::start(
                    &parent,
                    &durability,
                    args.spec_dir.as_deref(),
                    args.concurrency,
                )
                .await
                .context("starting the runtime under test")?,
            )
        }
    };
    // Ctrl-C ends the run but still stops the runtime and removes its data dir.
    let result = tokio::select! {
        r = bench(&args, mode, &durability, own.as_ref(), show_progress) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some(rt) = own {
        rt.stop().await;
    }
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        report::print_text(&report);
    }
    if args.check && !report.checks.passed {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

async fn bench(
    args: &BenchArgs,
    mode: Mode,
    durability: &str,
    own: Option<&runtime::Runtime>,
    show_progress: bool,
) -> anyhow::Result<report::Report> {
    let base = match (own, &args.url) {
        (Some(rt), _) => rt.base.clone(),
        (None, Some(url)) => url.trim_end_matches('/').to_owned(),
        (None, None) => bail!("no runtime to drive"),
    };
    let pid = own.map(|rt| rt.pid).or(args.pid);
    let data_dir = own.map(|rt| rt.data_dir.clone()).or(args.data_dir.clone());
    let api = Arc::new(load::Api::new(
        &base,
        args.api_key.clone(),
        args.concurrency,
    )?);
    let sampler = pid.map(runtime::Sampler::start);

    let cpu_before = runtime::own_cpu();
    let runtime_cpu_before = pid.and_then(runtime::process_cpu);
    let bar = progress_bar(show_progress, mode, "load");
    let outcome = load::run(&api, mode, args.concurrency, args.quotes_only, &bar).await;
    bar.finish_and_clear();
    let client_cpu = runtime::own_cpu().saturating_sub(cpu_before);

    let bar = progress_bar(show_progress, mode, "settle");
    bar.set_length(outcome.accepted.len() as u64);
    let settle_started = Instant::now();
    let settled = settle::wait(
        &api,
        &outcome.accepted,
        own.is_some(),
        Duration::from_secs(args.settle_timeout),
        &bar,
    )
    .await
    .context("waiting for the payments to be final")?;
    bar.finish_and_clear();
    let settle_wait = settle_started.elapsed();
    let replays = load::replay_check(&api, &outcome.replay_samples).await;

    let runtime_cpu =
        runtime_cpu_before.and_then(|b| pid.and_then(runtime::process_cpu).map(|a| a - b));
    let peak_rss = match sampler {
        Some(s) => s.stop().await,
        None => None,
    };
    let data_dir_bytes = data_dir.as_deref().map(runtime::dir_size);

    // The disk's own limit, measured after the load so both do not compete for it.
    let probe_parent = data_dir
        .as_deref()
        .and_then(|d| d.parent().map(|p| p.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir);
    let disk_limit = if args.probe_secs > 0.0 {
        let secs = args.probe_secs;
        let sync = durability.to_owned();
        let bar = spinner(show_progress, "measuring the disk's limit (raw SQLite)");
        let limit = tokio::task::spawn_blocking(move || probe::measure(&probe_parent, secs, &sync))
            .await
            .context("disk probe")?
            .context("disk probe")?;
        bar.finish_and_clear();
        Some(limit)
    } else {
        None
    };

    Ok(report::Report::build(report::Inputs {
        mode,
        target: if own.is_some() {
            "own runtime".into()
        } else {
            base
        },
        durability: durability.to_owned(),
        concurrency: args.concurrency,
        quotes_only: args.quotes_only,
        load: outcome,
        settled,
        settle_wait,
        replays,
        client_cpu,
        runtime_cpu,
        peak_rss,
        data_dir_bytes: data_dir_bytes.transpose().ok().flatten(),
        disk_limit,
    }))
}

fn progress_bar(show: bool, mode: Mode, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let len = match mode {
        Mode::Closed { payments } => payments,
        Mode::Open { rate, duration } => load::open_total(rate, duration),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>6} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}) {msg}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_owned());
    bar
}

fn spinner(show: bool, msg: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_message(msg.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
