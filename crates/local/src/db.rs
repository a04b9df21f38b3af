//! The embedded SQLite database: one file in the data dir, WAL mode, the schema, and the two ways
//! in: [`Db::write`] queues a unit of work to the one writer thread, which commits the work of
//! every caller waiting at that moment in one transaction (group commit); [`Db::read`] runs on a
//! small pool of read connections beside it (WAL lets readers run during a write).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, Transaction};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::error::LocalError;

/// How hard a commit is pushed to disk. `Normal` survives a process crash (kill -9) in WAL mode;
/// `Full` also survives power loss, at a higher cost per commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Normal,
    Full,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        }
    }
}

/// The database file inside the data dir.
pub const DB_FILE: &str = "eventpay.sqlite3";

/// At most this many callers' work in one transaction: bounds the latency a batch adds and the
/// size of a rollback if the commit itself fails.
const MAX_BATCH: usize = 512;
/// Read connections: enough for the HTTP GETs, the task handlers' reads and the inspection
/// endpoints to run beside each other on two cores.
const READERS: usize = 4;
/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// The writer checkpoints itself only past this many WAL pages (~16 MiB).
const WRITER_CHECKPOINT_PAGES: u32 = 4_096;

/// One caller's unit of work, queued for the writer. `run` executes it inside the batch's
/// transaction and keeps its result; `answer` tells the caller once the commit outcome is known
/// (a job that never ran is answered with the error that stopped it).
trait Job: Send {
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    fn answer(self: Box<Self>, commit: Result<(), String>);
    /// Refuses the job unrun: the writer takes no more writes.
    fn refuse(self: Box<Self>, why: String);
}

struct Typed<T, F> {
    work: Option<F>,
    result: Option<Result<T, LocalError>>,
    reply: oneshot::Sender<Result<T, LocalError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T, LocalError> + Send + 'static,
{
    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(tx)))
            .unwrap_or_else(|_| Err(LocalError::Io("a database write panicked".into())));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (self.result, commit) {
            (Some(result), Ok(())) => result,
            // Its own failure says more than the commit's: its changes were rolled back anyway.
            (Some(Err(e)), Err(_)) => Err(e),
            (_, Err(e)) => Err(LocalError::Io(format!("write not committed: {e}"))),
            (None, Ok(())) => Err(LocalError::Io("the write was not run".into())),
        };
        let _ = self.reply.send(answer);
    }

    fn refuse(self: Box<Self>, why: String) {
        let _ = self.reply.send(Err(LocalError::Unavailable(why)));
    }
}

/// Runs a savepoint statement through the statement cache (they run twice per write).
fn savepoint(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Counters of the writer, for `/_local/` and the benchmark's profile.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub writes: AtomicU64,
    pub failed_writes: AtomicU64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct WriterFigures {
    pub commits: u64,
    pub writes: u64,
    pub failed_writes: u64,
}

/// A shared handle on the database. Cloning is cheap; the writer thread ends when the last
/// handle is dropped, after committing what was queued.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Box<dyn Job>>,
    readers: Arc<ReadPool>,
    stats: Arc<WriterStats>,
    path: Arc<PathBuf>,
    _lock: Arc<crate::datadir::DataDirLock>,
    /// The checkpointer stops when the last handle is gone.
    _alive: Arc<()>,
}

