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
use crate::profile::{self, Part};
use crate::queue::QueueConfig;
use crate::retention::{self, Retention};
use crate::spec::{OPENAPI_FILE, Spec};
use crate::store::SqliteStore;
use crate::sweeper::{self, Sweeper};
use crate::tasks::{Faults, LocalTasks, template_vars};
use crate::workflow::Workflows;
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
    pub retention: Retention,
    /// How often the stuck-payment sweeper runs (also once at start-up).
    pub sweep_every: Duration,
    /// How long an accepted payment may be without an execution, nothing in flight.
    pub stuck_after: Duration,
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

/// The whole system, built and not yet running: the database, the pipeline's stages and the
/// HTTP server's state, wired together here and nowhere else.
pub struct Runtime {
    config: Config,
    db: Db,
    wakes: Wakes,
    queue: QueueConfig,
    processor: Processor,
    workflows: Workflows,
    tasks: Arc<LocalTasks>,
    app: AppState,
    console: (crate::console::Console, crate::console::Sampler),
    table_id: Arc<str>,
    sweeper: Sweeper,
    /// The OpenAPI document as loaded from `spec/`, served at [`OPENAPI_ROUTE`].
    openapi: Arc<str>,
}

/// Where the runtime serves its OpenAPI document (e.g. for schemathesis, scripts/test-api).
pub const OPENAPI_ROUTE: &str = "/openapi.yaml";

impl Runtime {
    pub fn build(config: Config) -> Result<Runtime, LocalError> {
        let spec = load_spec(&config.spec_dir)?;
        let db = Db::open(&config.data_dir, config.durability)?;
        let signing_key = Arc::new(load_or_create_key(&config.data_dir.join(SIGNING_KEY_FILE))?);
        let wakes = Wakes::default();
        let table_id: Arc<str> = db.read_now(crate::stream::table_id)?.into();
        let store = SqliteStore::new(db.clone(), wakes.forwarder.clone());
        let queue = QueueConfig {
            name: PAYMENTS_QUEUE.into(),
            dead_letter_queue: PAYMENTS_DLQ.into(),
            visibility_timeout_ms: config.visibility_timeout.as_millis() as i64,
            max_receive_count: config.max_receive_count,
        };
        let faults = Faults::default();
        let tasks = Arc::new(LocalTasks {
            store: store.clone(),
            notifier: LocalNotifier::new(db.clone()),
            policy: Arc::new(SettlementPolicy {
                per_payment_limit: config.per_payment_limit,
                blocked_accounts: config.blocked_accounts.iter().cloned().collect(),
            }),
            faults: faults.clone(),
        });
        let workflows = Workflows::new(
            db.clone(),
            Arc::new(spec.settlement.clone()),
            wakes.processor.clone(),
        );
        let processor = Processor {
            db: db.clone(),
            queue: queue.clone(),
            bus: Arc::new(Bus::new(spec.rules.clone())),
            workflows: workflows.clone(),
            table_id: table_id.clone(),
        };
        let sweeper = Sweeper::new(sweeper::Parts {
            db: db.clone(),
            store: store.clone(),
            notifier: LocalNotifier::new(db.clone()),
            table_id: table_id.clone(),
            queue: queue.name.clone(),
            every: config.sweep_every,
            stuck_after: config.stuck_after,
        });
        let app = AppState {
            db: db.clone(),
            store: store.clone(),
            rates: Arc::new(spec.rates.clone()),
            pricing: Arc::new(PricingPolicy::default()),
            signing_key,
            quote_ttl: chrono::Duration::from_std(config.quote_ttl)
                .unwrap_or(chrono::Duration::minutes(5)),
            queue: queue.clone(),
            faults,
            wakes: wakes.clone(),
            workflows: workflows.clone(),
            sweeper: sweeper.clone(),
        };
        let console = crate::console::Console::new(
            db.clone(),
            store.clone(),
            queue.clone(),
            &spec,
            &config.spec_dir,
            &config.data_dir,
            config.durability,
        );
        Ok(Runtime {
            console,
            config,
            db,
            wakes,
            queue,
            processor,
            workflows,
            tasks,
            app,
            table_id,
            sweeper,
            openapi: spec.openapi.clone(),
        })
    }

