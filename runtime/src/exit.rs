//! The skeleton of every edgeward binary's `main`, and its exit-status contract.
//!
//! Start-up order: flags → config, validated before anything starts → log subscriber → async
//! runtime → signal handlers → the binary's `run` until SIGTERM or SIGINT.
//!
//! | status | when | what is printed |
//! | --- | --- | --- |
//! | 0 | clean shutdown after SIGTERM or SIGINT; `--help`, `--version` | help or version on stdout |
//! | 64 ([`EX_USAGE`]) | bad command line or config | clap's usage, or one stderr line `<name>: config error: …` |
//! | 1 | runtime failure (a listen address in use, …) | one stderr line `<name>: error: …` |
//!
//! Every error line is the whole error chain joined by `: ` (anyhow's `{:#}`), so it names the
//! key, where its value came from and why it was refused.

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context as _;
use tokio::runtime::Builder;
use tracing_subscriber::filter::Targets;

use crate::logging::{self, LogFormat};
use crate::signal::{self, Shutdown};

/// Exit status for a bad command line or config: EX_USAGE from sysexits.h.
pub const EX_USAGE: u8 = 64;

/// Runs a binary named `name`: `read` the command line, `load` the config, then `start` it
/// (usually through [`start`]), and maps the outcome to the exit statuses in the module
/// documentation.
pub fn main<I, C, E>(
    name: &str,
    read: impl FnOnce() -> Result<I, clap::Error>,
    load: impl FnOnce(I) -> Result<C, E>,
    start: impl FnOnce(C) -> anyhow::Result<()>,
) -> ExitCode
where
    E: std::error::Error + Send + Sync + 'static,
{
    let inputs = match read() {
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
    let config = match load(inputs) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{name}: config error: {:#}", anyhow::Error::new(e));
            return ExitCode::from(EX_USAGE);
        }
    };
    match start(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the log subscriber (`format`, filtered by `filter`), builds `runtime` (the binary
/// picks the flavour), installs the shutdown signal handlers and drives `run` to completion.
pub fn start<F, R>(
    format: LogFormat,
    filter: Targets,
    mut runtime: Builder,
    run: impl FnOnce(Shutdown) -> F,
) -> anyhow::Result<()>
where
    F: Future<Output = Result<(), R>>,
    R: std::error::Error + Send + Sync + 'static,
{
    logging::init(format, filter)?;
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shutdown = signal::shutdown()?;
        run(shutdown).await?;
        Ok(())
    })
}
