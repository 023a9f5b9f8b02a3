//! Drift against peers: what must be equal on a cluster's servers, server manifests, the
//! majority of a group, and agent versions.

use std::collections::{BTreeMap, BTreeSet};

use edgeward_proto::UnixMillis;
use edgeward_proto::inventory::{Distro, NodeRole};

use super::{K3S_CONFIG, MANIFESTS, digest, loop_of, shown};
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::fleet::{ClusterView, Fleet};
use crate::analysis::node::NodeState;
use crate::policy::Policy;

/// K3s flags that must be equal on every server, else K3s refuses to join (DOMAIN.md §5).
pub const SERVER_EQUAL: &[&str] = &[
    "agent-token",
    "cluster-cidr",
    "cluster-dns",
    "cluster-domain",
    "disable",
    "disable-cloud-controller",
    "disable-helm-controller",
    "disable-network-policy",
    "egress-selector-mode",
    "embedded-registry",
    "flannel-backend",
    "flannel-external-ip",
    "flannel-ipv6-masq",
    "secrets-encryption",
    "service-cidr",
];

/// Keys that differ between nodes by design: never compared with the majority.
fn per_node(key: &str) -> bool {
    const FLAGS: &[&str] = &[
        "node-name",
        "node-ip",
        "node-external-ip",
        "node-label",
        "node-taint",
        "advertise-address",
        "bind-address",
        "tls-san",
        "with-node-id",
        "server",
        "cluster-init",
    ];
    key.strip_prefix(K3S_CONFIG)
        .is_some_and(|f| FLAGS.contains(&f))
        || key.starts_with("inventory/")
        || key.ends_with(":!unreadable")
}

fn k3s_servers<'a>(
    cluster: &'a ClusterView<'a>,
) -> Vec<(&'a NodeState, &'a edgeward_proto::inventory::Inventory)> {
    cluster
        .servers()
        .filter_map(|n| n.inventory().map(|i| (n, &i.value)))
        .filter(|(_, i)| i.distro == Distro::K3s)
        .collect()
}

type Servers<'a> = [(&'a NodeState, &'a edgeward_proto::inventory::Inventory)];

/// `base` with each server's digest of `key` as evidence (`absent` when it has none), when
/// the servers do not all agree on it.
fn disagreement(servers: &Servers<'_>, key: &str, base: Finding) -> Option<Finding> {
    let seen: Vec<_> = servers
        .iter()
        .map(|(n, inv)| (*n, digest(inv, key)))
        .collect();
    let distinct: BTreeSet<Option<[u8; 32]>> =
        seen.iter().map(|(_, d)| d.map(|d| d.sha256)).collect();
    if distinct.len() < 2 {
        return None;
    }
    let mut f = base.with("key", key);
    for (n, d) in &seen {
        if let Some(id) = n.node() {
            f = f.with(id.as_str(), d.map_or_else(|| "absent".to_owned(), shown));
        }
    }
    Some(f)
}

/// Must-equal keys and manifests between a K3s cluster's servers.
pub(super) fn servers(cluster: &ClusterView<'_>, now: UnixMillis, out: &mut Vec<Finding>) {
    let servers = k3s_servers(cluster);
    if servers.len() < 2 {
        return;
    }
    for flag in SERVER_EQUAL {
        let key = format!("{K3S_CONFIG}{flag}");
        let base = Finding::new(
            Kind::DriftServerKeys,
            Severity::Critical,
            cluster.id,
            None,
            Some(&key),
            format!(
                "{flag} differs between the cluster's servers: a server restart may fail to join"
            ),
            now,
        )
        .in_loop(loop_of(&key));
        out.extend(disagreement(&servers, &key, base));
    }
    let keys: BTreeSet<&str> = servers
        .iter()
        .flat_map(|(_, inv)| inv.config.iter())
        .map(|d| d.key.as_str())
        .filter(|k| k.starts_with(MANIFESTS))
        .collect();
    for key in keys {
        let base = Finding::new(
            Kind::DriftManifests,
            Severity::Warning,
            cluster.id,
            None,
            Some(key),
            format!("{key} differs between servers (K3s does not sync server manifests)"),
            now,
        );
        out.extend(disagreement(&servers, key, base));
    }
}

