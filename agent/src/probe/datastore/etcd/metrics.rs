//! [`EtcdMetrics`] from etcd's Prometheus page (`:2381/metrics`, thresholds in DOMAIN.md §3).
//!
//! | field | metric |
//! | --- | --- |
//! | `has_leader`, `is_leader` | `etcd_server_has_leader`, `etcd_server_is_leader` (1/0) |
//! | `leader_changes` | `etcd_server_leader_changes_seen_total` |
//! | `proposals_failed`, `proposals_pending` | `etcd_server_proposals_failed_total`, `etcd_server_proposals_pending` |
//! | `db_size_bytes`, `db_size_in_use_bytes` | `etcd_mvcc_db_total_size_in_bytes`, `etcd_mvcc_db_total_size_in_use_in_bytes` |
//! | `quota_bytes` | `etcd_server_quota_backend_bytes` (etcd prints it as `2.147483648e+09`) |
//! | `wal_fsync_p99_secs` | p99 of `etcd_disk_wal_fsync_duration_seconds` |
//! | `backend_commit_p99_secs` | p99 of `etcd_disk_backend_commit_duration_seconds` |
//! | `peer_rtt_p99_secs` | the largest per-peer p99 of `etcd_network_peer_round_trip_time_seconds`, grouped by `To` |
//!
//! Quantiles are over the **histogram delta since the previous successful scrape** (the whole
//! process lifetime on the first one, or after a counter reset), so a slow disk shows up in
//! the interval it was slow, not diluted by days of fast history; `None` when no observation
//! fell into the interval (a single member has no peers). Every gauge and counter above is
//! required: a page without one is not the etcd this probe knows, and is an error rather
//! than a zero that reads as "no leader".

use std::collections::HashMap;

use edgeward_proto::datastore::EtcdMetrics;

use crate::probe::prometheus::{self, Histogram, Metrics};

const HAS_LEADER: &str = "etcd_server_has_leader";
const IS_LEADER: &str = "etcd_server_is_leader";
const LEADER_CHANGES: &str = "etcd_server_leader_changes_seen_total";
const PROPOSALS_FAILED: &str = "etcd_server_proposals_failed_total";
const PROPOSALS_PENDING: &str = "etcd_server_proposals_pending";
const DB_SIZE: &str = "etcd_mvcc_db_total_size_in_bytes";
const DB_IN_USE: &str = "etcd_mvcc_db_total_size_in_use_in_bytes";
const QUOTA: &str = "etcd_server_quota_backend_bytes";
const WAL_FSYNC: &str = "etcd_disk_wal_fsync_duration_seconds";
const BACKEND_COMMIT: &str = "etcd_disk_backend_commit_duration_seconds";
const PEER_RTT: &str = "etcd_network_peer_round_trip_time_seconds";

const SCALARS: [&str; 8] = [
    HAS_LEADER,
    IS_LEADER,
    LEADER_CHANGES,
    PROPOSALS_FAILED,
    PROPOSALS_PENDING,
    DB_SIZE,
    DB_IN_USE,
    QUOTA,
];
const HISTOGRAMS: [&str; 3] = [WAL_FSYNC, BACKEND_COMMIT, PEER_RTT];

/// Histograms of the previous successful scrape.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct History {
    wal_fsync: Option<Histogram>,
    backend_commit: Option<Histogram>,
    peers: HashMap<String, Histogram>,
}

/// Reads the page `text` against `history`, which it replaces on success only.
pub fn read(text: &str, history: &mut History) -> Result<EtcdMetrics, String> {
    let m = prometheus::parse_filtered(text, |name| {
        SCALARS.contains(&name)
            || HISTOGRAMS
                .iter()
                .any(|h| name.strip_prefix(h) == Some("_bucket"))
    })
    .map_err(|e| e.to_string())?;
    let wal_fsync = m.histogram(WAL_FSYNC);
    let backend_commit = m.histogram(BACKEND_COMMIT);
    let peers: HashMap<String, Histogram> = m.histograms_by(PEER_RTT, "To").into_iter().collect();
    let peer_rtt_p99_secs = peers
        .iter()
        .filter_map(|(peer, h)| p99(Some(h), history.peers.get(peer)))
        .reduce(f64::max);
    let out = EtcdMetrics {
        has_leader: flag(&m, HAS_LEADER)?,
        is_leader: flag(&m, IS_LEADER)?,
        leader_changes: count(&m, LEADER_CHANGES)?,
        proposals_failed: count(&m, PROPOSALS_FAILED)?,
        proposals_pending: count(&m, PROPOSALS_PENDING)?,
        db_size_bytes: count(&m, DB_SIZE)?,
        db_size_in_use_bytes: count(&m, DB_IN_USE)?,
        quota_bytes: count(&m, QUOTA)?,
        wal_fsync_p99_secs: p99(wal_fsync.as_ref(), history.wal_fsync.as_ref()),
        backend_commit_p99_secs: p99(backend_commit.as_ref(), history.backend_commit.as_ref()),
        peer_rtt_p99_secs,
    };
    *history = History {
        wal_fsync,
        backend_commit,
        peers,
    };
    Ok(out)
}

