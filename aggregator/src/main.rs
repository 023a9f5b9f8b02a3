//! The `edgeward-aggregator` binary: flags and config → logging →
//! [`edgeward_aggregator::run`] until SIGTERM or SIGINT. Exit status: 0 after a clean shutdown
//! (and for `--help`/`--version`), 64 (EX_USAGE) for a bad command line or config, 1 for a
//! runtime failure such as a listen address already in use.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::process::ExitCode;

use anyhow::Context as _;
use edgeward_aggregator::{Config, cli, config, logging, signal};

const NAME: &str = "edgeward-aggregator";
/// EX_USAGE from sysexits.h.
const EX_USAGE: u8 = 64;

fn main() -> ExitCode {
    let inputs = match cli::read() {
        Ok(inputs) => inputs,
        Err(usage) => {
            // Help and version go to stdout with status 0; usage errors to stderr.
            let _ = usage.print();
            return match usage.exit_code() {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::from(EX_USAGE),
            };
        }
    };
    let config = match config::load(inputs) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{NAME}: config error: {:#}", anyhow::Error::new(e));
            return ExitCode::from(EX_USAGE);
        }
    };
    match start(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn start(config: Config) -> anyhow::Result<()> {
    logging::init(config.log_format, config.log_filter.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shutdown = signal::shutdown()?;
        edgeward_aggregator::run(config, shutdown).await?;
        Ok(())
    })
}
