//! The key layout of the embedded store: one sled tree, partitioned by a tag byte.
//!
//! ```text
//! M "schema"                                      → u32 schema version (postcard)
//! N node 0x00                                     → NodeRecord: registry, streams, counters
//! S node 0x00 ordinal:u32be seq:u64be             → Sample (postcard)
//! H node 0x00 stream:u64be first:u64be            → HoleRecord (a sequence hole)
//! G node 0x00 stream:u64be first:u64be last:u64be reason:u8 → GapValue (agent gap record)
//! ```
//!
//! Invariants:
//! - A `NodeId` never contains 0x00 (RFC 1123 characters only), so `node 0x00` is
//!   prefix-free: a scan of one node's prefix never reaches a node whose name extends it,
//!   and nodes list in name order.
//! - Numbers are big-endian, so byte order is numeric order. Samples sort by
//!   (stream ordinal, seq): the ordinal numbers a node's streams in order of first arrival
//!   (`NodeRecord::streams`), so the oldest stored sample of a node is its first `S` key.
//! - Gap keys contain everything that identifies a gap record (stream, range, reason), so an
//!   identical record re-sent lands on the same key and is stored once.
//! - Changing this layout or any stored record bumps [`SCHEMA_VERSION`].

use edgeward_proto::{GapReason, GapRecord, NodeId, Seq, StreamId};

use super::view::GapRef;

/// The on-disk layout version this build reads and writes.
pub(super) const SCHEMA_VERSION: u32 = 1;

pub(super) const NODE: u8 = b'N';
pub(super) const SAMPLE: u8 = b'S';
pub(super) const HOLE: u8 = b'H';
pub(super) const GAP: u8 = b'G';

/// The key of the schema version.
pub(super) const SCHEMA: &[u8] = b"Mschema";

/// `tag node 0x00`: the prefix of every key of `node` under `tag`.
pub(super) fn node_prefix(tag: u8, node: &NodeId) -> Vec<u8> {
    let name = node.as_str().as_bytes();
    let mut key = Vec::with_capacity(name.len() + 2 + 17);
    key.push(tag);
    key.extend_from_slice(name);
    key.push(0);
    key
}

/// The registry record of `node`.
pub(super) fn node_key(node: &NodeId) -> Vec<u8> {
    node_prefix(NODE, node)
}

/// The prefix of all samples of one stream (by ordinal) of `node`.
pub(super) fn sample_stream_prefix(node: &NodeId, ordinal: u32) -> Vec<u8> {
    let mut key = node_prefix(SAMPLE, node);
    key.extend_from_slice(&ordinal.to_be_bytes());
    key
}

/// The key of one sample.
pub(super) fn sample_key(node: &NodeId, ordinal: u32, seq: Seq) -> Vec<u8> {
    let mut key = sample_stream_prefix(node, ordinal);
    key.extend_from_slice(&seq.0.to_be_bytes());
    key
}

/// (ordinal, seq) of a sample key; `None` when the key is too short to be one.
pub(super) fn parse_sample_key(key: &[u8]) -> Option<(u32, Seq)> {
    let tail = key.len().checked_sub(12).and_then(|at| key.get(at..))?;
    let (ordinal, seq) = tail.split_at(4);
    Some((
        u32::from_be_bytes(ordinal.try_into().ok()?),
        Seq(u64::from_be_bytes(seq.try_into().ok()?)),
    ))
}

/// The prefix of all holes (or, with `tag = GAP`, gap records) of one stream of `node`.
pub(super) fn stream_prefix(tag: u8, node: &NodeId, stream: StreamId) -> Vec<u8> {
    let mut key = node_prefix(tag, node);
    key.extend_from_slice(&stream.0.to_be_bytes());
    key
}

/// The key of the hole of `stream` that starts at `first`.
pub(super) fn hole_key(node: &NodeId, stream: StreamId, first: Seq) -> Vec<u8> {
    let mut key = stream_prefix(HOLE, node, stream);
    key.extend_from_slice(&first.0.to_be_bytes());
    key
}

/// (stream, first seq) of a hole key.
pub(super) fn parse_hole_key(key: &[u8]) -> Option<(StreamId, Seq)> {
    let tail = key.len().checked_sub(16).and_then(|at| key.get(at..))?;
    let stream = u64::from_be_bytes(tail.get(..8)?.try_into().ok()?);
    let first = u64::from_be_bytes(tail.get(8..)?.try_into().ok()?);
    Some((StreamId(stream), Seq(first)))
}

