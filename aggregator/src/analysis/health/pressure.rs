//! Node pressure: the kubelet's eviction conditions and this node's margin to each threshold,
//! as the agent derived them (DOMAIN.md §2), and I/O stalls from PSI.
//!
//! CPU PSI is deliberately not judged: it also rises when one pod is CFS-throttled, so it
//! cannot show a CPU-starved node on its own (DOMAIN.md §2). Memory trouble is judged by the
//! eviction signal `memory.available`, which is what the kubelet acts on.

use edgeward_proto::pressure::{Condition, Eviction, FsRole, Margin, NodePressure, Psi, Signal};

use super::Ctx;
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// Eviction conditions, margins and io PSI.
pub(super) fn check(ctx: &Ctx<'_>, node: &NodeState, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(p) = ctx.track("pressure", &node.pressure, out) else {
        return;
    };
    if let Some(e) = ctx.section("pressure/eviction", &p.value.eviction, p.at, out) {
        conditions(ctx, e, &p.value, p.at, out);
        margins(ctx, e, t, p.at, out);
    }
    if let Some(psi) = ctx.section("pressure/psi", &p.value.psi, p.at, out) {
        io(ctx, psi, t, p.at, out);
    }
}

/// The signals of one node condition (DOMAIN.md §2).
fn signals_of(kind: Kind) -> &'static [Signal] {
    match kind {
        Kind::MemoryPressure => &[Signal::MemoryAvailable],
        Kind::DiskPressure => &[
            Signal::NodefsAvailable,
            Signal::NodefsInodesFree,
            Signal::ImagefsAvailable,
            Signal::ImagefsInodesFree,
        ],
        _ => &[Signal::PidAvailable],
    }
}

/// The unit of a signal's quantities, for evidence names.
fn unit(signal: Signal) -> &'static str {
    match signal {
        Signal::MemoryAvailable | Signal::NodefsAvailable | Signal::ImagefsAvailable => "bytes",
        Signal::NodefsInodesFree | Signal::ImagefsInodesFree => "inodes",
        Signal::PidAvailable => "pids",
    }
}

/// The filesystem path a signal measures, when it measures one.
fn path_of(signal: Signal, p: &NodePressure) -> Option<&str> {
    let role = match signal {
        Signal::NodefsAvailable | Signal::NodefsInodesFree => FsRole::Node,
        Signal::ImagefsAvailable | Signal::ImagefsInodesFree => FsRole::Image,
        Signal::MemoryAvailable | Signal::PidAvailable => return None,
    };
    p.filesystems
        .iter()
        .find(|f| f.role == role)
        .map(|f| f.path.as_str())
}

/// Adds a margin's measured values to `f`, prefixed by the signal name.
fn with_margin(f: Finding, m: &Margin, p: &NodePressure) -> Finding {
    let (s, u) = (m.threshold.signal.name(), unit(m.threshold.signal));
    let limit = m
        .capacity
        .map(|c| edgeward_proto::eviction::absolute(m.threshold.value, c));
    f.with_opt(&format!("{s}_{u}"), m.available)
        .with_opt(&format!("{s}_threshold_{u}"), limit)
        .with_opt(&format!("{s}_margin_{u}"), m.margin)
        .with_opt(&format!("{s}_capacity_{u}"), m.capacity)
        .with_opt(&format!("{s}_path"), path_of(m.threshold.signal, p))
}

/// MemoryPressure / DiskPressure / PidPressure (critical) for conditions under pressure.
fn conditions(
    ctx: &Ctx<'_>,
    e: &Eviction,
    p: &NodePressure,
    at: edgeward_proto::UnixMillis,
    out: &mut Vec<Finding>,
) {
    for (kind, condition) in [
        (Kind::MemoryPressure, e.memory_pressure),
        (Kind::DiskPressure, e.disk_pressure),
        (Kind::PidPressure, e.pid_pressure),
    ] {
        if condition != Condition::Pressure {
            continue;
        }
        let crossed: Vec<&Margin> = e
            .margins
            .iter()
            .filter(|m| signals_of(kind).contains(&m.threshold.signal))
            .filter(|m| m.margin.is_some_and(|v| v < 0))
            .collect();
        let names: Vec<&str> = crossed.iter().map(|m| m.threshold.signal.name()).collect();
        let mut f = ctx
            .finding(
                kind,
                Severity::Critical,
                None,
                format!(
                    "{} below its eviction threshold: the kubelet evicts pods",
                    names.join(", ")
                ),
            )
            .with("signals", names.join(","))
            .measured_at(at);
        for m in crossed {
            f = with_margin(f, m, p);
        }
        out.push(f);
    }
}

/// `unknown` for each signal that could not be measured; ThinMargin (warning) for each
/// signal whose margin is not negative but below `memory_margin_thin` of its capacity.
fn margins(
    ctx: &Ctx<'_>,
    e: &Eviction,
    t: &Thresholds,
    at: edgeward_proto::UnixMillis,
    out: &mut Vec<Finding>,
) {
    for m in e.margins.iter() {
        let name = m.threshold.signal.name();
        match (m.margin, m.capacity) {
            (None, _) | (_, None) => out.push(
                ctx.finding(
                    Kind::Unknown,
                    Severity::Info,
                    Some(&format!("eviction/{name}")),
                    format!("{name} could not be measured: its node condition is unknown"),
                )
                .with("reason", "not_measured")
                .with("signal", name)
                .measured_at(at),
            ),
            (Some(margin), Some(capacity)) if margin >= 0 => {
                let ratio = margin as f64 / (capacity.max(1)) as f64;
                if ratio >= t.memory_margin_thin {
                    continue;
                }
                let u = unit(m.threshold.signal);
                out.push(
                    ctx.finding(
                        Kind::ThinMargin,
                        Severity::Warning,
                        Some(name),
                        format!(
                            "{name} is {:.1} % of capacity above its eviction threshold",
                            ratio * 100.0
                        ),
                    )
                    .with(&format!("{name}_{u}"), m.available.unwrap_or_default())
                    .with(&format!("{name}_margin_{u}"), margin)
                    .with(&format!("{name}_capacity_{u}"), capacity)
                    .with("margin_ratio", ratio)
                    .with("thin_ratio", t.memory_margin_thin)
                    .measured_at(at),
                );
            }
            _ => {}
        }
    }
}

/// IoPressure from io PSI over the last minute.
fn io(
    ctx: &Ctx<'_>,
    psi: &Psi,
    t: &Thresholds,
    at: edgeward_proto::UnixMillis,
    out: &mut Vec<Finding>,
) {
    let some = psi.io.some.avg60;
    let full = psi.io.full.map(|l| l.avg60);
    // PSI averages are percentages; the policy gives shares.
    let some_warning = (t.io_some_avg60_warning * 100.0) as f32;
    let full_critical = (t.io_full_avg60_critical * 100.0) as f32;
    let severity = if full.is_some_and(|v| v >= full_critical) {
        Severity::Critical
    } else if some >= some_warning {
        Severity::Warning
    } else {
        return;
    };
    out.push(
        ctx.finding(
            Kind::IoPressure,
            severity,
            None,
            format!(
                "tasks stalled on I/O {some:.1} % of the last minute (all tasks: {:.1} %)",
                full.unwrap_or_default()
            ),
        )
        .with("io_some_avg10_percent", psi.io.some.avg10)
        .with("io_some_avg60_percent", some)
        .with("io_some_avg300_percent", psi.io.some.avg300)
        .with_opt("io_full_avg60_percent", full)
        .with("io_some_warning_percent", some_warning)
        .with("io_full_critical_percent", full_critical)
        .measured_at(at),
    );
}
