//! etcd snapshots on a K3s server (DOMAIN.md §3: cron `0 */12 * * *`, keep 5, in
//! `server/db/snapshots`). A server without a recent snapshot has no backup to restore the
//! cluster from. The newest snapshot's age is taken at the sample's time against the file's
//! modification time: both are the node's clock.

use edgeward_proto::datastore::Snapshots;
use edgeward_proto::{Section, UnavailableReason, UnixMillis};

use super::Ctx;
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::policy::Thresholds;

/// EtcdSnapshotsMissing (warning) when no snapshot exists (or the directory does not);
/// EtcdSnapshotsStale (warning) when the newest is older than `snapshot_max_age` at the time
/// of the sample (node clock for both).
pub(super) fn check(
    ctx: &Ctx<'_>,
    s: &Section<Snapshots>,
    at: UnixMillis,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let missing = |detail: &str| {
        ctx.finding(
            Kind::EtcdSnapshotsMissing,
            Severity::Warning,
            None,
            format!("no etcd snapshot on this server ({detail})"),
        )
        .with("snapshots", 0u64)
        .with("detail", detail)
        .measured_at(at)
    };
    let snaps = match s {
        Section::Unavailable(u) if u.reason == UnavailableReason::NotFound => {
            out.push(missing(&u.detail));
            return;
        }
        _ => match ctx.section("etcd/snapshots", s, at, out) {
            Some(snaps) => snaps,
            None => return,
        },
    };
    if snaps.count == 0 {
        out.push(missing("the snapshot directory is empty"));
        return;
    }
    let Some(newest) = snaps.newest_at else {
        return;
    };
    let age_ms = at.0.saturating_sub(newest.0);
    if age_ms <= super::millis(t.snapshot_max_age) {
        return;
    }
    out.push(
        ctx.finding(
            Kind::EtcdSnapshotsStale,
            Severity::Warning,
            None,
            format!(
                "newest etcd snapshot is {:.1} h old (limit {:.0} h)",
                age_ms as f64 / 3_600_000.0,
                super::secs(t.snapshot_max_age) / 3600.0
            ),
        )
        .with("snapshots", snaps.count)
        .with("newest_age_secs", age_ms as f64 / 1000.0)
        .with("newest_bytes", snaps.newest_bytes)
        .with("limit_secs", super::secs(t.snapshot_max_age))
        .measured_at(at),
    );
}
