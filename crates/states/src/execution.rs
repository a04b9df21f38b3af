//! A durable, step-wise execution: `Execution` serializes completely, so the embedding runtime
//! can persist it after every step and resume it after a crash.

use crate::clock::{Clock, RealClock};
use crate::definition::Kind;
use crate::engine::{
    self, Cursor, ExecInfo, Frame, MAX_HISTORY_EVENTS, Outcome, history_limit, step_frame,
};
use crate::history::{HistoryEvent, Recorder, text};
use crate::invoker::TaskInvoker;
use crate::machine::StateMachine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long after it stopped an execution may be redriven (as on AWS).
const REDRIVABLE_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// Everything needed to resume an execution; serde round-trips it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    info: ExecInfo,
    status: ExecutionStatus,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    frame: Frame,
    next_event_id: u64,
    stop_time: Option<DateTime<Utc>>,
    /// The machine's TimeoutSeconds, fixed at start so `wake_at` can honour it.
    #[serde(default)]
    deadline: Option<DateTime<Utc>>,
    /// Where an unsuccessful execution stopped (the state and its original input), kept so a
    /// redrive can continue from there. None in executions persisted before redrive existed.
    #[serde(default)]
    stopped_at: Option<Cursor>,
    /// When the execution was last redriven.
    #[serde(default)]
    redrive_date: Option<DateTime<Utc>>,
}

impl Execution {
    /// Creates the execution and its `ExecutionStarted` event.
    pub fn start(
        machine: &StateMachine,
        execution_arn: &str,
        name: &str,
        state_machine_arn: &str,
        input: Value,
        now: DateTime<Utc>,
    ) -> (Execution, Vec<HistoryEvent>) {
        let account = execution_arn
            .split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
            .unwrap_or("000000000000");
        let sm_name = state_machine_arn.rsplit(':').next().unwrap_or_default();
        let info = ExecInfo {
            execution_arn: execution_arn.to_string(),
            name: name.to_string(),
            state_machine_arn: state_machine_arn.to_string(),
            input: input.clone(),
            start_time: now,
            role_arn: format!("arn:aws:iam::{account}:role/StepFunctions-{sm_name}-role"),
            redrive_count: 0,
        };
        let mut rec = Recorder::new(1);
        rec.push(
            now,
            "ExecutionStarted",
            Some("executionStartedEventDetails"),
            json!({
                "input": text(&input),
                "inputDetails": {"truncated": false},
                "roleArn": info.role_arn,
                "stateMachineArn": state_machine_arn,
            }),
        );
        let exec = Execution {
            info,
            status: ExecutionStatus::Running,
            output: None,
            error: None,
            cause: None,
            frame: Frame {
                cursor: Some(Cursor::at(&machine.definition.block.start_at, input, now)),
                variables: Default::default(),
            },
            next_event_id: rec.next_id,
            stop_time: None,
            deadline: deadline(machine, now),
            stopped_at: None,
            redrive_date: None,
        };
        (exec, rec.events)
    }

    pub fn status(&self) -> ExecutionStatus {
        self.status
    }

