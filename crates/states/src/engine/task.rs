//! Task states: invoking the resource through the embedding program's `TaskInvoker`, with the
//! history events AWS records for a Lambda function or a service integration.

use super::env::Env;
use super::flow::{Failure, Flow};
use super::scope::Scope;
use crate::definition::TaskSpec;
use crate::error::TaskError;
use crate::error::names;
use crate::history::text;
use serde_json::{Map, Value, json};

/// How the resource shows up in history: a Lambda ARN gets `LambdaFunction*` events, anything
/// else `Task*` events with `resourceType`/`resource` (e.g. `sns` / `publish`).
enum Kind {
    Lambda,
    Service {
        resource_type: String,
        resource: String,
    },
}

fn kind(resource: &str) -> Kind {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() >= 7 && parts[2] == "lambda" && parts[5] == "function" {
        return Kind::Lambda;
    }
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::") {
        let mut it = rest.splitn(2, ':');
        let service = it.next().unwrap_or_default().to_string();
        let action = it.next().unwrap_or_default().to_string();
        return Kind::Service {
            resource_type: service,
            resource: action,
        };
    }
    Kind::Service {
        resource_type: parts.get(2).copied().unwrap_or("unknown").to_string(),
        resource: resource.to_string(),
    }
}

pub(crate) async fn run(spec: &TaskSpec, scope: &Scope<'_>, env: &mut Env<'_>) -> Flow {
    let (params, timeout) = match prepare(spec, scope) {
        Ok(x) => x,
        Err(f) => return Flow::Error(f),
    };
    let kind = kind(&spec.resource);
    record_scheduled(&kind, spec, &params, timeout, env);
    let call = env.tasks.invoke(&spec.resource, params);
    // `None`: TimeoutSeconds passed before the task answered.
    let result = match timeout {
        Some(t) => match tokio::time::timeout(std::time::Duration::from_secs(t), call).await {
            Ok(r) => r.map_err(Some),
            Err(_) => Err(None),
        },
        None => call.await.map_err(Some),
    };
    env.now = env.now.max(env.clock.now());
    record_result(&kind, result, scope, env)
}

/// The task's input (Parameters or Arguments) and its timeout in seconds.
fn prepare(spec: &TaskSpec, scope: &Scope) -> Result<(Value, Option<u64>), Failure> {
    if scope.state.jsonata {
        return Ok((scope.arguments()?, spec.timeout_seconds));
    }
    let effective = scope.input_path()?;
    let params = scope
        .template(&scope.state.parameters, &effective)?
        .unwrap_or(effective.clone());
    let timeout = match (&spec.timeout_seconds, &spec.timeout_seconds_path) {
        (Some(t), _) => Some(*t),
        (None, Some(p)) => {
            let v = p
                .evaluate(&scope.roots(&effective))
                .ok()
                .and_then(|v| v.as_u64());
            Some(v.ok_or_else(|| {
                scope.runtime(&format!(
                    "The TimeoutSecondsPath '{}' does not reference a positive integer",
                    p.text
                ))
            })?)
        }
        (None, None) => None,
    };
    Ok((params, timeout))
}

/// `LambdaFunctionScheduled/Started` or `TaskScheduled/Started`.
fn record_scheduled(
    kind: &Kind,
    spec: &TaskSpec,
    params: &Value,
    timeout: Option<u64>,
    env: &mut Env<'_>,
) {
    let now = env.now;
    match kind {
        Kind::Lambda => {
            let mut d = json!({"resource": spec.resource, "input": text(params), "inputDetails": {"truncated": false}});
            if let Some(t) = timeout {
                d["timeoutInSeconds"] = json!(t);
            }
            env.rec.push(
                now,
                "LambdaFunctionScheduled",
                Some("lambdaFunctionScheduledEventDetails"),
                d,
            );
            env.rec
                .push(now, "LambdaFunctionStarted", None, Value::Null);
        }
        Kind::Service {
            resource_type,
            resource,
        } => {
            let mut d = json!({"resourceType": resource_type, "resource": resource, "region": env.info.region(), "parameters": text(params)});
            if let Some(t) = timeout {
                d["timeoutInSeconds"] = json!(t);
            }
            if let Some(h) = spec.heartbeat_seconds {
                d["heartbeatInSeconds"] = json!(h);
            }
            env.rec
                .push(now, "TaskScheduled", Some("taskScheduledEventDetails"), d);
            env.rec.push(
                now,
                "TaskStarted",
                Some("taskStartedEventDetails"),
                json!({"resourceType": resource_type, "resource": resource}),
            );
        }
    }
}

/// `...Succeeded` and the state's result, or `...Failed`/`...TimedOut` and its error.
fn record_result(
    kind: &Kind,
    result: Result<Value, Option<TaskError>>,
    scope: &Scope,
    env: &mut Env<'_>,
) -> Flow {
    let now = env.now;
    let (prefix, key_prefix, extra) = match kind {
        Kind::Lambda => ("LambdaFunction", "lambdaFunction", Map::new()),
        Kind::Service {
            resource_type,
            resource,
        } => {
            let mut m = Map::new();
            m.insert("resourceType".into(), json!(resource_type));
            m.insert("resource".into(), json!(resource));
            ("Task", "task", m)
        }
    };
    match result {
        Ok(output) => {
            let mut d = extra;
            d.insert("output".into(), json!(text(&output)));
            d.insert("outputDetails".into(), json!({"truncated": false}));
            env.rec.push(
                now,
                &format!("{prefix}Succeeded"),
                Some(&format!("{key_prefix}SucceededEventDetails")),
                Value::Object(d),
            );
            scope.finish(output)
        }
        Err(e) => {
            let (event, TaskError { error, cause }) = match e {
                Some(e) => ("Failed", e),
                None => (
                    "TimedOut",
                    TaskError {
                        error: names::TIMEOUT.into(),
                        cause: String::new(),
                    },
                ),
            };
            let mut d = extra;
            d.insert("error".into(), json!(error));
            d.insert("cause".into(), json!(cause));
            env.rec.push(
                now,
                &format!("{prefix}{event}"),
                Some(&format!("{key_prefix}{event}EventDetails")),
                Value::Object(d),
            );
            Flow::Error(Failure {
                error: Some(error),
                cause: Some(cause),
                from_branches: false,
                evaluation: false,
            })
        }
    }
}
