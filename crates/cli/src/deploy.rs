//! `eventpay deploy` and `eventpay destroy`: package the Lambda functions, then drive Terraform
//! over `infra/` as a team would — plan into a saved plan file, show the plan's summary (add /
//! change / destroy per module), ask for confirmation (unless `--yes`), apply exactly that saved
//! plan and show progress module by module. Secrets (the API key) are printed only with
//! `--show-secrets`. No AWS SDK: everything goes through `terraform` and the packaging script.
//! `--dry-run` prints the steps without running anything.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::Value;

/// The Terraform modules of `infra/`, in dependency order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Module {
    Quote,
    Payment,
    Platform,
    Settlement,
}

impl Module {
    const ORDER: [Module; 4] = [
        Module::Quote,
        Module::Payment,
        Module::Platform,
        Module::Settlement,
    ];

    fn name(self) -> &'static str {
        match self {
            Module::Quote => "quote",
            Module::Payment => "payment",
            Module::Platform => "platform",
            Module::Settlement => "settlement",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    #[value(name = "arm64")]
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    fn name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }
}

/// What deploy and destroy share.
#[derive(Args, Debug)]
pub struct Target {
    /// Environment: reads infra/envs/<ENV>.tfvars and the backend settings in
    /// infra/envs/<ENV>.backend.hcl (made from infra/bootstrap's backend_config output).
    #[arg(long, default_value = "dev")]
    env: String,
    /// Only this module (`-target`; deploy: Terraform includes what it depends on; destroy:
    /// what depends on it).
    #[arg(long, value_enum)]
    only: Option<Module>,
    /// Apply the plan without asking.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Instruction set of the functions (the packages are built for it).
    #[arg(long, value_enum, default_value = "arm64")]
    arch: Arch,
    /// Print the steps, run nothing.
    #[arg(long)]
    dry_run: bool,
    /// The project's root directory (holding infra/, spec/ and scripts/).
    #[arg(long, default_value = ".", env = "EVENTPAY_PROJECT_DIR")]
    project_dir: PathBuf,
    /// The Terraform executable.
    #[arg(long, default_value = "terraform", env = "EVENTPAY_TERRAFORM")]
    terraform: String,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    target: Target,
    /// Use the packages already in target/lambda/<ARCH>/ instead of running scripts/package-lambdas.
    #[arg(long)]
    skip_package: bool,
    /// Print the API key at the end (it is hidden by default).
    #[arg(long)]
    show_secrets: bool,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    target: Target,
}

/// One command of the plan.
#[derive(Debug, PartialEq, Eq)]
pub struct Step {
    title: String,
    program: String,
    args: Vec<String>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", quote(a))?;
        }
        Ok(())
    }
}

