//! `edgeward-bench`: pipeline figures measured on this machine, each printed next to a
//! baseline measured in the same run.
//!
//! - ingest: samples/s through HTTPS + decode + store from many concurrent simulated nodes
//!   (the agent's real uplink), next to the store alone ingesting the same batches;
//! - drain: time to ship a 24-hour backlog (5,760 samples at 15 s) over loopback, next to the
//!   time it took to append that backlog durably;
//! - agent RSS after 1,000 samples: the real release agent binary sampling this host.
//!
//! Client and server share this machine's cores; figures are medians of `--runs` runs.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use edgeward_agent::buffer::{Outbox, OutboxConfig};
use edgeward_agent::config::{ClientAuth, Tls};
use edgeward_agent::uplink::ship::{Identity, ShipOptions};
use edgeward_agent::uplink::{Delivery, Uplink};
use edgeward_aggregator::store::{SledStore, Store, StoreOptions};
use edgeward_devfleet::fleet::aggregator_config;
use edgeward_devfleet::pki::{CertFiles, DevCa, TokenFiles, Validity, write_tokens};
use edgeward_proto::envelope::EncodeOptions;
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{NodeId, UnixMillis};

/// edgeward pipeline benchmarks (ingest, backlog drain, agent RSS).
#[derive(Debug, Parser)]
#[command(name = "edgeward-bench")]
struct Args {
    /// Concurrent simulated nodes for the ingest benchmark
    #[arg(long, default_value_t = 64)]
    nodes: u32,
    /// Seconds per ingest run
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Runs per figure (the median is reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Skip the agent RSS measurement (needs the release agent binary)
    #[arg(long)]
    no_rss: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ca: PathBuf,
    server: CertFiles,
    tokens: TokenFiles,
}

fn fixture(nodes: u32) -> anyhow::Result<Fixture> {
    let dir = tempfile::Builder::new()
        .prefix("edgeward-bench-")
        .tempdir()?;
    let root = dir.path().to_owned();
    let ca = DevCa::create(&root, "edgeward bench CA", "ca")?;
    let server = ca.server(&root, "server")?;
    ca.node("bench-agent", Validity::Current, &root, "agent")?;
    let tokens = write_tokens(
        &root,
        "bench-token",
        (0..nodes).map(|i| SyntheticNode::new(i).node),
    )?;
    Ok(Fixture {
        ca: ca.cert_file.clone(),
        server,
        tokens,
        root,
        _dir: dir,
    })
}

async fn aggregator(
    fx: &Fixture,
    data: &Path,
) -> anyhow::Result<(String, Arc<dyn Store>, tokio::sync::oneshot::Sender<()>)> {
    let config = aggregator_config(
        "127.0.0.1:0",
        data,
        &fx.server,
        &fx.ca,
        &fx.tokens.table,
        None,
    )?;
    let bound = edgeward_aggregator::bind(&config).await?;
    let url = format!("https://127.0.0.1:{}/", bound.local_addr().port());
    let store = bound.store();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async move {
        let _ = rx.await;
    }));
    Ok((url, store, tx))
}

fn token_uplink(fx: &Fixture, url: &str, node: &NodeId) -> anyhow::Result<Uplink> {
    let tls = Tls {
        ca_file: Some(fx.ca.clone()),
        client_auth: Some(ClientAuth::Token {
            file: fx.tokens.of(node),
        }),
    };
    Ok(Uplink::new(
        &url::Url::parse(url)?,
        &tls,
        Duration::from_secs(30),
    )?)
}

