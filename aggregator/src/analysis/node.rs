//! What the analysis knows about one node: the newest data of every section, the newest
//! reason a section was unavailable, short histories for the checks that need a trend, and
//! what the aggregator itself observed (arrival times, delivery lag, gap records).
//!
//! Invariants:
//! - Data arrives late and in pieces. A sample only replaces what is known when it is newer
//!   (node clock `at`, then seq); a late batch fills history but never overwrites newer facts.
//! - `NotDue` sections change nothing: the data they point to arrived with an earlier sample.
//! - Histories are bounded rings ([`HISTORY`] entries), kept in time order.

use std::collections::VecDeque;

use edgeward_proto::datastore::{
    Datastore, DatastoreHealth, DiskAudit, Etcd, IntegrityCheck, Sqlite,
};
use edgeward_proto::inventory::Inventory;
use edgeward_proto::kubelet::KubeletHealth;
use edgeward_proto::pressure::NodePressure;
use edgeward_proto::{
    Batch, ClusterId, GapReason, GapRecord, NodeId, Sample, Section, Seq, Unavailable, UnixMillis,
};

/// Entries per history ring: an hour at a 15 s interval, more than any trend check needs.
pub const HISTORY: usize = 240;

/// A value and when (node clock) and in which sample it was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<T> {
    pub at: UnixMillis,
    pub seq: Seq,
    pub value: T,
}

/// The newest data of one section and, when the newest thing heard is an `Unavailable`, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Track<T> {
    /// The newest `Data` ever received.
    pub data: Option<Observed<T>>,
    /// The newest `Unavailable`, kept only while it is newer than `data`.
    pub unavailable: Option<Observed<Unavailable>>,
}

impl<T> Default for Track<T> {
    fn default() -> Self {
        Self {
            data: None,
            unavailable: None,
        }
    }
}

/// What a check sees of a section now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Current<'a, T> {
    /// The newest thing heard is data.
    Data(&'a Observed<T>),
    /// The newest thing heard is "unavailable"; older data, if any, comes along.
    Unavailable(&'a Observed<Unavailable>, Option<&'a Observed<T>>),
    /// Nothing ever heard.
    Never,
}

impl<T> Track<T> {
    fn newest_at(&self) -> Option<(UnixMillis, Seq)> {
        let d = self.data.as_ref().map(|o| (o.at, o.seq));
        let u = self.unavailable.as_ref().map(|o| (o.at, o.seq));
        d.max(u)
    }

    /// Applies a section of a sample taken at (`at`, `seq`); returns `true` when it changed
    /// what is current.
    pub fn apply_section(&mut self, section: &Section<T>, at: UnixMillis, seq: Seq) -> bool
    where
        T: Clone,
    {
        match section {
            Section::Data(v) => self.apply_data(v.clone(), at, seq),
            Section::Unavailable(u) => {
                if self.newest_at().is_some_and(|n| n >= (at, seq)) {
                    return false;
                }
                self.unavailable = Some(Observed {
                    at,
                    seq,
                    value: u.clone(),
                });
                true
            }
            Section::NotDue { .. } => false,
        }
    }

    /// Applies data taken at (`at`, `seq`).
    pub fn apply_data(&mut self, value: T, at: UnixMillis, seq: Seq) -> bool {
        if self
            .data
            .as_ref()
            .is_some_and(|d| (d.at, d.seq) >= (at, seq))
        {
            return false;
        }
        if self
            .unavailable
            .as_ref()
            .is_some_and(|u| (u.at, u.seq) < (at, seq))
        {
            self.unavailable = None;
        }
        self.data = Some(Observed { at, seq, value });
        true
    }

    pub fn current(&self) -> Current<'_, T> {
        match (&self.data, &self.unavailable) {
            (_, Some(u)) => Current::Unavailable(u, self.data.as_ref()),
            (Some(d), None) => Current::Data(d),
            (None, None) => Current::Never,
        }
    }

    /// The newest data when it is also the newest thing heard.
    pub fn fresh(&self) -> Option<&Observed<T>> {
        match self.current() {
            Current::Data(d) => Some(d),
            _ => None,
        }
    }
}

/// A bounded, time-ordered ring of measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct History<T> {
    entries: VecDeque<(UnixMillis, T)>,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
        }
    }
}

