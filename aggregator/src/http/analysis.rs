//! The analysis read API: findings, clusters, the upgrade plan. Thin: it reads the latest
//! published [`Analysis`](crate::analysis::Analysis) and filters it.
//!
//! Until the first evaluation after start-up every route answers `503` "not evaluated yet":
//! an empty list would read as a healthy fleet.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::analysis::upgrade::ClusterPlan;
use crate::analysis::{Analysis, ClusterReport, ControlLoop, Finding, Kind, NodeStatus, Severity};
use edgeward_proto::UnixMillis;

/// The path segment that names nodes without a known cluster identity.
pub const UNASSIGNED: &str = "unassigned";

fn not_evaluated() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "analysis not evaluated yet (rebuilding from the store); retry shortly\n",
    )
        .into_response()
}

fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, msg).into_response()
}

/// `GET /v1/findings` filters; each takes a comma-separated list, all must match.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingFilter {
    pub cluster: Option<String>,
    pub node: Option<String>,
    pub severity: Option<String>,
    pub kind: Option<String>,
    #[serde(rename = "loop")]
    pub control_loop: Option<String>,
}

/// A parsed [`FindingFilter`].
#[derive(Debug, Default)]
struct Filter {
    clusters: Option<BTreeSet<String>>,
    nodes: Option<BTreeSet<String>>,
    severities: Option<BTreeSet<Severity>>,
    kinds: Option<BTreeSet<Kind>>,
    loops: Option<BTreeSet<ControlLoop>>,
}

fn list(s: &Option<String>) -> Option<Vec<&str>> {
    s.as_deref().map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    })
}

fn parsed<T: Ord>(
    name: &str,
    s: &Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<BTreeSet<T>>, String> {
    list(s)
        .map(|vs| {
            vs.into_iter()
                .map(|v| parse(v).ok_or_else(|| format!("unknown {name} {v:?}\n")))
                .collect()
        })
        .transpose()
}

impl FindingFilter {
    fn parse(&self) -> Result<Filter, String> {
        let strings =
            |s: &Option<String>| list(s).map(|v| v.into_iter().map(str::to_owned).collect());
        Ok(Filter {
            clusters: strings(&self.cluster),
            nodes: strings(&self.node),
            severities: parsed("severity", &self.severity, Severity::parse)?,
            kinds: parsed("kind", &self.kind, Kind::parse)?,
            loops: parsed("loop", &self.control_loop, ControlLoop::parse)?,
        })
    }
}

impl Filter {
    fn keeps(&self, f: &Finding) -> bool {
        let cluster = f.cluster.as_ref().map_or(UNASSIGNED, |c| c.as_str());
        self.clusters.as_ref().is_none_or(|s| s.contains(cluster))
            && self
                .nodes
                .as_ref()
                .is_none_or(|s| f.node.as_ref().is_some_and(|n| s.contains(n.as_str())))
            && self
                .severities
                .as_ref()
                .is_none_or(|s| s.contains(&f.severity))
            && self.kinds.as_ref().is_none_or(|s| s.contains(&f.kind))
            && self
                .loops
                .as_ref()
                .is_none_or(|s| s.contains(&f.control_loop))
    }
}

#[derive(Debug, Serialize)]
struct Findings<'a> {
    evaluated_at: UnixMillis,
    count: usize,
    findings: Vec<&'a Finding>,
}

/// `GET /v1/findings?cluster=&node=&severity=&kind=&loop=`.
pub async fn findings(State(state): State<AppState>, Query(q): Query<FindingFilter>) -> Response {
    if !state.monitor.evaluated() {
        return not_evaluated();
    }
    let filter = match q.parse() {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    let a = state.monitor.latest();
    let findings: Vec<&Finding> = a.findings.iter().filter(|f| filter.keeps(f)).collect();
    Json(Findings {
        evaluated_at: a.evaluated_at,
        count: findings.len(),
        findings,
    })
    .into_response()
}

#[derive(Debug, Serialize)]
struct Clusters<'a> {
    evaluated_at: UnixMillis,
    clusters: &'a [ClusterReport],
}

/// `GET /v1/clusters`.
pub async fn clusters(State(state): State<AppState>) -> Response {
    if !state.monitor.evaluated() {
        return not_evaluated();
    }
    let a = state.monitor.latest();
    Json(Clusters {
        evaluated_at: a.evaluated_at,
        clusters: &a.clusters,
    })
    .into_response()
}

#[derive(Debug, Serialize)]
struct ClusterDetail<'a> {
    evaluated_at: UnixMillis,
    cluster: &'a ClusterReport,
    nodes: Vec<&'a NodeStatus>,
    findings: Vec<&'a Finding>,
    plan: Option<&'a ClusterPlan>,
}

fn matches_cluster(id: Option<&edgeward_proto::ClusterId>, wanted: &str) -> bool {
    id.map_or(UNASSIGNED, |c| c.as_str()) == wanted
}

/// `GET /v1/clusters/{id}` (`unassigned` for nodes without a cluster identity).
pub async fn cluster(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if !state.monitor.evaluated() {
        return not_evaluated();
    }
    let a = state.monitor.latest();
    let Some(report) = a
        .clusters
        .iter()
        .find(|c| matches_cluster(c.id.as_ref(), &id))
    else {
        return (StatusCode::NOT_FOUND, format!("no cluster {id:?}\n")).into_response();
    };
    Json(ClusterDetail {
        evaluated_at: a.evaluated_at,
        cluster: report,
        nodes: a
            .nodes
            .iter()
            .filter(|n| matches_cluster(n.cluster.as_ref(), &id))
            .collect(),
        findings: a
            .findings
            .iter()
            .filter(|f| matches_cluster(f.cluster.as_ref(), &id))
            .collect(),
        plan: cluster_plan(&a, &id),
    })
    .into_response()
}

/// The plan of one cluster.
fn cluster_plan<'a>(a: &'a Analysis, id: &str) -> Option<&'a ClusterPlan> {
    a.plan.clusters.iter().find(|p| p.cluster.as_str() == id)
}

/// `GET /v1/upgrade-plan` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// `json` (default) or `suc` (Rancher system-upgrade-controller Plan manifests, YAML).
    pub format: Option<String>,
    /// Only this cluster.
    pub cluster: Option<String>,
}

/// `GET /v1/upgrade-plan?format=json|suc&cluster=`.
pub async fn upgrade_plan(State(state): State<AppState>, Query(q): Query<PlanQuery>) -> Response {
    if !state.monitor.evaluated() {
        return not_evaluated();
    }
    let a = state.monitor.latest();
    match q.format.as_deref().unwrap_or("json") {
        "json" => match &q.cluster {
            None => Json(&a.plan).into_response(),
            Some(id) => match cluster_plan(&a, id) {
                Some(p) => Json(p).into_response(),
                None => (
                    StatusCode::NOT_FOUND,
                    format!("no plan for cluster {id:?}\n"),
                )
                    .into_response(),
            },
        },
        "suc" => {
            let yaml = crate::analysis::suc_manifests(&a.plan, q.cluster.as_deref());
            ([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response()
        }
        other => bad_request(format!("unknown format {other:?}: json or suc\n")),
    }
}
