//! End-to-end tests of the real `edgeward-aggregator` binary: `--version`, config errors
//! (status 64, one stderr line), the HTTP endpoints, SIGTERM and bind failures.

mod support;

use std::net::TcpListener;

use support::{
    AGGREGATOR, aggregator, assert_config_error, http_get, run_to_exit, spawn_aggregator,
};

#[test]
fn aggregator_version_prints_protocol_version() {
    let mut command = aggregator();
    command.arg("--version");
    let finished = run_to_exit(command);
    assert_eq!(finished.status.code(), Some(0));
    let expected = format!(
        "edgeward-aggregator {} (protocol {}, decodes {}..={})\n",
        env!("CARGO_PKG_VERSION"),
        edgeward_proto::PROTOCOL_VERSION,
        edgeward_proto::OLDEST_SUPPORTED_VERSION,
        edgeward_proto::PROTOCOL_VERSION,
    );
    assert_eq!(finished.stdout, expected);
}

#[test]
fn aggregator_rejects_unknown_config_key_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("aggregator.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\nmax_batch = 4096\n").expect("write");
    let mut command = aggregator();
    command.arg("--config").arg(&path);
    let finished = run_to_exit(command);
    assert_config_error(
        &finished,
        AGGREGATOR,
        &["max_batch", "aggregator.toml line 2"],
    );
}

#[test]
fn aggregator_rejects_an_invalid_policy_file_naming_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "[defaults]\ntarget = \"v1.31.4+k3s1\"\n\n[[windows]]\nname = \"nights\"\nstart = \"25:00\"\nend = \"05:00\"\ntime_zone = \"Europe/Berlin\"\n",
    )
    .expect("write");
    let mut command = aggregator();
    command.arg("--policy-file").arg(&path);
    let finished = run_to_exit(command);
    assert_config_error(&finished, AGGREGATOR, &["policy.toml:6:"]);
}

#[test]
fn aggregator_rejects_bad_listen_address() {
    let mut command = aggregator();
    command.env("EDGEWARD_AGGREGATOR_LISTEN", "localhost:7443");
    let finished = run_to_exit(command);
    assert_config_error(
        &finished,
        AGGREGATOR,
        &["listen", "EDGEWARD_AGGREGATOR_LISTEN"],
    );
}

#[test]
fn aggregator_rejects_max_batch_bytes_out_of_range() {
    for bytes in ["1023", "268435457"] {
        let mut command = aggregator();
        command.args(["--max-batch-bytes", bytes]);
        let finished = run_to_exit(command);
        assert_config_error(&finished, AGGREGATOR, &["max_batch_bytes", bytes]);
    }
}

#[test]
fn aggregator_serves_healthz_readyz_and_protocol() {
    let aggregator = spawn_aggregator();
    assert_eq!(
        http_get(aggregator.addr, "/healthz"),
        (200, "ok".to_owned())
    );
    assert_eq!(
        http_get(aggregator.addr, "/readyz"),
        (200, "ready".to_owned())
    );
    let (status, body) = http_get(aggregator.addr, "/v1/protocol");
    assert_eq!(status, 200);
    let protocol: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(
        protocol,
        serde_json::json!({
            "protocol_version": edgeward_proto::PROTOCOL_VERSION,
            "oldest_supported": edgeward_proto::OLDEST_SUPPORTED_VERSION,
        })
    );
    assert_eq!(http_get(aggregator.addr, "/nope").0, 404);
}

#[test]
fn aggregator_exits_zero_on_sigterm() {
    let mut aggregator = spawn_aggregator();
    assert_eq!(http_get(aggregator.addr, "/healthz").0, 200);
    let (status, lines) = aggregator.process.terminate();
    assert_eq!(status.code(), Some(0), "stderr: {lines:?}");
    assert!(
        lines
            .last()
            .is_some_and(|line| line.contains("Aggregator stopped")),
        "{lines:?}"
    );
}

#[test]
fn aggregator_bind_failure_exits_1_with_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port to occupy");
    let addr = taken.local_addr().expect("local addr").to_string();
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut command = aggregator();
    command
        .args(["--listen", &addr])
        .arg("--data-dir")
        .arg(data_dir.path());
    let finished = run_to_exit(command);
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(finished.status.code(), Some(1), "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("edgeward-aggregator: error: "),
        "{lines:?}"
    );
    assert!(lines[0].contains(&addr), "{lines:?}");
}
