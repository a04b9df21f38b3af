//! The kind-specific parts of states: Task, Wait, Fail and Map settings.

use super::fields::{
    check_fields, err, nullable_path, path, required_string, string, template_in, uint,
};
use super::model::{Block, Kind, MapSpec, TaskSpec, WaitFor};
use crate::error::DefinitionError;
use crate::intrinsics::{Arg, Call};
use crate::query::expression_text;
use crate::template::{Source, Template};
use serde_json::{Map, Value};

pub(super) fn fail_field(
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
        (Some(l), None) => Ok(Some(Source::Call(Call {
            name: "States.Format".into(),
            args: vec![Arg::Literal(Value::String(
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

pub(super) fn parse_wait(
    s: &Map<String, Value>,
    at: &str,
    jsonata: bool,
) -> Result<Kind, DefinitionError> {
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
            Some(text) if expression_text(text).is_some() => template_in(s, at, key, true),
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
        Some(Value::String(text)) if jsonata && expression_text(text).is_some() => {
            template_in(s, at, key, true)
        }
        _ => Ok(None),
    }
}

/// Parses a nested block (a Map's item processor); `states::parse_block`, passed in so that
/// this module need not import the module that imports it.
pub(super) type BlockParser = fn(&Map<String, Value>, &str, bool) -> Result<Block, DefinitionError>;

pub(super) fn parse_map(
    s: &Map<String, Value>,
    at: &str,
    jsonata: bool,
    inherited: bool,
    parse_block: BlockParser,
) -> Result<MapSpec, DefinitionError> {
    let max_concurrency_query = number_or_query(s, at, "MaxConcurrency", jsonata)?;
    let tolerated_count_query = number_or_query(s, at, "ToleratedFailureCount", jsonata)?;
    let tolerated_percentage_query = number_or_query(s, at, "ToleratedFailurePercentage", jsonata)?;
    if let Some(items) = s.get("Items")
        && !(items.is_array() || items.as_str().and_then(expression_text).is_some())
    {
        return Err(err(
            format!("{at}/Items"),
            "must be an array or a {% ... %} expression",
        ));
    }
    let (pat, p, distributed) = item_processor(s, at)?;
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

/// `ItemProcessor` (or legacy `Iterator`): its pointer, its object and whether its
/// `ProcessorConfig.Mode` is DISTRIBUTED.
fn item_processor<'a>(
    s: &'a Map<String, Value>,
    at: &str,
) -> Result<(String, &'a Map<String, Value>, bool), DefinitionError> {
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
    Ok((pat, p, distributed))
}

/// A Task state's resource and its timeouts.
pub(super) fn parse_task(s: &Map<String, Value>, at: &str) -> Result<TaskSpec, DefinitionError> {
    Ok(TaskSpec {
        resource: required_string(s, at, "Resource")?,
        timeout_seconds: uint(s, at, "TimeoutSeconds")?,
        timeout_seconds_path: path(s, at, "TimeoutSecondsPath")?,
        heartbeat_seconds: uint(s, at, "HeartbeatSeconds")?,
    })
}
