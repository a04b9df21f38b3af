//! The evaluation helpers of one state: its paths, templates, ResultPath and the JSONata
//! `$states` data flow, and the errors they raise.

use super::flow::{Failure, Flow};
use super::frame::Cursor;
use crate::definition::{Catcher, State};
use crate::error::{EvalError, names};
use crate::history::text;
use crate::path::{JsonPath, PathMiss, Roots, write_at};
use crate::template::{self, Template};
use serde_json::{Map, Value, json};

/// Payloads above this size fail with `States.DataLimitExceeded`, as on AWS (256 KiB).
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

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

/// The JSONata data flow (`QueryLanguage: JSONata`): no paths; the state reads `$states.input`,
/// builds its effective input with `Arguments` and its output with `Output`. `Assign` and
/// `Output` see the same `$states` and the variables as they were when the state was entered.
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
        template::evaluate_typed(t, &self.jsonata_roots(states), field, expected)
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
    pub(crate) fn leave(
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