/// Samples/s accepted over HTTPS from `nodes` concurrent nodes sending `per_batch` samples.
async fn ingest_https(fx: &Fixture, nodes: u32, per_batch: u64, secs: u64) -> anyhow::Result<f64> {
    let data = fx
        .root
        .join(format!("agg-{per_batch}-{}", std::process::id()));
    let (url, _store, stop) = aggregator(fx, &data).await?;
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..nodes {
        let sim = SyntheticNode::new(i);
        let uplink = token_uplink(fx, &url, &sim.node)?;
        let accepted = Arc::clone(&accepted);
        tasks.spawn(async move {
            let mut seq = 1;
            while Instant::now() < deadline {
                let batch = sim.batch(
                    seq,
                    per_batch,
                    UnixMillis(1_700_000_000_000 + seq as i64 * 15_000),
                );
                let Ok(frame) = edgeward_proto::encode_batch(&batch, &EncodeOptions::default())
                else {
                    return;
                };
                if let Delivery::Accepted(_) = uplink.send(frame).await {
                    accepted.fetch_add(per_batch, Ordering::Relaxed);
                    seq += per_batch;
                }
            }
        });
    }
    let started = Instant::now();
    while tasks.join_next().await.is_some() {}
    let rate = accepted.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = std::fs::remove_dir_all(&data);
    Ok(rate)
}

/// Samples/s of the store alone on the same batches, one thread, no HTTP, TLS or decode.
fn ingest_store_only(fx: &Fixture, nodes: u32, per_batch: u64, secs: u64) -> anyhow::Result<f64> {
    let data = fx.root.join(format!("store-{per_batch}"));
    let store = SledStore::open(&data, StoreOptions::default())?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut stored = 0u64;
    let sims: Vec<_> = (0..nodes).map(SyntheticNode::new).collect();
    let mut seq = 1;
    'outer: loop {
        for sim in &sims {
            if Instant::now() >= deadline {
                break 'outer;
            }
            let batch = sim.batch(
                seq,
                per_batch,
                UnixMillis(1_700_000_000_000 + seq as i64 * 15_000),
            );
            stored += store.ingest(&batch, UnixMillis(0))?.stored;
        }
        seq += per_batch;
    }
    let rate = stored as f64 / started.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_dir_all(&data);
    Ok(rate)
}

/// (append seconds, drain seconds) for a 5,760-sample backlog, shipped in batches of at most
/// 1 MiB of samples (two batches).
async fn drain(fx: &Fixture, run: usize) -> anyhow::Result<(f64, f64)> {
    const BACKLOG: u64 = 5_760;
    let sim = SyntheticNode::new(0);
    let outbox_dir = fx.root.join(format!("drain-outbox-{run}"));
    let cfg = OutboxConfig::new(&outbox_dir);
    let (outbox, _) = Outbox::open(&cfg)?;
    let started = Instant::now();
    for seq in 1..=BACKLOG {
        outbox.append(sim.sample(seq, UnixMillis(1_700_000_000_000 + seq as i64 * 15_000)))?;
    }
    let append_secs = started.elapsed().as_secs_f64();

    let data = fx.root.join(format!("drain-agg-{run}"));
    let (url, store, stop) = aggregator(fx, &data).await?;
    let uplink = token_uplink(fx, &url, &sim.node)?;
    let identity = Identity {
        node: sim.node.clone(),
        cluster: Some(sim.cluster.clone()),
        boot_id: sim.boot_id,
    };
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = outbox.clone();
    let started = Instant::now();
    let ship = tokio::spawn(edgeward_agent::uplink::ship::run(
        outbox.clone(),
        uplink,
        identity,
        ShipOptions {
            max_batch_bytes: 1 << 20,
            backoff_max: Duration::from_secs(1),
        },
        Arc::new(tokio::sync::Notify::new()),
        async move {
            let _ = done_rx.await;
        },
    ));
    while watcher.stats().pending_samples > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let drain_secs = started.elapsed().as_secs_f64();
    let _ = done_tx.send(());
    ship.await?;
    let stored = store
        .node(&sim.node)?
        .map(|d| d.history.iter().map(|h| h.samples).sum::<u64>())
        .unwrap_or(0);
    anyhow::ensure!(
        stored == BACKLOG,
        "drain stored {stored} of {BACKLOG} samples"
    );
    let _ = stop.send(());
    drop(outbox);
    let _ = std::fs::remove_dir_all(&outbox_dir);
    Ok((append_secs, drain_secs))
}

