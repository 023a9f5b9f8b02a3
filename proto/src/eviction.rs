//! The kubelet's hard-eviction semantics, as a pure check both sides share (DOMAIN.md §2):
//! parse thresholds in the forms the kubelet accepts, name the distributions' defaults, and
//! evaluate a sample's measurements against them into margins and node conditions.
//!
//! Invariant: a signal the sample did not measure gives an unknown margin and, unless another
//! threshold of the same condition is crossed, an `Unknown` condition, never `Clear`.

use crate::bounded::Bounded;
use crate::pressure::{
    Condition, DefaultsOf, Eviction, FsRole, Margin, NodePressure, Quantity, Signal, Threshold,
    ThresholdSource,
};
use crate::sample::Section;

/// A threshold the agent cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("threshold {0:?} is not <signal><<quantity>")]
    Syntax(String),
    #[error(
        "quantity {0:?} is not a number with an optional Ki/Mi/Gi/Ti/Pi/Ei, k/M/G/T/P/E or % suffix"
    )]
    Quantity(String),
}

impl Signal {
    /// The kubelet's name, e.g. `memory.available`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::MemoryAvailable => "memory.available",
            Signal::NodefsAvailable => "nodefs.available",
            Signal::NodefsInodesFree => "nodefs.inodesFree",
            Signal::ImagefsAvailable => "imagefs.available",
            Signal::ImagefsInodesFree => "imagefs.inodesFree",
            Signal::PidAvailable => "pid.available",
        }
    }

    /// The signal for a kubelet name; `None` for signals a node agent cannot measure
    /// (`allocatableMemory.available`, `containerfs.*`).
    pub fn from_name(name: &str) -> Option<Signal> {
        [
            Signal::MemoryAvailable,
            Signal::NodefsAvailable,
            Signal::NodefsInodesFree,
            Signal::ImagefsAvailable,
            Signal::ImagefsInodesFree,
            Signal::PidAvailable,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// Parses a kubelet quantity: `100Mi`, `1.5Gi`, `2G`, `500`, or a percentage `10%`.
pub fn parse_quantity(text: &str) -> Result<Quantity, ThresholdError> {
    let bad = || ThresholdError::Quantity(text.to_owned());
    let t = text.trim();
    if let Some(p) = t.strip_suffix('%') {
        let v: f32 = p.trim().parse().map_err(|_| bad())?;
        if !(0.0..=100.0).contains(&v) {
            return Err(bad());
        }
        return Ok(Quantity::Percent(v));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let factor: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        _ => return Err(bad()),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let v = (n * factor).ceil();
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Quantity::Absolute(v as u64))
}

/// Parses the flag form `memory.available<100Mi,nodefs.available<10%`. Signals a node agent
/// cannot measure are skipped; anything malformed is an error.
pub fn parse_flag(text: &str) -> Result<Vec<Threshold>, ThresholdError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('<')
            .ok_or_else(|| ThresholdError::Syntax(part.to_owned()))?;
        let value = parse_quantity(value)?;
        if let Some(signal) = Signal::from_name(name.trim()) {
            out.push(Threshold { signal, value });
        }
    }
    Ok(out)
}

/// Parses the map form of a KubeletConfiguration (`evictionHard: {memory.available: 100Mi}`).
pub fn parse_map<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Threshold>, ThresholdError> {
    let mut out = Vec::new();
    for (name, value) in entries {
        let value = parse_quantity(value)?;
        if let Some(signal) = Signal::from_name(name.trim()) {
            out.push(Threshold { signal, value });
        }
    }
    Ok(out)
}

/// The documented defaults (DOMAIN.md §2; K3s: its agent's generated kubelet arguments).
pub fn defaults(of: DefaultsOf) -> Vec<Threshold> {
    let t = |signal, value| Threshold { signal, value };
    match of {
        DefaultsOf::Upstream => vec![
            t(Signal::MemoryAvailable, Quantity::Absolute(100 << 20)),
            t(Signal::NodefsAvailable, Quantity::Percent(10.0)),
            t(Signal::ImagefsAvailable, Quantity::Percent(15.0)),
            t(Signal::NodefsInodesFree, Quantity::Percent(5.0)),
        ],
        DefaultsOf::MicroK8s => vec![
            t(Signal::MemoryAvailable, Quantity::Absolute(100 << 20)),
            t(Signal::NodefsAvailable, Quantity::Absolute(1 << 30)),
            t(Signal::ImagefsAvailable, Quantity::Absolute(1 << 30)),
        ],
        DefaultsOf::K3s => vec![
            t(Signal::ImagefsAvailable, Quantity::Percent(5.0)),
            t(Signal::NodefsAvailable, Quantity::Percent(5.0)),
        ],
    }
}

