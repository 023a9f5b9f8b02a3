//! Exactly-once ingest, acks, streams, registry, durability.

use std::sync::Arc;

use edgeward_proto::reply::StreamAck;
use edgeward_proto::{ClusterId, GapReason, Seq, StreamId, UnixMillis};

use super::*;

#[test]
fn a_new_batch_is_stored_and_acked_through_its_last_seq() {
    let (_dir, store) = store();
    let node = sim(1);
    let outcome = store.ingest(&batch(&node, 1, 10), T0).unwrap();
    assert_eq!(outcome.stored, 10);
    assert_eq!(outcome.duplicates, 0);
    assert_eq!(
        outcome.acks,
        vec![StreamAck {
            stream: node.stream,
            acked_through: Seq(10)
        }]
    );
    assert!(outcome.holes.is_empty());
    assert_eq!(stored(&store, &node), run(&node, 1, 10));
}

#[test]
fn duplicate_batch_is_acknowledged_and_not_stored_twice() {
    let (_dir, store) = store();
    let node = sim(1);
    let b = batch(&node, 1, 10);
    let first = store.ingest(&b, T0).unwrap();
    let again = store.ingest(&b, UnixMillis(T0.0 + 5)).unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 10));
    assert_eq!(again.acks, first.acks);
    assert_eq!(stored(&store, &node), run(&node, 1, 10));
    assert_eq!(store.stats().unwrap().samples, 10);
}

#[test]
fn overlapping_batch_stores_only_the_samples_it_adds() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    let outcome = store.ingest(&batch(&node, 6, 10), T0).unwrap();
    assert_eq!((outcome.stored, outcome.duplicates), (5, 5));
    assert_eq!(outcome.acks[0].acked_through, Seq(15));
    assert_eq!(stored(&store, &node), run(&node, 1, 15));
}

#[test]
fn concurrent_ingest_of_the_same_batch_from_8_threads_stores_it_once() {
    let (_dir, store) = store();
    let store = Arc::new(store);
    let node = sim(3);
    store.ingest(&batch(&node, 1, 5), T0).unwrap();
    // Seqs 6..=10 are missing, so every thread also races on filling the same hole.
    let b = Arc::new(batch(&node, 11, 200));
    let late = Arc::new(batch(&node, 6, 5));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (store, b, late) = (store.clone(), b.clone(), late.clone());
            std::thread::spawn(move || {
                let first = store.ingest(if i % 2 == 0 { &b } else { &late }, T0);
                let second = store.ingest(if i % 2 == 0 { &late } else { &b }, T0);
                (first.unwrap(), second.unwrap())
            })
        })
        .collect();
    let outcomes: Vec<_> = threads
        .into_iter()
        .flat_map(|t| {
            let (a, b) = t.join().unwrap();
            [a, b]
        })
        .collect();
    let stored_total: u64 = outcomes.iter().map(|o| o.stored).sum();
    let duplicates: u64 = outcomes.iter().map(|o| o.duplicates).sum();
    assert_eq!(stored_total, 205);
    assert_eq!(duplicates, 8 * 205 - 205);
    assert_eq!(stored(&*store, &node), run(&node, 1, 210));
    let stats = store.stats().unwrap();
    assert_eq!((stats.samples, stats.holes), (210, 0));
}

