//! The errors of the Alertmanager client: [`ClientError`] when it cannot be built,
//! [`RequestError`] when one request to one Alertmanager fails; [`describe`] for logs.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use url::Url;

/// The client cannot be built from its options.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No Alertmanager URL.
    #[error("no Alertmanager URL configured")]
    NoUrls,
    /// A URL that is not `http(s)://` or cannot take the API path.
    #[error("Alertmanager URL {url} is not an http(s) base URL")]
    Url { url: Url },
    /// A zero resend interval or timeout.
    #[error("{what} must be longer than zero")]
    ZeroDuration { what: &'static str },
    /// The CA file cannot be read.
    #[error("cannot read the Alertmanager CA file {path}")]
    ReadCa {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The CA file holds no usable PEM certificate.
    #[error("the Alertmanager CA file {path} is not usable PEM")]
    Pem {
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    /// reqwest refused the configuration.
    #[error("cannot build the Alertmanager HTTP client")]
    Build(#[source] reqwest::Error),
}

/// One request to one Alertmanager failed.
#[derive(Debug, Error)]
pub enum RequestError {
    /// Nothing answered: connection refused, no route, DNS, TLS handshake.
    #[error("cannot connect to {url}")]
    Connect {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the timeout.
    #[error("{url} did not answer within {timeout:?}")]
    Timeout { url: Url, timeout: Duration },
    /// An answer other than 2xx; `body` is the start of what it said.
    #[error("{url} answered {status}: {body}")]
    Status { url: Url, status: u16, body: String },
    /// Any other transport failure (connection reset, malformed HTTP).
    #[error("request to {url} failed")]
    Transport {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    /// The bearer token file cannot be read.
    #[error("cannot read the Alertmanager bearer token file {path}")]
    Token {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A 2xx status answer that is not the expected JSON.
    #[error("{url} answered with unreadable JSON")]
    Decode {
        url: Url,
        #[source]
        source: serde_json::Error,
    },
    /// The request body could not be encoded (string maps always encode; kept for totality).
    #[error("cannot encode the alerts: {reason}")]
    Encode { reason: String },
    /// The request task ended without an answer (a panic in the HTTP stack).
    #[error("the request to {url} was aborted")]
    Aborted { url: Url },
}

/// `error: cause: cause`, for logs.
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
