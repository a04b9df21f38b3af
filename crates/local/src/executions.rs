//! The workflow's executions and their history (Step Functions' ListExecutions,
//! DescribeExecution, GetExecutionHistory): the only module that reads or writes these tables.
//! A running execution's full state is kept compressed beside its row, so a restarted process
//! resumes it; history is stored as one compressed row per persisted step.

use std::sync::Arc;

use eventpay_states::{Execution, ExecutionStatus, HistoryEvent};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::compact;
use crate::definitions::{Definitions, Version};
use crate::error::LocalError;
use crate::tasks::{ACCOUNT, REGION};

pub const STATE_MACHINE_NAME: &str = "eventpay-settlement";

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS executions (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    start_date TEXT NOT NULL,
    stop_date  TEXT,
    -- The compressed Execution: kept while RUNNING, and after a failure (for redrive).
    state      BLOB,
    -- The state machine version it runs on (definitions.digest); NULL before versions existed.
    definition TEXT
);
CREATE INDEX IF NOT EXISTS executions_status ON executions(status, seq);
-- One row per persisted step: the step's history events as a compressed JSON array.
CREATE TABLE IF NOT EXISTS history (
    execution INTEGER NOT NULL,
    first_id  INTEGER NOT NULL,
    events    BLOB NOT NULL,
    PRIMARY KEY (execution, first_id)
) WITHOUT ROWID;
"#;

/// Adds the `definition` column to a data dir made before state machine versions.
pub(crate) fn upgrade(conn: &Connection) -> Result<(), LocalError> {
    crate::schema::add_column(conn, "executions", "definition", "TEXT")
}

pub fn state_machine_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}")
}

pub fn execution_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE_NAME}:{name}")
}

/// The name inside an execution ARN of this state machine, or the text itself if it is a name.
pub fn name_of(id: &str) -> &str {
    let prefix_len = execution_arn("").len();
    match id.strip_prefix(&execution_arn("")[..prefix_len]) {
        Some(name) => name,
        None => id,
    }
}

pub fn status_text(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Running => "RUNNING",
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::TimedOut => "TIMED_OUT",
        ExecutionStatus::Aborted => "ABORTED",
    }
}

/// An execution in memory, with its row id.
#[derive(Debug, Clone)]
pub struct Live {
    pub seq: i64,
    pub execution: Execution,
    /// The state machine version it started on ([`crate::definitions`]).
    pub definition: Option<Arc<str>>,
}

/// A new execution, built outside the writer so the transaction only inserts it.
pub struct NewExecution {
    name: String,
    execution: Execution,
    definition: Arc<str>,
    start_date: String,
    state: Vec<u8>,
    events: Vec<u8>,
}

impl NewExecution {
    pub fn build(version: &Version, name: &str, input: Value) -> Result<Self, LocalError> {
        let now = chrono::Utc::now();
        let (execution, events) = Execution::start(
            &version.machine,
            &execution_arn(name),
            name,
            &state_machine_arn(),
            input,
            now,
        );
        Ok(NewExecution {
            name: name.to_owned(),
            state: compact::pack(&execution)?,
            events: compact::pack(&events)?,
            start_date: now.to_rfc3339(),
            execution,
            definition: version.digest.clone(),
        })
    }

    /// Inserts it inside the caller's transaction. Like StartExecution with an existing name,
    /// a repeated start is a no-op (None).
    pub fn insert(self, tx: &Transaction<'_>) -> Result<Option<Live>, LocalError> {
        let inserted = tx
            .prepare_cached(
                "INSERT INTO executions (name, status, start_date, state, definition) VALUES (?1, 'RUNNING', ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING",
            )?
            .execute(params![self.name, self.start_date, self.state, &*self.definition])?;
        if inserted == 0 {
            return Ok(None);
        }
        let seq = tx.last_insert_rowid();
        insert_history(tx, seq, 1, &self.events)?;
        Ok(Some(Live {
            seq,
            execution: self.execution,
            definition: Some(self.definition),
        }))
    }
}

