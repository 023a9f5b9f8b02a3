//! Unit tests of the probe's plumbing: defaults and base URLs.

use std::path::PathBuf;

use super::*;

#[test]
fn defaults_are_the_documented_ones() {
    let o = KubeletOptions::default();
    assert_eq!(o.healthz_url.as_str(), "http://127.0.0.1:10248/healthz");
    assert_eq!(o.api_url.as_str(), "https://127.0.0.1:10250/");
    assert_eq!(o.auth, KubeletAuth::Auto);
    assert_eq!(o.ca_file, None);
    assert_eq!(o.server_name, None);
    assert_eq!(
        o.service_account_dir,
        PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount")
    );
    assert_eq!(o.timeout, Duration::from_secs(5));
    assert_eq!(o.max_body_bytes, 16 * 1024 * 1024);
}

#[test]
fn endpoints_join_below_the_base_url_with_or_without_a_slash() {
    for api in ["https://127.0.0.1:10250", "https://127.0.0.1:10250/"] {
        let (base, pin) = base_url(&Url::parse(api).expect("url"), None).expect("base");
        assert_eq!(
            base.join("stats/summary").expect("join").as_str(),
            "https://127.0.0.1:10250/stats/summary"
        );
        assert_eq!(pin, None);
    }
    let (base, _) = base_url(
        &Url::parse("https://10.0.0.1:10250/kubelet").expect("url"),
        None,
    )
    .expect("base");
    assert_eq!(
        base.join("pods").expect("join").as_str(),
        "https://10.0.0.1:10250/kubelet/pods"
    );
}

#[test]
fn a_server_name_replaces_the_host_and_pins_the_address() {
    let api = Url::parse("https://127.0.0.1:10250").expect("url");
    let (base, pin) = base_url(&api, Some("node-1")).expect("base");
    assert_eq!(base.as_str(), "https://node-1:10250/");
    assert_eq!(
        pin,
        Some((
            "node-1".to_owned(),
            "127.0.0.1:10250".parse().expect("addr")
        ))
    );
    let by_name = Url::parse("https://localhost:10250").expect("url");
    let err = base_url(&by_name, Some("node-1")).expect_err("needs an IP");
    assert!(err.contains("needs an IP address"), "{err}");
}
