//! Parsers for the text of kernel interface files under `/proc`: pure functions from `&str`,
//! no I/O, so every one can be fed arbitrary input in tests.
//!
//! Invariant: no parser panics, on any input. Numbers are ASCII digits only (no sign, no
//! exponent), fractions must be finite and non-negative, and a unit the kernel always prints
//! (meminfo's `kB`) is required, so a file cut off mid-number is refused rather than read as a
//! smaller value. Lines and `key=value` pairs the parsers do not know are skipped, so a newer
//! kernel adding fields does not break them.

use edgeward_proto::BootId;
use edgeward_proto::pressure::{Load, Memory, PsiLine, PsiResource};

use super::error::ParseError;

/// `/proc/loadavg`: `1.16 1.50 1.63 3/86 24902`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LoadAvg {
    pub load: Load,
    /// The number after the `/` in the fourth field: every kernel scheduling entity
    /// (processes and threads) that currently exists.
    pub tasks: u64,
}

/// `MemTotal` and `MemAvailable` from `/proc/meminfo`, in bytes.
pub(crate) fn meminfo(text: &str) -> Result<Memory, ParseError> {
    let mut total = None;
    let mut available = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let (slot, field) = match key {
            "MemTotal" => (&mut total, "MemTotal"),
            "MemAvailable" => (&mut available, "MemAvailable"),
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(kib_as_bytes(field, rest)?);
        }
    }
    Ok(Memory {
        total_bytes: total.ok_or(ParseError::Missing { field: "MemTotal" })?,
        // Absent before Linux 3.14; estimating it from MemFree + Cached would be a guess.
        available_bytes: available.ok_or(ParseError::Missing {
            field: "MemAvailable",
        })?,
    })
}

/// `   24684084 kB` → bytes.
fn kib_as_bytes(field: &'static str, rest: &str) -> Result<u64, ParseError> {
    let mut words = rest.split_whitespace();
    let (Some(number), Some("kB"), None) = (words.next(), words.next(), words.next()) else {
        return Err(ParseError::invalid(field, rest.trim(), "`<number> kB`"));
    };
    digits(field, number)?
        .checked_mul(1024)
        .ok_or(ParseError::Overflow {
            field,
            unit: "bytes",
        })
}

/// One `/proc/pressure/<resource>` file. `some` is required; `full` is optional (cpu has none
/// before Linux 5.13).
pub(crate) fn psi_resource(text: &str) -> Result<PsiResource, ParseError> {
    let mut some = None;
    let mut full = None;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("some") => some = Some(psi_line("some", words)?),
            Some("full") => full = Some(psi_line("full", words)?),
            _ => {}
        }
    }
    Ok(PsiResource {
        some: some.ok_or(ParseError::Missing { field: "some" })?,
        full,
    })
}

/// `avg10=5.42 avg60=6.27 avg300=5.70 total=638499004`, after the `some`/`full` word.
fn psi_line<'a>(
    kind: &'static str,
    pairs: impl Iterator<Item = &'a str>,
) -> Result<PsiLine, ParseError> {
    let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(ParseError::invalid(kind, pair, "`key=value`"));
        };
        match key {
            "avg10" => avg10 = Some(fraction("avg10", value)?),
            "avg60" => avg60 = Some(fraction("avg60", value)?),
            "avg300" => avg300 = Some(fraction("avg300", value)?),
            "total" => total = Some(digits("total", value)?),
            _ => {}
        }
    }
    Ok(PsiLine {
        avg10: avg10.ok_or(ParseError::Missing { field: "avg10" })?,
        avg60: avg60.ok_or(ParseError::Missing { field: "avg60" })?,
        avg300: avg300.ok_or(ParseError::Missing { field: "avg300" })?,
        total_us: total.ok_or(ParseError::Missing { field: "total" })?,
    })
}

/// `/proc/loadavg`. The fifth field (last pid) is not needed and not required.
pub(crate) fn loadavg(text: &str) -> Result<LoadAvg, ParseError> {
    let mut words = text.split_whitespace();
    let mut next = |field| words.next().ok_or(ParseError::Missing { field });
    let one = fraction("load1", next("load1")?)?;
    let five = fraction("load5", next("load5")?)?;
    let fifteen = fraction("load15", next("load15")?)?;
    let entities = next("running/total")?;
    let Some((running, tasks)) = entities.split_once('/') else {
        return Err(ParseError::invalid(
            "running/total",
            entities,
            "`<running>/<total>`",
        ));
    };
    digits("running", running)?;
    Ok(LoadAvg {
        load: Load { one, five, fifteen },
        tasks: digits("total", tasks)?,
    })
}

/// `/proc/uptime`: `3950.46 2166.63` → whole seconds since boot (3950).
pub(crate) fn uptime_secs(text: &str) -> Result<u64, ParseError> {
    let first = text
        .split_whitespace()
        .next()
        .ok_or(ParseError::Missing { field: "uptime" })?;
    let (whole, frac) = first.split_once('.').unwrap_or((first, "0"));
    digits("uptime", frac)?;
    digits("uptime", whole)
}

/// A file holding one unsigned integer, such as `/proc/sys/kernel/pid_max`.
pub(crate) fn integer(field: &'static str, text: &str) -> Result<u64, ParseError> {
    digits(field, text.trim())
}

/// `/proc/sys/kernel/random/boot_id`: a UUID such as `d703c74f-0c16-424f-88b5-a2513d435206`.
pub(crate) fn boot_id(text: &str) -> Result<BootId, ParseError> {
    const FIELD: &str = "boot_id";
    const EXPECTED: &str = "a UUID (8-4-4-4-12 hex digits)";
    let uuid = text.trim();
    let bad = || ParseError::invalid(FIELD, uuid, EXPECTED);
    let groups: Vec<&str> = uuid.split('-').collect();
    let shape = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
    if !shape
        || !groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(bad());
    }
    let hex: Vec<u8> = groups.concat().into_bytes();
    let mut bytes = [0u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(BootId(bytes))
}

/// A non-empty run of ASCII digits as a `u64`.
fn digits(field: &'static str, s: &str) -> Result<u64, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::invalid(field, s, "a non-negative integer"));
    }
    s.parse()
        .map_err(|_| ParseError::invalid(field, s, "an integer that fits 64 bits"))
}

/// A decimal such as `5.42`: digits, optionally one `.` and more digits. Finite by
/// construction (f32 saturates huge values to infinity, which is refused).
fn fraction(field: &'static str, s: &str) -> Result<f32, ParseError> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let expected = "a decimal such as 5.42";
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(frac) {
        return Err(ParseError::invalid(field, s, expected));
    }
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ParseError::invalid(field, s, expected)),
    }
}

#[cfg(test)]
#[path = "procfs_tests.rs"]
mod tests;
