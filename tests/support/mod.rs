//! Shared helpers of the end-to-end tests: start the built `eventpay` binary as a process on a
//! free port with a temporary data dir, talk to it over HTTP, stop or kill it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn spec_dir() -> PathBuf {
    repo_root().join("spec")
}

/// Copies the project's `spec/` into `to` (for tests that edit it).
pub fn copy_spec(to: &Path) {
    let from = spec_dir();
    std::fs::create_dir_all(to.join("rules")).unwrap();
    for entry in walk(&from) {
        let rel = entry.strip_prefix(&from).unwrap();
        std::fs::copy(&entry, to.join(rel)).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_eventpay"))
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    http: reqwest::blocking::Client,
}

pub fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

impl Server {
    /// Starts `eventpay up` on 127.0.0.1:0 with `data_dir` and extra flags; waits until it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_with_spec(data_dir, &spec_dir(), extra)
    }

    pub fn start_with_spec(data_dir: &Path, spec: &Path, extra: &[&str]) -> Server {
        Self::start_on("127.0.0.1:0", data_dir, spec, extra)
    }

    /// Starts on a given address (e.g. the port of a killed instance, for clients that go on).
    pub fn start_on(addr: &str, data_dir: &Path, spec: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(binary())
            .args(["up", "--addr", addr, "--data-dir"])
            .arg(data_dir)
            .arg("--spec-dir")
            .arg(spec)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start eventpay");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no listening line, got {line:?}"))
            .to_owned();
        Server {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            http: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.http.get(self.url(path)).send().expect("GET");
        decode(resp)
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string().into_bytes(), None)
    }

    pub fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        decode(req.send().expect("POST"))
    }

    pub fn quote(&self, source: &str, target: &str, amount: &str) -> Value {
        let (status, q) = self.post(
            "/quotes",
            &json!({"source_currency": source, "target_currency": target, "amount": amount}),
        );
        assert_eq!(status, 201, "{q}");
        q
    }

    pub fn payment_body(token: &str, beneficiary_account: &str) -> Value {
        json!({
            "quote_token": token,
            "sender": {"name": "Ada Sender", "account": "DE89370400440532013000"},
            "beneficiary": {"name": "Bob Beneficiary", "account": beneficiary_account},
            "reference": "invoice 42",
        })
    }

    /// Quote + payment; returns the payment id.
    pub fn pay(&self, amount: &str, beneficiary_account: &str) -> String {
        let q = self.quote("USD", "EUR", amount);
        let body = Self::payment_body(q["token"].as_str().unwrap(), beneficiary_account);
        let (status, p) = self.post("/payments", &body);
        assert_eq!(status, 202, "{p}");
        assert_eq!(p["status"], "PENDING");
        p["payment_id"].as_str().unwrap().to_owned()
    }

    /// Polls the payment until its status is final; returns it.
    pub fn wait_final(&self, id: &str, within: Duration) -> Value {
        let start = Instant::now();
        loop {
            let (status, p) = self.get(&format!("/payments/{id}"));
            assert_eq!(status, 200, "{p}");
            if ["SETTLED", "REJECTED", "FAILED"].contains(&p["status"].as_str().unwrap_or_default())
            {
                return p;
            }
            assert!(
                start.elapsed() < within,
                "payment {id} still {} after {within:?}",
                p["status"]
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGINT, as Ctrl-C; returns the exit status.
    pub fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill -INT");
        let status = wait_timeout(&mut self.child, Duration::from_secs(15));
        std::mem::forget(self);
        status
    }

    /// kill -9.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn decode(resp: reqwest::blocking::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("non-JSON body with {status}: {text:?}"));
    (status, value)
}

/// Asserts an error response: the status, the code, and a non-empty message.
pub fn assert_error(resp: (u16, Value), status: u16, code: &str) {
    let (got, body) = resp;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{body}"
    );
}

/// A settled payment's transfers: there are some, each moves a positive amount between two
/// different accounts, and per currency the accounts' changes sum to zero.
pub fn assert_balanced(payment: &Value) {
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;
    let transfers = payment["settlement"]["transfers"]
        .as_array()
        .expect("settlement transfers");
    assert!(!transfers.is_empty(), "{payment}");
    let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for t in transfers {
        let amount: Decimal = t["amount"].as_str().unwrap().parse().unwrap();
        assert!(amount > Decimal::ZERO, "{t}");
        assert_ne!(t["debit_account"], t["credit_account"], "{t}");
        let currency = t["currency"].as_str().unwrap().to_owned();
        for (side, sign) in [("debit_account", -1), ("credit_account", 1)] {
            let key = (t[side].as_str().unwrap().to_owned(), currency.clone());
            *sums.entry(key).or_default() += amount * Decimal::from(sign);
        }
    }
    let mut per_currency: BTreeMap<&str, Decimal> = BTreeMap::new();
    for ((_, c), v) in &sums {
        *per_currency.entry(c).or_default() += v;
    }
    assert!(
        per_currency.values().all(|s| s.is_zero()),
        "unbalanced: {per_currency:?} in {payment}"
    );
}

/// `eventpay ledger check --json` on a data dir: whether it passed, and its report.
pub fn ledger_check(data_dir: &Path) -> (bool, Value) {
    let out = Command::new(binary())
        .args(["ledger", "check", "--json", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run eventpay ledger check");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ledger check report: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

/// Asserts that `eventpay ledger check` finds the data dir's book sound.
pub fn assert_book_reconciles(data_dir: &Path) {
    let (ok, report) = ledger_check(data_dir);
    assert!(ok, "ledger check: {report:#}");
    assert_eq!(report["discrepancies"], json!([]), "{report}");
}

pub fn statuses(payment: &Value) -> Vec<String> {
    payment["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `check` until it returns Some, for what follows a payment's final status asynchronously
/// (events on the bus, the workflow's notification step); panics with `what` after `within`.
pub fn eventually<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}
