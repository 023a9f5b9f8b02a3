//! Ingest: turns one `POST /v1/batches` body from an authenticated peer into an answer.
//!
//! Order of checks, each cheaper than the next, so that bad input costs little:
//! 1. authentication (401) — before any byte of the body is read ([`Ingest::authenticate`]);
//! 2. the body size limit (413), enforced while the HTTP layer reads the body, and again on
//!    the decompressed payload;
//! 3. the frame's version (415 with the `edgeward-protocol` header naming what we decode);
//! 4. decoding and validation (400 with the decode error);
//! 5. the batch's node must be the authenticated node (403);
//! 6. the store makes the batch durable; only then the reply (200) acknowledges it.
//!
//! Invariants: nothing is acknowledged before it is durable; every refusal stores nothing;
//! a refusal for one node never affects another (no shared state is touched before step 6).
//! Store calls run on the blocking pool behind a bounded semaphore
//! ([`MAX_CONCURRENT_STORE_CALLS`]): when all permits are taken, requests wait for one
//! (counted in `waited_for_store_total`), so a flood of nodes queues in memory-bounded HTTP
//! connections rather than in unbounded blocking threads.

pub mod auth;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use edgeward_proto::envelope::{EncodeOptions, peek_version};
use edgeward_proto::reply::Verdict;
use edgeward_proto::version::SUPPORTED;
use edgeward_proto::{Bounded, DecodeError, Limits, NodeId, Reply};
use edgeward_runtime::clock;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::store::Store;
pub use auth::{PeerCertificate, Tokens, TokensError, Unauthenticated};

/// Store calls in flight at once; more requests wait.
pub const MAX_CONCURRENT_STORE_CALLS: usize = 8;

/// Told about every batch once the store has made it durable (the analysis folds it in).
/// Called on the blocking pool; must not block for long.
pub trait BatchObserver: Send + Sync + 'static {
    fn observe(&self, batch: &edgeward_proto::Batch, received_at: edgeward_proto::UnixMillis);
}

/// What to send back for one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: the encoded [`Reply`], in the batch's protocol version.
    Accepted { frame: Vec<u8> },
    /// 401: no usable credentials.
    Unauthenticated(Unauthenticated),
    /// 403: the batch names another node than its credentials.
    IdentityMismatch {
        authenticated: NodeId,
        claimed: NodeId,
    },
    /// 413: the body, or its decompressed payload, exceeds `max_batch_bytes`.
    TooLarge(String),
    /// 415: a protocol version this build does not decode.
    UnsupportedVersion { version: u16 },
    /// 400: the body is not a valid batch; the text is the decode error.
    Malformed(String),
    /// 503: the store failed; nothing was acknowledged, the agent retries.
    Unavailable(String),
}

/// Counters of what ingest answered, for logs and (later) metrics.
#[derive(Debug, Default)]
pub struct IngestStats {
    pub accepted_batches_total: AtomicU64,
    pub stored_samples_total: AtomicU64,
    pub duplicate_samples_total: AtomicU64,
    pub refused_total: AtomicU64,
    pub waited_for_store_total: AtomicU64,
    /// Agent gap records stored.
    pub gap_records_total: AtomicU64,
    /// Body bytes of accepted batches (as sent, compressed).
    pub received_bytes_total: AtomicU64,
}

