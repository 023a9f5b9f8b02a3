//! `edgeward-analysis-bench`: what the aggregator's fleet analysis costs at 10k and 100k nodes.
//!
//! For each fleet size it prints, measured in this run on this machine:
//! - **apply**: folding one batch (5 samples, the first with a full inventory) into the fleet
//!   state, the incremental work per batch; median over every batch of the build;
//! - **decode (baseline)**: decoding the same batch from its wire frame, which ingest does for
//!   every batch anyway; the ratio apply/decode says what the analysis adds to ingest;
//! - **full analysis**: `analyze` over the whole fleet (health, causes, drift, upgrade plan,
//!   report), median of `--runs`;
//! - **memory per node**: growth of this process's RSS while the fleet state was built,
//!   divided by the nodes (the encoded batches are dropped as they are applied).
//!
//! The fleet is `SyntheticNode`s (a K3s etcd server per node, clusters of 4), 15 s apart.
//! Build with `--release`; these machines are noisy, so medians are printed.

use std::time::{Duration, Instant};

use clap::Parser;
use edgeward_aggregator::analysis::{self, Fleet, Memory};
use edgeward_aggregator::policy::Policy;
use edgeward_proto::envelope::EncodeOptions;
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Limits, Section, UnixMillis};

#[derive(Debug, Parser)]
#[command(name = "edgeward-analysis-bench")]
struct Args {
    /// Fleet sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    nodes: Vec<u32>,
    /// Full analyses per size (median printed).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let policy = Policy::default();
    let limits = Limits::default();
    println!(
        "| nodes | apply / batch | decode / batch (baseline) | apply/decode | full analysis | findings | RSS / node |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &n in &args.nodes {
        let start = UnixMillis(1_795_000_000_000);
        let before = rss_kib();
        let mut fleet = Fleet::new();
        let mut apply = Vec::with_capacity(n as usize);
        let mut decode = Vec::with_capacity(n as usize);
        for i in 0..n {
            let node = SyntheticNode::new(i);
            let mut batch = node.batch(1, 5, start);
            let mut samples = std::mem::take(&mut batch.samples).into_vec();
            if let Some(first) = samples.first_mut() {
                first.inventory = Section::Data(node.inventory());
            }
            batch.samples = edgeward_proto::Bounded::try_from(samples)
                .map_err(|_| anyhow::anyhow!("5 samples fit a batch"))?;
            let frame = edgeward_proto::encode_batch(&batch, &EncodeOptions::default())?;
            drop(batch);
            let t = Instant::now();
            let decoded = edgeward_proto::decode_batch(&frame, &limits)?;
            decode.push(t.elapsed());
            let received = UnixMillis(start.0 + 75_000);
            let t = Instant::now();
            fleet.apply(&decoded, received);
            apply.push(t.elapsed());
        }
        let after = rss_kib();
        let now = UnixMillis(start.0 + 80_000);
        let mut runs = Vec::with_capacity(args.runs);
        let mut findings = 0;
        let mut memory = Memory::default();
        for _ in 0..args.runs.max(1) {
            let t = Instant::now();
            let a = analysis::analyze(&fleet, &policy, now, &mut memory);
            runs.push(t.elapsed());
            findings = a.findings.len();
        }
        let (apply, decode) = (median(apply), median(decode));
        println!(
            "| {n} | {:.1} µs | {:.1} µs | {:.2} | {:.0} ms | {findings} | {:.1} KiB |",
            apply.as_secs_f64() * 1e6,
            decode.as_secs_f64() * 1e6,
            apply.as_secs_f64() / decode.as_secs_f64().max(1e-9),
            median(runs).as_secs_f64() * 1e3,
            after.saturating_sub(before) as f64 / f64::from(n.max(1)),
        );
        drop(fleet);
    }
    Ok(())
}