fn insert_history(
    tx: &Transaction<'_>,
    seq: i64,
    first_id: u64,
    events: &[u8],
) -> Result<(), LocalError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO history (execution, first_id, events) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![seq, first_id as i64, events])?;
    Ok(())
}

/// The write that persists one or more steps of an execution, prepared outside the writer.
pub struct StepWrite {
    seq: i64,
    status: &'static str,
    stop_date: Option<String>,
    state: Option<Vec<u8>>,
    first_id: u64,
    events: Vec<u8>,
}

impl StepWrite {
    pub fn prepare(live: &Live, events: &[HistoryEvent]) -> Result<Option<Self>, LocalError> {
        let Some(first) = events.first() else {
            return Ok(None);
        };
        let status = live.execution.status();
        // A finished successful execution needs no state: its output is in its history.
        let state = match status {
            ExecutionStatus::Succeeded => None,
            _ => Some(compact::pack(&live.execution)?),
        };
        Ok(Some(StepWrite {
            seq: live.seq,
            status: status_text(status),
            stop_date: live.execution.stop_time().map(|t| t.to_rfc3339()),
            state,
            first_id: first.id,
            events: compact::pack(events)?,
        }))
    }

    pub fn apply(&self, tx: &Transaction<'_>) -> Result<(), LocalError> {
        if self.stop_date.is_none() {
            // Still running: leave the status index untouched.
            tx.prepare_cached("UPDATE executions SET state = ?1 WHERE seq = ?2")?
                .execute(params![self.state, self.seq])?;
        } else {
            tx.prepare_cached(
                "UPDATE executions SET status = ?1, stop_date = ?2, state = ?3 WHERE seq = ?4",
            )?
            .execute(params![self.status, self.stop_date, self.state, self.seq])?;
        }
        insert_history(tx, self.seq, self.first_id, &self.events)
    }
}

/// Why RedriveExecution did not redrive an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRedriven {
    NotFound,
    /// ExecutionNotRedrivable, with DescribeExecution's `redriveStatusReason`.
    NotRedrivable(String),
}