impl<T> History<T> {
    /// Inserts in time order (late arrivals land where they belong); drops the oldest beyond
    /// [`HISTORY`]. An entry at an existing time replaces it.
    pub fn record(&mut self, at: UnixMillis, value: T) {
        let pos = self.entries.partition_point(|(t, _)| *t < at);
        match self.entries.get_mut(pos) {
            Some((t, v)) if *t == at => *v = value,
            _ => self.entries.insert(pos, (at, value)),
        }
        while self.entries.len() > HISTORY {
            self.entries.pop_front();
        }
    }

    pub fn iter(&self) -> std::collections::vec_deque::Iter<'_, (UnixMillis, T)> {
        self.entries.iter()
    }

    pub fn latest(&self) -> Option<&(UnixMillis, T)> {
        self.entries.back()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries at or after `since`.
    pub fn since(
        &self,
        since: UnixMillis,
    ) -> std::collections::vec_deque::Iter<'_, (UnixMillis, T)> {
        let start = self.entries.partition_point(|(t, _)| *t < since);
        self.entries.range(start..)
    }
}

/// Counters of an etcd member, for rates over a window (leader changes, failed proposals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtcdCounters {
    pub leader_changes: u64,
    pub proposals_failed: u64,
}

/// The kubelet's cumulative error counters, for rates (`None`: not exposed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeletCounters {
    pub runtime_errors: Option<u64>,
    pub start_errors: Option<u64>,
}

/// kine/SQLite sizes over time, for "compaction stuck" and "WAL keeps growing".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteTrend {
    /// current − compacted revision.
    pub lag: i64,
    pub wal_bytes: u64,
}

/// Agent-reported losses, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Losses {
    /// Gap records received (each counted once per (stream, range, reason)).
    pub records: u64,
    /// Samples lost according to those records.
    pub samples: u64,
    /// The newest record and when the aggregator received it.
    pub latest: Option<(UnixMillis, GapRecord)>,
    pub by_reason: [u64; 3],
    /// (stream, first, last, reason) of the records counted, newest [`MAX_GAPS_REMEMBERED`].
    seen: std::collections::BTreeSet<(u64, u64, u64, usize)>,
}

/// Gap records remembered per node to count a re-sent one only once.
pub const MAX_GAPS_REMEMBERED: usize = 1_024;

impl Losses {
    fn reason_index(r: GapReason) -> usize {
        match r {
            GapReason::SizeBound => 0,
            GapReason::Corruption => 1,
            GapReason::RejectedByAggregator => 2,
        }
    }

    /// Samples lost for `reason`.
    pub fn for_reason(&self, r: GapReason) -> u64 {
        self.by_reason[Self::reason_index(r)]
    }
}

/// Everything the analysis keeps about one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeState {
    pub id: Option<NodeId>,
    /// From batch headers; the newest known (a batch without one does not erase it).
    pub cluster: Option<ClusterId>,
    pub agent_version: String,
    /// Aggregator clock: first and newest batch arrival.
    pub first_seen: UnixMillis,
    pub last_seen: UnixMillis,
    /// Node clock: the newest sample's time.
    pub last_sample_at: Option<UnixMillis>,
    /// Median spacing of recent samples: the node's sampling interval as observed.
    pub interval_ms: Option<i64>,
    pub pressure: Track<NodePressure>,
    pub kubelet: Track<KubeletHealth>,
    pub datastore: Track<DatastoreHealth>,
    /// The disk audit runs every few cycles: its newest data is kept apart from the
    /// datastore section, which carries `NotDue` for it in between.
    pub disk_audit: Track<DiskAudit>,
    pub inventory: Track<Inventory>,
    /// The newest SQLite `quick_check` (rate-limited: `NotDue` in between), kept apart like
    /// the disk audit so a failed check stays reported until a newer one passes.
    pub quick_check: Track<IntegrityCheck>,
    /// (node clock) the kubelet's error counters, for rates.
    pub kubelet_counters: History<KubeletCounters>,
    /// (node clock) etcd counters, for rates.
    pub etcd_counters: History<EtcdCounters>,
    pub sqlite: History<SqliteTrend>,
    /// (aggregator clock) delivery lag per batch: `sent_at − oldest sample at`, ms.
    pub delivery_lag: History<i64>,
    /// (aggregator clock) `sent_at − received_at` per batch, ms: the node's clock offset
    /// against the aggregator's minus the network delay. Its maximum over recent batches
    /// estimates the offset to within the smallest delay seen.
    pub send_offset: History<i64>,
    /// Spacing of consecutive samples (node clock), for the interval estimate.
    spacing: History<i64>,
    pub losses: Losses,
    /// Sequence holes the store sees for this node, and how many seqs no gap record covers.
    pub holes: u64,
    pub unexplained_seqs: u64,
}

