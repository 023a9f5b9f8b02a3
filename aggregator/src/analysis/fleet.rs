//! The fleet as the analysis sees it: every node's [`NodeState`], fed batch by batch.
//!
//! Applying a batch is the incremental part of the analysis (O(samples in the batch));
//! [`super::analyze`] then reads the whole fleet.

use std::collections::BTreeMap;

use edgeward_proto::inventory::NodeRole;
use edgeward_proto::{Batch, ClusterId, NodeId, UnixMillis};

use super::node::NodeState;

/// Every node that ever sent a batch.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    nodes: BTreeMap<NodeId, NodeState>,
}

/// The nodes of one cluster, servers first, then by name. `id` is `None` for nodes whose
/// cluster identity is not known yet.
#[derive(Debug, Clone)]
pub struct ClusterView<'a> {
    pub id: Option<&'a ClusterId>,
    pub nodes: Vec<&'a NodeState>,
}

impl<'a> ClusterView<'a> {
    /// Nodes whose newest inventory says `Server` (they run the API server and, on K3s with
    /// etcd or MicroK8s HA, a datastore member).
    pub fn servers(&self) -> impl Iterator<Item = &'a NodeState> + '_ {
        self.nodes
            .iter()
            .copied()
            .filter(|n| n.role() == NodeRole::Server)
    }

    /// Nodes that are not servers (agents, and nodes whose role is not known yet).
    pub fn others(&self) -> impl Iterator<Item = &'a NodeState> + '_ {
        self.nodes
            .iter()
            .copied()
            .filter(|n| n.role() != NodeRole::Server)
    }
}

impl Fleet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one batch in; `received_at` is the aggregator's clock.
    pub fn apply(&mut self, batch: &Batch, received_at: UnixMillis) {
        let id = &batch.header.node;
        match self.nodes.get_mut(id) {
            Some(n) => n.apply(batch, received_at),
            None => {
                let mut n = NodeState::new(id.clone(), received_at);
                n.apply(batch, received_at);
                self.nodes.insert(id.clone(), n);
            }
        }
    }

    /// Records the store's view of a node's sequence holes.
    pub fn set_holes(&mut self, id: &NodeId, holes: u64, unexplained_seqs: u64) {
        if let Some(n) = self.nodes.get_mut(id) {
            n.holes = holes;
            n.unexplained_seqs = unexplained_seqs;
        }
    }

    /// Inserts or replaces a node's state wholesale (start-up rebuild, tests).
    pub fn insert(&mut self, state: NodeState) {
        if let Some(id) = state.id.clone() {
            self.nodes.insert(id, state);
        }
    }

    pub fn node(&self, id: &NodeId) -> Option<&NodeState> {
        self.nodes.get(id)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.values()
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The fleet by cluster, in cluster id order; nodes without a cluster come last.
    pub fn clusters(&self) -> Vec<ClusterView<'_>> {
        let mut by: BTreeMap<Option<&ClusterId>, Vec<&NodeState>> = BTreeMap::new();
        for n in self.nodes.values() {
            by.entry(n.cluster.as_ref()).or_default().push(n);
        }
        let mut out: Vec<ClusterView<'_>> = by
            .into_iter()
            .map(|(id, mut nodes)| {
                nodes.sort_by(|a, b| {
                    (a.role() != NodeRole::Server, &a.id)
                        .cmp(&(b.role() != NodeRole::Server, &b.id))
                });
                ClusterView { id, nodes }
            })
            .collect();
        // `None` sorts first in a BTreeMap: move the unassigned nodes to the end.
        if out.first().is_some_and(|c| c.id.is_none()) {
            let none = out.remove(0);
            out.push(none);
        }
        out
    }
}
