//! The cross-built aarch64 agent, run under qemu-user, ships real samples over mTLS to the
//! aggregator: TLS (ring), sled and the probes work on the target architecture, not only
//! `--version`.
//!
//! Needs the ARM binary and an emulator, so it is `#[ignore]`d in the plain `cargo test`;
//! `scripts/test` runs it after the cross-build with `EDGEWARD_ARM_AGENT` set to
//! `<qemu> <binary>` (for example `qemu-aarch64-static target/…/edgeward-agent`).

mod support;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use support::tls::{Pki, spawn_tls_aggregator};
use support::{Running, TIMEOUT, command};

#[test]
#[ignore = "needs the cross-built agent and qemu-user; scripts/test runs it"]
fn arm_agent_under_qemu_ships_real_samples_over_mtls() {
    let spec = std::env::var("EDGEWARD_ARM_AGENT")
        .expect("EDGEWARD_ARM_AGENT=\"<qemu> <agent binary>\" (scripts/test sets it)");
    let mut words = spec.split_whitespace();
    let (emulator, binary) = (
        words.next().expect("emulator"),
        words.next().expect("binary"),
    );

    let pki = Pki::new();
    let node = "arm-edge-1";
    let files = pki.node_files(node);
    let ca = pki.ca_file().to_owned();
    let agg = spawn_tls_aggregator(pki, &[], &[]);
    let data = tempfile::tempdir().expect("tempdir");

    let mut agent_cmd: Command = command(std::path::Path::new(emulator));
    agent_cmd
        .arg(binary)
        .args([
            "--log-format",
            "json",
            "--node-name",
            node,
            "--interval",
            "200ms",
        ])
        .args(["--aggregator-url", &agg.url("/")])
        .arg("--tls-ca-file")
        .arg(&ca)
        .arg("--tls-client-cert")
        .arg(&files.cert)
        .arg("--tls-client-key")
        .arg(&files.key)
        .arg("--data-dir")
        .arg(data.path());
    let mut agent = Running::spawn(agent_cmd);
    agent.wait_for_event("Agent started");

    let deadline = Instant::now() + TIMEOUT * 2;
    let detail = loop {
        let (status, detail) = agg.get_json(&format!("/v1/nodes/{node}"));
        let stored = detail["history"]
            .as_array()
            .map_or(0, |h| h.iter().filter_map(|s| s["samples"].as_u64()).sum());
        if status == 200 && stored >= 5 {
            break detail;
        }
        assert!(
            Instant::now() < deadline,
            "ARM agent stored {stored} samples: {detail}"
        );
        thread::sleep(Duration::from_millis(200));
    };
    let pressure = &detail["latest"]["sample"]["pressure"]["Data"];
    assert!(
        pressure["uptime_secs"].as_u64().unwrap_or(0) > 0,
        "{detail}"
    );
    assert!(
        pressure["memory"]["Data"]["total_bytes"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{detail}"
    );
    assert_eq!(
        detail["holes"],
        serde_json::Value::Array(Vec::new()),
        "{detail}"
    );
    let (status, _) = agent.terminate();
    assert!(status.success(), "ARM agent exit {status:?}");
}
