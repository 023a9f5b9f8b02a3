//! Version skew inside one cluster (Kubernetes version-skew policy, DOMAIN.md §4) and the N-2
//! rule against the newest release the policy knows.
//!
//! K3s and MicroK8s servers run the API server in the same process as their kubelet, so a
//! server's kubelet version *is* its API server's version. Rules, all counted in minors:
//! - API servers differ by at most 1 minor (`version_skew/<c>/-/apiservers`, critical);
//! - a kubelet (agents, and nodes whose role is unknown) is never newer than the oldest API
//!   server (`…/<node>/kubelet-newer`, critical) and at most 3 minors older than the newest
//!   (2 when that API server is older than 1.25) (`…/<node>/kubelet-too-old`, critical).
//!   Patch versions do not count: the policy is about minors;
//! - N-2: a node more than 2 minors behind the newest version the policy names (targets and
//!   `[channels]`) runs an unsupported release (`version_unsupported/<c>/<node>`, warning).
//!
//! Nodes whose version is unknown are left out here; the plan blocks them by name. Versions on
//! different majors cannot be counted in minors and always violate the rules.

use edgeward_proto::{ClusterId, UnixMillis};

use super::super::finding::{Finding, Kind, Severity};
use super::cluster::NodeFacts;
use super::version::{Version, minor_distance};
use crate::policy::{Policy, Target};

/// Minors API servers of one cluster may differ by.
pub const MAX_APISERVER_SPREAD: i64 = 1;
/// Minors a kubelet may lag the API server (1.25 and later).
pub const MAX_KUBELET_LAG: i64 = 3;
/// Minors a kubelet may lag an API server older than 1.25.
pub const MAX_KUBELET_LAG_BEFORE_1_25: i64 = 2;
/// Minors a node may lag the newest known release (the N-2 rule).
pub const MAX_SUPPORTED_LAG: i64 = 2;

/// `version_skew` findings of one cluster.
pub(super) fn check(cluster: &ClusterId, nodes: &[NodeFacts<'_>], now: UnixMillis) -> Vec<Finding> {
    let mut out = Vec::new();
    let servers: Vec<(&NodeFacts<'_>, &Version)> = nodes
        .iter()
        .filter(|n| n.is_server())
        .filter_map(|n| Some((n, n.version.as_ref()?)))
        .collect();
    let (Some(oldest), Some(newest)) = (
        servers.iter().min_by(|a, b| a.1.cmp(b.1)),
        servers.iter().max_by(|a, b| a.1.cmp(b.1)),
    ) else {
        return out;
    };
    let spread = minor_distance(oldest.1.minor_line(), newest.1.minor_line());
    if spread.is_none_or(|d| d > MAX_APISERVER_SPREAD) {
        let apart = spread.map_or_else(
            || "on different majors".to_owned(),
            |d| format!("{d} minors apart"),
        );
        let summary = format!(
            "API servers are {apart}: {} on {}, {} on {} (at most {MAX_APISERVER_SPREAD} is supported)",
            oldest.1, oldest.0.id, newest.1, newest.0.id
        );
        out.push(
            Finding::new(
                Kind::VersionSkew,
                Severity::Critical,
                Some(cluster),
                None,
                Some("apiservers"),
                summary,
                now,
            )
            .with("oldest_apiserver", oldest.1.to_string())
            .with("oldest_node", oldest.0.id.as_str())
            .with("newest_apiserver", newest.1.to_string())
            .with("newest_node", newest.0.id.as_str())
            .with_opt("minors_apart", spread),
        );
    }
    let allowed_lag = if newest.1.major == 1 && newest.1.minor < 25 {
        MAX_KUBELET_LAG_BEFORE_1_25
    } else {
        MAX_KUBELET_LAG
    };
    for n in nodes.iter().filter(|n| !n.is_server()) {
        let Some(kubelet) = &n.version else { continue };
        let ahead = minor_distance(oldest.1.minor_line(), kubelet.minor_line());
        if ahead.is_none_or(|d| d > 0) && kubelet > oldest.1 {
            let summary = format!(
                "kubelet {kubelet} is newer than the oldest API server {} (on {}): upgrade servers first",
                oldest.1, oldest.0.id
            );
            out.push(
                Finding::new(
                    Kind::VersionSkew,
                    Severity::Critical,
                    Some(cluster),
                    Some(n.id),
                    Some("kubelet-newer"),
                    summary,
                    now,
                )
                .with("kubelet", kubelet.to_string())
                .with("apiserver", oldest.1.to_string())
                .with_opt("minors_ahead", ahead),
            );
        }
        let behind = minor_distance(kubelet.minor_line(), newest.1.minor_line());
        if behind.is_none_or(|d| d > allowed_lag) && kubelet < newest.1 {
            let lag = behind.map_or_else(|| "a major".to_owned(), |d| format!("{d} minors"));
            let summary = format!(
                "kubelet {kubelet} is {lag} older than the API server {} (on {}); at most {allowed_lag} is supported",
                newest.1, newest.0.id
            );
            out.push(
                Finding::new(
                    Kind::VersionSkew,
                    Severity::Critical,
                    Some(cluster),
                    Some(n.id),
                    Some("kubelet-too-old"),
                    summary,
                    now,
                )
                .with("kubelet", kubelet.to_string())
                .with("apiserver", newest.1.to_string())
                .with("max_minors_behind", allowed_lag)
                .with_opt("minors_behind", behind),
            );
        }
    }
    out
}

/// The newest version the policy names: every group's target and every `[channels]` pin.
pub(super) fn newest_known(policy: &Policy) -> Option<Version> {
    let targets = policy
        .groups_in_rollout_order()
        .filter_map(|g| g.target.as_ref().map(Target::version));
    targets
        .chain(policy.channels().values())
        .filter_map(|v| Version::parse(v.as_str()).ok())
        .max()
}

/// `version_unsupported` findings: nodes more than [`MAX_SUPPORTED_LAG`] minors behind `newest`.
pub(super) fn unsupported(
    cluster: &ClusterId,
    nodes: &[NodeFacts<'_>],
    newest: &Version,
    now: UnixMillis,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in nodes {
        let Some(v) = &n.version else { continue };
        let behind = minor_distance(v.minor_line(), newest.minor_line());
        if behind.is_none_or(|d| d > MAX_SUPPORTED_LAG) && v < newest {
            let lag = behind.map_or_else(|| "a major".to_owned(), |d| format!("{d} minors"));
            let summary = format!(
                "{v} is {lag} behind {newest}, the newest release the policy names; stay within {MAX_SUPPORTED_LAG} (N-2)"
            );
            out.push(
                Finding::new(
                    Kind::VersionUnsupported,
                    Severity::Warning,
                    Some(cluster),
                    Some(n.id),
                    None,
                    summary,
                    now,
                )
                .with("version", v.to_string())
                .with("target", newest.to_string())
                .with_opt("minors_behind", behind),
            );
        }
    }
    out
}
