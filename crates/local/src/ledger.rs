//! The ledger's tables on SQLite: `transfers` (one row per transfer, never changed) and
//! `balances` (one row per account and currency). This module is their only owner: the store's
//! settlement posts through [`post`] inside its own transaction, so a payment and its transfers
//! and balances commit together; reads serve the core's `Ledger` port; [`reconcile`] checks the
//! whole book; [`migrate_legacy`] posts the transfers of payments settled by an eventpay that kept
//! ledger entries inside the payment (schema version 2).

use std::str::FromStr;

use eventpay_core::{
    AccountPage, Balance, Currency, Decimal, Ledger, Payment, PaymentStatus, Reconciler,
    Reconciliation, StoreError, Transfer, balance_changes, currency, transfers_for,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::db::Db;
use crate::error::LocalError;
use crate::store::{backend, decode_cursor, encode_cursor};

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS transfers (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    transfer_id    TEXT NOT NULL UNIQUE, -- a transfer is posted once, whatever retries
    payment_id     TEXT NOT NULL,
    debit_account  TEXT NOT NULL,
    credit_account TEXT NOT NULL,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    posted_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_payment ON transfers(payment_id);
CREATE INDEX IF NOT EXISTS transfers_debit ON transfers(debit_account, seq);
CREATE INDEX IF NOT EXISTS transfers_credit ON transfers(credit_account, seq);
CREATE TABLE IF NOT EXISTS balances (
    account   TEXT NOT NULL,
    currency  TEXT NOT NULL,
    debits    TEXT NOT NULL,
    credits   TEXT NOT NULL,
    balance   TEXT NOT NULL,
    transfers INTEGER NOT NULL,
    PRIMARY KEY (account, currency)
) WITHOUT ROWID;
"#;

fn corrupt(what: &str, e: impl std::fmt::Display) -> LocalError {
    LocalError::Corrupt(format!("{what}: {e}"))
}

fn decimal(what: &str, text: &str) -> Result<Decimal, LocalError> {
    Decimal::from_str(text).map_err(|e| corrupt(what, e))
}

fn stored_currency(what: &str, code: &str) -> Result<Currency, LocalError> {
    currency(code).map_err(|e| corrupt(what, e))
}

/// Posts `transfers` and changes their accounts' balances, in the caller's transaction. A
/// transfer id already posted fails the whole write with `Conflict` (nothing of it stays: the
/// caller's savepoint rolls back).
pub(crate) fn post(tx: &Transaction<'_>, transfers: &[Transfer]) -> Result<(), LocalError> {
    for t in transfers {
        let inserted = tx
            .prepare_cached(
                "INSERT INTO transfers (transfer_id, payment_id, debit_account, credit_account, amount, currency, posted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (transfer_id) DO NOTHING",
            )?
            .execute(params![
                t.id,
                t.payment_id,
                t.debit_account,
                t.credit_account,
                t.amount.to_string(),
                t.currency.code,
                serde_json::to_value(t.posted_at)?.as_str().unwrap_or_default(),
            ])?;
        if inserted == 0 {
            return Err(
                StoreError::Conflict(format!("transfer {} is already posted", t.id)).into(),
            );
        }
    }
    for ((account, currency), change) in balance_changes(transfers) {
        let mut balance = read_balance(tx, &account, currency)?
            .unwrap_or_else(|| Balance::zero(&account, currency));
        balance.apply(&change);
        tx.prepare_cached(
            "INSERT OR REPLACE INTO balances (account, currency, debits, credits, balance, transfers)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            account,
            currency.code,
            balance.debits.to_string(),
            balance.credits.to_string(),
            balance.balance.to_string(),
            balance.transfers as i64,
        ])?;
    }
    Ok(())
}

const BALANCE_COLUMNS: &str = "account, currency, debits, credits, balance, transfers";

type BalanceRow = (String, String, String, String, String, i64);

fn balance_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BalanceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn to_balance(
    (account, code, debits, credits, balance, transfers): BalanceRow,
) -> Result<Balance, LocalError> {
    let what = format!("balance of {account:?} in {code}");
    Ok(Balance {
        currency: stored_currency(&what, &code)?,
        debits: decimal(&what, &debits)?,
        credits: decimal(&what, &credits)?,
        balance: decimal(&what, &balance)?,
        transfers: u64::try_from(transfers).map_err(|e| corrupt(&what, e))?,
        account,
    })
}

fn read_balance(
    conn: &Connection,
    account: &str,
    currency: Currency,
) -> Result<Option<Balance>, LocalError> {
    conn.prepare_cached(&format!(
        "SELECT {BALANCE_COLUMNS} FROM balances WHERE account = ?1 AND currency = ?2"
    ))?
    .query_row(params![account, currency.code], balance_row)
    .optional()?
    .map(to_balance)
    .transpose()
}

const TRANSFER_COLUMNS: &str =
    "seq, transfer_id, payment_id, debit_account, credit_account, amount, currency, posted_at";

type TransferRow = (i64, [String; 7]);

fn transfer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransferRow> {
    Ok((
        r.get(0)?,
        [
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ],
    ))
}

fn to_transfer(
    [
        id,
        payment_id,
        debit_account,
        credit_account,
        amount,
        code,
        posted_at,
    ]: [String; 7],
) -> Result<Transfer, LocalError> {
    let what = format!("transfer {id}");
    Ok(Transfer {
        amount: decimal(&what, &amount)?,
        currency: stored_currency(&what, &code)?,
        posted_at: chrono::DateTime::parse_from_rfc3339(&posted_at)
            .map_err(|e| corrupt(&what, e))?
            .with_timezone(&chrono::Utc),
        id,
        payment_id,
        debit_account,
        credit_account,
    })
}

/// The transfers a payment posted, in posting order.
pub fn transfers_of(conn: &Connection, payment_id: &str) -> Result<Vec<Transfer>, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE payment_id = ?1 ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![payment_id], transfer_row)?;
    rows.map(|row| to_transfer(row?.1)).collect()
}

