//! `edgeward-probe-bench`: what one sampling cycle with every production probe costs on a K3s
//! server node, next to one scrape of Debian's `prometheus-node-exporter` measured in the same
//! run on the same machine, plus the agent's memory and the bytes a sample costs on the wire.
//!
//! **The node** is [`edgeward_devfleet::fixture_node`]: the recorded K3s server tree, a real
//! kine database (a few thousand rows, WAL) and the stand-in kubelet over HTTPS with mTLS
//! replaying real payloads.
//!
//! **A cycle** is what the agent's sampler does, minus the outbox append (measured by
//! `edgeward-bench`): `default_probes` from the fixture's `agent.toml`, run in order into a
//! `blank_sample` on a `spawn_blocking` thread of a current-thread runtime (the agent's
//! runtime), then `appended(seq)` so rate-limited probes behave as in the agent. The first
//! cycle runs everything (inventory, fdatasync disk audit, SQLite quick check) and is printed
//! on its own; later cycles are the steady state (inventory and audit `NotDue`; at a 15 s
//! interval the inventory is recomputed every 4th cycle, the audit runs every 40th and the
//! quick check every 240th). Cycles and
//! exporter scrapes alternate, so both see the same load on this shared machine.
//!
//! **CPU** is the on-CPU time the kernel accounts to a process's threads (first field of
//! `/proc/<pid>/task/*/schedstat`, ns), read before and after each cycle or scrape: for the
//! agent, every thread of this process (the probing thread and the runtime thread that drives
//! the kubelet requests); for the exporter, every thread of its process. The stand-in kubelet
//! runs in a child process (this binary's hidden `serve-kubelet` subcommand), so its TLS and
//! HTTP serving is not counted; its CPU is printed separately. The client side of a scrape
//! (this process reading the response) is not counted either. A thread that ended between
//! two readings would take its time out of the sum: tokio's blocking thread stays 10 s when
//! idle and Go rarely ends threads, and the exporter's mean over the whole run (work between
//! scrapes included) is printed as a check on its per-scrape median.
//!
//! **The exporter** is started as a child on a free loopback port with its default
//! collectors and scraped as Prometheus does (`Accept-Encoding: gzip`), one warm-up scrape
//! first. It answers about this VM's kernel, not the fixture's, and does different work: the
//! ratio says what edgeward costs next to the exporter people already run, not which is faster.
//!
//! **RSS**: the real release agent binary on the fixture's config, sampling every second and
//! shipping to an in-process aggregator over mTLS; VmRSS and VmHWM once the aggregator stored
//! `--rss-cycles` samples. **Wire**: the first sample (everything due) and a steady one, each
//! as a 1-sample batch, and the increment per steady sample inside a 100-sample batch; raw
//! postcard payload and the zstd frame (`EncodeOptions::default()`). The fixture's `/proc` is
//! a static capture, so consecutive samples differ less than on a live host and compress
//! better.
//!
//! **The disk audit** writes on the filesystem of the fixture's directory (`--fixture-dir`,
//! default the system temp dir) and is `Skipped` when that filesystem would keep less than
//! max(10 %, 1 GiB) available; the first cycle then prints why. On tmpfs (`/dev/shm`) it runs,
//! but `fdatasync` costs nothing there.
//!
//! Run: `cargo build --release -p edgeward-agent && cargo run --release -p edgeward-devfleet
//! --bin edgeward-probe-bench` (`--release`: the cycle runs in this binary, and release is the
//! agent's shipped profile). `--quick` is a few cycles, for CI.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::{Parser, Subcommand};
use edgeward_agent::probe::{Probe, blank_sample};
use edgeward_devfleet::fixture_node::{self, FixtureNode, KubeletHost, NODE_NAME};
use edgeward_proto::{Sample, Section, Seq};

#[path = "probe_bench/report.rs"]
mod report;

/// Cost of one agent sampling cycle on a K3s server fixture, next to a node-exporter scrape.
#[derive(Debug, Parser)]
#[command(name = "edgeward-probe-bench")]
struct Args {
    /// Measured cycles, and as many exporter scrapes
    #[arg(long, default_value_t = 50)]
    cycles: usize,
    /// Unmeasured cycles and scrapes before them (the first cycle is printed on its own)
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// A few cycles only (5 measured, 1 warm-up, RSS after 5 cycles at 200ms), for CI
    #[arg(long)]
    quick: bool,
    /// Samples the release agent ships before its RSS is read
    #[arg(long, default_value_t = 20)]
    rss_cycles: u64,
    /// Skip the agent RSS (needs the release agent binary)
    #[arg(long)]
    no_rss: bool,
    /// The agent binary for RSS [default: edgeward-agent next to this binary]
    #[arg(long, value_name = "PATH")]
    agent: Option<PathBuf>,
    /// Where the fixture node's directory goes; the disk audit measures that filesystem
    /// [default: the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    fixture_dir: Option<PathBuf>,
    /// The exporter binary (Debian package prometheus-node-exporter)
    #[arg(long, value_name = "PATH", default_value = "prometheus-node-exporter")]
    exporter: PathBuf,
    #[command(subcommand)]
    internal: Option<Internal>,
}

