//! The ledger end to end on the built binary: a settled payment's transfers in its document,
//! `GET /ledger/accounts/{account}` (balances per currency, transfers newest first, pages),
//! `eventpay ledger check` on a sound book and on books corrupted by editing the database, and
//! the migration of a data dir whose payments kept ledger entries inside the document.

mod support;

use std::path::Path;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::{Server, assert_balanced, assert_book_reconciles, assert_error, ledger_check};

const SENDER: &str = "DE89370400440532013000";

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("a decimal string: {v}"))
        .parse()
        .unwrap()
}

fn settle(s: &Server, amount: &str, beneficiary: &str) -> Value {
    let id = s.pay(amount, beneficiary);
    let p = s.wait_final(&id, Duration::from_secs(10));
    assert_eq!(p["status"], "SETTLED", "{p}");
    p
}

fn balance<'a>(page: &'a Value, currency: &str) -> &'a Value {
    page["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == currency)
        .unwrap_or_else(|| panic!("a {currency} balance in {page}"))
}

fn sql(data_dir: &Path, statements: &str) {
    let conn = rusqlite::Connection::open(data_dir.join("eventpay.sqlite3")).unwrap();
    conn.execute_batch(statements).unwrap();
}

#[test]
fn accounts_show_balances_and_transfers_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let a = settle(&s, "1000.00", "ACC-ONE");
    let b = settle(&s, "250.00", "acc-two");
    for p in [&a, &b] {
        assert_balanced(p);
        let ids: Vec<&str> = p["settlement"]["transfers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        let pid = p["payment_id"].as_str().unwrap();
        assert_eq!(
            ids,
            [
                format!("{pid}/principal"),
                format!("{pid}/fee"),
                format!("{pid}/payout")
            ]
        );
    }

    // The sender paid both amounts in USD; each beneficiary got its target amount in EUR.
    let (status, sender) = s.get(&format!("/ledger/accounts/{SENDER}"));
    assert_eq!(status, 200, "{sender}");
    let usd = balance(&sender, "USD");
    assert_eq!(dec(&usd["debits"]), dec(&a["amount"]) + dec(&b["amount"]));
    assert_eq!(
        dec(&usd["balance"]),
        -(dec(&a["amount"]) + dec(&b["amount"]))
    );
    assert_eq!(usd["transfers"], 4);
    let transfers = sender["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 4);
    assert_eq!(transfers[0]["payment_id"], b["payment_id"], "newest first");
    let (_, two) = s.get("/ledger/accounts/ACC-TWO");
    assert_eq!(
        dec(&balance(&two, "EUR")["balance"]),
        dec(&b["target_amount"])
    );
    // The same account however it is spelt, as payments store it.
    let (_, spelt) = s.get("/ledger/accounts/acc-two");
    assert_eq!(spelt["account"], "ACC-TWO", "{spelt}");
    assert_eq!(spelt["balances"], two["balances"]);

    // Internal accounts: fees collected, FX positions.
    let (_, fees) = s.get("/ledger/accounts/fees:USD");
    assert_eq!(
        dec(&balance(&fees, "USD")["balance"]),
        dec(&a["fee"]) + dec(&b["fee"])
    );
    let (_, fx) = s.get("/ledger/accounts/fx:EUR");
    assert_eq!(
        dec(&balance(&fx, "EUR")["balance"]),
        -(dec(&a["target_amount"]) + dec(&b["target_amount"]))
    );

    // Pages: one transfer at a time, each once, then no cursor.
    let mut seen = Vec::new();
    let mut path = format!("/ledger/accounts/{SENDER}?limit=1");
    loop {
        let (status, page) = s.get(&path);
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["transfers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/ledger/accounts/{SENDER}?limit=1&cursor={c}"),
            None => break,
        }
    }
    let all: Vec<Value> = transfers.iter().map(|t| t["id"].clone()).collect();
    assert_eq!(seen, all);

    // An account nobody used: no balances, no transfers, not an error.
    let (status, none) = s.get("/ledger/accounts/ACC-NOBODY");
    assert_eq!(
        (status, none["balances"].clone(), none["transfers"].clone()),
        (200, json!([]), json!([]))
    );
    // Bad input: clear errors.
    assert_error(s.get("/ledger/accounts/FX:EUR"), 400, "invalid_account");
    assert_error(
        s.get(&format!("/ledger/accounts/{SENDER}?limit=0")),
        400,
        "invalid_limit",
    );
    assert_error(
        s.get(&format!("/ledger/accounts/{SENDER}?cursor=x")),
        422,
        "invalid_field",
    );
    assert_error(
        s.get(&format!("/ledger/accounts/{SENDER}?page=2")),
        400,
        "unknown_parameter",
    );

    // The book reconciles, also while the runtime runs.
    assert_book_reconciles(dir.path());
    let (_, report) = ledger_check(dir.path());
    assert_eq!(report["settled"], 2);
    assert_eq!(report["transfers"], 6);
}

