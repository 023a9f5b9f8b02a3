//! A probe switched off in the config: it fills its section with `Unavailable(Disabled)`
//! naming the key that switched it off, so the sample says why it has no data.

use edgeward_proto::{Sample, Unavailable, UnavailableReason};

use super::Probe;

/// Stands in for a probe whose `<name>.enabled` is `false`.
pub struct Switched {
    name: &'static str,
    fill: fn(&mut Sample, Unavailable),
}

impl std::fmt::Debug for Switched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switched")
            .field("name", &self.name)
            .finish()
    }
}

impl Switched {
    /// `fill` writes the reason into the probe's own section.
    pub fn off(name: &'static str, fill: fn(&mut Sample, Unavailable)) -> Self {
        Self { name, fill }
    }
}

impl Probe for Switched {
    fn name(&self) -> &'static str {
        self.name
    }

    fn observe(&mut self, sample: &mut Sample) {
        (self.fill)(
            sample,
            Unavailable {
                reason: UnavailableReason::Disabled,
                detail: format!(
                    "{} probe disabled in the config ({}.enabled = false)",
                    self.name, self.name
                ),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeward_proto::{Section, UnixMillis};

    #[test]
    fn switched_off_probe_names_the_config_key() {
        let mut s = super::super::blank_sample(UnixMillis(0));
        Switched::off("kubelet", |s, u| s.kubelet = Section::Unavailable(u)).observe(&mut s);
        match s.kubelet {
            Section::Unavailable(u) => {
                assert_eq!(u.reason, UnavailableReason::Disabled);
                assert!(u.detail.contains("kubelet.enabled = false"), "{}", u.detail);
            }
            other => panic!("expected Disabled, got {other:?}"),
        }
    }
}
