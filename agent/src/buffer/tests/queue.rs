//! Append, read, ack, the byte bound and the size-bound gap record.

use edgeward_proto::{GapReason, Seq, StreamId};
use tempfile::tempdir;

use super::*;
use crate::buffer::{Appended, OutboxError};

#[test]
fn appended_samples_come_back_oldest_first_with_seqs_from_1() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    for i in 0..5 {
        let mut s = sample(i);
        s.seq = Seq(999);
        let a = ob.append(s).unwrap();
        assert_eq!(
            a,
            Appended {
                seq: Seq(i + 1),
                dropped: 0
            }
        );
    }
    let p = ob.read_batch(1 << 20).unwrap();
    let seqs: Vec<u64> = p.samples.iter().map(|s| s.seq.0).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let mut want = sample(2);
    want.seq = Seq(3);
    assert_eq!(
        p.samples[2], want,
        "stored sample differs from the appended one"
    );
    assert_eq!(p.stream, ob.stream());
    assert!(p.gaps.is_empty());
}

#[test]
fn appended_samples_survive_reopen_and_the_stream_stays() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let ob = open(&c);
    let stream = ob.stream();
    assert_ne!(stream, StreamId(0));
    fill(&ob, 0..3);
    drop(ob);
    let ob = open(&c);
    assert_eq!(ob.stream(), stream);
    assert_eq!(pending_seqs(&ob), [1, 2, 3]);
    assert_eq!(ob.next_seq(), Seq(4));
}

#[test]
fn seq_keeps_increasing_across_reopen_after_everything_was_acked() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let ob = open(&c);
    fill(&ob, 0..4);
    let p = ob.read_batch(1 << 20).unwrap();
    ob.ack(Seq(4), &[]).unwrap();
    assert_eq!(p.samples.len(), 4);
    assert_eq!(ob.stats().pending_samples, 0);
    drop(ob);
    let ob = open(&c);
    assert_eq!(ob.next_seq(), Seq(5));
    assert_eq!(ob.append(sample(9)).unwrap().seq, Seq(5));
}

#[test]
fn fresh_outboxes_get_different_random_streams() {
    let (a, b) = (tempdir().unwrap(), tempdir().unwrap());
    let s1 = open(&cfg(a.path(), 1 << 20)).stream();
    let s2 = open(&cfg(b.path(), 1 << 20)).stream();
    assert_ne!(s1, s2);
}

#[test]
fn read_batch_stays_within_max_bytes_but_returns_at_least_one_sample() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    fill(&ob, 0..10);
    let one = ob.read_batch(0).unwrap();
    assert_eq!(one.samples.len(), 1);
    assert_eq!(one.bytes as u64, size(0, 1));
    let budget = (size(0, 1) + size(1, 2) + size(2, 3)) as usize;
    let three = ob.read_batch(budget).unwrap();
    assert_eq!(three.samples.len(), 3);
    assert!(three.bytes <= budget);
    let short = ob.read_batch(budget - 1).unwrap();
    assert_eq!(short.samples.len(), 2);
    assert_eq!(pending_seqs(&ob).len(), 10, "reading removed something");
}

#[test]
fn ack_deletes_through_the_seq_and_nothing_newer() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    fill(&ob, 0..6);
    ob.read_batch(1 << 20).unwrap();
    ob.ack(Seq(4), &[]).unwrap();
    assert_eq!(pending_seqs(&ob), [5, 6]);
    let st = ob.stats();
    assert_eq!(st.oldest_pending_seq, Some(Seq(5)));
    assert_eq!(st.newest_pending_seq, Some(Seq(6)));
    assert_eq!(st.pending_bytes, size(4, 5) + size(5, 6));
}

#[test]
fn ack_never_deletes_samples_that_were_not_handed_out() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    fill(&ob, 0..6);
    ob.ack(Seq(6), &[]).unwrap();
    assert_eq!(pending_seqs(&ob).len(), 6, "acked without a read");
    let budget = (size(0, 1) + size(1, 2)) as usize;
    ob.read_batch(budget).unwrap();
    ob.ack(Seq(6), &[]).unwrap();
    assert_eq!(pending_seqs(&ob), [3, 4, 5, 6]);
}

