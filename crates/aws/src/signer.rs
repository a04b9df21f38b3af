//! Quote-token MACs with AWS KMS `GenerateMac` / `VerifyMac` (an `HMAC_256` key, algorithm
//! `HMAC_SHA_256`): the key never leaves KMS, so it is in no code, state file or environment.

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::MacAlgorithmSpec;
use eventpay_core::StoreError;
use eventpay_core::api::QuoteSigner;

use crate::error::AwsError;

#[derive(Clone, Debug)]
pub struct KmsSigner {
    client: Client,
    key_id: String,
}

impl KmsSigner {
    /// `key_id`: key id, key ARN, alias name (`alias/...`) or alias ARN.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        KmsSigner {
            client,
            key_id: key_id.into(),
        }
    }
}

impl QuoteSigner for KmsSigner {
    async fn mac(&self, signing_input: &str) -> Result<Vec<u8>, StoreError> {
        let out = self
            .client
            .generate_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(signing_input.as_bytes()))
            .send()
            .await
            .map_err(|e| AwsError::sdk("GenerateMac", e))?;
        out.mac
            .map(Blob::into_inner)
            .ok_or_else(|| AwsError::Corrupt("GenerateMac returned no Mac".into()).into())
    }

    async fn verify(&self, signing_input: &str, mac: &[u8]) -> Result<bool, StoreError> {
        let result = self
            .client
            .verify_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(signing_input.as_bytes()))
            .mac(Blob::new(mac))
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.mac_valid),
            // KMS answers a wrong MAC with an error, not `MacValid: false`.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_kms_invalid_mac_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::sdk("VerifyMac", e).into()),
        }
    }
}
