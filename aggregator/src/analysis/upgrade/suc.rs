//! Rancher system-upgrade-controller export: the two `upgrade.cattle.io/v1` Plans that carry a
//! K3s cluster to its next hop, written by hand as deterministic YAML (no YAML crate at run
//! time). edgeward plans; SUC executes (DOMAIN.md §4).
//!
//! - `server-plan`: control-plane nodes (`node-role.kubernetes.io/control-plane In ["true"]`),
//!   concurrency 1, cordon;
//! - `agent-plan`: the other nodes, concurrency = the group's `max_unavailable`, drained
//!   (`force`, `skipWaitForDeleteTimeout: 60`), with a `prepare` container that waits for
//!   `server-plan` to finish, so agents never run ahead of the servers.
//!
//! The hop is a `version` when it is exact (the target, or a `[channels]` pin), else the K3s
//! channel of its minor (`https://update.k3s.io/v1-release/channels/v1.29`), which never leaves
//! the minor. A policy channel such as `stable` is exported as the version it resolved to: the
//! upstream channel may move past what the policy pinned, or skip a minor.
//!
//! Windows: SUC takes one `window {days, startTime, endTime, timeZone}` per Plan; a group with
//! several exports the first and says so. A group with an empty window list (frozen) exports
//! nothing. Every data string is double-quoted with YAML escapes.

use std::fmt::Write as _;

use edgeward_proto::inventory::Distro;

use super::plan::{ClusterPlan, SucExport, UpgradePlan};
use super::version::Version;
use crate::policy::{Group, Policy, Schedule, Window};

/// The image that upgrades K3s nodes; its tag comes from the Plan's resolved version.
pub const UPGRADE_IMAGE: &str = "rancher/k3s-upgrade";
/// Where K3s publishes its release channels.
pub const CHANNEL_BASE: &str = "https://update.k3s.io/v1-release/channels/";

/// The export for `plan`'s next hop.
pub(super) fn export(plan: &ClusterPlan, group: &Group, policy: &Policy) -> SucExport {
    let mut notes = Vec::new();
    let Some(next) = &plan.next else {
        notes.push("no step is planned: nothing to export".to_owned());
        return SucExport {
            manifests: None,
            notes,
        };
    };
    match plan.distro {
        Some(Distro::K3s) => {}
        Some(Distro::MicroK8s) => {
            notes.push("MicroK8s is not supported by system-upgrade-controller; use snap refresh per node (`snap refresh microk8s --channel=<minor>/stable`), servers first, one at a time".to_owned());
            return SucExport {
                manifests: None,
                notes,
            };
        }
        Some(Distro::Other) | None => {
            notes.push("distribution unknown or not K3s: system-upgrade-controller Plans are only exported for K3s".to_owned());
            return SucExport {
                manifests: None,
                notes,
            };
        }
    }
    let window = match &group.windows {
        Schedule::Anytime => None,
        Schedule::Windows(names) if names.is_empty() => {
            notes.push(format!(
                "group {:?} has an empty window list (frozen): nothing to export",
                group.name
            ));
            return SucExport {
                manifests: None,
                notes,
            };
        }
        Schedule::Windows(names) => {
            if names.len() > 1 {
                notes.push(format!(
                    "group {:?} has {} windows but system-upgrade-controller supports one window per Plan: exported {:?} only",
                    group.name,
                    names.len(),
                    names[0]
                ));
            }
            names.first().and_then(|n| policy.window(n))
        }
    };
    if let Some(w) = window {
        if w.wraps_midnight() {
            notes.push(format!(
                "window {:?} wraps past midnight: system-upgrade-controller checks the weekday of the current instant, so after midnight it follows the next day's listing",
                w.name()
            ));
        }
        if w.end() == "24:00" {
            notes.push(format!("window {:?} ends at 24:00: exported as 23:59, which system-upgrade-controller can parse", w.name()));
        }
    }
    let spec = Spec {
        cluster: plan.cluster.as_str(),
        group: &group.name,
        next,
        agents_at_once: group.max_unavailable.get(),
        window,
    };
    SucExport {
        manifests: Some(render(&spec)),
        notes,
    }
}

