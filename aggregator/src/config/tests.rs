//! Unit tests for config loading: every validation rule, defaults, and layer precedence. Layers
//! are built explicitly; the process environment is never touched.

use std::path::{Path, PathBuf};

use edgeward_runtime::ConfigFile;
use edgeward_runtime::rules::Problem as SharedProblem;

use super::*;

/// Picks one raw setting out of a layer, so a test can set each key in turn.
type Field = fn(&mut Layer) -> &mut Option<Sourced<String>>;

fn flag(value: &str) -> Sourced<String> {
    Sourced::new(value, Origin::Flag("--test".to_owned()))
}

fn env(value: &str) -> Sourced<String> {
    Sourced::new(value, Origin::Env("EDGEWARD_AGGREGATOR_TEST".to_owned()))
}

fn in_file(value: &str) -> Sourced<String> {
    let origin = Origin::File {
        path: PathBuf::from("aggregator.toml"),
        line: 1,
    };
    Sourced::new(value, origin)
}

fn resolve_one(layer: Layer) -> Result<Config, ConfigError> {
    resolve([layer], None)
}

fn invalid_key(result: Result<Config, ConfigError>) -> (&'static str, Problem) {
    match result {
        Err(ConfigError::Invalid(Invalid { key, problem, .. })) => (key, problem),
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let config = resolve_one(Layer::default()).expect("valid");
    assert_eq!(config.listen, "127.0.0.1:7443".parse().expect("address"));
    assert_eq!(
        config.data_dir,
        PathBuf::from("/var/lib/edgeward-aggregator")
    );
    assert_eq!(config.max_batch_bytes, 16 * 1024 * 1024);
    assert_eq!(config.log_format, LogFormat::Plain);
    assert_eq!(config.history_per_node, 5760);
    assert_eq!(config.tokens_file, None);
    assert_eq!(config.tls, None);
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let listen = |flags: Option<&str>, envs: Option<&str>, file: Option<&str>| {
        let layers = [
            Layer {
                listen: flags.map(flag),
                ..Layer::default()
            },
            Layer {
                listen: envs.map(env),
                ..Layer::default()
            },
            Layer {
                listen: file.map(in_file),
                ..Layer::default()
            },
        ];
        resolve(layers, None).expect("valid").listen.port()
    };
    let (f, e, l) = (Some("0.0.0.0:1"), Some("0.0.0.0:2"), Some("0.0.0.0:3"));
    assert_eq!(listen(f, e, l), 1);
    assert_eq!(listen(None, e, l), 2);
    assert_eq!(listen(None, None, l), 3);
    assert_eq!(listen(None, None, None), 7443);
}

#[test]
fn listen_must_be_an_ip_and_port() {
    let with = |value: &str| {
        resolve_one(Layer {
            listen: Some(flag(value)),
            ..Layer::default()
        })
    };
    for bad in ["localhost:7443", "127.0.0.1", "127.0.0.1:99999", ""] {
        assert!(matches!(
            invalid_key(with(bad)),
            ("listen", Problem::SocketAddr { .. })
        ));
    }
    assert_eq!(with("127.0.0.1:0").expect("port 0").listen.port(), 0);
    assert!(with("[::1]:7443").expect("ipv6").listen.is_ipv6());
}

#[test]
fn empty_data_dir_is_rejected() {
    let layer = Layer {
        data_dir: Some(flag("")),
        ..Layer::default()
    };
    assert!(matches!(
        invalid_key(resolve_one(layer)),
        ("data_dir", Problem::Shared(SharedProblem::Empty))
    ));
}

#[test]
fn max_batch_bytes_must_be_between_1_kib_and_256_mib() {
    let with = |value: &str| {
        resolve_one(Layer {
            max_batch_bytes: Some(flag(value)),
            ..Layer::default()
        })
    };
    for out in ["1023", "268435457", "0"] {
        let (key, problem) = invalid_key(with(out));
        assert_eq!(key, "max_batch_bytes");
        assert!(matches!(
            problem,
            Problem::Shared(SharedProblem::OutOfRange {
                min: 1024,
                max: 268_435_456,
                ..
            })
        ));
    }
    for bad in ["16MiB", "-1", "1.5"] {
        let (key, problem) = invalid_key(with(bad));
        assert_eq!(key, "max_batch_bytes");
        assert!(matches!(
            problem,
            Problem::Shared(SharedProblem::NotAnInteger { .. })
        ));
    }
    assert_eq!(with("1024").expect("minimum").max_batch_bytes, 1024);
    assert_eq!(
        with("268435456").expect("maximum").max_batch_bytes,
        268_435_456
    );
}

#[test]
fn history_per_node_must_be_between_1_and_10_million() {
    let with = |value: &str| {
        resolve_one(Layer {
            history_per_node: Some(flag(value)),
            ..Layer::default()
        })
    };
    for out in ["0", "10000001"] {
        assert!(matches!(
            invalid_key(with(out)),
            (
                "history_per_node",
                Problem::Shared(SharedProblem::OutOfRange {
                    min: 1,
                    max: 10_000_000,
                    ..
                })
            )
        ));
    }
    for bad in ["24h", "-1", "1e3"] {
        assert!(matches!(
            invalid_key(with(bad)),
            (
                "history_per_node",
                Problem::Shared(SharedProblem::NotAnInteger { .. })
            )
        ));
    }
    assert_eq!(with("1").expect("minimum").history_per_node, 1);
    assert_eq!(
        with("10000000").expect("maximum").history_per_node,
        10_000_000
    );
}

#[test]
fn tokens_file_must_be_an_existing_regular_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "").expect("write tokens");
    let with = |value: &Path| {
        resolve_one(Layer {
            tokens_file: Some(flag(&value.display().to_string())),
            ..Layer::default()
        })
    };
    assert_eq!(with(&tokens).expect("valid").tokens_file, Some(tokens));
    assert!(matches!(
        invalid_key(with(&dir.path().join("absent"))),
        (
            "tokens_file",
            Problem::Shared(SharedProblem::Inaccessible { .. })
        )
    ));
    assert!(matches!(
        invalid_key(with(dir.path())),
        (
            "tokens_file",
            Problem::Shared(SharedProblem::NotAFile { .. })
        )
    ));
}

