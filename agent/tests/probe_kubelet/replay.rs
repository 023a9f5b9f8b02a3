//! Healthy replays of real payloads: every section's exact values, and the relist delta
//! between two scrapes.

use super::*;

#[test]
fn healthy_kubelet_replay_fills_every_section_with_the_fixture_values() {
    let node = Node::mutual().healthy();
    let mut probe = node.probe(node.options());
    let k = observe(&mut probe);

    assert_eq!(k.healthz, Section::Data(Healthz::Ok));

    let m = data(k.metrics);
    assert_eq!(m.version.as_deref(), Some("v1.21.2"));
    assert_eq!(m.pleg_last_seen_age_secs, Some(60.0));
    let p99 = m.pleg_relist_p99_secs.expect("relist p99");
    assert!((p99 - lifetime_relist_p99()).abs() < 1e-12, "{p99}");
    assert!((p99 - 0.089_310_906).abs() < 1e-8, "{p99}");
    // One line: kubelet_runtime_operations_errors_total{operation_type="exec_sync"} 16.
    assert_eq!(m.runtime_operation_errors, Some(16));
    // Not on the 1.21 page: None means "not exposed".
    assert_eq!(m.started_pods_errors, None);
    assert!(m.evictions.is_empty());
    assert_eq!(m.client_cert_ttl_secs, None);
    assert_eq!(m.server_cert_ttl_secs, Some(2.982_698_1e7));

    // datadog-pods.json: 6 items (fluentd-gcp twice, with different uids): kube-proxy is
    // Pending, the 5 others Running; all Burstable (kube-proxy by the rule: a cpu request
    // only); every restartCount is 0 and every container running.
    let p = data(k.pods);
    assert_eq!(
        p.phases,
        PodPhases {
            pending: 1,
            running: 5,
            ..PodPhases::default()
        }
    );
    assert_eq!(
        p.qos,
        QosClasses {
            guaranteed: 0,
            burstable: 6,
            best_effort: 0
        }
    );
    assert_eq!(p.container_restarts, 0);
    assert_eq!((p.crash_looping, p.oom_killed, p.evicted), (0, 0, 0));
    assert!(p.troubled.is_empty());

    let s = data(k.scheduling);
    assert_eq!(
        s.capacity,
        Resources {
            cpu_millis: 2000,
            memory_bytes: MEMTOTAL_BYTES
        }
    );
    // configz: kubeReserved 200m/256Mi, systemReserved 100m/128Mi, memory.available<100Mi.
    assert_eq!(
        s.allocatable,
        Resources {
            cpu_millis: 1700,
            memory_bytes: MEMTOTAL_BYTES - (256 + 128 + 100) * (1 << 20)
        }
    );
    // All 6 pods are active. cpu: 100m each = 600m. memory requests: fluentd-gcp 200Mi × 2 +
    // dd-agent 128Mi = 528Mi. limits: dd-agent 250m; memory 300Mi × 2 + 512Mi = 1112Mi.
    assert_eq!(
        s.requests,
        Resources {
            cpu_millis: 600,
            memory_bytes: 528 << 20
        }
    );
    assert_eq!(
        s.limits,
        Resources {
            cpu_millis: 250,
            memory_bytes: 1112 << 20
        }
    );
    // otel-stats-summary.json node: usageNanoCores 165737329 → 166m; workingSetBytes.
    assert_eq!(
        s.usage,
        Resources {
            cpu_millis: 166,
            memory_bytes: 1_234_567_890
        }
    );

    let c: KubeletConfig = data(k.configz);
    assert_eq!(c.eviction_hard.to_vec(), configz_thresholds());
    assert_eq!(
        c.kube_reserved,
        Resources {
            cpu_millis: 200,
            memory_bytes: 256 << 20
        }
    );
    assert_eq!(
        c.system_reserved,
        Resources {
            cpu_millis: 100,
            memory_bytes: 128 << 20
        }
    );
    assert_eq!(c.max_pods, Some(110));

    assert_eq!(
        node.thresholds(),
        ResolvedThresholds {
            source: ThresholdSource::Configz,
            thresholds: configz_thresholds()
        }
    );
}

#[test]
fn second_scrape_reports_relist_p99_of_the_interval_not_the_lifetime() {
    let node = Node::mutual().healthy();
    let mut probe = node.probe(node.options());
    let first = data(observe(&mut probe).metrics);
    assert!((first.pleg_relist_p99_secs.expect("p99") - lifetime_relist_p99()).abs() < 1e-12);

    // 100 more relists, all in (1, 2.5]: every bucket from le="2.5" up and the count grow
    // by 100. Over the interval p99 is rank 99 of 100 in (1, 2.5]: 1 + 1.5 × 99/100.
    let page = String::from_utf8(fixture("datadog-kubelet-metrics-1.21.txt")).expect("utf-8");
    let mut second = page.clone();
    for (before, after) in [
        (
            "seconds_bucket{le=\"2.5\"} 1.671948e+06",
            "seconds_bucket{le=\"2.5\"} 1672048",
        ),
        (
            "seconds_bucket{le=\"5\"} 1.671949e+06",
            "seconds_bucket{le=\"5\"} 1672049",
        ),
        (
            "seconds_bucket{le=\"10\"} 1.671949e+06",
            "seconds_bucket{le=\"10\"} 1672049",
        ),
        (
            "seconds_bucket{le=\"+Inf\"} 1.67195e+06",
            "seconds_bucket{le=\"+Inf\"} 1672050",
        ),
        ("seconds_count 1.67195e+06", "seconds_count 1672050"),
    ] {
        let full = format!("kubelet_pleg_relist_duration_{before}\n");
        assert_eq!(page.matches(&full).count(), 1, "{before}");
        second = second.replace(&full, &format!("kubelet_pleg_relist_duration_{after}\n"));
    }
    node.server
        .set("/metrics", Reply::Body(second.into_bytes()));
    node.server.set(
        "/stats/summary",
        Reply::Body(fixture("otel-stats-summary-second-scrape.json")),
    );
    let k = observe(&mut probe);
    let p99 = data(k.metrics).pleg_relist_p99_secs.expect("p99");
    assert!((p99 - 2.485).abs() < 1e-9, "{p99}");
    // The second summary changes only cumulative CPU time: usageNanoCores is the same.
    assert_eq!(
        data(k.scheduling).usage,
        Resources {
            cpu_millis: 166,
            memory_bytes: 1_234_567_890
        }
    );

    // A scrape with no new relists has no interval quantile.
    let k = observe(&mut probe);
    assert_eq!(data(k.metrics).pleg_relist_p99_secs, None);
}

