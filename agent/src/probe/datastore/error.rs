//! Why part of the datastore probe could not see, and how that becomes a typed
//! [`UnavailableReason`] without looking at any message text.
//!
//! | variant | reason |
//! | --- | --- |
//! | `Host` (file reads, resolving paths) | from [`ProbeError::reason`] |
//! | `Yaml`, `Shape`, `Json`, `Answer`, `Pem` | `Unparseable` |
//! | `Sqlite` | by SQLite's error code: corrupt or not a database → `Unparseable`, busy or locked → `Timeout`, permission → `PermissionDenied`, else `Failed` |
//! | `Http` | timeout → `Timeout`; a TLS failure (an `InvalidData` I/O error in the chain, which is how tokio-rustls reports handshake errors and received alerts) → `Unauthorized`; refused connection → `Unreachable`; else `Failed` |
//! | `HttpStatus` | 401/403 → `Unauthorized`, else `Failed` |
//! | `TooLarge`, `Client`, `Runtime` | `Failed` |
//!
//! Invariant: a detail never carries more than [`DETAIL_LIMIT`] bytes, so an endpoint or file
//! cannot inflate a sample through an error message; and no variant holds a value read from
//! K3s's `datastore-endpoint` (it holds passwords).

use std::error::Error as _;
use std::io;
use std::path::PathBuf;

use edgeward_proto::{Section, UnavailableReason};
use rusqlite::ErrorCode;
use thiserror::Error;

use crate::probe::ProbeError;

/// Largest detail string shipped for one failure, in bytes.
pub const DETAIL_LIMIT: usize = 512;

/// One failure of the datastore probe.
#[derive(Debug, Error)]
pub enum DatastoreError {
    #[error(transparent)]
    Host(#[from] ProbeError),
    #[error("cannot parse {} as YAML", path.display())]
    Yaml {
        path: PathBuf,
        #[source]
        source: yaml_rust2::ScanError,
    },
    /// A file parsed but does not have the expected shape; `what` never quotes secrets.
    #[error("{}: {what}", path.display())]
    Shape { path: PathBuf, what: String },
    #[error("SQLite {}: {op}", path.display())]
    Sqlite {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{what} {} is not usable PEM", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot build the HTTP client for etcd")]
    Client(#[source] reqwest::Error),
    #[error("{} {url}", http_what(.source))]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// `message` is the gateway's error text when it sent one (`: ...`), else empty.
    #[error("{url} answered HTTP {status}{message}")]
    HttpStatus {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: answer larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: answer is not JSON")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "called outside the agent's runtime: a single-threaded runtime cannot drive the requests from here"
    )]
    Runtime,
    #[error("{url}: unexpected answer: {what}")]
    Answer { url: String, what: String },
}

impl DatastoreError {
    /// The typed reason this failure is reported with (table in the module doc).
    pub fn reason(&self) -> UnavailableReason {
        match self {
            Self::Host(e) => e.reason(),
            Self::Yaml { .. }
            | Self::Shape { .. }
            | Self::Json { .. }
            | Self::Answer { .. }
            | Self::Pem { .. } => UnavailableReason::Unparseable,
            Self::Sqlite { source, .. } => sqlite_reason(source),
            Self::Http { source, .. } => http_reason(source),
            Self::HttpStatus {
                status: 401 | 403, ..
            } => UnavailableReason::Unauthorized,
            Self::HttpStatus { .. } | Self::TooLarge { .. } | Self::Client(_) | Self::Runtime => {
                UnavailableReason::Failed
            }
        }
    }

    /// The message and every source below it, `: `-separated, cut to [`DETAIL_LIMIT`] bytes.
    pub fn detail(&self) -> String {
        let mut detail = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // hyper and reqwest often repeat their source's text; say it once.
            if !detail.ends_with(&text) {
                detail.push_str(": ");
                detail.push_str(&text);
            }
            source = cause.source();
        }
        cut(detail, DETAIL_LIMIT)
    }

    /// This failure as an unavailable section.
    pub fn to_section<T>(&self) -> Section<T> {
        Section::unavailable(self.reason(), self.detail())
    }
}

/// `text` cut to at most `limit` bytes on a character boundary, marked with `…` when cut.
pub fn cut(mut text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

fn sqlite_reason(e: &rusqlite::Error) -> UnavailableReason {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            UnavailableReason::Unparseable
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => UnavailableReason::Timeout,
        Some(ErrorCode::PermissionDenied | ErrorCode::AuthorizationForStatementDenied) => {
            UnavailableReason::PermissionDenied
        }
        _ => UnavailableReason::Failed,
    }
}

fn http_reason(e: &reqwest::Error) -> UnavailableReason {
    if e.is_timeout() {
        UnavailableReason::Timeout
    } else if is_tls(e) {
        UnavailableReason::Unauthorized
    } else if e.is_connect() {
        UnavailableReason::Unreachable
    } else {
        UnavailableReason::Failed
    }
}

/// How an HTTP failure starts its message: TLS failures say so, in the words an operator
/// searches for.
fn http_what(e: &reqwest::Error) -> &'static str {
    if is_tls(e) {
        "TLS handshake or session failed with"
    } else {
        "no answer from"
    }
}

/// Whether the error chain holds an `InvalidData` I/O error: tokio-rustls reports every TLS
/// failure (an untrusted server certificate, a received `bad_certificate` alert) that way.
/// hyper-util wraps the handshake's error in another `io::Error`, whose `source()` skips the
/// wrapped error itself, so wrapped I/O errors are opened with `get_ref`.
fn is_tls(e: &reqwest::Error) -> bool {
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![e];
    // Bounded: error chains are short; a cycle in a hand-written chain cannot spin.
    for _ in 0..32 {
        let Some(cause) = pending.pop() else {
            return false;
        };
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::InvalidData {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                pending.push(inner);
            }
        }
        if let Some(next) = cause.source() {
            pending.push(next);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_char_boundaries_and_marks_the_cut() {
        assert_eq!(cut("short".into(), 10), "short");
        let long = "é".repeat(600);
        let c = cut(long, DETAIL_LIMIT);
        assert!(c.len() <= DETAIL_LIMIT, "{}", c.len());
        assert!(c.ends_with('…'));
    }

    #[test]
    fn http_status_401_is_unauthorized_and_500_failed() {
        let e = DatastoreError::HttpStatus {
            url: "https://127.0.0.1:2379/health".into(),
            status: 401,
            message: String::new(),
        };
        assert_eq!(e.reason(), UnavailableReason::Unauthorized);
        let e = DatastoreError::HttpStatus {
            url: "x".into(),
            status: 500,
            message: String::new(),
        };
        assert_eq!(e.reason(), UnavailableReason::Failed);
        assert_eq!(e.detail(), "x answered HTTP 500");
    }
}
