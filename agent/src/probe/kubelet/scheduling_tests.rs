//! Unit tests of capacity, allocatable and the effective-request rule.

use std::fs;

use edgeward_proto::Bounded;
use edgeward_proto::pressure::{Quantity, Threshold};
use serde_json::json;

use super::*;
use crate::probe::kubelet::pods;

fn pod(spec: serde_json::Value, phase: &str) -> serde_json::Value {
    json!({"spec": spec, "status": {"phase": phase}})
}

fn claimed_of(items: Vec<serde_json::Value>) -> (Resources, Resources) {
    let l = pods::parse(json!({ "items": items }).to_string().as_bytes()).expect("list");
    claimed(&l).expect("claimed")
}

fn r(cpu_millis: u64, memory_bytes: u64) -> Resources {
    Resources {
        cpu_millis,
        memory_bytes,
    }
}

#[test]
fn cpu_lists_count_every_online_cpu() {
    assert_eq!(online_cpus("0\n"), Ok(1));
    assert_eq!(online_cpus("0-3\n"), Ok(4));
    assert_eq!(online_cpus("0-3,6,8-9"), Ok(7));
    assert_eq!(online_cpus("0-18446744073709551615"), Ok(u64::MAX));
    for bad in ["", "3-1", "a", "0-", ",", "0,,1"] {
        assert!(online_cpus(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn capacity_reads_cpus_and_memtotal_under_the_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("sys/devices/system/cpu")).expect("mkdir");
    fs::create_dir_all(dir.path().join("proc")).expect("mkdir");
    fs::write(dir.path().join("sys/devices/system/cpu/online"), "0-1\n").expect("write");
    fs::write(
        dir.path().join("proc/meminfo"),
        "MemTotal:       24684084 kB\nMemFree: 1 kB\nMemAvailable:   23394672 kB\n",
    )
    .expect("write");
    let root = HostRoot::new(dir.path());
    assert_eq!(
        capacity(&root).expect("capacity"),
        r(2000, 24_684_084 * 1024)
    );
    fs::remove_file(dir.path().join("sys/devices/system/cpu/online")).expect("rm");
    let err = capacity(&root).expect_err("no cpu list");
    assert!(
        err.detail().contains("sys/devices/system/cpu/online"),
        "{}",
        err.detail()
    );
}

#[test]
fn allocatable_subtracts_reservations_and_the_memory_eviction_threshold() {
    let mut config = KubeletConfig {
        eviction_hard: Bounded::try_from(vec![Threshold {
            signal: Signal::MemoryAvailable,
            value: Quantity::Absolute(100 << 20),
        }])
        .expect("bounded"),
        kube_reserved: r(250, 512 << 20),
        system_reserved: r(500, 256 << 20),
        max_pods: Some(110),
    };
    let capacity = r(4000, 8 << 30);
    assert_eq!(
        allocatable(capacity, &config),
        r(3250, (8 << 30) - (512 << 20) - (256 << 20) - (100 << 20))
    );
    // A percentage threshold is of the memory capacity; nothing goes below zero.
    config.eviction_hard = Bounded::try_from(vec![Threshold {
        signal: Signal::MemoryAvailable,
        value: Quantity::Percent(10.0),
    }])
    .expect("bounded");
    config.kube_reserved = r(5000, 0);
    config.system_reserved = r(0, 0);
    assert_eq!(
        allocatable(r(4000, 1000), &config),
        r(0, 900),
        "10% of 1000 bytes"
    );
}

#[test]
fn requests_sum_active_pods_and_take_the_larger_of_app_and_init_containers() {
    let app = json!({"containers": [
        {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m"}}},
        {"resources": {"requests": {"cpu": "200m"}, "limits": {"memory": "128Mi"}}}
    ], "initContainers": [
        {"resources": {"requests": {"cpu": "500m", "memory": "32Mi"}}}
    ]});
    // app: cpu 300m, memory 64Mi + 128Mi (request defaulted from the limit); init: 500m, 32Mi.
    let (requests, limits) = claimed_of(vec![
        pod(app.clone(), "Running"),
        pod(app.clone(), "Succeeded"),
        pod(app, "Failed"),
    ]);
    assert_eq!(requests, r(500, 192 << 20));
    // Limits: only what is set: cpu 200m, memory 128Mi; init has none.
    assert_eq!(limits, r(200, 128 << 20));
}

#[test]
fn sidecars_add_to_the_app_sum_and_to_later_init_containers() {
    let spec = json!({"containers": [{"resources": {"requests": {"cpu": "100m"}}}],
        "initContainers": [
            {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
            {"resources": {"requests": {"cpu": "120m"}}}
        ],
        "overhead": {"cpu": "10m", "memory": "1Mi"}});
    // app 100m + sidecar 50m = 150m; init: max(50m, 120m + 50m) = 170m; + overhead 10m.
    let (requests, limits) = claimed_of(vec![pod(spec, "Pending")]);
    assert_eq!(requests, r(180, 1 << 20));
    assert_eq!(limits, r(0, 0), "no limits, so no overhead either");
}

#[test]
fn an_unreadable_request_is_an_error() {
    let l = pods::parse(
        json!({"items": [pod(json!({"containers": [{"resources": {"requests": {"memory": "1Q"}}}]}), "Running")]})
            .to_string()
            .as_bytes(),
    )
    .expect("list");
    assert!(claimed(&l).is_err());
}
