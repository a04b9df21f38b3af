//! Runs one state per step. The same stepping serves the top level (one durable step at a time)
//! and Parallel branches / Map iterations (stepped to completion inside their parent's step).
//!
//! This module is the dispatcher: it enters a state, hands it to the module of its kind
//! (`pass`, `choice`, `wait`, `terminal` for Succeed/Fail, `task`, `parallel`, `map`, and
//! `jsonata` for the JSONata forms of the simple states), then applies Retry/Catch
//! (`recovery`), Assign and the transition. Shared parts: `flow` (results and failures),
//! `frame` (the serializable position), `env` (what a state may use), `scope` (evaluation
//! helpers of one state).

mod choice;
mod env;
mod flow;
mod frame;
mod jsonata;
mod map;
mod map_settings;
mod parallel;
mod pass;
mod recovery;
mod scope;
mod task;
mod terminal;
mod wait;

pub(crate) use env::Env;
pub(crate) use flow::{MAX_HISTORY_EVENTS, Outcome, history_limit};
pub(crate) use frame::{Cursor, ExecInfo, Frame};

use crate::clock::Clock;
use crate::definition::{Block, Kind, State};
use crate::error::names;
use crate::history::Recorder;
use crate::invoker::TaskInvoker;
use chrono::{DateTime, Utc};
use env::BlockRun;
use flow::{Failure, Flow};
use frame::context;
use recovery::{handle_error, record_evaluation_failure};
use scope::Scope;
use serde_json::{Map, Value};

/// The environment of one step, wired to this dispatcher's block loop.
pub(crate) fn new_env<'a>(
    tasks: &'a dyn TaskInvoker,
    clock: &'a dyn Clock,
    info: &'a ExecInfo,
    rec: Recorder,
    now: DateTime<Utc>,
) -> Env<'a> {
    Env {
        tasks,
        clock,
        info,
        rec,
        now,
        run_block,
    }
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
    if !cur.entered {
        cur.entered = true;
        cur.entered_time = env.now;
        cur.entered_event_id =
            env.rec
                .state_entered(env.now, state.kind.event_prefix(), &state.name, &cur.input);
        cur.retry_counts = vec![0; state.retry.len()];
    }
    cur.wake_at = None;
    let flow = match run_state(state, cur, variables, env).await {
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
        } => leave(state, cur, variables, env, output, next, assign),
    }
}

/// Applies Assign, records `<Type>StateExited` and moves to `next` (or ends the block).
fn leave(
    state: &State,
    cur: &mut Cursor,
    variables: &mut Map<String, Value>,
    env: &mut Env<'_>,
    output: Value,
    next: Option<String>,
    assign: Option<(Value, Option<crate::template::Template>)>,
) -> Outcome {
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
        env.rec
            .state_exited(env.now, state.kind.event_prefix(), &state.name, &output);
    }
    match next {
        Some(n) => {
            *cur = Cursor::at(&n, output, env.now);
            Outcome::Continue
        }
        None => Outcome::Succeeded(output),
    }
}

/// Hands the state to the module of its kind.
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
        && let Some(flow) = jsonata::run(&scope, env.now)
    {
        return flow;
    }
    match &state.kind {
        Kind::Pass { result } => pass::run(&scope, result),
        Kind::Succeed => terminal::succeed(&scope),
        Kind::Fail { error, cause } => terminal::fail(&scope, error, cause),
        Kind::Choice { rules, default } => choice::run(&scope, rules, default),
        Kind::Wait(w) => wait::run(&scope, w, env.now),
        Kind::Task(spec) => task::run(spec, &scope, env).await,
        Kind::Parallel { branches } => parallel::run(branches, &scope, env).await,
        Kind::Map(spec) => map::run(spec, &scope, env).await,
    }
}

/// Steps a block from its StartAt to the end, sleeping through Wait states and retry delays
/// (Parallel branches and Map iterations, through `Env::run_block`).
fn run_block<'a, 'b>(
    block: &'a Block,
    input: Value,
    variables: Map<String, Value>,
    env: &'a mut Env<'b>,
) -> BlockRun<'a> {
    Box::pin(async move {
        let mut frame = Frame {
            cursor: Some(Cursor::at(&block.start_at, input, env.now)),
            variables,
        };
        loop {
            if env.rec.next_id > MAX_HISTORY_EVENTS {
                return Err(history_limit());
            }
            match step_frame(block, &mut frame, env).await {
                Outcome::Continue => {
                    if let Some(wake) = frame.cursor.as_ref().and_then(|c| c.wake_at) {
                        env.clock.sleep_until(wake).await;
                        env.now = env.now.max(env.clock.now());
                    }
                }
                Outcome::Succeeded(v) => return Ok(v),
                Outcome::Failed(f) => return Err(f),
            }
        }
    })
}
