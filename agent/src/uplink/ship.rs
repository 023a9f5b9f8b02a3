//! The shipping loop: oldest pending data first, one batch in flight, delete only what the
//! aggregator acknowledged as durable.
//!
//! Behaviour per answer ([`super::Delivery`]):
//! - accepted: ack through the aggregator's `acked_through` for our stream (never beyond the
//!   batch) and the batch's gap records; the backoff resets;
//! - too large: halve the batch byte budget and retry at once; a single sample that is still
//!   too large is quarantined (it can never be delivered);
//! - permanent (400): the batch is quarantined and its range shipped as a gap record;
//!   ERROR, because it is data loss and an agent/aggregator bug to report;
//! - unauthorized (401/403) or unsupported version (415): keep everything, ERROR, back off;
//! - anything else: keep everything, WARN on the first failure of an outage, back off
//!   (full jitter, capped), honouring `Retry-After`.
//!
//! Catch-up: each batch takes as much pending data as fits `max_batch_bytes`, so in steady
//! state a batch holds the one new sample and after an outage batches grow up to the limit.
//! Memory is bounded by that limit whatever the backlog.

use std::sync::Arc;
use std::time::Duration;

use edgeward_proto::batch::{MAX_GAPS, MAX_SAMPLES};
use edgeward_proto::envelope::EncodeOptions;
use edgeward_proto::{Batch, BatchHeader, BootId, Bounded, ClusterId, NodeId, Seq};
use edgeward_runtime::clock;
use tokio::sync::Notify;
use tracing::{debug, error, info, warn};

use super::{Delivery, Uplink};
use crate::buffer::{Outbox, Pending};
use edgeward_runtime::backoff::Backoff;

/// Smallest batch byte budget after repeated 413s.
const MIN_BATCH_BYTES: usize = 1024;

/// Who the batches say they come from.
#[derive(Debug, Clone)]
pub struct Identity {
    pub node: NodeId,
    pub cluster: Option<ClusterId>,
    pub boot_id: BootId,
}

/// How the loop behaves.
#[derive(Debug, Clone)]
pub struct ShipOptions {
    pub max_batch_bytes: usize,
    pub backoff_max: Duration,
}

/// Counters of what the shipper did, for logs and the local API.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShipStats {
    pub batches_accepted: u64,
    pub samples_acked: u64,
    pub failures: u64,
    pub quarantined_batches: u64,
}

