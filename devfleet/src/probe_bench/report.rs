//! `edgeward-probe-bench`'s figures that need more than a loop: the printout of the cycle
//! comparison, the wire bytes per sample, and the release agent's RSS.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use edgeward_agent::probe::{HostRoot, read_boot_id};
use edgeward_devfleet::fixture_node::{FixtureNode, NODE_NAME};
use edgeward_devfleet::fleet::aggregator_config;
use edgeward_devfleet::pki::{DevCa, Validity, write_tokens};
use edgeward_proto::bounded::Bounded;
use edgeward_proto::envelope::{EncodeOptions, read_header};
use edgeward_proto::{Batch, BatchHeader, NodeId, Sample, Section, Seq, StreamId, UnixMillis};

use super::{Cost, cpu_ns};

/// Nearest-rank percentile `p` (0..=1) of `values`.
fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
    v.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mean(values: &[Duration]) -> Duration {
    let n = u32::try_from(values.len()).unwrap_or(u32::MAX).max(1);
    values.iter().sum::<Duration>() / n
}

pub fn header(cycles: usize, warmup: usize, node: &FixtureNode, debug: bool) {
    let kine = node.kine();
    println!(
        "edgeward-probe-bench: fixture K3s server {NODE_NAME} (kine: {} rows, revision {}, compacted {}), \
         {cycles} measured cycles after {warmup} warm-up, each followed by one node-exporter scrape",
        kine.rows, kine.current_revision, kine.compacted_revision
    );
    if debug {
        println!("WARNING: debug build; run with --release for figures that mean anything");
    }
}

pub fn first_cycle(cost: Cost, per_probe: &[(&'static str, Duration)], sample: &Sample) {
    let probes: Vec<String> = per_probe
        .iter()
        .map(|(n, t)| format!("{n} {}", ms(*t)))
        .collect();
    println!(
        "first cycle (everything due): wall {}, CPU {} | {} | {}",
        ms(cost.wall),
        ms(cost.cpu),
        probes.join(", "),
        super::states(sample)
    );
    if let Some(d) = sample.datastore.data()
        && let Section::Unavailable(u) = &d.disk_audit
    {
        println!("  disk audit not run: {:?}: {}", u.reason, u.detail);
    }
}

/// What [`comparison`] prints.
pub struct Comparison<'a> {
    pub agent: &'a [Cost],
    pub exporter: &'a [Cost],
    pub per_probe: &'a [(&'static str, Vec<Duration>)],
    pub steady_states: &'a str,
    pub kubelet_cpu: Duration,
    pub exporter_mean: Duration,
    pub scrape_bytes: usize,
}

pub fn comparison(c: &Comparison<'_>) {
    let wall = |v: &[Cost]| v.iter().map(|c| c.wall).collect::<Vec<_>>();
    let cpu = |v: &[Cost]| v.iter().map(|c| c.cpu).collect::<Vec<_>>();
    let (aw, ac, ew, ec) = (
        wall(c.agent),
        cpu(c.agent),
        wall(c.exporter),
        cpu(c.exporter),
    );
    let (aw50, ac50, ew50, ec50) = (
        percentile(&aw, 0.5),
        percentile(&ac, 0.5),
        percentile(&ew, 0.5),
        percentile(&ec, 0.5),
    );
    println!(
        "agent cycle, steady state ({}): wall median {} p90 {} | CPU median {} mean {}",
        c.steady_states,
        ms(aw50),
        ms(percentile(&aw, 0.9)),
        ms(ac50),
        ms(mean(&ac))
    );
    let probes: Vec<String> = c
        .per_probe
        .iter()
        .map(|(n, v)| format!("{n} {}", ms(percentile(v, 0.5))))
        .collect();
    println!("  wall per probe, median: {}", probes.join(", "));
    println!(
        "  (stand-in kubelet, a child process, not counted above: {} CPU per cycle)",
        ms(c.kubelet_cpu)
    );
    println!(
        "node-exporter scrape ({} B gzip body): wall median {} p90 {} | CPU median {} \
         (mean over the run incl. work between scrapes {})",
        c.scrape_bytes,
        ms(ew50),
        ms(percentile(&ew, 0.9)),
        ms(ec50),
        ms(c.exporter_mean)
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "ratio agent cycle / exporter scrape: wall {:.2} (medians), CPU {:.2} (medians), {:.2} (means)",
        ratio(aw50, ew50),
        ratio(ac50, ec50),
        ratio(mean(&ac), c.exporter_mean)
    );
}

/// Bytes of `samples` as one batch: (raw postcard payload, zstd frame).
fn batch_bytes(samples: Vec<Sample>, boot: edgeward_proto::BootId) -> anyhow::Result<(u64, u64)> {
    let first_seq = samples.first().map_or(Seq(1), |s| s.seq);
    let last_seq = samples.last().map_or(Seq(1), |s| s.seq);
    let sent_at = samples.last().map_or(UnixMillis(0), |s| s.at);
    let batch = Batch {
        header: BatchHeader {
            protocol_version: edgeward_proto::PROTOCOL_VERSION,
            node: NodeId::new(NODE_NAME)?,
            cluster: None,
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            boot_id: boot,
            stream: StreamId(1),
            first_seq,
            last_seq,
            sent_at,
        },
        samples: Bounded::try_from(samples).map_err(|_| anyhow::anyhow!("too many samples"))?,
        gaps: Bounded::default(),
    };
    let frame = edgeward_proto::encode_batch(&batch, &EncodeOptions::default())?;
    let header = read_header(&frame)?;
    Ok((u64::from(header.raw_len), frame.len() as u64))
}

