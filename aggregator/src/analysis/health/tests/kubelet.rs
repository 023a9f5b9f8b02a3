//! Kubelet liveness, PLEG, counters, pods and certificate-manager TTLs.

use edgeward_proto::kubelet::{EvictionCount, Healthz, TroubledContainer};
use edgeward_proto::{Bounded, Section, UnavailableReason};

use super::{Row, START, kmetrics, kubelet, pods, run, same};
use crate::analysis::finding::{Kind, Severity};
use crate::analysis::node::NodeState;
use edgeward_proto::{Sample, UnixMillis};

const KINDS: &[Kind] = &[
    Kind::KubeletDown,
    Kind::PlegUnhealthy,
    Kind::RuntimeErrors,
    Kind::PodStartErrors,
    Kind::CrashLooping,
    Kind::OomKilled,
    Kind::Evictions,
    Kind::CertExpiring,
    Kind::CertExpired,
    Kind::Unknown,
];

const DAY: f64 = 86_400.0;

fn cut_off(reason: UnavailableReason) -> impl Fn(&mut edgeward_proto::Sample) {
    move |s| {
        let k = kubelet(s);
        k.metrics = Section::unavailable(reason, "10250");
        k.pods = Section::unavailable(reason, "10250");
        k.scheduling = Section::unavailable(reason, "10250");
        k.configz = Section::unavailable(reason, "10250");
    }
}

#[test]
fn kubelet_liveness_and_sections_it_cannot_see() {
    run(
        &[
            Row {
                name: "healthz refused is kubelet down",
                sample: |s| {
                    kubelet(s).healthz =
                        Section::unavailable(UnavailableReason::Unreachable, "connection refused");
                },
                state: same,
                expect: &[(Kind::KubeletDown, Severity::Critical, None)],
                evidence: &[("reason", "unreachable"), ("detail", "connection refused")],
            },
            Row {
                name: "a down kubelet's unreachable endpoints add nothing to kubelet down",
                sample: |s| {
                    cut_off(UnavailableReason::Timeout)(s);
                    kubelet(s).healthz = Section::unavailable(UnavailableReason::Timeout, "2s");
                },
                state: same,
                expect: &[(Kind::KubeletDown, Severity::Critical, None)],
                evidence: &[("reason", "timeout")],
            },
            Row {
                name: "healthz answering other than ok is kubelet down",
                sample: |s| {
                    kubelet(s).healthz = Section::Data(Healthz::Unhealthy {
                        status: 500,
                        body: "[-]syncloop failed".to_owned(),
                    });
                },
                state: same,
                expect: &[(Kind::KubeletDown, Severity::Critical, None)],
                evidence: &[
                    ("healthz_status", "500"),
                    ("healthz_body", "[-]syncloop failed"),
                ],
            },
            Row {
                name: "K3s cut off from its API server: 10250 unknown per section, not down",
                sample: |s| cut_off(UnavailableReason::Unauthorized)(s),
                state: same,
                expect: &[
                    (Kind::Unknown, Severity::Info, Some("kubelet/configz")),
                    (Kind::Unknown, Severity::Info, Some("kubelet/metrics")),
                    (Kind::Unknown, Severity::Info, Some("kubelet/pods")),
                    (Kind::Unknown, Severity::Info, Some("kubelet/scheduling")),
                ],
                evidence: &[("reason", "unauthorized")],
            },
            Row {
                name: "healthz the agent may not read is unknown, not down",
                sample: |s| {
                    kubelet(s).healthz =
                        Section::unavailable(UnavailableReason::PermissionDenied, "netns");
                },
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("kubelet/healthz"))],
                evidence: &[("reason", "permission_denied")],
            },
            Row {
                name: "a disabled kubelet probe is unknown",
                sample: |s| s.kubelet = Section::unavailable(UnavailableReason::Disabled, "off"),
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("kubelet"))],
                evidence: &[("reason", "disabled")],
            },
        ],
        KINDS,
    );
}

#[test]
fn pleg_at_its_boundaries() {
    run(
        &[
            Row {
                name: "PLEG seen exactly 3 min ago is fine",
                sample: |s| kmetrics(s).pleg_last_seen_age_secs = Some(180.0),
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "PLEG seen more than 3 min ago is critical",
                sample: |s| kmetrics(s).pleg_last_seen_age_secs = Some(180.5),
                state: same,
                expect: &[(Kind::PlegUnhealthy, Severity::Critical, None)],
                evidence: &[("pleg_last_seen_age_secs", "180.5")],
            },
            Row {
                name: "relist p99 just under 10 s is fine",
                sample: |s| kmetrics(s).pleg_relist_p99_secs = Some(9.99),
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "relist p99 of 10 s is a warning",
                sample: |s| kmetrics(s).pleg_relist_p99_secs = Some(10.0),
                state: same,
                expect: &[(Kind::PlegUnhealthy, Severity::Warning, None)],
                evidence: &[("pleg_relist_p99_secs", "10")],
            },
        ],
        KINDS,
    );
}

