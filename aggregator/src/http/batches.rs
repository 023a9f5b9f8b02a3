//! `POST /v1/batches`: one framed batch in, one framed reply out.
//!
//! | status | when | body |
//! | --- | --- | --- |
//! | 200 | durable (or a duplicate of durable data) | the encoded `Reply` frame |
//! | 400 | not a valid batch | the decode error, text |
//! | 401 | no client certificate and no known bearer token | text, `WWW-Authenticate: Bearer` |
//! | 403 | the batch names another node than its credentials | text |
//! | 413 | body above `max_batch_bytes` | text |
//! | 415 | unsupported protocol version | text, `edgeward-protocol: <oldest>-<newest>` |
//! | 503 | the store failed; retry | text, `Retry-After` |

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use edgeward_proto::version::{PROTOCOL_HEADER, SUPPORTED};

use super::AppState;
use crate::ingest::{Answer, PeerCertificate};

/// Seconds an agent should wait after a 503.
const RETRY_AFTER_SECS: &str = "5";

pub async fn post(
    State(state): State<AppState>,
    Extension(cert): Extension<PeerCertificate>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match state.ingest.submit(&cert, bearer, &body).await {
        Answer::Accepted { frame } => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            frame,
        )
            .into_response(),
        Answer::Unauthenticated(why) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            format!("unauthenticated: {why}\n"),
        )
            .into_response(),
        Answer::IdentityMismatch {
            authenticated,
            claimed,
        } => (
            StatusCode::FORBIDDEN,
            format!("credentials are for node {authenticated}, the batch claims node {claimed}\n"),
        )
            .into_response(),
        Answer::UnsupportedVersion { version } => {
            let mut response = (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("protocol version {version} is not supported; this aggregator decodes {SUPPORTED}\n"),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&SUPPORTED.to_string()) {
                response.headers_mut().insert(PROTOCOL_HEADER, value);
            }
            response
        }
        Answer::Malformed(error) => (
            StatusCode::BAD_REQUEST,
            format!("malformed batch: {error}\n"),
        )
            .into_response(),
        Answer::Unavailable(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER_SECS)],
            format!("not stored, retry later: {error}\n"),
        )
            .into_response(),
    }
}
