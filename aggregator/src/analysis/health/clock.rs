//! Clocks: whether a node's kernel clock is synchronised (adjtimex, DOMAIN.md §5), and how
//! far apart the clocks of a cluster's servers are (etcd warns above 1 s, DOMAIN.md §3).
//!
//! Skew estimate: each batch records `sent_at − received_at` (node clock minus aggregator
//! clock, minus the network delay). Its maximum over a node's recent batches estimates the
//! node's offset to within the smallest delay seen, so the difference between two servers'
//! estimates is their skew to within the difference of their smallest delays (milliseconds on
//! any working network). adjtimex offsets are not used for skew: each is relative to that
//! node's own time source, which says nothing about how two nodes compare.

use std::collections::BTreeMap;
use std::time::Duration;

use edgeward_proto::UnixMillis;

use super::{Ctx, delivery};
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::fleet::ClusterView;
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// Batches received within this window (aggregator clock) estimate a node's clock offset.
pub const SKEW_WINDOW: Duration = Duration::from_secs(15 * 60);

/// ClockUnsynchronized (warning) from the newest inventory's adjtimex reading.
pub(super) fn check(ctx: &Ctx<'_>, node: &NodeState, out: &mut Vec<Finding>) {
    let Some(inv) = node.inventory() else {
        return;
    };
    let Some(c) = ctx.section("inventory/clock", &inv.value.clock, inv.at, out) else {
        return;
    };
    if c.synchronized {
        return;
    }
    out.push(
        ctx.finding(
            Kind::ClockUnsynchronized,
            Severity::Warning,
            None,
            format!(
                "kernel clock not synchronised (estimated error {} ms)",
                c.est_error_us / 1000
            ),
        )
        .with("offset_us", c.offset_us)
        .with("max_error_us", c.max_error_us)
        .with("est_error_us", c.est_error_us)
        .measured_at(c.read_at),
    );
}

/// A node's clock offset estimate in ms and the newest batch it rests on.
fn offset(node: &NodeState, now: UnixMillis) -> Option<(i64, UnixMillis)> {
    let since = UnixMillis(now.0.saturating_sub(super::millis(SKEW_WINDOW)));
    let max = node.send_offset.since(since).map(|(_, v)| *v).max()?;
    let newest = node.send_offset.since(since).map(|(t, _)| *t).max()?;
    Some((max, newest))
}

/// ClockSkew (warning) when the offset estimates of the cluster's fresh servers differ by more
/// than `clock_skew`. Stale servers are left out: they have no recent batch to estimate from.
pub(super) fn skew(
    ctx: &Ctx<'_>,
    cluster: &ClusterView<'_>,
    t: &Thresholds,
    out: &mut Vec<Finding>,
) {
    let mut offsets: BTreeMap<&str, i64> = BTreeMap::new();
    let mut newest: Option<UnixMillis> = None;
    for n in cluster.servers() {
        if delivery::is_stale(n, t, ctx.now) {
            continue;
        }
        let (Some(id), Some((o, at))) = (n.node(), offset(n, ctx.now)) else {
            continue;
        };
        offsets.insert(id.as_str(), o);
        newest = newest.max(Some(at));
    }
    let (Some(min), Some(max)) = (offsets.values().min(), offsets.values().max()) else {
        return;
    };
    let spread = max - min;
    if offsets.len() < 2 || spread <= super::millis(t.clock_skew) {
        return;
    }
    let mut sorted: Vec<i64> = offsets.values().copied().collect();
    sorted.sort_unstable();
    let median = sorted[(sorted.len() - 1) / 2];
    let farthest = offsets
        .iter()
        .max_by_key(|(id, o)| ((**o - median).abs(), std::cmp::Reverse(**id)))
        .map(|(id, _)| *id)
        .unwrap_or_default();
    let mut f = ctx
        .finding(
            Kind::ClockSkew,
            Severity::Warning,
            None,
            format!(
                "server clocks {:.1} s apart (limit {:.1} s); farthest from the others: {farthest}",
                spread as f64 / 1000.0,
                super::secs(t.clock_skew)
            ),
        )
        .with("spread_ms", spread)
        .with("median_offset_ms", median)
        .with("limit_ms", super::millis(t.clock_skew))
        .with("farthest_node", farthest);
    for (id, o) in &offsets {
        f = f.with(&format!("offset_ms.{id}"), *o);
    }
    if let Some(at) = newest {
        f = f.measured_at(at);
    }
    out.push(f);
}
