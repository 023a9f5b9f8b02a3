//! Loading the policy file, and reloading it while the aggregator runs.
//!
//! [`spawn_reloader`] checks the file every `poll` interval (default [`DEFAULT_POLL`]) and at
//! once on SIGHUP. It reads and hashes the whole file each time rather than trusting mtime
//! and length: a policy is a few KiB, and a same-size edit within one mtime tick (whole seconds
//! on some filesystems, or a `git checkout` preserving times) must not be missed; opening the
//! path each time also follows a rename into place and the symlink swap of a Kubernetes
//! ConfigMap volume. Only when the content's SHA-256 differs from the last content seen (or on
//! SIGHUP) is it parsed:
//! - valid: the new policy is sent on the watch channel, `Policy reloaded` is logged at INFO
//!   with a summary, and any previous error is cleared;
//! - invalid or unreadable: ERROR `Policy invalid, keeping the previous one` with the error
//!   (`<path>:<line>:<column>: …`), and the policy in force stays. The error is logged once per
//!   distinct content or read error, not on every poll.
//!
//! [`PolicyStatus`] on its own watch channel says which policy is in force and whether the
//! file on disk is currently rejected, and since when, for `/metrics` and the API.
//!
//! Invariant: the SIGHUP handler is installed before [`spawn_reloader`] returns, so a SIGHUP
//! sent once the aggregator is up never takes the default action (terminating the process).

use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use edgeward_proto::UnixMillis;
use edgeward_runtime::clock;
use serde::Serialize;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{error, info, warn};

use super::baseline::{hex, sha256};
use super::{Policy, PolicyError};

/// How often the file is checked when the caller has no preference: every 5 seconds.
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// Accepted poll intervals: 1 ms to a day (others are clamped into this range).
pub const POLL_RANGE: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(86_400));
/// Largest policy file read: 4 MiB. A larger file is reported as unreadable.
pub const MAX_POLICY_BYTES: u64 = 4 << 20;

/// The policy file on disk.
#[derive(Debug, Clone, Copy)]
pub struct PolicySource;

impl PolicySource {
    /// Reads and validates the policy file at `path`; errors name the path (and the line).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = read(path)?;
        Policy::parse(&text, &path.display().to_string())
    }
}

/// The file's text, at most [`MAX_POLICY_BYTES`], as UTF-8.
fn read(path: &Path) -> Result<String, PolicyError> {
    let fail = |source| PolicyError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut text = String::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(fail)?;
    if text.len() as u64 > MAX_POLICY_BYTES {
        let message = format!("larger than {MAX_POLICY_BYTES} bytes");
        return Err(fail(std::io::Error::other(message)));
    }
    Ok(text)
}

/// Which policy is in force and whether the file on disk is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyStatus {
    /// The policy file watched.
    pub path: PathBuf,
    /// When the policy in force was loaded (or the reloader started, for the initial one).
    pub loaded_at: UnixMillis,
    /// SHA-256 (hex) of the text of the policy in force; `None` for no policy file.
    pub source_sha256: Option<String>,
    /// The newest error, while the file on disk is rejected; `None` when it is in force.
    pub last_error: Option<String>,
    /// Since when the file on disk has been rejected.
    pub invalid_since: Option<UnixMillis>,
    /// Policies loaded by the reloader (`edgeward_policy_reloads_total`).
    pub reloads: u64,
    /// Rejected contents and read errors (`edgeward_policy_reload_failures_total`).
    pub failures: u64,
}

/// A running reloader.
#[derive(Debug)]
pub struct Reloader {
    /// The reloader task; ends when `shutdown` resolves.
    pub task: JoinHandle<()>,
    /// The reloader's [`PolicyStatus`].
    pub status: watch::Receiver<PolicyStatus>,
}

