//! K3s embedded etcd (DOMAIN.md §3): health, status and membership from the client port,
//! metrics from the metrics port, snapshots from disk, each its own section of [`Etcd`].
//!
//! | section | source |
//! | --- | --- |
//! | `health` | `GET <client_url>/health` (200 or 503, both JSON) |
//! | `status` | `POST /v3/maintenance/status` + `/v3/cluster/member/list` + `/v3/maintenance/alarm` `{"action":"GET"}` |
//! | `metrics` | `GET <metrics_url>` (plain HTTP), see [`metrics`] |
//! | `snapshots` | the snapshot directory, see [`super::snapshots`] |
//!
//! Credentials (K3s, DOMAIN.md §3): `<data-dir>/server/tls/etcd/{server-ca.crt,client.crt,
//! client.key}` under the host root, unless a path is configured: a configured path is the
//! agent's own (for example a mounted Secret), read as is.
//!
//! **Time bound.** All five requests run concurrently, each bounded by `timeout` (connect and
//! whole request), so a dead or hung etcd costs one cycle at most about `timeout`. The
//! alarm `GET` is a raft request: without a leader etcd holds it until it times out. The
//! status section then takes its alarms from the status answer's `errors` (where etcd lists
//! active alarms from its own store) rather than failing; status and member list are both
//! answered locally and both are required.
//!
//! The probe is synchronous (`observe` runs on a blocking thread) and drives the requests
//! with `Handle::block_on` on the agent's runtime; it must not be called from an async task.

pub mod api;
pub mod client;
pub mod metrics;

use std::path::PathBuf;
use std::time::Duration;

use edgeward_proto::Section;
use edgeward_proto::datastore::{Etcd, EtcdHealth, EtcdMetrics, EtcdStatus};
use tokio::runtime::{Handle, RuntimeFlavor};
use url::Url;

use self::client::{Answer, CredentialPath, Credentials, TlsClient};
use super::detect::K3sServer;
use super::error::DatastoreError;
use super::snapshots;
use crate::probe::HostRoot;

/// How etcd is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// The member's client URL. Default `https://127.0.0.1:2379` (K3s, DOMAIN.md §3).
    pub client_url: Url,
    /// The metrics page. Default `http://127.0.0.1:2381/metrics` (K3s, DOMAIN.md §3).
    pub metrics_url: Url,
    /// CA of etcd's server certificate, an agent path. Default `None`:
    /// `<data-dir>/server/tls/etcd/server-ca.crt` under the host root.
    pub ca_file: Option<PathBuf>,
    /// Client certificate, an agent path. Default `None`: `<data-dir>/server/tls/etcd/client.crt`
    /// under the host root.
    pub cert_file: Option<PathBuf>,
    /// Client key, an agent path. Default `None`: `<data-dir>/server/tls/etcd/client.key`
    /// under the host root.
    pub key_file: Option<PathBuf>,
    /// Bound on each request, connect included. Default 2 s.
    pub timeout: Duration,
    /// Largest JSON answer read. Default 1 MiB (a member list is a few hundred bytes).
    pub max_json_bytes: usize,
    /// Largest metrics page read. Default 8 MiB (etcd 3.4 serves about 150 KB).
    pub max_metrics_bytes: usize,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        #[allow(clippy::expect_used)] // Documented invariant: constant, valid URLs.
        let url = |s: &str| Url::parse(s).expect("constant URL");
        Self {
            client_url: url("https://127.0.0.1:2379"),
            metrics_url: url("http://127.0.0.1:2381/metrics"),
            ca_file: None,
            cert_file: None,
            key_file: None,
            timeout: Duration::from_secs(2),
            max_json_bytes: 1 << 20,
            max_metrics_bytes: 8 << 20,
        }
    }
}

impl EtcdOptions {
    fn credentials(&self, server: &K3sServer) -> Credentials {
        let tls = server.data_dir.join("server/tls/etcd");
        let pick = |configured: &Option<PathBuf>, default: &str| match configured {
            Some(p) => CredentialPath::Agent(p.clone()),
            None => CredentialPath::Host(tls.join(default)),
        };
        Credentials {
            ca: pick(&self.ca_file, "server-ca.crt"),
            cert: pick(&self.cert_file, "client.crt"),
            key: pick(&self.key_file, "client.key"),
        }
    }

    fn client_endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.client_url.as_str().trim_end_matches('/'))
    }
}

/// What the etcd part of the probe keeps between cycles.
#[derive(Debug, Default)]
pub struct EtcdState {
    tls: TlsClient,
    plain: Option<reqwest::Client>,
    history: metrics::History,
}

