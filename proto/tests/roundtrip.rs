//! Every message survives encode → decode unchanged, compressed or not; and every message a
//! protocol-1 agent can send decodes into a valid current batch, converted as documented in
//! `proto/src/legacy/mod.rs`.

mod arb;
mod legacy_v1;

use edgeward_proto::codec::legacy::v1;
use edgeward_proto::envelope::{self, Compression, EncodeOptions, Kind, Limits};
use edgeward_proto::{
    Batch, PROTOCOL_VERSION, Reply, Section, decode_batch, decode_reply, encode_batch, encode_reply,
};
use proptest::prelude::*;

const ALWAYS_ZSTD: EncodeOptions = EncodeOptions {
    compression: Compression::Zstd { level: 3 },
    compress_from: 0,
};

/// A frame as a v1 agent builds it: postcard of the v1 types in a version-1 envelope.
fn v1_frame<T: serde::Serialize>(kind: Kind, msg: &T, opts: &EncodeOptions) -> Vec<u8> {
    let raw = postcard::to_allocvec(msg).unwrap();
    envelope::seal(v1::VERSION, kind, &raw, opts).unwrap()
}

/// Which state a section is in, ignoring its content.
fn state<T>(s: &Section<T>) -> &'static str {
    match s {
        Section::Data(_) => "data",
        Section::Unavailable(_) => "unavailable",
        Section::NotDue { .. } => "not due",
    }
}

fn v1_state<T>(s: &v1::Section<T>) -> &'static str {
    match s {
        v1::Section::Data(_) => "data",
        v1::Section::Unavailable(_) => "unavailable",
        v1::Section::NotDue { .. } => "not due",
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_batch_round_trips_uncompressed_and_compressed(batch in arb::batch()) {
        prop_assert_eq!(batch.validate(), Ok(()));
        for opts in [EncodeOptions::UNCOMPRESSED, ALWAYS_ZSTD, EncodeOptions::default()] {
            let frame = encode_batch(&batch, &opts).unwrap();
            prop_assert_eq!(&decode_batch(&frame, &Limits::default()).unwrap(), &batch);
        }
    }

    #[test]
    fn every_reply_round_trips_in_every_supported_version(reply in arb::reply()) {
        let supported = edgeward_proto::version::SUPPORTED;
        for version in supported.oldest..=supported.newest {
            for opts in [EncodeOptions::UNCOMPRESSED, ALWAYS_ZSTD] {
                let frame = encode_reply(&reply, version, &opts).unwrap();
                prop_assert_eq!(envelope::peek_version(&frame), Ok(version));
                prop_assert_eq!(&decode_reply(&frame, &Limits::default()).unwrap(), &reply);
            }
        }
    }

    #[test]
    fn every_sample_section_round_trips_alone(sample in arb::sample()) {
        let bytes = postcard::to_allocvec(&sample).unwrap();
        prop_assert_eq!(postcard::from_bytes::<edgeward_proto::Sample>(&bytes).unwrap(), sample);
    }

    #[test]
    fn every_v1_batch_decodes_into_a_valid_current_batch(legacy in arb::v1::batch()) {
        for opts in [EncodeOptions::UNCOMPRESSED, ALWAYS_ZSTD] {
            let frame = v1_frame(Kind::Batch, &legacy, &opts);
            let batch = decode_batch(&frame, &Limits::default()).unwrap();
            prop_assert_eq!(batch.validate(), Ok(()));
            prop_assert_eq!(batch.header.protocol_version, 1);
            prop_assert_eq!(&batch, &Batch::from(legacy.clone()));
            // The aggregator can store and re-ship it as a current batch.
            let mut current = batch;
            current.header.protocol_version = PROTOCOL_VERSION;
            let again = encode_batch(&current, &EncodeOptions::default()).unwrap();
            prop_assert_eq!(decode_batch(&again, &Limits::default()).unwrap(), current);
        }
    }

    #[test]
    fn v1_sections_keep_their_state_reason_and_detail(legacy in arb::v1::batch()) {
        let batch = Batch::from(legacy.clone());
        prop_assert_eq!(batch.samples.len(), legacy.samples.len());
        prop_assert_eq!(&batch.gaps[..], &legacy.gaps[..]);
        for (new, old) in batch.samples.iter().zip(legacy.samples.iter()) {
            prop_assert_eq!((new.seq, new.at), (old.seq, old.at));
            let pairs = [
                (state(&new.pressure), v1_state(&old.pressure)),
                (state(&new.kubelet), v1_state(&old.kubelet)),
                (state(&new.datastore), v1_state(&old.datastore)),
            ];
            for (n, o) in pairs {
                prop_assert_eq!(n, o);
            }
            match (&new.inventory, &old.inventory) {
                (Section::Unavailable(n), v1::Section::Unavailable(o)) => {
                    prop_assert_eq!(&n.detail, &o.detail);
                    prop_assert_eq!(format!("{:?}", n.reason), format!("{:?}", o.reason));
                }
                (Section::NotDue { last: n }, v1::Section::NotDue { last: o }) => prop_assert_eq!(n, o),
                // Data stays data unless it carried certificates, which cannot convert.
                (n, v1::Section::Data(o)) => prop_assert_eq!(
                    state(n),
                    if o.certificates.is_empty() { "data" } else { "unavailable" }
                ),
                (n, o) => prop_assert!(false, "{} became {}", v1_state(o), state(n)),
            }
        }
    }

    #[test]
    fn every_v1_reply_is_what_encode_reply_sends_a_v1_agent(legacy in arb::v1::reply()) {
        let frame = v1_frame(Kind::Reply, &legacy, &EncodeOptions::UNCOMPRESSED);
        let current = Reply::from(legacy.clone());
        prop_assert_eq!(&encode_reply(&current, 1, &EncodeOptions::UNCOMPRESSED).unwrap(), &frame);
        prop_assert_eq!(decode_reply(&frame, &Limits::default()).unwrap(), current);
    }
}

#[test]
fn a_day_of_synthetic_backlog_round_trips_in_one_batch() {
    let node = edgeward_proto::synthetic::SyntheticNode::new(3);
    let batch = node.batch(1, 5_760, edgeward_proto::UnixMillis(1_700_000_000_000));
    let frame = encode_batch(&batch, &EncodeOptions::default()).unwrap();
    assert_eq!(decode_batch(&frame, &Limits::default()).unwrap(), batch);
}

#[test]
fn a_day_of_v1_synthetic_backlog_decodes_in_one_batch() {
    let node = legacy_v1::synthetic::SyntheticNode::new(3);
    let legacy = node.batch(1, 5_760, edgeward_proto::UnixMillis(1_700_000_000_000));
    let frame = v1_frame(Kind::Batch, &legacy, &EncodeOptions::default());
    assert_eq!(
        decode_batch(&frame, &Limits::default()).unwrap(),
        Batch::from(legacy)
    );
}
