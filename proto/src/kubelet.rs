//! Kubelet section: liveness from `:10248/healthz` and, when the authenticated API on
//! `:10250` is reachable, what it says about pods (DOMAIN.md §1).

use crate::sample::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeletHealth {
    /// `http://127.0.0.1:10248/healthz`.
    pub healthz: Healthz,
    /// `kubernetes_build_info` git version, e.g. `v1.31.4+k3s1`.
    pub version: Option<String>,
    /// `:10250` data. On K3s it needs the API server (webhook authorization), so it is often
    /// unavailable on a cut-off node while `healthz` still answers.
    pub api: Section<KubeletApi>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Healthz {
    Ok,
    /// Answered, but not `ok`: the HTTP status and the first bytes of the body.
    Unhealthy {
        status: u16,
        body: String,
    },
}

/// Pod-level facts from `/pods` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeletApi {
    pub pods: PodPhases,
    pub container_restarts: u64,
    pub crash_looping: u32,
    pub oom_killed: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodPhases {
    pub pending: u32,
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub unknown: u32,
}