/// The export of every cluster of `plan` (or only `cluster`) as one text: per cluster a
/// comment header, its notes as comments, then its manifests. Each cluster runs its own
/// system-upgrade-controller: apply a cluster's Plans in that cluster only.
pub fn manifests(plan: &UpgradePlan, cluster: Option<&str>) -> String {
    let mut y = String::new();
    let chosen: Vec<&ClusterPlan> = plan
        .clusters
        .iter()
        .filter(|c| cluster.is_none_or(|id| c.cluster.as_str() == id))
        .collect();
    if chosen.is_empty() {
        let what = cluster.map_or_else(
            || "no cluster".to_owned(),
            |id| format!("no cluster {}", quote(id)),
        );
        let _ = writeln!(y, "# {what} in the upgrade plan");
    }
    for c in chosen {
        let _ = writeln!(y, "# ===== cluster {} =====", quote(c.cluster.as_str()));
        for note in &c.suc.notes {
            let _ = writeln!(y, "# note: {}", comment(note));
        }
        if let Some(m) = &c.suc.manifests {
            y.push_str(m);
        }
    }
    y
}

/// Text safe inside a YAML comment: one line.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// What the manifests are made of.
#[derive(Debug)]
pub(super) struct Spec<'a> {
    pub cluster: &'a str,
    pub group: &'a str,
    /// A version (`v1.31.4+k3s1`) or a minor (`v1.29`).
    pub next: &'a str,
    pub agents_at_once: u32,
    pub window: Option<&'a Window>,
}

/// `server-plan` and `agent-plan`, as one YAML stream.
pub(super) fn render(spec: &Spec<'_>) -> String {
    let mut y = String::with_capacity(2048);
    // Writing to a String cannot fail: the results are ignored.
    let _ = writeln!(
        y,
        "# system-upgrade-controller Plans for cluster {} (group {}) to {}, exported by edgeward.",
        quote(spec.cluster),
        quote(spec.group),
        quote(spec.next)
    );
    let _ = writeln!(
        y,
        "# Apply them in that cluster; servers upgrade before agents."
    );
    plan(&mut y, spec, true);
    plan(&mut y, spec, false);
    y
}

fn plan(y: &mut String, spec: &Spec<'_>, servers: bool) {
    let name = if servers { "server-plan" } else { "agent-plan" };
    let _ = writeln!(
        y,
        "---\napiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata:"
    );
    let _ = writeln!(y, "  name: {name}\n  namespace: system-upgrade\nspec:");
    let concurrency = if servers { 1 } else { spec.agents_at_once };
    let _ = writeln!(y, "  concurrency: {concurrency}\n  cordon: true");
    if !servers {
        let _ = writeln!(
            y,
            "  drain:\n    force: true\n    skipWaitForDeleteTimeout: 60"
        );
    }
    let _ = writeln!(
        y,
        "  nodeSelector:\n    matchExpressions:\n      - key: node-role.kubernetes.io/control-plane"
    );
    if servers {
        let _ = writeln!(
            y,
            "        operator: In\n        values:\n          - \"true\""
        );
    } else {
        let _ = writeln!(y, "        operator: DoesNotExist");
        let _ = writeln!(
            y,
            "  prepare:\n    image: {UPGRADE_IMAGE}\n    args:\n      - \"prepare\"\n      - \"server-plan\""
        );
    }
    let _ = writeln!(
        y,
        "  serviceAccountName: system-upgrade\n  upgrade:\n    image: {UPGRADE_IMAGE}"
    );
    if Version::parse(spec.next).is_ok() {
        let _ = writeln!(y, "  version: {}", quote(spec.next));
    } else {
        let _ = writeln!(
            y,
            "  channel: {}",
            quote(&format!("{CHANNEL_BASE}{}", spec.next))
        );
    }
    if let Some(w) = spec.window {
        let _ = writeln!(y, "  window:\n    days:");
        for d in w.suc_days() {
            let _ = writeln!(y, "      - {}", quote(d));
        }
        let end = w.end();
        let end = if end == "24:00" {
            "23:59".to_owned()
        } else {
            end
        };
        let _ = writeln!(y, "    startTime: {}", quote(&w.start()));
        let _ = writeln!(y, "    endTime: {}", quote(&end));
        let _ = writeln!(y, "    timeZone: {}", quote(w.time_zone()));
    }
}

/// A YAML double-quoted scalar: `\` and `"` escaped, control characters, line separators
/// and non-characters as `\uXXXX`.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
                ) =>
            {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
