//! Maintenance windows: inside and outside, wrapping past midnight, time zones, daylight
//! saving changes in Europe/Berlin, and a group's window state.

use proptest::prelude::*;

use super::*;
use crate::policy::{Window, WindowState};

/// A policy with one window `w`.
fn window(days: &str, start: &str, end: &str, zone: &str) -> Window {
    let days = if days.is_empty() {
        String::new()
    } else {
        format!("days = {days}\n")
    };
    let p = policy(&format!(
        "[[windows]]\nname = \"w\"\n{days}start = \"{start}\"\nend = \"{end}\"\n\
         time_zone = \"{zone}\"\n"
    ));
    p.window("w").expect("window w").clone()
}

/// `(start, end)` from two RFC 3339 instants.
fn span(start: &str, end: &str) -> Option<(UnixMillis, UnixMillis)> {
    Some((at(start), at(end)))
}

#[test]
fn weekday_window_is_open_between_start_and_end_local_time() {
    // 2025-01-15 is a Wednesday; Berlin is at +01:00 in January.
    let w = window(
        r#"["mon","tue","wed","thu","fri"]"#,
        "01:00",
        "05:00",
        "Europe/Berlin",
    );
    assert!(
        w.contains(at("2025-01-15T00:00:00Z")),
        "opens at 01:00 local"
    );
    assert!(w.contains(at("2025-01-15T03:59:59Z")));
    assert!(
        !w.contains(at("2025-01-15T04:00:00Z")),
        "closed at 05:00 local"
    );
    assert!(!w.contains(at("2025-01-14T23:59:59Z")));
    assert!(
        !w.contains(at("2025-01-18T01:00:00Z")),
        "Saturday is not listed"
    );
    assert_eq!(
        w.next_open(at("2025-01-17T12:00:00Z")),
        span("2025-01-20T00:00:00Z", "2025-01-20T04:00:00Z"),
        "Friday afternoon: next is Monday night"
    );
}

