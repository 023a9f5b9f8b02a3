//! The kubelet's effective eviction thresholds, handed from the probe that resolves them (the
//! kubelet probe: `/configz`, then the config files on disk, then the distro's defaults) to
//! the pressure probe, which measures this node's margin to each (DOMAIN.md §2).
//!
//! The kubelet probe runs before the pressure probe in a cycle ([`crate::default_probes`]),
//! so the margins use the thresholds resolved in the same cycle.

use std::sync::{Arc, Mutex, PoisonError};

use edgeward_proto::pressure::{Threshold, ThresholdSource};

/// Thresholds and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedThresholds {
    pub source: ThresholdSource,
    pub thresholds: Vec<Threshold>,
}

/// A cell both probes hold. Empty until the kubelet probe has resolved thresholds once.
#[derive(Debug, Clone, Default)]
pub struct SharedThresholds(Arc<Mutex<Option<ResolvedThresholds>>>);

impl SharedThresholds {
    pub fn set(&self, resolved: ResolvedThresholds) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(resolved);
    }

    pub fn get(&self) -> Option<ResolvedThresholds> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
