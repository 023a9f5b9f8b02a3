//! The wall clock as the wire format counts it. Lives here, not in proto, because reading
//! the clock is the kind of I/O proto does not do.

use std::time::{SystemTime, UNIX_EPOCH};

use edgeward_proto::UnixMillis;

/// Milliseconds since the Unix epoch by this machine's clock; 0 for a clock set before 1970,
/// `i64::MAX` beyond the year 292 million.
pub fn now() -> UnixMillis {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2020_and_does_not_go_backwards_within_a_call_pair() {
        let a = now();
        let b = now();
        assert!(a.0 > 1_577_836_800_000, "{a:?}");
        assert!(b.0 >= a.0);
    }
}
