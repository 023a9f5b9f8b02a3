//! Corruption: damaged files on disk, damaged records, crashed opens. `open` must recover
//! (never panic, never refuse), moving the old directory aside and shipping the loss.

use std::fs;
use std::io::{Seek, SeekFrom, Write};

use edgeward_proto::{GapReason, Seq, StreamId};
use tempfile::tempdir;

use super::*;
use crate::buffer::open::sled_config;
use crate::buffer::record::{self, META_KEY, Meta, sample_key};
use crate::buffer::recovery::Evidence;
use crate::buffer::{KEEP_CORRUPT, MAX_UNFINISHED_OPENS, OutboxError, RecordKey, Recovery};

/// An outbox with samples 1..=20 appended and 1..=5 acked, closed again. Returns its stream.
fn used(c: &OutboxConfig) -> StreamId {
    let ob = open(c);
    fill(&ob, 0..20);
    let budget = (0..5).map(|i| size(i, i + 1)).sum::<u64>() as usize;
    assert_eq!(ob.read_batch(budget).unwrap().samples.len(), 5);
    ob.ack(Seq(5), &[]).unwrap();
    ob.stream()
}

/// Opens, expecting a recovery, and checks what every recovery must do.
fn recovers(c: &OutboxConfig, old: StreamId) -> (Outbox, Recovery) {
    let (ob, r) = Outbox::open(c).unwrap();
    let r = r.expect("corruption went unnoticed");
    assert!(r.moved_to.is_dir() || r.moved_to.is_file(), "{r:?}");
    let name = r.moved_to.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("outbox.corrupt-"), "{name}");
    assert_ne!(ob.stream(), old, "a recreated outbox needs a new stream");
    assert_eq!(ob.next_seq(), Seq(1));
    assert_eq!(r.gap.reason, GapReason::Corruption);
    assert_eq!(r.gap.stream, old);
    let p = ob.read_batch(1 << 20).unwrap();
    assert!(p.gaps.iter().any(|(_, g)| *g == r.gap), "gap not pending");
    assert_eq!(ob.stats().recovered_from_corruption, 1);
    assert!(
        !c.dir.with_file_name("outbox.opening").exists(),
        "marker left"
    );
    (ob, r)
}

/// When sled cannot read anything, the range comes from the state file: open-ended after
/// the last acked seq, counting at least the seqs known to be assigned.
fn assert_open_ended(r: &Recovery) {
    assert_eq!(r.gap.first_seq, Seq(6));
    assert_eq!(r.gap.last_seq, Seq(u64::MAX));
    assert!(r.gap.count >= 15, "{:?}", r.gap);
}

fn rewrite_db(c: &OutboxConfig, f: impl FnOnce(&mut fs::File, u64)) {
    let path = c.dir.join("db");
    let len = fs::metadata(&path).unwrap().len();
    let mut file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    f(&mut file, len);
    file.sync_all().unwrap();
}

#[test]
fn garbage_in_place_of_the_store_is_moved_aside_and_replaced_by_a_new_stream() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    rewrite_db(&c, |f, len| f.write_all(&vec![0x5A; len as usize]).unwrap());
    let (_, r) = recovers(&c, old);
    // sled reads a garbage log as an empty store; the state file tells otherwise.
    assert!(r.reason.contains("empty"), "{}", r.reason);
    assert_open_ended(&r);
}

#[test]
fn a_truncated_store_is_recovered() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    rewrite_db(&c, |f, len| f.set_len(len / 2).unwrap());
    let (_, r) = recovers(&c, old);
    // sled recovers a cut log to an older state; the state file shows it went back.
    assert!(r.reason.contains("went back"), "{}", r.reason);
    assert_open_ended(&r);
}

#[test]
fn an_emptied_store_file_is_recovered() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    rewrite_db(&c, |f, _| f.set_len(0).unwrap());
    recovers(&c, old);
}

#[test]
fn bytes_overwritten_in_the_middle_of_the_store_are_detected() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    rewrite_db(&c, |f, len| {
        f.seek(SeekFrom::Start(len / 4)).unwrap();
        f.write_all(&vec![0xA5; (len / 2) as usize]).unwrap();
    });
    let (_, r) = recovers(&c, old);
    assert_open_ended(&r);
}

