//! The local resource registry for the settlement workflow's Task states: the Lambda functions
//! (the core's task contract, `eventpay_core::run_task`, exactly as the AWS Lambda binaries call
//! it) and the SNS `publish` service integration. Also holds injectable faults, so a person or a test can make a
//! function fail and watch retries, catches and the FAILED path.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use eventpay_core::{SettlementPolicy, StoreError, Task, TaskErrorName, TaskFailure};
use eventpay_states::{TaskError, TaskInvoker};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::chaos::TaskFault;
use crate::notify::{Attributes, LocalNotifier, Publish};
use crate::store::SqliteStore;

pub const REGION: &str = "local";
pub const ACCOUNT: &str = "000000000000";
pub const SNS_PUBLISH: &str = "arn:aws:states:::sns:publish";
pub const UPDATE_STATUS: &str = "eventpay-update-status";
pub const VALIDATE: &str = "eventpay-validate";
pub const POST_LEDGER: &str = "eventpay-post-ledger";
pub const FUNCTIONS: [&str; 3] = [UPDATE_STATUS, VALIDATE, POST_LEDGER];
/// Deployed functions are named `eventpay-<task name>` (infra/ names them the same).
const FUNCTION_PREFIX: &str = "eventpay-";

pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// The notifications topic: alarms on AWS, and the high-value rule.
pub fn topic_arn() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:eventpay-notifications")
}

/// The outcomes topic: the settlement workflow's publishes, each with its `status` attribute.
pub fn outcomes_topic_arn() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:eventpay-outcomes")
}

/// Service integrations the runtime serves itself (not Lambda functions).
pub fn is_integration(resource: &str) -> bool {
    resource == SNS_PUBLISH
}

/// The values for the `${...}` placeholders of `spec/settlement.asl.json` (Terraform fills the
/// same names with real ARNs).
pub fn template_vars() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "update_status_function_arn".into(),
            function_arn(UPDATE_STATUS),
        ),
        ("validate_function_arn".into(), function_arn(VALIDATE)),
        ("post_ledger_function_arn".into(), function_arn(POST_LEDGER)),
        ("outcomes_topic_arn".into(), outcomes_topic_arn()),
    ])
}

/// Remaining injected failures per function name, with the error they fail with.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<HashMap<String, (u32, TaskErrorName)>>>);

impl Faults {
    /// The next `failures` calls of `function` fail with `error` (`Store.Unavailable`, a
    /// transient error, unless said otherwise).
    pub fn set(&self, function: &str, failures: u32, error: TaskErrorName) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(function.to_owned(), (failures, error));
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, u32> {
        self.0
            .lock()
            .map(|m| m.iter().map(|(k, (n, _))| (k.clone(), *n)).collect())
            .unwrap_or_default()
    }

