//! The inventory probe through its public API against the fixture host trees in
//! `tests/fixtures/hosts/` (what each holds: its README.md), copies of them drifted in a
//! temporary directory, and hostile inputs. Instants are passed in; nothing sleeps.

#[path = "probe_inventory/support.rs"]
mod support;

use std::fs;
use std::time::Instant;

use edgeward_agent::probe::inventory::{InventoryOptions, InventoryProbe};
use edgeward_agent::probe::{HostRoot, Probe, blank_sample};
use edgeward_proto::inventory::{Distro, Inventory, NodeRole};
use edgeward_proto::{Section, UnavailableReason, UnixMillis};

use support::{copy_fixture, digest, fixture, inventory, keys, sha256, without_mtimes};

const BUILD: &str = "1dd0c6267612fa4d8a3f675fa1c21dc08de9488160cc2b3a0e8189d3ba5de595";

#[test]
fn k3s_server_fixture_reads_distro_role_versions_and_start_time() {
    let inv = inventory(&fixture("k3s-server"));
    assert_eq!(inv.distro, Distro::K3s);
    assert_eq!(inv.role, NodeRole::Server);
    // The data link names a build hash, not a version (see versions.rs).
    assert_eq!(inv.distro_version, None);
    assert_eq!(inv.kubelet_version, None);
    assert_eq!(inv.kernel, "6.18.44-fc-v669");
    assert_eq!(inv.os, "Ubuntu 24.04.1 LTS");
    assert_eq!(inv.containerd_version.as_deref(), Some("v1.7.23-k3s2"));
    assert_eq!(inv.agent_version, env!("CARGO_PKG_VERSION"));
    // btime 1795221773 + 3000 ticks at 100 Hz.
    assert_eq!(inv.distro_started_at, Some(UnixMillis(1_795_221_803_000)));
    assert!(matches!(inv.clock, Section::Data(_)), "{:?}", inv.clock);
}

