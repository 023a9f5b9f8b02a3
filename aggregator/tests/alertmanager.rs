//! The alert pusher against a real Alertmanager (Debian package `prometheus-alertmanager`):
//! what Alertmanager stores, what its receiver is notified, and what survives an outage.
//!
//! Each test runs its own Alertmanager on a free port with a generated configuration. Real
//! time with small intervals (resend 300 ms – 1 s, group wait/interval 1 s); the whole file
//! takes a few seconds.

mod support_am;

use std::collections::BTreeMap;
use std::time::Duration;

use edgeward_aggregator::alerting::alert::{annotation, label};
use edgeward_aggregator::alerting::{Alert, AlertmanagerOptions, Client, rfc3339};
use edgeward_proto::UnixMillis;
use edgeward_runtime::clock;
use serde_json::{Value, json};
use support_am::{Alertmanager, Pusher, Webhook, eventually, free_port};

const WAIT: Duration = Duration::from_secs(10);

/// A disk-pressure finding on `node`, as the analysis would map it.
fn disk_alert(node: &str, available_bytes: u64) -> Alert {
    let labels = [
        (label::ALERTNAME, "EdgewardNodeDiskPressure"),
        (label::SEVERITY, "warning"),
        (label::CLUSTER, "c-3f9a"),
        (label::NODE, node),
        (label::FINDING, "pressure:nodefs"),
    ];
    let annotations = [
        (annotation::SUMMARY, format!("{node}: nodefs near eviction")),
        (
            annotation::DESCRIPTION,
            "nodefs.available is within 5% of the kubelet's hard-eviction threshold.".into(),
        ),
        ("nodefs_available_bytes", available_bytes.to_string()),
        ("eviction_threshold", "10%".into()),
    ];
    Alert {
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        annotations: annotations
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect(),
        starts_at: UnixMillis(clock::now().0 - 90_000),
        generator_url: Some(format!(
            "https://aggregator.example:8443/v1/findings?node={node}&finding=pressure%3Anodefs"
        )),
    }
}

