//! `:10250/pods`: the node's PodList, read into the few fields the agent uses, and the
//! [`Pods`] summary derived from it.
//!
//! | field | source |
//! | --- | --- |
//! | `phases` | `status.phase`; missing or unknown text counts as `unknown` |
//! | `qos` | `status.qosClass`; when absent, computed by the Kubernetes rule ([`qos_class`]) |
//! | `container_restarts` | Σ `restartCount` over init and app container statuses |
//! | `crash_looping` | containers whose `state.waiting.reason` is `CrashLoopBackOff` |
//! | `oom_killed` | containers whose `state` or `lastState` `terminated.reason` is `OOMKilled` |
//! | `evicted` | pods whose `status.reason` is `Evicted` |
//! | `troubled` | the [`MAX_TROUBLED`] worst containers, see [`troubled`] |
//!
//! Invariants: unknown fields are ignored and missing ones take their Kubernetes zero value,
//! so kubelets of other versions parse; a field of the wrong JSON type, or a body cut off, is
//! an error (the section becomes `Unparseable`), never a partial count.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use edgeward_proto::Bounded;
use edgeward_proto::kubelet::{PodPhases, Pods, QosClasses, TroubledContainer};
use serde::{Deserialize, Deserializer};

use super::quantity::{self, QuantityError};

/// How many troubled containers one sample carries (the wire bound).
pub const MAX_TROUBLED: usize = Bounded::<TroubledContainer, 16>::MAX;

