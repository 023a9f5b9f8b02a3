//! The scheduler-fragmentation signal (DOMAIN.md §2): what the node has, what it offers the
//! scheduler, what pods claim, and what they use.
//!
//! | field | source |
//! | --- | --- |
//! | `capacity.cpu_millis` | online CPUs in `<root>/sys/devices/system/cpu/online` × 1000 |
//! | `capacity.memory_bytes` | `MemTotal` of `<root>/proc/meminfo` (what cAdvisor reports to the kubelet) |
//! | `allocatable` | capacity − `kubeReserved` − `systemReserved`, and for memory also − the `memory.available` hard-eviction threshold (`/configz`) |
//! | `requests`, `limits` | Σ over pods that are neither `Succeeded` nor `Failed` of each pod's effective amount ([`pod_amounts`]) |
//! | `usage` | `/stats/summary` node `cpu.usageNanoCores` (rounded up to millicores) and `memory.workingSetBytes` |
//!
//! Allocatable is computed the way the kubelet computes `Node.status.allocatable`
//! (pkg/kubelet/cm `GetNodeAllocatableAbsolute`/`getNodeAllocatableInternal`: capacity minus
//! reservations minus the hard-eviction threshold, floored at zero); a percentage threshold
//! is taken of the memory capacity. Pod-level `spec.resources` (Kubernetes ≥ 1.32) is not
//! read: those pods count by their containers.

use edgeward_proto::eviction;
use edgeward_proto::kubelet::{KubeletConfig, Resources};
use edgeward_proto::pressure::Signal;

use super::pods::{Container, Pod, PodList, QuantityText};
use super::quantity::{self, QuantityError};
use crate::probe::error::{ParseError, ProbeError};
use crate::probe::{HostRoot, procfs};

/// Online CPUs, e.g. `0-3,6`.
pub const CPU_ONLINE: &str = "/sys/devices/system/cpu/online";
/// `MemTotal` comes from here.
pub const MEMINFO: &str = "/proc/meminfo";

/// CPUs and memory of the host, read under `root`.
pub fn capacity(root: &HostRoot) -> Result<Resources, ProbeError> {
    let parse = |path: &str, text: &str, f: fn(&str) -> Result<u64, ParseError>| {
        f(text).map_err(|source| ProbeError::Parse {
            path: root.join(path),
            source,
        })
    };
    let cpus = parse(CPU_ONLINE, &root.read_text(CPU_ONLINE)?, online_cpus)?;
    let memory = parse(MEMINFO, &root.read_text(MEMINFO)?, |t| {
        procfs::meminfo(t).map(|m| m.total_bytes)
    })?;
    Ok(Resources {
        cpu_millis: cpus.saturating_mul(1000),
        memory_bytes: memory,
    })
}

/// The number of CPUs in a sysfs CPU list: `0-3,6` → 5.
pub fn online_cpus(text: &str) -> Result<u64, ParseError> {
    const FIELD: &str = "cpu list";
    const EXPECTED: &str = "a CPU list such as `0-3,6`";
    let list = text.trim();
    let bad = || ParseError::invalid(FIELD, list, EXPECTED);
    let number = |s: &str| -> Result<u64, ParseError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    if list.is_empty() {
        return Err(ParseError::Missing { field: FIELD });
    }
    let mut count: u64 = 0;
    for part in list.split(',') {
        let n = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                b.checked_sub(a).ok_or_else(bad)?.saturating_add(1)
            }
            None => {
                number(part)?;
                1
            }
        };
        count = count.saturating_add(n);
    }
    Ok(count)
}

/// capacity − kubeReserved − systemReserved − the memory hard-eviction threshold.
pub fn allocatable(capacity: Resources, config: &KubeletConfig) -> Resources {
    let eviction_memory = config
        .eviction_hard
        .iter()
        .find(|t| t.signal == Signal::MemoryAvailable)
        .map_or(0, |t| eviction::absolute(t.value, capacity.memory_bytes));
    Resources {
        cpu_millis: capacity
            .cpu_millis
            .saturating_sub(config.kube_reserved.cpu_millis)
            .saturating_sub(config.system_reserved.cpu_millis),
        memory_bytes: capacity
            .memory_bytes
            .saturating_sub(config.kube_reserved.memory_bytes)
            .saturating_sub(config.system_reserved.memory_bytes)
            .saturating_sub(eviction_memory),
    }
}

