//! `eventpay-ledger-check-aws`: the operator's reconciliation of the AWS book
//! (eventpay_lambdas::ledger_check).

use std::process::ExitCode;

use eventpay_aws::aws_sdk_dynamodb::Client;
use eventpay_lambdas::ledger_check::{self, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match ledger_check::parse_args(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("eventpay-ledger-check-aws: {e}");
            return ExitCode::from(2);
        }
    };
    let client = Client::new(&eventpay_aws::sdk_config().await);
    match ledger_check::check(&client, &options).await {
        Ok(report) => {
            if options.json {
                println!("{}", ledger_check::render_json(&report));
            } else {
                print!("{}", ledger_check::render_text(&report, &options));
            }
            if report.is_balanced() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("eventpay-ledger-check-aws: {e}");
            ExitCode::from(2)
        }
    }
}
