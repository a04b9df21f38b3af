//! The JSONata data flow of states (`QueryLanguage: JSONata`): no paths; the state reads
//! `$states.input`, builds its effective input with `Arguments`, and its output with `Output`
//! (default: the result, or the input for states without one). `Assign` and `Output` see the
//! same `$states` and the variables as they were when the state was entered.

use crate::definition::{Catcher, Kind, WaitFor};
use crate::engine::{Failure, Flow, Scope};
use crate::error::names;
use crate::history::text;
use crate::path::Roots;
use crate::query;
use crate::template::Template;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

impl Scope<'_> {
    pub(crate) fn query_failure(&self, message: &str) -> Failure {
        Failure {
            evaluation: true,
            ..Failure::new(
                names::QUERY_EVALUATION_ERROR,
                format!(
                    "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
                    self.state.name, self.cursor.entered_event_id
                ),
            )
        }
    }

    /// `$states` with `input`, `context` and the given extra members (`result`, `errorOutput`).
    pub(crate) fn states(&self, input: &Value, extra: &[(&str, &Value)]) -> Value {
        self.states_with_context(input, &self.context, extra)
    }

    pub(crate) fn states_with_context(
        &self,
        input: &Value,
        context: &Value,
        extra: &[(&str, &Value)],
    ) -> Value {
        let mut m = Map::new();
        m.insert("input".into(), input.clone());
        m.insert("context".into(), context.clone());
        for (k, v) in extra {
            m.insert((*k).into(), (*v).clone());
        }
        Value::Object(m)
    }

    pub(crate) fn jsonata_roots<'b>(&'b self, states: &'b Value) -> Roots<'b> {
        Roots {
            input: states,
            context: &self.context,
            variables: self.variables,
            states: Some(states),
        }
    }

    /// Evaluates a JSONata state's template field.
    pub(crate) fn query(
        &self,
        t: &Template,
        states: &Value,
        field: &str,
    ) -> Result<Value, Failure> {
        t.evaluate_named(&self.jsonata_roots(states), field)
            .map_err(|e| self.eval_error(e))
    }

    pub(crate) fn query_typed(
        &self,
        t: &Template,
        states: &Value,
        field: &str,
        expected: &str,
    ) -> Result<Value, Failure> {
        query::evaluate_typed(t, &self.jsonata_roots(states), field, expected)
            .map_err(|e| self.eval_error(e))
    }

    /// The state's effective input: `Arguments` when present, else `$states.input`.
    pub(crate) fn arguments(&self) -> Result<Value, Failure> {
        let input = &self.cursor.input;
        match &self.state.arguments {
            None => Ok(input.clone()),
            Some(t) => self.query(t, &self.states(input, &[]), "Arguments"),
        }
    }

    /// Output and Assign of a state that produced `result`.
    pub(crate) fn finish_jsonata(&self, result: Value) -> Flow {
        let states = self.states(&self.cursor.input, &[("result", &result)]);
        let run = || -> Result<Flow, Failure> {
            self.result_path(&None, result.clone())?;
            let output = match &self.state.output {
                Some(t) => self.query(t, &states, "Output")?,
                None => result.clone(),
            };
            Ok(Flow::Done {
                output,
                next: self.state.next.clone(),
                assign: Some((states.clone(), self.state.assign.clone())),
            })
        };
        run().unwrap_or_else(Flow::Error)
    }

    /// A Catcher of a JSONata state: its Output (default: the error output) and Assign see
    /// `$states.errorOutput`.
    pub(crate) fn catch_jsonata(&self, c: &Catcher, error_output: Value) -> Flow {
        let states = self.states(&self.cursor.input, &[("errorOutput", &error_output)]);
        let output = match &c.output {
            Some(t) => match self.query(t, &states, "Output") {
                Ok(v) => v,
                Err(f) => return Flow::Error(f),
            },
            None => error_output,
        };
        Flow::Done {
            output,
            next: Some(c.next.clone()),
            assign: Some((states, c.assign.clone())),
        }
    }

    /// Leaves a state that has no result (Choice, Wait, Succeed): Output defaults to the input.
    fn leave(
        &self,
        next: Option<String>,
        output: Option<&Template>,
        assign: Option<Template>,
    ) -> Result<Flow, Failure> {
        let input = &self.cursor.input;
        let states = self.states(input, &[]);
        let output = match output {
            Some(t) => self.query(t, &states, "Output")?,
            None => input.clone(),
        };
        Ok(Flow::Done {
            output,
            next,
            assign: Some((states, assign)),
        })
    }
}

