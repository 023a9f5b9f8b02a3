//! Strategies for the node sections: pressure (with the eviction evaluation) and kubelet.
//! The pieces protocol 1 shares (memory, PSI, filesystems, PIDs, load, healthz, pod phases)
//! are public for [`super::v1`].

use super::{bounded, float, float64, section, text};
use edgeward_proto::kubelet::*;
use edgeward_proto::pressure::*;
use proptest::option;
use proptest::prelude::*;

pub fn memory() -> impl Strategy<Value = Memory> {
    (any::<u64>(), any::<u64>()).prop_map(|(total_bytes, available_bytes)| Memory {
        total_bytes,
        available_bytes,
    })
}

fn psi_line() -> impl Strategy<Value = PsiLine> {
    (float(), float(), float(), any::<u64>()).prop_map(|(avg10, avg60, avg300, total_us)| PsiLine {
        avg10,
        avg60,
        avg300,
        total_us,
    })
}

fn psi_resource() -> impl Strategy<Value = PsiResource> {
    (psi_line(), option::of(psi_line())).prop_map(|(some, full)| PsiResource { some, full })
}

pub fn psi() -> impl Strategy<Value = Psi> {
    (psi_resource(), psi_resource(), psi_resource()).prop_map(|(cpu, memory, io)| Psi {
        cpu,
        memory,
        io,
    })
}

pub fn filesystem() -> impl Strategy<Value = Filesystem> {
    let role = prop_oneof![
        Just(FsRole::Node),
        Just(FsRole::Image),
        Just(FsRole::Datastore)
    ];
    (role, text(), any::<[u64; 4]>()).prop_map(|(role, path, n)| Filesystem {
        role,
        path,
        total_bytes: n[0],
        available_bytes: n[1],
        inodes_total: n[2],
        inodes_free: n[3],
    })
}

pub fn pids() -> impl Strategy<Value = Pids> {
    (any::<u64>(), any::<u64>()).prop_map(|(in_use, limit)| Pids { in_use, limit })
}

pub fn load() -> impl Strategy<Value = Load> {
    (float(), float(), float()).prop_map(|(one, five, fifteen)| Load { one, five, fifteen })
}

pub fn threshold() -> impl Strategy<Value = Threshold> {
    let signal = prop_oneof![
        Just(Signal::MemoryAvailable),
        Just(Signal::NodefsAvailable),
        Just(Signal::NodefsInodesFree),
        Just(Signal::ImagefsAvailable),
        Just(Signal::ImagefsInodesFree),
        Just(Signal::PidAvailable),
    ];
    let value = prop_oneof![
        any::<u64>().prop_map(Quantity::Absolute),
        float().prop_map(Quantity::Percent),
    ];
    (signal, value).prop_map(|(signal, value)| Threshold { signal, value })
}

fn eviction() -> impl Strategy<Value = Eviction> {
    let source = prop_oneof![
        Just(ThresholdSource::Configz),
        text().prop_map(ThresholdSource::File),
        Just(ThresholdSource::Default(DefaultsOf::Upstream)),
        Just(ThresholdSource::Default(DefaultsOf::MicroK8s)),
        Just(ThresholdSource::Default(DefaultsOf::K3s)),
    ];
    let margin = (
        threshold(),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<i64>()),
    )
        .prop_map(|(threshold, capacity, available, margin)| Margin {
            threshold,
            capacity,
            available,
            margin,
        });
    let condition = || {
        prop_oneof![
            Just(Condition::Clear),
            Just(Condition::Pressure),
            Just(Condition::Unknown)
        ]
    };
    (
        source,
        bounded(margin, 8),
        condition(),
        condition(),
        condition(),
    )
        .prop_map(
            |(source, margins, memory_pressure, disk_pressure, pid_pressure)| Eviction {
                source,
                margins,
                memory_pressure,
                disk_pressure,
                pid_pressure,
            },
        )
}

