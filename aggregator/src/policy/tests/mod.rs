//! Unit tests of the fleet policy, by concern: parsing and validation (with a corpus of broken
//! files in `broken/`), group resolution and merging, windows, the baseline, and reloading.

mod baseline;
mod groups;
mod parse;
mod reload;
mod windows;

use edgeward_proto::{ClusterId, UnixMillis};

use super::{Policy, PolicyError, Problem};

/// The documented example, which must stay valid.
const EXAMPLE: &str = include_str!("../../../../deploy/policy.example.toml");

/// Parses `text` that must be valid.
fn policy(text: &str) -> Policy {
    Policy::parse(text, "policy.toml").unwrap_or_else(|e| panic!("valid policy expected: {e}"))
}

/// Parses `text` that must be invalid: the line, the problem and the whole message.
fn rejected(text: &str) -> (usize, Problem, String) {
    match Policy::parse(text, "policy.toml") {
        Err(e @ PolicyError::Invalid { .. }) => {
            let line = e.line().unwrap_or(0);
            let problem = e.problem().cloned().unwrap_or(Problem::Expected);
            (line, problem, e.to_string())
        }
        Err(other) => panic!("expected an invalid policy, got {other}"),
        Ok(_) => panic!("expected an invalid policy, it parsed:\n{text}"),
    }
}

/// A cluster id like agents report: 64 lowercase hex digits, all `digit`.
fn cluster(digit: char) -> ClusterId {
    ClusterId::new(digit.to_string().repeat(64)).expect("valid id")
}

/// An RFC 3339 instant (`2025-03-30T01:30:00Z`, or with an offset).
fn at(text: &str) -> UnixMillis {
    let ts: jiff::Timestamp = text.parse().expect("RFC 3339 instant");
    UnixMillis(ts.as_millisecond())
}
