//! Fuzz target: decoding arbitrary bytes as a batch or a reply never panics, and whatever
//! decodes re-encodes to a frame that decodes and re-encodes to the same bytes (bytes, not
//! values: a decoded NaN is not equal to itself, but it must survive a round trip).
//!
//! The first input byte picks a mode, so the fuzzer reaches past the checksum:
//! 0: the input is the whole frame; 1: the input is an uncompressed payload sealed in a valid
//! envelope; 2: the input is a zstd payload (declared raw size from two bytes) in a valid envelope.
//! For modes 1 and 2, `mode / 3` picks the envelope's version among the supported ones, so
//! every frozen schema (`codec::legacy`) is fuzzed too. A batch decoded from an older version
//! is re-encoded in the current one (batches are only encoded in the current version); a
//! reply is re-encoded in the version it came in.
//!
//! Run: `cd proto/fuzz && cargo +nightly fuzz run decode -- -max_total_time=300`
#![no_main]

use edgeward_proto::envelope::{self, EncodeOptions, Limits};
use edgeward_proto::version::SUPPORTED;
use edgeward_proto::{decode_batch, decode_reply, encode_batch, encode_reply, PROTOCOL_VERSION};
use libfuzzer_sys::fuzz_target;

fn frame_around(version: u16, payload: &[u8], kind: u8, flags: u8, raw_len: u32) -> Vec<u8> {
    let mut f = Vec::with_capacity(envelope::HEADER_LEN + payload.len());
    f.extend_from_slice(&envelope::MAGIC);
    f.extend_from_slice(&version.to_le_bytes());
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(&raw_len.to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&f[..16]);
    h.update(payload);
    f.extend_from_slice(&h.finalize().to_le_bytes());
    f.extend_from_slice(payload);
    f
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let versions = SUPPORTED.newest - SUPPORTED.oldest + 1;
    let version = SUPPORTED.oldest + u16::from(mode / 3) % versions;
    let frame = match (mode % 3, rest) {
        (0, _) => rest.to_vec(),
        (1, [k, payload @ ..]) => frame_around(version, payload, 1 + (k & 1), 0, payload.len() as u32),
        (2, [k, a, b, payload @ ..]) => frame_around(version, payload, 1 + (k & 1), 1, u32::from(u16::from_le_bytes([*a, *b])) * 16),
        _ => return,
    };
    // Small limits so the fuzzer explores structure, not allocation sizes.
    let limits = Limits { max_frame_bytes: 1 << 20, max_raw_bytes: 1 << 20 };
    if let Ok(mut batch) = decode_batch(&frame, &limits) {
        batch.header.protocol_version = PROTOCOL_VERSION;
        let once = encode_batch(&batch, &EncodeOptions::UNCOMPRESSED).expect("a decoded batch re-encodes");
        let back = decode_batch(&once, &Limits::default()).expect("re-encoded batch decodes");
        let twice = encode_batch(&back, &EncodeOptions::UNCOMPRESSED).expect("re-encodes again");
        assert_eq!(once, twice);
    }
    if let Ok(reply) = decode_reply(&frame, &limits) {
        let version = envelope::peek_version(&frame).expect("a decoded frame has a version");
        let once = encode_reply(&reply, version, &EncodeOptions::UNCOMPRESSED).expect("re-encodes");
        let back = decode_reply(&once, &Limits::default()).expect("decodes");
        let twice = encode_reply(&back, version, &EncodeOptions::UNCOMPRESSED).expect("re-encodes again");
        assert_eq!(once, twice);
    }
});
