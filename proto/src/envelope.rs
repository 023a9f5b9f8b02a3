//! The envelope: a fixed header around every postcard payload on the wire.
//!
//! ```text
//! offset size field
//!  0      4   magic        b"EWRD"                       frozen forever
//!  4      2   version      u16 LE protocol version       frozen forever
//!  6      1   kind         1 = batch, 2 = reply          (layout below: versions 1..)
//!  7      1   flags        bit 0: payload is zstd-compressed; other bits must be 0
//!  8      4   payload_len  u32 LE, bytes after the header
//! 12      4   raw_len      u32 LE, payload bytes after decompression (= payload_len if not compressed)
//! 16      4   crc32        u32 LE, CRC-32 (IEEE) of bytes 0..16 and of the payload
//! 20      …   payload
//! ```
//!
//! Decoding order is part of the contract: length ≥ 6, magic, version (so a peer learns
//! "unsupported version" even if a later version changes the rest of the header), the rest of
//! the header, size limits, checksum, decompression into a buffer of exactly `raw_len` bytes.
//! Nothing is allocated before the sizes are checked against [`Limits`]. Decoding hostile
//! bytes allocates at most:
//! - `max_raw_bytes` for the decompressed payload (exactly the declared size; a zstd stream
//!   that would exceed it is an error, not a reallocation);
//! - the decoded message. Its repeated fields are all [`crate::Bounded`], so a batch holds at
//!   most 20,000 samples (1,224 bytes each in memory since protocol 2: ≤ 24 MiB) and 4,096
//!   gap records; every variable part is built from input bytes, the densest being a
//!   troubled container with empty strings (3 bytes on the wire, 56 in memory). With the
//!   default limits the worst case is therefore about 24 MiB + 19 × 16 MiB; an aggregator
//!   authenticates the sender before decoding.

use crate::version::{ProtocolRange, SUPPORTED};
use std::borrow::Cow;
use thiserror::Error;

pub const MAGIC: [u8; 4] = *b"EWRD";
pub const HEADER_LEN: usize = 20;
const FLAG_ZSTD: u8 = 0b0000_0001;
const KNOWN_FLAGS: u8 = FLAG_ZSTD;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Batch = 1,
    Reply = 2,
}

/// How the payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    /// zstd at a level (1..=19). README.md gives the measurements behind the default.
    Zstd {
        level: i32,
    },
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Default: zstd level 3.
    pub compression: Compression,
    /// Payloads shorter than this are sent uncompressed. Default: 256 bytes. A one-sample
    /// batch (~440 bytes) already shrinks by a fifth; below 256 bytes (replies, tiny gap-only
    /// batches) zstd's frame overhead eats the gain. Compressed output is kept only if smaller.
    pub compress_from: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Zstd { level: 3 },
            compress_from: 256,
        }
    }
}

impl EncodeOptions {
    pub const UNCOMPRESSED: Self = Self {
        compression: Compression::None,
        compress_from: usize::MAX,
    };
}

/// Decoder limits: what a peer may make this side allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame accepted, header included. Default 16 MiB.
    pub max_frame_bytes: usize,
    /// Largest payload after decompression. Default 16 MiB.
    pub max_raw_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 16 << 20,
            max_raw_bytes: 16 << 20,
        }
    }
}

/// Which size exceeded its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeOf {
    Frame,
    DecompressedPayload,
}

/// Why bytes did not decode. Every variant is a verdict on the input, never a bug here.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DecodeError {
    #[error("truncated frame: need {needed} bytes, have {got}")]
    Truncated { needed: usize, got: usize },
    #[error("bad magic {found:02x?}: not an edgeward frame")]
    BadMagic { found: [u8; 4] },
    #[error("unsupported protocol version {version}; this peer decodes versions {supported}")]
    UnsupportedVersion {
        version: u16,
        supported: ProtocolRange,
    },
    #[error("{what:?} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { what: SizeOf, size: u64, limit: u64 },
    #[error("checksum mismatch: frame says {expected:#010x}, content hashes to {actual:#010x}")]
    ChecksumMismatch { expected: u32, actual: u32 },
    #[error("malformed frame: {0}")]
    Malformed(#[from] Malformed),
}

