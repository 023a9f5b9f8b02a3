//! Who is sending: a node identity from a verified client certificate, or from a bearer token
//! listed in the tokens file.
//!
//! Invariants:
//! - A client certificate reaches this module only after rustls verified its chain against
//!   `tls.client_ca_file` and its validity period; an expired or untrusted certificate never
//!   completes the handshake.
//! - A certificate names its node by the subject common name, either the bare node name or the
//!   Kubernetes node-credential form `system:node:<name>`.
//! - Tokens are compared as whole strings through a hash map lookup; the tokens file is read
//!   once at start-up and a bad line stops the start with the line number.
//!
//! Tokens file format: one `<node-id> <token>` pair per line; blank lines and lines starting
//! with `#` are ignored. A token may map to one node only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use edgeward_proto::NodeId;
use thiserror::Error;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Prefix of Kubernetes node credentials' common names.
const NODE_CN_PREFIX: &str = "system:node:";

/// The tokens file could not be used.
#[derive(Debug, Error)]
pub enum TokensError {
    #[error("cannot read tokens file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("tokens file {path} line {line}: {problem}")]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
}

/// Bearer tokens and the node each one authenticates.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    by_token: HashMap<String, NodeId>,
}

impl Tokens {
    /// Reads and parses the tokens file at `path`.
    pub fn load(path: &Path) -> Result<Self, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, problem)| TokensError::Line {
            path: path.to_owned(),
            line,
            problem,
        })
    }

    /// Parses the tokens file's text; an error carries the 1-based line and the problem.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut by_token = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let mut words = content.split_whitespace();
            let (Some(node), Some(token), None) = (words.next(), words.next(), words.next()) else {
                return Err((line, "expected `<node-id> <token>`".to_owned()));
            };
            let node = NodeId::new(node).map_err(|e| (line, format!("node id: {e}")))?;
            if token.len() < 16 {
                return Err((line, "token shorter than 16 characters".to_owned()));
            }
            if let Some(other) = by_token.insert(token.to_owned(), node.clone())
                && other != node
            {
                return Err((line, format!("token already maps to node {other}")));
            }
        }
        Ok(Self { by_token })
    }

    /// The node `token` authenticates, if any.
    pub fn node(&self, token: &str) -> Option<&NodeId> {
        self.by_token.get(token)
    }

    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

/// What the TLS layer learnt about the peer of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCertificate {
    /// No client certificate was presented (plain HTTP, or TLS without one).
    None,
    /// A verified certificate naming this node.
    Node(NodeId),
    /// A verified certificate whose subject names no valid node id; the detail says why.
    Unusable(String),
}

impl PeerCertificate {
    /// Reads the node identity from a verified end-entity certificate in DER.
    pub fn from_der(der: &[u8]) -> Self {
        let cert = match X509Certificate::from_der(der) {
            Ok((_, cert)) => cert,
            Err(e) => return Self::Unusable(format!("unparseable certificate: {e}")),
        };
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok());
        let Some(cn) = cn else {
            return Self::Unusable("certificate has no subject common name".to_owned());
        };
        let name = cn.strip_prefix(NODE_CN_PREFIX).unwrap_or(cn);
        match NodeId::new(name) {
            Ok(node) => Self::Node(node),
            Err(e) => Self::Unusable(format!("common name {cn:?} is not a node id: {e}")),
        }
    }
}

/// Why a request is not authenticated (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Unauthenticated {
    #[error("no client certificate and no bearer token")]
    NoCredentials,
    #[error("bearer token is not in the tokens file")]
    UnknownToken,
    #[error("client certificate: {0}")]
    UnusableCertificate(String),
}

/// Decides who sent a request: the certificate wins over a token; a token must be listed.
pub fn authenticate(
    cert: &PeerCertificate,
    bearer: Option<&str>,
    tokens: &Tokens,
) -> Result<NodeId, Unauthenticated> {
    match (cert, bearer) {
        (PeerCertificate::Node(node), _) => Ok(node.clone()),
        (PeerCertificate::Unusable(why), None) => {
            Err(Unauthenticated::UnusableCertificate(why.clone()))
        }
        (_, Some(token)) => tokens
            .node(token)
            .cloned()
            .ok_or(Unauthenticated::UnknownToken),
        (PeerCertificate::None, None) => Err(Unauthenticated::NoCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> NodeId {
        NodeId::new(s).expect("valid node id")
    }

    #[test]
    fn tokens_file_maps_tokens_to_nodes_and_skips_comments() {
        let tokens =
            Tokens::parse("# fleet\n\nshop-1 0123456789abcdef01\nshop-2 fedcba9876543210ff\n")
                .expect("valid");
        assert_eq!(tokens.node("0123456789abcdef01"), Some(&node("shop-1")));
        assert_eq!(tokens.node("fedcba9876543210ff"), Some(&node("shop-2")));
        assert_eq!(tokens.node("nope"), None);
    }

    #[test]
    fn tokens_file_errors_name_the_line() {
        assert_eq!(
            Tokens::parse("ok-node 0123456789abcdef01\nbroken\n")
                .map(|_| ())
                .unwrap_err()
                .0,
            2
        );
        assert_eq!(Tokens::parse("a short\n").map(|_| ()).unwrap_err().0, 1);
        assert_eq!(
            Tokens::parse("Bad_Node 0123456789abcdef01\n")
                .map(|_| ())
                .unwrap_err()
                .0,
            1
        );
        let shared = "a 0123456789abcdef01\nb 0123456789abcdef01\n";
        assert_eq!(Tokens::parse(shared).map(|_| ()).unwrap_err().0, 2);
    }

    #[test]
    fn certificate_wins_over_token_and_unknown_tokens_are_refused() {
        let tokens = Tokens::parse("tok-node 0123456789abcdef01\n").expect("valid");
        let cert = PeerCertificate::Node(node("cert-node"));
        assert_eq!(
            authenticate(&cert, Some("0123456789abcdef01"), &tokens),
            Ok(node("cert-node"))
        );
        assert_eq!(
            authenticate(&PeerCertificate::None, Some("0123456789abcdef01"), &tokens),
            Ok(node("tok-node"))
        );
        assert_eq!(
            authenticate(&PeerCertificate::None, Some("guess"), &tokens),
            Err(Unauthenticated::UnknownToken)
        );
        assert_eq!(
            authenticate(&PeerCertificate::None, None, &tokens),
            Err(Unauthenticated::NoCredentials)
        );
    }

    #[test]
    fn garbage_certificate_bytes_are_unusable_not_a_panic() {
        assert!(matches!(
            PeerCertificate::from_der(b"\x30\x03garbage"),
            PeerCertificate::Unusable(_)
        ));
    }
}
