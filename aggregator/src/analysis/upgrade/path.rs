//! The path from what a cluster runs to its target, one minor at a time (DOMAIN.md §4: never
//! skip a minor on the control plane, K3s upgrades one minor at a time).
//!
//! The path starts at the cluster's *oldest* running version, so agents that lag the servers
//! catch up before the servers move on, and the control plane never runs more than the
//! kubelets allow. Intermediate steps name the minor (`v1.29`: the executor takes its newest
//! patch) unless `[channels]` pins a version of that minor (`"v1.29" = "v1.29.12+k3s1"`).
//! The next hop is `path[1]`; a node has reached it when it runs that pinned version or newer,
//! or, for an unpinned minor, any patch of that minor or newer.
//!
//! Refused, as cluster blockers: a target older than any running version (no downgrades), a
//! target on another major, and paths longer than [`MAX_HOPS`] minors (plan those by hand).

use std::collections::BTreeMap;

use edgeward_proto::NodeId;

use super::plan::{Blocker, BlockerKind};
use super::version::{Minor, Version, minor_distance};

/// Minors one plan walks at most; a node further behind is an operator's project.
pub const MAX_HOPS: i64 = 16;

/// The next version the cluster's nodes go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hop {
    /// As written in the plan: `v1.29` or a pinned version.
    pub label: String,
    pub minor: Minor,
    /// The exact version, when the hop is the target or pinned by a channel.
    pub pinned: Option<Version>,
}

impl Hop {
    /// Whether a node running `v` needs no step to reach this hop.
    pub fn reached_by(&self, v: &Version) -> bool {
        match &self.pinned {
            Some(p) => v >= p,
            None => v.minor_line() >= self.minor,
        }
    }
}

/// A cluster's route to its target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Route {
    pub path: Vec<String>,
    pub hop: Option<Hop>,
    pub blockers: Vec<Blocker>,
}

/// `[channels]` entries named like a minor (`v1.29`) whose version is of that minor.
pub(super) fn minor_pins<'a>(
    channels: impl Iterator<Item = (&'a String, &'a str)>,
) -> BTreeMap<Minor, (String, Version)> {
    channels
        .filter_map(|(name, text)| {
            let minor = Minor::parse(name)?;
            let v = Version::parse(text).ok()?;
            (v.minor_line() == minor).then(|| (minor, (text.to_owned(), v)))
        })
        .collect()
}

