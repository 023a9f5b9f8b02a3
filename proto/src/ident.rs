//! Identities and scalar wire types: who sent a sample, which stream it belongs to, and when.
//!
//! Validated types (`NodeId`, `ClusterId`) re-check their invariants when decoded, so a hostile
//! peer cannot smuggle an invalid identity past the type system.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Sequence number of an outbox item. Unique and strictly increasing within one stream,
/// across agent restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Seq(pub u64);

/// One lifetime of an agent's outbox. Exactly-once ingest keys on (node, stream, seq): an outbox
/// that had to be recreated (corruption) starts a new stream, so a reset sequence counter can
/// never be mistaken for duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StreamId(pub u64);

/// Wall-clock time in milliseconds since the Unix epoch, as the sender's clock saw it.
/// Edge boxes often lack an RTC: the aggregator compares `sent_at` with its own clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnixMillis(pub i64);

/// The kernel's boot id (`/proc/sys/kernel/random/boot_id`), a UUID: changes on every reboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BootId(pub [u8; 16]);

/// Why an identity string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} bytes, longer than {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} {value:?} has invalid character {ch:?} at byte {at}")]
    BadChar {
        what: &'static str,
        value: String,
        ch: char,
        at: usize,
    },
    #[error("{what} {value:?}: {rule}")]
    BadShape {
        what: &'static str,
        value: String,
        rule: &'static str,
    },
}

/// A Kubernetes node name: an RFC 1123 DNS subdomain (lowercase alphanumerics, `-` and `.`,
/// at most 253 bytes, labels of at most 63 bytes that start and end alphanumeric).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

impl NodeId {
    pub const MAX_LEN: usize = 253;

    pub fn new(s: impl Into<String>) -> Result<Self, IdentError> {
        let s = s.into();
        validate_dns_subdomain(&s)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn validate_dns_subdomain(s: &str) -> Result<(), IdentError> {
    const WHAT: &str = "node name";
    if s.is_empty() {
        return Err(IdentError::Empty { what: WHAT });
    }
    if s.len() > NodeId::MAX_LEN {
        return Err(IdentError::TooLong {
            what: WHAT,
            len: s.len(),
            max: NodeId::MAX_LEN,
        });
    }
    if let Some((at, ch)) = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'))
    {
        return Err(IdentError::BadChar {
            what: WHAT,
            value: s.to_owned(),
            ch,
            at,
        });
    }
    for label in s.split('.') {
        let bad = |rule| {
            Err(IdentError::BadShape {
                what: WHAT,
                value: s.to_owned(),
                rule,
            })
        };
        if label.is_empty() {
            return bad("empty label");
        }
        if label.len() > 63 {
            return bad("label longer than 63 bytes");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("label must start and end with an alphanumeric character");
        }
    }
    Ok(())
}

impl TryFrom<String> for NodeId {
    type Error = IdentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> Self {
        id.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cluster identity that every node of one cluster derives alike without the API server
/// (for example the hex SHA-256 of the cluster's server CA certificate), or a name an
/// operator configured. 1..=128 bytes of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterId(String);

impl ClusterId {
    pub const MAX_LEN: usize = 128;

    pub fn new(s: impl Into<String>) -> Result<Self, IdentError> {
        const WHAT: &str = "cluster id";
        let s = s.into();
        if s.is_empty() {
            return Err(IdentError::Empty { what: WHAT });
        }
        if s.len() > Self::MAX_LEN {
            return Err(IdentError::TooLong {
                what: WHAT,
                len: s.len(),
                max: Self::MAX_LEN,
            });
        }
        if let Some((at, ch)) = s
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
        {
            return Err(IdentError::BadChar {
                what: WHAT,
                value: s,
                ch,
                at,
            });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClusterId {
    type Error = IdentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ClusterId> for String {
    fn from(id: ClusterId) -> Self {
        id.0
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_accepts_kubernetes_node_names() {
        for ok in ["a", "node-1", "shop-17.factory.example", "0abc"] {
            assert!(NodeId::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn node_id_rejects_what_kubernetes_rejects() {
        let long_label = "a".repeat(64);
        let too_long = ["a"; 127].join(".") + ".b";
        for bad in [
            "",
            "Node",
            "-a",
            "a-",
            "a..b",
            "a_b",
            "a b",
            long_label.as_str(),
            too_long.as_str(),
        ] {
            assert!(NodeId::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn decoding_an_invalid_node_id_fails_instead_of_constructing_it() {
        let bytes = postcard::to_allocvec(&"NOT VALID".to_string()).unwrap();
        assert!(postcard::from_bytes::<NodeId>(&bytes).is_err());
    }

    #[test]
    fn cluster_id_accepts_hex_digests_and_names_and_rejects_others() {
        assert!(ClusterId::new("a3f1".repeat(16)).is_ok());
        assert!(ClusterId::new("eu-west:shop_17").is_ok());
        assert!(ClusterId::new("").is_err());
        assert!(ClusterId::new("a/b").is_err());
        assert!(ClusterId::new("x".repeat(129)).is_err());
    }
}
