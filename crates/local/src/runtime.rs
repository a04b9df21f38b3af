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
use crate::console::SpecView;
use crate::db::{Db, Durability};
use crate::definitions::{Definitions, Version};
use crate::error::{LocalError, SpecError};
use crate::http::edge::{self, EdgeConfig};
use crate::http::guard::Guard;
use crate::http::{self, AppState, Wakes};
use crate::notify::LocalNotifier;
use crate::processor::Processor;
use crate::profile::{self, Part};
use crate::queue::QueueConfig;
use crate::reload::{Current, SpecStatus, Targets};
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
    /// The HTTP edge: timeouts, connection cap, shutdown grace, allowed hosts, token.
    pub edge: EdgeConfig,
    /// Reload `spec/` when a file changes (`--watch`, see [`crate::reload`]).
    pub watch: bool,
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
    reload: Targets,
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
        let version = Version::new(&spec.settlement_text, spec.settlement.clone());
        let spec_status = Current::new(SpecStatus {
            watching: config.watch,
            generation: 0,
            files: crate::console::spec_files(&config.spec_dir),
            state_machine_version: version.digest.to_string(),
            error: None,
        });
        let workflows = Workflows::new(
            db.clone(),
            Definitions::new(db.clone(), version),
            wakes.processor.clone(),
        );
        let rules = Current::new(Bus::new(spec.rules.clone()));
        let rates = Current::new(spec.rates.clone());
        let processor = Processor {
            db: db.clone(),
            queue: queue.clone(),
            bus: rules.clone(),
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
            ledger: crate::ledger::SqliteLedger::new(db.clone()),
            rates: rates.clone(),
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
        let console_spec = Current::new(SpecView::of(&spec, &config.spec_dir));
        let (live, sampler) = crate::console::Live::new(db.clone(), queue.clone());
        let console = crate::console::Console {
            db: db.clone(),
            store: store.clone(),
            queue: queue.clone(),
            spec: console_spec.clone(),
            spec_status: spec_status.clone(),
            definitions: workflows.definitions().clone(),
            data_dir: config.data_dir.clone(),
            durability: config.durability,
            live,
        };
        let spec_dir = config.spec_dir.clone();
        let reload = Targets {
            rules,
            rates,
            definitions: workflows.definitions().clone(),
            status: spec_status,
            on_applied: Arc::new(move |spec: &Spec| {
                console_spec.set(SpecView::of(spec, &spec_dir));
            }),
        };
        Ok(Runtime {
            console: (console, sampler),
            reload,
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
    /// the server (see `crate::http::edge`), lets each stage finish its step, and returns. `on_listening` receives the
    /// bound address.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        on_listening: impl FnOnce(SocketAddr),
    ) -> Result<(), LocalError> {
        // Recorded before any execution can start on it (each names its version).
        let definitions = self.workflows.definitions();
        definitions.publish(definitions.current()).await?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let stages = self.start_stages(&stop_rx);
        if self.config.watch {
            stages.spawn(crate::reload::watch_spec(
                self.config.spec_dir.clone(),
                Duration::from_secs(1),
                self.reload.clone(),
                stop_rx.clone(),
            ));
        }
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
        let edge_config = &self.config.edge;
        let guard = Guard::new(&edge_config.allowed_hosts, edge_config.token.clone());
        let app = edge::layers(
            crate::console::app(
                http::router(self.app, &guard).route(OPENAPI_ROUTE, openapi_route(self.openapi)),
                console,
                guard,
            ),
            edge_config,
        );
        edge::serve(listener, app, edge_config, async move {
            shutdown.await;
            // Ends the console's live streams, which would otherwise hold the shutdown.
            let _ = closing_tx.send(true);
            tracing::info!("shutting down");
        })
        .await;
        let _ = stop_tx.send(true);
        stages.wait().await;
        Ok(())
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
