//! Hostile bytes: decoding never panics, never allocates past the limits, and says what was
//! wrong with a typed error; in every supported protocol version, and a frame of one version
//! is never read with another version's schema.

mod arb;

use edgeward_proto::codec::legacy::v1;
use edgeward_proto::envelope::{
    self, DecodeError, EncodeOptions, HEADER_LEN, Kind, Limits, Malformed, SizeOf,
};
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::version::SUPPORTED;
use edgeward_proto::*;
use proptest::prelude::*;

fn valid_frame() -> Vec<u8> {
    let batch = SyntheticNode::new(1).batch(10, 20, UnixMillis(1_700_000_000_000));
    encode_batch(&batch, &EncodeOptions::default()).unwrap()
}

fn limits() -> Limits {
    Limits::default()
}

/// Rewrites the checksum so a tampered frame gets past it to the check under test.
fn reseal(frame: &mut [u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&frame[..16]);
    h.update(&frame[HEADER_LEN..]);
    let crc = h.finalize();
    frame[16..20].copy_from_slice(&crc.to_le_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_batch(&bytes, &limits());
        let _ = decode_reply(&bytes, &limits());
    }

    #[test]
    fn arbitrary_payloads_behind_a_valid_envelope_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let frame = envelope::seal(PROTOCOL_VERSION, Kind::Batch, &payload, &EncodeOptions::UNCOMPRESSED).unwrap();
        let _ = decode_batch(&frame, &limits());
    }

    #[test]
    fn arbitrary_payloads_behind_a_v1_envelope_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        for kind in [Kind::Batch, Kind::Reply] {
            let frame = envelope::seal(v1::VERSION, kind, &payload, &EncodeOptions::UNCOMPRESSED).unwrap();
            let _ = decode_batch(&frame, &limits());
            let _ = decode_reply(&frame, &limits());
        }
    }

    #[test]
    fn any_flipped_bit_is_detected(index in 0usize..10_000, bit in 0u8..8) {
        let mut frame = valid_frame();
        let index = index % frame.len();
        frame[index] ^= 1 << bit;
        prop_assert!(decode_batch(&frame, &limits()).is_err(), "flip at byte {} bit {} went unnoticed", index, bit);
    }
}

#[test]
fn every_truncation_is_reported_as_truncated() {
    let frame = valid_frame();
    for len in 0..frame.len() {
        match decode_batch(&frame[..len], &limits()) {
            Err(DecodeError::Truncated { got, .. }) => assert_eq!(got, len),
            other => panic!("prefix of {len} bytes gave {other:?}"),
        }
    }
}

#[test]
fn bad_magic_is_named() {
    let mut frame = valid_frame();
    frame[..4].copy_from_slice(b"HTTP");
    assert_eq!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::BadMagic { found: *b"HTTP" })
    );
}

#[test]
fn unsupported_versions_name_the_supported_range() {
    for version in [0u16, PROTOCOL_VERSION + 1, u16::MAX] {
        let mut frame = valid_frame();
        frame[4..6].copy_from_slice(&version.to_le_bytes());
        assert_eq!(
            decode_batch(&frame, &limits()),
            Err(DecodeError::UnsupportedVersion {
                version,
                supported: SUPPORTED
            })
        );
        assert_eq!(envelope::peek_version(&frame), Ok(version));
    }
}

#[test]
fn checksum_mismatch_is_reported_with_both_values() {
    let mut frame = valid_frame();
    let last = frame.len() - 1;
    frame[last] ^= 0xFF;
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::ChecksumMismatch { .. })
    ));
}

#[test]
fn a_huge_declared_payload_is_refused_before_allocating() {
    let mut frame = valid_frame();
    frame[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    match decode_batch(&frame, &limits()) {
        Err(DecodeError::TooLarge {
            what: SizeOf::Frame,
            size,
            ..
        }) => assert_eq!(size, u64::from(u32::MAX) + HEADER_LEN as u64),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_huge_declared_decompressed_size_is_refused_before_allocating() {
    let mut frame = valid_frame();
    frame[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::TooLarge {
            what: SizeOf::DecompressedPayload,
            ..
        })
    ));
}

#[test]
fn a_zstd_bomb_that_lies_about_its_size_is_malformed_not_allocated() {
    // 8 MiB of zeros compress to a few hundred bytes; the header claims 1,000.
    let zeros = vec![0u8; 8 << 20];
    let mut frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &zeros,
        &EncodeOptions::default(),
    )
    .unwrap();
    assert!(frame.len() < 4_096);
    frame[12..16].copy_from_slice(&1_000u32.to_le_bytes());
    reseal(&mut frame);
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::Malformed(Malformed::Decompress(_)))
    ));
}