    /// Runs until `shutdown` completes: starts every stage, then serves HTTP; on shutdown stops
    /// the server, lets each stage finish its step, and returns. `on_listening` receives the
    /// bound address.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        on_listening: impl FnOnce(SocketAddr),
    ) -> Result<(), LocalError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stages = self.start_stages(&stop_rx);
        let (console, sampler) = self.console;
        let (closing_tx, closing_rx) = watch::channel(false);
        stages.spawn(sampler.run(closing_rx));
        let listener = tokio::net::TcpListener::bind(self.config.addr)
            .await
            .map_err(|e| LocalError::Io(format!("cannot listen on {}: {e}", self.config.addr)))?;
        let bound = listener
            .local_addr()
            .map_err(|e| LocalError::Io(e.to_string()))?;
        on_listening(bound);
        let api = http::router(self.app).route(OPENAPI_ROUTE, openapi_route(self.openapi));
        let app = crate::console::app(api, console, bound);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                // Ends the console's live streams, which would otherwise hold the shutdown.
                let _ = closing_tx.send(true);
                tracing::info!("shutting down");
            })
            .await;
        let _ = stop_tx.send(true);
        stages.wait().await;
        served.map_err(|e| LocalError::Io(format!("server: {e}")))
    }

    /// Every pipeline stage as a task: each does a batch of work per pass and sleeps until woken
    /// by the stage upstream (or its own timer), until `stop`.
    fn start_stages(&self, stop: &watch::Receiver<bool>) -> TaskTracker {
        let stages = TaskTracker::new();
        let (db, queue, to_processor, table_id) = (
            self.db.clone(),
            self.queue.name.clone(),
            self.wakes.processor.clone(),
            self.table_id.clone(),
        );
        stages.spawn(stage::run(
            "stream-forwarder",
            self.wakes.forwarder.clone(),
            stop.clone(),
            move || {
                let (db, queue, to_processor, table_id) = (
                    db.clone(),
                    queue.clone(),
                    to_processor.clone(),
                    table_id.clone(),
                );
                async move {
                    let pass = forwarder::forward_batch(&db, &queue, &table_id).await?;
                    if pass.busy {
                        to_processor.notify_one();
                    }
                    Ok(pass)
                }
            },
        ));
        let processor = self.processor.clone();
        stages.spawn(stage::run(
            "processor",
            self.wakes.processor.clone(),
            stop.clone(),
            move || {
                let p = processor.clone();
                profile::timed(Part::Processor, async move { p.process_batch().await })
            },
        ));
        let (db, keep) = (self.db.clone(), self.config.retention);
        stages.spawn(stage::run(
            "retention",
            Arc::default(),
            stop.clone(),
            move || {
                let db = db.clone();
                async move { retention::prune(&db, keep).await }
            },
        ));
        let sweeper = self.sweeper.clone();
        stages.spawn(stage::run(
            "sweeper",
            Arc::default(),
            stop.clone(),
            move || {
                let sweeper = sweeper.clone();
                async move { sweeper.pass().await }
            },
        ));
        let tasks: Arc<dyn eventpay_states::TaskInvoker> = self.tasks.clone();
        stages.spawn(self.workflows.clone().run(tasks, stop.clone()));
        stages.close();
        stages
    }
}

/// Builds the runtime and runs it until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), LocalError> {
    Runtime::build(config)?.run(shutdown, on_listening).await
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

/// `GET /openapi.yaml`: the document the operations were checked against at start-up.
fn openapi_route(doc: Arc<str>) -> axum::routing::MethodRouter {
    axum::routing::get(move || {
        let doc = doc.clone();
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/yaml")],
                doc.to_string(),
            )
        }
    })
}
