//! `eventpay smoke --url U`: the end-to-end check of a deployment, local or AWS — quote,
//! payment, wait for SETTLED, ledger balanced — saying which step failed. Authenticates as the
//! API's authorization mode wants: an API key (`--api-key`) or SigV4-signed requests (`--sigv4`,
//! credentials from the environment).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Args)]
pub struct SmokeArgs {
    /// Base URL of the API, e.g. http://127.0.0.1:8080 or the API Gateway stage URL.
    #[arg(long, env = "EVENTPAY_URL")]
    url: String,
    /// API key sent as x-api-key (API Gateway usage plans; api_authorization = api_key).
    #[arg(long, env = "EVENTPAY_API_KEY", conflicts_with = "sigv4")]
    api_key: Option<String>,
    /// Sign every request with AWS SigV4 (api_authorization = iam), with the credentials of
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
    #[arg(long)]
    sigv4: bool,
    /// Region of the API for --sigv4 (default: from the execute-api URL, else AWS_REGION).
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,
    /// How long to wait for the payment to settle, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

enum Auth {
    None,
    ApiKey(String),
    SigV4 {
        creds: crate::sigv4::Credentials,
        region: String,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
}

/// The region of an API Gateway URL (https://<id>.execute-api.<region>.amazonaws.com/...).
fn region_of(url: &str) -> Option<String> {
    let host = reqwest::Url::parse(url).ok()?.host_str()?.to_owned();
    let mut parts = host.split('.');
    parts.next()?;
    (parts.next()? == "execute-api").then_some(())?;
    parts.next().map(str::to_owned)
}

impl Client {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = reqwest::Url::parse(&format!("{}{path}", self.base))?;
        let bytes = body
            .map(serde_json::to_vec)
            .transpose()?
            .unwrap_or_default();
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        if body.is_some() {
            all.push(("content-type".into(), "application/json".into()));
        }
        match &self.auth {
            Auth::None => {}
            Auth::ApiKey(k) => all.push(("x-api-key".into(), k.clone())),
            Auth::SigV4 { creds, region } => {
                let host = match (url.host_str(), url.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_owned(),
                    (None, _) => bail!("{url}: no host to sign for"),
                };
                let req = crate::sigv4::Request {
                    method: method.as_str(),
                    host: &host,
                    path: url.path(),
                    query: url.query().unwrap_or(""),
                    headers: &all,
                    body: &bytes,
                };
                let signed =
                    crate::sigv4::sign(&req, creds, region, "execute-api", chrono::Utc::now());
                all.extend(signed);
            }
        }
        let mut req = self.http.request(method, url);
        for (k, v) in &all {
            req = req.header(k, v);
        }
        if body.is_some() {
            req = req.body(bytes);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }
}

pub async fn run(args: SmokeArgs) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let auth = match (args.api_key, args.sigv4) {
        (_, true) => Auth::SigV4 {
            creds: crate::sigv4::Credentials::from_env()?,
            region: region_of(&args.url).or(args.region).ok_or_else(|| {
                anyhow!(
                    "--sigv4: no region in {} and no --region or AWS_REGION",
                    args.url
                )
            })?,
        },
        (Some(k), false) => Auth::ApiKey(k),
        (None, false) => Auth::None,
    };
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        base: args.url.trim_end_matches('/').to_owned(),
        auth,
    };
    match check(&client, Duration::from_secs(args.timeout_secs)).await {
        Ok(id) => {
            println!("smoke: OK — payment {id} settled with a balanced ledger");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("smoke: FAILED: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn check(client: &Client, timeout: Duration) -> anyhow::Result<String> {
    let quote_req = json!({"source_currency": "USD", "target_currency": "EUR", "amount": "100.00"});
    let (status, quote) = client
        .send(Method::POST, "/quotes", &[], Some(&quote_req))
        .await
        .context("step 1 (create quote): request failed")?;
    if status != 201 {
        bail!("step 1 (create quote): expected 201, got {status}: {quote}");
    }
    let token = quote["token"]
        .as_str()
        .ok_or_else(|| anyhow!("step 1 (create quote): no token in {quote}"))?;
    println!(
        "smoke: 1/3 quote {} at rate {}",
        quote["quote_id"], quote["rate"]
    );

    let payment_req = json!({
        "quote_token": token,
        "sender": {"name": "Smoke Test Sender", "account": "SMOKE-SENDER-1"},
        "beneficiary": {"name": "Smoke Test Beneficiary", "account": "SMOKE-BENEFICIARY-1"},
        "reference": "eventpay smoke",
    });
    let key = format!("smoke-{}", std::process::id()) + &format!("-{}", chrono_free_nanos());
    let (status, payment) = client
        .send(
            Method::POST,
            "/payments",
            &[("Idempotency-Key", key)],
            Some(&payment_req),
        )
        .await
        .context("step 2 (create payment): request failed")?;
    if status != 202 {
        bail!("step 2 (create payment): expected 202, got {status}: {payment}");
    }
    let id = payment["payment_id"]
        .as_str()
        .ok_or_else(|| anyhow!("step 2 (create payment): no payment_id in {payment}"))?
        .to_owned();
    println!("smoke: 2/3 payment {id} accepted");

    let started = Instant::now();
    let last = loop {
        let (status, body) = client
            .send(Method::GET, &format!("/payments/{id}"), &[], None)
            .await
            .context("step 3 (wait for SETTLED): request failed")?;
        if status != 200 {
            bail!("step 3 (wait for SETTLED): GET /payments/{id} returned {status}: {body}");
        }
        match body["status"].as_str() {
            Some("SETTLED") => break body,
            Some(s @ ("REJECTED" | "FAILED")) => bail!(
                "step 3 (wait for SETTLED): payment ended {s}: {}",
                body["reason"]
            ),
            _ if started.elapsed() > timeout => bail!(
                "step 3 (wait for SETTLED): still {} after {timeout:?}",
                body["status"]
            ),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    check_balanced(&last).context("step 3 (wait for SETTLED): ledger")?;
    println!("smoke: 3/3 settled in {:?}", started.elapsed());
    Ok(id)
}

fn chrono_free_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// The settled payment's transfers, read as the core reads them, balance per currency.
fn check_balanced(payment: &Value) -> anyhow::Result<()> {
    let settlement: eventpay_core::Settlement =
        serde_json::from_value(payment["settlement"].clone())
            .map_err(|e| anyhow!("settlement: {e}"))?;
    if settlement.transfers.is_empty() {
        bail!("no transfers in the settlement");
    }
    match eventpay_core::imbalance(&settlement.transfers) {
        Some(why) => bail!("the transfers do not balance: {why}"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::region_of;

    #[test]
    fn the_region_comes_from_an_execute_api_url() {
        assert_eq!(
            region_of("https://abc123.execute-api.eu-west-1.amazonaws.com/v1").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of("http://127.0.0.1:8080"), None);
        assert_eq!(region_of("https://api.example.com/v1"), None);
    }
}