#[test]
fn troubled_containers_are_counted_and_listed_worst_first() {
    // datadog-pods.json with the changes DataDog's own pods_crashed.json fixture makes to it
    // (first fluentd-gcp pod: fluentd-gcp restarted once after OOMKilled,
    // prometheus-to-sd-exporter in CrashLoopBackOff) plus demo-app evicted.
    let mut pods: serde_json::Value =
        serde_json::from_slice(&fixture("datadog-pods.json")).expect("json");
    let fluentd = &mut pods["items"][1]["status"]["containerStatuses"];
    fluentd[0]["restartCount"] = 1.into();
    fluentd[0]["lastState"] =
        serde_json::json!({"terminated": {"exitCode": 2, "reason": "OOMKilled"}});
    fluentd[1]["state"] = serde_json::json!({"waiting": {"reason": "CrashLoopBackOff"}});
    assert_eq!(
        pods["items"][5]["metadata"]["name"],
        "demo-app-success-c485bc67b-klj45"
    );
    pods["items"][5]["status"]["phase"] = "Failed".into();
    pods["items"][5]["status"]["reason"] = "Evicted".into();
    let node = Node::mutual().healthy();
    node.server
        .set("/pods", Reply::Body(pods.to_string().into_bytes()));
    let k = observe(&mut node.probe(node.options()));
    let p = data(k.pods);
    assert_eq!(
        p.phases,
        PodPhases {
            pending: 1,
            running: 4,
            failed: 1,
            ..PodPhases::default()
        }
    );
    assert_eq!(p.container_restarts, 1);
    assert_eq!((p.crash_looping, p.oom_killed, p.evicted), (1, 1, 1));
    assert_eq!(
        p.troubled.to_vec(),
        vec![
            TroubledContainer {
                name: "kube-system/fluentd-gcp-v2.0.10-9q9t4/prometheus-to-sd-exporter".into(),
                reason: "CrashLoopBackOff".into(),
                restarts: 0,
            },
            TroubledContainer {
                name: "kube-system/fluentd-gcp-v2.0.10-9q9t4/fluentd-gcp".into(),
                reason: "OOMKilled".into(),
                restarts: 1,
            },
        ]
    );
    // The evicted demo-app (100m) no longer counts: 600m − 100m.
    assert_eq!(data(k.scheduling).requests.cpu_millis, 500);
}

#[test]
fn qos_and_requests_follow_the_kubernetes_rules_on_other_real_pod_lists() {
    let node = Node::mutual().healthy();
    let mut probe = node.probe(node.options());
    // cassandra-0: requests = limits = 500m / 1Gi (ephemeral-storage is not counted).
    node.server.set(
        "/pods",
        Reply::Body(fixture("datadog-pods-requests-limits.json")),
    );
    let k = observe(&mut probe);
    let p = data(k.pods);
    assert_eq!(
        p.phases,
        PodPhases {
            running: 1,
            ..PodPhases::default()
        }
    );
    assert_eq!(
        p.qos,
        QosClasses {
            guaranteed: 1,
            burstable: 0,
            best_effort: 0
        }
    );
    let s = data(k.scheduling);
    assert_eq!(
        s.requests,
        Resources {
            cpu_millis: 500,
            memory_bytes: 1 << 30
        }
    );
    assert_eq!(
        s.limits,
        Resources {
            cpu_millis: 500,
            memory_bytes: 1 << 30
        }
    );

    // otel-pods.json: 9 pods without phase or qosClass. kube-scheduler-minikube has limits
    // 100m / 1G and no requests: requests default to the limits, so Guaranteed and 100m / 10⁹
    // requested; the 8 others have no resources: BestEffort.
    node.server
        .set("/pods", Reply::Body(fixture("otel-pods.json")));
    let k = observe(&mut probe);
    let p = data(k.pods);
    assert_eq!(
        p.phases,
        PodPhases {
            unknown: 9,
            ..PodPhases::default()
        }
    );
    assert_eq!(
        p.qos,
        QosClasses {
            guaranteed: 1,
            burstable: 0,
            best_effort: 8
        }
    );
    let s = data(k.scheduling);
    assert_eq!(
        s.requests,
        Resources {
            cpu_millis: 100,
            memory_bytes: 1_000_000_000
        }
    );
    assert_eq!(
        s.limits,
        Resources {
            cpu_millis: 100,
            memory_bytes: 1_000_000_000
        }
    );
}
