//! Starts and watches the development fleet.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use edgeward_agent::probe::Probe;
use edgeward_aggregator::store::Store;
use edgeward_runtime::{Origin, Sourced};
use tokio::sync::watch;
use tracing::info;

use crate::SyntheticProbe;
use crate::pki::{CertFiles, DevCa, TokenFiles, Validity, write_tokens};

/// What to start.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// State directory: certificates, the aggregator's store, every agent's outbox.
    pub dir: PathBuf,
    /// Aggregator listen address.
    pub listen: SocketAddr,
    /// Simulated nodes besides this host's agent.
    pub simulated: u32,
    /// Sampling interval of every agent.
    pub interval: Duration,
    /// Whether to run an agent sampling this host.
    pub host_agent: bool,
}

/// A raw config value as devfleet and the bench set it.
pub fn src(value: impl Into<String>) -> Option<Sourced<String>> {
    Some(Sourced::new(
        value.into(),
        Origin::Flag("edgeward-devfleet".to_owned()),
    ))
}

/// Certificates and tokens, created on first run and reused afterwards.
#[derive(Debug)]
struct Credentials {
    ca: PathBuf,
    server: CertFiles,
    host: CertFiles,
    tokens: TokenFiles,
}

fn credentials(dir: &Path, simulated: u32, host_node: &str) -> anyhow::Result<Credentials> {
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).with_context(|| format!("creating {}", pki.display()))?;
    let host_stem = format!("node-{host_node}");
    let server = CertFiles {
        cert: pki.join("server.crt"),
        key: pki.join("server.key"),
    };
    let host = CertFiles {
        cert: pki.join(format!("{host_stem}.crt")),
        key: pki.join(format!("{host_stem}.key")),
    };
    let ca_file = pki.join("ca.crt");
    if !(ca_file.exists() && server.key.exists() && host.key.exists()) {
        info!(dir = %pki.display(), "Generating development certificates");
        let ca = DevCa::create(&pki, "edgeward development CA", "ca")?;
        ca.server(&pki, "server")?;
        ca.node(host_node, Validity::Current, &pki, &host_stem)?;
    }
    // Simulated nodes authenticate with bearer tokens (the other identity path).
    let nodes = (0..simulated).map(|i| edgeward_proto::synthetic::SyntheticNode::new(i).node);
    let tokens = write_tokens(&pki, "dev-token", nodes)?;
    Ok(Credentials {
        ca: ca_file,
        server,
        host,
        tokens,
    })
}

/// An aggregator serving TLS on `listen` with its store under `data_dir`, accepting client
/// certificates signed by `client_ca` and the tokens in `tokens_file`.
pub fn aggregator_config(
    listen: &str,
    data_dir: &Path,
    server: &CertFiles,
    client_ca: &Path,
    tokens_file: &Path,
    policy_file: Option<&Path>,
) -> Result<edgeward_aggregator::Config, edgeward_aggregator::config::ConfigError> {
    let path = |p: &Path| src(p.display().to_string());
    edgeward_aggregator::config::resolve(
        [edgeward_aggregator::config::Layer {
            listen: src(listen),
            data_dir: path(data_dir),
            tls_cert_file: path(&server.cert),
            tls_key_file: path(&server.key),
            tls_client_ca_file: path(client_ca),
            tokens_file: path(tokens_file),
            policy_file: policy_file.and_then(path),
            evaluate_every: src("5s"),
            ..Default::default()
        }],
        None,
    )
}

/// The policy the development fleet starts with (written once to `<dir>/policy.toml`): every
/// cluster should move to the next K3s minor, the first simulated cluster is the canary.
pub const DEV_POLICY: &str = r#"# edgeward fleet policy for the development fleet (see deploy/policy.example.toml).
[defaults]
target = "v1.32.0+k3s1"
max_unavailable = 1
stuck_after = "6h"

[[groups]]
name = "canary"
canary = true
clusters = ["sim-cluster-0000"]
"#;