/// Shell quoting for display, so a printed step can be pasted into a shell.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Environment names as the root configuration accepts them (`var.environment`).
fn check_env(env: &str) -> anyhow::Result<()> {
    let mut chars = env.chars();
    let ok = (2..=12).contains(&env.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok {
        bail!(
            "--env {env:?}: an environment name is 2 to 12 lowercase letters or digits, starting with a letter"
        );
    }
    Ok(())
}

/// What a run does, in order: packaging (deploy), init, plan into a saved plan file, summary of
/// the saved plan, the confirmation, apply of the saved plan.
pub struct Flow {
    verb: &'static str,
    package: Option<Step>,
    init: Step,
    plan: Step,
    show: Step,
    apply: Step,
}

impl Flow {
    fn steps(&self) -> Vec<&Step> {
        self.package
            .iter()
            .chain([&self.init, &self.plan, &self.show, &self.apply])
            .collect()
    }
}

impl Target {
    /// The project directory, absolute: steps run there and name their paths absolutely.
    fn root(&self) -> PathBuf {
        std::path::absolute(&self.project_dir).unwrap_or_else(|_| self.project_dir.clone())
    }

    fn infra(&self) -> PathBuf {
        self.root().join("infra")
    }

    fn tfvars(&self) -> String {
        format!("envs/{}.tfvars", self.env)
    }

    fn backend(&self) -> String {
        format!("envs/{}.backend.hcl", self.env)
    }

    fn artifacts_dir(&self) -> PathBuf {
        self.root().join("target/lambda").join(self.arch.name())
    }

    fn terraform(&self, title: String, args: &[&str]) -> Step {
        let mut all = vec![format!("-chdir={}", self.infra().display())];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        Step {
            title,
            program: self.terraform.clone(),
            args: all,
        }
    }

    fn flow(&self, verb: &'static str, package: Option<Step>) -> Flow {
        let destroy = verb == "destroy";
        // Relative to infra/ (ignored by git: *.tfplan).
        let plan_file = format!(
            "{}{}.tfplan",
            self.env,
            if destroy { ".destroy" } else { "" }
        );
        let tfvars = format!("-var-file={}", self.tfvars());
        let arch = format!("lambda_architecture={}", self.arch.name());
        let artifacts = format!("lambda_artifacts_dir={}", self.artifacts_dir().display());
        let out = format!("-out={plan_file}");
        let target = self.only.map(|m| format!("-target=module.{}", m.name()));
        let mut plan_args = vec!["plan", "-input=false"];
        if destroy {
            plan_args.push("-destroy");
        }
        plan_args.extend([out.as_str(), &tfvars, "-var", &arch, "-var", &artifacts]);
        if let Some(t) = &target {
            plan_args.push(t);
        }
        let what = match self.only {
            Some(m) => format!("module.{}", m.name()),
            None => "every module".to_owned(),
        };
        Flow {
            verb,
            package,
            init: self.terraform(
                format!("terraform init (backend settings {})", self.backend()),
                &[
                    "init",
                    "-input=false",
                    "-reconfigure",
                    &format!("-backend-config={}", self.backend()),
                ],
            ),
            plan: self.terraform(
                format!(
                    "terraform plan{} of {what} into {plan_file}",
                    if destroy { " -destroy" } else { "" }
                ),
                &plan_args,
            ),
            show: self.terraform(
                "summary of the saved plan (add / change / destroy per module), then confirm unless --yes".to_owned(),
                &["show", "-json", &plan_file],
            ),
            apply: self.terraform(
                format!("terraform apply {plan_file} (the saved plan), progress per module"),
                &["apply", "-input=false", "-json", &plan_file],
            ),
        }
    }
}

/// The steps of `eventpay deploy`, in order.
pub fn deploy_flow(args: &DeployArgs) -> Flow {
    let t = &args.target;
    let package = (!args.skip_package).then(|| Step {
        title: format!("package the Lambda functions ({})", t.arch.name()),
        program: t
            .root()
            .join("scripts/package-lambdas")
            .display()
            .to_string(),
        args: vec!["--arch".into(), t.arch.name().into()],
    });
    t.flow("deploy", package)
}

/// The steps of `eventpay destroy`: a destroy plan of the same shape (Terraform removes the
/// modules in the reverse order of their dependencies).
pub fn destroy_flow(args: &DestroyArgs) -> Flow {
    args.target.flow("destroy", None)
}

/// Changes of a saved plan per module: (add, change, destroy); a replacement counts as both an
/// add and a destroy, as Terraform counts it.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct Changes {
    add: usize,
    change: usize,
    destroy: usize,
}

impl Changes {
    fn total(self) -> usize {
        self.add + self.change + self.destroy
    }
}

/// The module of a resource address: `module.payment.module.function["x"].aws_...` -> payment;
/// resources of the root configuration -> root.
fn module_of(address: &str) -> String {
    address
        .strip_prefix("module.")
        .and_then(|rest| rest.split(['.', '[']).next())
        .unwrap_or("root")
        .to_owned()
}

