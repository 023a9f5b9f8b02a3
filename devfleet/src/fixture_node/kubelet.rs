//! The fixture node's kubelet: the agent tests' stand-in (`agent/tests/support/kubelet_server.rs`,
//! included here by path so there is one copy) over real HTTPS with mTLS, replaying the real
//! payloads of `agent/tests/fixtures/kubelet/` (provenance in SOURCES.md there): `/healthz`
//! `ok`, `/metrics` (kubelet 1.21), `/pods`, `/stats/summary`, `/configz` (K3s).
//!
//! It runs either in this process, on a runtime of its own, or in a child process (see
//! [`KubeletHost`]), so that a benchmark does not count the stand-in's CPU as the agent's. The
//! child is any program that calls [`serve_until_stdin_closes`]: it prints one line with its
//! endpoints on stdout and serves until its stdin is closed, then removes its certificates.
//!
//! The stand-in itself panics on set-up failures (it is test code, `expect` on every step);
//! everything here returns [`KubeletError`].

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use thiserror::Error;
use url::Url;

#[path = "../../../agent/tests/support/kubelet_server.rs"]
#[allow(dead_code)] // Test-only variants (slow, cut, token) and helpers are not used here.
mod kubelet_server;

use kubelet_server::{Auth, KubeletServer, Pki, Reply};

/// How long a child may take to announce its endpoints, and to exit once told to.
const CHILD_TIMEOUT: Duration = Duration::from_secs(30);
/// First field of the child's announcement line.
const ANNOUNCE: &str = "edgeward-kubelet-stand-in";

/// Where the stand-in listens and what a client needs to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletEndpoints {
    /// Plain HTTP, like the kubelet's `:10248`.
    pub healthz_url: Url,
    /// HTTPS with a required client certificate, like `:10250`.
    pub api_url: Url,
    /// The CA of the server certificate (for `127.0.0.1` and `localhost`).
    pub ca_file: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// Where the stand-in runs.
#[derive(Debug)]
pub enum KubeletHost {
    /// On a one-worker runtime owned by the fixture, in this process.
    InProcess,
    /// In a child started with this command, which must call [`serve_until_stdin_closes`].
    /// stdin and stdout are piped by the fixture; stderr is left as given.
    Child(Command),
}

#[derive(Debug, Error)]
pub enum KubeletError {
    #[error("cannot read the kubelet fixture {path}")]
    Fixture {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the stand-in's runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot start the stand-in kubelet child process")]
    Spawn(#[source] std::io::Error),
    #[error("the stand-in kubelet child process: {0}")]
    Child(String),
    #[error("cannot talk to the parent process")]
    Parent(#[source] std::io::Error),
}

/// A running stand-in; stops when dropped (the child is told to exit, and killed if it does
/// not within 30 s).
pub(super) struct StandIn {
    pub endpoints: KubeletEndpoints,
    running: Running,
}

enum Running {
    InProcess(Box<InProcessServer>),
    Child(Child),
}

struct InProcessServer {
    runtime: Option<tokio::runtime::Runtime>,
    _server: KubeletServer,
    _pki: Pki,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match &self.running {
            Running::InProcess(_) => "in process".to_owned(),
            Running::Child(c) => format!("child {}", c.id()),
        };
        f.debug_struct("StandIn")
            .field("endpoints", &self.endpoints)
            .field("running", &place)
            .finish()
    }
}

impl StandIn {
    pub fn start(host: KubeletHost) -> Result<StandIn, KubeletError> {
        match host {
            KubeletHost::InProcess => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("kubelet-stand-in")
                    .enable_all()
                    .build()
                    .map_err(KubeletError::Runtime)?;
                let (pki, server, endpoints) = start_server(&runtime)?;
                Ok(StandIn {
                    endpoints,
                    running: Running::InProcess(Box::new(InProcessServer {
                        runtime: Some(runtime),
                        _server: server,
                        _pki: pki,
                    })),
                })
            }
            KubeletHost::Child(mut command) => {
                command.stdin(Stdio::piped()).stdout(Stdio::piped());
                let mut child = command.spawn().map_err(KubeletError::Spawn)?;
                match announced(&mut child) {
                    Ok(endpoints) => Ok(StandIn {
                        endpoints,
                        running: Running::Child(child),
                    }),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        Err(e)
                    }
                }
            }
        }
    }

