//! Kernel settings a Kubernetes node depends on, as `sysctl:<name>` digests with their values
//! (a sysctl holds no secret). Read from `/proc/sys/<name with / for .>` under the host root.
//!
//! The set: forwarding and bridge netfilter (pod networking breaks without them), the
//! kubelet's `--protect-kernel-defaults` set (`vm.overcommit_memory`, `vm.panic_on_oom`,
//! `kernel.panic`, `kernel.panic_on_oops`, `kernel.keys.root_maxkeys`,
//! `kernel.keys.root_maxbytes`, checked by K3s CIS hardening), inotify limits (too many pods
//! watching files exhaust them), connection tracking, listen backlog, PID and file limits, and
//! swappiness.
//!
//! The value is the file's whitespace-separated words joined by one space
//! (`ip_local_port_range` prints a tab). A sysctl the kernel does not have (bridge netfilter
//! without `br_netfilter` loaded) is left out: its absence is what differs between nodes. One
//! that exists but cannot be read is `sysctl:<name>:!unreadable`.

use tracing::debug;

use super::super::files::sha256;
use super::Digests;
use crate::probe::HostRoot;

/// The sysctls digested, by name.
pub(crate) const SYSCTLS: [&str; 19] = [
    "net.ipv4.ip_forward",
    "net.ipv6.conf.all.forwarding",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.ipv4.conf.all.rp_filter",
    "net.netfilter.nf_conntrack_max",
    "net.core.somaxconn",
    "net.ipv4.ip_local_port_range",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "vm.swappiness",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "kernel.pid_max",
    "fs.inotify.max_user_instances",
    "fs.inotify.max_user_watches",
    "fs.file-max",
];

/// Adds `sysctl:<name>` for every sysctl of [`SYSCTLS`] this kernel has.
pub(crate) fn collect(root: &HostRoot, digests: &mut Digests) {
    for name in SYSCTLS {
        let path = format!("/proc/sys/{}", name.replace('.', "/"));
        match root.read_text(&path) {
            Ok(text) => {
                let value = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let digest = sha256(value.as_bytes());
                digests.add_digest(format!("sysctl:{name}"), digest, Some(value), None);
            }
            Err(e) => {
                debug!(sysctl = name, error = %e.detail(), "Sysctl not read");
                digests.unreadable(&format!("sysctl:{name}"), &e);
            }
        }
    }
}