/// p99 of `now` over the delta since `before` (all of `now` when there is no `before`).
fn p99(now: Option<&Histogram>, before: Option<&Histogram>) -> Option<f64> {
    let now = now?;
    let delta = match before {
        Some(before) => now.since(before),
        None => now.clone(),
    };
    delta.quantile(0.99).filter(|q| q.is_finite())
}

fn count(m: &Metrics<'_>, name: &str) -> Result<u64, String> {
    let v = m.value(name).ok_or_else(|| format!("{name} missing"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{name} is {v}, not a count"));
    }
    // Saturating: a float beyond u64 becomes u64::MAX.
    Ok(v as u64)
}

fn flag(m: &Metrics<'_>, name: &str) -> Result<bool, String> {
    let v = m.value(name).ok_or_else(|| format!("{name} missing"))?;
    if v == 1.0 {
        Ok(true)
    } else if v == 0.0 {
        Ok(false)
    } else {
        Err(format!("{name} is {v}, not 0 or 1"))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Lines as etcd 3.4.23 prints them (a 3-member cluster's leader), buckets abridged.
    fn page(fsync_slow: u32, rtt_b_slow: u32) -> String {
        let fast = 100;
        format!(
            r#"# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{{le="0.001"}} {fast}
etcd_disk_wal_fsync_duration_seconds_bucket{{le="1.024"}} {fast}
etcd_disk_wal_fsync_duration_seconds_bucket{{le="2.048"}} {t}
etcd_disk_wal_fsync_duration_seconds_bucket{{le="+Inf"}} {t}
etcd_disk_wal_fsync_duration_seconds_sum 0.1
etcd_disk_wal_fsync_duration_seconds_count {t}
etcd_disk_backend_commit_duration_seconds_bucket{{le="0.004"}} 50
etcd_disk_backend_commit_duration_seconds_bucket{{le="+Inf"}} 50
etcd_network_peer_round_trip_time_seconds_bucket{{To="a1",le="0.0001"}} 10
etcd_network_peer_round_trip_time_seconds_bucket{{To="a1",le="0.4096"}} 10
etcd_network_peer_round_trip_time_seconds_bucket{{To="a1",le="+Inf"}} 10
etcd_network_peer_round_trip_time_seconds_bucket{{To="b2",le="0.0001"}} 10
etcd_network_peer_round_trip_time_seconds_bucket{{To="b2",le="0.4096"}} {r}
etcd_network_peer_round_trip_time_seconds_bucket{{To="b2",le="+Inf"}} {r}
etcd_mvcc_db_total_size_in_bytes 20480
etcd_mvcc_db_total_size_in_use_in_bytes 16384
etcd_server_has_leader 1
etcd_server_is_leader 1
etcd_server_leader_changes_seen_total 1
etcd_server_proposals_failed_total 0
etcd_server_proposals_pending 0
etcd_server_quota_backend_bytes 2.147483648e+09
"#,
            t = fast + fsync_slow,
            r = 10 + rtt_b_slow,
        )
    }

    #[test]
    fn first_scrape_uses_the_lifetime_then_only_the_interval() {
        let mut history = History::default();
        let first = read(&page(0, 0), &mut history).expect("first");
        assert!(first.has_leader && first.is_leader);
        assert_eq!(first.quota_bytes, 2_147_483_648);
        assert_eq!(
            (first.db_size_bytes, first.db_size_in_use_bytes),
            (20480, 16384)
        );
        assert!(first.wal_fsync_p99_secs.expect("fsync") <= 0.001);
        assert!(first.peer_rtt_p99_secs.expect("rtt") <= 0.0001);
        // Two slow fsyncs and five slow round trips to b2 since: over the lifetime p99 would
        // still be fast (2 of 102); over the interval every observation is slow.
        let second = read(&page(2, 5), &mut history).expect("second");
        assert!(second.wal_fsync_p99_secs.expect("fsync") > 1.0);
        assert!(second.peer_rtt_p99_secs.expect("rtt") > 0.1);
        assert_eq!(second.backend_commit_p99_secs, None, "no commits since");
    }

    #[test]
    fn a_missing_gauge_is_an_error_not_a_zero() {
        let text = page(0, 0).replace("etcd_server_has_leader 1\n", "");
        assert_eq!(
            read(&text, &mut History::default()).expect_err("missing"),
            "etcd_server_has_leader missing"
        );
        let text = page(0, 0).replace("etcd_server_is_leader 1", "etcd_server_is_leader 7");
        assert!(read(&text, &mut History::default()).is_err());
    }

    #[test]
    fn a_failed_scrape_keeps_the_previous_history() {
        let mut history = History::default();
        read(&page(0, 0), &mut history).expect("first");
        let before = history.clone();
        assert!(read("etcd_server_has_leader{", &mut history).is_err());
        assert_eq!(history, before);
    }

    proptest! {
        #[test]
        fn arbitrary_pages_never_panic(text in ".{0,600}", prefix in 0usize..1200) {
            let mut history = History::default();
            let _ = read(&text, &mut history);
            let page = page(1, 1);
            let cut = &page[..prefix.min(page.len())];
            let _ = read(&format!("{cut}{text}"), &mut history);
        }
    }
}
