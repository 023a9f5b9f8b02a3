//! Wire benchmark: encode/decode throughput for one typical sample and a 1,000-sample batch,
//! wire bytes beside JSON of the same data, and bytes + CPU of each compression choice.
//!
//! Run: `cargo bench -p edgeward-proto --bench wire`. The size/compression table is printed
//! first (medians of repeated runs); criterion's throughput figures follow.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use edgeward_proto::envelope::{EncodeOptions, Limits};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Batch, Sample, Section, UnixMillis, decode_batch, encode_batch};
use std::hint::black_box;
use std::time::{Duration, Instant};

const T0: UnixMillis = UnixMillis(1_763_683_200_000);

fn typical_sample() -> Sample {
    SyntheticNode::new(7).sample(5_000, T0)
}

fn batch_1000() -> Batch {
    let node = SyntheticNode::new(7);
    let mut batch = node.batch(5_000, 1_000, T0);
    // One inventory per ~4 h at 15 s: about one in 1,000 samples carries it.
    let mut samples = batch.samples.into_vec();
    samples[0].inventory = Section::Data(node.inventory());
    batch.samples = samples.try_into().unwrap_or_default();
    batch
}

/// Median wall time of `runs` calls.
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn print_sizes() {
    let sample = typical_sample();
    let node = SyntheticNode::new(7);
    let mut with_inv = sample.clone();
    with_inv.inventory = Section::Data(node.inventory());
    let batch = batch_1000();
    let postcard = |v: &dyn erased::Ser| v.postcard();
    let json = |v: &dyn erased::Ser| v.json();

    println!("\n== bytes per message (postcard payload vs JSON of the same data) ==");
    println!(
        "{:<44} {:>10} {:>10} {:>7}",
        "message", "postcard", "json", "ratio"
    );
    for (name, v) in [
        ("typical sample (steady state)", &sample as &dyn erased::Ser),
        ("sample with inventory", &with_inv),
        ("batch of 1,000 samples (1 with inventory)", &batch),
    ] {
        let (p, j) = (postcard(v).len(), json(v).len());
        println!("{name:<44} {p:>10} {j:>10} {:>6.1}x", j as f64 / p as f64);
    }

    let raw = postcard(&batch);
    let json_raw = json(&batch);
    println!(
        "\n== compressing the 1,000-sample batch ({} bytes postcard, {} bytes JSON); median of 15 runs ==",
        raw.len(),
        json_raw.len()
    );
    println!(
        "{:<26} {:>10} {:>8} {:>12} {:>12}",
        "codec", "bytes", "ratio", "compress", "decompress"
    );
    let row = |name: &str, out: Vec<u8>, c: Duration, d: Duration, input: usize| {
        println!(
            "{name:<26} {:>10} {:>7.1}x {:>9.0} µs {:>9.0} µs",
            out.len(),
            input as f64 / out.len() as f64,
            c.as_secs_f64() * 1e6,
            d.as_secs_f64() * 1e6
        );
    };
    row(
        "none (postcard)",
        raw.clone(),
        Duration::ZERO,
        Duration::ZERO,
        raw.len(),
    );
    for level in [1, 3, 9, 19] {
        let out = zstd::bulk::compress(&raw, level).unwrap();
        let c = median(15, || zstd::bulk::compress(&raw, level).unwrap());
        let d = median(15, || zstd::bulk::decompress(&out, raw.len()).unwrap());
        row(&format!("zstd -{level}"), out, c, d, raw.len());
    }
    let out = lz4_flex::compress_prepend_size(&raw);
    let c = median(15, || lz4_flex::compress_prepend_size(&raw));
    let d = median(15, || lz4_flex::decompress_size_prepended(&out).unwrap());
    row("lz4_flex", out, c, d, raw.len());
    let out = zstd::bulk::compress(&json_raw, 3).unwrap();
    let c = median(15, || zstd::bulk::compress(&json_raw, 3).unwrap());
    let d = median(15, || zstd::bulk::decompress(&out, json_raw.len()).unwrap());
    row("JSON + zstd -3", out, c, d, raw.len());

    let framed = encode_batch(&batch, &EncodeOptions::default()).unwrap();
    println!(
        "\nframed batch as shipped (envelope + zstd -3): {} bytes = {:.0} bytes/sample",
        framed.len(),
        framed.len() as f64 / 1_000.0
    );
    let one = node.batch(5_000, 1, T0);
    let single = encode_batch(&one, &EncodeOptions::default()).unwrap();
    let plain = encode_batch(&one, &EncodeOptions::UNCOMPRESSED).unwrap();
    println!(
        "framed batch of one typical sample (the steady state): {} bytes as shipped, {} uncompressed\n",
        single.len(),
        plain.len()
    );
}

/// Object-safe serialisation so the size table can list different message types.
mod erased {
    pub trait Ser {
        fn postcard(&self) -> Vec<u8>;
        fn json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn postcard(&self) -> Vec<u8> {
            postcard::to_allocvec(self).unwrap()
        }
        fn json(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap()
        }
    }
}

fn bench_sample(c: &mut Criterion) {
    let sample = typical_sample();
    let bytes = postcard::to_allocvec(&sample).unwrap();
    let json = serde_json::to_vec(&sample).unwrap();
    let mut g = c.benchmark_group("sample");
    g.throughput(Throughput::Elements(1));
    g.bench_function("postcard_encode", |b| {
        b.iter(|| postcard::to_allocvec(black_box(&sample)).unwrap())
    });
    g.bench_function("postcard_decode", |b| {
        b.iter(|| postcard::from_bytes::<Sample>(black_box(&bytes)).unwrap())
    });
    g.bench_function("json_encode", |b| {
        b.iter(|| serde_json::to_vec(black_box(&sample)).unwrap())
    });
    g.bench_function("json_decode", |b| {
        b.iter(|| serde_json::from_slice::<Sample>(black_box(&json)).unwrap())
    });
    g.finish();
}

fn bench_batch(c: &mut Criterion) {
    let batch = batch_1000();
    let limits = Limits::default();
    let json = serde_json::to_vec(&batch).unwrap();
    let mut g = c.benchmark_group("batch_1000");
    g.throughput(Throughput::Elements(1_000));
    for (name, opts) in [
        ("uncompressed", EncodeOptions::UNCOMPRESSED),
        ("zstd3", EncodeOptions::default()),
    ] {
        let frame = encode_batch(&batch, &opts).unwrap();
        g.bench_with_input(BenchmarkId::new("encode", name), &opts, |b, o| {
            b.iter(|| encode_batch(black_box(&batch), o).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("decode", name), &frame, |b, f| {
            b.iter(|| decode_batch(black_box(f), &limits).unwrap())
        });
    }
    g.bench_function("json_encode", |b| {
        b.iter(|| serde_json::to_vec(black_box(&batch)).unwrap())
    });
    g.bench_function("json_decode", |b| {
        b.iter(|| serde_json::from_slice::<Batch>(black_box(&json)).unwrap())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = bench_sample, bench_batch }

fn main() {
    print_sizes();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
