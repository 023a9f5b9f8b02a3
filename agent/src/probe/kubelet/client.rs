//! HTTP to the kubelet: the `:10250` HTTPS client (rustls, the kubelet's CA, a client
//! certificate or a bearer token; built the way [`crate::uplink`] builds its client), bounded
//! body reads, and [`FetchError`], which maps every failure to a typed [`UnavailableReason`]
//! without looking at error text.
//!
//! | failure | reason |
//! | --- | --- |
//! | 401/403 | `Unauthorized` (detail: on K3s, the webhook-authorization hint, DOMAIN.md §1) |
//! | 404 | `NotFound` |
//! | other non-200 status | `Failed` (status and the first bytes of the body) |
//! | connection refused/reset, host unreachable | `Unreachable` |
//! | no answer or body within the timeout | `Timeout` |
//! | TLS handshake (unknown CA, wrong name) and other request errors | `Failed` with the error chain |
//! | body above the limit, body cut off, bad JSON or text | `Unparseable` |
//! | no credentials | `PermissionDenied` |
//!
//! Invariant: at most `limit` bytes of a body are held, whatever `Content-Length` says, so a
//! hostile or broken endpoint cannot make the agent allocate more.

use std::error::Error as StdError;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use edgeward_proto::{Section, UnavailableReason};
use reqwest::header::AUTHORIZATION;
use thiserror::Error;
use url::Url;

use super::credentials::{Identity, Resolved};
use crate::probe::io_reason;

/// Why one kubelet request (or the set-up before it) failed.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error(
        "no kubelet credentials: configure a bearer token file or a client certificate and key (looked for {looked})"
    )]
    NoCredentials { looked: String },
    #[error(
        "no CA to verify the kubelet's serving certificate: configure ca_file (looked for {looked})"
    )]
    NoCa { looked: String },
    #[error("cannot read {what} {}", path.display())]
    Credential {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what} {} is not usable PEM", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: Option<reqwest::Error>,
    },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("{url} answered {status}: {hint}")]
    Unauthorized {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error("{url} answered {status}: {body:?}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} did not answer within {}", humantime::format_duration(*timeout))]
    Timeout { url: String, timeout: Duration },
    #[error("{url} is unreachable")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("request to {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: body cut off")]
    Truncated {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: cannot parse the body")]
    Parse {
        url: String,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl FetchError {
    pub fn reason(&self) -> UnavailableReason {
        use UnavailableReason as R;
        match self {
            Self::NoCredentials { .. } => R::PermissionDenied,
            Self::Credential { source, .. } => io_reason(source.kind()),
            Self::Unauthorized { .. } => R::Unauthorized,
            Self::Status { status: 404, .. } => R::NotFound,
            Self::Timeout { .. } => R::Timeout,
            Self::Unreachable { .. } => R::Unreachable,
            Self::Pem { .. }
            | Self::TooLarge { .. }
            | Self::Truncated { .. }
            | Self::Parse { .. } => R::Unparseable,
            Self::NoCa { .. } | Self::Client(_) | Self::Status { .. } | Self::Request { .. } => {
                R::Failed
            }
        }
    }

    /// The message and its whole source chain, `: `-separated.
    pub fn detail(&self) -> String {
        chain(self)
    }

    pub fn to_section<T>(&self) -> Section<T> {
        Section::unavailable(self.reason(), self.detail())
    }
}

/// An error and its sources, `: `-separated.
pub fn chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What a body longer than the limit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// An error ([`FetchError::TooLarge`]).
    Refuse,
    /// Cut at the limit; the rest is not read.
    Cut,
}

/// A cached `:10250` client and the credential bytes it was built from.
#[derive(Debug)]
pub struct CachedClient {
    ca_pem: Vec<u8>,
    identity_pem: Option<Vec<u8>>,
    client: reqwest::Client,
}

/// The `:10250` client for `resolved`: the cached one while the CA and client certificate are
/// unchanged (connections are reused), else a new one.
pub fn api_client(
    cache: &mut Option<CachedClient>,
    resolved: &Resolved,
    timeout: Duration,
    pin: Option<(&str, std::net::SocketAddr)>,
) -> Result<reqwest::Client, FetchError> {
    let identity_pem = match &resolved.identity {
        Identity::Certificate { pem, .. } => Some(pem.clone()),
        Identity::Token(_) => None,
    };
    if let Some(c) = cache
        .as_ref()
        .filter(|c| c.ca_pem == resolved.ca_pem && c.identity_pem == identity_pem)
    {
        return Ok(c.client.clone());
    }
    let pem_error = |what, path: &PathBuf, source| FetchError::Pem {
        what,
        path: path.clone(),
        source,
    };
    let roots = reqwest::Certificate::from_pem_bundle(&resolved.ca_pem)
        .map_err(|e| pem_error("CA file", &resolved.ca_path, Some(e)))?;
    if roots.is_empty() {
        return Err(pem_error("CA file", &resolved.ca_path, None));
    }
    let mut builder = builder(timeout).tls_built_in_root_certs(false);
    for root in roots {
        builder = builder.add_root_certificate(root);
    }
    if let Identity::Certificate { pem, cert } = &resolved.identity {
        let identity = reqwest::Identity::from_pem(pem)
            .map_err(|e| pem_error("client certificate and key", cert, Some(e)))?;
        builder = builder.identity(identity);
    }
    if let Some((name, addr)) = pin {
        builder = builder.resolve(name, addr);
    }
    let client = builder.build().map_err(FetchError::Client)?;
    *cache = Some(CachedClient {
        ca_pem: resolved.ca_pem.clone(),
        identity_pem,
        client: client.clone(),
    });
    Ok(client)
}

/// The plain-HTTP client for `/healthz`.
pub fn healthz_client(timeout: Duration) -> Result<reqwest::Client, FetchError> {
    builder(timeout).build().map_err(FetchError::Client)
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Loopback traffic to the kubelet must never go through an HTTP(S)_PROXY.
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("edgeward-agent/", env!("CARGO_PKG_VERSION")))
}