#[test]
fn decompressed_payload_beyond_the_limit_is_too_large() {
    let zeros = vec![0u8; 2 << 20];
    let frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &zeros,
        &EncodeOptions::default(),
    )
    .unwrap();
    let small = Limits {
        max_frame_bytes: 1 << 20,
        max_raw_bytes: 1 << 20,
    };
    assert!(matches!(
        decode_batch(&frame, &small),
        Err(DecodeError::TooLarge {
            what: SizeOf::DecompressedPayload,
            ..
        })
    ));
}

#[test]
fn a_reply_frame_is_not_accepted_as_a_batch() {
    let reply = Reply {
        verdict: Verdict::Accepted,
        acks: Bounded::new(),
        retry_after_ms: None,
        protocol: SUPPORTED,
    };
    let frame = encode_reply(&reply, PROTOCOL_VERSION, &EncodeOptions::default()).unwrap();
    assert_eq!(
        decode_batch(&frame, &limits()),
        Err(Malformed::WrongKind {
            expected: Kind::Batch,
            found: Kind::Reply
        }
        .into())
    );
}

#[test]
fn unknown_kind_and_flags_are_malformed() {
    let mut frame = valid_frame();
    frame[6] = 9;
    reseal(&mut frame);
    assert_eq!(
        decode_batch(&frame, &limits()),
        Err(Malformed::UnknownKind(9).into())
    );
    let mut frame = valid_frame();
    frame[7] |= 0x80;
    reseal(&mut frame);
    assert_eq!(
        decode_batch(&frame, &limits()),
        Err(Malformed::UnknownFlags(0x80).into())
    );
}

#[test]
fn trailing_bytes_after_the_frame_or_the_message_are_malformed() {
    let mut frame = valid_frame();
    frame.extend_from_slice(b"xx");
    assert_eq!(
        decode_batch(&frame, &limits()),
        Err(Malformed::TrailingFrameBytes(2).into())
    );

    let batch = SyntheticNode::new(1).batch(1, 2, UnixMillis(0));
    let mut raw = codec_payload(&batch);
    raw.push(0);
    let frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &raw,
        &EncodeOptions::UNCOMPRESSED,
    )
    .unwrap();
    assert_eq!(
        decode_batch(&frame, &limits()),
        Err(Malformed::TrailingPayloadBytes(1).into())
    );
}

fn codec_payload(batch: &Batch) -> Vec<u8> {
    edgeward_proto::codec::payload_bytes(batch).unwrap()
}

#[test]
fn a_message_version_that_contradicts_the_envelope_is_malformed() {
    let mut batch = SyntheticNode::new(1).batch(1, 2, UnixMillis(0));
    batch.header.protocol_version = 7;
    let frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &codec_payload(&batch),
        &EncodeOptions::UNCOMPRESSED,
    )
    .unwrap();
    assert_eq!(
        decode_batch(&frame, &limits()),
        Err(Malformed::VersionMismatch {
            envelope: PROTOCOL_VERSION,
            message: 7
        }
        .into())
    );
}

#[test]
fn a_batch_that_breaks_its_invariants_is_malformed_and_is_not_encoded() {
    let mut batch = SyntheticNode::new(1).batch(1, 3, UnixMillis(0));
    batch.samples =
        Bounded::try_from(batch.samples.iter().rev().cloned().collect::<Vec<_>>()).unwrap();
    assert!(matches!(
        encode_batch(&batch, &EncodeOptions::default()),
        Err(EncodeError::InvalidBatch(_))
    ));
    let frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &codec_payload(&batch),
        &EncodeOptions::UNCOMPRESSED,
    )
    .unwrap();
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::Malformed(Malformed::InvalidBatch(_)))
    ));
}