#[test]
fn a_directory_replaced_by_a_file_is_recovered() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    fs::remove_dir_all(&c.dir).unwrap();
    fs::write(&c.dir, b"not a directory").unwrap();
    let (_, r) = recovers(&c, old);
    assert_open_ended(&r);
}

/// Runs `damage` on the closed outbox's sled tree directly.
fn damage_tree(c: &OutboxConfig, damage: impl FnOnce(&sled::Db)) {
    let db = sled_config(c).open().unwrap();
    damage(&db);
    db.flush().unwrap();
}

fn flip_a_byte(db: &sled::Db, key: &[u8]) {
    let mut v = db.get(key).unwrap().unwrap().to_vec();
    let last = v.len() - 1;
    v[last] ^= 0x01;
    db.insert(key, v).unwrap();
}

#[test]
fn a_record_failing_its_checksum_is_found_at_open_and_the_loss_is_exact() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 8 * size(0, 1));
    let ob = open(&c);
    let old = ob.stream();
    fill(&ob, 0..12); // drops the oldest few into a size-bound gap
    let pending = pending_seqs(&ob);
    let size_gap = gaps_of(&ob, GapReason::SizeBound).remove(0);
    drop(ob);
    damage_tree(&c, |db| flip_a_byte(db, &sample_key(Seq(pending[2]))));
    let (ob, r) = recovers(&c, old);
    assert!(r.reason.contains("checksum"), "{}", r.reason);
    assert_eq!(r.gap.first_seq, Seq(pending[0]));
    assert_eq!(r.gap.last_seq, Seq(12));
    assert_eq!(r.gap.count, pending.len() as u64);
    assert_eq!(r.gap.first_at, Some(sample(pending[0] - 1).at));
    assert_eq!(r.gap.last_at, Some(sample(11).at));
    assert_eq!(
        gaps_of(&ob, GapReason::SizeBound),
        [size_gap],
        "readable gap records are carried over"
    );
}

#[test]
fn a_missing_meta_record_is_corruption() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    damage_tree(&c, |db| {
        db.remove(META_KEY).unwrap();
    });
    let (_, r) = recovers(&c, old);
    assert_open_ended(&r);
}

#[test]
fn an_unknown_key_is_corruption() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    damage_tree(&c, |db| {
        db.insert(b"zz", b"?".to_vec()).unwrap();
    });
    let (_, r) = recovers(&c, old);
    assert_eq!(
        (r.gap.first_seq, r.gap.last_seq, r.gap.count),
        (Seq(6), Seq(20), 15)
    );
}

#[test]
fn two_unfinished_opens_in_a_row_move_the_outbox_aside_without_opening_it() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    let marker = c.dir.with_file_name("outbox.opening");
    fs::write(&marker, "2\n").unwrap();
    let (_, r) = recovers(&c, old);
    assert!(r.reason.contains("never finished"), "{}", r.reason);
    assert_open_ended(&r);
}

#[test]
fn one_unfinished_open_is_retried_and_the_backlog_kept() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    let marker = c.dir.with_file_name("outbox.opening");
    fs::write(&marker, "1\n").unwrap();
    let ob = open(&c);
    assert_eq!(ob.stream(), old);
    assert_eq!(pending_seqs(&ob).len(), 15);
    assert!(!marker.exists());
}

#[test]
fn at_most_three_corrupt_directories_are_kept() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    for old in [
        "outbox.corrupt-100",
        "outbox.corrupt-200-1",
        "outbox.corrupt-300",
    ] {
        fs::create_dir_all(tmp.path().join(old)).unwrap();
    }
    let old = used(&c);
    rewrite_db(&c, |f, _| f.set_len(0).unwrap());
    let (_, r) = recovers(&c, old);
    let mut left: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".corrupt-"))
        .collect();
    left.sort();
    assert_eq!(left.len(), KEEP_CORRUPT, "{left:?}");
    assert!(!left.contains(&"outbox.corrupt-100".to_owned()), "{left:?}");
    assert!(r.moved_to.exists());
}