/// VmRSS and VmHWM (KiB) of the real agent binary after it shipped 1,000 samples.
async fn agent_rss(fx: &Fixture) -> anyhow::Result<(u64, u64, f64)> {
    let exe = std::env::current_exe()?;
    let agent = exe.with_file_name("edgeward-agent");
    anyhow::ensure!(
        agent.exists(),
        "{} not found: build it first (cargo build --release -p edgeward-agent)",
        agent.display()
    );
    let data = fx.root.join("rss-agg");
    let (url, store, stop) = aggregator(fx, &data).await?;
    let mut child = tokio::process::Command::new(&agent)
        .args([
            "--aggregator-url",
            &url,
            "--node-name",
            "bench-agent",
            "--interval",
            "100ms",
        ])
        .arg("--data-dir")
        .arg(fx.root.join("rss-agent"))
        .arg("--tls-ca-file")
        .arg(&fx.ca)
        .arg("--tls-client-cert")
        .arg(fx.root.join("agent.crt"))
        .arg("--tls-client-key")
        .arg(fx.root.join("agent.key"))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", agent.display()))?;
    let pid = child.id().context("agent pid")?;
    let node = NodeId::new("bench-agent")?;
    let started = Instant::now();
    loop {
        let n = store
            .node(&node)?
            .map(|d| d.history.iter().map(|h| h.samples).sum::<u64>())
            .unwrap_or(0);
        if n >= 1_000 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "agent stored only {n} samples"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (rss, hwm) = (field("VmRSS:"), field("VmHWM:"));
    let cpu = cpu_seconds(pid).unwrap_or(f64::NAN);
    child.kill().await?;
    let _ = stop.send(());
    Ok((rss, hwm, cpu))
}

/// User + system CPU seconds of `pid` from /proc/<pid>/stat.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let fx = fixture(args.nodes)?;
        println!("edgeward-bench: {} nodes, {} s per run, median of {} runs", args.nodes, args.seconds, args.runs);
        for per_batch in [1u64, 100] {
            let mut https = Vec::new();
            let mut alone = Vec::new();
            for _ in 0..args.runs {
                https.push(ingest_https(&fx, args.nodes, per_batch, args.seconds).await?);
                let fx_ref = &fx;
                alone.push(tokio::task::block_in_place(|| ingest_store_only(fx_ref, args.nodes, per_batch, args.seconds))?);
            }
            let (h, a) = (median(https), median(alone));
            println!(
                "ingest {per_batch:>3} sample(s)/batch: {h:>9.0} samples/s over HTTPS from {} nodes | store alone {a:>9.0} samples/s | ratio {:.2}",
                args.nodes,
                h / a
            );
        }
        let mut appends = Vec::new();
        let mut drains = Vec::new();
        for run in 0..args.runs {
            let (a, d) = drain(&fx, run).await?;
            appends.push(a);
            drains.push(d);
        }
        let (a, d) = (median(appends), median(drains));
        println!(
            "backlog of 5,760 samples (24 h at 15 s): drained over loopback HTTPS in {d:.2} s | appending it durably took {a:.2} s ({:.0} appends/s) | ratio {:.2}",
            5_760.0 / a,
            d / a
        );
        if !args.no_rss {
            match agent_rss(&fx).await {
                Ok((rss, hwm, cpu)) => println!(
                    "agent after 1,000 samples at 100 ms: VmRSS {rss} KiB, VmHWM {hwm} KiB, CPU {cpu:.2} s ({:.2} ms per sample cycle incl. shipping)",
                    cpu * 1000.0 / 1000.0
                ),
                Err(e) => println!("agent RSS: skipped: {e:#}"),
            }
        }
        anyhow::Ok(())
    })
}
