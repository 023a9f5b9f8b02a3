//! Health checks per node and per cluster: each check reads what a node measured (or what the
//! aggregator observed of its delivery) and emits findings carrying that evidence.
//!
//! One file per domain noun: [`delivery`] (staleness, gaps, backlog), [`pressure`] (eviction
//! conditions, margins, io PSI), [`kubelet`], [`etcd`], [`sqlite`], [`dqlite`], [`disk`] (the
//! fdatasync audit), [`snapshots`] (etcd's), [`certificates`], [`clock`] and [`quorum`].
//!
//! Invariants:
//! - No data is never silence: a section that is unavailable (for any reason but
//!   `NotApplicable`) or was never reported gives one `unknown` finding (info) whose subject
//!   names the section and whose evidence holds the typed reason and the agent's detail.
//! - A stale node is never healthy: it gets `node_stale`, and every other finding about it
//!   (last-known data) carries `stale = true` in its evidence. Ids do not change with
//!   staleness, so alerts keep their identity.
//! - `measured_at` is the node-clock time of the data judged. Windows over node-clock
//!   histories are anchored at their newest entry, never at `now`, so a clock offset between
//!   node and aggregator cannot stretch or shrink them. `now` (aggregator clock) serves only
//!   what the aggregator observes itself (staleness, gap recency) and absolute deadlines
//!   (certificate expiry).
//! - Deterministic: checks run in a fixed order and each entry point returns findings sorted
//!   by id.

mod certificates;
mod clock;
mod delivery;
mod disk;
mod dqlite;
mod etcd;
mod kubelet;
mod pressure;
mod quorum;
mod snapshots;
mod sqlite;
#[cfg(test)]
mod tests;

use edgeward_proto::datastore::Datastore;
use edgeward_proto::{ClusterId, NodeId, Section, Unavailable, UnavailableReason, UnixMillis};

use super::finding::{Finding, Kind, Measure, Severity};
use super::fleet::ClusterView;
use super::node::{Current, NodeState, Observed, Track};
use crate::policy::Thresholds;

// The check constants not (yet) in the policy's `Thresholds`, each documented where defined.
pub use clock::SKEW_WINDOW;
pub use delivery::{BACKLOG_BATCHES, BACKLOG_MIN_INTERVALS, DATA_GAP_WINDOW, DEFAULT_INTERVAL_MS};
pub use etcd::{COUNTER_WINDOW, DEFAULT_QUOTA_BYTES, FRAGMENTED_MIN_IN_USE_BYTES};
pub use sqlite::TREND_WINDOW;

/// Evidence key prefix by which a cluster-level finding names the nodes it implicates
/// (`implicates.<node-id>` = why); [`super::causes`] links their findings as causes.
pub const IMPLICATES: &str = "implicates.";

