//! The aggregator's own validation rules, next to the shared ones it re-exports: each turns a
//! raw [`Sourced`] string into a typed value or an [`Invalid`] that names the key and where the
//! value came from.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;

pub use edgeward_runtime::rules::{log_filter, log_format, path};

use super::Sourced;
use super::error::{Invalid, Problem};

/// An `IP:port` pair; port 0 asks the kernel for a free port.
pub fn socket_addr(key: &'static str, raw: &Sourced<String>) -> Result<SocketAddr, Invalid> {
    SocketAddr::from_str(raw.value.trim()).map_err(|source| {
        let value = raw.value.clone();
        Invalid::new(key, raw, Problem::SocketAddr { value, source })
    })
}

/// A whole number of bytes within `range`.
pub fn byte_count(
    key: &'static str,
    raw: &Sourced<String>,
    range: RangeInclusive<u64>,
) -> Result<u64, Invalid> {
    let bytes = u64::from_str(raw.value.trim()).map_err(|source| {
        let value = raw.value.clone();
        Invalid::new(key, raw, Problem::NotAnInteger { value, source })
    })?;
    if !range.contains(&bytes) {
        let (min, max) = range.into_inner();
        let problem = Problem::OutOfRange {
            value: bytes,
            min,
            max,
        };
        return Err(Invalid::new(key, raw, problem));
    }
    Ok(bytes)
}
