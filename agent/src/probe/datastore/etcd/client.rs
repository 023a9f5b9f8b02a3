//! HTTP clients for etcd: a TLS client with K3s's etcd client certificate for the client
//! port, a plain one for the metrics port, and a bounded request.
//!
//! Built like the uplink's client (`uplink/mod.rs`): reqwest + rustls (ring), the CA file
//! replaces the system roots, the client certificate and key form the identity. Unlike the
//! uplink, proxies are never used (`no_proxy`): etcd is on loopback and an `HTTPS_PROXY` in the
//! agent's environment must not capture it.
//!
//! Connections are not kept between requests (see `base`). The TLS client is rebuilt only
//! when the bytes of the CA, certificate or key change (K3s rotates its certificates on
//! restart when they near expiry); a fingerprint of the bytes is kept, not the key. Answers
//! are read chunk by chunk and refused beyond a limit.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::detect::read_host_text;
use super::super::error::DatastoreError;
use crate::probe::{HostRoot, ProbeError, READ_LIMIT};

/// Where one credential file is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialPath {
    /// A host path, read under the host root (the K3s defaults).
    Host(PathBuf),
    /// The agent's own path, read as is (configured explicitly).
    Agent(PathBuf),
}

impl CredentialPath {
    fn read(&self, root: &HostRoot) -> Result<(Vec<u8>, PathBuf), DatastoreError> {
        match self {
            Self::Host(p) => Ok((read_host_text(root, p)?.into_bytes(), root.join(p))),
            Self::Agent(p) => {
                let fail = |source| ProbeError::Read {
                    path: p.clone(),
                    source,
                };
                let mut bytes = Vec::new();
                std::fs::File::open(p)
                    .map_err(fail)?
                    .take(READ_LIMIT)
                    .read_to_end(&mut bytes)
                    .map_err(fail)?;
                Ok((bytes, p.clone()))
            }
        }
    }
}

/// The three files of etcd's client TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub ca: CredentialPath,
    pub cert: CredentialPath,
    pub key: CredentialPath,
}

/// A TLS client and the fingerprint of the credentials it was built from.
#[derive(Debug, Default)]
pub struct TlsClient {
    built: Option<(u64, reqwest::Client)>,
}

impl TlsClient {
    /// The client for the current credential files, rebuilt when they changed.
    pub fn get(
        &mut self,
        root: &HostRoot,
        creds: &Credentials,
        timeout: Duration,
    ) -> Result<reqwest::Client, DatastoreError> {
        let (ca, ca_path) = creds.ca.read(root)?;
        let (cert, cert_path) = creds.cert.read(root)?;
        let (key, _) = creds.key.read(root)?;
        let mut hasher = DefaultHasher::new();
        (&ca, &cert, &key).hash(&mut hasher);
        let fingerprint = hasher.finish();
        if let Some((f, client)) = &self.built
            && *f == fingerprint
        {
            return Ok(client.clone());
        }
        let pem_error = |what, path: &Path| {
            let path = path.to_owned();
            move |source| DatastoreError::Pem { what, path, source }
        };
        let roots =
            reqwest::Certificate::from_pem_bundle(&ca).map_err(pem_error("CA file", &ca_path))?;
        let mut identity = cert;
        identity.push(b'\n');
        identity.extend(key);
        let identity = reqwest::Identity::from_pem(&identity)
            .map_err(pem_error("client certificate and key", &cert_path))?;
        let mut builder = base(timeout)
            .tls_built_in_root_certs(false)
            .identity(identity);
        for cert in roots {
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().map_err(DatastoreError::Client)?;
        self.built = Some((fingerprint, client.clone()));
        Ok(client)
    }
}

/// A plain client (for the metrics port).
pub fn plain(timeout: Duration) -> Result<reqwest::Client, DatastoreError> {
    base(timeout).build().map_err(DatastoreError::Client)
}

fn base(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        // No connection outlives its cycle: a request never rides a connection to an etcd
        // that has since died or restarted (which fails as a dropped connection, not as the
        // refused one it is), and the agent holds no idle sockets between cycles. The price is
        // a TLS handshake per request per cycle.
        .pool_max_idle_per_host(0)
        .user_agent(concat!("edgeward-agent/", env!("CARGO_PKG_VERSION")))
}

/// An answer: status and at most `limit` bytes of body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// `GET` (`body` `None`) or `POST` a JSON body to `url`, reading at most `limit` bytes back.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    body: Option<&'static str>,
    limit: usize,
) -> Result<Answer, DatastoreError> {
    let request = match body {
        None => client.get(url),
        Some(json) => client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json),
    };
    let http = |source| DatastoreError::Http {
        url: url.to_owned(),
        source,
    };
    let mut response = request.send().await.map_err(http)?;
    let status = response.status().as_u16();
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http)? {
        if out.len() + chunk.len() > limit {
            return Err(DatastoreError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body: out })
}
