//! Findings → Alertmanager alerts (the label contract is in `alerting/alert.rs`).
//!
//! Labels: `alertname` (`Edgeward` + the kind in CamelCase), `severity`, `cluster` (or
//! `unassigned`), `node` (absent for cluster findings), `finding` (the finding id), plus the
//! policy's alert labels for the cluster. Annotations: `summary`, `description` (evidence and
//! causes as text), `caused_by`, and one `evidence_<name>` per measured value.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::alerting::alert::{Alert, annotation, label};
use crate::alerting::{Alerting, AlertingStatsHandle, AlertmanagerOptions};
use crate::analysis::{Analysis, Finding, Severity};
use crate::policy::Policy;

/// `etcd_no_leader` → `EdgewardEtcdNoLeader`.
pub fn alertname(kind: &str) -> String {
    let mut out = String::from("Edgeward");
    for part in kind.split('_') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// An annotation or label name Alertmanager accepts: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn name(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The alert for one finding.
pub fn alert(f: &Finding, policy: &Policy, external_url: Option<&str>) -> Alert {
    let mut labels: BTreeMap<String, String> = match &f.cluster {
        Some(c) => policy.alert_labels(c),
        None => BTreeMap::new(),
    };
    labels.insert(label::ALERTNAME.to_owned(), alertname(f.kind.as_str()));
    labels.insert(label::SEVERITY.to_owned(), f.severity.as_str().to_owned());
    labels.insert(
        label::CLUSTER.to_owned(),
        f.cluster
            .as_ref()
            .map_or("unassigned", |c| c.as_str())
            .to_owned(),
    );
    if let Some(n) = &f.node {
        labels.insert(label::NODE.to_owned(), n.as_str().to_owned());
    }
    labels.insert(label::FINDING.to_owned(), f.id.as_str().to_owned());
    let mut annotations = BTreeMap::new();
    annotations.insert(annotation::SUMMARY.to_owned(), f.summary.clone());
    let mut description = String::new();
    let _ = write!(
        description,
        "{} ({}, {} loop).",
        f.summary,
        f.kind,
        f.control_loop.as_str()
    );
    if !f.evidence.is_empty() {
        description.push_str(" Evidence:");
        for (k, v) in &f.evidence {
            let _ = write!(description, " {k}={v};");
        }
    }
    if !f.caused_by.is_empty() {
        let causes: Vec<&str> = f.caused_by.iter().map(|c| c.as_str()).collect();
        let _ = write!(description, " Start with the cause: {}.", causes.join(", "));
        annotations.insert("caused_by".to_owned(), causes.join(" "));
    }
    annotations.insert(annotation::DESCRIPTION.to_owned(), description);
    for (k, v) in &f.evidence {
        annotations.insert(name(&format!("evidence_{k}")), v.to_string());
    }
    let generator_url = external_url.map(|base| {
        let mut url = format!("{base}/v1/findings?kind={}", f.kind);
        if let Some(c) = &f.cluster {
            let _ = write!(url, "&cluster={c}");
        }
        if let Some(n) = &f.node {
            let _ = write!(url, "&node={n}");
        }
        url
    });
    Alert {
        labels,
        annotations,
        starts_at: f.first_seen,
        generator_url,
    }
    .normalized()
}

/// Starts the alert push for `monitor`: every published evaluation becomes the set of firing
/// alerts (findings at or above `config.min_severity`), which the pusher sends, re-sends and
/// resolves. Ends when `shutdown` resolves.
pub fn spawn_push(
    config: &crate::config::AlertmanagerConfig,
    monitor: std::sync::Arc<super::Monitor>,
    external_url: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(tokio::task::JoinHandle<()>, AlertingStatsHandle), crate::alerting::ClientError> {
    use std::sync::Arc;
    let mut options = AlertmanagerOptions::new(config.urls.clone());
    options.resend_every = config.resend_every;
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(Vec::new()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let (pusher, stats) = Alerting::spawn(options, rx, stopped(stop_rx.clone()))?;
    let min = config.min_severity;
    let task = tokio::spawn(async move {
        let mut analyses = monitor.subscribe();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                changed = analyses.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
            if !monitor.evaluated() {
                continue;
            }
            let analysis = Arc::clone(&analyses.borrow_and_update());
            let policy = monitor.policy();
            let _ = tx.send(Arc::new(alerts(
                &analysis,
                &policy,
                min,
                external_url.as_deref(),
            )));
        }
        let _ = stop_tx.send(true);
        let _ = pusher.await;
    });
    Ok((task, stats))
}

/// `/metrics` families of the alert push.
pub fn metrics(h: &AlertingStatsHandle, e: &mut crate::http::metrics::Exposition) {
    let s = h.get();
    e.one(
        "edgeward_alerts_active",
        "gauge",
        "Alerts firing now (pushed to Alertmanager).",
        s.active as f64,
    )
    .one(
        "edgeward_alerts_pending_resolves",
        "gauge",
        "Resolved alerts not yet delivered enough times.",
        s.pending_resolves as f64,
    )
    .one(
        "edgeward_alerts_rejected",
        "gauge",
        "Alerts of the last evaluation that Alertmanager would refuse (not sent).",
        s.rejected as f64,
    )
    .one(
        "edgeward_alertmanager_pushes_total",
        "counter",
        "Pushes accepted by at least one Alertmanager.",
        s.pushes_ok as f64,
    )
    .one(
        "edgeward_alertmanager_push_failures_total",
        "counter",
        "Pushes no Alertmanager accepted.",
        s.pushes_failed as f64,
    )
    .one(
        "edgeward_alerts_dropped_resolves_total",
        "counter",
        "Pending resolves dropped at the bound.",
        s.dropped_resolves as f64,
    );
    if let Some(t) = s.last_success {
        e.one(
            "edgeward_alertmanager_last_success_timestamp_seconds",
            "gauge",
            "When a push last succeeded.",
            t.0 as f64 / 1e3,
        );
    }
}

/// The alerts for every finding at or above `min` severity.
pub fn alerts(
    a: &Analysis,
    policy: &Policy,
    min: Severity,
    external_url: Option<&str>,
) -> Vec<Alert> {
    a.findings
        .iter()
        .filter(|f| f.severity >= min)
        .map(|f| alert(f, policy, external_url))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Kind;
    use edgeward_proto::{ClusterId, NodeId, UnixMillis};

    #[test]
    fn alertnames_are_camel_case_kinds() {
        assert_eq!(alertname("etcd_no_leader"), "EdgewardEtcdNoLeader");
        assert_eq!(alertname("node_stale"), "EdgewardNodeStale");
    }

    #[test]
    fn an_alert_carries_the_stable_labels_and_the_evidence() {
        let c = ClusterId::new("c-1").unwrap();
        let n = NodeId::new("n-1").unwrap();
        let f = Finding::new(
            Kind::EtcdSlowWalFsync,
            Severity::Warning,
            Some(&c),
            Some(&n),
            None,
            "slow",
            UnixMillis(5),
        )
        .with("wal_fsync_p99_secs", 0.7);
        let a = alert(&f, &Policy::default(), Some("https://agg:7443"));
        let l = |k: &str| a.labels.get(k).map(String::as_str);
        assert_eq!(l("alertname"), Some("EdgewardEtcdSlowWalFsync"));
        assert_eq!(l("severity"), Some("warning"));
        assert_eq!(l("cluster"), Some("c-1"));
        assert_eq!(l("node"), Some("n-1"));
        assert_eq!(l("finding"), Some("etcd_slow_wal_fsync/c-1/n-1"));
        assert_eq!(
            a.annotations
                .get("evidence_wal_fsync_p99_secs")
                .map(String::as_str),
            Some("0.7")
        );
        assert_eq!(a.starts_at, UnixMillis(5));
        assert!(a.validate().is_ok());
        assert_eq!(
            a.generator_url.as_deref(),
            Some("https://agg:7443/v1/findings?kind=etcd_slow_wal_fsync&cluster=c-1&node=n-1")
        );
    }

    #[test]
    fn evidence_names_become_valid_annotation_names() {
        assert_eq!(name("evidence_sim-node-1"), "evidence_sim_node_1");
        assert_eq!(name("9x"), "_9x");
    }
}
