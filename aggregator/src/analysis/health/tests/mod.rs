//! Table-driven tests of the health checks. Each row starts from a quiet synthetic server
//! node (K3s, embedded etcd, inventory and a fast disk audit: no finding at all), tweaks its
//! newest sample and/or its state, and states exactly which findings of the kinds under test
//! come out, plus chosen evidence.

mod cluster;
mod datastore;
mod delivery;
mod dqlite;
mod etcd;
mod identity;
mod kubelet;
mod links;
mod pressure;

use edgeward_proto::datastore::{Datastore, DiskAudit, Etcd, EtcdMetrics, EtcdStatus, Snapshots};
use edgeward_proto::eviction;
use edgeward_proto::inventory::Inventory;
use edgeward_proto::kubelet::{KubeletHealth, KubeletMetrics, Pods};
use edgeward_proto::pressure::{DefaultsOf, NodePressure, Threshold, ThresholdSource};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Bounded, Sample, Section, UnixMillis};

use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// Node clock of the first base sample.
pub const START: i64 = 1_763_683_200_000;
/// Samples in the base batch, 15 s apart.
pub const SAMPLES: u64 = 4;

/// Node clock of the newest base sample.
pub fn newest_at() -> UnixMillis {
    UnixMillis(START + (SAMPLES as i64 - 1) * 15_000)
}

/// Aggregator clock when the base batch arrived: 1 s after it was sent.
pub fn received() -> UnixMillis {
    UnixMillis(START + SAMPLES as i64 * 15_000 + 1_000)
}

/// The evaluation time: 1 s after the batch arrived (the node is fresh).
pub fn now() -> UnixMillis {
    UnixMillis(received().0 + 1_000)
}

/// A fast disk audit (p99 4 ms).
pub fn audit(p99_us: u32) -> DiskAudit {
    DiskAudit {
        path: "/var/lib/rancher/k3s/server/db".to_owned(),
        writes: 200,
        bytes_per_write: 2300,
        p50_us: 1_500,
        p99_us,
        max_us: p99_us + 2_000,
    }
}

/// Makes a synthetic sample quiet: no cumulative kubelet error totals.
fn quiet(s: &mut Sample) {
    let m = kmetrics(s);
    m.runtime_operation_errors = Some(0);
    m.started_pods_errors = Some(0);
}

/// Synthetic node `i` after one batch of [`SAMPLES`] quiet samples; `tweak` edits the newest
/// sample before it is applied.
pub fn node_state(i: u32, tweak: impl FnOnce(&mut Sample)) -> NodeState {
    let n = SyntheticNode::new(i);
    let mut batch = n.batch(1, SAMPLES, UnixMillis(START));
    let mut samples = std::mem::take(&mut batch.samples).into_vec();
    for s in &mut samples {
        quiet(s);
    }
    samples[0].inventory = Section::Data(n.inventory());
    let last = samples.last_mut().expect("a batch has samples");
    datastore(last).disk_audit = Section::Data(audit(4_000));
    tweak(last);
    batch.samples = Bounded::try_from(samples).expect("within the bound");
    let mut st = NodeState::new(n.node.clone(), received());
    st.apply(&batch, received());
    st
}

pub fn pressure(s: &mut Sample) -> &mut NodePressure {
    match &mut s.pressure {
        Section::Data(p) => p,
        _ => panic!("synthetic samples carry pressure"),
    }
}

/// Recomputes the eviction margins after a tweak of the measurements.
pub fn reevaluate(p: &mut NodePressure, extra: &[Threshold]) {
    let mut t = eviction::defaults(DefaultsOf::Upstream);
    t.extend_from_slice(extra);
    p.eviction = Section::Data(eviction::evaluate(ThresholdSource::Configz, &t, p));
}

pub fn kubelet(s: &mut Sample) -> &mut KubeletHealth {
    match &mut s.kubelet {
        Section::Data(k) => k,
        _ => panic!("synthetic samples carry the kubelet"),
    }
}

pub fn kmetrics(s: &mut Sample) -> &mut KubeletMetrics {
    match &mut kubelet(s).metrics {
        Section::Data(m) => m,
        _ => panic!("synthetic samples carry kubelet metrics"),
    }
}

pub fn pods(s: &mut Sample) -> &mut Pods {
    match &mut kubelet(s).pods {
        Section::Data(p) => p,
        _ => panic!("synthetic samples carry pods"),
    }
}

pub fn datastore(s: &mut Sample) -> &mut edgeward_proto::datastore::DatastoreHealth {
    match &mut s.datastore {
        Section::Data(d) => d,
        _ => panic!("synthetic samples carry the datastore"),
    }
}

