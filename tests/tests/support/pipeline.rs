//! Pipeline fixtures: the real agent and aggregator binaries as separate processes over TLS on
//! loopback, with a development PKI, an aggregator that can be killed and started again on the
//! same port with the same store, agents whose every log event is kept (also across
//! `kill -9`), and a reader of the aggregator's REST API.
//!
//! Invariants: every wait polls a condition (every [`POLL`]) and fails the test after
//! [`TIMEOUT`]; every child is killed when its handle drops; agents log `Sample appended`
//! (DEBUG) for every seq they append, after the append was flushed, so a line written before a
//! `kill -9` names a durable sample.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use edgeward_devfleet::pki::{CertFiles, DevCa, Validity};
use serde_json::Value;
use tempfile::TempDir;

use super::{TIMEOUT, agent, aggregator};

/// How often the waits below look again.
pub const POLL: Duration = Duration::from_millis(100);
/// `RUST_LOG` of the agents: everything at INFO and above, plus `Sample appended` and
/// `Delivery failed again` (DEBUG).
pub const AGENT_LOG: &str =
    "info,edgeward_agent::sampling=debug,edgeward_agent::uplink::ship=debug";
/// `RUST_LOG` of the aggregator: everything at INFO and above, plus `Batch stored` (DEBUG).
pub const AGGREGATOR_LOG: &str = "info,edgeward_aggregator::ingest=debug";
/// The host root the agents probe: a recorded k3s server.
pub const HOST_ROOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../agent/tests/fixtures/hosts/k3s-server"
);

/// Polls `check` every [`POLL`] until it returns `Some`; fails the test naming `what` after
/// `timeout`.
pub fn poll<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        thread::sleep(POLL);
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("bound address").port()
}

/// A throw-away CA with a server certificate for 127.0.0.1, in a temporary directory.
#[derive(Debug)]
pub struct Pki {
    dir: TempDir,
    ca: DevCa,
    server: CertFiles,
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = DevCa::create(dir.path(), "edgeward pipeline test CA", "ca").expect("dev CA");
        let server = ca.server(dir.path(), "server").expect("server certificate");
        Self { dir, ca, server }
    }

    pub fn ca_file(&self) -> &Path {
        &self.ca.cert_file
    }

    /// A client certificate naming `node`.
    pub fn node(&self, node: &str) -> CertFiles {
        self.ca
            .node(node, Validity::Current, self.dir.path(), node)
            .expect("node certificate")
    }
}

/// A running binary; a thread keeps every stderr line (JSON events parsed, anything else as
/// a string) until it exits. Killed on drop.
#[derive(Debug)]
pub struct Process {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    reader: Option<JoinHandle<()>>,
}