/// Runs the fleet until `shutdown` resolves.
pub async fn run(
    options: FleetOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("creating {}", options.dir.display()))?;
    let dir = options.dir.canonicalize()?;
    let host_node = edgeward_agent::config::resolve(
        [edgeward_agent::config::Layer {
            aggregator_url: src("https://127.0.0.1:1"),
            data_dir: src(dir.join("unused").display().to_string()),
            ..Default::default()
        }],
        None,
    )
    .map(|c| c.node_name.to_string())
    .unwrap_or_else(|_| "this-host".to_owned());
    let creds = credentials(&dir, options.simulated, &host_node)?;

    let policy_file = dir.join("policy.toml");
    if !policy_file.exists() {
        std::fs::write(&policy_file, DEV_POLICY)
            .with_context(|| format!("writing {}", policy_file.display()))?;
    }
    let aggregator_config = aggregator_config(
        &options.listen.to_string(),
        &dir.join("aggregator"),
        &creds.server,
        &creds.ca,
        &creds.tokens.table,
        Some(&policy_file),
    )?;
    let bound = edgeward_aggregator::bind(&aggregator_config).await?;
    let addr = bound.local_addr();
    let store = bound.store();
    let monitor = bound.monitor();
    let url = format!("https://127.0.0.1:{}/", addr.port());

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn({
        let s = stopped(stop_rx.clone());
        async move { bound.serve(s).await.map_err(anyhow::Error::from) }
    });

    let interval = humantime::format_duration(options.interval).to_string();
    let agent_layer = |name: &str, data: PathBuf| edgeward_agent::config::Layer {
        node_name: src(name),
        aggregator_url: src(url.clone()),
        interval: src(interval.clone()),
        data_dir: src(data.display().to_string()),
        tls_ca_file: src(creds.ca.display().to_string()),
        backoff_max: src("10s"),
        ..Default::default()
    };
    if options.host_agent {
        let layer = edgeward_agent::config::Layer {
            tls_client_cert: src(creds.host.cert.display().to_string()),
            tls_client_key: src(creds.host.key.display().to_string()),
            ..agent_layer(&host_node, dir.join("agents").join(&host_node))
        };
        let config = edgeward_agent::config::resolve([layer], None)?;
        let s = stopped(stop_rx.clone());
        tasks.spawn(async move {
            edgeward_agent::run(config, s)
                .await
                .map_err(anyhow::Error::from)
        });
    }
    for i in 0..options.simulated {
        let sim = edgeward_proto::synthetic::SyntheticNode::new(i);
        let layer = edgeward_agent::config::Layer {
            cluster_name: src(sim.cluster.as_str()),
            tls_token_file: src(creds.tokens.of(&sim.node).display().to_string()),
            ..agent_layer(
                sim.node.as_str(),
                dir.join("agents").join(sim.node.as_str()),
            )
        };
        let config = edgeward_agent::config::resolve([layer], None)?;
        let probes: Vec<Box<dyn Probe>> = vec![Box::new(SyntheticProbe::new(i))];
        let s = stopped(stop_rx.clone());
        tasks.spawn(async move {
            edgeward_agent::run_with_probes(config, probes, s)
                .await
                .map_err(anyhow::Error::from)
        });
    }

    println!("edgeward development fleet");
    println!(
        "  aggregator   {url}  (embedded store in {})",
        dir.join("aggregator").display()
    );
    println!(
        "  agents       {host_node} (this host, mTLS) + {} simulated (bearer tokens)",
        options.simulated
    );
    println!("  state        {}", dir.display());
    println!(
        "  look at      curl --cacert {} {url}v1/nodes",
        creds.ca.display()
    );
    println!(
        "               curl --cacert {} {url}v1/nodes/{host_node}",
        creds.ca.display()
    );
    for path in [
        "v1/findings",
        "v1/clusters",
        "v1/upgrade-plan",
        "v1/upgrade-plan?format=suc",
        "metrics",
    ] {
        println!(
            "               curl --cacert {} '{url}{path}'",
            creds.ca.display()
        );
    }
    println!(
        "  policy       {} (edit it: reloaded within 5 s)",
        policy_file.display()
    );
    println!("  stop with    Ctrl-C");

    let report = report_loop(store, monitor, Duration::from_secs(15));
    tokio::select! {
        () = shutdown => {}
        () = report => {}
        Some(done) = tasks.join_next() => {
            let _ = stop_tx.send(true);
            done??;
            anyhow::bail!("a fleet member stopped unexpectedly");
        }
    }
    let _ = stop_tx.send(true);
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Prints the fleet as the aggregator sees it, every `every`.
async fn report_loop(
    store: Arc<dyn Store>,
    monitor: Arc<edgeward_aggregator::monitor::Monitor>,
    every: Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let store = Arc::clone(&store);
        let Ok(Ok(nodes)) = tokio::task::spawn_blocking(move || store.nodes()).await else {
            continue;
        };
        let analysis = monitor.evaluated().then(|| monitor.latest());
        let health = |id: &edgeward_proto::NodeId| {
            analysis
                .as_ref()
                .and_then(|a| a.nodes.iter().find(|n| &n.id == id))
                .map_or("not evaluated", |n| n.health.as_str())
        };
        println!(
            "{:<28} {:<18} {:>8} {:>6}  health",
            "node", "cluster", "samples", "gaps"
        );
        for n in nodes {
            println!(
                "{:<28} {:<18} {:>8} {:>6}  {}",
                n.id.as_str(),
                n.cluster.as_ref().map_or("-", |c| c.as_str()),
                n.samples,
                n.gap_records,
                health(&n.id)
            );
        }
        if let Some(a) = &analysis {
            let counts = a.counts();
            let mut by_severity = std::collections::BTreeMap::new();
            for ((_, sev), n) in &counts {
                *by_severity.entry(sev.as_str()).or_insert(0) += n;
            }
            println!("findings: {by_severity:?}; worst first:");
            for f in a.findings.iter().take(5) {
                println!("  {:<8} {}  {}", f.severity.as_str(), f.id, f.summary);
            }
        }
    }
}
