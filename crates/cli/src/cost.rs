//! `eventpay cost`: the monthly AWS bill of the deployed design for a given volume, per service
//! line, from the dated list prices of `spec/prices.json`. What one payment uses is counted from
//! the design: the settlement workflow's happy path is walked in `spec/settlement.asl.json` (state
//! transitions, task functions, SNS publishes), the rest follows the code paths docs/cost.md
//! writes out line by line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::input::print_line;

/// The price table and the workflow, built in so `eventpay cost` runs anywhere; `--prices` and
/// `--definition` read other copies.
const PRICES_JSON: &str = include_str!("../../../spec/prices.json");
const DEFINITION_JSON: &str = include_str!("../../../spec/settlement.asl.json");

/// AWS bills a month as 730 hours.
const SECONDS_PER_MONTH: u64 = 730 * 3600;
/// KMS keys of the deployment: quote signing (HMAC), quote, payment, platform, settlement.
const KMS_KEYS: u64 = 5;
/// The account's default X-Ray sampling rule records the first request each second.
const XRAY_RESERVOIR_PER_SECOND: u64 = 1;
/// Express workflows are billed for memory in 64 MB chunks; this one needs the first chunk.
const EXPRESS_MEMORY_MB: u64 = 64;
/// Requests the Lambda SQS pollers make on an idle queue: 5 pollers long-polling for 20 s.
const SQS_IDLE_RECEIVES_PER_MONTH: u64 = 5 * SECONDS_PER_MONTH / 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workflow {
    Standard,
    Express,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Rest,
    Http,
}

/// A settlement outcome, as the workflow's `status` message attribute carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Settled,
    Rejected,
    Failed,
}

impl Outcome {
    const ALL: [Outcome; 3] = [Outcome::Settled, Outcome::Rejected, Outcome::Failed];

    fn name(self) -> &'static str {
        match self {
            Outcome::Settled => "SETTLED",
            Outcome::Rejected => "REJECTED",
            Outcome::Failed => "FAILED",
        }
    }
}

/// The outcomes the e-mail subscription's filter policy lets through (Terraform: email_outcomes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmailOutcomes(pub std::collections::BTreeSet<Outcome>);

impl EmailOutcomes {
    /// Terraform's default: the outcomes a person acts on.
    fn failures() -> Self {
        EmailOutcomes([Outcome::Rejected, Outcome::Failed].into())
    }

    /// `["FAILED", "REJECTED"]`, as the Terraform variable is written.
    fn terraform(&self) -> String {
        let names: Vec<String> = self
            .0
            .iter()
            .rev()
            .map(|o| format!("{:?}", o.name()))
            .collect();
        format!("[{}]", names.join(", "))
    }
}

impl std::fmt::Display for EmailOutcomes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.0.iter().rev().map(|o| o.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// `FAILED,REJECTED` (any case), `all` or `none`.
fn email_outcomes(s: &str) -> Result<EmailOutcomes, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "none" | "" => return Ok(EmailOutcomes(Default::default())),
        "all" => return Ok(EmailOutcomes(Outcome::ALL.into())),
        _ => {}
    }
    s.split(',')
        .map(|part| {
            Outcome::ALL
                .into_iter()
                .find(|o| o.name().eq_ignore_ascii_case(part.trim()))
                .ok_or_else(|| {
                    format!("{part:?} is not SETTLED, REJECTED or FAILED (or use all / none)")
                })
        })
        .collect::<Result<_, _>>()
        .map(EmailOutcomes)
}

#[derive(Args, Clone, Debug)]
pub struct CostArgs {
    /// Payments a month.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub payments_per_month: u64,
    /// Step Functions workflow type (Terraform: state_machine_type).
    #[arg(long, value_enum, default_value_t = Workflow::Standard)]
    pub workflow: Workflow,
    /// Lambda architecture (Terraform: lambda_architecture).
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    pub arch: Arch,
    /// Lambda memory in MB (the lambda-function module's default is 256).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(128..=10240))]
    pub memory_mb: u64,
    /// API Gateway flavour: REST (deployed) or HTTP (priced only: it has no API keys or usage plans).
    #[arg(long, value_enum, default_value_t = Api::Rest)]
    pub api: Api,
    /// Average billed duration of one Lambda invocation, in ms.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=900_000))]
    pub lambda_ms: u64,
    /// Records per stream-forwarder and processor invocation (1 at low volume; up to the batch sizes at high volume).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub batch: u64,
    /// Size of a payment item in KB (its JSON with history and transfers).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=400))]
    pub item_kb: u64,
    /// CloudWatch Logs bytes written per payment (functions, API access logs, workflow logs).
    #[arg(long, default_value_t = 2048)]
    pub log_bytes: u64,
    /// Duration of one Express execution in ms (billed in 100 ms increments).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=300_000))]
    pub workflow_ms: u64,
    /// E-mail subscriptions of the outcomes topic (every settlement outcome is published there).
    #[arg(long, default_value_t = 1)]
    pub email_subscriptions: u64,
    /// Outcomes e-mailed to each subscription (Terraform: email_outcomes): a comma-separated list of SETTLED, REJECTED, FAILED, or all, or none.
    #[arg(long, default_value = "FAILED,REJECTED", value_parser = email_outcomes)]
    pub email_outcomes: EmailOutcomes,
    /// Share of payments the business rules reject (an assumption: it prices REJECTED e-mails).
    #[arg(long, default_value = "0.01", value_parser = share)]
    pub rejected_share: Decimal,
    /// Share of payments that end FAILED after the retries (an assumption: it prices FAILED e-mails).
    #[arg(long, default_value = "0.001", value_parser = share)]
    pub failed_share: Decimal,
    /// X-Ray sampling: share of requests recorded beyond the first each second (the default rule's 5 %).
    #[arg(long, default_value = "0.05", value_parser = share)]
    pub xray_rate: Decimal,
    /// Price table (default: the built-in copy of spec/prices.json).
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Workflow definition (default: the built-in copy of spec/settlement.asl.json).
    #[arg(long)]
    pub definition: Option<PathBuf>,
    /// Print the bill as JSON.
    #[arg(long)]
    pub json: bool,
}

