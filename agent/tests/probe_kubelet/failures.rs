//! Each failure of a `:10250` endpoint lands in its own section with its typed reason;
//! `/healthz` keeps reporting.

use super::*;

#[test]
fn broken_json_is_unparseable_in_its_own_section_only() {
    let node = Node::mutual().healthy();
    node.server
        .set("/pods", Reply::Body(b"{\"items\": [{]}".to_vec()));
    node.server
        .set("/configz", Reply::Body(b"{\"kubeletconfig\": 42}".to_vec()));
    let k = observe(&mut node.probe(node.options()));
    let pods = unavailable(&k.pods);
    assert_eq!(pods.reason, UnavailableReason::Unparseable);
    assert!(
        pods.detail
            .starts_with(&format!("{}: cannot parse the body: ", node.url("pods"))),
        "{}",
        pods.detail
    );
    let configz = unavailable(&k.configz);
    assert_eq!(configz.reason, UnavailableReason::Unparseable);
    let scheduling = unavailable(&k.scheduling);
    assert_eq!(scheduling.reason, UnavailableReason::Unparseable);
    assert!(
        scheduling.detail.starts_with("needs /configz: "),
        "{}",
        scheduling.detail
    );
    assert!(matches!(k.metrics, Section::Data(_)));
    assert_eq!(k.healthz, Section::Data(Healthz::Ok));
    // Without configz the thresholds come from disk; this host tree has none and no distro.
    assert_eq!(
        node.thresholds().source,
        ThresholdSource::Default(DefaultsOf::Upstream)
    );
}

#[test]
fn truncated_bodies_are_unparseable_never_partial() {
    let node = Node::mutual().healthy();
    let metrics = fixture("datadog-kubelet-metrics-1.21.txt");
    let pods = fixture("datadog-pods.json");
    let summary = fixture("otel-stats-summary.json");
    let configz = fixture("configz-k3s.json");
    // Served as complete answers whose text stops half-way...
    node.server.set(
        "/metrics",
        Reply::Body(metrics[..metrics.len() / 2].to_vec()),
    );
    node.server
        .set("/pods", Reply::Body(pods[..pods.len() / 2].to_vec()));
    // ... and as connections dropped before the announced Content-Length.
    node.server.set(
        "/stats/summary",
        Reply::Cut {
            sent: summary.len() / 2,
            body: summary,
        },
    );
    node.server.set(
        "/configz",
        Reply::Cut {
            sent: configz.len() / 2,
            body: configz,
        },
    );
    let mut probe = node.probe(node.options());
    let k = observe(&mut probe);
    for (name, u) in [
        ("metrics", unavailable(&k.metrics)),
        ("pods", unavailable(&k.pods)),
        ("configz", unavailable(&k.configz)),
        ("scheduling", unavailable(&k.scheduling)),
    ] {
        assert_eq!(
            u.reason,
            UnavailableReason::Unparseable,
            "{name}: {}",
            u.detail
        );
    }
    let detail = &unavailable(&k.metrics).detail;
    assert!(
        detail.ends_with("metrics page does not end with a newline: cut off"),
        "{detail}"
    );
    let detail = &unavailable(&k.configz).detail;
    assert!(
        detail.starts_with(&format!("{}: body cut off", node.url("configz"))),
        "{detail}"
    );
    assert_eq!(k.healthz, Section::Data(Healthz::Ok));
    // With configz and pods whole again, scheduling names the cut summary.
    node.server
        .set("/configz", Reply::Body(fixture("configz-k3s.json")));
    node.server.set("/pods", Reply::Body(pods));
    let u = observe(&mut probe).scheduling;
    let u = unavailable(&u);
    assert_eq!(u.reason, UnavailableReason::Unparseable);
    let cut = format!(
        "needs /stats/summary: {}: body cut off",
        node.url("stats/summary")
    );
    assert!(u.detail.starts_with(&cut), "{}", u.detail);
}

#[test]
fn slow_endpoint_times_out_alone_and_healthz_still_reports() {
    let node = Node::mutual().healthy();
    node.server.set(
        "/pods",
        Reply::Slow(Duration::from_millis(1500), fixture("datadog-pods.json")),
    );
    let mut options = node.options();
    options.timeout = Duration::from_millis(300);
    let k = observe(&mut node.probe(options));
    let pods = unavailable(&k.pods);
    assert_eq!(pods.reason, UnavailableReason::Timeout);
    assert_eq!(
        pods.detail,
        format!("{} did not answer within 300ms", node.url("pods"))
    );
    assert_eq!(
        unavailable(&k.scheduling).reason,
        UnavailableReason::Timeout
    );
    assert_eq!(k.healthz, Section::Data(Healthz::Ok));
    assert!(matches!(k.metrics, Section::Data(_)));
    assert!(matches!(k.configz, Section::Data(_)));
}