impl Db {
    /// Claims the data dir (see [`crate::datadir`]), opens or creates the database in it and
    /// starts the writer.
    pub fn open(data_dir: &Path, durability: Durability) -> Result<Db, LocalError> {
        let lock = crate::datadir::claim(data_dir)?;
        let path = data_dir.join(DB_FILE);
        crate::datadir::create_private(&path)?;
        let writer = open_connection(&path, durability, WRITER_CACHE_KIB)?;
        crate::schema::migrate(&writer)?;
        for suffix in ["-wal", "-shm"] {
            crate::datadir::make_private(&data_dir.join(format!("{DB_FILE}{suffix}")))?;
        }
        let identity = FileIdentity::of(&path)?;
        // Checkpoints (copying the WAL into the database file, with its fsync) run on their own
        // thread, so the writer's commits do not wait for them; the writer only checkpoints itself
        // if the WAL grows far past what the checkpointer keeps up with.
        writer.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES};"
        ))?;
        let checkpointer = open_connection(&path, durability, READER_CACHE_KIB)?;
        let readers = (0..READERS)
            .map(|_| {
                let c = open_connection(&path, durability, READER_CACHE_KIB)?;
                c.execute_batch("PRAGMA query_only=ON;")?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, LocalError>>()?;
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let stats = Arc::new(WriterStats::default());
        let alive = Arc::new(());
        let checkpoint_stats = stats.clone();
        let watch = Arc::downgrade(&alive);
        std::thread::Builder::new()
            .name("eventpay-checkpoint".into())
            .spawn(move || run_checkpointer(checkpointer, watch, checkpoint_stats))
            .map_err(|e| LocalError::Io(format!("cannot start the checkpointer: {e}")))?;
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("eventpay-writer".into())
            .spawn(move || run_writer(writer, queue, &thread_stats, identity))
            .map_err(|e| LocalError::Io(format!("cannot start the database writer: {e}")))?;
        Ok(Db {
            jobs,
            readers: Arc::new(ReadPool {
                conns: readers,
                next: AtomicUsize::new(0),
            }),
            stats,
            path: Arc::new(path),
            _lock: Arc::new(lock),
            _alive: alive,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn writer_figures(&self) -> WriterFigures {
        WriterFigures {
            commits: self.stats.commits.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
            failed_writes: self.stats.failed_writes.load(Ordering::Relaxed),
        }
    }

    /// Queues `work` for the writer, which runs it in a savepoint of the current batch's
    /// transaction: if `work` fails, only its own changes are rolled back and only its caller
    /// gets the error. Answers after the batch has committed, so Ok means durable.
    pub async fn write<T, F>(&self, work: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, LocalError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, LocalError>>();
        let job = Typed {
            work: Some(work),
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| LocalError::Io("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| LocalError::Io("the database writer has stopped".into()))?
    }

    /// Runs a short read (a point lookup, a small batch) at once on the calling thread: cheaper
    /// than handing it to a blocking thread, and it takes microseconds.
    pub fn read_now<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, LocalError>,
    ) -> Result<T, LocalError> {
        crate::profile::count(crate::profile::Part::Reads, || self.readers.with(work))
    }

    /// Runs `work` on one of the read connections, on a blocking thread (for reads that may
    /// take long, such as the inspection endpoints' lists).
    pub async fn read<T, F>(&self, work: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, LocalError> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            crate::profile::count(crate::profile::Part::Reads, || pool.with(work))
        })
        .await
        .map_err(|e| LocalError::Io(format!("database reader stopped: {e}")))?
    }
}

/// Read connections handed out round-robin; a busy one is skipped if another is free.
struct ReadPool {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl ReadPool {
    fn with<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, LocalError>,
    ) -> Result<T, LocalError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            if let Ok(guard) = self.conns[(start + i) % n].try_lock() {
                return work(&guard);
            }
        }
        let guard = self.conns[start % n]
            .lock()
            .map_err(|_| LocalError::Poisoned)?;
        work(&guard)
    }
}

/// The writer thread: takes every job waiting, runs them in one transaction, commits once, then
/// answers each caller. Ends when every `Db` handle is gone. If the database file is removed or
/// replaced under it, it stops writing for good: committing into a file nobody can open again
/// would answer 202 for payments that are lost at the next start.
fn run_writer(
    mut conn: Connection,
    queue: mpsc::Receiver<Box<dyn Job>>,
    stats: &WriterStats,
    identity: FileIdentity,
) {
    let mut lost: Option<String> = None;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if lost.is_none() {
            lost = identity.check().err();
            if let Some(why) = &lost {
                tracing::error!(error = %why, "the database file is gone; no more writes are accepted until a restart");
            }
        }
        if let Some(why) = &lost {
            for job in batch {
                job.refuse(why.clone());
            }
            continue;
        }
        crate::profile::count(crate::profile::Part::Writer, || {
            commit_batch(&mut conn, batch, stats)
        });
    }
}

