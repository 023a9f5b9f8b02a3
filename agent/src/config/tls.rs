//! The `[tls]` table: how the agent trusts the aggregator and proves who it is.
//!
//! Rules: every named file must exist and be a regular file (its PEM content is read by
//! [`crate::uplink::Uplink::new`]; a token file on every request); `client_cert` and
//! `client_key` come together or not at all;
//! `token_file` and a client certificate exclude each other.

use std::path::PathBuf;

use super::error::ConfigError;
use super::{Layer, rules};

/// TLS settings towards the aggregator. Files are checked to exist here; their content is read
/// by the uplink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    /// PEM bundle of CAs that sign the aggregator's certificate. Default: none (system roots).
    pub ca_file: Option<PathBuf>,
    /// How the agent proves who it is. Default: none.
    pub client_auth: Option<ClientAuth>,
}

/// How the agent authenticates to the aggregator: a client certificate or a bearer token,
/// never both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// Mutual TLS with a PEM certificate and its PEM private key.
    Certificate {
        /// `tls.client_cert`.
        cert: PathBuf,
        /// `tls.client_key`.
        key: PathBuf,
    },
    /// A bearer token read from a file (e.g. a projected ServiceAccount token).
    Token {
        /// `tls.token_file`.
        file: PathBuf,
    },
}

/// Validates the `tls.*` values of `raw`: `ca_file` first, then the pairing rules (they explain
/// more than "file not found"), then the files of the chosen authentication.
pub(super) fn resolve(raw: &Layer) -> Result<Tls, ConfigError> {
    let ca_file = raw
        .tls_ca_file
        .as_ref()
        .map(|ca| rules::file("tls.ca_file", ca))
        .transpose()?;
    let client_auth = match (
        &raw.tls_client_cert,
        &raw.tls_client_key,
        &raw.tls_token_file,
    ) {
        (Some(cert), None, _) => {
            return Err(ConfigError::Incomplete {
                key: "tls.client_cert",
                origin: cert.origin.clone(),
                missing: "tls.client_key",
            });
        }
        (None, Some(key), _) => {
            return Err(ConfigError::Incomplete {
                key: "tls.client_key",
                origin: key.origin.clone(),
                missing: "tls.client_cert",
            });
        }
        (Some(cert), Some(_), Some(token)) => {
            return Err(ConfigError::Conflict {
                key: "tls.client_cert",
                origin: cert.origin.clone(),
                other: "tls.token_file",
                other_origin: token.origin.clone(),
            });
        }
        (Some(cert), Some(key), None) => Some(ClientAuth::Certificate {
            cert: rules::file("tls.client_cert", cert)?,
            key: rules::file("tls.client_key", key)?,
        }),
        (None, None, Some(token)) => Some(ClientAuth::Token {
            file: rules::file("tls.token_file", token)?,
        }),
        (None, None, None) => None,
    };
    Ok(Tls {
        ca_file,
        client_auth,
    })
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::*;
    use crate::config::tests::{flag, invalid_key};
    use edgeward_runtime::rules::Problem as SharedProblem;

    use crate::config::{Problem, Sourced};

    /// Creates an empty file in `dir` and returns it as a flag value.
    fn touch(dir: &TempDir, name: &str) -> Option<Sourced<String>> {
        let path = dir.path().join(name);
        std::fs::write(&path, "").expect("write file");
        Some(flag(&path.display().to_string()))
    }

    #[test]
    fn no_tls_settings_mean_no_files() {
        assert_eq!(resolve(&Layer::default()).expect("valid"), Tls::default());
    }

    #[test]
    fn ca_file_must_exist() {
        let layer = Layer {
            tls_ca_file: Some(flag("/nonexistent/ca.pem")),
            ..Layer::default()
        };
        let (key, problem) = invalid_key(resolve(&layer));
        assert_eq!(key, "tls.ca_file");
        assert!(matches!(
            problem,
            Problem::Shared(SharedProblem::Inaccessible { .. })
        ));
    }

    #[test]
    fn token_file_must_be_a_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_token_file: Some(flag(&dir.path().display().to_string())),
            ..Layer::default()
        };
        let (key, problem) = invalid_key(resolve(&layer));
        assert_eq!(key, "tls.token_file");
        assert!(matches!(
            problem,
            Problem::Shared(SharedProblem::NotAFile { .. })
        ));
    }

    #[test]
    fn client_cert_without_key_is_incomplete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_client_cert: touch(&dir, "client.crt"),
            ..Layer::default()
        };
        assert!(matches!(
            resolve(&layer),
            Err(ConfigError::Incomplete {
                key: "tls.client_cert",
                missing: "tls.client_key",
                ..
            })
        ));
    }

    #[test]
    fn client_key_without_cert_is_incomplete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_client_key: touch(&dir, "client.key"),
            ..Layer::default()
        };
        assert!(matches!(
            resolve(&layer),
            Err(ConfigError::Incomplete {
                key: "tls.client_key",
                missing: "tls.client_cert",
                ..
            })
        ));
    }

    #[test]
    fn client_cert_and_key_together_authenticate_by_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_client_cert: touch(&dir, "client.crt"),
            tls_client_key: touch(&dir, "client.key"),
            ..Layer::default()
        };
        assert_eq!(
            resolve(&layer).expect("valid").client_auth,
            Some(ClientAuth::Certificate {
                cert: dir.path().join("client.crt"),
                key: dir.path().join("client.key"),
            })
        );
    }

    #[test]
    fn token_file_excludes_client_cert() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_client_cert: touch(&dir, "client.crt"),
            tls_client_key: touch(&dir, "client.key"),
            tls_token_file: touch(&dir, "token"),
            ..Layer::default()
        };
        assert!(matches!(
            resolve(&layer),
            Err(ConfigError::Conflict {
                key: "tls.client_cert",
                other: "tls.token_file",
                ..
            })
        ));
    }

    #[test]
    fn token_file_alone_authenticates_by_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_token_file: touch(&dir, "token"),
            tls_ca_file: touch(&dir, "ca.pem"),
            ..Layer::default()
        };
        let tls = resolve(&layer).expect("valid");
        assert_eq!(
            tls.client_auth,
            Some(ClientAuth::Token {
                file: dir.path().join("token")
            })
        );
        assert_eq!(tls.ca_file, Some(dir.path().join("ca.pem")));
    }
}
