//! The parsed form of a state machine definition. Parsing checks every field's type and shape
//! and rejects unknown fields and unsupported constructs; `validate` checks the state graph.

use crate::choice::{self, Rule};
use crate::error::DefinitionError;
use crate::path::JsonPath;
use crate::template::{self, Source, Template};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A list of states with its entry point: the whole machine, a Parallel branch or a Map iterator.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) start_at: String,
    pub(crate) states: BTreeMap<String, State>,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// `None` means `null`: the state sees `{}`.
    pub(crate) input_path: Option<JsonPath>,
    pub(crate) output_path: Option<JsonPath>,
    /// `None` means `null`: the result is discarded and the input passes through.
    pub(crate) result_path: Option<JsonPath>,
    pub(crate) parameters: Option<Template>,
    pub(crate) result_selector: Option<Template>,
    pub(crate) assign: Option<Template>,
    /// `QueryLanguage: JSONata`: the fields below replace the JSONPath ones.
    pub(crate) jsonata: bool,
    pub(crate) output: Option<Template>,
    pub(crate) arguments: Option<Template>,
    pub(crate) next: Option<String>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(TaskSpec),
    Choice {
        rules: Vec<Rule>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Source>,
        cause: Option<Source>,
    },
    Parallel {
        branches: Vec<Block>,
    },
    Map(Box<MapSpec>),
}

impl Kind {
    /// The prefix of this state's history event types (`TaskStateEntered` ...).
    pub(crate) fn event_prefix(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TaskSpec {
    pub(crate) resource: String,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) timeout_seconds_path: Option<JsonPath>,
    pub(crate) heartbeat_seconds: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(JsonPath),
    Timestamp(DateTime<Utc>),
    TimestampPath(JsonPath),
    /// JSONata `Seconds: "{% ... %}"`.
    SecondsQuery(Template),
    /// JSONata `Timestamp: "{% ... %}"`.
    TimestampQuery(Template),
}

#[derive(Debug, Clone)]
pub(crate) struct MapSpec {
    pub(crate) processor: Block,
    pub(crate) items_path: Option<JsonPath>,
    pub(crate) item_selector: Option<Template>,
    pub(crate) max_concurrency_path: Option<JsonPath>,
    pub(crate) tolerated_count: Option<u64>,
    pub(crate) tolerated_count_path: Option<JsonPath>,
    pub(crate) tolerated_percentage: Option<f64>,
    pub(crate) tolerated_percentage_path: Option<JsonPath>,
    pub(crate) distributed: bool,
    /// JSONata `Items` and the `{% ... %}` forms of the numeric settings.
    pub(crate) items: Option<Template>,
    pub(crate) max_concurrency_query: Option<Template>,
    pub(crate) tolerated_count_query: Option<Template>,
    pub(crate) tolerated_percentage_query: Option<Template>,
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub(crate) errors: Vec<String>,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u64,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
    pub(crate) full_jitter: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub(crate) errors: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: Option<JsonPath>,
    pub(crate) assign: Option<Template>,
    pub(crate) output: Option<Template>,
}

/// The whole definition.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub(crate) block: Block,
    pub(crate) timeout_seconds: Option<u64>,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        path: path.into(),
        message: message.into(),
    }
}

fn check_fields(
    obj: &Map<String, Value>,
    at: &str,
    allowed: &[&str],
    what: &str,
) -> Result<(), DefinitionError> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            let hint = match k.as_str() {
                "Arguments" | "Output" | "Items" | "Condition" => {
                    " (it is a JSONata field: set \"QueryLanguage\": \"JSONata\")"
                }
                "InputPath" | "OutputPath" | "ResultPath" | "Parameters" | "ResultSelector"
                | "ItemsPath" | "Variable" | "Iterator" => {
                    " (it is a JSONPath field: JSONata states use Arguments, Output, Items, Condition)"
                }
                k if k.ends_with("Path") => {
                    " (it is a JSONPath field: JSONata states take a {% ... %} expression in the field without 'Path')"
                }
                "ItemReader" | "ResultWriter" | "ItemBatcher" => {
                    " (Map states reading from or writing to S3 are not supported)"
                }
                "Credentials" => " (cross-account Task credentials are not supported)",
                _ => "",
            };
            return Err(err(
                format!("{at}/{k}"),
                format!("field '{k}' is not allowed in {what}{hint}"),
            ));
        }
    }
    Ok(())
}

fn string(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<String>, DefinitionError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(err(format!("{at}/{key}"), "must be a string")),
    }
}

