//! K3s embedded etcd, one member per server node: health, leadership, latencies, database
//! size and alarms, snapshots. Thresholds are the etcd FAQ's and official alert rules'
//! (DOMAIN.md §3) as carried by [`Thresholds`]; fragmentation follows etcd's mixin rule
//! `etcdDatabaseHighFragmentationRatio`. Snapshots are judged in [`super::snapshots`].
//!
//! Rates (leader changes, failed proposals) come from the node's history of etcd's cumulative
//! counters over [`COUNTER_WINDOW`], anchored at the newest entry (node clock). A counter that
//! goes down restarted from zero (etcd restarted): its new value counts in full. Fewer than
//! two entries in the window give no rate and no finding.

use std::time::Duration;

use edgeward_proto::datastore::{Etcd, EtcdMetrics, EtcdStatus};
use edgeward_proto::{Section, UnixMillis};

use super::{Ctx, is_down, reason_name};
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// The window of the counter rates (DOMAIN.md §3: "in 15 min").
pub const COUNTER_WINDOW: Duration = Duration::from_secs(15 * 60);
/// etcd's quota when `etcd_server_quota_backend_bytes` reads 0 or is not known: 2 GiB
/// (DOMAIN.md §3).
pub const DEFAULT_QUOTA_BYTES: u64 = 2 << 30;
/// ... once the in-use size exceeds this (etcd mixin: 104857600 bytes, 100 MiB).
pub const FRAGMENTED_MIN_IN_USE_BYTES: u64 = 100 << 20;

/// Alarms that stop the member serving writes (`mvcc: database space exceeded`) or mean its
/// data cannot be trusted: critical. Any other alarm is a warning.
const CRITICAL_ALARMS: [&str; 2] = ["NOSPACE", "CORRUPT"];

/// Every etcd check of one member, on the datastore section measured at `at`.
pub(super) fn check(
    ctx: &Ctx<'_>,
    node: &NodeState,
    e: &Etcd,
    at: UnixMillis,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let down = health(ctx, &e.health, at, out);
    let status = ctx.gated("etcd/status", &e.status, at, down, out);
    let metrics = ctx.gated("etcd/metrics", &e.metrics, at, down, out);
    leader(ctx, metrics, status, at, out);
    if let Some(m) = metrics {
        counters(ctx, node, t, out);
        latency(ctx, m, at, t, out);
    }
    database(ctx, metrics, status, at, t, out);
    if let Some(s) = status {
        alarms(ctx, s, at, out);
    }
    super::snapshots::check(ctx, &e.snapshots, at, t, out);
}

/// EtcdUnhealthy (critical) when `/health` says false or does not answer; returns whether
/// the member is down (unreachable or timing out).
fn health(
    ctx: &Ctx<'_>,
    h: &Section<edgeward_proto::datastore::EtcdHealth>,
    at: UnixMillis,
    out: &mut Vec<Finding>,
) -> bool {
    let (f, down) = match h {
        Section::Data(h) if h.healthy => return false,
        Section::NotDue { .. } => return false,
        Section::Data(h) => (
            ctx.finding(
                Kind::EtcdUnhealthy,
                Severity::Critical,
                None,
                format!("etcd reports unhealthy: {}", h.reason),
            )
            .with("healthy", false)
            .with("reason", h.reason.as_str()),
            false,
        ),
        Section::Unavailable(u) if is_down(u.reason) => (
            ctx.finding(
                Kind::EtcdUnhealthy,
                Severity::Critical,
                None,
                format!("etcd /health {}: {}", reason_name(u.reason), u.detail),
            )
            .with("reason", reason_name(u.reason))
            .with("detail", u.detail.as_str()),
            true,
        ),
        Section::Unavailable(u) => {
            out.extend(ctx.unavailable("etcd/health", u, at));
            return false;
        }
    };
    out.push(f.measured_at(at));
    down
}

