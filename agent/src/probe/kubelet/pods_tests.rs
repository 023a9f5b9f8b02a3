//! Unit tests of `/pods` parsing and the [`Pods`] summary.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn list(value: serde_json::Value) -> PodList {
    parse(value.to_string().as_bytes()).expect("pod list")
}

fn container(requests: serde_json::Value, limits: serde_json::Value) -> serde_json::Value {
    json!({"name": "c", "resources": {"requests": requests, "limits": limits}})
}

fn qos_of(containers: Vec<serde_json::Value>) -> Qos {
    let l = list(json!({"items": [{"spec": {"containers": containers}}]}));
    qos_class(&l.items[0].spec).expect("qos")
}

#[test]
fn qos_follows_the_kubernetes_rule() {
    assert_eq!(qos_of(vec![json!({"name": "c"})]), Qos::BestEffort);
    assert_eq!(
        qos_of(vec![container(json!({"cpu": "0"}), json!({}))]),
        Qos::BestEffort
    );
    assert_eq!(
        qos_of(vec![container(json!({"cpu": "100m"}), json!({}))]),
        Qos::Burstable
    );
    let both = json!({"cpu": "500m", "memory": "1Gi"});
    assert_eq!(
        qos_of(vec![container(both.clone(), both.clone())]),
        Qos::Guaranteed
    );
    // A limit without a request requests the limit (API defaulting): still Guaranteed.
    assert_eq!(
        qos_of(vec![container(json!({}), both.clone())]),
        Qos::Guaranteed
    );
    // Equal quantities written differently are equal.
    assert_eq!(
        qos_of(vec![container(
            json!({"cpu": "0.5", "memory": "1024Mi"}),
            both.clone()
        )]),
        Qos::Guaranteed
    );
    // One container without limits makes the pod Burstable.
    assert_eq!(
        qos_of(vec![
            container(both.clone(), both.clone()),
            json!({"name": "sidecar"})
        ]),
        Qos::Burstable
    );
    // Requests below limits.
    assert_eq!(
        qos_of(vec![container(
            json!({"cpu": "100m", "memory": "1Gi"}),
            both
        )]),
        Qos::Burstable
    );
    // Only a cpu limit.
    assert_eq!(
        qos_of(vec![container(json!({}), json!({"cpu": "1"}))]),
        Qos::Burstable
    );
}

#[test]
fn crash_loops_oom_kills_evictions_and_restarts_are_counted() {
    let l = list(json!({"items": [
        {"metadata": {"namespace": "ns", "name": "a"},
         "status": {"phase": "Running", "qosClass": "Burstable", "containerStatuses": [
            {"name": "loop", "restartCount": 7, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"reason": "OOMKilled"}}},
            {"name": "oom", "restartCount": 2, "state": {"running": {}},
             "lastState": {"terminated": {"reason": "OOMKilled"}}},
            {"name": "pull", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}},
            {"name": "starting", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}},
            {"name": "flaky", "restartCount": 3, "state": {"running": {}},
             "lastState": {"terminated": {"reason": "Error"}}},
            {"name": "fine", "restartCount": 0, "state": {"running": {}}}
         ],
         "initContainerStatuses": [
            {"name": "init", "restartCount": 1, "state": {"terminated": {"reason": "OOMKilled"}}}
         ]}},
        {"metadata": {"namespace": "ns", "name": "gone"},
         "status": {"phase": "Failed", "reason": "Evicted", "qosClass": "BestEffort"}},
        {"metadata": {"namespace": "ns", "name": "odd"}, "status": {"phase": "Weird"}}
    ]}));
    let p = summarize(&l).expect("pods");
    assert_eq!(
        p.phases,
        PodPhases {
            running: 1,
            failed: 1,
            unknown: 1,
            ..PodPhases::default()
        }
    );
    // "odd" has no qosClass and no resources: BestEffort by the rule.
    assert_eq!(
        p.qos,
        QosClasses {
            guaranteed: 0,
            burstable: 1,
            best_effort: 2
        }
    );
    assert_eq!(p.container_restarts, 7 + 2 + 3 + 1);
    assert_eq!(p.crash_looping, 1);
    // "loop" (last OOMKilled), "oom" (last) and "init" (current) were OOM-killed.
    assert_eq!(p.oom_killed, 3);
    assert_eq!(p.evicted, 1);
    let troubled: Vec<(&str, &str, u32)> = p
        .troubled
        .iter()
        .map(|t| (t.name.as_str(), t.reason.as_str(), t.restarts))
        .collect();
    assert_eq!(
        troubled,
        vec![
            ("ns/a/loop", "CrashLoopBackOff", 7),
            ("ns/a/oom", "OOMKilled", 2),
            ("ns/a/init", "OOMKilled", 1),
            ("ns/a/pull", "ImagePullBackOff", 0),
            ("ns/a/flaky", "Error", 3),
        ]
    );
}