/// GETs `url`: the status and at most `limit` bytes of the body.
pub async fn get(
    client: &reqwest::Client,
    url: &Url,
    token: Option<&str>,
    limit: usize,
    overflow: Overflow,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), FetchError> {
    let mut request = client.get(url.clone());
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let fail = |e: reqwest::Error, truncated: bool| classify(url, e, timeout, truncated);
    let mut response = request.send().await.map_err(|e| fail(e, false))?;
    let status = response.status().as_u16();
    let too_large = || FetchError::TooLarge {
        url: url.to_string(),
        limit,
    };
    let declared = response.content_length().unwrap_or(0);
    if overflow == Overflow::Refuse && declared > limit as u64 {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(usize::try_from(declared).unwrap_or(0).min(limit));
    while let Some(chunk) = response.chunk().await.map_err(|e| fail(e, true))? {
        let room = limit - body.len();
        if chunk.len() > room {
            if overflow == Overflow::Refuse {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A reqwest error as a [`FetchError`], by its kind and the I/O error beneath it.
fn classify(url: &Url, e: reqwest::Error, timeout: Duration, in_body: bool) -> FetchError {
    let url_text = url.to_string();
    if e.is_timeout() {
        return FetchError::Timeout {
            url: url_text,
            timeout,
        };
    }
    if in_body {
        return FetchError::Truncated {
            url: url_text,
            source: e,
        };
    }
    if e.is_connect() && refused(&e) {
        return FetchError::Unreachable {
            url: url_text,
            source: e,
        };
    }
    FetchError::Request {
        url: url_text,
        source: e,
    }
}

/// Whether an I/O error in `e`'s sources says nobody listens or the host is not reachable.
fn refused(e: &(dyn StdError + 'static)) -> bool {
    let mut source: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            use io::ErrorKind as K;
            return matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::NotConnected
                    | K::AddrNotAvailable
                    | K::HostUnreachable
                    | K::NetworkUnreachable
            );
        }
        source = s.source();
    }
    false
}

/// The body of a `:10250` answer: 200 → the body; 401/403 → [`FetchError::Unauthorized`]
/// with `hint`; anything else → [`FetchError::Status`].
pub fn expect_ok(
    url: &Url,
    (status, body): (u16, Vec<u8>),
    hint: &'static str,
) -> Result<Vec<u8>, FetchError> {
    match status {
        200 => Ok(body),
        401 | 403 => Err(FetchError::Unauthorized {
            url: url.to_string(),
            status,
            hint,
        }),
        _ => Err(FetchError::Status {
            url: url.to_string(),
            status,
            body: excerpt(&body, 256),
        }),
    }
}

/// The first `max` bytes of `body` as text (cut at a character boundary, invalid UTF-8
/// replaced).
pub fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
