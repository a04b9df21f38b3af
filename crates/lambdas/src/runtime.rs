//! What every function's `main` shares: JSON logs, the SDK configuration from the environment,
//! the adapters built from the documented variables, and the runtime loop.

use std::fmt::Debug;
use std::future::Future;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use eventpay_aws::{
    DynamoLedger, DynamoStore, EventPublisher, KmsSigner, QueueSender, aws_sdk_dynamodb,
    aws_sdk_eventbridge, aws_sdk_kms, aws_sdk_sqs,
};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{self, ConfigError};

/// The environment a function starts in.
pub struct Function {
    sdk: aws_config::SdkConfig,
}

impl Function {
    /// Starts JSON logging and loads the SDK configuration.
    pub async fn start() -> Self {
        crate::logging::init();
        Function {
            sdk: eventpay_aws::sdk_config().await,
        }
    }

    pub fn store(&self) -> Result<DynamoStore, ConfigError> {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        Ok(DynamoStore::new(client, config::required(config::TABLE)?)
            .with_list_shards(config::list_shards()?))
    }

    /// The payments store that settles (post-ledger): it also needs `EVENTPAY_LEDGER_TABLE`.
    pub fn settling_store(&self) -> Result<DynamoStore, ConfigError> {
        let ledger = config::required(config::LEDGER_TABLE)?;
        Ok(self.store()?.with_ledger_table(ledger))
    }

    /// The ledger's reads, on `EVENTPAY_LEDGER_TABLE`.
    pub fn ledger(&self) -> Result<DynamoLedger, ConfigError> {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        Ok(DynamoLedger::new(
            client,
            config::required(config::LEDGER_TABLE)?,
        ))
    }

    pub fn signer(&self) -> Result<KmsSigner, ConfigError> {
        let client = aws_sdk_kms::Client::new(&self.sdk);
        Ok(KmsSigner::new(
            client,
            config::required(config::QUOTE_KEY_ID)?,
        ))
    }

    pub fn queue(&self) -> Result<QueueSender, ConfigError> {
        let client = aws_sdk_sqs::Client::new(&self.sdk);
        Ok(QueueSender::new(
            client,
            config::required(config::QUEUE_URL)?,
        ))
    }

    pub fn publisher(&self) -> Result<EventPublisher, ConfigError> {
        let client = aws_sdk_eventbridge::Client::new(&self.sdk);
        Ok(EventPublisher::new(
            client,
            config::required(config::EVENT_BUS)?,
        ))
    }
}

/// Runs the Lambda runtime loop with `handler` until the environment stops the process.
pub async fn serve<E, R, Err, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned,
    R: Serialize,
    Err: Into<Diagnostic> + Debug,
    F: Fn(E) -> Fut,
    Fut: Future<Output = Result<R, Err>>,
{
    // Boxed: the runtime's future type nests deep enough to overflow rustc's layout query
    // depth in each `main` otherwise.
    Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<E>| {
        handler(event.payload)
    })))
    .await
}

/// [`serve`] for an API function, whose every outcome is an HTTP response.
pub async fn serve_http<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(ApiGatewayProxyRequest) -> Fut,
    Fut: Future<Output = ApiGatewayProxyResponse>,
{
    serve(|req: ApiGatewayProxyRequest| {
        let response = handler(req);
        async move { Ok::<_, Diagnostic>(response.await) }
    })
    .await
}
