//! The drift baseline (DOMAIN.md §5): which kernels, operating systems and agent version a
//! node should run, and what chosen configuration digests should be.
//!
//! **Keys are the agent's digest keys** (`agent/src/probe/inventory/config/`):
//! `sysctl:net.ipv4.ip_forward`, `k3s/config.yaml:cluster-cidr`, `k3s/registries.yaml`,
//! `k3s/server/manifests/<path>`, `microk8s/args/kubelet:--max-pods`, `k3s/data/current`…
//!
//! **An expectation is a value or a SHA-256.** The agent ships a value only for keys that
//! cannot hold secrets (sysctls, the K3s build); for every other key it ships only the SHA-256
//! of a normalised form. So a `value` is turned at parse time into the exact bytes the agent
//! hashes, by key kind, and [`Expected::matches`] compares digests:
//! - `sysctl:<name>`: the words of the value joined by one space (the agent reads
//!   `/proc/sys`, whose `ip_local_port_range` prints a tab);
//! - `k3s/config.yaml:<flag>` and `microk8s/args/<file>:--<flag>`: the flag's values as a
//!   compact JSON list, as K3s passes them: `value = "10.42.0.0/16"` hashes
//!   `["10.42.0.0/16"]`, `value = ["a=1", "b=2"]` hashes `["a=1","b=2"]`, `true` hashes
//!   `["true"]`;
//! - any other key (`k3s/data/current`, whole files): the value's text as it is. Whole files
//!   (`registries.yaml` is normalised first) are better given as `sha256`, copied from a
//!   healthy node.
//!
//! Keys ending in a problem marker (`…:!unreadable`, `…:!unparseable`) are taken as other keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use super::error::{Locator, PolicyError, Problem};

/// The baseline every node is compared with. Empty lists and an empty map check nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Baseline {
    /// Allowed kernel releases (`uname -r`); empty: any.
    pub kernels: Vec<Glob>,
    /// Allowed `PRETTY_NAME`s of `/etc/os-release`; empty: any.
    pub os: Vec<Glob>,
    /// The agent version every node should run; `None`: any.
    pub agent_version: Option<String>,
    /// Expected configuration digests by agent key.
    pub keys: BTreeMap<String, Expected>,
}

impl Baseline {
    /// Whether kernel release `release` is allowed.
    pub fn kernel_allowed(&self, release: &str) -> bool {
        self.kernels.is_empty() || self.kernels.iter().any(|g| g.matches(release))
    }

    /// Whether OS `pretty_name` is allowed.
    pub fn os_allowed(&self, pretty_name: &str) -> bool {
        self.os.is_empty() || self.os.iter().any(|g| g.matches(pretty_name))
    }
}

