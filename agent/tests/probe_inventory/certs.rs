//! Certificates and the cluster identity derived from the cluster CA, on the fixture trees
//! (validity dates: the fixtures' README.md).

use std::fs;

use edgeward_proto::inventory::Inventory;
use edgeward_proto::{Section, UnavailableReason};

use super::support::{copy_fixture, fixture, inventory, keys, sha256};

const JAN_2025: i64 = 1_735_689_600_000;
const JAN_2035: i64 = 2_051_222_400_000;

#[test]
fn k3s_server_certificates_carry_their_validity_and_skip_temporary_certs() {
    let inv = inventory(&fixture("k3s-server"));
    let seen: Vec<(&str, &str, i64, i64, bool)> = inv
        .certificates
        .iter()
        .map(|c| {
            let path = c
                .path
                .strip_prefix("/var/lib/rancher/k3s/")
                .expect("k3s path");
            (
                path,
                c.subject_cn.as_str(),
                c.not_before.0,
                c.not_after.0,
                c.is_ca,
            )
        })
        .collect();
    let tls = |s: &'static str| s;
    assert_eq!(
        seen,
        [
            (
                tls("server/tls/client-admin.crt"),
                "system:admin",
                JAN_2025,
                JAN_2035,
                false
            ),
            (
                "server/tls/client-ca.crt",
                "k3s-client-ca@1735689600",
                JAN_2025,
                JAN_2035,
                true
            ),
            (
                "server/tls/client-kube-proxy.crt",
                "system:kube-proxy",
                1_704_067_200_000,
                JAN_2025,
                false
            ),
            (
                "server/tls/etcd/server-ca.crt",
                "etcd-server-ca@1735689600",
                JAN_2025,
                JAN_2035,
                true
            ),
            (
                "server/tls/etcd/server-client.crt",
                "etcd-server",
                JAN_2025,
                JAN_2035,
                false
            ),
            (
                "server/tls/request-header-ca.crt",
                "k3s-request-header-ca@1735689600",
                JAN_2025,
                JAN_2035,
                true
            ),
            (
                "server/tls/server-ca.crt",
                "k3s-server-ca@1735689600",
                JAN_2025,
                JAN_2035,
                true
            ),
            (
                "server/tls/serving-kube-apiserver.crt",
                "kube-apiserver",
                JAN_2025,
                JAN_2035,
                false
            ),
            (
                "agent/client-ca.crt",
                "k3s-client-ca@1735689600",
                JAN_2025,
                JAN_2035,
                true
            ),
            (
                "agent/client-kubelet.crt",
                "system:node:edge-srv-1",
                1_768_003_200_000,
                1_799_539_200_000,
                false
            ),
            (
                "agent/server-ca.crt",
                "k3s-server-ca@1735689600",
                JAN_2025,
                JAN_2035,
                true
            ),
            (
                "agent/serving-kubelet.crt",
                "edge-srv-1",
                JAN_2025,
                JAN_2035,
                false
            ),
        ]
    );
    assert!(
        keys(&inv).iter().all(|k| !k.starts_with("inventory/")),
        "{:?}",
        keys(&inv)
    );
}

#[test]
fn cluster_identity_is_shared_by_the_k3s_agent_and_differs_from_microk8s() {
    let server = inventory(&fixture("k3s-server"));
    let agent = inventory(&fixture("k3s-agent"));
    let micro = inventory(&fixture("microk8s"));
    let id = |inv: &Inventory| match &inv.cluster_identity {
        Section::Data(id) => id.clone(),
        other => panic!("no identity: {other:?}"),
    };
    assert_eq!(
        id(&server).source,
        "/var/lib/rancher/k3s/server/tls/server-ca.crt"
    );
    assert_eq!(
        id(&agent).source,
        "/var/lib/rancher/k3s/agent/server-ca.crt"
    );
    assert_eq!(id(&micro).source, "/var/snap/microk8s/current/certs/ca.crt");
    assert_eq!(id(&server).sha256, id(&agent).sha256);
    assert_ne!(id(&server).sha256, id(&micro).sha256);
    // It is the hash of the DER, not of the file.
    let pem = fs::read(fixture("k3s-agent").join("var/lib/rancher/k3s/agent/server-ca.crt"))
        .expect("read");
    assert_ne!(id(&agent).sha256, sha256(&pem));
}

#[test]
fn cluster_identity_ignores_line_endings_and_comments_around_the_pem() {
    let host = copy_fixture("k3s-agent");
    let path = host.path().join("var/lib/rancher/k3s/agent/server-ca.crt");
    let pem = fs::read_to_string(&path).expect("read");
    let reformatted = format!(
        "# fetched from the server\r\n{}\r\n\r\n",
        pem.replace('\n', "\r\n")
    );
    fs::write(&path, reformatted).expect("write");
    let original = inventory(&fixture("k3s-agent")).cluster_identity;
    assert_eq!(inventory(host.path()).cluster_identity, original);
}

#[test]
fn a_k3s_node_without_its_ca_says_so() {
    let host = copy_fixture("k3s-agent");
    fs::remove_file(host.path().join("var/lib/rancher/k3s/agent/server-ca.crt")).expect("rm");
    let Section::Unavailable(u) = inventory(host.path()).cluster_identity else {
        panic!("expected unavailable identity");
    };
    assert_eq!(u.reason, UnavailableReason::NotFound);
    assert!(u.detail.contains("agent/server-ca.crt"), "{}", u.detail);
}
