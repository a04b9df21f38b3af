//! `eventpay ledger check`: reconciles a book. Locally it reads a data dir's database (beside a
//! running `eventpay up` or without one); with `--aws` it runs `eventpay-ledger-check-aws`, the
//! AWS adapters' reader of the DynamoDB tables, which keeps the AWS SDK out of this binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use eventpay_core::Reconciliation;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Reconcile the book: every currency sums to zero over all accounts, every SETTLED payment
    /// has exactly its transfers, no other payment has any, balances equal their transfers.
    /// Exits 1 when anything is wrong, naming it.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The data dir of the local runtime to check.
    #[arg(long, env = "EVENTPAY_DATA_DIR", default_value = ".eventpay")]
    data_dir: PathBuf,
    /// Check the AWS deployment's DynamoDB tables instead (runs `eventpay-ledger-check-aws`,
    /// found beside this binary or on PATH; the arguments after `--` go to it).
    #[arg(long)]
    aws: bool,
    /// Print the reconciliation as JSON.
    #[arg(long)]
    json: bool,
    /// Arguments for `eventpay-ledger-check-aws` (with --aws).
    #[arg(last = true)]
    aws_args: Vec<String>,
}

pub fn run(cmd: LedgerCommand) -> anyhow::Result<ExitCode> {
    let LedgerCommand::Check(args) = cmd;
    if args.aws {
        return check_aws(&args);
    }
    let r = eventpay_local::ledger::check_data_dir(&args.data_dir)
        .with_context(|| format!("cannot check the ledger in {}", args.data_dir.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", report(&r));
    }
    Ok(if r.is_balanced() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The reconciliation as lines a person reads.
pub fn report(r: &Reconciliation) -> String {
    let mut out = format!(
        "{} payments ({} settled), {} transfers, {} balances\n",
        r.payments, r.settled, r.transfers, r.balances
    );
    for (currency, sum) in &r.currencies {
        out.push_str(&format!("  {currency}: accounts sum to {sum}\n"));
    }
    if r.is_balanced() {
        out.push_str("the book balances\n");
    } else {
        out.push_str(&format!("{} discrepancies:\n", r.discrepancies.len()));
        for d in &r.discrepancies {
            out.push_str(&format!("  - {d}\n"));
        }
    }
    out
}

const AWS_CHECKER: &str = "eventpay-ledger-check-aws";

fn check_aws(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(AWS_CHECKER)))
        .filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| Path::new(AWS_CHECKER).to_path_buf());
    let mut cmd = std::process::Command::new(&program);
    if args.json {
        cmd.arg("--json");
    }
    let status = cmd.args(&args.aws_args).status().with_context(|| {
        format!(
            "cannot run {AWS_CHECKER} (build it with `cargo build -p eventpay-lambdas --bin {AWS_CHECKER}`)"
        )
    })?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
