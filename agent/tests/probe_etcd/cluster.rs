//! A real etcd for the probe tests: a K3s-like etcd PKI made with rcgen, members started on
//! free loopback ports and killed on drop.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// Where K3s keeps etcd's certificates, under the host root.
pub const TLS_DIR: &str = "var/lib/rancher/k3s/server/tls/etcd";
/// etcd's data directory in K3s, under the host root.
pub const DATA_DIR: &str = "var/lib/rancher/k3s/server/db/etcd";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub fn etcd_binary() -> &'static str {
    match Command::new("etcd").arg("--version").output() {
        Ok(out) if out.status.success() => "etcd",
        _ => panic!(
            "the etcd binary is not on PATH: these tests need a real etcd; install the Debian \
             package etcd-server (apt-get install etcd-server)"
        ),
    }
}

/// A CA that issues K3s-like etcd certificates.
pub struct Ca(pub CertifiedIssuer<'static, KeyPair>);

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Self(CertifiedIssuer::self_signed(p, KeyPair::generate().expect("key")).expect("ca"))
    }

    /// Writes `<dir>/<stem>.crt` and `.key`.
    pub fn issue(&self, dir: &Path, stem: &str, server: bool) {
        let mut p = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        p.subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        p.distinguished_name.push(DnType::CommonName, stem);
        p.extended_key_usages = if server {
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ]
        } else {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        };
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &self.0).expect("sign");
        fs::write(dir.join(format!("{stem}.crt")), cert.pem()).expect("write");
        fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).expect("write");
    }
}

/// One etcd member, killed on drop.
pub struct Member {
    child: Child,
    pub log: PathBuf,
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Member {
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

/// Ports of one member.
#[derive(Clone, Copy)]
pub struct Ports {
    pub client: u16,
    pub peer: u16,
    pub metrics: u16,
}

impl Ports {
    pub fn new() -> Self {
        Self {
            client: free_port(),
            peer: free_port(),
            metrics: free_port(),
        }
    }
}

/// A K3s server host tree with etcd's certificates where K3s puts them.
pub struct Host {
    dir: tempfile::TempDir,
    pub ca: Ca,
}

impl Host {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = dir.path().join(TLS_DIR);
        fs::create_dir_all(&tls).expect("mkdir");
        let ca = Ca::new("etcd-server-ca");
        fs::write(tls.join("server-ca.crt"), ca.0.pem()).expect("write");
        ca.issue(&tls, "server-client", true);
        ca.issue(&tls, "client", false);
        Self { dir, ca }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Starts member `name` of `cluster` (name, peer port) with its data under `data`. The
    /// member whose data is the host's K3s data dir serves TLS; others plain HTTP.
    pub fn start(&self, name: &str, ports: Ports, cluster: &[(&str, u16)], data: &Path) -> Member {
        let tls = self.root().join(TLS_DIR);
        let scheme = if data == self.root().join(DATA_DIR) {
            "https"
        } else {
            "http"
        };
        let client = format!("{scheme}://127.0.0.1:{}", ports.client);
        let peer = format!("http://127.0.0.1:{}", ports.peer);
        let initial: Vec<String> = cluster
            .iter()
            .map(|(n, p)| format!("{n}=http://127.0.0.1:{p}"))
            .collect();
        fs::create_dir_all(data.parent().expect("parent")).expect("mkdir");
        let log = data.with_extension("log");
        let mut cmd = Command::new(etcd_binary());
        cmd.args(["--name", name, "--data-dir"])
            .arg(data)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args([
                "--initial-cluster",
                &initial.join(","),
                "--initial-cluster-state",
                "new",
            ])
            .arg(format!(
                "--listen-metrics-urls=http://127.0.0.1:{}",
                ports.metrics
            ));
        if scheme == "https" {
            cmd.arg("--client-cert-auth")
                .arg("--trusted-ca-file")
                .arg(tls.join("server-ca.crt"))
                .arg("--cert-file")
                .arg(tls.join("server-client.crt"))
                .arg("--key-file")
                .arg(tls.join("server-client.key"));
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("log"))
            .spawn()
            .expect("spawn etcd");
        Member { child, log }
    }
}
