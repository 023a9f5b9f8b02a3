//! `:10250/stats/summary`: the node's CPU and memory usage, the `usage` of the scheduling
//! section.
//!
//! | field | source |
//! | --- | --- |
//! | `cpu_millis` | `node.cpu.usageNanoCores` / 10⁶, rounded up (like `kubectl top`'s `MilliValue`) |
//! | `memory_bytes` | `node.memory.workingSetBytes` (the kubelet's basis for `memory.available`, DOMAIN.md §2) |
//!
//! Invariant: both values are required. The kubelet omits `usageNanoCores` until it has two
//! CPU samples (seconds after a start); that is an error here, not a zero.

use edgeward_proto::kubelet::Resources;
use serde::Deserialize;
use thiserror::Error;

/// What is wrong with a `/stats/summary` body.
#[derive(Debug, Error)]
pub enum SummaryError {
    #[error("not a stats summary")]
    Json(#[from] serde_json::Error),
    #[error("node.{0} missing")]
    Missing(&'static str),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Summary {
    node: Option<Node>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Node {
    cpu: Option<Cpu>,
    memory: Option<Memory>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Cpu {
    usage_nano_cores: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Memory {
    working_set_bytes: Option<u64>,
}

/// The node's usage from a `/stats/summary` body.
pub fn usage(body: &[u8]) -> Result<Resources, SummaryError> {
    let summary: Summary = serde_json::from_slice(body)?;
    let node = summary.node.ok_or(SummaryError::Missing("node"))?;
    let nanos = node
        .cpu
        .and_then(|c| c.usage_nano_cores)
        .ok_or(SummaryError::Missing("cpu.usageNanoCores"))?;
    let working_set = node
        .memory
        .and_then(|m| m.working_set_bytes)
        .ok_or(SummaryError::Missing("memory.workingSetBytes"))?;
    Ok(Resources {
        cpu_millis: nanos.div_ceil(1_000_000),
        memory_bytes: working_set,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn node_usage_is_read_and_cpu_rounded_up_to_millicores() {
        let body = br#"{"node":{"nodeName":"n","cpu":{"usageNanoCores":165737329,"usageCoreNanoSeconds":1},
            "memory":{"workingSetBytes":1234567890,"availableBytes":5}},"pods":[]}"#;
        assert_eq!(
            usage(body).expect("usage"),
            Resources {
                cpu_millis: 166,
                memory_bytes: 1_234_567_890
            }
        );
    }

    #[test]
    fn missing_usage_is_an_error_not_zero() {
        let err =
            usage(br#"{"node":{"cpu":{"usageCoreNanoSeconds":1},"memory":{"workingSetBytes":1}}}"#)
                .expect_err("no usageNanoCores");
        assert_eq!(err.to_string(), "node.cpu.usageNanoCores missing");
        assert!(matches!(usage(b"{}"), Err(SummaryError::Missing("node"))));
        assert!(matches!(
            usage(br#"{"node":{"cpu":{"usageNanoCores":"x"}}}"#),
            Err(SummaryError::Json(_))
        ));
        assert!(matches!(
            usage(br#"{"node":{"cpu":{"usageNanoCores":-1}}}"#),
            Err(SummaryError::Json(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = usage(&body);
        }
    }
}
