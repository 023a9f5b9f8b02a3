//! Retention: at most `history_per_node` samples per node, oldest pruned on ingest.

use edgeward_proto::{GapReason, Seq, StreamId};

use super::*;

#[test]
fn retention_prunes_oldest_beyond_history_per_node() {
    let (_dir, store) = store_with(50);
    let node = sim(1);
    for first in (1..=100).step_by(10) {
        store.ingest(&batch(&node, first, 10), T0).unwrap();
    }
    assert_eq!(stored(&store, &node), run(&node, 51, 50));
    let summary = &store.nodes().unwrap()[0];
    assert_eq!(summary.samples, 50);
    assert_eq!(summary.latest.unwrap().seq, Seq(100));
    let history = &store.node(&node.node).unwrap().unwrap().history[0];
    assert_eq!(history.samples, 50);
    assert_eq!(history.oldest.unwrap().seq, Seq(51));
    assert_eq!(history.newest.unwrap().seq, Seq(100));
    assert_eq!(history.high_water, Some(Seq(100)));
}

#[test]
fn retention_counts_per_node_not_per_store() {
    let (_dir, store) = store_with(20);
    let (a, b) = (sim(1), sim(2));
    store.ingest(&batch(&a, 1, 20), T0).unwrap();
    store.ingest(&batch(&b, 1, 20), T0).unwrap();
    assert_eq!(stored(&store, &a).len(), 20);
    assert_eq!(store.stats().unwrap().samples, 40);
}

#[test]
fn a_batch_larger_than_the_history_keeps_its_newest_samples() {
    let (_dir, store) = store_with(10);
    let node = sim(1);
    let outcome = store.ingest(&batch(&node, 1, 25), T0).unwrap();
    assert_eq!(outcome.stored, 25, "accepted as new, then aged out");
    assert_eq!(outcome.acks[0].acked_through, Seq(25));
    assert_eq!(stored(&store, &node), run(&node, 16, 10));
}

#[test]
fn samples_older_than_retention_that_come_back_are_duplicates() {
    let (_dir, store) = store_with(10);
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    store.ingest(&batch(&node, 11, 10), T0).unwrap();
    let old = store.ingest(&batch(&node, 1, 10), T0).unwrap();
    assert_eq!((old.stored, old.duplicates), (0, 10));
    assert_eq!(old.acks[0].acked_through, Seq(10));
    assert_eq!(stored(&store, &node), run(&node, 11, 10));
}

#[test]
fn retention_across_streams_prunes_the_older_stream_first() {
    let (_dir, store) = store_with(15);
    let old = sim(1);
    store.ingest(&batch(&old, 1, 10), T0).unwrap();
    let mut new = old.clone();
    new.stream = StreamId(1); // sorts before the old stream by id, after it by arrival
    store.ingest(&batch(&new, 1, 10), T0).unwrap();
    let mut expected = run(&old, 6, 5);
    expected.extend(run(&new, 1, 10));
    assert_eq!(stored(&store, &old), expected);
    let history = store.node(&old.node).unwrap().unwrap().history;
    assert_eq!(
        history.iter().map(|h| h.samples).collect::<Vec<_>>(),
        [5, 10]
    );
}

#[test]
fn holes_and_gap_records_below_retention_are_dropped_with_the_samples() {
    let (_dir, store) = store_with(20);
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    let mut b = batch(&node, 21, 10); // hole 11..=20, explained
    b.gaps = vec![gap(node.stream, 11, 20, GapReason::SizeBound)]
        .try_into()
        .unwrap();
    store.ingest(&b, T0).unwrap();
    assert_eq!(store.stats().unwrap().holes, 1);
    store.ingest(&batch(&node, 31, 15), T0).unwrap(); // prunes 1..=10 and 21..=25
    let detail = store.node(&node.node).unwrap().unwrap();
    assert!(detail.holes.is_empty());
    assert!(detail.gap_records.is_empty());
    let stats = store.stats().unwrap();
    assert_eq!((stats.samples, stats.holes, stats.gap_records), (20, 0, 0));
    let resent = store
        .ingest(
            &gap_only(
                &node,
                46,
                vec![gap(node.stream, 11, 20, GapReason::SizeBound)],
            ),
            T0,
        )
        .unwrap();
    assert_eq!(
        resent.gap_records, 0,
        "older than the window: not stored again"
    );
}
