//! An alert as Alertmanager knows it, and the JSON body of `POST /api/v2/alerts`.
//!
//! # The label contract
//!
//! Alertmanager identifies an alert by its label set alone, so labels must be stable for as
//! long as the condition lasts, and must not carry measurements:
//!
//! | label       | value                                                             |
//! |-------------|-------------------------------------------------------------------|
//! | `alertname` | the kind of finding, CamelCase, e.g. `EdgewardNodeMemoryPressure` |
//! | `severity`  | `critical`, `warning` or `info`                                   |
//! | `cluster`   | the `ClusterId` the node reports                                  |
//! | `node`      | the `NodeId`                                                      |
//! | `finding`   | the finding's stable key (what it is about, e.g. `etcd:fsync`)    |
//!
//! plus any extra labels a policy adds (routing keys such as `team`). The evidence travels
//! in annotations, which may change while the alert stays the same alert: `summary` (one
//! line), `description` (a paragraph), and one annotation per evidence key (e.g.
//! `memory_available_bytes`). `generatorURL` points back at the aggregator's
//! `/v1/findings?…` for that node and finding.
//!
//! # What Alertmanager refuses (checked against 0.25)
//!
//! Labels with an empty value are dropped by Alertmanager before it computes the identity;
//! [`Alert::normalized`] does the same here. An alert with no labels, or a label or
//! annotation name outside `[a-zA-Z_][a-zA-Z0-9_]*`, gets the whole request a 400 (the valid
//! alerts are still stored); a `generatorURL` that is not a URI gets the whole request a
//! 422 and nothing is stored. [`Alert::validate`] catches all of these before sending, so one
//! bad alert never blocks the others.

use std::collections::BTreeMap;

use edgeward_proto::UnixMillis;
use serde::Serialize;
use thiserror::Error;

use super::rfc3339;

/// A label set: the identity of an alert.
pub type Labels = BTreeMap<String, String>;

/// Well-known label names (see the module doc for their values).
pub mod label {
    /// The kind of finding.
    pub const ALERTNAME: &str = "alertname";
    /// `critical`, `warning` or `info`.
    pub const SEVERITY: &str = "severity";
    /// The cluster the node belongs to.
    pub const CLUSTER: &str = "cluster";
    /// The node.
    pub const NODE: &str = "node";
    /// The finding's stable key.
    pub const FINDING: &str = "finding";
}

/// Well-known annotation names; evidence keys are annotations too.
pub mod annotation {
    /// One line for a notification title.
    pub const SUMMARY: &str = "summary";
    /// A paragraph: what was seen and what to do.
    pub const DESCRIPTION: &str = "description";
}

/// One alert that is firing now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The identity (see the label contract in the module doc).
    pub labels: Labels,
    /// Summary, description and evidence; may change without changing the alert.
    pub annotations: BTreeMap<String, String>,
    /// When the condition began (kept across re-sends).
    pub starts_at: UnixMillis,
    /// Link back to the evidence, an absolute URL.
    pub generator_url: Option<String>,
}

/// Why an alert is not sent: Alertmanager would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidAlert {
    /// No label left once empty values are dropped.
    #[error("the alert has no labels")]
    NoLabels,
    /// A label name outside `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("label name {name:?} is not [a-zA-Z_][a-zA-Z0-9_]*")]
    LabelName { name: String },
    /// An annotation name outside `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("annotation name {name:?} is not [a-zA-Z_][a-zA-Z0-9_]*")]
    AnnotationName { name: String },
    /// A `generatorURL` that is not an absolute URL.
    #[error("generatorURL {url:?} is not an absolute URL: {reason}")]
    GeneratorUrl { url: String, reason: String },
}

impl Alert {
    /// The alert as Alertmanager will identify it: labels with an empty value removed.
    pub fn normalized(mut self) -> Self {
        self.labels.retain(|_, value| !value.is_empty());
        self
    }