/// The threshold in absolute units for a signal of capacity `capacity`.
pub fn absolute(value: Quantity, capacity: u64) -> u64 {
    match value {
        Quantity::Absolute(v) => v,
        Quantity::Percent(p) => (capacity as f64 * f64::from(p) / 100.0).ceil() as u64,
    }
}

/// (capacity, available) of `signal` in `pressure`, when measured.
fn measure(signal: Signal, pressure: &NodePressure) -> Option<(u64, u64)> {
    let fs = |role: FsRole| pressure.filesystems.iter().find(|f| f.role == role);
    match signal {
        Signal::MemoryAvailable => pressure
            .memory
            .data()
            .map(|m| (m.total_bytes, m.available_bytes)),
        Signal::NodefsAvailable => fs(FsRole::Node).map(|f| (f.total_bytes, f.available_bytes)),
        Signal::NodefsInodesFree => fs(FsRole::Node).map(|f| (f.inodes_total, f.inodes_free)),
        Signal::ImagefsAvailable => fs(FsRole::Image).map(|f| (f.total_bytes, f.available_bytes)),
        Signal::ImagefsInodesFree => fs(FsRole::Image).map(|f| (f.inodes_total, f.inodes_free)),
        Signal::PidAvailable => pressure
            .pids
            .data()
            .map(|p| (p.limit, p.limit.saturating_sub(p.in_use))),
    }
}

/// Evaluates `thresholds` (at most 8 are kept, one per signal, the first wins) against the
/// measurements of `pressure` (whose own `eviction` field is ignored).
pub fn evaluate(
    source: ThresholdSource,
    thresholds: &[Threshold],
    pressure: &NodePressure,
) -> Eviction {
    let mut margins: Bounded<Margin, 8> = Bounded::new();
    let mut seen = Vec::new();
    for t in thresholds {
        if seen.contains(&t.signal) {
            continue;
        }
        seen.push(t.signal);
        let measured = measure(t.signal, pressure);
        let margin = measured.map(|(cap, avail)| {
            let limit = absolute(t.value, cap);
            (i128::from(avail) - i128::from(limit))
                .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
        });
        // At most one margin per signal and six signals exist: the bound of 8 holds.
        let _ = margins.push(Margin {
            threshold: *t,
            capacity: measured.map(|m| m.0),
            available: measured.map(|m| m.1),
            margin,
        });
    }
    let condition = |signals: &[Signal]| {
        let mut unknown = false;
        for m in margins
            .iter()
            .filter(|m| signals.contains(&m.threshold.signal))
        {
            match m.margin {
                // Available below the threshold is pressure; equal is not (kubelet: `<`).
                Some(v) if v < 0 => return Condition::Pressure,
                Some(_) => {}
                None => unknown = true,
            }
        }
        if unknown {
            Condition::Unknown
        } else {
            Condition::Clear
        }
    };
    Eviction {
        source,
        memory_pressure: condition(&[Signal::MemoryAvailable]),
        disk_pressure: condition(&[
            Signal::NodefsAvailable,
            Signal::NodefsInodesFree,
            Signal::ImagefsAvailable,
            Signal::ImagefsInodesFree,
        ]),
        pid_pressure: condition(&[Signal::PidAvailable]),
        margins,
    }
}

