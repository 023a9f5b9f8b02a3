//! Group resolution, rollout order, inherited settings, thresholds and alert labels.

use std::time::Duration;

use super::*;
use crate::policy::{Schedule, Target, Thresholds};

/// Clusters `a` (lab), `b` and `c` (shops, `c` also listed by id in `pinned`) and `d`
/// (unlabelled); groups in file order: shops (labels), pinned (ids), lab (canary, labels).
fn fleet() -> Policy {
    let (a, b, c) = (cluster('a'), cluster('b'), cluster('c'));
    policy(&format!(
        r#"
[channels]
stable = "v1.31.4+k3s1"

[defaults]
channel = "stable"
stuck_after = "4h"

[thresholds]
cert_warning = "40d"
stale_intervals = 4

[alerts]
labels = {{ fleet = "eu", team = "platform" }}

[[clusters]]
id = "{a}"
name = "lab-01"
labels = {{ tier = "lab" }}

[[clusters]]
id = "{b}"
labels = {{ tier = "shop", region = "eu" }}

[[clusters]]
id = "{c}"
name = "shop-0012"
labels = {{ tier = "shop", region = "eu" }}

[[groups]]
name = "shops"
match_labels = {{ tier = "shop" }}
max_unavailable = 3
alert_labels = {{ team = "retail" }}
thresholds = {{ cert_critical = "10d" }}

[[groups]]
name = "pinned"
clusters = ["{c}"]
target = "v1.30.8+k3s1"

[[groups]]
name = "lab"
canary = true
match_labels = {{ tier = "lab" }}
windows = []
"#
    ))
}

#[test]
fn explicit_id_beats_labels_and_labels_beat_the_default_group() {
    let p = fleet();
    assert_eq!(p.group_of(&cluster('c')).name, "pinned");
    assert_eq!(p.group_of(&cluster('b')).name, "shops");
    assert_eq!(p.group_of(&cluster('a')).name, "lab");
    assert_eq!(p.group_of(&cluster('d')).name, "default");
}

#[test]
fn first_matching_group_in_file_order_wins_among_label_matches() {
    let p = policy(
        r#"
[[clusters]]
id = "x"
labels = { tier = "shop", region = "eu" }

[[groups]]
name = "eu"
match_labels = { region = "eu" }

[[groups]]
name = "eu-shops"
canary = true
match_labels = { region = "eu", tier = "shop" }
"#,
    );
    let x = ClusterId::new("x").expect("id");
    assert_eq!(p.group_of(&x).name, "eu", "file order, not rollout order");
    let names: Vec<_> = p
        .groups_in_rollout_order()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["eu-shops", "eu", "default"]);
}

#[test]
fn labels_must_all_match() {
    let p = policy(
        "[[clusters]]\nid = \"x\"\nlabels = { tier = \"shop\" }\n\
         [[groups]]\nname = \"eu-shops\"\nmatch_labels = { region = \"eu\", tier = \"shop\" }\n",
    );
    let x = ClusterId::new("x").expect("id");
    assert_eq!(p.group_of(&x).name, "default");
}

#[test]
fn canaries_roll_out_first_then_file_order_then_default() {
    let p = fleet();
    let order: Vec<_> = p
        .groups_in_rollout_order()
        .map(|g| (g.name.as_str(), g.order))
        .collect();
    assert_eq!(
        order,
        [("lab", 0), ("shops", 1), ("pinned", 2), ("default", 3)]
    );
    assert!(p.default_group().is_default());
}

#[test]
fn groups_inherit_defaults_they_do_not_override() {
    let p = fleet();
    let shops = p.group("shops").expect("shops");
    assert!(
        matches!(&shops.target, Some(Target::Channel { name, resolved })
        if name == "stable" && resolved.as_str() == "v1.31.4+k3s1")
    );
    assert_eq!(shops.max_unavailable.get(), 3);
    assert_eq!(shops.stuck_after, Duration::from_secs(4 * 3600));
    assert_eq!(shops.windows, Schedule::Anytime);
    let pinned = p.group("pinned").expect("pinned");
    assert_eq!(
        pinned.target.as_ref().map(|t| t.version().as_str()),
        Some("v1.30.8+k3s1")
    );
    assert_eq!(pinned.max_unavailable.get(), 1);
    assert_eq!(
        p.group("lab").expect("lab").windows,
        Schedule::Windows(vec![])
    );
}

