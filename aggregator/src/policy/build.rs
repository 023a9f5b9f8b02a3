//! From policy text to a validated [`Policy`]: the TOML schema as written, then every rule
//! checked table by table (channels, windows, defaults, clusters, baseline, thresholds,
//! alerts, then groups in file order); the first failure is reported with its line and column.
//!
//! Unknown keys are errors (`deny_unknown_fields`) at every level, so a typo is reported
//! rather than silently ignored.

use std::collections::{BTreeMap, BTreeSet};

use edgeward_proto::ClusterId;
use serde::Deserialize;
use toml::Spanned;

use super::baseline::{RawBaseline, sha256};
use super::error::{Locator, PolicyError, Problem};
use super::group::{DEFAULT_GROUP, Group, Names, RawGroup, RawRollout, Rollout};
use super::names;
use super::thresholds::{RawThresholds, Thresholds};
use super::version::KubeVersion;
use super::window::RawWindow;
use super::{ClusterInfo, Policy};

/// The file as written. Defaults live in the validated types, not here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    defaults: Option<RawRollout>,
    channels: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    windows: Option<Vec<RawWindow>>,
    clusters: Option<Vec<RawCluster>>,
    groups: Option<Vec<RawGroup>>,
    baseline: Option<RawBaseline>,
    thresholds: Option<RawThresholds>,
    alerts: Option<RawAlerts>,
}

/// One `[[clusters]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    id: Spanned<String>,
    name: Option<Spanned<String>>,
    labels: Option<Spanned<BTreeMap<String, String>>>,
}

/// `[alerts]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    labels: Option<Spanned<BTreeMap<String, String>>>,
}

/// Parses and validates `text`, read from `origin`.
pub(super) fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
    let at = Locator { origin, text };
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        at.error(e.span().unwrap_or(0..0), Problem::Toml(message))
    })?;

    let channels = channels(raw.channels.as_ref(), &at)?;
    let mut windows = Vec::new();
    let mut window_lines = BTreeMap::new();
    for w in raw.windows.iter().flatten() {
        let name = names::identifier("window name", &w.name, &at)?;
        unique("window", &name, &w.name, &mut window_lines, &at)?;
        windows.push(w.build(&at)?);
    }
    let window_names: BTreeSet<String> = window_lines.into_keys().collect();
    let refs = Names {
        channels: &channels,
        windows: &window_names,
    };
    let defaults = match &raw.defaults {
        Some(d) => d.apply(&Rollout::default(), &refs, &at)?,
        None => Rollout::default(),
    };
    let clusters = clusters(raw.clusters.as_deref().unwrap_or_default(), &at)?;
    let baseline = match &raw.baseline {
        Some(b) => b.build(&at)?,
        None => Default::default(),
    };
    let thresholds = match &raw.thresholds {
        Some(t) => t.apply(&Thresholds::default(), &at)?,
        None => Thresholds::default(),
    };
    let alert_labels = match raw.alerts.as_ref().and_then(|a| a.labels.as_ref()) {
        Some(labels) => names::alert_labels(labels, &at)?,
        None => BTreeMap::new(),
    };

    let mut groups = Vec::new();
    let mut group_lines = BTreeMap::new();
    let mut listed: BTreeMap<ClusterId, (String, usize)> = BTreeMap::new();
    for g in raw.groups.iter().flatten() {
        let name = names::identifier("group name", &g.name, &at)?;
        if name == DEFAULT_GROUP {
            return Err(at.error(g.name.span(), Problem::ReservedGroupName));
        }
        unique("group", &name, &g.name, &mut group_lines, &at)?;
        let mut members = BTreeSet::new();
        for id in g.clusters.iter().flatten() {
            let cluster = names::cluster_id(id, &at)?;
            if let Some((group, first_line)) = listed.get(&cluster) {
                let problem = Problem::ClusterInTwoGroups {
                    id: cluster.to_string(),
                    group: group.clone(),
                    first_line: *first_line,
                };
                return Err(at.error(id.span(), problem));
            }
            listed.insert(cluster.clone(), (name.clone(), at.line(&id.span())));
            members.insert(cluster);
        }
        let match_labels = match &g.match_labels {
            Some(labels) => names::labels(labels, &at)?,
            None => BTreeMap::new(),
        };
        if g.clusters.is_none() && match_labels.is_empty() {
            let problem = Problem::SelectsNothing {
                group: name.clone(),
            };
            return Err(at.error(g.name.span(), problem));
        }
        let rollout = g.rollout().apply(&defaults, &refs, &at)?;
        let group_thresholds = match &g.thresholds {
            Some(t) => t.apply(&thresholds, &at)?,
            None => thresholds.clone(),
        };
        let group_alert_labels = match &g.alert_labels {
            Some(labels) => names::alert_labels(labels, &at)?,
            None => BTreeMap::new(),
        };
        groups.push(group(
            name,
            g.canary.unwrap_or(false),
            members,
            match_labels,
            rollout,
            group_alert_labels,
            group_thresholds,
        ));
    }
    let default_group = group(
        DEFAULT_GROUP.to_owned(),
        false,
        BTreeSet::new(),
        BTreeMap::new(),
        defaults,
        BTreeMap::new(),
        thresholds.clone(),
    );
    Ok(Policy::assemble(super::Parts {
        origin: origin.to_owned(),
        sha256: Some(sha256(text.as_bytes())),
        channels,
        windows,
        clusters,
        groups,
        default_group,
        baseline,
        thresholds,
        alert_labels,
    }))
}