/// The first sample and a steady one as 1-sample batches, and the increment per steady sample
/// in a 100-sample batch (bytes of 100 minus bytes of 1, over 99).
pub fn wire(node: &FixtureNode, first: &Sample, steady: &[Sample]) -> anyhow::Result<()> {
    let boot = read_boot_id(&HostRoot::new(node.host_root()))?;
    let one = steady.last().context("no steady sample")?;
    let renumber = |s: &Sample, i: u64| Sample {
        seq: Seq(2 + i),
        at: UnixMillis(first.at.0 + 15_000 * (1 + i as i64)),
        ..s.clone()
    };
    let (first_raw, first_framed) = batch_bytes(vec![first.clone()], boot)?;
    let (one_raw, one_framed) = batch_bytes(vec![renumber(one, 0)], boot)?;
    let hundred: Vec<Sample> = (0..100u64)
        .zip(steady.iter().cycle())
        .map(|(i, s)| renumber(s, i))
        .collect();
    let (h_raw, h_framed) = batch_bytes(hundred, boot)?;
    println!("wire bytes (raw postcard payload / zstd frame as shipped):");
    println!("  first sample (everything due), 1-sample batch: {first_raw} B / {first_framed} B");
    println!(
        "  steady sample (as in the cycles above), 1-sample batch: {one_raw} B / {one_framed} B \
         (upper bound per sample: nothing shared with other samples)"
    );
    println!(
        "  steady sample inside a 100-sample batch, per sample: {:.0} B / {:.0} B (whole batch {h_raw} B / \
         {h_framed} B; lower bound: the fixture's /proc is a static capture, so these samples differ only \
         in seq, time and a few live figures (statvfs, ages), and zstd removes the rest)",
        (h_raw.saturating_sub(one_raw)) as f64 / 99.0,
        (h_framed as f64 - one_framed as f64) / 99.0
    );
    Ok(())
}

/// VmRSS and VmHWM of the release agent on the fixture, once `cycles` samples were stored.
pub fn rss(
    node: &FixtureNode,
    agent: &Path,
    cycles: u64,
    interval: Duration,
) -> anyhow::Result<()> {
    ensure!(
        agent.exists(),
        "{} not found: build it first (cargo build --release -p edgeward-agent), or pass --no-rss",
        agent.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("edgeward-probe-bench-")
        .tempdir()?;
    let root = dir.path();
    let ca = DevCa::create(root, "edgeward probe bench CA", "ca")?;
    let server = ca.server(root, "server")?;
    let client = ca.node(NODE_NAME, Validity::Current, root, "node")?;
    let tokens = write_tokens(root, "unused", [NodeId::new(NODE_NAME)?])?;
    let config = aggregator_config(
        "127.0.0.1:0",
        &root.join("aggregator"),
        &server,
        &ca.cert_file,
        &tokens.table,
        None,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let bound = edgeward_aggregator::bind(&config).await?;
        let url = format!("https://127.0.0.1:{}/", bound.local_addr().port());
        let store = bound.store();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        let mut child = tokio::process::Command::new(agent)
            .arg("--config")
            .arg(node.config_file())
            .args(["--aggregator-url", &url, "--interval", &humantime::format_duration(interval).to_string()])
            .arg("--data-dir")
            .arg(root.join("agent"))
            .arg("--tls-ca-file")
            .arg(&ca.cert_file)
            .arg("--tls-client-cert")
            .arg(&client.cert)
            .arg("--tls-client-key")
            .arg(&client.key)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", agent.display()))?;
        let pid = child.id().context("agent pid")?;
        let id = NodeId::new(NODE_NAME)?;
        let deadline = Instant::now() + interval * u32::try_from(cycles)? + Duration::from_secs(60);
        let stored = loop {
            let n = store.node(&id)?.map_or(0, |d| d.history.iter().map(|h| h.samples).sum::<u64>());
            if n >= cycles {
                break n;
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the agent exited: {status}");
            }
            ensure!(Instant::now() < deadline, "the aggregator stored only {n} of {cycles} samples");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let cpu = Duration::from_nanos(cpu_ns(&pid.to_string())?);
        child.kill().await?;
        let _ = stop.send(());
        println!(
            "release agent on the fixture, {stored} samples shipped at {}: VmRSS {} KiB, VmHWM {} KiB, \
             CPU {} per cycle incl. outbox, shipping and start-up",
            humantime::format_duration(interval),
            field("VmRSS:"),
            field("VmHWM:"),
            ms(cpu / u32::try_from(stored)?.max(1))
        );
        anyhow::Ok(())
    })
}
