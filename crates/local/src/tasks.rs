//! The local resource registry for the settlement workflow's Task states: the Lambda functions
//! (thin over the core's use cases, exactly as the AWS Lambda binaries are) and the SNS
//! `publish` service integration. Also holds injectable faults, so a person or a test can make a
//! function fail and watch retries, catches and the FAILED path.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use eventpay_core::{SettlementPolicy, StatusUpdate, StoreError};
use eventpay_states::{TaskError, TaskInvoker};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::notify::LocalNotifier;
use crate::store::SqliteStore;

pub const REGION: &str = "local";
pub const ACCOUNT: &str = "000000000000";
pub const SNS_PUBLISH: &str = "arn:aws:states:::sns:publish";
pub const UPDATE_STATUS: &str = "eventpay-update-status";
pub const VALIDATE: &str = "eventpay-validate";
pub const POST_LEDGER: &str = "eventpay-post-ledger";
pub const FUNCTIONS: [&str; 3] = [UPDATE_STATUS, VALIDATE, POST_LEDGER];

pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

pub fn topic_arn() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:eventpay-notifications")
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
        ("notifications_topic_arn".into(), topic_arn()),
    ])
}

/// Remaining injected failures per function name.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<HashMap<String, u32>>>);

impl Faults {
    pub fn set(&self, function: &str, failures: u32) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(function.to_owned(), failures);
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, u32> {
        self.0
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    fn take(&self, function: &str) -> bool {
        let Ok(mut map) = self.0.lock() else {
            return false;
        };
        match map.get_mut(function) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
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
struct PaymentRef {
    payment_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublishInput {
    #[allow(dead_code)]
    topic_arn: String,
    #[serde(default)]
    subject: Option<String>,
    message: Value,
}

fn task_error(e: StoreError) -> TaskError {
    TaskError {
        error: e.code().to_owned(),
        cause: e.to_string(),
    }
}

fn bad_input(e: serde_json::Error) -> TaskError {
    TaskError {
        error: "InvalidInput".into(),
        cause: e.to_string(),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, TaskError> {
    serde_json::to_value(value).map_err(|e| TaskError {
        error: "InvalidOutput".into(),
        cause: e.to_string(),
    })
}

impl LocalTasks {
    async fn call(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        if resource == SNS_PUBLISH {
            let p: PublishInput = serde_json::from_value(input).map_err(bad_input)?;
            let message = match p.message {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let id = self
                .notifier
                .publish_one(p.subject.as_deref(), &message, None)
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
        if self.faults.take(function) {
            return Err(TaskError {
                error: "InjectedFault".into(),
                cause: format!("a fault injected through /_local/faults made {function} fail"),
            });
        }
        let now = chrono::Utc::now();
        match function {
            UPDATE_STATUS => {
                let update: StatusUpdate = serde_json::from_value(input).map_err(bad_input)?;
                to_json(
                    &eventpay_core::update_status(&self.store, &update, now)
                        .await
                        .map_err(task_error)?,
                )
            }
            VALIDATE => {
                let r: PaymentRef = serde_json::from_value(input).map_err(bad_input)?;
                let decision =
                    eventpay_core::validate_payment(&self.store, &r.payment_id, &self.policy)
                        .await
                        .map_err(task_error)?;
                to_json(&decision)
            }
            _ => {
                let r: PaymentRef = serde_json::from_value(input).map_err(bad_input)?;
                to_json(
                    &eventpay_core::post_ledger(&self.store, &r.payment_id, now)
                        .await
                        .map_err(task_error)?,
                )
            }
        }
    }
}

impl TaskInvoker for LocalTasks {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        Box::pin(self.call(resource, input))
    }
}
