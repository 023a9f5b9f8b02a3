//! The `[tls]` table: the aggregator's server certificate and, optionally, the CA whose client
//! certificates it accepts as node identities.
//!
//! Rules: `cert_file` and `key_file` come together or not at all; `client_ca_file` needs both;
//! every named file must exist and be a regular file (its PEM content is read by the HTTP
//! server). Without the table the aggregator serves plain HTTP, for a TLS-terminating proxy in
//! front of it.

use std::path::PathBuf;

use super::error::ConfigError;
use super::{Layer, rules};

/// The aggregator's TLS server settings. Files are checked to exist; their content is read by
/// the HTTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// `tls.cert_file`: PEM server certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// `tls.key_file`: PEM private key of the server certificate.
    pub key_file: PathBuf,
    /// `tls.client_ca_file`: PEM CA bundle; client certificates signed by it are accepted as
    /// node identities. Default: none (clients are not asked for a certificate).
    pub client_ca_file: Option<PathBuf>,
}

/// Validates the `tls.*` values of `raw`: the pairing rules first (they explain more than
/// "file not found"), then the files.
pub(super) fn resolve(raw: &Layer) -> Result<Option<ServerTls>, ConfigError> {
    let (cert, key) = match (&raw.tls_cert_file, &raw.tls_key_file) {
        (Some(cert), Some(key)) => (cert, key),
        (Some(cert), None) => {
            return Err(ConfigError::Incomplete {
                key: "tls.cert_file",
                origin: cert.origin.clone(),
                missing: "tls.key_file",
            });
        }
        (None, Some(key)) => {
            return Err(ConfigError::Incomplete {
                key: "tls.key_file",
                origin: key.origin.clone(),
                missing: "tls.cert_file",
            });
        }
        (None, None) => {
            return match &raw.tls_client_ca_file {
                Some(ca) => Err(ConfigError::Incomplete {
                    key: "tls.client_ca_file",
                    origin: ca.origin.clone(),
                    missing: "tls.cert_file",
                }),
                None => Ok(None),
            };
        }
    };
    Ok(Some(ServerTls {
        cert_file: rules::file("tls.cert_file", cert)?,
        key_file: rules::file("tls.key_file", key)?,
        client_ca_file: raw
            .tls_client_ca_file
            .as_ref()
            .map(|ca| rules::file("tls.client_ca_file", ca))
            .transpose()?,
    }))
}

#[cfg(test)]
mod tests {
    use edgeward_runtime::rules::Problem as SharedProblem;
    use tempfile::TempDir;

    use super::*;
    use crate::config::{Invalid, Origin, Problem, Sourced};

    /// Picks one raw setting out of a layer, so a test can set each key in turn.
    type Field = fn(&mut Layer) -> &mut Option<Sourced<String>>;

    fn flag(value: &str) -> Sourced<String> {
        Sourced::new(value, Origin::Flag("--test".to_owned()))
    }

    /// Creates an empty file in `dir` and returns it as a flag value.
    fn touch(dir: &TempDir, name: &str) -> Option<Sourced<String>> {
        let path = dir.path().join(name);
        std::fs::write(&path, "").expect("write file");
        Some(flag(&path.display().to_string()))
    }

    #[test]
    fn no_tls_settings_mean_plain_http() {
        assert_eq!(resolve(&Layer::default()).expect("valid"), None);
    }

    #[test]
    fn cert_and_key_together_serve_tls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_cert_file: touch(&dir, "server.crt"),
            tls_key_file: touch(&dir, "server.key"),
            ..Layer::default()
        };
        assert_eq!(
            resolve(&layer).expect("valid"),
            Some(ServerTls {
                cert_file: dir.path().join("server.crt"),
                key_file: dir.path().join("server.key"),
                client_ca_file: None,
            })
        );
    }

    #[test]
    fn client_ca_with_cert_and_key_accepts_client_certificates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_cert_file: touch(&dir, "server.crt"),
            tls_key_file: touch(&dir, "server.key"),
            tls_client_ca_file: touch(&dir, "clients.pem"),
            ..Layer::default()
        };
        let tls = resolve(&layer).expect("valid").expect("tls");
        assert_eq!(tls.client_ca_file, Some(dir.path().join("clients.pem")));
    }

    #[test]
    fn cert_without_key_is_incomplete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_cert_file: touch(&dir, "server.crt"),
            ..Layer::default()
        };
        assert!(matches!(
            resolve(&layer),
            Err(ConfigError::Incomplete {
                key: "tls.cert_file",
                missing: "tls.key_file",
                origin: Origin::Flag(_),
            })
        ));
    }

    #[test]
    fn key_without_cert_is_incomplete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_key_file: touch(&dir, "server.key"),
            ..Layer::default()
        };
        assert!(matches!(
            resolve(&layer),
            Err(ConfigError::Incomplete {
                key: "tls.key_file",
                missing: "tls.cert_file",
                ..
            })
        ));
    }

    #[test]
    fn client_ca_without_cert_and_key_is_incomplete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = Layer {
            tls_client_ca_file: touch(&dir, "clients.pem"),
            ..Layer::default()
        };
        assert!(matches!(
            resolve(&layer),
            Err(ConfigError::Incomplete {
                key: "tls.client_ca_file",
                missing: "tls.cert_file",
                ..
            })
        ));
    }

    #[test]
    fn each_tls_file_must_exist_and_be_a_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let full = || Layer {
            tls_cert_file: touch(&dir, "server.crt"),
            tls_key_file: touch(&dir, "server.key"),
            tls_client_ca_file: touch(&dir, "clients.pem"),
            ..Layer::default()
        };
        let absent = Some(flag("/nonexistent/edgeward.pem"));
        let a_dir = Some(flag(&dir.path().display().to_string()));
        let cases: [(&str, Field); 3] = [
            ("tls.cert_file", |l| &mut l.tls_cert_file),
            ("tls.key_file", |l| &mut l.tls_key_file),
            ("tls.client_ca_file", |l| &mut l.tls_client_ca_file),
        ];
        for (key, field) in cases {
            let mut layer = full();
            *field(&mut layer) = absent.clone();
            assert!(
                matches!(
                    resolve(&layer),
                    Err(ConfigError::Invalid(Invalid {
                        key: k,
                        problem: Problem::Shared(SharedProblem::Inaccessible { .. }),
                        ..
                    })) if k == key
                ),
                "{key} absent"
            );
            let mut layer = full();
            *field(&mut layer) = a_dir.clone();
            assert!(
                matches!(
                    resolve(&layer),
                    Err(ConfigError::Invalid(Invalid {
                        key: k,
                        problem: Problem::Shared(SharedProblem::NotAFile { .. }),
                        ..
                    })) if k == key
                ),
                "{key} a directory"
            );
        }
    }
}
