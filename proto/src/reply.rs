//! The aggregator's reply to a batch: what is now durable, and what the agent should do next.
//!
//! The reply is encoded in the protocol version of the batch it answers, so every agent the
//! aggregator accepts can read it. A batch in a version the aggregator does not speak gets
//! HTTP 415 with the supported range in the `edgeward-protocol` header instead (see
//! [`crate::version`]), because no reply schema is known to be readable by such an agent.

use crate::bounded::Bounded;
use crate::ident::{Seq, StreamId};
use crate::version::ProtocolRange;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub verdict: Verdict,
    /// Per stream, the highest sequence number that is durable at the aggregator and below
    /// which nothing is missing or outstanding. The agent may delete through it.
    pub acks: Bounded<StreamAck, 64>,
    /// Wait at least this long before the next request.
    pub retry_after_ms: Option<u32>,
    /// The versions this aggregator decodes.
    pub protocol: ProtocolRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamAck {
    pub stream: StreamId,
    pub acked_through: Seq,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The batch is durable (or was a duplicate of durable data).
    Accepted,
    /// Nothing was stored; send the same data again later.
    RetryLater { detail: String },
    /// Nothing was stored; see [`RejectReason::is_permanent`].
    Rejected {
        reason: RejectReason,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    /// The batch failed to decode or broke an invariant.
    Malformed,
    /// Larger than the aggregator's body limit; the agent should split it.
    TooLarge,
    /// No credentials.
    Unauthenticated,
    /// The credentials name another node than the batch header.
    IdentityMismatch,
}

impl RejectReason {
    /// `true` when sending the same bytes again can never succeed: the agent moves the batch
    /// to quarantine and records a gap instead of blocking its queue. Authentication
    /// problems are not permanent: credentials get fixed, and the data is kept meanwhile.
    pub fn is_permanent(self) -> bool {
        match self {
            RejectReason::Malformed => true,
            RejectReason::TooLarge
            | RejectReason::Unauthenticated
            | RejectReason::IdentityMismatch => false,
        }
    }
}
