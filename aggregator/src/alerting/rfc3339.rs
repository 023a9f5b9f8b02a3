//! [`UnixMillis`] as the RFC 3339 UTC timestamps Alertmanager's API takes and returns:
//! `2026-11-21T10:00:00.000Z`, always millisecond precision, always `Z`.
//!
//! Exact integer arithmetic (Howard Hinnant's `civil_from_days`), no calendar crate. RFC 3339
//! has four-digit years only, so instants outside years 0000–9999 are clamped to
//! `0000-01-01T00:00:00.000Z` / `9999-12-31T23:59:59.999Z` (Alertmanager accepts both ends,
//! checked against 0.25). Invariant: [`format()`] never panics, for every `i64`.

use edgeward_proto::UnixMillis;

/// `0000-01-01T00:00:00.000Z` in milliseconds since the epoch.
pub const MIN_MILLIS: i64 = -62_167_219_200_000;
/// `9999-12-31T23:59:59.999Z` in milliseconds since the epoch.
pub const MAX_MILLIS: i64 = 253_402_300_799_999;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Formats `t` as `YYYY-MM-DDThh:mm:ss.mmmZ`, clamped to years 0000–9999.
pub fn format(t: UnixMillis) -> String {
    let ms = t.0.clamp(MIN_MILLIS, MAX_MILLIS);
    let days = ms.div_euclid(MILLIS_PER_DAY);
    let in_day = ms.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let hour = in_day / 3_600_000;
    let minute = in_day / 60_000 % 60;
    let second = in_day / 1000 % 60;
    let milli = in_day % 1000;
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Proleptic Gregorian (year, month 1–12, day 1–31) of `days` since 1970-01-01.
///
/// Exact for |days| up to ~2^60; [`format()`] passes at most ~3 million.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Shift the epoch to 0000-03-01 so that the leap day ends each 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The inverse, written independently (the usual days-before-month table), to check
    /// [`civil_from_days`] against.
    fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let mut days = 0;
        if year >= 1970 {
            for y in 1970..year {
                days += if leap(y) { 366 } else { 365 };
            }
        } else {
            for y in year..1970 {
                days -= if leap(y) { 366 } else { 365 };
            }
        }
        let month_index = usize::try_from(month - 1).unwrap();
        days += BEFORE[month_index] + i64::from(month > 2 && leap(year));
        days + day - 1
    }

    #[test]
    fn known_instants_format_exactly() {
        let table = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_795_255_200_000, "2026-11-21T10:00:00.000Z"),
            (1_795_255_200_007, "2026-11-21T10:00:00.007Z"),
            (1_795_255_199_999, "2026-11-21T09:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"), // divisible by 400: leap
            (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
            (1_709_251_200_000, "2024-03-01T00:00:00.000Z"),
            (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"), // 1900: no Feb 29
            (-1, "1969-12-31T23:59:59.999Z"),
            (-86_400_000, "1969-12-31T00:00:00.000Z"),
            (MIN_MILLIS, "0000-01-01T00:00:00.000Z"),
            (MAX_MILLIS, "9999-12-31T23:59:59.999Z"),
        ];
        for (ms, want) in table {
            assert_eq!(format(UnixMillis(ms)), want, "{ms}");
        }
    }

    #[test]
    fn instants_beyond_four_digit_years_are_clamped_not_panicking() {
        for ms in [i64::MIN, i64::MIN + 1, MIN_MILLIS - 1, -1 << 60] {
            assert_eq!(format(UnixMillis(ms)), "0000-01-01T00:00:00.000Z", "{ms}");
        }
        for ms in [i64::MAX, i64::MAX - 1, MAX_MILLIS + 1, 1 << 60] {
            assert_eq!(format(UnixMillis(ms)), "9999-12-31T23:59:59.999Z", "{ms}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips_through_the_independent_inverse() {
        // 1900..2300 covers every leap rule (÷4, ÷100, ÷400) on both sides of the epoch.
        let start = days_from_civil(1900, 1, 1);
        let end = days_from_civil(2300, 1, 1);
        let mut previous = None;
        for days in start..end {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{days}");
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            assert_ne!(previous, Some((y, m, d)));
            previous = Some((y, m, d));
        }
    }

    proptest! {
        #[test]
        fn any_instant_formats_to_a_well_formed_timestamp(ms in any::<i64>()) {
            let text = format(UnixMillis(ms));
            prop_assert_eq!(text.len(), 24, "{}", text);
            prop_assert!(text.ends_with('Z'));
            let clamped = ms.clamp(MIN_MILLIS, MAX_MILLIS);
            let (date, time) = text.split_at(10);
            let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
            let days = days_from_civil(parts[0], parts[1], parts[2]);
            let hms: Vec<i64> = time[1..13]
                .split([':', '.'])
                .map(|p| p.parse().unwrap())
                .collect();
            let back = days * MILLIS_PER_DAY
                + hms[0] * 3_600_000
                + hms[1] * 60_000
                + hms[2] * 1000
                + hms[3];
            prop_assert_eq!(back, clamped);
        }
    }
}