#[test]
fn nodes_ingesting_in_parallel_keep_their_samples_apart() {
    let (_dir, store) = store();
    let store: Arc<dyn Store> = Arc::new(store);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                let node = sim(i);
                for first in (1..100).step_by(20) {
                    store.ingest(&batch(&node, first, 20), T0).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for i in 0..4 {
        let node = sim(i);
        assert_eq!(stored(&*store, &node), run(&node, 1, 100), "node {i}");
    }
}

#[test]
fn new_stream_after_corruption_starts_fresh_hwm() {
    let (_dir, store) = store();
    let old = sim(1);
    store.ingest(&batch(&old, 1, 100), T0).unwrap();
    // The recreated outbox restarts its seqs; a smaller stream id must not sort it first.
    let mut new = old.clone();
    new.stream = StreamId(3);
    let outcome = store.ingest(&batch(&new, 1, 10), T0).unwrap();
    assert_eq!((outcome.stored, outcome.duplicates), (10, 0));
    assert!(outcome.holes.is_empty(), "a stream's start is no hole");
    assert_eq!(outcome.acks[0].stream, StreamId(3));
    let mut expected = run(&old, 1, 100);
    expected.extend(run(&new, 1, 10));
    assert_eq!(stored(&store, &old), expected);
    let detail = store.node(&old.node).unwrap().unwrap();
    assert_eq!(detail.registry.current_stream, StreamId(3));
    assert_eq!(detail.latest.unwrap().stream, StreamId(3));
    assert_eq!(detail.history.len(), 2);
}

#[test]
fn gap_only_batch_acks_the_stream_hwm_or_nothing_when_unknown() {
    let (_dir, store) = store();
    let node = sim(1);
    let lost = gap(node.stream, 1, 4, GapReason::SizeBound);
    let unknown = store
        .ingest(&gap_only(&node, 5, vec![lost.clone()]), T0)
        .unwrap();
    assert!(unknown.acks.is_empty());
    assert_eq!(unknown.gap_records, 1);
    store.ingest(&batch(&node, 5, 10), T0).unwrap();
    let other = gap(node.stream, 20, 20, GapReason::Corruption);
    let known = store.ingest(&gap_only(&node, 20, vec![other]), T0).unwrap();
    assert_eq!(known.acks[0].acked_through, Seq(14));
}

#[test]
fn agent_gap_record_is_stored_once_even_when_re_sent() {
    let (_dir, store) = store();
    let node = sim(1);
    let lost = gap(node.stream, 1, 4, GapReason::SizeBound);
    let mut b = batch(&node, 5, 3);
    b.gaps = vec![lost.clone(), lost.clone()].try_into().unwrap();
    assert_eq!(store.ingest(&b, T0).unwrap().gap_records, 1);
    assert_eq!(store.ingest(&b, T0).unwrap().gap_records, 0);
    let same_range_other_reason = gap(node.stream, 1, 4, GapReason::Corruption);
    let outcome = store
        .ingest(
            &gap_only(&node, 8, vec![lost.clone(), same_range_other_reason]),
            T0,
        )
        .unwrap();
    assert_eq!(outcome.gap_records, 1);
    let detail = store.node(&node.node).unwrap().unwrap();
    assert_eq!(detail.gap_records.len(), 2);
    assert_eq!(detail.gap_records[0].record, lost);
    assert_eq!(detail.gap_records[0].received_at, T0);
    assert_eq!(store.stats().unwrap().gap_records, 2);
}

#[test]
fn registry_follows_the_latest_batch_and_keeps_a_known_cluster() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 2), T0).unwrap();
    let mut upgraded = batch(&node, 3, 2);
    upgraded.header.cluster = None;
    upgraded.header.agent_version = "9.9.9".to_owned();
    store.ingest(&upgraded, UnixMillis(T0.0 + 1_000)).unwrap();
    let detail = store.node(&node.node).unwrap().unwrap();
    let r = detail.registry;
    assert_eq!(
        r.cluster,
        Some(ClusterId::new(node.cluster.as_str()).unwrap())
    );
    assert_eq!(r.agent_version, "9.9.9");
    assert_eq!((r.first_seen, r.last_seen), (T0, UnixMillis(T0.0 + 1_000)));
    assert_eq!(r.last_sent_at, upgraded.header.sent_at);
    assert_eq!(r.boot_id, node.boot_id);
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let node = sim(1);
    {
        let store = open_at(dir.path(), 100);
        store.ingest(&batch(&node, 1, 10), T0).unwrap();
        store.ingest(&batch(&node, 15, 5), T0).unwrap();
        let b = gap_only(
            &node,
            20,
            vec![gap(node.stream, 11, 12, GapReason::SizeBound)],
        );
        store.ingest(&b, T0).unwrap();
    }
    let store = open_at(dir.path(), 100);
    let mut expected = run(&node, 1, 10);
    expected.extend(run(&node, 15, 5));
    assert_eq!(stored(&store, &node), expected);
    let again = store.ingest(&batch(&node, 1, 19), T0).unwrap();
    assert_eq!((again.stored, again.duplicates), (4, 15));
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.nodes, stats.samples, stats.gap_records, stats.holes),
        (1, 19, 1, 0)
    );
}
