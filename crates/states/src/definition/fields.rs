//! Reading single fields of a definition object: type checks, paths, templates, the allowed
//! field names, each error naming the JSON pointer of the field.

use crate::error::DefinitionError;
use crate::path::{JsonPath, Root};
use crate::template::{self, Template};
use serde_json::{Map, Value};

pub(super) fn err(path: impl Into<String>, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        path: path.into(),
        message: message.into(),
    }
}

pub(super) fn check_fields(
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

pub(super) fn string(
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

pub(super) fn required_string(
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

/// A required, non-empty array field (`Choices`, `Branches`) of `what`.
pub(super) fn non_empty_array<'a>(
    obj: &'a Map<String, Value>,
    at: &str,
    key: &str,
    what: &str,
) -> Result<&'a Vec<Value>, DefinitionError> {
    obj.get(key)
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            err(
                format!("{at}/{key}"),
                format!("a non-empty array of {what} is required"),
            )
        })
}

pub(super) fn uint(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<u64>, DefinitionError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| err(format!("{at}/{key}"), "must be a non-negative integer")),
    }
}

pub(super) fn path(
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
pub(super) fn nullable_path(
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
            if reference && p.root != Root::Input {
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

pub(super) fn template(
    obj: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<Template>, DefinitionError> {
    template_in(obj, at, key, false)
}

/// A template field; in a JSONata state `{% ... %}` strings are expressions and `.$` keys are
/// plain keys.
pub(super) fn template_in(
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
                template::compile_jsonata(v)
            } else {
                template::compile(v)
            };
            compiled
                .map(Some)
                .map_err(|(p, m)| err(format!("{at}/{key}{p}"), m))
        }
    }
}

/// `QueryLanguage` of the definition or a state (`inherited` when absent): true for JSONata.
pub(super) fn query_language(
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
