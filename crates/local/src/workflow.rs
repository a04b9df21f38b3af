//! The workflow engine (Step Functions on AWS): runs executions of the settlement state machine
//! with the `states` interpreter. Runnable executions wait in a ready list (fed by starts, by
//! finished steps and by timers); a bounded set of workers takes many at a time, steps them
//! concurrently and persists all their steps in one write, which the group-commit writer joins
//! with everything else in flight. Executions waiting on a Retry interval or a Wait state sit in
//! one timer heap, not in a task each. The cost is per step of work, never per RUNNING row.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use eventpay_states::{ExecutionStatus, HistoryEvent, StateMachine, TaskInvoker};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::db::Db;
use crate::definitions::Definitions;
use crate::error::LocalError;
use crate::executions::{self, Live, NewExecution, NotRedriven, StepWrite};
use crate::profile::{self, Part};
use crate::stage;

/// Workers stepping executions; each takes up to [`BATCH`] per pass.
const WORKERS: usize = 4;
const BATCH: usize = 256;
/// Executions held in memory at most, before the processor stops starting new ones (the
/// messages wait on the queue, on disk, as they would on SQS): keeps memory flat under any
/// backlog.
pub const MAX_IN_MEMORY: usize = 4096;
/// Steps of pure states (Choice, Pass, ...) run back to back before a persist is forced.
const MAX_PURE_RUN: usize = 64;

/// Event types of steps without side effects: such a step may be run again after a crash, so
/// it is persisted together with the next step instead of alone.
const PURE_EVENTS: [&str; 9] = [
    "ChoiceStateEntered",
    "ChoiceStateExited",
    "PassStateEntered",
    "PassStateExited",
    "SucceedStateEntered",
    "SucceedStateExited",
    "FailStateEntered",
    "ExecutionSucceeded",
    "ExecutionFailed",
];

/// Counters of the engine, for `/_local/` and the benchmark's profile.
#[derive(Debug, Default, Serialize)]
pub struct EngineFigures {
    pub started: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub steps: AtomicU64,
    pub persists: AtomicU64,
    pub passes: AtomicU64,
    pub in_memory: AtomicUsize,
}

#[derive(Default)]
struct Timers {
    due: BinaryHeap<Reverse<(i64, i64)>>,
    parked: HashMap<i64, Live>,
}

struct Shared {
    db: Db,
    definitions: Definitions,
    ready: Mutex<VecDeque<Live>>,
    ready_wake: Notify,
    timers: Mutex<Timers>,
    timer_wake: Notify,
    /// Woken when memory has room again: the processor starts executions again.
    room_wake: Arc<Notify>,
    /// Set when a start was declined for lack of room; cleared when the room wake fires.
    paused: AtomicBool,
    figures: EngineFigures,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent (plain pushes and pops).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The engine's handle for the rest of the runtime: prepare and submit starts, read figures.
#[derive(Clone)]
pub struct Workflows {
    shared: Arc<Shared>,
}

impl Workflows {
    pub fn new(db: Db, definitions: Definitions, room_wake: Arc<Notify>) -> Self {
        Workflows {
            shared: Arc::new(Shared {
                db,
                definitions,
                ready: Mutex::default(),
                ready_wake: Notify::new(),
                timers: Mutex::default(),
                timer_wake: Notify::new(),
                room_wake,
                paused: AtomicBool::new(false),
                figures: EngineFigures::default(),
            }),
        }
    }

    /// The state machine versions: the live one new executions start on, and the others.
    pub fn definitions(&self) -> &Definitions {
        &self.shared.definitions
    }

    /// Builds a start (outside the writer); insert it with [`NewExecution::insert`] inside the
    /// transaction that consumes its trigger, then [`Workflows::submit`] what was inserted.
    pub fn prepare(&self, name: &str, input: Value) -> Result<NewExecution, LocalError> {
        NewExecution::build(&self.shared.definitions.current(), name, input)
    }

    /// Hands committed starts to the engine.
    pub fn submit(&self, started: Vec<Live>) {
        let n = started.len();
        if n == 0 {
            return;
        }
        self.shared
            .figures
            .started
            .fetch_add(n as u64, Ordering::Relaxed);
        self.shared
            .figures
            .in_memory
            .fetch_add(n, Ordering::Relaxed);
        lock(&self.shared.ready).extend(started);
        self.shared.ready_wake.notify_one();
    }

