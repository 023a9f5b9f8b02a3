//! Unit tests for config loading: every validation rule, defaults, and layer precedence. Layers
//! are built explicitly; the process environment is never touched.

use std::path::PathBuf;

use edgeward_runtime::ConfigFile;
use edgeward_runtime::rules::Problem as SharedProblem;

use super::*;

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
            Problem::OutOfRange {
                min: 1024,
                max: 268_435_456,
                ..
            }
        ));
    }
    for bad in ["16MiB", "-1", "1.5"] {
        let (key, problem) = invalid_key(with(bad));
        assert_eq!(key, "max_batch_bytes");
        assert!(matches!(problem, Problem::NotAnInteger { .. }));
    }
    assert_eq!(with("1024").expect("minimum").max_batch_bytes, 1024);
    assert_eq!(
        with("268435456").expect("maximum").max_batch_bytes,
        268_435_456
    );
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
