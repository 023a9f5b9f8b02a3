//! Eviction conditions, thin margins and io PSI.

use edgeward_proto::eviction::absolute;
use edgeward_proto::pressure::{FsRole, Quantity, Signal, Threshold};
use edgeward_proto::{Section, UnavailableReason};

use super::{Row, pressure, reevaluate, run, same};
use crate::analysis::finding::{Kind, Severity};

const KINDS: &[Kind] = &[
    Kind::MemoryPressure,
    Kind::DiskPressure,
    Kind::PidPressure,
    Kind::ThinMargin,
    Kind::IoPressure,
    Kind::Unknown,
];

/// 100 MiB: the upstream `memory.available` threshold.
const MEM_LIMIT: u64 = 100 << 20;
/// 5 % of the synthetic node's 8 GiB, rounded up: the smallest margin that is not thin.
const NOT_THIN: u64 = 429_496_730;

fn set_memory(s: &mut edgeward_proto::Sample, available: u64) {
    let p = pressure(s);
    if let Section::Data(m) = &mut p.memory {
        m.available_bytes = available;
    }
    reevaluate(p, &[]);
}

#[test]
fn eviction_conditions_and_margins() {
    run(
        &[
            Row {
                name: "memory below its threshold is critical pressure",
                sample: |s| set_memory(s, 50 << 20),
                state: same,
                expect: &[(Kind::MemoryPressure, Severity::Critical, None)],
                evidence: &[
                    ("memory.available_bytes", "52428800"),
                    ("memory.available_margin_bytes", "-52428800"),
                    ("signals", "memory.available"),
                ],
            },
            Row {
                name: "memory exactly at its threshold is no pressure but a thin margin",
                sample: |s| set_memory(s, MEM_LIMIT),
                state: same,
                expect: &[(
                    Kind::ThinMargin,
                    Severity::Warning,
                    Some("memory.available"),
                )],
                evidence: &[("memory.available_margin_bytes", "0")],
            },
            Row {
                name: "a margin one byte under 5 % of capacity is thin",
                sample: |s| set_memory(s, MEM_LIMIT + NOT_THIN - 1),
                state: same,
                expect: &[(
                    Kind::ThinMargin,
                    Severity::Warning,
                    Some("memory.available"),
                )],
                evidence: &[("thin_ratio", "0.05")],
            },
            Row {
                name: "a margin of exactly 5 % of capacity is not thin",
                sample: |s| {
                    let p = pressure(s);
                    if let Section::Data(m) = &mut p.memory {
                        m.total_bytes = 8_000_000_000;
                        m.available_bytes = MEM_LIMIT + 400_000_000;
                    }
                    reevaluate(p, &[]);
                },
                state: same,
                expect: &[],
                evidence: &[],
            },
            Row {
                name: "nodefs below 10 % is disk pressure naming the path; imagefs at 15 % is not",
                sample: |s| {
                    let p = pressure(s);
                    let fs = p.filesystems.clone().into_vec().into_iter().map(|mut f| {
                        match f.role {
                            FsRole::Node => f.available_bytes = f.total_bytes / 20,
                            FsRole::Image => {
                                f.available_bytes = absolute(Quantity::Percent(15.0), f.total_bytes)
                            }
                            FsRole::Datastore => {}
                        }
                        f
                    });
                    p.filesystems = fs.collect::<Vec<_>>().try_into().expect("same length");
                    reevaluate(p, &[]);
                },
                state: same,
                expect: &[
                    (Kind::DiskPressure, Severity::Critical, None),
                    (
                        Kind::ThinMargin,
                        Severity::Warning,
                        Some("imagefs.available"),
                    ),
                ],
                evidence: &[
                    ("nodefs.available_path", "/var/lib/kubelet"),
                    ("signals", "nodefs.available"),
                    ("imagefs.available_margin_bytes", "0"),
                ],
            },
            Row {
                name: "pid.available under a configured threshold is pid pressure",
                sample: |s| {
                    let p = pressure(s);
                    if let Section::Data(pids) = &mut p.pids {
                        pids.in_use = pids.limit - 500;
                    }
                    let t = Threshold {
                        signal: Signal::PidAvailable,
                        value: Quantity::Absolute(1_000),
                    };
                    reevaluate(p, &[t]);
                },
                state: same,
                expect: &[(Kind::PidPressure, Severity::Critical, None)],
                evidence: &[("pid.available_pids", "500")],
            },
            Row {
                name: "memory that cannot be measured makes its condition unknown, not clear",
                sample: |s| {
                    let p = pressure(s);
                    p.memory = Section::unavailable(UnavailableReason::PermissionDenied, "meminfo");
                    reevaluate(p, &[]);
                },
                state: same,
                expect: &[(
                    Kind::Unknown,
                    Severity::Info,
                    Some("eviction/memory.available"),
                )],
                evidence: &[("signal", "memory.available"), ("reason", "not_measured")],
            },
            Row {
                name: "an unavailable eviction evaluation is unknown",
                sample: |s| {
                    pressure(s).eviction =
                        Section::unavailable(UnavailableReason::Failed, "no thresholds");
                },
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("pressure/eviction"))],
                evidence: &[("reason", "failed"), ("detail", "no thresholds")],
            },
            Row {
                name: "an unavailable pressure section is unknown",
                sample: |s| {
                    s.pressure = Section::unavailable(UnavailableReason::Disabled, "off");
                },
                state: same,
                expect: &[(Kind::Unknown, Severity::Info, Some("pressure"))],
                evidence: &[("reason", "disabled")],
            },
        ],
        KINDS,
    );
}

