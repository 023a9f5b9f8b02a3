//! Drift scenarios: synthetic nodes whose inventories are edited, evaluated against a policy.

use edgeward_proto::inventory::{ConfigDigest, Inventory, NodeRole};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Bounded, ClusterId, Section, UnixMillis};

use super::*;
use crate::analysis::fleet::Fleet;

const NOW: UnixMillis = UnixMillis(1_795_000_100_000);

/// A fleet of `n` nodes of one cluster (`role` each), each inventory edited by `edit(i, inv)`.
fn fleet(n: u32, role: NodeRole, edit: impl Fn(u32, &mut Inventory)) -> Fleet {
    let mut f = Fleet::new();
    for i in 0..n {
        let node = SyntheticNode::new(i);
        let mut b = node.batch(1, 2, UnixMillis(NOW.0 - 30_000));
        b.header.cluster = Some(ClusterId::new("c1").unwrap());
        let mut samples = std::mem::take(&mut b.samples).into_vec();
        let mut inv = node.inventory();
        inv.role = role;
        edit(i, &mut inv);
        samples[0].inventory = Section::Data(inv);
        b.samples = Bounded::try_from(samples).unwrap();
        f.apply(&b, NOW);
    }
    f
}

fn set(inv: &mut Inventory, key: &str, sha: u8, value: Option<&str>) {
    let mut config: Vec<ConfigDigest> = std::mem::take(&mut inv.config).into_vec();
    config.retain(|d| d.key != key);
    config.push(ConfigDigest {
        key: key.to_owned(),
        sha256: [sha; 32],
        value: value.map(str::to_owned),
        modified_at: None,
    });
    config.sort_by(|a, b| a.key.cmp(&b.key));
    inv.config = Bounded::try_from(config).unwrap();
}

fn ids(findings: &[Finding], kind: Kind) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.id.to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn a_key_that_must_be_equal_on_servers_is_named_with_each_servers_digest() {
    let f = fleet(3, NodeRole::Server, |i, inv| {
        set(
            inv,
            "k3s/config.yaml:cluster-cidr",
            if i == 2 { 9 } else { 1 },
            None,
        );
    });
    let found = evaluate(&f, &Policy::default(), NOW);
    assert_eq!(
        ids(&found, Kind::DriftServerKeys),
        ["drift_server_keys/c1/-/k3s/config.yaml:cluster-cidr"]
    );
    let d = found
        .iter()
        .find(|f| f.kind == Kind::DriftServerKeys)
        .unwrap();
    assert_eq!(d.severity, Severity::Critical);
    assert_eq!(d.control_loop, ControlLoop::Network);
    assert!(
        d.evidence.contains_key("sim-node-00002"),
        "{:?}",
        d.evidence
    );
}

#[test]
fn a_must_be_equal_key_absent_on_one_server_is_drift_too() {
    let f = fleet(2, NodeRole::Server, |i, inv| {
        if i == 0 {
            set(inv, "k3s/config.yaml:secrets-encryption", 1, None);
        }
    });
    let found = evaluate(&f, &Policy::default(), NOW);
    assert_eq!(
        ids(&found, Kind::DriftServerKeys),
        ["drift_server_keys/c1/-/k3s/config.yaml:secrets-encryption"]
    );
}

#[test]
fn agents_are_not_held_to_the_server_only_keys_and_equal_servers_are_quiet() {
    let servers = fleet(3, NodeRole::Server, |_, inv| {
        set(inv, "k3s/config.yaml:cluster-cidr", 1, None);
    });
    assert!(
        ids(
            &evaluate(&servers, &Policy::default(), NOW),
            Kind::DriftServerKeys
        )
        .is_empty()
    );
    let agents = fleet(3, NodeRole::Agent, |i, inv| {
        set(inv, "k3s/config.yaml:cluster-cidr", i as u8, None);
    });
    assert!(
        ids(
            &evaluate(&agents, &Policy::default(), NOW),
            Kind::DriftServerKeys
        )
        .is_empty()
    );
}

#[test]
fn server_manifests_that_differ_between_servers_are_named() {
    let f = fleet(2, NodeRole::Server, |i, inv| {
        set(
            inv,
            "k3s/server/manifests/traefik-config.yaml",
            i as u8 + 1,
            None,
        );
    });
    let found = evaluate(&f, &Policy::default(), NOW);
    assert_eq!(
        ids(&found, Kind::DriftManifests),
        ["drift_manifests/c1/-/k3s/server/manifests/traefik-config.yaml"]
    );
}

