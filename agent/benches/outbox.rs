//! Outbox benchmark: durable appends (one realistic synthetic sample per append, each flushed
//! to disk before it returns) and draining a one-day backlog (5,760 samples at a 15 s
//! interval) with `read_batch(1 MiB)` + `ack` until empty.
//!
//! Run: `cargo bench -p edgeward-agent --bench outbox`. A summary in samples/s (medians of
//! repeated runs) and the store's disk footprint are printed first; criterion's figures
//! follow. The outbox lives in a temporary directory under `$TMPDIR`; point `TMPDIR` at the
//! file system you care about (fsync cost dominates appends and differs a lot between an
//! SSD, an SD card and tmpfs).

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use edgeward_agent::buffer::{Outbox, OutboxConfig};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Sample, UnixMillis};
use tempfile::TempDir;

const BACKLOG: u64 = 5_760;
const READ_BYTES: usize = 1 << 20;
const T0: i64 = 1_763_683_200_000;

fn sample(node: &SyntheticNode, i: u64) -> Sample {
    node.sample(i + 1, UnixMillis(T0 + i as i64 * 15_000))
}

fn config(dir: &Path) -> OutboxConfig {
    OutboxConfig::new(dir.join("outbox"))
}

fn open(dir: &Path) -> Outbox {
    Outbox::open(&config(dir)).expect("open outbox").0
}

/// A closed outbox holding the backlog, to copy from.
fn template() -> TempDir {
    let tmp = TempDir::new().expect("temp dir");
    let ob = open(tmp.path());
    let node = SyntheticNode::new(7);
    for i in 0..BACKLOG {
        ob.append(sample(&node, i)).expect("append");
    }
    tmp
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// A fresh copy of the template, opened.
fn backlog(template: &Path) -> (TempDir, Outbox) {
    let tmp = TempDir::new().expect("temp dir");
    copy_dir(template, tmp.path());
    let ob = open(tmp.path());
    (tmp, ob)
}

/// Reads and acks until nothing is pending; returns the samples drained.
fn drain(ob: &Outbox) -> usize {
    let mut n = 0;
    loop {
        let p = ob.read_batch(READ_BYTES).expect("read");
        let Some(last) = p.samples.last() else {
            return n;
        };
        n += p.samples.len();
        let gaps: Vec<_> = p.gaps.iter().map(|(id, _)| *id).collect();
        ob.ack(last.seq, &gaps).expect("ack");
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn print_summary(template: &Path) {
    let tmp = TempDir::new().expect("temp dir");
    let ob = open(tmp.path());
    let node = SyntheticNode::new(7);
    let per_append: Vec<Duration> = (0..300)
        .map(|i| {
            let s = sample(&node, i);
            let t = Instant::now();
            ob.append(s).expect("append");
            t.elapsed()
        })
        .collect();
    let append = median(per_append);

    let mut drains = Vec::new();
    for _ in 0..5 {
        let (_tmp, ob) = backlog(template);
        let t = Instant::now();
        assert_eq!(drain(&ob), BACKLOG as usize);
        drains.push(t.elapsed());
    }
    let drain_t = median(drains);

    let (_tmp, ob) = backlog(template);
    let st = ob.stats();
    println!("\n== outbox (TMPDIR={}) ==", std::env::temp_dir().display());
    println!(
        "append + flush, one sample each:  {:>9.0} samples/s  ({:.2} ms per append, median of 300)",
        1.0 / append.as_secs_f64(),
        append.as_secs_f64() * 1e3
    );
    println!(
        "drain {BACKLOG} with read_batch(1 MiB) + ack: {:>9.0} samples/s  ({:.1} ms per drain, median of 5)",
        BACKLOG as f64 / drain_t.as_secs_f64(),
        drain_t.as_secs_f64() * 1e3
    );
    println!(
        "backlog of {BACKLOG}: {} payload bytes pending ({} per sample), {} bytes on disk",
        st.pending_bytes,
        st.pending_bytes / BACKLOG,
        dir_bytes(&template.join("outbox"))
    );
}

fn bench_append(c: &mut Criterion) {
    let tmp = TempDir::new().expect("temp dir");
    let ob = open(tmp.path());
    let node = SyntheticNode::new(7);
    let mut i = 0;
    let mut g = c.benchmark_group("outbox");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append_durable", |b| {
        b.iter(|| {
            i += 1;
            black_box(ob.append(sample(&node, i)).expect("append"))
        })
    });
    g.finish();
}

fn bench_drain(c: &mut Criterion, template: &Path) {
    let mut g = c.benchmark_group("outbox");
    g.throughput(Throughput::Elements(BACKLOG));
    g.sample_size(10);
    g.bench_function("drain_5760_read_1MiB_ack", |b| {
        b.iter_batched(
            || backlog(template),
            |(tmp, ob)| {
                black_box(drain(&ob));
                (tmp, ob)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(20)
}

fn main() {
    let template = template();
    print_summary(template.path());
    let mut c = criterion().configure_from_args();
    bench_append(&mut c);
    bench_drain(&mut c, template.path());
    c.final_summary();
}