    /// Whether Alertmanager would accept this alert (call on a [normalized](Self::normalized)
    /// alert).
    pub fn validate(&self) -> Result<(), InvalidAlert> {
        if self.labels.is_empty() {
            return Err(InvalidAlert::NoLabels);
        }
        if let Some(name) = self.labels.keys().find(|n| !is_valid_name(n)) {
            return Err(InvalidAlert::LabelName { name: name.clone() });
        }
        if let Some(name) = self.annotations.keys().find(|n| !is_valid_name(n)) {
            return Err(InvalidAlert::AnnotationName { name: name.clone() });
        }
        if let Some(url) = &self.generator_url {
            url::Url::parse(url).map_err(|e| InvalidAlert::GeneratorUrl {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// Alertmanager 0.25's label name rule (Prometheus' classic one).
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (b.is_ascii_digit() && i > 0))
}

/// One element of the `POST /api/v2/alerts` body: an alert and when it ends.
///
/// Active alerts end in the future (Alertmanager lets them expire there if no re-send comes);
/// resolved alerts end at their resolve time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postable {
    /// The alert.
    pub alert: Alert,
    /// Its `endsAt`, never before `starts_at` (Alertmanager refuses that with a 400).
    pub ends_at: UnixMillis,
}

impl Postable {
    /// An alert ending at `ends_at`, moved to its start if it is earlier.
    pub fn new(alert: Alert, ends_at: UnixMillis) -> Self {
        let ends_at = UnixMillis(ends_at.0.max(alert.starts_at.0));
        Self { alert, ends_at }
    }
}

/// The wire form of one [`Postable`].
#[derive(Serialize)]
struct Wire<'a> {
    labels: &'a Labels,
    annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    generator_url: Option<&'a str>,
}

/// The JSON body for `POST /api/v2/alerts`.
pub fn to_json(alerts: &[Postable]) -> Result<Vec<u8>, serde_json::Error> {
    let wire: Vec<Wire<'_>> = alerts
        .iter()
        .map(|p| Wire {
            labels: &p.alert.labels,
            annotations: &p.alert.annotations,
            starts_at: rfc3339::format(p.alert.starts_at),
            ends_at: rfc3339::format(p.ends_at),
            generator_url: p.alert.generator_url.as_deref(),
        })
        .collect();
    serde_json::to_vec(&wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(labels: &[(&str, &str)]) -> Alert {
        Alert {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            annotations: BTreeMap::new(),
            starts_at: UnixMillis(1_795_255_200_000),
            generator_url: None,
        }
    }

    #[test]
    fn the_body_is_an_array_of_alertmanager_v2_alerts() {
        let mut a = alert(&[("alertname", "EdgewardDiskPressure"), ("node", "n1")]);
        a.annotations
            .insert("summary".into(), "disk \"full\"".into());
        a.generator_url = Some("https://agg.example/v1/findings?node=n1".into());
        let body = to_json(&[Postable::new(a, UnixMillis(1_795_255_260_000))]).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!([{
                "labels": {"alertname": "EdgewardDiskPressure", "node": "n1"},
                "annotations": {"summary": "disk \"full\""},
                "startsAt": "2026-11-21T10:00:00.000Z",
                "endsAt": "2026-11-21T10:01:00.000Z",
                "generatorURL": "https://agg.example/v1/findings?node=n1",
            }])
        );
    }

    #[test]
    fn an_alert_without_generator_url_omits_the_field() {
        let body = to_json(&[Postable::new(alert(&[("a", "b")]), UnixMillis(0))]).unwrap();
        assert!(!String::from_utf8(body).unwrap().contains("generatorURL"));
    }

    #[test]
    fn ends_at_is_never_before_starts_at() {
        let a = alert(&[("a", "b")]);
        let starts = a.starts_at;
        assert_eq!(Postable::new(a, UnixMillis(0)).ends_at, starts);
    }

    #[test]
    fn alerts_alertmanager_would_refuse_are_caught() {
        let valid = alert(&[("alertname", "X"), ("_node2", "n")]);
        assert_eq!(valid.validate(), Ok(()));
        type Expected = fn(&InvalidAlert) -> bool;
        let cases: Vec<(Alert, Expected)> = vec![
            (alert(&[]), |e| matches!(e, InvalidAlert::NoLabels)),
            (alert(&[("only", "")]).normalized(), |e| {
                matches!(e, InvalidAlert::NoLabels)
            }),
            (alert(&[("bad-name", "x")]), |e| {
                matches!(e, InvalidAlert::LabelName { .. })
            }),
            (alert(&[("9lives", "x")]), |e| {
                matches!(e, InvalidAlert::LabelName { .. })
            }),
            (alert(&[("nodé", "x")]), |e| {
                matches!(e, InvalidAlert::LabelName { .. })
            }),
            (
                Alert {
                    annotations: [("bad.name".to_owned(), "x".to_owned())].into(),
                    ..valid.clone()
                },
                |e| matches!(e, InvalidAlert::AnnotationName { .. }),
            ),
            (
                Alert {
                    generator_url: Some("::not a url".into()),
                    ..valid.clone()
                },
                |e| matches!(e, InvalidAlert::GeneratorUrl { .. }),
            ),
        ];
        for (alert, expected) in cases {
            let err = alert.validate().unwrap_err();
            assert!(expected(&err), "{alert:?}: {err}");
        }
    }

    #[test]
    fn empty_label_values_are_not_part_of_the_identity() {
        let a = alert(&[("alertname", "X"), ("team", "")]).normalized();
        assert_eq!(a.labels, alert(&[("alertname", "X")]).labels);
    }
}
