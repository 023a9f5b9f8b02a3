//! A reader of the Prometheus text exposition format (version 0.0.4), for the kubelet's and
//! etcd's `/metrics`: parse the lines the caller wants, then read gauges, counters and
//! histograms out of them, including a quantile over the delta between two scrapes.
//!
//! Invariants:
//! - Bytes from the network: never panics, on any input. A malformed sample line (also the
//!   cut-off last line of a truncated body) is an error naming the line; comments and blank
//!   lines are skipped; lines whose metric name the caller does not keep are skipped without
//!   being parsed further, so reading a few metrics out of a large page stays cheap.
//! - Quantiles follow PromQL's `histogram_quantile`: linear interpolation inside the bucket,
//!   the upper bound of the last finite bucket when the rank falls into `+Inf`, none without
//!   observations.

use std::borrow::Cow;

/// A line that is not a valid sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metrics line {line}: {what}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub what: &'static str,
}

/// One sample line: `name{label="value",...} value [timestamp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample<'a> {
    pub name: &'a str,
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
}

impl MetricSample<'_> {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_ref())
    }
}

/// The kept samples of one scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics<'a> {
    pub samples: Vec<MetricSample<'a>>,
}

/// Parses every sample line.
pub fn parse(text: &str) -> Result<Metrics<'_>, ParseError> {
    parse_filtered(text, |_| true)
}

/// Parses the sample lines whose metric name `keep` accepts; others are skipped unparsed.
pub fn parse_filtered(text: &str, keep: impl Fn(&str) -> bool) -> Result<Metrics<'_>, ParseError> {
    let mut samples = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let end = line
            .find(|c: char| c == '{' || c.is_ascii_whitespace())
            .unwrap_or(line.len());
        let name = &line[..end];
        if !keep(name) {
            continue;
        }
        let err = |what| ParseError { line: i + 1, what };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(err("invalid metric name"));
        }
        let mut rest = &line[end..];
        let mut labels = Vec::new();
        if let Some(after) = rest.strip_prefix('{') {
            let (parsed, tail) = parse_labels(after).ok_or_else(|| err("invalid labels"))?;
            labels = parsed;
            rest = tail;
        }
        let mut fields = rest.split_ascii_whitespace();
        let value = fields
            .next()
            .and_then(parse_value)
            .ok_or_else(|| err("missing or invalid value"))?;
        if let Some(ts) = fields.next()
            && ts.parse::<i64>().is_err()
        {
            return Err(err("invalid timestamp"));
        }
        if fields.next().is_some() {
            return Err(err("trailing fields"));
        }
        samples.push(MetricSample {
            name,
            labels,
            value,
        });
    }
    Ok(Metrics { samples })
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Parses `key="value",...}` and returns the labels and what follows the `}`.
type Labels<'a> = Vec<(&'a str, Cow<'a, str>)>;
fn parse_labels(mut s: &str) -> Option<(Labels<'_>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Some((labels, rest));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        s = s[eq + 1..].trim_start().strip_prefix('"')?;
        let (value, rest) = parse_quoted(s)?;
        labels.push((key, value));
        s = rest.trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return None;
        }
    }
}

/// Reads a label value up to its closing quote, unescaping `\\`, `\"` and `\n`.
fn parse_quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut owned: Option<String> = None;
    let mut start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let value = match owned {
                    Some(mut o) => {
                        o.push_str(&s[start..i]);
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(&s[..i]),
                };
                return Some((value, &s[i + 1..]));
            }
            b'\\' => {
                let o = owned.get_or_insert_with(String::new);
                o.push_str(&s[start..i]);
                match bytes.get(i + 1)? {
                    b'n' => o.push('\n'),
                    b'\\' => o.push('\\'),
                    b'"' => o.push('"'),
                    _ => return None,
                }
                i += 2;
                start = i;
            }
            _ => i += 1,
        }
    }
    None
}

impl<'a> Metrics<'a> {
    /// Every sample named `name`.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s MetricSample<'a>> + 's {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The first sample named `name` (for metrics without labels).
    pub fn value(&self, name: &str) -> Option<f64> {
        self.all(name).next().map(|s| s.value)
    }

    /// The sum over all label sets of `name`, `None` when there is no such sample.
    pub fn sum(&self, name: &str) -> Option<f64> {
        self.all(name).map(|s| s.value).reduce(|a, b| a + b)
    }

