//! The README's run command, `edgeward-devfleet`, shows a live fleet: an aggregator over TLS,
//! this host's agent (mTLS) and simulated nodes (bearer tokens), all storing samples.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Running, TIMEOUT, binaries, command};

#[test]
fn devfleet_starts_a_live_fleet_over_tls_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(&binaries().devfleet);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--nodes",
        "3",
        "--interval",
        "200ms",
    ])
    .args(["--log-format", "json", "--duration", "5m"])
    .arg("--dir")
    .arg(dir.path());
    let mut fleet = Running::spawn(cmd);
    let listening = fleet.wait_for_event("Listening");
    assert_eq!(listening["fields"]["scheme"], "https");
    let addr = listening["fields"]["addr"]
        .as_str()
        .expect("addr")
        .to_owned();

    let ca = std::fs::read(dir.path().join("pki/ca.crt")).expect("dev CA written on first run");
    let client = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA pem"))
        .timeout(TIMEOUT)
        .build()
        .expect("client");
    let url = format!("https://{addr}/v1/nodes");
    let deadline = Instant::now() + TIMEOUT * 2;
    let nodes = loop {
        let body = client
            .get(&url)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.text())
            .expect("GET /v1/nodes over TLS with the dev CA");
        let nodes: Vec<Value> = serde_json::from_str(&body).expect("node list JSON");
        let live = nodes
            .iter()
            .filter(|n| n["samples"].as_u64().unwrap_or(0) >= 3)
            .count();
        if live == 4 {
            break nodes;
        }
        assert!(
            Instant::now() < deadline,
            "fleet not live in time: {nodes:?}"
        );
        thread::sleep(Duration::from_millis(200));
    };
    let ids: Vec<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    for sim in ["sim-node-00000", "sim-node-00001", "sim-node-00002"] {
        assert!(ids.contains(&sim), "{sim} missing from {ids:?}");
    }
    // The fourth node is this host's agent, sampling real pressure data.
    let host = ids
        .iter()
        .find(|id| !id.starts_with("sim-node-"))
        .expect("this host's node");
    let body = client
        .get(format!("https://{addr}/v1/nodes/{host}"))
        .send()
        .and_then(|r| r.text())
        .expect("node detail");
    let detail: Value = serde_json::from_str(&body).expect("node detail JSON");
    let pressure = &detail["latest"]["sample"]["pressure"]["Data"];
    assert!(
        pressure["uptime_secs"].as_u64().unwrap_or(0) > 0,
        "host sample has real pressure data: {detail}"
    );

    let (status, _) = fleet.terminate();
    assert!(status.success(), "devfleet exit {status:?}");
}
