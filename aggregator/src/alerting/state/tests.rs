//! Scenario tables for the alert state machine: each step is a time, an operation and what
//! `due` must return there.

use std::collections::BTreeMap;
use std::time::Duration;

use edgeward_proto::UnixMillis;

use super::*;

const RESEND: i64 = 60_000;

/// `"a"` is the alert named `a`; `"a:2"` is the same alert (same labels) with other evidence.
fn alert(spec: &str) -> Alert {
    let (name, evidence) = spec.split_once(':').unwrap_or((spec, "1"));
    Alert {
        labels: [("alertname".to_owned(), name.to_owned())].into(),
        annotations: [("evidence".to_owned(), evidence.to_owned())].into(),
        starts_at: UnixMillis(0),
        generator_url: None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// The analysis says these alerts fire.
    Set(&'static [&'static str]),
    /// `due` returns exactly these, and the push is accepted. `"a"` = `a` active (with
    /// `endsAt` = now + 4 × resend); `"a@t"` = `a` resolved at `t`.
    PushOk(&'static [&'static str]),
    /// As `PushOk`, but no Alertmanager accepts the push.
    PushFails(&'static [&'static str]),
    /// `due` returns nothing.
    NothingDue,
}

fn render(push: &Push, now: i64) -> Vec<String> {
    let mut sent: Vec<String> = push
        .alerts()
        .iter()
        .map(|p| {
            let name = &p.alert.labels["alertname"];
            if p.ends_at.0 > now {
                assert_eq!(p.ends_at.0, now + 4 * RESEND, "{name} active");
                name.clone()
            } else {
                format!("{name}@{}", p.ends_at.0)
            }
        })
        .collect();
    sent.sort();
    sent
}

fn run(name: &str, steps: &[(i64, Op)]) -> AlertState {
    let mut state = AlertState::new(Policy::new(Duration::from_millis(60_000)));
    for (i, &(at, op)) in steps.iter().enumerate() {
        let now = UnixMillis(at);
        let context = format!("{name}, step {i} at {at}: {op:?}");
        match op {
            Op::Set(specs) => {
                let firing: Vec<Alert> = specs.iter().map(|s| alert(s)).collect();
                let report = state.update(&firing, now);
                assert_eq!(report, UpdateReport::default(), "{context}");
            }
            Op::NothingDue => assert_eq!(state.due(now), None, "{context}"),
            Op::PushOk(want) | Op::PushFails(want) => {
                let push = state
                    .due(now)
                    .unwrap_or_else(|| panic!("{context}: nothing due"));
                assert_eq!(render(&push, at), want.to_vec(), "{context}");
                if matches!(op, Op::PushOk(_)) {
                    state.delivered(&push, now);
                } else {
                    state.failed(now);
                }
            }
        }
    }
    state
}

