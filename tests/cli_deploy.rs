//! `eventpay deploy` and `eventpay destroy` without AWS: the planned steps (`--dry-run`), and runs
//! against a fake `terraform` and packaging script that record their calls and fail when told.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn eventpay(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(support::binary());
    cmd.args(args).env_remove("EVENTPAY_TERRAFORM");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A project directory with the dev environment's files, a packaging script and a terraform
/// that append their arguments to calls.log; terraform fails with code 3 on a command line
/// containing $FAKE_TF_FAIL and answers `output -raw api_url|api_key`.
fn fake_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("infra/envs")).unwrap();
    fs::create_dir_all(root.join("scripts")).unwrap();
    fs::write(
        root.join("infra/envs/dev.tfvars"),
        "environment = \"dev\"\n",
    )
    .unwrap();
    fs::write(root.join("infra/envs/dev.backend.hcl"), "bucket = \"b\"\n").unwrap();
    let log = root.join("calls.log");
    executable(
        &root.join("scripts/package-lambdas"),
        &format!("#!/bin/sh\necho \"package $*\" >> '{}'\n", log.display()),
    );
    executable(
        &root.join("fake-terraform"),
        &format!(
            r#"#!/bin/sh
echo "terraform $*" >> '{}'
if [ -n "$FAKE_TF_FAIL" ]; then
    case "$*" in *"$FAKE_TF_FAIL"*) echo "Error: told to fail" >&2; exit 3 ;; esac
fi
case "$*" in
    *"-raw api_url"*) printf 'https://abc123.execute-api.us-east-1.amazonaws.com/v1' ;;
    *"-raw api_key"*) printf 'k3y' ;;
esac
"#,
            log.display()
        ),
    );
    dir
}

/// `eventpay <verb>` in the fake project, with its fake terraform.
fn run_fake(root: &Path, verb: &str, envs: &[(&str, &str)]) -> Output {
    let terraform = root.join("fake-terraform");
    eventpay(
        &[
            verb,
            "--project-dir",
            root.to_str().unwrap(),
            "--terraform",
            terraform.to_str().unwrap(),
        ],
        envs,
    )
}

/// What the fakes were called with, one line each, with the -chdir and paths left out.
fn calls(root: &Path) -> Vec<String> {
    let text = fs::read_to_string(root.join("calls.log")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let words: Vec<&str> = l
                .split_whitespace()
                .filter(|w| {
                    !w.starts_with("-chdir=")
                        && !w.starts_with("lambda_artifacts_dir=")
                        && !w.starts_with("-input")
                        && *w != "-var"
                })
                .collect();
            words.join(" ")
        })
        .collect()
}

#[test]
fn dry_run_prints_the_steps_in_dependency_order_and_runs_nothing() {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().to_str().unwrap();
    let out = eventpay(
        &["deploy", "--dry-run", "--env", "prod", "--project-dir", dir],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let order = [
        "1. package the Lambda functions (arm64)",
        "scripts/package-lambdas --arch arm64",
        "2. terraform init (backend settings envs/prod.backend.hcl)",
        "-backend-config=envs/prod.backend.hcl",
        "3. terraform apply module.quote",
        "4. terraform apply module.payment",
        "5. terraform apply module.platform",
        "6. terraform apply module.settlement",
        "-target=module.settlement",
        "note: infra/envs/prod.tfvars does not exist yet",
    ];
    let mut from = 0;
    for expected in order {
        let at = text[from..]
            .find(expected)
            .unwrap_or_else(|| panic!("{expected:?} missing or out of order in:\n{text}"));
        from += at + expected.len();
    }
    assert!(!project.path().join("calls.log").exists());

    let out = eventpay(&["destroy", "--dry-run", "--project-dir", dir], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let positions: Vec<usize> = ["settlement", "platform", "payment", "quote"]
        .iter()
        .map(|m| text.find(&format!("terraform destroy module.{m}")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(!text.contains("package"), "{text}");
}

#[test]
fn deploy_runs_each_step_and_prints_the_api_url_and_key() {
    let project = fake_project();
    let root = project.path();
    let out = run_fake(root, "deploy", &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let tfvars = "-auto-approve -var-file=envs/dev.tfvars lambda_architecture=arm64";
    assert_eq!(
        calls(root),
        [
            "package --arch arm64".to_owned(),
            "terraform init -reconfigure -backend-config=envs/dev.backend.hcl".to_owned(),
            format!("terraform apply {tfvars} -target=module.quote"),
            format!("terraform apply {tfvars} -target=module.payment"),
            format!("terraform apply {tfvars} -target=module.platform"),
            format!("terraform apply {tfvars} -target=module.settlement"),
            "terraform output -no-color -raw api_url".to_owned(),
            "terraform output -no-color -raw api_key".to_owned(),
        ]
    );
    let text = stdout(&out);
    assert!(
        text.contains("==> [3/6] terraform apply module.quote"),
        "{text}"
    );
    assert!(text.contains("--- [6/6] done in"), "{text}");
    assert!(
        text.contains("API URL: https://abc123.execute-api.us-east-1.amazonaws.com/v1"),
        "{text}"
    );
    assert!(text.contains("API key: k3y"), "{text}");
    assert!(
        text.contains("eventpay smoke --url https://abc123."),
        "{text}"
    );
}

#[test]
fn deploy_stops_at_the_first_failed_step_and_names_it() {
    let project = fake_project();
    let root = project.path();
    let out = run_fake(root, "deploy", &[("FAKE_TF_FAIL", "module.platform")]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("step 5/6 (terraform apply module.platform) failed: exited with code 3"),
        "{err}"
    );
    assert!(
        err.contains("not run: terraform apply module.settlement"),
        "{err}"
    );
    let made = calls(root);
    assert_eq!(made.len(), 5, "{made:?}");
    assert!(made.last().unwrap().ends_with("-target=module.platform"));
}

#[test]
fn destroy_goes_module_by_module_in_reverse() {
    let project = fake_project();
    let root = project.path();
    let out = run_fake(root, "destroy", &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let targets: Vec<String> = calls(root)
        .iter()
        .filter_map(|c| c.split("-target=").nth(1).map(str::to_owned))
        .collect();
    assert_eq!(
        targets,
        [
            "module.settlement",
            "module.platform",
            "module.payment",
            "module.quote"
        ]
    );
}

#[test]
fn refuses_missing_backend_settings_and_bad_arguments() {
    let project = fake_project();
    let root = project.path();
    fs::remove_file(root.join("infra/envs/dev.backend.hcl")).unwrap();
    let out = run_fake(root, "deploy", &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing infra/envs/dev.backend.hcl"),
        "{}",
        stderr(&out)
    );
    assert!(calls(root).is_empty());

    let out = eventpay(&["deploy", "--dry-run", "--only", "ledger"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values: quote, payment, platform, settlement"));

    let out = eventpay(&["deploy", "--dry-run", "--env", "../prod"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--env"), "{}", stderr(&out));
}
