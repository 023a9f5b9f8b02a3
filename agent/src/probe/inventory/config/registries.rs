//! `/etc/rancher/k3s/registries.yaml` digests (DOMAIN.md §5: "holds credentials: hash it,
//! never ship it").
//!
//! | key | digest of |
//! | --- | --- |
//! | `k3s/registries.yaml` | the canonical JSON of the whole normalised file |
//! | `k3s/registries.yaml:mirrors/<registry>` | the canonical JSON of that mirror entry |
//! | `k3s/registries.yaml:configs/<registry>` | the canonical JSON of that config entry, `auth` and `tls` included |
//!
//! Invariants: no value ships; no digest covers a credential field alone (a `configs` entry
//! is digested whole, username, password, token and TLS paths together); a registry name that
//! does not look like a host name (it could carry `user:password@`) is replaced by a hash of
//! itself in the key ([`safe_name`]). A file that is not YAML ships only
//! `k3s/registries.yaml:!unparseable`, the digest of its bytes.

use std::path::Path;

use tracing::debug;

use super::super::files;
use super::super::yaml::{self, Node};
use super::{Digests, safe_name};
use crate::probe::{HostRoot, READ_LIMIT};

const REGISTRIES: &str = "/etc/rancher/k3s/registries.yaml";
const KEY: &str = "k3s/registries.yaml";

/// Adds the registries digests, or nothing when the file does not exist.
pub(crate) fn collect(root: &HostRoot, digests: &mut Digests) {
    let (text, modified_at) = match files::read_text(root, Path::new(REGISTRIES), READ_LIMIT) {
        Ok(read) => read,
        Err(e) => return digests.unreadable(KEY, &e),
    };
    let doc = match yaml::parse_documents(&text) {
        Ok(mut docs) if !docs.is_empty() => docs.swap_remove(0),
        Ok(_) => Node::Null,
        Err(e) => {
            debug!(error = %e, "registries.yaml is not YAML");
            return digests.add(format!("{KEY}:!unparseable"), text.as_bytes(), modified_at);
        }
    };
    digests.add(
        KEY.to_owned(),
        doc.canonical().to_string().as_bytes(),
        modified_at,
    );
    let Node::Map(sections) = &doc else {
        return;
    };
    for (section, entries) in sections {
        let section = section.key_text();
        if section != "mirrors" && section != "configs" {
            continue;
        }
        let Node::Map(entries) = entries else {
            continue;
        };
        for (name, entry) in entries {
            let key = format!("{KEY}:{section}/{}", safe_name(&name.key_text()));
            digests.add(key, entry.canonical().to_string().as_bytes(), modified_at);
        }
    }
}
