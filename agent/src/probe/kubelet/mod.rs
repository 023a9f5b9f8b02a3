//! The kubelet probe: fills [`KubeletHealth`] from the kubelet's two ports (DOMAIN.md §1) and
//! resolves the effective eviction thresholds for the pressure probe (DOMAIN.md §2).
//!
//! | section | source | module |
//! | --- | --- | --- |
//! | `healthz` | `GET http://127.0.0.1:10248/healthz`, no auth | [`healthz`] |
//! | `metrics` | `GET :10250/metrics` | [`metrics`] |
//! | `pods` | `GET :10250/pods` | [`pods`] |
//! | `scheduling` | `/pods` + `/stats/summary` + `/configz` + `<root>/sys/devices/system/cpu/online` + `<root>/proc/meminfo` | [`scheduling`], [`summary`] |
//! | `configz` | `GET :10250/configz` | [`configz`] |
//! | thresholds → [`SharedThresholds`] | `/configz`, else files on disk, else defaults | [`thresholds`] |
//!
//! **Every part is its own section.** A K3s node cut off from its API server answers every
//! `:10250` request with 401/403 (webhook authorization, DOMAIN.md §1); those four sections
//! are then `Unauthorized` with a detail saying so, while `healthz` still reports, the
//! thresholds come from files, and the pressure probe still measures. The outer
//! `Section<KubeletHealth>` is always `Data`. `scheduling` is unavailable whenever one of its
//! inputs is, with that input's reason.
//!
//! **Requests.** All five run concurrently, each with its own timeout (default 5 s), so a
//! cycle waits at most about one timeout, well inside the 15 s sampling interval. Credentials
//! and CA are re-read every cycle ([`credentials`]); the HTTPS client is rebuilt only when
//! they change, so connections are reused. Bodies are capped (default 16 MiB).
//!
//! **Every endpoint every cycle**, no rate limit. Measured on the development VM (debug
//! build, 20 runs each): deriving the metrics from the 242 KB 1.21 page takes 3–6 ms (only the
//! kept names are parsed), the 55 KB pod list about 1 ms, the 29 KB stats summary under 1 ms,
//! the configz well under 0.3 ms. A real kubelet serves each in a few ms. Rate-limiting would
//! save little, would make the relist p99 cover more than one interval, and would leave the
//! sections stale exactly when trouble starts.
//!
//! **Threading.** [`Probe::observe`] is synchronous and runs on a blocking thread. The
//! requests are spawned onto the agent's runtime (`runtime`) and the result is awaited over a
//! channel with a deadline, rather than with `Handle::block_on`, which panics when called
//! from inside an async context: a mistaken caller gets `Timeout` sections, not a crash.

mod client;
pub mod configz;
pub mod credentials;
pub mod healthz;
pub mod metrics;
mod options;
pub mod pods;
pub mod quantity;
pub mod scheduling;
pub mod summary;
pub mod thresholds;

use std::net::SocketAddr;
use std::time::Duration;

use edgeward_proto::kubelet::{KubeletConfig, KubeletHealth};
use edgeward_proto::pressure::ThresholdSource;
use edgeward_proto::{Sample, Section, Unavailable, UnavailableReason, UnixMillis};
use tokio::runtime::Handle;
use tracing::{debug, info, warn};
use url::Url;

pub use client::FetchError;
pub use credentials::KubeletAuth;
pub use options::{
    DEFAULT_API_URL, DEFAULT_HEALTHZ_URL, K3S_UNAUTHORIZED, KubeletOptions, RBAC_UNAUTHORIZED,
    SERVICE_ACCOUNT_DIR,
};
pub use thresholds::{Distro, KubeletArg, k3s_kubelet_args};

use self::client::{CachedClient, Overflow};
use self::options::base_url;
use self::thresholds::FileError;
use super::eviction::{ResolvedThresholds, SharedThresholds};
use super::prometheus::Histogram;
use super::{HostRoot, Probe};

/// Reads the kubelet. Between cycles it keeps the relist histogram (for deltas), the HTTPS
/// client, and what it last logged.
#[derive(Debug)]
pub struct KubeletProbe {
    root: HostRoot,
    options: KubeletOptions,
    thresholds: SharedThresholds,
    runtime: Handle,
    clock: fn() -> UnixMillis,
    /// The base URL requests go to and, with `server_name`, the address it is pinned to.
    base: Result<(Url, Option<(String, SocketAddr)>), String>,
    healthz_client: Result<reqwest::Client, String>,
    api_client: Option<CachedClient>,
    relist: Option<Histogram>,
    logged_source: Option<ThresholdSource>,
    logged_problems: String,
}