fn io(some60: f32, full60: f32, cpu60: f32) -> impl Fn(&mut edgeward_proto::Sample) {
    move |s| {
        if let Section::Data(psi) = &mut pressure(s).psi {
            psi.io.some.avg60 = some60;
            if let Some(full) = &mut psi.io.full {
                full.avg60 = full60;
            }
            psi.cpu.some.avg60 = cpu60;
        }
    }
}

#[test]
fn io_pressure_from_psi_at_its_boundaries() {
    let rows: [(&str, f32, f32, f32, Option<Severity>); 6] = [
        ("quiet io", 2.0, 0.0, 1.0, None),
        ("some avg60 just under 20 %", 19.9, 0.0, 1.0, None),
        (
            "some avg60 at 20 % is a warning",
            20.0,
            0.0,
            1.0,
            Some(Severity::Warning),
        ),
        ("full avg60 just under 10 %", 5.0, 9.9, 1.0, None),
        (
            "full avg60 at 10 % is critical",
            5.0,
            10.0,
            1.0,
            Some(Severity::Critical),
        ),
        (
            "cpu psi alone does not call the node starved",
            2.0,
            0.0,
            95.0,
            None,
        ),
    ];
    for (name, some, full, cpu, want) in rows {
        let st = super::node_state(0, io(some, full, cpu));
        let found = super::super::node(&st, &Default::default(), super::now());
        let got = super::shape(&found, KINDS);
        let want: Vec<_> = want
            .map(|s| (Kind::IoPressure, s, None))
            .into_iter()
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn missing_psi_is_unknown_naming_the_reason() {
    run(
        &[Row {
            name: "kernel without PSI",
            sample: |s| {
                pressure(s).psi =
                    Section::unavailable(UnavailableReason::NotFound, "/proc/pressure");
            },
            state: same,
            expect: &[(Kind::Unknown, Severity::Info, Some("pressure/psi"))],
            evidence: &[("reason", "not_found"), ("detail", "/proc/pressure")],
        }],
        KINDS,
    );
}

#[test]
fn io_pressure_levels_follow_the_policy_thresholds() {
    let st = super::node_state(0, io(30.0, 12.0, 1.0));
    let default = super::super::node(&st, &Default::default(), super::now());
    assert_eq!(
        super::shape(&default, KINDS),
        [(Kind::IoPressure, Severity::Critical, None)]
    );
    let relaxed = crate::policy::Thresholds {
        io_some_avg60_warning: 0.5,
        io_full_avg60_critical: 0.25,
        ..Default::default()
    };
    let found = super::super::node(&st, &relaxed, super::now());
    assert!(super::shape(&found, KINDS).is_empty(), "{found:#?}");
}