fn required_string(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<String, DefinitionError> {
    string(obj, at, key)?.ok_or_else(|| {
        err(
            format!("{at}/{key}"),
            format!("the field '{key}' is required"),
        )
    })
}

fn uint(obj: &Map<String, Value>, at: &str, key: &str) -> Result<Option<u64>, DefinitionError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| err(format!("{at}/{key}"), "must be a non-negative integer")),
    }
}

fn path(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<JsonPath>, DefinitionError> {
    match string(obj, at, key)? {
        None => Ok(None),
        Some(s) => JsonPath::parse(&s)
            .map(Some)
            .map_err(|e| err(format!("{at}/{key}"), e)),
    }
}

/// InputPath/OutputPath/ResultPath: absent means `$`, `null` means none.
fn nullable_path(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
    reference: bool,
) -> Result<Option<JsonPath>, DefinitionError> {
    match obj.get(key) {
        Some(Value::Null) => Ok(None),
        None => JsonPath::parse("$").map(Some).map_err(|e| err(at, e)),
        Some(Value::String(s)) => {
            let p = JsonPath::parse(s).map_err(|e| err(format!("{at}/{key}"), e))?;
            if reference && !p.is_definite() {
                return Err(err(
                    format!("{at}/{key}"),
                    format!("'{s}' must be a reference path (no wildcards, slices or filters)"),
                ));
            }
            if reference && p.root != crate::path::Root::Input {
                return Err(err(
                    format!("{at}/{key}"),
                    format!("'{s}' must start with '$.' (the state's input)"),
                ));
            }
            Ok(Some(p))
        }
        Some(_) => Err(err(format!("{at}/{key}"), "must be a string or null")),
    }
}

fn template(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<Template>, DefinitionError> {
    template_in(obj, at, key, false)
}

/// A template field; in a JSONata state `{% ... %}` strings are expressions and `.$` keys are
/// plain keys.
pub(crate) fn template_in(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
    jsonata: bool,
) -> Result<Option<Template>, DefinitionError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => {
            if key == "Assign" && !v.is_object() {
                return Err(err(format!("{at}/{key}"), "must be an object"));
            }
            let compiled = if jsonata {
                crate::query::compile(v)
            } else {
                template::compile(v)
            };
            compiled
                .map(Some)
                .map_err(|(p, m)| err(format!("{at}/{key}{p}"), m))
        }
    }
}

fn error_list(obj: &Map<String, Value>, at: &str) -> Result<Vec<String>, DefinitionError> {
    let list = obj
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            err(
                format!("{at}/ErrorEquals"),
                "a non-empty array of error names is required",
            )
        })?;
    let names: Vec<String> = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if names.is_empty() || names.len() != list.len() {
        return Err(err(
            format!("{at}/ErrorEquals"),
            "must be a non-empty array of strings",
        ));
    }
    if let Some(i) = names.iter().position(|n| n == "States.ALL")
        && (names.len() != 1 || i != 0)
    {
        return Err(err(
            format!("{at}/ErrorEquals"),
            "States.ALL must appear alone",
        ));
    }
    Ok(names)
}

/// A `States.ALL` entry must be the last Retrier or Catcher.
fn all_is_last(errors: &[Vec<String>], at: &str, field: &str) -> Result<(), DefinitionError> {
    let n = errors.len();
    match errors
        .iter()
        .position(|e| e.iter().any(|x| x == "States.ALL"))
    {
        Some(i) if i + 1 != n => Err(err(
            format!("{at}/{field}/{i}/ErrorEquals"),
            format!("States.ALL must be in the last {field} entry"),
        )),
        _ => Ok(()),
    }
}

