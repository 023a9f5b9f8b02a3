//! Unit tests of threshold resolution over temporary host trees.

use std::fs;

use edgeward_proto::Bounded;
use edgeward_proto::kubelet::Resources;
use edgeward_proto::pressure::{Quantity, Signal};

use super::*;

struct Host(tempfile::TempDir);

impl Host {
    fn new() -> Self {
        Host(tempfile::tempdir().expect("tempdir"))
    }

    fn file(&self, host_path: &str, text: &str) -> &Self {
        let path = self.root().join(host_path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
        self
    }

    fn root(&self) -> HostRoot {
        HostRoot::new(self.0.path())
    }

    fn resolve(&self) -> (ResolvedThresholds, Vec<FileError>) {
        let mut problems = Vec::new();
        let r = resolve(&self.root(), None, &mut problems);
        (r, problems)
    }
}

fn t(signal: Signal, value: Quantity) -> Threshold {
    Threshold { signal, value }
}

fn file(path: &str) -> ThresholdSource {
    ThresholdSource::File(path.to_owned())
}

#[test]
fn configz_wins_over_everything_on_disk() {
    let host = Host::new();
    host.file(
        K3S_CONFIG,
        "kubelet-arg: [\"eviction-hard=memory.available<1Gi\"]\n",
    );
    let config = KubeletConfig {
        eviction_hard: Bounded::try_from(vec![t(Signal::NodefsAvailable, Quantity::Percent(7.0))])
            .expect("bounded"),
        kube_reserved: Resources::default(),
        system_reserved: Resources::default(),
        max_pods: None,
    };
    let r = resolve(&host.root(), Some(&config), &mut Vec::new());
    assert_eq!(r.source, ThresholdSource::Configz);
    assert_eq!(
        r.thresholds,
        vec![t(Signal::NodefsAvailable, Quantity::Percent(7.0))]
    );
}

#[test]
fn k3s_kubelet_arg_gives_exactly_the_thresholds_it_names() {
    let host = Host::new();
    host.file(
        K3S_CONFIG,
        "write-kubeconfig-mode: \"0644\"\nkubelet-arg:\n  - \"max-pods=50\"\n  - \"eviction-hard=memory.available<200Mi\"\n",
    );
    let (r, problems) = host.resolve();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(r.source, file(K3S_CONFIG));
    assert_eq!(
        r.thresholds,
        vec![t(Signal::MemoryAvailable, Quantity::Absolute(200 << 20))]
    );
}

#[test]
fn later_k3s_files_replace_or_append_kubelet_args_in_lexical_order() {
    let host = Host::new();
    host.file(
        K3S_CONFIG,
        "kubelet-arg: [\"eviction-hard=memory.available<1Gi\"]\n",
    )
    .file(
        &format!("{K3S_CONFIG_DIR}/20-b.yaml"),
        "kubelet-arg+: \"--eviction-hard=nodefs.available<5%\"\n",
    )
    .file(
        &format!("{K3S_CONFIG_DIR}/10-a.yml"),
        "kubelet-arg+:\n  - max-pods=50\n",
    )
    .file(
        &format!("{K3S_CONFIG_DIR}/ignored.txt"),
        "kubelet-arg: [\"v=9\"]\n",
    );
    let args: Vec<(String, String)> = k3s_kubelet_args(&host.root())
        .expect("args")
        .into_iter()
        .map(|a| (a.file.display().to_string(), a.arg))
        .collect();
    let d = K3S_CONFIG_DIR;
    assert_eq!(
        args,
        vec![
            (
                K3S_CONFIG.to_owned(),
                "eviction-hard=memory.available<1Gi".to_owned()
            ),
            (format!("{d}/10-a.yml"), "max-pods=50".to_owned()),
            (
                format!("{d}/20-b.yaml"),
                "--eviction-hard=nodefs.available<5%".to_owned()
            ),
        ]
    );
    let (r, _) = host.resolve();
    assert_eq!(r.source, file(&format!("{d}/20-b.yaml")));
    assert_eq!(
        r.thresholds,
        vec![t(Signal::NodefsAvailable, Quantity::Percent(5.0))]
    );
    // A later plain `kubelet-arg` replaces the whole list: no eviction-hard is left.
    host.file(&format!("{d}/30-c.yaml"), "kubelet-arg: [\"v=2\"]\n");
    let (r, _) = host.resolve();
    assert_eq!(r.source, ThresholdSource::Default(DefaultsOf::Upstream));
}

#[test]
fn k3s_drop_ins_merge_per_key_and_null_removes_a_key() {
    let host = Host::new();
    let dir = K3S_KUBELET_DROPINS;
    host.file(
        &format!("{dir}/00-k3s-defaults.conf"),
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nevictionHard:\n  imagefs.available: 5%\n  nodefs.available: 5%\n",
    )
    .file(
        &format!("{dir}/50-user.conf"),
        "evictionHard:\n  memory.available: 500Mi\n  imagefs.available: null\n",
    )
    .file(&format!("{dir}/60-unrelated.conf"), "maxPods: 50\n");
    let (r, problems) = host.resolve();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(r.source, file(&format!("{dir}/50-user.conf")));
    assert_eq!(
        r.thresholds,
        vec![
            t(Signal::NodefsAvailable, Quantity::Percent(5.0)),
            t(Signal::MemoryAvailable, Quantity::Absolute(500 << 20)),
        ]
    );
    // A kubelet-arg flag replaces the drop-ins' map entirely.
    host.file(
        K3S_CONFIG,
        "kubelet-arg: [\"eviction-hard=pid.available<10%\"]\n",
    );
    let (r, _) = host.resolve();
    assert_eq!(r.source, file(K3S_CONFIG));
    assert_eq!(
        r.thresholds,
        vec![t(Signal::PidAvailable, Quantity::Percent(10.0))]
    );
}

#[test]
fn microk8s_args_are_read_in_every_quoting() {
    for line in [
        "--eviction-hard=\"memory.available<300Mi,nodefs.available<2Gi\"",
        "--eviction-hard='memory.available<300Mi,nodefs.available<2Gi'",
        "--eviction-hard memory.available<300Mi,nodefs.available<2Gi",
        "  --eviction-hard   \"memory.available<300Mi,nodefs.available<2Gi\"  ",
    ] {
        let host = Host::new();
        host.file(
            MICROK8S_KUBELET_ARGS,
            &format!("--eviction-hard=\"memory.available<1Mi\"\n--eviction-hardly=x\n{line}\n--read-only-port=0\n"),
        );
        let (r, problems) = host.resolve();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(r.source, file(MICROK8S_KUBELET_ARGS), "{line}");
        assert_eq!(
            r.thresholds,
            vec![
                t(Signal::MemoryAvailable, Quantity::Absolute(300 << 20)),
                t(Signal::NodefsAvailable, Quantity::Absolute(2 << 30)),
            ],
            "{line}"
        );
    }
}

#[test]
fn without_sources_the_detected_distribution_defaults_apply() {
    let host = Host::new();
    let (r, _) = host.resolve();
    assert_eq!(r.source, ThresholdSource::Default(DefaultsOf::Upstream));
    assert_eq!(r.thresholds, eviction::defaults(DefaultsOf::Upstream));
    assert_eq!(Distro::detect(&host.root()), Distro::Other);
    host.file(
        "/var/snap/microk8s/current/args/kubelet",
        "--read-only-port=0\n",
    );
    let (r, _) = host.resolve();
    assert_eq!(r.source, ThresholdSource::Default(DefaultsOf::MicroK8s));
    assert_eq!(r.thresholds, eviction::defaults(DefaultsOf::MicroK8s));
    assert_eq!(Distro::detect(&host.root()), Distro::MicroK8s);
}

#[test]
fn a_broken_source_is_reported_and_skipped() {
    let host = Host::new();
    host.file(K3S_CONFIG, "kubelet-arg: [unclosed\n").file(
        &format!("{K3S_KUBELET_DROPINS}/10.conf"),
        "evictionHard:\n  memory.available: 64Mi\n",
    );
    let (r, problems) = host.resolve();
    assert_eq!(r.source, file(&format!("{K3S_KUBELET_DROPINS}/10.conf")));
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(problems[0], FileError::Yaml { .. }),
        "{:?}",
        problems[0]
    );
    assert!(
        problems[0].to_string().contains("config.yaml"),
        "{}",
        problems[0]
    );

    let host = Host::new();
    host.file(
        K3S_CONFIG,
        "kubelet-arg: [\"eviction-hard=memory.available<lots\"]\n",
    );
    let (r, problems) = host.resolve();
    assert!(
        matches!(problems[..], [FileError::Threshold { .. }]),
        "{problems:?}"
    );
    assert_eq!(
        r.source,
        ThresholdSource::Default(DefaultsOf::Upstream),
        "K3s detected, no file"
    );

    let host = Host::new();
    host.file(K3S_CONFIG, "kubelet-arg: [{nested: map}]\n");
    let (_, problems) = host.resolve();
    assert!(
        matches!(problems[..], [FileError::Shape { .. }]),
        "{problems:?}"
    );
}