/// Ships until `shutdown` resolves. `appended` is notified after every append.
pub async fn run(
    outbox: Outbox,
    uplink: Uplink,
    identity: Identity,
    options: ShipOptions,
    appended: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) -> ShipStats {
    let mut shipper = Shipper {
        outbox,
        uplink,
        identity,
        budget: options.max_batch_bytes.max(MIN_BATCH_BYTES),
        backoff: Backoff::new(options.backoff_max),
        options,
        stats: ShipStats::default(),
        outage_since: None,
    };
    tokio::pin!(shutdown);
    loop {
        // Register interest before reading, so an append between the read and the wait
        // still wakes us.
        let woken = appended.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let wait = tokio::select! {
            () = &mut shutdown => break,
            wait = shipper.step() => wait,
        };
        match wait {
            Next::Now => continue,
            Next::WhenAppended => {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = woken => {}
                }
            }
            Next::After(delay) => {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    shipper.stats
}

/// Why a batch could not be framed.
enum FrameError {
    /// More samples or gap records than one batch may carry.
    OverBounds {
        samples: usize,
        gaps: usize,
    },
    Encode(edgeward_proto::EncodeError),
}

enum Next {
    Now,
    WhenAppended,
    After(Duration),
}

struct Shipper {
    outbox: Outbox,
    uplink: Uplink,
    identity: Identity,
    options: ShipOptions,
    budget: usize,
    backoff: Backoff,
    stats: ShipStats,
    outage_since: Option<std::time::Instant>,
}

impl Shipper {
    async fn step(&mut self) -> Next {
        let outbox = self.outbox.clone();
        let budget = self.budget;
        let mut pending = match tokio::task::spawn_blocking(move || outbox.read_batch(budget)).await
        {
            Ok(Ok(p)) => p,
            Ok(Err(e)) if e.is_corruption() => return self.recover(e.to_string()).await,
            Ok(Err(e)) => {
                error!(error = %e, "Cannot read the outbox; retrying");
                return Next::After(self.backoff.next_wait().max(Duration::from_secs(1)));
            }
            Err(e) => {
                error!(error = %e, "Outbox read task failed; retrying");
                return Next::After(self.backoff.next_wait().max(Duration::from_secs(1)));
            }
        };
        if pending.samples.is_empty() && pending.gaps.is_empty() {
            return Next::WhenAppended;
        }
        let frame = match self.frame(&mut pending) {
            Ok(frame) => frame,
            Err(FrameError::OverBounds { samples, gaps }) => {
                // Documented invariant of `read_batch`; keep the data rather than guess.
                error!(
                    samples,
                    gaps, "The outbox returned a batch above the wire bounds; retrying"
                );
                return self.failed();
            }
            Err(FrameError::Encode(e)) => {
                error!(error = %e, "Cannot encode a batch from the outbox; quarantining it");
                return self
                    .quarantine(pending, format!("agent could not encode it: {e}"))
                    .await;
            }
        };
        match self.uplink.send(frame).await {
            Delivery::Accepted(reply) => self.accepted(&pending, &reply).await,
            Delivery::TooLarge { detail } => {
                if pending.samples.len() <= 1 {
                    error!(
                        detail,
                        "The aggregator refuses even a single sample as too large; quarantining it"
                    );
                    return self
                        .quarantine(pending, format!("too large: {detail}"))
                        .await;
                } else {
                    self.budget = (self.budget / 2).max(MIN_BATCH_BYTES);
                    warn!(
                        budget = self.budget,
                        detail, "Batch too large for the aggregator; sending smaller batches"
                    );
                }
                Next::Now
            }
            Delivery::Permanent { status, detail } => {
                error!(
                    status,
                    detail,
                    samples = pending.samples.len(),
                    "The aggregator will never accept this batch; quarantined, loss shipped as a gap record"
                );
                self.quarantine(pending, format!("HTTP {status}: {detail}"))
                    .await
            }
            Delivery::Unauthorized { status, detail } => {
                error!(status, detail, endpoint = %self.uplink.endpoint(), "The aggregator does not accept this agent's credentials; keeping data and retrying");
                self.failed()
            }
            Delivery::UnsupportedVersion { supported, detail } => {
                error!(supported = ?supported, ours = edgeward_proto::PROTOCOL_VERSION, detail, "The aggregator does not speak this agent's protocol version; keeping data, upgrade one side");
                self.failed()
            }
            Delivery::Retry { detail, after } => {
                if self.outage_since.is_none() {
                    warn!(detail, endpoint = %self.uplink.endpoint(), "Cannot deliver to the aggregator; buffering and retrying");
                } else {
                    debug!(detail, "Delivery failed again");
                }
                match (self.failed(), after) {
                    (Next::After(wait), Some(after)) => Next::After(wait.max(after)),
                    (next, _) => next,
                }
            }
        }
    }

    /// Encodes `pending` as one batch. Its samples move into the batch and back, so a
    /// catch-up batch of up to `max_batch_bytes` is not copied.
    fn frame(&self, pending: &mut Pending) -> Result<Vec<u8>, FrameError> {
        let (first, last) = match (pending.samples.first(), pending.samples.last()) {
            (Some(f), Some(l)) => (f.seq, l.seq),
            _ => (Seq(0), Seq(0)),
        };
        if pending.samples.len() > MAX_SAMPLES || pending.gaps.len() > MAX_GAPS {
            return Err(FrameError::OverBounds {
                samples: pending.samples.len(),
                gaps: pending.gaps.len(),
            });
        }
        let gaps: Vec<_> = pending.gaps.iter().map(|(_, g)| g.clone()).collect();
        let batch = Batch {
            header: BatchHeader {
                protocol_version: edgeward_proto::PROTOCOL_VERSION,
                node: self.identity.node.clone(),
                cluster: self.identity.cluster.clone(),
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                boot_id: self.identity.boot_id,
                stream: pending.stream,
                first_seq: first,
                last_seq: last,
                sent_at: clock::now(),
            },
            // Within the bounds: checked above.
            samples: Bounded::try_from(std::mem::take(&mut pending.samples)).unwrap_or_default(),
            gaps: Bounded::try_from(gaps).unwrap_or_default(),
        };
        let frame = edgeward_proto::encode_batch(&batch, &EncodeOptions::default());
        pending.samples = batch.samples.into_vec();
        frame.map_err(FrameError::Encode)
    }

    async fn accepted(&mut self, pending: &Pending, reply: &edgeward_proto::Reply) -> Next {
        let last = pending.samples.last().map(|s| s.seq);
        let acked = reply
            .acks
            .iter()
            .find(|a| a.stream == pending.stream)
            .map(|a| a.acked_through);
        // Never delete beyond what this batch carried, whatever the reply says.
        let through = match (acked, last) {
            (Some(a), Some(l)) => Seq(a.0.min(l.0)),
            _ => Seq(0),
        };
        let gap_ids: Vec<_> = pending.gaps.iter().map(|(id, _)| *id).collect();
        let outbox = self.outbox.clone();
        let done = tokio::task::spawn_blocking(move || outbox.ack(through, &gap_ids)).await;
        if let Some(since) = self.outage_since.take() {
            info!(after = %humantime::format_duration(Duration::from_secs(since.elapsed().as_secs())), "Delivering to the aggregator again");
        }
        self.backoff.reset();
        self.budget = self.options.max_batch_bytes.max(MIN_BATCH_BYTES);
        match done {
            Ok(Ok(())) => {
                self.stats.batches_accepted += 1;
                self.stats.samples_acked +=
                    pending.samples.iter().filter(|s| s.seq <= through).count() as u64;
                Next::Now
            }
            Ok(Err(e)) => {
                // The data is durable centrally; re-sending it is a harmless duplicate.
                error!(error = %e, "Cannot delete acknowledged samples from the outbox");
                Next::After(Duration::from_secs(1))
            }
            Err(e) => {
                error!(error = %e, "Outbox ack task failed");
                Next::After(Duration::from_secs(1))
            }
        }
    }

    /// The outbox holds a record that fails its checksum: move it aside and continue in a
    /// fresh one, so one bad sector never blocks the queue. The loss ships as a gap record.
    async fn recover(&mut self, reason: String) -> Next {
        let outbox = self.outbox.clone();
        match tokio::task::spawn_blocking(move || outbox.recover(&reason)).await {
            // The outbox logs the recovery at ERROR with the lost range.
            Ok(Ok(_)) => Next::Now,
            Ok(Err(e)) => {
                error!(error = %e, "Cannot recover the outbox; retrying");
                Next::After(self.backoff.next_wait().max(Duration::from_secs(1)))
            }
            Err(e) => {
                error!(error = %e, "Outbox recovery task failed; retrying");
                Next::After(self.backoff.next_wait().max(Duration::from_secs(1)))
            }
        }
    }

    /// Moves the batch aside; when that fails the batch stays queued and we back off.
    async fn quarantine(&mut self, pending: Pending, detail: String) -> Next {
        let outbox = self.outbox.clone();
        match tokio::task::spawn_blocking(move || outbox.quarantine(&pending, &detail)).await {
            Ok(Ok(())) => {
                self.stats.quarantined_batches += 1;
                Next::Now
            }
            Ok(Err(e)) => {
                error!(error = %e, "Cannot quarantine a batch; it stays queued");
                self.failed()
            }
            Err(e) => {
                error!(error = %e, "Quarantine task failed");
                self.failed()
            }
        }
    }

    fn failed(&mut self) -> Next {
        self.stats.failures += 1;
        self.outage_since
            .get_or_insert_with(std::time::Instant::now);
        Next::After(self.backoff.next_wait())
    }
}
