//! The data dir belongs to one runtime at a time: an exclusive lock on `eventpay.lock` (held as
//! long as the process lives, released by the kernel even after kill -9), with the holder's pid
//! written inside so a second instance can say who has it. Files are made owner-only: the
//! database holds names and accounts.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::error::LocalError;

pub const LOCK_FILE: &str = "eventpay.lock";

/// The held lock; dropping it (or the process ending) releases the data dir.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Creates the data dir (mode 0700) if needed and takes its lock, or says who holds it.
pub fn claim(dir: &Path) -> Result<DataDirLock, LocalError> {
    let io =
        |what: &str, e: std::io::Error| LocalError::Io(format!("{what} {}: {e}", dir.display()));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io("cannot create data dir", e))?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io("cannot open the lock file in", e))?;
    // SAFETY: flock on a file descriptor this function owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        return Err(LocalError::Io(format!(
            "data dir {} is in use by another eventpay (pid {}); stop it or choose another --data-dir",
            dir.display(),
            if holder.is_empty() { "unknown" } else { holder }
        )));
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()))
        .and_then(|()| file.flush())
        .map_err(|e| io("cannot write the lock file in", e))?;
    Ok(DataDirLock { _file: file })
}

/// Makes `path` owner-only if it exists (SQLite gives its -wal and -shm files the database
/// file's mode).
pub fn make_private(path: &Path) -> Result<(), LocalError> {
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LocalError::Io(format!(
            "cannot restrict {}: {e}",
            path.display()
        ))),
    }
}

/// Creates an empty owner-only file at `path` unless one exists.
pub fn create_private(path: &Path) -> Result<(), LocalError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(|_| ())
        .map_err(|e| LocalError::Io(format!("cannot create {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = claim(dir.path()).unwrap();
        let err = claim(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        claim(dir.path()).unwrap();
    }
}
