//! Credentials and the effective eviction thresholds when the kubelet's API cannot be
//! used: the K3s cut-off case, no credentials, MicroK8s.

use super::*;

#[test]
fn k3s_cut_off_from_its_api_server_reports_unauthorized_and_thresholds_from_files() {
    let node = Node::mutual();
    // A K3s server's files under the host root: credentials and CA are auto-detected there.
    node.pki.install_k3s(node.host.path());
    write(
        node.host.path(),
        "etc/rancher/k3s/config.yaml",
        "kubelet-arg:\n  - \"eviction-hard=memory.available<200Mi\"\n",
    );
    node.server.set("/healthz", Reply::Body(b"ok".to_vec()));
    for path in ["/metrics", "/pods", "/stats/summary", "/configz"] {
        let body = b"Forbidden (user=system:kube-apiserver, verb=get, resource=nodes)".to_vec();
        node.server.set(path, Reply::Status(403, body));
    }
    let options = KubeletOptions {
        auth: KubeletAuth::Auto,
        ca_file: None,
        ..node.options()
    };
    let k = observe(&mut node.probe(options));
    assert_eq!(k.healthz, Section::Data(Healthz::Ok));
    let expected = |path: &str| {
        format!(
            "{} answered 403: K3s checks :10250 requests with the API server, which may be unreachable",
            node.url(path)
        )
    };
    for (path, u) in [
        ("metrics", unavailable(&k.metrics)),
        ("pods", unavailable(&k.pods)),
        ("configz", unavailable(&k.configz)),
    ] {
        assert_eq!(u.reason, UnavailableReason::Unauthorized);
        assert_eq!(u.detail, expected(path));
    }
    let s = unavailable(&k.scheduling);
    assert_eq!(s.reason, UnavailableReason::Unauthorized);
    assert_eq!(s.detail, format!("needs /configz: {}", expected("configz")));
    // Exactly the one threshold the file names: the others are zeroed.
    assert_eq!(
        node.thresholds(),
        ResolvedThresholds {
            source: ThresholdSource::File("/etc/rancher/k3s/config.yaml".into()),
            thresholds: vec![t(Signal::MemoryAvailable, Quantity::Absolute(200 << 20))],
        }
    );
}

#[test]
fn no_credentials_mean_permission_denied_and_default_thresholds() {
    let node = Node::mutual().healthy();
    let options = KubeletOptions {
        auth: KubeletAuth::Auto,
        ..node.options()
    };
    let k = observe(&mut node.probe(options));
    for u in [
        unavailable(&k.metrics),
        unavailable(&k.pods),
        unavailable(&k.configz),
        unavailable(&k.scheduling),
    ] {
        assert_eq!(
            u.reason,
            UnavailableReason::PermissionDenied,
            "{}",
            u.detail
        );
    }
    let detail = &unavailable(&k.pods).detail;
    assert!(detail.starts_with("no kubelet credentials: configure a bearer token file or a client certificate and key (looked for "), "{detail}");
    assert!(detail.contains("no-service-account/token"), "{detail}");
    assert_eq!(k.healthz, Section::Data(Healthz::Ok));
    assert_eq!(
        node.thresholds(),
        ResolvedThresholds {
            source: ThresholdSource::Default(DefaultsOf::Upstream),
            thresholds: edgeward_proto::eviction::defaults(DefaultsOf::Upstream),
        }
    );
}

#[test]
fn microk8s_args_give_the_thresholds_when_configz_is_forbidden_then_its_defaults() {
    let node = Node::mutual().healthy();
    node.server
        .set("/configz", Reply::Status(403, b"Forbidden".to_vec()));
    // MicroK8s's own default args file, verbatim (see the fixtures' README.md).
    let args = "var/snap/microk8s/current/args/kubelet";
    let text = String::from_utf8(fixture("microk8s-default-args-kubelet")).expect("utf-8");
    write(node.host.path(), args, &text);
    let mut probe = node.probe(node.options());
    let k = observe(&mut probe);
    // Not K3s: the 403 hint is about RBAC.
    assert!(
        unavailable(&k.configz).detail.ends_with("nodes/metrics)"),
        "{}",
        unavailable(&k.configz).detail
    );
    assert_eq!(
        node.thresholds(),
        ResolvedThresholds {
            source: ThresholdSource::File("/var/snap/microk8s/current/args/kubelet".into()),
            thresholds: vec![
                t(Signal::MemoryAvailable, Quantity::Absolute(100 << 20)),
                t(Signal::NodefsAvailable, Quantity::Absolute(1 << 30)),
                t(Signal::ImagefsAvailable, Quantity::Absolute(1 << 30)),
            ],
        }
    );
    fs::remove_file(node.host.path().join(args)).expect("rm");
    observe(&mut probe);
    assert_eq!(
        node.thresholds().source,
        ThresholdSource::Default(DefaultsOf::MicroK8s)
    );
}

#[test]
fn a_server_name_verifies_the_certificate_against_it_at_the_pinned_address() {
    let node = Node::mutual().healthy();
    // The certificate names kubelet.test, which no resolver knows: the request reaches the
    // kubelet only because the name is pinned to api_url's address.
    let options = KubeletOptions {
        server_name: Some("kubelet.test".into()),
        ..node.options()
    };
    let k = observe(&mut node.probe(options));
    assert!(matches!(k.pods, Section::Data(_)), "{:?}", k.pods);
    // A name the certificate does not carry fails verification.
    let options = KubeletOptions {
        server_name: Some("other.test".into()),
        ..node.options()
    };
    let k = observe(&mut node.probe(options));
    let u = unavailable(&k.pods);
    assert_eq!(u.reason, UnavailableReason::Failed);
    assert!(u.detail.contains("not valid for name"), "{}", u.detail);
}
