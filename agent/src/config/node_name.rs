//! The node name the agent reports as: `node_name` as written, or else the host's name read
//! from `<host_root>/proc/sys/kernel/hostname`, trimmed and lowercased.
//!
//! Either must be a Kubernetes node name. The check is [`NodeId::new`] from `edgeward-proto`
//! (an RFC 1123 subdomain: lowercase, at most 253 bytes, labels of at most 63 that start and
//! end alphanumeric), the same one the aggregator applies to what it decodes.

use std::path::Path;

use edgeward_proto::NodeId;

use super::Sourced;
use super::error::{ConfigError, Invalid, Problem};

/// Where the default node name is read from, below `host_root`.
pub const HOSTNAME_FILE: &str = "proc/sys/kernel/hostname";

/// `raw`, the value of `node_name`, taken as written (not lowercased); when it is unset, the
/// host name under `host_root`.
pub(super) fn resolve(
    raw: Option<&Sourced<String>>,
    host_root: &Path,
) -> Result<NodeId, ConfigError> {
    match raw {
        Some(raw) => NodeId::new(raw.value.as_str())
            .map_err(|e| Invalid::new("node_name", raw, Problem::NodeName(e)).into()),
        None => hostname(host_root),
    }
}

/// The default node name: the host's name, trimmed and lowercased.
fn hostname(host_root: &Path) -> Result<NodeId, ConfigError> {
    let path = host_root.join(HOSTNAME_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Hostname {
        path: path.clone(),
        source,
    })?;
    let value = text.trim().to_lowercase();
    NodeId::new(value.as_str()).map_err(|source| ConfigError::HostnameInvalid {
        path,
        value,
        source,
    })
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::*;
    use crate::config::Origin;

    /// A host root whose host name file holds `hostname`.
    fn host(hostname: &str) -> TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let kernel = dir.path().join("proc/sys/kernel");
        std::fs::create_dir_all(&kernel).expect("mkdir");
        std::fs::write(kernel.join("hostname"), hostname).expect("write hostname");
        dir
    }

    fn flag(value: &str) -> Sourced<String> {
        Sourced::new(value, Origin::Flag("--node-name".to_owned()))
    }

    #[test]
    fn unset_node_name_defaults_to_trimmed_lowercased_hostname() {
        let host = host("  Edge-Node-7\n");
        let name = resolve(None, host.path()).expect("valid");
        assert_eq!(name.as_str(), "edge-node-7");
    }

    #[test]
    fn explicit_node_name_is_taken_as_written_over_the_hostname() {
        let host = host("edge-node-7\n");
        let name = resolve(Some(&flag("edge-1")), host.path()).expect("valid");
        assert_eq!(name.as_str(), "edge-1");
        assert!(matches!(
            resolve(Some(&flag("Edge-1")), host.path()),
            Err(ConfigError::Invalid(Invalid {
                key: "node_name",
                problem: Problem::NodeName(_),
                ..
            }))
        ));
    }

    #[test]
    fn invalid_node_name_error_names_the_key_origin_and_value() {
        let host = host("edge-node-7\n");
        let error = resolve(Some(&flag("Edge_1")), host.path()).expect_err("invalid");
        // As `main` prints it: the whole chain on one line.
        let chain = format!("{:#}", anyhow::Error::new(error));
        assert!(
            chain.starts_with("`node_name` (from --node-name): "),
            "{chain}"
        );
        assert!(chain.contains("\"Edge_1\""), "{chain}");
    }

    #[test]
    fn unreadable_hostname_file_is_reported_when_node_name_is_unset() {
        let host = host("edge-node-7\n");
        std::fs::remove_file(host.path().join(HOSTNAME_FILE)).expect("remove hostname");
        assert!(matches!(
            resolve(None, host.path()),
            Err(ConfigError::Hostname { .. })
        ));
    }

    #[test]
    fn invalid_hostname_is_reported_when_node_name_is_unset() {
        let host = host("edge_1\n");
        assert!(matches!(
            resolve(None, host.path()),
            Err(ConfigError::HostnameInvalid { ref value, .. }) if value == "edge_1"
        ));
    }
}
