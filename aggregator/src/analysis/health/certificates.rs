//! Certificates: every certificate file in the node's inventory (DOMAIN.md §5) and the
//! kubelet certificate manager's TTLs (DOMAIN.md §1). The subject of each finding is the
//! certificate's path (`kubelet-client` / `kubelet-server` for the TTLs), so each certificate
//! is its own alert.
//!
//! Expiry is an absolute deadline: it is judged against `now`, whatever the inventory's age.

use std::time::Duration;

use edgeward_proto::UnixMillis;
use edgeward_proto::inventory::{Certificate, Distro};

use super::Ctx;
use crate::analysis::finding::{Finding, Kind, Severity};
use crate::analysis::node::NodeState;
use crate::policy::Thresholds;

/// Findings for the certificates of the newest inventory, however old it is (inventory ships
/// when it changes and every few hours otherwise).
pub(super) fn check(ctx: &Ctx<'_>, node: &NodeState, t: &Thresholds, out: &mut Vec<Finding>) {
    // An inventory that is unavailable now, or never came, is `unknown`; the newest data
    // still counts for absolute deadlines.
    let _ = ctx.track("inventory", &node.inventory, out);
    let Some(inv) = node.inventory() else {
        return;
    };
    let k3s = inv.value.distro == Distro::K3s;
    for c in inv.value.certificates.iter() {
        out.extend(file(ctx, c, k3s, t).map(|f| f.measured_at(inv.at)));
    }
}

/// CertExpired (critical) once past `not_after`; CertExpiring critical within
/// `cert_critical`, warning within `cert_warning`; CertRenewWindow (info) for a K3s leaf
/// within `cert_renew_window` (K3s renews it at its next restart, DOMAIN.md §5).
fn file(ctx: &Ctx<'_>, c: &Certificate, k3s: bool, t: &Thresholds) -> Option<Finding> {
    let left_ms = c.not_after.0.saturating_sub(ctx.now.0);
    let within = |d: Duration| left_ms <= super::millis(d);
    let days = left_ms as f64 / 86_400_000.0;
    let (kind, severity, summary) = if left_ms <= 0 {
        (
            Kind::CertExpired,
            Severity::Critical,
            format!("{} expired {:.1} days ago", c.path, -days),
        )
    } else if within(t.cert_critical) {
        (
            Kind::CertExpiring,
            Severity::Critical,
            format!("{} expires in {days:.1} days", c.path),
        )
    } else if within(t.cert_warning) {
        (
            Kind::CertExpiring,
            Severity::Warning,
            format!("{} expires in {days:.1} days", c.path),
        )
    } else if k3s && !c.is_ca && left_ms < super::millis(t.cert_renew_window) {
        (
            Kind::CertRenewWindow,
            Severity::Info,
            format!(
                "{} expires in {days:.0} days: K3s renews it at its next restart",
                c.path
            ),
        )
    } else {
        return None;
    };
    Some(
        ctx.finding(kind, severity, Some(&c.path), summary)
            .with("not_after_ms", c.not_after.0)
            .with("remaining_secs", left_ms as f64 / 1000.0)
            .with("subject_cn", c.subject_cn.as_str())
            .with("is_ca", c.is_ca),
    )
}

/// CertExpiring (or CertExpired at or below zero) for a kubelet certificate-manager TTL.
/// `+Inf` means the manager is unused and NaN is not a measurement: neither says anything.
pub(super) fn kubelet_ttl(
    ctx: &Ctx<'_>,
    subject: &str,
    ttl_secs: f64,
    t: &Thresholds,
    at: UnixMillis,
) -> Option<Finding> {
    if !ttl_secs.is_finite() {
        return None;
    }
    let (kind, severity) = if ttl_secs <= 0.0 {
        (Kind::CertExpired, Severity::Critical)
    } else if ttl_secs < super::secs(t.kubelet_cert_ttl_critical) {
        (Kind::CertExpiring, Severity::Critical)
    } else if ttl_secs < super::secs(t.kubelet_cert_ttl_warning) {
        (Kind::CertExpiring, Severity::Warning)
    } else {
        return None;
    };
    Some(
        ctx.finding(
            kind,
            severity,
            Some(subject),
            format!(
                "{subject} certificate expires in {:.1} days",
                ttl_secs / 86_400.0
            ),
        )
        .with("ttl_secs", ttl_secs)
        .measured_at(at),
    )
}
