//! The command line: one flag per config key, each falling back to an `EDGEWARD_AGENT_*`
//! environment variable (clap's `env`), plus `--config`, `--help` and `--version`.
//!
//! Every value is taken as text and validated in [`crate::config`], so a bad value is reported
//! like any other config error, naming the flag or variable it came from.

use std::path::PathBuf;
use std::sync::LazyLock;

use clap::Parser;
use edgeward_runtime::cli::{self, Origins};

use crate::config::{Inputs, Layer};

/// edgeward edge node agent: reports node health to the edgeward aggregator.
#[derive(Debug, Parser)]
#[command(name = "edgeward-agent")]
struct Args {
    /// TOML config file; optional when every required setting comes from flags or environment
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// Kubernetes node name [default: host name from <HOST_ROOT>/proc/sys/kernel/hostname]
    #[arg(long, value_name = "NAME", env = "EDGEWARD_AGENT_NODE_NAME")]
    node_name: Option<String>,
    /// Override for the cluster name [default: none]
    #[arg(long, value_name = "NAME", env = "EDGEWARD_AGENT_CLUSTER_NAME")]
    cluster_name: Option<String>,
    /// Aggregator base URL, https only (required)
    #[arg(long, value_name = "URL", env = "EDGEWARD_AGENT_AGGREGATOR_URL")]
    aggregator_url: Option<String>,
    /// Sampling interval, at least 100ms; keep 15s in production [default: 15s]
    #[arg(long, value_name = "DURATION", env = "EDGEWARD_AGENT_INTERVAL")]
    interval: Option<String>,
    /// Where the host's root file system is mounted [default: /]
    #[arg(long, value_name = "DIR", env = "EDGEWARD_AGENT_HOST_ROOT")]
    host_root: Option<String>,
    /// Directory for the agent's state and outbox, created if missing
    /// [default: /var/lib/edgeward-agent]
    #[arg(long, value_name = "DIR", env = "EDGEWARD_AGENT_DATA_DIR")]
    data_dir: Option<String>,
    /// Most bytes the outbox may hold, 16384..=17179869184 [default: 67108864]
    #[arg(long, value_name = "BYTES", env = "EDGEWARD_AGENT_OUTBOX_MAX_BYTES")]
    outbox_max_bytes: Option<String>,
    /// Largest batch sent while catching up, 4096..=16777216 [default: 1048576]
    #[arg(long, value_name = "BYTES", env = "EDGEWARD_AGENT_MAX_BATCH_BYTES")]
    max_batch_bytes: Option<String>,
    /// Cap of the uplink's retry backoff, 100ms..=1h [default: 60s]
    #[arg(long, value_name = "DURATION", env = "EDGEWARD_AGENT_BACKOFF_MAX")]
    backoff_max: Option<String>,
    /// Timeout of each uplink request, 1s..=10m [default: 30s]
    #[arg(long, value_name = "DURATION", env = "EDGEWARD_AGENT_REQUEST_TIMEOUT")]
    request_timeout: Option<String>,
    /// The kubelet's nodefs path on the host, absolute [default: /var/lib/kubelet]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_NODE_FS")]
    node_fs: Option<String>,
    /// The container runtime's image file system path on the host, absolute
    /// [default: /var/lib/rancher/k3s/agent/containerd]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_IMAGE_FS")]
    image_fs: Option<String>,
    /// Log format: plain or json [default: plain]
    #[arg(long, value_name = "FORMAT", env = "EDGEWARD_AGENT_LOG_FORMAT")]
    log_format: Option<String>,
    /// PEM file of CAs for the aggregator's certificate [default: system roots]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_CA_FILE")]
    tls_ca_file: Option<String>,
    /// PEM client certificate; needs --tls-client-key [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_CLIENT_CERT")]
    tls_client_cert: Option<String>,
    /// PEM private key of the client certificate [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_CLIENT_KEY")]
    tls_client_key: Option<String>,
    /// File holding a bearer token; excludes a client certificate [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_TOKEN_FILE")]
    tls_token_file: Option<String>,
}

/// `0.1.0 (protocol 2, decodes 1..=2)`: the crate version and the wire versions it speaks.
static VERSION: LazyLock<String> = LazyLock::new(|| cli::version(env!("CARGO_PKG_VERSION")));

