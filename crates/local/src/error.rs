//! Errors of the local runtime: start-up (spec files, data dir) and infrastructure failures.

use std::path::PathBuf;

/// A spec file that cannot be loaded: names the file and the path inside it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {path}: {message}")]
pub struct SpecError {
    pub file: PathBuf,
    pub path: String,
    pub message: String,
}

impl SpecError {
    pub fn new(
        file: impl Into<PathBuf>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SpecError {
            file: file.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("spec error in {0}")]
    Spec(#[from] SpecError),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("a database lock was poisoned by a panicking thread")]
    Poisoned,
    #[error(transparent)]
    Store(#[from] eventpay_core::StoreError),
    /// No writes are accepted any more (the database file is gone or replaced).
    #[error("{0}")]
    Unavailable(String),
}

impl From<serde_json::Error> for LocalError {
    fn from(e: serde_json::Error) -> Self {
        LocalError::Corrupt(e.to_string())
    }
}