fn retriers(obj: &Map<String, Value>, at: &str) -> Result<Vec<Retrier>, DefinitionError> {
    let Some(v) = obj.get("Retry") else {
        return Ok(vec![]);
    };
    let list = v
        .as_array()
        .ok_or_else(|| err(format!("{at}/Retry"), "must be an array"))?;
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let at = format!("{at}/Retry/{i}");
        let r = r.as_object().ok_or_else(|| err(&at, "must be an object"))?;
        check_fields(
            r,
            &at,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
            "a Retrier",
        )?;
        let interval_seconds = uint(r, &at, "IntervalSeconds")?.unwrap_or(1);
        if interval_seconds == 0 {
            return Err(err(format!("{at}/IntervalSeconds"), "must be at least 1"));
        }
        let backoff_rate = match r.get("BackoffRate") {
            None => 2.0,
            Some(v) => v
                .as_f64()
                .filter(|b| *b >= 1.0)
                .ok_or_else(|| err(format!("{at}/BackoffRate"), "must be a number >= 1.0"))?,
        };
        let full_jitter = match string(r, &at, "JitterStrategy")?.as_deref() {
            None | Some("NONE") => false,
            Some("FULL") => true,
            Some(other) => {
                return Err(err(
                    format!("{at}/JitterStrategy"),
                    format!("must be FULL or NONE, not '{other}'"),
                ));
            }
        };
        out.push(Retrier {
            errors: error_list(r, &at)?,
            interval_seconds,
            max_attempts: uint(r, &at, "MaxAttempts")?.unwrap_or(3),
            backoff_rate,
            max_delay_seconds: uint(r, &at, "MaxDelaySeconds")?,
            full_jitter,
        });
    }
    all_is_last(
        &out.iter().map(|r| r.errors.clone()).collect::<Vec<_>>(),
        at,
        "Retry",
    )?;
    Ok(out)
}

fn catchers(
    obj: &Map<String, Value>,
    at: &str,
    jsonata: bool,
) -> Result<Vec<Catcher>, DefinitionError> {
    let Some(v) = obj.get("Catch") else {
        return Ok(vec![]);
    };
    let list = v
        .as_array()
        .ok_or_else(|| err(format!("{at}/Catch"), "must be an array"))?;
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let at = format!("{at}/Catch/{i}");
        let c = c.as_object().ok_or_else(|| err(&at, "must be an object"))?;
        let allowed: &[&str] = if jsonata {
            &["ErrorEquals", "Next", "Output", "Assign", "Comment"]
        } else {
            &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
        };
        check_fields(c, &at, allowed, "a Catcher")?;
        out.push(Catcher {
            errors: error_list(c, &at)?,
            next: required_string(c, &at, "Next")?,
            result_path: nullable_path(c, &at, "ResultPath", true)?,
            assign: template_in(c, &at, "Assign", jsonata)?,
            output: template_in(c, &at, "Output", jsonata)?,
        });
    }
    all_is_last(
        &out.iter().map(|c| c.errors.clone()).collect::<Vec<_>>(),
        at,
        "Catch",
    )?;
    Ok(out)
}

const COMMON: &[&str] = &["Type", "Comment"];
const IO: &[&str] = &["InputPath", "OutputPath"];

pub(crate) fn parse_definition(v: &Value) -> Result<Definition, DefinitionError> {
    let obj = v
        .as_object()
        .ok_or_else(|| err("", "the definition must be a JSON object"))?;
    check_fields(
        obj,
        "",
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        ],
        "the top level",
    )?;
    let jsonata = query_language(obj, "", false)?;
    if let Some(v) = obj.get("Version")
        && !v.is_string()
    {
        return Err(err("/Version", "must be a string"));
    }
    Ok(Definition {
        block: parse_block(obj, "", jsonata)?,
        timeout_seconds: uint(obj, "", "TimeoutSeconds")?,
    })
}

/// `QueryLanguage` of the definition or a state (`inherited` when absent): true for JSONata.
fn query_language(
    obj: &Map<String, Value>,
    at: &str,
    inherited: bool,
) -> Result<bool, DefinitionError> {
    match string(obj, at, "QueryLanguage")?.as_deref() {
        None => Ok(inherited),
        Some("JSONata") => Ok(true),
        Some("JSONPath") if inherited && !at.is_empty() => Err(err(
            format!("{at}/QueryLanguage"),
            "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
        )),
        Some("JSONPath") => Ok(false),
        Some(other) => Err(err(
            format!("{at}/QueryLanguage"),
            format!("must be JSONPath or JSONata, not '{other}'"),
        )),
    }
}

/// `jsonata`: the definition's QueryLanguage, which states inherit (nested ones too).
fn parse_block(
    obj: &Map<String, Value>,
    at: &str,
    jsonata: bool,
) -> Result<Block, DefinitionError> {
    let start_at = required_string(obj, at, "StartAt")?;
    let states_obj = obj
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| err(format!("{at}/States"), "an object of states is required"))?;
    if states_obj.is_empty() {
        return Err(err(
            format!("{at}/States"),
            "must contain at least one state",
        ));
    }
    let mut states = BTreeMap::new();
    for (name, s) in states_obj {
        let sat = format!("{at}/States/{name}");
        if name.is_empty() || name.chars().count() > 80 {
            return Err(err(&sat, "state names must be 1 to 80 characters long"));
        }
        let s = s
            .as_object()
            .ok_or_else(|| err(&sat, "a state must be an object"))?;
        states.insert(name.clone(), parse_state(name, s, &sat, jsonata)?);
    }
    Ok(Block { start_at, states })
}

