//! `:10250/metrics`: the kubelet's trouble signals (DOMAIN.md §1) out of its Prometheus page.
//!
//! | field | source |
//! | --- | --- |
//! | `version` | `kubernetes_build_info{git_version}` |
//! | `pleg_last_seen_age_secs` | now − `kubelet_pleg_last_seen_seconds` (unhealthy above 3 min, DOMAIN.md §1) |
//! | `pleg_relist_p99_secs` | p99 of `kubelet_pleg_relist_duration_seconds` over the histogram's delta since the previous successful scrape; its lifetime on the first (≥ 10 s is trouble, DOMAIN.md §1) |
//! | `runtime_operation_errors` | Σ `kubelet_runtime_operations_errors_total` over `operation_type` |
//! | `started_pods_errors` | Σ `kubelet_started_pods_errors_total` |
//! | `evictions` | `kubelet_evictions{eviction_signal}`, summed per signal, sorted by signal |
//! | `client_cert_ttl_secs`, `server_cert_ttl_secs` | `kubelet_certificate_manager_{client,server}_ttl_seconds` (+Inf when the manager is unused; < 7 d warn, < 1 d critical, DOMAIN.md §1) |
//!
//! `None` means the page does not expose the metric: kubelets register some of them lazily
//! or not at all depending on version and flags. The 1.21 page in the test fixtures has no
//! `kubelet_started_pods_errors_total`, no `kubelet_evictions` and no client-certificate TTL
//! (that kubelet's client certificate is not managed by the kubelet), so those are `None` /
//! empty there.
//!
//! Invariants: only the lines of the metrics above are parsed (`parse_filtered`); a page whose
//! last line does not end in a newline is refused as cut off (the text format ends every line
//! with `\n`), as is a malformed line of a kept metric. The previous relist histogram is
//! replaced only by a successful scrape, so a failed scrape widens the next interval instead of
//! losing it. The age is never negative (the kubelet's clock is this host's clock; a
//! sub-millisecond lead is rounding).

use edgeward_proto::kubelet::{EvictionCount, KubeletMetrics};
use edgeward_proto::{Bounded, UnixMillis};
use thiserror::Error;

use crate::probe::prometheus::{self, Histogram, Metrics};

const BUILD_INFO: &str = "kubernetes_build_info";
const PLEG_LAST_SEEN: &str = "kubelet_pleg_last_seen_seconds";
const PLEG_RELIST: &str = "kubelet_pleg_relist_duration_seconds";
const PLEG_RELIST_BUCKET: &str = "kubelet_pleg_relist_duration_seconds_bucket";
const RUNTIME_ERRORS: &str = "kubelet_runtime_operations_errors_total";
const STARTED_PODS_ERRORS: &str = "kubelet_started_pods_errors_total";
const EVICTIONS: &str = "kubelet_evictions";
const CLIENT_TTL: &str = "kubelet_certificate_manager_client_ttl_seconds";
const SERVER_TTL: &str = "kubelet_certificate_manager_server_ttl_seconds";

/// The sample names kept from the page; every other line is skipped unparsed.
const KEPT: [&str; 8] = [
    BUILD_INFO,
    PLEG_LAST_SEEN,
    PLEG_RELIST_BUCKET,
    RUNTIME_ERRORS,
    STARTED_PODS_ERRORS,
    EVICTIONS,
    CLIENT_TTL,
    SERVER_TTL,
];

/// What is wrong with a metrics page.
#[derive(Debug, Error)]
pub enum MetricsError {
    #[error("metrics page is not UTF-8")]
    NotUtf8,
    #[error("metrics page does not end with a newline: cut off")]
    CutOff,
    #[error(transparent)]
    Line(#[from] prometheus::ParseError),
}

/// Derives [`KubeletMetrics`] from a page scraped at `now`. `previous` holds the relist
/// histogram of the last successful scrape and is updated on success.
pub fn derive(
    body: &[u8],
    now: UnixMillis,
    previous: &mut Option<Histogram>,
) -> Result<KubeletMetrics, MetricsError> {
    let text = std::str::from_utf8(body).map_err(|_| MetricsError::NotUtf8)?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(MetricsError::CutOff);
    }
    let m = prometheus::parse_filtered(text, |name| KEPT.contains(&name))?;
    let relist = m.histogram(PLEG_RELIST);
    let pleg_relist_p99_secs = relist.as_ref().and_then(|now| {
        let delta = match previous.as_ref() {
            Some(before) => now.since(before),
            None => now.clone(),
        };
        delta.quantile(0.99)
    });
    let metrics = KubeletMetrics {
        version: m
            .all(BUILD_INFO)
            .find_map(|s| s.label("git_version"))
            .map(str::to_owned),
        pleg_last_seen_age_secs: m
            .value(PLEG_LAST_SEEN)
            .filter(|v| v.is_finite())
            .map(|seen| (now.0 as f64 / 1000.0 - seen).max(0.0)),
        pleg_relist_p99_secs,
        runtime_operation_errors: m.sum(RUNTIME_ERRORS).map(count),
        started_pods_errors: m.sum(STARTED_PODS_ERRORS).map(count),
        evictions: evictions(&m),
        client_cert_ttl_secs: m.value(CLIENT_TTL),
        server_cert_ttl_secs: m.value(SERVER_TTL),
    };
    if relist.is_some() {
        *previous = relist;
    }
    Ok(metrics)
}

