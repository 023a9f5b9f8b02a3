//! Kubelet section: liveness from `:10248/healthz` and, when the authenticated API on
//! `:10250` is reachable, what `/metrics`, `/pods`, `/stats/summary` and `/configz` say
//! (DOMAIN.md §1). Each endpoint is its own section: on K3s every `:10250` request needs the
//! API server, so a cut-off node reports those as unavailable and keeps `healthz`.

use crate::bounded::Bounded;
use crate::pressure::Threshold;
use crate::sample::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeletHealth {
    /// `http://127.0.0.1:10248/healthz`.
    pub healthz: Section<Healthz>,
    /// `:10250/metrics`.
    pub metrics: Section<KubeletMetrics>,
    /// `:10250/pods`.
    pub pods: Section<Pods>,
    /// `:10250/stats/summary` with `/pods` and `/configz`: requests vs allocatable vs usage.
    pub scheduling: Section<Scheduling>,
    /// `:10250/configz`: the effective settings the agent uses.
    pub configz: Section<KubeletConfig>,
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

/// Trouble signals from the kubelet's Prometheus metrics (DOMAIN.md §1). Counters are the
/// kubelet's cumulative totals (the aggregator computes rates); `None` means the kubelet does
/// not expose the metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeletMetrics {
    /// `kubernetes_build_info` `git_version`, e.g. `v1.31.4+k3s1`.
    pub version: Option<String>,
    /// now − `kubelet_pleg_last_seen_seconds`; PLEG is unhealthy above 3 min.
    pub pleg_last_seen_age_secs: Option<f64>,
    /// p99 of `kubelet_pleg_relist_duration_seconds` over the interval since the previous
    /// scrape (histogram deltas); over the kubelet's lifetime on the first scrape.
    pub pleg_relist_p99_secs: Option<f64>,
    /// Σ `kubelet_runtime_operations_errors_total`.
    pub runtime_operation_errors: Option<u64>,
    /// Σ `kubelet_started_pods_errors_total`.
    pub started_pods_errors: Option<u64>,
    /// `kubelet_evictions{eviction_signal}`.
    pub evictions: Bounded<EvictionCount, 16>,
    /// `kubelet_certificate_manager_client_ttl_seconds`; +Inf when the manager is unused.
    pub client_cert_ttl_secs: Option<f64>,
    /// `kubelet_certificate_manager_server_ttl_seconds`; +Inf when unused.
    pub server_cert_ttl_secs: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvictionCount {
    pub signal: String,
    pub count: u64,
}

/// The node's pods from `/pods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pods {
    pub phases: PodPhases,
    pub qos: QosClasses,
    /// Σ `restartCount` over all containers.
    pub container_restarts: u64,
    /// Containers waiting in `CrashLoopBackOff`.
    pub crash_looping: u32,
    /// Containers whose last termination was `OOMKilled`.
    pub oom_killed: u32,
    /// Pods with `status.reason` `Evicted`.
    pub evicted: u32,
    /// The worst containers (crash-looping, OOM-killed, most restarts), for the operator.
    pub troubled: Bounded<TroubledContainer, 16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodPhases {
    pub pending: u32,
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub unknown: u32,
}

/// Pod QoS classes (eviction order under pressure: BestEffort, Burstable, Guaranteed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QosClasses {
    pub guaranteed: u32,
    pub burstable: u32,
    pub best_effort: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TroubledContainer {
    /// `namespace/pod/container`.
    pub name: String,
    /// `CrashLoopBackOff`, `OOMKilled`, ... (the waiting or last-terminated reason).
    pub reason: String,
    pub restarts: u32,
}

/// CPU in millicores and memory in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_millis: u64,
    pub memory_bytes: u64,
}

/// The scheduler-fragmentation signal (DOMAIN.md §2): the scheduler places by requests, so a
/// node with Σ requests near allocatable and low usage is "full but idle".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduling {
    /// Online CPUs and `MemTotal`.
    pub capacity: Resources,
    /// capacity − kubeReserved − systemReserved − the memory hard-eviction threshold, as the
    /// kubelet computes it.
    pub allocatable: Resources,
    /// Σ over pods not yet terminated of max(Σ containers, largest init container).
    pub requests: Resources,
    pub limits: Resources,
    /// `/stats/summary` node `usageNanoCores` and `workingSetBytes`.
    pub usage: Resources,
}

/// What the agent uses from `:10250/configz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeletConfig {
    pub eviction_hard: Bounded<Threshold, 8>,
    pub kube_reserved: Resources,
    pub system_reserved: Resources,
    pub max_pods: Option<u32>,
}
