//! Version skew inside a cluster, and the N-2 rule.

use super::*;

/// `version_skew` ids (with severity) for servers and agents running these versions.
fn skew(servers: &[&'static str], agents: &[&'static str]) -> Vec<(String, Severity)> {
    let ids = ["n1", "n2", "n3", "n4"];
    let mut nodes: Vec<N> = servers
        .iter()
        .zip(ids)
        .map(|(v, id)| server("c", id, v).with(sqlite()))
        .collect();
    nodes.extend(
        agents
            .iter()
            .zip(["x1", "x2"])
            .map(|(v, id)| agent("c", id, v)),
    );
    let (plan, findings) = eval(&fleet(&nodes), &Policy::default(), &[]);
    let out: Vec<(String, Severity)> = findings
        .iter()
        .filter(|f| f.kind == Kind::VersionSkew)
        .map(|f| (f.id.to_string(), f.severity))
        .collect();
    let listed: Vec<String> = cluster(&plan, "c")
        .skew
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(listed, out.iter().map(|o| o.0.clone()).collect::<Vec<_>>());
    out
}

#[test]
fn skew_rules_count_minors_between_api_servers_and_kubelets() {
    let crit = |id: &str| (id.to_owned(), Severity::Critical);
    for (servers, agents, want) in [
        (
            vec!["v1.31.4+k3s1"],
            vec!["v1.27.9+k3s1"],
            vec![crit("version_skew/c/x1/kubelet-too-old")],
        ),
        (vec!["v1.31.4+k3s1"], vec!["v1.28.9+k3s1"], vec![]),
        (
            vec!["v1.24.9+k3s1"],
            vec!["v1.21.0+k3s1"],
            vec![crit("version_skew/c/x1/kubelet-too-old")],
        ),
        (vec!["v1.24.9+k3s1"], vec!["v1.22.0+k3s1"], vec![]),
        (
            vec!["v1.29.1+k3s1", "v1.31.4+k3s1"],
            vec![],
            vec![crit("version_skew/c/-/apiservers")],
        ),
        (
            vec!["v1.30.1+k3s1", "v1.31.4+k3s1"],
            vec!["v1.30.1+k3s1"],
            vec![],
        ),
        (
            vec!["v1.30.1+k3s1"],
            vec!["v1.31.0+k3s1"],
            vec![crit("version_skew/c/x1/kubelet-newer")],
        ),
        (vec!["v1.30.1+k3s1"], vec!["v1.30.5+k3s1"], vec![]),
        (
            vec!["v1.31.4+k3s1"],
            vec!["v2.0.0"],
            vec![crit("version_skew/c/x1/kubelet-newer")],
        ),
    ] {
        assert_eq!(
            skew(&servers, &agents),
            want,
            "servers {servers:?}, agents {agents:?}"
        );
    }
}

#[test]
fn skew_evidence_names_the_versions_involved() {
    let nodes = [
        server("c", "n1", "v1.31.4+k3s1").with(sqlite()),
        agent("c", "x1", "v1.27.9+k3s1"),
    ];
    let (_, findings) = eval(&fleet(&nodes), &Policy::default(), &[]);
    let f = findings
        .iter()
        .find(|f| f.kind == Kind::VersionSkew)
        .expect("skew finding");
    assert_eq!(f.evidence["kubelet"].to_string(), "v1.27.9+k3s1");
    assert_eq!(f.evidence["apiserver"].to_string(), "v1.31.4+k3s1");
    assert_eq!(f.evidence["minors_behind"].to_string(), "4");
    assert_eq!(f.evidence["max_minors_behind"].to_string(), "3");
}

#[test]
fn nodes_more_than_two_minors_behind_the_newest_known_release_are_unsupported() {
    let text =
        format!("[channels]\nlatest = \"v1.32.1+k3s1\"\n[defaults]\ntarget = \"{TARGET}\"\n");
    for (running, unsupported) in [
        ("v1.29.0+k3s1", true),
        ("v1.30.0+k3s1", false),
        ("v1.32.1+k3s1", false),
    ] {
        let nodes = [server("c", "n1", running).with(sqlite())];
        let (_, findings) = eval(&fleet(&nodes), &policy(&text), &[]);
        let f: Vec<_> = findings
            .iter()
            .filter(|f| f.kind == Kind::VersionUnsupported)
            .collect();
        assert_eq!(f.len(), usize::from(unsupported), "{running}");
        if let Some(f) = f.first() {
            assert_eq!(f.severity, Severity::Warning);
            assert_eq!(f.evidence["target"].to_string(), "v1.32.1+k3s1");
            assert_eq!(f.evidence["minors_behind"].to_string(), "3");
        }
    }
}

#[test]
fn without_a_policy_version_nothing_is_unsupported() {
    let nodes = [server("c", "n1", "v1.20.0+k3s1").with(sqlite())];
    let (_, findings) = eval(&fleet(&nodes), &Policy::default(), &[]);
    assert!(findings.iter().all(|f| f.kind != Kind::VersionUnsupported));
}