impl Process {
    pub fn spawn(mut command: Command) -> Self {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let reader = thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(event);
            }
        });
        Self {
            child,
            events,
            reader: Some(reader),
        }
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Value> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The `fields` of every event so far whose message is `message`.
    pub fn logged(&self, message: &str) -> Vec<Value> {
        fields(&self.events(), message)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll child").is_none()
    }

    /// Polls the events until `check` finds something; fails if the process exits first.
    pub fn wait_until<T>(&mut self, what: &str, mut check: impl FnMut(&[Value]) -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let events = self.events();
            if let Some(found) = check(&events) {
                return found;
            }
            let exited = self.child.try_wait().expect("poll child");
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "{what}: not within {TIMEOUT:?} (exit: {exited:?}); last events: {:#?}",
                tail(&events)
            );
            thread::sleep(POLL);
        }
    }

    /// Waits for the first event with `message` and returns its fields.
    pub fn wait_for(&mut self, message: &str) -> Value {
        self.wait_until(message, |events| fields(events, message).into_iter().next())
    }

    /// SIGSTOP: the process stays alive but answers nothing; requests sent meanwhile over
    /// established connections wait in its socket buffers.
    pub fn freeze(&mut self) {
        let pid = self.child.id().to_string();
        let stop = Command::new("kill").args(["-STOP", &pid]).status();
        assert!(stop.expect("run kill").success(), "kill -STOP {pid} failed");
    }

    /// SIGCONT after [`Process::freeze`].
    pub fn thaw(&mut self) {
        let pid = self.child.id().to_string();
        let cont = Command::new("kill").args(["-CONT", &pid]).status();
        assert!(cont.expect("run kill").success(), "kill -CONT {pid} failed");
    }

    /// `kill -9`: returns every event the process wrote before it died.
    pub fn kill(&mut self) -> Vec<Value> {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap killed child");
        self.finish()
    }

    /// SIGTERM, then a bounded wait for the exit: its status and every event.
    pub fn terminate(&mut self) -> (ExitStatus, Vec<Value>) {
        let pid = self.child.id().to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(kill.expect("run kill").success(), "kill -TERM {pid} failed");
        let status = poll("exit after SIGTERM", TIMEOUT, || {
            self.child.try_wait().expect("poll child")
        });
        (status, self.finish())
    }

    fn finish(&mut self) -> Vec<Value> {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        self.events()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `fields` of the events in `events` whose message is `message`.
pub fn fields(events: &[Value], message: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["fields"]["message"] == message)
        .map(|e| e["fields"].clone())
        .collect()
}

/// The seqs the agent logged as appended, in log order.
pub fn appended_seqs(events: &[Value]) -> Vec<u64> {
    fields(events, "Sample appended")
        .iter()
        .map(|f| f["seq"].as_u64().expect("seq in Sample appended"))
        .collect()
}

/// How many samples the outbox dropped for its byte bound: the sum of the `dropped` fields
/// of `Sample appended`.
pub fn logged_drops(events: &[Value]) -> u64 {
    fields(events, "Sample appended")
        .iter()
        .map(|f| f["dropped"].as_u64().expect("dropped in Sample appended"))
        .sum()
}

fn tail(events: &[Value]) -> &[Value] {
    &events[events.len().saturating_sub(15)..]
}

/// The aggregator with TLS and client certificates on a fixed loopback port and a fixed data
/// directory, so that it can be killed and started again with its store.
#[derive(Debug)]
pub struct Central {
    pub port: u16,
    data_dir: TempDir,
    ca: PathBuf,
    server: CertFiles,
    client: reqwest::blocking::Client,
    pub process: Option<Process>,
}

impl Central {
    /// Picks the port and the directory; does not start the aggregator.
    pub fn new(pki: &Pki) -> Self {
        let pem = std::fs::read(pki.ca_file()).expect("read CA certificate");
        let ca = reqwest::Certificate::from_pem(&pem).expect("CA certificate PEM");
        let client = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("API client");
        Self {
            port: free_port(),
            data_dir: tempfile::tempdir().expect("tempdir"),
            ca: pki.ca_file().to_owned(),
            server: pki.server.clone(),
            client,
            process: None,
        }
    }

    /// The URL agents are given.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }

    /// Starts the aggregator and waits until it listens over HTTPS.
    pub fn start(&mut self) {
        assert!(self.process.is_none(), "aggregator already running");
        let mut command = aggregator();
        command
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--log-format", "json", "--data-dir"])
            .arg(self.data_dir.path())
            .arg("--tls-cert-file")
            .arg(&self.server.cert)
            .arg("--tls-key-file")
            .arg(&self.server.key)
            .arg("--tls-client-ca-file")
            .arg(&self.ca)
            .env("RUST_LOG", AGGREGATOR_LOG);
        let mut process = Process::spawn(command);
        let listening = process.wait_for("Listening");
        assert_eq!(listening["scheme"], "https", "{listening}");
        self.process = Some(process);
    }

    /// `kill -9` of the running aggregator; returns every event it wrote.
    pub fn kill(&mut self) -> Vec<Value> {
        self.process.take().expect("aggregator running").kill()
    }

