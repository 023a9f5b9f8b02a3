//! When the distribution's main process started: configuration changed after it is pending a
//! restart (`Inventory::distro_started_at`).
//!
//! | step | source (under the host root) |
//! | --- | --- |
//! | find the process | `/proc/<pid>/comm`: `k3s-server` or `k3s-agent` (K3s re-executes itself as `data/<hash>/bin/k3s-server`, so that is its command name; `k3s kubectl`, shims and `k3s etcd-snapshot` have others), `kubelite` (MicroK8s) |
//! | start, in ticks since boot | field 22 (`starttime`) of `/proc/<pid>/stat`, counted after the last `)` since the command name may hold spaces and parentheses |
//! | boot time | `btime` of `/proc/stat` (seconds since the epoch) |
//!
//! Ticks are converted at 100 per second: `USER_HZ` (what `/proc` counts in, `sysconf(_SC_CLK_TCK)`)
//! is 100 on every architecture the agent builds for (x86_64, aarch64, armv7), whatever the
//! kernel's `CONFIG_HZ`. When several processes match (a restart in progress), the latest start
//! wins: the process that will keep running. `None` when none is found, including when the
//! agent cannot see the host's PID namespace (a pod without `hostPID` and a private `/proc`).
//! At most [`MAX_PIDS`] `/proc` entries are examined.

use std::fs;

use edgeward_proto::UnixMillis;
use edgeward_proto::inventory::Distro;

use crate::probe::HostRoot;

/// Ticks per second of `/proc/<pid>/stat` times (`USER_HZ`).
const USER_HZ: i64 = 100;
/// Most `/proc` entries examined (`pid_max` defaults to 32768, or 4194304 on 64-bit
/// systemd hosts, which never have that many processes).
const MAX_PIDS: usize = 65_536;

/// When `distro`'s main process started, if one runs.
pub(crate) fn started_at(root: &HostRoot, distro: Distro) -> Option<UnixMillis> {
    let names: &[&str] = match distro {
        Distro::K3s => &["k3s-server", "k3s-agent"],
        Distro::MicroK8s => &["kubelite"],
        Distro::Other => return None,
    };
    let btime = boot_time(&root.read_text("/proc/stat").ok()?)?;
    let mut latest: Option<u64> = None;
    for entry in fs::read_dir(root.join("/proc")).ok()?.take(MAX_PIDS) {
        let Ok(entry) = entry else { continue };
        let Ok(pid) = entry.file_name().into_string() else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(comm) = root.read_text(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if !names.contains(&comm.trim_end_matches('\n')) {
            continue;
        }
        let Some(ticks) = root
            .read_text(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| start_ticks(&stat))
        else {
            continue;
        };
        latest = Some(latest.map_or(ticks, |l| l.max(ticks)));
    }
    let ticks = i64::try_from(latest?).ok()?;
    let millis = btime
        .checked_mul(1000)?
        .checked_add(ticks.checked_mul(1000 / USER_HZ)?)?;
    Some(UnixMillis(millis))
}

/// `btime` of `/proc/stat`.
pub(crate) fn boot_time(stat: &str) -> Option<i64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Field 22 (`starttime`) of `/proc/<pid>/stat`.
pub(crate) fn start_ticks(stat: &str) -> Option<u64> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    // Fields after the command name start at field 3 (`state`): field 22 is the 20th.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_when_the_command_name_has_spaces_and_parens() {
        let stat = "4242 (k3s (odd) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 \
                    30 0 3000 999 111 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(start_ticks(stat), Some(3000));
        assert_eq!(start_ticks("4242 (k3s) S 1"), None);
        assert_eq!(start_ticks("no parenthesis"), None);
    }

    #[test]
    fn boot_time_comes_from_the_btime_line() {
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1795221773\nprocesses 9\n"),
            Some(1_795_221_773)
        );
        assert_eq!(boot_time("cpu 1\n"), None);
    }
}