/// Σ requests and Σ limits over the pods still on the node.
pub fn claimed(list: &PodList) -> Result<(Resources, Resources), QuantityError> {
    let mut requests = Resources::default();
    let mut limits = Resources::default();
    for pod in list.items.iter().filter(|p| p.is_active()) {
        let (r, l) = pod_amounts(pod)?;
        requests = add(requests, r);
        limits = add(limits, l);
    }
    Ok((requests, limits))
}

/// One pod's effective request and limit, by the Kubernetes rule (k8s.io/component-helpers
/// `resource.PodRequests`/`PodLimits`): max(Σ app containers + Σ sidecars, the largest init
/// container plus the sidecars started before it), plus `spec.overhead` (for limits only
/// where the limit is non-zero). A sidecar is an init container with `restartPolicy: Always`.
/// As the API server defaults them, a missing request equals the limit.
pub fn pod_amounts(pod: &Pod) -> Result<(Resources, Resources), QuantityError> {
    let overhead = resources(&pod.spec.overhead)?;
    let requests = add(effective(pod, true)?, overhead);
    let mut limits = effective(pod, false)?;
    if limits.cpu_millis > 0 {
        limits.cpu_millis = limits.cpu_millis.saturating_add(overhead.cpu_millis);
    }
    if limits.memory_bytes > 0 {
        limits.memory_bytes = limits.memory_bytes.saturating_add(overhead.memory_bytes);
    }
    Ok((requests, limits))
}

/// The containers' part of [`pod_amounts`], of requests (`true`) or limits.
fn effective(pod: &Pod, requests: bool) -> Result<Resources, QuantityError> {
    let mut sum = Resources::default();
    for c in &pod.spec.containers {
        sum = add(sum, amounts(c, requests)?);
    }
    let mut sidecars = Resources::default();
    let mut init = Resources::default();
    for c in &pod.spec.init_containers {
        let own = amounts(c, requests)?;
        let this = if c.restart_policy.as_deref() == Some("Always") {
            sum = add(sum, own);
            sidecars = add(sidecars, own);
            sidecars
        } else {
            add(own, sidecars)
        };
        init = max(init, this);
    }
    Ok(max(sum, init))
}

/// A container's requests (`true`, defaulted from limits) or limits (`false`).
fn amounts(c: &Container, requests: bool) -> Result<Resources, QuantityError> {
    let limits = resources(&c.resources.limits)?;
    if !requests {
        return Ok(limits);
    }
    let get = |name| c.resources.requests.get(name);
    Ok(Resources {
        cpu_millis: match get("cpu") {
            Some(q) => quantity::cpu_millis(&q.text())?,
            None => limits.cpu_millis,
        },
        memory_bytes: match get("memory") {
            Some(q) => quantity::bytes(&q.text())?,
            None => limits.memory_bytes,
        },
    })
}

/// `cpu` and `memory` of a resource map; other resources are ignored.
pub fn resources<'a, M>(map: M) -> Result<Resources, QuantityError>
where
    M: IntoIterator<Item = (&'a String, &'a QuantityText)>,
{
    let mut out = Resources::default();
    for (name, q) in map {
        match name.as_str() {
            "cpu" => out.cpu_millis = quantity::cpu_millis(&q.text())?,
            "memory" => out.memory_bytes = quantity::bytes(&q.text())?,
            _ => {}
        }
    }
    Ok(out)
}

fn add(a: Resources, b: Resources) -> Resources {
    Resources {
        cpu_millis: a.cpu_millis.saturating_add(b.cpu_millis),
        memory_bytes: a.memory_bytes.saturating_add(b.memory_bytes),
    }
}

fn max(a: Resources, b: Resources) -> Resources {
    Resources {
        cpu_millis: a.cpu_millis.max(b.cpu_millis),
        memory_bytes: a.memory_bytes.max(b.memory_bytes),
    }
}

#[cfg(test)]
#[path = "scheduling_tests.rs"]
mod tests;
