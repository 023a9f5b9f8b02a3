//! A stand-in kubelet for tests: a real HTTPS server (tokio-rustls + hyper) on `127.0.0.1:0`
//! that replays recorded payloads on the `:10250` paths, requires a client certificate (mTLS)
//! or a bearer token, and serves `/healthz` over plain HTTP on a second port. Each reply can
//! be slowed down, given a status, or cut off mid-body to exercise the probe's failure paths.
//!
//! The development PKI is made with rcgen: one CA signs the server certificate (for
//! `localhost`, `kubelet.test` and 127.0.0.1) and the client certificate, like a K3s server
//! CA.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use url::Url;

/// Certificates on disk for one test.
pub struct Pki {
    _dir: tempfile::TempDir,
    /// The CA that signed the server and client certificates (PEM).
    pub ca_file: PathBuf,
    /// Another CA, which signed nothing the server presents.
    pub other_ca_file: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = new_ca("kubelet test CA");
        let other = new_ca("some other CA");
        // `kubelet.test` resolves nowhere: only a pinned address reaches it.
        let names = vec!["localhost".to_owned(), "kubelet.test".to_owned()];
        let mut server = CertificateParams::new(names).expect("params");
        server
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("key");
        let server_cert = server.signed_by(&server_key, &ca).expect("server cert");
        let mut client = CertificateParams::new(Vec::<String>::new()).expect("params");
        client
            .distinguished_name
            .push(DnType::CommonName, "system:kube-apiserver");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().expect("key");
        let client_cert = client.signed_by(&client_key, &ca).expect("client cert");
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        Pki {
            ca_file: write("ca.crt", ca.pem()),
            other_ca_file: write("other-ca.crt", other.pem()),
            client_cert: write("client.crt", client_cert.pem()),
            client_key: write("client.key", client_key.serialize_pem()),
            ca_der: ca.der().clone(),
            server_chain: vec![server_cert.der().clone()],
            server_key: server_key.serialize_der(),
            _dir: dir,
        }
    }

    /// Copies the CA and the client certificate to where a K3s server keeps them, under
    /// `root` (for auto-detection).
    pub fn install_k3s(&self, root: &Path) {
        let tls = root.join("var/lib/rancher/k3s/server/tls");
        let agent = root.join("var/lib/rancher/k3s/agent");
        std::fs::create_dir_all(&tls).expect("mkdir");
        std::fs::create_dir_all(&agent).expect("mkdir");
        std::fs::copy(&self.client_cert, tls.join("client-kube-apiserver.crt")).expect("copy");
        std::fs::copy(&self.client_key, tls.join("client-kube-apiserver.key")).expect("copy");
        std::fs::copy(&self.ca_file, agent.join("server-ca.crt")).expect("copy");
    }
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca")
}

/// How the server authenticates clients on the API port.
#[derive(Clone)]
pub enum Auth {
    /// A client certificate signed by the test CA is required in the handshake.
    Mutual,
    /// `Authorization: Bearer <token>` is required; a wrong or missing token gets 401.
    Token(Arc<Mutex<String>>),
}

/// One recorded answer.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// This status and body.
    Status(u16, Vec<u8>),
    /// 200 with this body, after sleeping.
    Slow(Duration, Vec<u8>),
    /// Announces the whole body's length, sends the first `sent` bytes, then drops the
    /// connection.
    Cut { body: Vec<u8>, sent: usize },
}

type Routes = Arc<Mutex<HashMap<String, Reply>>>;

/// A running stand-in kubelet; stops with the runtime it was started on.
pub struct KubeletServer {
    pub api_url: Url,
    pub healthz_url: Url,
    routes: Routes,
}

