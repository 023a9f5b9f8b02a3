//! The fleet policy: the TOML file operators keep in Git that says what each cluster should
//! run, in which order and when clusters upgrade, what a node's baseline is, and the thresholds
//! and alert labels per group. `deploy/policy.example.toml` documents every key.
//!
//! A [`Policy`] is immutable and fully validated: [`Policy::parse`] checks every rule and
//! precomputes what lookups need (each group's merged thresholds, the cluster → group index),
//! so the rest of the aggregator reads it without error handling. [`reload`] swaps in a new
//! policy when the file changes or on SIGHUP, and keeps the old one when the new one is invalid.
//!
//! Invariants:
//! - every window a group names exists; every channel a group names is pinned in `[channels]`;
//! - a cluster is listed by id in at most one group;
//! - the implicit group `default` exists, is last in rollout order and is never a canary;
//! - no file (`Policy::default()`) means no target, upgrades allowed at any time, default
//!   thresholds and every cluster in the `default` group.

mod baseline;
mod build;
mod error;
mod group;
mod names;
pub mod reload;
#[cfg(test)]
mod tests;
mod thresholds;
mod version;
mod window;

use std::collections::BTreeMap;

use edgeward_proto::{ClusterId, UnixMillis};
use serde::{Serialize, Serializer};

pub use baseline::{Baseline, Expected, Glob};
pub use error::{PolicyError, Problem};
pub use group::{DEFAULT_GROUP, DEFAULT_MAX_UNAVAILABLE, DEFAULT_STUCK_AFTER, Group, Schedule};
pub use names::RESERVED_ALERT_LABELS;
pub use reload::{DEFAULT_POLL, PolicySource, PolicyStatus, Reloader, spawn_reloader};
pub use thresholds::Thresholds;
pub use version::{KubeVersion, NotAVersion, Target};
pub use window::Window;

/// What the policy says about one cluster beyond its group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    /// A human name for dashboards and alerts.
    pub name: Option<String>,
    /// Labels `match_labels` select on.
    pub labels: BTreeMap<String, String>,
}

/// Whether a group's upgrades may run at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// Inside a window, which closes at `until` (the latest end among the open windows).
    Open {
        /// When the window closes.
        until: UnixMillis,
    },
    /// Outside every window; `next` is the earliest next occurrence as `(start, end)`, `None`
    /// when the group's window list is empty (frozen).
    Closed {
        /// The next occurrence, if any.
        next: Option<(UnixMillis, UnixMillis)>,
    },
    /// The group has no windows: upgrades may run at any time.
    Unrestricted,
}

/// A validated fleet policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    origin: String,
    #[serde(serialize_with = "serialize_digest")]
    sha256: Option<[u8; 32]>,
    channels: BTreeMap<String, KubeVersion>,
    windows: Vec<Window>,
    clusters: BTreeMap<ClusterId, ClusterInfo>,
    /// In rollout order, without the default group.
    groups: Vec<Group>,
    /// The implicit group of clusters no group selects; last in rollout order.
    default_group: Group,
    /// Group index (into `groups`) of each cluster listed by id.
    #[serde(skip)]
    by_id: BTreeMap<ClusterId, usize>,
    /// Indexes of groups with `match_labels`, in file order: the first match wins.
    #[serde(skip)]
    by_labels: Vec<usize>,
    baseline: Baseline,
    thresholds: Thresholds,
    alert_labels: BTreeMap<String, String>,
}

/// What [`build`] hands over; groups in file order, without the default group.
struct Parts {
    origin: String,
    sha256: Option<[u8; 32]>,
    channels: BTreeMap<String, KubeVersion>,
    windows: Vec<Window>,
    clusters: BTreeMap<ClusterId, ClusterInfo>,
    groups: Vec<Group>,
    default_group: Group,
    baseline: Baseline,
    thresholds: Thresholds,
    alert_labels: BTreeMap<String, String>,
}

