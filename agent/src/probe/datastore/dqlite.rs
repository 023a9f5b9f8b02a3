//! MicroK8s dqlite membership (DOMAIN.md §3).
//!
//! | field | source (host path) |
//! | --- | --- |
//! | `ha` | `/var/snap/microk8s/current/var/lock/ha-cluster` exists |
//! | `local` | `.../var/kubernetes/backend/info.yaml`: `Address`, `ID`, `Role` of this node; `None` when the file does not exist |
//! | `members` | `.../var/kubernetes/backend/cluster.yaml`: a YAML list of `Address`, `ID`, `Role` |
//!
//! Role numbers are go-dqlite's: 0 voter, 1 standby, 2 spare. A member without `Role` is a
//! voter, as go-dqlite reads it (the zero value; files written before roles existed lack
//! it). `ID`s are `u64` and often exceed `i64` (see [`super::yaml::as_u64`]). A member without
//! `Address` or `ID`, an unknown role, a non-list `cluster.yaml` or more members than the wire
//! holds make the section `Unparseable`, naming the file and the member.

use std::path::{Path, PathBuf};

use edgeward_proto::datastore::{Dqlite, DqliteMember, DqliteRole};
use edgeward_proto::{Bounded, Section};
use yaml_rust2::Yaml;

use super::detect::{MICROK8S_BACKEND, MICROK8S_CURRENT, exists, read_host_text, read_if_exists};
use super::error::DatastoreError;
use super::yaml;
use crate::probe::HostRoot;

/// Reads the dqlite section from the host.
pub fn observe(root: &HostRoot) -> Section<Dqlite> {
    match read(root) {
        Ok(d) => Section::Data(d),
        Err(e) => e.to_section(),
    }
}

/// The MicroK8s backend directory (host path): the dqlite data and its YAML files.
pub fn backend_dir() -> PathBuf {
    PathBuf::from(MICROK8S_BACKEND)
}

fn read(root: &HostRoot) -> Result<Dqlite, DatastoreError> {
    let backend = backend_dir();
    let ha = exists(
        root,
        Path::new(MICROK8S_CURRENT).join("var/lock/ha-cluster"),
    )?;
    let info_path = backend.join("info.yaml");
    let local = match read_if_exists(root, &info_path)? {
        Some(text) => {
            let doc = yaml::load(&root.join(&info_path), &text)?;
            Some(member(&doc).map_err(|what| DatastoreError::Shape {
                path: root.join(&info_path),
                what,
            })?)
        }
        None => None,
    };
    let cluster_path = backend.join("cluster.yaml");
    let text = read_host_text(root, &cluster_path)?;
    let members = members(&yaml::load(&root.join(&cluster_path), &text)?).map_err(|what| {
        DatastoreError::Shape {
            path: root.join(&cluster_path),
            what,
        }
    })?;
    Ok(Dqlite { ha, local, members })
}

/// The members listed in a `cluster.yaml` document.
pub fn members(doc: &Yaml) -> Result<Bounded<DqliteMember, 64>, String> {
    let Yaml::Array(items) = doc else {
        return Err("not a YAML list of members".into());
    };
    let mut out = Bounded::new();
    for (i, item) in items.iter().enumerate() {
        let m = member(item).map_err(|what| format!("member {i}: {what}"))?;
        out.push(m).map_err(|_| {
            format!(
                "{} members, more than the {} a sample carries",
                items.len(),
                Bounded::<DqliteMember, 64>::MAX
            )
        })?;
    }
    Ok(out)
}

/// One `{Address, ID, Role}` mapping.
pub fn member(node: &Yaml) -> Result<DqliteMember, String> {
    if node.as_hash().is_none() {
        return Err("not a mapping of Address, ID and Role".into());
    }
    let address = yaml::get(node, "Address")
        .and_then(yaml::as_text)
        .ok_or("Address missing")?;
    let id = match yaml::get(node, "ID") {
        None => return Err("ID missing".into()),
        Some(v) => yaml::as_u64(v).ok_or("ID is not an unsigned 64-bit integer")?,
    };
    let role = match yaml::get(node, "Role") {
        None => DqliteRole::Voter,
        Some(v) => match yaml::as_u64(v) {
            Some(0) => DqliteRole::Voter,
            Some(1) => DqliteRole::Standby,
            Some(2) => DqliteRole::Spare,
            _ => return Err("Role is not 0 (voter), 1 (standby) or 2 (spare)".into()),
        },
    };
    Ok(DqliteMember {
        address: super::error::cut(address, 256),
        id,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Yaml {
        yaml::load(Path::new("/cluster.yaml"), text).expect("yaml")
    }

    #[test]
    fn members_with_u64_ids_and_every_role() {
        let m = members(&doc(concat!(
            "- Address: 10.0.0.1:19001\n  ID: 3297041220608546238\n  Role: 0\n",
            "- Address: 10.0.0.2:19001\n  ID: 18446744073709551615\n  Role: 1\n",
            "- Address: 10.0.0.3:19001\n  ID: \"12517190302938212456\"\n  Role: 2\n",
            "- Address: 10.0.0.4:19001\n  ID: 7\n",
        )))
        .expect("members");
        let got: Vec<(u64, DqliteRole)> = m.iter().map(|m| (m.id, m.role)).collect();
        assert_eq!(
            got,
            vec![
                (3_297_041_220_608_546_238, DqliteRole::Voter),
                (u64::MAX, DqliteRole::Standby),
                (12_517_190_302_938_212_456, DqliteRole::Spare),
                (7, DqliteRole::Voter),
            ]
        );
        assert_eq!(m[0].address, "10.0.0.1:19001");
    }

    #[test]
    fn broken_members_name_the_member_and_the_field() {
        for (text, want) in [
            ("- ID: 1\n  Role: 0\n", "member 0: Address missing"),
            ("- Address: a:1\n  Role: 0\n", "member 0: ID missing"),
            (
                "- Address: a:1\n  ID: 1\n- Address: b:1\n  ID: -5\n",
                "member 1: ID is not an unsigned 64-bit integer",
            ),
            (
                "- Address: a:1\n  ID: 1\n  Role: 3\n",
                "member 0: Role is not",
            ),
            ("- just text\n", "member 0: not a mapping"),
            ("Address: a:1\nID: 1\n", "not a YAML list"),
            ("", "not a YAML list"),
        ] {
            let err = members(&doc(text)).expect_err(text);
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn more_members_than_the_wire_holds_is_an_error_not_a_truncation() {
        let text: String = (0..65)
            .map(|i| format!("- Address: 10.0.0.{i}:19001\n  ID: {i}\n"))
            .collect();
        let err = members(&doc(&text)).expect_err("too many");
        assert!(err.contains("65 members"), "{err}");
    }
}