    /// The running aggregator.
    pub fn running(&mut self) -> &mut Process {
        self.process.as_mut().expect("aggregator running")
    }

    /// `GET path` as JSON; `None` on 404.
    pub fn get(&self, path: &str) -> Option<Value> {
        let url = format!("https://127.0.0.1:{}{path}", self.port);
        let response = self
            .client
            .get(&url)
            .send()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        assert!(response.status().is_success(), "GET {url}: {response:?}");
        let body = response.bytes().expect("read response body");
        Some(serde_json::from_slice(&body).expect("JSON body"))
    }

    /// `GET /v1/nodes/{node}`, `None` before the node's first batch.
    pub fn node(&self, node: &str) -> Option<Value> {
        self.get(&format!("/v1/nodes/{node}"))
    }

    /// How many samples the aggregator stores for `node`.
    pub fn sample_count(&self, node: &str) -> u64 {
        let nodes = self.get("/v1/nodes").expect("node list");
        nodes
            .as_array()
            .expect("node list is an array")
            .iter()
            .find(|n| n["id"] == node)
            .map_or(0, |n| n["samples"].as_u64().expect("samples count"))
    }

    /// Every stored sample of `node`, in the API's (stream arrival, seq) order, read page by
    /// page with the last item as the cursor.
    pub fn samples(&self, node: &str) -> Vec<Stored> {
        let mut all: Vec<Stored> = Vec::new();
        loop {
            let cursor = all.last().map_or(String::new(), |s| {
                format!("&after_stream={}&after_seq={}", s.stream, s.seq)
            });
            let path = format!("/v1/nodes/{node}/samples?limit=500{cursor}");
            let page = self.get(&path).expect("samples page");
            let page = page.as_array().expect("samples page is an array");
            if page.is_empty() {
                return all;
            }
            all.extend(page.iter().map(|item| Stored {
                stream: item["stream"].as_u64().expect("stream"),
                seq: item["sample"]["seq"].as_u64().expect("seq"),
                at: item["sample"]["at"].as_i64().expect("at"),
            }));
        }
    }
}

/// One stored sample: where it sits and when the node took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub stream: u64,
    pub seq: u64,
    pub at: i64,
}

/// An edge node: a name, its client certificate and a data directory that outlives each
/// agent process, so an agent can be started again on the same outbox.
#[derive(Debug)]
pub struct Edge {
    pub name: String,
    certs: CertFiles,
    ca: PathBuf,
    pub data_dir: TempDir,
}

impl Edge {
    pub fn new(pki: &Pki, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            certs: pki.node(name),
            ca: pki.ca_file().to_owned(),
            data_dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The outbox directory (a sled directory) inside the data directory.
    pub fn outbox(&self) -> PathBuf {
        self.data_dir.path().join("outbox")
    }

    /// Starts an agent on this node's data dir, sampling every 100 ms and shipping to `url`,
    /// with `extra` flags; waits for `Agent started` and returns the process and its fields.
    pub fn start(&self, url: &str, extra: &[&str]) -> (Process, Value) {
        let mut command = agent();
        command
            .args(["--aggregator-url", url, "--node-name", &self.name])
            .args(["--host-root", HOST_ROOT, "--data-dir"])
            .arg(self.data_dir.path())
            .args(["--interval", "100ms", "--backoff-max", "500ms"])
            .args(["--request-timeout", "2s", "--log-format", "json"])
            .arg("--tls-ca-file")
            .arg(&self.ca)
            .arg("--tls-client-cert")
            .arg(&self.certs.cert)
            .arg("--tls-client-key")
            .arg(&self.certs.key)
            .args(extra)
            .env("RUST_LOG", AGENT_LOG);
        let mut process = Process::spawn(command);
        let started = process.wait_for("Agent started");
        (process, started)
    }
}
