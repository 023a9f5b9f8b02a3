//! The numbers the analysis judges nodes by, and how a policy overrides them.
//!
//! [`Thresholds::default`] holds the values DOMAIN.md cites (etcd FAQ and alert rules, kubelet,
//! K3s). A policy's `[thresholds]` table overrides some of them for the whole fleet and a
//! group's `thresholds = { … }` overrides some again for its clusters: group over global over
//! default, merged once at parse time so a lookup is a reference. Every key is optional; an
//! unknown key is an error.
//!
//! Kinds of value in the file: durations are text such as `"500ms"`, `"6h"` or `"30d"`
//! (humantime, above zero); ratios are floats above 0 and at most 1; counts are integers of
//! at least 1. After merging, `wal_fsync_p99_warning < wal_fsync_p99_critical` and
//! `cert_critical < cert_warning < cert_renew_window` must hold.

use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use super::error::{Locator, PolicyError, Problem};

/// Serialises a duration as humantime text (`"6h"`), as the file writes it.
pub(crate) fn serialize_duration<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// A positive humantime duration, or the problem with `text`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, Problem> {
    let problem = |reason: String| Problem::Duration {
        value: text.to_owned(),
        reason,
    };
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err(problem("must be above zero".to_owned())),
        Ok(d) => Ok(d),
        Err(e) => Err(problem(e.to_string())),
    }
}

/// Largest count accepted.
const MAX_COUNT: u64 = 1 << 53;

