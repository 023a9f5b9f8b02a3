//! Certificates under the distribution's TLS directories (DOMAIN.md §5: "certificate notAfter
//! of every cert"; K3s leaves live 365 d and renew only at a restart when < 120 d remain, CAs
//! 10 y).
//!
//! | distro | files (under the host root) |
//! | --- | --- |
//! | K3s | `/var/lib/rancher/k3s/server/tls/**` (4 levels, not `temporary-certs/`), `/var/lib/rancher/k3s/agent/*` |
//! | MicroK8s | `/var/snap/microk8s/current/certs/*`, `/var/snap/microk8s/current/var/kubernetes/backend/*` |
//!
//! Files named `*.crt` or `*.pem` (any case). Each yields its **first** certificate: the
//! first PEM `CERTIFICATE` block, or the whole file when it is DER. K3s appends the issuing CA
//! to some leaf files (`client-admin.crt`); that CA is reported from its own file.
//! `temporary-certs/` holds the API server's self-signed loopback certificate, regenerated at
//! every start: it would make the inventory change on each restart without telling anyone
//! anything.
//!
//! Bounded to [`MAX_CERTIFICATES`] (the wire bound), in path order. A file that cannot be read
//! or parsed is logged at DEBUG and counted: the count ships as the config digest
//! `inventory/unreadable-certificates` (value = count, digest over the sorted paths), and
//! files past the bound as `inventory/omitted-certificates`, so neither problem is silent.

use std::borrow::Cow;
use std::path::Path;

use edgeward_proto::inventory::{Certificate, Distro};
use edgeward_proto::{Bounded, UnixMillis};
use tracing::debug;
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;

use super::files;
use crate::probe::{HostRoot, READ_LIMIT};

/// The wire bound of `Inventory::certificates`.
pub(crate) const MAX_CERTIFICATES: usize = Bounded::<Certificate, 512>::MAX;
/// Longest subject CN kept.
const MAX_CN: usize = 128;
/// PEM blocks looked at per file before giving up on finding a certificate.
const MAX_BLOCKS: usize = 16;

/// The certificates found, and the files that did not yield one.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub certificates: Bounded<Certificate, 512>,
    /// Host paths of candidate files that could not be read or parsed.
    pub unreadable: Vec<String>,
    /// Candidate files past the bound.
    pub omitted: usize,
}

/// (directory, depth, skipped subdirectory) per distribution.
fn sources(distro: Distro) -> &'static [(&'static str, usize, &'static str)] {
    match distro {
        Distro::K3s => &[
            ("/var/lib/rancher/k3s/server/tls", 4, "temporary-certs"),
            ("/var/lib/rancher/k3s/agent", 0, ""),
        ],
        Distro::MicroK8s => &[
            ("/var/snap/microk8s/current/certs", 0, ""),
            ("/var/snap/microk8s/current/var/kubernetes/backend", 0, ""),
        ],
        Distro::Other => &[],
    }
}

/// Every certificate of `distro`'s TLS directories.
pub(crate) fn scan(root: &HostRoot, distro: Distro) -> Scan {
    let mut scan = Scan::default();
    for (dir, depth, skipped) in sources(distro) {
        let Ok(found) = files::walk(root, dir, *depth, |name| name == *skipped) else {
            continue;
        };
        for (_, host_path) in found {
            if !is_certificate_name(&host_path) {
                continue;
            }
            let shown = host_path.to_string_lossy().into_owned();
            if scan.certificates.len() >= MAX_CERTIFICATES {
                scan.omitted += 1;
                continue;
            }
            match read(root, &host_path) {
                Some(cert) => {
                    // Cannot fail: the bound was checked above.
                    let _ = scan.certificates.push(cert);
                }
                None => scan.unreadable.push(shown),
            }
        }
    }
    scan.unreadable.sort();
    scan
}

/// `*.crt` or `*.pem`, any case.
fn is_certificate_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("crt") || e.eq_ignore_ascii_case("pem"))
}

/// The first certificate of host file `host_path`, or `None` (logged at DEBUG).
fn read(root: &HostRoot, host_path: &Path) -> Option<Certificate> {
    let file = match files::read(root, host_path, READ_LIMIT) {
        Ok(file) => file,
        Err(e) => {
            debug!(error = %e.detail(), "Certificate file unreadable");
            return None;
        }
    };
    let Some(der) = certificate_der(&file.bytes) else {
        debug!(path = %host_path.display(), "No certificate in file");
        return None;
    };
    let cert = match x509_parser::parse_x509_certificate(&der) {
        Ok((_, cert)) => cert,
        Err(e) => {
            debug!(path = %host_path.display(), error = %e, "Certificate does not parse");
            return None;
        }
    };
    Some(describe(&cert, host_path))
}

fn describe(cert: &X509Certificate<'_>, host_path: &Path) -> Certificate {
    let subject_cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CN)
        .collect();
    let millis = |secs: i64| UnixMillis(secs.saturating_mul(1000));
    Certificate {
        path: host_path.to_string_lossy().into_owned(),
        subject_cn,
        not_before: millis(cert.validity().not_before.timestamp()),
        not_after: millis(cert.validity().not_after.timestamp()),
        is_ca: cert.is_ca(),
    }
}

/// The DER of the first certificate in `bytes`: the first PEM `CERTIFICATE` block that
/// decodes, or `bytes` itself when it has no PEM block and parses as a DER certificate.
/// Comments, whitespace and line endings around PEM blocks do not matter.
pub(crate) fn certificate_der(bytes: &[u8]) -> Option<Cow<'_, [u8]>> {
    let mut saw_block = false;
    for block in Pem::iter_from_buffer(bytes).take(MAX_BLOCKS) {
        saw_block = true;
        if let Ok(pem) = block
            && pem.label == "CERTIFICATE"
        {
            return Some(Cow::Owned(pem.contents));
        }
    }
    if saw_block {
        return None;
    }
    x509_parser::parse_x509_certificate(bytes)
        .is_ok()
        .then_some(Cow::Borrowed(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM_HEADER: &str = "-----BEGIN CERTIFICATE-----";

    #[test]
    fn binary_garbage_and_truncated_pem_yield_nothing_without_panicking() {
        let garbage: Vec<u8> = (0..4096_u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(certificate_der(&garbage).is_none());
        assert!(certificate_der(format!("{PEM_HEADER}\nAAAA").as_bytes()).is_none());
        assert!(
            certificate_der(format!("{PEM_HEADER}\n!!!!\n-----END CERTIFICATE-----\n").as_bytes())
                .is_none()
        );
        assert!(certificate_der(b"").is_none());
    }

    #[test]
    fn a_private_key_block_is_not_a_certificate() {
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(certificate_der(key.as_bytes()).is_none());
    }

    #[test]
    fn certificate_names_are_crt_and_pem_in_any_case() {
        assert!(is_certificate_name(Path::new("/a/server-ca.crt")));
        assert!(is_certificate_name(Path::new("/a/ca.PEM")));
        assert!(!is_certificate_name(Path::new("/a/server-ca.key")));
        assert!(!is_certificate_name(Path::new("/a/crt")));
    }
}
