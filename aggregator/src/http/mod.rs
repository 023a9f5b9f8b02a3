//! The aggregator's HTTP surface. Handlers stay thin: decode, call a service, encode.
//!
//! | route | response |
//! | --- | --- |
//! | `GET /healthz` | `200 ok`: the process is serving |
//! | `GET /readyz` | `200 ready`: the store is open and answers; `503` with the reason otherwise |
//! | `GET /v1/protocol` | `200` JSON `{"protocol_version":2,"oldest_supported":1}` |
//! | `POST /v1/batches` | ingest, see [`batches`] |
//! | `GET /v1/nodes` | `200` JSON list of node summaries |
//! | `GET /v1/nodes/{id}` | `200` JSON node detail (registry, latest sample, history, gaps, holes); `404` |
//! | `GET /v1/nodes/{id}/samples?after_stream=&after_seq=&limit=` | `200` JSON stored samples in (stream, seq) order |
//! | `GET /v1/findings?cluster=&node=&severity=&kind=&loop=` | `200` JSON findings of the latest evaluation (comma-separated lists); `400` for an unknown value; `503` before the first evaluation |
//! | `GET /v1/clusters` | `200` JSON cluster reports; `503` before the first evaluation |
//! | `GET /v1/clusters/{id}` | `200` JSON report, nodes, findings and upgrade plan of one cluster (`unassigned`: nodes without a cluster identity); `404` |
//! | `GET /v1/upgrade-plan?format=json\|suc&cluster=` | `200` the wave plan as JSON, or Rancher system-upgrade-controller Plans as YAML |
//! | `GET /metrics` | Prometheus text: nodes by version and state, findings by kind and severity, ingest, store, alerting, policy |
//!
//! The read API carries no authentication of its own: the default listen address is loopback,
//! and a deployment that exposes it puts it behind the same access control as its dashboards.

pub mod analysis;
mod batches;
pub mod metrics;
mod nodes;
pub mod serve;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::ingest::Ingest;
use crate::monitor::Monitor;
use crate::store::Store;

/// Extra `/metrics` families from services outside the HTTP layer (alerting, policy).
pub type ExtraMetrics = Arc<dyn Fn(&mut metrics::Exposition) + Send + Sync>;

/// The wire protocol versions this build speaks, as served on `/v1/protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProtocolInfo {
    /// The version this build encodes.
    pub protocol_version: u16,
    /// The oldest version this build still decodes.
    pub oldest_supported: u16,
}

impl ProtocolInfo {
    /// The versions compiled into this build.
    pub const CURRENT: Self = Self {
        protocol_version: edgeward_proto::PROTOCOL_VERSION,
        oldest_supported: edgeward_proto::OLDEST_SUPPORTED_VERSION,
    };
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub ingest: Arc<Ingest>,
    pub store: Arc<dyn Store>,
    pub monitor: Arc<Monitor>,
    pub extra_metrics: Option<ExtraMetrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// All routes. The body limit of `POST /v1/batches` is the ingest service's: its handler
/// reads the body itself, after authentication.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/protocol", get(protocol))
        .route("/v1/batches", post(batches::post))
        .route("/v1/nodes", get(nodes::list))
        .route("/v1/nodes/{id}", get(nodes::detail))
        .route("/v1/nodes/{id}/samples", get(nodes::samples))
        .route("/v1/findings", get(analysis::findings))
        .route("/v1/clusters", get(analysis::clusters))
        .route("/v1/clusters/{id}", get(analysis::cluster))
        .route("/v1/upgrade-plan", get(analysis::upgrade_plan))
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let store = Arc::clone(&state.store);
    match tokio::task::spawn_blocking(move || store.stats()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready".to_owned()),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}")),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store task: {e}")),
    }
}

async fn protocol() -> Json<ProtocolInfo> {
    Json(ProtocolInfo::CURRENT)
}
