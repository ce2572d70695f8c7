//! Child processes of this binary: how they are started, measured (RSS, CPU time from /proc)
//! and stopped (SIGTERM, as an operator would, then SIGKILL if they hang).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

/// How to start one child: this binary with `args`, and exactly `env` for `CAREBOOK_*`.
#[derive(Debug, Clone)]
pub struct Spec {
    pub label: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

/// A running child; it is killed if dropped while running.
#[derive(Debug)]
pub struct Proc {
    pub spec: Spec,
    pub child: Child,
}

impl Proc {
    pub fn spawn(spec: &Spec) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        // The child sees only the configuration this run gives it.
        for (key, _) in std::env::vars() {
            if key.starts_with("CAREBOOK_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command.envs(spec.env.iter().map(|(k, v)| (k, v)));
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", spec.label))?;
        Ok(Self {
            spec: spec.clone(),
            child,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `Some(reason)` when the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited ({status})", self.spec.label)),
            Ok(None) => None,
            Err(err) => Some(format!("{}: {err}", self.spec.label)),
        }
    }

    /// SIGTERM, up to ten seconds for a graceful stop, then SIGKILL.
    pub async fn stop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = self.child.kill().await;
    }

    /// The last lines of the child's log, to explain a failure.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.spec.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Resident set size of `pid` in MiB (`VmRSS`).
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// User plus system CPU time of `pid` so far, in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; the fields we want follow its closing parenthesis.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Waits until `pids` together use less than a tenth of a core for half a second (queued
/// background work such as event delivery has drained), at most `limit`.
pub async fn quiesce(pids: &[u32], limit: Duration) {
    let total = || pids.iter().filter_map(|p| cpu_ticks(*p)).sum::<u64>();
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = total();
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = total();
        if now.saturating_sub(last) <= 5 {
            return;
        }
        last = now;
    }
}
