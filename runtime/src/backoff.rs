//! The one jittered exponential backoff every edgeward retry loop shares (the agent's uplink,
//! the aggregator's alert push): "full jitter", each wait uniform in
//! `[0, min(cap, base * 2^attempt)]`, so peers that lost the same server do not come back in
//! lockstep.

use std::time::Duration;

/// First ceiling of the backoff.
pub const BASE: Duration = Duration::from_millis(250);

/// Exponential backoff with full jitter, capped.
#[derive(Debug, Clone)]
pub struct Backoff {
    cap: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// A backoff whose waits never exceed `cap`.
    pub fn new(cap: Duration) -> Self {
        let mut seed = [0u8; 8];
        // A failed seed only makes the jitter predictable, never wrong.
        let _ = getrandom::getrandom(&mut seed);
        Self {
            cap,
            attempt: 0,
            rng: u64::from_le_bytes(seed) | 1,
        }
    }

    /// The ceiling of the next wait: `min(cap, BASE * 2^attempt)`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(30)).unwrap_or(u32::MAX);
        BASE.saturating_mul(factor).min(self.cap)
    }

    /// The next wait, uniform in `[0, ceiling]`; raises the ceiling for the one after.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64*: enough for jitter.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(if nanos == 0 { 0 } else { r % (nanos + 1) })
    }

    /// After a success: the next failure starts from [`BASE`] again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failures since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_under_a_ceiling_that_doubles_up_to_the_cap() {
        let cap = Duration::from_secs(60);
        let mut b = Backoff::new(cap);
        let mut ceilings = Vec::new();
        for _ in 0..20 {
            let ceiling = b.ceiling();
            ceilings.push(ceiling);
            assert!(b.next_wait() <= ceiling);
        }
        assert_eq!(ceilings[0], BASE);
        assert_eq!(ceilings[1], BASE * 2);
        assert_eq!(ceilings[19], cap);
        assert!(ceilings.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn jitter_spreads_waits_instead_of_repeating_one_value() {
        let mut b = Backoff::new(Duration::from_secs(60));
        for _ in 0..10 {
            b.next_wait();
        }
        let waits: std::collections::HashSet<_> = (0..50).map(|_| b.next_wait()).collect();
        assert!(waits.len() > 40, "{} distinct waits", waits.len());
    }

    #[test]
    fn reset_starts_over_from_the_base() {
        let mut b = Backoff::new(Duration::from_secs(60));
        for _ in 0..8 {
            b.next_wait();
        }
        b.reset();
        assert_eq!(b.ceiling(), BASE);
        assert_eq!(b.attempts(), 0);
    }
}
