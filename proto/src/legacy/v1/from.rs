//! v1 values → current values (and the current reply → v1). Every decision, with its reason,
//! is listed in the module doc of [`crate::codec::legacy`]; this file only carries them out.
//!
//! Invariant: nothing here invents a measurement. What a v1 agent did not report becomes an
//! `Unavailable` section with reason `Disabled` ("not part of this agent build") or `None`; a
//! current struct that needs a value v1 never had, and has no way to say "unknown", is not
//! built at all: its section is `Unavailable` and the detail carries what v1 did report.

use super as v1;
use crate::batch::Batch;
use crate::bounded::Bounded;
use crate::datastore::{Datastore, DatastoreHealth, DiskAudit, Dqlite, Etcd, EtcdHealth};
use crate::inventory::{Clock, ConfigDigest, Inventory};
use crate::kubelet::{KubeletHealth, Pods};
use crate::pressure::NodePressure;
use crate::reply::{RejectReason, Reply, StreamAck, Verdict};
use crate::sample::{Sample, Section, Unavailable, UnavailableReason};
use std::fmt::Debug;

/// Every detail starts with this, so an operator knows upgrading the agent fixes it.
const SENDER: &str = "sent by a protocol-1 agent, which does not report";

fn not_reported<T>(what: &str) -> Section<T> {
    Section::unavailable(UnavailableReason::Disabled, format!("{SENDER} {what}"))
}

/// Not reported, but v1 had something close: keep it for the operator in the detail.
fn not_reported_but<T>(what: &str, v1_had: impl Debug) -> Section<T> {
    Section::unavailable(
        UnavailableReason::Disabled,
        format!("{SENDER} {what}; it reported {v1_had:?}"),
    )
}

/// Maps a v1 section; `data` decides what its data becomes (possibly not data).
fn section<A, B>(s: v1::Section<A>, data: impl FnOnce(A) -> Section<B>) -> Section<B> {
    match s {
        v1::Section::Data(a) => data(a),
        v1::Section::Unavailable(u) => Section::Unavailable(u.into()),
        v1::Section::NotDue { last } => Section::NotDue { last },
    }
}

/// Maps every item of a bounded sequence into a bound at least as large.
fn bounded<A, B, const N: usize, const M: usize>(
    v: Bounded<A, N>,
    f: impl FnMut(A) -> B,
) -> Bounded<B, M> {
    const { assert!(N <= M, "a current bound is smaller than v1's") };
    // Cannot fail: at most N ≤ M items (checked at compile time above).
    Bounded::try_from(v.into_vec().into_iter().map(f).collect::<Vec<_>>()).unwrap_or_default()
}

impl From<v1::UnavailableReason> for UnavailableReason {
    fn from(r: v1::UnavailableReason) -> Self {
        use v1::UnavailableReason as R;
        match r {
            R::Disabled => Self::Disabled,
            R::NotApplicable => Self::NotApplicable,
            R::NotFound => Self::NotFound,
            R::PermissionDenied => Self::PermissionDenied,
            R::Unreachable => Self::Unreachable,
            R::Timeout => Self::Timeout,
            R::Unauthorized => Self::Unauthorized,
            R::Unparseable => Self::Unparseable,
            R::Failed => Self::Failed,
        }
    }
}

impl From<v1::Unavailable> for Unavailable {
    fn from(u: v1::Unavailable) -> Self {
        Unavailable {
            reason: u.reason.into(),
            detail: u.detail,
        }
    }
}

impl From<v1::Batch> for Batch {
    /// The header is unchanged and still names protocol 1: it says what the agent spoke.
    fn from(b: v1::Batch) -> Self {
        Batch {
            header: b.header,
            samples: bounded(b.samples, Sample::from),
            gaps: bounded(b.gaps, |g| g),
        }
    }
}

impl From<v1::Sample> for Sample {
    fn from(s: v1::Sample) -> Self {
        Sample {
            seq: s.seq,
            at: s.at,
            pressure: section(s.pressure, |p| Section::Data(p.into())),
            kubelet: section(s.kubelet, |k| Section::Data(k.into())),
            datastore: section(s.datastore, |d| Section::Data(d.into())),
            inventory: section(s.inventory, inventory),
        }
    }
}

impl From<v1::NodePressure> for NodePressure {
    fn from(p: v1::NodePressure) -> Self {
        NodePressure {
            memory: section(p.memory, Section::Data),
            psi: section(p.psi, Section::Data),
            filesystems: p.filesystems,
            pids: section(p.pids, Section::Data),
            load: p.load,
            uptime_secs: p.uptime_secs,
            eviction: not_reported("eviction thresholds or margins"),
        }
    }
}

impl From<v1::KubeletHealth> for KubeletHealth {
    fn from(k: v1::KubeletHealth) -> Self {
        let metrics = match k.version {
            Some(version) => Section::unavailable(
                UnavailableReason::Disabled,
                format!("{SENDER} kubelet metrics; it reported kubelet version {version}"),
            ),
            None => not_reported("kubelet metrics"),
        };
        KubeletHealth {
            healthz: Section::Data(k.healthz),
            metrics,
            pods: section(k.api, pods),
            scheduling: not_reported("requests, allocatable or usage"),
            configz: not_reported("the kubelet's configuration"),
        }
    }
}

/// Current `Pods` needs QoS classes, evictions and troubled containers, which v1 never had.
fn pods(api: v1::KubeletApi) -> Section<Pods> {
    not_reported_but("pod QoS classes, evictions or troubled containers", api)
}

impl From<v1::DatastoreHealth> for DatastoreHealth {
    fn from(d: v1::DatastoreHealth) -> Self {
        DatastoreHealth {
            kind: d.kind.into(),
            disk_audit: section(d.disk_audit, |a| Section::Data(a.into())),
        }
    }
}

