//! Drift: configuration that differs from what it should be (DOMAIN.md §5).
//!
//! - **Baseline** (the policy's `[baseline]`, kept in Git): per key, expected value or digest;
//!   allowed kernels and OS releases; the expected agent version.
//! - **Peers**: per cluster, the K3s keys that must be equal on every server (else K3s refuses
//!   to join); server manifests that differ between a cluster's servers (K3s does not sync
//!   them); per group and role, nodes whose digest for a key differs from a strict majority.
//! - **Restart pending**: `registries.yaml` changed after K3s last started.
//! - **Agent versions** that differ from the fleet's majority.
//!
//! Every check reads the node's newest inventory only; a node without one is left out (the
//! health checks already say "unknown" for it), never counted as matching.

mod peers;

use std::collections::BTreeMap;

use edgeward_proto::UnixMillis;
use edgeward_proto::inventory::{ConfigDigest, Inventory};

use super::finding::{ControlLoop, Finding, Kind, Severity};
use super::fleet::Fleet;
use super::node::{NodeState, Observed};
use crate::policy::Policy;

/// The key prefix of merged K3s config flags.
pub const K3S_CONFIG: &str = "k3s/config.yaml:";
/// The key of the whole `registries.yaml` (plus `:mirrors/…` and `:configs/…` entries).
pub const REGISTRIES: &str = "k3s/registries.yaml";
/// Server manifests (`k3s/server/manifests/<path>`).
pub const MANIFESTS: &str = "k3s/server/manifests/";

/// Drift findings for the whole fleet at `now`.
pub fn evaluate(fleet: &Fleet, policy: &Policy, now: UnixMillis) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in fleet.nodes() {
        if let Some(inv) = n.inventory() {
            baseline(n, inv, policy, now, &mut out);
            restart_pending(n, inv, now, &mut out);
        }
    }
    for cluster in fleet.clusters() {
        peers::servers(&cluster, now, &mut out);
    }
    peers::groups(fleet, policy, now, &mut out);
    peers::agent_versions(fleet, policy, now, &mut out);
    out
}

/// The control loop a config key belongs to.
pub fn loop_of(key: &str) -> ControlLoop {
    let flag = key.strip_prefix(K3S_CONFIG).unwrap_or("");
    if key.starts_with(REGISTRIES)
        || flag.contains("cidr")
        || flag.starts_with("flannel")
        || flag.starts_with("cluster-d")
        || flag.starts_with("egress")
        || flag.starts_with("node-ip")
        || flag.starts_with("node-external-ip")
    {
        ControlLoop::Network
    } else if flag.contains("token") || flag.contains("tls") || flag.contains("secrets") {
        ControlLoop::Identity
    } else if flag.starts_with("datastore") || flag.starts_with("etcd") {
        ControlLoop::Storage
    } else {
        ControlLoop::Compute
    }
}

/// What a node shipped for `key`: its value when the key may carry one, else a digest prefix.
pub fn shown(d: &ConfigDigest) -> String {
    match &d.value {
        Some(v) => v.clone(),
        None => format!("sha256:{}", hex_prefix(&d.sha256)),
    }
}

fn globs(g: &[crate::policy::Glob]) -> String {
    g.iter()
        .map(crate::policy::Glob::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn expected_text(e: &crate::policy::Expected) -> String {
    match e {
        crate::policy::Expected::Value { canonical, .. } => canonical.clone(),
        crate::policy::Expected::Sha256(d) => format!("sha256:{}", hex_prefix(d)),
    }
}

fn hex_prefix(d: &[u8; 32]) -> String {
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn digest<'a>(inv: &'a Inventory, key: &str) -> Option<&'a ConfigDigest> {
    inv.config
        .binary_search_by(|d| d.key.as_str().cmp(key))
        .ok()
        .and_then(|i| inv.config.get(i))
        .or_else(|| inv.config.iter().find(|d| d.key == key))
}

fn baseline(
    n: &NodeState,
    inv: &Observed<Inventory>,
    policy: &Policy,
    now: UnixMillis,
    out: &mut Vec<Finding>,
) {
    let b = policy.baseline();
    let (cluster, node) = (n.cluster.as_ref(), n.node());
    let finding = |subject: &str, summary: String, loop_: ControlLoop| {
        Finding::new(
            Kind::DriftBaseline,
            Severity::Warning,
            cluster,
            node,
            Some(subject),
            summary,
            now,
        )
        .in_loop(loop_)
        .measured_at(inv.at)
    };
    for (key, expected) in &b.keys {
        match digest(&inv.value, key) {
            Some(d) if expected.matches(&d.sha256, d.value.as_deref()) => {}
            Some(d) => out.push(
                finding(
                    key,
                    format!("{key} differs from the baseline"),
                    loop_of(key),
                )
                .with("key", key.as_str())
                .with("expected", expected_text(expected))
                .with("actual", shown(d))
                .with_opt("modified_at_ms", d.modified_at.map(|t| t.0)),
            ),
            None => out.push(
                finding(
                    key,
                    format!("{key} is absent; the baseline expects it"),
                    loop_of(key),
                )
                .with("key", key.as_str())
                .with("expected", expected_text(expected))
                .with("actual", "absent"),
            ),
        }
    }
    let kernel = &inv.value.kernel;
    if !b.kernel_allowed(kernel) {
        out.push(
            finding(
                "kernel",
                format!("kernel {kernel} is not an allowed version"),
                ControlLoop::Compute,
            )
            .with("key", "kernel")
            .with("expected", globs(&b.kernels))
            .with("actual", kernel.as_str()),
        );
    }
    let os = &inv.value.os;
    if !b.os_allowed(os) {
        out.push(
            finding(
                "os",
                format!("OS {os} is not an allowed release"),
                ControlLoop::Compute,
            )
            .with("key", "os")
            .with("expected", globs(&b.os))
            .with("actual", os.as_str()),
        );
    }
    if let Some(want) = &b.agent_version
        && &n.agent_version != want
    {
        out.push(
            Finding::new(
                Kind::AgentVersionDrift,
                Severity::Info,
                cluster,
                node,
                Some("baseline"),
                format!("agent {} differs from the baseline {want}", n.agent_version),
                now,
            )
            .with("expected", want.as_str())
            .with("actual", n.agent_version.as_str()),
        );
    }
}

/// `registries.yaml` (or one of its entries) modified after K3s started: K3s reads it only at
/// start, so the node runs with the old registries until it restarts.
fn restart_pending(
    n: &NodeState,
    inv: &Observed<Inventory>,
    now: UnixMillis,
    out: &mut Vec<Finding>,
) {
    let Some(started) = inv.value.distro_started_at else {
        return;
    };
    let changed: BTreeMap<&str, UnixMillis> = inv
        .value
        .config
        .iter()
        .filter(|d| d.key.starts_with(REGISTRIES))
        .filter_map(|d| {
            d.modified_at
                .filter(|m| *m > started)
                .map(|m| (d.key.as_str(), m))
        })
        .collect();
    let Some(newest) = changed.values().max().copied() else {
        return;
    };
    out.push(
        Finding::new(
            Kind::RestartPending,
            Severity::Warning,
            n.cluster.as_ref(),
            n.node(),
            Some(REGISTRIES),
            "registries.yaml changed after K3s started: it takes effect only at the next restart",
            now,
        )
        .measured_at(inv.at)
        .with("distro_started_at_ms", started.0)
        .with("modified_at_ms", newest.0)
        .with(
            "keys",
            changed.keys().copied().collect::<Vec<_>>().join(", "),
        ),
    );
}

#[cfg(test)]
mod tests;