/// `evaluate` over a section: an unavailable pressure section gives no eviction data.
pub fn evaluate_section(
    source: ThresholdSource,
    thresholds: &[Threshold],
    pressure: &Section<NodePressure>,
) -> Option<Eviction> {
    pressure.data().map(|p| evaluate(source, thresholds, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pressure::{Filesystem, Load, Memory, Pids};
    use crate::sample::UnavailableReason;

    fn node(mem_avail: u64, nodefs_avail: u64) -> NodePressure {
        NodePressure {
            memory: Section::Data(Memory {
                total_bytes: 8 << 30,
                available_bytes: mem_avail,
            }),
            psi: Section::unavailable(UnavailableReason::NotFound, "no psi"),
            filesystems: Bounded::try_from(vec![Filesystem {
                role: FsRole::Node,
                path: "/var/lib/kubelet".into(),
                total_bytes: 100 << 30,
                available_bytes: nodefs_avail,
                inodes_total: 1000,
                inodes_free: 900,
            }])
            .unwrap(),
            pids: Section::Data(Pids {
                in_use: 100,
                limit: 4096,
            }),
            load: Load {
                one: 0.0,
                five: 0.0,
                fifteen: 0.0,
            },
            uptime_secs: 1,
            eviction: Section::unavailable(UnavailableReason::Disabled, "not evaluated"),
        }
    }

    #[test]
    fn quantities_parse_like_the_kubelet() {
        assert_eq!(parse_quantity("100Mi"), Ok(Quantity::Absolute(100 << 20)));
        assert_eq!(parse_quantity("1.5Gi"), Ok(Quantity::Absolute(3 << 29)));
        assert_eq!(parse_quantity("2G"), Ok(Quantity::Absolute(2_000_000_000)));
        assert_eq!(parse_quantity("500"), Ok(Quantity::Absolute(500)));
        assert_eq!(parse_quantity("10%"), Ok(Quantity::Percent(10.0)));
        for bad in ["", "Mi", "10Xi", "-1", "101%", "1e400", "1..2Gi"] {
            assert!(parse_quantity(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flag_form_parses_known_signals_and_skips_unmeasurable_ones() {
        let t = parse_flag(
            "memory.available<200Mi, nodefs.available<5%,allocatableMemory.available<1Gi",
        )
        .unwrap();
        assert_eq!(
            t,
            vec![
                Threshold {
                    signal: Signal::MemoryAvailable,
                    value: Quantity::Absolute(200 << 20)
                },
                Threshold {
                    signal: Signal::NodefsAvailable,
                    value: Quantity::Percent(5.0)
                },
            ]
        );
        assert!(parse_flag("memory.available>1Gi").is_err());
        assert!(parse_flag("memory.available<lots").is_err());
    }

    #[test]
    fn crossed_threshold_is_pressure_with_a_negative_margin() {
        let e = evaluate(
            ThresholdSource::Configz,
            &defaults(DefaultsOf::Upstream),
            &node(50 << 20, 50 << 30),
        );
        assert_eq!(e.memory_pressure, Condition::Pressure);
        assert_eq!(e.margins[0].margin, Some(-(50 << 20)));
        assert_eq!(
            e.disk_pressure,
            Condition::Unknown,
            "imagefs is not measured"
        );
        assert_eq!(
            e.pid_pressure,
            Condition::Clear,
            "no pid threshold by default"
        );
    }

    #[test]
    fn percent_threshold_is_taken_of_the_measured_capacity() {
        let t = parse_flag("nodefs.available<10%").unwrap();
        let e = evaluate(ThresholdSource::Configz, &t, &node(1 << 30, 11 << 30));
        assert_eq!(e.margins[0].margin, Some((11 << 30) - (10 << 30)));
        assert_eq!(e.disk_pressure, Condition::Clear);
        let e = evaluate(ThresholdSource::Configz, &t, &node(1 << 30, 9 << 30));
        assert_eq!(e.disk_pressure, Condition::Pressure);
    }

    #[test]
    fn unmeasured_signal_is_unknown_never_clear() {
        let mut n = node(1 << 30, 50 << 30);
        n.memory = Section::unavailable(UnavailableReason::NotFound, "/proc/meminfo");
        let e = evaluate(
            ThresholdSource::Default(DefaultsOf::MicroK8s),
            &defaults(DefaultsOf::MicroK8s),
            &n,
        );
        assert_eq!(e.memory_pressure, Condition::Unknown);
        assert_eq!(e.margins[0].available, None);
        assert_eq!(e.margins[0].margin, None);
    }

    #[test]
    fn duplicate_signals_keep_the_first_threshold() {
        let t = parse_flag("memory.available<1Gi,memory.available<1Mi").unwrap();
        let e = evaluate(ThresholdSource::Configz, &t, &node(512 << 20, 50 << 30));
        assert_eq!(e.margins.len(), 1);
        assert_eq!(e.memory_pressure, Condition::Pressure);
    }
}
