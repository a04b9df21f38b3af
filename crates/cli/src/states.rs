//! `eventpay states run | validate`: run or check an Amazon States Language definition locally,
//! printing what Step Functions' DescribeExecution and GetExecutionHistory would show.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use eventpay_states::{Execution, ExecutionStatus, StateMachine, TaskError, TaskInvoker};
use serde_json::{Value, json};

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

/// No Task resources are registered outside `eventpay up`: a Task fails with a clear error that
/// names its resource, as a missing function would on AWS.
struct NoTasks;

impl TaskInvoker for NoTasks {
    fn invoke<'a>(
        &'a self,
        resource: &'a str,
        _input: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
        Box::pin(async move {
            Err(TaskError {
                error: "States.TaskFailed".into(),
                cause: format!(
                    "resource {resource:?} is not in the registry of `eventpay states run` (it runs service-free machines)"
                ),
            })
        })
    }
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
            let (execution, history) =
                eventpay_states::run_to_completion(&machine, input, &NoTasks).await;
            print_line(&serde_json::to_string_pretty(&report(
                &execution, &history,
            ))?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn report(execution: &Execution, history: &[eventpay_states::HistoryEvent]) -> Value {
    let status = match execution.status() {
        ExecutionStatus::Running => "RUNNING",
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::TimedOut => "TIMED_OUT",
        ExecutionStatus::Aborted => "ABORTED",
    };
    json!({
        "status": status,
        "output": execution.output(),
        "error": execution.error(),
        "cause": execution.cause(),
        "history": history,
    })
}
