//! Scenario harness: a real aggregator (bound on loopback, its embedded store in a temporary
//! directory, a tokens file and a policy file), fed with encoded batches over HTTP through the
//! real ingest path, then evaluated at a chosen time and read back through the REST API.

use std::collections::BTreeMap;
use std::sync::Arc;

use edgeward_aggregator::analysis::Analysis;
use edgeward_aggregator::config::{self, Layer, Sourced};
use edgeward_aggregator::monitor::Monitor;
use edgeward_proto::datastore::{Datastore, DatastoreHealth, EtcdMember};
use edgeward_proto::envelope::EncodeOptions;
use edgeward_proto::inventory::{Inventory, NodeRole};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::{Batch, Bounded, ClusterId, NodeId, Section, UnixMillis};
use serde_json::Value;
use tempfile::TempDir;

/// The sampling interval of scenario nodes: short, so "silent for 3 intervals" takes seconds.
pub const INTERVAL_MS: i64 = 1_000;

/// One node of a scenario: its identity and the first sample's inventory; tweak the samples
/// with [`NodeSpec::batch`]'s closure.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    pub cluster: String,
    pub role: NodeRole,
    pub version: String,
    pub index: u32,
}

impl NodeSpec {
    pub fn new(index: u32, name: &str, cluster: &str, role: NodeRole, version: &str) -> Self {
        Self {
            name: name.to_owned(),
            cluster: cluster.to_owned(),
            role,
            version: version.to_owned(),
            index,
        }
    }

    pub fn id(&self) -> NodeId {
        NodeId::new(&self.name).expect("valid node name")
    }

    /// The node's inventory: the synthetic one with this spec's role, version and cluster.
    pub fn inventory(&self) -> Inventory {
        let mut inv = SyntheticNode::new(self.index).inventory();
        inv.role = self.role;
        inv.kubelet_version = Some(self.version.clone());
        inv.distro_version = Some(self.version.clone());
        inv
    }

    /// `n` samples ending at `end`, INTERVAL_MS apart; the first carries the inventory, every
    /// one the version; agents have no datastore. `tweak` edits each sample afterwards.
    pub fn batch(
        &self,
        n: u64,
        end: UnixMillis,
        tweak: impl Fn(&mut edgeward_proto::Sample),
    ) -> Batch {
        let sn = SyntheticNode::new(self.index);
        let start = UnixMillis(end.0 - (n as i64 - 1) * INTERVAL_MS);
        let mut b = sn.batch(1, n, start);
        b.header.node = self.id();
        b.header.cluster = Some(ClusterId::new(&self.cluster).expect("valid cluster"));
        b.header.sent_at = end;
        let mut samples = std::mem::take(&mut b.samples).into_vec();
        for (i, s) in samples.iter_mut().enumerate() {
            s.at = UnixMillis(start.0 + i as i64 * INTERVAL_MS);
            if let Section::Data(k) = &mut s.kubelet
                && let Section::Data(m) = &mut k.metrics
            {
                m.version = Some(self.version.clone());
            }
            if self.role != NodeRole::Server {
                s.datastore = Section::Data(DatastoreHealth {
                    kind: Datastore::None,
                    disk_audit: Section::unavailable(
                        edgeward_proto::UnavailableReason::NotApplicable,
                        "no local datastore",
                    ),
                });
            }
            if i == 0 {
                s.inventory = Section::Data(self.inventory());
            }
            tweak(s);
        }
        b.samples = Bounded::try_from(samples).expect("few samples");
        b
    }
}

/// Sets the etcd member identity of a sample: `me` among `members`, `leader` leading.
pub fn etcd_identity(s: &mut edgeward_proto::Sample, me: u64, leader: u64, members: &[u64]) {
    if let Section::Data(ds) = &mut s.datastore
        && let Datastore::Etcd(e) = &mut ds.kind
    {
        if let Section::Data(st) = &mut e.status {
            st.member_id = me;
            st.leader_id = leader;
            st.members = Bounded::try_from(
                members
                    .iter()
                    .map(|id| EtcdMember {
                        id: *id,
                        name: format!("member-{id}"),
                        peer_url: format!("https://10.0.0.{id}:2380"),
                        is_learner: false,
                    })
                    .collect::<Vec<_>>(),
            )
            .expect("few members");
        }
        if let Section::Data(m) = &mut e.metrics {
            m.is_leader = me == leader;
        }
    }
}

/// A running aggregator for one scenario.
pub struct Central {
    _dir: TempDir,
    base: String,
    monitor: Arc<Monitor>,
    tokens: BTreeMap<String, String>,
    client: reqwest::Client,
    _task: tokio::task::JoinHandle<()>,
}

impl Central {
    /// Binds on loopback with a token per node and `policy` (TOML) as the policy file.
    pub async fn start(nodes: &[NodeSpec], policy: &str) -> Self {
        Self::start_with(nodes, policy, Layer::default()).await
    }

    /// As [`Central::start`], with more settings (`extra` fills what the harness leaves unset).
    pub async fn start_with(nodes: &[NodeSpec], policy: &str, extra: Layer) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tokens = BTreeMap::new();
        let mut text = String::new();
        for n in nodes {
            let token = format!("token-for-{}-0123456789", n.name);
            text.push_str(&format!("{} {token}\n", n.name));
            tokens.insert(n.name.clone(), token);
        }
        let tokens_file = dir.path().join("tokens");
        std::fs::write(&tokens_file, text).expect("write tokens");
        let policy_file = dir.path().join("policy.toml");
        std::fs::write(&policy_file, policy).expect("write policy");
        let v = |s: &str| Some(Sourced::default_value(s));
        let layer = Layer {
            listen: v("127.0.0.1:0"),
            data_dir: v(&dir.path().join("data").display().to_string()),
            tokens_file: v(&tokens_file.display().to_string()),
            policy_file: v(&policy_file.display().to_string()),
            evaluate_every: v("600s"),
            ..extra
        };
        let config = config::resolve([layer], None).expect("valid config");
        let bound = edgeward_aggregator::bind(&config).await.expect("bind");
        let base = format!("http://{}", bound.local_addr());
        let monitor = bound.monitor();
        let task = tokio::spawn(async move {
            let _ = bound.serve(std::future::pending()).await;
        });
        Self {
            _dir: dir,
            base,
            monitor,
            tokens,
            client: reqwest::Client::new(),
            _task: task,
        }
    }

    /// Encodes and posts `batch` as its node; panics unless it is accepted.
    pub async fn post(&self, batch: &Batch) {
        let body = edgeward_proto::encode_batch(batch, &EncodeOptions::default()).expect("encode");
        let token = &self.tokens[batch.header.node.as_str()];
        let r = self
            .client
            .post(format!("{}/v1/batches", self.base))
            .bearer_auth(token)
            .header("content-type", "application/x-edgeward-batch")
            .body(body)
            .send()
            .await
            .expect("post");
        let status = r.status();
        assert!(
            status.is_success(),
            "batch refused: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// Evaluates at `now` (blocking pool), as the tick would.
    pub async fn evaluate(&self, now: UnixMillis) -> Arc<Analysis> {
        let m = Arc::clone(&self.monitor);
        tokio::task::spawn_blocking(move || m.evaluate(now))
            .await
            .expect("evaluate")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.get_text(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("json")
    }

    /// The ids of `GET /v1/findings?{query}`.
    pub async fn finding_ids(&self, query: &str) -> Vec<String> {
        let v = self.get(&format!("/v1/findings?{query}")).await;
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["id"].as_str().expect("id").to_owned())
            .collect()
    }
}