#[test]
fn scenarios() {
    use Op::*;
    let table: &[(&str, &[(i64, Op)])] = &[
        (
            "a new alert is sent at once, then again only after the resend interval",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (1_000, NothingDue),
                (59_999, NothingDue),
                (60_000, PushOk(&["a"])),
                (60_001, NothingDue),
            ],
        ),
        (
            "a change of the active set is sent at once, with every active alert",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (10, Set(&["a", "b"])),
                (10, PushOk(&["a", "b"])),
                (20, Set(&["a", "b"])),
                (20, NothingDue),
            ],
        ),
        (
            "changed evidence is a change; the same evidence again is not",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (10, Set(&["a:2"])),
                (10, PushOk(&["a"])),
                (20, Set(&["a:2"])),
                (20, NothingDue),
            ],
        ),
        (
            "a gone alert resolves at the update and rides along three successful pushes",
            &[
                (0, Set(&["a", "b"])),
                (0, PushOk(&["a", "b"])),
                (5_000, Set(&["b"])),
                (5_000, PushOk(&["a@5000", "b"])),
                (6_000, NothingDue),
                (65_000, PushOk(&["a@5000", "b"])),
                (125_000, PushOk(&["a@5000", "b"])),
                (185_000, PushOk(&["b"])),
            ],
        ),
        (
            "a resolve with nothing else active is re-sent on its own, then nothing is due",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (10, Set(&[])),
                (10, PushOk(&["a@10"])),
                (60_010, PushOk(&["a@10"])),
                (120_010, PushOk(&["a@10"])),
                (180_010, NothingDue),
                (999_999, NothingDue),
            ],
        ),
        (
            "while Alertmanager is down nothing is lost and failures do not count as deliveries",
            &[
                (0, Set(&["a", "b"])),
                (0, PushFails(&["a", "b"])),
                (100, PushFails(&["a", "b"])),
                (200, Set(&["a"])),
                (200, PushFails(&["a", "b@200"])),
                (300, Set(&["a", "c"])),
                (300, PushOk(&["a", "b@200", "c"])),
                (400, NothingDue),
                (60_300, PushFails(&["a", "b@200", "c"])),
                (60_400, PushOk(&["a", "b@200", "c"])),
                (120_400, PushOk(&["a", "b@200", "c"])),
                (180_400, PushOk(&["a", "c"])),
            ],
        ),
        (
            "a failure does not move the resend clock",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (60_000, PushFails(&["a"])),
                (60_001, PushOk(&["a"])),
                (60_002, NothingDue),
            ],
        ),
        (
            "an alert firing again cancels its delivered resolve",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (10, Set(&[])),
                (10, PushOk(&["a@10"])),
                (20, Set(&["a"])),
                (20, PushOk(&["a"])),
                (60_020, PushOk(&["a"])),
            ],
        ),
        (
            "an alert firing again cancels its resolve that never got through",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (10, Set(&[])),
                (10, PushFails(&["a@10"])),
                (20, Set(&["a"])),
                (20, PushOk(&["a"])),
            ],
        ),
        (
            "an alert resolving twice is resolved at the second time only",
            &[
                (0, Set(&["a"])),
                (0, PushOk(&["a"])),
                (10, Set(&[])),
                (20, Set(&["a"])),
                (30, Set(&[])),
                (30, PushOk(&["a@30"])),
            ],
        ),
        (
            "a clock set back re-sends at once rather than waiting for it to catch up",
            &[
                (1_000_000, Set(&["a"])),
                (1_000_000, PushOk(&["a"])),
                (1_000_001, NothingDue),
                (500_000, PushOk(&["a"])),
                (500_001, NothingDue),
            ],
        ),
        (
            "with nothing firing nothing is ever due",
            &[
                (0, NothingDue),
                (0, Set(&[])),
                (0, NothingDue),
                (10_000_000, NothingDue),
            ],
        ),
    ];
    for (name, steps) in table {
        run(name, steps);
    }
}

#[test]
fn stats_count_pushes_and_gauge_the_sets() {
    let state = run(
        "stats",
        &[
            (0, Op::Set(&["a", "b"])),
            (0, Op::PushFails(&["a", "b"])),
            (5, Op::Set(&["a"])),
            (7, Op::PushOk(&["a", "b@5"])),
        ],
    );
    assert_eq!(
        state.stats(),
        AlertingStats {
            active: 1,
            pending_resolves: 1,
            rejected: 0,
            pushes_ok: 1,
            pushes_failed: 1,
            dropped_resolves: 0,
            last_success: Some(UnixMillis(7)),
            last_failure: Some(UnixMillis(0)),
        }
    );
}

#[test]
fn next_due_says_when_to_wake() {
    let mut state = AlertState::new(Policy::new(Duration::from_secs(60)));
    assert_eq!(state.next_due(UnixMillis(0)), None);
    state.update(&[alert("a")], UnixMillis(0));
    assert_eq!(state.next_due(UnixMillis(5)), Some(UnixMillis(5)));
    let push = state.due(UnixMillis(5)).unwrap();
    state.failed(UnixMillis(5));
    assert_eq!(state.next_due(UnixMillis(9)), Some(UnixMillis(9)));
    state.delivered(&push, UnixMillis(10));
    assert_eq!(state.next_due(UnixMillis(11)), Some(UnixMillis(60_010)));
}

#[test]
fn a_change_during_a_push_is_still_sent_after_it_succeeds() {
    let mut state = AlertState::new(Policy::new(Duration::from_secs(60)));
    state.update(&[alert("a")], UnixMillis(0));
    let push = state.due(UnixMillis(0)).unwrap();
    state.update(&[alert("a"), alert("b")], UnixMillis(1));
    state.delivered(&push, UnixMillis(2));
    let next = state.due(UnixMillis(3)).expect("b not sent yet");
    assert_eq!(render(&next, 3), ["a", "b"]);
}

