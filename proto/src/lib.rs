//! edgeward-proto: the wire format and the node checks that agent and aggregator share.
//!
//! Invariant: this crate does no I/O. No tokio, reqwest, sled or tracing here; its normal
//! dependencies are serde, postcard, thiserror, zstd and crc32fast.
//!
//! - [`codec`]: `encode_batch` / `decode_batch` / `encode_reply` / `decode_reply`, and how
//!   protocol versions evolve.
//! - [`envelope`]: the framing (magic, version, flags, lengths, checksum, compression).
//! - Messages: [`batch`], [`sample`] with its sections ([`pressure`], [`kubelet`],
//!   [`datastore`], [`inventory`]), [`gap`], [`reply`]; identities in [`ident`].
//! - [`eviction`]: the kubelet's hard-eviction thresholds, margins and node conditions.
//! - [`synthetic`]: deterministic synthetic samples for simulated nodes, benchmarks and tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod batch;
pub mod bounded;
pub mod codec;
pub mod datastore;
pub mod envelope;
pub mod eviction;
pub mod gap;
pub mod ident;
pub mod inventory;
pub mod kubelet;
pub mod pressure;
pub mod reply;
pub mod sample;
pub mod synthetic;
pub mod version;

pub use batch::{Batch, BatchHeader};
pub use bounded::Bounded;
pub use codec::{decode_batch, decode_reply, encode_batch, encode_reply};
pub use envelope::{DecodeError, EncodeError, EncodeOptions, Limits};
pub use gap::{GapReason, GapRecord};
pub use ident::{BootId, ClusterId, NodeId, Seq, StreamId, UnixMillis};
pub use reply::{Reply, Verdict};
pub use sample::{Sample, Section, Unavailable, UnavailableReason};

/// The protocol version this build speaks when it encodes.
pub const PROTOCOL_VERSION: u16 = 2;
/// The oldest protocol version this build still decodes (N-2 policy, see [`version`]).
pub const OLDEST_SUPPORTED_VERSION: u16 = 1;