/// Parses the process's arguments and the `EDGEWARD_AGENT_*` environment, including `RUST_LOG`.
/// `--help`, `--version` and usage mistakes come back as a [`clap::Error`]; its `exit_code()`
/// tells them apart (0 for help and version).
pub fn read() -> Result<Inputs, clap::Error> {
    cli::read(&VERSION, inputs)
}

/// The flags as inputs: every value paired with the flag or variable that gave it.
fn inputs(args: Args, origins: &Origins) -> Inputs {
    Inputs {
        config_file: origins.sourced("config", args.config),
        overrides: Layer {
            node_name: origins.sourced("node_name", args.node_name),
            cluster_name: origins.sourced("cluster_name", args.cluster_name),
            aggregator_url: origins.sourced("aggregator_url", args.aggregator_url),
            interval: origins.sourced("interval", args.interval),
            host_root: origins.sourced("host_root", args.host_root),
            data_dir: origins.sourced("data_dir", args.data_dir),
            outbox_max_bytes: origins.sourced("outbox_max_bytes", args.outbox_max_bytes),
            max_batch_bytes: origins.sourced("max_batch_bytes", args.max_batch_bytes),
            backoff_max: origins.sourced("backoff_max", args.backoff_max),
            request_timeout: origins.sourced("request_timeout", args.request_timeout),
            node_fs: origins.sourced("node_fs", args.node_fs),
            image_fs: origins.sourced("image_fs", args.image_fs),
            log_format: origins.sourced("log_format", args.log_format),
            tls_ca_file: origins.sourced("tls_ca_file", args.tls_ca_file),
            tls_client_cert: origins.sourced("tls_client_cert", args.tls_client_cert),
            tls_client_key: origins.sourced("tls_client_key", args.tls_client_key),
            tls_token_file: origins.sourced("tls_token_file", args.tls_token_file),
            // The probe tables are file-only.
            probes: Default::default(),
        },
        log_filter: None,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;
    use crate::config::{Origin, Sourced};

    /// Parses `args` (program name first); never reads the process environment's `RUST_LOG`.
    fn parse(args: &[&str]) -> Result<Inputs, clap::Error> {
        cli::parse(args.iter().copied(), &VERSION, inputs)
    }

    #[test]
    fn flags_become_overrides_that_name_their_flag() {
        let inputs = parse(&[
            "edgeward-agent",
            "--interval",
            "10s",
            "--tls-ca-file",
            "ca.pem",
        ])
        .expect("valid flags");
        assert_eq!(
            inputs.overrides.interval,
            Some(Sourced::new("10s", Origin::Flag("--interval".to_owned())))
        );
        assert_eq!(
            inputs.overrides.tls_ca_file,
            Some(Sourced::new(
                "ca.pem",
                Origin::Flag("--tls-ca-file".to_owned())
            ))
        );
    }

    #[test]
    fn config_flag_names_the_file() {
        let inputs = parse(&["edgeward-agent", "--config", "/etc/edgeward/agent.toml"])
            .expect("valid flags");
        assert_eq!(
            inputs.config_file,
            Some(Sourced::new(
                "/etc/edgeward/agent.toml",
                Origin::Flag("--config".to_owned())
            ))
        );
    }

    #[test]
    fn version_flag_reports_protocol_versions_and_exits_zero() {
        let err = parse(&["edgeward-agent", "--version"]).expect_err("version is not a run");
        assert_eq!(err.kind(), ErrorKind::DisplayVersion);
        assert_eq!(err.exit_code(), 0);
        assert!(err.to_string().contains("(protocol 2, decodes 1..=2)"));
    }

    #[test]
    fn unknown_flag_is_a_usage_error() {
        let err = parse(&["edgeward-agent", "--colour"]).expect_err("unknown flag");
        assert_eq!(err.kind(), ErrorKind::UnknownArgument);
        assert_ne!(err.exit_code(), 0);
    }

    #[test]
    fn every_flag_has_an_env_variable_under_the_agent_prefix() {
        let command = Args::command();
        for arg in command.get_arguments().filter(|a| a.get_long().is_some()) {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let expected = format!("EDGEWARD_AGENT_{}", long.replace('-', "_").to_uppercase());
            assert_eq!(
                arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                Some(expected),
                "--{long}"
            );
        }
    }

    #[test]
    fn command_definition_is_consistent() {
        Args::command().debug_assert();
    }
}
