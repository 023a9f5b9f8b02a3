//! Harness for the end-to-end tests: builds the real binaries once per test process, runs them
//! as child processes and reads their output with bounded waits.
//!
//! Invariants: every wait on a binary ends after [`TIMEOUT`]; every child is killed when its
//! handle drops; children never inherit `EDGEWARD_*` or `RUST_LOG` from the developer's
//! environment. The one wait without that bound is the `cargo build` in [`binaries`]: a cold
//! build can take minutes, and it ends when cargo does.
//!
//! Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

pub mod pipeline;
pub mod tls;

use serde_json::Value;
use tempfile::TempDir;

/// Upper bound for every wait in these tests.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// `edgeward-agent`'s program name, which prefixes its error lines.
pub const AGENT: &str = "edgeward-agent";
/// `edgeward-aggregator`'s program name, which prefixes its error lines.
pub const AGGREGATOR: &str = "edgeward-aggregator";

/// `edgeward-devfleet`: the README's run command.
pub const DEVFLEET: &str = "edgeward-devfleet";

/// Paths of the freshly built binaries.
#[derive(Debug)]
pub struct Binaries {
    pub agent: PathBuf,
    pub aggregator: PathBuf,
    pub devfleet: PathBuf,
}

/// Builds both binaries (once per test process) with the profile this test was built with.
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(build)
}

/// The test executable lives in `<target>/<profile>/deps/`, or in
/// `<target>/<triple>/<profile>/deps/` when built with `--target`; cargo marks `<target>`
/// with a `CACHEDIR.TAG`.
fn build() -> Binaries {
    let exe = std::env::current_exe().expect("path of the test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable in <profile>/deps");
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .expect("profile directory name");
    let above = profile_dir.parent().expect("target directory");
    let (target_dir, triple) = if above.join("CACHEDIR.TAG").exists() {
        (above, None)
    } else {
        (above.parent().expect("target directory"), above.file_name())
    };

    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build", "--quiet", "-p", AGENT, "-p", AGGREGATOR, "-p", DEVFLEET,
        ])
        .args(["--bin", AGENT, "--bin", AGGREGATOR, "--bin", DEVFLEET])
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cargo.arg("--release");
        }
        other => {
            cargo.args(["--profile", other]);
        }
    }
    if let Some(triple) = triple {
        cargo.arg("--target").arg(triple);
    }
    let output = cargo.output().expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build of the binaries failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let binary = |name: &str| profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    Binaries {
        agent: binary(AGENT),
        aggregator: binary(AGGREGATOR),
        devfleet: binary(DEVFLEET),
    }
}

/// A command for `program` that does not inherit edgeward settings from this process.
pub fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("EDGEWARD_") || text == "RUST_LOG" {
            command.env_remove(&name);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// A command for the agent binary.
pub fn agent() -> Command {
    command(&binaries().agent)
}

/// A command for the aggregator binary.
pub fn aggregator() -> Command {
    command(&binaries().aggregator)
}

/// A process that ran to completion.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to completion; kills it and fails the test after [`TIMEOUT`].
pub fn run_to_exit(mut command: Command) -> Finished {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn binary");
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let status = wait_bounded(&mut child);
    Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("poll child") {
            return status;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("process did not exit within {TIMEOUT:?}");
}

/// Asserts a config error: status 64 and exactly one stderr line, prefixed with the program
/// name, that mentions every one of `needles`.
pub fn assert_config_error(finished: &Finished, program: &str, needles: &[&str]) {
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(finished.status.code(), Some(64), "stderr: {lines:?}");
    assert_eq!(lines.len(), 1, "expected one stderr line, got {lines:?}");
    let prefix = format!("{program}: config error: ");
    assert!(lines[0].starts_with(&prefix), "{:?}", lines[0]);
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "{needle:?} not in {:?}",
            lines[0]
        );
    }
}

/// A running binary whose stderr is read line by line. Killed on drop.
#[derive(Debug)]
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts `command` with stderr piped to a reader thread.
    pub fn spawn(mut command: Command) -> Self {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads stderr until a JSON log event with `message` appears and returns it. Fails the
    /// test if the process exits first or nothing matches within [`TIMEOUT`].
    pub fn wait_for_event(&mut self, message: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let event = serde_json::from_str::<Value>(&line).ok();
                    self.seen.push(line);
                    if let Some(event) = event
                        && event["fields"]["message"] == message
                    {
                        return event;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no {message:?} event within {TIMEOUT:?}; stderr: {:?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("exited before logging {message:?}; stderr: {:?}", self.seen)
                }
            }
        }
    }

    /// Sends SIGTERM, waits for the exit and returns its status with every stderr line.
    pub fn terminate(&mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(kill.expect("run kill").success(), "kill -TERM {pid} failed");
        let status = wait_bounded(&mut self.child);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stderr stayed open after exit"),
            }
        }
        (status, self.seen.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An aggregator serving on a free loopback port, with JSON logs and a scratch data dir.
#[derive(Debug)]
pub struct Aggregator {
    pub process: Running,
    pub addr: SocketAddr,
    _data_dir: TempDir,
}

/// Starts the aggregator on `127.0.0.1:0` and waits for its `Listening` event.
pub fn spawn_aggregator() -> Aggregator {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut command = aggregator();
    command
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(data_dir.path());
    let mut process = Running::spawn(command);
    let listening = process.wait_for_event("Listening");
    let addr = listening["fields"]["addr"]
        .as_str()
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {listening}"));
    Aggregator {
        process,
        addr,
        _data_dir: data_dir,
    }
}

/// A host root for the agent: a temporary directory with `proc/sys/kernel/hostname`.
#[derive(Debug)]
pub struct Host {
    dir: TempDir,
}

impl Host {
    /// A host root whose host name file holds `hostname`.
    pub fn new(hostname: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let kernel = dir.path().join("proc/sys/kernel");
        std::fs::create_dir_all(&kernel).expect("create proc/sys/kernel");
        std::fs::write(kernel.join("hostname"), hostname).expect("write hostname");
        Self { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` in the host root and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.root().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Writes `agent.toml` with a valid aggregator URL, this host root, a scratch data dir
    /// and then `extra` (TOML lines, or a `[tls]` table).
    pub fn config(&self, extra: &str) -> PathBuf {
        let root = self.root().display();
        let text = format!(
            "aggregator_url = \"https://aggregator.example:7443\"\n\
             host_root = '{root}'\n\
             data_dir = '{root}/data'\n\
             {extra}\n"
        );
        self.write("agent.toml", &text)
    }
}

/// Starts the agent with `--log-format json` plus `args` and `envs`, and waits for its
/// `Agent started` event.
pub fn spawn_agent(args: &[&str], envs: &[(&str, &str)]) -> (Running, Value) {
    let mut command = agent();
    command.args(["--log-format", "json"]).args(args);
    command.envs(envs.iter().copied());
    let mut process = Running::spawn(command);
    let started = process.wait_for_event("Agent started");
    (process, started)
}

/// A plain HTTP/1.1 GET with `Connection: close`; returns the status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .expect("write timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_owned())
}