#[test]
fn bad_value_of_each_new_key_names_the_key_and_its_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file_in_dir = |name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, "").expect("write file");
        Some(flag(&path.display().to_string()))
    };
    let absent = "/nonexistent/edgeward.pem";
    let cases: [(&str, Field, &str); 5] = [
        ("history_per_node", |l| &mut l.history_per_node, "0"),
        ("tokens_file", |l| &mut l.tokens_file, absent),
        ("tls.cert_file", |l| &mut l.tls_cert_file, absent),
        ("tls.key_file", |l| &mut l.tls_key_file, absent),
        ("tls.client_ca_file", |l| &mut l.tls_client_ca_file, absent),
    ];
    for (key, field, bad) in cases {
        let mut layer = Layer {
            tls_cert_file: file_in_dir("server.crt"),
            tls_key_file: file_in_dir("server.key"),
            ..Layer::default()
        };
        *field(&mut layer) = Some(env(bad));
        match resolve_one(layer) {
            Err(ConfigError::Invalid(Invalid {
                key: bad_key,
                origin,
                ..
            })) => {
                assert_eq!(bad_key, key);
                assert_eq!(
                    origin,
                    Origin::Env("EDGEWARD_AGGREGATOR_TEST".to_owned()),
                    "{key}"
                );
            }
            other => panic!("expected invalid {key}, got {other:?}"),
        }
    }
}

#[test]
fn tls_cert_without_key_is_incomplete_and_names_its_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("server.crt");
    std::fs::write(&cert, "").expect("write cert");
    let layer = Layer {
        tls_cert_file: Some(in_file(&cert.display().to_string())),
        ..Layer::default()
    };
    match resolve_one(layer) {
        Err(ConfigError::Incomplete {
            key: "tls.cert_file",
            missing: "tls.key_file",
            origin,
        }) => assert_eq!(
            origin,
            Origin::File {
                path: PathBuf::from("aggregator.toml"),
                line: 1
            }
        ),
        other => panic!("expected incomplete tls, got {other:?}"),
    }
}

#[test]
fn tls_client_ca_without_cert_is_incomplete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("clients.pem");
    std::fs::write(&ca, "").expect("write ca");
    let layer = Layer {
        tls_client_ca_file: Some(flag(&ca.display().to_string())),
        ..Layer::default()
    };
    assert!(matches!(
        resolve_one(layer),
        Err(ConfigError::Incomplete {
            key: "tls.client_ca_file",
            ..
        })
    ));
}

#[test]
fn log_format_accepts_plain_and_json_only() {
    let with = |value: &str| {
        resolve_one(Layer {
            log_format: Some(flag(value)),
            ..Layer::default()
        })
    };
    assert_eq!(with("json").expect("valid").log_format, LogFormat::Json);
    assert!(matches!(
        invalid_key(with("text")),
        (
            "log_format",
            Problem::Shared(SharedProblem::LogFormat { .. })
        )
    ));
}

#[test]
fn unparsable_rust_log_is_reported_with_an_aggregator_example() {
    let (key, problem) = invalid_key(resolve([Layer::default()], Some(env("a=b=c"))));
    assert_eq!(key, "RUST_LOG");
    let message = problem.to_string();
    assert!(
        message.contains("\"info,edgeward_aggregator=debug\""),
        "{message}"
    );
}

