//! Where the CPU goes: the thread CPU time spent in each part of the runtime (HTTP handlers,
//! forwarder, processor, workflow steps, reads, the writer thread), counted while their futures
//! are polled or their blocking work runs. Cheap enough to stay on (one clock read per poll);
//! `/_local/figures` shows it and `eventpay bench` divides it by the payments of a run.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use serde::Serialize;

/// The parts CPU time is counted for.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    Http = 0,
    Forwarder = 1,
    Processor = 2,
    Workflow = 3,
    Reads = 4,
    Writer = 5,
}

const PARTS: usize = 6;
static NANOS: [AtomicU64; PARTS] = [const { AtomicU64::new(0) }; PARTS];

/// CPU time of the calling thread, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Runs `work` and counts its CPU time to `part` (for blocking work on one thread).
pub fn count<T>(part: Part, work: impl FnOnce() -> T) -> T {
    let start = thread_cpu_ns();
    let out = work();
    add(part, thread_cpu_ns().saturating_sub(start));
    out
}

pub fn add(part: Part, nanos: u64) {
    NANOS[part as usize].fetch_add(nanos, Ordering::Relaxed);
}

/// A future whose polls count their CPU time to a part (nested parts count in both).
pub struct Timed<F> {
    part: Part,
    inner: Pin<Box<F>>,
}

pub fn timed<F: Future>(part: Part, inner: F) -> Timed<F> {
    Timed {
        part,
        inner: Box::pin(inner),
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let start = thread_cpu_ns();
        let out = self.inner.as_mut().poll(cx);
        add(self.part, thread_cpu_ns().saturating_sub(start));
        out
    }
}

/// CPU microseconds per part so far, and the whole process's.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuFigures {
    pub http_us: u64,
    pub forwarder_us: u64,
    pub processor_us: u64,
    /// Workflow steps, including the task handlers' own work (but not their reads and writes).
    pub workflow_us: u64,
    pub reads_us: u64,
    pub writer_us: u64,
    pub process_us: u64,
}

pub fn figures() -> CpuFigures {
    let us = |p: Part| NANOS[p as usize].load(Ordering::Relaxed) / 1000;
    CpuFigures {
        http_us: us(Part::Http),
        forwarder_us: us(Part::Forwarder),
        processor_us: us(Part::Processor),
        workflow_us: us(Part::Workflow),
        reads_us: us(Part::Reads),
        writer_us: us(Part::Writer),
        process_us: process_cpu_us(),
    }
}

fn process_cpu_us() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID) / 1000
}