/// The key of an agent gap record: identical records share it.
pub(super) fn gap_key(node: &NodeId, gap: &GapRecord) -> Vec<u8> {
    let mut key = stream_prefix(GAP, node, gap.stream);
    key.extend_from_slice(&gap.first_seq.0.to_be_bytes());
    key.extend_from_slice(&gap.last_seq.0.to_be_bytes());
    key.push(reason_byte(gap.reason));
    key
}

/// Inclusive upper bound of the gap keys of `stream` whose range starts at or before `first`.
pub(super) fn gap_key_upper(node: &NodeId, stream: StreamId, first: Seq) -> Vec<u8> {
    let mut key = stream_prefix(GAP, node, stream);
    key.extend_from_slice(&first.0.to_be_bytes());
    key.extend_from_slice(&[0xFF; 9]);
    key
}

/// Range and reason of a gap key.
pub(super) fn parse_gap_key(key: &[u8]) -> Option<GapRef> {
    let tail = key.len().checked_sub(17).and_then(|at| key.get(at..))?;
    let first = u64::from_be_bytes(tail.get(..8)?.try_into().ok()?);
    let last = u64::from_be_bytes(tail.get(8..16)?.try_into().ok()?);
    Some(GapRef {
        first_seq: Seq(first),
        last_seq: Seq(last),
        reason: reason_from_byte(*tail.get(16)?)?,
    })
}

/// A stable byte per reason: part of the key layout, independent of enum order.
fn reason_byte(reason: GapReason) -> u8 {
    match reason {
        GapReason::SizeBound => 1,
        GapReason::Corruption => 2,
        GapReason::RejectedByAggregator => 3,
    }
}

fn reason_from_byte(byte: u8) -> Option<GapReason> {
    match byte {
        1 => Some(GapReason::SizeBound),
        2 => Some(GapReason::Corruption),
        3 => Some(GapReason::RejectedByAggregator),
        _ => None,
    }
}

/// Printable form of a key for error messages.
pub(super) fn display(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> NodeId {
        NodeId::new(name).unwrap()
    }

    #[test]
    fn a_node_prefix_never_covers_a_node_whose_name_extends_it() {
        let a = sample_key(&node("edge-1"), 0, Seq(5));
        let b = sample_key(&node("edge-10"), 0, Seq(5));
        let prefix = node_prefix(SAMPLE, &node("edge-1"));
        assert!(a.starts_with(&prefix));
        assert!(!b.starts_with(&prefix));
    }

    #[test]
    fn sample_keys_sort_by_ordinal_then_seq_and_parse_back() {
        let n = node("edge-1");
        let keys = [
            sample_key(&n, 0, Seq(1)),
            sample_key(&n, 0, Seq(256)),
            sample_key(&n, 0, Seq(u64::MAX)),
            sample_key(&n, 1, Seq(0)),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(parse_sample_key(&keys[1]), Some((0, Seq(256))));
        assert_eq!(parse_sample_key(&keys[3]), Some((1, Seq(0))));
    }

    #[test]
    fn hole_keys_parse_back_to_stream_and_first_seq() {
        let key = hole_key(&node("edge-1"), StreamId(u64::MAX - 1), Seq(42));
        assert_eq!(
            parse_hole_key(&key),
            Some((StreamId(u64::MAX - 1), Seq(42)))
        );
    }

    #[test]
    fn gap_keys_identify_a_record_and_parse_back() {
        let n = node("edge-1");
        let gap = |first, last, reason| GapRecord {
            stream: StreamId(9),
            first_seq: Seq(first),
            last_seq: Seq(last),
            first_at: None,
            last_at: None,
            count: 1,
            reason,
        };
        let a = gap_key(&n, &gap(3, 7, GapReason::SizeBound));
        assert_eq!(a, gap_key(&n, &gap(3, 7, GapReason::SizeBound)));
        assert_ne!(a, gap_key(&n, &gap(3, 7, GapReason::Corruption)));
        let parsed = parse_gap_key(&a).unwrap();
        assert_eq!((parsed.first_seq, parsed.last_seq), (Seq(3), Seq(7)));
        for reason in [
            GapReason::SizeBound,
            GapReason::Corruption,
            GapReason::RejectedByAggregator,
        ] {
            let key = gap_key(&n, &gap(3, 7, reason));
            assert_eq!(parse_gap_key(&key).map(|g| g.reason), Some(reason));
        }
        assert!(a <= gap_key_upper(&n, StreamId(9), Seq(3)));
        assert!(a > gap_key_upper(&n, StreamId(9), Seq(2)));
    }
}
