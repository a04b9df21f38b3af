//! The runtime under test as a child process (this binary's `up`, on a temporary data dir, always
//! stopped and removed), and what `/proc` tells about a process: peak RSS, CPU time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

/// How long the child has to print its listening address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the child has to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The child ended (its output closed) before it listened: it failed or was killed at start-up.
#[derive(Debug)]
pub struct ExitedBeforeListening;

impl std::fmt::Display for ExitedBeforeListening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the runtime exited before it listened")
    }
}

impl std::error::Error for ExitedBeforeListening {}

pub struct Runtime {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub data_dir: PathBuf,
    /// Removed when the runtime is dropped, after the child has stopped.
    _dir: Option<tempfile::TempDir>,
}

impl Runtime {
    /// Starts `<this binary> up --addr 127.0.0.1:0 --data-dir <temp dir in parent>` and waits
    /// for the line that names the bound address. `connections`: how many the load opens (the
    /// runtime's connection cap is raised to fit, or workers would wait for a free connection).
    pub async fn start(
        parent: &Path,
        durability: &str,
        spec_dir: Option<&Path>,
        connections: usize,
    ) -> anyhow::Result<Runtime> {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let dir = tempfile::Builder::new()
            .prefix("eventpay-bench-")
            .tempdir_in(parent)
            .with_context(|| format!("creating a data dir in {}", parent.display()))?;
        let data_dir = dir.path().join("data");
        let cap = connections.saturating_add(64).max(512).to_string();
        let mut args = vec![
            "--durability".to_owned(),
            durability.to_owned(),
            "--max-connections".to_owned(),
            cap,
        ];
        if let Some(spec) = spec_dir {
            args.extend(["--spec-dir".to_owned(), spec.display().to_string()]);
        }
        Runtime::launch(&data_dir, &args, Some(dir), None).await
    }

    /// Starts `<this binary> up --addr 127.0.0.1:0 --data-dir <data_dir> <args>` and waits (at
    /// most a minute) for the line that names the bound address. `owned` is removed on drop,
    /// after the child has stopped; without it the data dir stays (to launch again on it). The
    /// child's stderr is appended to `log`, or shared with ours.
    pub async fn launch(
        data_dir: &Path,
        args: &[String],
        owned: Option<tempfile::TempDir>,
        log: Option<&Path>,
    ) -> anyhow::Result<Runtime> {
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?,
            ),
            None => Stdio::inherit(),
        };
        let exe = std::env::current_exe().context("finding this binary")?;
        let mut cmd = Command::new(exe);
        cmd.args(["up", "--addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(args);
        // Warnings and errors only: the runtime's info lines would bury the progress bar.
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("starting `eventpay up`")?;
        let pid = child.id();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout of the child"))?;
        let first_line = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line);
            // Keep draining, so a later line never blocks the child on a full pipe.
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
            read.map(|_| line)
        });
        let mut runtime = Runtime {
            child,
            pid,
            base: String::new(),
            data_dir: data_dir.to_owned(),
            _dir: owned,
        };
        let line = match tokio::time::timeout(START_TIMEOUT, first_line).await {
            Ok(Ok(Ok(line))) => line,
            Ok(Ok(Err(e))) => return Err(e).context("reading the runtime's output"),
            Ok(Err(e)) => return Err(e).context("reading the runtime's output"),
            Err(_) => bail!("the runtime did not start within {START_TIMEOUT:?}"),
        };
        if line.is_empty() {
            return Err(ExitedBeforeListening.into());
        }
        let Some(base) = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_owned)
        else {
            bail!("the runtime did not start (its first line was {line:?})");
        };
        runtime.base = base;
        Ok(runtime)
    }

    /// Whether the child has exited (crashed, or stopped), without waiting.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, and waits for the child to be gone: a crash from outside.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as `eventpay up` expects to be stopped; killed if it has not exited in time.
    pub async fn stop(mut self) {
        self.terminate();
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::warn!("the runtime did not stop within {STOP_TIMEOUT:?}; killing it");
    }

    fn terminate(&self) {
        if let Some(pid) = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

impl Drop for Runtime {
    /// Whatever happened, no runtime is left behind (and the temp dir goes after it).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Samples a process's peak RSS (`VmHWM`) until stopped, keeping the last value read while it lived.
pub struct Sampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    pid: u32,
}

impl Sampler {
    pub fn start(pid: u32) -> Sampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (peak, stop) = (peak.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(hwm) = peak_rss(pid) {
                        peak.fetch_max(hwm, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        });
        Sampler {
            peak,
            stop,
            task,
            pid,
        }
    }

    /// The peak RSS in bytes, or `None` if the process could never be read.
    pub async fn stop(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        if let Some(hwm) = peak_rss(self.pid) {
            self.peak.fetch_max(hwm, Ordering::Relaxed);
        }
        Some(self.peak.load(Ordering::Relaxed)).filter(|p| *p > 0)
    }
}

/// `VmHWM` of `/proc/<pid>/status`, in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    status_kib(&format!("/proc/{pid}/status"), "VmHWM:").map(|k| k * 1024)
}

/// This process's own peak RSS, in bytes.
pub fn own_peak_rss() -> Option<u64> {
    status_kib("/proc/self/status", "VmHWM:").map(|k| k * 1024)
}

fn status_kib(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// CPU time (user + system) of another process so far, from `/proc/<pid>/stat`.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of the line are the 12th and 13th after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_sec = rustix::param::clock_ticks_per_second().max(1);
    Some(Duration::from_secs_f64(ticks as f64 / per_sec as f64))
}

/// CPU time (user + system, all threads) of this process so far.
pub fn own_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or_default(),
        u32::try_from(t.tv_nsec).unwrap_or_default(),
    )
}

/// Bytes of the files under `dir` (their length, as `du --apparent-size`).
pub fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process_figures() {
        assert!(own_peak_rss().is_some_and(|b| b > 0));
        assert!(process_cpu(std::process::id()).is_some());
        let before = own_cpu();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(own_cpu() >= before);
    }

    #[test]
    fn dir_size_sums_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b"), [0u8; 23]).unwrap();
        assert_eq!(dir_size(dir.path()).unwrap(), 123);
    }
}