/// Converts one raw value of a kind; `key` names it in errors.
trait Kind: Sized {
    type Raw: for<'de> Deserialize<'de>;
    fn convert(key: &'static str, raw: &Self::Raw) -> Result<Self, Problem>;
}

impl Kind for Duration {
    type Raw = String;
    fn convert(_: &'static str, raw: &String) -> Result<Self, Problem> {
        parse_duration(raw)
    }
}

impl Kind for f64 {
    type Raw = f64;
    fn convert(key: &'static str, raw: &f64) -> Result<Self, Problem> {
        if *raw > 0.0 && *raw <= 1.0 {
            Ok(*raw)
        } else {
            Err(Problem::Ratio { key, value: *raw })
        }
    }
}

impl Kind for u64 {
    type Raw = i64;
    fn convert(key: &'static str, raw: &i64) -> Result<Self, Problem> {
        u64::try_from(*raw)
            .ok()
            .filter(|v| (1..=MAX_COUNT).contains(v))
            .ok_or(Problem::Integer {
                key,
                value: *raw,
                min: 1,
                max: MAX_COUNT,
            })
    }
}

macro_rules! thresholds {
    ($( $(#[doc = $doc:literal])* $name:ident: $ty:ty = $default:expr, $ser:literal; )*) => {
        /// Analysis thresholds, merged for one group (or the fleet). Defaults cite DOMAIN.md.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct Thresholds {
            $( $(#[doc = $doc])* #[serde(serialize_with = $ser)] pub $name: $ty, )*
        }

        impl Default for Thresholds {
            fn default() -> Self {
                Self { $( $name: $default, )* }
            }
        }

        /// Overrides as written in `[thresholds]` or a group's `thresholds`.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct RawThresholds {
            $( $name: Option<Spanned<<$ty as Kind>::Raw>>, )*
        }

        impl RawThresholds {
            /// `base` with every value this table sets replaced, checked.
            pub(crate) fn apply(
                &self,
                base: &Thresholds,
                at: &Locator<'_>,
            ) -> Result<Thresholds, PolicyError> {
                let mut merged = base.clone();
                $(
                    if let Some(raw) = &self.$name {
                        merged.$name = <$ty as Kind>::convert(stringify!($name), raw.get_ref())
                            .map_err(|problem| at.error(raw.span(), problem))?;
                    }
                )*
                self.check_order(&merged, at)?;
                Ok(merged)
            }

            /// Span of key `name` when this table sets it.
            fn span_of(&self, name: &str) -> Option<Range<usize>> {
                $( if name == stringify!($name) {
                    return self.$name.as_ref().map(Spanned::span);
                } )*
                None
            }
        }
    };
}

thresholds! {
    /// etcd WAL fsync p99 above this is a warning (etcd alert rules: 0.5 s). Default: `500ms`.
    wal_fsync_p99_warning: Duration = Duration::from_millis(500), "serialize_duration";
    /// etcd WAL fsync p99 above this is critical (etcd alert rules: 1 s). Default: `1s`.
    wal_fsync_p99_critical: Duration = Duration::from_secs(1), "serialize_duration";
    /// etcd backend commit p99 above this is a warning (etcd alert rules: 0.25 s). Default: `250ms`.
    backend_commit_p99_warning: Duration = Duration::from_millis(250), "serialize_duration";
    /// etcd db size over `quota_backend_bytes` above this is a warning (95 %). Default: `0.95`.
    db_quota_ratio_warning: f64 = 0.95, "serialize_f64";
    /// etcd leader changes in 15 minutes at or above this are a warning. Default: `4`.
    leader_changes_15m: u64 = 4, "serialize_u64";
    /// etcd failed proposals in 15 minutes above this are a warning. Default: `5`.
    proposals_failed_15m: u64 = 5, "serialize_u64";
    /// etcd peer round-trip p99 above this is a warning (0.15 s). Default: `150ms`.
    peer_rtt_p99_warning: Duration = Duration::from_millis(150), "serialize_duration";
    /// Disk fdatasync p99 above this is too slow for etcd (etcd's fio check: 10 ms). Default: `10ms`.
    disk_fdatasync_p99_warning: Duration = Duration::from_millis(10), "serialize_duration";
    /// Leaf certificates expiring within this are renewed by K3s at its next restart
    /// (K3s: 120 days); reported as information. Default: `120d`.
    cert_renew_window: Duration = days(120), "serialize_duration";
    /// A certificate expiring within this is a warning. Default: `30d`.
    cert_warning: Duration = days(30), "serialize_duration";
    /// A certificate expiring within this is critical (kubelet certificate manager: 7 d).
    /// Default: `7d`.
    cert_critical: Duration = days(7), "serialize_duration";
    /// Clock offsets between nodes above this are a problem (etcd warns above 1 s). Default: `1s`.
    clock_skew: Duration = Duration::from_secs(1), "serialize_duration";
    /// A node is stale after this many missed report intervals. Default: `3`.
    stale_intervals: u64 = 3, "serialize_u64";
    /// PLEG is unhealthy when last seen longer ago than this (kubelet: 3 min). Default: `3m`.
    pleg_age: Duration = Duration::from_secs(180), "serialize_duration";
    /// PLEG relist p99 at or above this is a problem (kubelet: 10 s). Default: `10s`.
    pleg_relist_p99: Duration = Duration::from_secs(10), "serialize_duration";
    /// The newest etcd snapshot older than this is a problem (K3s snapshots every 12 h, plus an
    /// hour of slack). Default: `13h`.
    snapshot_max_age: Duration = Duration::from_secs(13 * 3600), "serialize_duration";
    /// kine/SQLite: current revision minus compacted revision above this means compaction is
    /// stuck (kine keeps about 1000 revisions, compacting every 5 min). Default: `100000`.
    sqlite_compaction_lag_revisions: u64 = 100_000, "serialize_u64";
    /// kine/SQLite: a `state.db-wal` larger than this, in bytes, is a problem. Default:
    /// `268435456` (256 MiB).
    sqlite_wal_bytes: u64 = 256 << 20, "serialize_u64";
    /// Memory available under this fraction of capacity (above the eviction threshold) is a
    /// thin margin. Default: `0.05`.
    memory_margin_thin: f64 = 0.05, "serialize_f64";
    /// Disk fdatasync p99 above this is critical: an order of magnitude beyond what etcd needs
    /// (SD cards land here). Default: `100ms`.
    disk_fdatasync_p99_critical: Duration = Duration::from_millis(100), "serialize_duration";
    /// A kubelet certificate-manager TTL under this is a warning (DOMAIN.md §1: 7 d).
    /// Default: `7d`.
    kubelet_cert_ttl_warning: Duration = days(7), "serialize_duration";
    /// A kubelet certificate-manager TTL under this is critical (DOMAIN.md §1: 1 d).
    /// Default: `1d`.
    kubelet_cert_ttl_critical: Duration = days(1), "serialize_duration";
    /// io PSI `some avg60` (share of the last minute some task stalled on I/O) at or above
    /// this is a warning. Default: `0.2`.
    io_some_avg60_warning: f64 = 0.2, "serialize_f64";
    /// io PSI `full avg60` (share of the last minute every task stalled on I/O) at or above
    /// this is critical. Default: `0.1`.
    io_full_avg60_critical: f64 = 0.1, "serialize_f64";
    /// etcd in-use over allocated database size below this (and more than 100 MiB in use) is
    /// fragmentation worth a defrag (etcd's `etcdDatabaseHighFragmentationRatio`: 0.5).
    /// Default: `0.5`.
    etcd_fragmented_in_use_ratio: f64 = 0.5, "serialize_f64";
}

const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

fn serialize_f64<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(*value)
}

fn serialize_u64<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(*value)
}

impl RawThresholds {
    /// The ordering rules, on merged values; the error points at the key this table set.
    fn check_order(&self, merged: &Thresholds, at: &Locator<'_>) -> Result<(), PolicyError> {
        let pairs: [(&'static str, Duration, &'static str, Duration); 3] = [
            (
                "wal_fsync_p99_warning",
                merged.wal_fsync_p99_warning,
                "wal_fsync_p99_critical",
                merged.wal_fsync_p99_critical,
            ),
            (
                "cert_critical",
                merged.cert_critical,
                "cert_warning",
                merged.cert_warning,
            ),
            (
                "cert_warning",
                merged.cert_warning,
                "cert_renew_window",
                merged.cert_renew_window,
            ),
        ];
        for (lower, lower_value, upper, upper_value) in pairs {
            if lower_value < upper_value {
                continue;
            }
            let span = self
                .span_of(lower)
                .or_else(|| self.span_of(upper))
                .unwrap_or(0..0);
            let show = |d: Duration| humantime::format_duration(d).to_string();
            return Err(at.error(
                span,
                Problem::ThresholdOrder {
                    lower,
                    lower_value: show(lower_value),
                    upper,
                    upper_value: show(upper_value),
                },
            ));
        }
        Ok(())
    }
}
