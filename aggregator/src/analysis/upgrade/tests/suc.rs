//! system-upgrade-controller export: the exact text for one cluster, its structure as YAML,
//! quoting, and the clusters that get no manifests.

use proptest::prelude::*;
use yaml_rust2::{Yaml, YamlLoader};

use super::*;
use crate::analysis::upgrade::suc::{manifests, quote};

const GOLDEN: &str = r#"# system-upgrade-controller Plans for cluster "shop-7" (group "shops") to "v1.31.4+k3s1", exported by edgeward.
# Apply them in that cluster; servers upgrade before agents.
---
apiVersion: upgrade.cattle.io/v1
kind: Plan
metadata:
  name: server-plan
  namespace: system-upgrade
spec:
  concurrency: 1
  cordon: true
  nodeSelector:
    matchExpressions:
      - key: node-role.kubernetes.io/control-plane
        operator: In
        values:
          - "true"
  serviceAccountName: system-upgrade
  upgrade:
    image: rancher/k3s-upgrade
  version: "v1.31.4+k3s1"
  window:
    days:
      - "monday"
      - "tuesday"
    startTime: "22:00"
    endTime: "23:59"
    timeZone: "Europe/Berlin"
---
apiVersion: upgrade.cattle.io/v1
kind: Plan
metadata:
  name: agent-plan
  namespace: system-upgrade
spec:
  concurrency: 2
  cordon: true
  drain:
    force: true
    skipWaitForDeleteTimeout: 60
  nodeSelector:
    matchExpressions:
      - key: node-role.kubernetes.io/control-plane
        operator: DoesNotExist
  prepare:
    image: rancher/k3s-upgrade
    args:
      - "prepare"
      - "server-plan"
  serviceAccountName: system-upgrade
  upgrade:
    image: rancher/k3s-upgrade
  version: "v1.31.4+k3s1"
  window:
    days:
      - "monday"
      - "tuesday"
    startTime: "22:00"
    endTime: "23:59"
    timeZone: "Europe/Berlin"
"#;

fn shops(server_v: &'static str) -> (UpgradePlan, Policy) {
    let p = policy(&format!(
        "[channels]\nlatest = \"v1.32.1+k3s1\"\n\
         [[windows]]\nname = \"nights\"\ndays = [\"mon\", \"tue\"]\nstart = \"22:00\"\nend = \"24:00\"\ntime_zone = \"Europe/Berlin\"\n\
         [[windows]]\nname = \"weekend\"\ndays = [\"sat\"]\nstart = \"02:00\"\nend = \"05:00\"\ntime_zone = \"UTC\"\n\
         [[groups]]\nname = \"shops\"\nclusters = [\"shop-7\"]\ntarget = \"{TARGET}\"\nmax_unavailable = 2\nwindows = [\"nights\", \"weekend\"]\n"
    ));
    let nodes = [
        server("shop-7", "s1", server_v).with(sqlite()),
        agent("shop-7", "a1", server_v),
    ];
    (eval(&fleet(&nodes), &p, &[]).0, p)
}

#[test]
fn server_and_agent_plans_render_exactly() {
    let (plan, _) = shops("v1.31.1+k3s1");
    let suc = &cluster(&plan, "shop-7").suc;
    assert_eq!(suc.manifests.as_deref(), Some(GOLDEN));
    let notes = suc.notes.join("\n");
    assert!(
        notes.contains("supports one window per Plan: exported \"nights\" only"),
        "{notes}"
    );
    assert!(
        notes.contains("ends at 24:00: exported as 23:59"),
        "{notes}"
    );
}

fn field<'a>(doc: &'a Yaml, path: &[&str]) -> &'a Yaml {
    path.iter().fold(doc, |y, k| &y[*k])
}

