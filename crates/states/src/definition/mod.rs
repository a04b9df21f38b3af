//! Definition parsing and validation. Parsing checks every field's type and shape and rejects
//! unknown fields and unsupported constructs, building the typed [`model`]; `validate` then
//! checks the state graph. Files by concern: `fields` (single fields), `states` (state types,
//! blocks, common fields), `kinds` (Task, Wait, Fail, Map), `choice` (choice rules), `handlers`
//! (Retry, Catch), `validate` (the graph).

mod choice;
mod fields;
mod handlers;
mod kinds;
mod model;
mod states;
mod validate;

pub(crate) use choice::{Cond, Kind as ChoiceKind, Op, Operand, Rule};
pub(crate) use model::{
    Block, Catcher, Definition, Kind, MapSpec, Retrier, State, TaskSpec, WaitFor,
};
pub(crate) use validate::{collect_resources, validate_block};

use crate::error::DefinitionError;
use fields::{check_fields, err, query_language, uint};
use serde_json::Value;

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
        block: states::parse_block(obj, "", jsonata)?,
        timeout_seconds: uint(obj, "", "TimeoutSeconds")?,
    })
}
