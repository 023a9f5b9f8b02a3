//! `GET /metrics`: Prometheus text exposition (format 0.0.4) of the latest evaluation, ingest
//! counters, the store's size, alerting and the policy. Names follow
//! `edgeward_<name>_<unit>[_total]` (STYLE.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::analysis::{Analysis, Kind, Severity};

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes text exposition: one family at a time.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    pub fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) -> &mut Self {
        self.family(name, kind, help).sample(name, &[], value)
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn analysis(e: &mut Exposition, a: &Analysis, evaluated: bool) {
    e.one(
        "edgeward_analysis_evaluated",
        "gauge",
        "1 once the first evaluation after start-up is published; until then node and finding gauges are absent.",
        if evaluated { 1.0 } else { 0.0 },
    );
    if !evaluated {
        return;
    }
    e.one(
        "edgeward_analysis_evaluated_timestamp_seconds",
        "gauge",
        "When the latest evaluation ran (aggregator clock).",
        a.evaluated_at.0 as f64 / 1e3,
    );
    let mut nodes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for n in &a.nodes {
        *nodes
            .entry((n.version.as_deref().unwrap_or("unknown"), n.health.as_str()))
            .or_insert(0) += 1;
    }
    e.family(
        "edgeward_nodes",
        "gauge",
        "Nodes by kubelet version and state (healthy, unknown, warning, critical, stale).",
    );
    for ((version, state), n) in &nodes {
        e.sample(
            "edgeward_nodes",
            &[("version", version), ("state", state)],
            *n as f64,
        );
    }
    let counts = a.counts();
    e.family(
        "edgeward_findings",
        "gauge",
        "Active findings by kind and severity.",
    );
    for kind in Kind::ALL {
        for sev in Severity::ALL {
            let n = counts.get(&(*kind, sev)).copied().unwrap_or(0);
            e.sample(
                "edgeward_findings",
                &[("kind", kind.as_str()), ("severity", sev.as_str())],
                n as f64,
            );
        }
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut e = Exposition::default();
    let a = state.monitor.latest();
    analysis(&mut e, &a, state.monitor.evaluated());
    let m = state.monitor.stats();
    e.one(
        "edgeward_analysis_evaluations_total",
        "counter",
        "Evaluations run.",
        m.evaluations_total.load(Ordering::Relaxed) as f64,
    )
    .one(
        "edgeward_analysis_duration_seconds",
        "gauge",
        "Wall time of the latest evaluation.",
        m.last_evaluation_micros.load(Ordering::Relaxed) as f64 / 1e6,
    )
    .one(
        "edgeward_analysis_batches_observed_total",
        "counter",
        "Durable batches folded into the analysis.",
        m.batches_observed_total.load(Ordering::Relaxed) as f64,
    );
    let i = state.ingest.stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed) as f64;
    e.one(
        "edgeward_ingest_batches_total",
        "counter",
        "Batches accepted (durable).",
        load(&i.accepted_batches_total),
    )
    .family(
        "edgeward_ingest_samples_total",
        "counter",
        "Samples received in accepted batches, by outcome.",
    )
    .sample(
        "edgeward_ingest_samples_total",
        &[("outcome", "stored")],
        load(&i.stored_samples_total),
    )
    .sample(
        "edgeward_ingest_samples_total",
        &[("outcome", "duplicate")],
        load(&i.duplicate_samples_total),
    )
    .one(
        "edgeward_ingest_refused_total",
        "counter",
        "Batches refused (401, 403, 413, 415, 400, 503).",
        load(&i.refused_total),
    )
    .one(
        "edgeward_ingest_gap_records_total",
        "counter",
        "Agent gap records stored (reported losses).",
        load(&i.gap_records_total),
    )
    .one(
        "edgeward_ingest_received_bytes_total",
        "counter",
        "Body bytes of accepted batches.",
        load(&i.received_bytes_total),
    )
    .one(
        "edgeward_ingest_waited_for_store_total",
        "counter",
        "Batches that waited for a store permit (the store is the bottleneck).",
        load(&i.waited_for_store_total),
    );
    let store = Arc::clone(&state.store);
    match tokio::task::spawn_blocking(move || store.stats()).await {
        Ok(Ok(s)) => {
            e.one(
                "edgeward_store_bytes",
                "gauge",
                "Size of the embedded store on disk.",
                s.bytes_on_disk as f64,
            )
            .one(
                "edgeward_store_nodes",
                "gauge",
                "Nodes in the store.",
                s.nodes as f64,
            )
            .one(
                "edgeward_store_samples",
                "gauge",
                "Samples in the store (within retention).",
                s.samples as f64,
            )
            .one(
                "edgeward_store_gap_records",
                "gauge",
                "Agent gap records in the store.",
                s.gap_records as f64,
            )
            .one(
                "edgeward_store_holes",
                "gauge",
                "Open sequence holes.",
                s.holes as f64,
            );
        }
        _ => {
            e.one(
                "edgeward_store_up",
                "gauge",
                "0 when the store could not be read for this scrape.",
                0.0,
            );
        }
    }
    if let Some(extra) = &state.extra_metrics {
        extra(&mut e);
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        e.finish(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn a_family_has_help_type_and_labelled_samples() {
        let mut e = Exposition::default();
        e.family("x_total", "counter", "X.")
            .sample("x_total", &[("a", "1"), ("b", "q\"")], 2.0);
        assert_eq!(
            e.finish(),
            "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"\"} 2\n"
        );
    }
}
