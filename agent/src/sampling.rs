//! The sampling loop: every interval, run every probe into one sample and append it to the
//! outbox (durable before it counts), then wake the shipper.
//!
//! Invariants:
//! - One cycle at a time: a slow probe delays the next tick (`MissedTickBehavior::Delay`)
//!   rather than stacking cycles up.
//! - The outbox assigns the sequence number at append, so a cycle interrupted by a crash
//!   leaves no hole: the loss from `kill -9` is at most the one cycle in progress.
//! - A failed append (disk full, I/O error) loses that cycle's sample: it is logged at ERROR
//!   and counted; it never got a sequence number, so no gap record can describe it.

use std::sync::Arc;
use std::time::Duration;

use edgeward_runtime::clock;
use tokio::sync::Notify;
use tokio::time::MissedTickBehavior;
use tracing::{debug, error};

use crate::buffer::Outbox;
use crate::probe::{Probe, blank_sample};

/// Counters of the sampling loop.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SamplingStats {
    pub appended: u64,
    pub append_failures: u64,
    pub dropped_by_size_bound: u64,
}

/// Samples every `interval` until `shutdown` resolves.
pub async fn run(
    outbox: Outbox,
    mut probes: Vec<Box<dyn Probe>>,
    interval: Duration,
    appended: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) -> SamplingStats {
    let mut stats = SamplingStats::default();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {}
        }
        let outbox = outbox.clone();
        let cycle = tokio::task::spawn_blocking(move || {
            let mut sample = blank_sample(clock::now());
            for probe in &mut probes {
                probe.observe(&mut sample);
            }
            let result = outbox.append(sample);
            if let Ok(done) = &result {
                for probe in &mut probes {
                    probe.appended(done.seq);
                }
            }
            (probes, result)
        });
        // The cycle finishes even when shutdown arrives meanwhile: its append is durable or
        // not, never half done.
        let (returned, result) = match cycle.await {
            Ok(pair) => pair,
            Err(e) => {
                error!(error = %e, "Sampling cycle failed; no probes left to run");
                break;
            }
        };
        probes = returned;
        match result {
            Ok(done) => {
                stats.appended += 1;
                stats.dropped_by_size_bound += done.dropped;
                // The outbox logs the start of a size-bound gap at ERROR, once per gap.
                debug!(seq = done.seq.0, dropped = done.dropped, "Sample appended");
                appended.notify_one();
            }
            Err(e) => {
                stats.append_failures += 1;
                error!(error = %e, "Cannot append a sample to the outbox; this cycle's sample is lost");
            }
        }
    }
    stats
}
