//! Alerting: tells Alertmanager (API v2) which alerts the analysis finds firing, re-sends
//! them while they fire, and resolves them when they stop.
//!
//! ```text
//!  analysis ──watch<Arc<Vec<Alert>>>──► pusher task ──POST /api/v2/alerts──► Alertmanager(s)
//!                                        │  state: active + pending resolves (pure)
//!                                        └► watch<AlertingStats> ──► /metrics
//! ```
//!
//! - [`alert`]: the [`Alert`] type, **the label contract**, and the JSON body;
//!   [`rfc3339`]: its timestamps.
//! - [`state`]: the pure state machine deciding what to send when (its invariants: nothing is
//!   lost while Alertmanager is away; resolves are bounded and never dropped by age).
//! - [`client`]: the HTTP client; several URLs are one HA cluster, each push goes to all and
//!   counts as delivered when at least one accepted it.
//! - `pusher`: the task joining them, with a jittered backoff (`edgeward_runtime::backoff`) after failures.
//!
//! The input is a `tokio::sync::watch` of the complete firing set: the analysis replaces it,
//! never queues into it, so a slow or absent Alertmanager cannot back up the analysis. The
//! only queue is the set of pending resolves, bounded by
//! [`state::Policy::max_pending_resolves`] and counted in `dropped_resolves` when full.
//! Everything is in memory: after a restart the analysis recomputes what fires, and an alert
//! that stopped firing while the aggregator was down expires in Alertmanager at the `endsAt`
//! last sent (at most 4 resend intervals later).

pub mod alert;
pub mod client;
pub mod error;
mod pusher;
pub mod rfc3339;
pub mod state;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

pub use alert::{Alert, InvalidAlert, Labels, Postable};
pub use client::{Client, PushReport, Status};
pub use error::{ClientError, RequestError};
pub use state::{AlertState, AlertingStats, Policy};

/// Default of [`AlertmanagerOptions::resend_every`].
pub const DEFAULT_RESEND_EVERY: Duration = Duration::from_secs(60);
/// Default of [`AlertmanagerOptions::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to push alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerOptions {
    /// Base URLs of the Alertmanager replicas, e.g. `http://alertmanager:9093/`; a path
    /// prefix (`https://h/alertmanager/`) is kept. No default: at least one.
    pub urls: Vec<Url>,
    /// Re-send active alerts (and pending resolves) this long after the last successful
    /// push. Default [`DEFAULT_RESEND_EVERY`] (60 s); use 30 s–3 min. Also the cap of the
    /// backoff after failures, and active alerts are sent with `endsAt` 4 × this ahead.
    pub resend_every: Duration,
    /// Per request, connecting included. Default [`DEFAULT_TIMEOUT`] (10 s).
    pub timeout: Duration,
    /// PEM CA bundle that replaces the system roots for `https` URLs. Default: system roots.
    pub ca_file: Option<PathBuf>,
    /// File holding a bearer token, read on every request. Default: none.
    pub bearer_token_file: Option<PathBuf>,
}

impl AlertmanagerOptions {
    /// These URLs with every other option at its default.
    pub fn new(urls: Vec<Url>) -> Self {
        Self {
            urls,
            resend_every: DEFAULT_RESEND_EVERY,
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
            bearer_token_file: None,
        }
    }
}

/// Reads the pusher's counters, e.g. for `/metrics`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AlertingStatsHandle(watch::Receiver<AlertingStats>);

impl AlertingStatsHandle {
    /// The counters as of the pusher's last step.
    pub fn get(&self) -> AlertingStats {
        self.0.borrow().clone()
    }
}

/// The alert pusher.
#[derive(Debug)]
pub struct Alerting;

impl Alerting {
    /// Builds the client and spawns the pushing task on the current tokio runtime; it runs
    /// until `shutdown` resolves (then makes one last attempt for resolves that never got
    /// through) and never panics on anything Alertmanager answers.
    ///
    /// `alerts` carries the complete set of alerts firing now; replace it on every analysis
    /// pass (an unchanged set costs nothing).
    pub fn spawn(
        options: AlertmanagerOptions,
        alerts: watch::Receiver<Arc<Vec<Alert>>>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(JoinHandle<()>, AlertingStatsHandle), ClientError> {
        if options.resend_every.is_zero() {
            return Err(ClientError::ZeroDuration {
                what: "resend_every",
            });
        }
        let client = Client::new(&options)?;
        let state = AlertState::new(Policy::new(options.resend_every));
        let (stats_tx, stats_rx) = watch::channel(state.stats());
        let task = tokio::spawn(pusher::run(
            client,
            state,
            options.resend_every,
            alerts,
            stats_tx,
            shutdown,
        ));
        Ok((task, AlertingStatsHandle(stats_rx)))
    }
}