impl From<v1::Datastore> for Datastore {
    fn from(d: v1::Datastore) -> Self {
        match d {
            v1::Datastore::None => Datastore::None,
            // The scheme is a label: empty means "not given", as for other labels.
            v1::Datastore::External => Datastore::External {
                scheme: String::new(),
            },
            v1::Datastore::KineSqlite(s) => Datastore::KineSqlite(not_reported_but(
                "the SQLite page size or the integrity check's duration",
                s,
            )),
            v1::Datastore::Etcd(e) => Datastore::Etcd(Box::new(etcd(e))),
            v1::Datastore::Dqlite(d) => Datastore::Dqlite(Section::Data(d.into())),
        }
    }
}

fn etcd(e: v1::Etcd) -> Etcd {
    Etcd {
        health: Section::Data(EtcdHealth {
            healthy: e.healthy,
            reason: String::new(),
        }),
        status: Section::unavailable(
            UnavailableReason::Disabled,
            format!(
                "{SENDER} etcd's status; it reported {} members, alarms {:?}",
                e.members, e.alarms
            ),
        ),
        metrics: not_reported_but("pending proposals or peer round-trip times", &e),
        snapshots: not_reported("etcd snapshots"),
    }
}

impl From<v1::Dqlite> for Dqlite {
    fn from(d: v1::Dqlite) -> Self {
        Dqlite {
            ha: d.ha,
            local: None,
            members: d.members,
        }
    }
}

impl From<v1::DiskAudit> for DiskAudit {
    fn from(a: v1::DiskAudit) -> Self {
        DiskAudit {
            // v1 audited the datastore's disk without naming the directory.
            path: String::new(),
            writes: a.writes,
            bytes_per_write: a.bytes_per_write,
            p50_us: a.p50_us,
            p99_us: a.p99_us,
            max_us: a.max_us,
        }
    }
}

/// An inventory with certificates cannot be built: current certificates need a not-before
/// date. Without certificates, everything else maps.
fn inventory(i: v1::Inventory) -> Section<Inventory> {
    if let Some(first) = i.certificates.iter().min_by_key(|c| c.not_after) {
        return Section::unavailable(
            UnavailableReason::Disabled,
            format!(
                "{SENDER} certificates' not-before dates; it reported {:?} {} ({:?}), kubelet {}, \
                 agent {}, {} certificates, the first to expire being {} at {} ms since the epoch",
                i.distro,
                i.distro_version.as_deref().unwrap_or("(unknown version)"),
                i.role,
                i.kubelet_version.as_deref().unwrap_or("(unknown)"),
                i.agent_version,
                i.certificates.len(),
                first.path,
                first.not_after.0,
            ),
        );
    }
    Section::Data(Inventory {
        distro: i.distro,
        distro_version: i.distro_version,
        kubelet_version: i.kubelet_version,
        kernel: i.kernel,
        os: i.os,
        containerd_version: i.containerd_version,
        agent_version: i.agent_version,
        role: i.role,
        cluster_identity: not_reported("a cluster identity"),
        distro_started_at: None,
        certificates: Bounded::new(),
        clock: section(i.clock, clock),
        config: bounded(i.config, ConfigDigest::from),
    })
}

/// Current `Clock` needs the estimated error and the time it was read.
fn clock(c: v1::Clock) -> Section<Clock> {
    not_reported_but("the clock's estimated error or when it was read", c)
}

impl From<v1::ConfigDigest> for ConfigDigest {
    fn from(d: v1::ConfigDigest) -> Self {
        ConfigDigest {
            key: d.key,
            sha256: d.sha256,
            value: None,
            modified_at: None,
        }
    }
}

impl From<v1::Reply> for Reply {
    fn from(r: v1::Reply) -> Self {
        Reply {
            verdict: match r.verdict {
                v1::Verdict::Accepted => Verdict::Accepted,
                v1::Verdict::RetryLater { detail } => Verdict::RetryLater { detail },
                v1::Verdict::Rejected { reason, detail } => Verdict::Rejected {
                    reason: match reason {
                        v1::RejectReason::Malformed => RejectReason::Malformed,
                        v1::RejectReason::TooLarge => RejectReason::TooLarge,
                        v1::RejectReason::Unauthenticated => RejectReason::Unauthenticated,
                        v1::RejectReason::IdentityMismatch => RejectReason::IdentityMismatch,
                    },
                    detail,
                },
            },
            acks: bounded(r.acks, |a| StreamAck {
                stream: a.stream,
                acked_through: a.acked_through,
            }),
            retry_after_ms: r.retry_after_ms,
            protocol: r.protocol,
        }
    }
}

impl From<&Reply> for v1::Reply {
    fn from(r: &Reply) -> Self {
        v1::Reply {
            verdict: match &r.verdict {
                Verdict::Accepted => v1::Verdict::Accepted,
                Verdict::RetryLater { detail } => v1::Verdict::RetryLater {
                    detail: detail.clone(),
                },
                Verdict::Rejected { reason, detail } => v1::Verdict::Rejected {
                    reason: match reason {
                        RejectReason::Malformed => v1::RejectReason::Malformed,
                        RejectReason::TooLarge => v1::RejectReason::TooLarge,
                        RejectReason::Unauthenticated => v1::RejectReason::Unauthenticated,
                        RejectReason::IdentityMismatch => v1::RejectReason::IdentityMismatch,
                    },
                    detail: detail.clone(),
                },
            },
            acks: bounded(r.acks.clone(), |a| v1::StreamAck {
                stream: a.stream,
                acked_through: a.acked_through,
            }),
            retry_after_ms: r.retry_after_ms,
            protocol: r.protocol,
        }
    }
}
