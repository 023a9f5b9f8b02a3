//! Kubernetes release versions as nodes report them (DOMAIN.md §4): K3s `v1.31.4+k3s1`,
//! MicroK8s and upstream `v1.31.4`, snap metadata `1.31.4`, release candidates
//! `v1.32.0-rc1+k3s1`. Parsed into numbers and identifiers, with a total order.
//!
//! Invariants:
//! - [`Version::parse`] never panics, whatever the text (a property test feeds it garbage).
//! - The order is total and agrees with `==`: numbers first, then a pre-release sorts *before*
//!   its release (`v1.32.0-rc1 < v1.32.0`), then the build (`+k3s1 < +k3s2 < +k3s10`).
//!   Identifiers compare "naturally" (digit runs by value), so `rc2 < rc10`.
//! - Skew rules count minors: [`Minor`] is a `(major, minor)` pair and [`minor_distance`]
//!   refuses to count across majors.

use std::cmp::Ordering;
use std::fmt;

/// A parsed release version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The pre-release (`rc1` of `v1.32.0-rc1`).
    pub pre: Option<String>,
    /// The build metadata (`k3s1` of `v1.31.4+k3s1`).
    pub build: Option<String>,
}

/// A minor release line: `v1.29`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minor {
    pub major: u32,
    pub minor: u32,
}

/// Why a text is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a version such as v1.31.4+k3s1")]
pub struct NotAVersion {
    /// The text given (trimmed, at most 64 characters).
    pub text: String,
}

impl Version {
    /// Parses `[v]<major>.<minor>.<patch>[-<pre>][+<build>]`; surrounding whitespace is
    /// ignored. Suffixes are non-empty `[0-9A-Za-z.-]`.
    pub fn parse(text: &str) -> Result<Self, NotAVersion> {
        let trimmed = text.trim();
        let refuse = || NotAVersion {
            text: trimmed.chars().take(64).collect(),
        };
        let rest = trimmed.strip_prefix(['v', 'V']).unwrap_or(trimmed);
        let (rest, build) = match rest.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (rest, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let mut numbers = core.split('.').map(number);
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return Err(refuse());
        };
        if !pre.is_none_or(identifiers_valid) || !build.is_none_or(identifiers_valid) {
            return Err(refuse());
        }
        Ok(Self {
            major,
            minor,
            patch,
            pre: pre.map(str::to_owned),
            build: build.map(str::to_owned),
        })
    }

    /// The minor release line this version belongs to.
    pub fn minor_line(&self) -> Minor {
        Minor {
            major: self.major,
            minor: self.minor,
        }
    }
}

impl Minor {
    /// Parses `[v]<major>.<minor>` (a K3s channel name such as `v1.29`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let (major, minor) = t.split_once('.')?;
        Some(Self {
            major: number(major)?,
            minor: number(minor)?,
        })
    }

    /// The next minor of the same major (`None` past `u32::MAX`).
    pub fn next(self) -> Option<Self> {
        Some(Self {
            major: self.major,
            minor: self.minor.checked_add(1)?,
        })
    }
}

/// `to − from` in minors (negative when `to` is older); `None` across majors, where minors
/// cannot be counted.
pub fn minor_distance(from: Minor, to: Minor) -> Option<i64> {
    (from.major == to.major).then(|| i64::from(to.minor) - i64::from(from.minor))
}

/// Digits only, at most 9 of them (fits `u32`); leading zeros are tolerated.
fn number(part: &str) -> Option<u32> {
    let ok = !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit());
    if ok { part.parse().ok() } else { None }
}

/// Non-empty dot-separated identifiers of `[0-9A-Za-z-]`.
fn identifiers_valid(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Compares dot-separated identifiers one by one; a shorter list that is a prefix sorts first.
fn cmp_identifiers(a: &str, b: &str) -> Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => match natural(p, q) {
                Ordering::Equal => {}
                o => return o,
            },
        }
    }
}

