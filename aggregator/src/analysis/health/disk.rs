//! The disk under the datastore: the agent's fdatasync audit (etcd's fio recipe, DOMAIN.md
//! §3: sequential small writes each followed by fdatasync, healthy when p99 < 10 ms). SD
//! cards fail it; etcd on such a disk misses heartbeats.
//!
//! The audit is rate-limited (every 10 minutes by default), so its newest result is kept
//! apart from the datastore section and judged here whatever sample carried it.

use edgeward_proto::datastore::Datastore;

use super::Ctx;
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// DiskSlowFdatasync: warning above `disk_fdatasync_p99_warning`, critical above
/// `disk_fdatasync_p99_critical` (100 ms: ten times etcd's limit, as long as etcd's default
/// heartbeat interval, so every slow write risks a missed heartbeat). The subject is the
/// audited path.
pub(super) fn check(ctx: &Ctx<'_>, node: &NodeState, t: &Thresholds, out: &mut Vec<Finding>) {
    let local_datastore = node.datastore.fresh().is_some_and(|d| {
        matches!(
            d.value.kind,
            Datastore::Etcd(_) | Datastore::KineSqlite(_) | Datastore::Dqlite(_)
        )
    });
    // Nodes without a local datastore are not audited: silence there is not missing data.
    if !local_datastore && node.disk_audit.data.is_none() && node.disk_audit.unavailable.is_none() {
        return;
    }
    let Some(a) = ctx.track("disk_audit", &node.disk_audit, out) else {
        return;
    };
    let p99_us = i64::from(a.value.p99_us);
    let critical_us = i64::try_from(t.disk_fdatasync_p99_critical.as_micros()).unwrap_or(i64::MAX);
    let warning_us = i64::try_from(t.disk_fdatasync_p99_warning.as_micros()).unwrap_or(i64::MAX);
    let (severity, limit_us) = if p99_us > critical_us {
        (Severity::Critical, critical_us)
    } else if p99_us > warning_us {
        (Severity::Warning, warning_us)
    } else {
        return;
    };
    out.push(
        ctx.finding(
            Kind::DiskSlowFdatasync,
            severity,
            Some(&a.value.path),
            format!(
                "fdatasync p99 {:.1} ms on {} (limit {:.1} ms): too slow for a datastore",
                p99_us as f64 / 1000.0,
                a.value.path,
                limit_us as f64 / 1000.0
            ),
        )
        .with("fdatasync_p50_us", a.value.p50_us)
        .with("fdatasync_p99_us", a.value.p99_us)
        .with("fdatasync_max_us", a.value.max_us)
        .with("writes", a.value.writes)
        .with("bytes_per_write", a.value.bytes_per_write)
        .with("limit_us", limit_us)
        .with("path", a.value.path.as_str())
        .measured_at(a.at),
    );
}