/// Findings about one node at `now`.
pub fn node(node: &NodeState, thresholds: &Thresholds, now: UnixMillis) -> Vec<Finding> {
    let ctx = Ctx {
        cluster: node.cluster.as_ref(),
        node: node.node(),
        now,
    };
    let mut out = Vec::new();
    let stale = delivery::check(&ctx, node, thresholds, &mut out);
    pressure::check(&ctx, node, thresholds, &mut out);
    kubelet::check(&ctx, node, thresholds, &mut out);
    datastore(&ctx, node, thresholds, &mut out);
    disk::check(&ctx, node, thresholds, &mut out);
    certificates::check(&ctx, node, thresholds, &mut out);
    clock::check(&ctx, node, &mut out);
    if stale {
        for f in out.iter_mut().filter(|f| f.kind != Kind::NodeStale) {
            f.evidence.insert("stale".to_owned(), Measure::Bool(true));
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Findings about one cluster as a whole (quorum, clock skew between servers, dqlite voters).
/// The view of nodes whose cluster is not known yet is no cluster: it gives nothing.
pub fn cluster(
    cluster: &ClusterView<'_>,
    thresholds: &Thresholds,
    now: UnixMillis,
) -> Vec<Finding> {
    if cluster.id.is_none() {
        return Vec::new();
    }
    let ctx = Ctx {
        cluster: cluster.id,
        node: None,
        now,
    };
    let mut out = Vec::new();
    quorum::check(&ctx, cluster, thresholds, &mut out);
    clock::skew(&ctx, cluster, thresholds, &mut out);
    dqlite::voters(&ctx, cluster, thresholds, &mut out);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The datastore section, dispatched on the kind the node runs.
fn datastore(ctx: &Ctx<'_>, node: &NodeState, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(ds) = ctx.track("datastore", &node.datastore, out) else {
        return;
    };
    match &ds.value.kind {
        Datastore::None | Datastore::External { .. } => {}
        Datastore::Etcd(e) => etcd::check(ctx, node, e, ds.at, t, out),
        Datastore::KineSqlite(s) => sqlite::check(ctx, node, s, ds.at, t, out),
        Datastore::Dqlite(s) => {
            ctx.section("datastore/dqlite", s, ds.at, out);
        }
    }
}

/// Who the findings of one check run are about, and when the evaluation happens.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub cluster: Option<&'a ClusterId>,
    pub node: Option<&'a NodeId>,
    /// Aggregator clock.
    pub now: UnixMillis,
}

impl Ctx<'_> {
    /// A finding about this node (or cluster) seen now.
    pub fn finding(
        &self,
        kind: Kind,
        severity: Severity,
        subject: Option<&str>,
        summary: impl Into<String>,
    ) -> Finding {
        Finding::new(
            kind,
            severity,
            self.cluster,
            self.node,
            subject,
            summary,
            self.now,
        )
    }

    /// `unknown` for a section that is unavailable, `None` when it does not apply.
    pub fn unavailable(&self, section: &str, u: &Unavailable, at: UnixMillis) -> Option<Finding> {
        if u.reason == UnavailableReason::NotApplicable {
            return None;
        }
        let reason = reason_name(u.reason);
        Some(
            self.finding(
                Kind::Unknown,
                Severity::Info,
                Some(section),
                format!("{section} unavailable ({reason}): {}", u.detail),
            )
            .with("reason", reason)
            .with("detail", u.detail.as_str())
            .measured_at(at),
        )
    }

    /// `unknown` for a section the node never reported.
    pub fn never(&self, section: &str) -> Finding {
        self.finding(
            Kind::Unknown,
            Severity::Info,
            Some(section),
            format!("{section} never reported"),
        )
        .with("reason", "never_reported")
    }

    /// The data of a sub-section of data measured at `at`; pushes `unknown` when unavailable.
    /// `NotDue` gives nothing: that probe's data came with an earlier sample.
    pub fn section<'s, T>(
        &self,
        name: &str,
        section: &'s Section<T>,
        at: UnixMillis,
        out: &mut Vec<Finding>,
    ) -> Option<&'s T> {
        match section {
            Section::Data(d) => Some(d),
            Section::Unavailable(u) => {
                out.extend(self.unavailable(name, u, at));
                None
            }
            Section::NotDue { .. } => None,
        }
    }

    /// Like [`Ctx::section`], except that an endpoint unreachable (or timing out) while
    /// `down` (its service is already reported down) gives nothing: that is not news.
    pub fn gated<'s, T>(
        &self,
        name: &str,
        section: &'s Section<T>,
        at: UnixMillis,
        down: bool,
        out: &mut Vec<Finding>,
    ) -> Option<&'s T> {
        match section {
            Section::Unavailable(u) if down && is_down(u.reason) => None,
            _ => self.section(name, section, at, out),
        }
    }

    /// The fresh data of a tracked section; pushes `unknown` when the newest thing heard is
    /// "unavailable" or nothing was ever heard.
    pub fn track<'s, T>(
        &self,
        name: &str,
        track: &'s Track<T>,
        out: &mut Vec<Finding>,
    ) -> Option<&'s Observed<T>> {
        match track.current() {
            Current::Data(d) => Some(d),
            Current::Unavailable(u, _) => {
                out.extend(self.unavailable(name, &u.value, u.at));
                None
            }
            Current::Never => {
                out.push(self.never(name));
                None
            }
        }
    }
}

/// Whether a reason means "the thing is down" rather than "the agent cannot look".
pub(super) fn is_down(reason: UnavailableReason) -> bool {
    matches!(
        reason,
        UnavailableReason::Unreachable | UnavailableReason::Timeout
    )
}

/// The `snake_case` name of a reason, for evidence.
pub(super) fn reason_name(reason: UnavailableReason) -> &'static str {
    match reason {
        UnavailableReason::Disabled => "disabled",
        UnavailableReason::NotApplicable => "not_applicable",
        UnavailableReason::NotFound => "not_found",
        UnavailableReason::PermissionDenied => "permission_denied",
        UnavailableReason::Unreachable => "unreachable",
        UnavailableReason::Timeout => "timeout",
        UnavailableReason::Unauthorized => "unauthorized",
        UnavailableReason::Unparseable => "unparseable",
        UnavailableReason::Failed => "failed",
        UnavailableReason::Skipped => "skipped",
    }
}

/// A duration threshold in seconds, for comparison with measured seconds.
pub(super) fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// A duration threshold in milliseconds (saturating).
pub(super) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
