//! `eventpay states run | validate`: run or check an Amazon States Language definition locally,
//! printing what Step Functions' DescribeExecution and GetExecutionHistory would show.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use eventpay_states::StateMachine;
use serde_json::json;

use crate::input::{json_arg, print_line};

#[derive(Subcommand)]
pub enum StatesCommand {
    /// Run a state machine to its end (Wait states really wait) and print status, output, error, cause and history.
    Run(RunArgs),
    /// Validate a definition; prints the first problem naming the state and field, exits 2 if invalid.
    Validate(ValidateArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// The definition file (Amazon States Language JSON).
    #[arg(long)]
    definition: PathBuf,
    /// The execution input: JSON text or a file.
    #[arg(long, default_value = "{}")]
    input: String,
}

#[derive(Args)]
pub struct ValidateArgs {
    #[arg(long)]
    definition: PathBuf,
}

fn load(path: &PathBuf) -> anyhow::Result<Result<StateMachine, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(StateMachine::parse(&text).map_err(|e| format!("{}: {e}", path.display())))
}

pub async fn run(cmd: StatesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StatesCommand::Validate(args) => match load(&args.definition)? {
            Ok(_) => {
                print_line(&json!({"result": "OK", "diagnostics": []}).to_string())?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("invalid definition: {e}");
                Ok(ExitCode::from(2))
            }
        },
        StatesCommand::Run(args) => {
            let machine = match load(&args.definition)? {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("invalid definition: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let (_, input) = json_arg("--input", &args.input)?;
            let report = eventpay_states::run_service_free(&machine, input).await;
            print_line(&serde_json::to_string_pretty(&report)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
