//! The workflow engine (Step Functions on AWS): runs executions of the settlement state machine
//! with the `states` interpreter. Every step's new execution state and its history events commit
//! in one transaction, so a restarted process resumes each running execution where it stopped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use eventpay_states::{Execution, ExecutionStatus, HistoryEvent, StateMachine, TaskInvoker};
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio_util::task::TaskTracker;

use crate::db::Db;
use crate::error::LocalError;
use crate::stage::{self, Pass};
use crate::tasks::{ACCOUNT, REGION};

pub const STATE_MACHINE_NAME: &str = "eventpay-settlement";

pub fn state_machine_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}")
}

pub fn execution_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE_NAME}:{name}")
}

#[derive(Clone)]
pub struct Workflows {
    pub db: Db,
    pub machine: Arc<StateMachine>,
}

fn status_text(status: ExecutionStatus) -> Result<String, LocalError> {
    match serde_json::to_value(status)? {
        Value::String(s) => Ok(s),
        other => Err(LocalError::Corrupt(format!("unexpected status {other}"))),
    }
}

fn insert_history(
    tx: &Transaction<'_>,
    arn: &str,
    events: &[HistoryEvent],
) -> Result<(), LocalError> {
    for ev in events {
        tx.execute(
            "INSERT OR REPLACE INTO history (execution_arn, id, event) VALUES (?1, ?2, ?3)",
            params![arn, ev.id as i64, serde_json::to_string(ev)?],
        )?;
    }
    Ok(())
}

impl Workflows {
    /// Starts an execution named `name` inside the caller's transaction. Like StartExecution
    /// with an existing name and the same input, a repeated start is a no-op (returns false).
    pub fn start_in(
        &self,
        tx: &Transaction<'_>,
        name: &str,
        input: Value,
    ) -> Result<bool, LocalError> {
        let exists: Option<i64> = tx
            .query_row(
                "SELECT seq FROM executions WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Ok(false);
        }
        let arn = execution_arn(name);
        let now = chrono::Utc::now();
        let (execution, events) = Execution::start(
            &self.machine,
            &arn,
            name,
            &state_machine_arn(),
            input.clone(),
            now,
        );
        tx.execute(
            "INSERT INTO executions (execution_arn, name, state_machine_arn, status, input, start_date, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                arn,
                name,
                state_machine_arn(),
                status_text(execution.status())?,
                input.to_string(),
                now.to_rfc3339(),
                serde_json::to_string(&execution)?
            ],
        )?;
        insert_history(tx, &arn, &events)?;
        Ok(true)
    }
}

/// Runs every RUNNING execution, one task per execution, until shutdown.
pub struct Engine {
    pub workflows: Workflows,
    pub tasks: Arc<dyn TaskInvoker>,
    pub wake: Arc<Notify>,
    pub shutdown: watch::Receiver<bool>,
    active: Arc<Mutex<HashSet<String>>>,
}

impl Engine {
    pub fn new(
        workflows: Workflows,
        tasks: Arc<dyn TaskInvoker>,
        wake: Arc<Notify>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Engine {
            workflows,
            tasks,
            wake,
            shutdown,
            active: Arc::default(),
        }
    }

    pub async fn run(self) {
        let engine = Arc::new(self);
        let runners = TaskTracker::new();
        let e = engine.clone();
        let set = runners.clone();
        stage::run(
            "workflow-engine",
            engine.wake.clone(),
            engine.shutdown.clone(),
            move || {
                let e = e.clone();
                let set = set.clone();
                async move { e.spawn_running(&set).await }
            },
        )
        .await;
        runners.close();
        runners.wait().await;
    }

    async fn spawn_running(self: &Arc<Self>, runners: &TaskTracker) -> Result<Pass, LocalError> {
        let arns: Vec<String> = self
            .workflows
            .db
            .read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT execution_arn FROM executions WHERE status = 'RUNNING' ORDER BY seq",
                )?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await?;
        for arn in arns {
            let fresh = self
                .active
                .lock()
                .map_err(|_| LocalError::Poisoned)?
                .insert(arn.clone());
            if fresh {
                let me = self.clone();
                runners.spawn(async move {
                    if let Err(e) = me.drive(&arn).await {
                        tracing::error!(execution = %arn, error = %e, "execution runner failed; it resumes on the next wake-up");
                    }
                    if let Ok(mut active) = me.active.lock() {
                        active.remove(&arn);
                    }
                });
            }
        }
        Ok(Pass::busy(false))
    }

    /// Steps one execution to its end, persisting after every step.
    async fn drive(&self, arn: &str) -> Result<(), LocalError> {
        let owned = arn.to_owned();
        let state: String = self
            .workflows
            .db
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT state FROM executions WHERE execution_arn = ?1",
                    params![owned],
                    |r| r.get(0),
                )?)
            })
            .await?;
        let mut execution: Execution = serde_json::from_str(&state)?;
        let mut shutdown = self.shutdown.clone();
        while execution.status() == ExecutionStatus::Running {
            if *shutdown.borrow() {
                return Ok(());
            }
            if let Some(at) = execution.wake_at() {
                let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stage::stopped(&mut shutdown) => return Ok(()),
                }
            }
            let events = tokio::select! {
                events = execution.step(&self.workflows.machine, self.tasks.as_ref(), chrono::Utc::now()) => events,
                // An interrupted step is re-run from the last persisted state after restart;
                // the task handlers are idempotent.
                _ = stage::stopped(&mut shutdown) => return Ok(()),
            };
            self.persist(arn, &execution, events).await?;
        }
        Ok(())
    }

    async fn persist(
        &self,
        arn: &str,
        execution: &Execution,
        events: Vec<HistoryEvent>,
    ) -> Result<(), LocalError> {
        let arn = arn.to_owned();
        let status = status_text(execution.status())?;
        let state = serde_json::to_string(execution)?;
        let stop = (execution.status() != ExecutionStatus::Running)
            .then(|| chrono::Utc::now().to_rfc3339());
        self.workflows
            .db
            .write(move |tx| {
                tx.execute(
                    "UPDATE executions SET status = ?1, state = ?2, stop_date = ?3 WHERE execution_arn = ?4",
                    params![status, state, stop, arn],
                )?;
                insert_history(tx, &arn, &events)
            })
            .await
    }
}
