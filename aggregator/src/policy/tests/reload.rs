//! Loading and reloading the policy file: valid → invalid (old kept, error reported) → valid
//! again on paused time; SIGHUP; unchanged and missing files.
//!
//! The tests share one lock: a SIGHUP is process-wide and would force a reload in a test
//! running beside the one that sends it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, oneshot, watch};
use tokio::time::timeout;

use super::*;
use crate::policy::{PolicySource, PolicyStatus, Reloader, spawn_reloader};

static SERIAL: Mutex<()> = Mutex::const_new(());

const POLL: Duration = Duration::from_secs(5);
const V1: &str = "[channels]\nstable = \"v1.31.4+k3s1\"\n[defaults]\nchannel = \"stable\"\n";
const V2: &str = "[defaults]\ntarget = \"v1.32.0+k3s1\"\nmax_unavailable = 2\n";
const BROKEN: &str = "[defaults]\ntarget = \"v1.32.0+k3s1\"\nmax_unavailable = 0\n";

/// A reloader watching `path` (which must hold a valid policy), with its policy channel and
/// the sender that stops it.
struct Running {
    reloader: Reloader,
    policy: watch::Receiver<Arc<Policy>>,
    stop: oneshot::Sender<()>,
}

fn start(path: &Path, poll: Duration) -> Running {
    let initial = PolicySource::load(path).expect("valid initial policy");
    let (tx, policy) = watch::channel(Arc::new(initial));
    let (stop, stopped) = oneshot::channel::<()>();
    let reloader = spawn_reloader(path.to_owned(), tx, poll, async {
        let _ = stopped.await;
    });
    Running {
        reloader,
        policy,
        stop,
    }
}

impl Running {
    /// Waits (a minute of tokio time at most) for a status meeting `ready`.
    async fn status(&mut self, ready: impl FnMut(&PolicyStatus) -> bool) -> PolicyStatus {
        timeout(
            Duration::from_secs(60),
            self.reloader.status.wait_for(ready),
        )
        .await
        .expect("status in time")
        .expect("reloader running")
        .clone()
    }

    fn target(&self) -> Option<String> {
        let policy = self.policy.borrow();
        let target = policy.default_group().target.as_ref();
        target.map(|t| t.version().to_string())
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        timeout(Duration::from_secs(60), self.reloader.task)
            .await
            .expect("stops in time")
            .expect("task ends cleanly");
    }
}

#[tokio::test(start_paused = true)]
async fn invalid_file_keeps_the_old_policy_until_a_valid_one_replaces_it() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, V1).expect("write");
    let mut run = start(&path, POLL);
    assert_eq!(run.target().as_deref(), Some("v1.31.4+k3s1"));

    std::fs::write(&path, BROKEN).expect("write");
    let status = run.status(|s| s.last_error.is_some()).await;
    let error = status.last_error.expect("error");
    assert!(
        error.starts_with(&format!("{}:3:", path.display())),
        "names the file and line: {error}"
    );
    assert!(status.invalid_since.is_some());
    assert_eq!((status.reloads, status.failures), (0, 1));
    assert_eq!(
        run.target().as_deref(),
        Some("v1.31.4+k3s1"),
        "old policy kept"
    );

    tokio::time::sleep(POLL * 3).await;
    let status = run.reloader.status.borrow().clone();
    assert_eq!(
        status.failures, 1,
        "the same bad content is not reported again"
    );

    std::fs::write(&path, V2).expect("write");
    let status = run.status(|s| s.reloads == 1).await;
    assert_eq!(status.last_error, None);
    assert_eq!(status.invalid_since, None);
    assert_eq!(run.target().as_deref(), Some("v1.32.0+k3s1"));
    let sha = run
        .policy
        .borrow()
        .sha256()
        .map(|d| crate::policy::baseline::hex(d));
    assert_eq!(status.source_sha256, sha);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn unchanged_content_is_not_reloaded() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, V1).expect("write");
    let run = start(&path, POLL);
    std::fs::write(&path, V1).expect("rewrite, same bytes");
    tokio::time::sleep(POLL * 4).await;
    let status = run.reloader.status.borrow().clone();
    assert_eq!((status.reloads, status.failures), (0, 0));
    assert!(!run.policy.has_changed().expect("sender alive"));
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn deleted_file_is_reported_and_restoring_it_clears_the_error() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, V1).expect("write");
    let mut run = start(&path, POLL);

    std::fs::remove_file(&path).expect("remove");
    let status = run.status(|s| s.last_error.is_some()).await;
    let error = status.last_error.expect("error");
    assert!(error.starts_with("cannot read policy file"), "{error}");
    assert_eq!(run.target().as_deref(), Some("v1.31.4+k3s1"));

    std::fs::write(&path, V1).expect("restore");
    let status = run.status(|s| s.last_error.is_none()).await;
    assert_eq!(status.reloads, 1);
    run.stop().await;
}

#[tokio::test]
async fn sighup_reloads_at_once() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, V1).expect("write");
    // A poll interval no test waits for: only the signal can cause the reload.
    let mut run = start(&path, Duration::from_secs(3600));
    std::fs::write(&path, V2).expect("write");
    let sent = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("kill -HUP {}", std::process::id()))
        .status()
        .expect("sh runs");
    assert!(sent.success());
    let status = run.status(|s| s.reloads == 1).await;
    assert_eq!(status.last_error, None);
    assert_eq!(run.target().as_deref(), Some("v1.32.0+k3s1"));
    run.stop().await;
}

#[test]
fn load_names_the_path_of_an_unreadable_file_and_the_line_of_an_invalid_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.toml");
    let error = PolicySource::load(&missing).expect_err("no such file");
    assert!(matches!(&error, PolicyError::Read { path, .. } if *path == missing));
    assert_eq!(
        error.to_string(),
        format!("cannot read policy file {}", missing.display())
    );

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, BROKEN).expect("write");
    let error = PolicySource::load(&broken).expect_err("invalid");
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:3:19: ", broken.display())),
        "{error}"
    );
}