    /// RedriveExecution: persists the stored execution's redrive (back to RUNNING from the
    /// state where it stopped) and puts it on the ready list; answers its redrive date.
    pub async fn redrive(
        &self,
        id: &str,
    ) -> Result<Result<chrono::DateTime<chrono::Utc>, NotRedriven>, LocalError> {
        let (definitions, id, now) = (
            self.shared.definitions.clone(),
            id.to_owned(),
            chrono::Utc::now(),
        );
        let redriven = self
            .shared
            .db
            .write(move |tx| executions::redrive(tx, &definitions, &id, now))
            .await?;
        Ok(redriven.map(|live| {
            // Finished executions are not in memory (`route` let them go), so this is its only copy.
            self.shared
                .figures
                .in_memory
                .fetch_add(1, Ordering::Relaxed);
            self.shared.route(live);
            now
        }))
    }

    /// Whether new executions may be started now (memory is bounded). If not, the room wake
    /// fires once the engine has worked the backlog down to half.
    pub fn has_room(&self) -> bool {
        let room = self.shared.figures.in_memory.load(Ordering::Relaxed) < MAX_IN_MEMORY;
        if !room {
            self.shared.paused.store(true, Ordering::Relaxed);
        }
        room
    }

    pub fn figures(&self) -> &EngineFigures {
        &self.shared.figures
    }

