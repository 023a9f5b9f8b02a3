//! The HTTP client for Alertmanager's v2 API: `POST /api/v2/alerts` and
//! `GET /api/v2/status`, over reqwest + rustls.
//!
//! Several URLs are the replicas of one Alertmanager cluster. Replicas do not share alerts
//! (only silences and the notification log), so, as Prometheus does, every push goes to every
//! replica, concurrently; [`PushReport`] has one result per URL, in configuration order.
//!
//! Trust: `ca_file` replaces the system roots when given. Credentials: the bearer token is
//! read from `bearer_token_file` on every request, so a rotated token is picked up without a
//! restart. Answers are read up to a bound ([`MAX_ANSWER_BYTES`]); nothing an Alertmanager
//! answers can make this code panic.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use tokio::task::JoinSet;
use url::Url;

use super::AlertmanagerOptions;
use super::alert::{self, Postable};
use super::error::{ClientError, RequestError};

/// Largest answer read (the status answer carries the whole configuration).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Bytes of an error answer kept in [`RequestError::Status`].
const EXCERPT_BYTES: usize = 512;

/// What one push came to, per Alertmanager, in configuration order.
#[derive(Debug)]
pub struct PushReport {
    /// Each URL and its result.
    pub results: Vec<(Url, Result<(), RequestError>)>,
}

impl PushReport {
    /// At least one Alertmanager accepted the alerts: they count as delivered.
    pub fn delivered(&self) -> bool {
        self.results.iter().any(|(_, r)| r.is_ok())
    }
}

/// What `GET /api/v2/status` says, the parts worth logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `versionInfo.version`, e.g. `0.25.0`.
    pub version: Option<String>,
    /// `cluster.status`: `ready`, `settling` or `disabled`.
    pub cluster: Option<String>,
    /// `uptime`, RFC 3339.
    pub uptime: Option<String>,
}

#[derive(Debug, Clone)]
struct Target {
    base: Url,
    alerts: Url,
    status: Url,
}

/// A client bound to the configured Alertmanagers.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    targets: Vec<Target>,
    token_file: Option<PathBuf>,
    timeout: Duration,
}

impl Client {
    /// Builds the client: URLs, trust, timeouts.
    pub fn new(options: &AlertmanagerOptions) -> Result<Self, ClientError> {
        if options.urls.is_empty() {
            return Err(ClientError::NoUrls);
        }
        if options.timeout.is_zero() {
            return Err(ClientError::ZeroDuration { what: "timeout" });
        }
        let targets = options
            .urls
            .iter()
            .map(target)
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("edgeward-aggregator/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_file {
            let pem = std::fs::read(path).map_err(|source| ClientError::ReadCa {
                path: path.clone(),
                source,
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| ClientError::Pem {
                    path: path.clone(),
                    source,
                })?;
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Self {
            http: builder.build().map_err(ClientError::Build)?,
            targets,
            token_file: options.bearer_token_file.clone(),
            timeout: options.timeout,
        })
    }

    /// The configured base URLs, in order.
    pub fn urls(&self) -> impl Iterator<Item = &Url> {
        self.targets.iter().map(|t| &t.base)
    }

    /// Posts `alerts` to every Alertmanager at once; waits for all answers (each bounded by
    /// the timeout).
    pub async fn push(&self, alerts: &[Postable]) -> PushReport {
        let body = match alert::to_json(alerts) {
            Ok(body) => body,
            Err(e) => {
                let results = self.targets.iter().map(|t| {
                    let reason = e.to_string();
                    (t.base.clone(), Err(RequestError::Encode { reason }))
                });
                return PushReport {
                    results: results.collect(),
                };
            }
        };
        let mut tasks = JoinSet::new();
        for (i, target) in self.targets.iter().enumerate() {
            let this = self.clone();
            let url = target.alerts.clone();
            let body = body.clone();
            tasks.spawn(async move { (i, this.post(url, body).await) });
        }
        let mut results: Vec<Option<Result<(), RequestError>>> =
            self.targets.iter().map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, result)) = joined
                && let Some(slot) = results.get_mut(i)
            {
                *slot = Some(result);
            }
        }
        let results = self
            .targets
            .iter()
            .zip(results)
            .map(|(t, r)| {
                let r = r.unwrap_or_else(|| {
                    Err(RequestError::Aborted {
                        url: t.alerts.clone(),
                    })
                });
                (t.base.clone(), r)
            })
            .collect();
        PushReport { results }
    }

    /// Asks every Alertmanager for its status, one after the other.
    pub async fn status(&self) -> Vec<(Url, Result<Status, RequestError>)> {
        let mut out = Vec::with_capacity(self.targets.len());
        for target in &self.targets {
            out.push((target.base.clone(), self.get_status(&target.status).await));
        }
        out
    }

    async fn post(&self, url: Url, body: Vec<u8>) -> Result<(), RequestError> {
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        self.send(url, request).await.map(drop)
    }

    async fn get_status(&self, url: &Url) -> Result<Status, RequestError> {
        let body = self.send(url.clone(), self.http.get(url.clone())).await?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|source| RequestError::Decode {
                url: url.clone(),
                source,
            })?;
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Ok(Status {
            version: text("/versionInfo/version"),
            cluster: text("/cluster/status"),
            uptime: text("/uptime"),
        })
    }

    /// Sends with credentials; a 2xx answer's body, or the error.
    async fn send(
        &self,
        url: Url,
        mut request: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, RequestError> {
        if let Some(path) = &self.token_file {
            let token = std::fs::read_to_string(path).map_err(|source| RequestError::Token {
                path: path.clone(),
                source,
            })?;
            request = request.header(AUTHORIZATION, format!("Bearer {}", token.trim()));
        }
        let classify = |source: reqwest::Error| {
            if source.is_timeout() {
                RequestError::Timeout {
                    url: url.clone(),
                    timeout: self.timeout,
                }
            } else if source.is_connect() {
                RequestError::Connect {
                    url: url.clone(),
                    source,
                }
            } else {
                RequestError::Transport {
                    url: url.clone(),
                    source,
                }
            }
        };
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        if status.is_success() {
            return Ok(body);
        }
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
        Err(RequestError::Status {
            url,
            status: status.as_u16(),
            body: excerpt.trim().to_owned(),
        })
    }
}