#[test]
fn thresholds_merge_group_over_global_over_defaults() {
    let p = fleet();
    let defaults = Thresholds::default();
    let day = |n: u64| Duration::from_secs(n * 86_400);

    let global = p.thresholds_for(None);
    assert_eq!(global.cert_warning, day(40));
    assert_eq!(global.cert_critical, defaults.cert_critical);
    assert_eq!(global.stale_intervals, 4);

    let shop = p.thresholds_for(Some(&cluster('b')));
    assert_eq!(shop.cert_critical, day(10), "group override");
    assert_eq!(shop.cert_warning, day(40), "global override");
    assert_eq!(shop.wal_fsync_p99_warning, defaults.wal_fsync_p99_warning);

    let unlisted = p.thresholds_for(Some(&cluster('d')));
    assert_eq!(unlisted, global);
}

#[test]
fn default_thresholds_are_the_documented_numbers() {
    let t = Thresholds::default();
    assert_eq!(t.wal_fsync_p99_warning, Duration::from_millis(500));
    assert_eq!(t.wal_fsync_p99_critical, Duration::from_secs(1));
    assert_eq!(t.backend_commit_p99_warning, Duration::from_millis(250));
    assert_eq!(t.db_quota_ratio_warning, 0.95);
    assert_eq!((t.leader_changes_15m, t.proposals_failed_15m), (4, 5));
    assert_eq!(t.peer_rtt_p99_warning, Duration::from_millis(150));
    assert_eq!(t.disk_fdatasync_p99_warning, Duration::from_millis(10));
    assert_eq!(t.cert_renew_window, Duration::from_secs(120 * 86_400));
    assert_eq!(t.cert_critical, Duration::from_secs(7 * 86_400));
    assert_eq!(t.pleg_age, Duration::from_secs(180));
    assert_eq!(t.snapshot_max_age, Duration::from_secs(13 * 3600));
}

#[test]
fn group_alert_labels_override_global_ones() {
    let p = fleet();
    let shop = p.alert_labels(&cluster('b'));
    assert_eq!(shop.get("team").map(String::as_str), Some("retail"));
    assert_eq!(shop.get("fleet").map(String::as_str), Some("eu"));
    let unlisted = p.alert_labels(&cluster('d'));
    assert_eq!(unlisted.get("team").map(String::as_str), Some("platform"));
}

#[test]
fn cluster_names_and_labels_come_from_the_clusters_table() {
    let p = fleet();
    assert_eq!(p.cluster_name(&cluster('c')), Some("shop-0012"));
    assert_eq!(p.cluster_name(&cluster('b')), None);
    assert_eq!(p.cluster_name(&cluster('d')), None);
    assert_eq!(
        p.cluster_labels(&cluster('b'))
            .get("region")
            .map(String::as_str),
        Some("eu")
    );
    assert!(p.cluster_labels(&cluster('d')).is_empty());
}

#[test]
fn policy_serialises_for_the_api_with_readable_durations_and_versions() {
    let p = fleet();
    let json = serde_json::to_value(&p).expect("serialisable");
    let shops = &json["groups"][1];
    assert_eq!(shops["name"], "shops");
    assert_eq!(shops["stuck_after"], "4h");
    assert_eq!(shops["target"]["channel"]["resolved"], "v1.31.4+k3s1");
    assert_eq!(shops["thresholds"]["cert_critical"], "10days");
    assert_eq!(json["default_group"]["name"], "default");
    assert_eq!(json["sha256"].as_str().map(str::len), Some(64));
}
