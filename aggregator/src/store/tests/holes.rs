//! Sequence holes: opened, filled, explained.

use edgeward_proto::{GapReason, Seq, StreamId, UnixMillis};

use super::*;
use crate::store::SeqHole;

fn holes(store: &SledStore, node: &SyntheticNode) -> Vec<SeqHole> {
    store.node(&node.node).unwrap().unwrap().holes
}

fn range(h: &SeqHole) -> (u64, u64) {
    (h.first_seq.0, h.last_seq.0)
}

#[test]
fn gapped_batch_creates_a_visible_hole() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    let later = UnixMillis(T0.0 + 60_000);
    let outcome = store.ingest(&batch(&node, 21, 5), later).unwrap();
    assert_eq!(
        outcome.acks[0].acked_through,
        Seq(25),
        "what arrived is durable"
    );
    assert_eq!(outcome.holes.len(), 1);
    let hole = &outcome.holes[0];
    assert_eq!((hole.stream, range(hole)), (node.stream, (11, 20)));
    assert_eq!(hole.first_seen, later);
    assert!(!hole.is_explained());
    assert_eq!(hole.unexplained, 10);
    assert_eq!(holes(&store, &node), outcome.holes);
    let summary = &store.nodes().unwrap()[0];
    assert_eq!(summary.holes, 1);
}

#[test]
fn seqs_skipped_inside_one_batch_open_a_hole_too() {
    let (_dir, store) = store();
    let node = sim(1);
    let mut b = batch(&node, 1, 10);
    let kept: Vec<_> = b.samples.iter().filter(|s| s.seq.0 != 4).cloned().collect();
    b.samples = kept.try_into().unwrap();
    let outcome = store.ingest(&b, T0).unwrap();
    assert_eq!(
        outcome.holes.iter().map(range).collect::<Vec<_>>(),
        [(4, 4)]
    );
}

#[test]
fn out_of_order_batch_fills_a_hole() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    store.ingest(&batch(&node, 31, 10), T0).unwrap(); // hole 11..=30
    let middle = store.ingest(&batch(&node, 16, 5), T0).unwrap();
    assert_eq!((middle.stored, middle.duplicates), (5, 0));
    assert!(middle.holes.is_empty(), "filling opens nothing");
    let split: Vec<_> = holes(&store, &node).iter().map(range).collect();
    assert_eq!(split, [(11, 15), (21, 30)]);
    assert!(holes(&store, &node).iter().all(|h| h.first_seen == T0));

    store.ingest(&batch(&node, 11, 3), T0).unwrap();
    store.ingest(&batch(&node, 25, 6), T0).unwrap();
    let shrunk: Vec<_> = holes(&store, &node).iter().map(range).collect();
    assert_eq!(shrunk, [(14, 15), (21, 24)]);

    store.ingest(&batch(&node, 11, 20), T0).unwrap();
    assert!(holes(&store, &node).is_empty());
    assert_eq!(store.stats().unwrap().holes, 0);
    assert_eq!(stored(&store, &node), run(&node, 1, 40));
}

#[test]
fn hole_covered_by_agent_gap_record_is_marked_explained() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    // The agent dropped 11..=20 (size bound) and says so in the batch that skips them.
    let mut b = batch(&node, 21, 5);
    let lost = gap(node.stream, 11, 20, GapReason::SizeBound);
    b.gaps = vec![lost].try_into().unwrap();
    let outcome = store.ingest(&b, T0).unwrap();
    let hole = &outcome.holes[0];
    assert!(hole.is_explained());
    assert_eq!(hole.explaining_gaps, 1);
    assert_eq!(hole.explained_by[0].reason, GapReason::SizeBound);
    assert_eq!(
        (
            hole.explained_by[0].first_seq,
            hole.explained_by[0].last_seq
        ),
        (Seq(11), Seq(20))
    );
}

#[test]
fn gap_records_arriving_after_the_hole_explain_it_piece_by_piece() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    store.ingest(&batch(&node, 21, 5), T0).unwrap(); // hole 11..=20
    let first_half = gap(node.stream, 11, 15, GapReason::SizeBound);
    store
        .ingest(&gap_only(&node, 26, vec![first_half]), T0)
        .unwrap();
    assert_eq!(holes(&store, &node)[0].unexplained, 5);
    let second_half = gap(node.stream, 16, 20, GapReason::RejectedByAggregator);
    store
        .ingest(&gap_only(&node, 27, vec![second_half]), T0)
        .unwrap();
    let hole = &holes(&store, &node)[0];
    assert!(hole.is_explained());
    assert_eq!(hole.explaining_gaps, 2);
}

#[test]
fn gap_record_of_another_stream_does_not_explain_a_hole() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    let mut b = batch(&node, 21, 5);
    b.gaps = vec![gap(StreamId(99), 11, 20, GapReason::Corruption)]
        .try_into()
        .unwrap();
    let outcome = store.ingest(&b, T0).unwrap();
    assert_eq!(outcome.holes[0].unexplained, 10);
    assert!(outcome.holes[0].explained_by.is_empty());
}

#[test]
fn filling_part_of_an_explained_hole_keeps_the_rest_explained() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    let mut b = batch(&node, 21, 5);
    b.gaps = vec![gap(node.stream, 11, 15, GapReason::SizeBound)]
        .try_into()
        .unwrap();
    store.ingest(&b, T0).unwrap();
    store.ingest(&batch(&node, 16, 5), T0).unwrap(); // the unexplained part arrives late
    let left = holes(&store, &node);
    assert_eq!(left.iter().map(range).collect::<Vec<_>>(), [(11, 15)]);
    assert!(left[0].is_explained());
}