/// One endpoint's body, or why there is none.
type Got = Result<Vec<u8>, Unavailable>;

/// What the requests of one cycle brought back.
#[derive(Debug)]
struct Fetched {
    healthz: Result<edgeward_proto::kubelet::Healthz, Unavailable>,
    metrics: Got,
    pods: Got,
    summary: Got,
    configz: Got,
}

impl KubeletProbe {
    /// A probe reading host files under `root`, reaching the kubelet as `options` say, and
    /// putting the thresholds it resolves into `thresholds` every cycle. HTTP runs on
    /// `runtime`.
    pub fn new(
        root: HostRoot,
        options: KubeletOptions,
        thresholds: SharedThresholds,
        runtime: Handle,
    ) -> Self {
        let base = base_url(&options.api_url, options.server_name.as_deref());
        let healthz_client = client::healthz_client(options.timeout).map_err(|e| e.detail());
        Self {
            root,
            options,
            thresholds,
            runtime,
            clock: edgeward_runtime::clock::now,
            base,
            healthz_client,
            api_client: None,
            relist: None,
            logged_source: None,
            logged_problems: String::new(),
        }
    }

    /// Replaces the clock that PLEG ages are measured against (tests).
    pub fn with_clock(mut self, clock: fn() -> UnixMillis) -> Self {
        self.clock = clock;
        self
    }

    /// Runs the five requests concurrently on the runtime.
    fn fetch(&mut self, hint: &'static str) -> Fetched {
        let timeout = self.options.timeout;
        let limit = self.options.max_body_bytes;
        let healthz_url = self.options.healthz_url.clone();
        let healthz_client = self.healthz_client.clone();
        let api = self.api_setup();
        let work = async move {
            let healthz = async {
                let client = healthz_client.map_err(|d| failed(UnavailableReason::Failed, d))?;
                healthz::check(&client, &healthz_url, timeout)
                    .await
                    .map_err(|e| unavailable(&e))
            };
            let (client, token, base) = match api {
                Ok(api) => api,
                Err(u) => {
                    let healthz = healthz.await;
                    let (metrics, pods, summary, configz) =
                        (Err(u.clone()), Err(u.clone()), Err(u.clone()), Err(u));
                    return Fetched {
                        healthz,
                        metrics,
                        pods,
                        summary,
                        configz,
                    };
                }
            };
            let get = |path: &'static str| {
                let (client, token) = (&client, token.as_deref());
                let url = base.join(path);
                async move {
                    let url = url.map_err(|e| failed(UnavailableReason::Failed, e.to_string()))?;
                    client::get(client, &url, token, limit, Overflow::Refuse, timeout)
                        .await
                        .and_then(|answer| client::expect_ok(&url, answer, hint))
                        .map_err(|e| unavailable(&e))
                }
            };
            let (healthz, metrics, pods, summary, configz) = tokio::join!(
                healthz,
                get("metrics"),
                get("pods"),
                get("stats/summary"),
                get("configz")
            );
            Fetched {
                healthz,
                metrics,
                pods,
                summary,
                configz,
            }
        };
        let deadline = timeout.saturating_mul(2) + Duration::from_secs(1);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv_timeout(deadline).unwrap_or_else(|_| {
            let u = failed(
                UnavailableReason::Timeout,
                format!(
                    "the kubelet requests did not complete within {} (agent runtime busy or stopping)",
                    humantime::format_duration(deadline)
                ),
            );
            Fetched {
                healthz: Err(u.clone()),
                metrics: Err(u.clone()),
                pods: Err(u.clone()),
                summary: Err(u.clone()),
                configz: Err(u),
            }
        })
    }

    /// The `:10250` client, token and base URL of this cycle.
    fn api_setup(&mut self) -> Result<(reqwest::Client, Option<String>, Url), Unavailable> {
        let (base, pin) = self
            .base
            .clone()
            .map_err(|d| failed(UnavailableReason::Failed, d))?;
        let o = &self.options;
        let resolved = credentials::resolve(
            &self.root,
            &o.auth,
            o.ca_file.as_deref(),
            &o.service_account_dir,
        )
        .map_err(|e| unavailable(&e))?;
        let pin = pin.as_ref().map(|(name, addr)| (name.as_str(), *addr));
        let client = client::api_client(&mut self.api_client, &resolved, o.timeout, pin)
            .map_err(|e| unavailable(&e))?;
        let token = match resolved.identity {
            credentials::Identity::Token(t) => Some(t),
            credentials::Identity::Certificate { .. } => None,
        };
        Ok((client, token, base))
    }

    /// The scheduling section from its inputs.
    fn scheduling(
        &self,
        pods: &Result<pods::PodList, Unavailable>,
        usage: &Result<edgeward_proto::kubelet::Resources, Unavailable>,
        config: &Result<KubeletConfig, Unavailable>,
    ) -> Section<edgeward_proto::kubelet::Scheduling> {
        let needs = |what: &str, u: &Unavailable| {
            Section::unavailable(u.reason, format!("needs {what}: {}", u.detail))
        };
        let config = match config {
            Ok(c) => c,
            Err(u) => return needs("/configz", u),
        };
        let (requests, limits) = match pods {
            Ok(list) => match scheduling::claimed(list) {
                Ok(claimed) => claimed,
                Err(e) => {
                    let detail = format!("needs /pods: pod requests: {e}");
                    return Section::unavailable(UnavailableReason::Unparseable, detail);
                }
            },
            Err(u) => return needs("/pods", u),
        };
        let usage = match usage {
            Ok(u) => *u,
            Err(u) => return needs("/stats/summary", u),
        };
        let capacity = match scheduling::capacity(&self.root) {
            Ok(c) => c,
            Err(e) => return Section::unavailable(e.reason(), e.detail()),
        };
        Section::Data(edgeward_proto::kubelet::Scheduling {
            capacity,
            allocatable: scheduling::allocatable(capacity, config),
            requests,
            limits,
            usage,
        })
    }

    /// Logs a new threshold source at INFO and new file problems at WARN, once each.
    fn log_thresholds(&mut self, resolved: &ResolvedThresholds, problems: &[FileError]) {
        if self.logged_source.as_ref() != Some(&resolved.source) {
            info!(source = ?resolved.source, thresholds = resolved.thresholds.len(), "Eviction thresholds resolved");
            self.logged_source = Some(resolved.source.clone());
        }
        let text: Vec<String> = problems.iter().map(|p| client::chain(p)).collect();
        let text = text.join("; ");
        if text != self.logged_problems {
            if !text.is_empty() {
                warn!(problems = %text, "Skipped unreadable eviction threshold sources");
            }
            self.logged_problems = text;
        }
    }
}