/// EtcdNoLeader (critical) when the metrics or the status say the member knows no leader.
fn leader(
    ctx: &Ctx<'_>,
    m: Option<&EtcdMetrics>,
    s: Option<&EtcdStatus>,
    at: UnixMillis,
    out: &mut Vec<Finding>,
) {
    let no_leader = m.is_some_and(|m| !m.has_leader) || s.is_some_and(|s| s.leader_id == 0);
    if !no_leader {
        return;
    }
    out.push(
        ctx.finding(
            Kind::EtcdNoLeader,
            Severity::Critical,
            None,
            "etcd member has no leader: the cluster cannot serve writes",
        )
        .with_opt("has_leader", m.map(|m| m.has_leader))
        .with_opt("leader_id", s.map(|s| s.leader_id))
        .measured_at(at),
    );
}

/// Growth of a cumulative counter over time-ordered values, and how many resets it saw.
pub(super) fn growth(values: impl IntoIterator<Item = u64>) -> (u64, u64) {
    let mut it = values.into_iter();
    let Some(mut prev) = it.next() else {
        return (0, 0);
    };
    let (mut total, mut resets) = (0u64, 0u64);
    for v in it {
        if v >= prev {
            total = total.saturating_add(v - prev);
        } else {
            total = total.saturating_add(v);
            resets += 1;
        }
        prev = v;
    }
    (total, resets)
}

/// EtcdLeaderChurn (at least `leader_changes_15m`) and EtcdProposalsFailed (more than
/// `proposals_failed_15m`), warnings, over [`COUNTER_WINDOW`].
fn counters(ctx: &Ctx<'_>, node: &NodeState, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some((newest, _)) = node.etcd_counters.latest() else {
        return;
    };
    let since = UnixMillis(newest.0.saturating_sub(super::millis(COUNTER_WINDOW)));
    let window: Vec<_> = node.etcd_counters.since(since).collect();
    let (Some(first), true) = (window.first(), window.len() >= 2) else {
        return;
    };
    let span_secs = newest.0.saturating_sub(first.0.0) as f64 / 1000.0;
    let (changes, change_resets) = growth(window.iter().map(|(_, c)| c.leader_changes));
    let (failed, failed_resets) = growth(window.iter().map(|(_, c)| c.proposals_failed));
    let rows = [
        (
            Kind::EtcdLeaderChurn,
            changes,
            change_resets,
            changes >= t.leader_changes_15m,
            t.leader_changes_15m,
            "leader changes",
        ),
        (
            Kind::EtcdProposalsFailed,
            failed,
            failed_resets,
            failed > t.proposals_failed_15m,
            t.proposals_failed_15m,
            "failed proposals",
        ),
    ];
    for (kind, count, resets, hit, limit, what) in rows {
        if !hit {
            continue;
        }
        out.push(
            ctx.finding(
                kind,
                Severity::Warning,
                None,
                format!("{count} {what} in {span_secs:.0} s (limit {limit} per 15 min)"),
            )
            .with("count_15m", count)
            .with("limit_15m", limit)
            .with("window_secs", span_secs)
            .with("counter_resets", resets)
            .measured_at(*newest),
        );
    }
}

