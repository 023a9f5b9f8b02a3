//! Why a probe could not read something, and how that becomes a wire [`Section::Unavailable`].
//!
//! Two layers: [`ParseError`] says what is wrong with a text a parser was given (pure, no
//! paths); [`ProbeError`] adds the operation and the path. Every variant maps to a typed
//! [`UnavailableReason`] without looking at message text; the detail shipped to the aggregator
//! is the error's whole source chain, which names the path.

use std::error::Error as _;
use std::io;
use std::path::PathBuf;

use edgeward_proto::{Section, UnavailableReason};
use thiserror::Error;

/// At most this many characters of offending input are quoted in an error, so a garbage file
/// cannot blow up the detail string that travels on the wire.
const EXCERPT_CHARS: usize = 40;

/// What is wrong with the text of a kernel interface file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("not UTF-8 text")]
    NotUtf8,
    #[error("larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{field} missing")]
    Missing { field: &'static str },
    #[error("{field}: {value:?} is not {expected}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{field}: value overflows 64 bits once converted to {unit}")]
    Overflow {
        field: &'static str,
        unit: &'static str,
    },
}

impl ParseError {
    /// An [`Invalid`](Self::Invalid) quoting at most [`EXCERPT_CHARS`] characters of `value`.
    pub(crate) fn invalid(field: &'static str, value: &str, expected: &'static str) -> Self {
        let value = match value.char_indices().nth(EXCERPT_CHARS) {
            Some((cut, _)) => format!("{}…", &value[..cut]),
            None => value.to_owned(),
        };
        Self::Invalid {
            field,
            value,
            expected,
        }
    }
}

/// A probe's failure to read one thing, with the path it was reading.
#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot parse {}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: ParseError,
    },
    #[error("cannot resolve {} inside the host root", path.display())]
    Resolve {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("statvfs {} failed", path.display())]
    Statvfs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("statvfs {}: {field} × block size overflows 64 bits", path.display())]
    StatvfsOverflow { path: PathBuf, field: &'static str },
}

impl ProbeError {
    /// The typed reason this failure is reported with.
    pub fn reason(&self) -> UnavailableReason {
        match self {
            Self::Read { source, .. }
            | Self::Resolve { source, .. }
            | Self::Statvfs { source, .. } => io_reason(source.kind()),
            Self::Parse { .. } | Self::StatvfsOverflow { .. } => UnavailableReason::Unparseable,
        }
    }

    /// The message and every source below it, `: `-separated: what an operator reads.
    pub fn detail(&self) -> String {
        let mut detail = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        detail
    }

    /// This failure as an unavailable section.
    pub fn to_section<T>(&self) -> Section<T> {
        Section::unavailable(self.reason(), self.detail())
    }
}

/// Maps an I/O error kind to the reason reported on the wire: missing files are `NotFound`,
/// refused access is `PermissionDenied`, anything else is `Failed` (the detail says what).
///
/// `Unsupported` (EOPNOTSUPP) counts as `NotFound`: it is what a kernel interface file that
/// exists but is switched off answers, e.g. `/proc/pressure/*` on kernels booted with `psi=0`
/// that still create the files.
pub fn io_reason(kind: io::ErrorKind) -> UnavailableReason {
    match kind {
        io::ErrorKind::NotFound | io::ErrorKind::Unsupported => UnavailableReason::NotFound,
        io::ErrorKind::PermissionDenied => UnavailableReason::PermissionDenied,
        _ => UnavailableReason::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_kinds_map_to_typed_reasons() {
        assert_eq!(
            io_reason(io::ErrorKind::NotFound),
            UnavailableReason::NotFound
        );
        assert_eq!(
            io_reason(io::ErrorKind::PermissionDenied),
            UnavailableReason::PermissionDenied
        );
        assert_eq!(
            io_reason(io::ErrorKind::Unsupported),
            UnavailableReason::NotFound
        );
        assert_eq!(
            io_reason(io::ErrorKind::InvalidData),
            UnavailableReason::Failed
        );
        assert_eq!(io_reason(io::ErrorKind::Other), UnavailableReason::Failed);
    }

    #[test]
    fn detail_names_the_path_and_the_underlying_error() {
        let err = ProbeError::Read {
            path: PathBuf::from("/host/proc/meminfo"),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(err.reason(), UnavailableReason::PermissionDenied);
        let detail = err.detail();
        assert!(
            detail.starts_with("cannot read /host/proc/meminfo: "),
            "{detail}"
        );
        assert!(detail.contains("permission denied"), "{detail}");
    }

    #[test]
    fn parse_failures_are_unparseable_and_quote_the_field() {
        let err = ProbeError::Parse {
            path: PathBuf::from("/proc/loadavg"),
            source: ParseError::invalid("load1", "x", "a number"),
        };
        let section: Section<()> = err.to_section();
        let Section::Unavailable(u) = section else {
            panic!("expected unavailable, got {section:?}");
        };
        assert_eq!(u.reason, UnavailableReason::Unparseable);
        assert_eq!(
            u.detail,
            "cannot parse /proc/loadavg: load1: \"x\" is not a number"
        );
    }

    #[test]
    fn quoted_garbage_is_cut_to_a_short_excerpt() {
        let huge = "é".repeat(10_000);
        let ParseError::Invalid { value, .. } = ParseError::invalid("f", &huge, "a number") else {
            panic!("expected Invalid");
        };
        assert_eq!(value.chars().count(), EXCERPT_CHARS + 1);
    }
}