    fn take(&self, function: &str) -> Option<TaskErrorName> {
        let mut map = self.0.lock().ok()?;
        match map.get_mut(function) {
            Some((n, error)) if *n > 0 => {
                *n -= 1;
                Some(*error)
            }
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct LocalTasks {
    pub store: SqliteStore,
    pub notifier: LocalNotifier,
    pub policy: Arc<SettlementPolicy>,
    pub faults: Faults,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublishInput {
    topic_arn: String,
    #[serde(default)]
    subject: Option<String>,
    message: Value,
    #[serde(default)]
    message_attributes: Attributes,
}

fn task_error(e: StoreError) -> TaskError {
    failed(e.into())
}

fn failed(f: TaskFailure) -> TaskError {
    TaskError {
        error: f.name().to_owned(),
        cause: f.cause,
    }
}

fn bad_input(e: serde_json::Error) -> TaskError {
    failed(TaskFailure::new(TaskErrorName::InvalidInput, e.to_string()))
}

impl LocalTasks {
    async fn call(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        if resource == SNS_PUBLISH {
            let p: PublishInput = serde_json::from_value(input).map_err(bad_input)?;
            if ![topic_arn(), outcomes_topic_arn()].contains(&p.topic_arn) {
                return Err(TaskError {
                    error: "SNS.NotFoundException".into(),
                    cause: format!("Topic does not exist: {}", p.topic_arn),
                });
            }
            let message = match p.message {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let id = self
                .notifier
                .publish_one(Publish {
                    topic: &p.topic_arn,
                    subject: p.subject.as_deref(),
                    message: &message,
                    attributes: &p.message_attributes,
                })
                .await
                .map_err(task_error)?;
            return Ok(json!({ "MessageId": id }));
        }
        let function = resource
            .strip_prefix(&function_arn(""))
            .filter(|f| FUNCTIONS.contains(f))
            .ok_or_else(|| TaskError {
                error: "States.Runtime".into(),
                cause: format!("resource {resource:?} is not registered in the local runtime"),
            })?;
        let task = function
            .strip_prefix(FUNCTION_PREFIX)
            .and_then(Task::from_name)
            .ok_or_else(|| TaskError {
                error: "States.Runtime".into(),
                cause: format!("function {function:?} is no task of the contract"),
            })?;
        if let Some(error) = self.faults.take(function) {
            // By default an injected fault stands for a dependency that is down: a transient
            // failure, retried by the state machine as a real outage would be.
            return Err(failed(TaskFailure::new(
                error,
                format!("a fault injected through /_local/faults made {function} fail"),
            )));
        }
        self.run_contract(function, task, input).await
    }

    /// The core's task contract, with the simulator's seeded faults around it when they are on
    /// ([`crate::chaos`]): a failure before running, or an answer lost after the work is done.
    async fn run_contract(
        &self,
        function: &str,
        task: Task,
        input: Value,
    ) -> Result<Value, TaskError> {
        let chaos = input
            .get("payment_id")
            .and_then(Value::as_str)
            .and_then(|id| crate::chaos::task_fault(function, id));
        if chaos == Some(TaskFault::Fail) {
            return Err(failed(TaskFailure::new(
                TaskErrorName::StoreUnavailable,
                format!("chaos: {function} failed before running"),
            )));
        }
        let result =
            eventpay_core::run_task(task, &self.store, &self.policy, input, chrono::Utc::now())
                .await
                .map_err(failed);
        if chaos == Some(TaskFault::LoseAnswer) {
            // The work is done (and committed); only its answer is lost, as when a Lambda
            // finishes after the state machine's timeout.
            return Err(TaskError {
                error: "States.Timeout".into(),
                cause: format!("chaos: the answer of {function} was lost"),
            });
        }
        result
    }
}

impl TaskInvoker for LocalTasks {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        use tracing::Instrument;
        // Every log line of the task names the payment's trace (the workflow passes it to
        // every task: eventpay_core::task_trace_id), as the Lambda functions' lines do on AWS.
        let span = tracing::info_span!("task", %resource, trace_id = tracing::field::Empty);
        if let Some(trace) = eventpay_core::task_trace_id(&input) {
            span.record("trace_id", tracing::field::display(trace));
        }
        Box::pin(
            async move {
                let result = self.call(resource, input).await;
                // One line per task call, at debug (a settlement makes five), so
                // `RUST_LOG=eventpay_local::tasks=debug` follows a payment's tasks by its trace.
                match &result {
                    Ok(_) => tracing::debug!("task done"),
                    Err(e) => tracing::debug!(error = %e.error, cause = %e.cause, "task failed"),
                }
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, Durability};

    fn tasks(db: &Db) -> LocalTasks {
        LocalTasks {
            store: SqliteStore::new(db.clone(), Arc::new(tokio::sync::Notify::new())),
            notifier: LocalNotifier::new(db.clone()),
            policy: Arc::new(SettlementPolicy::default()),
            faults: Faults::default(),
        }
    }

    #[tokio::test]
    async fn a_publish_keeps_its_topic_and_message_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Durability::Normal).unwrap();
        let input = json!({
            "TopicArn": outcomes_topic_arn(),
            "Subject": "Payment FAILED",
            "Message": "Payment p-1 is FAILED.",
            "MessageAttributes": {"status": {"DataType": "String", "StringValue": "FAILED"}}
        });
        let out = tasks(&db).call(SNS_PUBLISH, input).await.unwrap();
        assert!(out["MessageId"].is_string());
        crate::notify::insert_for_test(&db).await;
        let rows = db.read(|c| crate::notify::list(c, 10)).await.unwrap();
        assert_eq!(rows.len(), 2);
        // Newest first: the high-value rule's message has no attributes.
        assert_eq!(rows[0]["topic_arn"], topic_arn());
        assert_eq!(rows[0]["message_attributes"], json!({}));
        assert_eq!(rows[1]["topic_arn"], outcomes_topic_arn());
        assert_eq!(
            rows[1]["message_attributes"]["status"],
            json!({"DataType": "String", "StringValue": "FAILED"})
        );
    }

    #[tokio::test]
    async fn a_publish_to_an_unknown_topic_or_with_a_bad_attribute_fails() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Durability::Normal).unwrap();
        let t = tasks(&db);
        let unknown = json!({"TopicArn": "arn:aws:sns:local:000000000000:other", "Message": "m"});
        let err = t.call(SNS_PUBLISH, unknown).await.unwrap_err();
        assert_eq!(err.error, "SNS.NotFoundException");
        let bad = json!({"TopicArn": outcomes_topic_arn(), "Message": "m",
                         "MessageAttributes": {"status": {"DataType": "String"}}});
        let err = t.call(SNS_PUBLISH, bad).await.unwrap_err();
        assert_eq!(
            err.error,
            TaskFailure::new(TaskErrorName::InvalidInput, "").name()
        );
    }
}