    /// The histogram `name` (`_bucket`, `_sum`, `_count`), summed over all label sets.
    pub fn histogram(&self, name: &str) -> Option<Histogram> {
        self.histogram_where(name, |_| true)
    }

    /// The histogram `name` over the label sets `select` accepts (given a `_bucket` sample).
    pub fn histogram_where(
        &self,
        name: &str,
        select: impl Fn(&MetricSample<'_>) -> bool,
    ) -> Option<Histogram> {
        let bucket = format!("{name}_bucket");
        let mut h = Histogram::default();
        for s in self.all(&bucket).filter(|s| select(s)) {
            let le = s.label("le").and_then(parse_value)?;
            match h.buckets.iter_mut().find(|(b, _)| *b == le) {
                Some((_, c)) => *c += s.value,
                None => h.buckets.push((le, s.value)),
            }
        }
        if h.buckets.is_empty() {
            return None;
        }
        h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let count = h.buckets.last().map(|b| b.1).unwrap_or(0.0);
        h.count = count;
        Some(h)
    }

    /// The distinct values of `label` among samples named `name`.
    pub fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.all(name) {
            if let Some(v) = s.label(label)
                && !out.iter().any(|o| o == v)
            {
                out.push(v.to_owned());
            }
        }
        out
    }
}

impl Metrics<'_> {
    /// The histogram `name` once per distinct value of `label` (e.g. etcd's peer round trip
    /// time per `To` peer), in the order the values first appear; a value whose buckets are
    /// unusable is left out.
    pub fn histograms_by(&self, name: &str, label: &str) -> Vec<(String, Histogram)> {
        self.label_values(&format!("{name}_bucket"), label)
            .into_iter()
            .filter_map(|value| {
                let h = self.histogram_where(name, |s| s.label(label) == Some(value.as_str()))?;
                Some((value, h))
            })
            .collect()
    }
}

/// A cumulative histogram: `(upper bound, cumulative count)` sorted by bound, the last one
/// normally `+Inf`, and the total count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
}