#[test]
fn error_counters_warn_when_they_grow_and_inform_with_one_reading() {
    use crate::analysis::node::{History, KubeletCounters};
    fn only(st: &mut NodeState, values: &[u64]) {
        st.kubelet_counters = History::default();
        for (i, v) in values.iter().enumerate() {
            let c = KubeletCounters {
                runtime_errors: Some(*v),
                start_errors: Some(*v),
            };
            st.kubelet_counters
                .record(UnixMillis(START + i as i64 * 15_000), c);
        }
    }
    let set = |s: &mut Sample| {
        kmetrics(s).runtime_operation_errors = Some(3);
        kmetrics(s).started_pods_errors = Some(3);
    };
    run(
        &[
            Row {
                name: "totals that grew from 0 to 3 within 15 min",
                sample: set,
                state: same,
                expect: &[
                    (Kind::RuntimeErrors, Severity::Warning, None),
                    (Kind::PodStartErrors, Severity::Warning, None),
                ],
                evidence: &[("errors_15m", "3"), ("errors_total", "3")],
            },
            Row {
                name: "one reading only: information since the kubelet started",
                sample: set,
                state: |st| only(st, &[3]),
                expect: &[
                    (Kind::RuntimeErrors, Severity::Info, None),
                    (Kind::PodStartErrors, Severity::Info, None),
                ],
                evidence: &[("counted_since", "kubelet start"), ("errors_total", "3")],
            },
            Row {
                name: "totals that did not grow are not a problem now",
                sample: set,
                state: |st| only(st, &[3, 3, 3]),
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "a kubelet restart counts from zero",
                sample: set,
                state: |st| only(st, &[40, 2, 3]),
                expect: &[
                    (Kind::RuntimeErrors, Severity::Warning, None),
                    (Kind::PodStartErrors, Severity::Warning, None),
                ],
                evidence: &[("errors_15m", "3")],
            },
        ],
        KINDS,
    );
}

fn troubled(name: &str, reason: &str, restarts: u32) -> TroubledContainer {
    TroubledContainer {
        name: name.to_owned(),
        reason: reason.to_owned(),
        restarts,
    }
}

#[test]
fn container_trouble_and_evictions() {
    run(
        &[
            Row {
                name: "crash loops name the worst containers first",
                sample: |s| {
                    let p = pods(s);
                    p.crash_looping = 2;
                    p.troubled = Bounded::try_from(vec![
                        troubled("default/b/web", "CrashLoopBackOff", 3),
                        troubled("kube-system/x/oom", "OOMKilled", 40),
                        troubled("default/a/app", "CrashLoopBackOff", 12),
                    ])
                    .expect("bounded");
                },
                state: same,
                expect: &[(Kind::CrashLooping, Severity::Warning, None)],
                evidence: &[
                    ("containers", "2"),
                    (
                        "worst_containers",
                        "default/a/app (12 restarts), default/b/web (3 restarts)",
                    ),
                ],
            },
            Row {
                name: "OOM-killed containers",
                sample: |s| pods(s).oom_killed = 1,
                state: same,
                expect: &[(Kind::OomKilled, Severity::Warning, None)],
                evidence: &[("containers", "1")],
            },
            Row {
                name: "evicted pods present are a warning",
                sample: |s| pods(s).evicted = 3,
                state: same,
                expect: &[(Kind::Evictions, Severity::Warning, None)],
                evidence: &[("evicted_pods", "3")],
            },
            Row {
                name: "eviction counters alone are information",
                sample: |s| {
                    kmetrics(s).evictions = Bounded::try_from(vec![EvictionCount {
                        signal: "memory.available".to_owned(),
                        count: 2,
                    }])
                    .expect("bounded");
                },
                state: same,
                expect: &[(Kind::Evictions, Severity::Info, None)],
                evidence: &[("evictions_total.memory.available", "2")],
            },
        ],
        KINDS,
    );
}

#[test]
fn kubelet_certificate_ttls_at_their_boundaries() {
    type Want = Option<(Kind, Severity)>;
    let rows: [(&str, f64, Want); 8] = [
        ("+Inf means the manager is unused", f64::INFINITY, None),
        ("NaN is not a measurement", f64::NAN, None),
        ("exactly 7 days is fine", 7.0 * DAY, None),
        (
            "just under 7 days is a warning",
            7.0 * DAY - 1.0,
            Some((Kind::CertExpiring, Severity::Warning)),
        ),
        (
            "exactly 1 day is still a warning",
            DAY,
            Some((Kind::CertExpiring, Severity::Warning)),
        ),
        (
            "under a day is critical",
            DAY - 1.0,
            Some((Kind::CertExpiring, Severity::Critical)),
        ),
        (
            "zero is expired",
            0.0,
            Some((Kind::CertExpired, Severity::Critical)),
        ),
        (
            "negative is expired",
            -10.0,
            Some((Kind::CertExpired, Severity::Critical)),
        ),
    ];
    for (name, ttl, want) in rows {
        let st = super::node_state(0, |s| kmetrics(s).server_cert_ttl_secs = Some(ttl));
        let found = super::super::node(&st, &Default::default(), super::now());
        let want: Vec<_> = want
            .map(|(k, s)| (k, s, Some("kubelet-server".to_owned())))
            .into_iter()
            .collect();
        assert_eq!(super::shape(&found, KINDS), want, "{name}");
    }
}
