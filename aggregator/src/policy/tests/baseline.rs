//! The drift baseline: expected values hash as the agent hashes them, and globs.

use proptest::prelude::*;

use super::*;
use crate::policy::baseline::sha256;
use crate::policy::{Expected, Glob};

/// The expectation for `key` in `[baseline.keys]` written as `entry`.
fn expected(key: &str, entry: &str) -> Expected {
    let p = policy(&format!("[baseline.keys]\n\"{key}\" = {entry}\n"));
    p.baseline().keys.get(key).expect("key parsed").clone()
}

#[test]
fn sysctl_value_matches_the_digest_of_its_words_joined_by_one_space() {
    let e = expected(
        "sysctl:net.ipv4.ip_local_port_range",
        r#"{ value = " 32768	60999 " }"#,
    );
    let digest = sha256(b"32768 60999");
    assert!(e.matches(&digest, None), "digest only");
    assert!(e.matches(&digest, Some("32768 60999")), "digest and value");
    assert!(!e.matches(&sha256(b"1024 65535"), Some("1024 65535")));
}

#[test]
fn k3s_config_value_matches_the_digest_of_its_flag_list() {
    let cidr = expected(
        "k3s/config.yaml:cluster-cidr",
        r#"{ value = "10.42.0.0/16" }"#,
    );
    assert!(cidr.matches(&sha256(br#"["10.42.0.0/16"]"#), None));
    assert!(
        !cidr.matches(&sha256(b"10.42.0.0/16"), None),
        "not the bare text"
    );

    let args = expected(
        "k3s/config.yaml:kubelet-arg",
        r#"{ value = ["max-pods=150", "image-gc-high-threshold=80"] }"#,
    );
    assert!(args.matches(
        &sha256(br#"["max-pods=150","image-gc-high-threshold=80"]"#),
        None
    ));

    let flag = expected("k3s/config.yaml:secrets-encryption", "{ value = true }");
    assert!(flag.matches(&sha256(br#"["true"]"#), None));
}

#[test]
fn microk8s_flag_value_matches_the_digest_of_its_value_list() {
    let e = expected("microk8s/args/kubelet:--max-pods", "{ value = 150 }");
    assert!(e.matches(&sha256(br#"["150"]"#), None));
}

#[test]
fn other_keys_hash_the_value_as_written() {
    let e = expected("k3s/data/current", r#"{ value = "abc123 " }"#);
    assert!(e.matches(&sha256(b"abc123 "), None));
    assert!(!e.matches(&sha256(b"abc123"), None));
}

#[test]
fn sha256_expectation_matches_that_digest_only() {
    let digest = sha256(b"registries");
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let e = expected("k3s/registries.yaml", &format!("{{ sha256 = \"{hex}\" }}"));
    assert_eq!(e, Expected::Sha256(digest));
    assert!(e.matches(&digest, None));
    assert!(!e.matches(&sha256(b"other"), Some("registries")));
}

#[test]
fn kernel_and_os_lists_allow_what_they_match_and_empty_lists_allow_all() {
    let p = policy(
        "[baseline]\nkernels = [\"6.1.*\", \"6.6.*-rpi-*\"]\n\
         os = [\"Debian GNU/Linux 12 (bookworm)\"]\n",
    );
    let b = p.baseline();
    assert!(b.kernel_allowed("6.1.0-18-arm64"));
    assert!(b.kernel_allowed("6.6.31+rpt-rpi-v8"));
    assert!(!b.kernel_allowed("6.10.1"));
    assert!(!b.kernel_allowed("5.15.0"));
    assert!(b.os_allowed("Debian GNU/Linux 12 (bookworm)"));
    assert!(!b.os_allowed("Debian GNU/Linux 11 (bullseye)"));
    assert!(Policy::default().baseline().kernel_allowed("anything"));
}

#[test]
fn glob_star_matches_any_run_including_empty() {
    let glob = |p: &str| Glob::new(p).expect("valid glob");
    assert!(glob("*").matches(""));
    assert!(glob("a*b*c").matches("aXbYc"));
    assert!(glob("a*b*c").matches("abc"));
    assert!(!glob("a*b*c").matches("aXbY"));
    assert!(glob("*-arm64").matches("6.1.0-18-arm64"));
    assert!(!glob("6.1").matches("6.1.0"));
    assert!(glob("a**a").matches("aa"));
    assert!(!glob("a**a").matches("a"));
    assert!(!glob("a*a").matches("a"));
}

proptest! {
    #[test]
    fn glob_without_star_matches_only_its_own_text(p in "[a-z0-9.+-]{1,12}", t in "[a-z0-9.+-]{0,12}") {
        let glob = Glob::new(&p).expect("valid glob");
        prop_assert_eq!(glob.matches(&t), p == t);
        prop_assert!(glob.matches(&p));
    }

    #[test]
    fn star_glob_matches_any_text_with_its_prefix_and_suffix(
        pre in "[a-z.]{0,5}", mid in "[a-z.*]{0,8}", post in "[a-z.]{0,5}",
    ) {
        let glob = Glob::new(&format!("{pre}*{post}")).expect("valid glob");
        let text = format!("{pre}{mid}{post}");
        prop_assert!(glob.matches(&text));
    }
}