#[test]
fn troubled_keeps_the_sixteen_worst_in_a_stable_order() {
    let statuses: Vec<serde_json::Value> = (0..40)
        .map(|i| json!({"name": format!("c{i:02}"), "restartCount": i % 5}))
        .collect();
    let body = json!({"items": [{"metadata": {"namespace": "n", "name": "p"},
        "status": {"phase": "Running", "containerStatuses": statuses}}]});
    let p = summarize(&list(body.clone())).expect("pods");
    assert_eq!(p.troubled.len(), MAX_TROUBLED);
    assert_eq!(p.troubled[0].restarts, 4);
    assert_eq!(p.troubled[0].name, "n/p/c04");
    assert_eq!(p.troubled[0].reason, "Restarted");
    assert!(
        p.troubled
            .windows(2)
            .all(|w| w[0].restarts >= w[1].restarts)
    );
    // The same containers in reverse order give the same list.
    let mut reversed = body;
    if let Some(s) = reversed["items"][0]["status"]["containerStatuses"].as_array_mut() {
        s.reverse();
    }
    assert_eq!(
        summarize(&list(reversed)).expect("pods").troubled,
        p.troubled
    );
}

#[test]
fn nulls_and_missing_fields_read_as_empty_but_wrong_types_fail() {
    let l = list(
        json!({"items": [{"metadata": null, "spec": {"containers": null},
        "status": {"containerStatuses": [{"name": "x", "state": null, "lastState": {}}]}}]}),
    );
    assert_eq!(summarize(&l).expect("pods").phases.unknown, 1);
    assert!(
        parse(br#"{"items": [{"status": {"containerStatuses": [{"restartCount": "7"}]}}]}"#)
            .is_err()
    );
    assert!(parse(br#"{"items": {}}"#).is_err());
    assert!(parse(br#"{"items": [{"status": {"phase": 3}}]}"#).is_err());
    assert!(parse(b"{\"items\": [").is_err(), "cut off");
}

#[test]
fn an_unreadable_quantity_fails_only_when_qos_must_be_computed() {
    let bad = json!({"items": [{"spec": {"containers": [container(json!({"cpu": "lots"}), json!({}))]}}]});
    assert!(summarize(&list(bad.clone())).is_err());
    let mut stated = bad;
    stated["items"][0]["status"] = json!({"qosClass": "Burstable"});
    assert_eq!(summarize(&list(stated)).expect("pods").qos.burstable, 1);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(l) = parse(&body) {
            let _ = summarize(&l);
        }
    }

    #[test]
    fn arbitrary_quantities_and_reasons_never_panic(
        cpu in ".{0,10}", mem in ".{0,10}", reason in ".{0,20}", restarts in any::<i64>(),
    ) {
        let body = json!({"items": [{"spec": {"containers": [
            container(json!({"cpu": cpu}), json!({"memory": mem}))]},
            "status": {"containerStatuses": [{"name": "c", "restartCount": restarts,
                "state": {"waiting": {"reason": reason}}}]}}]});
        let l = list(body);
        let _ = summarize(&l);
    }
}
