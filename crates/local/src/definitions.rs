//! The settlement state machine's definitions, one row per version that ever started an
//! execution (Step Functions' state machine versions): each execution names the version it
//! started on, so after `--watch` loads a new definition, or a restart with an edited `spec/`,
//! a running execution finishes on the definition it started with. The only module that reads or
//! writes the `definitions` table; the engine keeps the parsed machines in a [`Definitions`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use eventpay_states::StateMachine;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::error::LocalError;

pub(crate) const SCHEMA: &str = r#"
-- The definition text as the engine runs it (placeholders filled), by its digest.
CREATE TABLE IF NOT EXISTS definitions (
    digest     TEXT PRIMARY KEY,
    definition TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// One version of the state machine: its digest names it in the executions table.
#[derive(Clone)]
pub struct Version {
    pub digest: Arc<str>,
    pub text: Arc<str>,
    pub machine: Arc<StateMachine>,
}

impl Version {
    pub fn new(text: &str, machine: StateMachine) -> Version {
        let digest = Sha256::digest(text.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Version {
            digest: hex.into(),
            text: text.into(),
            machine: Arc::new(machine),
        }
    }
}

/// Records a version (idempotent), inside the caller's transaction.
pub fn record(tx: &Transaction<'_>, version: &Version) -> Result<(), LocalError> {
    tx.prepare_cached(
        "INSERT INTO definitions (digest, definition) VALUES (?1, ?2) ON CONFLICT(digest) DO NOTHING",
    )?
    .execute(params![&*version.digest, &*version.text])?;
    Ok(())
}

/// A recorded version's definition text (placeholders filled), e.g. for the console to draw
/// the definition an execution runs on.
pub fn text_of(conn: &Connection, digest: &str) -> Result<Option<String>, LocalError> {
    Ok(conn
        .query_row(
            "SELECT definition FROM definitions WHERE digest = ?1",
            params![digest],
            |r| r.get(0),
        )
        .optional()?)
}

/// The live version new executions start on, and every version seen so far (parsed once).
#[derive(Clone)]
pub struct Definitions {
    db: Db,
    current: Arc<RwLock<Version>>,
    known: Arc<RwLock<HashMap<Arc<str>, Arc<StateMachine>>>>,
}

impl Definitions {
    pub fn new(db: Db, current: Version) -> Definitions {
        let known = HashMap::from([(current.digest.clone(), current.machine.clone())]);
        Definitions {
            db,
            current: Arc::new(RwLock::new(current)),
            known: Arc::new(RwLock::new(known)),
        }
    }

    pub fn current(&self) -> Version {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes `version` the one new executions start on; it is recorded first, so no execution
    /// can name a version the database does not hold.
    pub async fn publish(&self, version: Version) -> Result<(), LocalError> {
        let recorded = version.clone();
        self.db.write(move |tx| record(tx, &recorded)).await?;
        self.known
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(version.digest.clone(), version.machine.clone());
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = version;
        Ok(())
    }

    /// The machine of an execution's version; `None` (an execution started before versions
    /// were recorded) is the current one.
    pub fn machine(&self, digest: Option<&str>) -> Arc<StateMachine> {
        self.resolve(digest, |d| self.db.read_now(|c| text_of(c, d)))
    }

    /// [`Definitions::machine`] reading through `conn` (inside a read or a write already).
    pub fn machine_with(&self, conn: &Connection, digest: Option<&str>) -> Arc<StateMachine> {
        self.resolve(digest, |d| text_of(conn, d))
    }

    fn resolve(
        &self,
        digest: Option<&str>,
        text: impl FnOnce(&str) -> Result<Option<String>, LocalError>,
    ) -> Arc<StateMachine> {
        let Some(digest) = digest else {
            return self.current().machine;
        };
        if let Some(m) = self
            .known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
        {
            return m.clone();
        }
        match load(digest, text) {
            Ok(machine) => {
                self.known
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(digest.into(), machine.clone());
                machine
            }
            Err(e) => {
                // Recorded before use and validated when loaded: only a damaged database gets
                // here. The current definition is the best remaining choice; say so loudly.
                tracing::error!(%digest, error = %e, "state machine version unreadable; using the current one");
                self.current().machine
            }
        }
    }
}

fn load(
    digest: &str,
    text: impl FnOnce(&str) -> Result<Option<String>, LocalError>,
) -> Result<Arc<StateMachine>, LocalError> {
    let text = text(digest)?
        .ok_or_else(|| LocalError::Io(format!("no state machine version {digest}")))?;
    let machine = StateMachine::parse(&text)
        .map_err(|e| LocalError::Io(format!("state machine version {digest}: {e:?}")))?;
    Ok(Arc::new(machine))
}