/// RedriveExecution inside the caller's transaction: the stored execution continues from the
/// state where it stopped (`Execution::redrive`), back to RUNNING, with `ExecutionRedriven`
/// appended to its history. Returns it for the engine's ready list.
pub fn redrive(
    tx: &Transaction<'_>,
    definitions: &Definitions,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<Live, NotRedriven>, LocalError> {
    let Some((seq, status, state, definition)) = stored(tx, id)? else {
        return Ok(Err(NotRedriven::NotFound));
    };
    let Some(state) = state else {
        return Ok(Err(NotRedriven::NotRedrivable(
            not_redrivable_without_state(&status),
        )));
    };
    let mut execution: Execution = compact::unpack(&state)?;
    // Redriven on the version it ran on, as Step Functions does.
    let machine = definitions.machine_with(tx, definition.as_deref());
    let events = match execution.redrive(&machine, now) {
        Ok(events) => events,
        Err(reason) => return Ok(Err(NotRedriven::NotRedrivable(reason))),
    };
    let first_id = events.first().map_or(0, |e| e.id);
    tx.prepare_cached(
        "UPDATE executions SET status = 'RUNNING', stop_date = NULL, state = ?1 WHERE seq = ?2",
    )?
    .execute(params![compact::pack(&execution)?, seq])?;
    insert_history(tx, seq, first_id, &compact::pack(&events)?)?;
    Ok(Ok(Live {
        seq,
        execution,
        definition: definition.map(Arc::from),
    }))
}

/// The reason for an execution whose state is not kept (a SUCCEEDED one: its output is in its
/// history).
fn not_redrivable_without_state(status: &str) -> String {
    format!("Execution is {status} and cannot be redriven.")
}

type StoredRow = (i64, String, Option<Vec<u8>>, Option<String>);

fn stored(conn: &Connection, id: &str) -> Result<Option<StoredRow>, LocalError> {
    Ok(conn
        .prepare_cached("SELECT seq, status, state, definition FROM executions WHERE name = ?1")?
        .query_row(params![name_of(id)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?)
}

/// DescribeExecution's redrive fields of a stored execution: `redriveCount`, `redriveDate`,
/// `redriveStatus` and (when NOT_REDRIVABLE) `redriveStatusReason`.
pub fn redrive_fields(
    conn: &Connection,
    definitions: &Definitions,
    name: &str,
) -> Result<serde_json::Map<String, Value>, LocalError> {
    let mut out = serde_json::Map::new();
    let Some((_, status, state, definition)) = stored(conn, name)? else {
        return Ok(out);
    };
    let machine = definitions.machine_with(conn, definition.as_deref());
    let execution: Option<Execution> = state.map(|s| compact::unpack(&s)).transpose()?;
    let verdict = match &execution {
        Some(e) => e.redrivable(&machine, chrono::Utc::now()),
        None => Err(not_redrivable_without_state(&status)),
    };
    let count = execution.as_ref().map_or(0, Execution::redrive_count);
    out.insert("redriveCount".into(), json!(count));
    if let Some(date) = execution.as_ref().and_then(Execution::redrive_date) {
        out.insert("redriveDate".into(), json!(date.to_rfc3339()));
    }
    match verdict {
        Ok(()) => {
            out.insert("redriveStatus".into(), json!("REDRIVABLE"));
        }
        Err(reason) => {
            out.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
            out.insert("redriveStatusReason".into(), json!(reason));
        }
    }
    Ok(out)
}

/// Every RUNNING execution, to resume after a start.
pub fn running(conn: &Connection) -> Result<Vec<Live>, LocalError> {
    let mut stmt = conn.prepare(
        "SELECT seq, state, definition FROM executions WHERE status = 'RUNNING' AND state IS NOT NULL ORDER BY seq",
    )?;
    let rows = stmt.query_map([], live_row)?;
    rows.map(|r| r?).collect()
}

/// The given executions as last persisted, those still RUNNING.
pub fn load(conn: &Connection, seqs: &[i64]) -> Result<Vec<Live>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, state, definition FROM executions WHERE seq = ?1 AND status = 'RUNNING' AND state IS NOT NULL",
    )?;
    let mut out = Vec::new();
    for seq in seqs {
        if let Some(live) = stmt.query_row(params![seq], live_row).optional()? {
            out.push(live?);
        }
    }
    Ok(out)
}

fn live_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Live, LocalError>> {
    let seq: i64 = r.get(0)?;
    let state: Vec<u8> = r.get(1)?;
    let definition: Option<String> = r.get(2)?;
    Ok(compact::unpack(&state).map(|execution| Live {
        seq,
        execution,
        definition: definition.map(Arc::from),
    }))
}

/// One row of ListExecutions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub status: String,
    pub start_date: String,
    pub stop_date: Option<String>,
}