#[test]
fn the_odd_node_out_of_a_strict_majority_is_named_and_a_tie_names_nobody() {
    let odd = fleet(4, NodeRole::Agent, |i, inv| {
        set(
            inv,
            "sysctl:net.ipv4.ip_forward",
            if i == 1 { 0 } else { 1 },
            None,
        );
    });
    assert_eq!(
        ids(&evaluate(&odd, &Policy::default(), NOW), Kind::DriftPeers),
        ["drift_peers/c1/sim-node-00001/sysctl:net.ipv4.ip_forward"]
    );
    let tie = fleet(4, NodeRole::Agent, |i, inv| {
        set(inv, "sysctl:net.ipv4.ip_forward", (i % 2) as u8, None);
    });
    assert!(ids(&evaluate(&tie, &Policy::default(), NOW), Kind::DriftPeers).is_empty());
}

#[test]
fn per_node_keys_are_never_compared_with_the_majority() {
    let f = fleet(4, NodeRole::Agent, |i, inv| {
        set(
            inv,
            "k3s/config.yaml:node-ip",
            if i == 0 { 7 } else { 1 },
            None,
        );
    });
    assert!(ids(&evaluate(&f, &Policy::default(), NOW), Kind::DriftPeers).is_empty());
}

#[test]
fn baseline_names_the_key_with_expected_and_actual() {
    let policy = Policy::parse(
        "[baseline]\nkernels = [\"6.6.*\"]\n[baseline.keys]\n\"sysctl:vm.overcommit_memory\" = { value = \"1\" }\n",
        "policy.toml",
    )
    .unwrap();
    let f = fleet(1, NodeRole::Agent, |_, inv| {
        set(inv, "sysctl:vm.overcommit_memory", 3, Some("0"));
    });
    let found = evaluate(&f, &policy, NOW);
    let mut got = ids(&found, Kind::DriftBaseline);
    got.sort();
    assert_eq!(
        got,
        [
            "drift_baseline/c1/sim-node-00000/kernel",
            "drift_baseline/c1/sim-node-00000/sysctl:vm.overcommit_memory"
        ]
    );
    let d = found
        .iter()
        .find(|f| f.subject.as_deref() == Some("sysctl:vm.overcommit_memory"))
        .unwrap();
    assert_eq!(d.evidence["expected"].to_string(), "1");
    assert_eq!(d.evidence["actual"].to_string(), "0");
}

#[test]
fn a_node_matching_the_baseline_has_no_baseline_finding() {
    let policy = Policy::parse(
        "[baseline]\nkernels = [\"6.1.*\"]\nos = [\"Debian GNU/Linux 12 *\"]\n[baseline.keys]\n\"sysctl:vm.overcommit_memory\" = { value = \"1\" }\n",
        "policy.toml",
    )
    .unwrap();
    let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, b"1")
        .as_ref()
        .try_into()
        .unwrap();
    let f = fleet(1, NodeRole::Agent, |_, inv| {
        let mut config = std::mem::take(&mut inv.config).into_vec();
        for d in config
            .iter_mut()
            .filter(|d| d.key == "sysctl:vm.overcommit_memory")
        {
            d.sha256 = digest;
        }
        inv.config = Bounded::try_from(config).unwrap();
    });
    assert!(ids(&evaluate(&f, &policy, NOW), Kind::DriftBaseline).is_empty());
}

#[test]
fn registries_changed_after_k3s_started_mean_a_restart_is_pending() {
    let f = fleet(1, NodeRole::Agent, |_, inv| {
        let started = inv.distro_started_at.unwrap();
        let mut config = std::mem::take(&mut inv.config).into_vec();
        for d in config.iter_mut().filter(|d| d.key == REGISTRIES) {
            d.modified_at = Some(UnixMillis(started.0 + 1_000));
        }
        inv.config = Bounded::try_from(config).unwrap();
    });
    assert_eq!(
        ids(&evaluate(&f, &Policy::default(), NOW), Kind::RestartPending),
        ["restart_pending/c1/sim-node-00000/k3s/registries.yaml"]
    );
    let unchanged = fleet(1, NodeRole::Agent, |_, _| {});
    assert!(
        ids(
            &evaluate(&unchanged, &Policy::default(), NOW),
            Kind::RestartPending
        )
        .is_empty()
    );
}