/// One account: its balances and a page of its transfers (either side), newest first, before
/// the cursor's position.
pub fn account_page(
    conn: &Connection,
    account: &str,
    limit: u32,
    before_seq: i64,
) -> Result<AccountPage, LocalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {BALANCE_COLUMNS} FROM balances WHERE account = ?1 ORDER BY currency"
    ))?;
    let balances = stmt
        .query_map(params![account], balance_row)?
        .map(|row| to_balance(row?))
        .collect::<Result<Vec<_>, _>>()?;
    // Each side through its own index; a transfer never debits and credits one account.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT * FROM (SELECT {TRANSFER_COLUMNS} FROM transfers WHERE debit_account = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3)
         UNION ALL
         SELECT * FROM (SELECT {TRANSFER_COLUMNS} FROM transfers WHERE credit_account = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3)
         ORDER BY seq DESC LIMIT ?3"
    ))?;
    let rows: Vec<TransferRow> = stmt
        .query_map(
            params![account, before_seq, i64::from(limit) + 1],
            transfer_row,
        )?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit as usize;
    let mut transfers = Vec::with_capacity(limit as usize);
    let mut last_seq = None;
    for (seq, row) in rows.into_iter().take(limit as usize) {
        transfers.push(to_transfer(row)?);
        last_seq = Some(seq);
    }
    Ok(AccountPage {
        account: account.to_string(),
        balances,
        transfers,
        next_cursor: last_seq.filter(|_| more).map(encode_cursor),
    })
}

/// Reads the whole book once (payments, transfers, balances) and reconciles it.
pub fn reconcile(conn: &Connection) -> Result<Reconciliation, LocalError> {
    let mut r = Reconciler::new();
    crate::store::for_each_payment(conn, |p| {
        r.payment(p);
        Ok(())
    })?;
    let mut stmt = conn.prepare(&format!("SELECT {TRANSFER_COLUMNS} FROM transfers"))?;
    for row in stmt.query_map([], transfer_row)? {
        r.transfer(&to_transfer(row?.1)?);
    }
    let mut stmt = conn.prepare(&format!("SELECT {BALANCE_COLUMNS} FROM balances"))?;
    for row in stmt.query_map([], balance_row)? {
        r.balance(&to_balance(row?)?);
    }
    Ok(r.finish())
}

/// Reconciles the book in a data dir, read-only (beside a running `eventpay up` or without one).
pub fn check_data_dir(data_dir: &std::path::Path) -> Result<Reconciliation, LocalError> {
    reconcile(&crate::db::open_read_only(data_dir)?)
}

/// Schema 2 → 3: every SETTLED payment without transfers (it kept `ledger_entries` in its
/// document) posts the transfers its figures require at its settlement time, and its document's
/// settlement shows them. Runs in the migration's transaction; returns how many were posted.
pub(crate) fn migrate_legacy(tx: &Transaction<'_>) -> Result<u64, LocalError> {
    let mut settled: Vec<Payment> = Vec::new();
    crate::store::for_each_payment(tx, |p| {
        if p.status == PaymentStatus::Settled
            && p.settlement.as_ref().is_none_or(|s| s.transfers.is_empty())
        {
            settled.push(p.clone());
        }
        Ok(())
    })?;
    for mut payment in settled.iter().cloned() {
        let posted_at = payment
            .settlement
            .as_ref()
            .map_or(payment.updated_at, |s| s.posted_at);
        let transfers = transfers_for(&payment, posted_at)
            .map_err(|e| corrupt(&format!("settled payment {}", payment.payment_id), e))?;
        post(tx, &transfers)?;
        payment.settlement = Some(eventpay_core::Settlement {
            transfers,
            posted_at,
        });
        crate::store::rewrite_body(tx, &payment)?;
    }
    Ok(settled.len() as u64)
}

/// The `Ledger` port on SQLite: reads through the database's read pool.
#[derive(Clone)]
pub struct SqliteLedger {
    db: Db,
}

impl SqliteLedger {
    pub fn new(db: Db) -> Self {
        SqliteLedger { db }
    }
}

impl Ledger for SqliteLedger {
    async fn account(
        &self,
        account: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<AccountPage, StoreError> {
        let before = cursor.map(decode_cursor).transpose()?.unwrap_or(i64::MAX);
        let account = account.to_owned();
        self.db
            .read(move |conn| account_page(conn, &account, limit, before))
            .await
            .map_err(backend)
    }
}
