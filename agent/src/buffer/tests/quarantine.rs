//! Quarantine: refused batches leave the queue for a bounded area, and their loss ships.

use edgeward_proto::{GapReason, Seq};
use tempfile::tempdir;

use super::*;
use crate::buffer::{OutboxError, QuarantinedItem};

#[test]
fn quarantine_moves_the_batch_aside_and_records_a_rejected_gap() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    fill(&ob, 0..5);
    let budget = (size(0, 1) + size(1, 2) + size(2, 3)) as usize;
    let p = ob.read_batch(budget).unwrap();
    assert_eq!(p.samples.len(), 3);
    ob.quarantine(&p, "schema says no").unwrap();

    assert_eq!(pending_seqs(&ob), [4, 5]);
    let gaps = gaps_of(&ob, GapReason::RejectedByAggregator);
    assert_eq!(gaps.len(), 1);
    let g = &gaps[0];
    assert_eq!((g.first_seq, g.last_seq, g.count), (Seq(1), Seq(3), 3));
    assert_eq!(
        (g.first_at, g.last_at),
        (Some(sample(0).at), Some(sample(2).at))
    );
    let st = ob.stats();
    assert_eq!(st.quarantined_batches_total, 1);
    assert_eq!(st.quarantined_samples_total, 3);
    assert_eq!(st.oldest_pending_seq, Some(Seq(4)));

    let q = ob.read_quarantine(1 << 20).unwrap();
    assert_eq!(q.len(), 3);
    assert!(
        q.iter()
            .all(|i| i.batch == 1 && i.detail == "schema says no")
    );
    assert!(matches!(&q[0].item, QuarantinedItem::Sample(s) if s.seq == Seq(1)));
    // The next batch carries the loss, and the gap never overlaps its samples.
    let next = ob.read_batch(1 << 20).unwrap();
    assert_eq!(next.gaps.len(), 1);
    assert_eq!(next.samples[0].seq, Seq(4));
}

#[test]
fn quarantine_keeps_the_gap_records_of_the_batch_for_inspection() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 3 * size(0, 1) + 3));
    fill(&ob, 0..6);
    let p = ob.read_batch(0).unwrap();
    assert_eq!(p.gaps.len(), 1);
    ob.quarantine(&p, "bad gap").unwrap();
    assert!(gaps_of(&ob, GapReason::SizeBound).is_empty());
    let q = ob.read_quarantine(1 << 20).unwrap();
    assert!(
        q.iter()
            .any(|i| i.item == QuarantinedItem::Gap(p.gaps[0].1.clone()))
    );
}

#[test]
fn quarantine_is_bounded_and_evicts_the_oldest_items_first() {
    let tmp = tempdir().unwrap();
    // Quarantine holds max_bytes / 4: room for two samples and a gap record.
    let ob = open(&cfg(tmp.path(), 9 * size(0, 1)));
    fill(&ob, 0..8);
    for _ in 0..3 {
        let p = ob.read_batch(2 * size(0, 1) as usize + 50).unwrap();
        ob.quarantine(&p, "no").unwrap();
        let st = ob.stats();
        assert!(st.quarantine_bytes <= st.max_bytes / 4, "{st:?}");
    }
    // The third batch: two samples and the rejected gap record of the second.
    let q = ob.read_quarantine(1 << 20).unwrap();
    assert!(
        q.iter().all(|i| i.batch == 3),
        "older batches evicted first"
    );
    let seqs: Vec<Seq> = q
        .iter()
        .filter_map(|i| match &i.item {
            QuarantinedItem::Sample(s) => Some(s.seq),
            QuarantinedItem::Gap(_) => None,
        })
        .collect();
    assert_eq!(seqs, [Seq(5), Seq(6)]);
    assert_eq!(ob.stats().quarantined_samples_total, 6);
    // Each batch carried the previous batch's rejected gap record into quarantine with it.
    let left = gaps_of(&ob, GapReason::RejectedByAggregator);
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].first_seq, left[0].last_seq), (Seq(5), Seq(6)));
}

#[test]
fn quarantine_of_a_batch_from_a_replaced_stream_is_refused() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    fill(&ob, 0..3);
    let p = ob.read_batch(1 << 20).unwrap();
    ob.recover("test").unwrap();
    fill(&ob, 3..6);
    let err = ob.quarantine(&p, "late").unwrap_err();
    assert!(matches!(err, OutboxError::StaleBatch { .. }), "{err}");
    assert_eq!(pending_seqs(&ob), [1, 2, 3]);
}

#[test]
fn quarantine_detail_is_clipped() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    fill(&ob, 0..1);
    let p = ob.read_batch(1 << 20).unwrap();
    ob.quarantine(&p, &"é".repeat(1_000)).unwrap();
    let q = ob.read_quarantine(1 << 20).unwrap();
    assert!(q[0].detail.len() <= crate::buffer::MAX_DETAIL);
    assert!(!q[0].detail.is_empty());
}
