//! The `edgeward-agent` binary: flags and config → logging → [`edgeward_agent::run`] on a
//! single-threaded runtime until SIGTERM or SIGINT. Exit status as in
//! [`edgeward_runtime::exit`]: 0 after a clean shutdown (and for `--help`/`--version`), 64 for a
//! bad command line or config, 1 for a runtime failure.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::process::ExitCode;

use edgeward_agent::{Config, cli, config};
use edgeward_runtime::exit;
use tokio::runtime::Builder;

fn main() -> ExitCode {
    exit::main("edgeward-agent", cli::read, config::load, start)
}

/// Logging, then [`edgeward_agent::run`] on a single-threaded runtime until SIGTERM or SIGINT.
fn start(config: Config) -> anyhow::Result<()> {
    let runtime = Builder::new_current_thread();
    let (format, filter) = (config.log_format, config.log_filter.clone());
    exit::start(format, filter, runtime, |shutdown| {
        edgeward_agent::run(config, shutdown)
    })
}