fn share(s: &str) -> Result<Decimal, String> {
    s.parse::<Decimal>()
        .ok()
        .filter(|d| *d >= Decimal::ZERO && *d <= Decimal::ONE)
        .ok_or_else(|| format!("{s:?} is not a share from 0 to 1"))
}

// ------------------------------------------------------------------------------------------
// Price table

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub region: String,
    pub currency: String,
    pub as_of: String,
    #[allow(dead_code)]
    pub note: String,
    pub prices: BTreeMap<String, Price>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub usd: Decimal,
    pub unit: String,
    pub description: String,
    pub source: String,
    pub as_of: String,
}

/// The prices a bill needs; the table must hold each of them.
const NEEDED: &[&str] = &[
    "api_rest_request",
    "api_http_request",
    "lambda_request",
    "lambda_gb_second_arm64",
    "lambda_gb_second_x86_64",
    "dynamodb_write_request_unit",
    "dynamodb_read_request_unit",
    "dynamodb_stream_read_request_unit",
    "sqs_request",
    "eventbridge_custom_event",
    "sfn_standard_transition",
    "sfn_express_request",
    "sfn_express_gb_second",
    "sns_publish",
    "sns_email_delivery",
    "cloudwatch_logs_ingested_gb",
    "kms_request",
    "kms_key_month",
    "xray_trace_recorded",
];

/// `YYYY-MM-DD` with a plausible month and day (the CLI has no date crate of its own).
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let num = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    matches!(
        (num(y, 4), num(m, 2), num(d, 2)),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

impl PriceTable {
    /// Parses and checks the table: us-east-1 in USD, every needed price present, and every
    /// price positive, with a unit, a description, an https source and a date.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let table: PriceTable =
            serde_json::from_str(text).context("the price table is not in its JSON shape")?;
        if table.region != "us-east-1" || table.currency != "USD" {
            bail!("the price table must hold us-east-1 prices in USD");
        }
        if !is_date(&table.as_of) {
            bail!("as_of: {:?} is not a YYYY-MM-DD date", table.as_of);
        }
        for name in NEEDED {
            if !table.prices.contains_key(*name) {
                bail!("prices.{name}: missing");
            }
        }
        for (name, p) in &table.prices {
            if p.usd <= Decimal::ZERO {
                bail!("prices.{name}.usd: must be above 0");
            }
            if !p.source.starts_with("https://") {
                bail!("prices.{name}.source: {:?} is not an https URL", p.source);
            }
            if !is_date(&p.as_of) {
                bail!(
                    "prices.{name}.as_of: {:?} is not a YYYY-MM-DD date",
                    p.as_of
                );
            }
            if p.unit.trim().is_empty() || p.description.trim().is_empty() {
                bail!("prices.{name}: unit and description must not be empty");
            }
        }
        Ok(table)
    }

    fn usd(&self, name: &str) -> Decimal {
        // Every name asked for is in NEEDED, which from_json checked.
        self.prices.get(name).map_or(Decimal::ZERO, |p| p.usd)
    }
}

// ------------------------------------------------------------------------------------------
// The settlement workflow's happy path

/// What one settlement execution does when the payment is approved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WorkflowPath {
    /// States entered (Standard bills each as a state transition).
    pub transitions: u64,
    /// Task functions invoked, by their template placeholder (e.g. `validate_function_arn`).
    pub functions: Vec<String>,
    /// `sns:publish` tasks.
    pub sns_publishes: u64,
}

/// Walks the definition from `StartAt`, following `Next`, the first choice of a Choice state
/// (the definition lists the approved branch first) until a terminal state.
pub fn happy_path(definition: &Value) -> anyhow::Result<WorkflowPath> {
    let states = definition
        .get("States")
        .and_then(Value::as_object)
        .context("definition: no States object")?;
    let mut name = definition
        .get("StartAt")
        .and_then(Value::as_str)
        .context("definition: no StartAt")?
        .to_owned();
    let mut path = WorkflowPath::default();
    for _ in 0..=states.len() {
        let state = states
            .get(&name)
            .with_context(|| format!("definition: state {name:?} does not exist"))?;
        path.transitions += 1;
        let kind = state.get("Type").and_then(Value::as_str).unwrap_or("");
        if kind == "Task" {
            let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
            if let Some(placeholder) = resource
                .strip_prefix("${")
                .and_then(|r| r.strip_suffix('}'))
            {
                path.functions.push(placeholder.to_owned());
            } else if resource.ends_with(":sns:publish") {
                path.sns_publishes += 1;
            } else {
                bail!("state {name:?}: no usage model for resource {resource:?}");
            }
        }
        let next = match kind {
            "Choice" => state.pointer("/Choices/0/Next"),
            "Succeed" | "Fail" => None,
            _ if state.get("End").and_then(Value::as_bool) == Some(true) => None,
            _ => state.get("Next"),
        };
        match next {
            None => return Ok(path),
            Some(n) => {
                name = n
                    .as_str()
                    .with_context(|| format!("state {name:?}: Next is not a string"))?
                    .to_owned()
            }
        }
    }
    bail!("definition: the happy path from StartAt loops")
}

