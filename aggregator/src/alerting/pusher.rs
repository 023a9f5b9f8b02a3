//! The pushing task: feeds the analysis' alert set into the [`AlertState`], sends what is due
//! with the [`Client`], records the outcome, and publishes [`AlertingStats`].
//!
//! It wakes on a change of the alert set, when the next re-send is due, or when the backoff
//! after a failed push ends. While backing off it does not look at the alert set: the watch
//! channel keeps only the latest value, which is taken when the wait ends, so a flapping
//! analysis cannot make it hammer an Alertmanager that is down.
//!
//! Logs, per Alertmanager URL: WARN once when it stops accepting (ERROR when it refuses the
//! request with a 4xx: operator action needed), INFO when it accepts again, DEBUG for the
//! failures in between. ERROR when pending resolves are dropped or an alert is refused.
//!
//! At shutdown, a push in flight is abandoned and resolves that never reached Alertmanager
//! get one last push (bounded by the client timeout); active alerts are not resolved: they expire in Alertmanager at the
//! `endsAt` last sent, unless another aggregator keeps them alive.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgeward_proto::UnixMillis;
use edgeward_runtime::clock;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use super::alert::Alert;
use super::client::{Client, PushReport};
use super::error::{RequestError, describe};
use super::state::{AlertState, AlertingStats, Push, UpdateReport};
use edgeward_runtime::backoff::Backoff;

/// Labels of dropped resolves named in one log event; the count is always complete.
const LOGGED_LABELS: usize = 5;

/// How each Alertmanager did on its last push.
#[derive(Debug, Clone, Copy)]
enum Health {
    Unknown,
    Up,
    Down { since: Instant, failures: u64 },
}

/// Runs until `shutdown` resolves.
pub(super) async fn run(
    client: Client,
    mut state: AlertState,
    resend_every: Duration,
    mut alerts: watch::Receiver<Arc<Vec<Alert>>>,
    stats: watch::Sender<AlertingStats>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut health = vec![Health::Unknown; client.urls().count()];
    let mut backoff = Backoff::new(resend_every);
    let mut source_open = true;
    absorb(&mut alerts, &mut state);
    info!(alertmanagers = health.len(), resend_every = ?resend_every, "Alert pusher started");
    loop {
        if source_open {
            match alerts.has_changed() {
                Ok(true) => absorb(&mut alerts, &mut state),
                Ok(false) => {}
                Err(_) => source_open = false,
            }
        }
        let now = clock::now();
        let mut failed = false;
        if let Some(push) = state.due(now) {
            tokio::select! {
                // A push in flight is abandoned; the one below, bounded by the timeout, is not.
                () = &mut shutdown => break,
                delivered = attempt(&client, &mut state, &push, &mut health) => failed = !delivered,
            }
        }
        stats.send_replace(state.stats());
        if failed {
            let wait = backoff.next_wait();
            debug!(wait = ?wait, attempts = backoff.attempts(), "Backing off before the next push");
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        backoff.reset();
        let now = clock::now();
        let wait = state
            .next_due(now)
            .map_or(resend_every, |at| millis_until(now, at).min(resend_every));
        tokio::select! {
            () = &mut shutdown => break,
            changed = alerts.changed(), if source_open => match changed {
                // `changed` marked the value seen: take it now.
                Ok(()) => absorb(&mut alerts, &mut state),
                Err(_) => source_open = false,
            },
            () = tokio::time::sleep(wait) => {}
        }
    }
    if state.has_undelivered_resolves()
        && let Some(push) = state.due(clock::now())
    {
        let pending_resolves = state.stats().pending_resolves;
        info!(
            pending_resolves,
            "Last push of pending resolves before stopping"
        );
        attempt(&client, &mut state, &push, &mut health).await;
    }
    stats.send_replace(state.stats());
    info!("Alert pusher stopped");
}

/// Sends `push` to every Alertmanager and records the outcome; whether it was delivered.
async fn attempt(
    client: &Client,
    state: &mut AlertState,
    push: &Push,
    health: &mut [Health],
) -> bool {
    let report = client.push(push.alerts()).await;
    let now = clock::now();
    log_health(&report, health, push.alerts().len());
    if report.delivered() {
        state.delivered(push, now);
        true
    } else {
        state.failed(now);
        false
    }
}

fn millis_until(now: UnixMillis, at: UnixMillis) -> Duration {
    Duration::from_millis(u64::try_from(at.0.saturating_sub(now.0)).unwrap_or(0))
}

/// Takes the latest alert set into the state.
fn absorb(alerts: &mut watch::Receiver<Arc<Vec<Alert>>>, state: &mut AlertState) {
    let firing = Arc::clone(&alerts.borrow_and_update());
    log_update(state.update(&firing, clock::now()), state);
}

fn log_update(report: UpdateReport, state: &AlertState) {
    for (labels, error) in &report.rejected {
        error!(labels = ?labels, error = %error, "Alert not sent: Alertmanager would refuse it");
    }
    if !report.dropped_resolves.is_empty() {
        let named: Vec<_> = report.dropped_resolves.iter().take(LOGGED_LABELS).collect();
        error!(
            dropped = report.dropped_resolves.len(),
            dropped_total = state.stats().dropped_resolves,
            first = ?named,
            "Pending resolves full: dropped the oldest; Alertmanager ends them at their last endsAt"
        );
    }
}

fn log_health(report: &PushReport, health: &mut [Health], alerts: usize) {
    for ((url, result), seen) in report.results.iter().zip(health.iter_mut()) {
        *seen = match (result, *seen) {
            (Ok(()), Health::Down { since, failures }) => {
                let outage = since.elapsed();
                info!(url = %url, outage = ?outage, failed_pushes = failures, alerts,
                    "Alertmanager accepts alerts again");
                Health::Up
            }
            (Ok(()), Health::Unknown) => {
                info!(url = %url, alerts, "Alertmanager accepts alerts");
                Health::Up
            }
            (Ok(()), Health::Up) => {
                debug!(url = %url, alerts, "Alerts pushed");
                Health::Up
            }
            (Err(e), Health::Down { since, failures }) => {
                let failures = failures + 1;
                debug!(url = %url, error = %describe(e), failures,
                    "Alertmanager still not accepting");
                Health::Down { since, failures }
            }
            (Err(e), Health::Unknown | Health::Up) => {
                if matches!(
                    e,
                    RequestError::Status {
                        status: 400..=499,
                        ..
                    }
                ) {
                    error!(url = %url, error = %describe(e),
                        "Alertmanager refuses the alerts, retrying; check credentials and labels");
                } else {
                    warn!(url = %url, error = %describe(e),
                        "Alertmanager unreachable, retrying; alerts are kept until it accepts");
                }
                Health::Down {
                    since: Instant::now(),
                    failures: 1,
                }
            }
        };
    }
}