/// Runs the JSONata form of Pass, Succeed, Fail, Choice and Wait; None for the states whose
/// modules handle JSONata themselves (Task, Parallel, Map).
pub(crate) fn run(scope: &Scope, now: DateTime<Utc>) -> Option<Flow> {
    let state = scope.state;
    let input = &scope.cursor.input;
    let flow = match &state.kind {
        Kind::Pass { .. } => {
            let states = scope.states(input, &[]);
            let output = match &state.output {
                Some(t) => scope.query(t, &states, "Output"),
                None => Ok(input.clone()),
            };
            output.map(|output| Flow::Done {
                output,
                next: state.next.clone(),
                assign: Some((states, state.assign.clone())),
            })
        }
        Kind::Succeed => scope
            .leave(None, state.output.as_ref(), None)
            .map(|f| match f {
                Flow::Done { output, next, .. } => Flow::Done {
                    output,
                    next,
                    assign: None,
                },
                other => other,
            }),
        Kind::Fail { error, cause } => {
            let states = scope.states(input, &[]);
            let roots = scope.jsonata_roots(&states);
            let field = |src: &Option<crate::template::Source>,
                         name: &str|
             -> Result<Option<String>, Failure> {
                let Some(src) = src else { return Ok(None) };
                let v = crate::template::evaluate_source(src, name, &roots)
                    .map_err(|e| scope.eval_error(e))?;
                Ok(Some(match v {
                    Value::String(s) => s,
                    other => text(&other),
                }))
            };
            match (field(error, "Error"), field(cause, "Cause")) {
                (Ok(error), Ok(cause)) => Ok(Flow::Error(Failure {
                    error,
                    cause,
                    from_branches: false,
                    evaluation: false,
                })),
                (Err(f), _) | (_, Err(f)) => Err(f),
            }
        }
        Kind::Choice { rules, default } => choose(scope, rules, default),
        Kind::Wait(w) => {
            if scope.cursor.waiting {
                scope.leave(
                    state.next.clone(),
                    state.output.as_ref(),
                    state.assign.clone(),
                )
            } else {
                wait_until(scope, w, now).map(|until| Flow::Pending {
                    wake_at: until,
                    waiting: true,
                })
            }
        }
        Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => return None,
    };
    Some(flow.unwrap_or_else(Flow::Error))
}

fn choose(
    scope: &Scope,
    rules: &[crate::choice::Rule],
    default: &Option<String>,
) -> Result<Flow, Failure> {
    let state = scope.state;
    let states = scope.states(&scope.cursor.input, &[]);
    for r in rules {
        let Some(cond) = &r.condition else { continue };
        let v = scope.query_typed(cond, &states, "Condition", "boolean")?;
        if v == Value::Bool(true) {
            return scope.leave(Some(r.next.clone()), r.output.as_ref(), r.assign.clone());
        }
    }
    match default {
        Some(d) => scope.leave(Some(d.clone()), state.output.as_ref(), state.assign.clone()),
        None => Err(Failure::new(
            names::NO_CHOICE_MATCHED,
            format!(
                "No Choice Rule matched and no Default is specified in the state '{}'.",
                state.name
            ),
        )),
    }
}

fn wait_until(scope: &Scope, w: &WaitFor, now: DateTime<Utc>) -> Result<DateTime<Utc>, Failure> {
    let states = scope.states(&scope.cursor.input, &[]);
    match w {
        WaitFor::SecondsQuery(t) => {
            let v = scope.query_typed(t, &states, "Seconds", "number")?;
            match v.as_u64() {
                Some(s) => Ok(crate::wait::later(now, s)),
                None => Err(scope.query_failure(&format!(
                    "The Seconds field must be a non-negative integer, but was: {}",
                    text(&v)
                ))),
            }
        }
        WaitFor::TimestampQuery(t) => {
            let v = scope.query(t, &states, "Timestamp")?;
            v.as_str()
                .and_then(crate::time::parse_timestamp)
                .ok_or_else(|| {
                    let shown = v.as_str().map(str::to_string).unwrap_or_else(|| text(&v));
                    scope.query_failure(&format!(
                        "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {shown}"
                    ))
                })
        }
        other => crate::wait::until(other, scope, &scope.cursor.input, now),
    }
}