/// The API endpoints under one base URL; a path prefix (`/alertmanager/`) is kept.
fn target(base: &Url) -> Result<Target, ClientError> {
    let bad = || ClientError::Url { url: base.clone() };
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(bad());
    }
    let mut dir = base.clone();
    if !dir.path().ends_with('/') {
        let path = format!("{}/", dir.path());
        dir.set_path(&path);
    }
    dir.set_query(None);
    dir.set_fragment(None);
    Ok(Target {
        base: base.clone(),
        alerts: dir.join("api/v2/alerts").map_err(|_| bad())?,
        status: dir.join("api/v2/status").map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(urls: &[&str]) -> AlertmanagerOptions {
        AlertmanagerOptions::new(urls.iter().map(|u| Url::parse(u).unwrap()).collect())
    }

    #[test]
    fn api_paths_are_joined_under_the_base_keeping_a_prefix() {
        let table = [
            ("http://am:9093", "http://am:9093/api/v2/alerts"),
            ("http://am:9093/", "http://am:9093/api/v2/alerts"),
            (
                "https://h/alertmanager",
                "https://h/alertmanager/api/v2/alerts",
            ),
            (
                "https://h/alertmanager/?x=1",
                "https://h/alertmanager/api/v2/alerts",
            ),
        ];
        for (base, want) in table {
            let t = target(&Url::parse(base).unwrap()).unwrap();
            assert_eq!(t.alerts.as_str(), want, "{base}");
            assert!(t.status.as_str().ends_with("/api/v2/status"));
        }
    }

    #[test]
    fn unusable_options_are_refused() {
        assert!(matches!(
            Client::new(&options(&[])),
            Err(ClientError::NoUrls)
        ));
        assert!(matches!(
            Client::new(&options(&["ftp://am/"])),
            Err(ClientError::Url { .. })
        ));
        let zero = AlertmanagerOptions {
            timeout: Duration::ZERO,
            ..options(&["http://am:9093"])
        };
        assert!(matches!(
            Client::new(&zero),
            Err(ClientError::ZeroDuration { .. })
        ));
        let missing_ca = AlertmanagerOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..options(&["https://am:9093"])
        };
        assert!(matches!(
            Client::new(&missing_ca),
            Err(ClientError::ReadCa { .. })
        ));
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error_per_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = Client::new(&options(&[&format!("http://127.0.0.1:{port}")])).unwrap();
        let report = client.push(&[]).await;
        assert!(!report.delivered());
        assert!(matches!(
            report.results[0].1,
            Err(RequestError::Connect { .. })
        ));
    }
}