    /// The child's process id, when the stand-in runs in a child.
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Running::Child(c) => Some(c.id()),
            Running::InProcess(_) => None,
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        match &mut self.running {
            // Never blocks, so the fixture may also be dropped inside an async context.
            Running::InProcess(in_process) => {
                if let Some(rt) = in_process.runtime.take() {
                    rt.shutdown_background();
                }
            }
            Running::Child(child) => {
                drop(child.stdin.take());
                let deadline = Instant::now() + CHILD_TIMEOUT;
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Starts the stand-in on `runtime` and loads every fixture route.
fn start_server(
    runtime: &tokio::runtime::Runtime,
) -> Result<(Pki, KubeletServer, KubeletEndpoints), KubeletError> {
    let pki = Pki::new();
    let server = runtime.block_on(KubeletServer::start(&pki, Auth::Mutual));
    server.set("/healthz", Reply::Body(b"ok".to_vec()));
    for (path, file) in [
        ("/metrics", "datadog-kubelet-metrics-1.21.txt"),
        ("/pods", "datadog-pods.json"),
        ("/stats/summary", "otel-stats-summary.json"),
        ("/configz", "configz-k3s.json"),
    ] {
        server.set(path, Reply::Body(fixture(file)?));
    }
    let endpoints = KubeletEndpoints {
        healthz_url: server.healthz_url.clone(),
        api_url: server.api_url.clone(),
        ca_file: pki.ca_file.clone(),
        client_cert: pki.client_cert.clone(),
        client_key: pki.client_key.clone(),
    };
    Ok((pki, server, endpoints))
}

fn fixture(name: &str) -> Result<Vec<u8>, KubeletError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agent/tests/fixtures/kubelet")
        .join(name);
    std::fs::read(&path).map_err(|source| KubeletError::Fixture { path, source })
}

/// The child side: starts the stand-in, announces its endpoints as one tab-separated line on
/// stdout, serves until stdin reaches end of file (the parent closed it or died), then
/// returns, removing its certificates.
pub fn serve_until_stdin_closes() -> Result<(), KubeletError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(KubeletError::Runtime)?;
    let (pki, server, e) = start_server(&runtime)?;
    let line = [
        ANNOUNCE,
        e.healthz_url.as_str(),
        e.api_url.as_str(),
        &e.ca_file.display().to_string(),
        &e.client_cert.display().to_string(),
        &e.client_key.display().to_string(),
    ]
    .join("\t");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").map_err(KubeletError::Parent)?;
    out.flush().map_err(KubeletError::Parent)?;
    drop(out);
    let mut sink = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut sink);
    drop(server);
    runtime.shutdown_background();
    drop(pki);
    Ok(())
}

/// Reads the child's announcement, waiting at most [`CHILD_TIMEOUT`].
fn announced(child: &mut Child) -> Result<KubeletEndpoints, KubeletError> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| KubeletError::Child("stdout not piped".to_owned()))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let line = match rx.recv_timeout(CHILD_TIMEOUT) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => return Err(KubeletError::Child(format!("reading its stdout: {e}"))),
        Err(_) => {
            return Err(KubeletError::Child(format!(
                "no endpoints announced within {CHILD_TIMEOUT:?}"
            )));
        }
    };
    let fields: Vec<&str> = line.trim_end().split('\t').collect();
    let bad = || KubeletError::Child(format!("unexpected announcement {line:?}"));
    let [ANNOUNCE, healthz, api, ca, cert, key] = fields[..] else {
        return Err(bad());
    };
    Ok(KubeletEndpoints {
        healthz_url: Url::parse(healthz).map_err(|_| bad())?,
        api_url: Url::parse(api).map_err(|_| bad())?,
        ca_file: PathBuf::from(ca),
        client_cert: PathBuf::from(cert),
        client_key: PathBuf::from(key),
    })
}