#[test]
fn a_wrong_token_is_unauthorized_and_a_rotated_token_is_picked_up() {
    let accepted = Arc::new(Mutex::new("first-token".to_owned()));
    let node = Node::start(Auth::Token(Arc::clone(&accepted))).healthy();
    let token_file = node.host.path().join("agent-token");
    fs::write(&token_file, "first-token\n").expect("write");
    let options = KubeletOptions {
        auth: KubeletAuth::Token(token_file.clone()),
        ..node.options()
    };
    let mut probe = node.probe(options);
    assert!(matches!(observe(&mut probe).pods, Section::Data(_)));

    // The kubelet now wants another token; the agent still holds the old one: 401.
    *accepted.lock().expect("token") = "second-token".to_owned();
    let k = observe(&mut probe);
    let u = unavailable(&k.pods);
    assert_eq!(u.reason, UnavailableReason::Unauthorized);
    assert_eq!(
        u.detail,
        format!(
            "{} answered 401: the kubelet refused these credentials (they need get on nodes/proxy, nodes/stats and nodes/metrics)",
            node.url("pods")
        )
    );
    assert_eq!(k.healthz, Section::Data(Healthz::Ok));

    // The token file rotates: the next cycle reads it again.
    fs::write(&token_file, "second-token\n").expect("write");
    assert!(matches!(observe(&mut probe).pods, Section::Data(_)));
}

#[test]
fn unhealthy_healthz_reports_status_and_body() {
    let node = Node::mutual().healthy();
    node.server.set(
        "/healthz",
        Reply::Status(
            500,
            b"[-]syncloop failed: reason withheld\nhealthz check failed\n".to_vec(),
        ),
    );
    let k = observe(&mut node.probe(node.options()));
    assert_eq!(
        k.healthz,
        Section::Data(Healthz::Unhealthy {
            status: 500,
            body: "[-]syncloop failed: reason withheld\nhealthz check failed\n".into()
        })
    );
    assert!(matches!(k.pods, Section::Data(_)));
}

#[test]
fn nothing_listening_is_unreachable() {
    let node = Node::mutual();
    let api = node.rt.block_on(closed_port());
    let healthz = node.rt.block_on(closed_port());
    let options = KubeletOptions {
        api_url: format!("https://{api}").parse().expect("url"),
        healthz_url: format!("http://{healthz}/healthz").parse().expect("url"),
        ..node.options()
    };
    let k = observe(&mut node.probe(options));
    assert_eq!(
        unavailable(&k.healthz).reason,
        UnavailableReason::Unreachable
    );
    for u in [
        unavailable(&k.metrics),
        unavailable(&k.pods),
        unavailable(&k.configz),
        unavailable(&k.scheduling),
    ] {
        assert_eq!(u.reason, UnavailableReason::Unreachable, "{}", u.detail);
    }
    assert!(
        unavailable(&k.pods)
            .detail
            .starts_with(&format!("https://{api}/pods is unreachable: "))
    );
}

#[test]
fn a_kubelet_certificate_from_another_ca_fails_the_handshake() {
    let node = Node::mutual().healthy();
    let options = KubeletOptions {
        ca_file: Some(node.pki.other_ca_file.clone()),
        ..node.options()
    };
    let k = observe(&mut node.probe(options));
    let u = unavailable(&k.pods);
    assert_eq!(u.reason, UnavailableReason::Failed);
    assert!(
        u.detail
            .starts_with(&format!("request to {} failed: ", node.url("pods"))),
        "{}",
        u.detail
    );
    assert!(
        u.detail.contains("UnknownIssuer"),
        "the detail names the TLS problem: {}",
        u.detail
    );
    assert_eq!(k.healthz, Section::Data(Healthz::Ok));
}

#[test]
fn bodies_above_the_limit_are_refused() {
    let node = Node::mutual().healthy();
    let options = KubeletOptions {
        max_body_bytes: 32 * 1024,
        ..node.options()
    };
    let k = observe(&mut node.probe(options));
    // The 242 KB metrics page and the 55 KB pod list exceed 32 KiB; the 29 KB summary and the
    // configz fit.
    for (path, u) in [
        ("metrics", unavailable(&k.metrics)),
        ("pods", unavailable(&k.pods)),
    ] {
        assert_eq!(u.reason, UnavailableReason::Unparseable);
        assert_eq!(
            u.detail,
            format!("{}: body larger than 32768 bytes", node.url(path))
        );
    }
    assert!(matches!(k.configz, Section::Data(_)));
}

#[test]
fn arbitrary_bodies_never_panic_the_probe() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let node = Node::mutual().healthy();
    let probe = std::cell::RefCell::new(node.probe(node.options()));
    let bytes = || proptest::collection::vec(any::<u8>(), 0..2048);
    let strategy = (
        bytes(),
        bytes(),
        bytes(),
        "(kubelet_[a-z_]{0,30}|[ {}=\",.+0-9a-z\\n]){0,60}",
    );
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    runner
        .run(&strategy, |(pods, summary, configz, metrics)| {
            node.server.set("/pods", Reply::Body(pods));
            node.server.set("/stats/summary", Reply::Body(summary));
            node.server.set("/configz", Reply::Body(configz));
            node.server
                .set("/metrics", Reply::Body(metrics.into_bytes()));
            let k = observe(&mut probe.borrow_mut());
            for section in [
                k.metrics
                    .data()
                    .is_none()
                    .then(|| unavailable(&k.metrics).reason),
                k.pods.data().is_none().then(|| unavailable(&k.pods).reason),
                k.configz
                    .data()
                    .is_none()
                    .then(|| unavailable(&k.configz).reason),
            ]
            .into_iter()
            .flatten()
            {
                prop_assert_eq!(section, UnavailableReason::Unparseable);
            }
            prop_assert_eq!(&k.healthz, &Section::Data(Healthz::Ok));
            Ok(())
        })
        .expect("no panics, only unparseable sections");
}
