//! Frozen schemas of older protocol versions, and how their messages become current ones.
//!
//! One module per version the aggregator still decodes ([`crate::version::SUPPORTED`]); a
//! version's module is deleted when it leaves that window. The procedure is in
//! [`crate::codec`]'s module doc.
//!
//! # Protocol 1 → 2
//! The rule: a value is carried over only where protocol 2 means the same thing by it. What
//! a v1 agent did not report becomes `Unavailable` with reason
//! [`Disabled`](crate::UnavailableReason::Disabled) ("not part of this agent build") and a
//! detail starting "sent by a protocol-1 agent, which does not report …", or `None`. Where a
//! protocol-2 struct needs a value v1 never had and has no way to say "unknown" (a plain
//! integer, a timestamp, a struct), the struct is not built: its innermost section is
//! `Unavailable` and the detail carries, as text, what the v1 agent did report, so the operator
//! still sees it. Labels (strings) that v1 lacked are empty, which protocol 2 already uses for
//! "not given" (`EtcdHealth::reason`, `IntegrityCheck::message`).
//!
//! | protocol 2 | from protocol 1 |
//! |---|---|
//! | `BatchHeader`, gap records | unchanged; `protocol_version` stays 1: it records what the agent spoke |
//! | `Section`, `Unavailable` | unchanged but for the type; reasons map one to one (`Skipped` never occurs) |
//! | `NodePressure` | every v1 field; `eviction`: not reported (the thresholds the kubelet uses are unknown, so evaluating defaults would be a guess) |
//! | `KubeletHealth::healthz` | v1 `healthz`, as data |
//! | `KubeletHealth::metrics` | not reported; v1's `version` (`kubernetes_build_info`) goes into the detail, and the inventory's `kubelet_version` still carries it |
//! | `KubeletHealth::pods` | v1 `api` unavailable/not due: the same; v1 `api` data: not reported, because `Pods` needs QoS classes, `evicted` and `troubled`, which v1 lacked (zeros or an empty list would claim "none"); the v1 counts go into the detail |
//! | `KubeletHealth::scheduling`, `configz` | not reported |
//! | `Datastore::None`, `Dqlite` | the same; `Dqlite::local`: `None` |
//! | `Datastore::External` | `scheme` empty |
//! | `Datastore::KineSqlite` | not reported: `Sqlite` needs `page_size` and the quick check's `duration_ms`; the v1 values go into the detail |
//! | `Etcd::health` | v1 `healthy`, `reason` empty |
//! | `Etcd::status` | not reported; v1's member count and alarms go into the detail |
//! | `Etcd::metrics` | not reported: `EtcdMetrics` needs `proposals_pending`, and `peer_rtt_p99_secs: None` would mean "no observation"; all v1 values go into the detail |
//! | `Etcd::snapshots` | not reported |
//! | `DiskAudit` | every v1 field; `path` empty |
//! | `Inventory` with certificates | not reported: `Certificate` needs `not_before`; the detail names distro, versions, role, the certificate count and the first to expire |
//! | `Inventory` without certificates | every v1 field; `cluster_identity` not reported; `distro_started_at: None` |
//! | `Inventory::clock` | unavailable/not due: the same; data: not reported (`Clock` needs `est_error_us` and `read_at`), v1 values in the detail |
//! | `ConfigDigest` | key and digest; `value`, `modified_at`: `None` |
//! | `Reply` | unchanged: encoding one for a v1 agent gives the same bytes as v1 did |
//!
//! Memory: decoding a v1 batch holds the v1 samples' fixed part (752 bytes each) while they
//! are converted, and the details are text longer than the v1 values they describe: about
//! 1.5 KiB per sample at most (measured on the canonical v1 batch: 1.2 KiB for a synthetic
//! K3s server sample of 388 wire bytes), besides the strings the input itself carries. With
//! at most 20,000 samples a batch, that is about 30 MiB on top of the current types' own.

pub mod v1;