    pub fn output(&self) -> Option<&Value> {
        self.output.as_ref()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    pub fn execution_arn(&self) -> &str {
        &self.info.execution_arn
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn state_machine_arn(&self) -> &str {
        &self.info.state_machine_arn
    }

    pub fn input(&self) -> &Value {
        &self.info.input
    }

    pub fn start_time(&self) -> DateTime<Utc> {
        self.info.start_time
    }

    pub fn stop_time(&self) -> Option<DateTime<Utc>> {
        self.stop_time
    }

    /// The state the next step will run (None once finished).
    pub fn current_state(&self) -> Option<&str> {
        match self.status {
            ExecutionStatus::Running => self.frame.cursor.as_ref().map(|c| c.state.as_str()),
            _ => None,
        }
    }

    /// When the next step may run (a Wait state or a Retry interval is pending, or the
    /// execution's TimeoutSeconds deadline comes first); None = now.
    pub fn wake_at(&self) -> Option<DateTime<Utc>> {
        if self.status != ExecutionStatus::Running {
            return None;
        }
        match (
            self.frame.cursor.as_ref().and_then(|c| c.wake_at),
            self.deadline,
        ) {
            (Some(w), Some(d)) => Some(w.min(d)),
            (w, _) => w,
        }
    }

    /// Ends a running execution (StopExecution): `ExecutionAborted`.
    pub fn abort(
        &mut self,
        error: Option<&str>,
        cause: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<HistoryEvent> {
        if self.status != ExecutionStatus::Running {
            return Vec::new();
        }
        let mut rec = Recorder::new(self.next_event_id);
        rec.failure(
            now,
            "ExecutionAborted",
            "executionAbortedEventDetails",
            error,
            cause,
        );
        self.status = ExecutionStatus::Aborted;
        self.error = error.map(str::to_string);
        self.cause = cause.map(str::to_string);
        self.finish(rec)
    }

    /// Times the execution was redriven (DescribeExecution's `redriveCount`).
    pub fn redrive_count(&self) -> u32 {
        self.info.redrive_count
    }

    /// When it was last redriven (DescribeExecution's `redriveDate`).
    pub fn redrive_date(&self) -> Option<DateTime<Utc>> {
        self.redrive_date
    }

    /// Whether RedriveExecution would accept it now: `Err` holds DescribeExecution's
    /// `redriveStatusReason` for a NOT_REDRIVABLE execution.
    pub fn redrivable(&self, machine: &StateMachine, now: DateTime<Utc>) -> Result<(), String> {
        match self.status {
            ExecutionStatus::Running => {
                return Err("Execution is RUNNING and cannot be redriven.".into());
            }
            ExecutionStatus::Succeeded => {
                return Err("Execution is SUCCEEDED and cannot be redriven.".into());
            }
            _ => {}
        }
        let Some(at) = &self.stopped_at else {
            return Err("Execution was started before the launch of RedriveExecution.".into());
        };
        if self.next_event_id >= MAX_HISTORY_EVENTS {
            return Err("Execution history event limit exceeded.".into());
        }
        if self
            .stop_time
            .is_some_and(|t| now - t > chrono::Duration::days(REDRIVABLE_DAYS))
        {
            return Err("Execution redrivable period exceeded.".into());
        }
        let kind = machine
            .definition
            .block
            .states
            .get(&at.state)
            .map(|s| &s.kind);
        if matches!(kind, Some(Kind::Parallel { .. } | Kind::Map(_))) {
            // AWS redrives only the failed branches or iterations; this interpreter runs them
            // inside one step and keeps none of their results, so it cannot.
            return Err(format!(
                "Execution stopped in the {} state '{}', which the local interpreter cannot redrive (it keeps no results of its branches or iterations).",
                kind.map_or("", |k| k.event_prefix()),
                at.state
            ));
        }
        Ok(())
    }

    /// RedriveExecution: continues an unsuccessful execution from the state where it stopped,
    /// with that state's original input. The earlier history stays; `ExecutionRedriven` is
    /// appended, the state is entered anew (its retry counts start again) and the machine's
    /// TimeoutSeconds counts from now. `Err` is the reason it is not redrivable.
    pub fn redrive(
        &mut self,
        machine: &StateMachine,
        now: DateTime<Utc>,
    ) -> Result<Vec<HistoryEvent>, String> {
        self.redrivable(machine, now)?;
        let Some(at) = self.stopped_at.take() else {
            return Err("Execution was started before the launch of RedriveExecution.".into());
        };
        self.info.redrive_count += 1;
        let mut rec = Recorder::new(self.next_event_id);
        rec.push(
            now,
            "ExecutionRedriven",
            Some("executionRedrivenEventDetails"),
            json!({"redriveCount": self.info.redrive_count}),
        );
        self.status = ExecutionStatus::Running;
        self.error = None;
        self.cause = None;
        self.stop_time = None;
        self.redrive_date = Some(now);
        self.deadline = deadline(machine, now);
        self.frame.cursor = Some(Cursor::at(&at.state, at.input, now));
        Ok(self.finish(rec))
    }

    fn finish(&mut self, rec: Recorder) -> Vec<HistoryEvent> {
        self.next_event_id = rec.next_id;
        if self.status != ExecutionStatus::Running {
            self.stop_time = rec.events.last().map(|e| e.timestamp);
            let cursor = self.frame.cursor.take();
            if self.status != ExecutionStatus::Succeeded {
                self.stopped_at = cursor;
            }
        }
        rec.events
    }

    /// Runs ONE top-level state (including its Task invocation, or one retry attempt) and
    /// returns the history events it produced. Wait states inside Parallel/Map really sleep.
    pub async fn step(
        &mut self,
        machine: &StateMachine,
        tasks: &dyn TaskInvoker,
        now: DateTime<Utc>,
    ) -> Vec<HistoryEvent> {
        self.step_with(machine, tasks, now, &RealClock).await
    }

    /// [`Execution::step`] with a chosen clock (e.g. [`crate::VirtualClock`] in tests).
    pub async fn step_with(
        &mut self,
        machine: &StateMachine,
        tasks: &dyn TaskInvoker,
        now: DateTime<Utc>,
        clock: &dyn Clock,
    ) -> Vec<HistoryEvent> {
        if self.status != ExecutionStatus::Running {
            return Vec::new();
        }
        let pending = self.frame.cursor.as_ref().and_then(|c| c.wake_at);
        let timed_out = self.deadline.is_some_and(|d| now >= d);
        if pending.is_some_and(|w| now < w) && !timed_out {
            // Called too early (e.g. right after a restart): the timer has not fired yet.
            return Vec::new();
        }
        let mut rec = Recorder::new(self.next_event_id);
        if timed_out {
            rec.push(
                now,
                "ExecutionTimedOut",
                Some("executionTimedOutEventDetails"),
                json!({}),
            );
            self.status = ExecutionStatus::TimedOut;
            return self.finish(rec);
        }
        let mut env = engine::new_env(tasks, clock, &self.info, rec, now);
        let outcome = if self.next_event_id > MAX_HISTORY_EVENTS {
            Outcome::Failed(history_limit())
        } else {
            step_frame(&machine.definition.block, &mut self.frame, &mut env).await
        };
        let (now, mut rec) = (env.now, env.rec);
        match outcome {
            Outcome::Continue => {}
            Outcome::Succeeded(v) => {
                rec.push(
                    now,
                    "ExecutionSucceeded",
                    Some("executionSucceededEventDetails"),
                    json!({"output": text(&v), "outputDetails": {"truncated": false}}),
                );
                self.status = ExecutionStatus::Succeeded;
                self.output = Some(v);
            }
            Outcome::Failed(f) => {
                rec.failure(
                    now,
                    "ExecutionFailed",
                    "executionFailedEventDetails",
                    f.error.as_deref(),
                    f.cause.as_deref(),
                );
                self.status = ExecutionStatus::Failed;
                self.error = f.error;
                self.cause = f.cause;
            }
        }
        self.finish(rec)
    }
}

/// The machine's TimeoutSeconds from `now`, if it has one.
fn deadline(machine: &StateMachine, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    machine
        .definition
        .timeout_seconds
        .map(|s| now + chrono::Duration::seconds(s.min(99_999_999) as i64))
}

/// Steps until done, really sleeping for Wait/Retry; returns the final execution and its history.
pub async fn run_to_completion(
    machine: &StateMachine,
    input: Value,
    tasks: &dyn TaskInvoker,
) -> (Execution, Vec<HistoryEvent>) {
    run_to_completion_with(machine, input, tasks, &RealClock).await
}

/// [`run_to_completion`] with a chosen clock: [`crate::VirtualClock`] skips real sleeping.
pub async fn run_to_completion_with(
    machine: &StateMachine,
    input: Value,
    tasks: &dyn TaskInvoker,
    clock: &dyn Clock,
) -> (Execution, Vec<HistoryEvent>) {
    let id = uuid::Uuid::new_v4().to_string();
    let sm_arn = "arn:aws:states:us-east-1:000000000000:stateMachine:local";
    let exec_arn = format!("arn:aws:states:us-east-1:000000000000:execution:local:{id}");
    let (mut exec, mut history) =
        Execution::start(machine, &exec_arn, &id, sm_arn, input, clock.now());
    while exec.status() == ExecutionStatus::Running {
        if let Some(wake) = exec.wake_at() {
            clock.sleep_until(wake).await;
        }
        let events = exec.step_with(machine, tasks, clock.now(), clock).await;
        history.extend(events);
    }
    (exec, history)
}
