//! When the inventory ships: once at start, again when it changed or `refresh_every` passed,
//! and again whenever the sample carrying it was not appended. Instants are passed in.

use std::fs;
use std::time::{Duration, Instant};

use edgeward_agent::probe::inventory::{InventoryOptions, InventoryProbe};
use edgeward_agent::probe::{HostRoot, Probe};
use edgeward_proto::{Section, Seq};

use super::support::{copy_fixture, fixture};

const MINUTE: Duration = Duration::from_secs(60);

fn probe(root: &std::path::Path) -> InventoryProbe {
    InventoryProbe::new(HostRoot::new(root), InventoryOptions::default())
}

fn is_data<T>(section: &Section<T>) -> bool {
    matches!(section, Section::Data(_))
}

#[test]
fn the_first_inventory_ships_then_later_cycles_name_its_seq() {
    let mut p = probe(&fixture("k3s-server"));
    let t0 = Instant::now();
    assert!(is_data(&p.observe_at(t0)));
    p.appended(Seq(7));
    assert_eq!(
        p.observe_at(t0 + Duration::from_secs(10)),
        Section::NotDue { last: Some(Seq(7)) }
    );
    // Recomputed after check_every, unchanged: still not due.
    assert_eq!(
        p.observe_at(t0 + 2 * MINUTE),
        Section::NotDue { last: Some(Seq(7)) }
    );
}

#[test]
fn an_inventory_whose_append_failed_ships_again_next_cycle() {
    let mut p = probe(&fixture("k3s-agent"));
    let t0 = Instant::now();
    assert!(is_data(&p.observe_at(t0)));
    // No `appended`: the append of that cycle failed.
    assert!(is_data(&p.observe_at(t0 + Duration::from_secs(10))));
    p.appended(Seq(8));
    assert_eq!(
        p.observe_at(t0 + Duration::from_secs(20)),
        Section::NotDue { last: Some(Seq(8)) }
    );
}

#[test]
fn an_append_of_a_not_due_cycle_does_not_move_the_seq() {
    let mut p = probe(&fixture("microk8s"));
    let t0 = Instant::now();
    assert!(is_data(&p.observe_at(t0)));
    p.appended(Seq(1));
    assert!(!is_data(&p.observe_at(t0 + Duration::from_secs(10))));
    p.appended(Seq(2));
    assert_eq!(
        p.observe_at(t0 + Duration::from_secs(20)),
        Section::NotDue { last: Some(Seq(1)) }
    );
}

#[test]
fn a_changed_file_ships_at_the_next_check_not_before() {
    let host = copy_fixture("k3s-server");
    let mut p = probe(host.path());
    let t0 = Instant::now();
    assert!(is_data(&p.observe_at(t0)));
    p.appended(Seq(1));
    let registries = host.path().join("etc/rancher/k3s/registries.yaml");
    let text = fs::read_to_string(&registries).expect("read");
    fs::write(&registries, text.replace("edge-puller", "other-user")).expect("write");
    assert_eq!(
        p.observe_at(t0 + Duration::from_secs(30)),
        Section::NotDue { last: Some(Seq(1)) }
    );
    assert!(is_data(&p.observe_at(t0 + MINUTE)));
    p.appended(Seq(2));
    assert_eq!(
        p.observe_at(t0 + MINUTE + Duration::from_secs(1)),
        Section::NotDue { last: Some(Seq(2)) }
    );
}

#[test]
fn an_unchanged_inventory_ships_again_after_refresh_every() {
    let mut p = probe(&fixture("k3s-server"));
    let refresh = InventoryOptions::default().refresh_every;
    let t0 = Instant::now();
    assert!(is_data(&p.observe_at(t0)));
    p.appended(Seq(3));
    assert!(!is_data(
        &p.observe_at(t0 + refresh - Duration::from_secs(1))
    ));
    assert!(is_data(&p.observe_at(t0 + refresh)));
    p.appended(Seq(4));
    assert_eq!(
        p.observe_at(t0 + refresh + MINUTE),
        Section::NotDue { last: Some(Seq(4)) }
    );
}

#[test]
fn the_probe_trait_fills_the_inventory_section() {
    let mut p = probe(&fixture("k3s-server"));
    assert_eq!(p.name(), "inventory");
    let mut sample = edgeward_agent::probe::blank_sample(edgeward_proto::UnixMillis(1));
    p.observe(&mut sample);
    assert!(is_data(&sample.inventory));
}