/// The DynamoDB requests of one settlement task function (crates/lambdas/src/tasks.rs over the
/// core's use cases): consistent GetItem of the payment, then at most one conditional write
/// changing its status.
fn task_usage(placeholder: &str) -> anyhow::Result<(u64, u64)> {
    match placeholder {
        // (GetItem, write changing the status)
        "update_status_function_arn" | "post_ledger_function_arn" => Ok((1, 1)),
        "validate_function_arn" => Ok((1, 0)),
        other => bail!(
            "no usage model for the task function {other:?} (add it to cost.rs and docs/cost.md)"
        ),
    }
}

/// Transfers a settled payment posts (principal, fee, payout: `eventpay_core::transfers_for`).
const TRANSFERS_PER_PAYMENT: u64 = 3;
/// Balances those transfers change: sender and `fx:` and `fees:` of the source currency, `fx:`
/// of the target currency and the beneficiary.
const BALANCES_PER_PAYMENT: u64 = 5;

/// The write units a task function spends beyond its status change: post-ledger settles in one
/// `TransactWriteItems` (crates/aws/src/store.rs), and a transaction bills 2 units per KB of
/// each item — the payment's table write doubled, and on the ledger table each transfer, its
/// two account copies and each balance `ADD` (all under 1 KB).
fn task_extra_writes(placeholder: &str, item_units: u64) -> u64 {
    match placeholder {
        "post_ledger_function_arn" => {
            item_units + 2 * (3 * TRANSFERS_PER_PAYMENT + BALANCES_PER_PAYMENT)
        }
        _ => 0,
    }
}

// ------------------------------------------------------------------------------------------
// Usage and bill

/// What the design uses for one payment (the `decimal` counts are shares of a request).
#[derive(Debug, Serialize)]
pub struct PerPayment {
    pub api_requests: u64,
    pub lambda_invocations: Decimal,
    pub dynamodb_write_units: u64,
    pub dynamodb_read_units: u64,
    pub stream_records: u64,
    pub queue_messages: u64,
    pub sqs_requests: Decimal,
    pub events: u64,
    pub state_transitions: u64,
    pub sns_publishes: u64,
    pub kms_requests: u64,
    pub trace_roots: Decimal,
}

/// One line of the bill.
#[derive(Debug, Serialize)]
pub struct Line {
    pub service: &'static str,
    pub usage: String,
    pub usd: Decimal,
}

#[derive(Debug, Serialize)]
pub struct Bill {
    pub payments_per_month: u64,
    pub workflow: Workflow,
    pub arch: Arch,
    pub api: Api,
    pub memory_mb: u64,
    pub prices_as_of: String,
    pub per_payment: PerPayment,
    pub lines: Vec<Line>,
    pub total_usd: Decimal,
    pub per_million_usd: Decimal,
}

fn dec(n: u64) -> Decimal {
    Decimal::from(n)
}

pub fn per_payment(args: &CostArgs, path: &WorkflowPath) -> anyhow::Result<PerPayment> {
    let batch = dec(args.batch);
    let wru = args.item_kb; // one write unit per KB written
    let rru = args.item_kb.div_ceil(4); // one read unit per 4 KB read, strongly consistent

    // create-payment (with an Idempotency-Key): GetItem of the key item (under 1 KB), then one
    // TransactWriteItems of the payment and the key item (2 units per KB each); the payment item
    // is also written into both listing indexes (projection ALL).
    let mut writes = 2 * (wru + 1) + 2 * wru;
    let mut reads = 1;
    // Each status change rewrites the item in the table and in by_created, and moves it between
    // two by_status partitions (a delete and a put).
    let mut status_changes = 0;
    for f in &path.functions {
        let (gets, updates) = task_usage(f)?;
        reads += gets * rru;
        writes += updates * 4 * wru + task_extra_writes(f, wru);
        status_changes += updates;
    }
    // The stream carries the payment's insert, each status change and the key item's insert.
    let stream_records = 1 + status_changes + 1;
    // The forwarder skips the key item; every payment change becomes one message and one event.
    let queue_messages = 1 + status_changes;
    // The processor checks each message against the table (a strongly consistent GetItem) before
    // it publishes, so a message that is not a change the table made is refused.
    reads += queue_messages * rru;
    let forwarder = dec(stream_records) / batch;
    let processor = dec(queue_messages) / batch;
    let lambda_invocations = dec(2 + path.functions.len() as u64) + forwarder + processor;
    // SendMessageBatch by the forwarder, ReceiveMessage and DeleteMessageBatch by the poller.
    let sqs_requests = dec(3 * queue_messages) / batch;
    let sns_publishes = path.sns_publishes;
    Ok(PerPayment {
        // POST /quotes and POST /payments.
        api_requests: 2,
        lambda_invocations,
        dynamodb_write_units: writes,
        dynamodb_read_units: reads,
        stream_records,
        queue_messages,
        sqs_requests,
        events: queue_messages,
        state_transitions: path.transitions,
        sns_publishes,
        // GenerateMac (quote) and VerifyMac (create-payment).
        kms_requests: 2,
        // Traces start at each API request, each execution and each event-source invocation.
        trace_roots: dec(2 + 1) + forwarder + processor,
    })
}