#[derive(Debug, Subcommand)]
enum Internal {
    /// Serves the stand-in kubelet until stdin closes (the bench's own child)
    #[command(hide = true)]
    ServeKubelet,
}

/// On-CPU nanoseconds of every thread of `pid` ("self" for this process).
pub(crate) fn cpu_ns(pid: &str) -> anyhow::Result<u64> {
    let mut total = 0;
    let dir = format!("/proc/{pid}/task");
    for task in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let path = task?.path().join("schedstat");
        // A thread that ended since read_dir has no file any more: it counts nothing.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let first = text.split_whitespace().next().unwrap_or("0");
        total += first
            .parse::<u64>()
            .with_context(|| format!("{}: {text:?}", path.display()))?;
    }
    Ok(total)
}

/// One measured cycle or scrape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cost {
    pub wall: Duration,
    pub cpu: Duration,
}

/// Wall time of each probe in one cycle, by probe name.
type PerProbe = Vec<(&'static str, Duration)>;

/// The agent's probes on a current-thread runtime, cycle after cycle.
struct Cycles {
    runtime: tokio::runtime::Runtime,
    probes: Option<Vec<Box<dyn Probe>>>,
    seq: u64,
}

impl Cycles {
    fn new(node: &FixtureNode) -> anyhow::Result<Cycles> {
        use edgeward_agent::config::{self, Layer, Origin, Sourced};
        let config = config::load(config::Inputs {
            config_file: Some(Sourced::new(
                node.config_file(),
                Origin::Flag("--config".to_owned()),
            )),
            overrides: Layer {
                aggregator_url: edgeward_devfleet::fleet::src("https://127.0.0.1:1/"),
                ..Layer::default()
            },
            log_filter: None,
        })
        .context("the fixture's agent.toml")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let probes = edgeward_agent::default_probes(&config, runtime.handle().clone());
        Ok(Cycles {
            runtime,
            probes: Some(probes),
            seq: 0,
        })
    }

    /// One cycle: its cost, the time per probe, and the sample (with its seq).
    fn run(&mut self) -> anyhow::Result<(Cost, PerProbe, Sample)> {
        let mut probes = self.probes.take().context("a previous cycle failed")?;
        self.seq += 1;
        let seq = Seq(self.seq);
        let cycle = self.runtime.spawn_blocking(move || {
            let cpu0 = cpu_ns("self");
            let started = Instant::now();
            let mut sample = blank_sample(edgeward_runtime::clock::now());
            let mut per_probe = Vec::with_capacity(probes.len());
            for probe in &mut probes {
                let t = Instant::now();
                probe.observe(&mut sample);
                per_probe.push((probe.name(), t.elapsed()));
            }
            let wall = started.elapsed();
            let cpu1 = cpu_ns("self");
            sample.seq = seq;
            for probe in &mut probes {
                probe.appended(seq);
            }
            (probes, per_probe, sample, wall, cpu0, cpu1)
        });
        let (probes, per_probe, sample, wall, cpu0, cpu1) = self.runtime.block_on(cycle)?;
        self.probes = Some(probes);
        let cpu = Duration::from_nanos(cpu1?.saturating_sub(cpu0?));
        Ok((Cost { wall, cpu }, per_probe, sample))
    }
}

/// `prometheus-node-exporter` on a free loopback port; killed on drop.
struct Exporter {
    child: Child,
    addr: SocketAddr,
}

impl Exporter {
    fn start(program: &Path) -> anyhow::Result<Exporter> {
        let addr: SocketAddr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?
        };
        let spawned = Command::new(program)
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{} not found: install Debian's package prometheus-node-exporter \
                 (apt-get install prometheus-node-exporter) or pass --exporter PATH",
                program.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("starting {}", program.display())),
        };
        let mut exporter = Exporter { child, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = exporter.child.try_wait()? {
                bail!("{} exited at start: {status}", program.display());
            }
            ensure!(
                Instant::now() < deadline,
                "{} did not listen on {addr} within 10 s",
                program.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(exporter)
    }

    /// One scrape of `/metrics` as Prometheus asks for it; its cost and the body's bytes.
    fn scrape(&mut self) -> anyhow::Result<(Cost, usize)> {
        let pid = self.child.id().to_string();
        let cpu0 = cpu_ns(&pid)?;
        let started = Instant::now();
        let mut stream = TcpStream::connect(self.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nAccept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n\
             Accept-Encoding: gzip\r\nUser-Agent: Prometheus/2.42.0\r\nConnection: close\r\n\r\n",
            self.addr
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let wall = started.elapsed();
        let cpu = Duration::from_nanos(cpu_ns(&pid)?.saturating_sub(cpu0));
        ensure!(
            response.starts_with(b"HTTP/1.1 200"),
            "exporter answered {:?}",
            String::from_utf8_lossy(&response[..response.len().min(80)])
        );
        let body = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |i| response.len() - i - 4);
        Ok((Cost { wall, cpu }, body))
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The state of each section of a sample (Data, Unavailable, NotDue), for the printout.
fn states(s: &Sample) -> String {
    fn c<T>(s: &Section<T>) -> String {
        match s {
            Section::Data(_) => "Data".to_owned(),
            Section::Unavailable(u) => format!("Unavailable({:?})", u.reason),
            Section::NotDue { .. } => "NotDue".to_owned(),
        }
    }
    let audit = s
        .datastore
        .data()
        .map_or("-".to_owned(), |d| c(&d.disk_audit));
    format!(
        "kubelet {}, pressure {}, datastore {} (disk audit {audit}), inventory {}",
        c(&s.kubelet),
        c(&s.pressure),
        c(&s.datastore),
        c(&s.inventory)
    )
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(Internal::ServeKubelet) = args.internal {
        return Ok(fixture_node::serve_until_stdin_closes()?);
    }
    let interval = if args.quick {
        (args.cycles, args.warmup, args.rss_cycles) = (5, 1, 5);
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    };
    ensure!(
        args.cycles > 0 && args.warmup > 0,
        "--cycles and --warmup must be at least 1"
    );
    let started = Instant::now();
    let mut exporter = Exporter::start(&args.exporter)?;
    let mut kubelet = Command::new(std::env::current_exe()?);
    kubelet.arg("serve-kubelet");
    let parent = args.fixture_dir.clone().unwrap_or_else(std::env::temp_dir);
    let node =
        FixtureNode::start_in(&parent, KubeletHost::Child(kubelet)).context("fixture node")?;
    let mut cycles = Cycles::new(&node)?;

    let (first, first_probes, first_sample) = cycles.run()?;
    let mut scrape_bytes = exporter.scrape()?.1;
    for _ in 1..args.warmup {
        cycles.run()?;
        exporter.scrape()?;
    }
    let kubelet_pid = node.kubelet_pid().context("stand-in pid")?.to_string();
    let (kubelet0, exporter0) = (
        cpu_ns(&kubelet_pid)?,
        cpu_ns(&exporter.child.id().to_string())?,
    );
    let (mut agent, mut scrapes, mut steady) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_probe: Vec<(&'static str, Vec<Duration>)> = Vec::new();
    for _ in 0..args.cycles {
        let (cost, probes, sample) = cycles.run()?;
        agent.push(cost);
        for (i, (name, t)) in probes.into_iter().enumerate() {
            match per_probe.get_mut(i) {
                Some((_, v)) => v.push(t),
                None => per_probe.push((name, vec![t])),
            }
        }
        steady.push(sample);
        let (cost, bytes) = exporter.scrape()?;
        scrapes.push(cost);
        scrape_bytes = bytes;
    }
    let n = args.cycles as u64;
    let kubelet_cpu = Duration::from_nanos(cpu_ns(&kubelet_pid)?.saturating_sub(kubelet0) / n);
    let exporter_mean = Duration::from_nanos(
        cpu_ns(&exporter.child.id().to_string())?.saturating_sub(exporter0) / n,
    );
    drop(exporter);
    drop(cycles);

    let steady_states = steady.last().map(states).unwrap_or_default();
    report::header(args.cycles, args.warmup, &node, cfg!(debug_assertions));
    report::first_cycle(first, &first_probes, &first_sample);
    report::comparison(&report::Comparison {
        agent: &agent,
        exporter: &scrapes,
        per_probe: &per_probe,
        steady_states: &steady_states,
        kubelet_cpu,
        exporter_mean,
        scrape_bytes,
    });
    report::wire(&node, &first_sample, &steady)?;
    if !args.no_rss {
        let agent_bin = match args.agent.take() {
            Some(path) => path,
            None => std::env::current_exe()?.with_file_name("edgeward-agent"),
        };
        report::rss(&node, &agent_bin, args.rss_cycles, interval)?;
    }
    println!(
        "total run time {:.1} s (node {NODE_NAME})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