/// Copies the WAL into the database file a few times a second while any `Db` handle lives; once
/// the writer has been idle for a tick, also truncates the WAL file, so a quiet runtime holds no
/// more disk than its data.
fn run_checkpointer(conn: Connection, alive: std::sync::Weak<()>, stats: Arc<WriterStats>) {
    let mut last_commits = u64::MAX;
    let mut truncated = false;
    while alive.strong_count() > 0 {
        std::thread::sleep(CHECKPOINT_EVERY);
        let commits = stats.commits.load(Ordering::Relaxed);
        let idle = commits == last_commits;
        last_commits = commits;
        let mode = if idle && !truncated {
            "TRUNCATE"
        } else {
            "PASSIVE"
        };
        truncated = idle;
        if let Err(e) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed; the next one retries");
        }
    }
}

/// The database file as opened: its device and inode.
struct FileIdentity {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> Result<Self, LocalError> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)
            .map_err(|e| LocalError::Io(format!("{}: {e}", path.display())))?;
        Ok(FileIdentity {
            path: path.to_owned(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    fn check(&self) -> Result<(), String> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => Ok(()),
            Ok(_) => Err(format!(
                "the database file {} was replaced while running",
                self.path.display()
            )),
            Err(e) => Err(format!(
                "the database file {} is gone ({e})",
                self.path.display()
            )),
        }
    }
}

/// Runs each job in a savepoint of one transaction (a failing job rolls back to it, alone),
/// commits once, then answers every caller with the outcome.
fn commit_batch(conn: &mut Connection, mut batch: Vec<Box<dyn Job>>, stats: &WriterStats) {
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, "cannot begin a write transaction");
            for job in batch {
                job.answer(Err(e.to_string()));
            }
            return;
        }
    };
    let mut failed = 0;
    if let [job] = batch.as_mut_slice() {
        // Alone in its batch: its failure rolls back the whole transaction, no savepoint needed.
        if !job.run(&tx) {
            drop(tx);
            stats.failed_writes.fetch_add(1, Ordering::Relaxed);
            let job = batch.pop();
            if let Some(job) = job {
                job.answer(Ok(()));
            }
            return;
        }
    } else {
        for job in &mut batch {
            if savepoint(&tx, "SAVEPOINT job").is_err() {
                failed += 1;
                continue;
            }
            let end = if job.run(&tx) {
                "RELEASE job"
            } else {
                failed += 1;
                "ROLLBACK TO job"
            };
            if let Err(e) = savepoint(&tx, end).and_then(|()| {
                if end == "ROLLBACK TO job" {
                    savepoint(&tx, "RELEASE job")
                } else {
                    Ok(())
                }
            }) {
                tracing::error!(error = %e, "cannot end a write's savepoint");
            }
        }
    }
    let outcome = tx.commit().map_err(|e| e.to_string());
    match &outcome {
        Ok(()) => {
            let commits = stats.commits.fetch_add(1, Ordering::Relaxed) + 1;
            // The simulator's crash point: committed, nobody answered yet.
            crate::chaos::after_commit(commits);
            stats
                .writes
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            stats.failed_writes.fetch_add(failed, Ordering::Relaxed);
        }
        Err(e) => {
            tracing::error!(error = %e, writes = batch.len(), "a group commit failed; its writers are told")
        }
    }
    for job in batch {
        job.answer(outcome.clone());
    }
}

/// Page cache per connection, in KiB: the writer's is the largest (it touches every table); the
/// caches bound the memory the runtime holds whatever the database's size.
const WRITER_CACHE_KIB: u32 = 16_384;
const READER_CACHE_KIB: u32 = 4_096;

fn open_connection(
    path: &Path,
    durability: Durability,
    cache_kib: u32,
) -> Result<Connection, LocalError> {
    let conn = Connection::open(path)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; PRAGMA busy_timeout=5000; \
         PRAGMA foreign_keys=ON; PRAGMA cache_size=-{}; PRAGMA temp_store=MEMORY; \
         PRAGMA journal_size_limit=8388608;",
        durability.pragma(),
        cache_kib
    ))?;
    Ok(conn)
}

