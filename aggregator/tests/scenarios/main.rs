//! Fleet scenarios end to end: each fleet is built from batches posted through the real ingest
//! path (HTTP, bearer tokens, decode, the embedded store), evaluated with a policy file, and
//! read back through `/v1/findings`, `/v1/clusters/{id}`, `/v1/upgrade-plan` (JSON and SUC).

mod harness;
#[path = "../support_am/mod.rs"]
#[allow(dead_code)]
mod support_am;

use edgeward_proto::datastore::{Datastore, DiskAudit, Sqlite};
use edgeward_proto::inventory::NodeRole;
use edgeward_proto::{Sample, Section, UnavailableReason, UnixMillis};
use edgeward_runtime::clock;
use harness::{Central, NodeSpec, etcd_identity};
use serde_json::Value;

const OLD: &str = "v1.30.6+k3s1";
const TARGET: &str = "v1.31.4+k3s1";

fn policy(extra: &str) -> String {
    format!("[defaults]\ntarget = \"{TARGET}\"\nmax_unavailable = 2\n\n{extra}")
}

fn etcd(s: &mut Sample, f: impl FnOnce(&mut edgeward_proto::datastore::Etcd)) {
    if let Section::Data(ds) = &mut s.datastore
        && let Datastore::Etcd(e) = &mut ds.kind
    {
        f(e);
    }
}

fn has(ids: &[String], prefix: &str) -> bool {
    ids.iter().any(|i| i.starts_with(prefix))
}

/// The plan entry (step) of `node` in the JSON plan of its cluster.
fn step<'a>(plan: &'a Value, node: &str) -> &'a Value {
    plan["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["steps"].as_array().into_iter().flatten())
        .find(|s| s["node"] == node)
        .unwrap_or_else(|| panic!("no step for {node} in {plan:#}"))
}

