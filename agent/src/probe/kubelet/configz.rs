//! `:10250/configz`: the running kubelet's effective configuration,
//! `{"kubeletconfig":{...}}` (DOMAIN.md §1), read into [`KubeletConfig`].
//!
//! | field | source |
//! | --- | --- |
//! | `eviction_hard` | `evictionHard` (map form, `edgeward_proto::eviction::parse_map`) |
//! | `kube_reserved`, `system_reserved` | `kubeReserved` / `systemReserved` `cpu` and `memory` |
//! | `max_pods` | `maxPods` |
//!
//! Invariant: a missing `evictionHard` means **no** hard-eviction thresholds, not "unknown".
//! The kubelet fills a nil map with the upstream defaults before it serves `/configz`, and
//! `evictionHard` is `omitempty`, so the key is absent only when the effective map is empty.
//! Signals the agent cannot measure (`allocatableMemory.available`, ...) are skipped, as in
//! `parse_map`.

use std::collections::BTreeMap;

use edgeward_proto::Bounded;
use edgeward_proto::eviction::{self, ThresholdError};
use edgeward_proto::kubelet::KubeletConfig;
use serde::Deserialize;
use thiserror::Error;

use super::pods::QuantityText;
use super::quantity::QuantityError;
use super::scheduling;

/// What is wrong with a `/configz` body.
#[derive(Debug, Error)]
pub enum ConfigzError {
    #[error("not a configz document")]
    Json(#[from] serde_json::Error),
    #[error("no \"kubeletconfig\" object")]
    Missing,
    #[error("evictionHard")]
    Threshold(#[from] ThresholdError),
    #[error("kubeReserved/systemReserved")]
    Quantity(#[from] QuantityError),
}

#[derive(Debug, Deserialize)]
struct Envelope {
    kubeletconfig: Option<Config>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Config {
    eviction_hard: Option<BTreeMap<String, QuantityText>>,
    kube_reserved: Option<BTreeMap<String, QuantityText>>,
    system_reserved: Option<BTreeMap<String, QuantityText>>,
    max_pods: Option<i64>,
}

/// Parses a `/configz` body.
pub fn parse(body: &[u8]) -> Result<KubeletConfig, ConfigzError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    let config = envelope.kubeletconfig.ok_or(ConfigzError::Missing)?;
    let hard = config.eviction_hard.unwrap_or_default();
    let texts: Vec<(&str, String)> = hard.iter().map(|(k, v)| (k.as_str(), v.text())).collect();
    let thresholds = eviction::parse_map(texts.iter().map(|(k, v)| (*k, v.as_str())))?;
    let mut eviction_hard = Bounded::new();
    for t in thresholds {
        // One entry per map key and six measurable signals: the bound of 8 holds; a
        // (impossible) ninth is dropped rather than failing the section.
        let _ = eviction_hard.push(t);
    }
    Ok(KubeletConfig {
        eviction_hard,
        kube_reserved: scheduling::resources(config.kube_reserved.iter().flatten())?,
        system_reserved: scheduling::resources(config.system_reserved.iter().flatten())?,
        max_pods: config.max_pods.and_then(|n| u32::try_from(n).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeward_proto::kubelet::Resources;
    use edgeward_proto::pressure::{Quantity, Signal, Threshold};
    use proptest::prelude::*;

    #[test]
    fn eviction_reservations_and_max_pods_are_read() {
        let body = br#"{"kubeletconfig":{"maxPods":110,"evictionHard":{"imagefs.available":"15%",
            "memory.available":"100Mi","allocatableMemory.available":"1Gi"},
            "kubeReserved":{"cpu":"250m","memory":"512Mi","ephemeral-storage":"1Gi"},
            "systemReserved":{"cpu":"0.5","memory":"1G"}}}"#;
        let c = parse(body).expect("configz");
        assert_eq!(
            c.eviction_hard.to_vec(),
            vec![
                Threshold {
                    signal: Signal::ImagefsAvailable,
                    value: Quantity::Percent(15.0)
                },
                Threshold {
                    signal: Signal::MemoryAvailable,
                    value: Quantity::Absolute(100 << 20)
                },
            ]
        );
        assert_eq!(
            c.kube_reserved,
            Resources {
                cpu_millis: 250,
                memory_bytes: 512 << 20
            }
        );
        assert_eq!(
            c.system_reserved,
            Resources {
                cpu_millis: 500,
                memory_bytes: 1_000_000_000
            }
        );
        assert_eq!(c.max_pods, Some(110));
    }

    #[test]
    fn absent_eviction_hard_means_no_thresholds() {
        let c = parse(br#"{"kubeletconfig":{"maxPods":-1}}"#).expect("configz");
        assert!(c.eviction_hard.is_empty());
        assert_eq!(c.kube_reserved, Resources::default());
        assert_eq!(c.max_pods, None);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(matches!(parse(b"{}"), Err(ConfigzError::Missing)));
        assert!(matches!(parse(b"[]"), Err(ConfigzError::Json(_))));
        assert!(matches!(
            parse(br#"{"kubeletconfig":{"evictionHard":{"memory.available":"lots"}}}"#),
            Err(ConfigzError::Threshold(_))
        ));
        assert!(matches!(
            parse(br#"{"kubeletconfig":{"kubeReserved":{"cpu":"-1"}}}"#),
            Err(ConfigzError::Quantity(_))
        ));
        assert!(matches!(
            parse(br#"{"kubeletconfig":{"maxPods":"110"}}"#),
            Err(ConfigzError::Json(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn arbitrary_eviction_maps_never_panic(k in "[a-z.A-Z]{0,20}", v in ".{0,12}") {
            let body = serde_json::json!({"kubeletconfig": {"evictionHard": {k: v}}});
            let _ = parse(body.to_string().as_bytes());
        }
    }
}