#[test]
fn window_wrapping_midnight_belongs_to_the_day_it_opens() {
    // 2025-01-17 is a Friday.
    let w = window(r#"["fri"]"#, "22:00", "02:00", "UTC");
    assert!(w.wraps_midnight());
    assert!(w.contains(at("2025-01-17T23:00:00Z")));
    assert!(
        w.contains(at("2025-01-18T01:59:00Z")),
        "Saturday early: Friday's occurrence"
    );
    assert!(!w.contains(at("2025-01-18T02:00:00Z")));
    assert!(
        !w.contains(at("2025-01-17T01:00:00Z")),
        "Friday early: Thursday's, not listed"
    );
    assert!(!w.contains(at("2025-01-18T22:30:00Z")));
    assert_eq!(
        w.next_open(at("2025-01-18T01:00:00Z")),
        span("2025-01-17T22:00:00Z", "2025-01-18T02:00:00Z"),
        "the open occurrence is current"
    );
    assert_eq!(
        w.next_open(at("2025-01-18T03:00:00Z")),
        span("2025-01-24T22:00:00Z", "2025-01-25T02:00:00Z")
    );
}

#[test]
fn same_local_window_opens_at_different_instants_per_time_zone() {
    let new_york = window("", "09:00", "17:00", "America/New_York");
    let utc = window("", "09:00", "17:00", "UTC");
    // Winter, EST (-05:00).
    for (instant, ny, u) in [
        ("2025-01-15T10:00:00Z", false, true),
        ("2025-01-15T15:00:00Z", true, true),
        ("2025-01-15T20:00:00Z", true, false),
    ] {
        assert_eq!(new_york.contains(at(instant)), ny, "New York at {instant}");
        assert_eq!(utc.contains(at(instant)), u, "UTC at {instant}");
    }
    assert_eq!(
        new_york.next_open(at("2025-01-15T10:00:00Z")),
        span("2025-01-15T14:00:00Z", "2025-01-15T22:00:00Z")
    );
    // Summer, EDT (-04:00).
    assert_eq!(
        new_york.next_open(at("2025-07-15T12:00:00Z")),
        span("2025-07-15T13:00:00Z", "2025-07-15T21:00:00Z")
    );
}

#[test]
fn start_inside_the_spring_forward_gap_opens_when_the_clock_jumps() {
    // Berlin, 2025-03-30: 02:00 CET jumps to 03:00 CEST.
    let w = window("", "02:30", "04:00", "Europe/Berlin");
    assert_eq!(
        w.next_open(at("2025-03-29T00:00:00Z")),
        span("2025-03-29T01:30:00Z", "2025-03-29T03:00:00Z"),
        "the day before, CET"
    );
    assert_eq!(
        w.next_open(at("2025-03-30T00:00:00Z")),
        span("2025-03-30T01:30:00Z", "2025-03-30T02:00:00Z"),
        "02:30 does not exist: opens at 03:30 CEST, half an hour before 04:00 CEST"
    );
    assert_eq!(
        w.next_open(at("2025-03-30T03:00:00Z")),
        span("2025-03-31T00:30:00Z", "2025-03-31T02:00:00Z"),
        "the day after, CEST"
    );
}

#[test]
fn window_entirely_inside_the_spring_forward_gap_is_skipped_that_day() {
    let w = window("", "02:00", "03:00", "Europe/Berlin");
    assert!(!w.contains(at("2025-03-30T01:00:00Z")));
    assert_eq!(
        w.next_open(at("2025-03-29T23:00:00Z")),
        span("2025-03-31T00:00:00Z", "2025-03-31T01:00:00Z")
    );
    let night = window("", "01:00", "05:00", "Europe/Berlin");
    assert_eq!(
        night.next_open(at("2025-03-29T23:30:00Z")),
        span("2025-03-30T00:00:00Z", "2025-03-30T03:00:00Z"),
        "three real hours on the short night"
    );
}

#[test]
fn fall_back_night_is_an_hour_longer_and_repeated_times_mean_the_first() {
    // Berlin, 2025-10-26: 03:00 CEST falls back to 02:00 CET.
    let night = window("", "01:00", "05:00", "Europe/Berlin");
    assert_eq!(
        night.next_open(at("2025-10-25T22:00:00Z")),
        span("2025-10-25T23:00:00Z", "2025-10-26T04:00:00Z"),
        "five real hours on the long night"
    );
    let w = window("", "02:30", "04:00", "Europe/Berlin");
    assert_eq!(
        w.next_open(at("2025-10-25T22:00:00Z")),
        span("2025-10-26T00:30:00Z", "2025-10-26T03:00:00Z"),
        "02:30 happens twice: the first, CEST"
    );
    assert!(
        w.contains(at("2025-10-26T01:15:00Z")),
        "02:15 CET, the second pass"
    );
}

#[test]
fn midnight_end_keeps_the_whole_day() {
    // 2025-01-19 is a Sunday.
    let w = window(r#"["sun"]"#, "00:00", "24:00", "UTC");
    assert!(!w.wraps_midnight());
    assert!(w.contains(at("2025-01-19T00:00:00Z")));
    assert!(w.contains(at("2025-01-19T23:59:59Z")));
    assert!(!w.contains(at("2025-01-20T00:00:00Z")));
    assert_eq!(w.end(), "24:00");
    assert_eq!(w.suc_end(), "23:59");
}

#[test]
fn export_fields_fit_a_system_upgrade_controller_plan() {
    let w = window(r#"["Mon", "friday"]"#, "22:00", "02:00", "europe/berlin");
    assert_eq!(w.days(), ["mon", "fri"]);
    assert_eq!(w.suc_days(), ["monday", "friday"]);
    assert_eq!(
        (w.start(), w.end()),
        ("22:00".to_owned(), "02:00".to_owned())
    );
    assert_eq!(w.suc_end(), "02:00");
    assert_eq!(w.time_zone(), "Europe/Berlin", "canonical IANA spelling");
}

#[test]
fn group_window_state_is_unrestricted_open_closed_or_frozen() {
    let p = policy(
        r#"
[[windows]]
name = "early"
start = "01:00"
end = "03:00"
time_zone = "UTC"

[[windows]]
name = "late"
start = "02:00"
end = "06:00"
time_zone = "UTC"

[[groups]]
name = "both"
match_labels = { a = "b" }
windows = ["early", "late"]

[[groups]]
name = "frozen"
clusters = []
windows = []
"#,
    );
    let both = p.group("both").expect("group");
    assert_eq!(
        p.window_open(both, at("2025-01-15T02:30:00Z")),
        WindowState::Open {
            until: at("2025-01-15T06:00:00Z")
        }
    );
    assert_eq!(
        p.window_open(both, at("2025-01-15T07:00:00Z")),
        WindowState::Closed {
            next: span("2025-01-16T01:00:00Z", "2025-01-16T03:00:00Z")
        }
    );
    let frozen = p.group("frozen").expect("group");
    assert_eq!(
        p.window_open(frozen, at("2025-01-15T02:30:00Z")),
        WindowState::Closed { next: None }
    );
    assert_eq!(
        p.window_open(p.default_group(), at("2025-01-15T02:30:00Z")),
        WindowState::Unrestricted
    );
}

proptest! {
    #[test]
    fn any_instant_is_answered_without_panic_and_consistently(ms in any::<i64>()) {
        let w = window(r#"["sat"]"#, "23:30", "00:30", "Europe/Berlin");
        let now = UnixMillis(ms);
        let next = w.next_open(now);
        prop_assert_eq!(w.contains(now), next.is_some_and(|(s, _)| s <= now));
        if let Some((start, end)) = next {
            prop_assert!(start < end && end > now);
        }
    }
}