pub fn etcd(s: &mut Sample) -> &mut Etcd {
    match &mut datastore(s).kind {
        Datastore::Etcd(e) => e,
        _ => panic!("synthetic samples run etcd"),
    }
}

pub fn emetrics(s: &mut Sample) -> &mut EtcdMetrics {
    match &mut etcd(s).metrics {
        Section::Data(m) => m,
        _ => panic!("synthetic samples carry etcd metrics"),
    }
}

pub fn status(s: &mut Sample) -> &mut EtcdStatus {
    match &mut etcd(s).status {
        Section::Data(st) => st,
        _ => panic!("synthetic samples carry etcd status"),
    }
}

pub fn snapshots(s: &mut Sample) -> &mut Snapshots {
    match &mut etcd(s).snapshots {
        Section::Data(sn) => sn,
        _ => panic!("synthetic samples carry snapshots"),
    }
}

/// Sets the newest sample's inventory (synthetic inventory edited by `edit`).
pub fn with_inventory(s: &mut Sample, edit: impl FnOnce(&mut Inventory)) {
    let mut inv = SyntheticNode::new(0).inventory();
    edit(&mut inv);
    s.inventory = Section::Data(inv);
}

/// Leaves a sample or state as it is.
pub fn same<T>(_: &mut T) {}

/// One scenario: a tweak of the newest sample, a tweak of the state, the findings expected
/// among the kinds under test (kind, severity, subject), and evidence that at least one of
/// them holds (name, value as displayed).
pub struct Row {
    pub name: &'static str,
    pub sample: fn(&mut Sample),
    pub state: fn(&mut NodeState),
    pub expect: &'static [(Kind, Severity, Option<&'static str>)],
    pub evidence: &'static [(&'static str, &'static str)],
}

/// `(kind, severity, subject)` of the findings of `kinds`, sorted.
pub fn shape(found: &[Finding], kinds: &[Kind]) -> Vec<(Kind, Severity, Option<String>)> {
    let mut v: Vec<_> = found
        .iter()
        .filter(|f| kinds.contains(&f.kind))
        .map(|f| (f.kind, f.severity, f.subject.clone()))
        .collect();
    v.sort();
    v
}

/// Runs every row against `health::node` and checks the findings of `kinds`.
pub fn run(rows: &[Row], kinds: &[Kind]) {
    for r in rows {
        let mut st = node_state(0, r.sample);
        (r.state)(&mut st);
        let found = super::node(&st, &Thresholds::default(), now());
        let mut want: Vec<_> = r
            .expect
            .iter()
            .map(|(k, s, subj)| (*k, *s, subj.map(str::to_owned)))
            .collect();
        want.sort();
        assert_eq!(shape(&found, kinds), want, "row {:?}: {found:#?}", r.name);
        for (key, value) in r.evidence {
            let seen: Vec<String> = found
                .iter()
                .filter(|f| kinds.contains(&f.kind))
                .filter_map(|f| f.evidence.get(*key).map(ToString::to_string))
                .collect();
            assert!(
                seen.iter().any(|v| v == value),
                "row {:?}: evidence {key} = {value:?} wanted, seen {seen:?}",
                r.name
            );
        }
    }
}

#[test]
fn a_quiet_synthetic_server_has_no_finding_at_all() {
    let st = node_state(0, same);
    assert_eq!(super::node(&st, &Thresholds::default(), now()), Vec::new());
}

#[test]
fn a_node_that_never_sent_a_sample_is_unknown_in_every_section_never_silent() {
    let st = NodeState::new(SyntheticNode::new(0).node, received());
    let found = super::node(&st, &Thresholds::default(), now());
    let subjects: Vec<_> = found
        .iter()
        .map(|f| (f.kind, f.severity, f.subject.as_deref()))
        .collect();
    assert_eq!(
        subjects,
        vec![
            (Kind::Unknown, Severity::Info, Some("datastore")),
            (Kind::Unknown, Severity::Info, Some("inventory")),
            (Kind::Unknown, Severity::Info, Some("kubelet")),
            (Kind::Unknown, Severity::Info, Some("pressure")),
        ]
    );
    assert!(found.iter().all(
        |f| f.evidence.get("reason").map(ToString::to_string).as_deref() == Some("never_reported")
    ));
}

#[test]
fn findings_are_sorted_by_id_and_measured_at_the_node_clock_time_of_the_data() {
    let st = node_state(0, |s| {
        emetrics(s).has_leader = false;
        emetrics(s).wal_fsync_p99_secs = Some(2.0);
    });
    let found = super::node(&st, &Thresholds::default(), now());
    let ids: Vec<_> = found.iter().map(|f| f.id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(found.len() >= 2);
    assert!(found.iter().all(|f| f.measured_at == Some(newest_at())));
}
