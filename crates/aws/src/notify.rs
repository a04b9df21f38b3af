//! The core's `Notifier` port on SNS `Publish`.

use aws_sdk_sns::Client;
use eventpay_core::{Notifier, StoreError};

use crate::error::AwsError;

#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes and returns SNS's message id.
    pub async fn publish_message(&self, subject: &str, message: &str) -> Result<String, AwsError> {
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| AwsError::sdk("Publish", e))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), StoreError> {
        self.publish_message(subject, message).await?;
        Ok(())
    }
}