/// `waiting.reason`s that are normal steps of starting a container, not trouble.
const STARTING: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// A JSON `null` reads as the type's default, like a missing field.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PodList {
    #[serde(deserialize_with = "nullable")]
    pub items: Vec<Pod>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Pod {
    #[serde(deserialize_with = "nullable")]
    pub metadata: Metadata,
    #[serde(deserialize_with = "nullable")]
    pub spec: Spec,
    #[serde(deserialize_with = "nullable")]
    pub status: Status,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub namespace: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Spec {
    #[serde(deserialize_with = "nullable")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "nullable")]
    pub init_containers: Vec<Container>,
    /// RuntimeClass overhead, added to the pod's effective request.
    #[serde(deserialize_with = "nullable")]
    pub overhead: BTreeMap<String, QuantityText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    #[serde(deserialize_with = "nullable")]
    pub resources: Requirements,
    /// `Always` on an init container makes it a sidecar (Kubernetes ≥ 1.28).
    pub restart_policy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Requirements {
    #[serde(deserialize_with = "nullable")]
    pub requests: BTreeMap<String, QuantityText>,
    #[serde(deserialize_with = "nullable")]
    pub limits: BTreeMap<String, QuantityText>,
}

/// A quantity as JSON carries it: a string (what the API server writes) or a bare number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum QuantityText {
    Text(String),
    Number(serde_json::Number),
}

impl QuantityText {
    pub fn text(&self) -> String {
        match self {
            QuantityText::Text(s) => s.clone(),
            QuantityText::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Status {
    pub phase: Option<String>,
    pub reason: Option<String>,
    pub qos_class: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "nullable")]
    pub init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    pub restart_count: i64,
    #[serde(deserialize_with = "nullable")]
    pub state: State,
    #[serde(deserialize_with = "nullable")]
    pub last_state: State,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct State {
    pub waiting: Option<Reasoned>,
    pub terminated: Option<Reasoned>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Reasoned {
    pub reason: Option<String>,
}

impl Pod {
    /// Neither `Succeeded` nor `Failed`: the pod still holds its requests on the node.
    pub fn is_active(&self) -> bool {
        !matches!(self.status.phase.as_deref(), Some("Succeeded" | "Failed"))
    }
}

/// Parses a `/pods` body.
pub fn parse(body: &[u8]) -> Result<PodList, serde_json::Error> {
    serde_json::from_slice(body)
}

/// The [`Pods`] summary. Errors only when a pod without `qosClass` has a quantity the QoS
/// rule cannot read.
pub fn summarize(list: &PodList) -> Result<Pods, QuantityError> {
    let mut phases = PodPhases::default();
    let mut qos = QosClasses::default();
    let mut restarts: u64 = 0;
    let (mut crash_looping, mut oom_killed, mut evicted) = (0u32, 0u32, 0u32);
    let mut troubled = Vec::new();
    for pod in &list.items {
        let slot = match pod.status.phase.as_deref() {
            Some("Pending") => &mut phases.pending,
            Some("Running") => &mut phases.running,
            Some("Succeeded") => &mut phases.succeeded,
            Some("Failed") => &mut phases.failed,
            _ => &mut phases.unknown,
        };
        *slot = slot.saturating_add(1);
        let class = match pod.status.qos_class.as_deref() {
            Some(c @ ("Guaranteed" | "Burstable" | "BestEffort")) => Qos::from_name(c),
            _ => qos_class(&pod.spec)?,
        };
        let slot = match class {
            Qos::Guaranteed => &mut qos.guaranteed,
            Qos::Burstable => &mut qos.burstable,
            Qos::BestEffort => &mut qos.best_effort,
        };
        *slot = slot.saturating_add(1);
        if pod.status.reason.as_deref() == Some("Evicted") {
            evicted = evicted.saturating_add(1);
        }
        let statuses = pod
            .status
            .init_container_statuses
            .iter()
            .chain(&pod.status.container_statuses);
        for c in statuses {
            let count = u64::try_from(c.restart_count).unwrap_or(0);
            restarts = restarts.saturating_add(count);
            let trouble = assess(c);
            if trouble.crash_looping {
                crash_looping = crash_looping.saturating_add(1);
            }
            if trouble.oom_killed {
                oom_killed = oom_killed.saturating_add(1);
            }
            if let Some((rank, reason)) = trouble.worst {
                let name = format!(
                    "{}/{}/{}",
                    pod.metadata.namespace, pod.metadata.name, c.name
                );
                let restarts = u32::try_from(count).unwrap_or(u32::MAX);
                troubled.push((
                    rank,
                    TroubledContainer {
                        name,
                        reason,
                        restarts,
                    },
                ));
            }
        }
    }
    Ok(Pods {
        phases,
        qos,
        container_restarts: restarts,
        crash_looping,
        oom_killed,
        evicted,
        troubled: worst(troubled),
    })
}

struct Trouble {
    crash_looping: bool,
    oom_killed: bool,
    /// Rank (lower is worse) and the reason shown.
    worst: Option<(u8, String)>,
}

/// What is wrong with one container. Ranks: 0 crash-looping, 1 OOM-killed (now or last
/// time), 2 waiting for another reason than starting (`ImagePullBackOff`,
/// `CreateContainerConfigError`, ...), 3 restarted at least once (reason: the last
/// termination's, else `Restarted`).
fn assess(c: &ContainerStatus) -> Trouble {
    let reason = |s: &Option<Reasoned>| s.as_ref().and_then(|r| r.reason.clone());
    let waiting = reason(&c.state.waiting);
    let crash_looping = waiting.as_deref() == Some("CrashLoopBackOff");
    let oom_killed = [&c.state.terminated, &c.last_state.terminated]
        .into_iter()
        .any(|t| reason(t).as_deref() == Some("OOMKilled"));
    let worst = if crash_looping {
        Some((0, "CrashLoopBackOff".to_owned()))
    } else if oom_killed {
        Some((1, "OOMKilled".to_owned()))
    } else if let Some(w) = waiting.filter(|w| !w.is_empty() && !STARTING.contains(&w.as_str())) {
        Some((2, w))
    } else if c.restart_count > 0 {
        let last = reason(&c.last_state.terminated).filter(|r| !r.is_empty());
        Some((3, last.unwrap_or_else(|| "Restarted".to_owned())))
    } else {
        None
    };
    Trouble {
        crash_looping,
        oom_killed,
        worst,
    }
}

/// The [`MAX_TROUBLED`] worst: by rank, then most restarts, then name and reason (so the
/// order never depends on the order of the PodList).
fn worst(mut all: Vec<(u8, TroubledContainer)>) -> Bounded<TroubledContainer, 16> {
    all.sort_by(|(ra, a), (rb, b)| {
        (ra, Reverse(a.restarts), &a.name, &a.reason).cmp(&(
            rb,
            Reverse(b.restarts),
            &b.name,
            &b.reason,
        ))
    });
    let mut out = Bounded::new();
    for (_, c) in all.into_iter().take(MAX_TROUBLED) {
        // `take` keeps the count within the bound.
        let _ = out.push(c);
    }
    out
}

/// A pod's QoS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl Qos {
    fn from_name(name: &str) -> Qos {
        match name {
            "Guaranteed" => Qos::Guaranteed,
            "BestEffort" => Qos::BestEffort,
            _ => Qos::Burstable,
        }
    }
}

/// The Kubernetes QoS rule (pkg/apis/core/v1/helper/qos `GetPodQOS`) over init and app
/// containers, for cpu and memory only, after API defaulting (a limit without a request
/// requests the limit): no non-zero request or limit → BestEffort; every container limits
/// both cpu and memory and the summed requests equal the summed limits → Guaranteed; else
/// Burstable.
pub fn qos_class(spec: &Spec) -> Result<Qos, QuantityError> {
    let mut requests = [0u128; 2];
    let mut limits = [0u128; 2];
    let mut any_request = [false; 2];
    let mut any_limit = [false; 2];
    let mut guaranteed = true;
    for c in spec.init_containers.iter().chain(&spec.containers) {
        let mut limited = [false; 2];
        for (i, name) in ["cpu", "memory"].into_iter().enumerate() {
            let limit = amount(c.resources.limits.get(name))?;
            let request = match c.resources.requests.get(name) {
                Some(q) => amount(Some(q))?,
                None => limit,
            };
            if request > 0 {
                any_request[i] = true;
                requests[i] = requests[i].saturating_add(request);
            }
            if limit > 0 {
                any_limit[i] = true;
                limited[i] = true;
                limits[i] = limits[i].saturating_add(limit);
            }
        }
        if !(limited[0] && limited[1]) {
            guaranteed = false;
        }
    }
    if !any_request.iter().chain(&any_limit).any(|b| *b) {
        return Ok(Qos::BestEffort);
    }
    let equal = (0..2).all(|i| !any_request[i] || (any_limit[i] && requests[i] == limits[i]));
    let same_resources = any_request == any_limit;
    Ok(if guaranteed && equal && same_resources {
        Qos::Guaranteed
    } else {
        Qos::Burstable
    })
}

/// A quantity in milli-units (exact for cpu and memory alike), 0 when absent.
fn amount(q: Option<&QuantityText>) -> Result<u128, QuantityError> {
    match q {
        None => Ok(0),
        Some(q) => {
            let text = q.text();
            let a = quantity::parse(&text)?;
            a.ceil_scaled(3)
                .map(u128::from)
                .ok_or(QuantityError::Overflow(text))
        }
    }
}

#[cfg(test)]
#[path = "pods_tests.rs"]
mod tests;
