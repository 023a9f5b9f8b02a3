//! Kubernetes resource quantities as pods and `/configz` write them: `100m`, `0.5`, `2`,
//! `128Mi`, `1G`, `1e3`, `500u`.
//!
//! Grammar (k8s.io/apimachinery `resource.Quantity`): an optional sign, a decimal number
//! (`1`, `1.5`, `.5`, `5.`), then one suffix: binary `Ki Mi Gi Ti Pi Ei`, decimal
//! `n u m "" k M G T P E`, or a decimal exponent `e<int>` / `E<int>` (`1E` alone is exa).
//!
//! Invariants: exact arithmetic (mantissa × 1024^k × 10^e in `u128`), no floating point, so
//! `1.1Gi` and `0.1` come out exactly as the API server computes them; results round **up**
//! like `Quantity.Value()` / `MilliValue()`; negative and overflowing values are errors,
//! never wrapped; never panics on any input.
//!
//! Why not `edgeward_proto::eviction::parse_quantity`: it reads thresholds through `f64` and
//! knows neither `m`/`u`/`n`, exponents, signs, nor `.5`, all of which appear in pod specs.

use thiserror::Error;

/// Longest quoted excerpt of a bad quantity in an error.
const EXCERPT: usize = 40;
/// Largest decimal exponent accepted; anything above overflows `u64` in every unit anyway.
const MAX_EXP: i32 = 64;

/// A quantity the kubelet would not have accepted, or one too large for `u64`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    #[error("{0:?} is not a Kubernetes quantity")]
    Invalid(String),
    #[error("{0:?} is negative")]
    Negative(String),
    #[error("{0:?} overflows 64 bits")]
    Overflow(String),
}

/// A parsed, non-negative quantity: `mantissa × 1024^binary × 10^exp10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    mantissa: u128,
    exp10: i32,
    binary: u32,
}

/// Parses `text` into an exact [`Amount`].
pub fn parse(text: &str) -> Result<Amount, QuantityError> {
    let t = text.trim();
    let excerpt = || t.chars().take(EXCERPT).collect::<String>();
    let invalid = || QuantityError::Invalid(excerpt());
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let number_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(number_end);
    let (mantissa, mut exp10) = decimal(number).ok_or_else(invalid)?;
    let mut binary = 0;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => binary = 1,
        "Mi" => binary = 2,
        "Gi" => binary = 3,
        "Ti" => binary = 4,
        "Pi" => binary = 5,
        "Ei" => binary = 6,
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = exponent(&s[1..]).ok_or_else(invalid)?;
            exp10 = exp10.checked_add(e).ok_or_else(invalid)?;
        }
        _ => return Err(invalid()),
    }
    if negative && mantissa != 0 {
        return Err(QuantityError::Negative(excerpt()));
    }
    Ok(Amount {
        mantissa,
        exp10,
        binary,
    })
}

/// CPU in millicores, rounded up (`MilliValue()`): `100m` → 100, `0.5` → 500, `1u` → 1.
pub fn cpu_millis(text: &str) -> Result<u64, QuantityError> {
    scaled(text, 3)
}

/// Bytes, rounded up (`Value()`): `128Mi` → 134217728, `1G` → 10⁹, `1e3` → 1000.
pub fn bytes(text: &str) -> Result<u64, QuantityError> {
    scaled(text, 0)
}

fn scaled(text: &str, scale: i32) -> Result<u64, QuantityError> {
    parse(text)?
        .ceil_scaled(scale)
        .ok_or_else(|| QuantityError::Overflow(text.trim().chars().take(EXCERPT).collect()))
}

impl Amount {
    /// ⌈value × 10^scale⌉, or `None` when it does not fit in `u64`.
    pub fn ceil_scaled(self, scale: i32) -> Option<u64> {
        let mut numerator = self.mantissa;
        for _ in 0..self.binary {
            numerator = numerator.checked_mul(1024)?;
        }
        let exp = self.exp10.checked_add(scale)?;
        let value = if exp >= 0 {
            numerator.checked_mul(10u128.checked_pow(u32::try_from(exp).ok()?)?)?
        } else {
            match 10u128.checked_pow(exp.unsigned_abs()) {
                Some(denominator) => numerator.div_ceil(denominator),
                // Below 10^-38 of a unit: any non-zero amount rounds up to one.
                None => u128::from(numerator > 0),
            }
        };
        u64::try_from(value).ok()
    }
}

/// `12.50` → (1250, -2). At least one digit, at most one dot.
fn decimal(number: &str) -> Option<(u128, i32)> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    let mut mantissa: u128 = 0;
    for b in whole.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(u128::from(b.checked_sub(b'0')?))?;
    }
    Some((mantissa, -i32::try_from(frac.len()).ok()?))
}

/// The signed integer of a decimal exponent, bounded by [`MAX_EXP`].
fn exponent(text: &str) -> Option<i32> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4 {
        return None;
    }
    let e: i32 = text.parse().ok()?;
    (e.abs() <= MAX_EXP).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cpu_quantities_become_millicores() {
        for (text, millis) in [
            ("100m", 100),
            ("0.5", 500),
            ("2", 2000),
            ("1.5", 1500),
            (".25", 250),
            ("5.", 5000),
            ("+1", 1000),
            ("250000u", 250),
            ("1u", 1),
            ("1n", 1),
            ("0", 0),
            ("-0", 0),
            ("2k", 2_000_000),
        ] {
            assert_eq!(cpu_millis(text), Ok(millis), "{text}");
        }
    }

    #[test]
    fn memory_quantities_become_bytes() {
        for (text, bytes_) in [
            ("128Mi", 128 << 20),
            ("1Gi", 1 << 30),
            ("1.5Gi", 3 << 29),
            ("1G", 1_000_000_000),
            ("1e3", 1000),
            ("1E3", 1000),
            ("12e-1", 2),
            ("1E", 1_000_000_000_000_000_000),
            ("1000m", 1),
            ("1500m", 2),
            ("200Mi", 209_715_200),
            ("1Ki", 1024),
            ("0.1Ki", 103),
        ] {
            assert_eq!(bytes(text), Ok(bytes_), "{text}");
        }
    }

    #[test]
    fn malformed_negative_and_huge_quantities_are_errors() {
        for bad in [
            "", "Mi", "1.2.3", "1e", "1ee3", "1x", "1 Mi", "--1", "1e+", "1mi", "1KB", ".",
        ] {
            assert!(
                matches!(bytes(bad), Err(QuantityError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            cpu_millis("-100m"),
            Err(QuantityError::Negative(_))
        ));
        assert!(matches!(bytes("20Ei"), Err(QuantityError::Overflow(_))));
        assert!(matches!(bytes("1e30"), Err(QuantityError::Overflow(_))));
        assert!(matches!(bytes("1e9999"), Err(QuantityError::Invalid(_))));
        assert!(matches!(
            bytes(&"9".repeat(60)),
            Err(QuantityError::Invalid(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = cpu_millis(&text);
            let _ = bytes(&text);
        }

        #[test]
        fn whole_millicores_round_trip(m in 0u64..10_000_000) {
            prop_assert_eq!(cpu_millis(&format!("{m}m")), Ok(m));
            prop_assert_eq!(bytes(&format!("{m}Ki")), Ok(m * 1024));
        }
    }
}