/// Watches `path` and sends each valid new policy on `tx`, keeping the one in force when the
/// file is invalid. `tx` holds the policy in force at start; `poll` is clamped into
/// [`POLL_RANGE`]. Must be called inside a tokio
/// runtime; installs the SIGHUP handler before returning (when it cannot, it logs a warning
/// and polls only).
pub fn spawn_reloader(
    path: PathBuf,
    tx: watch::Sender<Arc<Policy>>,
    poll: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Reloader {
    let hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => Some(hangup),
        Err(e) => {
            warn!(error = %e, "Cannot install a SIGHUP handler; the policy reloads on file change only");
            None
        }
    };
    let initial = tx.borrow().sha256().copied();
    let status = PolicyStatus {
        path: path.clone(),
        loaded_at: clock::now(),
        source_sha256: initial.as_ref().map(|d| hex(d)),
        last_error: None,
        invalid_since: None,
        reloads: 0,
        failures: 0,
    };
    let (status_tx, status_rx) = watch::channel(status);
    let watcher = Watcher {
        path,
        tx,
        status: status_tx,
        last_seen: initial,
    };
    let poll = poll.clamp(POLL_RANGE.0, POLL_RANGE.1);
    let task = tokio::spawn(watcher.run(poll, hangup, shutdown));
    Reloader {
        task,
        status: status_rx,
    }
}

/// The reloader's state.
struct Watcher {
    path: PathBuf,
    tx: watch::Sender<Arc<Policy>>,
    status: watch::Sender<PolicyStatus>,
    /// SHA-256 of the last content read, valid or not; `None` after a read error.
    last_seen: Option<[u8; 32]>,
}

impl Watcher {
    async fn run(
        mut self,
        poll: Duration,
        mut hangup: Option<Signal>,
        shutdown: impl Future<Output = ()>,
    ) {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            let forced = tokio::select! {
                () = &mut shutdown => break,
                _ = ticker.tick() => false,
                Some(()) = hangup_received(&mut hangup) => {
                    info!(path = %self.path.display(), "SIGHUP received, reloading the policy");
                    true
                }
            };
            self.check(forced).await;
        }
    }

    /// Reads the file and, when its content is new or `forced`, parses and applies it.
    async fn check(&mut self, forced: bool) {
        let path = self.path.clone();
        let text = tokio::task::spawn_blocking(move || read(&path))
            .await
            .unwrap_or_else(|e| {
                Err(PolicyError::Read {
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                })
            });
        let text = match text {
            Ok(text) => text,
            Err(e) => {
                self.last_seen = None;
                return self.reject(&e, forced);
            }
        };
        let digest = sha256(text.as_bytes());
        if !forced && self.last_seen == Some(digest) {
            return;
        }
        self.last_seen = Some(digest);
        match Policy::parse(&text, &self.path.display().to_string()) {
            Ok(policy) => self.accept(policy),
            Err(e) => self.reject(&e, true),
        }
    }

    fn accept(&mut self, policy: Policy) {
        let digest = policy.sha256().map(|d| hex(d));
        let targets = policy
            .groups_in_rollout_order()
            .filter(|g| g.target.is_some())
            .count();
        info!(
            path = %self.path.display(),
            sha256 = digest.as_deref().unwrap_or("-"),
            groups = policy.groups_in_rollout_order().count(),
            groups_with_target = targets,
            windows = policy.windows().len(),
            clusters = policy.clusters().len(),
            baseline_keys = policy.baseline().keys.len(),
            "Policy reloaded"
        );
        self.tx.send_replace(Arc::new(policy));
        self.status.send_modify(|s| {
            s.loaded_at = clock::now();
            s.source_sha256 = digest;
            s.last_error = None;
            s.invalid_since = None;
            s.reloads += 1;
        });
    }

    /// Records `e`; logs it when it is new (a different message) or `always`.
    fn reject(&mut self, e: &PolicyError, always: bool) {
        let message = error_chain(e);
        let repeated = self.status.borrow().last_error.as_deref() == Some(message.as_str());
        if repeated && !always {
            return;
        }
        error!(error = %message, "Policy invalid, keeping the previous one");
        self.status.send_modify(|s| {
            s.invalid_since = s.invalid_since.or_else(|| Some(clock::now()));
            s.last_error = Some(message);
            s.failures += 1;
        });
    }
}

/// `e` and its sources on one line (`cannot read policy file p: No such file or directory`).
fn error_chain(e: &PolicyError) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The next SIGHUP; pending forever without a handler.
async fn hangup_received(hangup: &mut Option<Signal>) -> Option<()> {
    match hangup {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}
