//! Maintenance windows: when upgrades may run, on local wall-clock time in an IANA time zone.
//!
//! **Occurrences.** A window opens on each listed day at `start` and closes at the next `end`:
//! the same day when `end` is later, else the next day (it wraps past midnight), and
//! `end = "24:00"` means the following midnight. A Monday–Friday `22:00`–`02:00` window is
//! open Monday 22:00 to Tuesday 02:00, …, Friday 22:00 to Saturday 02:00, and not on Monday
//! 00:00–02:00. Occurrences are half-open: open at `start`, closed at `end`.
//!
//! **Daylight saving.** Local times become instants with jiff's "compatible" rule (as
//! RFC 5545 and Temporal do). On a spring-forward day a time in the gap is moved forward by the
//! gap: in Europe/Berlin on the last Sunday of March a 02:30 start opens at 03:30 CEST (01:30
//! UTC), and a 02:00–03:00 window does not open at all that day (both ends are 03:00 CEST).
//! On a fall-back day a repeated time means its first occurrence: a 02:30 start opens at
//! 02:30 CEST, and a 01:00–05:00 window lasts five hours. The instants follow the zone's rules
//! in the tz database bundled with the aggregator, so every host computes the same windows.
//!
//! **Rancher system-upgrade-controller export.** [`Window::suc_days`], [`Window::start`],
//! [`Window::end`] and [`Window::time_zone`] give the Plan's
//! `window: {days, startTime, endTime, timeZone}`. The controller judges a window with kured's
//! `timewindow` package, which checks the weekday of the current instant, not the day an
//! occurrence opened, and only its newer versions wrap past midnight at all. A window without
//! wrap exports exactly; for one that wraps ([`Window::wraps_midnight`]) the controller opens
//! after midnight on listed days instead of on the days after them (or never, on old versions),
//! so the exporter should say so. Go cannot parse `24:00`: [`Window::suc_end`] gives `23:59`,
//! which kured treats as inclusive to the end of that minute.

use edgeward_proto::UnixMillis;
use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use super::error::{Locator, PolicyError, Problem};

/// Minutes in a day; `end = "24:00"` is this.
const DAY_MINUTES: u16 = 24 * 60;
/// Days searched ahead for the next occurrence: a week plus slack for a skipped occurrence.
const SEARCH_DAYS: usize = 15;

/// Days in the order the file and the export write them, with their names.
const DAYS: [(Weekday, &str, &str); 7] = [
    (Weekday::Monday, "mon", "monday"),
    (Weekday::Tuesday, "tue", "tuesday"),
    (Weekday::Wednesday, "wed", "wednesday"),
    (Weekday::Thursday, "thu", "thursday"),
    (Weekday::Friday, "fri", "friday"),
    (Weekday::Saturday, "sat", "saturday"),
    (Weekday::Sunday, "sun", "sunday"),
];

/// A named, recurring maintenance window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    name: String,
    /// Indexed Monday = 0.
    days: [bool; 7],
    /// Minutes after local midnight, `0..1440`.
    start: u16,
    /// Minutes after local midnight, `1..=1440`.
    end: u16,
    /// The canonical IANA name.
    time_zone: String,
    tz: TimeZone,
}

