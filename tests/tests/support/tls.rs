//! TLS fixtures for the end-to-end tests: a throw-away PKI, the real aggregator serving HTTPS
//! with client-certificate and bearer-token authentication, and blocking HTTPS clients.
//!
//! The PKI holds a trusted CA (server certificate for 127.0.0.1, node client certificates,
//! current or expired) and a foreign CA the aggregator does not trust.
//!
//! Invariants: clients trust the test CA only, never the system roots; every request ends
//! after [`TIMEOUT`]; the aggregator is killed before its scratch directories are removed
//! (field order of [`TlsAggregator`]).

use std::net::SocketAddr;
use std::path::Path;

use edgeward_devfleet::pki::{CertFiles, DevCa, Validity};
use reqwest::blocking::{Client, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Certificate, Identity};
use serde_json::Value;
use tempfile::TempDir;

use super::{Running, TIMEOUT, aggregator};

/// A development PKI in a scratch directory.
#[derive(Debug)]
pub struct Pki {
    trusted: DevCa,
    foreign: DevCa,
    server: CertFiles,
    ca_pem: Vec<u8>,
    dir: TempDir,
}

impl Pki {
    /// A trusted CA with a server certificate, and a foreign CA.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir for the PKI");
        let trusted = DevCa::create(dir.path(), "edgeward test CA", "ca").expect("trusted CA");
        let foreign =
            DevCa::create(dir.path(), "edgeward foreign CA", "foreign-ca").expect("foreign CA");
        let server = trusted
            .server(dir.path(), "server")
            .expect("server certificate");
        let ca_pem = std::fs::read(&trusted.cert_file).expect("read CA certificate");
        Self {
            trusted,
            foreign,
            server,
            ca_pem,
            dir,
        }
    }

    /// The PEM bundle the aggregator verifies client certificates against.
    pub fn ca_file(&self) -> &Path {
        &self.trusted.cert_file
    }

    /// A client identity for `node`, issued by the trusted CA.
    pub fn node_identity(&self, node: &str, validity: Validity) -> Identity {
        let stem = format!("{node}-{validity:?}").to_lowercase();
        let files = self
            .trusted
            .node(node, validity, self.dir.path(), &stem)
            .expect("node certificate");
        identity(&files)
    }

    /// Certificate and key files for `node`, issued by the trusted CA, for a real agent.
    pub fn node_files(&self, node: &str) -> CertFiles {
        self.trusted
            .node(
                node,
                Validity::Current,
                self.dir.path(),
                &format!("{node}-files"),
            )
            .expect("node certificate")
    }

    /// A current client identity for `node`, issued by the CA the aggregator does not trust.
    pub fn foreign_identity(&self, node: &str) -> Identity {
        let stem = format!("{node}-foreign");
        let files = self
            .foreign
            .node(node, Validity::Current, self.dir.path(), &stem)
            .expect("foreign node certificate");
        identity(&files)
    }

    /// An HTTPS client that trusts the test CA only and presents `identity`, if any.
    pub fn client(&self, identity: Option<Identity>) -> Client {
        let ca = Certificate::from_pem(&self.ca_pem).expect("CA certificate PEM");
        let mut builder = Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT);
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        builder.build().expect("HTTPS client")
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

fn identity(files: &CertFiles) -> Identity {
    let mut pem = std::fs::read(&files.cert).expect("read client certificate");
    pem.extend(std::fs::read(&files.key).expect("read client key"));
    Identity::from_pem(&pem).expect("client identity PEM")
}

/// The aggregator binary serving HTTPS on a free loopback port. Killed on drop.
///
/// Derefs to its [`Api`], which threads can share (the process handle cannot).
#[derive(Debug)]
pub struct TlsAggregator {
    pub process: Running,
    pub api: Api,
    pub pki: Pki,
    _data_dir: TempDir,
}

impl std::ops::Deref for TlsAggregator {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// The HTTPS API of a running aggregator.
#[derive(Debug)]
pub struct Api {
    pub addr: SocketAddr,
    /// Reads the API without a client certificate.
    reader: Client,
}

/// Starts the aggregator over TLS on `127.0.0.1:0`, trusting `pki`'s CA for client
/// certificates and `tokens` (`(node id, token)` pairs) as bearer tokens, with `extra` flags,
/// and waits for its `Listening` event.
pub fn spawn_tls_aggregator(pki: Pki, tokens: &[(&str, &str)], extra: &[&str]) -> TlsAggregator {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let tokens_file = data_dir.path().join("tokens");
    let text: String = tokens
        .iter()
        .map(|(node, token)| format!("{node} {token}\n"))
        .collect();
    std::fs::write(&tokens_file, text).expect("write tokens file");
    let mut command = aggregator();
    command
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(data_dir.path().join("store"))
        .arg("--tls-cert-file")
        .arg(&pki.server.cert)
        .arg("--tls-key-file")
        .arg(&pki.server.key)
        .arg("--tls-client-ca-file")
        .arg(pki.ca_file())
        .arg("--tokens-file")
        .arg(&tokens_file)
        .args(extra);
    let mut process = Running::spawn(command);
    let listening = process.wait_for_event("Listening");
    assert_eq!(listening["fields"]["scheme"], "https", "{listening}");
    let addr = listening["fields"]["addr"]
        .as_str()
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {listening}"));
    let reader = pki.client(None);
    TlsAggregator {
        process,
        api: Api { addr, reader },
        pki,
        _data_dir: data_dir,
    }
}

impl Api {
    /// `https://127.0.0.1:<port><path>`: the server certificate names 127.0.0.1.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// `POST /v1/batches` with `body` through `client`, with a bearer token if given. An
    /// error is a failure below HTTP (TLS handshake, connection).
    pub fn post_batch(
        &self,
        client: &Client,
        bearer: Option<&str>,
        body: &[u8],
    ) -> reqwest::Result<Response> {
        let mut request = client
            .post(self.url("/v1/batches"))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body.to_vec());
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request.send()
    }

    /// `GET path` without a client certificate: the status and the body as JSON (`Null`
    /// when the body is not JSON, e.g. a 404's text).
    pub fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self
            .reader
            .get(self.url(path))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        let body = response.bytes().expect("read response body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}