fn blockers(step: &Value) -> String {
    step["blockers"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_server_etcd_cluster_with_one_unhealthy_member_blocks_the_other_servers() {
    let nodes: Vec<NodeSpec> = (0..3)
        .map(|i| NodeSpec::new(i, &format!("etcd3-s{i}"), "etcd3", NodeRole::Server, OLD))
        .collect();
    let central = Central::start(&nodes, &policy("")).await;
    let now = clock::now();
    for (i, n) in nodes.iter().enumerate() {
        let me = i as u64 + 1;
        let b = n.batch(5, now, |s| {
            etcd_identity(s, me, 1, &[1, 2, 3]);
            if me == 3 {
                etcd(s, |e| {
                    e.health = Section::Data(edgeward_proto::datastore::EtcdHealth {
                        healthy: false,
                        reason: "context deadline exceeded".to_owned(),
                    });
                });
            }
        });
        central.post(&b).await;
    }
    central.evaluate(now).await;
    let ids = central.finding_ids("cluster=etcd3").await;
    assert!(has(&ids, "etcd_unhealthy/etcd3/etcd3-s2"), "{ids:?}");
    assert!(has(&ids, "quorum_at_risk/etcd3"), "{ids:?}");
    let plan = central.get("/v1/upgrade-plan?cluster=etcd3").await;
    let plan = serde_json::json!({ "clusters": [plan] });
    for healthy in ["etcd3-s0", "etcd3-s1"] {
        let s = step(&plan, healthy);
        assert_eq!(s["ready"], false, "{s:#}");
        let b = blockers(s);
        assert!(b.contains("quorum"), "{healthy}: {b}");
        assert!(
            b.contains("etcd3-s2"),
            "{healthy} must name the unhealthy member: {b}"
        );
    }
    let sick = step(&plan, "etcd3-s2");
    assert_eq!(sick["ready"], false);
    assert!(
        blockers(sick).contains("etcd_unhealthy"),
        "{}",
        blockers(sick)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_server_sqlite_cluster_may_upgrade_with_control_plane_downtime_flagged() {
    let server = NodeSpec::new(10, "kine-s0", "kine1", NodeRole::Server, OLD);
    let agent = NodeSpec::new(11, "kine-a0", "kine1", NodeRole::Agent, OLD);
    let windows = "[[windows]]\nname = \"weekend-nights\"\ndays = [\"sat\", \"sun\"]\nstart = \"01:00\"\nend = \"05:00\"\ntime_zone = \"Europe/Berlin\"\n\n[[groups]]\nname = \"shops\"\nclusters = [\"kine1\"]\nwindows = [\"weekend-nights\"]\n";
    let central = Central::start(&[server.clone(), agent.clone()], &policy(windows)).await;
    let now = clock::now();
    let b = server.batch(5, now, |s| {
        if let Section::Data(ds) = &mut s.datastore {
            ds.kind = Datastore::KineSqlite(Section::Data(Sqlite {
                current_revision: 5_000,
                compacted_revision: 4_900,
                db_bytes: 8 << 20,
                wal_bytes: 1 << 20,
                page_size: 4096,
                page_count: 2048,
                freelist_count: 10,
                quick_check: Section::NotDue { last: None },
            }));
        }
    });
    central.post(&b).await;
    central.post(&agent.batch(5, now, |_| {})).await;
    central.evaluate(now).await;
    let ids = central.finding_ids("cluster=kine1").await;
    assert!(has(&ids, "single_server_downtime/kine1"), "{ids:?}");
    let plan = central.get("/v1/upgrade-plan?cluster=kine1").await;
    let plan = serde_json::json!({ "clusters": [plan] });
    let s = step(&plan, "kine-s0");
    assert_eq!(s["ready"], true, "{s:#}");
    let suc = central
        .get_text("/v1/upgrade-plan?format=suc&cluster=kine1")
        .await;
    assert_eq!(suc.0, 200);
    // Server plan then agent plan (waiting for it), the group's concurrency and window.
    assert_eq!(suc.1, include_str!("expected/kine1-suc.yaml"), "{}", suc.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelets_four_minors_behind_their_api_server_violate_skew() {
    let server = NodeSpec::new(20, "skew-s0", "skew1", NodeRole::Server, "v1.31.4+k3s1");
    let agent = NodeSpec::new(21, "skew-a0", "skew1", NodeRole::Agent, "v1.27.16+k3s1");
    let central = Central::start(&[server.clone(), agent.clone()], &policy("")).await;
    let now = clock::now();
    central.post(&server.batch(3, now, |_| {})).await;
    central.post(&agent.batch(3, now, |_| {})).await;
    central.evaluate(now).await;
    let v = central.get("/v1/findings?kind=version_skew").await;
    let f = v["findings"].as_array().expect("findings");
    assert!(
        f.iter()
            .any(|f| f["node"] == "skew-a0" && f["severity"] == "critical"),
        "{v:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_two_minors_apart_violate_skew() {
    let a = NodeSpec::new(30, "apart-s0", "apart1", NodeRole::Server, "v1.31.4+k3s1");
    let b = NodeSpec::new(31, "apart-s1", "apart1", NodeRole::Server, "v1.29.10+k3s1");
    let central = Central::start(&[a.clone(), b.clone()], &policy("")).await;
    let now = clock::now();
    central.post(&a.batch(3, now, |_| {})).await;
    central.post(&b.batch(3, now, |_| {})).await;
    central.evaluate(now).await;
    let v = central
        .get("/v1/findings?kind=version_skew&cluster=apart1")
        .await;
    assert!(v["count"].as_u64().unwrap_or(0) >= 1, "{v:#}");
    assert!(
        v.to_string().contains("v1.29.10+k3s1"),
        "evidence names the versions: {v:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_registries_yaml_is_named_against_peers_and_as_restart_pending() {
    let nodes: Vec<NodeSpec> = (0..4)
        .map(|i| NodeSpec::new(40, &format!("reg-a{i}"), "reg1", NodeRole::Agent, TARGET))
        .collect();
    let central = Central::start(&nodes, &policy("")).await;
    let now = clock::now();
    for (i, n) in nodes.iter().enumerate() {
        let b = n.batch(3, now, |s| {
            if let (3, Section::Data(inv)) = (i, &mut s.inventory) {
                let mut config = std::mem::take(&mut inv.config).into_vec();
                for d in config.iter_mut().filter(|d| d.key == "k3s/registries.yaml") {
                    d.sha256 = [0xAB; 32];
                    d.modified_at = Some(UnixMillis(now.0 - 60_000));
                }
                inv.config = edgeward_proto::Bounded::try_from(config).expect("same length");
            }
        });
        central.post(&b).await;
    }
    central.evaluate(now).await;
    let ids = central.finding_ids("node=reg-a3").await;
    assert!(
        has(&ids, "drift_peers/reg1/reg-a3/k3s/registries.yaml"),
        "{ids:?}"
    );
    assert!(has(&ids, "restart_pending/reg1/reg-a3"), "{ids:?}");
    let others = central.finding_ids("kind=drift_peers&node=reg-a0").await;
    assert!(others.is_empty(), "the majority is not drift: {others:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhealthy_canaries_halt_the_rollout() {
    let canary = NodeSpec::new(50, "canary-s0", "canary1", NodeRole::Server, TARGET);
    let canary_agent = NodeSpec::new(51, "canary-a0", "canary1", NodeRole::Agent, TARGET);
    let rest = NodeSpec::new(52, "rest-s0", "rest1", NodeRole::Server, OLD);
    let groups = "[[groups]]\nname = \"lab\"\ncanary = true\nclusters = [\"canary1\"]\n";
    let central = Central::start(
        &[canary.clone(), canary_agent.clone(), rest.clone()],
        &policy(groups),
    )
    .await;
    let now = clock::now();
    central.post(&canary.batch(3, now, |_| {})).await;
    central
        .post(&canary_agent.batch(3, now, |s| {
            if let Section::Data(k) = &mut s.kubelet {
                k.healthz =
                    Section::unavailable(UnavailableReason::Unreachable, "connection refused");
            }
        }))
        .await;
    central.post(&rest.batch(3, now, |_| {})).await;
    central.evaluate(now).await;
    let ids = central.finding_ids("kind=rollout_halted").await;
    assert!(!ids.is_empty(), "halted: {ids:?}");
    let plan = central.get("/v1/upgrade-plan").await;
    assert!(!plan["halted"].is_null(), "{plan:#}");
    let s = step(&plan, "rest-s0");
    assert_eq!(s["ready"], false, "{s:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_silent_for_three_intervals_is_stale_not_healthy() {
    let quiet = NodeSpec::new(60, "quiet-a0", "quiet1", NodeRole::Agent, TARGET);
    let chatty = NodeSpec::new(61, "chatty-a0", "quiet1", NodeRole::Agent, TARGET);
    let central = Central::start(&[quiet.clone(), chatty.clone()], &policy("")).await;
    let t0 = clock::now();
    central.post(&quiet.batch(5, t0, |_| {})).await;
    // Silence for more than 3 intervals (INTERVAL_MS = 1 s), while the other keeps reporting.
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let t1 = clock::now();
    central.post(&chatty.batch(5, t1, |_| {})).await;
    central.evaluate(t1).await;
    let ids = central.finding_ids("kind=node_stale").await;
    assert_eq!(ids, vec!["node_stale/quiet1/quiet-a0".to_owned()]);
    let c = central.get("/v1/clusters/quiet1").await;
    let state = |n: &str| {
        c["nodes"]
            .as_array()
            .and_then(|ns| ns.iter().find(|x| x["id"] == n))
            .map(|x| x["health"].clone())
    };
    assert_eq!(state("quiet-a0"), Some(Value::from("stale")), "{c:#}");
    assert_ne!(state("chatty-a0"), Some(Value::from("stale")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_disk_explains_slow_etcd() {
    let n = NodeSpec::new(70, "sd-s0", "sdcard1", NodeRole::Server, TARGET);
    let central = Central::start(std::slice::from_ref(&n), &policy("")).await;
    let now = clock::now();
    let b = n.batch(5, now, |s| {
        etcd_identity(s, 1, 1, &[1]);
        etcd(s, |e| {
            if let Section::Data(m) = &mut e.metrics {
                m.wal_fsync_p99_secs = Some(0.8);
            }
        });
        if let Section::Data(ds) = &mut s.datastore {
            ds.disk_audit = Section::Data(DiskAudit {
                path: "/var/lib/rancher/k3s/server/db".to_owned(),
                writes: 200,
                bytes_per_write: 2300,
                p50_us: 9_000,
                p99_us: 80_000,
                max_us: 250_000,
            });
        }
        if let Section::Data(p) = &mut s.pressure
            && let Section::Data(psi) = &mut p.psi
        {
            psi.io.some.avg10 = 60.0;
            psi.io.some.avg60 = 55.0;
            psi.io.some.avg300 = 40.0;
            if let Some(full) = &mut psi.io.full {
                full.avg10 = 40.0;
                full.avg60 = 35.0;
                full.avg300 = 25.0;
            }
        }
    });
    central.post(&b).await;
    central.evaluate(now).await;
    let v = central.get("/v1/findings?node=sd-s0").await;
    let find = |kind: &str| {
        v["findings"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["kind"] == kind).cloned())
            .unwrap_or_else(|| panic!("no {kind} in {v:#}"))
    };
    let fsync = find("etcd_slow_wal_fsync");
    let disk = find("disk_slow_fdatasync");
    let io = find("io_pressure");
    assert!(
        fsync["caused_by"]
            .as_array()
            .expect("caused_by")
            .contains(&disk["id"]),
        "{fsync:#}"
    );
    assert!(
        disk["caused_by"]
            .as_array()
            .expect("caused_by")
            .contains(&io["id"]),
        "{disk:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_reach_a_real_alertmanager_and_resolve_once_healed() {
    use edgeward_aggregator::config::{Layer, Sourced};
    let hook = support_am::Webhook::start().await;
    let am = support_am::Alertmanager::start(support_am::free_port(), Some(&hook)).await;
    let n = NodeSpec::new(80, "alerting-a0", "alerting1", NodeRole::Agent, TARGET);
    let extra = Layer {
        alertmanager_urls: Some(Sourced::default_value(
            am.url.as_str().trim_end_matches('/'),
        )),
        alertmanager_resend_every: Some(Sourced::default_value("1s")),
        external_url: Some(Sourced::default_value("https://edgeward.example:7443")),
        ..Layer::default()
    };
    let central = Central::start_with(std::slice::from_ref(&n), &policy(""), extra).await;
    let t0 = clock::now();
    central
        .post(&n.batch(3, t0, |s| {
            if let Section::Data(k) = &mut s.kubelet {
                k.healthz =
                    Section::unavailable(UnavailableReason::Unreachable, "connection refused");
            }
        }))
        .await;
    central.evaluate(t0).await;
    let alert = support_am::eventually(
        "the kubelet alert in Alertmanager",
        std::time::Duration::from_secs(15),
        || async {
            am.alerts()
                .await
                .into_iter()
                .find(|a| a["labels"]["alertname"] == "EdgewardKubeletDown")
        },
    )
    .await;
    assert_eq!(alert["labels"]["severity"], "critical", "{alert:#}");
    assert_eq!(alert["labels"]["cluster"], "alerting1");
    assert_eq!(alert["labels"]["node"], "alerting-a0");
    assert_eq!(
        alert["labels"]["finding"],
        "kubelet_down/alerting1/alerting-a0"
    );
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{alert:#}"
    );
    assert!(
        alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://edgeward.example:7443/v1/findings")),
        "{alert:#}"
    );
    // Alertmanager tells a receiver about a resolve only for an alert it notified as firing.
    support_am::eventually(
        "the firing notification",
        std::time::Duration::from_secs(15),
        || async {
            hook.notified().into_iter().find(|a| {
                a["status"] == "firing" && a["labels"]["alertname"] == "EdgewardKubeletDown"
            })
        },
    )
    .await;
    // The kubelet answers again: a newer batch, a new evaluation, the alert resolves.
    let t1 = clock::now();
    let healed = n.batch(3, t1, |_| {});
    let mut healed = healed;
    healed.header.first_seq = edgeward_proto::Seq(4);
    healed.header.last_seq = edgeward_proto::Seq(6);
    let mut samples = std::mem::take(&mut healed.samples).into_vec();
    for (i, s) in samples.iter_mut().enumerate() {
        s.seq = edgeward_proto::Seq(4 + i as u64);
    }
    healed.samples = edgeward_proto::Bounded::try_from(samples).expect("3 samples");
    central.post(&healed).await;
    central.evaluate(t1).await;
    let still = central.finding_ids("kind=kubelet_down").await;
    assert!(still.is_empty(), "healed: {still:?}");
    support_am::eventually(
        "the resolved notification",
        std::time::Duration::from_secs(20),
        || async {
            hook.notified().into_iter().find(|a| {
                a["status"] == "resolved" && a["labels"]["alertname"] == "EdgewardKubeletDown"
            })
        },
    )
    .await;
    assert!(
        am.alerts()
            .await
            .iter()
            .all(|a| a["labels"]["alertname"] != "EdgewardKubeletDown"),
        "resolved alerts are no longer active"
    );
}
