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
use axum::body::Body;
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
    body: Body,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    // Authenticate before reading the body: an unknown peer never makes us buffer one.
    let answer = match state.ingest.authenticate(&cert, bearer) {
        Err(refused) => {
            discard(body, DISCARD_MAX_BYTES).await;
            refused
        }
        // A declared length above the limit is refused without buffering the body; it is
        // drained so that the client reads the answer rather than a reset.
        Ok(node)
            if declared_length(&headers).is_some_and(|n| n > state.ingest.max_body_bytes()) =>
        {
            let answer = state.ingest.refused_too_large(&node);
            discard(body, DISCARD_MAX_BYTES).await;
            answer
        }
        Ok(node) => match axum::body::to_bytes(body, state.ingest.max_body_bytes()).await {
            Ok(bytes) => state.ingest.submit(node, &bytes).await,
            // `to_bytes` fails on the length limit or on a broken connection; only the
            // first can still be answered.
            Err(_) => state.ingest.refused_too_large(&node),
        },
    };
    respond(answer)
}

/// Reads and drops up to `limit` bytes of a refused request's body, holding at most one
/// frame in memory, so that the client gets to read our answer instead of a connection reset
/// while it is still writing. Gives up at the limit, on an error or after
/// [`DISCARD_TIMEOUT`]; the connection then closes.
async fn discard(mut body: Body, limit: usize) {
    use http_body_util::BodyExt as _;
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIMEOUT, drain).await;
}

/// Most bytes of a refused request's body drained before the connection is closed instead.
const DISCARD_MAX_BYTES: usize = 64 << 20;

/// Longest a refused request's body is drained.
const DISCARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The request's `Content-Length`, when it declares one.
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn respond(answer: Answer) -> Response {
    match answer {
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
        Answer::TooLarge(detail) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("batch too large: {detail}\n"),
        )
            .into_response(),
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

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_other_schemes_are_ignored() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
