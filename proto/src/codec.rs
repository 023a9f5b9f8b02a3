//! Messages to frames and back, one protocol version at a time.
//!
//! # How versions evolve
//! postcard is not self-describing: the bytes of a message mean something only against the
//! exact schema that wrote them. So a protocol version *is* a frozen schema:
//! - Any change to a wire type (a field added, removed, reordered or retyped, an enum
//!   variant added) bumps [`crate::PROTOCOL_VERSION`]. The golden-bytes test
//!   (`proto/tests/golden.rs`) fails on any change that forgot to.
//! - Before changing a type, copy the current message types into `legacy/v<N>.rs`, frozen,
//!   with `From<legacy::vN::Batch> for Batch` (new fields become `Unavailable` or `None`
//!   with a reason such as "agent too old", never a made-up value) and the reverse for
//!   `Reply`. Then add the match arms below and keep vN's golden files.
//! - The aggregator decodes N, N-1 and N-2 ([`crate::version::SUPPORTED`]); older schemas
//!   are deleted when they leave that window.
//!
//! Schemas: protocol 2 is the current one; protocol 1 is frozen in [`legacy::v1`], whose
//! module doc lists how each v1 value becomes a v2 one. A decoded v1 batch is in the current
//! types but its header still says `protocol_version: 1`.
//!
//! Batches are encoded only in the current version (an agent speaks its own version, and a
//! batch cannot be converted down without losing data); replies are encoded in every version
//! this build decodes, so each agent gets a reply in the version it sent ([`encodable`]).

// The frozen schemas are the codec's business: `codec::legacy`, in `src/legacy/`.
#[path = "legacy/mod.rs"]
pub mod legacy;

use crate::batch::Batch;
use crate::envelope::{self, DecodeError, EncodeError, EncodeOptions, Kind, Limits, Malformed};
use crate::reply::Reply;
use crate::version::SUPPORTED;
use serde::{Deserialize, Serialize};

/// Encodes a batch at the current protocol version. Refuses an invalid batch: the aggregator
/// would reject it as malformed, so it is an agent bug, not something to ship.
pub fn encode_batch(batch: &Batch, opts: &EncodeOptions) -> Result<Vec<u8>, EncodeError> {
    let version = batch.header.protocol_version;
    if version != crate::PROTOCOL_VERSION {
        return Err(EncodeError::UnsupportedVersion {
            version,
            supported: crate::version::ProtocolRange {
                oldest: crate::PROTOCOL_VERSION,
                newest: crate::PROTOCOL_VERSION,
            },
        });
    }
    batch.validate()?;
    let raw = postcard::to_allocvec(batch).map_err(EncodeError::Serialize)?;
    envelope::seal(version, Kind::Batch, &raw, opts)
}

/// Decodes and validates a batch of any supported version into the current types.
pub fn decode_batch(frame: &[u8], limits: &Limits) -> Result<Batch, DecodeError> {
    let (h, raw) = envelope::open(frame, Kind::Batch, limits)?;
    let batch: Batch = match h.version {
        crate::PROTOCOL_VERSION => from_payload(&raw)?,
        legacy::v1::VERSION => Batch::from(from_payload::<legacy::v1::Batch>(&raw)?),
        version => {
            return Err(DecodeError::UnsupportedVersion {
                version,
                supported: SUPPORTED,
            });
        }
    };
    if batch.header.protocol_version != h.version {
        return Err(Malformed::VersionMismatch {
            envelope: h.version,
            message: batch.header.protocol_version,
        }
        .into());
    }
    batch.validate().map_err(Malformed::from)?;
    Ok(batch)
}

/// Encodes a reply in `version`, the version of the batch it answers: any of [`encodable`].
pub fn encode_reply(
    reply: &Reply,
    version: u16,
    opts: &EncodeOptions,
) -> Result<Vec<u8>, EncodeError> {
    let raw = match version {
        crate::PROTOCOL_VERSION => postcard::to_allocvec(reply),
        legacy::v1::VERSION => postcard::to_allocvec(&legacy::v1::Reply::from(reply)),
        version => {
            return Err(EncodeError::UnsupportedVersion {
                version,
                supported: encodable(),
            });
        }
    }
    .map_err(EncodeError::Serialize)?;
    envelope::seal(version, Kind::Reply, &raw, opts)
}

/// Decodes a reply of any supported version into the current type.
pub fn decode_reply(frame: &[u8], limits: &Limits) -> Result<Reply, DecodeError> {
    let (h, raw) = envelope::open(frame, Kind::Reply, limits)?;
    match h.version {
        crate::PROTOCOL_VERSION => Ok(from_payload(&raw)?),
        legacy::v1::VERSION => Ok(Reply::from(from_payload::<legacy::v1::Reply>(&raw)?)),
        version => Err(DecodeError::UnsupportedVersion {
            version,
            supported: SUPPORTED,
        }),
    }
}

/// The versions this build can encode a reply in: every version it decodes, so the
/// aggregator can answer every batch it accepts. (Batches: only [`crate::PROTOCOL_VERSION`].)
pub fn encodable() -> crate::version::ProtocolRange {
    SUPPORTED
}

fn from_payload<'a, T: Deserialize<'a>>(raw: &'a [u8]) -> Result<T, Malformed> {
    let (msg, rest) = postcard::take_from_bytes::<T>(raw).map_err(Malformed::Payload)?;
    if !rest.is_empty() {
        return Err(Malformed::TrailingPayloadBytes(rest.len()));
    }
    Ok(msg)
}

/// The postcard payload of a message, without envelope: what benchmarks and golden files
/// compare against other encodings.
pub fn payload_bytes<T: Serialize>(msg: &T) -> Result<Vec<u8>, EncodeError> {
    postcard::to_allocvec(msg).map_err(EncodeError::Serialize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounded::Bounded;
    use crate::reply::{StreamAck, Verdict};
    use crate::{Seq, StreamId};

    /// The aggregator answers every batch it decodes in the batch's own version.
    #[test]
    fn every_supported_version_encodes_and_decodes_a_reply() {
        let reply = Reply {
            verdict: Verdict::RetryLater {
                detail: "busy".into(),
            },
            acks: Bounded::try_from(vec![StreamAck {
                stream: StreamId(3),
                acked_through: Seq(9),
            }])
            .unwrap(),
            retry_after_ms: Some(1_000),
            protocol: SUPPORTED,
        };
        assert_eq!(encodable(), SUPPORTED);
        for version in SUPPORTED.oldest..=SUPPORTED.newest {
            let frame = encode_reply(&reply, version, &EncodeOptions::default()).unwrap();
            assert_eq!(envelope::peek_version(&frame), Ok(version));
            assert_eq!(decode_reply(&frame, &Limits::default()), Ok(reply.clone()));
        }
        let beyond = SUPPORTED.newest + 1;
        assert!(matches!(
            encode_reply(&reply, beyond, &EncodeOptions::default()),
            Err(EncodeError::UnsupportedVersion { version, .. }) if version == beyond
        ));
    }

    #[test]
    fn batches_are_encoded_only_in_the_current_version() {
        let mut batch = crate::synthetic::SyntheticNode::new(1).batch(1, 1, crate::UnixMillis(0));
        batch.header.protocol_version = legacy::v1::VERSION;
        assert!(matches!(
            encode_batch(&batch, &EncodeOptions::default()),
            Err(EncodeError::UnsupportedVersion { version: 1, .. })
        ));
    }
}
