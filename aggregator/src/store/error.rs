//! Why the store could not open, read or write.
//!
//! Display strings never repeat their `#[source]`: print the whole chain (anyhow's `{:#}`)
//! for one line with the cause. No variant is ever "fixed" by deleting data: a store that
//! does not open keeps the aggregator from starting until an operator looks.

use std::io;
use std::path::PathBuf;

use edgeward_proto::NodeId;
use thiserror::Error;

/// A store operation that failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The data directory does not exist and cannot be created (permissions, a file in the
    /// way, read-only filesystem).
    #[error("cannot create the store directory {}", path.display())]
    CreateDir {
        /// The configured data directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// sled refused to open the directory: another process holds it, or its files are
    /// damaged or from an incompatible sled version.
    #[error("cannot open the store in {}", path.display())]
    Open {
        /// The configured data directory.
        path: PathBuf,
        /// sled's reason.
        #[source]
        source: sled::Error,
    },
    /// The directory holds a store of another layout version.
    #[error(
        "the store in {} has layout version {found}; this aggregator reads version {expected}",
        path.display()
    )]
    Schema {
        /// The configured data directory.
        path: PathBuf,
        /// The version recorded in the store.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The directory holds data but no layout version: not an edgeward store.
    #[error("{} holds data that is not an edgeward store", path.display())]
    Foreign {
        /// The configured data directory.
        path: PathBuf,
    },
    /// sled failed while reading or writing.
    #[error("store I/O failed while {op}")]
    Io {
        /// What the store was doing, e.g. "flushing an ingested batch".
        op: &'static str,
        /// sled's reason.
        #[source]
        source: sled::Error,
    },
    /// A stored value does not decode: the files were damaged or written by another layout.
    #[error("stored {what} at key {key} does not decode")]
    Corrupt {
        /// The kind of record, e.g. "node record".
        what: &'static str,
        /// The key, printable.
        key: String,
        /// postcard's reason.
        #[source]
        source: postcard::Error,
    },
    /// A key does not have the layout its prefix promises.
    #[error("stored key {key} is malformed")]
    MalformedKey {
        /// The key, printable.
        key: String,
    },
    /// A node has had more streams (outbox lifetimes) than a stream ordinal can number.
    #[error("node {node} has more than 2^32 streams")]
    TooManyStreams {
        /// The node.
        node: NodeId,
    },
    /// A value could not be encoded (postcard does not fail on the types stored; kept
    /// typed rather than unwrapped).
    #[error("cannot encode {what}")]
    Encode {
        /// The kind of record.
        what: &'static str,
        /// postcard's reason.
        #[source]
        source: postcard::Error,
    },
}

/// Adds the operation to a sled error.
pub(super) fn io(op: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
    move |source| StoreError::Io { op, source }
}
