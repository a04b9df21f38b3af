//! The `eventpay` command: runs the system on one machine (`up`), checks any deployment
//! end to end (`smoke`), load-tests it (`bench`), reconciles its ledger (`ledger check`), prices a deployment on AWS (`cost`), and mirrors
//! the EventBridge and Step Functions tools locally.

mod bench;
mod cost;
mod deploy;
mod events;
mod input;
mod inspect;
mod ledger;
mod sigv4;
mod simulate;
mod smoke;
mod states;
mod up;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "eventpay",
    version,
    about = "Event-driven payments: local runtime and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The ledger: reconcile the book (locally, or on AWS with --aws).
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Workflow executions of a running `eventpay up` (list, describe, history, redrive).
    Executions(inspect::ExecutionsArgs),
    /// Queues of a running `eventpay up` (list, peek, redrive the dead-letter queue).
    Queues(inspect::QueuesArgs),
    /// Run the whole system locally in one process (HTTP API, stream, queue, bus, workflow).
    Up(up::UpArgs),
    /// Quote -> payment -> wait for SETTLED against a deployment; exits non-zero naming the failed step.
    Smoke(smoke::SmokeArgs),
    /// EventBridge tools.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Step Functions tools: run or validate a state machine locally.
    #[command(subcommand)]
    States(states::StatesCommand),
    /// Load generator: drive a runtime (its own, or --url) with quote + payment pairs, wait until all
    /// are final, check them and report throughput, latency, disk and memory beside the disk's limit.
    Bench(bench::BenchArgs),
    /// Seeded fault simulation: the whole flow under injected faults and crashes, then its invariants checked.
    Simulate(simulate::SimulateArgs),
    /// Deploy to AWS: package the functions, terraform plan, show the changes per module, confirm, apply the saved plan.
    Deploy(deploy::DeployArgs),
    /// Remove the AWS deployment: a destroy plan, its summary, confirm, apply it.
    Destroy(deploy::DestroyArgs),
    /// The monthly AWS bill of the deployed design for a volume, per service, from spec/prices.json.
    Cost(cost::CostArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eventpay: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up::run(args).await,
            Command::Executions(args) => inspect::executions(args).await,
            Command::Queues(args) => inspect::queues(args).await,
            Command::Smoke(args) => smoke::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Simulate(args) => simulate::run(args).await,
            Command::Events(cmd) => events::run(cmd),
            Command::States(cmd) => states::run(cmd).await,
            Command::Deploy(args) => deploy::deploy(args),
            Command::Destroy(args) => deploy::destroy(args),
            Command::Cost(args) => cost::run(args),
            Command::Ledger(cmd) => ledger::run(cmd),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("eventpay: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