#[test]
fn ledger_check_fails_on_a_corrupted_book_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = settle(&s, "100.00", "ACC-CORRUPT");
    let rejected = s.pay("90000.00", "ACC-BIG");
    assert_eq!(
        s.wait_final(&rejected, Duration::from_secs(10))["status"],
        "REJECTED"
    );
    let pid = p["payment_id"].as_str().unwrap().to_owned();
    s.interrupt();
    assert_book_reconciles(dir.path());

    let corruptions = [
        (
            "UPDATE balances SET balance = '1.00' WHERE account = 'fees:USD'",
            "balance_differs",
        ),
        (
            &*format!("DELETE FROM transfers WHERE transfer_id = '{pid}/fee'"),
            "settled_payment_transfers",
        ),
        (
            &*format!(
                "UPDATE transfers SET payment_id = '{rejected}' WHERE transfer_id = '{pid}/payout'"
            ),
            "transfers_of_unsettled_payment",
        ),
    ];
    for (edit, kind) in corruptions {
        let copy = tempfile::tempdir().unwrap();
        for f in ["eventpay.sqlite3", "eventpay.sqlite3-wal"] {
            if dir.path().join(f).exists() {
                std::fs::copy(dir.path().join(f), copy.path().join(f)).unwrap();
            }
        }
        sql(copy.path(), edit);
        let (ok, report) = ledger_check(copy.path());
        assert!(!ok, "{edit}: {report}");
        let kinds: Vec<&str> = report["discrepancies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&kind), "{edit}: {kinds:?}");
    }
    // A person reads the same, and the exit code is 1.
    sql(
        dir.path(),
        "UPDATE balances SET balance = '0.01' WHERE account = 'fx:USD'",
    );
    let out = std::process::Command::new(support::binary())
        .args(["ledger", "check", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("account \"fx:USD\" in USD: stored balance 0.01"),
        "{text}"
    );
    assert!(text.contains("USD balances sum to"), "{text}");
}

/// A data dir of schema version 2 kept each settled payment's ledger entries in its document;
/// on start-up it is migrated: its transfers and balances are posted, the document shows them.
#[test]
fn a_version_2_data_dir_is_migrated_on_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = settle(&s, "500.00", "ACC-OLD");
    let pid = p["payment_id"].as_str().unwrap().to_owned();
    s.interrupt();
    // What eventpay 2026-11 wrote: ledger entries in the document, no ledger tables.
    sql(
        dir.path(),
        &format!(
            "UPDATE payments SET body = json_set(json_remove(body, '$.settlement.transfers'),
                 '$.settlement.ledger_entries', json('[{{\"account\":\"x\",\"currency\":\"USD\",\"debit\":\"1\"}}]'))
             WHERE payment_id = '{pid}';
             DROP TABLE transfers; DROP TABLE balances; PRAGMA user_version = 2;"
        ),
    );
    let out = std::process::Command::new(support::binary())
        .args(["ledger", "check", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unmigrated data dir is not read");
    assert!(
        err.contains("schema version 2") && err.contains("migrates"),
        "{err}"
    );

    let s = Server::start(dir.path(), &[]);
    let (_, migrated) = s.get(&format!("/payments/{pid}"));
    assert_eq!(
        migrated["settlement"]["transfers"],
        p["settlement"]["transfers"]
    );
    assert!(
        migrated["settlement"]["ledger_entries"].is_null(),
        "{migrated}"
    );
    let (_, account) = s.get("/ledger/accounts/ACC-OLD");
    assert_eq!(
        dec(&balance(&account, "EUR")["balance"]),
        dec(&p["target_amount"])
    );
    // New payments post next to the migrated ones.
    settle(&s, "10.00", "ACC-NEW");
    assert_book_reconciles(dir.path());
}