impl Probe for KubeletProbe {
    fn name(&self) -> &'static str {
        "kubelet"
    }

    fn observe(&mut self, sample: &mut Sample) {
        let hint = match Distro::detect(&self.root) {
            Distro::K3s => K3S_UNAUTHORIZED,
            Distro::MicroK8s | Distro::Other => RBAC_UNAUTHORIZED,
        };
        let fetched = self.fetch(hint);
        let now = (self.clock)();
        let url = |path: &str| self.base.as_ref().ok().and_then(|(b, _)| b.join(path).ok());
        let parse_error = |path: &str, e: Box<dyn std::error::Error + Send + Sync>| match url(path)
        {
            Some(u) => unavailable(&FetchError::Parse {
                url: u.to_string(),
                source: e,
            }),
            None => failed(UnavailableReason::Unparseable, e.to_string()),
        };
        let metrics = fetched.metrics.and_then(|b| {
            metrics::derive(&b, now, &mut self.relist).map_err(|e| parse_error("metrics", e.into()))
        });
        let list = fetched
            .pods
            .and_then(|b| pods::parse(&b).map_err(|e| parse_error("pods", e.into())));
        let pods = list
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|l| pods::summarize(l).map_err(|e| parse_error("pods", e.into())));
        let usage = fetched
            .summary
            .and_then(|b| summary::usage(&b).map_err(|e| parse_error("stats/summary", e.into())));
        let config = fetched
            .configz
            .and_then(|b| configz::parse(&b).map_err(|e| parse_error("configz", e.into())));
        let scheduling = self.scheduling(&list, &usage, &config);
        let mut problems = Vec::new();
        let resolved = thresholds::resolve(&self.root, config.as_ref().ok(), &mut problems);
        self.log_thresholds(&resolved, &problems);
        self.thresholds.set(resolved);
        let health = KubeletHealth {
            healthz: section(fetched.healthz),
            metrics: section(metrics),
            pods: section(pods),
            scheduling,
            configz: section(config),
        };
        debug!(kubelet = ?health, "Kubelet observed");
        sample.kubelet = Section::Data(health);
    }
}

fn section<T>(r: Result<T, Unavailable>) -> Section<T> {
    match r {
        Ok(v) => Section::Data(v),
        Err(u) => Section::Unavailable(u),
    }
}

fn unavailable(e: &FetchError) -> Unavailable {
    failed(e.reason(), e.detail())
}

fn failed(reason: UnavailableReason, detail: impl Into<String>) -> Unavailable {
    Unavailable {
        reason,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests;
