//! Protocol versions and how two peers find a common one.
//!
//! - The aggregator at version N decodes N, N-1 and N-2 ([`SUPPORTED`]): upgrade the
//!   aggregator first, and agents up to two releases behind keep shipping.
//! - Every reply carries the aggregator's range. A batch in a version outside it gets HTTP 415
//!   with the header `edgeward-protocol: <oldest>-<newest>`; the agent then encodes at
//!   [`negotiate`]'s answer if it can, and otherwise keeps its data and retries with backoff,
//!   logging an operator-facing error. It never drops data for a version mismatch.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The HTTP header that carries a peer's supported range, e.g. `edgeward-protocol: 1-3`.
/// Its syntax is frozen forever: it is the one thing every version can read.
pub const PROTOCOL_HEADER: &str = "edgeward-protocol";

/// The versions this build decodes.
pub const SUPPORTED: ProtocolRange = ProtocolRange {
    oldest: crate::OLDEST_SUPPORTED_VERSION,
    newest: crate::PROTOCOL_VERSION,
};

/// An inclusive range of protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProtocolRange {
    pub oldest: u16,
    pub newest: u16,
}

impl ProtocolRange {
    pub fn contains(self, version: u16) -> bool {
        (self.oldest..=self.newest).contains(&version)
    }
}

/// The newest version both ranges contain, if any.
pub fn negotiate(ours: ProtocolRange, theirs: ProtocolRange) -> Option<u16> {
    let newest = ours.newest.min(theirs.newest);
    (newest >= ours.oldest.max(theirs.oldest)).then_some(newest)
}

impl fmt::Display for ProtocolRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.oldest, self.newest)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protocol range {0:?} is not <oldest>-<newest> with oldest <= newest")]
pub struct BadRange(pub String);

impl FromStr for ProtocolRange {
    type Err = BadRange;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadRange(s.to_owned());
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let oldest: u16 = a.parse().map_err(|_| bad())?;
        let newest: u16 = b.parse().map_err(|_| bad())?;
        if oldest > newest {
            return Err(bad());
        }
        Ok(ProtocolRange { oldest, newest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn r(oldest: u16, newest: u16) -> ProtocolRange {
        ProtocolRange { oldest, newest }
    }

    #[test]
    fn negotiate_picks_the_newest_common_version() {
        assert_eq!(negotiate(r(1, 3), r(2, 5)), Some(3));
        assert_eq!(negotiate(r(3, 3), r(1, 3)), Some(3));
        assert_eq!(negotiate(r(4, 4), r(1, 3)), None);
        assert_eq!(negotiate(r(1, 1), r(2, 3)), None);
    }

    #[test]
    fn header_value_round_trips_and_rejects_garbage() {
        assert_eq!("1-3".parse::<ProtocolRange>(), Ok(r(1, 3)));
        assert_eq!(r(2, 4).to_string().parse::<ProtocolRange>(), Ok(r(2, 4)));
        for bad in ["", "3", "3-1", "a-b", "1-", "-1", "1-70000"] {
            assert!(bad.parse::<ProtocolRange>().is_err(), "{bad:?}");
        }
    }
}