#[test]
fn read_batch_reports_a_corrupt_record_and_recover_starts_a_new_stream() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let ob = open(&c);
    let old = ob.stream();
    fill(&ob, 0..6);
    let stale = ob.read_batch(1 << 20).unwrap();
    flip_a_byte(&ob.inner().db, &sample_key(Seq(2)));
    let err = ob.read_batch(1 << 20).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(matches!(
        err,
        OutboxError::Corrupt {
            key: RecordKey::Sample(Seq(2)),
            ..
        }
    ));

    let r = ob.recover(&err.to_string()).unwrap();
    assert_ne!(ob.stream(), old);
    assert_eq!(
        (r.gap.stream, r.gap.first_seq, r.gap.last_seq, r.gap.count),
        (old, Seq(1), Seq(6), 6)
    );
    assert!(r.moved_to.is_dir());
    fill(&ob, 6..9);
    ob.ack(stale.samples.last().unwrap().seq, &[]).unwrap();
    assert_eq!(
        pending_seqs(&ob),
        [1, 2, 3],
        "a stale ack deleted new samples"
    );
    drop(ob);
    let ob = open(&c);
    assert_eq!(ob.stats().recovered_from_corruption, 1);
    assert_eq!(pending_seqs(&ob), [1, 2, 3]);
}

#[test]
fn without_any_evidence_the_corruption_gap_is_open_ended_from_seq_1() {
    let g = Evidence::default().gap();
    assert_eq!(
        (g.stream, g.first_seq, g.last_seq, g.count),
        (StreamId(0), Seq(1), Seq(u64::MAX), 1)
    );
    assert_eq!(g.range_len().map(|l| g.count <= l), Some(true));
}

#[test]
fn exact_evidence_with_nothing_pending_names_one_unused_seq() {
    let e = Evidence {
        stream: Some(StreamId(9)),
        acked_through: Some(Seq(40)),
        next_seq: Some(Seq(41)),
        exact: true,
        ..Evidence::default()
    };
    let g = e.gap();
    assert_eq!((g.first_seq, g.last_seq, g.count), (Seq(41), Seq(41), 1));
}

#[test]
fn values_are_checksummed_and_a_flipped_bit_is_caught() {
    let v = record::seal(&sample(1), "sample").unwrap();
    assert!(record::open_sample(sample(1).seq, &v).is_ok());
    for i in 0..v.len() {
        let mut bad = v.clone();
        bad[i] ^= 0x10;
        assert!(
            record::checked(&bad).is_err(),
            "flip at byte {i} undetected"
        );
    }
}

#[test]
fn a_store_cut_back_behind_seqs_already_handed_out_is_corruption() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let ob = open(&c);
    let old = ob.stream();
    fill(&ob, 0..10);
    assert_eq!(ob.read_batch(1 << 20).unwrap().samples.len(), 10);
    drop(ob);
    // What sled shows after losing the tail of its log: an older, consistent state.
    damage_tree(&c, |db| {
        let mut meta: Meta = record::open(&db.get(META_KEY).unwrap().unwrap()).unwrap();
        meta.next_seq = Seq(6);
        db.insert(META_KEY, record::seal(&meta, "meta").unwrap())
            .unwrap();
        for seq in 6..=10 {
            db.remove(sample_key(Seq(seq))).unwrap();
        }
    });
    let (_, r) = recovers(&c, old);
    assert!(r.reason.contains("went back"), "{}", r.reason);
    assert_eq!((r.gap.first_seq, r.gap.last_seq), (Seq(1), Seq(u64::MAX)));
}

#[test]
fn an_open_that_fails_without_crashing_does_not_count_as_a_crashed_one() {
    let tmp = tempdir().unwrap();
    let c = cfg(tmp.path(), 1 << 20);
    let old = used(&c);
    let foreign = sled_config(&c).open().unwrap(); // holds sled's own lock
    for _ in 0..MAX_UNFINISHED_OPENS {
        let err = Outbox::open(&c).unwrap_err();
        assert!(matches!(err, OutboxError::Locked { .. }), "{err}");
    }
    drop(foreign);
    let ob = open(&c);
    assert_eq!(ob.stream(), old);
}