/// A counter as an integer: negative or NaN → 0, beyond `u64` → `u64::MAX`.
fn count(v: f64) -> u64 {
    if v.is_nan() || v <= 0.0 {
        0
    } else {
        // `as` saturates for floats out of range.
        v.round() as u64
    }
}

/// `kubelet_evictions` per `eviction_signal`, sorted by signal; at most the wire bound.
fn evictions(m: &Metrics<'_>) -> Bounded<EvictionCount, 16> {
    let mut per_signal: Vec<EvictionCount> = Vec::new();
    for s in m.all(EVICTIONS) {
        let signal = s.label("eviction_signal").unwrap_or("");
        match per_signal.iter_mut().find(|e| e.signal == signal) {
            Some(e) => e.count = e.count.saturating_add(count(s.value)),
            None => per_signal.push(EvictionCount {
                signal: signal.to_owned(),
                count: count(s.value),
            }),
        }
    }
    per_signal.sort_by(|a, b| a.signal.cmp(&b.signal));
    let mut out = Bounded::new();
    for e in per_signal
        .into_iter()
        .take(Bounded::<EvictionCount, 16>::MAX)
    {
        let _ = out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PAGE: &str = "\
# HELP kubelet_evictions [ALPHA] Cumulative number of pod evictions by eviction signal
kubelet_evictions{eviction_signal=\"memory.available\"} 3
kubelet_evictions{eviction_signal=\"nodefs.available\"} 1
kubelet_evictions{eviction_signal=\"memory.available\"} 2
kubelet_started_pods_errors_total 4
kubelet_certificate_manager_client_ttl_seconds +Inf
kubelet_certificate_manager_server_ttl_seconds 86400
kubelet_pleg_last_seen_seconds 1.7e+09
kubelet_pleg_relist_duration_seconds_bucket{le=\"0.01\"} 100
kubelet_pleg_relist_duration_seconds_bucket{le=\"+Inf\"} 100
kubernetes_build_info{git_version=\"v1.31.4+k3s1\"} 1
";

    #[test]
    fn signals_are_read_from_a_page() {
        let mut previous = None;
        let m = derive(
            PAGE.as_bytes(),
            UnixMillis(1_700_000_042_500),
            &mut previous,
        )
        .expect("metrics");
        assert_eq!(m.version.as_deref(), Some("v1.31.4+k3s1"));
        assert_eq!(m.pleg_last_seen_age_secs, Some(42.5));
        // rank 99 of 100, all in (0, 0.01]: 0.01 × 99/100.
        let p99 = m.pleg_relist_p99_secs.expect("p99");
        assert!((p99 - 0.0099).abs() < 1e-12, "{p99}");
        assert_eq!(m.runtime_operation_errors, None, "not on the page");
        assert_eq!(m.started_pods_errors, Some(4));
        assert_eq!(
            m.evictions.to_vec(),
            vec![
                EvictionCount {
                    signal: "memory.available".into(),
                    count: 5
                },
                EvictionCount {
                    signal: "nodefs.available".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(m.client_cert_ttl_secs, Some(f64::INFINITY));
        assert_eq!(m.server_cert_ttl_secs, Some(86400.0));
        assert!(previous.is_some(), "the relist histogram is kept");
    }

    #[test]
    fn pleg_age_is_never_negative() {
        let m = derive(PAGE.as_bytes(), UnixMillis(1_699_999_999_999), &mut None).expect("m");
        assert_eq!(m.pleg_last_seen_age_secs, Some(0.0));
    }

    #[test]
    fn cut_off_and_malformed_pages_are_errors_and_keep_the_previous_histogram() {
        let before = Histogram {
            buckets: vec![(1.0, 5.0), (f64::INFINITY, 5.0)],
            count: 5.0,
        };
        let mut previous = Some(before.clone());
        let cut = &PAGE.as_bytes()[..PAGE.len() - 3];
        assert!(matches!(
            derive(cut, UnixMillis(0), &mut previous),
            Err(MetricsError::CutOff)
        ));
        let bad = "kubelet_pleg_last_seen_seconds{ 1\n";
        assert!(matches!(
            derive(bad.as_bytes(), UnixMillis(0), &mut previous),
            Err(MetricsError::Line(_))
        ));
        assert!(matches!(
            derive(&[0xff, b'\n'], UnixMillis(0), &mut previous),
            Err(MetricsError::NotUtf8)
        ));
        assert_eq!(previous, Some(before));
    }

    #[test]
    fn an_empty_page_exposes_nothing() {
        let m = derive(b"", UnixMillis(0), &mut None).expect("empty page");
        assert_eq!(m.version, None);
        assert_eq!(m.pleg_relist_p99_secs, None);
        assert!(m.evictions.is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "(kubelet_[a-z_]{0,12}|[a-z{}=\" .+0-9]){0,40}\n?") {
            let mut previous = None;
            let _ = derive(text.as_bytes(), UnixMillis(0), &mut previous);
            let _ = derive(text.as_bytes(), UnixMillis(i64::MAX), &mut previous);
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = derive(&body, UnixMillis(0), &mut None);
        }
    }
}
