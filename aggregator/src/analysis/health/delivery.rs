//! Delivery: what the aggregator observes of a node's batches (aggregator clock). A node that
//! stops reporting is stale, never fine (DOMAIN.md §7); lost samples are visible as gap
//! records or unexplained sequence holes; a backlog that keeps growing is caught before the
//! outbox reaches its size bound and drops data.

use edgeward_proto::{GapReason, UnixMillis};

use super::Ctx;
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// The sampling interval assumed while the node's own is unknown (fewer than two samples):
/// the agent's default `interval` of 15 s.
pub const DEFAULT_INTERVAL_MS: i64 = 15_000;
/// Gap records received within this window (aggregator clock) are reported as `data_gap`.
pub const DATA_GAP_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// The newest this many batches' delivery lags are examined for a growing backlog.
pub const BACKLOG_BATCHES: usize = 5;
/// A growing backlog is reported once the newest delivery lag exceeds this many sampling
/// intervals (a batch normally spans about one).
pub const BACKLOG_MIN_INTERVALS: i64 = 4;

/// The node's sampling interval in ms, and whether it is the default.
pub(super) fn interval_ms(node: &NodeState) -> (i64, bool) {
    match node.interval_ms {
        Some(i) if i > 0 => (i, false),
        _ => (DEFAULT_INTERVAL_MS, true),
    }
}

/// Whether no batch arrived for more than `stale_intervals` sampling intervals.
pub(super) fn is_stale(node: &NodeState, t: &Thresholds, now: UnixMillis) -> bool {
    let (interval, _) = interval_ms(node);
    let limit = interval.saturating_mul(i64::try_from(t.stale_intervals).unwrap_or(i64::MAX));
    now.0.saturating_sub(node.last_seen.0) > limit
}

/// `node_stale`, `data_gap` and `backlog_growing`; returns whether the node is stale.
pub(super) fn check(
    ctx: &Ctx<'_>,
    node: &NodeState,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) -> bool {
    let stale = is_stale(node, t, ctx.now);
    let (interval, default) = interval_ms(node);
    if stale {
        let since = ctx.now.0.saturating_sub(node.last_seen.0);
        out.push(
            ctx.finding(
                Kind::NodeStale,
                Severity::Warning,
                None,
                format!(
                    "no batch for {} s ({} intervals of {} s): last-known data only",
                    since / 1000,
                    since / interval.max(1),
                    interval / 1000
                ),
            )
            .with("since_last_batch_secs", since as f64 / 1000.0)
            .with("interval_secs", interval as f64 / 1000.0)
            .with("interval_default", default)
            .with("stale_intervals", t.stale_intervals)
            .measured_at(node.last_seen),
        );
    }
    data_gap(ctx, node, out);
    backlog(ctx, node, interval, out);
    stale
}

/// Gap records received in the last [`DATA_GAP_WINDOW`], or sequence holes no record explains.
fn data_gap(ctx: &Ctx<'_>, node: &NodeState, out: &mut Vec<Finding>) {
    let l = &node.losses;
    let window = super::millis(DATA_GAP_WINDOW);
    let recent = l
        .latest
        .as_ref()
        .filter(|(at, _)| ctx.now.0.saturating_sub(at.0) <= window);
    if recent.is_none() && node.unexplained_seqs == 0 {
        return;
    }
    let summary = match recent {
        Some((_, g)) => format!(
            "agent reported {} lost samples (latest: {} samples, {:?})",
            l.samples, g.count, g.reason
        ),
        None => format!(
            "{} sequence numbers missing with no gap record",
            node.unexplained_seqs
        ),
    };
    let mut f = ctx
        .finding(Kind::DataGap, Severity::Warning, None, summary)
        .with("gap_records_total", l.records)
        .with("lost_samples_total", l.samples)
        .with(
            "lost_size_bound_samples",
            l.for_reason(GapReason::SizeBound),
        )
        .with(
            "lost_corruption_samples",
            l.for_reason(GapReason::Corruption),
        )
        .with(
            "lost_rejected_samples",
            l.for_reason(GapReason::RejectedByAggregator),
        )
        .with("holes", node.holes)
        .with("unexplained_seqs", node.unexplained_seqs);
    if let Some((at, g)) = recent {
        f = f
            .with("latest_gap_samples", g.count)
            .with("latest_gap_first_seq", g.first_seq.0)
            .with("latest_gap_last_seq", g.last_seq.0)
            .with(
                "latest_gap_received_secs_ago",
                ctx.now.0.saturating_sub(at.0) as f64 / 1000.0,
            )
            .measured_at(*at);
    }
    out.push(f);
}

/// The newest [`BACKLOG_BATCHES`] delivery lags never fall, end above where they started,
/// and the newest exceeds [`BACKLOG_MIN_INTERVALS`] sampling intervals.
fn backlog(ctx: &Ctx<'_>, node: &NodeState, interval: i64, out: &mut Vec<Finding>) {
    let recent: Vec<(UnixMillis, i64)> = node
        .delivery_lag
        .iter()
        .rev()
        .take(BACKLOG_BATCHES)
        .rev()
        .copied()
        .collect();
    let (Some(first), Some(last)) = (recent.first(), recent.last()) else {
        return;
    };
    let rising = recent.len() == BACKLOG_BATCHES
        && recent.windows(2).all(|w| w[1].1 >= w[0].1)
        && last.1 > first.1;
    let limit = interval.saturating_mul(BACKLOG_MIN_INTERVALS);
    if !rising || last.1 <= limit {
        return;
    }
    out.push(
        ctx.finding(
            Kind::BacklogGrowing,
            Severity::Warning,
            None,
            format!(
                "delivery lag grew from {} s to {} s over {} batches: the outbox backlog grows",
                first.1 / 1000,
                last.1 / 1000,
                recent.len()
            ),
        )
        .with("delivery_lag_secs", last.1 as f64 / 1000.0)
        .with("delivery_lag_first_secs", first.1 as f64 / 1000.0)
        .with("batches", recent.len() as u64)
        .with("limit_secs", limit as f64 / 1000.0)
        .measured_at(last.0),
    );
}