/// The share of outcomes the e-mail filter policy lets through, from the assumed outcome mix.
fn emailed_share(args: &CostArgs) -> Decimal {
    let settled = (Decimal::ONE - args.rejected_share - args.failed_share).max(Decimal::ZERO);
    args.email_outcomes
        .0
        .iter()
        .map(|o| match o {
            Outcome::Settled => settled,
            Outcome::Rejected => args.rejected_share,
            Outcome::Failed => args.failed_share,
        })
        .sum()
}

fn round(d: Decimal) -> Decimal {
    d.round_dp(2)
}

pub fn bill(args: &CostArgs, prices: &PriceTable, path: &WorkflowPath) -> anyhow::Result<Bill> {
    let u = per_payment(args, path)?;
    let n = dec(args.payments_per_month);
    let p = |name: &str| prices.usd(name);
    let mut lines = Vec::new();
    let mut line = |service: &'static str, usage: String, usd: Decimal| {
        lines.push(Line {
            service,
            usage,
            usd: round(usd),
        })
    };

    let (api_price, api_name) = match args.api {
        Api::Rest => (p("api_rest_request"), "REST"),
        Api::Http => (p("api_http_request"), "HTTP"),
    };
    let api = n * dec(u.api_requests);
    line(
        "API Gateway",
        format!("{api} {api_name} API requests"),
        api * api_price,
    );

    let invocations = n * u.lambda_invocations;
    let gb_seconds =
        invocations * dec(args.memory_mb) / dec(1024) * dec(args.lambda_ms) / dec(1000);
    let gb_price = match args.arch {
        Arch::Arm64 => p("lambda_gb_second_arm64"),
        Arch::X86_64 => p("lambda_gb_second_x86_64"),
    };
    line(
        "Lambda",
        format!(
            "{} invocations, {} GB-s",
            invocations.normalize(),
            gb_seconds.normalize()
        ),
        invocations * p("lambda_request") + gb_seconds * gb_price,
    );

    let wru = n * dec(u.dynamodb_write_units);
    let rru = n * dec(u.dynamodb_read_units);
    line(
        "DynamoDB",
        format!("{wru} write units, {rru} read units"),
        wru * p("dynamodb_write_request_unit") + rru * p("dynamodb_read_request_unit"),
    );
    line(
        "DynamoDB Streams",
        format!(
            "{} records read by the Lambda trigger (not charged)",
            n * dec(u.stream_records)
        ),
        Decimal::ZERO,
    );

    let sqs = n * u.sqs_requests + dec(SQS_IDLE_RECEIVES_PER_MONTH);
    line(
        "SQS",
        format!(
            "{} requests (incl. {SQS_IDLE_RECEIVES_PER_MONTH} idle polls)",
            sqs.normalize()
        ),
        sqs * p("sqs_request"),
    );

    let events = n * dec(u.events);
    line(
        "EventBridge",
        format!("{events} events"),
        events * p("eventbridge_custom_event"),
    );

    match args.workflow {
        Workflow::Standard => {
            let t = n * dec(u.state_transitions);
            line(
                "Step Functions",
                format!("{t} Standard state transitions"),
                t * p("sfn_standard_transition"),
            );
        }
        Workflow::Express => {
            let billed_ms = args.workflow_ms.div_ceil(100) * 100;
            let gb_s = n * dec(EXPRESS_MEMORY_MB) / dec(1024) * dec(billed_ms) / dec(1000);
            line(
                "Step Functions",
                format!("{n} Express executions, {} GB-s", gb_s.normalize()),
                n * p("sfn_express_request") + gb_s * p("sfn_express_gb_second"),
            );
        }
    }

    let publishes = n * dec(u.sns_publishes);
    let emailed = emailed_share(args);
    let emails = (publishes * emailed * dec(args.email_subscriptions)).round();
    line(
        "SNS",
        format!(
            "{publishes} publishes, {emails} e-mails ({}: {} % of outcomes)",
            args.email_outcomes,
            (emailed * dec(100)).normalize()
        ),
        publishes * p("sns_publish") + emails * p("sns_email_delivery"),
    );

    let log_gb = n * dec(args.log_bytes) / dec(1024 * 1024 * 1024);
    line(
        "CloudWatch Logs",
        format!("{} GB ingested", log_gb.round_dp(3)),
        log_gb * p("cloudwatch_logs_ingested_gb"),
    );

    let kms = n * dec(u.kms_requests);
    line(
        "KMS",
        format!("{kms} requests, {KMS_KEYS} keys"),
        kms * p("kms_request") + dec(KMS_KEYS) * p("kms_key_month"),
    );

    // Default sampling rule: the first request each second, then a fixed share of the rest.
    let roots = n * u.trace_roots;
    let reservoir = dec(XRAY_RESERVOIR_PER_SECOND * SECONDS_PER_MONTH).min(roots);
    let traces = (reservoir + (roots - reservoir) * args.xray_rate).round();
    line(
        "X-Ray",
        format!("{traces} traces recorded of {} started", roots.normalize()),
        traces * p("xray_trace_recorded"),
    );

    let total: Decimal = lines.iter().map(|l| l.usd).sum();
    Ok(Bill {
        payments_per_month: args.payments_per_month,
        workflow: args.workflow,
        arch: args.arch,
        api: args.api,
        memory_mb: args.memory_mb,
        prices_as_of: prices.as_of.clone(),
        per_payment: u,
        lines,
        total_usd: total,
        per_million_usd: round(total * dec(1_000_000) / n),
    })
}

