//! The cluster identity: the SHA-256 of the DER of the cluster's server CA certificate, which
//! every node of one cluster holds and no other cluster shares, so the aggregator can group
//! nodes by cluster without asking an API server (DOMAIN.md §1: often unreachable).
//!
//! | distro | CA file (under the host root), first found |
//! | --- | --- |
//! | K3s | `/var/lib/rancher/k3s/server/tls/server-ca.crt` (servers), `/var/lib/rancher/k3s/agent/server-ca.crt` (every node: the same certificate, fetched from a server) |
//! | MicroK8s | `/var/snap/microk8s/current/certs/ca.crt` (copied to every node on join) |
//!
//! The hash covers the DER of the first PEM `CERTIFICATE` block ([`certs::certificate_der`]),
//! not the file's bytes, so line endings, comments or a trailing chain do not change it.

use edgeward_proto::inventory::{ClusterIdentity, Distro};
use edgeward_proto::{Section, UnavailableReason};

use super::{certs, files};
use crate::probe::{HostRoot, READ_LIMIT};

/// Where each distribution keeps its cluster CA, in order of preference.
fn sources(distro: Distro) -> &'static [&'static str] {
    match distro {
        Distro::K3s => &[
            "/var/lib/rancher/k3s/server/tls/server-ca.crt",
            "/var/lib/rancher/k3s/agent/server-ca.crt",
        ],
        Distro::MicroK8s => &["/var/snap/microk8s/current/certs/ca.crt"],
        Distro::Other => &[],
    }
}

/// The cluster identity of this node, or why there is none.
pub(crate) fn cluster_identity(root: &HostRoot, distro: Distro) -> Section<ClusterIdentity> {
    let sources = sources(distro);
    if sources.is_empty() {
        return Section::unavailable(
            UnavailableReason::NotApplicable,
            "neither K3s nor MicroK8s files on this host",
        );
    }
    for source in sources {
        let file = match files::read(root, source, READ_LIMIT) {
            Ok(file) => file,
            Err(e) if e.reason() == UnavailableReason::NotFound => continue,
            Err(e) => return e.to_section(),
        };
        return match certs::certificate_der(&file.bytes) {
            Some(der) => Section::Data(ClusterIdentity {
                sha256: files::sha256(&der),
                source: (*source).to_owned(),
            }),
            None => Section::unavailable(
                UnavailableReason::Unparseable,
                format!(
                    "{}: no certificate in the file",
                    root.join(source).display()
                ),
            ),
        };
    }
    Section::unavailable(
        UnavailableReason::NotFound,
        format!("no cluster CA certificate: none of {}", sources.join(", ")),
    )
}