impl Window {
    /// The window's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The days an occurrence starts on, as three-letter lowercase names (`mon`…`sun`).
    pub fn days(&self) -> Vec<&'static str> {
        self.listed().map(|(_, short, _)| *short).collect()
    }

    /// The days as full lowercase names (`monday`…), as system-upgrade-controller Plans
    /// write them.
    pub fn suc_days(&self) -> Vec<&'static str> {
        self.listed().map(|(_, _, long)| *long).collect()
    }

    /// Local opening time, `HH:MM`.
    pub fn start(&self) -> String {
        hhmm(self.start)
    }

    /// Local closing time, `HH:MM` (`24:00` for midnight at the end of the day).
    pub fn end(&self) -> String {
        hhmm(self.end)
    }

    /// The closing time for a system-upgrade-controller Plan: [`Window::end`], except `23:59`
    /// for `24:00`, which Go does not parse.
    pub fn suc_end(&self) -> String {
        hhmm(self.end.min(DAY_MINUTES - 1))
    }

    /// The IANA time zone name.
    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }

    /// Whether an occurrence closes on the day after it opens (`end` before `start`).
    pub fn wraps_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Whether instant `at` is inside an occurrence. `false` for instants jiff cannot
    /// represent (beyond the years -9999..=9999).
    pub fn contains(&self, at: UnixMillis) -> bool {
        self.next_open(at).is_some_and(|(start, _)| start <= at)
    }

    /// The occurrence open at `at`, else the next one, as `(start, end)` instants; `None` when
    /// none opens within two weeks (only for instants jiff cannot represent).
    pub fn next_open(&self, at: UnixMillis) -> Option<(UnixMillis, UnixMillis)> {
        let now = Timestamp::from_millisecond(at.0).ok()?;
        let today = now.to_zoned(self.tz.clone()).date();
        // An occurrence that opened yesterday may still be open.
        let mut day = today.yesterday().unwrap_or(today);
        for _ in 0..SEARCH_DAYS {
            if let Some((start, end)) = self.occurrence(day)
                && end > now
            {
                return Some((millis(start), millis(end)));
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The occurrence opening on local date `day`: `None` when `day` is not listed, when
    /// daylight saving leaves it empty, or past jiff's range.
    fn occurrence(&self, day: Date) -> Option<(Timestamp, Timestamp)> {
        let index = day.weekday().to_monday_zero_offset();
        if !self.days.get(usize::try_from(index).ok()?).copied()? {
            return None;
        }
        let start = self.instant(day, self.start)?;
        let end_day = if self.end == DAY_MINUTES || self.wraps_midnight() {
            day.tomorrow().ok()?
        } else {
            day
        };
        let end = self.instant(end_day, self.end % DAY_MINUTES)?;
        (start < end).then_some((start, end))
    }

    /// Local `minutes` after midnight of `day`, as an instant (compatible disambiguation).
    fn instant(&self, day: Date, minutes: u16) -> Option<Timestamp> {
        let hour = i8::try_from(minutes / 60).ok()?;
        let minute = i8::try_from(minutes % 60).ok()?;
        let local = day.at(hour, minute, 0, 0);
        self.tz.to_ambiguous_timestamp(local).compatible().ok()
    }

    fn listed(&self) -> impl Iterator<Item = &(Weekday, &'static str, &'static str)> {
        DAYS.iter()
            .zip(self.days)
            .filter_map(|(day, on)| on.then_some(day))
    }
}

fn millis(at: Timestamp) -> UnixMillis {
    UnixMillis(at.as_millisecond())
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `HH:MM` with two digits each, 00:00 to 23:59, or 24:00 when `allow_midnight_end`.
fn parse_hhmm(text: &str, allow_midnight_end: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let two_digits = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u16>().ok())
            .flatten()
    };
    let (h, m) = (two_digits(h)?, two_digits(m)?);
    match (h, m) {
        (24, 0) if allow_midnight_end => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Window", 5)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("days", &self.days())?;
        s.serialize_field("start", &self.start())?;
        s.serialize_field("end", &self.end())?;
        s.serialize_field("time_zone", &self.time_zone)?;
        s.end()
    }
}

/// One `[[windows]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub(crate) name: Spanned<String>,
    days: Option<Spanned<Vec<Spanned<String>>>>,
    start: Spanned<String>,
    end: Spanned<String>,
    time_zone: Spanned<String>,
}

impl RawWindow {
    /// Validates the entry; the name was checked by the caller.
    pub(crate) fn build(&self, at: &Locator<'_>) -> Result<Window, PolicyError> {
        let days = match &self.days {
            None => [true; 7],
            Some(list) if list.get_ref().is_empty() => {
                return Err(at.error(list.span(), Problem::Empty { what: "days" }));
            }
            Some(list) => {
                let mut days = [false; 7];
                for day in list.get_ref() {
                    let text = day.get_ref().to_ascii_lowercase();
                    let index = DAYS
                        .iter()
                        .position(|(_, short, long)| text == *short || text == *long)
                        .ok_or_else(|| {
                            let value = day.get_ref().clone();
                            at.error(day.span(), Problem::Day { value })
                        })?;
                    days[index] = true;
                }
                days
            }
        };
        let time = |raw: &Spanned<String>, allow_midnight_end| {
            parse_hhmm(raw.get_ref(), allow_midnight_end).ok_or_else(|| {
                let value = raw.get_ref().clone();
                at.error(raw.span(), Problem::Time { value })
            })
        };
        let start = time(&self.start, false)?;
        let end = time(&self.end, true)?;
        if start == end {
            let value = hhmm(start);
            return Err(at.error(self.end.span(), Problem::EmptyWindow { value }));
        }
        let name = self.time_zone.get_ref();
        let tz = TimeZone::get(name).map_err(|_| {
            let problem = Problem::UnknownTimeZone { name: name.clone() };
            at.error(self.time_zone.span(), problem)
        })?;
        let time_zone = tz.iana_name().unwrap_or(name).to_owned();
        Ok(Window {
            name: self.name.get_ref().clone(),
            days,
            start,
            end,
            time_zone,
            tz,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_two_digit_hours_and_minutes() {
        assert_eq!(parse_hhmm("00:00", false), Some(0));
        assert_eq!(parse_hhmm("23:59", false), Some(1439));
        assert_eq!(parse_hhmm("24:00", true), Some(1440));
        for bad in [
            "24:00",
            "25:00",
            "1:00",
            "01:60",
            "0100",
            "01:00:00",
            "",
            "+1:00",
            "٠١:٠٠",
        ] {
            assert_eq!(parse_hhmm(bad, false), None, "{bad:?}");
        }
        assert_eq!(parse_hhmm("24:01", true), None);
    }
}
