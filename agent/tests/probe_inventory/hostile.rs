//! Hostile and broken host files: every one becomes a marker, an empty field or `None`, never
//! a panic and never an unbounded read.

use std::fs;
use std::os::unix::fs::symlink;

use edgeward_agent::probe::READ_LIMIT;
use edgeward_proto::Section;

use super::support::{copy_fixture, digest, inventory, keys, sha256};

const K3S: &str = "var/lib/rancher/k3s";

#[test]
fn garbage_yaml_binary_files_and_oversized_files_become_markers_not_panics() {
    let host = copy_fixture("k3s-server");
    let at = |rel: &str| host.path().join(rel);
    fs::write(at("etc/rancher/k3s/config.yaml"), "{{{: [\n\t- : :\n").expect("write");
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for (name, prev) in [
        ("b", "a"),
        ("c", "b"),
        ("d", "c"),
        ("e", "d"),
        ("f", "e"),
        ("g", "f"),
    ] {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(",")
        ));
    }
    fs::write(at("etc/rancher/k3s/config.yaml.d/10-eviction.yaml"), bomb).expect("write");
    fs::write(
        at("etc/rancher/k3s/config.yaml.d/30-deep.yaml"),
        "[".repeat(60_000),
    )
    .expect("write");
    fs::write(
        at("etc/rancher/k3s/registries.yaml"),
        [0xff, 0xfe, 0x00, 0x9c, b'\n'],
    )
    .expect("write");
    let binary: Vec<u8> = (0..8192_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    fs::write(at(&format!("{K3S}/server/tls/garbage.crt")), &binary).expect("write");
    let huge = vec![b'A'; usize::try_from(READ_LIMIT).expect("fits") + 1];
    fs::write(at(&format!("{K3S}/server/tls/huge.pem")), &huge).expect("write");
    fs::write(at("etc/os-release"), &huge).expect("write");
    fs::write(at("proc/4321/stat"), "4321 (k3s-server").expect("write");
    symlink(
        "loop.conf",
        at(&format!("{K3S}/agent/etc/kubelet.conf.d/loop.conf")),
    )
    .expect("symlink");

    let inv = inventory(host.path());
    let all = keys(&inv);
    for marker in [
        "k3s/config.yaml:!unparseable",
        "k3s/config.yaml.d/10-eviction.yaml:!unparseable",
        "k3s/config.yaml.d/30-deep.yaml:!unparseable",
        "k3s/registries.yaml:!unreadable",
        "inventory/unreadable-certificates",
    ] {
        assert!(
            all.contains(&marker.to_owned()),
            "{marker} missing from {all:?}"
        );
    }
    let certs = digest(&inv, "inventory/unreadable-certificates");
    assert_eq!(certs.value.as_deref(), Some("2"));
    // What the broken files set is gone; what the intact drop-in sets is still merged.
    assert!(!all.contains(&"k3s/config.yaml:kubelet-arg".to_owned()));
    let cidr = digest(&inv, "k3s/config.yaml:cluster-cidr");
    assert_eq!(cidr.sha256, sha256(br#"["10.52.0.0/16"]"#));
    assert!(
        !all.iter()
            .any(|k| k.starts_with("k3s/registries.yaml:mirrors"))
    );
    assert_eq!(inv.os, "");
    assert_eq!(inv.distro_started_at, None);
    assert_eq!(
        inv.certificates.len(),
        12,
        "the intact certificates are all there"
    );
    // The unparseable file's digest is over its bytes: comparable between nodes.
    let garbage = digest(&inv, "k3s/config.yaml:!unparseable");
    assert_eq!(garbage.sha256, sha256(b"{{{: [\n\t- : :\n"));
}

#[test]
fn a_manifest_above_the_read_limit_is_still_digested_whole() {
    let host = copy_fixture("k3s-server");
    let big: Vec<u8> = (0..200_000_u32)
        .map(|i| b"abcdefghij\n"[(i % 11) as usize])
        .collect();
    fs::write(
        host.path()
            .join(format!("{K3S}/server/manifests/big-crds.yaml")),
        &big,
    )
    .expect("write");
    let inv = inventory(host.path());
    assert_eq!(
        digest(&inv, "k3s/server/manifests/big-crds.yaml").sha256,
        sha256(&big)
    );
}

#[test]
fn missing_optional_files_leave_fields_empty_not_the_section() {
    let host = copy_fixture("k3s-agent");
    let at = |rel: &str| host.path().join(rel);
    fs::remove_file(at(&format!("{K3S}/agent/containerd/containerd.log"))).expect("rm");
    fs::remove_dir_all(at("proc/812")).expect("rm");
    fs::remove_file(at("etc/os-release")).expect("rm");
    fs::remove_file(at("usr/lib/os-release")).expect("rm");
    fs::remove_file(at("etc/rancher/k3s/config.yaml")).expect("rm");
    let inv = inventory(host.path());
    assert_eq!(inv.containerd_version, None);
    assert_eq!(inv.distro_started_at, None);
    assert_eq!(inv.os, "");
    assert!(matches!(inv.cluster_identity, Section::Data(_)));
    assert!(
        !keys(&inv).iter().any(|k| k.starts_with("k3s/config.yaml")),
        "{:?}",
        keys(&inv)
    );
}

#[test]
fn a_registry_name_that_could_carry_credentials_is_hashed_in_its_key() {
    let host = copy_fixture("k3s-server");
    fs::write(
        host.path().join("etc/rancher/k3s/registries.yaml"),
        "mirrors:\n  \"ops:Hunter2Pass@registry.example\":\n    endpoint: [\"https://m.example\"]\n",
    )
    .expect("write");
    let inv = inventory(host.path());
    let mirrors: Vec<String> = keys(&inv)
        .into_iter()
        .filter(|k| k.contains(":mirrors/"))
        .collect();
    assert_eq!(mirrors.len(), 1, "{mirrors:?}");
    assert!(
        mirrors[0].starts_with("k3s/registries.yaml:mirrors/sha256:"),
        "{mirrors:?}"
    );
    assert!(!format!("{inv:?}").contains("Hunter2Pass"));
}
