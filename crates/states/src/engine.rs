//! Runs one state per step. The same stepping serves the top level (one durable step at a time)
//! and Parallel branches / Map iterations (stepped to completion inside their parent's step).

use crate::clock::Clock;
use crate::definition::{Block, Catcher, Kind, Retrier, State};
use crate::error::names;
use crate::history::{Recorder, text};
use crate::path::{JsonPath, PathMiss, Roots, write_at};
use crate::template::{EvalError, Template};
use crate::time::render;
use crate::{TaskInvoker, branches, choice, task, wait};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Payloads above this size fail with `States.DataLimitExceeded`, as on AWS (256 KiB).
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// AWS fails an execution whose history would exceed 25,000 events; this also stops a
/// looping branch from hanging its step.
pub(crate) const MAX_HISTORY_EVENTS: u64 = 25_000;

pub(crate) fn history_limit() -> Failure {
    Failure::new(
        names::RUNTIME,
        format!(
            "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
        ),
    )
}

/// Facts about the execution that the context object (`$$`) exposes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecInfo {
    pub(crate) execution_arn: String,
    pub(crate) name: String,
    pub(crate) state_machine_arn: String,
    pub(crate) input: Value,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) role_arn: String,
}

impl ExecInfo {
    /// The region named in the execution ARN (`arn:aws:states:<region>:...`).
    pub(crate) fn region(&self) -> &str {
        self.execution_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or("us-east-1")
    }
}

/// Where a block's run stands: the current state and what it needs to continue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub(crate) state: String,
    pub(crate) input: Value,
    pub(crate) entered: bool,
    pub(crate) entered_time: DateTime<Utc>,
    pub(crate) entered_event_id: u64,
    /// Attempts used per retrier of the current state.
    pub(crate) retry_counts: Vec<u64>,
    pub(crate) retry_count: u64,
    pub(crate) wake_at: Option<DateTime<Utc>>,
    /// A Wait state whose timer is set: the next step leaves it.
    pub(crate) waiting: bool,
}

impl Cursor {
    pub(crate) fn at(state: &str, input: Value, now: DateTime<Utc>) -> Cursor {
        Cursor {
            state: state.to_string(),
            input,
            entered: false,
            entered_time: now,
            entered_event_id: 0,
            retry_counts: Vec::new(),
            retry_count: 0,
            wake_at: None,
            waiting: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Frame {
    pub(crate) cursor: Option<Cursor>,
    pub(crate) variables: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    /// Raised by a Parallel branch or Map iteration: unless retried, the state records
    /// `ParallelStateFailed`/`MapStateFailed`.
    pub(crate) from_branches: bool,
    /// A JSONata evaluation failed here: the state records `EvaluationFailed` first.
    pub(crate) evaluation: bool,
}

impl Failure {
    pub(crate) fn new(error: &str, cause: impl Into<String>) -> Failure {
        Failure {
            error: Some(error.to_string()),
            cause: Some(cause.into()),
            from_branches: false,
            evaluation: false,
        }
    }

    fn is_terminal(&self) -> bool {
        matches!(
            self.error.as_deref(),
            Some(names::RUNTIME) | Some(names::DATA_LIMIT_EXCEEDED)
        )
    }

    fn matches(&self, list: &[String]) -> bool {
        if self.is_terminal() {
            return false;
        }
        // States.TaskFailed is documented as a wildcard for every error except States.Timeout.
        let task_failed = self.error.as_deref() != Some(names::TIMEOUT);
        list.iter().any(|e| {
            e == names::ALL
                || (e == names::TASK_FAILED && task_failed)
                || Some(e.as_str()) == self.error.as_deref()
        })
    }

    /// The `{"Error", "Cause"}` object a Catcher passes on.
    pub(crate) fn output(&self) -> Value {
        let mut m = Map::new();
        if let Some(e) = &self.error {
            m.insert("Error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), Value::String(c.clone()));
        }
        Value::Object(m)
    }
}

pub(crate) enum Outcome {
    Continue,
    Succeeded(Value),
    Failed(Failure),
}

/// What running a state produced.
pub(crate) enum Flow {
    /// Not finished: step again at `wake_at`; `waiting` marks a Wait state's timer.
    Pending {
        wake_at: DateTime<Utc>,
        waiting: bool,
    },
    Done {
        output: Value,
        next: Option<String>,
        /// The value `$` denotes in Assign, and which Assign applies.
        assign: Option<(Value, Option<Template>)>,
    },
    Error(Failure),
}

pub(crate) struct Env<'a> {
    pub(crate) tasks: &'a dyn TaskInvoker,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) info: &'a ExecInfo,
    pub(crate) rec: Recorder,
    pub(crate) now: DateTime<Utc>,
}

/// Data shared by the evaluation helpers of one state.
pub(crate) struct Scope<'a> {
    pub(crate) state: &'a State,
    pub(crate) cursor: &'a Cursor,
    pub(crate) context: Value,
    pub(crate) variables: &'a Map<String, Value>,
}

impl Scope<'_> {
    pub(crate) fn roots<'b>(&'b self, input: &'b Value) -> Roots<'b> {
        Roots {
            input,
            context: &self.context,
            variables: self.variables,
            states: None,
        }
    }

    pub(crate) fn runtime(&self, message: &str) -> Failure {
        Failure::new(
            names::RUNTIME,
            format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
                self.state.name, self.cursor.entered_event_id
            ),
        )
    }