/// Newest first, optionally of one status (like ListExecutions' statusFilter).
pub fn list(
    conn: &Connection,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Summary>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, status, start_date, stop_date FROM executions WHERE (?1 IS NULL OR status = ?1) ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![status, limit], |r| {
        let name: String = r.get(0)?;
        Ok(Summary {
            execution_arn: execution_arn(&name),
            state_machine_arn: state_machine_arn(),
            status: r.get(1)?,
            start_date: r.get(2)?,
            stop_date: r.get(3)?,
            name,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The events of an execution in order, as GetExecutionHistory returns them.
pub fn history(conn: &Connection, seq: i64) -> Result<Vec<Value>, LocalError> {
    let mut stmt =
        conn.prepare_cached("SELECT events FROM history WHERE execution = ?1 ORDER BY first_id")?;
    let rows = stmt.query_map(params![seq], |r| r.get::<_, Vec<u8>>(0))?;
    let mut events = Vec::new();
    for row in rows {
        let step: Vec<Value> = compact::unpack(&row?)?;
        events.extend(step);
    }
    Ok(events)
}

/// The status (`RUNNING`, `SUCCEEDED`, ...) of the execution named `name`, if there is one.
pub fn status_of(conn: &Connection, name: &str) -> Result<Option<String>, LocalError> {
    Ok(conn
        .prepare_cached("SELECT status FROM executions WHERE name = ?1")?
        .query_row(params![name], |r| r.get(0))
        .optional()?)
}

/// DescribeExecution (with its redrive fields), with `events` as GetExecutionHistory returns
/// them.
pub fn describe(
    conn: &Connection,
    definitions: &Definitions,
    id: &str,
) -> Result<Option<Value>, LocalError> {
    let name = name_of(id);
    let row = conn
        .prepare_cached(
            "SELECT seq, name, status, start_date, stop_date, definition FROM executions WHERE name = ?1",
        )?
        .query_row(params![name], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .optional()?;
    let Some((seq, name, status, start, stop, definition)) = row else {
        return Ok(None);
    };
    let events = history(conn, seq)?;
    // The last one: a redriven execution has one failure per attempt.
    let detail = |kind: &str, field: &str| {
        events.iter().rev().find_map(|e| {
            e.get(kind)
                .and_then(|d| d.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    let failed = status == "FAILED";
    let mut out = json!({
        "executionArn": execution_arn(&name), "name": name, "stateMachineArn": state_machine_arn(),
        "status": status,
        "input": detail("executionStartedEventDetails", "input"),
        "output": detail("executionSucceededEventDetails", "output"),
        "error": detail("executionFailedEventDetails", "error").filter(|_| failed),
        "cause": detail("executionFailedEventDetails", "cause").filter(|_| failed),
        "startDate": start, "stopDate": stop,
        // The state machine version it runs on (the digest of its definition).
        "definition": definition,
    });
    if let Some(obj) = out.as_object_mut() {
        obj.extend(redrive_fields(conn, definitions, &name)?);
        obj.insert("events".into(), Value::Array(events));
    }
    Ok(Some(out))
}

/// Counts by status, for the live figures.
pub fn counts(conn: &Connection) -> Result<Vec<(String, u64)>, LocalError> {
    let mut stmt =
        conn.prepare_cached("SELECT status, COUNT(*) FROM executions GROUP BY status")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Drops finished executions (and their history) that stopped before `before`, oldest first,
/// at most `limit` per call so one prune does not hold the writer for long.
pub fn prune(tx: &Transaction<'_>, before: &str, limit: i64) -> Result<u64, LocalError> {
    let seqs: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT seq FROM executions WHERE status != 'RUNNING' AND stop_date < ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![before, limit], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for seq in &seqs {
        tx.prepare_cached("DELETE FROM history WHERE execution = ?1")?
            .execute(params![seq])?;
        tx.prepare_cached("DELETE FROM executions WHERE seq = ?1")?
            .execute(params![seq])?;
    }
    Ok(seqs.len() as u64)
}
/// Executions still running (a range on the status index), for the live figures.
pub fn count_running(conn: &Connection) -> Result<u64, LocalError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM executions WHERE status = 'RUNNING'")?
        .query_row([], |r| r.get(0))?;
    Ok(n as u64)
}

/// One line of the console's executions list; `seq` is the page cursor.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionLine {
    pub seq: i64,
    pub name: String,
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    pub status: String,
    #[serde(rename = "startDate")]
    pub start_date: String,
    #[serde(rename = "stopDate")]
    pub stop_date: Option<String>,
    /// The `payment_id` of the execution's input (known when its history is read).
    pub payment_id: Option<String>,
}

fn line(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExecutionLine> {
    let name: String = r.get(1)?;
    Ok(ExecutionLine {
        seq: r.get(0)?,
        execution_arn: execution_arn(&name),
        name,
        status: r.get(2)?,
        start_date: r.get(3)?,
        stop_date: r.get(4)?,
        payment_id: None,
    })
}

/// Newest first, before `before_seq`, optionally of one status.
pub fn list_lines(
    conn: &Connection,
    status: Option<&str>,
    before_seq: i64,
    limit: u32,
) -> Result<Vec<ExecutionLine>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, name, status, start_date, stop_date FROM executions
         WHERE (?1 IS NULL OR status = ?1) AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![status, before_seq, i64::from(limit)], line)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An execution's line and its history events, by name or ARN.
/// The state machine version an execution runs on (its definition's digest,
/// [`crate::definitions`]); `None` for an execution started before versions were recorded, or
/// none of that name.
pub fn version_of(conn: &Connection, id: &str) -> Result<Option<String>, LocalError> {
    Ok(conn
        .prepare_cached("SELECT definition FROM executions WHERE name = ?1")?
        .query_row(params![name_of(id)], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

pub fn line_with_history(
    conn: &Connection,
    id: &str,
) -> Result<Option<(ExecutionLine, Vec<Value>)>, LocalError> {
    let found = conn
        .prepare_cached(
            "SELECT seq, name, status, start_date, stop_date FROM executions WHERE name = ?1",
        )?
        .query_row(params![name_of(id)], line)
        .optional()?;
    let Some(mut line) = found else {
        return Ok(None);
    };
    let events = history(conn, line.seq)?;
    line.payment_id = events
        .first()
        .and_then(|e| e.pointer("/executionStartedEventDetails/input"))
        .and_then(Value::as_str)
        .and_then(|i| serde_json::from_str::<Value>(i).ok())
        .and_then(|i| {
            i.get("payment_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    Ok(Some((line, events)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventpay_states::{TaskError, TaskInvoker};
    use std::future::Future;
    use std::pin::Pin;

    struct Failing;

    impl TaskInvoker for Failing {
        fn invoke<'a>(
            &'a self,
            _resource: &'a str,
            _input: Value,
        ) -> Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send + 'a>> {
            Box::pin(std::future::ready(Err(TaskError {
                error: "Boom".into(),
                cause: "down".into(),
            })))
        }
    }

    /// The machine's one version (in a throwaway data dir: versions are read through its Db).
    fn machine(dir: &std::path::Path) -> (Version, Definitions) {
        let text = r#"{"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}}"#;
        let version = Version::new(text, eventpay_states::StateMachine::parse(text).unwrap());
        let db = crate::db::Db::open(dir, crate::db::Durability::Normal).unwrap();
        (version.clone(), Definitions::new(db, version))
    }

    /// A stored execution that FAILED in its Task state.
    async fn failed(conn: &mut Connection, v: &Version) -> Live {
        let m = &v.machine;
        let tx = conn.transaction().unwrap();
        let mut live = NewExecution::build(v, "e1", json!({"a": 1}))
            .unwrap()
            .insert(&tx)
            .unwrap()
            .unwrap();
        let events = live.execution.step(m, &Failing, chrono::Utc::now()).await;
        StepWrite::prepare(&live, &events)
            .unwrap()
            .unwrap()
            .apply(&tx)
            .unwrap();
        tx.commit().unwrap();
        live
    }

    #[tokio::test]
    async fn a_stored_failed_execution_is_redriven_and_described() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (v, m) = machine(dir.path());
        failed(&mut conn, &v).await;
        let d = describe(&conn, &m, "e1").unwrap().unwrap();
        assert_eq!(d["status"], "FAILED");
        assert_eq!(d["redriveStatus"], "REDRIVABLE", "{d}");

        let tx = conn.transaction().unwrap();
        let live = redrive(&tx, &m, &execution_arn("e1"), chrono::Utc::now())
            .unwrap()
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(live.execution.current_state(), Some("T"));
        let d = describe(&conn, &m, "e1").unwrap().unwrap();
        assert_eq!(d["status"], "RUNNING");
        assert_eq!(d["stopDate"], Value::Null);
        assert_eq!(
            d["error"],
            Value::Null,
            "the old failure is not the status: {d}"
        );
        assert_eq!(d["redriveCount"], 1);
        assert_eq!(
            d["redriveStatusReason"],
            "Execution is RUNNING and cannot be redriven."
        );
        let last = d["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["type"], "ExecutionRedriven");
        assert_eq!(running(&conn).unwrap().len(), 1, "resumed after a restart");

        let tx = conn.transaction().unwrap();
        let again = redrive(&tx, &m, "e1", chrono::Utc::now()).unwrap();
        let missing = redrive(&tx, &m, "nope", chrono::Utc::now()).unwrap();
        assert!(matches!(again, Err(NotRedriven::NotRedrivable(_))));
        assert_eq!(missing.unwrap_err(), NotRedriven::NotFound);
    }
}