fn serialize_digest<S: Serializer>(
    digest: &Option<[u8; 32]>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match digest {
        Some(d) => serializer.serialize_some(&baseline::hex(d)),
        None => serializer.serialize_none(),
    }
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

impl Default for Policy {
    /// No policy file: no target, upgrades at any time, default thresholds, one group.
    fn default() -> Self {
        let default_group = Group {
            name: DEFAULT_GROUP.to_owned(),
            canary: false,
            order: 0,
            clusters: Default::default(),
            match_labels: BTreeMap::new(),
            target: None,
            max_unavailable: DEFAULT_MAX_UNAVAILABLE,
            stuck_after: DEFAULT_STUCK_AFTER,
            windows: Schedule::Anytime,
            alert_labels: BTreeMap::new(),
            thresholds: Thresholds::default(),
        };
        Self::assemble(Parts {
            origin: "<no policy>".to_owned(),
            sha256: None,
            channels: BTreeMap::new(),
            windows: Vec::new(),
            clusters: BTreeMap::new(),
            groups: Vec::new(),
            default_group,
            baseline: Baseline::default(),
            thresholds: Thresholds::default(),
            alert_labels: BTreeMap::new(),
        })
    }
}

impl Policy {
    /// Parses and validates policy `text`; `origin` (a path, or a name such as `<inline>`)
    /// starts every error message: `<origin>:<line>:<column>: <what is wrong>`. Never panics.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        build::parse(text, origin)
    }

    /// Sorts groups into rollout order (canaries, then the others, each in file order, then
    /// the default group) and builds the lookup indexes.
    fn assemble(parts: Parts) -> Self {
        let file_order = parts.groups;
        let mut groups: Vec<Group> = Vec::with_capacity(file_order.len());
        let (canaries, others): (Vec<_>, Vec<_>) =
            file_order.iter().enumerate().partition(|(_, g)| g.canary);
        let mut rollout_index = vec![0; file_order.len()];
        for (file_index, group) in canaries.into_iter().chain(others) {
            rollout_index[file_index] = groups.len();
            groups.push(group.clone());
        }
        let mut default_group = parts.default_group;
        default_group.order = groups.len();
        let mut by_id = BTreeMap::new();
        for (order, group) in groups.iter_mut().enumerate() {
            group.order = order;
            for id in &group.clusters {
                by_id.insert(id.clone(), order);
            }
        }
        let by_labels = file_order
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.match_labels.is_empty())
            .map(|(file_index, _)| rollout_index[file_index])
            .collect();
        Self {
            origin: parts.origin,
            sha256: parts.sha256,
            channels: parts.channels,
            windows: parts.windows,
            clusters: parts.clusters,
            groups,
            default_group,
            by_id,
            by_labels,
            baseline: parts.baseline,
            thresholds: parts.thresholds,
            alert_labels: parts.alert_labels,
        }
    }

    /// Where the policy came from (the path given to [`Policy::parse`]).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// SHA-256 of the policy text; `None` for [`Policy::default`].
    pub fn sha256(&self) -> Option<&[u8; 32]> {
        self.sha256.as_ref()
    }

    /// The group `cluster` belongs to: the group listing its id, else the first group (in
    /// file order) whose `match_labels` its labels carry, else the default group.
    pub fn group_of(&self, cluster: &ClusterId) -> &Group {
        let labels = self.cluster_labels(cluster);
        let index = self.by_id.get(cluster).copied().or_else(|| {
            self.by_labels
                .iter()
                .copied()
                .find(|&i| self.groups.get(i).is_some_and(|g| g.matches_labels(labels)))
        });
        index
            .and_then(|i| self.groups.get(i))
            .unwrap_or(&self.default_group)
    }

    /// Every group in rollout order: canaries first, then the others in file order, the
    /// default group last.
    pub fn groups_in_rollout_order(&self) -> impl Iterator<Item = &Group> {
        self.groups
            .iter()
            .chain(std::iter::once(&self.default_group))
    }

    /// The group named `name` (`default` included).
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups_in_rollout_order().find(|g| g.name == name)
    }

    /// The implicit group of clusters no group selects.
    pub fn default_group(&self) -> &Group {
        &self.default_group
    }

    /// Thresholds for `cluster`'s group, or the fleet-wide ones for `None`.
    pub fn thresholds_for(&self, cluster: Option<&ClusterId>) -> &Thresholds {
        match cluster {
            Some(id) => &self.group_of(id).thresholds,
            None => &self.thresholds,
        }
    }

    /// The name `[[clusters]]` gives `cluster`.
    pub fn cluster_name(&self, cluster: &ClusterId) -> Option<&str> {
        self.clusters.get(cluster)?.name.as_deref()
    }

    /// The labels `[[clusters]]` gives `cluster` (empty when it is not listed).
    pub fn cluster_labels(&self, cluster: &ClusterId) -> &BTreeMap<String, String> {
        self.clusters.get(cluster).map_or(&NO_LABELS, |c| &c.labels)
    }

    /// Every cluster `[[clusters]]` describes.
    pub fn clusters(&self) -> &BTreeMap<ClusterId, ClusterInfo> {
        &self.clusters
    }

    /// Labels for `cluster`'s alerts: `[alerts] labels`, overridden by its group's
    /// `alert_labels`.
    pub fn alert_labels(&self, cluster: &ClusterId) -> BTreeMap<String, String> {
        let mut labels = self.alert_labels.clone();
        labels.extend(
            self.group_of(cluster)
                .alert_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        labels
    }

    /// Every maintenance window, in file order.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The window named `name`.
    pub fn window(&self, name: &str) -> Option<&Window> {
        self.windows.iter().find(|w| w.name() == name)
    }

    /// Whether `group`'s upgrades may run at `at`.
    pub fn window_open(&self, group: &Group, at: UnixMillis) -> WindowState {
        let Schedule::Windows(names) = &group.windows else {
            return WindowState::Unrestricted;
        };
        let occurrences = names
            .iter()
            .filter_map(|name| self.window(name)?.next_open(at));
        let (open, upcoming): (Vec<_>, Vec<_>) = occurrences.partition(|(start, _)| *start <= at);
        match open.iter().map(|(_, end)| *end).max() {
            Some(until) => WindowState::Open { until },
            None => WindowState::Closed {
                next: upcoming.into_iter().min(),
            },
        }
    }

    /// `[channels]`: what each channel means in this policy.
    pub fn channels(&self) -> &BTreeMap<String, KubeVersion> {
        &self.channels
    }

    /// The drift baseline.
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// Fleet-wide thresholds: `[thresholds]` over the defaults.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }
}
