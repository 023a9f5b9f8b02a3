//! The `edgeward-aggregator` binary: flags and config → logging → [`edgeward_aggregator::run`]
//! on a multi-threaded runtime until SIGTERM or SIGINT. Exit status as in
//! [`edgeward_runtime::exit`]: 0 after a clean shutdown (and for `--help`/`--version`), 64 for a
//! bad command line or config, 1 for a runtime failure such as a listen address already in use.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::process::ExitCode;

use edgeward_aggregator::{Config, cli, config};
use edgeward_runtime::exit;
use tokio::runtime::Builder;

fn main() -> ExitCode {
    exit::main("edgeward-aggregator", cli::read, config::load, start)
}

/// Logging, then [`edgeward_aggregator::run`] on a multi-threaded runtime until SIGTERM or SIGINT.
fn start(config: Config) -> anyhow::Result<()> {
    let runtime = Builder::new_multi_thread();
    let (format, filter) = (config.log_format, config.log_filter.clone());
    exit::start(format, filter, runtime, |shutdown| {
        edgeward_aggregator::run(config, shutdown)
    })
}
