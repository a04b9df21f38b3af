//! `eventpay events test-pattern`: the local mirror of `aws events test-event-pattern`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use eventpay_patterns::Pattern;
use serde_json::json;

use crate::input::{json_arg, print_line};

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Does the pattern match the event? Prints {"Result": true|false}; an invalid pattern exits 2.
    TestPattern(TestPatternArgs),
}

#[derive(Args)]
pub struct TestPatternArgs {
    /// The event pattern: JSON text or a file.
    #[arg(long)]
    pattern: String,
    /// The event (the full EventBridge envelope): JSON text or a file.
    #[arg(long)]
    event: String,
}

pub fn run(cmd: EventsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EventsCommand::TestPattern(args) => {
            let (_, pattern) = json_arg("--pattern", &args.pattern)?;
            let (_, event) = json_arg("--event", &args.event)?;
            match Pattern::from_value(&pattern) {
                Ok(p) => {
                    print_line(&json!({ "Result": p.matches(&event) }).to_string())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("InvalidEventPatternException: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}
