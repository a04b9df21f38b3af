//! `eventpay deploy` and `eventpay destroy`: package the Lambda functions and drive Terraform over
//! `infra/` module by module — quote, payment, platform, settlement, each a `-target` apply, and
//! the reverse for destroy — showing each step, stopping at the first failure, and printing the
//! API URL and key at the end. No AWS SDK: everything goes through `terraform` and the packaging
//! script. `--dry-run` prints the steps without running anything.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

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
    /// Only this module (deploy: its dependencies must be deployed; destroy: Terraform also
    /// destroys what depends on it).
    #[arg(long, value_enum)]
    only: Option<Module>,
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

    fn modules(&self) -> Vec<Module> {
        match self.only {
            Some(m) => vec![m],
            None => Module::ORDER.to_vec(),
        }
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

    fn init(&self) -> Step {
        self.terraform(
            format!("terraform init (backend settings {})", self.backend()),
            &[
                "init",
                "-input=false",
                "-reconfigure",
                &format!("-backend-config={}", self.backend()),
            ],
        )
    }

    /// `terraform apply|destroy -target module.<m>` with the environment's variables.
    fn module_step(&self, command: &str, module: Module) -> Step {
        let target = format!("-target=module.{}", module.name());
        let tfvars = format!("-var-file={}", self.tfvars());
        let arch = format!("lambda_architecture={}", self.arch.name());
        let artifacts = format!("lambda_artifacts_dir={}", self.artifacts_dir().display());
        self.terraform(
            format!("terraform {command} module.{}", module.name()),
            &[
                command,
                "-input=false",
                "-auto-approve",
                &tfvars,
                "-var",
                &arch,
                "-var",
                &artifacts,
                &target,
            ],
        )
    }
}

/// The steps of `eventpay deploy`, in order.
pub fn deploy_steps(args: &DeployArgs) -> Vec<Step> {
    let t = &args.target;
    let mut steps = Vec::new();
    if !args.skip_package {
        steps.push(Step {
            title: format!("package the Lambda functions ({})", t.arch.name()),
            program: t
                .root()
                .join("scripts/package-lambdas")
                .display()
                .to_string(),
            args: vec!["--arch".into(), t.arch.name().into()],
        });
    }
    steps.push(t.init());
    for m in t.modules() {
        steps.push(t.module_step("apply", m));
    }
    steps
}

