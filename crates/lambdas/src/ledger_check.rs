//! `eventpay-ledger-check-aws`: reconciles the book on AWS (the payments table and the ledger
//! table, read whole with `Scan`, eventpay_aws::reconcile) and prints what it found, as text or
//! `--json`; exit status 0 when balanced, 1 when there are discrepancies, 2 when it could not
//! check. Payments settled before the ledger table existed (legacy `ledger_entries`, no
//! transfers) are discrepancies: nothing migrates them on AWS.

use std::fmt::Write as _;

use eventpay_aws::aws_sdk_dynamodb::Client;
use eventpay_aws::reconcile::{self, Report};

use crate::config::{self, ConfigError};

pub const USAGE: &str =
    "usage: eventpay-ledger-check-aws [--json] [--table NAME] [--ledger-table NAME]
Reconciles the payments table and the ledger table on AWS (standard AWS configuration:
AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...). The tables default to $EVENTPAY_TABLE and
$EVENTPAY_LEDGER_TABLE. Exit status: 0 balanced, 1 discrepancies found, 2 the check failed.";

/// What the command line asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub json: bool,
    pub table: String,
    pub ledger_table: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}\n{USAGE}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Aws(#[from] eventpay_aws::AwsError),
}

/// Parses the arguments (without the program name); a table not given comes from its
/// environment variable. `Ok(None)` for `--help`.
pub fn parse_args(args: &[String]) -> Result<Option<Options>, CheckError> {
    let (mut json, mut table, mut ledger_table) = (false, None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .filter(|v| !v.trim().is_empty())
                .cloned()
                .ok_or_else(|| CheckError::Usage(format!("{name} needs a table name")))
        };
        match arg.as_str() {
            "--json" => json = true,
            "--table" => table = Some(value("--table")?),
            "--ledger-table" => ledger_table = Some(value("--ledger-table")?),
            "-h" | "--help" => return Ok(None),
            other => return Err(CheckError::Usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(Some(Options {
        json,
        table: table.map_or_else(|| config::required(config::TABLE), Ok)?,
        ledger_table: ledger_table.map_or_else(|| config::required(config::LEDGER_TABLE), Ok)?,
    }))
}

pub async fn check(client: &Client, options: &Options) -> Result<Report, CheckError> {
    Ok(reconcile::check(client, &options.table, &options.ledger_table).await?)
}

/// The report for a person, in the lines of the local `eventpay ledger check`: what was read,
/// each currency's sum, then every discrepancy.
pub fn render_text(report: &Report, options: &Options) -> String {
    let r = &report.reconciliation;
    let mut out = format!(
        "{} payments ({} settled), {} transfers, {} balances (tables {}, {})\n",
        r.payments, r.settled, r.transfers, r.balances, options.table, options.ledger_table
    );
    for (currency, sum) in &r.currencies {
        let _ = writeln!(out, "  {currency}: accounts sum to {sum}");
    }
    let count = r.discrepancies.len() + report.copy_discrepancies.len();
    if count == 0 {
        out.push_str("the book balances\n");
        return out;
    }
    let _ = writeln!(out, "{count} discrepancies:");
    for d in &r.discrepancies {
        let _ = writeln!(out, "  - {d}");
    }
    for d in &report.copy_discrepancies {
        let _ = writeln!(out, "  - {d}");
    }
    out
}

pub fn render_json(report: &Report) -> String {
    let mut value = serde_json::to_value(report).unwrap_or_else(
        |e| serde_json::json!({"error": format!("the report cannot be shown as JSON: {e}")}),
    );
    if let Some(map) = value.as_object_mut() {
        map.insert("balanced".into(), report.is_balanced().into());
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments() {
        let o = parse_args(&args(&["--json", "--table", "p", "--ledger-table", "l"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            o,
            Options {
                json: true,
                table: "p".into(),
                ledger_table: "l".into()
            }
        );
        assert!(parse_args(&args(&["--help"])).unwrap().is_none());
        for bad in [&["--table"][..], &["--table", " "], &["--verbose"]] {
            let err = parse_args(&args(bad)).unwrap_err();
            assert!(matches!(err, CheckError::Usage(_)), "{bad:?}: {err}");
            assert!(err.to_string().contains("usage:"));
        }
    }
}
