//! `http://127.0.0.1:10248/healthz`: the kubelet's liveness, plain HTTP without
//! authentication (DOMAIN.md §1). It works when `:10250` does not (a K3s node cut off from
//! its API server), so it is fetched on its own, with its own client.
//!
//! | answer | section |
//! | --- | --- |
//! | 200 with body `ok` (surrounding whitespace ignored) | `Data(Healthz::Ok)` |
//! | any other status or body | `Data(Healthz::Unhealthy { status, body })`, body = its first [`BODY_BYTES`] bytes |
//! | connection refused | `Unavailable(Unreachable)` |
//! | no answer within the timeout | `Unavailable(Timeout)` |
//!
//! Invariant: at most [`READ_BYTES`] of the body are read, whatever the endpoint sends.

use std::time::Duration;

use edgeward_proto::kubelet::Healthz;
use url::Url;

use super::client::{self, FetchError, Overflow};

/// How much of an unhealthy body is kept.
pub const BODY_BYTES: usize = 256;
/// How much of the body is read at most (a little more than kept, so `ok` followed by
/// garbage is not mistaken for `ok`).
const READ_BYTES: usize = 4096;

/// Fetches and classifies `/healthz`.
pub async fn check(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
) -> Result<Healthz, FetchError> {
    let (status, body) = client::get(client, url, None, READ_BYTES, Overflow::Cut, timeout).await?;
    Ok(classify(status, &body))
}

/// `ok` with 200 is healthy; anything else says what the kubelet said.
pub fn classify(status: u16, body: &[u8]) -> Healthz {
    if status == 200 && body.trim_ascii() == b"ok" {
        Healthz::Ok
    } else {
        Healthz::Unhealthy {
            status,
            body: client::excerpt(body, BODY_BYTES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_is_healthy_and_anything_else_is_reported() {
        assert_eq!(classify(200, b"ok"), Healthz::Ok);
        assert_eq!(classify(200, b"ok\n"), Healthz::Ok);
        assert_eq!(
            classify(
                500,
                b"[-]syncloop failed: reason withheld\nhealthz check failed\n"
            ),
            Healthz::Unhealthy {
                status: 500,
                body: "[-]syncloop failed: reason withheld\nhealthz check failed\n".into()
            }
        );
        assert_eq!(
            classify(200, b"okay"),
            Healthz::Unhealthy {
                status: 200,
                body: "okay".into()
            }
        );
    }

    #[test]
    fn long_bodies_keep_their_first_bytes_on_a_character_boundary() {
        let body = "é".repeat(200); // 400 bytes
        let Healthz::Unhealthy { body: kept, .. } = classify(503, body.as_bytes()) else {
            panic!("expected unhealthy");
        };
        assert_eq!(kept.len(), BODY_BYTES);
        assert_eq!(kept, "é".repeat(128));
    }
}
