//! Unit tests for config loading: every validation rule, defaults, and layer precedence. Layers
//! are built explicitly; the process environment is never touched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use edgeward_runtime::ConfigFile;
use edgeward_runtime::rules::Problem as SharedProblem;
use tempfile::TempDir;

use super::*;

/// A host root with a host name file, and helpers to build layers pointing into it.
struct Host {
    dir: TempDir,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let kernel = dir.path().join("proc/sys/kernel");
        std::fs::create_dir_all(&kernel).expect("mkdir");
        std::fs::write(kernel.join("hostname"), "Edge-Node-7\n").expect("write hostname");
        Self { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Creates an empty file below the host root and returns its path as text.
    fn file(&self, name: &str) -> String {
        let path = self.root().join(name);
        std::fs::write(&path, "").expect("write file");
        path.display().to_string()
    }

    /// The least a layer needs to validate: an aggregator URL and this host root.
    fn minimal(&self) -> Layer {
        Layer {
            aggregator_url: Some(flag("https://aggregator.example:7443")),
            host_root: Some(flag(&self.root().display().to_string())),
            ..Layer::default()
        }
    }
}

/// Picks one raw setting out of a layer, so a test can set each key in turn.
type Field = fn(&mut Layer) -> &mut Option<Sourced<String>>;

/// `value` as if given by a flag; also used by the `tls` tests.
pub(super) fn flag(value: &str) -> Sourced<String> {
    Sourced::new(value, Origin::Flag("--test".to_owned()))
}

fn env(value: &str) -> Sourced<String> {
    Sourced::new(value, Origin::Env("EDGEWARD_AGENT_TEST".to_owned()))
}

fn in_file(value: &str) -> Sourced<String> {
    let origin = Origin::File {
        path: PathBuf::from("agent.toml"),
        line: 1,
    };
    Sourced::new(value, origin)
}

fn resolve_one(layer: Layer) -> Result<Config, ConfigError> {
    resolve([layer], None)
}

/// The key and problem of an [`ConfigError::Invalid`]; also used by the `tls` tests.
pub(super) fn invalid_key<T: std::fmt::Debug>(
    result: Result<T, ConfigError>,
) -> (&'static str, Problem) {
    match result {
        Err(ConfigError::Invalid(Invalid { key, problem, .. })) => (key, problem),
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

#[test]
fn defaults_apply_when_only_required_values_are_given() {
    let host = Host::new();
    let config = resolve_one(host.minimal()).expect("valid");
    assert_eq!(config.interval, Duration::from_secs(15));
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/edgeward-agent"));
    assert_eq!(config.log_format, LogFormat::Plain);
    assert_eq!(config.cluster_name, None);
    assert_eq!(config.tls, Tls::default());
    assert_eq!(config.outbox_max_bytes, 64 * 1024 * 1024);
    assert_eq!(config.max_batch_bytes, 1024 * 1024);
    assert_eq!(config.backoff_max, Duration::from_secs(60));
    assert_eq!(config.request_timeout, Duration::from_secs(30));
    assert_eq!(config.node_fs, PathBuf::from("/var/lib/kubelet"));
    assert_eq!(
        config.image_fs,
        PathBuf::from("/var/lib/rancher/k3s/agent/containerd")
    );
    assert_eq!(
        config.aggregator_url.as_str(),
        "https://aggregator.example:7443/"
    );
}

#[test]
fn host_root_defaults_to_filesystem_root() {
    let layer = Layer {
        aggregator_url: Some(flag("https://aggregator.example")),
        node_name: Some(flag("edge-1")),
        ..Layer::default()
    };
    assert_eq!(
        resolve_one(layer).expect("valid").host_root,
        PathBuf::from("/")
    );
}

#[test]
fn node_name_defaults_to_trimmed_lowercased_hostname_under_host_root() {
    let host = Host::new();
    let config = resolve_one(host.minimal()).expect("valid");
    assert_eq!(config.node_name.as_str(), "edge-node-7");
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let host = Host::new();
    let layers = |flags: Option<&str>, envs: Option<&str>, file: Option<&str>| {
        let flags = Layer {
            interval: flags.map(flag),
            ..host.minimal()
        };
        let env = Layer {
            interval: envs.map(env),
            ..Layer::default()
        };
        let file = Layer {
            interval: file.map(in_file),
            ..Layer::default()
        };
        resolve([flags, env, file], None).expect("valid").interval
    };
    let secs = Duration::from_secs;
    assert_eq!(layers(Some("10s"), Some("20s"), Some("30s")), secs(10));
    assert_eq!(layers(None, Some("20s"), Some("30s")), secs(20));
    assert_eq!(layers(None, None, Some("30s")), secs(30));
    assert_eq!(layers(None, None, None), secs(15));
}

#[test]
fn lower_layer_fills_only_unset_values() {
    let high = Layer {
        interval: Some(flag("10s")),
        ..Layer::default()
    };
    let low = Layer {
        interval: Some(in_file("30s")),
        data_dir: Some(in_file("/data")),
        ..Layer::default()
    };
    let merged = high.or(low);
    assert_eq!(merged.interval, Some(flag("10s")));
    assert_eq!(merged.data_dir, Some(in_file("/data")));
}

#[test]
fn missing_aggregator_url_is_reported_with_flag_and_env() {
    let host = Host::new();
    let layer = Layer {
        aggregator_url: None,
        ..host.minimal()
    };
    assert!(matches!(
        resolve_one(layer),
        Err(ConfigError::Missing {
            key: "aggregator_url",
            flag: "--aggregator-url",
            env: "EDGEWARD_AGENT_AGGREGATOR_URL"
        })
    ));
}

#[test]
fn unparsable_aggregator_url_is_rejected() {
    let host = Host::new();
    let layer = Layer {
        aggregator_url: Some(flag("not a url")),
        ..host.minimal()
    };
    let (key, problem) = invalid_key(resolve_one(layer));
    assert_eq!(key, "aggregator_url");
    assert!(matches!(problem, Problem::Url { .. }));
}

#[test]
fn plain_http_aggregator_url_is_rejected() {
    let host = Host::new();
    let layer = Layer {
        aggregator_url: Some(flag("http://aggregator.example:7443")),
        ..host.minimal()
    };
    let (key, problem) = invalid_key(resolve_one(layer));
    assert_eq!(key, "aggregator_url");
    assert!(matches!(problem, Problem::NotHttps { .. }));
}

#[test]
fn interval_must_be_a_duration_of_at_least_100_milliseconds() {
    let host = Host::new();
    let with = |value: &str| {
        resolve_one(Layer {
            interval: Some(flag(value)),
            ..host.minimal()
        })
    };
    assert!(matches!(
        invalid_key(with("soon")),
        ("interval", Problem::Duration { .. })
    ));
    for short in ["0", "0s", "99ms"] {
        assert!(matches!(
            invalid_key(with(short)),
            ("interval", Problem::TooShort { .. })
        ));
    }
    assert_eq!(
        with("100ms").expect("minimum").interval,
        Duration::from_millis(100)
    );
    assert_eq!(with("1s").expect("valid").interval, Duration::from_secs(1));
    assert_eq!(
        with("1m 30s").expect("valid").interval,
        Duration::from_secs(90)
    );
}

#[test]
fn host_root_must_exist_and_be_a_directory() {
    let host = Host::new();
    let with = |value: String| {
        resolve_one(Layer {
            host_root: Some(flag(&value)),
            ..host.minimal()
        })
    };
    let missing = host.root().join("absent").display().to_string();
    assert!(matches!(
        invalid_key(with(missing)),
        (
            "host_root",
            Problem::Shared(SharedProblem::Inaccessible { .. })
        )
    ));
    let file = host.file("plain-file");
    assert!(matches!(
        invalid_key(with(file)),
        (
            "host_root",
            Problem::Shared(SharedProblem::NotADirectory { .. })
        )
    ));
}

#[test]
fn empty_data_dir_is_rejected_and_a_missing_one_is_accepted() {
    let host = Host::new();
    let with = |value: &str| {
        resolve_one(Layer {
            data_dir: Some(flag(value)),
            ..host.minimal()
        })
    };
    assert!(matches!(
        invalid_key(with("")),
        ("data_dir", Problem::Shared(SharedProblem::Empty))
    ));
    let not_yet = with("/nonexistent/edgeward").expect("data_dir is created at start-up");
    assert_eq!(not_yet.data_dir, PathBuf::from("/nonexistent/edgeward"));
}

/// The key of each byte-size setting, its layer field, and its accepted range.
fn byte_size_settings() -> [(&'static str, Field, u64, u64); 2] {
    [
        (
            "outbox_max_bytes",
            |l| &mut l.outbox_max_bytes,
            16 * 1024,
            16 << 30,
        ),
        (
            "max_batch_bytes",
            |l| &mut l.max_batch_bytes,
            4 * 1024,
            16 << 20,
        ),
    ]
}

#[test]
fn byte_sizes_must_be_whole_numbers_within_their_range() {
    let host = Host::new();
    for (key, field, min, max) in byte_size_settings() {
        let with = |value: &str| {
            let mut layer = host.minimal();
            *field(&mut layer) = Some(flag(value));
            resolve_one(layer)
        };
        for out in [min - 1, max + 1, 0] {
            let (bad_key, problem) = invalid_key(with(&out.to_string()));
            assert_eq!(bad_key, key);
            assert!(
                matches!(
                    problem,
                    Problem::Shared(SharedProblem::OutOfRange { min: lo, max: hi, .. })
                        if lo == min && hi == max
                ),
                "{key} = {out}: {problem:?}"
            );
        }
        for bad in ["64MiB", "-1", "1.5"] {
            assert!(
                matches!(
                    invalid_key(with(bad)),
                    (k, Problem::Shared(SharedProblem::NotAnInteger { .. })) if k == key
                ),
                "{key} = {bad}"
            );
        }
        for ok in [min, max] {
            let config = with(&ok.to_string()).expect("within range");
            let got = match key {
                "outbox_max_bytes" => config.outbox_max_bytes,
                _ => config.max_batch_bytes,
            };
            assert_eq!(got, ok, "{key}");
        }
    }
}

#[test]
fn backoff_max_must_be_between_100_milliseconds_and_one_hour() {
    let host = Host::new();
    let with = |value: &str| {
        resolve_one(Layer {
            backoff_max: Some(flag(value)),
            ..host.minimal()
        })
    };
    assert!(matches!(
        invalid_key(with("forever")),
        ("backoff_max", Problem::Duration { .. })
    ));
    assert!(matches!(
        invalid_key(with("99ms")),
        ("backoff_max", Problem::TooShort { .. })
    ));
    assert!(matches!(
        invalid_key(with("1h 1s")),
        ("backoff_max", Problem::TooLong { .. })
    ));
    assert_eq!(
        with("100ms").expect("minimum").backoff_max,
        Duration::from_millis(100)
    );
    assert_eq!(
        with("1h").expect("maximum").backoff_max,
        Duration::from_secs(3600)
    );
}

#[test]
fn request_timeout_must_be_between_one_second_and_ten_minutes() {
    let host = Host::new();
    let with = |value: &str| {
        resolve_one(Layer {
            request_timeout: Some(flag(value)),
            ..host.minimal()
        })
    };
    assert!(matches!(
        invalid_key(with("30")),
        ("request_timeout", Problem::Duration { .. })
    ));
    assert!(matches!(
        invalid_key(with("999ms")),
        ("request_timeout", Problem::TooShort { .. })
    ));
    assert!(matches!(
        invalid_key(with("10m 1s")),
        ("request_timeout", Problem::TooLong { .. })
    ));
    assert_eq!(
        with("10m").expect("maximum").request_timeout,
        Duration::from_secs(600)
    );
}

#[test]
fn node_fs_and_image_fs_must_be_absolute_but_need_not_exist() {
    let host = Host::new();
    let node_fs = |value: &str| {
        resolve_one(Layer {
            node_fs: Some(flag(value)),
            ..host.minimal()
        })
    };
    let image_fs = |value: &str| {
        resolve_one(Layer {
            image_fs: Some(flag(value)),
            ..host.minimal()
        })
    };
    assert!(matches!(
        invalid_key(node_fs("var/lib/kubelet")),
        ("node_fs", Problem::NotAbsolute { .. })
    ));
    assert!(matches!(
        invalid_key(image_fs("containerd")),
        ("image_fs", Problem::NotAbsolute { .. })
    ));
    assert!(matches!(
        invalid_key(node_fs("")),
        ("node_fs", Problem::Shared(SharedProblem::Empty))
    ));
    assert_eq!(
        node_fs("/nonexistent/kubelet").expect("valid").node_fs,
        PathBuf::from("/nonexistent/kubelet")
    );
    assert_eq!(
        image_fs("/nonexistent/containerd").expect("valid").image_fs,
        PathBuf::from("/nonexistent/containerd")
    );
}

#[test]
fn bad_value_of_each_new_key_names_the_key_and_its_origin() {
    let host = Host::new();
    let cases: [(&str, Field, &str); 6] = [
        ("outbox_max_bytes", |l| &mut l.outbox_max_bytes, "1"),
        ("max_batch_bytes", |l| &mut l.max_batch_bytes, "1"),
        ("backoff_max", |l| &mut l.backoff_max, "2h"),
        ("request_timeout", |l| &mut l.request_timeout, "0s"),
        ("node_fs", |l| &mut l.node_fs, "kubelet"),
        ("image_fs", |l| &mut l.image_fs, "containerd"),
    ];
    for (key, field, bad) in cases {
        let mut layer = host.minimal();
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
                    Origin::Env("EDGEWARD_AGENT_TEST".to_owned()),
                    "{key}"
                );
            }
            other => panic!("expected invalid {key}, got {other:?}"),
        }
    }
}

#[test]
fn cluster_name_override_must_not_be_blank() {
    let host = Host::new();
    let with = |value: &str| {
        resolve_one(Layer {
            cluster_name: Some(flag(value)),
            ..host.minimal()
        })
    };
    assert!(matches!(
        invalid_key(with(" ")),
        ("cluster_name", Problem::Shared(SharedProblem::Empty))
    ));
    assert_eq!(
        with("prod-eu").expect("valid").cluster_name.as_deref(),
        Some("prod-eu")
    );
}

#[test]
fn log_format_accepts_plain_and_json_only() {
    let host = Host::new();
    let with = |value: &str| {
        resolve_one(Layer {
            log_format: Some(flag(value)),
            ..host.minimal()
        })
    };
    assert_eq!(with("json").expect("valid").log_format, LogFormat::Json);
    assert!(matches!(
        invalid_key(with("xml")),
        (
            "log_format",
            Problem::Shared(SharedProblem::LogFormat { .. })
        )
    ));
}

#[test]
fn unparsable_rust_log_is_reported_with_an_agent_example() {
    let host = Host::new();
    let result = resolve([host.minimal()], Some(env("edgeward=loud")));
    let (key, problem) = invalid_key(result);
    assert_eq!(key, "RUST_LOG");
    let message = problem.to_string();
    assert!(
        message.contains("\"info,edgeward_agent=debug\""),
        "{message}"
    );
}

#[test]
fn load_layers_overrides_over_the_file() {
    let host = Host::new();
    let path = host.root().join("agent.toml");
    let text = format!(
        "aggregator_url = \"https://from-file.example\"\ninterval = \"30s\"\nhost_root = \"{}\"\n",
        host.root().display()
    );
    std::fs::write(&path, text).expect("write config");
    let inputs = Inputs {
        config_file: Some(Sourced::new(path, Origin::Flag("--config".to_owned()))),
        overrides: Layer {
            interval: Some(flag("10s")),
            ..Layer::default()
        },
        log_filter: None,
    };
    let config = load(inputs).expect("valid");
    assert_eq!(config.interval, Duration::from_secs(10));
    assert_eq!(config.aggregator_url.as_str(), "https://from-file.example/");
}

#[test]
fn invalid_file_value_names_the_file_line() {
    let text = "aggregator_url = \"https://a.example\"\n\ninterval = \"0s\"\n";
    let layer = file::parse(&ConfigFile::new("agent.toml", text)).expect("valid TOML");
    let host = Host::new();
    let layers = [
        Layer {
            host_root: host.minimal().host_root,
            ..Layer::default()
        },
        layer,
    ];
    match resolve(layers, None) {
        Err(ConfigError::Invalid(Invalid {
            key: "interval",
            origin,
            ..
        })) => assert_eq!(
            origin,
            Origin::File {
                path: PathBuf::from("agent.toml"),
                line: 3
            }
        ),
        other => panic!("expected invalid interval, got {other:?}"),
    }
}