#[test]
fn more_samples_than_the_bound_are_refused() {
    // A header followed by a sample count of MAX_SAMPLES + 1 and enough bytes behind it.
    let batch = SyntheticNode::new(1).batch(1, 1, UnixMillis(0));
    let header = postcard::to_allocvec(&batch.header).unwrap();
    let mut raw = header;
    raw.extend(postcard::to_allocvec(&(edgeward_proto::batch::MAX_SAMPLES as u32 + 1)).unwrap());
    raw.extend(std::iter::repeat_n(0u8, 2 << 20));
    let frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &raw,
        &EncodeOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::Malformed(Malformed::Payload(_)))
    ));
}

#[test]
fn identities_are_validated_on_decode() {
    let batch = SyntheticNode::new(1).batch(1, 1, UnixMillis(0));
    let mut raw = codec_payload(&batch);
    // The node name follows the u16 version varint (1 byte) and its length byte.
    assert_eq!(&raw[2..11], b"sim-node-");
    raw[2] = b'S';
    let frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &raw,
        &EncodeOptions::UNCOMPRESSED,
    )
    .unwrap();
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::Malformed(Malformed::Payload(_)))
    ));
}

/// A frame as a v1 agent builds it, around `raw`.
fn v1_frame(raw: &[u8]) -> Vec<u8> {
    envelope::seal(v1::VERSION, Kind::Batch, raw, &EncodeOptions::UNCOMPRESSED).unwrap()
}

/// A one-sample v1 batch whose pressure section is unavailable with reason `Failed`, the last
/// reason v1 had, and a detail that marks where the reason byte is.
fn v1_batch_payload() -> (Vec<u8>, usize) {
    let batch = SyntheticNode::new(1).batch(1, 1, UnixMillis(0));
    let mut legacy = v1::Batch {
        header: BatchHeader {
            protocol_version: v1::VERSION,
            ..batch.header
        },
        samples: Bounded::new(),
        gaps: Bounded::new(),
    };
    let unavailable = |reason| {
        v1::Section::Unavailable(v1::Unavailable {
            reason,
            detail: "MARK".into(),
        })
    };
    legacy
        .samples
        .push(v1::Sample {
            seq: Seq(1),
            at: UnixMillis(0),
            pressure: unavailable(v1::UnavailableReason::Failed),
            kubelet: v1::Section::NotDue { last: None },
            datastore: v1::Section::NotDue { last: None },
            inventory: v1::Section::NotDue { last: None },
        })
        .unwrap();
    let raw = postcard::to_allocvec(&legacy).unwrap();
    // Section::Unavailable (1), reason Failed (8), detail length 4, "MARK".
    let at = raw
        .windows(7)
        .position(|w| w == [1, 8, 4, b'M', b'A', b'R', b'K'])
        .unwrap()
        + 1;
    (raw, at)
}

#[test]
fn a_v1_frame_cannot_carry_a_reason_v1_did_not_have() {
    let (mut raw, at) = v1_batch_payload();
    assert!(decode_batch(&v1_frame(&raw), &limits()).is_ok());
    raw[at] = 9; // `Skipped`, added in protocol 2.
    assert!(matches!(
        decode_batch(&v1_frame(&raw), &limits()),
        Err(DecodeError::Malformed(Malformed::Payload(_)))
    ));
}

#[test]
fn a_current_payload_in_a_v1_envelope_is_malformed() {
    let batch = SyntheticNode::new(1).batch(1, 3, UnixMillis(0));
    let frame = v1_frame(&codec_payload(&batch));
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn a_v1_message_version_that_contradicts_the_envelope_is_malformed() {
    // A v1 payload in a current envelope is read with the current schema, and refused.
    let (mut raw, _) = v1_batch_payload();
    let frame = envelope::seal(
        PROTOCOL_VERSION,
        Kind::Batch,
        &raw,
        &EncodeOptions::UNCOMPRESSED,
    )
    .unwrap();
    assert!(matches!(
        decode_batch(&frame, &limits()),
        Err(DecodeError::Malformed(_))
    ));
    // A v1 payload whose header claims version 2.
    assert_eq!(raw[0], 1, "the version varint opens the payload");
    raw[0] = 2;
    assert_eq!(
        decode_batch(&v1_frame(&raw), &limits()),
        Err(Malformed::VersionMismatch {
            envelope: 1,
            message: 2
        }
        .into())
    );
}