/// Summary of `terraform show -json <plan>`, module by module in the deployment's order.
pub fn summarize(plan: &Value) -> Vec<(String, Changes)> {
    let mut per: BTreeMap<String, Changes> = BTreeMap::new();
    for rc in plan["resource_changes"].as_array().into_iter().flatten() {
        let actions: Vec<&str> = rc["change"]["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let module = module_of(rc["address"].as_str().unwrap_or(""));
        let c = per.entry(module).or_default();
        match actions.as_slice() {
            ["create"] => c.add += 1,
            ["update"] => c.change += 1,
            ["delete"] => c.destroy += 1,
            ["delete", "create"] | ["create", "delete"] => {
                c.add += 1;
                c.destroy += 1;
            }
            _ => {} // no-op, read
        }
    }
    let rank = |m: &str| {
        Module::ORDER
            .iter()
            .position(|o| o.name() == m)
            .unwrap_or(Module::ORDER.len())
    };
    let mut out: Vec<(String, Changes)> = per.into_iter().filter(|(_, c)| c.total() > 0).collect();
    out.sort_by_key(|(m, _)| (rank(m), m.clone()));
    out
}

fn print_summary(summary: &[(String, Changes)]) {
    println!(
        "  {:<12} {:>5} {:>7} {:>8}",
        "module", "add", "change", "destroy"
    );
    let mut sum = Changes::default();
    for (m, c) in summary {
        println!("  {m:<12} {:>5} {:>7} {:>8}", c.add, c.change, c.destroy);
        sum.add += c.add;
        sum.change += c.change;
        sum.destroy += c.destroy;
    }
    println!(
        "  {:<12} {:>5} {:>7} {:>8}",
        "total", sum.add, sum.change, sum.destroy
    );
}

/// Files a run needs, relative to infra/; missing ones are reported before anything runs.
fn missing_files(t: &Target) -> Vec<String> {
    let infra = t.infra();
    [t.tfvars(), t.backend()]
        .into_iter()
        .filter(|f| !infra.join(f).is_file())
        .map(|f| format!("infra/{f}"))
        .collect()
}

fn print_flow(t: &Target, flow: &Flow) {
    let steps = flow.steps();
    println!(
        "eventpay {} --env {}: {} step(s){}",
        flow.verb,
        t.env,
        steps.len(),
        if t.dry_run { " (dry run)" } else { "" }
    );
    for (i, s) in steps.iter().enumerate() {
        println!("  {}. {}", i + 1, s.title);
        println!("     $ {s}");
    }
}

fn failed(verb: &str, step: &Step, reason: &str) -> anyhow::Result<bool> {
    eprintln!("\neventpay {verb}: {} failed: {reason}", step.title);
    Ok(false)
}

fn describe(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(c) => format!("exited with code {c}"),
        None => "was killed by a signal".to_owned(),
    }
}

/// Runs one step with its output shown; false (after saying why) when it fails.
fn run(verb: &str, step: &Step, cwd: &Path) -> anyhow::Result<bool> {
    println!("\n==> {}\n$ {step}", step.title);
    let t0 = Instant::now();
    match Command::new(&step.program)
        .args(&step.args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => {
            println!("--- done in {:.1} s", t0.elapsed().as_secs_f64());
            Ok(true)
        }
        Ok(s) => failed(verb, step, &describe(s)),
        Err(e) => failed(
            verb,
            step,
            &format!("could not start {}: {e}", step.program),
        ),
    }
}