/// EtcdSlowWalFsync (warning, critical), EtcdSlowBackendCommit and EtcdSlowPeers (warning):
/// p99s strictly above their thresholds.
fn latency(ctx: &Ctx<'_>, m: &EtcdMetrics, at: UnixMillis, t: &Thresholds, out: &mut Vec<Finding>) {
    let wal = m.wal_fsync_p99_secs.and_then(|v| {
        if v > super::secs(t.wal_fsync_p99_critical) {
            Some((v, Severity::Critical, t.wal_fsync_p99_critical))
        } else if v > super::secs(t.wal_fsync_p99_warning) {
            Some((v, Severity::Warning, t.wal_fsync_p99_warning))
        } else {
            None
        }
    });
    let warn = |v: Option<f64>, limit: Duration| {
        v.filter(|v| *v > super::secs(limit))
            .map(|v| (v, Severity::Warning, limit))
    };
    let rows = [
        (
            Kind::EtcdSlowWalFsync,
            "WAL fsync",
            "wal_fsync_p99_secs",
            wal,
        ),
        (
            Kind::EtcdSlowBackendCommit,
            "backend commit",
            "backend_commit_p99_secs",
            warn(m.backend_commit_p99_secs, t.backend_commit_p99_warning),
        ),
        (
            Kind::EtcdSlowPeers,
            "peer round trip",
            "peer_rtt_p99_secs",
            warn(m.peer_rtt_p99_secs, t.peer_rtt_p99_warning),
        ),
    ];
    for (kind, what, key, hit) in rows {
        let Some((v, severity, limit)) = hit else {
            continue;
        };
        out.push(
            ctx.finding(
                kind,
                severity,
                None,
                format!(
                    "etcd {what} p99 {:.0} ms (limit {} ms)",
                    v * 1000.0,
                    limit.as_millis()
                ),
            )
            .with(key, v)
            .with("limit_secs", super::secs(limit))
            .measured_at(at),
        );
    }
}

/// EtcdDbNearQuota (warning) above `db_quota_ratio_warning` of the quota; EtcdFragmented
/// (warning) when in-use over size is below `etcd_fragmented_in_use_ratio` and the in-use size
/// exceeds [`FRAGMENTED_MIN_IN_USE_BYTES`]. Sizes from the metrics, else from the status
/// (the quota is then etcd's default).
fn database(
    ctx: &Ctx<'_>,
    m: Option<&EtcdMetrics>,
    s: Option<&EtcdStatus>,
    at: UnixMillis,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let (size, in_use, quota) = match (m, s) {
        (Some(m), _) => (m.db_size_bytes, m.db_size_in_use_bytes, m.quota_bytes),
        (None, Some(s)) => (s.db_size_bytes, s.db_size_in_use_bytes, 0),
        (None, None) => return,
    };
    let (quota, default) = if quota == 0 {
        (DEFAULT_QUOTA_BYTES, true)
    } else {
        (quota, false)
    };
    let ratio = size as f64 / quota as f64;
    if ratio > t.db_quota_ratio_warning {
        out.push(
            ctx.finding(
                Kind::EtcdDbNearQuota,
                Severity::Warning,
                None,
                format!("etcd database at {:.1} % of its quota", ratio * 100.0),
            )
            .with("db_size_bytes", size)
            .with("quota_bytes", quota)
            .with("quota_default", default)
            .with("quota_ratio", ratio)
            .with("limit_ratio", t.db_quota_ratio_warning)
            .measured_at(at),
        );
    }
    let in_use_ratio = in_use as f64 / size.max(1) as f64;
    if in_use_ratio < t.etcd_fragmented_in_use_ratio && in_use > FRAGMENTED_MIN_IN_USE_BYTES {
        out.push(
            ctx.finding(
                Kind::EtcdFragmented,
                Severity::Warning,
                None,
                format!(
                    "etcd database only {:.0} % in use: defragment to reclaim {} MiB",
                    in_use_ratio * 100.0,
                    size.saturating_sub(in_use) >> 20
                ),
            )
            .with("db_size_bytes", size)
            .with("db_size_in_use_bytes", in_use)
            .with("in_use_ratio", in_use_ratio)
            .measured_at(at),
        );
    }
}

/// EtcdAlarm: critical for NOSPACE or CORRUPT, warning for any other alarm.
fn alarms(ctx: &Ctx<'_>, s: &EtcdStatus, at: UnixMillis, out: &mut Vec<Finding>) {
    if s.alarms.is_empty() {
        return;
    }
    let mut names: Vec<&str> = s.alarms.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let critical = names.iter().any(|a| CRITICAL_ALARMS.contains(a));
    out.push(
        ctx.finding(
            Kind::EtcdAlarm,
            if critical {
                Severity::Critical
            } else {
                Severity::Warning
            },
            None,
            format!("etcd alarms active: {}", names.join(", ")),
        )
        .with("alarms", names.join(","))
        .measured_at(at),
    );
}