impl NodeState {
    pub fn new(id: NodeId, now: UnixMillis) -> Self {
        Self {
            id: Some(id),
            cluster: None,
            agent_version: String::new(),
            first_seen: now,
            last_seen: now,
            last_sample_at: None,
            interval_ms: None,
            pressure: Track::default(),
            kubelet: Track::default(),
            datastore: Track::default(),
            disk_audit: Track::default(),
            inventory: Track::default(),
            quick_check: Track::default(),
            kubelet_counters: History::default(),
            etcd_counters: History::default(),
            sqlite: History::default(),
            delivery_lag: History::default(),
            send_offset: History::default(),
            spacing: History::default(),
            losses: Losses::default(),
            holes: 0,
            unexplained_seqs: 0,
        }
    }

    /// The node's id (always set by [`NodeState::new`]).
    pub fn node(&self) -> Option<&NodeId> {
        self.id.as_ref()
    }

    /// Folds one batch in; `received_at` is the aggregator's clock.
    pub fn apply(&mut self, batch: &Batch, received_at: UnixMillis) {
        let h = &batch.header;
        if let Some(c) = &h.cluster {
            self.cluster = Some(c.clone());
        }
        if received_at >= self.last_seen {
            self.last_seen = received_at;
            h.agent_version.clone_into(&mut self.agent_version);
        }
        self.first_seen = self.first_seen.min(received_at);
        if let Some(oldest) = batch.samples.first() {
            self.delivery_lag
                .record(received_at, h.sent_at.0.saturating_sub(oldest.at.0));
        }
        self.send_offset
            .record(received_at, h.sent_at.0.saturating_sub(received_at.0));
        for s in &batch.samples {
            self.apply_sample(s);
        }
        for g in &batch.gaps {
            self.apply_gap(g, received_at);
        }
    }

    /// Folds one agent gap record in, once: a re-sent record (same stream, range and reason)
    /// is not counted again.
    pub fn apply_gap(&mut self, g: &GapRecord, received_at: UnixMillis) {
        let key = (
            g.stream.0,
            g.first_seq.0,
            g.last_seq.0,
            Losses::reason_index(g.reason),
        );
        if !self.losses.seen.insert(key) {
            return;
        }
        if self.losses.seen.len() > MAX_GAPS_REMEMBERED {
            self.losses.seen.pop_first();
        }
        self.losses.records += 1;
        self.losses.samples = self.losses.samples.saturating_add(g.count);
        let i = Losses::reason_index(g.reason);
        self.losses.by_reason[i] = self.losses.by_reason[i].saturating_add(g.count);
        if self
            .losses
            .latest
            .as_ref()
            .is_none_or(|(t, _)| *t <= received_at)
        {
            self.losses.latest = Some((received_at, g.clone()));
        }
    }

    /// Restores what batch headers said, from the store's registry (start-up rebuild).
    pub fn restore_registry(
        &mut self,
        cluster: Option<ClusterId>,
        agent_version: &str,
        first_seen: UnixMillis,
        last_seen: UnixMillis,
    ) {
        if cluster.is_some() {
            self.cluster = cluster;
        }
        agent_version.clone_into(&mut self.agent_version);
        self.first_seen = first_seen;
        self.last_seen = last_seen;
    }

    /// Folds one sample in.
    pub fn apply_sample(&mut self, s: &Sample) {
        let (at, seq) = (s.at, s.seq);
        if let Some(prev) = self.last_sample_at {
            let d = at.0.saturating_sub(prev.0);
            if d > 0 {
                self.spacing.record(at, d);
                self.interval_ms = median(self.spacing.iter().map(|(_, v)| *v));
            }
        }
        if self.last_sample_at.is_none_or(|p| at > p) {
            self.last_sample_at = Some(at);
        }
        self.pressure.apply_section(&s.pressure, at, seq);
        self.kubelet.apply_section(&s.kubelet, at, seq);
        if let Section::Data(k) = &s.kubelet
            && let Section::Data(m) = &k.metrics
        {
            self.kubelet_counters.record(
                at,
                KubeletCounters {
                    runtime_errors: m.runtime_operation_errors,
                    start_errors: m.started_pods_errors,
                },
            );
        }
        if self.datastore.apply_section(&s.datastore, at, seq) {
            // Only when this sample is the newest: history wants the datastore's own trend.
        }
        if let Section::Data(ds) = &s.datastore {
            self.disk_audit.apply_section(&ds.disk_audit, at, seq);
            match &ds.kind {
                Datastore::Etcd(e) => self.record_etcd(e, at),
                Datastore::KineSqlite(Section::Data(q)) => {
                    self.record_sqlite(q, at);
                    self.quick_check.apply_section(&q.quick_check, at, seq);
                }
                _ => {}
            }
        }
        self.inventory.apply_section(&s.inventory, at, seq);
    }

