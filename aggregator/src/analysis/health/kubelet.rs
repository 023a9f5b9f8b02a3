//! The kubelet, seen from the node (DOMAIN.md §1): liveness from `:10248/healthz`, trouble
//! signals from `:10250/metrics`, container trouble from `:10250/pods`.
//!
//! On K3s every `:10250` request is authorised by the API server: a node cut off from it
//! reports those sections as unavailable (unauthorized, timeout) and keeps `healthz`. Such a
//! section gives `unknown`, never "healthy"; only `healthz` decides that the kubelet is down.
//!
//! Counters: `kubelet_runtime_operations_errors_total` and `kubelet_started_pods_errors_total`
//! (a warning when they grew over the last 15 min of history; info with one reading only)
//! are cumulative since the kubelet started, and the node state keeps only the newest value.
//! Until a history of them exists, a total above zero is reported as information with
//! `counted_since = "kubelet start"`, never as a current error rate.

use edgeward_proto::kubelet::{Healthz, KubeletMetrics, Pods};
use edgeward_proto::{Section, UnixMillis};

use super::{Ctx, certificates, is_down, reason_name};
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::{KubeletCounters, NodeState};
use crate::policy::Thresholds;

/// Troubled containers named in evidence, worst first.
const WORST_CONTAINERS: usize = 3;

/// KubeletDown, PLEG, error counters, crash loops, OOM kills, evictions, certificate TTLs.
pub(super) fn check(ctx: &Ctx<'_>, node: &NodeState, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(k) = ctx.track("kubelet", &node.kubelet, out) else {
        return;
    };
    let at = k.at;
    let down = healthz(ctx, &k.value.healthz, at, out);
    let metrics_data = ctx.gated("kubelet/metrics", &k.value.metrics, at, down, out);
    if let Some(m) = metrics_data {
        metrics(ctx, node, m, at, t, out);
    }
    let pods_data = ctx.gated("kubelet/pods", &k.value.pods, at, down, out);
    if let Some(p) = pods_data {
        pods(ctx, p, at, out);
    }
    evictions(ctx, pods_data, metrics_data, at, out);
    ctx.gated("kubelet/scheduling", &k.value.scheduling, at, down, out);
    ctx.gated("kubelet/configz", &k.value.configz, at, down, out);
}

/// KubeletDown (critical) when healthz does not answer or answers other than `ok`; returns
/// whether the kubelet is down.
fn healthz(ctx: &Ctx<'_>, h: &Section<Healthz>, at: UnixMillis, out: &mut Vec<Finding>) -> bool {
    let f = match h {
        Section::Data(Healthz::Ok) | Section::NotDue { .. } => return false,
        Section::Data(Healthz::Unhealthy { status, body }) => ctx
            .finding(
                Kind::KubeletDown,
                Severity::Critical,
                None,
                format!("kubelet healthz answered {status}: {body}"),
            )
            .with("healthz_status", u32::from(*status))
            .with("healthz_body", body.as_str()),
        Section::Unavailable(u) if is_down(u.reason) => ctx
            .finding(
                Kind::KubeletDown,
                Severity::Critical,
                None,
                format!("kubelet healthz {}: {}", reason_name(u.reason), u.detail),
            )
            .with("reason", reason_name(u.reason))
            .with("detail", u.detail.as_str()),
        Section::Unavailable(u) => {
            out.extend(ctx.unavailable("kubelet/healthz", u, at));
            return false;
        }
    };
    out.push(f.measured_at(at));
    true
}

/// PLEG health, the error counters and the certificate manager's TTLs.
fn metrics(
    ctx: &Ctx<'_>,
    node: &NodeState,
    m: &KubeletMetrics,
    at: UnixMillis,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    pleg(ctx, m, at, t, out);
    let window_start = UnixMillis(at.0.saturating_sub(15 * 60_000));
    let recent: Vec<_> = node.kubelet_counters.since(window_start).collect();
    for (kind, total, pick, what) in [
        (
            Kind::RuntimeErrors,
            m.runtime_operation_errors,
            (|c: &KubeletCounters| c.runtime_errors) as fn(&KubeletCounters) -> Option<u64>,
            "container runtime operations failed",
        ),
        (
            Kind::PodStartErrors,
            m.started_pods_errors,
            |c: &KubeletCounters| c.start_errors,
            "pod starts failed",
        ),
    ] {
        let Some(total) = total.filter(|v| *v > 0) else {
            continue;
        };
        // Growth over the last 15 min of counter history; a counter that went down is a
        // kubelet restart, counted from 0.
        let values: Vec<u64> = recent.iter().filter_map(|(_, c)| pick(c)).collect();
        let growth = values.windows(2).fold(0u64, |sum, w| {
            sum.saturating_add(if w[1] >= w[0] { w[1] - w[0] } else { w[1] })
        });
        if values.len() >= 2 {
            if growth > 0 {
                out.push(
                    ctx.finding(
                        kind,
                        Severity::Warning,
                        None,
                        format!("{growth} {what} in the last 15 min"),
                    )
                    .with("errors_15m", growth)
                    .with("errors_total", total)
                    .measured_at(at),
                );
            }
        } else {
            out.push(
                ctx.finding(
                    kind,
                    Severity::Info,
                    None,
                    format!("{total} {what} since the kubelet started (rate unknown: one reading)"),
                )
                .with("errors_total", total)
                .with("counted_since", "kubelet start")
                .measured_at(at),
            );
        }
    }
    let ttls = [
        ("kubelet-client", m.client_cert_ttl_secs),
        ("kubelet-server", m.server_cert_ttl_secs),
    ];
    for (subject, ttl) in ttls {
        if let Some(ttl) = ttl {
            out.extend(certificates::kubelet_ttl(ctx, subject, ttl, t, at));
        }
    }
}