/// Fields of a JSONata state: the JSONPath state's fields without paths, Parameters,
/// ResultSelector or Result; plus Output (all but Fail), Arguments (Task, Parallel), Items (Map).
fn allowed_for_jsonata(ty: &str) -> Option<Vec<&'static str>> {
    const JSONPATH_ONLY: &[&str] = &["Parameters", "ResultSelector", "Result", "Iterator"];
    let mut fields: Vec<&'static str> = allowed_for(ty)?
        .into_iter()
        .filter(|f| !f.ends_with("Path") && !JSONPATH_ONLY.contains(f))
        .collect();
    match ty {
        "Fail" => {}
        "Task" | "Parallel" => fields.extend(["Output", "Arguments"]),
        "Map" => fields.extend(["Output", "Items"]),
        _ => fields.push("Output"),
    }
    Some(fields)
}

fn allowed_for(ty: &str) -> Option<Vec<&'static str>> {
    let extra: &[&str] = match ty {
        "Pass" => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
        ],
        "Task" => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Assign",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default", "Assign"],
        "Wait" => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
        ],
        "Succeed" => IO,
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        "Map" => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
            "Assign",
        ],
        _ => return None,
    };
    Some(
        COMMON
            .iter()
            .chain(extra.iter())
            .chain(["QueryLanguage"].iter())
            .copied()
            .collect(),
    )
}

fn parse_state(
    name: &str,
    s: &Map<String, Value>,
    at: &str,
    inherited: bool,
) -> Result<State, DefinitionError> {
    let ty = required_string(s, at, "Type")?;
    let jsonata = query_language(s, at, inherited)?;
    let allowed = if jsonata {
        allowed_for_jsonata(&ty)
    } else {
        allowed_for(&ty)
    }
    .ok_or_else(|| err(format!("{at}/Type"), format!("unknown state type '{ty}'")))?;
    let state_kind = if jsonata {
        format!("a JSONata {ty} state")
    } else {
        format!("a {ty} state")
    };
    check_fields(s, at, &allowed, &state_kind)?;
    let next = string(s, at, "Next")?;
    if allowed.contains(&"End") {
        let end = match s.get("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(err(format!("{at}/End"), "must be a boolean")),
        };
        match (&next, end) {
            (Some(_), true) => return Err(err(at, "a state cannot have both 'Next' and 'End'")),
            (None, false) => {
                return Err(err(
                    format!("{at}/Next"),
                    "a non-terminal state needs 'Next' (or 'End': true)",
                ));
            }
            _ => {}
        }
    }
    let kind = match ty.as_str() {
        "Pass" => Kind::Pass {
            result: s.get("Result").cloned(),
        },
        "Task" => Kind::Task(TaskSpec {
            resource: required_string(s, at, "Resource")?,
            timeout_seconds: uint(s, at, "TimeoutSeconds")?,
            timeout_seconds_path: path(s, at, "TimeoutSecondsPath")?,
            heartbeat_seconds: uint(s, at, "HeartbeatSeconds")?,
        }),
        "Choice" => {
            let list = s
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or_else(|| {
                    err(
                        format!("{at}/Choices"),
                        "a non-empty array of rules is required",
                    )
                })?;
            let mut rules = Vec::new();
            for (i, r) in list.iter().enumerate() {
                rules.push(choice::parse_rule(
                    r,
                    &format!("{at}/Choices/{i}"),
                    jsonata,
                )?);
            }
            Kind::Choice {
                rules,
                default: string(s, at, "Default")?,
            }
        }
        "Wait" => parse_wait(s, at, jsonata)?,
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: fail_field(s, at, "Error", jsonata)?,
            cause: fail_field(s, at, "Cause", jsonata)?,
        },
        "Parallel" => {
            let list = s
                .get("Branches")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or_else(|| {
                    err(
                        format!("{at}/Branches"),
                        "a non-empty array of branches is required",
                    )
                })?;
            let mut branches = Vec::new();
            for (i, b) in list.iter().enumerate() {
                let bat = format!("{at}/Branches/{i}");
                let b = b
                    .as_object()
                    .ok_or_else(|| err(&bat, "a branch must be an object"))?;
                check_fields(b, &bat, &["StartAt", "States", "Comment"], "a branch")?;
                branches.push(parse_block(b, &bat, inherited)?);
            }
            Kind::Parallel { branches }
        }
        "Map" => Kind::Map(Box::new(parse_map(s, at, jsonata, inherited)?)),
        _ => {
            return Err(err(
                format!("{at}/Type"),
                format!("unknown state type '{ty}'"),
            ));
        }
    };
    let is = |k: &str| allowed.contains(&k);
    let state = State {
        name: name.to_string(),
        input_path: if is("InputPath") {
            nullable_path(s, at, "InputPath", false)?
        } else {
            None
        },
        output_path: if is("OutputPath") {
            nullable_path(s, at, "OutputPath", false)?
        } else {
            None
        },
        result_path: if is("ResultPath") {
            nullable_path(s, at, "ResultPath", true)?
        } else {
            None
        },
        parameters: template(s, at, "Parameters")?,
        result_selector: template(s, at, "ResultSelector")?,
        assign: template_in(s, at, "Assign", jsonata)?,
        jsonata,
        output: template_in(s, at, "Output", jsonata)?,
        arguments: template_in(s, at, "Arguments", jsonata)?,
        next,
        retry: retriers(s, at)?,
        catch: catchers(s, at, jsonata)?,
        kind,
    };
    Ok(state)
}

