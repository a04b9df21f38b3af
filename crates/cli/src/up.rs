//! `eventpay up`: flags and environment for the local runtime, logging, and signal handling.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use eventpay_local::http::edge::{EdgeConfig, start_up_token};
use eventpay_local::{Config, Durability, LocalError, Retention};
use rust_decimal::Decimal;

#[derive(Args)]
pub struct UpArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "EVENTPAY_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Where the SQLite database and the quote-signing key live.
    #[arg(long, env = "EVENTPAY_DATA_DIR", default_value = ".eventpay")]
    data_dir: PathBuf,
    /// The spec/ directory (OpenAPI, rules, state machine, rates) — the files Terraform deploys.
    #[arg(long, env = "EVENTPAY_SPEC_DIR")]
    spec_dir: Option<PathBuf>,
    /// How long a quote stays valid, in seconds.
    #[arg(long, env = "EVENTPAY_QUOTE_TTL_SECS", default_value_t = 300)]
    quote_ttl_secs: u64,
    /// Payments worth more than this in the base currency (spec/rates.json's `base`) are REJECTED.
    #[arg(long, env = "EVENTPAY_PAYMENT_LIMIT", default_value = "50000.00")]
    payment_limit: Decimal,
    /// Beneficiary accounts whose payments are REJECTED (comma-separated).
    #[arg(long, env = "EVENTPAY_BLOCKED_ACCOUNTS", value_delimiter = ',')]
    blocked_accounts: Vec<String>,
    /// The payments queue's visibility timeout, in seconds.
    #[arg(long, env = "EVENTPAY_VISIBILITY_TIMEOUT_SECS", default_value_t = 30)]
    visibility_timeout_secs: u64,
    /// Receives before a message moves to the dead-letter queue (SQS maxReceiveCount).
    #[arg(long, env = "EVENTPAY_MAX_RECEIVE_COUNT", default_value_t = 5)]
    max_receive_count: u32,
    /// `normal` survives a crash of the process; `full` also survives power loss (slower commits).
    #[arg(long, env = "EVENTPAY_DURABILITY", value_enum, default_value_t = DurabilityArg::Normal)]
    durability: DurabilityArg,
    /// Hours a change-stream record is kept after it was forwarded (DynamoDB Streams: 24).
    #[arg(long, env = "EVENTPAY_STREAM_RETENTION_HOURS", default_value_t = 24)]
    stream_retention_hours: u64,
    /// Days a finished execution and its history are kept (Standard workflows: 90).
    #[arg(long, env = "EVENTPAY_HISTORY_RETENTION_DAYS", default_value_t = 90)]
    history_retention_days: u64,
    /// Days an audit-log entry is kept (the log group's retention on AWS).
    #[arg(long, env = "EVENTPAY_AUDIT_RETENTION_DAYS", default_value_t = 30)]
    audit_retention_days: u64,
    /// Seconds between passes of the stuck-payment sweeper (it also runs once at start-up).
    #[arg(long, env = "EVENTPAY_SWEEP_EVERY_SECS", default_value_t = 30)]
    sweep_every_secs: u64,
    /// Seconds an accepted payment may go without a settlement execution, nothing in flight
    /// for it, before the sweeper counts it stuck.
    #[arg(long, env = "EVENTPAY_STUCK_AFTER_SECS", default_value_t = 60)]
    stuck_after_secs: u64,
    /// Seconds a client has to send a request's head; also how long an idle keep-alive
    /// connection is kept (hyper runs one timer for both).
    #[arg(long, env = "EVENTPAY_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a request body may go without sending data (then 408).
    #[arg(long, env = "EVENTPAY_BODY_TIMEOUT_SECS", default_value_t = 10)]
    body_timeout_secs: u64,
    /// Seconds one request may take, reading its body included (then 408).
    #[arg(long, env = "EVENTPAY_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// Open connections at most; further ones wait in the listen backlog until one closes.
    #[arg(long, env = "EVENTPAY_MAX_CONNECTIONS", default_value_t = 512)]
    max_connections: usize,
    /// Seconds shutdown waits for in-flight requests before closing their connections.
    #[arg(long, env = "EVENTPAY_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// A name accepted as `Host` besides the bound address, IP literals and localhost
    /// (repeatable, or comma-separated); other names are refused against DNS rebinding.
    #[arg(
        long = "allowed-host",
        env = "EVENTPAY_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// The token the console and `/_local/` writes require (header x-eventpay-token). Made up
    /// and printed at start-up when --addr is not a loopback address.
    #[arg(long, env = "EVENTPAY_TOKEN")]
    token: Option<String>,
    /// Reload spec/ when a file changes: new work uses the new rules, rates and state machine,
    /// running executions finish on the version they started with; a broken edit is refused
    /// (file and path logged) and the running configuration keeps serving.
    #[arg(long, env = "EVENTPAY_WATCH")]
    watch: bool,
    /// Fault injection for `eventpay simulate` (hidden): `seed=S,crash_after=N,duplicates=P,
    /// reorder=B,deliveries=P,task_failures=P,task_timeouts=P` (see crates/local/src/chaos.rs).
    #[arg(long, hide = true)]
    chaos: Option<eventpay_local::chaos::ChaosConfig>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "EVENTPAY_LOG_JSON")]
    log_json: bool,
    /// Log warnings only: no line per request, no flow summary (RUST_LOG still wins).
    #[arg(long, env = "EVENTPAY_QUIET")]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DurabilityArg {
    Normal,
    Full,
}

