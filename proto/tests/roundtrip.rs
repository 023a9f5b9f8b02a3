//! Every message survives encode → decode unchanged, compressed or not.

mod arb;

use edgeward_proto::envelope::{Compression, EncodeOptions, Limits};
use edgeward_proto::{PROTOCOL_VERSION, decode_batch, decode_reply, encode_batch, encode_reply};
use proptest::prelude::*;

const ALWAYS_ZSTD: EncodeOptions = EncodeOptions {
    compression: Compression::Zstd { level: 3 },
    compress_from: 0,
};

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
    fn every_reply_round_trips(reply in arb::reply()) {
        for opts in [EncodeOptions::UNCOMPRESSED, ALWAYS_ZSTD] {
            let frame = encode_reply(&reply, PROTOCOL_VERSION, &opts).unwrap();
            prop_assert_eq!(&decode_reply(&frame, &Limits::default()).unwrap(), &reply);
        }
    }

    #[test]
    fn every_sample_section_round_trips_alone(sample in arb::sample()) {
        let bytes = postcard::to_allocvec(&sample).unwrap();
        prop_assert_eq!(postcard::from_bytes::<edgeward_proto::Sample>(&bytes).unwrap(), sample);
    }
}

#[test]
fn a_day_of_synthetic_backlog_round_trips_in_one_batch() {
    let node = edgeward_proto::synthetic::SyntheticNode::new(3);
    let batch = node.batch(1, 5_760, edgeward_proto::UnixMillis(1_700_000_000_000));
    let frame = encode_batch(&batch, &EncodeOptions::default()).unwrap();
    assert_eq!(decode_batch(&frame, &Limits::default()).unwrap(), batch);
}
