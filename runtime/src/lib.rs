//! edgeward-runtime: process plumbing every edgeward binary shares: layered settings with their
//! origin, the TOML config file, logging, shutdown signals and the exit-code contract.
//!
//! A binary keeps what is its own (its `Config`, its `Layer` of raw settings, its flags and the
//! rules only it needs) and takes the rest from here:
//!
//! - [`origin`]: [`Origin`] and [`Sourced`], so every error names the flag, variable or file line
//!   to fix; [`inputs`]: everything the process was given, before validation.
//! - [`cli`]: the `--version` text, the origin of each flag value, `RUST_LOG`.
//! - [`config_file`]: reading and parsing the TOML file, each value remembering its line.
//! - [`rules`]: the validation rules every binary uses, and [`rules::Invalid`], the error that
//!   names a setting's key and origin.
//! - [`logging`], [`signal`]: the log subscriber and the shutdown future.
//! - [`exit`]: `main`'s skeleton and its exit statuses (0, 64, 1).
//!
//! Invariant: only a binary's `main` installs the log subscriber or the signal handlers, both
//! through [`exit`]; library code only emits events.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod backoff;
pub mod cli;
pub mod clock;
pub mod config_file;
pub mod exit;
pub mod inputs;
pub mod logging;
pub mod origin;
pub mod rules;
pub mod signal;

pub use config_file::{ConfigFile, ConfigFileError};
pub use inputs::Inputs;
pub use origin::{Origin, Sourced};
