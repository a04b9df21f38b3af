//! `eventpay deploy` and `eventpay destroy` without AWS: the plan-confirm-apply steps
//! (`--dry-run`), and runs against a fake `terraform` and packaging script that record their
//! calls, answer `show -json` / `apply -json` / `output -json` as Terraform does, and fail when
//! told.

mod support;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

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

const PLAN: &str = r#"{"resource_changes":[{"address":"module.quote.module.key.aws_kms_key.this","change":{"actions":["create"]}},{"address":"module.quote.module.function.aws_lambda_function.this","change":{"actions":["create"]}},{"address":"module.payment.aws_dynamodb_table.payments","change":{"actions":["create"]}},{"address":"module.payment.data.aws_region.current","change":{"actions":["read"]}}]}"#;

const APPLY: &str = r#"{"@level":"info","@message":"Terraform 1.11.4","type":"version"}
{"@level":"info","@message":"module.quote.module.key.aws_kms_key.this: Creation complete after 1s","type":"apply_complete","hook":{"resource":{"addr":"module.quote.module.key.aws_kms_key.this","module":"module.quote.module.key"}}}
{"@level":"info","@message":"module.quote.module.function.aws_lambda_function.this: Creation complete after 9s","type":"apply_complete","hook":{"resource":{"addr":"module.quote.module.function.aws_lambda_function.this","module":"module.quote.module.function"}}}
{"@level":"info","@message":"module.payment.aws_dynamodb_table.payments: Creation complete after 7s","type":"apply_complete","hook":{"resource":{"addr":"module.payment.aws_dynamodb_table.payments","module":"module.payment"}}}
{"@level":"info","@message":"Apply complete! Resources: 3 added, 0 changed, 0 destroyed.","type":"change_summary"}"#;

const OUTPUTS: &str = r#"{"api_url":{"value":"https://abc123.execute-api.us-east-1.amazonaws.com/v1"},"api_key":{"value":"k3y","sensitive":true},"api_authorization":{"value":"api_key"}}"#;

/// A project directory with the dev environment's files, a packaging script and a terraform
/// that append their arguments to calls.log. The terraform fails with code 3 on a command line
/// containing $FAKE_TF_FAIL, shows a saved plan of three creates (quote 2, payment 1), applies
/// it as `apply -json` reports, and answers `output -json`.
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
    for (name, text) in [
        ("plan.json", PLAN),
        ("apply.jsonl", APPLY),
        ("outputs.json", OUTPUTS),
    ] {
        fs::write(root.join(name), text).unwrap();
    }
    let log = root.join("calls.log");
    executable(
        &root.join("scripts/package-lambdas"),
        &format!("#!/bin/sh\necho \"package $*\" >> '{}'\n", log.display()),
    );
    executable(
        &root.join("fake-terraform"),
        &format!(
            r#"#!/bin/sh
echo "terraform $*" >> '{log}'
if [ -n "$FAKE_TF_FAIL" ]; then
    case "$*" in *"$FAKE_TF_FAIL"*) echo "Error: told to fail" >&2; exit 3 ;; esac
fi
case "$*" in
    *" show -json "*) cat '{root}/plan.json' ;;
    *" apply "*) cat '{root}/apply.jsonl' ;;
    *" output -no-color -json"*) cat '{root}/outputs.json' ;;
esac
"#,
            log = log.display(),
            root = root.display()
        ),
    );
    dir
}

