//! Kubernetes node names.
//!
//! A node name is an RFC 1123 subdomain, as the API server checks it: 1 to 253 characters of
//! `a-z`, `0-9`, `-` and `.`, made of dot-separated labels of 1 to 63 characters that each start
//! and end with a letter or digit. The check is pure; the aggregator will need the same one, so
//! it is a candidate to move into `edgeward-proto`.

use std::fmt;

use thiserror::Error;

/// Longest node name the API server accepts.
pub const MAX_LEN: usize = 253;
/// Longest label (the part between dots) of a node name.
pub const MAX_LABEL_LEN: usize = 63;

/// A validated Kubernetes node name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeName(String);

/// The rule a would-be node name breaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NodeNameError {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// The name is longer than 253 characters.
    #[error("it is {len} characters long; the maximum is 253")]
    TooLong {
        /// Length in bytes.
        len: usize,
    },
    /// The name contains a character outside `a-z0-9.-`.
    #[error("it contains {ch:?} at byte {index}; only a-z, 0-9, '-' and '.' are allowed")]
    InvalidCharacter {
        /// The offending character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
    /// Two dots in a row, or a dot at either end.
    #[error("it has an empty label (a leading, trailing or doubled '.')")]
    EmptyLabel,
    /// A label longer than 63 characters.
    #[error("label {label:?} is {len} characters long; the maximum is 63")]
    LabelTooLong {
        /// The label.
        label: String,
        /// Its length.
        len: usize,
    },
    /// A label that starts or ends with `-`.
    #[error("label {label:?} must start and end with a letter or digit")]
    LabelEdge {
        /// The label.
        label: String,
    },
}

impl NodeName {
    /// Checks `name` against the rules in the module documentation.
    pub fn parse(name: &str) -> Result<Self, NodeNameError> {
        if name.is_empty() {
            return Err(NodeNameError::Empty);
        }
        if name.len() > MAX_LEN {
            return Err(NodeNameError::TooLong { len: name.len() });
        }
        if let Some((index, ch)) = name.char_indices().find(|(_, c)| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.')
        }) {
            return Err(NodeNameError::InvalidCharacter { ch, index });
        }
        for label in name.split('.') {
            check_label(label)?;
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_label(label: &str) -> Result<(), NodeNameError> {
    if label.is_empty() {
        return Err(NodeNameError::EmptyLabel);
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(NodeNameError::LabelTooLong {
            label: label.to_owned(),
            len: label.len(),
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(NodeNameError::LabelEdge {
            label: label.to_owned(),
        });
    }
    Ok(())
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_node_names() {
        for name in [
            "edge-1",
            "rpi4",
            "node.cluster.local",
            "a",
            "0",
            "k3s-server-01.lan",
        ] {
            assert_eq!(
                NodeName::parse(name).map(|n| n.to_string()),
                Ok(name.to_owned())
            );
        }
    }

    #[test]
    fn rejects_empty_name() {
        assert_eq!(NodeName::parse(""), Err(NodeNameError::Empty));
    }

    #[test]
    fn accepts_253_characters_and_rejects_254() {
        let label = "a".repeat(63);
        let name = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        assert_eq!(name.len(), 253);
        assert!(NodeName::parse(&name).is_ok());
        let longer = format!("{name}b");
        assert_eq!(
            NodeName::parse(&longer),
            Err(NodeNameError::TooLong { len: 254 })
        );
    }

    #[test]
    fn rejects_uppercase_underscore_and_non_ascii() {
        for (name, ch, index) in [("Edge", 'E', 0), ("edge_1", '_', 4), ("nöde", 'ö', 1)] {
            assert_eq!(
                NodeName::parse(name),
                Err(NodeNameError::InvalidCharacter { ch, index })
            );
        }
    }

    #[test]
    fn rejects_empty_labels() {
        for name in [".edge", "edge.", "edge..lan"] {
            assert_eq!(NodeName::parse(name), Err(NodeNameError::EmptyLabel));
        }
    }

    #[test]
    fn rejects_label_longer_than_63() {
        let name = format!("{}.lan", "a".repeat(64));
        assert!(matches!(
            NodeName::parse(&name),
            Err(NodeNameError::LabelTooLong { len: 64, .. })
        ));
    }

    #[test]
    fn rejects_labels_starting_or_ending_with_hyphen() {
        for name in ["-edge", "edge-", "edge.-lan", "edge-.lan"] {
            assert!(matches!(
                NodeName::parse(name),
                Err(NodeNameError::LabelEdge { .. })
            ));
        }
    }
}
