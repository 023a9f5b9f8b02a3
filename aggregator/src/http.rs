//! The aggregator's HTTP surface. Handlers stay thin: decode, call a service, encode.
//!
//! Served over plain HTTP for now; TLS termination arrives in a later issue.
//!
//! | route | response |
//! | --- | --- |
//! | `GET /healthz` | `200 ok`: the process is serving |
//! | `GET /readyz` | `200 ready`: always, until there is a store whose readiness to report |
//! | `GET /v1/protocol` | `200` JSON `{"protocol_version":1,"oldest_supported":1}` |

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

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

/// All routes.
pub fn router() -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/protocol", get(protocol))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz() -> &'static str {
    "ready"
}

async fn protocol() -> Json<ProtocolInfo> {
    Json(ProtocolInfo::CURRENT)
}
