//! The aggregator's own validation rules, next to the shared ones it re-exports: each turns a
//! raw [`Sourced`] string into a typed value or an [`Invalid`] that names the key and where the
//! value came from.

use std::net::SocketAddr;
use std::str::FromStr;

pub use edgeward_runtime::rules::{file, integer, log_filter, log_format, path};

use super::Sourced;
use super::error::{Invalid, Problem};

/// An `IP:port` pair; port 0 asks the kernel for a free port.
pub fn socket_addr(key: &'static str, raw: &Sourced<String>) -> Result<SocketAddr, Invalid> {
    SocketAddr::from_str(raw.value.trim()).map_err(|source| {
        let value = raw.value.clone();
        Invalid::new(key, raw, Problem::SocketAddr { value, source })
    })
}