/// "Natural" order: runs of digits compare by value, other runs by bytes; a numeric
/// identifier sorts before an alphanumeric one (semver).
fn natural(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let (mut i, mut j) = (0, 0);
    let (x, y) = (a.as_bytes(), b.as_bytes());
    while i < x.len() && j < y.len() {
        let (ri, rj) = (run(x, i), run(y, j));
        let (p, q) = (&x[i..ri], &y[j..rj]);
        let o = match (p[0].is_ascii_digit(), q[0].is_ascii_digit()) {
            (true, true) => cmp_digits(p, q),
            (false, false) => p.cmp(q),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
        (i, j) = (ri, rj);
    }
    (x.len() - i).cmp(&(y.len() - j))
}

/// The end of the run (all digits or all non-digits) starting at `start`.
fn run(s: &[u8], start: usize) -> usize {
    let digit = s[start].is_ascii_digit();
    s[start..]
        .iter()
        .position(|c| c.is_ascii_digit() != digit)
        .map_or(s.len(), |p| start + p)
}

/// Digit runs by value, without overflow: strip leading zeros, then length, then bytes.
fn cmp_digits(p: &[u8], q: &[u8]) -> Ordering {
    let strip = |s: &[u8]| {
        let z = s.iter().take_while(|c| **c == b'0').count();
        s[z..].to_vec()
    };
    let (p, q) = (strip(p), strip(q));
    p.len().cmp(&q.len()).then_with(|| p.cmp(&q))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let numbers =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        let pre = match (&self.pre, &other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => cmp_identifiers(a, b).then_with(|| a.cmp(b)),
        };
        let build = match (&self.build, &other.build) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => cmp_identifiers(a, b).then_with(|| a.cmp(b)),
        };
        numbers.then(pre).then(build)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(p) = &self.pre {
            write!(f, "-{p}")?;
        }
        if let Some(b) = &self.build {
            write!(f, "+{b}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_as_distributions_print_them_parse() {
        for (text, numbers, pre, build) in [
            ("v1.31.4+k3s1", (1, 31, 4), None, Some("k3s1")),
            ("v1.31.4", (1, 31, 4), None, None),
            ("1.31.4", (1, 31, 4), None, None),
            (" v1.31.4\n", (1, 31, 4), None, None),
            ("v1.32.0-rc1+k3s1", (1, 32, 0), Some("rc1"), Some("k3s1")),
            ("v1.30.10-rc.2", (1, 30, 10), Some("rc.2"), None),
            ("v1.28.3-eks-1-28-9", (1, 28, 3), Some("eks-1-28-9"), None),
        ] {
            let got = v(text);
            assert_eq!((got.major, got.minor, got.patch), numbers, "{text:?}");
            assert_eq!(got.pre.as_deref(), pre, "{text:?}");
            assert_eq!(got.build.as_deref(), build, "{text:?}");
        }
    }

    #[test]
    fn text_that_is_not_a_version_is_refused() {
        for text in [
            "",
            "v",
            "v1",
            "v1.31",
            "v1.31.4.5",
            "v1.31.x",
            "v1.31.4+",
            "v1.31.4-",
            "v1.31.4+k3s 1",
            "v1.31.4-rc..1",
            "vv1.31.4",
            "v-1.31.4",
            "v9999999999.1.1",
            "stable",
            "1.31/stable",
        ] {
            assert!(Version::parse(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn versions_order_like_releases() {
        let ascending = [
            "v1.9.0",
            "v1.10.0",
            "v1.31.4+k3s1",
            "v1.31.4+k3s2",
            "v1.31.4+k3s10",
            "v1.31.10",
            "v1.32.0-rc1+k3s1",
            "v1.32.0-rc2+k3s1",
            "v1.32.0-rc10+k3s1",
            "v1.32.0",
            "v1.32.0+k3s1",
            "v2.0.0",
        ];
        for pair in ascending.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn minor_distance_counts_minors_within_a_major_only() {
        let m = |s: &str| v(s).minor_line();
        for (from, to, want) in [
            ("v1.28.9", "v1.31.4+k3s1", Some(3)),
            ("v1.31.4", "v1.31.0", Some(0)),
            ("v1.31.4", "v1.29.0", Some(-2)),
            ("v1.31.4", "v2.0.0", None),
        ] {
            assert_eq!(minor_distance(m(from), m(to)), want, "{from} → {to}");
        }
        assert_eq!(
            Minor::parse("v1.29"),
            Some(Minor {
                major: 1,
                minor: 29
            })
        );
        assert_eq!(Minor::parse("stable"), None);
        assert_eq!(m("v1.29.3").to_string(), "v1.29");
    }

    fn arb_ident() -> impl Strategy<Value = String> {
        "[0-9A-Za-z-]{1,6}(\\.[0-9A-Za-z-]{1,6}){0,2}"
    }

    fn arb_version() -> impl Strategy<Value = Version> {
        (
            0u32..3,
            0u32..40,
            0u32..20,
            proptest::option::of(arb_ident()),
            proptest::option::of(arb_ident()),
        )
            .prop_map(|(major, minor, patch, pre, build)| Version {
                major,
                minor,
                patch,
                pre,
                build,
            })
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,40}") {
            let _ = Version::parse(&text);
            let _ = Minor::parse(&text);
        }

        #[test]
        fn parsing_version_like_text_never_panics(text in "[vV]?[0-9.+a-z-]{0,24}") {
            if let Ok(parsed) = Version::parse(&text) {
                prop_assert_eq!(Version::parse(&parsed.to_string()), Ok(parsed));
            }
        }

        #[test]
        fn a_version_parses_back_from_its_text(version in arb_version()) {
            prop_assert_eq!(Version::parse(&version.to_string()), Ok(version));
        }

        #[test]
        fn the_order_is_total_and_agrees_with_equality(a in arb_version(), b in arb_version(), c in arb_version()) {
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
        }
    }
}
