//! The uplink: ships framed batches to the aggregator over HTTPS (reqwest + rustls with the
//! ring provider) and says what the answer means for the outbox.
//!
//! Trust: the configured `tls.ca_file` replaces the system roots when given. Identity: a
//! client certificate (mTLS) or a bearer token read from `tls.token_file` on every request,
//! so a rotated token (projected ServiceAccount tokens rotate hourly) is picked up without a
//! restart.
//!
//! Invariant: [`Delivery`] tells the shipper whether it may delete (`Accepted`), must move the
//! batch aside (`Permanent`), must split it (`TooLarge`), or must keep it and retry (every
//! other case). Nothing here deletes data.

pub mod ship;

use std::path::{Path, PathBuf};
use std::time::Duration;

use edgeward_proto::version::{PROTOCOL_HEADER, ProtocolRange};
use edgeward_proto::{Limits, Reply, decode_reply};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use thiserror::Error;
use url::Url;

use crate::config::{ClientAuth, Tls};

/// Path of the ingest endpoint under the aggregator URL.
pub const BATCHES_PATH: &str = "v1/batches";
/// Largest reply accepted from the aggregator.
const MAX_REPLY_BYTES: usize = 64 << 10;

/// The uplink could not be built from its configuration.
#[derive(Debug, Error)]
pub enum UplinkError {
    #[error("cannot read {what} {path}")]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} {path} is not usable PEM")]
    Pem {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    #[error("aggregator URL {url} cannot take the path {BATCHES_PATH}")]
    Url { url: Url },
    #[error("cannot build the HTTPS client")]
    Client(#[source] reqwest::Error),
}

/// What one attempt to deliver a batch came to.
#[derive(Debug)]
pub enum Delivery {
    /// 200: durable at the aggregator; the reply says through which seq.
    Accepted(Reply),
    /// The aggregator will never accept these bytes (400): quarantine them.
    Permanent { status: u16, detail: String },
    /// 413: the batch exceeds the aggregator's body limit: send fewer samples.
    TooLarge { detail: String },
    /// 415: the aggregator does not decode our version; its range when it said so.
    UnsupportedVersion {
        supported: Option<ProtocolRange>,
        detail: String,
    },
    /// 401/403: credentials are missing, unknown or for another node. Operator action needed.
    Unauthorized { status: u16, detail: String },
    /// Anything else (connection refused, timeout, 5xx, 429, an unreadable reply): retry,
    /// after `after` when the aggregator said so.
    Retry {
        detail: String,
        after: Option<Duration>,
    },
}

/// An HTTPS client bound to one aggregator.
#[derive(Debug, Clone)]
pub struct Uplink {
    client: reqwest::Client,
    endpoint: Url,
    token_file: Option<PathBuf>,
}

impl Uplink {
    /// Builds the client: trust, identity, timeouts.
    pub fn new(aggregator: &Url, tls: &Tls, timeout: Duration) -> Result<Self, UplinkError> {
        let endpoint = join_batches(aggregator)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("edgeward-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &tls.ca_file {
            let pem = read(ca, "CA file")?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| UplinkError::Pem {
                    what: "CA file",
                    path: ca.clone(),
                    source,
                })?;
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let mut token_file = None;
        match &tls.client_auth {
            Some(ClientAuth::Certificate { cert, key }) => {
                let mut pem = read(cert, "client certificate")?;
                pem.push(b'\n');
                pem.extend(read(key, "client key")?);
                let identity =
                    reqwest::Identity::from_pem(&pem).map_err(|source| UplinkError::Pem {
                        what: "client certificate and key",
                        path: cert.clone(),
                        source,
                    })?;
                builder = builder.identity(identity);
            }
            Some(ClientAuth::Token { file }) => token_file = Some(file.clone()),
            None => {}
        }
        Ok(Self {
            client: builder.build().map_err(UplinkError::Client)?,
            endpoint,
            token_file,
        })
    }

    /// The URL batches are posted to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Posts one framed batch and classifies the answer.
    pub async fn send(&self, frame: Vec<u8>) -> Delivery {
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(frame);
        if let Some(file) = &self.token_file {
            match std::fs::read_to_string(file) {
                Ok(token) => {
                    request = request.header(AUTHORIZATION, format!("Bearer {}", token.trim()))
                }
                Err(e) => {
                    return Delivery::Unauthorized {
                        status: 0,
                        detail: format!("cannot read token file {}: {e}", file.display()),
                    };
                }
            }
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return Delivery::Retry {
                    detail: error_chain(&e),
                    after: None,
                };
            }
        };
        let status = response.status();
        let after = retry_after(response.headers());
        let supported = response
            .headers()
            .get(PROTOCOL_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = match read_limited(response).await {
            Ok(body) => body,
            Err(detail) => return Delivery::Retry { detail, after },
        };
        classify(status, after, supported, &body)
    }
}

fn classify(
    status: StatusCode,
    after: Option<Duration>,
    supported: Option<ProtocolRange>,
    body: &[u8],
) -> Delivery {
    let text = || {
        String::from_utf8_lossy(&body[..body.len().min(512)])
            .trim()
            .to_owned()
    };
    match status.as_u16() {
        200 => {
            let limits = Limits {
                max_frame_bytes: MAX_REPLY_BYTES,
                max_raw_bytes: MAX_REPLY_BYTES,
            };
            match decode_reply(body, &limits) {
                Ok(reply) => Delivery::Accepted(reply),
                // Not acknowledged as far as we can tell: keep the data and send it again;
                // the aggregator deduplicates.
                Err(e) => Delivery::Retry {
                    detail: format!("unreadable reply: {e}"),
                    after,
                },
            }
        }
        400 => Delivery::Permanent {
            status: 400,
            detail: text(),
        },
        413 => Delivery::TooLarge { detail: text() },
        415 => Delivery::UnsupportedVersion {
            supported,
            detail: text(),
        },
        code @ (401 | 403) => Delivery::Unauthorized {
            status: code,
            detail: text(),
        },
        code => Delivery::Retry {
            detail: format!("HTTP {code}: {}", text()),
            after,
        },
    }
}

/// Reads at most [`MAX_REPLY_BYTES`] of the body.
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_REPLY_BYTES {
                    return Err(format!("reply larger than {MAX_REPLY_BYTES} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(format!("reading the reply: {}", error_chain(&e))),
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the aggregator), capped at an hour.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

fn join_batches(aggregator: &Url) -> Result<Url, UplinkError> {
    let mut base = aggregator.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join(BATCHES_PATH).map_err(|_| UplinkError::Url {
        url: aggregator.clone(),
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, UplinkError> {
    std::fs::read(path).map_err(|source| UplinkError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// An error with its sources, e.g. "error sending request: connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_endpoint_sits_under_the_aggregator_url_with_or_without_a_slash() {
        let a = Url::parse("https://agg.example:7443").expect("url");
        assert_eq!(
            join_batches(&a).expect("join").as_str(),
            "https://agg.example:7443/v1/batches"
        );
        let b = Url::parse("https://agg.example/edgeward").expect("url");
        assert_eq!(
            join_batches(&b).expect("join").as_str(),
            "https://agg.example/edgeward/v1/batches"
        );
    }

    #[test]
    fn statuses_map_to_what_the_outbox_must_do() {
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None, None, b"bad"),
            Delivery::Permanent { .. }
        ));
        assert!(matches!(
            classify(StatusCode::PAYLOAD_TOO_LARGE, None, None, b""),
            Delivery::TooLarge { .. }
        ));
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, None, None, b""),
            Delivery::Unauthorized { status: 401, .. }
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, None, None, b""),
            Delivery::Unauthorized { status: 403, .. }
        ));
        let range = ProtocolRange {
            oldest: 2,
            newest: 3,
        };
        assert!(matches!(
            classify(StatusCode::UNSUPPORTED_MEDIA_TYPE, None, Some(range), b""),
            Delivery::UnsupportedVersion { supported: Some(r), .. } if r == range
        ));
        let after = Some(Duration::from_secs(5));
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, after, None, b""),
            Delivery::Retry { after: Some(d), .. } if d == Duration::from_secs(5)
        ));
        // A 200 whose body is not a reply acknowledges nothing.
        assert!(matches!(
            classify(StatusCode::OK, None, None, b"ok"),
            Delivery::Retry { .. }
        ));
    }
}
