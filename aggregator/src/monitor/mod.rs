//! The monitor: the live side of the analysis. It keeps the [`Fleet`] fed from ingest, rebuilds
//! it from the store at start-up, evaluates it on a tick with the current policy, and
//! publishes each [`Analysis`] to the REST API, `/metrics` and alerting.
//!
//! Invariants:
//! - Until the first evaluation after start-up, [`Monitor::evaluated`] is `false` and readers
//!   answer "not evaluated yet", never an empty (healthy-looking) fleet.
//! - Batches are folded in only after the store made them durable ([`BatchObserver`]).
//! - Analysis runs on the blocking pool under the fleet's read lock; ingest takes the write
//!   lock for the microseconds a batch takes to fold in.

pub mod alerts;
mod rebuild;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use edgeward_proto::{Batch, UnixMillis};
use edgeward_runtime::clock;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::analysis::{self, Analysis, Fleet, Memory};
use crate::ingest::BatchObserver;
use crate::policy::Policy;
use crate::store::Store;

pub use rebuild::REBUILD_SAMPLES;

/// Default time between evaluations.
pub const DEFAULT_EVALUATE_EVERY: Duration = Duration::from_secs(15);

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct MonitorStats {
    pub batches_observed_total: AtomicU64,
    pub evaluations_total: AtomicU64,
    /// Wall time of the latest evaluation, µs.
    pub last_evaluation_micros: AtomicU64,
    /// Nodes rebuilt from the store at start-up.
    pub rebuilt_nodes: AtomicU64,
}

/// The live fleet analysis.
pub struct Monitor {
    fleet: RwLock<Fleet>,
    memory: Mutex<Memory>,
    policy: watch::Receiver<Arc<Policy>>,
    latest: watch::Sender<Arc<Analysis>>,
    evaluated: AtomicBool,
    stats: MonitorStats,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("evaluated", &self.evaluated)
            .finish_non_exhaustive()
    }
}

impl BatchObserver for Monitor {
    fn observe(&self, batch: &Batch, received_at: UnixMillis) {
        self.write().apply(batch, received_at);
        self.stats
            .batches_observed_total
            .fetch_add(1, Ordering::Relaxed);
    }
}

impl Monitor {
    /// A monitor reading the policy from `policy` (a reloader may update it).
    pub fn new(policy: watch::Receiver<Arc<Policy>>) -> Arc<Self> {
        let (latest, _) = watch::channel(Arc::new(Analysis::empty(UnixMillis(0))));
        Arc::new(Self {
            fleet: RwLock::new(Fleet::new()),
            memory: Mutex::new(Memory::default()),
            policy,
            latest,
            evaluated: AtomicBool::new(false),
            stats: MonitorStats::default(),
        })
    }

    // A poisoned lock means a panic elsewhere while holding it; the fleet state is plain data
    // that stays consistent per field, so keep going with it.
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Fleet> {
        self.fleet
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Fleet> {
        self.fleet
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Evaluates the fleet at `now` with the current policy and publishes the result.
    /// Blocking: call it from the blocking pool.
    pub fn evaluate(&self, now: UnixMillis) -> Arc<Analysis> {
        let started = Instant::now();
        let policy = Arc::clone(&self.policy.borrow());
        let analysis = {
            let fleet = self.read();
            let mut memory = self
                .memory
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::new(analysis::analyze(&fleet, &policy, now, &mut memory))
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.stats
            .last_evaluation_micros
            .store(micros, Ordering::Relaxed);
        self.stats.evaluations_total.fetch_add(1, Ordering::Relaxed);
        self.latest.send_replace(Arc::clone(&analysis));
        self.evaluated.store(true, Ordering::Release);
        analysis
    }

    /// The latest evaluation (empty until [`Monitor::evaluated`]).
    pub fn latest(&self) -> Arc<Analysis> {
        Arc::clone(&self.latest.borrow())
    }

    /// `true` once the first evaluation after start-up is published.
    pub fn evaluated(&self) -> bool {
        self.evaluated.load(Ordering::Acquire)
    }

    /// Every published evaluation.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Analysis>> {
        self.latest.subscribe()
    }

    pub fn stats(&self) -> &MonitorStats {
        &self.stats
    }

    /// The policy currently in force.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.policy.borrow())
    }

    /// Nodes known to the analysis.
    pub fn nodes(&self) -> usize {
        self.read().len()
    }

    /// Rebuilds from `store`, then evaluates every `every` until `shutdown`. Before each
    /// evaluation it refreshes the sequence holes the store sees.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        every: Duration,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) {
        let me = Arc::clone(&self);
        let st = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || rebuild::rebuild(&me, st.as_ref())).await {
            Ok(Ok(n)) => {
                self.stats.rebuilt_nodes.store(n as u64, Ordering::Relaxed);
                info!(nodes = n, "Analysis state rebuilt from the store");
            }
            Ok(Err(e)) => {
                warn!(error = %e, "Could not rebuild the analysis from the store; nodes appear as they report")
            }
            Err(e) => warn!(error = %e, "Rebuild task failed"),
        }
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = tick.tick() => {}
            }
            let me = Arc::clone(&self);
            let st = Arc::clone(&store);
            let done = tokio::task::spawn_blocking(move || {
                if let Err(e) = rebuild::refresh_holes(&me, st.as_ref()) {
                    warn!(error = %e, "Could not read sequence holes from the store");
                }
                me.evaluate(clock::now())
            })
            .await;
            if let Err(e) = done {
                warn!(error = %e, "Evaluation task failed");
            }
        }
    }
}
