//! `edgeward-devfleet`: the README's run command. Starts an aggregator, an agent sampling this
//! host and simulated nodes, all over TLS on loopback, until Ctrl-C.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use edgeward_devfleet::fleet::{self, FleetOptions};
use edgeward_runtime::logging::{self, LogFormat};
use tracing_subscriber::filter::{LevelFilter, Targets};

/// edgeward development fleet: aggregator + this host's agent + simulated nodes, over TLS on loopback.
#[derive(Debug, Parser)]
#[command(name = "edgeward-devfleet", version)]
struct Args {
    /// State directory (certificates, store, outboxes); reused across runs
    #[arg(long, default_value = ".edgeward-dev")]
    dir: PathBuf,
    /// Aggregator listen address
    #[arg(long, default_value = "127.0.0.1:7443")]
    listen: SocketAddr,
    /// Simulated nodes besides this host
    #[arg(long, default_value_t = 8)]
    nodes: u32,
    /// Sampling interval of every agent
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    interval: std::time::Duration,
    /// Do not run an agent sampling this host
    #[arg(long)]
    no_host_agent: bool,
    /// Log format: plain or json
    #[arg(long, default_value = "plain")]
    log_format: String,
    /// Stop after this long (for smoke tests); default: until Ctrl-C
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<std::time::Duration>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = Targets::new().with_default(LevelFilter::INFO);
    let format = match args.log_format.parse::<LogFormat>() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("edgeward-devfleet: --log-format: {e}");
            return ExitCode::from(edgeward_runtime::exit::EX_USAGE);
        }
    };
    if let Err(e) = logging::init(format, filter) {
        eprintln!("edgeward-devfleet: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("edgeward-devfleet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = FleetOptions {
        dir: args.dir,
        listen: args.listen,
        simulated: args.nodes,
        interval: args.interval,
        host_agent: !args.no_host_agent,
    };
    let duration = args.duration;
    let result = runtime.block_on(async move {
        let signal = edgeward_runtime::signal::shutdown()?;
        let shutdown = async move {
            match duration {
                Some(d) => {
                    tokio::select! {
                        () = signal => {}
                        () = tokio::time::sleep(d) => {}
                    }
                }
                None => signal.await,
            }
        };
        fleet::run(options, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgeward-devfleet: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
