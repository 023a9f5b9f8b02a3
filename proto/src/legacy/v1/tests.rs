//! The v1 → v2 decisions of [`crate::codec::legacy`] that the golden and property tests do not
//! pin down one by one, and the bound on the text the conversion writes.

use super as v1;
use crate::bounded::Bounded;
use crate::datastore::{Datastore, DqliteMember, DqliteRole};
use crate::ident::{Seq, UnixMillis};
use crate::inventory::{Distro, NodeRole};
use crate::kubelet::{Healthz, PodPhases};
use crate::pressure::{Load, Memory, Pids};
use crate::sample::{Sample, Section, UnavailableReason};

fn unavailable<T>(reason: v1::UnavailableReason, detail: &str) -> v1::Section<T> {
    v1::Section::Unavailable(v1::Unavailable {
        reason,
        detail: detail.into(),
    })
}

/// A v1 sample whose every convertible-only-to-text value is at its longest.
fn wordiest_sample() -> v1::Sample {
    let phases = PodPhases {
        pending: u32::MAX,
        running: u32::MAX,
        succeeded: u32::MAX,
        failed: u32::MAX,
        unknown: u32::MAX,
    };
    v1::Sample {
        seq: Seq(1),
        at: UnixMillis(0),
        pressure: v1::Section::Data(v1::NodePressure {
            memory: v1::Section::Data(Memory {
                total_bytes: u64::MAX,
                available_bytes: u64::MAX,
            }),
            psi: v1::Section::NotDue { last: None },
            filesystems: Bounded::new(),
            pids: v1::Section::Data(Pids {
                in_use: 1,
                limit: 2,
            }),
            load: Load {
                one: 0.0,
                five: 0.0,
                fifteen: 0.0,
            },
            uptime_secs: 1,
        }),
        kubelet: v1::Section::Data(v1::KubeletHealth {
            healthz: Healthz::Ok,
            version: Some(String::new()),
            api: v1::Section::Data(v1::KubeletApi {
                pods: phases,
                container_restarts: u64::MAX,
                crash_looping: u32::MAX,
                oom_killed: u32::MAX,
            }),
        }),
        datastore: v1::Section::Data(v1::DatastoreHealth {
            kind: v1::Datastore::Etcd(v1::Etcd {
                healthy: false,
                has_leader: false,
                is_leader: false,
                leader_changes: u64::MAX,
                proposals_failed: u64::MAX,
                db_size_bytes: u64::MAX,
                db_in_use_bytes: u64::MAX,
                quota_bytes: u64::MAX,
                wal_fsync_p99_secs: Some(f32::MIN_POSITIVE),
                backend_commit_p99_secs: Some(-f32::MAX),
                members: u32::MAX,
                alarms: Bounded::new(),
            }),
            disk_audit: v1::Section::NotDue { last: None },
        }),
        inventory: v1::Section::Data(v1::Inventory {
            distro: Distro::MicroK8s,
            distro_version: None,
            kubelet_version: None,
            kernel: String::new(),
            os: String::new(),
            containerd_version: None,
            agent_version: String::new(),
            role: NodeRole::Unknown,
            certificates: Bounded::try_from(vec![v1::Certificate {
                path: String::new(),
                not_after: UnixMillis(i64::MIN),
                is_ca: false,
            }])
            .unwrap(),
            clock: v1::Section::NotDue { last: None },
            config: Bounded::new(),
        }),
    }
}

fn detail_len<T>(s: &Section<T>) -> usize {
    match s {
        Section::Unavailable(u) => u.detail.len(),
        _ => 0,
    }
}

/// The bound `legacy/mod.rs` states for the memory of decoding a v1 batch.
#[test]
fn conversion_writes_at_most_about_one_and_a_half_kib_of_text_per_sample() {
    let s = Sample::from(wordiest_sample());
    let mut text = detail_len(&s.inventory);
    let p = s.pressure.data().unwrap();
    text += detail_len(&p.eviction);
    let k = s.kubelet.data().unwrap();
    text += detail_len(&k.metrics)
        + detail_len(&k.pods)
        + detail_len(&k.scheduling)
        + detail_len(&k.configz);
    let Datastore::Etcd(e) = &s.datastore.data().unwrap().kind else {
        panic!("etcd converts to etcd");
    };
    text += detail_len(&e.health)
        + detail_len(&e.status)
        + detail_len(&e.metrics)
        + detail_len(&e.snapshots);
    // A sample has one datastore kind; kine's detail is shorter than etcd's three.
    assert!((1_000..=1_600).contains(&text), "{text} bytes of detail");
}