    pub(crate) fn eval_error(&self, e: EvalError) -> Failure {
        if e.query {
            self.query_failure(&e.message)
        } else {
            self.runtime(&e.message)
        }
    }

    fn select(&self, path: &Option<JsonPath>, value: &Value) -> Result<Value, Failure> {
        match path {
            None => Ok(json!({})),
            Some(p) => p.evaluate(&self.roots(value)).map_err(|m| match m {
                PathMiss::NoMatch => self.runtime(&format!(
                    "Invalid path '{}' : No results for path: {}",
                    p.text,
                    p.normalized()
                )),
                PathMiss::UndefinedVariable(v) => self.runtime(&format!(
                    "Invalid path '{}': The variable \"${v}\" is not defined.",
                    p.text
                )),
            }),
        }
    }

    pub(crate) fn input_path(&self) -> Result<Value, Failure> {
        self.select(&self.state.input_path, &self.cursor.input)
    }

    pub(crate) fn output_path(&self, output: &Value) -> Result<Value, Failure> {
        self.select(&self.state.output_path, output)
    }

    pub(crate) fn template(
        &self,
        t: &Option<Template>,
        input: &Value,
    ) -> Result<Option<Value>, Failure> {
        match t {
            None => Ok(None),
            Some(t) => t
                .evaluate(&self.roots(input))
                .map(Some)
                .map_err(|e| self.eval_error(e)),
        }
    }

    pub(crate) fn result_path(
        &self,
        path: &Option<JsonPath>,
        result: Value,
    ) -> Result<Value, Failure> {
        let size = text(&result).len();
        if size > MAX_PAYLOAD_BYTES {
            return Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    self.state.name
                ),
            ));
        }
        match path {
            None => Ok(self.cursor.input.clone()),
            Some(p) => write_at(p, self.cursor.input.clone(), result)
                .map_err(|m| Failure::new(names::RESULT_PATH_MATCH_FAILURE, m)),
        }
    }

    /// ResultSelector, ResultPath, OutputPath and Assign of a state that produced `result`.
    pub(crate) fn finish(&self, result: Value) -> Flow {
        if self.state.jsonata {
            return self.finish_jsonata(result);
        }
        let run = || -> Result<Flow, Failure> {
            let selected = self
                .template(&self.state.result_selector, &result)?
                .unwrap_or(result);
            let output = self.result_path(&self.state.result_path, selected.clone())?;
            let output = self.output_path(&output)?;
            Ok(Flow::Done {
                output,
                next: self.state.next.clone(),
                assign: Some((selected, self.state.assign.clone())),
            })
        };
        run().unwrap_or_else(Flow::Error)
    }
}

pub(crate) fn context(info: &ExecInfo, state: &State, cursor: &Cursor) -> Value {
    let mut st = json!({"Name": state.name, "EnteredTime": render(cursor.entered_time)});
    if matches!(state.kind, Kind::Task(_)) {
        st["RetryCount"] = json!(cursor.retry_count);
    }
    json!({
        "Execution": {
            "Id": info.execution_arn,
            "Input": info.input,
            "StartTime": render(info.start_time),
            "Name": info.name,
            "RoleArn": info.role_arn,
            "RedriveCount": 0,
        },
        "StateMachine": {
            "Id": info.state_machine_arn,
            "Name": info.state_machine_arn.rsplit(':').next().unwrap_or_default(),
        },
        "State": st,
    })
}

