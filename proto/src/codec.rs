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
//! Until then there is exactly one schema, the current one.

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
            supported: encodable(),
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
        // Older versions: `1 => Batch::from(from_payload::<legacy::v1::Batch>(&raw)?),`
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

/// Encodes a reply in `version`, the version of the batch it answers.
pub fn encode_reply(
    reply: &Reply,
    version: u16,
    opts: &EncodeOptions,
) -> Result<Vec<u8>, EncodeError> {
    if version != crate::PROTOCOL_VERSION {
        return Err(EncodeError::UnsupportedVersion {
            version,
            supported: encodable(),
        });
    }
    let raw = postcard::to_allocvec(reply).map_err(EncodeError::Serialize)?;
    envelope::seal(version, Kind::Reply, &raw, opts)
}

/// Decodes a reply.
pub fn decode_reply(frame: &[u8], limits: &Limits) -> Result<Reply, DecodeError> {
    let (h, raw) = envelope::open(frame, Kind::Reply, limits)?;
    match h.version {
        crate::PROTOCOL_VERSION => Ok(from_payload(&raw)?),
        version => Err(DecodeError::UnsupportedVersion {
            version,
            supported: SUPPORTED,
        }),
    }
}

/// The versions this build can encode (down-conversions come with the first legacy schema).
pub fn encodable() -> crate::version::ProtocolRange {
    crate::version::ProtocolRange {
        oldest: crate::PROTOCOL_VERSION,
        newest: crate::PROTOCOL_VERSION,
    }
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
