//! Built function binaries under a Lambda Runtime API emulator: a small HTTP server in the test
//! speaks the runtime protocol (`GET .../invocation/next`, `POST .../{id}/response|error`), the
//! binary is started with `AWS_LAMBDA_RUNTIME_API` pointing at it and answers one real
//! invocation. The AWS services behind it are the emulator of `scripts/with-moto`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use eventpay_aws::fixtures::{create_mac_key, emulator_config, unique};
use eventpay_aws::schema::create_payments_table;
use eventpay_aws::{aws_sdk_dynamodb, aws_sdk_kms};
use serde_json::{Value, json};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What the function posted back: the path's last segment (`response` or `error`) and the body.
#[derive(Debug)]
struct Outcome {
    kind: String,
    body: Value,
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, body })
}

fn write_response(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// Serves one invocation of `event`, then holds every later `next` open (as Lambda does while no
/// event is waiting). Returns the address and where the outcome arrives.
fn runtime_api(event: Value) -> (String, mpsc::Receiver<Outcome>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut served = false;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let tx = tx.clone();
            let event = event.clone();
            let first = !served;
            served = true;
            thread::spawn(move || serve_connection(stream, event, first, tx));
        }
    });
    (addr, rx)
}

fn serve_connection(stream: TcpStream, event: Value, mut pending: bool, tx: mpsc::Sender<Outcome>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        if req.method == "GET" && req.path.ends_with("/runtime/invocation/next") {
            if !pending {
                // No more events: block this poll until the test kills the process.
                thread::sleep(Duration::from_secs(3600));
                return;
            }
            pending = false;
            let deadline = (chrono::Utc::now().timestamp_millis() + 30_000).to_string();
            write_response(
                &mut writer,
                "200 OK",
                &[
                    ("content-type", "application/json"),
                    ("lambda-runtime-aws-request-id", REQUEST_ID),
                    ("lambda-runtime-deadline-ms", &deadline),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:eventpay",
                    ),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                    ),
                ],
                event.to_string().as_bytes(),
            );
        } else if req.method == "POST"
            && req
                .path
                .contains(&format!("/runtime/invocation/{REQUEST_ID}/"))
        {
            let kind = req.path.rsplit('/').next().unwrap_or_default().to_owned();
            let body = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            write_response(
                &mut writer,
                "202 Accepted",
                &[("content-type", "application/json")],
                b"{\"status\":\"OK\"}",
            );
            let _ = tx.send(Outcome { kind, body });
        } else {
            write_response(&mut writer, "404 Not Found", &[], b"");
        }
    }
}

/// Kills the function process however the test ends.
struct Killed(Option<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the binary under the emulator until it posts its outcome; returns it with the
/// function's log lines.
fn invoke(binary: &str, env: &[(&str, &str)], event: Value) -> (Outcome, Vec<String>) {
    let (addr, outcomes) = runtime_api(event);
    let mut command = Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", &addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "eventpay")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut guard = Killed(Some(command.spawn().unwrap()));
    let outcome = outcomes.recv_timeout(Duration::from_secs(60));
    let mut child = guard.0.take().unwrap();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let logs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let outcome = outcome
        .unwrap_or_else(|_| panic!("{binary} answered nothing; stdout {logs:?} stderr {stderr}"));
    (outcome, logs)
}

#[tokio::test]
async fn the_quote_binary_answers_an_api_gateway_invocation() {
    let kms = aws_sdk_kms::Client::new(&emulator_config().await);
    let key = create_mac_key(&kms).await.unwrap();
    let event = json!({
        "resource": "/quotes", "path": "/quotes", "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"content-type": ["application/json"]},
        "queryStringParameters": null, "multiValueQueryStringParameters": null,
        "pathParameters": null, "stageVariables": null,
        "requestContext": {"accountId": "123456789012", "resourceId": "r1", "stage": "prod",
            "requestId": "api-req-1", "identity": {"sourceIp": "203.0.113.7"},
            "resourcePath": "/quotes", "httpMethod": "POST", "apiId": "abc123"},
        "body": "{\"source_currency\":\"USD\",\"target_currency\":\"JPY\",\"amount\":\"250.00\"}",
        "isBase64Encoded": false
    });
    let (outcome, logs) = tokio::task::spawn_blocking(move || {
        invoke(
            env!("CARGO_BIN_EXE_quote"),
            &[("EVENTPAY_QUOTE_KEY_ID", &key)],
            event,
        )
    })
    .await
    .unwrap();
    assert_eq!(outcome.kind, "response", "{outcome:?}");
    assert_eq!(outcome.body["statusCode"], 201, "{outcome:?}");
    let quote: Value = serde_json::from_str(outcome.body["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            quote["source_currency"].as_str(),
            quote["target_currency"].as_str()
        ),
        (Some("USD"), Some("JPY"))
    );
    assert!(quote["token"].as_str().is_some_and(|t| t.contains('.')));
    // JSON logs carrying the invocation's request id.
    let line = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["span"]["requestId"] == REQUEST_ID);
    assert!(
        line.is_some(),
        "no JSON log line with the request id: {logs:?}"
    );
}

#[tokio::test]
async fn a_task_binary_reports_a_core_error_as_the_error_type() {
    let dynamodb = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let table = unique("payments");
    create_payments_table(&dynamodb, &table).await.unwrap();
    let event = json!({"payment_id": "no-such-payment", "status": "PROCESSING"});
    let (outcome, _) = tokio::task::spawn_blocking(move || {
        invoke(
            env!("CARGO_BIN_EXE_update-status"),
            &[("EVENTPAY_TABLE", &table)],
            event,
        )
    })
    .await
    .unwrap();
    assert_eq!(outcome.kind, "error", "{outcome:?}");
    assert_eq!(outcome.body["errorType"], "Payment.NotFound", "{outcome:?}");
    assert!(
        outcome.body["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("no-such-payment"))
    );
}

#[test]
fn a_function_without_its_configuration_stops_with_the_variable_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_get-payment"))
        .env_remove("EVENTPAY_TABLE")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("EVENTPAY_TABLE"), "{stderr}");
}