/// PlegUnhealthy: critical when PLEG was last seen longer ago than `pleg_age` (the kubelet
/// reports NotReady then), warning when only the relist p99 reaches `pleg_relist_p99`.
fn pleg(ctx: &Ctx<'_>, m: &KubeletMetrics, at: UnixMillis, t: &Thresholds, out: &mut Vec<Finding>) {
    let age = m.pleg_last_seen_age_secs;
    let relist = m.pleg_relist_p99_secs;
    let stuck = age.is_some_and(|a| a > super::secs(t.pleg_age));
    let slow = relist.is_some_and(|r| r >= super::secs(t.pleg_relist_p99));
    let (severity, summary) = match (stuck, slow) {
        (true, _) => (
            Severity::Critical,
            format!(
                "PLEG last seen {:.0} s ago (limit {} s): the kubelet reports NotReady",
                age.unwrap_or_default(),
                t.pleg_age.as_secs()
            ),
        ),
        (false, true) => (
            Severity::Warning,
            format!(
                "PLEG relist p99 {:.1} s (limit {} s)",
                relist.unwrap_or_default(),
                t.pleg_relist_p99.as_secs()
            ),
        ),
        (false, false) => return,
    };
    out.push(
        ctx.finding(Kind::PlegUnhealthy, severity, None, summary)
            .with_opt("pleg_last_seen_age_secs", age)
            .with_opt("pleg_relist_p99_secs", relist)
            .with("pleg_age_limit_secs", super::secs(t.pleg_age))
            .with("pleg_relist_limit_secs", super::secs(t.pleg_relist_p99))
            .measured_at(at),
    );
}

/// The worst troubled containers with `reason`, most restarts first, as one line.
fn worst(p: &Pods, reason: &str) -> String {
    let mut v: Vec<_> = p.troubled.iter().filter(|c| c.reason == reason).collect();
    v.sort_by(|a, b| {
        b.restarts
            .cmp(&a.restarts)
            .then_with(|| a.name.cmp(&b.name))
    });
    v.iter()
        .take(WORST_CONTAINERS)
        .map(|c| format!("{} ({} restarts)", c.name, c.restarts))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CrashLooping and OomKilled (warning) from the node's pods.
fn pods(ctx: &Ctx<'_>, p: &Pods, at: UnixMillis, out: &mut Vec<Finding>) {
    for (kind, count, reason, what) in [
        (
            Kind::CrashLooping,
            p.crash_looping,
            "CrashLoopBackOff",
            "in CrashLoopBackOff",
        ),
        (
            Kind::OomKilled,
            p.oom_killed,
            "OOMKilled",
            "last terminated OOMKilled",
        ),
    ] {
        if count == 0 {
            continue;
        }
        let names = worst(p, reason);
        out.push(
            ctx.finding(
                kind,
                Severity::Warning,
                None,
                format!("{count} containers {what}"),
            )
            .with("containers", count)
            .with("container_restarts_total", p.container_restarts)
            .with_opt("worst_containers", (!names.is_empty()).then_some(names))
            .measured_at(at),
        );
    }
}

/// Evictions: warning while evicted pods are present on the node; information when only the
/// kubelet's cumulative `kubelet_evictions` counters (since its start) are above zero.
fn evictions(
    ctx: &Ctx<'_>,
    p: Option<&Pods>,
    m: Option<&KubeletMetrics>,
    at: UnixMillis,
    out: &mut Vec<Finding>,
) {
    let counts = m.map(|m| &m.evictions[..]).unwrap_or_default();
    let total: u64 = counts.iter().map(|e| e.count).sum();
    let evicted = p.map_or(0, |p| p.evicted);
    if evicted == 0 && total == 0 {
        return;
    }
    let severity = if evicted > 0 {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut f = ctx
        .finding(
            Kind::Evictions,
            severity,
            None,
            format!("{evicted} evicted pods present, {total} evictions since the kubelet started"),
        )
        .with_opt("evicted_pods", p.map(|p| p.evicted))
        .with_opt("evictions_total", m.map(|_| total))
        .measured_at(at);
    for e in counts.iter().filter(|e| e.count > 0) {
        f = f.with(&format!("evictions_total.{}", e.signal), e.count);
    }
    out.push(f);
}