#[test]
fn load_layers_overrides_over_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("aggregator.toml");
    std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nmax_batch_bytes = 4096\n").expect("write");
    let inputs = Inputs {
        config_file: Some(Sourced::new(path, Origin::Flag("--config".to_owned()))),
        overrides: Layer {
            listen: Some(flag("127.0.0.1:9001")),
            ..Layer::default()
        },
        log_filter: None,
    };
    let config = load(inputs).expect("valid");
    assert_eq!(config.listen.port(), 9001);
    assert_eq!(config.max_batch_bytes, 4096);
}

#[test]
fn out_of_range_file_value_names_the_file_line() {
    let text = "listen = \"127.0.0.1:0\"\nmax_batch_bytes = 512\n";
    let layer = file::parse(&ConfigFile::new("aggregator.toml", text)).expect("valid TOML");
    match resolve_one(layer) {
        Err(ConfigError::Invalid(Invalid {
            key: "max_batch_bytes",
            origin,
            ..
        })) => assert_eq!(
            origin,
            Origin::File {
                path: PathBuf::from("aggregator.toml"),
                line: 2
            }
        ),
        other => panic!("expected invalid max_batch_bytes, got {other:?}"),
    }
}

#[test]
fn analysis_settings_default_to_no_policy_a_15s_tick_and_no_alert_push() {
    let config = resolve_one(Layer::default()).expect("valid");
    assert_eq!(config.policy_file, None);
    assert_eq!(config.evaluate_every, std::time::Duration::from_secs(15));
    assert_eq!(config.alertmanager, None);
    assert_eq!(config.external_url, None);
}

#[test]
fn an_invalid_policy_file_is_a_config_error_naming_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "[defaults]\nmax_unavailable = 1\ntarget = \"not-a-version\"\n",
    )
    .expect("write");
    let layer = Layer {
        policy_file: Some(flag(&path.display().to_string())),
        ..Layer::default()
    };
    match resolve_one(layer) {
        Err(ConfigError::Policy(e)) => {
            assert_eq!(e.line(), Some(3), "{e}");
            assert!(e.to_string().contains("policy.toml:3:"), "{e}");
        }
        other => panic!("expected a policy error, got {other:?}"),
    }
}

#[test]
fn alertmanager_settings_are_validated_and_need_urls() {
    let layer = Layer {
        alertmanager_urls: Some(flag("http://am-0:9093/, https://am-1:9093")),
        alertmanager_resend_every: Some(flag("30s")),
        alertmanager_min_severity: Some(flag("critical")),
        ..Layer::default()
    };
    let am = resolve_one(layer)
        .expect("valid")
        .alertmanager
        .expect("configured");
    let urls: Vec<_> = am
        .urls
        .iter()
        .map(|u| u.as_str().trim_end_matches('/'))
        .collect();
    assert_eq!(urls, ["http://am-0:9093", "https://am-1:9093"]);
    assert_eq!(am.resend_every, std::time::Duration::from_secs(30));
    assert_eq!(am.min_severity, crate::analysis::Severity::Critical);
    let bad_url = Layer {
        alertmanager_urls: Some(flag("am-0:9093")),
        ..Layer::default()
    };
    assert_eq!(invalid_key(resolve_one(bad_url)).0, "alertmanager.urls");
    let bad_resend = Layer {
        alertmanager_urls: Some(flag("http://am:9093")),
        alertmanager_resend_every: Some(flag("0s")),
        ..Layer::default()
    };
    assert_eq!(
        invalid_key(resolve_one(bad_resend)).0,
        "alertmanager.resend_every"
    );
    let without_urls = Layer {
        alertmanager_min_severity: Some(env("warning")),
        ..Layer::default()
    };
    assert!(matches!(
        resolve_one(without_urls),
        Err(ConfigError::Incomplete {
            missing: "alertmanager.urls",
            ..
        })
    ));
}

#[test]
fn the_file_takes_an_alertmanager_table_and_analysis_keys() {
    let file = ConfigFile::new(
        "aggregator.toml",
        "evaluate_every = \"5s\"\nexternal_url = \"https://edgeward.example\"\n[alertmanager]\nurls = [\"http://a:9093\", \"http://b:9093\"]\nmin_severity = \"info\"\n",
    );
    let layer = file::parse(&file).expect("parses");
    let config = resolve_one(layer).expect("valid");
    assert_eq!(config.evaluate_every, std::time::Duration::from_secs(5));
    assert_eq!(
        config.external_url.as_deref(),
        Some("https://edgeward.example")
    );
    let am = config.alertmanager.expect("configured");
    let urls: Vec<_> = am
        .urls
        .iter()
        .map(|u| u.as_str().trim_end_matches('/'))
        .collect();
    assert_eq!(urls, ["http://a:9093", "http://b:9093"]);
    assert_eq!(am.min_severity, crate::analysis::Severity::Info);
}
