//! `eventpay executions ...` and `eventpay queues ...`: the local mirrors of
//! `aws stepfunctions list-executions|describe-execution|get-execution-history|redrive-execution`
//! and `aws sqs` inspection, as thin HTTP calls to a running `eventpay up` (`/_local/`).
//! Output is JSON shaped like the AWS CLI's; a 4xx answer exits 1 with the server's message.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::input::print_line;

/// Where `eventpay up` listens by default.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

#[derive(Args)]
pub struct Target {
    /// Base URL of a running `eventpay up`.
    #[arg(long, env = "EVENTPAY_URL", default_value = DEFAULT_URL, global = true)]
    url: String,
}

#[derive(Subcommand)]
pub enum ExecutionsCommand {
    /// Like list-executions: {"executions": [...]}, newest first.
    List {
        /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
        #[arg(long)]
        status: Option<String>,
    },
    /// Like describe-execution (with redriveCount, redriveStatus, redriveStatusReason).
    Describe { id: String },
    /// Like get-execution-history: {"events": [...]}.
    History { id: String },
    /// Like redrive-execution: {"redriveDate": ...}.
    Redrive { id: String },
}

#[derive(Subcommand)]
pub enum QueuesCommand {
    /// The queue's depth, in flight and dead-letter depth.
    List,
    /// Messages (body, receive count, times) without receiving them, oldest first.
    Peek {
        name: String,
        #[arg(long, default_value_t = 10)]
        max: u32,
    },
    /// Moves the dead-letter queue's messages back to NAME (start-message-move-task).
    Redrive { name: String },
}

#[derive(Args)]
pub struct ExecutionsArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: ExecutionsCommand,
}

#[derive(Args)]
pub struct QueuesArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: QueuesCommand,
}

pub async fn executions(args: ExecutionsArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.target.url)?;
    let answer = match args.command {
        ExecutionsCommand::List { status } => {
            let query = status.map(|s| format!("?status={}", encode(&s)));
            api.get(&format!("/_local/executions{}", query.unwrap_or_default()))
                .await?
        }
        ExecutionsCommand::Describe { id } => api
            .get(&format!("/_local/executions/{}", encode(&id)))
            .await?
            .map(|mut d| {
                // describe-execution has no history; `history` shows it.
                if let Some(obj) = d.as_object_mut() {
                    obj.remove("events");
                }
                d
            }),
        ExecutionsCommand::History { id } => api
            .get(&format!("/_local/executions/{}", encode(&id)))
            .await?
            .map(|d| json!({ "events": d.get("events").cloned().unwrap_or(json!([])) })),
        ExecutionsCommand::Redrive { id } => {
            api.post(&format!("/_local/executions/{}/redrive", encode(&id)))
                .await?
        }
    };
    finish(answer)
}

pub async fn queues(args: QueuesArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.target.url)?;
    let answer = match args.command {
        QueuesCommand::List => api.get("/_local/queues").await?,
        QueuesCommand::Peek { name, max } => {
            api.get(&format!(
                "/_local/queues/{}/messages?max={max}",
                encode(&name)
            ))
            .await?
        }
        QueuesCommand::Redrive { name } => {
            api.post(&format!("/_local/queues/{}/redrive", encode(&name)))
                .await?
        }
    };
    finish(answer)
}

/// Prints a success as pretty JSON (as the AWS CLI does); an error answer exits 1 with the
/// server's code and message on stderr.
fn finish(answer: Result<Value, String>) -> anyhow::Result<ExitCode> {
    match answer {
        Ok(v) => {
            print_line(&serde_json::to_string_pretty(&v)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("eventpay: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A path segment or query value, percent-encoded (execution ARNs hold ':').
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(url: &str) -> anyhow::Result<Api> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Api {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?,
            base: url.trim_end_matches('/').to_owned(),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Result<Value, String>> {
        self.answer(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// Every POST says it is JSON (the local endpoints may require it).
    async fn post(&self, path: &str) -> anyhow::Result<Result<Value, String>> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body("{}");
        self.answer(request).await
    }

    /// The JSON of a 2xx; the `{"error": {code, message}}` of a 4xx/5xx as text.
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<Result<Value, String>> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Ok(body));
        }
        let code = body.pointer("/error/code").and_then(Value::as_str);
        let message = body.pointer("/error/message").and_then(Value::as_str);
        Ok(Err(match (code, message) {
            (Some(c), Some(m)) => format!("{c}: {m} (HTTP {})", status.as_u16()),
            _ => format!("HTTP {} from {}", status.as_u16(), self.base),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn arns_are_encoded_as_one_path_segment() {
        assert_eq!(
            encode("arn:aws:states:x:1:execution:sm:a b/c"),
            "arn%3Aaws%3Astates%3Ax%3A1%3Aexecution%3Asm%3Aa%20b%2Fc"
        );
    }
}
