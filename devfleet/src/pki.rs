//! Development certificates: a throw-away CA, a server certificate for loopback, and node
//! client certificates (plus deliberately expired or foreign ones for tests).
//!
//! Never for production: keys are written unencrypted and the CA key sits next to them. A
//! real fleet uses its own PKI (cert-manager, the cluster's CA, step-ca...).

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use edgeward_proto::NodeId;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, date_time_ymd,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PkiError {
    #[error("certificate generation")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A PEM certificate and its PEM key, on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A certificate authority that can issue server and node certificates.
#[derive(Debug)]
pub struct DevCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate, PEM, on disk.
    pub cert_file: PathBuf,
}

/// How long issued certificates are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// 2025-01-01 to 2036-01-01.
    Current,
    /// 2000-01-01 to 2001-01-01: expired.
    Expired,
}

impl DevCa {
    /// Creates a CA named `name` and writes its certificate to `dir/<file_stem>.crt`.
    pub fn create(dir: &Path, name: &str, file_stem: &str) -> Result<Self, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = date_time_ymd(2025, 1, 1);
        params.not_after = date_time_ymd(2036, 1, 1);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        let cert_file = dir.join(format!("{file_stem}.crt"));
        write(&cert_file, &issuer.pem())?;
        Ok(Self { issuer, cert_file })
    }

    /// A server certificate for `localhost` and 127.0.0.1, written as `dir/<stem>.{crt,key}`.
    pub fn server(&self, dir: &Path, stem: &str) -> Result<CertFiles, PkiError> {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(DnType::CommonName, "edgeward aggregator (development)");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, Validity::Current, dir, stem)
    }

    /// A client certificate whose common name is the node id.
    pub fn node(
        &self,
        node: &str,
        validity: Validity,
        dir: &Path,
        stem: &str,
    ) -> Result<CertFiles, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, node);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, validity, dir, stem)
    }

    fn issue(
        &self,
        mut params: CertificateParams,
        validity: Validity,
        dir: &Path,
        stem: &str,
    ) -> Result<CertFiles, PkiError> {
        let (from, to) = match validity {
            Validity::Current => (date_time_ymd(2025, 1, 1), date_time_ymd(2036, 1, 1)),
            Validity::Expired => (date_time_ymd(2000, 1, 1), date_time_ymd(2001, 1, 1)),
        };
        params.not_before = from;
        params.not_after = to;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let files = CertFiles {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        write(&files.cert, &cert.pem())?;
        write(&files.key, &key.serialize_pem())?;
        Ok(files)
    }
}

fn write(path: &Path, text: &str) -> Result<(), PkiError> {
    fs::write(path, text).map_err(|source| PkiError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Development bearer tokens: one file per node (what an agent's `tls.token_file` points at)
/// and the aggregator's tokens file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFiles {
    /// The aggregator's `tokens_file`: `<node-id> <token>` lines.
    pub table: PathBuf,
    /// Holds one file per node, named after the node.
    pub dir: PathBuf,
}

impl TokenFiles {
    /// The token file of `node`.
    pub fn of(&self, node: &NodeId) -> PathBuf {
        self.dir.join(node.as_str())
    }
}

/// Writes a development token for each of `nodes` into `dir/tokens/` and the table into
/// `dir/tokens.txt`. Tokens are `<prefix>-<node>-0123456789`: predictable, never for
/// production.
pub fn write_tokens(
    dir: &Path,
    prefix: &str,
    nodes: impl IntoIterator<Item = NodeId>,
) -> Result<TokenFiles, PkiError> {
    let files = TokenFiles {
        table: dir.join("tokens.txt"),
        dir: dir.join("tokens"),
    };
    fs::create_dir_all(&files.dir).map_err(|source| PkiError::Write {
        path: files.dir.clone(),
        source,
    })?;
    let mut table = String::from("# node-id token (development tokens)\n");
    for node in nodes {
        let token = format!("{prefix}-{node}-0123456789");
        write(&files.of(&node), &token)?;
        table.push_str(&format!("{node} {token}\n"));
    }
    write(&files.table, &table)?;
    Ok(files)
}
