//! Which credentials and which CA the agent uses for the kubelet's `:10250` API, read fresh
//! every cycle so a rotated token or renewed certificate is picked up without a restart.
//!
//! **Paths.** Explicitly configured paths ([`KubeletAuth::Token`],
//! [`KubeletAuth::ClientCertificate`], `ca_file`) are the agent's own paths, like every other
//! file in its config (the token a DaemonSet mounts lives in the agent's container, not on
//! the host). Auto-detected K3s and MicroK8s files are host paths, resolved under the
//! [`HostRoot`]; the ServiceAccount directory is the agent's own (it is the pod's mount).
//!
//! | [`KubeletAuth::Auto`], first found | kind |
//! | --- | --- |
//! | `<service_account_dir>/token` (a DaemonSet's ServiceAccount; RBAC `get` on `nodes/proxy`, `nodes/stats`, `nodes/metrics`, DOMAIN.md §1) | bearer token |
//! | `<root>/var/lib/rancher/k3s/server/tls/client-kube-apiserver.{crt,key}` (K3s server: what the API server itself uses for the kubelet API) | client certificate |
//! | `<root>/var/snap/microk8s/current/certs/server.{crt,key}` (MicroK8s: its `kube-apiserver` args name these as `--kubelet-client-certificate`/`-key`) | client certificate |
//!
//! | CA when `ca_file` is not set, first found | |
//! | --- | --- |
//! | `<root>/var/lib/rancher/k3s/agent/server-ca.crt` | K3s: signs the kubelet's serving certificate |
//! | `<root>/var/snap/microk8s/current/certs/ca.crt` | MicroK8s (`--kubelet-certificate-authority`) |
//! | `<service_account_dir>/ca.crt` | the cluster CA mounted into pods |
//!
//! Without credentials the `:10250` sections are `PermissionDenied`; without a CA they are
//! `Failed`: the agent never talks to the kubelet unverified. A kubelet with a self-signed
//! serving certificate (no `--tls-cert-file`) needs `ca_file` pointed at that certificate.

use std::io;
use std::path::{Path, PathBuf};

use crate::probe::HostRoot;

use super::client::FetchError;

/// How the agent authenticates to the kubelet's `:10250` API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KubeletAuth {
    /// Look in the documented places (module doc), first found wins. The default.
    #[default]
    Auto,
    /// A bearer token file (agent's own path), re-read every cycle.
    Token(PathBuf),
    /// A client certificate and key, PEM (agent's own paths).
    ClientCertificate { cert: PathBuf, key: PathBuf },
}

pub const K3S_CLIENT_CERT: &str = "/var/lib/rancher/k3s/server/tls/client-kube-apiserver.crt";
pub const K3S_CLIENT_KEY: &str = "/var/lib/rancher/k3s/server/tls/client-kube-apiserver.key";
pub const K3S_SERVER_CA: &str = "/var/lib/rancher/k3s/agent/server-ca.crt";
pub const MICROK8S_CLIENT_CERT: &str = "/var/snap/microk8s/current/certs/server.crt";
pub const MICROK8S_CLIENT_KEY: &str = "/var/snap/microk8s/current/certs/server.key";
pub const MICROK8S_CA: &str = "/var/snap/microk8s/current/certs/ca.crt";

/// Largest credential or CA file read (a CA bundle is a few KiB).
const MAX_FILE: u64 = 1 << 20;

/// What one cycle authenticates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The token, trimmed.
    Token(String),
    /// Certificate PEM, a newline, key PEM (what `reqwest::Identity::from_pem` takes).
    Certificate { pem: Vec<u8>, cert: PathBuf },
}

/// The credentials and CA for this cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub identity: Identity,
    pub ca_pem: Vec<u8>,
    pub ca_path: PathBuf,
}

/// Reads the credentials and CA for this cycle.
pub fn resolve(
    root: &HostRoot,
    auth: &KubeletAuth,
    ca_file: Option<&Path>,
    service_account_dir: &Path,
) -> Result<Resolved, FetchError> {
    let identity = match auth {
        KubeletAuth::Token(file) => token(file)?,
        KubeletAuth::ClientCertificate { cert, key } => certificate(cert, key)?,
        KubeletAuth::Auto => auto_identity(root, service_account_dir)?,
    };
    let (ca_path, ca_pem) = match ca_file {
        Some(path) => (path.to_owned(), read(path, "CA file")?),
        None => auto_ca(root, service_account_dir)?,
    };
    Ok(Resolved {
        identity,
        ca_pem,
        ca_path,
    })
}

fn auto_identity(root: &HostRoot, sa_dir: &Path) -> Result<Identity, FetchError> {
    let sa_token = sa_dir.join("token");
    if sa_token.is_file() {
        return token(&sa_token);
    }
    for (cert, key) in [
        (K3S_CLIENT_CERT, K3S_CLIENT_KEY),
        (MICROK8S_CLIENT_CERT, MICROK8S_CLIENT_KEY),
    ] {
        let (cert, key) = (root.join(cert), root.join(key));
        if cert.is_file() {
            return certificate(&cert, &key);
        }
    }
    Err(FetchError::NoCredentials {
        looked: format!(
            "{}, {}, {}",
            sa_token.display(),
            root.join(K3S_CLIENT_CERT).display(),
            root.join(MICROK8S_CLIENT_CERT).display()
        ),
    })
}

fn auto_ca(root: &HostRoot, sa_dir: &Path) -> Result<(PathBuf, Vec<u8>), FetchError> {
    let candidates = [
        root.join(K3S_SERVER_CA),
        root.join(MICROK8S_CA),
        sa_dir.join("ca.crt"),
    ];
    for path in &candidates {
        if path.is_file() {
            return Ok((path.clone(), read(path, "CA file")?));
        }
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(FetchError::NoCa {
        looked: looked.join(", "),
    })
}

fn token(file: &Path) -> Result<Identity, FetchError> {
    let bytes = read(file, "token file")?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    if text.is_empty() {
        return Err(FetchError::Credential {
            what: "token file",
            path: file.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidData, "empty"),
        });
    }
    Ok(Identity::Token(text))
}

fn certificate(cert: &Path, key: &Path) -> Result<Identity, FetchError> {
    let mut pem = read(cert, "client certificate")?;
    pem.push(b'\n');
    pem.extend(read(key, "client key")?);
    Ok(Identity::Certificate {
        pem,
        cert: cert.to_owned(),
    })
}

/// Reads at most [`MAX_FILE`] bytes of a credential file.
fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, FetchError> {
    use std::io::Read;
    let fail = |source| FetchError::Credential {
        what,
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(fail(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE} bytes"),
        )));
    }
    Ok(bytes)
}