impl Histogram {
    /// The observations since `earlier`. A counter reset (fewer observations now, a restarted
    /// process) or different buckets make the whole of `self` the delta.
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let same_buckets = self.buckets.len() == earlier.buckets.len()
            && self
                .buckets
                .iter()
                .zip(&earlier.buckets)
                .all(|(a, b)| a.0 == b.0 && a.1 >= b.1);
        if !same_buckets || self.count < earlier.count {
            return self.clone();
        }
        Histogram {
            buckets: self
                .buckets
                .iter()
                .zip(&earlier.buckets)
                .map(|(a, b)| (a.0, a.1 - b.1))
                .collect(),
            count: self.count - earlier.count,
        }
    }

    /// The `q` quantile (0..=1) as PromQL's `histogram_quantile` computes it.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) || self.count <= 0.0 || !self.count.is_finite() {
            return None;
        }
        let rank = q * self.count;
        let mut lower_bound = 0.0;
        let mut lower_count = 0.0;
        for &(le, cumulative) in &self.buckets {
            if cumulative >= rank {
                if le.is_infinite() {
                    // Falls into +Inf: the last finite bound is the best known answer.
                    return Some(lower_bound);
                }
                let in_bucket = cumulative - lower_count;
                if in_bucket <= 0.0 {
                    return Some(le);
                }
                return Some(lower_bound + (le - lower_bound) * (rank - lower_count) / in_bucket);
            }
            lower_bound = le;
            lower_count = cumulative;
        }
        Some(lower_bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PAGE: &str = r#"# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 10
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 50
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004"} 90
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.008"} 100
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 100
etcd_disk_wal_fsync_duration_seconds_sum 0.2
etcd_disk_wal_fsync_duration_seconds_count 100
etcd_server_has_leader 1
kubernetes_build_info{build_date="2024-12-10T00:00:00Z",git_version="v1.31.4+k3s1",platform="linux/arm64"} 1
kubelet_runtime_operations_errors_total{operation_type="container_status"} 2
kubelet_runtime_operations_errors_total{operation_type="exec_sync"} 3 1700000000000
weird{path="a\"b\\c\nd"} -Inf
"#;

    #[test]
    fn reads_gauges_counters_and_labels() {
        let m = parse(PAGE).unwrap();
        assert_eq!(m.value("etcd_server_has_leader"), Some(1.0));
        assert_eq!(m.sum("kubelet_runtime_operations_errors_total"), Some(5.0));
        assert_eq!(
            m.all("kubernetes_build_info")
                .next()
                .unwrap()
                .label("git_version"),
            Some("v1.31.4+k3s1")
        );
        let w = m.all("weird").next().unwrap();
        assert_eq!(w.label("path"), Some("a\"b\\c\nd"));
        assert_eq!(w.value, f64::NEG_INFINITY);
        assert_eq!(m.value("absent"), None);
    }

    #[test]
    fn quantile_interpolates_inside_the_bucket_like_promql() {
        let h = parse(PAGE)
            .unwrap()
            .histogram("etcd_disk_wal_fsync_duration_seconds")
            .unwrap();
        assert_eq!(h.count, 100.0);
        // rank 50 is the top of the 0.002 bucket.
        assert!((h.quantile(0.5).unwrap() - 0.002).abs() < 1e-12);
        // rank 99 is 9/10 of the way through (0.004, 0.008].
        assert!((h.quantile(0.99).unwrap() - 0.0076).abs() < 1e-12);
    }

    #[test]
    fn rank_in_the_inf_bucket_answers_the_last_finite_bound() {
        let h = Histogram {
            buckets: vec![(0.01, 1.0), (f64::INFINITY, 10.0)],
            count: 10.0,
        };
        assert_eq!(h.quantile(0.99), Some(0.01));
    }

    #[test]
    fn delta_between_scrapes_only_counts_new_observations() {
        let before = Histogram {
            buckets: vec![(0.01, 1000.0), (1.0, 1000.0), (f64::INFINITY, 1000.0)],
            count: 1000.0,
        };
        let after = Histogram {
            buckets: vec![(0.01, 1000.0), (1.0, 1010.0), (f64::INFINITY, 1010.0)],
            count: 1010.0,
        };
        // Over the lifetime p99 is fast; over the interval every observation was slow.
        assert!(after.quantile(0.99).unwrap() < 0.02);
        assert!(after.since(&before).quantile(0.99).unwrap() > 0.9);
        // A restart (fewer observations) takes the new histogram whole.
        assert_eq!(before.since(&after), before);
        assert_eq!(after.since(&after).quantile(0.99), None, "no observations");
    }

    #[test]
    fn histograms_by_label_keeps_each_peer_apart() {
        let text = r#"rtt_bucket{To="a",le="0.1"} 1
rtt_bucket{To="a",le="+Inf"} 1
rtt_bucket{To="b",le="0.1"} 0
rtt_bucket{To="b",le="+Inf"} 4
rtt_bucket{le="+Inf"} 9
"#;
        let m = parse(text).unwrap();
        let by = m.histograms_by("rtt", "To");
        let counts: Vec<(&str, f64)> = by.iter().map(|(k, h)| (k.as_str(), h.count)).collect();
        assert_eq!(counts, vec![("a", 1.0), ("b", 4.0)]);
    }

    #[test]
    fn filter_skips_unwanted_lines_without_parsing_them() {
        let m = parse_filtered("wanted 1\nunwanted{garbage 2\n", |n| n == "wanted").unwrap();
        assert_eq!(m.samples.len(), 1);
    }

    #[test]
    fn malformed_and_truncated_lines_are_errors_naming_the_line() {
        for (text, line) in [
            ("ok 1\nbroken{le=\"0.1\" 2\n", 2),
            ("cut_off_value\n", 1),
            ("x{a=\"unterminated} 1\n", 1),
            ("x 1 2 3\n", 1),
            ("x notanumber\n", 1),
            ("x{a=\"b\\q\"} 1\n", 1),
        ] {
            assert_eq!(parse(text).map(|_| ()).unwrap_err().line, line, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            if let Ok(m) = parse(&text) {
                for s in &m.samples {
                    let _ = m.histogram(s.name);
                }
            }
        }

        #[test]
        fn arbitrary_histograms_give_a_quantile_within_the_bounds(
            counts in proptest::collection::vec(0u32..1000, 1..8), q in 0.0f64..=1.0,
        ) {
            let mut cumulative = 0.0;
            let mut buckets = Vec::new();
            for (i, c) in counts.iter().enumerate() {
                cumulative += f64::from(*c);
                buckets.push((0.001 * (1u32 << i) as f64, cumulative));
            }
            buckets.push((f64::INFINITY, cumulative));
            let h = Histogram { buckets, count: cumulative };
            match h.quantile(q) {
                None => prop_assert_eq!(cumulative, 0.0),
                Some(v) => prop_assert!((0.0..=0.001 * 128.0).contains(&v)),
            }
        }
    }
}