/// Opens a data dir's database read-only, for a tool that inspects it beside (or without) a
/// running `eventpay up`: no claim of the data dir, no writer, no migration. The schema must be
/// this eventpay's.
pub fn open_read_only(data_dir: &Path) -> Result<Connection, LocalError> {
    let path = data_dir.join(DB_FILE);
    if !path.is_file() {
        return Err(LocalError::Io(format!(
            "{} holds no eventpay database ({DB_FILE} is missing)",
            data_dir.display()
        )));
    }
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.execute_batch("PRAGMA busy_timeout=5000;")?;
    crate::schema::require_current(&conn)?;
    Ok(conn)
}

/// Milliseconds since the Unix epoch: the queue's clock for visibility timeouts.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    async fn open() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Durability::Normal).unwrap();
        db.write(|tx| {
            tx.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")?;
            Ok(())
        })
        .await
        .unwrap();
        (dir, db)
    }

    async fn keys(db: &Db) -> Vec<String> {
        db.read(|c| {
            let mut s = c.prepare("SELECT k FROM t ORDER BY k")?;
            let rows = s.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_fails_alone_and_leaves_nothing() {
        let (_dir, db) = open().await;
        let mut handles = Vec::new();
        for i in 0..200 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                db.write(move |tx| {
                    tx.execute(
                        "INSERT INTO t (k, v) VALUES (?1, ?2)",
                        params![format!("k{i:03}"), i as i64],
                    )?;
                    if i % 10 == 7 {
                        // Half-done work that then fails: its row must not be committed.
                        return Err(LocalError::Corrupt(format!("write {i} refuses")));
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut ok = 0;
        for (i, h) in handles.into_iter().enumerate() {
            match h.await.unwrap() {
                Ok(v) => {
                    assert_eq!(v, i);
                    ok += 1;
                }
                Err(e) => {
                    assert_eq!(i % 10, 7, "only the refusing writes fail: {e}");
                    assert!(e.to_string().contains(&format!("write {i} refuses")));
                }
            }
        }
        assert_eq!(ok, 180);
        let stored = keys(&db).await;
        assert_eq!(stored.len(), 180);
        assert!(stored.iter().all(|k| !k.ends_with('7')));
        let figures = db.writer_figures();
        assert!(figures.commits < 200, "writes were grouped: {figures:?}");
    }

    #[tokio::test]
    async fn callers_are_answered_after_their_commit_is_visible() {
        let (_dir, db) = open().await;
        for i in 0..20 {
            db.write(move |tx| {
                tx.execute(
                    "INSERT INTO t (k, v) VALUES (?1, 1)",
                    params![format!("a{i:02}")],
                )?;
                Ok(())
            })
            .await
            .unwrap();
            // A reader on another connection sees the row as soon as the write has answered.
            assert_eq!(keys(&db).await.len(), i + 1);
        }
    }

    #[tokio::test]
    async fn a_removed_database_file_stops_every_write() {
        let (dir, db) = open().await;
        std::fs::remove_file(dir.path().join(DB_FILE)).unwrap();
        let insert = |tx: &Transaction<'_>| {
            tx.execute("INSERT INTO t (k, v) VALUES ('z', 1)", [])?;
            Ok(())
        };
        let err = db.write(insert).await.unwrap_err().to_string();
        assert!(err.contains("is gone"), "{err}");
        assert!(db.write(insert).await.is_err(), "and stays stopped");
    }

    #[test]
    fn database_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let _db = Db::open(dir.path(), Durability::Normal).unwrap();
        for f in [DB_FILE, "eventpay.sqlite3-wal", "eventpay.sqlite3-shm"] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{f}: {mode:o}");
        }
    }

    #[tokio::test]
    async fn a_constraint_violation_is_the_callers_error() {
        let (_dir, db) = open().await;
        let insert = |k: &'static str| {
            move |tx: &Transaction<'_>| {
                tx.execute("INSERT INTO t (k, v) VALUES (?1, 1)", params![k])?;
                Ok(())
            }
        };
        db.write(insert("x")).await.unwrap();
        let (a, b) = tokio::join!(db.write(insert("x")), db.write(insert("y")));
        assert!(a.is_err());
        assert!(b.is_ok());
        assert_eq!(keys(&db).await, vec!["x".to_string(), "y".to_string()]);
    }
}