#[test]
fn a_batch_read_before_reopen_is_not_acked_by_the_new_handle() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let ob = open(&c);
    fill(&ob, 0..3);
    ob.read_batch(1 << 20).unwrap();
    drop(ob);
    let ob = open(&c);
    ob.ack(Seq(3), &[]).unwrap();
    assert_eq!(pending_seqs(&ob), [1, 2, 3], "resent rather than acked");
}

/// Fills an outbox bounded to `n` typical samples with `total` samples.
fn overfill(tmp: &Path, n: u64, total: u64) -> Outbox {
    let ob = open(&cfg(tmp, n * size(0, 1) + n));
    fill(&ob, 0..total);
    ob
}

#[test]
fn full_outbox_drops_the_oldest_and_records_them_in_one_size_bound_gap() {
    let tmp = tempdir().unwrap();
    let ob = overfill(tmp.path(), 5, 12);
    let seqs = pending_seqs(&ob);
    assert_eq!(*seqs.last().unwrap(), 12);
    let gaps = gaps_of(&ob, GapReason::SizeBound);
    assert_eq!(
        gaps.len(),
        1,
        "contiguous drops extend one record: {gaps:?}"
    );
    let g = &gaps[0];
    assert_eq!((g.first_seq, g.last_seq), (Seq(1), Seq(seqs[0] - 1)));
    assert_eq!(g.count, seqs[0] - 1);
    assert_eq!(g.stream, ob.stream());
    assert_eq!(g.first_at, Some(sample(0).at));
    assert_eq!(g.last_at, Some(sample(seqs[0] - 2).at));
    let st = ob.stats();
    assert_eq!(st.dropped_total, g.count);
    assert!(st.pending_bytes <= st.max_bytes);
    assert_eq!(st.pending_gaps, 1);
}

#[test]
fn pending_bytes_never_exceed_the_bound() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 3 * size(0, 1) + 100));
    let mut dropped = 0;
    for i in 0..20 {
        dropped += ob.append(sample(i)).unwrap().dropped;
        let st = ob.stats();
        assert!(st.pending_bytes <= st.max_bytes, "{st:?}");
        let real: u64 = pending_seqs(&ob).len() as u64;
        assert_eq!(real, st.pending_samples);
    }
    assert_eq!(dropped + ob.stats().pending_samples, 20);
}

#[test]
fn a_sample_larger_than_the_bound_is_refused_and_changes_nothing() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), size(0, 1) + 10));
    fill(&ob, 0..1);
    let mut big = sample(1);
    big.pressure = edgeward_proto::Section::unavailable(
        edgeward_proto::UnavailableReason::Failed,
        "x".repeat(4_000),
    );
    let before = ob.stats();
    let err = ob.append(big).unwrap_err();
    assert!(matches!(err, OutboxError::SampleTooLarge { .. }), "{err}");
    assert_eq!(ob.stats(), before);
    assert_eq!(ob.append(sample(2)).unwrap().seq, Seq(2));
}

#[test]
fn drops_after_an_ack_start_a_new_gap_record() {
    let tmp = tempdir().unwrap();
    let ob = overfill(tmp.path(), 4, 8);
    let p = ob.read_batch(1 << 20).unwrap();
    let last = p.samples.last().unwrap().seq;
    let ids: Vec<_> = p.gaps.iter().map(|(id, _)| *id).collect();
    ob.ack(last, &ids).unwrap();
    assert!(gaps_of(&ob, GapReason::SizeBound).is_empty());
    fill(&ob, 8..14);
    let gaps = gaps_of(&ob, GapReason::SizeBound);
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].first_seq, Seq(last.0 + 1), "{gaps:?}");
}

#[test]
fn a_gap_is_returned_by_every_read_until_it_is_acked() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 3 * size(0, 1) + 3);
    let ob = open(&c);
    fill(&ob, 0..6);
    let a = ob.read_batch(0).unwrap();
    let b = ob.read_batch(0).unwrap();
    assert_eq!(a.gaps.len(), 1);
    assert_eq!(a.gaps, b.gaps);
    drop(ob);
    let ob = open(&c);
    let after = ob.read_batch(0).unwrap();
    assert_eq!(after.gaps[0].1, a.gaps[0].1, "gap lost on reopen");
    ob.ack(Seq(0), &[after.gaps[0].0]).unwrap();
    assert!(ob.read_batch(0).unwrap().gaps.is_empty());
}