fn json_map(map: &BTreeMap<String, String>) -> Value {
    json!(map)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_alerts_reach_alertmanager_with_stable_labels_and_evidence() {
    let am = Alertmanager::start(free_port(), None).await;
    let pusher = Pusher::spawn(&am.url, Duration::from_millis(300));
    let (n1, n2) = (disk_alert("n1", 1_000), disk_alert("n2", 2_000));
    pusher.set(vec![n1.clone(), n2.clone()]);

    let held = eventually("both alerts in Alertmanager", WAIT, || async {
        let alerts = am.alerts().await;
        (alerts.len() == 2).then_some(alerts)
    })
    .await;
    for sent in [&n1, &n2] {
        let got = held
            .iter()
            .find(|a| a["labels"]["node"] == sent.labels["node"].as_str())
            .unwrap();
        assert_eq!(
            got["labels"],
            json_map(&sent.labels),
            "labels exactly as sent"
        );
        assert_eq!(got["annotations"], json_map(&sent.annotations));
        assert_eq!(
            got["generatorURL"],
            sent.generator_url.clone().unwrap().as_str()
        );
        assert_eq!(got["startsAt"], rfc3339::format(sent.starts_at).as_str());
        assert_eq!(got["status"]["state"], "active");
        let now = rfc3339::format(clock::now());
        assert!(got["endsAt"].as_str().unwrap() > now.as_str(), "{got}");
    }

    // New evidence updates the same alert: same identity, still two alerts.
    let fingerprint =
        held.iter().find(|a| a["labels"]["node"] == "n1").unwrap()["fingerprint"].clone();
    pusher.set(vec![disk_alert("n1", 500), n2.clone()]);
    let updated = eventually("the new evidence in Alertmanager", WAIT, || async {
        let a = am.alert_of("n1").await?;
        (a["annotations"]["nodefs_available_bytes"] == "500").then_some(a)
    })
    .await;
    assert_eq!(updated["fingerprint"], fingerprint);
    assert_eq!(am.alerts().await.len(), 2);

    let client = Client::new(&AlertmanagerOptions::new(vec![am.url.clone()])).unwrap();
    let status = client.status().await.remove(0).1.unwrap();
    assert_eq!(status.cluster.as_deref(), Some("disabled"), "{status:?}");
    assert!(status.version.is_some(), "{status:?}");
    assert_eq!(pusher.stats.get().pushes_failed, 0);
    pusher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_alert_reaches_alertmanager_with_ends_at_and_the_receiver_gets_resolved() {
    let hook = Webhook::start().await;
    let am = Alertmanager::start(free_port(), Some(&hook)).await;
    // Resend 1 s: had the resolve not been sent, Alertmanager would end the alert by itself
    // only at the last endsAt, ≥ 3 s after the resolve, which the window below excludes.
    let pusher = Pusher::spawn(&am.url, Duration::from_secs(1));
    let n1 = disk_alert("n1", 1_000);
    pusher.set(vec![n1.clone()]);
    eventually("a firing notification", WAIT, || async {
        let notified = hook.notified();
        notified
            .iter()
            .any(|a| a["status"] == "firing")
            .then_some(())
    })
    .await;

    let before = clock::now();
    pusher.set(vec![]);
    eventually("the resolve taken in", WAIT, || async {
        (pusher.stats.get().pending_resolves == 1).then_some(())
    })
    .await;
    let after = clock::now();
    let resolved = eventually("a resolved notification", WAIT, || async {
        let notified = hook.notified();
        notified.into_iter().find(|a| a["status"] == "resolved")
    })
    .await;
    assert_eq!(resolved["labels"], json_map(&n1.labels));
    assert_eq!(resolved["startsAt"], rfc3339::format(n1.starts_at).as_str());
    let ends_at = resolved["endsAt"].as_str().unwrap();
    assert!(
        rfc3339::format(before).as_str() <= ends_at && ends_at <= rfc3339::format(after).as_str(),
        "endsAt {ends_at} is the resolve time, between {before:?} and {after:?}"
    );
    assert!(am.alerts().await.is_empty());
    // The resolve is re-sent with the next two re-sends, then forgotten.
    eventually("the resolve delivered three times", WAIT, || async {
        let stats = pusher.stats.get();
        (stats.pending_resolves == 0 && stats.active == 0).then_some(())
    })
    .await;
    pusher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_arrive_once_alertmanager_comes_back() {
    let port = free_port();
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let pusher = Pusher::spawn(&url, Duration::from_millis(300));
    let (n1, n2) = (disk_alert("n1", 1_000), disk_alert("n2", 2_000));
    pusher.set(vec![n1.clone(), n2.clone()]);
    eventually("a failed push", WAIT, || async {
        (pusher.stats.get().pushes_failed >= 1).then_some(())
    })
    .await;
    // n2 resolves while nothing listens.
    pusher.set(vec![n1.clone()]);
    let failed_before = eventually("the resolve pending", WAIT, || async {
        let stats = pusher.stats.get();
        (stats.pending_resolves == 1).then_some(stats.pushes_failed)
    })
    .await;
    eventually("a failed push carrying the resolve", WAIT, || async {
        (pusher.stats.get().pushes_failed > failed_before).then_some(())
    })
    .await;
    assert_eq!(pusher.stats.get().pushes_ok, 0);

    let am = Alertmanager::start(port, None).await;
    let held = eventually("n1 in Alertmanager", WAIT, || async {
        let alerts = am.alerts().await;
        (!alerts.is_empty()).then_some(alerts)
    })
    .await;
    assert_eq!(held.len(), 1, "only n1 is active: {held:?}");
    assert_eq!(held[0]["labels"], json_map(&n1.labels));
    assert_eq!(held[0]["annotations"], json_map(&n1.annotations));
    eventually("n2 received as resolved", WAIT, || async {
        let resolved = am.metric("alertmanager_alerts_received_total", "status=\"resolved\"");
        (resolved.await >= 1.0).then_some(())
    })
    .await;
    assert!(am.alert_of("n2").await.is_none());
    let stats = pusher.stats.get();
    assert!(stats.pushes_ok >= 1, "{stats:?}");
    pusher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_alerts_are_re_sent_while_active() {
    let am = Alertmanager::start(free_port(), None).await;
    let pusher = Pusher::spawn(&am.url, Duration::from_millis(400));
    pusher.set(vec![disk_alert("n1", 1_000)]);
    let first = eventually("n1 in Alertmanager", WAIT, || am.alert_of("n1")).await;

    // Each push sends endsAt = now + 4 × 400 ms. Watch for 3.5 s, twice that lifetime: without
    // re-sends the alert would have ended in Alertmanager.
    let mut ends = vec![first["endsAt"].as_str().unwrap().to_owned()];
    let watch_until = std::time::Instant::now() + Duration::from_millis(3_500);
    while std::time::Instant::now() < watch_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let alert = am
            .alert_of("n1")
            .await
            .expect("n1 stays active while re-sent");
        let end = alert["endsAt"].as_str().unwrap().to_owned();
        assert!(
            end >= *ends.last().unwrap(),
            "endsAt never moves back: {ends:?} then {end}"
        );
        if end != *ends.last().unwrap() {
            ends.push(end);
        }
        assert_eq!(alert["fingerprint"], first["fingerprint"]);
    }
    assert!(
        ends.len() >= 4,
        "endsAt moved forward only {} times: {ends:?}",
        ends.len() - 1
    );
    let stats = pusher.stats.get();
    assert!(stats.pushes_ok >= 5, "{stats:?}");
    assert_eq!(am.alerts().await.len(), 1);
    pusher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_made_while_alertmanager_restarts_is_notified_once_it_is_back() {
    let hook = Webhook::start().await;
    let mut am = Alertmanager::start(free_port(), Some(&hook)).await;
    let pusher = Pusher::spawn(&am.url, Duration::from_millis(500));
    let n1 = disk_alert("n1", 1_000);
    pusher.set(vec![n1.clone()]);
    eventually("a firing notification", WAIT, || async {
        let notified = hook.notified();
        notified
            .iter()
            .any(|a| a["status"] == "firing")
            .then_some(())
    })
    .await;

    // Alertmanager keeps alerts in memory only; its notification log survives the restart.
    // Had the pusher not kept the resolve, the receiver would stay on "firing" for good.
    let mut resolved_at = None;
    am.restart_after(async {
        let failed = pusher.stats.get().pushes_failed;
        resolved_at = Some(clock::now());
        pusher.set(vec![]);
        eventually("a failed push carrying the resolve", WAIT, || async {
            (pusher.stats.get().pushes_failed > failed).then_some(())
        })
        .await;
    })
    .await;
    let resolved = eventually(
        "a resolved notification after the restart",
        WAIT,
        || async {
            let notified = hook.notified();
            notified.into_iter().find(|a| a["status"] == "resolved")
        },
    )
    .await;
    assert_eq!(resolved["labels"], json_map(&n1.labels));
    let resolved_at = rfc3339::format(resolved_at.unwrap());
    assert!(
        resolved["endsAt"].as_str().unwrap() >= resolved_at.as_str(),
        "{resolved}"
    );
    pusher.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_gets_the_alerts_and_one_down_replica_does_not_fail_the_push() {
    let up = Alertmanager::start(free_port(), None).await;
    let down_port = free_port();
    let down_url = url::Url::parse(&format!("http://127.0.0.1:{down_port}/")).unwrap();
    let pusher = Pusher::spawn_to(&[down_url, up.url.clone()], Duration::from_millis(300));
    pusher.set(vec![disk_alert("n1", 1_000)]);
    eventually("n1 in the replica that is up", WAIT, || up.alert_of("n1")).await;
    let stats = pusher.stats.get();
    assert_eq!(
        stats.pushes_failed, 0,
        "one replica accepting is delivered: {stats:?}"
    );

    // The other replica comes up: the next re-send reaches it too.
    let late = Alertmanager::start(down_port, None).await;
    eventually("n1 in the replica that came up", WAIT, || {
        late.alert_of("n1")
    })
    .await;
    pusher.stop().await;
}
