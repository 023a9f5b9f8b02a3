//! K3s kine on SQLite (single server, DOMAIN.md §3): stuck compaction, a growing WAL, and the
//! integrity check. Trends come from the node's `sqlite` history over [`TREND_WINDOW`],
//! anchored at its newest entry (node clock).
//!
//! Severity rules, where the trend matters:
//! - Compaction lag above `sqlite_compaction_lag_revisions` is a warning unless it shrank over
//!   the window (compaction is catching up: information). kine keeps about a thousand
//!   revisions, so a lag that large is abnormal even before a trend is known.
//! - A WAL above `sqlite_wal_bytes` is a warning only while it grew over the window; large but
//!   not growing (or no trend yet) is information: SQLite reuses its WAL file rather than
//!   shrinking it, so a large WAL after a burst of writes is normal.

use std::time::Duration;

use edgeward_proto::datastore::Sqlite;
use edgeward_proto::{Section, UnixMillis};

use super::Ctx;
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::{NodeState, SqliteTrend};
use crate::policy::Thresholds;

/// The window over which a lag or WAL size is growing or shrinking.
pub const TREND_WINDOW: Duration = Duration::from_secs(30 * 60);

/// Which way a value went over the window: `None` with fewer than two entries.
fn trend(node: &NodeState, value: impl Fn(&SqliteTrend) -> i128) -> Option<(i128, i128)> {
    let (newest, _) = node.sqlite.latest()?;
    let since = UnixMillis(newest.0.saturating_sub(super::millis(TREND_WINDOW)));
    let window: Vec<_> = node.sqlite.since(since).collect();
    if window.len() < 2 {
        return None;
    }
    let first = window.first().map(|(_, v)| value(v))?;
    let last = window.last().map(|(_, v)| value(v))?;
    Some((first, last))
}

/// Every kine/SQLite check, on the datastore section measured at `at`.
pub(super) fn check(
    ctx: &Ctx<'_>,
    node: &NodeState,
    s: &Section<Sqlite>,
    at: UnixMillis,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(q) = ctx.section("datastore/sqlite", s, at, out) else {
        return;
    };
    compaction(ctx, node, q, at, t, out);
    wal(ctx, node, q, at, t, out);
    // The newest check ever run (it is rate-limited); an unavailable newest check is
    // reported as unknown by its own section.
    let _ = ctx.section("sqlite/quick_check", &q.quick_check, at, out);
    if let Some(c) = node.quick_check.data.as_ref().map(|o| &o.value)
        && !c.ok
    {
        out.push(
            ctx.finding(
                Kind::SqliteIntegrity,
                Severity::Critical,
                None,
                format!("PRAGMA quick_check failed: {}", c.message),
            )
            .with("message", c.message.as_str())
            .with("duration_ms", c.duration_ms)
            .measured_at(at),
        );
    }
}

fn compaction(
    ctx: &Ctx<'_>,
    node: &NodeState,
    q: &Sqlite,
    at: UnixMillis,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let lag = q.current_revision.saturating_sub(q.compacted_revision);
    if i128::from(lag) <= i128::from(t.sqlite_compaction_lag_revisions) {
        return;
    }
    let moved = trend(node, |v| i128::from(v.lag));
    let shrinking = moved.is_some_and(|(first, last)| last < first);
    let severity = if shrinking {
        Severity::Info
    } else {
        Severity::Warning
    };
    out.push(
        ctx.finding(
            Kind::SqliteCompactionLag,
            severity,
            None,
            format!(
                "kine is {lag} revisions behind compaction (limit {}){}",
                t.sqlite_compaction_lag_revisions,
                if shrinking { ", catching up" } else { "" }
            ),
        )
        .with("compaction_lag_revisions", lag)
        .with("current_revision", q.current_revision)
        .with("compacted_revision", q.compacted_revision)
        .with("limit_revisions", t.sqlite_compaction_lag_revisions)
        .with_opt("lag_change_revisions", moved.map(|(f, l)| clamp(l - f)))
        .measured_at(at),
    );
}

fn wal(
    ctx: &Ctx<'_>,
    node: &NodeState,
    q: &Sqlite,
    at: UnixMillis,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    if q.wal_bytes <= t.sqlite_wal_bytes {
        return;
    }
    let moved = trend(node, |v| i128::from(v.wal_bytes));
    let growing = moved.is_some_and(|(first, last)| last > first);
    let severity = if growing {
        Severity::Warning
    } else {
        Severity::Info
    };
    out.push(
        ctx.finding(
            Kind::SqliteWalGrowth,
            severity,
            None,
            format!(
                "state.db-wal is {} MiB (limit {} MiB){}",
                q.wal_bytes >> 20,
                t.sqlite_wal_bytes >> 20,
                if growing { " and growing" } else { "" }
            ),
        )
        .with("wal_bytes", q.wal_bytes)
        .with("db_bytes", q.db_bytes)
        .with("limit_bytes", t.sqlite_wal_bytes)
        .with_opt("wal_change_bytes", moved.map(|(f, l)| clamp(l - f)))
        .measured_at(at),
    );
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}
