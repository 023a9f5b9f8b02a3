//! proptest strategies for every wire type, shared by the round-trip and hostile-input tests:
//! shared pieces, samples, batches and replies here; the sections in [`node`] (pressure,
//! kubelet) and [`store`] (datastore, inventory); the frozen protocol-1 types in [`v1`].
//!
//! Floats are finite or infinite, never NaN, so that round trips can compare with `==`.
#![allow(dead_code)]

pub mod node;
pub mod store;
pub mod v1;

use edgeward_proto::batch::{Batch, BatchHeader};
use edgeward_proto::bounded::Bounded;
use edgeward_proto::gap::{GapReason, GapRecord};
use edgeward_proto::ident::*;
use edgeward_proto::reply::{RejectReason, Reply, StreamAck, Verdict};
use edgeward_proto::sample::*;
use edgeward_proto::version::ProtocolRange;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /._:+-]{0,24}"
}

pub fn float() -> impl Strategy<Value = f32> {
    (0u32..10_000_000).prop_map(|x| x as f32 / 1000.0)
}

/// Finite values of either sign, plus both infinities (certificate TTLs are +Inf).
pub fn float64() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => any::<i64>().prop_map(|x| x as f64 / 1e6),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
    ]
}

pub fn bounded<T: std::fmt::Debug, const N: usize>(
    s: impl Strategy<Value = T>,
    max: usize,
) -> impl Strategy<Value = Bounded<T, N>> {
    vec(s, 0..=max.min(N)).prop_map(|v| Bounded::try_from(v).unwrap())
}

pub fn node_id() -> impl Strategy<Value = NodeId> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,2}"
        .prop_map(|s| NodeId::new(s).unwrap())
}

pub fn cluster_id() -> impl Strategy<Value = ClusterId> {
    "[A-Za-z0-9._:-]{1,64}".prop_map(|s| ClusterId::new(s).unwrap())
}

pub fn millis() -> impl Strategy<Value = UnixMillis> {
    any::<i64>().prop_map(UnixMillis)
}

pub fn unavailable() -> impl Strategy<Value = Unavailable> {
    use UnavailableReason::*;
    let reason = prop_oneof![
        Just(Disabled),
        Just(NotApplicable),
        Just(NotFound),
        Just(PermissionDenied),
        Just(Unreachable),
        Just(Timeout),
        Just(Unauthorized),
        Just(Unparseable),
        Just(Failed),
        Just(Skipped),
    ];
    (reason, text()).prop_map(|(reason, detail)| Unavailable { reason, detail })
}

pub fn section<T: Clone + std::fmt::Debug + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Section<T>> {
    prop_oneof![
        s.prop_map(Section::Data),
        unavailable().prop_map(Section::Unavailable),
        option::of(any::<u64>().prop_map(Seq)).prop_map(|last| Section::NotDue { last }),
    ]
    .boxed()
}

pub fn sample_at(seq: u64) -> BoxedStrategy<Sample> {
    (
        millis(),
        section(node::pressure()),
        section(node::kubelet()),
        section(store::datastore()),
        section(store::inventory()),
    )
        .prop_map(
            move |(at, pressure, kubelet, datastore, inventory)| Sample {
                seq: Seq(seq),
                at,
                pressure,
                kubelet,
                datastore,
                inventory,
            },
        )
        .boxed()
}

pub fn sample() -> impl Strategy<Value = Sample> {
    any::<u64>().prop_flat_map(sample_at)
}

pub fn gap_reason() -> impl Strategy<Value = GapReason> {
    prop_oneof![
        Just(GapReason::SizeBound),
        Just(GapReason::Corruption),
        Just(GapReason::RejectedByAggregator)
    ]
}

/// A gap record in `stream` covering `first..=last` (count within the range).
pub fn gap_in(stream: StreamId, first: u64, last: u64) -> impl Strategy<Value = GapRecord> {
    (
        1..=last - first + 1,
        option::of(millis()),
        option::of(millis()),
        gap_reason(),
    )
        .prop_map(move |(count, first_at, last_at, reason)| GapRecord {
            stream,
            first_seq: Seq(first),
            last_seq: Seq(last),
            first_at,
            last_at,
            count,
            reason,
        })
}

/// The parts of a valid batch of `version` whose samples come from `sample_at`: up to five
/// samples with increasing seqs, then one gap record of this stream after them and one of an
/// older stream.
pub fn batch_parts<S: Clone + std::fmt::Debug + 'static>(
    version: u16,
    sample_at: fn(u64) -> BoxedStrategy<S>,
) -> impl Strategy<Value = (BatchHeader, Vec<S>, Vec<GapRecord>)> {
    (
        0u64..1 << 40,
        0usize..6,
        any::<bool>(),
        any::<u64>().prop_map(StreamId),
    )
        .prop_flat_map(move |(first, n, with_gap, stream)| {
            let samples = (0..n)
                .map(|i| sample_at(first + 2 * i as u64))
                .collect::<Vec<_>>();
            let after = first + 2 * n as u64;
            let gaps = if with_gap || n == 0 {
                vec![
                    gap_in(stream, after, after + 9).boxed(),
                    gap_in(StreamId(stream.0 ^ 1), 1, 50).boxed(),
                ]
            } else {
                vec![]
            };
            let last = if with_gap || n == 0 {
                after + 9
            } else {
                after.saturating_sub(2)
            };
            let header = (
                node_id(),
                option::of(cluster_id()),
                text(),
                any::<[u8; 16]>(),
                millis(),
            )
                .prop_map(
                    move |(node, cluster, agent_version, boot, sent_at)| BatchHeader {
                        protocol_version: version,
                        node,
                        cluster,
                        agent_version,
                        boot_id: BootId(boot),
                        stream,
                        first_seq: Seq(first),
                        last_seq: Seq(last),
                        sent_at,
                    },
                );
            (header, samples, gaps)
        })
}

/// A valid batch of the current protocol.
pub fn batch() -> impl Strategy<Value = Batch> {
    batch_parts(edgeward_proto::PROTOCOL_VERSION, sample_at).prop_map(|(header, samples, gaps)| {
        Batch {
            header,
            samples: Bounded::try_from(samples).unwrap(),
            gaps: Bounded::try_from(gaps).unwrap(),
        }
    })
}

pub fn reply() -> impl Strategy<Value = Reply> {
    let reason = prop_oneof![
        Just(RejectReason::Malformed),
        Just(RejectReason::TooLarge),
        Just(RejectReason::Unauthenticated),
        Just(RejectReason::IdentityMismatch)
    ];
    let verdict = prop_oneof![
        Just(Verdict::Accepted),
        text().prop_map(|detail| Verdict::RetryLater { detail }),
        (reason, text()).prop_map(|(reason, detail)| Verdict::Rejected { reason, detail }),
    ];
    let ack = (any::<u64>(), any::<u64>()).prop_map(|(s, q)| StreamAck {
        stream: StreamId(s),
        acked_through: Seq(q),
    });
    let range = (any::<u16>(), any::<u16>()).prop_map(|(a, b)| ProtocolRange {
        oldest: a.min(b),
        newest: a.max(b),
    });
    (verdict, bounded(ack, 4), option::of(any::<u32>()), range).prop_map(
        |(verdict, acks, retry_after_ms, protocol)| Reply {
            verdict,
            acks,
            retry_after_ms,
            protocol,
        },
    )
}
