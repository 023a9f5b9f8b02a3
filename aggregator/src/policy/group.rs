//! Rollout groups: which clusters upgrade together, in which order, to what, how fast and when.
//!
//! `[defaults]` gives every rollout setting a fleet-wide value; a `[[groups]]` entry overrides
//! any of them for its clusters. A cluster matching no group is in the implicit group
//! `default`, which uses `[defaults]` as they are and rolls out last.
//!
//! **Windows.** `windows` absent (in the group and in `[defaults]`) means upgrades may run at
//! any time; a list means only inside one of the named windows; an explicit empty list means
//! never (a frozen group).

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::time::Duration;

use edgeward_proto::ClusterId;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{Locator, PolicyError, Problem};
use super::thresholds::{RawThresholds, Thresholds, parse_duration, serialize_duration};
use super::version::{KubeVersion, Target};

/// Name of the implicit group of clusters no `[[groups]]` entry selects.
pub const DEFAULT_GROUP: &str = "default";
/// `max_unavailable` when `[defaults]` does not set it: one agent upgraded at a time.
pub const DEFAULT_MAX_UNAVAILABLE: NonZeroU32 = NonZeroU32::MIN;
/// `stuck_after` when `[defaults]` does not set it: six hours.
pub const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(6 * 3600);

/// When a group's upgrades may run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// No `windows` key anywhere: at any time.
    Anytime,
    /// Only inside one of these windows (by name); an empty list means never.
    Windows(Vec<String>),
}

/// A rollout group, with every setting resolved (group over `[defaults]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The group's name; [`DEFAULT_GROUP`] for the implicit last group.
    pub name: String,
    /// Canary groups roll out before all others.
    pub canary: bool,
    /// Position in rollout order, from 0.
    pub order: usize,
    /// Clusters listed by id.
    pub clusters: BTreeSet<ClusterId>,
    /// Labels a cluster must all carry to be selected (when not listed by id elsewhere).
    pub match_labels: BTreeMap<String, String>,
    /// The version to run; `None`: no upgrade is planned.
    pub target: Option<Target>,
    /// Agents of one cluster upgraded at once (servers stay one at a time; the planner
    /// enforces quorum rules on top).
    pub max_unavailable: NonZeroU32,
    /// A cluster running mixed versions for longer than this is a stuck upgrade.
    #[serde(serialize_with = "serialize_duration")]
    pub stuck_after: Duration,
    /// When upgrades may run.
    pub windows: Schedule,
    /// Labels added to this group's alerts (over the policy's `[alerts] labels`).
    pub alert_labels: BTreeMap<String, String>,
    /// Thresholds merged for this group: group over `[thresholds]` over defaults.
    pub thresholds: Thresholds,
}

impl Group {
    /// Whether this is the implicit group of unselected clusters.
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_GROUP
    }

    /// Whether `labels` carry every one of `match_labels` (never, when there are none).
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.match_labels.is_empty()
            && self
                .match_labels
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|have| have == v))
    }
}

/// The rollout settings shared by `[defaults]` and `[[groups]]`, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Rollout {
    pub(crate) target: Option<Target>,
    pub(crate) max_unavailable: NonZeroU32,
    pub(crate) stuck_after: Duration,
    pub(crate) windows: Schedule,
}

impl Default for Rollout {
    fn default() -> Self {
        Self {
            target: None,
            max_unavailable: DEFAULT_MAX_UNAVAILABLE,
            stuck_after: DEFAULT_STUCK_AFTER,
            windows: Schedule::Anytime,
        }
    }
}

/// What a rollout setting may refer to.
#[derive(Debug)]
pub(crate) struct Names<'a> {
    pub(crate) channels: &'a BTreeMap<String, KubeVersion>,
    pub(crate) windows: &'a BTreeSet<String>,
}

/// `[defaults]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRollout {
    target: Option<Spanned<String>>,
    channel: Option<Spanned<String>>,
    max_unavailable: Option<Spanned<i64>>,
    stuck_after: Option<Spanned<String>>,
    windows: Option<Spanned<Vec<Spanned<String>>>>,
}

impl RawRollout {
    /// `base` with every setting this table gives replaced, checked.
    pub(crate) fn apply(
        &self,
        base: &Rollout,
        names: &Names<'_>,
        at: &Locator<'_>,
    ) -> Result<Rollout, PolicyError> {
        let mut out = base.clone();
        match (&self.target, &self.channel) {
            (Some(_), Some(channel)) => {
                return Err(at.error(channel.span(), Problem::TargetAndChannel));
            }
            (Some(target), None) => {
                let version = KubeVersion::parse(target.get_ref()).map_err(|_| {
                    let value = target.get_ref().clone();
                    at.error(target.span(), Problem::Version { value })
                })?;
                out.target = Some(Target::Version(version));
            }
            (None, Some(channel)) => {
                let name = channel.get_ref();
                let resolved = names.channels.get(name).ok_or_else(|| {
                    let pinned = names.channels.keys().cloned().collect::<Vec<_>>();
                    let pinned = if pinned.is_empty() {
                        "none".to_owned()
                    } else {
                        pinned.join(", ")
                    };
                    let name = name.clone();
                    at.error(channel.span(), Problem::UnknownChannel { name, pinned })
                })?;
                out.target = Some(Target::Channel {
                    name: name.clone(),
                    resolved: resolved.clone(),
                });
            }
            (None, None) => {}
        }
        if let Some(raw) = &self.max_unavailable {
            out.max_unavailable = u32::try_from(*raw.get_ref())
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| {
                    let problem = Problem::Integer {
                        key: "max_unavailable",
                        value: *raw.get_ref(),
                        min: 1,
                        max: u64::from(u32::MAX),
                    };
                    at.error(raw.span(), problem)
                })?;
        }
        if let Some(raw) = &self.stuck_after {
            out.stuck_after = parse_duration(raw.get_ref()).map_err(|p| at.error(raw.span(), p))?;
        }
        if let Some(list) = &self.windows {
            let mut windows = Vec::new();
            for name in list.get_ref() {
                if !names.windows.contains(name.get_ref()) {
                    let name_text = name.get_ref().clone();
                    let problem = Problem::UnknownWindow { name: name_text };
                    return Err(at.error(name.span(), problem));
                }
                if !windows.contains(name.get_ref()) {
                    windows.push(name.get_ref().clone());
                }
            }
            out.windows = Schedule::Windows(windows);
        }
        Ok(out)
    }
}

/// One `[[groups]]` entry as written: the rollout keys of [`RawRollout`] plus selection,
/// alert labels and thresholds. (serde cannot flatten into a struct that denies unknown
/// fields, hence the repeated keys.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroup {
    pub(crate) name: Spanned<String>,
    pub(crate) canary: Option<bool>,
    pub(crate) clusters: Option<Vec<Spanned<String>>>,
    pub(crate) match_labels: Option<Spanned<BTreeMap<String, String>>>,
    target: Option<Spanned<String>>,
    channel: Option<Spanned<String>>,
    max_unavailable: Option<Spanned<i64>>,
    stuck_after: Option<Spanned<String>>,
    windows: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) alert_labels: Option<Spanned<BTreeMap<String, String>>>,
    pub(crate) thresholds: Option<RawThresholds>,
}

impl RawGroup {
    /// The group's rollout keys, to apply over `[defaults]`.
    pub(crate) fn rollout(&self) -> RawRollout {
        RawRollout {
            target: self.target.clone(),
            channel: self.channel.clone(),
            max_unavailable: self.max_unavailable.clone(),
            stuck_after: self.stuck_after.clone(),
            windows: self.windows.clone(),
        }
    }
}