/// Per group and role: nodes whose digest for a key differs from a strict majority of the
/// nodes that have the key (at least 3 of them). Keys absent on a node are not compared
/// (absence is the baseline's business).
pub(super) fn groups(fleet: &Fleet, policy: &Policy, now: UnixMillis, out: &mut Vec<Finding>) {
    type Peers<'a> = Vec<&'a NodeState>;
    let mut by: BTreeMap<(String, &str), Peers<'_>> = BTreeMap::new();
    for n in fleet.nodes() {
        let (Some(c), Some(_)) = (&n.cluster, n.inventory()) else {
            continue;
        };
        let role = match n.role() {
            NodeRole::Server => "server",
            _ => "agent",
        };
        by.entry((policy.group_of(c).name.clone(), role))
            .or_default()
            .push(n);
    }
    for ((group, role), nodes) in &by {
        if nodes.len() < 3 {
            continue;
        }
        // key → digest → nodes
        let mut keys: BTreeMap<&str, BTreeMap<[u8; 32], Vec<&NodeState>>> = BTreeMap::new();
        for n in nodes {
            let Some(inv) = n.inventory() else { continue };
            for d in inv.value.config.iter().filter(|d| !per_node(&d.key)) {
                keys.entry(d.key.as_str())
                    .or_default()
                    .entry(d.sha256)
                    .or_default()
                    .push(n);
            }
        }
        for (key, by_digest) in keys {
            if by_digest.len() < 2 {
                continue;
            }
            let having: usize = by_digest.values().map(Vec::len).sum();
            let Some((major, majority)) = by_digest.iter().max_by_key(|(_, v)| v.len()) else {
                continue;
            };
            if having < 3 || majority.len() * 2 <= having {
                continue;
            }
            for (_, odd) in by_digest.iter().filter(|(d, _)| *d != major) {
                for n in odd {
                    let shipped = n
                        .inventory()
                        .and_then(|i| digest(&i.value, key))
                        .map_or_else(String::new, shown);
                    let majority_shown = majority
                        .first()
                        .and_then(|m| m.inventory())
                        .and_then(|i| digest(&i.value, key))
                        .map_or_else(String::new, shown);
                    out.push(
                        Finding::new(
                            Kind::DriftPeers,
                            Severity::Warning,
                            n.cluster.as_ref(),
                            n.node(),
                            Some(key),
                            format!(
                                "{key} differs from {} of {having} {role} peers in group {group}",
                                majority.len()
                            ),
                            now,
                        )
                        .in_loop(loop_of(key))
                        .with("key", key)
                        .with("group", group.as_str())
                        .with("majority", majority_shown)
                        .with("actual", shipped)
                        .with("peers_agreeing", majority.len())
                        .with("peers_with_key", having),
                    );
                }
            }
        }
    }
}

/// Agents whose version differs from the fleet's most common one (when the policy does not
/// name the expected version: then the baseline check reports instead).
pub(super) fn agent_versions(
    fleet: &Fleet,
    policy: &Policy,
    now: UnixMillis,
    out: &mut Vec<Finding>,
) {
    if policy.baseline().agent_version.is_some() {
        return;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in fleet.nodes() {
        *counts.entry(n.agent_version.as_str()).or_insert(0) += 1;
    }
    if counts.len() < 2 {
        return;
    }
    let total = fleet.len();
    let Some((&major, &count)) = counts
        .iter()
        .max_by_key(|(v, c)| (**c, std::cmp::Reverse(**v)))
    else {
        return;
    };
    for n in fleet.nodes().filter(|n| n.agent_version != major) {
        out.push(
            Finding::new(
                Kind::AgentVersionDrift,
                Severity::Info,
                n.cluster.as_ref(),
                n.node(),
                Some("fleet"),
                format!(
                    "agent {} differs from the fleet's {major} ({count} of {total} nodes)",
                    n.agent_version
                ),
                now,
            )
            .with("expected", major)
            .with("actual", n.agent_version.as_str())
            .with("nodes_on_expected", count),
        );
    }
}