/// `eventpay <verb> [extra...]` in the fake project with its fake terraform, `stdin` typed in.
fn run_fake(root: &Path, verb: &str, extra: &[&str], envs: &[(&str, &str)], stdin: &str) -> Output {
    let terraform = root.join("fake-terraform");
    let mut cmd = Command::new(support::binary());
    cmd.args([
        verb,
        "--project-dir",
        root.to_str().unwrap(),
        "--terraform",
        terraform.to_str().unwrap(),
    ])
    .args(extra)
    .env_remove("EVENTPAY_TERRAFORM")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
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

fn in_order(text: &str, expected: &[&str]) {
    let mut from = 0;
    for e in expected {
        let at = text[from..]
            .find(e)
            .unwrap_or_else(|| panic!("{e:?} missing or out of order in:\n{text}"));
        from += at + e.len();
    }
}

#[test]
fn dry_run_shows_the_plan_confirm_apply_steps_and_runs_nothing() {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().to_str().unwrap();
    let out = eventpay(
        &["deploy", "--dry-run", "--env", "prod", "--project-dir", dir],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    in_order(
        &stdout(&out),
        &[
            "1. package the Lambda functions (arm64)",
            "scripts/package-lambdas --arch arm64",
            "2. terraform init (backend settings envs/prod.backend.hcl)",
            "-backend-config=envs/prod.backend.hcl",
            "3. terraform plan of every module into prod.tfplan",
            "plan -input=false -out=prod.tfplan -var-file=envs/prod.tfvars",
            "4. summary of the saved plan (add / change / destroy per module), then confirm unless --yes",
            "show -json prod.tfplan",
            "5. terraform apply prod.tfplan (the saved plan), progress per module",
            "apply -input=false -json prod.tfplan",
            "note: infra/envs/prod.tfvars does not exist yet",
        ],
    );
    assert!(!stdout(&out).contains("-auto-approve"));
    assert!(!project.path().join("calls.log").exists());

    let out = eventpay(&["destroy", "--dry-run", "--project-dir", dir], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    in_order(
        &text,
        &[
            "terraform plan -destroy of every module into dev.destroy.tfplan",
            "-destroy -out=dev.destroy.tfplan",
            "apply -input=false -json dev.destroy.tfplan",
        ],
    );
    assert!(!text.contains("package"), "{text}");
}

#[test]
fn deploy_yes_shows_the_summary_applies_the_saved_plan_with_progress_and_hides_the_key() {
    let project = fake_project();
    let root = project.path();
    let out = run_fake(root, "deploy", &["--yes"], &[], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let vars = "-var-file=envs/dev.tfvars lambda_architecture=arm64";
    assert_eq!(
        calls(root),
        [
            "package --arch arm64".to_owned(),
            "terraform init -reconfigure -backend-config=envs/dev.backend.hcl".to_owned(),
            format!("terraform plan -out=dev.tfplan {vars}"),
            "terraform show -json dev.tfplan".to_owned(),
            "terraform apply -json dev.tfplan".to_owned(),
            "terraform output -no-color -json".to_owned(),
        ]
    );
    let text = stdout(&out);
    in_order(
        &text,
        &[
            "==> the plan",
            "module",
            "add",
            "change",
            "destroy",
            "quote            2       0        0",
            "payment          1       0        0",
            "total            3       0        0",
            "[quote] 1/2 module.quote.module.key.aws_kms_key.this: Creation complete",
            "[quote] 2/2",
            "[quote] done",
            "[payment] 1/1",
            "[payment] done",
            "Apply complete! Resources: 3 added",
            "API URL: https://abc123.execute-api.us-east-1.amazonaws.com/v1",
            "API key: hidden (--show-secrets",
        ],
    );
    assert!(
        !text.contains("k3y"),
        "the key shows without --show-secrets:\n{text}"
    );
    assert!(
        !text.contains("Only 'yes' applies"),
        "--yes asks nothing:\n{text}"
    );

    let out = run_fake(
        root,
        "deploy",
        &["--yes", "--skip-package", "--show-secrets"],
        &[],
        "",
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("API key: k3y"), "{}", stdout(&out));
    assert!(stdout(&out).contains("eventpay smoke --url https://abc123."));
}

#[test]
fn deploy_asks_and_applies_only_on_yes() {
    let project = fake_project();
    let root = project.path();
    let out = run_fake(root, "deploy", &["--skip-package"], &[], "no\n");
    assert!(!out.status.success());
    assert!(stdout(&out).contains("Apply this plan (deploy --env dev)? Only 'yes' applies"));
    assert!(stderr(&out).contains("not applied"), "{}", stderr(&out));
    assert!(
        !calls(root).iter().any(|c| c.contains(" apply ")),
        "{:?}",
        calls(root)
    );

    let out = run_fake(root, "deploy", &["--skip-package"], &[], "yes\n");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        calls(root)
            .iter()
            .any(|c| c == "terraform apply -json dev.tfplan")
    );
}

#[test]
fn deploy_stops_at_the_first_failed_step_and_names_it() {
    let project = fake_project();
    let root = project.path();
    let out = run_fake(
        root,
        "deploy",
        &["--yes"],
        &[("FAKE_TF_FAIL", " plan ")],
        "",
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("terraform plan of every module into dev.tfplan failed: exited with code 3"),
        "{err}"
    );
    let made = calls(root);
    assert!(
        made.last().unwrap().starts_with("terraform plan"),
        "{made:?}"
    );

    let out = run_fake(
        root,
        "deploy",
        &["--yes", "--skip-package"],
        &[("FAKE_TF_FAIL", " apply ")],
        "",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("(the saved plan), progress per module failed: exited with code 3"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("API URL"));
}

#[test]
fn destroy_plans_a_destroy_and_applies_that_plan() {
    let project = fake_project();
    let root = project.path();
    let out = run_fake(root, "destroy", &["--yes", "--only", "settlement"], &[], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        calls(root)[1..],
        [
            "terraform plan -destroy -out=dev.destroy.tfplan -var-file=envs/dev.tfvars lambda_architecture=arm64 -target=module.settlement".to_owned(),
            "terraform show -json dev.destroy.tfplan".to_owned(),
            "terraform apply -json dev.destroy.tfplan".to_owned(),
        ]
    );
}

#[test]
fn refuses_missing_backend_settings_and_bad_arguments() {
    let project = fake_project();
    let root = project.path();
    fs::remove_file(root.join("infra/envs/dev.backend.hcl")).unwrap();
    let out = run_fake(root, "deploy", &[], &[], "");
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
