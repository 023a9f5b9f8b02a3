//! Kubernetes release versions as the policy names them, and upgrade targets.
//!
//! A version is written as the distributions print it (DOMAIN.md §4): K3s `v1.31.4+k3s1`,
//! MicroK8s and upstream `v1.31.4`, optionally with a pre-release (`v1.32.0-rc1+k3s1`). The
//! leading `v` is required so that a policy value compares equal, as text, to what agents
//! report. Ordering is the upgrade planner's (`analysis::upgrade::version`): numbers, then a
//! pre-release before its release, then build tags in natural order.
//!
//! The aggregator never fetches release channels: `[channels]` pins what `stable`, `latest`
//! or `v1.30` means today, and a [`Target::Channel`] carries the version it resolved to.

use std::cmp::Ordering;
use std::fmt;

use serde::{Serialize, Serializer};

/// A Kubernetes release version such as `v1.31.4+k3s1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KubeVersion {
    text: String,
    major: u32,
    minor: u32,
    patch: u32,
    /// The same text parsed by the upgrade planner's parser, whose total order (pre-releases
    /// before their release, natural order of build tags) this type uses: one order for
    /// versions everywhere in the aggregator.
    order: Option<crate::analysis::upgrade::version::Version>,
}

/// The text given is not a version; carries nothing, the caller knows the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAVersion;

impl KubeVersion {
    /// Parses `v<major>.<minor>.<patch>[-<pre-release>][+<build>]`, the suffixes made of
    /// `[0-9A-Za-z.-]`.
    pub fn parse(text: &str) -> Result<Self, NotAVersion> {
        let rest = text.strip_prefix('v').ok_or(NotAVersion)?;
        let (core, suffix) = match rest.find(['-', '+']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let mut numbers = core.split('.').map(number);
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return Err(NotAVersion);
        };
        if !suffix_is_valid(suffix) {
            return Err(NotAVersion);
        }
        Ok(Self {
            text: text.to_owned(),
            major,
            minor,
            patch,
            order: crate::analysis::upgrade::version::Version::parse(text).ok(),
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `(major, minor)`, for version-skew rules that count minors.
    pub fn minor(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// The patch number.
    pub fn patch(&self) -> u32 {
        self.patch
    }
}

/// A decimal number without sign or leading zeros (`0` itself is fine).
fn number(part: &str) -> Option<u32> {
    let ok = !part.is_empty()
        && part.bytes().all(|b| b.is_ascii_digit())
        && (part == "0" || !part.starts_with('0'));
    if ok { part.parse().ok() } else { None }
}

/// `""`, or `-pre`, `+build` or `-pre+build` with non-empty parts of `[0-9A-Za-z.-]`.
fn suffix_is_valid(suffix: &str) -> bool {
    let valid_part = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    if suffix.is_empty() {
        return true;
    }
    let (pre, build) = match suffix.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (suffix, None),
    };
    let pre_ok = pre.is_empty() || pre.strip_prefix('-').is_some_and(valid_part);
    pre_ok && build.is_none_or(valid_part)
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for KubeVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl Ord for KubeVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.order, &other.order) {
            (Some(a), Some(b)) => a.cmp(b).then_with(|| self.text.cmp(&other.text)),
            _ => (self.major, self.minor, self.patch, &self.text).cmp(&(
                other.major,
                other.minor,
                other.patch,
                &other.text,
            )),
        }
    }
}

impl PartialOrd for KubeVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The version a group's clusters should run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A version pinned directly (`target = "v1.31.4+k3s1"`).
    Version(KubeVersion),
    /// A channel (`channel = "stable"`) and the version `[channels]` pins it to.
    Channel {
        /// The channel's name.
        name: String,
        /// The version the channel means in this policy.
        resolved: KubeVersion,
    },
}

impl Target {
    /// The version to upgrade to, whichever way it was given.
    pub fn version(&self) -> &KubeVersion {
        match self {
            Self::Version(version)
            | Self::Channel {
                resolved: version, ..
            } => version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_distributions_print_them_parse() {
        for (text, minor, patch) in [
            ("v1.31.4+k3s1", (1, 31), 4),
            ("v1.31.4", (1, 31), 4),
            ("v1.32.0-rc1+k3s1", (1, 32), 0),
            ("v1.30.10-rc.2", (1, 30), 10),
        ] {
            let version = KubeVersion::parse(text).expect(text);
            assert_eq!((version.minor(), version.patch()), (minor, patch), "{text}");
            assert_eq!(version.to_string(), text);
        }
    }

    #[test]
    fn text_that_is_not_a_version_is_refused() {
        for text in [
            "",
            "1.31.4",
            "v1.31",
            "v1.31.4.5",
            "v1.031.4",
            "v1.31.4+",
            "v1.31.4-",
            "v1.31.4+k3s 1",
            "v1.31.x",
            "vv1.31.4",
            "v-1.31.4",
            "v99999999999.1.1",
            "stable",
        ] {
            assert_eq!(KubeVersion::parse(text), Err(NotAVersion), "{text:?}");
        }
    }

    #[test]
    fn versions_order_by_numbers_not_text() {
        let parse = |t| KubeVersion::parse(t).expect(t);
        assert!(parse("v1.9.0") < parse("v1.10.0"));
        assert!(parse("v1.32.0-rc1+k3s1") < parse("v1.32.0+k3s1"));
        assert!(parse("v1.31.4+k3s2") < parse("v1.31.4+k3s10"));
        assert!(parse("v1.31.4+k3s1") < parse("v1.31.10+k3s1"));
        assert!(parse("v1.31.4+k3s1") < parse("v1.31.4+k3s2"));
    }
}
