//! The background services beside the HTTP server: the analysis tick ([`Monitor::run`]), the
//! policy reloader, and the alert push fed from each evaluation. All stop when the server
//! stops.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{AlertmanagerConfig, Config};
use crate::http::metrics::Exposition;
use crate::http::{AppState, ExtraMetrics};
use crate::policy::{self, Policy, PolicyStatus};

/// What [`crate::bind`] prepared and [`crate::Bound::serve`] starts.
pub(crate) struct Services {
    policy_file: Option<PathBuf>,
    policy_tx: watch::Sender<Arc<Policy>>,
    evaluate_every: Duration,
    alertmanager: Option<AlertmanagerConfig>,
    external_url: Option<String>,
    policy_status: Arc<Mutex<Option<watch::Receiver<PolicyStatus>>>>,
    alerting: Arc<Mutex<Option<crate::alerting::AlertingStatsHandle>>>,
}

impl Services {
    pub(crate) fn new(config: &Config, policy_tx: watch::Sender<Arc<Policy>>) -> Self {
        Self {
            policy_file: config.policy_file.clone(),
            policy_tx,
            evaluate_every: config.evaluate_every,
            alertmanager: config.alertmanager.clone(),
            external_url: config.external_url.clone(),
            policy_status: Arc::new(Mutex::new(None)),
            alerting: Arc::new(Mutex::new(None)),
        }
    }

    /// `/metrics` families of the policy and of alerting.
    pub(crate) fn extra_metrics(&self) -> Option<ExtraMetrics> {
        let status = Arc::clone(&self.policy_status);
        let alerting = Arc::clone(&self.alerting);
        let has_policy = self.policy_file.is_some();
        Some(Arc::new(move |e: &mut Exposition| {
            let guard = status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(rx) = guard.as_ref() {
                let s = rx.borrow();
                e.one(
                    "edgeward_policy_valid",
                    "gauge",
                    "1 when the policy file on disk is valid and in force; 0 while an invalid edit is refused (the previous policy stays in force).",
                    if s.last_error.is_none() { 1.0 } else { 0.0 },
                )
                .one(
                    "edgeward_policy_loaded_timestamp_seconds",
                    "gauge",
                    "When the policy in force was loaded.",
                    s.loaded_at.0 as f64 / 1e3,
                )
                .one("edgeward_policy_reloads_total", "counter", "Policy reloads that took effect.", s.reloads as f64)
                .one("edgeward_policy_reload_failures_total", "counter", "Policy reloads refused as invalid.", s.failures as f64);
            } else if !has_policy {
                e.one(
                    "edgeward_policy_valid",
                    "gauge",
                    "1: no policy file, built-in defaults in force.",
                    1.0,
                );
            }
            drop(guard);
            let guard = alerting
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(h) = guard.as_ref() {
                crate::monitor::alerts::metrics(h, e);
            }
        }))
    }

    /// Starts everything; each task ends when `stop` turns `true`.
    pub(crate) fn spawn(
        &self,
        state: &AppState,
        stop: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut tasks = Vec::new();
        let monitor = Arc::clone(&state.monitor);
        tasks.push(tokio::spawn(monitor.run(
            Arc::clone(&state.store),
            self.evaluate_every,
            stopped(stop.clone()),
        )));
        if let Some(path) = &self.policy_file {
            let reloader = policy::spawn_reloader(
                path.clone(),
                self.policy_tx.clone(),
                policy::DEFAULT_POLL,
                stopped(stop.clone()),
            );
            *self
                .policy_status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reloader.status);
            tasks.push(reloader.task);
        }
        if let Some(am) = &self.alertmanager {
            match crate::monitor::alerts::spawn_push(
                am,
                Arc::clone(&state.monitor),
                self.external_url.clone(),
                stopped(stop.clone()),
            ) {
                Ok((task, stats)) => {
                    *self
                        .alerting
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stats);
                    tasks.push(task);
                }
                Err(e) => {
                    tracing::error!(error = %e, "Alert push not started: findings reach no Alertmanager")
                }
            }
        }
        tasks
    }
}
