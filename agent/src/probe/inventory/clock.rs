//! The kernel clock's synchronisation state, from adjtimex(2) in read-only mode (DOMAIN.md §5:
//! "time sync (adjtimex: unsynchronised, offset)"; etcd warns above 1 s between peers, §3).
//!
//! | field | source |
//! | --- | --- |
//! | `synchronized` | return value ≠ `TIME_ERROR` (5) and `STA_UNSYNC` clear in `status` |
//! | `offset_us` | `offset`: nanoseconds when `STA_NANO` is set in `status`, else microseconds |
//! | `max_error_us`, `est_error_us` | `maxerror`, `esterror` (always microseconds) |
//! | `read_at` | the wall clock right after the call |
//!
//! The kernel clock is not namespaced, so the host root does not apply: the agent's view is
//! the host's. This file holds the agent's only `unsafe` code (the workspace denies it
//! elsewhere): one libc call with `modes = 0`, which reads and never sets anything, so it
//! needs no privilege (CAP_SYS_TIME is needed only to set).

use std::io;

use edgeward_proto::inventory::Clock;
use edgeward_proto::{Section, UnixMillis};

use crate::probe::io_reason;

/// The adjtimex(2) fields the inventory keeps, widened to `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timex {
    /// adjtimex's return value: the clock state (`TIME_OK` … `TIME_ERROR`).
    pub state: i32,
    pub status: i64,
    pub offset: i64,
    pub maxerror: i64,
    pub esterror: i64,
}

/// Reads the clock state now; `Unavailable` with the errno's reason when the call fails
/// (e.g. a seccomp profile that refuses it).
pub(crate) fn read(now: impl FnOnce() -> UnixMillis) -> Section<Clock> {
    match adjtimex_read_only() {
        Ok(timex) => Section::Data(interpret(timex, now())),
        Err(e) => Section::unavailable(io_reason(e.kind()), format!("adjtimex(2) failed: {e}")),
    }
}

/// The wire [`Clock`] from raw adjtimex fields.
pub(crate) fn interpret(t: Timex, read_at: UnixMillis) -> Clock {
    let status = t.status;
    let nanos = status & i64::from(libc::STA_NANO) != 0;
    Clock {
        synchronized: t.state != libc::TIME_ERROR && status & i64::from(libc::STA_UNSYNC) == 0,
        offset_us: if nanos { t.offset / 1000 } else { t.offset },
        max_error_us: t.maxerror,
        est_error_us: t.esterror,
        read_at,
    }
}

/// adjtimex(2) with `modes = 0`: read the kernel's clock state, change nothing.
// The widening `i64::from` is the identity on 64-bit glibc targets and a real conversion on
// 32-bit ones (armv7 `c_long` is i32); one source for every target the agent builds for.
#[allow(unsafe_code, clippy::useless_conversion)]
fn adjtimex_read_only() -> io::Result<Timex> {
    // SAFETY: `libc::timex` is a plain C struct of integers (and a `timeval` of integers);
    // all-zero bytes are a valid value of it, and `modes = 0` is the read-only request.
    let mut buf: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` is a valid, exclusively borrowed `timex` that lives across the call, and
    // the C library writes only inside it. On 32-bit musl with 64-bit `time_t` the C struct's
    // `time` field is 8 bytes wider than libc's Rust one, but musl copies fields one by one
    // and its last one (`tai`) still lands inside the 44-byte trailing padding; the fields
    // read here all come before `time`, at the same offsets in both layouts.
    let state = unsafe { libc::adjtimex(&mut buf) };
    if state == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(Timex {
        state,
        status: i64::from(buf.status),
        offset: i64::from(buf.offset),
        maxerror: i64::from(buf.maxerror),
        esterror: i64::from(buf.esterror),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timex(state: i32, status: i32, offset: i64) -> Timex {
        Timex {
            state,
            status: i64::from(status),
            offset,
            maxerror: 16_000,
            esterror: 120,
        }
    }

    #[test]
    fn synchronised_needs_no_time_error_and_no_unsync_flag() {
        let at = UnixMillis(1);
        assert!(interpret(timex(libc::TIME_OK, 0, 0), at).synchronized);
        assert!(!interpret(timex(libc::TIME_ERROR, 0, 0), at).synchronized);
        assert!(!interpret(timex(libc::TIME_OK, libc::STA_UNSYNC, 0), at).synchronized);
    }

    #[test]
    fn offset_is_converted_from_nanoseconds_when_sta_nano_is_set() {
        let at = UnixMillis(1);
        assert_eq!(
            interpret(timex(0, libc::STA_NANO, -2_500_000), at).offset_us,
            -2_500
        );
        assert_eq!(interpret(timex(0, 0, -2_500), at).offset_us, -2_500);
        let clock = interpret(timex(0, 0, 0), at);
        assert_eq!((clock.max_error_us, clock.est_error_us), (16_000, 120));
    }

    #[test]
    fn this_machine_answers_adjtimex() {
        let section = read(|| UnixMillis(42));
        let Section::Data(clock) = section else {
            panic!("adjtimex failed here: {section:?}");
        };
        assert_eq!(clock.read_at, UnixMillis(42));
        assert!(clock.max_error_us >= 0, "{clock:?}");
    }
}
