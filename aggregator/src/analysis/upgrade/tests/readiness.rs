//! Which health findings block a node, and as what.

use super::*;
use crate::analysis::upgrade::BlockerKind;

#[test]
fn health_findings_become_named_blockers_referencing_them() {
    use BlockerKind as B;
    use Kind as K;
    use Severity::{Critical, Info, Warning};
    /// (kind, severity, on the server (else the agent; `None`: the cluster), subject, blocker)
    type Row = (K, Severity, Option<bool>, Option<&'static str>, Option<B>);
    let table: [Row; 16] = [
        (
            K::MemoryPressure,
            Warning,
            Some(false),
            None,
            Some(B::Pressure),
        ),
        (
            K::PidPressure,
            Critical,
            Some(false),
            None,
            Some(B::Pressure),
        ),
        (K::MemoryPressure, Info, Some(false), None, None),
        (
            K::DiskPressure,
            Warning,
            Some(false),
            None,
            Some(B::LowDisk),
        ),
        (
            K::ThinMargin,
            Warning,
            Some(false),
            Some("nodefs.available"),
            Some(B::LowDisk),
        ),
        (
            K::ThinMargin,
            Warning,
            Some(false),
            Some("memory.available"),
            None,
        ),
        (
            K::CertExpired,
            Critical,
            Some(false),
            Some("/var/lib/rancher/k3s/agent/client-kubelet.crt"),
            Some(B::Certificate),
        ),
        (K::CertExpiring, Warning, Some(false), None, None),
        (
            K::CertExpiring,
            Critical,
            Some(false),
            None,
            Some(B::Certificate),
        ),
        (
            K::KubeletDown,
            Critical,
            Some(false),
            None,
            Some(B::KubeletDown),
        ),
        (K::NodeStale, Warning, Some(false), None, Some(B::Stale)),
        (K::CrashLooping, Critical, Some(false), None, None),
        (
            K::SqliteIntegrity,
            Critical,
            Some(true),
            None,
            Some(B::DatastoreUnhealthy),
        ),
        (K::SqliteWalGrowth, Info, Some(true), None, None),
        (
            K::QuorumAtRisk,
            Critical,
            None,
            None,
            Some(B::DatastoreUnhealthy),
        ),
        (
            K::EtcdNoLeader,
            Warning,
            None,
            None,
            Some(B::DatastoreUnhealthy),
        ),
    ];
    for (kind, severity, on_server, subject, want) in table {
        let node = on_server.map(|s| nid(if s { "s1" } else { "a1" }));
        let f = Finding::new(
            kind,
            severity,
            Some(&cid("c")),
            node.as_ref(),
            subject,
            format!("{kind} here"),
            NOW,
        );
        let nodes = [
            server("c", "s1", "v1.31.1+k3s1").with(sqlite()),
            agent("c", "a1", "v1.31.1+k3s1"),
        ];
        let (plan, _) = eval(&fleet(&nodes), &anytime(1), std::slice::from_ref(&f));
        let blocked = if on_server == Some(false) { "a1" } else { "s1" };
        let step = cluster(&plan, "c")
            .steps
            .iter()
            .find(|s| s.node.as_str() == blocked)
            .expect("step");
        let got: Vec<(B, Option<String>)> = step
            .blockers
            .iter()
            .map(|b| (b.kind, b.finding.as_ref().map(ToString::to_string)))
            .collect();
        let expected: Vec<(B, Option<String>)> = want
            .map(|k| (k, Some(f.id.to_string())))
            .into_iter()
            .collect();
        assert_eq!(got, expected, "{kind} {severity:?} on {blocked}");
        if want.is_some() {
            assert!(
                step.blockers[0].reason.contains(&format!("{kind} here")),
                "{:?}",
                step.blockers[0]
            );
        }
    }
}

#[test]
fn a_node_without_inventory_is_blocked_for_its_unknown_role_and_version() {
    let nodes = [
        server("c", "s1", TARGET).with(sqlite()),
        N {
            no_inventory: true,
            ..agent("c", "x1", TARGET)
        },
    ];
    let (plan, _) = eval(&fleet(&nodes), &anytime(1), &[]);
    let step = &cluster(&plan, "c").steps[0];
    assert_eq!(step.node, nid("x1"));
    let kinds: Vec<BlockerKind> = step.blockers.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [BlockerKind::VersionUnknown, BlockerKind::RoleUnknown]
    );
}

#[test]
fn a_server_whose_datastore_never_reported_is_blocked() {
    let mut s = server("c", "s1", "v1.31.1+k3s1");
    s.datastore = None;
    let (plan, _) = eval(&fleet(&[s]), &anytime(1), &[]);
    let b = &cluster(&plan, "c").steps[0].blockers;
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].kind, BlockerKind::DatastoreUnhealthy);
    assert!(
        b[0].reason
            .contains("datastore state unknown (never reported)"),
        "{}",
        b[0].reason
    );
}