impl KubeletServer {
    /// Starts both listeners on the current runtime.
    pub async fn start(pki: &Pki, auth: Auth) -> KubeletServer {
        let routes: Routes = Arc::default();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = match &auth {
            Auth::Mutual => {
                let mut roots = RootCertStore::empty();
                roots.add(pki.ca_der.clone()).expect("root");
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .expect("verifier");
                builder.with_client_cert_verifier(verifier)
            }
            Auth::Token(_) => builder.with_no_client_auth(),
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
        let config = builder
            .with_single_cert(pki.server_chain.clone(), key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let api = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let api_addr = api.local_addr().expect("addr");
        let api_routes = Arc::clone(&routes);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = api.accept().await {
                let (acceptor, routes, auth) =
                    (acceptor.clone(), Arc::clone(&api_routes), auth.clone());
                tokio::spawn(async move {
                    // A failed handshake (no or foreign client certificate) just ends here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    serve(TokioIo::new(tls), routes, Some(auth)).await;
                });
            }
        });
        let healthz = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let healthz_addr = healthz.local_addr().expect("addr");
        let healthz_routes = Arc::clone(&routes);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = healthz.accept().await {
                tokio::spawn(serve(TokioIo::new(tcp), Arc::clone(&healthz_routes), None));
            }
        });
        KubeletServer {
            api_url: Url::parse(&format!("https://127.0.0.1:{}", api_addr.port())).expect("url"),
            healthz_url: url_of(healthz_addr, "/healthz"),
            routes,
        }
    }

    /// Sets the answer for `path` (`/pods`, `/healthz`, ...).
    pub fn set(&self, path: &str, reply: Reply) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), reply);
    }
}

fn url_of(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).expect("url")
}

/// An address nothing listens on (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr")
}

async fn serve<I>(io: I, routes: Routes, auth: Option<Auth>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let (routes, auth) = (Arc::clone(&routes), auth.clone());
        async move { Ok::<_, Infallible>(answer(&req, &routes, auth.as_ref()).await) }
    });
    let _ = http1::Builder::new().serve_connection(io, service).await;
}

async fn answer(req: &Request<Incoming>, routes: &Routes, auth: Option<&Auth>) -> Response<Replay> {
    let respond = |status: u16, body: Replay| {
        Response::builder()
            .status(status)
            .body(body)
            .expect("response")
    };
    if let Some(Auth::Token(token)) = auth {
        let expected = format!("Bearer {}", token.lock().expect("token"));
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return respond(401, Replay::whole(b"Unauthorized".to_vec()));
        }
    }
    let reply = routes
        .lock()
        .expect("routes")
        .get(req.uri().path())
        .cloned();
    match reply {
        None => respond(404, Replay::whole(b"404 page not found\n".to_vec())),
        Some(Reply::Body(b)) => respond(200, Replay::whole(b)),
        Some(Reply::Status(s, b)) => respond(s, Replay::whole(b)),
        Some(Reply::Slow(pause, b)) => {
            tokio::time::sleep(pause).await;
            respond(200, Replay::whole(b))
        }
        Some(Reply::Cut { body, sent }) => {
            let total = body.len();
            let mut r = respond(200, Replay::cut(body[..sent].to_vec()));
            r.headers_mut()
                .insert("content-length", total.to_string().parse().expect("header"));
            r
        }
    }
}

/// A response body: one chunk, then the end, or an error that makes hyper drop the
/// connection before the announced length was sent.
pub struct Replay {
    chunk: Option<Bytes>,
    fail: bool,
    flushed: bool,
}

impl Replay {
    fn whole(body: Vec<u8>) -> Replay {
        Replay {
            chunk: Some(Bytes::from(body)),
            fail: false,
            flushed: false,
        }
    }

    fn cut(first: Vec<u8>) -> Replay {
        Replay {
            chunk: Some(Bytes::from(first)),
            fail: true,
            flushed: false,
        }
    }
}

impl Body for Replay {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(chunk) = self.chunk.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if self.fail && !std::mem::replace(&mut self.flushed, true) {
            // Pending once, so hyper flushes what it has before the connection drops.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if std::mem::take(&mut self.fail) {
            return Poll::Ready(Some(Err(io::Error::other(
                "connection cut by the test server",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.chunk.is_none() && !self.fail
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.chunk, self.fail) {
            (Some(c), false) => SizeHint::with_exact(c.len() as u64),
            _ => SizeHint::default(),
        }
    }
}