impl EtcdState {
    /// One observation of the local etcd member.
    pub fn observe(
        &mut self,
        root: &HostRoot,
        server: &K3sServer,
        options: &EtcdOptions,
        runtime: &Handle,
    ) -> Etcd {
        let tls = self
            .tls
            .get(root, &options.credentials(server), options.timeout);
        let plain = match &self.plain {
            Some(c) => Ok(c.clone()),
            None => client::plain(options.timeout).inspect(|c| self.plain = Some(c.clone())),
        };
        if !can_drive(runtime) {
            let e = DatastoreError::Runtime;
            return Etcd {
                health: e.to_section(),
                status: e.to_section(),
                metrics: e.to_section(),
                snapshots: snapshots::observe(root, server),
            };
        }
        let json = options.max_json_bytes;
        let (health, status, alarms, members, page) = runtime.block_on(async {
            let over_tls = |path: &'static str, body: Option<&'static str>| {
                let url = options.client_endpoint(path);
                let tls = &tls;
                async move {
                    match tls {
                        Ok(c) => client::fetch(c, &url, body, json).await.map(|a| (url, a)),
                        Err(e) => Err(DatastoreError::Answer {
                            url,
                            what: format!("no TLS client: {}", e.detail()),
                        }),
                    }
                }
            };
            let metrics = async {
                let c = plain.as_ref().map_err(|e| DatastoreError::Answer {
                    url: options.metrics_url.to_string(),
                    what: e.detail(),
                })?;
                let url = options.metrics_url.as_str();
                client::fetch(c, url, None, options.max_metrics_bytes).await
            };
            tokio::join!(
                over_tls("health", None),
                over_tls("v3/maintenance/status", Some("{}")),
                over_tls("v3/maintenance/alarm", Some(r#"{"action":"GET"}"#)),
                over_tls("v3/cluster/member/list", Some("{}")),
                metrics,
            )
        });
        Etcd {
            health: health
                .and_then(|(url, a)| health_of(&url, &a))
                .map_or_else(|e| over_tls_failed(&tls, &e), Section::Data),
            status: status_of(status, members, alarms)
                .map_or_else(|e| over_tls_failed(&tls, &e), Section::Data),
            metrics: page
                .and_then(|a| self.metrics_of(options.metrics_url.as_str(), &a))
                .map_or_else(|e| e.to_section(), Section::Data),
            snapshots: snapshots::observe(root, server),
        }
    }

    fn metrics_of(&mut self, url: &str, a: &Answer) -> Result<EtcdMetrics, DatastoreError> {
        let text = ok_body(url, a)?;
        let text = std::str::from_utf8(text).map_err(|_| DatastoreError::Answer {
            url: url.to_owned(),
            what: "metrics page is not UTF-8".into(),
        })?;
        metrics::read(text, &mut self.history).map_err(|what| DatastoreError::Answer {
            url: url.to_owned(),
            what,
        })
    }
}

/// Whether `block_on` on `runtime` can make progress here. A single-threaded runtime's I/O
/// and timers are driven only by the thread inside its `Runtime::block_on`; from a thread
/// outside every runtime nothing may be driving it, and the requests (and their timeouts)
/// would never complete. On the sampler's blocking threads the runtime context is entered.
fn can_drive(runtime: &Handle) -> bool {
    runtime.runtime_flavor() != RuntimeFlavor::CurrentThread || Handle::try_current().is_ok()
}

/// A client-port section's failure: without a TLS client, that failure itself (with its
/// reason: a missing certificate is `NotFound`), else the request's.
fn over_tls_failed<T>(
    tls: &Result<reqwest::Client, DatastoreError>,
    e: &DatastoreError,
) -> Section<T> {
    tls.as_ref().err().unwrap_or(e).to_section()
}

type Fetched = Result<(String, Answer), DatastoreError>;

fn health_of(url: &str, a: &Answer) -> Result<EtcdHealth, DatastoreError> {
    // etcd answers 503 with the same JSON when unhealthy.
    if a.status != 200 && a.status != 503 {
        return Err(status_error(url, a));
    }
    api::health(&a.body).map_err(|what| answer(url, what))
}

fn status_of(
    status: Fetched,
    members: Fetched,
    alarms: Fetched,
) -> Result<EtcdStatus, DatastoreError> {
    let (url, a) = status?;
    let s = api::status(ok_body(&url, &a)?).map_err(|what| answer(&url, what))?;
    let (url, a) = members?;
    let members = api::members(ok_body(&url, &a)?).map_err(|what| answer(&url, what))?;
    let alarms = match alarms {
        Ok((url, a)) if a.status == 200 => {
            api::alarms(&a.body).map_err(|what| answer(&url, what))?
        }
        _ => api::alarms_in_errors(&s.errors),
    };
    Ok(EtcdStatus {
        version: s.version,
        member_id: s.member_id,
        leader_id: s.leader_id,
        is_learner: s.is_learner,
        raft_term: s.raft_term,
        raft_index: s.raft_index,
        raft_applied_index: s.raft_applied_index,
        db_size_bytes: s.db_size_bytes,
        db_size_in_use_bytes: s.db_size_in_use_bytes,
        alarms,
        errors: s.errors,
        members,
    })
}

fn ok_body<'a>(url: &str, a: &'a Answer) -> Result<&'a [u8], DatastoreError> {
    if a.status == 200 {
        Ok(&a.body)
    } else {
        Err(status_error(url, a))
    }
}

fn status_error(url: &str, a: &Answer) -> DatastoreError {
    DatastoreError::HttpStatus {
        url: url.to_owned(),
        status: a.status,
        message: api::error_message(&a.body)
            .map(|m| format!(": {m}"))
            .unwrap_or_default(),
    }
}

fn answer(url: &str, what: String) -> DatastoreError {
    DatastoreError::Answer {
        url: url.to_owned(),
        what,
    }
}
