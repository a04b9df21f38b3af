//! `eventpay-ledger-check-aws` over tables the task functions wrote: balanced (exit 0), then
//! with a corrupted balance item (exit 1, the discrepancy named, text and `--json`).

use std::process::Command;

use eventpay_aws::aws_sdk_dynamodb::types::AttributeValue;
use eventpay_aws::ledger_items;
use eventpay_core::currency;
use eventpay_lambdas::ledger_check::{self, Options};
use serde_json::Value;

use crate::api::settled_payments;
use crate::events::store;

fn run(options: &Options, json: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventpay-ledger-check-aws"));
    cmd.args([
        "--table",
        &options.table,
        "--ledger-table",
        &options.ledger_table,
    ]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[tokio::test]
async fn the_check_passes_then_finds_a_corrupted_balance() {
    let store = store().await;
    settled_payments(&store, 2).await;
    let options = Options {
        json: false,
        table: store.table().to_owned(),
        ledger_table: store.ledger_table().unwrap().to_owned(),
    };
    let report = ledger_check::check(store.client(), &options).await.unwrap();
    assert!(report.is_balanced(), "{report:?}");
    let (code, text) = run(&options, false);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("2 payments (2 settled), 6 transfers, 5 balances"),
        "{text}"
    );
    assert!(text.contains("the book balances"), "{text}");

    store
        .client()
        .update_item()
        .table_name(&options.ledger_table)
        .set_key(Some(ledger_items::balance_key(
            "ACC-2",
            currency("EUR").unwrap(),
            "p-0",
        )))
        .update_expression("ADD #b :n")
        .expression_attribute_names("#b", ledger_items::BALANCE)
        .expression_attribute_values(":n", AttributeValue::N("5".into()))
        .send()
        .await
        .unwrap();
    let (code, text) = run(&options, false);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("2 discrepancies:"), "{text}");
    assert!(text.contains(r#"account "ACC-2" in EUR"#), "{text}");
    let (code, json) = run(&options, true);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["balanced"], false);
    assert_eq!(report["discrepancies"][0]["kind"], "balance_differs");

    // Without tables the command names what is missing, and fails with 2.
    let out = Command::new(env!("CARGO_BIN_EXE_eventpay-ledger-check-aws"))
        .env_remove("EVENTPAY_TABLE")
        .env_remove("EVENTPAY_LEDGER_TABLE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EVENTPAY_TABLE"));
}