/// Runs the current state of `frame` once.
pub(crate) async fn step_frame(block: &Block, frame: &mut Frame, env: &mut Env<'_>) -> Outcome {
    let Frame { cursor, variables } = frame;
    let Some(cur) = cursor.as_mut() else {
        return Outcome::Failed(Failure::new(
            names::RUNTIME,
            "the execution has no current state",
        ));
    };
    let Some(state) = block.states.get(&cur.state) else {
        return Outcome::Failed(Failure::new(
            names::RUNTIME,
            format!("unknown state '{}'", cur.state),
        ));
    };
    let prefix = state.kind.event_prefix();
    if !cur.entered {
        cur.entered = true;
        cur.entered_time = env.now;
        cur.entered_event_id = env
            .rec
            .state_entered(env.now, prefix, &state.name, &cur.input);
        cur.retry_counts = vec![0; state.retry.len()];
    }
    cur.wake_at = None;
    let flow = run_state(state, cur, variables, env).await;
    let flow = match flow {
        Flow::Error(f) => {
            let f = record_evaluation_failure(env, state, f);
            handle_error(state, cur, variables, env, f)
        }
        other => other,
    };
    match flow {
        Flow::Pending { wake_at, waiting } => {
            cur.wake_at = Some(wake_at);
            cur.waiting = waiting;
            Outcome::Continue
        }
        Flow::Error(f) => Outcome::Failed(f),
        Flow::Done {
            output,
            next,
            assign,
        } => {
            if let Some((value, Some(t))) = assign {
                let scope = Scope {
                    state,
                    cursor: cur,
                    context: context(env.info, state, cur),
                    variables,
                };
                // A JSONata state passes its `$states` as `value`.
                let assigned = if state.jsonata {
                    t.evaluate_named(&scope.jsonata_roots(&value), "Assign")
                } else {
                    t.evaluate(&scope.roots(&value))
                };
                match assigned {
                    Ok(Value::Object(new)) => variables.extend(new),
                    Ok(_) => {}
                    Err(e) => {
                        let f = scope.eval_error(e);
                        return Outcome::Failed(record_evaluation_failure(env, state, f));
                    }
                }
            }
            if !matches!(state.kind, Kind::Fail { .. }) {
                env.rec.state_exited(env.now, prefix, &state.name, &output);
            }
            match next {
                Some(n) => {
                    *cur = Cursor::at(&n, output, env.now);
                    Outcome::Continue
                }
                None => Outcome::Succeeded(output),
            }
        }
    }
}

async fn run_state(
    state: &State,
    cur: &Cursor,
    variables: &Map<String, Value>,
    env: &mut Env<'_>,
) -> Flow {
    let scope = Scope {
        state,
        cursor: cur,
        context: context(env.info, state, cur),
        variables,
    };
    if state.jsonata
        && let Some(flow) = crate::jsonata_states::run(&scope, env.now)
    {
        return flow;
    }
    match &state.kind {
        Kind::Pass { result } => {
            let run = || -> Result<Flow, Failure> {
                let effective = scope.input_path()?;
                let result = match (&state.parameters, result) {
                    (Some(_), _) => scope
                        .template(&state.parameters, &effective)?
                        .unwrap_or_default(),
                    (None, Some(r)) => r.clone(),
                    (None, None) => effective,
                };
                Ok(scope.finish(result))
            };
            run().unwrap_or_else(Flow::Error)
        }
        Kind::Succeed => match scope.input_path().and_then(|v| scope.output_path(&v)) {
            Ok(output) => Flow::Done {
                output,
                next: None,
                assign: None,
            },
            Err(f) => Flow::Error(f),
        },
        Kind::Fail { error, cause } => {
            let field = |src: &Option<crate::template::Source>,
                         name: &str|
             -> Result<Option<String>, Failure> {
                let Some(src) = src else { return Ok(None) };
                let v = crate::template::evaluate_source(src, name, &scope.roots(&cur.input))
                    .map_err(|e| scope.eval_error(e))?;
                Ok(Some(match v {
                    Value::String(s) => s,
                    other => text(&other),
                }))
            };
            match (field(error, "ErrorPath"), field(cause, "CausePath")) {
                (Ok(error), Ok(cause)) => Flow::Error(Failure {
                    error,
                    cause,
                    from_branches: false,
                    evaluation: false,
                }),
                (Err(f), _) | (_, Err(f)) => Flow::Error(f),
            }
        }
        Kind::Choice { rules, default } => {
            let run = || -> Result<Flow, Failure> {
                let effective = scope.input_path()?;
                let roots = scope.roots(&effective);
                let mut chosen = None;
                for r in rules {
                    if choice::evaluate(&r.cond, &roots).map_err(|m| scope.runtime(&m))? {
                        chosen = Some((r.next.clone(), r.assign.clone()));
                        break;
                    }
                }
                let (next, assign) = match (chosen, default) {
                    (Some(c), _) => c,
                    (None, Some(d)) => (d.clone(), state.assign.clone()),
                    (None, None) => {
                        return Err(Failure::new(
                            names::NO_CHOICE_MATCHED,
                            format!(
                                "No Choice Rule matched and no Default is specified in the state '{}'.",
                                state.name
                            ),
                        ));
                    }
                };
                let output = scope.output_path(&effective)?;
                Ok(Flow::Done {
                    output,
                    next: Some(next),
                    assign: Some((effective, assign)),
                })
            };
            run().unwrap_or_else(Flow::Error)
        }
        Kind::Wait(w) => {
            let effective = match scope.input_path() {
                Ok(v) => v,
                Err(f) => return Flow::Error(f),
            };
            if cur.waiting {
                return match scope.output_path(&effective) {
                    Ok(output) => Flow::Done {
                        output,
                        next: state.next.clone(),
                        assign: Some((effective, state.assign.clone())),
                    },
                    Err(f) => Flow::Error(f),
                };
            }
            match wait::until(w, &scope, &effective, env.now) {
                Ok(until) => Flow::Pending {
                    wake_at: until,
                    waiting: true,
                },
                Err(f) => Flow::Error(f),
            }
        }
        Kind::Task(spec) => task::run(spec, &scope, env).await,
        Kind::Parallel { branches: list } => branches::parallel(list, &scope, env).await,
        Kind::Map(spec) => branches::map(spec, &scope, env).await,
    }
}

