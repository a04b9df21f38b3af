//! Wires the whole system into one process: loads `spec/`, opens the database, starts the
//! pipeline stages and the HTTP server, and shuts everything down cleanly.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eventpay_core::{PricingPolicy, SettlementPolicy, SigningKey};
use rust_decimal::Decimal;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::bus::Bus;
use crate::db::{Db, Durability};
use crate::error::{LocalError, SpecError};
use crate::http::{self, AppState, Wakes};
use crate::notify::LocalNotifier;
use crate::processor::Processor;
use crate::queue::QueueConfig;
use crate::spec::{OPENAPI_FILE, Spec};
use crate::store::SqliteStore;
use crate::tasks::{Faults, LocalTasks, template_vars};
use crate::workflow::{Engine, Workflows};
use crate::{forwarder, stage};

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub spec_dir: PathBuf,
    pub quote_ttl: Duration,
    pub per_payment_limit: Decimal,
    pub blocked_accounts: Vec<String>,
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
    pub durability: Durability,
}

pub const PAYMENTS_QUEUE: &str = "eventpay-payments";
pub const PAYMENTS_DLQ: &str = "eventpay-payments-dlq";
const SIGNING_KEY_FILE: &str = "quote-signing.key";

/// Loads and checks `spec/` without starting anything (also what `up` does first).
pub fn load_spec(dir: &Path) -> Result<Spec, SpecError> {
    let spec = Spec::load(dir, &template_vars())?;
    let served: BTreeSet<(String, String)> = http::api::OPERATIONS
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    let file = dir.join(OPENAPI_FILE);
    if let Some((p, m)) = spec.operations.difference(&served).next() {
        return Err(SpecError::new(
            &file,
            format!("$.paths.{p}.{m}"),
            "the local runtime does not serve this operation",
        ));
    }
    if let Some((p, m)) = served.difference(&spec.operations).next() {
        return Err(SpecError::new(
            &file,
            format!("$.paths.{p}"),
            format!("operation {m} is served but not documented"),
        ));
    }
    Ok(spec)
}

/// Runs until `shutdown` completes. `on_listening` receives the bound address.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), LocalError> {
    let spec = load_spec(&config.spec_dir)?;
    let db = Db::open(&config.data_dir, config.durability)?;
    let signing_key = Arc::new(load_or_create_key(&config.data_dir.join(SIGNING_KEY_FILE))?);
    let wakes = Wakes::default();
    let (stop_tx, stop_rx) = watch::channel(false);

    let store = SqliteStore::new(db.clone(), wakes.forwarder.clone());
    let queue = QueueConfig {
        name: PAYMENTS_QUEUE.into(),
        dead_letter_queue: PAYMENTS_DLQ.into(),
        visibility_timeout_ms: config.visibility_timeout.as_millis() as i64,
        max_receive_count: config.max_receive_count,
    };
    let faults = Faults::default();
    let tasks = LocalTasks {
        store: store.clone(),
        notifier: LocalNotifier::new(db.clone()),
        policy: Arc::new(SettlementPolicy {
            per_payment_limit: config.per_payment_limit,
            blocked_accounts: config.blocked_accounts.iter().cloned().collect(),
        }),
        faults: faults.clone(),
    };
    let workflows = Workflows {
        db: db.clone(),
        machine: Arc::new(spec.settlement.clone()),
    };

    let stages = TaskTracker::new();
    {
        let (db, name, wake) = (db.clone(), queue.name.clone(), wakes.processor.clone());
        stages.spawn(stage::run(
            "stream-forwarder",
            wakes.forwarder.clone(),
            stop_rx.clone(),
            move || {
                let (db, name, wake) = (db.clone(), name.clone(), wake.clone());
                async move {
                    let pass = forwarder::forward_batch(&db, &name).await?;
                    if pass.busy {
                        wake.notify_one();
                    }
                    Ok(pass)
                }
            },
        ));
    }
    let processor = Processor {
        db: db.clone(),
        queue: queue.clone(),
        bus: Arc::new(Bus::new(spec.rules.clone())),
        workflows: workflows.clone(),
        workflow_wake: wakes.workflows.clone(),
    };
    stages.spawn(stage::run(
        "processor",
        wakes.processor.clone(),
        stop_rx.clone(),
        move || {
            let p = processor.clone();
            async move { p.process_batch().await }
        },
    ));
    stages.spawn(
        Engine::new(
            workflows,
            Arc::new(tasks),
            wakes.workflows.clone(),
            stop_rx.clone(),
        )
        .run(),
    );
    stages.close();

    let state = AppState {
        db,
        store,
        rates: Arc::new(spec.rates.clone()),
        pricing: Arc::new(PricingPolicy::default()),
        signing_key,
        quote_ttl: chrono::Duration::from_std(config.quote_ttl)
            .unwrap_or(chrono::Duration::minutes(5)),
        queue,
        faults,
        wakes,
    };
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| LocalError::Io(format!("cannot listen on {}: {e}", config.addr)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| LocalError::Io(e.to_string()))?;
    on_listening(bound);
    let served = axum::serve(listener, http::router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
        })
        .await;
    let _ = stop_tx.send(true);
    stages.wait().await;
    served.map_err(|e| LocalError::Io(format!("server: {e}")))
}

/// The quote-signing key lives in the data dir, made on first start (owner-only permissions).
fn load_or_create_key(path: &Path) -> Result<SigningKey, LocalError> {
    let io = |e: std::io::Error| LocalError::Io(format!("signing key {}: {e}", path.display()));
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes: Vec<u8> = (0..2)
                .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
                .collect();
            write_private(path, &bytes).map_err(io)?;
            bytes
        }
        Err(e) => return Err(io(e)),
    };
    SigningKey::new(bytes)
        .map_err(|e| LocalError::Io(format!("signing key {}: {e}", path.display())))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