/// The ways a frame that passed its checksum can still be wrong.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Malformed {
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("expected a {expected:?} frame, got a {found:?} frame")]
    WrongKind { expected: Kind, found: Kind },
    #[error("unknown flag bits {0:#04x}")]
    UnknownFlags(u8),
    #[error("{0} bytes after the end of the frame")]
    TrailingFrameBytes(usize),
    #[error("payload is {actual} bytes, header declares {declared}")]
    LengthMismatch { declared: u64, actual: u64 },
    #[error("zstd: {0}")]
    Decompress(String),
    #[error("payload: {0}")]
    Payload(postcard::Error),
    #[error("{0} bytes after the end of the message")]
    TrailingPayloadBytes(usize),
    #[error("message says protocol version {message}, envelope says {envelope}")]
    VersionMismatch { envelope: u16, message: u16 },
    #[error("invalid batch: {0}")]
    InvalidBatch(#[from] crate::batch::InvalidBatch),
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EncodeError {
    #[error("serialising: {0}")]
    Serialize(postcard::Error),
    #[error("zstd: {0}")]
    Compress(String),
    #[error("payload of {0} bytes does not fit a frame")]
    TooLarge(usize),
    #[error("cannot encode protocol version {version}; this build encodes {supported}")]
    UnsupportedVersion {
        version: u16,
        supported: ProtocolRange,
    },
    #[error("refusing to encode an invalid batch: {0}")]
    InvalidBatch(#[from] crate::batch::InvalidBatch),
}

/// The fixed header of a frame, as read from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub version: u16,
    pub kind: Kind,
    pub compressed: bool,
    pub payload_len: u32,
    pub raw_len: u32,
    pub crc32: u32,
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads magic and version only: enough to answer "unsupported version" to any peer.
pub fn peek_version(frame: &[u8]) -> Result<u16, DecodeError> {
    if frame.len() < 6 {
        return Err(DecodeError::Truncated {
            needed: 6,
            got: frame.len(),
        });
    }
    let found = [frame[0], frame[1], frame[2], frame[3]];
    if found != MAGIC {
        return Err(DecodeError::BadMagic { found });
    }
    Ok(le_u16(frame, 4))
}

/// Reads and checks the header, in the documented order, without touching the payload.
pub fn read_header(frame: &[u8]) -> Result<FrameHeader, DecodeError> {
    let version = peek_version(frame)?;
    if !SUPPORTED.contains(version) {
        return Err(DecodeError::UnsupportedVersion {
            version,
            supported: SUPPORTED,
        });
    }
    if frame.len() < HEADER_LEN {
        return Err(DecodeError::Truncated {
            needed: HEADER_LEN,
            got: frame.len(),
        });
    }
    let kind = match frame[6] {
        1 => Kind::Batch,
        2 => Kind::Reply,
        k => return Err(Malformed::UnknownKind(k).into()),
    };
    let flags = frame[7];
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Malformed::UnknownFlags(flags & !KNOWN_FLAGS).into());
    }
    Ok(FrameHeader {
        version,
        kind,
        compressed: flags & FLAG_ZSTD != 0,
        payload_len: le_u32(frame, 8),
        raw_len: le_u32(frame, 12),
        crc32: le_u32(frame, 16),
    })
}

/// Checks a whole frame and returns its header and its payload, decompressed (borrowed from
/// `frame` when it was not compressed).
pub fn open<'a>(
    frame: &'a [u8],
    expected: Kind,
    limits: &Limits,
) -> Result<(FrameHeader, Cow<'a, [u8]>), DecodeError> {
    let h = read_header(frame)?;
    let frame_len = HEADER_LEN as u64 + u64::from(h.payload_len);
    if frame_len > limits.max_frame_bytes as u64 {
        return Err(DecodeError::TooLarge {
            what: SizeOf::Frame,
            size: frame_len,
            limit: limits.max_frame_bytes as u64,
        });
    }
    if u64::from(h.raw_len) > limits.max_raw_bytes as u64 {
        return Err(DecodeError::TooLarge {
            what: SizeOf::DecompressedPayload,
            size: h.raw_len.into(),
            limit: limits.max_raw_bytes as u64,
        });
    }
    let got = frame.len() as u64;
    if got < frame_len {
        // Both fit in usize: frame_len ≤ max_frame_bytes.
        return Err(DecodeError::Truncated {
            needed: frame_len as usize,
            got: frame.len(),
        });
    }
    if got > frame_len {
        return Err(Malformed::TrailingFrameBytes((got - frame_len) as usize).into());
    }
    let payload = &frame[HEADER_LEN..];
    let actual = checksum(&frame[..16], payload);
    if actual != h.crc32 {
        return Err(DecodeError::ChecksumMismatch {
            expected: h.crc32,
            actual,
        });
    }
    if h.kind != expected {
        return Err(Malformed::WrongKind {
            expected,
            found: h.kind,
        }
        .into());
    }
    let raw = if h.compressed {
        let raw = zstd::bulk::decompress(payload, h.raw_len as usize)
            .map_err(|e| Malformed::Decompress(e.to_string()))?;
        if raw.len() != h.raw_len as usize {
            return Err(Malformed::LengthMismatch {
                declared: h.raw_len.into(),
                actual: raw.len() as u64,
            }
            .into());
        }
        Cow::Owned(raw)
    } else {
        if h.raw_len != h.payload_len {
            return Err(Malformed::LengthMismatch {
                declared: h.raw_len.into(),
                actual: h.payload_len.into(),
            }
            .into());
        }
        Cow::Borrowed(payload)
    };
    Ok((h, raw))
}

/// Wraps a serialised payload in a frame, compressing it when that pays.
pub fn seal(
    version: u16,
    kind: Kind,
    raw: &[u8],
    opts: &EncodeOptions,
) -> Result<Vec<u8>, EncodeError> {
    let raw_len = u32::try_from(raw.len()).map_err(|_| EncodeError::TooLarge(raw.len()))?;
    let compressed = match opts.compression {
        Compression::Zstd { level } if raw.len() >= opts.compress_from => {
            let c = zstd::bulk::compress(raw, level)
                .map_err(|e| EncodeError::Compress(e.to_string()))?;
            (c.len() < raw.len()).then_some(c)
        }
        _ => None,
    };
    let (flags, payload) = match &compressed {
        Some(c) => (FLAG_ZSTD, c.as_slice()),
        None => (0, raw),
    };
    let payload_len =
        u32::try_from(payload.len()).map_err(|_| EncodeError::TooLarge(payload.len()))?;
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&version.to_le_bytes());
    frame.push(kind as u8);
    frame.push(flags);
    frame.extend_from_slice(&payload_len.to_le_bytes());
    frame.extend_from_slice(&raw_len.to_le_bytes());
    let crc = checksum(&frame[..16], payload);
    frame.extend_from_slice(&crc.to_le_bytes());
    frame.extend_from_slice(payload);
    Ok(frame)
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(header);
    h.update(payload);
    h.finalize()
}