#[test]
fn an_unavailable_v1_kubelet_api_leaves_pods_unavailable_for_the_same_reason() {
    let mut s = wordiest_sample();
    if let v1::Section::Data(k) = &mut s.kubelet {
        k.api = unavailable(v1::UnavailableReason::Unauthorized, "403 from :10250");
    }
    let k = Sample::from(s).kubelet.data().unwrap().clone();
    assert_eq!(
        k.pods,
        Section::unavailable(UnavailableReason::Unauthorized, "403 from :10250")
    );
    assert!(matches!(
        k.metrics,
        Section::Unavailable(u) if u.reason == UnavailableReason::Disabled
    ));
}

#[test]
fn datastore_kinds_are_kept_even_when_their_health_cannot_be() {
    let convert = |kind| {
        let mut s = wordiest_sample();
        s.datastore = v1::Section::Data(v1::DatastoreHealth {
            kind,
            disk_audit: v1::Section::Data(v1::DiskAudit {
                writes: 1,
                bytes_per_write: 2,
                p50_us: 3,
                p99_us: 4,
                max_us: 5,
            }),
        });
        Sample::from(s).datastore.data().unwrap().clone()
    };
    let external = convert(v1::Datastore::External);
    assert_eq!(
        external.kind,
        Datastore::External {
            scheme: String::new()
        }
    );
    let audit = external.disk_audit.data().unwrap();
    assert_eq!((audit.path.as_str(), audit.p99_us), ("", 4));

    let sqlite = convert(v1::Datastore::KineSqlite(v1::Sqlite {
        current_revision: 7,
        compacted_revision: 5,
        db_bytes: 4096,
        wal_bytes: 0,
        page_count: 1,
        freelist_count: 0,
        quick_check: v1::Section::Data(true),
    }));
    let Datastore::KineSqlite(Section::Unavailable(u)) = sqlite.kind else {
        panic!("kine without a page size is not data");
    };
    assert!(u.detail.contains("current_revision: 7"), "{}", u.detail);

    let member = DqliteMember {
        address: "10.0.0.1:19001".into(),
        id: 1,
        role: DqliteRole::Voter,
    };
    let dqlite = convert(v1::Datastore::Dqlite(v1::Dqlite {
        ha: true,
        members: Bounded::try_from(vec![member.clone()]).unwrap(),
    }));
    let Datastore::Dqlite(Section::Data(d)) = dqlite.kind else {
        panic!("dqlite converts");
    };
    assert_eq!((d.ha, d.local, &d.members[..]), (true, None, &[member][..]));
}

#[test]
fn an_inventory_converts_unless_it_carries_certificates() {
    let with = Sample::from(wordiest_sample());
    let Section::Unavailable(u) = &with.inventory else {
        panic!("certificates without not-before dates cannot convert");
    };
    assert_eq!(u.reason, UnavailableReason::Disabled);
    assert!(u.detail.contains("1 certificates"), "{}", u.detail);

    let mut s = wordiest_sample();
    if let v1::Section::Data(i) = &mut s.inventory {
        i.certificates = Bounded::new();
        i.config = Bounded::try_from(vec![v1::ConfigDigest {
            key: "sysctl:kernel.panic".into(),
            sha256: [7; 32],
        }])
        .unwrap();
    }
    let i = Sample::from(s).inventory.data().unwrap().clone();
    assert_eq!(i.distro, Distro::MicroK8s);
    assert_eq!(i.clock, Section::NotDue { last: None });
    assert_eq!(
        (i.config[0].value.as_ref(), i.config[0].sha256),
        (None, [7; 32])
    );
    assert!(matches!(i.cluster_identity, Section::Unavailable(_)));
}