/// Where spec/ is when not given: ./spec, else the one in the source tree this binary was built from.
fn default_spec_dir() -> PathBuf {
    let here = PathBuf::from("spec");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec"))
}

fn edge_config(args: &UpArgs) -> EdgeConfig {
    let secs = |s: u64| Duration::from_secs(s.max(1));
    EdgeConfig {
        header_timeout: secs(args.header_timeout_secs),
        body_timeout: secs(args.body_timeout_secs),
        request_timeout: secs(args.request_timeout_secs),
        max_connections: args.max_connections.max(1),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        allowed_hosts: args
            .allowed_hosts
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect(),
        token: start_up_token(args.addr, args.token.clone().filter(|t| !t.is_empty())),
    }
}

pub async fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_json, args.quiet);
    if args.payment_limit <= Decimal::ZERO {
        anyhow::bail!("--payment-limit must be positive");
    }
    let edge = edge_config(&args);
    if let Some(chaos) = args.chaos {
        eventpay_local::chaos::install(chaos);
    }
    let config = Config {
        addr: args.addr,
        data_dir: args.data_dir,
        spec_dir: args.spec_dir.unwrap_or_else(default_spec_dir),
        quote_ttl: Duration::from_secs(args.quote_ttl_secs),
        per_payment_limit: args.payment_limit,
        blocked_accounts: args
            .blocked_accounts
            .into_iter()
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect(),
        visibility_timeout: Duration::from_secs(args.visibility_timeout_secs.max(1)),
        max_receive_count: args.max_receive_count.max(1),
        durability: match args.durability {
            DurabilityArg::Normal => Durability::Normal,
            DurabilityArg::Full => Durability::Full,
        },
        retention: Retention {
            stream: Duration::from_secs(args.stream_retention_hours.saturating_mul(3600)),
            history: Duration::from_secs(args.history_retention_days.saturating_mul(86_400)),
            audit: Duration::from_secs(args.audit_retention_days.saturating_mul(86_400)),
        },
        sweep_every: Duration::from_secs(args.sweep_every_secs.max(1)),
        stuck_after: Duration::from_secs(args.stuck_after_secs),
        edge,
        watch: args.watch,
    };
    let data_dir = config.data_dir.clone();
    let banner = Banner::of(&config);
    let result = eventpay_local::run(config, shutdown_signal(), |addr| {
        println!(
            "eventpay listening on http://{addr} (data in {})",
            data_dir.display()
        );
        banner.print(addr);
    })
    .await;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(LocalError::Spec(e)) => {
            eprintln!("eventpay: cannot start: broken spec file: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e).context("eventpay up failed"),
    }
}

/// What `up` runs, printed once it listens (on stderr: stdout carries the one listening line
/// scripts read).
struct Banner {
    data_dir: PathBuf,
    spec_dir: PathBuf,
    spec_files: Vec<String>,
    durability: &'static str,
    token: Option<String>,
    watch: bool,
}

impl Banner {
    fn of(config: &Config) -> Banner {
        let list = |dir: &std::path::Path, prefix: &str| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .map(|e| format!("{prefix}{}", e.file_name().to_string_lossy()))
                .collect();
            names.sort();
            names
        };
        let mut spec_files = list(&config.spec_dir, "");
        spec_files.extend(list(&config.spec_dir.join("rules"), "rules/"));
        Banner {
            data_dir: config.data_dir.clone(),
            spec_dir: config.spec_dir.clone(),
            spec_files,
            durability: match config.durability {
                Durability::Normal => "normal (survives a crash of the process)",
                Durability::Full => "full (survives power loss)",
            },
            token: config.edge.token.clone(),
            watch: config.watch,
        }
    }

    fn print(&self, addr: SocketAddr) {
        eprintln!(
            "  API        http://{addr}/  (document at http://{addr}/openapi.yaml)\n  console    http://{addr}/console/\n  data dir   {}\n  durability {}\n  spec       {}: {}",
            self.data_dir.display(),
            self.durability,
            self.spec_dir.display(),
            self.spec_files.join(", ")
        );
        if self.watch {
            eprintln!(
                "  watching   spec/ (reloaded on change; running executions keep their version)"
            );
        }
        if let Some(token) = &self.token {
            eprintln!(
                "  token      {token}  (console: http://{addr}/console/?token={token}; /_local/ writes: header x-eventpay-token)"
            );
        }
    }
}

fn init_logging(json: bool, quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