/// The steps of `eventpay destroy`: the modules in the reverse order.
pub fn destroy_steps(args: &DestroyArgs) -> Vec<Step> {
    let t = &args.target;
    let mut steps = vec![t.init()];
    for m in t.modules().into_iter().rev() {
        steps.push(t.module_step("destroy", m));
    }
    steps
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

fn print_plan(verb: &str, t: &Target, steps: &[Step]) {
    println!(
        "eventpay {verb} --env {}: {} step(s){}",
        t.env,
        steps.len(),
        if t.dry_run { " (dry run)" } else { "" }
    );
    for (i, s) in steps.iter().enumerate() {
        println!("  {}. {}", i + 1, s.title);
        println!("     $ {s}");
    }
}

/// Runs the steps in order; on the first failure says which step failed and what was not run.
fn run_steps(verb: &str, steps: &[Step], cwd: &Path) -> anyhow::Result<bool> {
    let total = steps.len();
    let started = Instant::now();
    for (i, step) in steps.iter().enumerate() {
        println!("\n==> [{}/{total}] {}", i + 1, step.title);
        println!("$ {step}");
        let t0 = Instant::now();
        let status = Command::new(&step.program)
            .args(&step.args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .status();
        let reason = match status {
            Ok(s) if s.success() => {
                println!(
                    "--- [{}/{total}] done in {:.1} s",
                    i + 1,
                    t0.elapsed().as_secs_f64()
                );
                continue;
            }
            Ok(s) => match s.code() {
                Some(c) => format!("exited with code {c}"),
                None => "was killed by a signal".to_owned(),
            },
            Err(e) => format!("could not start {}: {e}", step.program),
        };
        eprintln!(
            "\neventpay {verb}: step {}/{total} ({}) failed: {reason}",
            i + 1,
            step.title
        );
        let skipped: Vec<&str> = steps[i + 1..].iter().map(|s| s.title.as_str()).collect();
        if !skipped.is_empty() {
            eprintln!("eventpay {verb}: not run: {}", skipped.join("; "));
        }
        return Ok(false);
    }
    println!(
        "\neventpay {verb}: {total} step(s) done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}

fn terraform_output(t: &Target, name: &str) -> anyhow::Result<String> {
    let infra = format!("-chdir={}", t.infra().display());
    let out = Command::new(&t.terraform)
        .args([infra.as_str(), "output", "-no-color", "-raw", name])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} output {name}", t.terraform))?;
    if !out.status.success() {
        bail!(
            "terraform output {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn prepare(verb: &str, t: &Target, steps: &[Step]) -> anyhow::Result<Option<ExitCode>> {
    check_env(&t.env)?;
    print_plan(verb, t, steps);
    let missing = missing_files(t);
    if t.dry_run {
        for f in &missing {
            println!("note: {f} does not exist yet (see docs/deploy.md)");
        }
        return Ok(Some(ExitCode::SUCCESS));
    }
    if !missing.is_empty() {
        eprintln!(
            "eventpay {verb}: missing {}; write the backend settings from infra/bootstrap \
             (terraform -chdir=infra/bootstrap output -raw backend_config) and the variables \
             from infra/envs/dev.tfvars, as docs/deploy.md shows",
            missing.join(" and ")
        );
        return Ok(Some(ExitCode::FAILURE));
    }
    Ok(None)
}

pub fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let steps = deploy_steps(&args);
    let t = &args.target;
    if let Some(code) = prepare("deploy", t, &steps)? {
        return Ok(code);
    }
    if !run_steps("deploy", &steps, &t.root())? {
        return Ok(ExitCode::FAILURE);
    }
    if t.only.is_some_and(|m| m != Module::Payment) {
        return Ok(ExitCode::SUCCESS);
    }
    let url = terraform_output(t, "api_url")?;
    let key = terraform_output(t, "api_key")?;
    println!("\nAPI URL: {url}\nAPI key: {key}");
    println!("Check it end to end: eventpay smoke --url {url} --api-key {key}");
    Ok(ExitCode::SUCCESS)
}

pub fn destroy(args: DestroyArgs) -> anyhow::Result<ExitCode> {
    let steps = destroy_steps(&args);
    let t = &args.target;
    if let Some(code) = prepare("destroy", t, &steps)? {
        return Ok(code);
    }
    Ok(if run_steps("destroy", &steps, &t.root())? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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

    fn titles(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.title.as_str()).collect()
    }

    #[test]
    fn deploy_packages_then_applies_modules_in_dependency_order() {
        let d = Deploy::parse_from(["deploy", "--env", "prod", "--arch", "x86_64"]);
        let steps = deploy_steps(&d.args);
        assert_eq!(
            titles(&steps),
            [
                "package the Lambda functions (x86_64)",
                "terraform init (backend settings envs/prod.backend.hcl)",
                "terraform apply module.quote",
                "terraform apply module.payment",
                "terraform apply module.platform",
                "terraform apply module.settlement",
            ]
        );
        assert_eq!(steps[0].args, ["--arch", "x86_64"]);
        let apply = &steps[2].args;
        assert!(apply.contains(&"-var-file=envs/prod.tfvars".to_owned()));
        assert!(apply.contains(&"-target=module.quote".to_owned()));
        assert!(apply.contains(&"lambda_architecture=x86_64".to_owned()));
        assert!(
            apply
                .iter()
                .any(|a| a.starts_with("lambda_artifacts_dir=")
                    && a.ends_with("target/lambda/x86_64"))
        );
    }

    #[test]
    fn destroy_goes_in_reverse_order_without_packaging() {
        let d = Destroy::parse_from(["destroy"]);
        assert_eq!(
            titles(&destroy_steps(&d.args)),
            [
                "terraform init (backend settings envs/dev.backend.hcl)",
                "terraform destroy module.settlement",
                "terraform destroy module.platform",
                "terraform destroy module.payment",
                "terraform destroy module.quote",
            ]
        );
    }

    #[test]
    fn only_and_skip_package_narrow_the_plan() {
        let d = Deploy::parse_from(["deploy", "--only", "platform", "--skip-package"]);
        assert_eq!(
            titles(&deploy_steps(&d.args)),
            [
                "terraform init (backend settings envs/dev.backend.hcl)",
                "terraform apply module.platform",
            ]
        );
        assert!(Deploy::try_parse_from(["deploy", "--only", "ledger"]).is_err());
        assert!(Deploy::try_parse_from(["deploy", "--arch", "riscv"]).is_err());
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
