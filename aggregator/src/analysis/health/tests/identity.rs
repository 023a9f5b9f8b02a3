//! Certificate files and the node clock.

use edgeward_proto::inventory::{Certificate, Distro};
use edgeward_proto::{Bounded, Sample, Section, UnavailableReason, UnixMillis};

use super::{Row, now, run, same, with_inventory};
use crate::analysis::finding::{Kind, Severity};

const KINDS: &[Kind] = &[
    Kind::CertExpired,
    Kind::CertExpiring,
    Kind::CertRenewWindow,
    Kind::ClockUnsynchronized,
    Kind::Unknown,
];

const DAY: i64 = 86_400_000;
const PATH: &str = "/var/lib/rancher/k3s/server/tls/serving-kube-apiserver.crt";

/// The newest sample's inventory holds one certificate expiring `left_ms` after `now`.
fn cert(s: &mut Sample, left_ms: i64, is_ca: bool, distro: Distro) {
    with_inventory(s, |inv| {
        inv.distro = distro;
        inv.certificates = Bounded::try_from(vec![Certificate {
            path: PATH.to_owned(),
            subject_cn: "kube-apiserver".to_owned(),
            not_before: UnixMillis(now().0 - 300 * DAY),
            not_after: UnixMillis(now().0 + left_ms),
            is_ca,
        }])
        .expect("one certificate");
    });
}

#[test]
fn certificate_files_at_their_boundaries() {
    type Set = fn(&mut Sample);
    type Want = Option<(Kind, Severity)>;
    let rows: [(&str, Set, Want); 10] = [
        (
            "a day past not_after is expired",
            |s| cert(s, -DAY, false, Distro::K3s),
            Some((Kind::CertExpired, Severity::Critical)),
        ),
        (
            "exactly at not_after is expired",
            |s| cert(s, 0, false, Distro::K3s),
            Some((Kind::CertExpired, Severity::Critical)),
        ),
        (
            "exactly 7 days left is critical",
            |s| cert(s, 7 * DAY, false, Distro::K3s),
            Some((Kind::CertExpiring, Severity::Critical)),
        ),
        (
            "just over 7 days left is a warning",
            |s| cert(s, 7 * DAY + 1, false, Distro::K3s),
            Some((Kind::CertExpiring, Severity::Warning)),
        ),
        (
            "exactly 30 days left is a warning",
            |s| cert(s, 30 * DAY, true, Distro::K3s),
            Some((Kind::CertExpiring, Severity::Warning)),
        ),
        (
            "a K3s leaf just over 30 days left renews at restart",
            |s| cert(s, 30 * DAY + 1, false, Distro::K3s),
            Some((Kind::CertRenewWindow, Severity::Info)),
        ),
        (
            "a K3s leaf with 119 days left renews at restart",
            |s| cert(s, 119 * DAY, false, Distro::K3s),
            Some((Kind::CertRenewWindow, Severity::Info)),
        ),
        (
            "a K3s leaf with exactly 120 days left is outside the window",
            |s| cert(s, 120 * DAY, false, Distro::K3s),
            None,
        ),
        (
            "a CA with 60 days left is not renewed by a restart",
            |s| cert(s, 60 * DAY, true, Distro::K3s),
            None,
        ),
        (
            "a MicroK8s leaf with 60 days left is not K3s's renew window",
            |s| cert(s, 60 * DAY, false, Distro::MicroK8s),
            None,
        ),
    ];
    for (name, set, want) in rows {
        let st = super::node_state(0, set);
        let found = super::super::node(&st, &Default::default(), now());
        let want: Vec<_> = want
            .map(|(k, s)| (k, s, Some(PATH.to_owned())))
            .into_iter()
            .collect();
        assert_eq!(super::shape(&found, KINDS), want, "{name}");
    }
}

#[test]
fn an_expiry_is_judged_at_now_even_from_an_old_inventory() {
    // The inventory came with the first sample; the certificate expired since.
    let mut st = super::node_state(0, same);
    let not_after = st
        .inventory()
        .and_then(|i| i.value.certificates.first().map(|c| c.not_after))
        .expect("synthetic certificates");
    st.last_seen = UnixMillis(not_after.0 + DAY);
    let found = super::super::node(&st, &Default::default(), UnixMillis(not_after.0 + DAY + 1));
    assert!(
        found
            .iter()
            .any(|f| f.kind == Kind::CertExpired && f.measured_at == Some(UnixMillis(super::START))),
        "{found:#?}"
    );
}

#[test]
fn clock_synchronisation() {
    run(
        &[
            Row {
                name: "an unsynchronised kernel clock is a warning",
                sample: |s| {
                    with_inventory(s, |inv| {
                        if let Section::Data(c) = &mut inv.clock {
                            c.synchronized = false;
                            c.est_error_us = 2_500_000;
                        }
                    });
                },
                state: same,
                expect: &[(Kind::ClockUnsynchronized, Severity::Warning, None)],
                evidence: &[("est_error_us", "2500000")],
            },
            Row {
                name: "a clock the agent cannot read is unknown",
                sample: |s| {
                    with_inventory(s, |inv| {
                        inv.clock =
                            Section::unavailable(UnavailableReason::Failed, "adjtimex EPERM");
                    });
                },
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("inventory/clock"))],
                evidence: &[("detail", "adjtimex EPERM")],
            },
            Row {
                name: "an inventory that never came is unknown",
                sample: same,
                state: |st| st.inventory = Default::default(),
                expect: &[(Kind::Unknown, Severity::Info, Some("inventory"))],
                evidence: &[("reason", "never_reported")],
            },
        ],
        KINDS,
    );
}