/// The route for nodes running `running` (known versions only) to `target` (written
/// `target_text`).
pub(super) fn route(
    running: &[(&NodeId, &str, &Version)],
    target: &Version,
    target_text: &str,
    pins: &BTreeMap<Minor, (String, Version)>,
) -> Route {
    let mut out = Route::default();
    for (node, text, v) in running {
        if *v > target {
            out.blockers.push(Blocker {
                kind: BlockerKind::TargetOlderThanRunning,
                reason: format!(
                    "target older than running version: {node} runs {text}, the target is {target_text}; downgrades are never planned"
                ),
                finding: None,
            });
        }
    }
    let Some((_, oldest_text, oldest)) = running.iter().min_by(|a, b| a.2.cmp(b.2)) else {
        out.blockers.push(Blocker {
            kind: BlockerKind::VersionUnknown,
            reason: "no node reported a version: the path cannot be planned".to_owned(),
            finding: None,
        });
        return out;
    };
    let distance = minor_distance(oldest.minor_line(), target.minor_line());
    match distance {
        None => out.blockers.push(Blocker {
            kind: BlockerKind::MajorVersionChange,
            reason: format!("{oldest_text} and the target {target_text} are on different majors"),
            finding: None,
        }),
        Some(d) if d > MAX_HOPS => out.blockers.push(Blocker {
            kind: BlockerKind::MajorVersionChange,
            reason: format!("{oldest_text} is {d} minors behind {target_text}: more than {MAX_HOPS}, plan by hand"),
            finding: None,
        }),
        _ => {}
    }
    out.blockers.sort();
    if !out.blockers.is_empty() || *oldest == target {
        return out;
    }
    out.path.push((*oldest_text).to_owned());
    let mut minor = oldest.minor_line();
    let mut hops = Vec::new();
    while minor < target.minor_line() {
        let Some(next) = minor.next() else { break };
        minor = next;
        if minor == target.minor_line() {
            break;
        }
        hops.push(match pins.get(&minor) {
            Some((text, v)) => Hop {
                label: text.clone(),
                minor,
                pinned: Some(v.clone()),
            },
            None => Hop {
                label: minor.to_string(),
                minor,
                pinned: None,
            },
        });
    }
    hops.push(Hop {
        label: target_text.to_owned(),
        minor: target.minor_line(),
        pinned: Some(target.clone()),
    });
    out.path.extend(hops.iter().map(|h| h.label.clone()));
    out.hop = hops.into_iter().next();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn the_path_walks_one_minor_at_a_time_naming_pinned_minors() {
        let node = NodeId::new("n1").unwrap();
        let pins = minor_pins(
            [
                ("v1.29".to_owned(), "v1.29.12+k3s1"),
                ("stable".to_owned(), "v1.31.4+k3s1"),
                ("v1.27".to_owned(), "v1.30.1"),
            ]
            .iter()
            .map(|(k, t)| (k, *t)),
        );
        for (running, target, path, hop) in [
            (
                "v1.28.9+k3s1",
                "v1.31.4+k3s1",
                vec!["v1.28.9+k3s1", "v1.29.12+k3s1", "v1.30", "v1.31.4+k3s1"],
                Some("v1.29.12+k3s1"),
            ),
            (
                "v1.29.1+k3s1",
                "v1.31.4+k3s1",
                vec!["v1.29.1+k3s1", "v1.30", "v1.31.4+k3s1"],
                Some("v1.30"),
            ),
            (
                "v1.31.2+k3s1",
                "v1.31.4+k3s1",
                vec!["v1.31.2+k3s1", "v1.31.4+k3s1"],
                Some("v1.31.4+k3s1"),
            ),
            ("v1.31.4+k3s1", "v1.31.4+k3s1", vec![], None),
        ] {
            let r = route(&[(&node, running, &v(running))], &v(target), target, &pins);
            assert!(r.blockers.is_empty(), "{running}: {:?}", r.blockers);
            assert_eq!(r.path, path, "{running} → {target}");
            assert_eq!(
                r.hop.map(|h| h.label).as_deref(),
                hop,
                "{running} → {target}"
            );
        }
    }

    #[test]
    fn a_target_older_than_a_running_version_is_refused() {
        let (a, b) = (NodeId::new("a").unwrap(), NodeId::new("b").unwrap());
        let r = route(
            &[
                (&a, "v1.30.2", &v("v1.30.2")),
                (&b, "v1.31.1", &v("v1.31.1")),
            ],
            &v("v1.30.5"),
            "v1.30.5",
            &BTreeMap::new(),
        );
        assert_eq!(r.hop, None);
        assert!(r.path.is_empty());
        assert_eq!(r.blockers.len(), 1);
        assert_eq!(r.blockers[0].kind, BlockerKind::TargetOlderThanRunning);
        assert!(
            r.blockers[0].reason.contains("b runs v1.31.1"),
            "{}",
            r.blockers[0].reason
        );
    }

    #[test]
    fn hops_are_reached_by_the_pinned_version_or_any_patch_of_an_unpinned_minor() {
        let pinned = Hop {
            label: "v1.29.12+k3s1".into(),
            minor: v("v1.29.0").minor_line(),
            pinned: Some(v("v1.29.12+k3s1")),
        };
        let minor = Hop {
            label: "v1.30".into(),
            minor: v("v1.30.0").minor_line(),
            pinned: None,
        };
        for (hop, running, reached) in [
            (&pinned, "v1.29.3+k3s1", false),
            (&pinned, "v1.29.12+k3s1", true),
            (&pinned, "v1.30.0", true),
            (&minor, "v1.29.9", false),
            (&minor, "v1.30.0", true),
            (&minor, "v1.31.0", true),
        ] {
            assert_eq!(
                hop.reached_by(&v(running)),
                reached,
                "{running} vs {}",
                hop.label
            );
        }
    }
}