#[test]
fn the_manifests_are_two_plan_documents_with_the_fields_suc_reads() {
    let docs = YamlLoader::load_from_str(GOLDEN).unwrap();
    assert_eq!(docs.len(), 2);
    for (doc, name, concurrency, operator) in [
        (&docs[0], "server-plan", 1, "In"),
        (&docs[1], "agent-plan", 2, "DoesNotExist"),
    ] {
        assert_eq!(
            field(doc, &["apiVersion"]).as_str(),
            Some("upgrade.cattle.io/v1")
        );
        assert_eq!(field(doc, &["kind"]).as_str(), Some("Plan"));
        assert_eq!(field(doc, &["metadata", "name"]).as_str(), Some(name));
        assert_eq!(
            field(doc, &["metadata", "namespace"]).as_str(),
            Some("system-upgrade")
        );
        assert_eq!(
            field(doc, &["spec", "concurrency"]).as_i64(),
            Some(concurrency)
        );
        assert_eq!(field(doc, &["spec", "cordon"]).as_bool(), Some(true));
        assert_eq!(
            field(doc, &["spec", "serviceAccountName"]).as_str(),
            Some("system-upgrade")
        );
        assert_eq!(
            field(doc, &["spec", "upgrade", "image"]).as_str(),
            Some("rancher/k3s-upgrade")
        );
        assert_eq!(field(doc, &["spec", "version"]).as_str(), Some(TARGET));
        let expr = &field(doc, &["spec", "nodeSelector", "matchExpressions"])[0];
        assert_eq!(
            expr["key"].as_str(),
            Some("node-role.kubernetes.io/control-plane")
        );
        assert_eq!(expr["operator"].as_str(), Some(operator));
        let w = field(doc, &["spec", "window"]);
        assert_eq!(w["days"].as_vec().map(Vec::len), Some(2));
        assert_eq!(w["timeZone"].as_str(), Some("Europe/Berlin"));
    }
    assert_eq!(
        field(&docs[0], &["spec", "nodeSelector", "matchExpressions"])[0]["values"][0].as_str(),
        Some("true")
    );
    let prepare = field(&docs[1], &["spec", "prepare", "args"])
        .as_vec()
        .unwrap();
    assert_eq!(
        prepare.iter().filter_map(Yaml::as_str).collect::<Vec<_>>(),
        ["prepare", "server-plan"]
    );
    assert_eq!(
        field(&docs[1], &["spec", "drain", "force"]).as_bool(),
        Some(true)
    );
    assert_eq!(
        field(&docs[1], &["spec", "drain", "skipWaitForDeleteTimeout"]).as_i64(),
        Some(60)
    );
}

#[test]
fn an_unpinned_intermediate_minor_is_exported_as_its_k3s_channel() {
    let (plan, _) = shops("v1.29.3+k3s1");
    let text = cluster(&plan, "shop-7")
        .suc
        .manifests
        .clone()
        .expect("manifests");
    let docs = YamlLoader::load_from_str(&text).unwrap();
    for doc in &docs {
        assert_eq!(
            field(doc, &["spec", "channel"]).as_str(),
            Some("https://update.k3s.io/v1-release/channels/v1.30")
        );
        assert!(field(doc, &["spec", "version"]).is_badvalue());
    }
}

#[test]
fn clusters_without_a_k3s_step_get_notes_instead_of_manifests() {
    let text = format!("[defaults]\ntarget = \"{TARGET}\"\n");
    let frozen = format!("[defaults]\ntarget = \"{TARGET}\"\nwindows = []\n");
    for (name, distro, version, policy_text, note) in [
        (
            "microk8s",
            Distro::MicroK8s,
            "v1.31.1",
            &text,
            "not supported by system-upgrade-controller; use snap refresh per node",
        ),
        (
            "at target",
            Distro::K3s,
            TARGET,
            &text,
            "no step is planned",
        ),
        (
            "frozen",
            Distro::K3s,
            "v1.31.1+k3s1",
            &frozen,
            "(frozen): nothing to export",
        ),
    ] {
        let nodes = [server("c", "s1", version).with(sqlite()).distro(distro)];
        let (plan, _) = eval(&fleet(&nodes), &policy(policy_text), &[]);
        let suc = &cluster(&plan, "c").suc;
        assert_eq!(suc.manifests, None, "{name}");
        assert!(
            suc.notes.iter().any(|n| n.contains(note)),
            "{name}: {:?}",
            suc.notes
        );
    }
}

#[test]
fn the_export_of_the_fleet_is_one_yaml_stream_with_notes_as_comments() {
    let (plan, _) = shops("v1.31.1+k3s1");
    for (cluster, docs, contains) in [
        (Some("shop-7"), 2, "# note: group \"shops\" has 2 windows"),
        (None, 2, "# ===== cluster \"shop-7\" ====="),
        (Some("nope"), 0, "# no cluster \"nope\" in the upgrade plan"),
    ] {
        let text = manifests(&plan, cluster);
        assert!(text.contains(contains), "{cluster:?}: {text}");
        assert_eq!(text.contains(GOLDEN), docs > 0, "{cluster:?}");
        assert_eq!(
            YamlLoader::load_from_str(&text).unwrap().len(),
            docs,
            "{cluster:?}"
        );
    }
}

proptest! {
    #[test]
    fn any_quoted_string_reads_back_as_itself(s in "\\PC{0,24}|[\\x00-\\x1f\"\\\\ :#-]{0,12}") {
        let doc = format!("key: {}\n", quote(&s));
        let docs = YamlLoader::load_from_str(&doc).unwrap();
        prop_assert_eq!(docs[0]["key"].as_str(), Some(s.as_str()));
    }
}
