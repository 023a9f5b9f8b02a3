//! Why a policy file was rejected.
//!
//! Every rejection of a file's content is one [`PolicyError::Invalid`] that displays as
//! `<origin>:<line>:<column>: <what is wrong>` (1-based line and column, the column counted in
//! characters), the form editors and CI annotations jump to. Only the first problem is
//! reported: files are short and fixed one problem at a time. [`Problem`] says what is wrong,
//! typed, so callers and tests never match on message text.
//!
//! The problem is part of the one-line message and deliberately not a `#[source]`: printing the
//! chain must not repeat it.

use std::io;
use std::ops::Range;
use std::path::PathBuf;

use thiserror::Error;

/// A policy that cannot be used. The aggregator keeps the policy it has (or starts without one).
#[derive(Debug, Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read policy file {}", path.display())]
    Read {
        /// The policy file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The text is not TOML, does not fit the schema, or breaks a rule.
    #[error("{origin}:{line}:{column}: {problem}")]
    Invalid {
        /// Where the text came from: the path, or a name such as `<inline>`.
        origin: String,
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column (in characters) of the offending value.
        column: usize,
        /// What is wrong.
        problem: Problem,
    },
}

impl PolicyError {
    /// The problem of an invalid policy; `None` for a read error.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Invalid { problem, .. } => Some(problem),
            Self::Read { .. } => None,
        }
    }

    /// The 1-based line of an invalid policy's problem; `None` for a read error.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Invalid { line, .. } => Some(*line),
            Self::Read { .. } => None,
        }
    }
}

/// What is wrong with one value of a policy file.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Problem {
    /// Not TOML, an unknown key or a value of the wrong type: the TOML parser's message.
    #[error("{0}")]
    Toml(String),
    /// Not a Kubernetes release version.
    #[error("{value:?} is not a Kubernetes version such as \"v1.31.4+k3s1\" or \"v1.31.4\"")]
    Version {
        /// The value as written.
        value: String,
    },
    /// Both `target` and `channel` were given.
    #[error("give either `target` or `channel`, not both")]
    TargetAndChannel,
    /// `channel` names a channel that `[channels]` does not pin.
    #[error("channel {name:?} is not pinned in [channels] (pinned: {pinned})")]
    UnknownChannel {
        /// The channel named.
        name: String,
        /// The pinned channels, comma-separated, or `none`.
        pinned: String,
    },
    /// A name (group, window, channel, cluster name, label, baseline key) breaks its rule.
    #[error("{what} {value:?} is not valid: {rule}")]
    Name {
        /// What kind of name.
        what: &'static str,
        /// The value as written.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A name that must be unique appears twice.
    #[error("{what} {name:?} is already defined on line {first_line}")]
    Duplicate {
        /// What kind of name.
        what: &'static str,
        /// The repeated name.
        name: String,
        /// Line of the first definition.
        first_line: usize,
    },
    /// A group or `[defaults]` names a window that no `[[windows]]` defines.
    #[error("no [[windows]] entry is named {name:?}")]
    UnknownWindow {
        /// The window named.
        name: String,
    },
    /// Not an IANA time zone name known to the bundled database.
    #[error("{name:?} is not an IANA time zone such as \"Europe/Berlin\" or \"UTC\"")]
    UnknownTimeZone {
        /// The value as written.
        name: String,
    },
    /// Not a time of day `HH:MM`.
    #[error("{value:?} is not a time of day \"HH:MM\" from 00:00 to 23:59 (24:00 only as `end`)")]
    Time {
        /// The value as written.
        value: String,
    },
    /// A window whose start equals its end.
    #[error(
        "`start` and `end` are both {value}; for a whole day write start = \"00:00\", end = \"24:00\""
    )]
    EmptyWindow {
        /// The time both are set to.
        value: String,
    },
    /// Not a day of the week.
    #[error("{value:?} is not a day; use mon, tue, wed, thu, fri, sat or sun")]
    Day {
        /// The value as written.
        value: String,
    },
    /// A list that must not be empty is.
    #[error("{what} must not be empty")]
    Empty {
        /// What is empty.
        what: &'static str,
    },
    /// Not a duration such as `6h` or `500ms`, or zero.
    #[error("{value:?} is not a positive duration such as \"500ms\", \"6h\" or \"30d\": {reason}")]
    Duration {
        /// The value as written.
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// A whole number below its minimum or above its maximum.
    #[error("{value} is out of range: {key} must be from {min} to {max}")]
    Integer {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: i64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A ratio outside `(0, 1]`.
    #[error("{value} is out of range: {key} must be a fraction above 0 and at most 1")]
    Ratio {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: f64,
    },
    /// Two thresholds that must be ordered are not (after merging group over global over
    /// defaults).
    #[error("{lower} ({lower_value}) must be less than {upper} ({upper_value})")]
    ThresholdOrder {
        /// The key that must be smaller.
        lower: &'static str,
        /// Its merged value.
        lower_value: String,
        /// The key that must be larger.
        upper: &'static str,
        /// Its merged value.
        upper_value: String,
    },
    /// Not a cluster identity.
    #[error("{value:?} is not a cluster id: {reason}")]
    ClusterId {
        /// The value as written.
        value: String,
        /// Why.
        reason: String,
    },
    /// A cluster listed by id in two groups.
    #[error(
        "cluster {id} is already listed in group {group:?} (line {first_line}); a cluster belongs to one group"
    )]
    ClusterInTwoGroups {
        /// The cluster.
        id: String,
        /// The group that lists it first.
        group: String,
        /// The line where it does.
        first_line: usize,
    },
    /// A group named `default`.
    #[error(
        "the group name \"default\" is reserved for clusters no group selects; configure it in [defaults]"
    )]
    ReservedGroupName,
    /// A group with neither `clusters` nor `match_labels`.
    #[error("group {group:?} selects no cluster: give `clusters`, `match_labels` or both")]
    SelectsNothing {
        /// The group.
        group: String,
    },
    /// Not a glob of literal characters and `*`.
    #[error("{value:?} is not a pattern: {rule}")]
    Glob {
        /// The value as written.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Not 64 lowercase hexadecimal digits.
    #[error("{value:?} is not a SHA-256 digest: write 64 lowercase hexadecimal digits")]
    Sha256 {
        /// The value as written.
        value: String,
    },
    /// A baseline key expectation with both or neither of `value` and `sha256`.
    #[error("give exactly one of `value` or `sha256`")]
    Expected,
    /// A baseline `value` of the wrong shape.
    #[error(
        "`value` must be a string, integer, boolean or (for flag keys) a list of those: {reason}"
    )]
    ExpectedValue {
        /// Why.
        reason: &'static str,
    },
}

