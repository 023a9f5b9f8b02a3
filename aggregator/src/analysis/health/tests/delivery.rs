//! Staleness, data gaps and a growing backlog (aggregator clock).

use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{GapReason, GapRecord, Seq, UnixMillis};

use super::{Row, now, pressure, reevaluate, run, same};
use crate::analysis::finding::{Kind, Measure, Severity};
use crate::analysis::node::{History, NodeState};
use crate::policy::Thresholds;

const KINDS: &[Kind] = &[Kind::NodeStale, Kind::DataGap, Kind::BacklogGrowing];

const HOUR: i64 = 3_600_000;

fn gap(count: u64, reason: GapReason) -> GapRecord {
    GapRecord {
        stream: SyntheticNode::new(0).stream,
        first_seq: Seq(100),
        last_seq: Seq(100 + count - 1),
        first_at: None,
        last_at: None,
        count,
        reason,
    }
}

/// A gap record of 40 samples received `ago_ms` before now.
fn gap_received(st: &mut NodeState, ago_ms: i64) {
    st.losses.records = 1;
    st.losses.samples = 40;
    st.losses.by_reason = [40, 0, 0];
    st.losses.latest = Some((UnixMillis(now().0 - ago_ms), gap(40, GapReason::SizeBound)));
}

/// Replaces the delivery-lag history with one batch per interval, these lags in seconds.
fn lags(st: &mut NodeState, secs: &[i64]) {
    st.delivery_lag = History::default();
    for (i, s) in secs.iter().enumerate() {
        st.delivery_lag.record(
            UnixMillis(now().0 - (secs.len() - i) as i64 * 15_000),
            s * 1000,
        );
    }
}

#[test]
fn staleness_gaps_and_backlog() {
    run(
        &[
            Row {
                name: "exactly 3 intervals without a batch is not stale",
                sample: same,
                state: |st| st.last_seen = UnixMillis(now().0 - 45_000),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "more than 3 intervals without a batch is stale",
                sample: same,
                state: |st| st.last_seen = UnixMillis(now().0 - 45_001),
                expect: &[(Kind::NodeStale, Severity::Warning, None)],
                evidence: &[
                    ("since_last_batch_secs", "45.001"),
                    ("interval_default", "false"),
                ],
            },
            Row {
                name: "an unknown interval falls back to 15 s",
                sample: same,
                state: |st| {
                    st.interval_ms = None;
                    st.last_seen = UnixMillis(now().0 - 46_000);
                },
                expect: &[(Kind::NodeStale, Severity::Warning, None)],
                evidence: &[("interval_secs", "15"), ("interval_default", "true")],
            },
            Row {
                name: "a longer observed interval stretches the limit",
                sample: same,
                state: |st| {
                    st.interval_ms = Some(60_000);
                    st.last_seen = UnixMillis(now().0 - 170_000);
                },
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a gap record received 23 h ago is a data gap",
                sample: same,
                state: |st| gap_received(st, 23 * HOUR),
                expect: &[(Kind::DataGap, Severity::Warning, None)],
                evidence: &[
                    ("lost_size_bound_samples", "40"),
                    ("latest_gap_samples", "40"),
                ],
            },
            Row {
                name: "a gap record received 25 h ago is history",
                sample: same,
                state: |st| gap_received(st, 25 * HOUR),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "holes no gap record explains are a data gap",
                sample: same,
                state: |st| {
                    st.holes = 2;
                    st.unexplained_seqs = 7;
                },
                expect: &[(Kind::DataGap, Severity::Warning, None)],
                evidence: &[("unexplained_seqs", "7"), ("holes", "2")],
            },
            Row {
                name: "holes all explained by gap records long ago are not",
                sample: same,
                state: |st| {
                    gap_received(st, 48 * HOUR);
                    st.holes = 1;
                },
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a lag rising over 5 batches beyond 4 intervals is a growing backlog",
                sample: same,
                state: |st| lags(st, &[20, 30, 30, 45, 61]),
                expect: &[(Kind::BacklogGrowing, Severity::Warning, None)],
                evidence: &[
                    ("delivery_lag_secs", "61"),
                    ("delivery_lag_first_secs", "20"),
                ],
            },
            Row {
                name: "a rising lag of at most 4 intervals is normal batching",
                sample: same,
                state: |st| lags(st, &[20, 30, 40, 50, 60]),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a lag that dipped is draining, not growing",
                sample: same,
                state: |st| lags(st, &[100, 120, 110, 130, 140]),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "four batches are too few to call a trend",
                sample: same,
                state: |st| lags(st, &[100, 120, 130, 140]),
                expect: &[],
                evidence: &[],
            },
        ],
        KINDS,
    );
}

#[test]
fn a_stale_node_keeps_its_last_known_findings_marked_stale() {
    let mut st = super::node_state(0, |s| {
        let p = pressure(s);
        if let edgeward_proto::Section::Data(m) = &mut p.memory {
            m.available_bytes = 10 << 20;
        }
        reevaluate(p, &[]);
    });
    st.last_seen = UnixMillis(now().0 - HOUR);
    let found = super::super::node(&st, &Thresholds::default(), now());
    let kinds: Vec<_> = found.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, vec![Kind::MemoryPressure, Kind::NodeStale]);
    assert_eq!(found[0].evidence.get("stale"), Some(&Measure::Bool(true)));
    assert_eq!(found[1].evidence.get("stale"), None);
}

#[test]
fn a_fresh_node_carries_no_stale_mark() {
    let st = super::node_state(0, |s| super::emetrics(s).has_leader = false);
    let found = super::super::node(&st, &Thresholds::default(), now());
    assert!(!found.is_empty());
    assert!(found.iter().all(|f| !f.evidence.contains_key("stale")));
}