fn fail_field(
    s: &Map<String, Value>,
    at: &str,
    key: &str,
    jsonata: bool,
) -> Result<Option<Source>, DefinitionError> {
    if jsonata {
        if let Some(v) = s.get(key)
            && !v.is_string()
        {
            return Err(err(format!("{at}/{key}"), "must be a string"));
        }
        return Ok(template_in(s, at, key, true)?.map(|t| Source::Query(Box::new(t))));
    }
    let lit = string(s, at, key)?;
    let path_key = format!("{key}Path");
    let dynamic = string(s, at, &path_key)?;
    match (lit, dynamic) {
        (Some(_), Some(_)) => Err(err(
            at,
            format!("'{key}' and '{path_key}' cannot both be set"),
        )),
        (Some(l), None) => Ok(Some(Source::Call(crate::intrinsics::Call {
            name: "States.Format".into(),
            args: vec![crate::intrinsics::Arg::Literal(Value::String(
                l.replace('\\', "\\\\")
                    .replace('{', "\\{")
                    .replace('}', "\\}"),
            ))],
        }))),
        (None, Some(p)) => Source::parse(&p)
            .map(Some)
            .map_err(|e| err(format!("{at}/{path_key}"), e)),
        (None, None) => Ok(None),
    }
}

fn parse_wait(s: &Map<String, Value>, at: &str, jsonata: bool) -> Result<Kind, DefinitionError> {
    if jsonata {
        return parse_wait_jsonata(s, at);
    }
    let keys = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"];
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| s.contains_key(*k))
        .collect();
    if present.len() != 1 {
        return Err(err(
            at,
            "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
        ));
    }
    let w = match present[0] {
        "Seconds" => WaitFor::Seconds(uint(s, at, "Seconds")?.unwrap_or(0)),
        "SecondsPath" => {
            WaitFor::SecondsPath(path(s, at, "SecondsPath")?.ok_or_else(|| err(at, "SecondsPath"))?)
        }
        "Timestamp" => {
            let t = required_string(s, at, "Timestamp")?;
            WaitFor::Timestamp(crate::time::parse_timestamp(&t).ok_or_else(|| {
                err(
                    format!("{at}/Timestamp"),
                    format!("'{t}' is not an ISO-8601 extended offset date-time"),
                )
            })?)
        }
        _ => WaitFor::TimestampPath(
            path(s, at, "TimestampPath")?.ok_or_else(|| err(at, "TimestampPath"))?,
        ),
    };
    Ok(Kind::Wait(w))
}

/// A JSONata Wait: `Seconds` or `Timestamp`, each a literal or a `{% ... %}` expression.
fn parse_wait_jsonata(s: &Map<String, Value>, at: &str) -> Result<Kind, DefinitionError> {
    let query = |key: &str| -> Result<Option<Template>, DefinitionError> {
        match s.get(key).and_then(Value::as_str) {
            Some(text) if crate::query::expression_text(text).is_some() => {
                template_in(s, at, key, true)
            }
            _ => Ok(None),
        }
    };
    match (s.contains_key("Seconds"), s.contains_key("Timestamp")) {
        (true, false) => match query("Seconds")? {
            Some(t) => Ok(Kind::Wait(WaitFor::SecondsQuery(t))),
            None => Ok(Kind::Wait(WaitFor::Seconds(
                uint(s, at, "Seconds")?.unwrap_or(0),
            ))),
        },
        (false, true) => match query("Timestamp")? {
            Some(t) => Ok(Kind::Wait(WaitFor::TimestampQuery(t))),
            None => parse_wait(s, at, false),
        },
        _ => Err(err(
            at,
            "a JSONata Wait state needs exactly one of Seconds, Timestamp",
        )),
    }
}

