//! Helpers for the Alertmanager tests: a real `prometheus-alertmanager` process on a free
//! port with a generated configuration, a webhook receiver that records its notifications,
//! and the alert pusher under test with a handle to feed and stop it.
//!
//! The binary is `$EDGEWARD_ALERTMANAGER_BIN`, else `prometheus-alertmanager` (Debian's name)
//! or `alertmanager` on `PATH`. Without one the tests fail: they must not pass by not running.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgeward_aggregator::alerting::{Alert, Alerting, AlertingStatsHandle, AlertmanagerOptions};
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use url::Url;

/// Where the Alertmanager binary is; panics, naming the package, when there is none.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("EDGEWARD_ALERTMANAGER_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "EDGEWARD_ALERTMANAGER_BIN={} is not a file; install the Debian package \
             `prometheus-alertmanager` or point it at an alertmanager binary",
            path.display()
        );
        return path;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["prometheus-alertmanager", "alertmanager"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "no Alertmanager binary: install the Debian package `prometheus-alertmanager` \
         (CI installs it), or set EDGEWARD_ALERTMANAGER_BIN"
    );
}

/// A TCP port nothing listens on (for a moment).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running Alertmanager; killed on drop.
pub struct Alertmanager {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    pub url: Url,
    http: reqwest::Client,
}

impl Alertmanager {
    /// Starts one on `port`, routing everything to `webhook` (every alert its own group,
    /// 1 s group wait and interval, resolved notifications on), and waits until its API
    /// answers.
    pub async fn start(port: u16, webhook: Option<&Webhook>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let receiver = match webhook {
            Some(hook) => format!(
                "    webhook_configs:\n      - url: {}\n        send_resolved: true\n",
                hook.url
            ),
            None => String::new(),
        };
        let config = format!(
            "route:\n  receiver: edgeward\n  group_by: ['...']\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: edgeward\n{receiver}"
        );
        std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
        let child = spawn(dir.path(), port);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let mut am = Self {
            child,
            dir,
            port,
            url,
            http: reqwest::Client::new(),
        };
        am.wait_ready().await;
        am
    }

    /// Stops it with SIGTERM (it saves its notification log, as in a rolling restart) and
    /// starts it again on the same port and storage. Alerts, held in memory only, are lost.
    pub async fn restart_after(&mut self, while_down: impl Future<Output = ()>) {
        let pid = self.child.id().to_string();
        let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(term.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "Alertmanager ignored SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while_down.await;
        self.child = spawn(self.dir.path(), self.port);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let status = self.url.join("api/v2/status").unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = self.http.get(status.clone()).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.path().join("alertmanager.log"));
                panic!(
                    "Alertmanager exited with {exit}: {}",
                    log.unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "Alertmanager on {} never answered",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /api/v2/alerts`: the alerts it holds as active (resolved ones are not listed).
    pub async fn alerts(&self) -> Vec<Value> {
        let url = self.url.join("api/v2/alerts").unwrap();
        let body = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    /// The alert with this `node` label, if it holds one.
    pub async fn alert_of(&self, node: &str) -> Option<Value> {
        let alerts = self.alerts().await;
        alerts.into_iter().find(|a| a["labels"]["node"] == node)
    }

    /// The sum of a counter's series whose label text contains `filter`.
    pub async fn metric(&self, name: &str, filter: &str) -> f64 {
        let url = self.url.join("metrics").unwrap();
        let text = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(filter))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// Runs the binary with the configuration and storage in `dir`, logging to a file there.
fn spawn(dir: &std::path::Path, port: u16) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("alertmanager.log"))
        .unwrap();
    Command::new(binary())
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary().display()))
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver recording every notification body.
pub struct Webhook {
    pub url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Webhook {
    pub async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let sink = Arc::clone(&sink);
                async move {
                    sink.lock().unwrap().push(body);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    /// The alerts of every notification so far, each with its notification's `status`.
    pub fn notified(&self) -> Vec<Value> {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

/// The pusher under test, fed through its watch channel.
pub struct Pusher {
    alerts: watch::Sender<Arc<Vec<Alert>>>,
    pub stats: AlertingStatsHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Pusher {
    pub fn spawn(url: &Url, resend_every: Duration) -> Self {
        Self::spawn_to(std::slice::from_ref(url), resend_every)
    }

    /// A pusher for the replicas of one Alertmanager cluster.
    pub fn spawn_to(urls: &[Url], resend_every: Duration) -> Self {
        // The pusher's log in the test output (shown for failing tests, or with --nocapture).
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_test_writer()
            .try_init();
        let options = AlertmanagerOptions {
            resend_every,
            timeout: Duration::from_secs(2),
            ..AlertmanagerOptions::new(urls.to_vec())
        };
        let (alerts, rx) = watch::channel(Arc::new(Vec::new()));
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let (task, stats) = Alerting::spawn(options, rx, shutdown).unwrap();
        Self {
            alerts,
            stats,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The analysis says: these alerts fire now.
    pub fn set(&self, firing: Vec<Alert>) {
        self.alerts.send_replace(Arc::new(firing));
    }

    /// Stops the task and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("pusher stops within 5 s")
                .expect("pusher did not panic");
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