/// A pattern of literal characters where `*` matches any run of characters, empty included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// Longest pattern accepted.
    pub const MAX_LEN: usize = 256;

    /// Checks `pattern`: non-empty, at most [`Self::MAX_LEN`] bytes, no control characters and
    /// none of `? [ ] { } \`, which other glob dialects give a meaning.
    pub fn new(pattern: &str) -> Result<Self, Problem> {
        let bad = |rule| {
            Err(Problem::Glob {
                value: pattern.to_owned(),
                rule,
            })
        };
        if pattern.is_empty() {
            return bad("empty");
        }
        if pattern.len() > Self::MAX_LEN {
            return bad("longer than 256 bytes");
        }
        if pattern.chars().any(char::is_control) {
            return bad("control characters");
        }
        if pattern.contains(['?', '[', ']', '{', '}', '\\']) {
            return bad("only `*` is a wildcard; `? [ ] { } \\` are not allowed");
        }
        Ok(Self(pattern.to_owned()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` matches the whole pattern. Linear in `text` times the pattern: the last
    /// `*` seen is the only backtracking point.
    pub fn matches(&self, text: &str) -> bool {
        let (p, t) = (self.0.as_bytes(), text.as_bytes());
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && p[pi] == b'*' {
                star = Some((pi, ti));
                pi += 1;
            } else if pi < p.len() && p[pi] == t[ti] {
                pi += 1;
                ti += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|b| *b == b'*')
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// What one configuration digest should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// A value: `canonical` is the text the agent hashes for this key (see the module doc),
    /// `sha256` its digest.
    Value {
        /// The normalised text.
        canonical: String,
        /// SHA-256 of `canonical`.
        #[serde(serialize_with = "serialize_hex")]
        sha256: [u8; 32],
    },
    /// A digest, as a node reported it.
    Sha256(#[serde(serialize_with = "serialize_hex")] [u8; 32]),
}

impl Expected {
    /// Whether a node's digest (and value, when it shipped one) meets this expectation. The
    /// digest decides; a shipped value equal to the canonical text also matches, which can
    /// only happen when the digests are equal too.
    pub fn matches(&self, digest: &[u8; 32], value: Option<&str>) -> bool {
        match self {
            Self::Sha256(expected) => expected == digest,
            Self::Value { canonical, sha256 } => {
                sha256 == digest || value.is_some_and(|v| v == canonical)
            }
        }
    }

    /// The value of `key` as written, normalised as the agent normalises that key.
    pub fn value(key: &str, value: &toml::Value) -> Result<Self, Problem> {
        let canonical = canonical(key, value)?;
        let sha256 = sha256(canonical.as_bytes());
        Ok(Self::Value { canonical, sha256 })
    }
}

/// How the agent turns a key's value into the bytes it hashes.
fn canonical(key: &str, value: &toml::Value) -> Result<String, Problem> {
    let marker = key.contains(":!");
    let flag_key = !marker
        && (key.starts_with("k3s/config.yaml:")
            || (key.starts_with("microk8s/args/") && key.contains(":--")));
    if flag_key {
        let items = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Result<_, _>>()?,
            other => vec![scalar(other)?],
        };
        return Ok(serde_json::Value::from(items).to_string());
    }
    if matches!(value, toml::Value::Array(_)) {
        return Err(Problem::ExpectedValue {
            reason: "a list is only for k3s/config.yaml: and microk8s/args/…:-- keys",
        });
    }
    let text = scalar(value)?;
    if key.starts_with("sysctl:") && !marker {
        return Ok(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    Ok(text)
}

/// A scalar as flag text: strings as they are, `true`/`false`, integers in decimal.
fn scalar(value: &toml::Value) -> Result<String, Problem> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(_) => Err(Problem::ExpectedValue {
            reason: "write a decimal number as a string",
        }),
        toml::Value::Datetime(_) => Err(Problem::ExpectedValue {
            reason: "write a date as a string",
        }),
        toml::Value::Array(_) => Err(Problem::ExpectedValue {
            reason: "lists do not nest",
        }),
        toml::Value::Table(_) => Err(Problem::ExpectedValue {
            reason: "tables are not values",
        }),
    }
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// Lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn serialize_hex<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex(bytes))
}

/// 64 lowercase hexadecimal digits as bytes.
pub(crate) fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let mut out = [0; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// `[baseline]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBaseline {
    kernels: Option<Vec<Spanned<String>>>,
    os: Option<Vec<Spanned<String>>>,
    agent_version: Option<Spanned<String>>,
    keys: Option<BTreeMap<Spanned<String>, Spanned<RawExpected>>>,
}

/// One `[baseline.keys]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpected {
    value: Option<Spanned<toml::Value>>,
    sha256: Option<Spanned<String>>,
}

impl RawBaseline {
    /// Validates the table into a [`Baseline`].
    pub(crate) fn build(&self, at: &Locator<'_>) -> Result<Baseline, PolicyError> {
        let globs = |list: &Option<Vec<Spanned<String>>>| -> Result<Vec<Glob>, PolicyError> {
            list.iter()
                .flatten()
                .map(|g| Glob::new(g.get_ref()).map_err(|p| at.error(g.span(), p)))
                .collect()
        };
        let agent_version = match &self.agent_version {
            Some(v) if v.get_ref().is_empty() || v.get_ref().contains(char::is_whitespace) => {
                return Err(at.error(
                    v.span(),
                    Problem::Name {
                        what: "agent version",
                        value: v.get_ref().clone(),
                        rule: "must be non-empty, without spaces",
                    },
                ));
            }
            other => other.as_ref().map(|v| v.get_ref().clone()),
        };
        let mut keys = BTreeMap::new();
        for (key, raw) in self.keys.iter().flatten() {
            let name = key.get_ref();
            let valid = !name.is_empty()
                && name.len() <= 512
                && !name.chars().any(|c| c.is_whitespace() || c.is_control());
            if !valid {
                let problem = Problem::Name {
                    what: "baseline key",
                    value: name.clone(),
                    rule: "1 to 512 bytes without spaces, as the agent names digests",
                };
                return Err(at.error(key.span(), problem));
            }
            let expected = match (&raw.get_ref().value, &raw.get_ref().sha256) {
                (Some(value), None) => {
                    Expected::value(name, value.get_ref()).map_err(|p| at.error(value.span(), p))?
                }
                (None, Some(hex)) => match parse_sha256(hex.get_ref()) {
                    Some(digest) => Expected::Sha256(digest),
                    None => {
                        let problem = Problem::Sha256 {
                            value: hex.get_ref().clone(),
                        };
                        return Err(at.error(hex.span(), problem));
                    }
                },
                _ => return Err(at.error(raw.span(), Problem::Expected)),
            };
            keys.insert(name.clone(), expected);
        }
        Ok(Baseline {
            kernels: globs(&self.kernels)?,
            os: globs(&self.os)?,
            agent_version,
            keys,
        })
    }
}