/// Records `EvaluationFailed` for a JSONata failure raised by this state (once).
fn record_evaluation_failure(env: &mut Env<'_>, state: &State, f: Failure) -> Failure {
    if !f.evaluation {
        return f;
    }
    env.rec.push(
        env.now,
        "EvaluationFailed",
        Some("evaluationFailedEventDetails"),
        json!({"error": f.error, "cause": f.cause, "state": state.name}),
    );
    Failure {
        evaluation: false,
        ..f
    }
}

fn matching<'a, T>(
    items: &'a [T],
    failure: &Failure,
    errors: impl Fn(&T) -> &[String],
) -> Option<(usize, &'a T)> {
    items
        .iter()
        .enumerate()
        .find(|(_, it)| failure.matches(errors(it)))
}

/// Retry (schedule another attempt) or Catch (move on to the handler), else fail the block.
fn handle_error(
    state: &State,
    cur: &mut Cursor,
    variables: &mut Map<String, Value>,
    env: &mut Env<'_>,
    f: Failure,
) -> Flow {
    if let Some((i, r)) = matching(&state.retry, &f, |r: &Retrier| &r.errors) {
        let used = cur.retry_counts.get(i).copied().unwrap_or(0);
        if used < r.max_attempts {
            if let Some(c) = cur.retry_counts.get_mut(i) {
                *c += 1;
            }
            cur.retry_count += 1;
            return Flow::Pending {
                wake_at: env
                    .now
                    .checked_add_signed(retry_delay(r, used))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
                waiting: false,
            };
        }
    }
    if f.from_branches {
        env.rec.push(
            env.now,
            &format!("{}StateFailed", state.kind.event_prefix()),
            None,
            Value::Null,
        );
    }
    if let Some((_, c)) = matching(&state.catch, &f, |c: &Catcher| &c.errors) {
        let scope = Scope {
            state,
            cursor: cur,
            context: context(env.info, state, cur),
            variables,
        };
        let error_output = f.output();
        if state.jsonata {
            return scope.catch_jsonata(c, error_output);
        }
        return match scope.result_path(&c.result_path, error_output.clone()) {
            Ok(output) => Flow::Done {
                output,
                next: Some(c.next.clone()),
                assign: Some((error_output, c.assign.clone())),
            },
            Err(f) => Flow::Error(f),
        };
    }
    Flow::Error(f)
}

/// IntervalSeconds × BackoffRate^attempt, capped by MaxDelaySeconds, optionally full jitter.
fn retry_delay(r: &Retrier, attempt: u64) -> chrono::Duration {
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(attempt.min(64) as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    secs = secs.min(31_536_000.0);
    if r.full_jitter {
        let bytes = uuid::Uuid::new_v4();
        let x = u32::from_le_bytes(bytes.as_bytes()[..4].try_into().unwrap_or([0; 4]));
        secs *= x as f64 / u32::MAX as f64;
    }
    chrono::Duration::milliseconds((secs * 1000.0) as i64)
}
