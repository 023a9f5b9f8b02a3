//! edgeward's main job on one machine, for newcomers and for end-to-end tests: an aggregator
//! with its embedded store, an agent sampling this host, and simulated nodes, all shipping
//! over TLS on loopback with development certificates generated on first run.
//!
//! The simulated nodes are real agents ([`edgeward_agent::run_with_probes`]: real outbox, real
//! uplink, real TLS) whose only probe is [`SyntheticProbe`], which fills samples from
//! [`edgeward_proto::synthetic::SyntheticNode`].

pub mod fixture_node;
pub mod fleet;
pub mod pki;

use edgeward_agent::probe::Probe;
use edgeward_proto::Sample;
use edgeward_proto::synthetic::SyntheticNode;

/// A probe that reports a simulated node's values.
#[derive(Debug)]
pub struct SyntheticProbe {
    node: SyntheticNode,
    cycle: u64,
}

impl SyntheticProbe {
    pub fn new(index: u32) -> Self {
        Self {
            node: SyntheticNode::new(index),
            cycle: 0,
        }
    }
}

impl Probe for SyntheticProbe {
    fn name(&self) -> &'static str {
        "synthetic"
    }

    fn observe(&mut self, sample: &mut Sample) {
        self.cycle += 1;
        let simulated = self.node.sample(self.cycle, sample.at);
        sample.pressure = simulated.pressure;
        sample.kubelet = simulated.kubelet;
        sample.datastore = simulated.datastore;
        sample.inventory = simulated.inventory;
    }
}
