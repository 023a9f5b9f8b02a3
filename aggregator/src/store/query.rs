//! The read side: node listing, node detail, samples in order, totals.
//!
//! Reads take no lock. Each key is read consistently, but a read that spans keys can see one
//! ingest's writes partly (sled's `apply_batch` is atomic for crash recovery, not for
//! concurrent scans); for the API and for metrics that is fine.

use std::ops::Bound;

use edgeward_proto::{NodeId, Sample, Seq, StreamId};

use super::error::{StoreError, io};
use super::keys;
use super::record::{GapValue, HoleRecord, NodeRecord, decode, malformed};
use super::view::{NodeDetail, NodeSummary, SampleRef, StoreStats, StoredSample, StreamHistory};

/// The node record of `id`, if the node ever sent a batch.
pub(super) fn record(tree: &sled::Tree, id: &NodeId) -> Result<Option<NodeRecord>, StoreError> {
    let key = keys::node_key(id);
    match tree.get(&key).map_err(io("reading a node record"))? {
        Some(bytes) => Ok(Some(decode("node record", &key, &bytes)?)),
        None => Ok(None),
    }
}

/// Every node record, in node name order.
pub(super) fn records(tree: &sled::Tree) -> Result<Vec<NodeRecord>, StoreError> {
    tree.scan_prefix([keys::NODE])
        .map(|item| {
            let (key, value) = item.map_err(io("listing nodes"))?;
            decode("node record", &key, &value)
        })
        .collect()
}

pub(super) fn nodes(tree: &sled::Tree) -> Result<Vec<NodeSummary>, StoreError> {
    Ok(records(tree)?.iter().map(NodeRecord::summary).collect())
}

pub(super) fn node(tree: &sled::Tree, id: &NodeId) -> Result<Option<NodeDetail>, StoreError> {
    let Some(record) = record(tree, id)? else {
        return Ok(None);
    };
    let latest = match record.latest_ref() {
        Some(at) => sample(tree, &record, at.stream, at.seq)?,
        None => None,
    };
    let mut history = Vec::with_capacity(record.streams.len());
    for (ordinal, state) in (0u32..).zip(&record.streams) {
        let prefix = keys::sample_stream_prefix(id, ordinal);
        let mut scan = tree.scan_prefix(prefix);
        let oldest = scan.next().transpose().map_err(io("reading history"))?;
        let newest = scan
            .next_back()
            .transpose()
            .map_err(io("reading history"))?;
        let as_ref = |entry: Option<(sled::IVec, sled::IVec)>| -> Result<_, StoreError> {
            let Some((key, value)) = entry else {
                return Ok(None);
            };
            let sample: Sample = decode("sample", &key, &value)?;
            Ok(Some(SampleRef {
                stream: state.id,
                seq: sample.seq,
                at: sample.at,
            }))
        };
        let oldest = as_ref(oldest)?;
        // A stream with one sample: `next_back` finds nothing once `next` took it.
        let newest = as_ref(newest)?.or(oldest);
        history.push(StreamHistory {
            stream: state.id,
            samples: state.samples,
            oldest,
            newest,
            high_water: state.hwm,
        });
    }
    let gap_records = tree
        .scan_prefix(keys::node_prefix(keys::GAP, id))
        .map(|item| {
            let (key, value) = item.map_err(io("reading gap records"))?;
            Ok(decode::<GapValue>("gap record", &key, &value)?.to_view())
        })
        .collect::<Result<_, StoreError>>()?;
    let holes = tree
        .scan_prefix(keys::node_prefix(keys::HOLE, id))
        .map(|item| {
            let (key, value) = item.map_err(io("reading sequence holes"))?;
            let hole: HoleRecord = decode("sequence hole", &key, &value)?;
            let (stream, first) = keys::parse_hole_key(&key).ok_or_else(|| malformed(&key))?;
            Ok(hole.to_view(stream, first))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(NodeDetail {
        registry: record.registry(),
        latest,
        history,
        gap_records,
        holes,
    }))
}

/// The sample `seq` of `stream` of node `id`, if stored.
pub(super) fn sample_at(
    tree: &sled::Tree,
    id: &NodeId,
    stream: StreamId,
    seq: Seq,
) -> Result<Option<StoredSample>, StoreError> {
    match record(tree, id)? {
        Some(record) => sample(tree, &record, stream, seq),
        None => Ok(None),
    }
}

/// The newest `limit` samples of `id` (by stream arrival, then seq), oldest first. Reads
/// backwards, so its cost is `limit`, not the node's history.
pub(super) fn recent(
    tree: &sled::Tree,
    id: &NodeId,
    limit: usize,
) -> Result<Vec<StoredSample>, StoreError> {
    let Some(record) = record(tree, id)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(limit.min(1024));
    for (ordinal, state) in record.streams.iter().enumerate().rev() {
        let Ok(ordinal) = u32::try_from(ordinal) else {
            continue;
        };
        for item in tree
            .scan_prefix(keys::sample_stream_prefix(id, ordinal))
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(io("reading recent samples"))?;
            out.push(StoredSample {
                stream: state.id,
                sample: decode("sample", &key, &value)?,
            });
        }
    }
    out.reverse();
    Ok(out)
}

/// The sample `seq` of `stream`, if stored.
fn sample(
    tree: &sled::Tree,
    record: &NodeRecord,
    stream: StreamId,
    seq: Seq,
) -> Result<Option<StoredSample>, StoreError> {
    let Some(ordinal) = record.ordinal(stream) else {
        return Ok(None);
    };
    let key = keys::sample_key(&record.id, ordinal, seq);
    match tree.get(&key).map_err(io("reading a sample"))? {
        Some(value) => Ok(Some(StoredSample {
            stream,
            sample: decode("sample", &key, &value)?,
        })),
        None => Ok(None),
    }
}

/// Up to `limit` samples of `id` in (stream arrival, seq) order after `after`. A cursor
/// naming a stream the node never stored samples in yields nothing.
pub(super) fn samples(
    tree: &sled::Tree,
    id: &NodeId,
    after: Option<(StreamId, Seq)>,
    limit: usize,
) -> Result<Vec<StoredSample>, StoreError> {
    let Some(record) = record(tree, id)? else {
        return Ok(Vec::new());
    };
    let prefix = keys::node_prefix(keys::SAMPLE, id);
    let start = match after {
        None => Bound::Included(prefix.clone()),
        Some((stream, seq)) => match record.ordinal(stream) {
            Some(ordinal) => Bound::Excluded(keys::sample_key(id, ordinal, seq)),
            None => return Ok(Vec::new()),
        },
    };
    let mut end = prefix;
    end.extend_from_slice(&[0xFF; 12]);
    tree.range::<Vec<u8>, _>((start, Bound::Included(end)))
        .take(limit)
        .map(|item| {
            let (key, value) = item.map_err(io("reading samples"))?;
            let (ordinal, _) = keys::parse_sample_key(&key).ok_or_else(|| malformed(&key))?;
            let stream = record.stream(ordinal).ok_or_else(|| malformed(&key))?.id;
            Ok(StoredSample {
                stream,
                sample: decode("sample", &key, &value)?,
            })
        })
        .collect()
}

/// Totals over all nodes, from their records.
pub(super) fn stats(tree: &sled::Tree, bytes_on_disk: u64) -> Result<StoreStats, StoreError> {
    let mut stats = StoreStats {
        bytes_on_disk,
        ..StoreStats::default()
    };
    for record in records(tree)? {
        stats.nodes += 1;
        stats.samples += record.samples();
        stats.gap_records += record.gap_records;
        stats.holes += record.holes;
    }
    Ok(stats)
}
