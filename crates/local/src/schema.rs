//! The database's schema as a whole: each table's definition lives in the module that owns it;
//! this module applies them, sets up incremental vacuum on a new file, records the schema
//! version, and refuses a data dir written by an incompatible version of eventpay.

use rusqlite::Connection;

use crate::error::LocalError;
use crate::{audit, executions, notify, queue, store, stream};

/// Version 2: compressed stream images, audit entries and execution history (one row per
/// persisted step). Data dirs of version 0 or 1 (before 2026-12) are refused.
pub const VERSION: i64 = 2;

pub fn migrate(conn: &Connection) -> Result<(), LocalError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        [],
        |r| r.get(0),
    )?;
    if tables > 0 && version != VERSION {
        return Err(LocalError::Io(format!(
            "the data dir's database has schema version {version}, this eventpay needs {VERSION}: \
             start with a new --data-dir (or remove the old one: local data is for development)"
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
    ] {
        conn.execute_batch(ddl)?;
    }
    stream::init_table_id(conn)?;
    notify::upgrade(conn)?;
    executions::upgrade(conn)?;
    conn.execute_batch(&format!("PRAGMA user_version = {VERSION};"))?;
    Ok(())
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