/// What docs/cost.md recommends over $15 per million payments.
const TARGET_PER_MILLION_USD: u64 = 15;

/// A cheaper choice: the flag that prices it, and how a deployment selects it.
#[derive(Debug)]
pub struct Choice {
    pub flag: String,
    /// The Terraform setting (`infra/envs/<env>.tfvars`); None when `infra/` cannot deploy it.
    pub terraform: Option<String>,
    pub note: &'static str,
    /// Makes the choice in a copy of the arguments.
    pub apply: fn(&mut CostArgs),
}

impl Choice {
    fn applied_to(&self, args: &CostArgs) -> CostArgs {
        let mut a = args.clone();
        (self.apply)(&mut a);
        a
    }
}

/// The cheaper choices open from `args`.
fn alternatives(args: &CostArgs) -> Vec<Choice> {
    let mut out = Vec::new();
    if args.workflow == Workflow::Standard {
        out.push(Choice {
            flag: "--workflow express".into(),
            terraform: Some("state_machine_type = \"EXPRESS\"".into()),
            note: "no execution history in the API; its log group is the record",
            apply: |a| a.workflow = Workflow::Express,
        });
    }
    if args.email_subscriptions > 0 && args.email_outcomes.0.contains(&Outcome::Settled) {
        let failures = EmailOutcomes::failures();
        out.push(Choice {
            flag: format!("--email-outcomes {failures}"),
            terraform: Some(format!("email_outcomes = {}", failures.terraform())),
            note: "e-mail for the outcomes a person acts on; systems subscribe to the outcomes topic",
            apply: |a| a.email_outcomes = EmailOutcomes::failures(),
        });
    }
    if args.arch == Arch::X86_64 {
        out.push(Choice {
            flag: "--arch arm64".into(),
            terraform: Some("lambda_architecture = \"arm64\"".into()),
            note: "the default",
            apply: |a| a.arch = Arch::Arm64,
        });
    }
    if args.api == Api::Rest {
        out.push(Choice {
            flag: "--api http".into(),
            terraform: None,
            note: "priced only: infra/ deploys a REST API (API keys, usage plans, WAF, request validation)",
            apply: |a| a.api = Api::Http,
        });
    }
    out
}

/// The priced choices and the cheapest deployable configuration, as `run` prints them.
#[derive(Debug, Default, Serialize)]
pub struct Cheaper {
    pub choices: Vec<PricedChoice>,
    /// Over $15 per million: every deployable choice together, and its Terraform settings.
    pub cheapest_deployable: Option<Cheapest>,
}

#[derive(Debug, Serialize)]
pub struct PricedChoice {
    pub change: String,
    pub terraform: Option<String>,
    pub note: &'static str,
    pub per_million_usd: Decimal,
}

#[derive(Debug, Serialize)]
pub struct Cheapest {
    pub per_million_usd: Decimal,
    pub flags: String,
    pub terraform: Vec<String>,
}

fn cheaper(
    args: &CostArgs,
    main: &Bill,
    prices: &PriceTable,
    path: &WorkflowPath,
) -> anyhow::Result<Cheaper> {
    let choices = alternatives(args);
    let mut out = Cheaper::default();
    for c in &choices {
        out.choices.push(PricedChoice {
            change: c.flag.clone(),
            terraform: c.terraform.clone(),
            note: c.note,
            per_million_usd: bill(&c.applied_to(args), prices, path)?.per_million_usd,
        });
    }
    let deployable: Vec<&Choice> = choices.iter().filter(|c| c.terraform.is_some()).collect();
    if main.per_million_usd > dec(TARGET_PER_MILLION_USD) && !deployable.is_empty() {
        let mut all = args.clone();
        for c in &deployable {
            (c.apply)(&mut all);
        }
        let flags: Vec<&str> = deployable.iter().map(|c| c.flag.as_str()).collect();
        out.cheapest_deployable = Some(Cheapest {
            per_million_usd: bill(&all, prices, path)?.per_million_usd,
            flags: flags.join(" "),
            terraform: deployable
                .iter()
                .filter_map(|c| c.terraform.clone())
                .collect(),
        });
    }
    Ok(out)
}

fn load(args: &CostArgs) -> anyhow::Result<(PriceTable, WorkflowPath)> {
    let prices_text = match &args.prices {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?,
        None => PRICES_JSON.to_owned(),
    };
    let prices = PriceTable::from_json(&prices_text).context("price table")?;
    let definition_text = match &args.definition {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?,
        None => DEFINITION_JSON.to_owned(),
    };
    let definition: Value =
        serde_json::from_str(&definition_text).context("workflow definition: not JSON")?;
    Ok((prices, happy_path(&definition)?))
}

/// The flag value naming a choice, e.g. `express`.
fn name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_owned())
        .unwrap_or_default()
}