#[test]
fn merged_k3s_config_applies_drop_ins_in_order_and_appends_plus_keys() {
    let inv = inventory(&fixture("k3s-server"));
    let expect = |key: &str, json: &str| {
        let d = digest(&inv, &format!("k3s/config.yaml:{key}"));
        assert_eq!(
            d.sha256,
            sha256(json.as_bytes()),
            "{key} should digest {json}"
        );
        assert_eq!(d.value, None, "config values never ship");
    };
    expect(
        "kubelet-arg",
        r#"["max-pods=110","eviction-hard=imagefs.available<5%,nodefs.available<5%","eviction-minimum-reclaim=imagefs.available=1%,nodefs.available=1%"]"#,
    );
    expect("disable", r#"["traefik","servicelb"]"#);
    expect("cluster-cidr", r#"["10.52.0.0/16"]"#);
    expect("flannel-backend", r#"["wireguard-native"]"#);
    expect("write-kubeconfig-mode", r#"["0644"]"#);
    expect("cluster-init", r#"["true"]"#);
    let config_keys: Vec<String> = keys(&inv)
        .into_iter()
        .filter(|k| k.starts_with("k3s/config.yaml"))
        .collect();
    assert_eq!(
        config_keys,
        [
            "k3s/config.yaml:cluster-cidr",
            "k3s/config.yaml:cluster-init",
            "k3s/config.yaml:disable",
            "k3s/config.yaml:flannel-backend",
            "k3s/config.yaml:kubelet-arg",
            "k3s/config.yaml:node-label",
            "k3s/config.yaml:service-cidr",
            "k3s/config.yaml:tls-san",
            "k3s/config.yaml:token",
            "k3s/config.yaml:write-kubeconfig-mode",
        ]
    );
    // The key's time is that of the last file that set it.
    let overridden = fixture("k3s-server").join("etc/rancher/k3s/config.yaml.d/20-network.yaml");
    let mtime = fs::metadata(overridden)
        .expect("stat")
        .modified()
        .expect("mtime");
    let millis = mtime
        .duration_since(std::time::UNIX_EPOCH)
        .expect("epoch")
        .as_millis();
    let cidr = digest(&inv, "k3s/config.yaml:cluster-cidr");
    assert_eq!(
        cidr.modified_at,
        Some(UnixMillis(i64::try_from(millis).expect("fits")))
    );
}

#[test]
fn k3s_server_has_a_digest_for_every_configured_source() {
    let inv = inventory(&fixture("k3s-server"));
    let all = keys(&inv);
    for key in [
        "k3s/registries.yaml",
        "k3s/registries.yaml:mirrors/docker.io",
        "k3s/registries.yaml:mirrors/registry.k8s.io",
        "k3s/registries.yaml:configs/registry.edge.example.internal:5000",
        "k3s/data/current",
        "k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf",
        "k3s/agent/etc/kubelet.conf.d/50-image-gc.conf",
        "k3s/server/manifests/coredns.yaml",
        "k3s/server/manifests/local-storage.yaml",
        "k3s/server/manifests/metrics-server/metrics-server-service.yaml",
        "k3s/server/manifests/zz-edge-monitoring.yaml",
        "sysctl:net.ipv4.ip_forward",
        "sysctl:kernel.pid_max",
    ] {
        assert!(all.contains(&key.to_owned()), "{key} missing from {all:?}");
    }
    let sysctls = all.iter().filter(|k| k.starts_with("sysctl:")).count();
    assert_eq!(sysctls, 18, "every fixture sysctl, rp_filter absent");
    let value = |key| digest(&inv, key).value.clone();
    assert_eq!(value("k3s/data/current").as_deref(), Some(BUILD));
    assert_eq!(value("sysctl:net.ipv4.ip_forward").as_deref(), Some("1"));
    assert_eq!(
        value("sysctl:net.ipv4.ip_local_port_range").as_deref(),
        Some("32768 60999")
    );
    let manifest =
        fs::read(fixture("k3s-server").join("var/lib/rancher/k3s/server/manifests/coredns.yaml"))
            .expect("read");
    assert_eq!(
        digest(&inv, "k3s/server/manifests/coredns.yaml").sha256,
        sha256(&manifest)
    );
    assert!(
        inv.config.iter().all(|d| d.value.is_none()
            || d.key.starts_with("sysctl:")
            || d.key == "k3s/data/current")
    );
}

#[test]
fn drifted_registries_change_only_registry_digests_and_never_leak_credentials() {
    let host = copy_fixture("k3s-server");
    let registries = host.path().join("etc/rancher/k3s/registries.yaml");
    let text = fs::read_to_string(&registries).expect("read");
    let drifted = text
        .replace("edge-puller", "night-builder")
        .replace("s3cr3t-Fixture-Passw0rd", "An0ther-Secret-Pa55");
    fs::write(&registries, drifted).expect("write");
    let mut probe = InventoryProbe::new(HostRoot::new(host.path()), InventoryOptions::default());
    let mut sample = blank_sample(UnixMillis(1_795_230_000_000));
    probe.observe(&mut sample);
    let Section::Data(inv) = &sample.inventory else {
        panic!("expected data: {:?}", sample.inventory);
    };
    let wire = edgeward_proto::codec::payload_bytes(&sample).expect("encodes");
    let debug = format!("{sample:?}");
    for secret in [
        "night-builder",
        "An0ther-Secret-Pa55",
        "edge-puller",
        "s3cr3t-Fixture-Passw0rd",
        "K10831d2f6c4b0e9a7d5f3c1b8a6e4d2c0f9e7b5a3c1d8f6e4b2a0c9e7d5f3b1a",
    ] {
        assert!(!debug.contains(secret), "{secret} in the sample's Debug");
        assert!(
            !wire.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the encoded sample"
        );
    }
    let original = without_mtimes(&inventory(&fixture("k3s-server")));
    let drifted = without_mtimes(inv);
    let changed: Vec<&String> = original
        .iter()
        .filter(|(key, d)| drifted.get(*key) != Some(d))
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        changed,
        [
            "k3s/registries.yaml",
            "k3s/registries.yaml:configs/registry.edge.example.internal:5000"
        ]
    );
    assert_eq!(original.len(), drifted.len());
}

#[test]
fn formatting_only_changes_to_config_yaml_keep_every_digest() {
    let host = copy_fixture("k3s-server");
    let config = host.path().join("etc/rancher/k3s/config.yaml");
    let token = fs::read_to_string(&config)
        .expect("read")
        .lines()
        .find_map(|l| l.strip_prefix("token: ").map(str::to_owned))
        .expect("token line");
    let reformatted = format!(
        "{{tls-san: [\"edge-srv-1.example.internal\"], kubelet-arg: ['max-pods=110'],\n\
         'node-label': [topology.kubernetes.io/zone=edge-a], disable: [traefik],\n\
         service-cidr: \"10.43.0.0/16\", cluster-cidr: '10.42.0.0/16', cluster-init: True,\n\
         token: \"{token}\",  # same token, quoted\n\
         write-kubeconfig-mode: '0644'}}\n"
    );
    fs::write(&config, reformatted).expect("write");
    let before = without_mtimes(&inventory(&fixture("k3s-server")));
    let after = without_mtimes(&inventory(host.path()));
    assert_eq!(before, after);
}

#[test]
fn microk8s_fixture_reads_snap_version_args_and_certs() {
    let inv = inventory(&fixture("microk8s"));
    assert_eq!(inv.distro, Distro::MicroK8s);
    assert_eq!(inv.distro_version.as_deref(), Some("v1.31.3"));
    assert_eq!(inv.role, NodeRole::Server);
    assert_eq!(inv.os, "Ubuntu 22.04.5 LTS");
    assert_eq!(inv.kernel, "5.15.0-126-generic");
    assert_eq!(inv.containerd_version, None);
    assert_eq!(inv.distro_started_at, Some(UnixMillis(1_795_180_018_000)));
    let eviction = digest(&inv, "microk8s/args/kubelet:--eviction-hard");
    assert_eq!(
        eviction.sha256,
        sha256(br#"["memory.available<100Mi,nodefs.available<1Gi,imagefs.available<1Gi"]"#)
    );
    let etcd = digest(&inv, "microk8s/args/kube-apiserver:--etcd-servers");
    assert_eq!(
        etcd.sha256,
        sha256(br#"["unix://${SNAP_DATA}/var/kubernetes/backend/kine.sock:12379"]"#)
    );
    let all = keys(&inv);
    for key in [
        "microk8s/args/containerd-env",
        "microk8s/args/certs.d/docker.io/hosts.toml",
        "microk8s/args/k8s-dqlite:--storage-dir",
        "microk8s/args/kubelet:--cluster-dns",
    ] {
        assert!(all.contains(&key.to_owned()), "{key} missing from {all:?}");
    }
    assert!(!all.iter().any(|k| k.starts_with("k3s/")));
    let certs: Vec<(&str, bool)> = inv
        .certificates
        .iter()
        .map(|c| (c.path.as_str(), c.is_ca))
        .collect();
    assert_eq!(
        certs,
        [
            ("/var/snap/microk8s/current/certs/ca.crt", true),
            ("/var/snap/microk8s/current/certs/front-proxy-ca.crt", true),
            (
                "/var/snap/microk8s/current/certs/front-proxy-client.crt",
                false
            ),
            ("/var/snap/microk8s/current/certs/server.crt", false),
        ]
    );
}

#[test]
fn k3s_agent_fixture_is_an_agent_and_reads_os_release_through_its_symlink() {
    let inv = inventory(&fixture("k3s-agent"));
    assert_eq!((inv.distro, inv.role), (Distro::K3s, NodeRole::Agent));
    assert_eq!(inv.os, "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(inv.kernel, "6.6.51+rpt-rpi-2712");
    assert_eq!(inv.distro_started_at, Some(UnixMillis(1_795_241_421_500)));
    let server = inventory(&fixture("k3s-server"));
    // Same build on both nodes, different kubelet-arg.
    let build = |inv: &Inventory| digest(inv, "k3s/data/current").sha256;
    assert_eq!(build(&inv), build(&server));
    let args = |inv: &Inventory| digest(inv, "k3s/config.yaml:kubelet-arg").sha256;
    assert_ne!(args(&inv), args(&server));
}

#[test]
fn a_host_root_without_a_kernel_is_unavailable_and_a_bare_linux_is_other() {
    let empty = tempfile::tempdir().expect("tempdir");
    let mut probe = InventoryProbe::new(HostRoot::new(empty.path()), InventoryOptions::default());
    let Section::Unavailable(u) = probe.observe_at(Instant::now()) else {
        panic!("expected unavailable");
    };
    assert_eq!(u.reason, UnavailableReason::NotFound);
    assert!(
        u.detail.contains("osrelease") && u.detail.contains("host root"),
        "{}",
        u.detail
    );

    fs::create_dir_all(empty.path().join("proc/sys/kernel")).expect("mkdir");
    fs::write(empty.path().join("proc/sys/kernel/osrelease"), "6.1.0\n").expect("write");
    let inv = inventory(empty.path());
    assert_eq!((inv.distro, inv.role), (Distro::Other, NodeRole::Unknown));
    assert_eq!((inv.os.as_str(), inv.distro_version.as_ref()), ("", None));
    assert_eq!(inv.distro_started_at, None);
    assert!(inv.certificates.is_empty() && inv.config.is_empty());
    let Section::Unavailable(u) = &inv.cluster_identity else {
        panic!("expected unavailable identity");
    };
    assert_eq!(u.reason, UnavailableReason::NotApplicable);
}

#[path = "probe_inventory/certs.rs"]
mod certs;
#[path = "probe_inventory/hostile.rs"]
mod hostile;
#[path = "probe_inventory/rate.rs"]
mod rate;
