//! Start-up rebuild: the analysis state is memory only, so after a restart it is refolded from
//! the store — each node's registry, its newest [`REBUILD_SAMPLES`] samples, the samples that
//! rate-limited sections of those point to (`NotDue { last }`), and its gap records.

use edgeward_proto::{Section, Seq};

use super::Monitor;
use crate::analysis::NodeState;
use crate::store::{Store, StoreError};

/// Samples refolded per node: an hour at a 15 s interval, enough for every trend check.
pub const REBUILD_SAMPLES: usize = 240;

/// Refolds every stored node; returns how many.
pub(super) fn rebuild(monitor: &Monitor, store: &dyn Store) -> Result<usize, StoreError> {
    let nodes = store.nodes()?;
    for summary in &nodes {
        let Some(detail) = store.node(&summary.id)? else {
            continue;
        };
        let r = &detail.registry;
        let mut state = NodeState::new(summary.id.clone(), r.first_seen);
        let recent = store.recent(&summary.id, REBUILD_SAMPLES)?;
        // Rate-limited sections of the newest sample name the sample carrying their data.
        if let Some(newest) = recent.last() {
            let mut wanted: Vec<Seq> = Vec::new();
            if let Section::NotDue { last: Some(seq) } = newest.sample.inventory {
                wanted.push(seq);
            }
            if let Section::Data(ds) = &newest.sample.datastore
                && let Section::NotDue { last: Some(seq) } = ds.disk_audit
            {
                wanted.push(seq);
            }
            let oldest = recent.first().map(|s| s.sample.seq);
            for seq in wanted {
                if oldest.is_some_and(|o| seq >= o) {
                    continue;
                }
                if let Some(s) = store.sample_at(&summary.id, newest.stream, seq)? {
                    state.apply_sample(&s.sample);
                }
            }
        }
        for s in &recent {
            state.apply_sample(&s.sample);
        }
        for g in &detail.gap_records {
            state.apply_gap(&g.record, g.received_at);
        }
        state.restore_registry(
            r.cluster.clone(),
            &r.agent_version,
            r.first_seen,
            r.last_seen,
        );
        state.holes = detail.holes.len() as u64;
        state.unexplained_seqs = detail.holes.iter().map(|h| h.unexplained).sum();
        let mut fleet = monitor.write();
        // A batch that arrived during the rebuild already created the node: keep the newer.
        if fleet.node(&summary.id).is_none() {
            fleet.insert(state);
        }
    }
    Ok(nodes.len())
}

/// Copies the store's sequence-hole counts into the fleet. Reads details only for nodes
/// with holes.
pub(super) fn refresh_holes(monitor: &Monitor, store: &dyn Store) -> Result<(), StoreError> {
    for summary in store.nodes()? {
        let (holes, unexplained) = if summary.holes == 0 {
            (0, 0)
        } else {
            match store.node(&summary.id)? {
                Some(d) => (
                    d.holes.len() as u64,
                    d.holes.iter().map(|h| h.unexplained).sum(),
                ),
                None => (0, 0),
            }
        };
        monitor.write().set_holes(&summary.id, holes, unexplained);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use edgeward_proto::synthetic::SyntheticNode;
    use edgeward_proto::{Bounded, UnixMillis};

    use super::*;
    use crate::policy::Policy;
    use crate::store::{SledStore, StoreOptions};

    #[test]
    fn a_restarted_aggregator_rebuilds_each_node_including_its_rate_limited_inventory() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), StoreOptions::default()).unwrap();
        let node = SyntheticNode::new(3);
        // The inventory ships once (seq 1); the REBUILD_SAMPLES samples after it say NotDue.
        let mut first = node.batch(1, 1, UnixMillis(1_795_000_000_000));
        let mut samples = std::mem::take(&mut first.samples).into_vec();
        samples[0].inventory = Section::Data(node.inventory());
        first.samples = Bounded::try_from(samples).unwrap();
        store.ingest(&first, UnixMillis(1_795_000_001_000)).unwrap();
        let n = REBUILD_SAMPLES as u64 + 10;
        let mut rest = node.batch(2, n, UnixMillis(1_795_000_015_000));
        let mut samples = std::mem::take(&mut rest.samples).into_vec();
        for s in &mut samples {
            s.inventory = Section::NotDue { last: Some(Seq(1)) };
        }
        rest.samples = Bounded::try_from(samples).unwrap();
        store.ingest(&rest, UnixMillis(1_795_010_000_000)).unwrap();

        let (_tx, rx) = tokio::sync::watch::channel(Arc::new(Policy::default()));
        let monitor = Monitor::new(rx);
        assert_eq!(rebuild(&monitor, &store).unwrap(), 1);
        let fleet = monitor.read();
        let state = fleet.node(&node.node).unwrap();
        assert!(
            state.inventory().is_some(),
            "the inventory of seq 1 was fetched"
        );
        assert_eq!(state.last_seen, UnixMillis(1_795_010_000_000));
        assert_eq!(state.cluster.as_ref(), Some(&node.cluster));
        assert!(state.pressure.fresh().is_some());
    }
}
