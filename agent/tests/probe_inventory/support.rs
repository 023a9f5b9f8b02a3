//! Helpers for the inventory tests: fixture paths, copies to drift, one-shot observation and
//! digest lookups.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Instant;

use edgeward_agent::probe::HostRoot;
use edgeward_agent::probe::inventory::{InventoryOptions, InventoryProbe};
use edgeward_proto::Section;
use edgeward_proto::inventory::{ConfigDigest, Inventory};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosts")
        .join(name)
}

/// A copy of fixture `name` in a temporary directory, symlinks kept as symlinks.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(name), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            symlink(fs::read_link(&src).expect("readlink"), &dst).expect("symlink");
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// One observation of the host at `root`, which must give data.
pub fn inventory(root: &Path) -> Inventory {
    let mut probe = InventoryProbe::new(HostRoot::new(root), InventoryOptions::default());
    match probe.observe_at(Instant::now()) {
        Section::Data(inventory) => inventory,
        other => panic!(
            "expected inventory data under {}, got {other:?}",
            root.display()
        ),
    }
}

pub fn keys(inventory: &Inventory) -> Vec<String> {
    inventory.config.iter().map(|d| d.key.clone()).collect()
}

pub fn digest<'a>(inventory: &'a Inventory, key: &str) -> &'a ConfigDigest {
    inventory
        .config
        .iter()
        .find(|d| d.key == key)
        .unwrap_or_else(|| panic!("no digest {key} in {:?}", keys(inventory)))
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// Key → (digest, value): what drift is judged on, without file times (a copy has new ones).
pub fn without_mtimes(inventory: &Inventory) -> BTreeMap<String, ([u8; 32], Option<String>)> {
    inventory
        .config
        .iter()
        .map(|d| (d.key.clone(), (d.sha256, d.value.clone())))
        .collect()
}
