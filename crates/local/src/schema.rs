//! The database's schema as a whole: each table's definition lives in the module that owns it;
//! this module applies them, sets up incremental vacuum on a new file, records the schema
//! version, and refuses a data dir written by an incompatible version of eventpay.

use rusqlite::Connection;

use crate::error::LocalError;
use crate::{audit, executions, notify, queue, store, stream};

/// Version 3: the ledger's own tables (`transfers`, `balances`). A version-2 data dir is
/// migrated on start-up ([`crate::ledger::migrate_legacy`]); version 2 was compressed stream
/// images, audit entries and execution history. Data dirs of version 0 or 1 (before 2026-12)
/// are refused.
pub const VERSION: i64 = 3;

/// The oldest schema version this eventpay migrates from.
const MIGRATES_FROM: i64 = 2;

pub fn migrate(conn: &Connection) -> Result<(), LocalError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        [],
        |r| r.get(0),
    )?;
    if tables > 0 && !(MIGRATES_FROM..=VERSION).contains(&version) {
        return Err(LocalError::Io(format!(
            "the data dir's database has schema version {version}, this eventpay needs {VERSION} \
             and migrates from {MIGRATES_FROM} on: start with a new --data-dir (or remove the old \
             one: local data is for development)"
        )));
    }
    if tables == 0 {
        // Must be set before the first table exists; freed pages are then handed back by
        // `PRAGMA incremental_vacuum` (retention) instead of a full VACUUM.
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
    }
    for ddl in [
        store::SCHEMA,
        stream::SCHEMA,
        queue::SCHEMA,
        audit::SCHEMA,
        notify::SCHEMA,
        executions::SCHEMA,
        crate::definitions::SCHEMA,
        store::SEARCH_INDEXES,
        crate::trace::SCHEMA,
        crate::ledger::SCHEMA,
    ] {
        conn.execute_batch(ddl)?;
    }
    if tables > 0 && version < VERSION {
        let tx = conn.unchecked_transaction()?;
        let posted = crate::ledger::migrate_legacy(&tx)?;
        tx.commit()?;
        tracing::info!(
            from = version,
            to = VERSION,
            posted,
            "migrated the data dir's database"
        );
    }
    stream::init_table_id(conn)?;
    notify::upgrade(conn)?;
    queue::upgrade(conn)?;
    executions::upgrade(conn)?;
    conn.execute_batch(&format!("PRAGMA user_version = {VERSION};"))?;
    Ok(())
}

/// Refuses a database that is not at this eventpay's schema version (a read-only tool cannot
/// migrate it: `eventpay up` does, on start-up).
pub fn require_current(conn: &Connection) -> Result<(), LocalError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == VERSION {
        return Ok(());
    }
    let how = if (MIGRATES_FROM..VERSION).contains(&version) {
        "start `eventpay up` on it once: it migrates the database"
    } else {
        "this eventpay cannot read it"
    };
    Err(LocalError::Io(format!(
        "the database has schema version {version}, this eventpay reads {VERSION}: {how}"
    )))
}

/// Adds a column that a later eventpay added to a table, to a data dir made before it (the
/// owning module names the table and column; within one schema version, columns only ever
/// come, nullable).
pub(crate) fn add_column(
    conn: &Connection,
    table: &str,
    column: &str,
    ty: &str,
) -> Result<(), LocalError> {
    let has: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
        rusqlite::params![table, column],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty};"))?;
    }
    Ok(())
}