/// A group with its rollout settings resolved; `order` is set when groups are sorted.
fn group(
    name: String,
    canary: bool,
    clusters: BTreeSet<ClusterId>,
    match_labels: BTreeMap<String, String>,
    rollout: Rollout,
    alert_labels: BTreeMap<String, String>,
    thresholds: Thresholds,
) -> Group {
    Group {
        name,
        canary,
        order: 0,
        clusters,
        match_labels,
        target: rollout.target,
        max_unavailable: rollout.max_unavailable,
        stuck_after: rollout.stuck_after,
        windows: rollout.windows,
        alert_labels,
        thresholds,
    }
}

/// Records `name` (written at `raw`) as defined, or reports where it already was.
fn unique(
    what: &'static str,
    name: &str,
    raw: &Spanned<String>,
    seen: &mut BTreeMap<String, usize>,
    at: &Locator<'_>,
) -> Result<(), PolicyError> {
    if let Some(first_line) = seen.get(name) {
        let problem = Problem::Duplicate {
            what,
            name: name.to_owned(),
            first_line: *first_line,
        };
        return Err(at.error(raw.span(), problem));
    }
    seen.insert(name.to_owned(), at.line(&raw.span()));
    Ok(())
}

/// `[channels]`: channel name → pinned version.
fn channels(
    raw: Option<&BTreeMap<Spanned<String>, Spanned<String>>>,
    at: &Locator<'_>,
) -> Result<BTreeMap<String, KubeVersion>, PolicyError> {
    let mut out = BTreeMap::new();
    for (name, version) in raw.into_iter().flatten() {
        let name = names::identifier("channel name", name, at)?;
        let parsed = KubeVersion::parse(version.get_ref()).map_err(|_| {
            let value = version.get_ref().clone();
            at.error(version.span(), Problem::Version { value })
        })?;
        out.insert(name, parsed);
    }
    Ok(out)
}

/// `[[clusters]]`: id → name and labels; ids and names unique.
fn clusters(
    raw: &[RawCluster],
    at: &Locator<'_>,
) -> Result<BTreeMap<ClusterId, ClusterInfo>, PolicyError> {
    let mut out = BTreeMap::new();
    let mut ids = BTreeMap::new();
    let mut cluster_names = BTreeMap::new();
    for c in raw {
        let id = names::cluster_id(&c.id, at)?;
        unique("cluster id", id.as_str(), &c.id, &mut ids, at)?;
        let name = match &c.name {
            Some(raw_name) => {
                let name = names::display_name(raw_name, at)?;
                unique("cluster name", &name, raw_name, &mut cluster_names, at)?;
                Some(name)
            }
            None => None,
        };
        let labels = match &c.labels {
            Some(labels) => names::labels(labels, at)?,
            None => BTreeMap::new(),
        };
        out.insert(id, ClusterInfo { name, labels });
    }
    Ok(out)
}
