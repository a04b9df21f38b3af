//! Realistic Lambda events, built as the JSON AWS sends and parsed by the same types the runtime
//! uses, plus the resources the handlers need.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use eventpay_aws::aws_sdk_dynamodb::types::AttributeValue;
use eventpay_aws::fixtures::{create_mac_key, emulator_config, store_with_ledger};
use eventpay_aws::{DynamoLedger, DynamoStore, KmsSigner, aws_sdk_kms};
use serde_json::{Value, json};

pub async fn store() -> DynamoStore {
    store_and_ledger().await.0
}

/// A store that settles into its own ledger table, and that ledger's reader.
pub async fn store_and_ledger() -> (DynamoStore, DynamoLedger) {
    store_with_ledger(&emulator_config().await).await.unwrap()
}

pub async fn signer() -> KmsSigner {
    let kms = aws_sdk_kms::Client::new(&emulator_config().await);
    let key = create_mac_key(&kms).await.unwrap();
    KmsSigner::new(kms, key)
}

/// An API Gateway REST API proxy event as Lambda receives it.
pub struct Proxy {
    pub method: &'static str,
    pub resource: &'static str,
    pub path: String,
    pub path_parameters: Option<Value>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
    pub base64: bool,
}

impl Proxy {
    pub fn new(method: &'static str, resource: &'static str, path: impl Into<String>) -> Self {
        Proxy {
            method,
            resource,
            path: path.into(),
            path_parameters: None,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            base64: false,
        }
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn event(&self) -> ApiGatewayProxyRequest {
        let mut headers = serde_json::Map::new();
        let mut multi_headers = serde_json::Map::new();
        for (k, v) in [(
            "Host",
            "abc123.execute-api.us-east-1.amazonaws.com".to_string(),
        )]
        .into_iter()
        .chain(self.headers.iter().map(|(k, v)| (*k, v.clone())))
        {
            headers.insert(k.into(), json!(v));
            multi_headers.insert(k.into(), json!([v]));
        }
        let (query, multi_query) = if self.query.is_empty() {
            (Value::Null, Value::Null)
        } else {
            let mut single = serde_json::Map::new();
            let mut multi: HashMap<&str, Vec<&str>> = HashMap::new();
            for (k, v) in &self.query {
                single.insert(k.clone(), json!(v));
                multi.entry(k.as_str()).or_default().push(v.as_str());
            }
            (Value::Object(single), json!(multi))
        };
        let event = json!({
            "resource": self.resource,
            "path": self.path,
            "httpMethod": self.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": self.path_parameters,
            "stageVariables": null,
            "requestContext": {
                "resourceId": "r1a2b3",
                "resourcePath": self.resource,
                "httpMethod": self.method,
                "extendedRequestId": "Xyz=",
                "requestTime": "01/Nov/2026:12:00:00 +0000",
                "path": format!("/prod{}", self.path),
                "accountId": "123456789012",
                "protocol": "HTTP/1.1",
                "stage": "prod",
                "domainPrefix": "abc123",
                "requestTimeEpoch": 1_793_620_800_000_i64,
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "apiId": "abc123"
            },
            "body": self.body,
            "isBase64Encoded": self.base64
        });
        serde_json::from_value(event).unwrap()
    }
}

/// A DynamoDB item as DynamoDB JSON (`{"name": {"S": "..."}}`), the form of stream images.
pub fn dynamodb_json(item: &HashMap<String, AttributeValue>) -> Value {
    let mut out = serde_json::Map::new();
    for (name, value) in item {
        let v = match value {
            AttributeValue::S(s) => json!({"S": s}),
            AttributeValue::N(n) => json!({"N": n}),
            AttributeValue::Bool(b) => json!({"BOOL": b}),
            other => panic!("the payments table writes no {other:?}"),
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}