fn render(bill: &Bill, cheaper: &Cheaper) -> String {
    let mut out = format!(
        "eventpay on AWS, us-east-1 list prices as of {}: {} payments a month, {} workflow, {} API, {} Lambda at {} MB\n\n",
        bill.prices_as_of,
        bill.payments_per_month,
        name(bill.workflow),
        name(bill.api),
        name(bill.arch),
        bill.memory_mb
    );
    for l in &bill.lines {
        out.push_str(&format!(
            "{:<18} {:>12}  {}\n",
            l.service,
            format!("${:.2}", l.usd),
            l.usage
        ));
    }
    out.push_str(&format!(
        "{:<18} {:>12}\n{:<18} {:>12}\n",
        "total a month",
        format!("${:.2}", bill.total_usd),
        "per million",
        format!("${:.2}", bill.per_million_usd)
    ));
    if !cheaper.choices.is_empty() {
        out.push_str("\ncheaper choices (per million payments):\n");
        for c in &cheaper.choices {
            let select = c.terraform.as_deref().map_or_else(
                || "not deployable by infra/".to_owned(),
                |t| format!("Terraform {t}"),
            );
            out.push_str(&format!(
                "  {}: ${:.2} ({select}; {})\n",
                c.change, c.per_million_usd, c.note
            ));
        }
    }
    if let Some(c) = &cheaper.cheapest_deployable {
        out.push_str(&format!(
            "\nover ${TARGET_PER_MILLION_USD} per million: the cheapest configuration infra/ deploys is ${:.2} per million\n  eventpay cost {}\n  in infra/envs/<env>.tfvars:\n",
            c.per_million_usd, c.flags
        ));
        for t in &c.terraform {
            out.push_str(&format!("    {t}\n"));
        }
        if c.per_million_usd > dec(TARGET_PER_MILLION_USD) {
            out.push_str(
                "  the rest is per-payment work (DynamoDB writes, KMS, events): docs/cost.md\n",
            );
        }
    }
    out
}

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    if args.rejected_share + args.failed_share > Decimal::ONE {
        eprintln!("eventpay cost: --rejected-share and --failed-share add up to more than 1");
        return Ok(ExitCode::from(2));
    }
    let (prices, path) = match load(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("eventpay cost: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let main = bill(&args, &prices, &path)?;
    let cheaper = cheaper(&args, &main, &prices, &path)?;
    if args.json {
        let mut v = serde_json::to_value(&main)?;
        v["cheaper"] = serde_json::to_value(&cheaper)?;
        print_line(&serde_json::to_string_pretty(&v)?)?;
    } else {
        print_line(render(&main, &cheaper).trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CostArgs,
    }

    fn args(extra: &[&str]) -> CostArgs {
        let mut argv = vec!["cost"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).args
    }

    fn bill_of(extra: &[&str]) -> Bill {
        let a = args(extra);
        let (prices, path) = load(&a).unwrap();
        bill(&a, &prices, &path).unwrap()
    }

    fn line(b: &Bill, service: &str) -> Decimal {
        b.lines.iter().find(|l| l.service == service).unwrap().usd
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_price_table_has_a_source_and_a_date_for_every_price() {
        let table = PriceTable::from_json(PRICES_JSON).unwrap();
        assert_eq!(table.region, "us-east-1");
        for (name, p) in &table.prices {
            assert!(p.source.starts_with("https://aws.amazon.com/"), "{name}");
            assert!(is_date(&p.as_of), "{name}");
        }
        assert_eq!(table.prices.len(), NEEDED.len(), "every price is used");
    }

    #[test]
    fn a_price_without_source_or_date_is_refused() {
        let mut v: Value = serde_json::from_str(PRICES_JSON).unwrap();
        v["prices"]["sns_publish"]["source"] = "".into();
        let err = PriceTable::from_json(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("sns_publish.source"), "{err}");

        let mut v: Value = serde_json::from_str(PRICES_JSON).unwrap();
        v["prices"]["kms_request"]["as_of"] = "June 2025".into();
        let err = PriceTable::from_json(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("kms_request.as_of"), "{err}");

        let mut v: Value = serde_json::from_str(PRICES_JSON).unwrap();
        v["prices"]
            .as_object_mut()
            .unwrap()
            .remove("lambda_request");
        let err = PriceTable::from_json(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("lambda_request: missing"), "{err}");

        let mut v: Value = serde_json::from_str(PRICES_JSON).unwrap();
        v["prices"]["sqs_request"]
            .as_object_mut()
            .unwrap()
            .remove("as_of");
        assert!(PriceTable::from_json(&v.to_string()).is_err());
        assert!(!is_date("2025-13-01") && !is_date("25-06-01") && is_date("2025-06-01"));
    }

    #[test]
    fn the_happy_path_is_read_from_the_definition() {
        let path = happy_path(&serde_json::from_str(DEFINITION_JSON).unwrap()).unwrap();
        // MarkProcessing, IsProcessing, Validate, IsApproved, PostLedger, NotifyOutcome.
        assert_eq!(path.transitions, 6);
        assert_eq!(
            path.functions,
            [
                "update_status_function_arn",
                "validate_function_arn",
                "post_ledger_function_arn"
            ]
        );
        assert_eq!(path.sns_publishes, 1);
    }

    #[test]
    fn an_unknown_task_or_a_loop_is_an_error() {
        let unknown = serde_json::json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}});
        assert!(happy_path(&unknown).is_err());
        let looping = serde_json::json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}});
        assert!(happy_path(&looping).is_err());
    }

    // Usage of one payment with the defaults (item 2 KB, batch 1), by hand:
    //   DynamoDB writes: create 2*(2+1) + 2*2 = 10; PROCESSING and SETTLED 4*2 each = 16; the
    //   settlement's transaction: the payment's table write again 2, the ledger 2*(3*3 + 5) = 28;
    //   total 56
    //   DynamoDB reads: key item 1 + three task GetItems of 1 + the processor's 3 checks = 7
    //   Lambda: quote, create, 3 tasks, forwarder 4 records, processor 3 messages = 12
    //   SQS: 3 messages * 3 requests = 9; events 3; transitions 6; SNS 1; KMS 2; trace roots 10
    #[test]
    fn usage_per_payment_by_hand() {
        let u = bill_of(&[]).per_payment;
        assert_eq!((u.dynamodb_write_units, u.dynamodb_read_units), (56, 7));
        assert_eq!(u.lambda_invocations, dec(12));
        assert_eq!(u.sqs_requests, dec(9));
        assert_eq!((u.events, u.state_transitions, u.sns_publishes), (3, 6, 1));
        assert_eq!(u.trace_roots, dec(10));
    }

    // 1,000,000 payments, Standard, arm64, 256 MB, REST, 40 ms, batch 1 — by hand:
    //   API          2,000,000 * 0.0000035                                     =   7.00
    //   Lambda       12,000,000 * 0.0000002 = 2.40; GB-s 12e6 * 0.25 * 0.04
    //                = 120,000 * 0.0000133334 = 1.600008                       =   4.00
    //   DynamoDB     56e6 * 0.000000625 = 35.00; 7e6 * 0.000000125 = 0.875     =  35.88
    //   SQS          9e6 + 657,000 idle = 9,657,000 * 0.0000004                 =   3.86
    //   EventBridge  3e6 * 0.000001                                            =   3.00
    //   Standard     6e6 * 0.000025                                            = 150.00
    //   SNS          1e6 * 0.0000005 = 0.50; e-mails for FAILED and REJECTED only:
    //                1e6 * (0.001 + 0.01) = 11,000 * 0.00002 = 0.22                =   0.72
    //   Logs         2048e6 B = 1.9073486 GB * 0.50                            =   0.95
    //   KMS          2e6 * 0.000003 + 5 * 1.00                                 =  11.00
    //   X-Ray        roots 10e6; reservoir 2,628,000; 2,628,000 + 7,372,000 * 0.05
    //                = 2,996,600 * 0.000005                                    =  14.98
    //   total (of the lines, each rounded half to even)                        = 231.39
    #[test]
    fn a_million_payments_standard_by_hand() {
        let b = bill_of(&["--payments-per-month", "1000000"]);
        assert_eq!(line(&b, "API Gateway"), d("7.00"));
        assert_eq!(line(&b, "Lambda"), d("4.00"));
        assert_eq!(line(&b, "DynamoDB"), d("35.88"));
        assert_eq!(line(&b, "DynamoDB Streams"), d("0"));
        assert_eq!(line(&b, "SQS"), d("3.86"));
        assert_eq!(line(&b, "EventBridge"), d("3.00"));
        assert_eq!(line(&b, "Step Functions"), d("150.00"));
        assert_eq!(line(&b, "SNS"), d("0.72"));
        assert_eq!(line(&b, "CloudWatch Logs"), d("0.95"));
        assert_eq!(line(&b, "KMS"), d("11.00"));
        assert_eq!(line(&b, "X-Ray"), d("14.98"));
        assert_eq!(b.total_usd, d("231.39"));
        assert_eq!(b.per_million_usd, d("231.39"));
    }

    // Every outcome e-mailed (the design before the filter policy): 1e6 e-mails * 0.00002 = 20.00
    // + 0.50 publishes = 20.50; total 231.39 - 0.72 + 20.50 = 251.17. No subscription: 0.50.
    #[test]
    fn the_e_mail_line_follows_the_filter_policy() {
        let all = bill_of(&["--email-outcomes", "all"]);
        assert_eq!(line(&all, "SNS"), d("20.50"));
        assert_eq!(all.total_usd, d("251.17"));
        let none = bill_of(&["--email-outcomes", "none"]);
        assert_eq!(line(&none, "SNS"), d("0.50"));
        // 5 % rejected, FAILED not e-mailed: 50,000 e-mails = 1.00.
        let rejected = bill_of(&["--email-outcomes", "rejected", "--rejected-share", "0.05"]);
        assert_eq!(line(&rejected, "SNS"), d("1.50"));
        assert_eq!(
            email_outcomes("FAILED,rejected").unwrap(),
            EmailOutcomes::failures()
        );
        assert!(email_outcomes("PENDING").is_err());
        assert_eq!(
            EmailOutcomes::failures().terraform(),
            r#"["FAILED", "REJECTED"]"#
        );
    }

    // The same volume as Express (300 ms, 64 MB):
    //   1e6 * 0.000001 = 1.00; GB-s 1e6 * 0.0625 * 0.3 = 18,750 * 0.00001667 = 0.3125625 → 1.31
    //   total 231.39 - 150.00 + 1.31 = 82.70
    #[test]
    fn a_million_payments_express_by_hand() {
        let b = bill_of(&["--payments-per-month", "1000000", "--workflow", "express"]);
        assert_eq!(line(&b, "Step Functions"), d("1.31"));
        assert_eq!(b.total_usd, d("82.70"));
    }

    // 2,592,000,000 payments (1,000/s for 30 days), Standard,
    // batch 10, x86_64, 512 MB, HTTP API, no e-mail — by hand:
    //   usage: Lambda 2 + 3 + 4/10 + 3/10 = 5.7; SQS 9/10 = 0.9; trace roots 3 + 0.7 = 3.7
    //   API          5.184e9 * 0.000001                                          =   5,184.00
    //   Lambda       14.7744e9 * 0.0000002 = 2,954.88; GB-s 14.7744e9 * 0.5 * 0.04
    //                = 295,488,000 * 0.0000166667 = 4,924.80984                  =   7,879.69
    //   DynamoDB     145.152e9 * 0.000000625 = 90,720; 18.144e9 * 0.000000125 = 2,268 = 92,988.00
    //   SQS          (2.3328e9 + 657,000) * 0.0000004                           =     933.38
    //   EventBridge  7.776e9 * 0.000001                                          =   7,776.00
    //   Standard     15.552e9 * 0.000025                                         = 388,800.00
    //   SNS          2.592e9 * 0.0000005                                         =   1,296.00
    //   Logs         2.592e9 * 2048 B = 4,943.84765625 GB * 0.5                  =   2,471.92
    //   KMS          5.184e9 * 0.000003 + 5                                      =  15,557.00
    //   X-Ray        roots 9.5904e9; 2,628,000 + 9,587,772,000 * 0.05 = 482,016,600
    //                * 0.000005                                                  =   2,410.08
    //   total                                                                    = 525,296.07
    //   Express instead: 2,592 + 2.592e9 * 0.0625 * 0.3 = 48,600,000 GB-s * 0.00001667
    //   = 810.162 → 3,402.16; total 525,296.07 - 388,800.00 + 3,402.16 = 139,898.23
    #[test]
    fn a_thousand_per_second_by_hand_both_workflows() {
        let common = [
            "--payments-per-month",
            "2592000000",
            "--batch",
            "10",
            "--arch",
            "x86_64",
            "--memory-mb",
            "512",
            "--api",
            "http",
            "--email-subscriptions",
            "0",
        ];
        let b = bill_of(&common);
        assert_eq!(line(&b, "API Gateway"), d("5184.00"));
        assert_eq!(line(&b, "Lambda"), d("7879.69"));
        assert_eq!(line(&b, "DynamoDB"), d("92988.00"));
        assert_eq!(line(&b, "SQS"), d("933.38"));
        assert_eq!(line(&b, "EventBridge"), d("7776.00"));
        assert_eq!(line(&b, "Step Functions"), d("388800.00"));
        assert_eq!(line(&b, "SNS"), d("1296.00"));
        assert_eq!(line(&b, "CloudWatch Logs"), d("2471.92"));
        assert_eq!(line(&b, "KMS"), d("15557.00"));
        assert_eq!(line(&b, "X-Ray"), d("2410.08"));
        assert_eq!(b.total_usd, d("525296.07"));

        let mut express = common.to_vec();
        express.extend(["--workflow", "express"]);
        let e = bill_of(&express);
        assert_eq!(line(&e, "Step Functions"), d("3402.16"));
        assert_eq!(e.total_usd, d("139898.23"));
    }

    #[test]
    fn the_cheaper_choices_are_offered_and_cheaper() {
        let a = args(&["--email-outcomes", "all", "--arch", "x86_64"]);
        let (prices, path) = load(&a).unwrap();
        let main = bill(&a, &prices, &path).unwrap();
        let c = cheaper(&a, &main, &prices, &path).unwrap();
        let flags: Vec<&str> = c.choices.iter().map(|c| c.change.as_str()).collect();
        assert_eq!(
            flags,
            [
                "--workflow express",
                "--email-outcomes FAILED,REJECTED",
                "--arch arm64",
                "--api http"
            ]
        );
        for choice in &c.choices {
            assert!(choice.per_million_usd < main.per_million_usd, "{choice:?}");
        }
        // Over $15: every deployable choice together, with its Terraform settings (HTTP is not
        // deployable by infra/, so it is priced but left out).
        let all = c.cheapest_deployable.as_ref().unwrap();
        let by_hand = bill_of(&["--workflow", "express"]).per_million_usd;
        assert_eq!(all.per_million_usd, by_hand);
        assert_eq!(
            all.terraform,
            [
                r#"state_machine_type = "EXPRESS""#,
                r#"email_outcomes = ["FAILED", "REJECTED"]"#,
                r#"lambda_architecture = "arm64""#
            ]
        );
        let text = render(&main, &c);
        assert!(
            text.contains("the cheapest configuration infra/ deploys")
                && text.contains("state_machine_type = \"EXPRESS\"")
                && text.contains("not deployable by infra/"),
            "{text}"
        );
    }

    #[test]
    fn the_defaults_offer_express_and_http() {
        let a = args(&[]);
        let (prices, path) = load(&a).unwrap();
        let main = bill(&a, &prices, &path).unwrap();
        let c = cheaper(&a, &main, &prices, &path).unwrap();
        assert_eq!(c.choices.len(), 2);
        let all = c.cheapest_deployable.unwrap();
        assert_eq!(all.per_million_usd, d("82.70"));
        assert_eq!(all.flags, "--workflow express");
    }
}