/// The ingest service: stateless apart from the store it writes to.
pub struct Ingest {
    store: Arc<dyn Store>,
    tokens: Tokens,
    limits: Limits,
    permits: Semaphore,
    stats: IngestStats,
    observer: Option<Arc<dyn BatchObserver>>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("tokens", &self.tokens.len())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Ingest {
    /// `max_batch_bytes` bounds both the frame and its decompressed payload.
    pub fn new(store: Arc<dyn Store>, tokens: Tokens, max_batch_bytes: usize) -> Self {
        Self {
            store,
            tokens,
            limits: Limits {
                max_frame_bytes: max_batch_bytes,
                max_raw_bytes: max_batch_bytes,
            },
            permits: Semaphore::new(MAX_CONCURRENT_STORE_CALLS),
            stats: IngestStats::default(),
            observer: None,
        }
    }

    /// Tells `observer` about every durable batch.
    pub fn with_observer(mut self, observer: Arc<dyn BatchObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn stats(&self) -> &IngestStats {
        &self.stats
    }

    /// Step 1: who is sending. Called before any byte of the body is read, so an
    /// unauthenticated peer cannot make the aggregator buffer a body.
    pub fn authenticate(
        &self,
        cert: &PeerCertificate,
        bearer: Option<&str>,
    ) -> Result<NodeId, Answer> {
        auth::authenticate(cert, bearer, &self.tokens).map_err(|why| {
            self.stats.refused_total.fetch_add(1, Ordering::Relaxed);
            warn!(reason = %why, "Refused a batch without usable credentials");
            Answer::Unauthenticated(why)
        })
    }

    /// The largest body [`Ingest::submit`] accepts; the HTTP layer stops reading beyond it.
    pub fn max_body_bytes(&self) -> usize {
        self.limits.max_frame_bytes
    }

    /// Counts a body refused by the HTTP layer for its size.
    pub fn refused_too_large(&self, node: &NodeId) -> Answer {
        self.stats.refused_total.fetch_add(1, Ordering::Relaxed);
        warn!(node = %node, limit = self.limits.max_frame_bytes, "Refused a batch above the body limit");
        Answer::TooLarge(format!(
            "body exceeds the limit of {} bytes",
            self.limits.max_frame_bytes
        ))
    }

    /// Steps 3–6 for a batch body from the authenticated `node`.
    pub async fn submit(&self, node: NodeId, body: &[u8]) -> Answer {
        let answer = self.decide(node, body).await;
        if !matches!(answer, Answer::Accepted { .. }) {
            self.stats.refused_total.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    async fn decide(&self, node: NodeId, body: &[u8]) -> Answer {
        let version = match peek_version(body) {
            Ok(v) if SUPPORTED.contains(v) => v,
            Ok(version) => {
                warn!(node = %node, version, supported = %SUPPORTED, "Refused a batch in an unsupported protocol version");
                return Answer::UnsupportedVersion { version };
            }
            Err(e) => return self.malformed(&node, &e),
        };
        let batch = match edgeward_proto::decode_batch(body, &self.limits) {
            Ok(batch) => batch,
            Err(DecodeError::UnsupportedVersion { version, .. }) => {
                return Answer::UnsupportedVersion { version };
            }
            // Too large once decompressed: the agent must send fewer samples, not give up.
            Err(e @ DecodeError::TooLarge { .. }) => {
                warn!(node = %node, error = %e, "Refused a batch above the size limit");
                return Answer::TooLarge(e.to_string());
            }
            Err(e) => return self.malformed(&node, &e),
        };
        if batch.header.node != node {
            warn!(authenticated = %node, claimed = %batch.header.node, "Refused a batch claiming another node's identity");
            return Answer::IdentityMismatch {
                authenticated: node,
                claimed: batch.header.node,
            };
        }

        let _permit = match self.permits.try_acquire() {
            Ok(p) => p,
            Err(_) => {
                self.stats
                    .waited_for_store_total
                    .fetch_add(1, Ordering::Relaxed);
                match self.permits.acquire().await {
                    Ok(p) => p,
                    Err(_) => return Answer::Unavailable("ingest is shutting down".to_owned()),
                }
            }
        };
        let store = Arc::clone(&self.store);
        let received_at = clock::now();
        let observer = self.observer.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let outcome = store.ingest(&batch, received_at)?;
            if let Some(o) = observer {
                o.observe(&batch, received_at);
            }
            Ok::<_, crate::store::StoreError>(outcome)
        })
        .await;
        let outcome = match outcome {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => {
                warn!(node = %node, error = %e, "Store failed; the agent will retry");
                return Answer::Unavailable(e.to_string());
            }
            Err(e) => {
                warn!(node = %node, error = %e, "Store task failed; the agent will retry");
                return Answer::Unavailable("store task failed".to_owned());
            }
        };
        self.stats
            .accepted_batches_total
            .fetch_add(1, Ordering::Relaxed);
        self.stats
            .stored_samples_total
            .fetch_add(outcome.stored, Ordering::Relaxed);
        self.stats
            .duplicate_samples_total
            .fetch_add(outcome.duplicates, Ordering::Relaxed);
        self.stats
            .gap_records_total
            .fetch_add(outcome.gap_records, Ordering::Relaxed);
        self.stats
            .received_bytes_total
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        debug!(node = %node, stored = outcome.stored, duplicates = outcome.duplicates, "Batch stored");
        let reply = Reply {
            verdict: Verdict::Accepted,
            acks: Bounded::try_from(outcome.acks).unwrap_or_default(),
            retry_after_ms: None,
            protocol: SUPPORTED,
        };
        match edgeward_proto::encode_reply(&reply, version, &EncodeOptions::default()) {
            Ok(frame) => Answer::Accepted { frame },
            // Documented invariant: `version` is in SUPPORTED, which this build encodes.
            Err(e) => Answer::Unavailable(format!("cannot encode reply: {e}")),
        }
    }

    fn malformed(&self, node: &NodeId, e: &DecodeError) -> Answer {
        warn!(node = %node, error = %e, "Refused a malformed batch");
        Answer::Malformed(e.to_string())
    }
}
