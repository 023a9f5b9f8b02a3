//! Everything the process was given, before validation: the config file's path, the overrides
//! from flags and environment, and `RUST_LOG`. A binary's `cli` fills it in; its `config::load`
//! reads the file and layers the overrides over it.

use std::path::PathBuf;

use crate::origin::Sourced;

/// The raw inputs of one process. `L` is the binary's layer of raw settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs<L> {
    /// `--config` or its environment variable; default: no file.
    pub config_file: Option<Sourced<PathBuf>>,
    /// Flags, or their environment variables where no flag was given.
    pub overrides: L,
    /// `RUST_LOG`; default: [`crate::rules::DEFAULT_LOG_FILTER`].
    pub log_filter: Option<Sourced<String>>,
}
