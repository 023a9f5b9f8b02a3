//! End-to-end tests of the real `edgeward-agent` binary: `--version`, config errors (status 64,
//! one stderr line), precedence of flags, environment and file, JSON logs and SIGTERM.

mod support;

use support::{AGENT, Host, agent, assert_config_error, run_to_exit, spawn_agent};

#[test]
fn agent_version_prints_protocol_version() {
    let mut command = agent();
    command.arg("--version");
    let finished = run_to_exit(command);
    assert_eq!(finished.status.code(), Some(0));
    let expected = format!(
        "edgeward-agent {} (protocol {}, decodes {}..={})\n",
        env!("CARGO_PKG_VERSION"),
        edgeward_proto::PROTOCOL_VERSION,
        edgeward_proto::OLDEST_SUPPORTED_VERSION,
        edgeward_proto::PROTOCOL_VERSION,
    );
    assert_eq!(finished.stdout, expected);
}

#[test]
fn agent_help_exits_zero() {
    let mut command = agent();
    command.arg("--help");
    let finished = run_to_exit(command);
    assert_eq!(finished.status.code(), Some(0));
    assert!(finished.stdout.contains("--aggregator-url"));
}

#[test]
fn agent_unknown_flag_exits_64() {
    let mut command = agent();
    command.arg("--colour");
    let finished = run_to_exit(command);
    assert_eq!(finished.status.code(), Some(64), "{}", finished.stderr);
}

fn run_with_config(host: &Host, extra: &str) -> support::Finished {
    let mut command = agent();
    command.arg("--config").arg(host.config(extra));
    run_to_exit(command)
}

#[test]
fn agent_rejects_unknown_config_key_naming_it() {
    let host = Host::new("edge-1");
    let finished = run_with_config(&host, "colour = \"blue\"");
    assert_config_error(&finished, AGENT, &["colour", "agent.toml line 4"]);
}

#[test]
fn agent_rejects_unparsable_aggregator_url() {
    let mut command = agent();
    command.args(["--aggregator-url", "not a url", "--node-name", "edge-1"]);
    assert_config_error(
        &run_to_exit(command),
        AGENT,
        &["aggregator_url", "--aggregator-url"],
    );
}

#[test]
fn agent_rejects_plain_http_aggregator_url() {
    let host = Host::new("edge-1");
    let mut command = agent();
    command.arg("--config").arg(host.config("")).env(
        "EDGEWARD_AGENT_AGGREGATOR_URL",
        "http://aggregator.example:7443",
    );
    let finished = run_to_exit(command);
    assert_config_error(
        &finished,
        AGENT,
        &["aggregator_url", "EDGEWARD_AGENT_AGGREGATOR_URL", "https"],
    );
}

#[test]
fn agent_rejects_missing_config_file() {
    let host = Host::new("edge-1");
    let missing = host.root().join("absent.toml");
    let mut command = agent();
    command.env("EDGEWARD_AGENT_CONFIG", &missing);
    let finished = run_to_exit(command);
    assert_config_error(&finished, AGENT, &["absent.toml", "EDGEWARD_AGENT_CONFIG"]);
}

#[test]
fn agent_rejects_missing_ca_file() {
    let host = Host::new("edge-1");
    let finished = run_with_config(&host, "[tls]\nca_file = '/nonexistent/ca.pem'");
    assert_config_error(&finished, AGENT, &["tls.ca_file", "/nonexistent/ca.pem"]);
}

#[test]
fn agent_rejects_zero_interval() {
    let host = Host::new("edge-1");
    let finished = run_with_config(&host, "interval = \"0s\"");
    assert_config_error(&finished, AGENT, &["interval", "agent.toml line 4"]);
}

#[test]
fn agent_rejects_client_cert_without_key() {
    let host = Host::new("edge-1");
    let cert = host.write("client.crt", "");
    let tls = format!("[tls]\nclient_cert = '{}'", cert.display());
    let finished = run_with_config(&host, &tls);
    assert_config_error(&finished, AGENT, &["tls.client_cert", "tls.client_key"]);
}

#[test]
fn agent_rejects_bad_flag_value_naming_the_flag() {
    let host = Host::new("edge-1");
    let mut command = agent();
    command
        .arg("--config")
        .arg(host.config(""))
        .args(["--interval", "soon"]);
    assert_config_error(
        &run_to_exit(command),
        AGENT,
        &["interval", "--interval", "soon"],
    );
}

#[test]
fn agent_rejects_unparsable_rust_log() {
    let host = Host::new("edge-1");
    let mut command = agent();
    command
        .arg("--config")
        .arg(host.config(""))
        .env("RUST_LOG", "edgeward=loud");
    assert_config_error(&run_to_exit(command), AGENT, &["RUST_LOG"]);
}

#[test]
fn agent_starts_without_config_file_when_flags_suffice() {
    let host = Host::new("edge-1");
    let root = host.root().display().to_string();
    let data = host.root().join("data").display().to_string();
    let args = [
        "--aggregator-url",
        "https://aggregator.example",
        "--host-root",
        &root,
        "--data-dir",
        &data,
    ];
    let (_agent, started) = spawn_agent(&args, &[]);
    assert_eq!(
        started["fields"]["aggregator_url"],
        "https://aggregator.example/"
    );
    assert_eq!(started["fields"]["interval"], "15s");
}

#[test]
fn agent_env_overrides_file() {
    let host = Host::new("edge-1");
    let config = host.config("interval = \"30s\"\nnode_name = \"from-file\"");
    let config = config.display().to_string();
    let envs = [
        ("EDGEWARD_AGENT_INTERVAL", "20s"),
        ("EDGEWARD_AGENT_NODE_NAME", "from-env"),
    ];
    let (_agent, started) = spawn_agent(&["--config", &config], &envs);
    assert_eq!(started["fields"]["interval"], "20s");
    assert_eq!(started["fields"]["node"], "from-env");
}

#[test]
fn agent_flag_overrides_env() {
    let host = Host::new("edge-1");
    let config = host.config("interval = \"30s\"").display().to_string();
    let envs = [
        ("EDGEWARD_AGENT_INTERVAL", "20s"),
        ("EDGEWARD_AGENT_NODE_NAME", "from-env"),
    ];
    let args = [
        "--config",
        &config,
        "--interval",
        "10s",
        "--node-name",
        "from-flag",
    ];
    let (_agent, started) = spawn_agent(&args, &envs);
    assert_eq!(started["fields"]["interval"], "10s");
    assert_eq!(started["fields"]["node"], "from-flag");
}

#[test]
fn agent_writes_json_logs_and_exits_zero_on_sigterm() {
    let host = Host::new("edge-1");
    let config = host.config("").display().to_string();
    let (mut agent, started) = spawn_agent(&["--config", &config], &[]);
    assert_eq!(started["level"], "INFO");
    let (status, lines) = agent.terminate();
    assert_eq!(status.code(), Some(0), "stderr: {lines:?}");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|event| event["fields"]["message"].as_str())
        .collect();
    // A fresh data dir: the outbox is created first, then the agent announces itself.
    assert_eq!(messages.first(), Some(&"Created a new outbox"));
    assert!(messages.contains(&"Agent started"), "{messages:?}");
    assert_eq!(messages.last(), Some(&"Agent stopped"));
}

#[test]
fn agent_node_name_defaults_to_hostname_under_host_root() {
    let host = Host::new("  Edge-Node-7\n");
    let config = host.config("").display().to_string();
    let (_agent, started) = spawn_agent(&["--config", &config], &[]);
    assert_eq!(started["fields"]["node"], "edge-node-7");
}