    fn record_etcd(&mut self, e: &Etcd, at: UnixMillis) {
        if let Section::Data(m) = &e.metrics {
            self.etcd_counters.record(
                at,
                EtcdCounters {
                    leader_changes: m.leader_changes,
                    proposals_failed: m.proposals_failed,
                },
            );
        }
    }

    fn record_sqlite(&mut self, q: &Sqlite, at: UnixMillis) {
        self.sqlite.record(
            at,
            SqliteTrend {
                lag: q.current_revision.saturating_sub(q.compacted_revision),
                wal_bytes: q.wal_bytes,
            },
        );
    }

    /// The newest inventory, however old (inventory ships every few hours when unchanged).
    pub fn inventory(&self) -> Option<&Observed<Inventory>> {
        self.inventory.data.as_ref()
    }

    /// The node's role from its newest inventory.
    pub fn role(&self) -> edgeward_proto::inventory::NodeRole {
        self.inventory()
            .map_or(edgeward_proto::inventory::NodeRole::Unknown, |i| {
                i.value.role
            })
    }

    /// The kubelet version: the kubelet's own metrics first, then the inventory.
    pub fn kubelet_version(&self) -> Option<&str> {
        let from_metrics = self
            .kubelet
            .data
            .as_ref()
            .and_then(|k| k.value.metrics.data())
            .and_then(|m| m.version.as_deref());
        from_metrics.or_else(|| {
            self.inventory()
                .and_then(|i| i.value.kubelet_version.as_deref())
        })
    }
}

/// The median of `values` (lower median for an even count).
fn median(values: impl Iterator<Item = i64>) -> Option<i64> {
    let mut v: Vec<i64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    v.get((v.len() - 1) / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeward_proto::UnavailableReason;
    use edgeward_proto::synthetic::SyntheticNode;

    #[test]
    fn a_late_sample_does_not_overwrite_newer_data() {
        let mut t: Track<u32> = Track::default();
        assert!(t.apply_data(2, UnixMillis(2_000), Seq(2)));
        assert!(!t.apply_data(1, UnixMillis(1_000), Seq(1)));
        assert_eq!(t.fresh().map(|o| o.value), Some(2));
    }

    #[test]
    fn a_newer_unavailable_hides_older_data_until_data_returns() {
        let mut t: Track<u32> = Track::default();
        t.apply_data(1, UnixMillis(1_000), Seq(1));
        let u = Section::unavailable(UnavailableReason::Unreachable, "refused");
        assert!(t.apply_section(&u, UnixMillis(2_000), Seq(2)));
        assert!(matches!(t.current(), Current::Unavailable(_, Some(_))));
        assert!(t.fresh().is_none());
        t.apply_data(3, UnixMillis(3_000), Seq(3));
        assert_eq!(t.fresh().map(|o| o.value), Some(3));
        // An older unavailable that arrives late changes nothing.
        assert!(!t.apply_section(&u, UnixMillis(2_500), Seq(2)));
        assert!(t.unavailable.is_none());
    }

    #[test]
    fn history_stays_in_time_order_and_bounded() {
        let mut h = History::default();
        for i in (0..(HISTORY as i64 + 10)).rev() {
            h.record(UnixMillis(i), i);
        }
        assert_eq!(h.len(), HISTORY);
        let times: Vec<_> = h.iter().map(|(t, _)| t.0).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_interval_is_the_median_spacing_of_samples() {
        let n = SyntheticNode::new(0);
        let mut s = NodeState::new(n.node.clone(), UnixMillis(0));
        s.apply(
            &n.batch(1, 10, UnixMillis(1_000_000)),
            UnixMillis(1_200_000),
        );
        assert_eq!(s.interval_ms, Some(15_000));
        assert_eq!(s.cluster.as_ref(), Some(&n.cluster));
        assert!(s.pressure.fresh().is_some());
    }
}
