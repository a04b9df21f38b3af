//! States and blocks: the fields each state type allows (JSONPath and JSONata), `Next`/`End`,
//! and the common fields of every state; the kind-specific parts come from `kinds`, `choice`
//! and `handlers`.

use super::choice;
use super::fields::{
    check_fields, err, non_empty_array, nullable_path, query_language, required_string, string,
    template, template_in,
};
use super::handlers::{catchers, retriers};
use super::kinds;
use super::model::{Block, Kind, State};
use crate::error::DefinitionError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const COMMON: &[&str] = &["Type", "Comment"];
const IO: &[&str] = &["InputPath", "OutputPath"];

/// `jsonata`: the definition's QueryLanguage, which states inherit (nested ones too).
pub(super) fn parse_block(
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

// A data table (the fields of each state type, as the States Language lists them): longer
// than 80 lines because it is one row per field.
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
    let next = next_or_end(s, at, &allowed)?;
    let kind = parse_kind(&ty, s, at, jsonata, inherited)?;
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

/// `Next`, checked against `End` for the state types that take them.
fn next_or_end(
    s: &Map<String, Value>,
    at: &str,
    allowed: &[&str],
) -> Result<Option<String>, DefinitionError> {
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
    Ok(next)
}

fn parse_kind(
    ty: &str,
    s: &Map<String, Value>,
    at: &str,
    jsonata: bool,
    inherited: bool,
) -> Result<Kind, DefinitionError> {
    Ok(match ty {
        "Pass" => Kind::Pass {
            result: s.get("Result").cloned(),
        },
        "Task" => Kind::Task(kinds::parse_task(s, at)?),
        "Choice" => parse_choices(s, at, jsonata)?,
        "Wait" => kinds::parse_wait(s, at, jsonata)?,
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: kinds::fail_field(s, at, "Error", jsonata)?,
            cause: kinds::fail_field(s, at, "Cause", jsonata)?,
        },
        "Parallel" => Kind::Parallel {
            branches: parse_branches(s, at, inherited)?,
        },
        "Map" => Kind::Map(Box::new(kinds::parse_map(
            s,
            at,
            jsonata,
            inherited,
            parse_block,
        )?)),
        _ => {
            return Err(err(
                format!("{at}/Type"),
                format!("unknown state type '{ty}'"),
            ));
        }
    })
}

fn parse_choices(s: &Map<String, Value>, at: &str, jsonata: bool) -> Result<Kind, DefinitionError> {
    let list = non_empty_array(s, at, "Choices", "rules")?;
    let mut rules = Vec::new();
    for (i, r) in list.iter().enumerate() {
        rules.push(choice::parse_rule(
            r,
            &format!("{at}/Choices/{i}"),
            jsonata,
        )?);
    }
    Ok(Kind::Choice {
        rules,
        default: string(s, at, "Default")?,
    })
}

fn parse_branches(
    s: &Map<String, Value>,
    at: &str,
    inherited: bool,
) -> Result<Vec<Block>, DefinitionError> {
    let list = non_empty_array(s, at, "Branches", "branches")?;
    let mut branches = Vec::new();
    for (i, b) in list.iter().enumerate() {
        let bat = format!("{at}/Branches/{i}");
        let b = b
            .as_object()
            .ok_or_else(|| err(&bat, "a branch must be an object"))?;
        check_fields(b, &bat, &["StartAt", "States", "Comment"], "a branch")?;
        branches.push(parse_block(b, &bat, inherited)?);
    }
    Ok(branches)
}
