//! [`KubeletOptions`]: where and how the probe reaches the kubelet, every default documented,
//! and the base URL the `:10250` endpoints are joined to.
//!
//! Invariant: with `server_name` set, requests still go to the address in `api_url` (pinned
//! with reqwest's `resolve`), only the certificate is verified against the name.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::credentials::KubeletAuth;

/// Default of [`KubeletOptions::healthz_url`].
pub const DEFAULT_HEALTHZ_URL: &str = "http://127.0.0.1:10248/healthz";
/// Default of [`KubeletOptions::api_url`].
pub const DEFAULT_API_URL: &str = "https://127.0.0.1:10250";
/// Default of [`KubeletOptions::service_account_dir`].
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The detail of a 401/403 on a K3s node (DOMAIN.md §1).
pub const K3S_UNAUTHORIZED: &str =
    "K3s checks :10250 requests with the API server, which may be unreachable";
/// The detail of a 401/403 elsewhere.
pub const RBAC_UNAUTHORIZED: &str = "the kubelet refused these credentials (they need get on nodes/proxy, nodes/stats and nodes/metrics)";

/// How the probe reaches the kubelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletOptions {
    /// The liveness endpoint. Default [`DEFAULT_HEALTHZ_URL`].
    pub healthz_url: Url,
    /// Base URL of the authenticated API. Default [`DEFAULT_API_URL`] (a DaemonSet needs
    /// `hostNetwork: true`).
    pub api_url: Url,
    /// Credentials for `api_url`. Default [`KubeletAuth::Auto`] (see [`credentials`](super::credentials)).
    pub auth: KubeletAuth,
    /// CA bundle that signs the kubelet's serving certificate, the agent's own path. Default
    /// `None`: auto-detected (see [`credentials`](super::credentials)).
    pub ca_file: Option<PathBuf>,
    /// Name to verify the kubelet's certificate against when it does not name the host of
    /// `api_url` (which must then be an IP address); requests still go to that address.
    /// Default `None`: verify against the host of `api_url`.
    pub server_name: Option<String>,
    /// Where a pod's ServiceAccount token and CA are mounted (the agent's own path), searched
    /// by [`KubeletAuth::Auto`]. Default [`SERVICE_ACCOUNT_DIR`].
    pub service_account_dir: PathBuf,
    /// Per request, connecting included. Default 5 s.
    pub timeout: Duration,
    /// Largest body read from `:10250`. Default 16 MiB.
    pub max_body_bytes: usize,
}

impl Default for KubeletOptions {
    #[allow(clippy::expect_used)] // invariant: the two constants are valid URLs (tested)
    fn default() -> Self {
        Self {
            healthz_url: Url::parse(DEFAULT_HEALTHZ_URL).expect("constant URL"),
            api_url: Url::parse(DEFAULT_API_URL).expect("constant URL"),
            auth: KubeletAuth::Auto,
            ca_file: None,
            server_name: None,
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            timeout: Duration::from_secs(5),
            max_body_bytes: 16 << 20,
        }
    }
}

/// `api_url` with a trailing `/` (so endpoint paths join below it) and, with a server name,
/// that name as host, pinned to the URL's IP address and port.
pub fn base_url(
    api_url: &Url,
    server_name: Option<&str>,
) -> Result<(Url, Option<(String, SocketAddr)>), String> {
    let mut base = api_url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let Some(name) = server_name else {
        return Ok((base, None));
    };
    let ip: IpAddr = match api_url.host() {
        Some(url::Host::Ipv4(ip)) => ip.into(),
        Some(url::Host::Ipv6(ip)) => ip.into(),
        _ => {
            return Err(format!(
                "server_name {name:?} needs an IP address in api_url {api_url}"
            ));
        }
    };
    let port = api_url.port_or_known_default().unwrap_or(10250);
    base.set_host(Some(name))
        .map_err(|e| format!("server_name {name:?} is not a host name: {e}"))?;
    Ok((base, Some((name.to_owned(), SocketAddr::new(ip, port)))))
}