/// A Map setting that is a number or, in a JSONata state, a `{% ... %}` expression.
fn number_or_query(
    s: &Map<String, Value>,
    at: &str,
    key: &str,
    jsonata: bool,
) -> Result<Option<Template>, DefinitionError> {
    match s.get(key) {
        Some(Value::String(text)) if jsonata && crate::query::expression_text(text).is_some() => {
            template_in(s, at, key, true)
        }
        _ => Ok(None),
    }
}

fn parse_map(
    s: &Map<String, Value>,
    at: &str,
    jsonata: bool,
    inherited: bool,
) -> Result<MapSpec, DefinitionError> {
    let max_concurrency_query = number_or_query(s, at, "MaxConcurrency", jsonata)?;
    let tolerated_count_query = number_or_query(s, at, "ToleratedFailureCount", jsonata)?;
    let tolerated_percentage_query = number_or_query(s, at, "ToleratedFailurePercentage", jsonata)?;
    if let Some(items) = s.get("Items")
        && !(items.is_array()
            || items
                .as_str()
                .and_then(crate::query::expression_text)
                .is_some())
    {
        return Err(err(
            format!("{at}/Items"),
            "must be an array or a {% ... %} expression",
        ));
    }
    let (key, proc_obj) = match (s.get("ItemProcessor"), s.get("Iterator")) {
        (Some(p), None) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        _ => {
            return Err(err(
                at,
                "a Map state needs exactly one of 'ItemProcessor' or 'Iterator'",
            ));
        }
    };
    let pat = format!("{at}/{key}");
    let p = proc_obj
        .as_object()
        .ok_or_else(|| err(&pat, "must be an object"))?;
    check_fields(
        p,
        &pat,
        &["StartAt", "States", "Comment", "ProcessorConfig"],
        "an item processor",
    )?;
    let mut distributed = false;
    if let Some(cfg) = p.get("ProcessorConfig") {
        let cat = format!("{pat}/ProcessorConfig");
        let cfg = cfg
            .as_object()
            .ok_or_else(|| err(&cat, "must be an object"))?;
        check_fields(cfg, &cat, &["Mode", "ExecutionType"], "ProcessorConfig")?;
        distributed = match string(cfg, &cat, "Mode")?.as_deref() {
            None | Some("INLINE") => false,
            Some("DISTRIBUTED") => true,
            Some(m) => return Err(err(format!("{cat}/Mode"), format!("unknown mode '{m}'"))),
        };
    }
    if s.contains_key("Parameters") && s.contains_key("ItemSelector") {
        return Err(err(
            at,
            "'Parameters' and 'ItemSelector' cannot both be set",
        ));
    }
    let tolerated_percentage = match s.get("ToleratedFailurePercentage") {
        None => None,
        Some(_) if tolerated_percentage_query.is_some() => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| {
                    err(
                        format!("{at}/ToleratedFailurePercentage"),
                        "must be a number between 0 and 100",
                    )
                })?,
        ),
    };
    // Iterations run one after another, so MaxConcurrency is only checked, not used.
    if max_concurrency_query.is_none() {
        uint(s, at, "MaxConcurrency")?;
    }
    Ok(MapSpec {
        processor: parse_block(p, &pat, inherited)?,
        items_path: nullable_path(s, at, "ItemsPath", false)?,
        item_selector: template_in(s, at, "ItemSelector", jsonata)?,
        max_concurrency_path: path(s, at, "MaxConcurrencyPath")?,
        tolerated_count: if tolerated_count_query.is_some() {
            None
        } else {
            uint(s, at, "ToleratedFailureCount")?
        },
        tolerated_count_path: path(s, at, "ToleratedFailureCountPath")?,
        tolerated_percentage,
        tolerated_percentage_path: path(s, at, "ToleratedFailurePercentagePath")?,
        distributed,
        items: template_in(s, at, "Items", jsonata)?,
        max_concurrency_query,
        tolerated_count_query,
        tolerated_percentage_query,
    })
}
