//! The accept loop: TCP, then TLS (rustls, optional client certificates), then HTTP/1.1, with
//! the peer's verified certificate identity attached to every request of the connection.
//!
//! Invariants:
//! - A TLS handshake has [`HANDSHAKE_TIMEOUT`]; a peer that stalls or fails it (untrusted or
//!   expired client certificate, plain HTTP on the TLS port) is logged at WARN and dropped
//!   without affecting other connections.
//! - Client certificates are optional at the TLS layer (nodes may use bearer tokens instead),
//!   but when one is presented it must chain to `tls.client_ca_file` and be within its
//!   validity period, or the handshake fails.
//! - At most [`MAX_CONNECTIONS`] connections are served at once; further ones wait in the
//!   kernel's accept backlog.
//! - Shutdown stops accepting, then waits for in-flight connections to finish their current
//!   request.

use std::fs::File;
use std::io::{self, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::config::ServerTls;
use crate::ingest::PeerCertificate;

/// Longest a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 4096;

/// The TLS settings could not be turned into a server configuration.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {what} from {path}")]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path} holds no {what}")]
    Empty { what: &'static str, path: PathBuf },
    #[error("client CA bundle {path} is unusable")]
    ClientCa {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("client certificate verifier")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
    #[error("server certificate and key do not form a usable TLS identity")]
    Identity(#[source] rustls::Error),
}

/// Builds the TLS acceptor for `tls`.
pub fn acceptor(tls: &ServerTls) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(&tls.cert_file, "certificates")?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|source| TlsError::Read {
        what: "a private key",
        path: tls.key_file.clone(),
        source,
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Identity)?;
    let builder = match &tls.client_ca_file {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates(path, "CA certificates")? {
                roots.add(ca).map_err(|source| TlsError::ClientCa {
                    path: path.clone(),
                    source,
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(TlsError::Verifier)?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(TlsError::Identity)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(|e| read(rustls_pki_types::pem::Error::Io(e)))?;
    let certs = CertificateDer::pem_reader_iter(BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// Serves `router` on `listener` until `shutdown` resolves; TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    warn!(error = %e, "Accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => {
                    let service = with_peer(router, PeerCertificate::None, peer);
                    let conn = http1().serve_connection(TokioIo::new(tcp), service);
                    if let Err(e) = watcher.watch(conn).await {
                        debug!(peer = %peer, error = %e, "Connection ended with an error");
                    }
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                warn!(peer = %peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                warn!(peer = %peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map_or(PeerCertificate::None, |der| PeerCertificate::from_der(der));
                    let service = with_peer(router, cert, peer);
                    let conn = http1().serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn).await {
                        debug!(peer = %peer, error = %e, "Connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The peer's address, for handlers that log it.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

fn with_peer(
    router: Router,
    cert: PeerCertificate,
    peer: SocketAddr,
) -> TowerToHyperService<Router> {
    TowerToHyperService::new(
        router
            .layer(Extension(cert))
            .layer(Extension(PeerAddr(peer))),
    )
}

fn http1() -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
}