pub fn pressure() -> BoxedStrategy<NodePressure> {
    (
        section(memory()),
        section(psi()),
        bounded(filesystem(), 4),
        section(pids()),
        load(),
        any::<u64>(),
        section(eviction()),
    )
        .prop_map(
            |(memory, psi, filesystems, pids, load, uptime_secs, eviction)| NodePressure {
                memory,
                psi,
                filesystems,
                pids,
                load,
                uptime_secs,
                eviction,
            },
        )
        .boxed()
}

pub fn healthz() -> impl Strategy<Value = Healthz> {
    prop_oneof![
        Just(Healthz::Ok),
        (any::<u16>(), text()).prop_map(|(status, body)| Healthz::Unhealthy { status, body })
    ]
}

pub fn phases() -> impl Strategy<Value = PodPhases> {
    any::<[u32; 5]>().prop_map(|p| PodPhases {
        pending: p[0],
        running: p[1],
        succeeded: p[2],
        failed: p[3],
        unknown: p[4],
    })
}

fn resources() -> impl Strategy<Value = Resources> {
    (any::<u64>(), any::<u64>()).prop_map(|(cpu_millis, memory_bytes)| Resources {
        cpu_millis,
        memory_bytes,
    })
}

fn metrics() -> impl Strategy<Value = KubeletMetrics> {
    let eviction =
        (text(), any::<u64>()).prop_map(|(signal, count)| EvictionCount { signal, count });
    (
        option::of(text()),
        option::of(float64()),
        option::of(float64()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        bounded(eviction, 3),
        option::of(float64()),
        option::of(float64()),
    )
        .prop_map(
            |(version, pleg_age, pleg_p99, runtime, started, evictions, client, server)| {
                KubeletMetrics {
                    version,
                    pleg_last_seen_age_secs: pleg_age,
                    pleg_relist_p99_secs: pleg_p99,
                    runtime_operation_errors: runtime,
                    started_pods_errors: started,
                    evictions,
                    client_cert_ttl_secs: client,
                    server_cert_ttl_secs: server,
                }
            },
        )
}

fn pods() -> impl Strategy<Value = Pods> {
    let qos = any::<[u32; 3]>().prop_map(|q| QosClasses {
        guaranteed: q[0],
        burstable: q[1],
        best_effort: q[2],
    });
    let troubled =
        (text(), text(), any::<u32>()).prop_map(|(name, reason, restarts)| TroubledContainer {
            name,
            reason,
            restarts,
        });
    (
        phases(),
        qos,
        any::<u64>(),
        any::<[u32; 3]>(),
        bounded(troubled, 3),
    )
        .prop_map(|(phases, qos, container_restarts, n, troubled)| Pods {
            phases,
            qos,
            container_restarts,
            crash_looping: n[0],
            oom_killed: n[1],
            evicted: n[2],
            troubled,
        })
}

fn scheduling() -> impl Strategy<Value = Scheduling> {
    (
        resources(),
        resources(),
        resources(),
        resources(),
        resources(),
    )
        .prop_map(
            |(capacity, allocatable, requests, limits, usage)| Scheduling {
                capacity,
                allocatable,
                requests,
                limits,
                usage,
            },
        )
}

fn configz() -> impl Strategy<Value = KubeletConfig> {
    (
        bounded(threshold(), 8),
        resources(),
        resources(),
        option::of(any::<u32>()),
    )
        .prop_map(
            |(eviction_hard, kube_reserved, system_reserved, max_pods)| KubeletConfig {
                eviction_hard,
                kube_reserved,
                system_reserved,
                max_pods,
            },
        )
}

pub fn kubelet() -> BoxedStrategy<KubeletHealth> {
    (
        section(healthz()),
        section(metrics()),
        section(pods()),
        section(scheduling()),
        section(configz()),
    )
        .prop_map(
            |(healthz, metrics, pods, scheduling, configz)| KubeletHealth {
                healthz,
                metrics,
                pods,
                scheduling,
                configz,
            },
        )
        .boxed()
}
