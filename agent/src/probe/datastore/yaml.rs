//! Small readers over `yaml-rust2` for the node's YAML files (K3s `config.yaml`, MicroK8s
//! `info.yaml` and `cluster.yaml`).
//!
//! Invariants: lookups never index (`yaml_rust2`'s `Index` impls can panic on the wrong node
//! type); a file is one document (an empty file is `Null`); integers wider than `i64` are
//! accepted: `yaml-rust2` parses a plain scalar that does not fit `i64` as `Real` (it is a
//! valid float), and a quoted one as `String`, so [`as_u64`] reads the text of both.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::error::DatastoreError;

/// Parses `text` (from `path`) into its one document; `Null` for an empty file.
pub fn load(path: &Path, text: &str) -> Result<Yaml, DatastoreError> {
    let docs = YamlLoader::load_from_str(text).map_err(|source| DatastoreError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    let mut docs = docs.into_iter();
    let first = docs.next().unwrap_or(Yaml::Null);
    if docs.next().is_some() {
        return Err(DatastoreError::Shape {
            path: path.to_owned(),
            what: "holds more than one YAML document".into(),
        });
    }
    Ok(first)
}

/// The value of `key` in mapping `node`; `None` when `node` is not a mapping or lacks the key.
pub fn get<'a>(node: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    node.as_hash()?.get(&Yaml::String(key.to_owned()))
}

/// A non-negative integer up to `u64::MAX`, written plain or quoted.
pub fn as_u64(node: &Yaml) -> Option<u64> {
    match node {
        Yaml::Integer(i) => u64::try_from(*i).ok(),
        Yaml::Real(text) | Yaml::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A scalar as text: strings as they are, numbers and booleans as written.
pub fn as_text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Yaml {
        load(Path::new("/t.yaml"), text).expect("yaml")
    }

    #[test]
    fn integers_beyond_i64_are_read_from_their_text() {
        let doc =
            one("a: 18446744073709551615\nb: \"12517190302938212456\"\nc: 42\nd: -1\ne: 1.5\n");
        assert_eq!(get(&doc, "a").and_then(as_u64), Some(u64::MAX));
        assert_eq!(
            get(&doc, "b").and_then(as_u64),
            Some(12_517_190_302_938_212_456)
        );
        assert_eq!(get(&doc, "c").and_then(as_u64), Some(42));
        assert_eq!(get(&doc, "d").and_then(as_u64), None);
        assert_eq!(get(&doc, "e").and_then(as_u64), None);
        assert_eq!(get(&doc, "missing").and_then(as_u64), None);
    }

    #[test]
    fn lookups_on_the_wrong_node_type_are_none_not_panics() {
        for text in ["- a\n- b\n", "just text", "", "42"] {
            let doc = one(text);
            assert!(get(&doc, "a").is_none(), "{text:?}");
        }
    }

    #[test]
    fn several_documents_and_broken_yaml_are_errors() {
        assert!(load(Path::new("/t"), "a: 1\n---\nb: 2\n").is_err());
        let err = load(Path::new("/t"), "a: [1, 2\n").expect_err("unterminated");
        assert_eq!(err.reason(), edgeward_proto::UnavailableReason::Unparseable);
    }
}