#[test]
fn acking_a_gap_extended_since_it_was_read_leaves_the_extension_pending() {
    let tmp = tempdir().unwrap();
    let ob = overfill(tmp.path(), 3, 6);
    let p = ob.read_batch(0).unwrap();
    let (id, shipped) = p.gaps[0].clone();
    fill(&ob, 6..8); // drops two more, extending the record
    let extended = gaps_of(&ob, GapReason::SizeBound).remove(0);
    let more = extended.count - shipped.count;
    assert!(more >= 2, "{extended:?}");
    ob.ack(Seq(0), &[id]).unwrap();
    let rest = gaps_of(&ob, GapReason::SizeBound);
    assert_eq!(rest.len(), 1);
    let r = &rest[0];
    assert_eq!(r.first_seq, Seq(shipped.last_seq.0 + 1));
    assert_eq!(r.last_seq, extended.last_seq);
    assert_eq!(r.count, more);
    assert_eq!(r.first_at, Some(sample(shipped.last_seq.0).at));
    // The same snapshot acked again changes nothing.
    ob.ack(Seq(0), &[id]).unwrap();
    assert_eq!(gaps_of(&ob, GapReason::SizeBound), rest);
}

#[test]
fn a_second_handle_on_the_same_directory_is_locked_out() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let _ob = open(&c);
    let err = Outbox::open(&c).unwrap_err();
    assert!(matches!(err, OutboxError::Locked { .. }), "{err}");
}

#[test]
fn a_zero_byte_bound_is_refused() {
    let tmp = tempdir().unwrap();
    let err = Outbox::open(&cfg(tmp.path(), 0)).unwrap_err();
    assert!(matches!(err, OutboxError::ZeroBound), "{err}");
}

#[test]
fn clones_share_one_outbox() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 1 << 20));
    let other = ob.clone();
    let t = std::thread::spawn(move || other.append(sample(1)).unwrap().seq);
    let mine = ob.append(sample(2)).unwrap().seq;
    let theirs = t.join().unwrap();
    assert_ne!(mine, theirs);
    assert_eq!(ob.stats().pending_samples, 2);
}

#[test]
fn outbox_handles_can_move_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Outbox>();
}

#[test]
fn samples_dropped_while_their_batch_was_in_flight_are_not_reported_lost_once_acked() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 4 * size(0, 1) + 100));
    for i in 0..4 {
        ob.append(sample(i)).unwrap();
    }
    // Seqs 1..=4 are in flight; two more appends drop 1 and 2 for space meanwhile.
    let in_flight = ob.read_batch(1 << 20).unwrap();
    assert_eq!(in_flight.samples.len(), 4);
    assert_eq!(ob.append(sample(4)).unwrap().dropped, 1);
    assert_eq!(ob.append(sample(5)).unwrap().dropped, 1);
    assert_eq!(gaps_of(&ob, GapReason::SizeBound)[0].count, 2);
    // The aggregator stored the whole batch: 1 and 2 were not lost after all.
    ob.ack(Seq(4), &[]).unwrap();
    assert!(
        gaps_of(&ob, GapReason::SizeBound).is_empty(),
        "delivered samples reported lost: {:?}",
        gaps_of(&ob, GapReason::SizeBound)
    );
    assert_eq!(pending_seqs(&ob), vec![5, 6]);
}

#[test]
fn drops_beyond_the_acknowledged_seq_stay_reported() {
    let tmp = tempdir().unwrap();
    let ob = open(&cfg(tmp.path(), 4 * size(0, 1) + 100));
    for i in 0..4 {
        ob.append(sample(i)).unwrap();
    }
    let _in_flight = ob.read_batch(1 << 20).unwrap();
    for i in 4..7 {
        ob.append(sample(i)).unwrap();
    }
    // 1, 2, 3 dropped in flight; the aggregator acknowledged only through 2.
    ob.ack(Seq(2), &[]).unwrap();
    let gaps = gaps_of(&ob, GapReason::SizeBound);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].first_seq, gaps[0].last_seq, gaps[0].count),
        (Seq(3), Seq(3), 1)
    );
}