/// Runs a step and parses its standard output as JSON.
fn run_json(verb: &str, step: &Step, cwd: &Path) -> anyhow::Result<Option<Value>> {
    let out = Command::new(&step.program)
        .args(&step.args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {}", step.program))?;
    if !out.status.success() {
        failed(verb, step, &describe(out.status))?;
        return Ok(None);
    }
    let v = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{}: the output is not JSON", step.title))?;
    Ok(Some(v))
}

/// Asks on the terminal; only "yes" goes on (as terraform apply asks).
fn confirm(verb: &str, env: &str) -> anyhow::Result<bool> {
    print!("\nApply this plan ({verb} --env {env})? Only 'yes' applies: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// `terraform apply -json <plan>`: one line per resource done, counted against the module's
/// planned changes, and the errors Terraform reports.
fn apply_with_progress(
    verb: &str,
    step: &Step,
    cwd: &Path,
    planned: &[(String, Changes)],
) -> anyhow::Result<bool> {
    println!("\n==> {}\n$ {step}", step.title);
    let t0 = Instant::now();
    let mut child = match Command::new(&step.program)
        .args(&step.args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return failed(
                verb,
                step,
                &format!("could not start {}: {e}", step.program),
            );
        }
    };
    let totals: BTreeMap<&str, usize> = planned
        .iter()
        .map(|(m, c)| (m.as_str(), c.total()))
        .collect();
    let mut done: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                println!("{line}");
                continue;
            };
            let text = msg["@message"].as_str().unwrap_or("");
            match msg["type"].as_str() {
                Some("apply_complete") => {
                    let module = module_of(msg["hook"]["resource"]["addr"].as_str().unwrap_or(""));
                    let n = done.entry(module.clone()).or_default();
                    *n += 1;
                    let total = totals.get(module.as_str()).copied().unwrap_or(*n);
                    println!("  [{module}] {n}/{total} {text}");
                    if *n == total {
                        println!("  [{module}] done");
                    }
                }
                Some("apply_errored") => eprintln!("  {text}"),
                Some("diagnostic") if msg["@level"] == "error" => {
                    eprintln!(
                        "  Error: {}\n  {}",
                        msg["diagnostic"]["summary"].as_str().unwrap_or(text),
                        msg["diagnostic"]["detail"].as_str().unwrap_or("")
                    );
                }
                Some("change_summary") => println!("  {text}"),
                _ => {}
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return failed(verb, step, &describe(status));
    }
    println!("--- done in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(true)
}

/// Runs a flow; Ok(None) when everything was applied, Ok(Some(code)) when it stopped.
fn execute(t: &Target, flow: &Flow) -> anyhow::Result<Option<ExitCode>> {
    check_env(&t.env)?;
    print_flow(t, flow);
    let missing = missing_files(t);
    if t.dry_run {
        for f in &missing {
            println!("note: {f} does not exist yet (see docs/deploy.md)");
        }
        return Ok(Some(ExitCode::SUCCESS));
    }
    if !missing.is_empty() {
        eprintln!(
            "eventpay {}: missing {}; write the backend settings from infra/bootstrap \
             (terraform -chdir=infra/bootstrap output -raw backend_config) and the variables \
             from infra/envs/dev.tfvars, as docs/deploy.md shows",
            flow.verb,
            missing.join(" and ")
        );
        return Ok(Some(ExitCode::FAILURE));
    }
    let root = t.root();
    let started = Instant::now();
    for step in flow.package.iter().chain([&flow.init, &flow.plan]) {
        if !run(flow.verb, step, &root)? {
            return Ok(Some(ExitCode::FAILURE));
        }
    }
    let Some(plan) = run_json(flow.verb, &flow.show, &root)? else {
        return Ok(Some(ExitCode::FAILURE));
    };
    let summary = summarize(&plan);
    println!("\n==> the plan");
    if summary.is_empty() {
        println!("  no changes: the {} is as planned", t.env);
        return Ok(None);
    }
    print_summary(&summary);
    if !t.yes && !confirm(flow.verb, &t.env)? {
        eprintln!(
            "eventpay {}: not applied (answer 'yes' or pass --yes)",
            flow.verb
        );
        return Ok(Some(ExitCode::FAILURE));
    }
    if !apply_with_progress(flow.verb, &flow.apply, &root, &summary)? {
        return Ok(Some(ExitCode::FAILURE));
    }
    println!(
        "\neventpay {}: applied in {:.0} s",
        flow.verb,
        started.elapsed().as_secs_f64()
    );
    Ok(None)
}

fn terraform_outputs(t: &Target) -> anyhow::Result<Value> {
    let infra = format!("-chdir={}", t.infra().display());
    let out = Command::new(&t.terraform)
        .args([infra.as_str(), "output", "-no-color", "-json"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} output", t.terraform))?;
    if !out.status.success() {
        bail!(
            "terraform output failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout).context("terraform output -json: not JSON")
}

pub fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let flow = deploy_flow(&args);
    let t = &args.target;
    if let Some(code) = execute(t, &flow)? {
        return Ok(code);
    }
    if t.only.is_some_and(|m| m != Module::Payment) {
        return Ok(ExitCode::SUCCESS);
    }
    let outputs = terraform_outputs(t)?;
    let value = |name: &str| outputs[name]["value"].as_str().map(str::to_owned);
    let url = value("api_url").unwrap_or_default();
    println!("\nAPI URL: {url}");
    match (value("api_authorization").as_deref(), value("api_key")) {
        (Some("iam"), _) => {
            println!(
                "Access: SigV4 (IAM); grant callers `terraform -chdir=infra output -raw api_invoke_policy`"
            );
            println!("Check it end to end: eventpay smoke --url {url} --sigv4");
        }
        (Some("cognito"), _) => {
            println!("Access: Cognito ID tokens in the Authorization header");
        }
        (_, Some(key)) if args.show_secrets => {
            println!("API key: {key}");
            println!("Check it end to end: eventpay smoke --url {url} --api-key {key}");
        }
        _ => {
            println!(
                "API key: hidden (--show-secrets, or terraform -chdir=infra output -raw api_key)"
            );
            println!(
                "Check it end to end: eventpay smoke --url {url} --api-key \"$(terraform -chdir=infra output -raw api_key)\""
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn destroy(args: DestroyArgs) -> anyhow::Result<ExitCode> {
    let flow = destroy_flow(&args);
    Ok(execute(&args.target, &flow)?.unwrap_or(ExitCode::SUCCESS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Parser)]
    struct Deploy {
        #[command(flatten)]
        args: DeployArgs,
    }

    #[derive(Parser)]
    struct Destroy {
        #[command(flatten)]
        args: DestroyArgs,
    }

    fn titles(flow: &Flow) -> Vec<&str> {
        flow.steps().iter().map(|s| s.title.as_str()).collect()
    }

    #[test]
    fn deploy_packages_plans_shows_and_applies_the_saved_plan() {
        let d = Deploy::parse_from(["deploy", "--env", "prod", "--arch", "x86_64"]);
        let flow = deploy_flow(&d.args);
        assert_eq!(
            titles(&flow),
            [
                "package the Lambda functions (x86_64)",
                "terraform init (backend settings envs/prod.backend.hcl)",
                "terraform plan of every module into prod.tfplan",
                "summary of the saved plan (add / change / destroy per module), then confirm unless --yes",
                "terraform apply prod.tfplan (the saved plan), progress per module",
            ]
        );
        let plan = &flow.plan.args;
        assert!(plan.contains(&"-out=prod.tfplan".to_owned()));
        assert!(plan.contains(&"-var-file=envs/prod.tfvars".to_owned()));
        assert!(plan.contains(&"lambda_architecture=x86_64".to_owned()));
        assert!(!plan.iter().any(|a| a.starts_with("-target")));
        assert_eq!(
            flow.apply.args[1..],
            ["apply", "-input=false", "-json", "prod.tfplan"]
        );
        assert!(!flow.apply.args.iter().any(|a| a == "-auto-approve"));
    }

    #[test]
    fn destroy_plans_a_destroy_without_packaging() {
        let d = Destroy::parse_from(["destroy", "--only", "platform"]);
        let flow = destroy_flow(&d.args);
        assert!(flow.package.is_none());
        assert!(flow.plan.args.contains(&"-destroy".to_owned()));
        assert!(
            flow.plan
                .args
                .contains(&"-target=module.platform".to_owned())
        );
        assert!(
            flow.plan
                .args
                .contains(&"-out=dev.destroy.tfplan".to_owned())
        );
        assert!(Deploy::try_parse_from(["deploy", "--only", "ledger"]).is_err());
        assert!(Deploy::try_parse_from(["deploy", "--arch", "riscv"]).is_err());
    }

    #[test]
    fn the_summary_counts_changes_per_module_in_deployment_order() {
        let rc = |address: &str, actions: &[&str]| json!({"address": address, "change": {"actions": actions}});
        let plan = json!({"resource_changes": [
            rc("module.settlement.aws_sfn_state_machine.this", &["update"]),
            rc("module.payment.module.function[\"get-payment\"].aws_lambda_function.this", &["create"]),
            rc("module.payment.aws_api_gateway_rest_api.this", &["create", "delete"]),
            rc("module.quote.module.key.aws_kms_key.this", &["no-op"]),
            rc("aws_cloudwatch_dashboard.flow", &["delete"]),
            rc("module.platform.data.aws_region.current", &["read"]),
        ]});
        assert_eq!(
            summarize(&plan),
            [
                (
                    "payment".to_owned(),
                    Changes {
                        add: 2,
                        change: 0,
                        destroy: 1
                    }
                ),
                (
                    "settlement".to_owned(),
                    Changes {
                        add: 0,
                        change: 1,
                        destroy: 0
                    }
                ),
                (
                    "root".to_owned(),
                    Changes {
                        add: 0,
                        change: 0,
                        destroy: 1
                    }
                ),
            ]
        );
        assert!(summarize(&json!({})).is_empty());
    }

    #[test]
    fn environment_names_follow_the_root_configuration() {
        assert!(check_env("dev").is_ok());
        assert!(check_env("prod2").is_ok());
        for bad in [
            "",
            "d",
            "Dev",
            "2dev",
            "../x",
            "dev-eu",
            "averyverylongname",
        ] {
            assert!(check_env(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn steps_display_as_pastable_commands() {
        let step = Step {
            title: "t".into(),
            program: "terraform".into(),
            args: vec!["-chdir=/a b".into(), "apply".into()],
        };
        assert_eq!(step.to_string(), "terraform '-chdir=/a b' apply");
    }
}