    /// Runs the engine until `shutdown`: resumes the RUNNING executions of the database once,
    /// then serves the ready list with the workers and the timer heap with one task.
    pub async fn run(self, tasks: Arc<dyn TaskInvoker>, shutdown: watch::Receiver<bool>) {
        match self.shared.db.read(executions::running).await {
            Ok(resumed) => {
                if !resumed.is_empty() {
                    tracing::info!(executions = resumed.len(), "resuming running executions");
                }
                let n = resumed.len();
                self.shared
                    .figures
                    .in_memory
                    .fetch_add(n, Ordering::Relaxed);
                for live in resumed {
                    self.shared.route(live);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot load running executions"),
        }
        let mut all = JoinSet::new();
        for _ in 0..WORKERS {
            let (shared, tasks, stop) = (self.shared.clone(), tasks.clone(), shutdown.clone());
            all.spawn(async move { shared.work(tasks, stop).await });
        }
        let (shared, stop) = (self.shared.clone(), shutdown.clone());
        all.spawn(async move { shared.fire_timers(stop).await });
        while all.join_next().await.is_some() {}
        tracing::info!(stage = "workflow-engine", "stopped");
    }
}

impl Shared {
    /// Puts an execution where it belongs after a persisted step: ready, parked on a timer,
    /// or done.
    fn route(&self, live: Live) {
        let execution = &live.execution;
        if execution.status() != ExecutionStatus::Running {
            let counter = match execution.status() {
                ExecutionStatus::Succeeded => &self.figures.succeeded,
                _ => &self.figures.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let before = self.figures.in_memory.fetch_sub(1, Ordering::Relaxed);
            if before <= MAX_IN_MEMORY / 2 && self.paused.swap(false, Ordering::Relaxed) {
                self.room_wake.notify_one();
            }
            return;
        }
        match execution.wake_at() {
            Some(at) if at > chrono::Utc::now() => {
                let mut timers = lock(&self.timers);
                timers.due.push(Reverse((at.timestamp_millis(), live.seq)));
                timers.parked.insert(live.seq, live);
                drop(timers);
                self.timer_wake.notify_one();
            }
            _ => {
                lock(&self.ready).push_back(live);
                self.ready_wake.notify_one();
            }
        }
    }

    async fn take(&self) -> Vec<Live> {
        loop {
            let notified = self.ready_wake.notified();
            {
                let mut ready = lock(&self.ready);
                if !ready.is_empty() {
                    let n = ready.len().min(BATCH);
                    let batch: Vec<Live> = ready.drain(..n).collect();
                    if !ready.is_empty() {
                        // Others may take the rest at once.
                        self.ready_wake.notify_one();
                    }
                    return batch;
                }
            }
            notified.await;
        }
    }

    async fn work(
        self: Arc<Self>,
        tasks: Arc<dyn TaskInvoker>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let batch = tokio::select! {
                batch = self.take() => batch,
                _ = stage::stopped(&mut shutdown) => return,
            };
            // An interrupted pass is re-run from the last persisted state after a restart;
            // the task handlers are idempotent.
            tokio::select! {
                _ = self.pass(batch, &tasks) => {}
                _ = stage::stopped(&mut shutdown) => return,
            }
        }
    }

    /// Steps every execution of the batch concurrently, persists all of their steps in one
    /// write, then routes each on.
    async fn pass(&self, batch: Vec<Live>, tasks: &Arc<dyn TaskInvoker>) {
        self.figures.passes.fetch_add(1, Ordering::Relaxed);
        let mut running = JoinSet::new();
        for live in batch {
            // Each on the version it started with: a reload applies to new executions only.
            let machine = self.definitions.machine(live.definition.as_deref());
            let tasks = tasks.clone();
            running.spawn(profile::timed(Part::Workflow, async move {
                advance(&machine, tasks.as_ref(), live).await
            }));
        }
        let mut stepped = Vec::new();
        while let Some(joined) = running.join_next().await {
            match joined {
                Ok(done) => stepped.push(done),
                // The execution stays RUNNING in the database and resumes after a restart.
                Err(e) => tracing::error!(error = %e, "an execution step panicked"),
            }
        }
        let seqs: Vec<i64> = stepped.iter().map(|(live, _)| live.seq).collect();
        match self.persist(&stepped).await {
            Ok(()) => {
                for (live, _) in stepped {
                    self.route(live);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, executions = seqs.len(), "cannot persist steps; re-running them from their last persisted state");
                tokio::time::sleep(Duration::from_millis(500)).await;
                self.reload(seqs).await;
            }
        }
    }

    async fn persist(&self, stepped: &[(Live, Vec<HistoryEvent>)]) -> Result<(), LocalError> {
        let mut writes = Vec::with_capacity(stepped.len());
        for (live, events) in stepped {
            self.figures
                .steps
                .fetch_add(events.len() as u64, Ordering::Relaxed);
            if let Some(w) = StepWrite::prepare(live, events)? {
                writes.push(w);
            }
        }
        if writes.is_empty() {
            return Ok(());
        }
        self.figures
            .persists
            .fetch_add(writes.len() as u64, Ordering::Relaxed);
        self.db
            .write(move |tx| {
                for w in &writes {
                    w.apply(tx)?;
                }
                Ok(())
            })
            .await
    }

    async fn reload(&self, seqs: Vec<i64>) {
        let n = seqs.len();
        match self.db.read(move |c| executions::load(c, &seqs)).await {
            Ok(lives) => {
                let lost = n - lives.len();
                self.figures.in_memory.fetch_sub(lost, Ordering::Relaxed);
                for live in lives {
                    self.route(live);
                }
            }
            Err(e) => {
                // They stay RUNNING in the database and resume after a restart.
                tracing::error!(error = %e, "cannot reload executions");
                self.figures.in_memory.fetch_sub(n, Ordering::Relaxed);
            }
        }
    }

    /// Moves parked executions to the ready list when their timer is due.
    async fn fire_timers(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let notified = self.timer_wake.notified();
            let next = {
                let now = chrono::Utc::now().timestamp_millis();
                let mut timers = lock(&self.timers);
                let mut due = Vec::new();
                while let Some(Reverse((at, seq))) = timers.due.peek().copied() {
                    if at > now {
                        break;
                    }
                    timers.due.pop();
                    if let Some(live) = timers.parked.remove(&seq) {
                        due.push(live);
                    }
                }
                let next = timers.due.peek().map(|Reverse((at, _))| *at - now);
                drop(timers);
                if !due.is_empty() {
                    lock(&self.ready).extend(due);
                    self.ready_wake.notify_one();
                }
                next
            };
            let wait = next.map_or(Duration::from_secs(3600), |ms| {
                Duration::from_millis(ms.max(1) as u64)
            });
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stage::stopped(&mut shutdown) => return,
            }
        }
    }
}

/// Runs steps of one execution until one had side effects (a Task, a Wait, a Parallel or Map),
/// it must wait, or it has finished; returns it with the events to persist.
async fn advance(
    machine: &StateMachine,
    tasks: &dyn TaskInvoker,
    mut live: Live,
) -> (Live, Vec<HistoryEvent>) {
    let mut events = Vec::new();
    for _ in 0..MAX_PURE_RUN {
        let execution = &mut live.execution;
        if execution.status() != ExecutionStatus::Running
            || execution
                .wake_at()
                .is_some_and(|at| at > chrono::Utc::now())
        {
            break;
        }
        let step = execution.step(machine, tasks, chrono::Utc::now()).await;
        let pure = !step.is_empty()
            && step
                .iter()
                .all(|e| PURE_EVENTS.contains(&e.event_type.as_str()));
        events.extend(step);
        if !pure {
            break;
        }
    }
    (live, events)
}
