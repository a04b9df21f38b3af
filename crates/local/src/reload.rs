//! `eventpay up --watch`: reloads `spec/` when one of its files changes. A new configuration is
//! loaded and checked whole, exactly as at start-up; if it is good, new work uses it (the rules
//! route the next events, the rates price the next quotes, new executions start on the new state
//! machine version) while running executions finish on the version they started with; if it is
//! broken, the error names file and path (as at start-up) and the running configuration keeps
//! serving.
//!
//! Changes are found by polling the files' digests (the console's spec-file list) once a
//! second rather than with an OS file-watch crate: `spec/` is a dozen small files, editors
//! replace files by rename (which inotify watches lose), and a poll needs no platform code.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use eventpay_core::RateTable;
use serde::Serialize;
use tokio::sync::watch;

use crate::bus::Bus;
use crate::console::{SpecFile, spec_files};
use crate::definitions::{Definitions, Version};
use crate::spec::Spec;

/// A value the watcher may replace while readers hold the one they took.
#[derive(Debug)]
pub struct Current<T>(Arc<RwLock<Arc<T>>>);

impl<T> Clone for Current<T> {
    fn clone(&self) -> Self {
        Current(self.0.clone())
    }
}

impl<T> Current<T> {
    pub fn new(value: T) -> Current<T> {
        Current(Arc::new(RwLock::new(Arc::new(value))))
    }

    pub fn get(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, value: T) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(value);
    }
}

/// What the console shows of the configuration: which version of each file is live, and the
/// last reload's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SpecStatus {
    pub watching: bool,
    /// Incremented by every reload that was applied (0: as started).
    pub generation: u64,
    pub files: Vec<SpecFile>,
    /// The state machine version new executions start on.
    pub state_machine_version: String,
    /// The last refused edit (`file: path: reason`), cleared by the next good one.
    pub error: Option<String>,
}

/// Everything a reload replaces.
#[derive(Clone)]
pub struct Targets {
    pub rules: Current<Bus>,
    pub rates: Current<RateTable>,
    pub definitions: Definitions,
    pub status: Current<SpecStatus>,
    /// The console's view of the rules and the definition, rebuilt from the new spec.
    pub on_applied: Arc<dyn Fn(&Spec) + Send + Sync>,
}

impl Targets {
    async fn apply(
        &self,
        spec: Spec,
        files: Vec<SpecFile>,
    ) -> Result<(), crate::error::LocalError> {
        let version = Version::new(&spec.settlement_text, spec.settlement.clone());
        self.definitions.publish(version.clone()).await?;
        self.rules.set(Bus::new(spec.rules.clone()));
        self.rates.set(spec.rates.clone());
        (self.on_applied)(&spec);
        let before = self.status.get();
        self.status.set(SpecStatus {
            watching: before.watching,
            generation: before.generation + 1,
            files,
            state_machine_version: version.digest.to_string(),
            error: None,
        });
        Ok(())
    }

    fn refuse(&self, error: String) {
        let before = self.status.get();
        if before.error.as_deref() == Some(error.as_str()) {
            return;
        }
        tracing::error!(%error, "spec/ edit refused; the running configuration keeps serving");
        // The files on disk are not the live ones: the status keeps listing the live versions.
        self.status.set(SpecStatus {
            error: Some(error),
            ..(*before).clone()
        });
    }
}

/// Polls `spec_dir` every `every` until `stop`, reloading on a change.
pub async fn watch_spec(
    spec_dir: PathBuf,
    every: Duration,
    targets: Targets,
    mut stop: watch::Receiver<bool>,
) {
    let mut seen = spec_files(&spec_dir);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = crate::stage::stopped(&mut stop) => return,
        }
        let now = spec_files(&spec_dir);
        if same_files(&now, &seen) {
            continue;
        }
        seen = now.clone();
        match crate::runtime::load_spec(&spec_dir) {
            Ok(spec) => match targets.apply(spec, now).await {
                Ok(()) => tracing::info!(
                    generation = targets.status.get().generation,
                    state_machine_version = %targets.status.get().state_machine_version,
                    "spec/ reloaded: new work uses it, running executions finish on their version"
                ),
                Err(e) => tracing::error!(error = %e, "spec/ reload could not be recorded"),
            },
            Err(e) => targets.refuse(e.to_string()),
        }
    }
}

fn same_files(a: &[SpecFile], b: &[SpecFile]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.file == y.file && x.sha256 == y.sha256)
}