/// 1-based line and column (in characters) of byte `offset` in `text`. Never panics: an
/// offset past the end or inside a character counts from the last boundary before it.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Builds [`PolicyError::Invalid`] values for one text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locator<'a> {
    pub(crate) origin: &'a str,
    pub(crate) text: &'a str,
}

impl Locator<'_> {
    /// `problem` at the start of byte range `span`.
    pub(crate) fn error(&self, span: Range<usize>, problem: Problem) -> PolicyError {
        let (line, column) = position(self.text, span.start);
        PolicyError::Invalid {
            origin: self.origin.to_owned(),
            line,
            column,
            problem,
        }
    }

    /// 1-based line of the start of `span`.
    pub(crate) fn line(&self, span: &Range<usize>) -> usize {
        position(self.text, span.start).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(position(text, 0), (1, 1));
        assert_eq!(position(text, 6), (2, 1));
        // "é" is two bytes: byte 9 is the space after it, the third character.
        assert_eq!(position(text, 9), (2, 3));
        // Inside "é" and past the end do not panic.
        assert_eq!(position(text, 8), (2, 2));
        assert_eq!(position(text, 1000), (3, 1));
    }

    #[test]
    fn invalid_policy_displays_origin_line_column_and_problem_on_one_line() {
        let at = Locator {
            origin: "policy.toml",
            text: "\n\nname = \"x\"\n",
        };
        let error = at.error(9..12, Problem::ReservedGroupName);
        assert_eq!(
            error.to_string(),
            "policy.toml:3:8: the group name \"default\" is reserved for clusters no group \
             selects; configure it in [defaults]"
        );
        assert_eq!(error.line(), Some(3));
    }
}
