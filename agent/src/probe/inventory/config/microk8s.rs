//! MicroK8s configuration digests (DOMAIN.md §5): the daemons' argument files in
//! `/var/snap/microk8s/current/args/`.
//!
//! | key | digest of |
//! | --- | --- |
//! | `microk8s/args/<file>:<--flag>` | the flag's values in file order, as a compact JSON list, for a file of flag lines (`kubelet`, `kube-apiserver`, `k8s-dqlite`, …) |
//! | `microk8s/args/<file>` | the file's bytes, for any other file (`containerd-template.toml`, `containerd-env`) |
//! | `microk8s/args/certs.d/<registry>/<file>` | the file's bytes (containerd registry hosts) |
//!
//! A flag file is one whose every line, once blank lines and `#` comments are dropped, starts
//! with `-`: MicroK8s's wrappers hand those lines to the daemons through the shell, so
//! `--flag=value`, `--flag value` and `--flag="value"` are the same flag and value; a bare
//! `--flag` counts as `true`. Other files (`containerd-env` can hold proxy credentials) are
//! digested whole and never parsed into keys.

use tracing::debug;

use super::super::files::{self, Entry, Kind};
use super::{Digests, flag_name, safe_name};
use crate::probe::{HostRoot, READ_LIMIT};

const ARGS: &str = "/var/snap/microk8s/current/args";

/// One flag and its values, in file order.
type Flags = Vec<(String, Vec<String>)>;

/// Adds the digests of every argument file.
pub(crate) fn collect(root: &HostRoot, digests: &mut Digests) {
    let entries = match files::list(root, ARGS) {
        Ok(entries) => entries,
        Err(e) => return digests.unreadable("microk8s/args", &e),
    };
    for entry in entries {
        match entry.kind {
            Kind::File => args_file(root, digests, &entry),
            Kind::Dir if entry.name == "certs.d" => {
                if let Ok(found) = files::walk(root, &entry.host_path, 1, |_| false) {
                    for (rel, host_path) in found {
                        let rel: Vec<String> = rel.iter().map(|c| safe_name(c)).collect();
                        let key = format!("microk8s/args/certs.d/{}", rel.join("/"));
                        digests.file(root, key, &host_path);
                    }
                }
            }
            Kind::Dir | Kind::Other => {}
        }
    }
}

fn args_file(root: &HostRoot, digests: &mut Digests, entry: &Entry) {
    let file_key = format!("microk8s/args/{}", safe_name(&entry.name));
    let (text, modified_at) = match files::read_text(root, &entry.host_path, READ_LIMIT) {
        Ok(read) => read,
        Err(e) => return digests.unreadable(&file_key, &e),
    };
    let Some((flags, invalid)) = parse_flags(&text) else {
        debug!(file = %file_key, "Not a flag file; digested whole");
        return digests.add(file_key, text.as_bytes(), modified_at);
    };
    for (name, values) in flags {
        let canonical = serde_json::Value::from(values).to_string();
        digests.add(
            format!("{file_key}:--{name}"),
            canonical.as_bytes(),
            modified_at,
        );
    }
    if !invalid.is_empty() {
        let canonical = serde_json::Value::from(invalid).to_string();
        digests.add(
            format!("{file_key}:!invalid-flags"),
            canonical.as_bytes(),
            modified_at,
        );
    }
}

/// The flags of a flag file and the lines whose names are not flag names; `None` when a line
/// is not a flag.
fn parse_flags(text: &str) -> Option<(Flags, Vec<String>)> {
    let mut flags: Flags = Vec::new();
    let mut invalid = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let body = line.strip_prefix('-')?;
        let body = body.strip_prefix('-').unwrap_or(body);
        let split = body.find(|c: char| c == '=' || c.is_whitespace());
        let (name, value) = match split {
            Some(at) => (&body[..at], unquote(body[at + 1..].trim())),
            None => (body, "true"),
        };
        let Some(name) = flag_name(name) else {
            invalid.push(line.to_owned());
            continue;
        };
        match flags.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value.to_owned()),
            None => flags.push((name.to_owned(), vec![value.to_owned()])),
        }
    }
    invalid.sort();
    Some((flags, invalid))
}

/// `"v"` or `'v'` → `v`; anything else as it is.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_spellings_that_the_shell_treats_alike_parse_alike() {
        let (flags, invalid) =
            parse_flags("# kubelet\n--a=1\n--b \"two words\"\n--c\n\n--a='3'\n-v=2\n")
                .expect("flag file");
        assert_eq!(
            flags,
            [
                ("a".into(), vec!["1".into(), "3".into()]),
                ("b".into(), vec!["two words".into()]),
                ("c".into(), vec!["true".into()]),
                ("v".into(), vec!["2".into()]),
            ]
        );
        assert!(invalid.is_empty());
    }

    #[test]
    fn a_file_with_a_line_that_is_not_a_flag_is_not_a_flag_file() {
        assert!(parse_flags("HTTPS_PROXY=http://u:p@proxy:3128\n").is_none());
        assert!(parse_flags("[plugins]\n").is_none());
    }

    #[test]
    fn odd_flag_names_are_set_aside_not_keyed() {
        let (flags, invalid) = parse_flags("--ok=1\n--b@d=x\n").expect("flag file");
        assert_eq!(flags.len(), 1);
        assert_eq!(invalid, ["--b@d=x"]);
    }
}
