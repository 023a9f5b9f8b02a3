//! Tests of the store against real sled directories (tempfile), with synthetic nodes.

mod holes;
mod ingest;
mod open;
mod props;
mod queries;
mod retention;

use std::num::NonZeroU32;
use std::path::Path;

use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Batch, Bounded, GapReason, GapRecord, Seq, StreamId, UnixMillis};
use tempfile::TempDir;

use super::{SledStore, Store, StoreOptions};

/// The aggregator's clock in tests.
const T0: UnixMillis = UnixMillis(1_700_000_000_000);

fn options(history: u32) -> StoreOptions {
    StoreOptions {
        history_per_node: NonZeroU32::new(history).unwrap(),
        cache_bytes: 8 << 20,
    }
}

fn open_at(dir: &Path, history: u32) -> SledStore {
    SledStore::open(dir, options(history)).unwrap()
}

/// A fresh store keeping `history` samples per node.
fn store_with(history: u32) -> (TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_at(dir.path(), history);
    (dir, store)
}

fn store() -> (TempDir, SledStore) {
    store_with(StoreOptions::DEFAULT_HISTORY_PER_NODE.get())
}

fn sim(index: u32) -> SyntheticNode {
    SyntheticNode::new(index)
}

/// `n` samples of `node` from `first`, taken 15 s apart on a clock derived from the seq.
fn batch(node: &SyntheticNode, first: u64, n: u64) -> Batch {
    node.batch(first, n, UnixMillis(T0.0 + first as i64 * 15_000))
}

/// A batch of `node`'s current stream that carries only `gaps`.
fn gap_only(node: &SyntheticNode, seq: u64, gaps: Vec<GapRecord>) -> Batch {
    let mut b = batch(node, seq, 1);
    b.samples = Bounded::new();
    b.gaps = Bounded::try_from(gaps).unwrap();
    b.validate().unwrap();
    b
}

fn gap(stream: StreamId, first: u64, last: u64, reason: GapReason) -> GapRecord {
    GapRecord {
        stream,
        first_seq: Seq(first),
        last_seq: Seq(last),
        first_at: None,
        last_at: None,
        count: last - first + 1,
        reason,
    }
}

/// Every stored (stream, seq) of `node`, paging through `samples` with a small limit.
fn stored(store: &dyn Store, node: &SyntheticNode) -> Vec<(StreamId, u64)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.samples(&node.node, after, 7).unwrap();
        let Some(last) = page.last() else {
            return out;
        };
        after = Some((last.stream, last.sample.seq));
        out.extend(page.iter().map(|s| (s.stream, s.sample.seq.0)));
    }
}

/// The seqs of `node`'s own stream, `first..first + n`.
fn run(node: &SyntheticNode, first: u64, n: u64) -> Vec<(StreamId, u64)> {
    (first..first + n).map(|s| (node.stream, s)).collect()
}