#[test]
fn a_push_made_before_a_re_resolve_does_not_count_for_the_new_resolve() {
    let policy = Policy {
        resolve_deliveries: 1,
        ..Policy::new(Duration::from_secs(60))
    };
    let mut state = AlertState::new(policy);
    state.update(&[alert("a")], UnixMillis(0));
    state.update(&[], UnixMillis(10));
    let stale = state.due(UnixMillis(10)).unwrap();
    state.update(&[alert("a")], UnixMillis(20));
    state.update(&[], UnixMillis(30));
    state.delivered(&stale, UnixMillis(40));
    assert_eq!(state.stats().pending_resolves, 1);
    let push = state.due(UnixMillis(41)).unwrap();
    assert_eq!(render(&push, 41), ["a@30"]);
}

#[test]
fn when_the_resolve_bound_is_reached_the_oldest_are_dropped_and_counted() {
    let policy = Policy {
        max_pending_resolves: 2,
        ..Policy::new(Duration::from_secs(60))
    };
    let mut state = AlertState::new(policy);
    state.update(&[alert("a"), alert("b")], UnixMillis(0));
    state.update(&[alert("b")], UnixMillis(1)); // a resolves first
    state.update(&[alert("c"), alert("d")], UnixMillis(2)); // then b
    let report = state.update(&[], UnixMillis(3)); // then c and d: four, bound two
    let names = |labels: &[Labels]| -> Vec<String> {
        labels.iter().map(|l| l["alertname"].clone()).collect()
    };
    assert_eq!(names(&report.dropped_resolves), ["a", "b"]);
    assert_eq!(state.stats().dropped_resolves, 2);
    assert_eq!(state.stats().pending_resolves, 2);
    let push = state.due(UnixMillis(4)).unwrap();
    assert_eq!(render(&push, 4), ["c@3", "d@3"]);
}

#[test]
fn a_refused_alert_is_reported_once_never_sent_and_does_not_block_others() {
    let mut state = AlertState::new(Policy::new(Duration::from_secs(60)));
    let mut bad = alert("bad");
    bad.labels.insert("no-dashes".into(), "x".into());
    let firing = [alert("a"), bad.clone()];
    let report = state.update(&firing, UnixMillis(0));
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert!(matches!(
        report.rejected[0].1,
        InvalidAlert::LabelName { ref name } if name == "no-dashes"
    ));
    assert_eq!(
        state.update(&firing, UnixMillis(1)),
        UpdateReport::default()
    );
    assert_eq!(state.stats().rejected, 1);
    let push = state.due(UnixMillis(2)).unwrap();
    assert_eq!(render(&push, 2), ["a"]);
    state.update(&[alert("a")], UnixMillis(3));
    assert_eq!(state.stats().rejected, 0);
    assert_eq!(state.update(&firing, UnixMillis(4)).rejected.len(), 1);
}

#[test]
fn labels_with_empty_values_do_not_split_an_alert_in_two() {
    let mut state = AlertState::new(Policy::new(Duration::from_secs(60)));
    let mut with_empty = alert("a");
    with_empty.labels.insert("team".into(), String::new());
    state.update(&[alert("a")], UnixMillis(0));
    let push = state.due(UnixMillis(0)).unwrap();
    state.delivered(&push, UnixMillis(0));
    state.update(&[with_empty], UnixMillis(1));
    assert_eq!(state.due(UnixMillis(2)), None);
    let labels: Labels = BTreeMap::from([("alertname".into(), "a".into())]);
    assert_eq!(state.active.keys().collect::<Vec<_>>(), [&labels]);
}

#[test]
fn undelivered_resolves_are_known_for_a_last_attempt_at_shutdown() {
    let mut state = AlertState::new(Policy::new(Duration::from_secs(60)));
    state.update(&[alert("a")], UnixMillis(0));
    assert!(!state.has_undelivered_resolves());
    state.update(&[], UnixMillis(1));
    assert!(state.has_undelivered_resolves());
    let push = state.due(UnixMillis(2)).unwrap();
    state.delivered(&push, UnixMillis(2));
    assert!(!state.has_undelivered_resolves());
}
