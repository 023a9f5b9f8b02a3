//! Golden bytes: the committed frames of each supported protocol version must keep decoding,
//! and each version's messages must keep encoding to exactly the same bytes. A failure here
//! means the wire format changed: if that was intended, bump `PROTOCOL_VERSION` and follow
//! the procedure in `proto/src/codec.rs`; never re-bless an existing version's files.
//!
//! - Protocol 1 (`golden/v1/`, frozen): the canonical v1 messages are rebuilt from the frozen
//!   v1 types and generator (`legacy_v1/`). The legacy types must encode to the committed
//!   bytes, and `decode_batch` must turn the committed frames into exactly
//!   `Batch::from(canonical v1 batch)`, the documented v1 → v2 conversion. A v1 reply is
//!   encoded by `encode_reply(reply, 1)`, as the aggregator answers a v1 agent.
//! - Protocol 2 (`golden/v2/`, current): `canonical_v2/`, encoded by `encode_batch` and
//!   `encode_reply(reply, 2)`.
//!
//! Bless (write) the current version's files: `EDGEWARD_BLESS=1 cargo test -p edgeward-proto --test golden`.
//! Blessing never writes an older version's files; their checks still run.
//!
//! The canonical messages use every enum variant and values near each integer type's maximum,
//! so retyping a field (u64 → u32, f32 → f64) or reordering variants changes the bytes.

mod canonical_v2;
mod legacy_v1;

use edgeward_proto::batch::Batch;
use edgeward_proto::codec::legacy::v1;
use edgeward_proto::envelope::{self, Compression, EncodeOptions, Kind, Limits};
use edgeward_proto::reply::Reply;
use edgeward_proto::*;
use std::path::PathBuf;

fn golden_path(version: u16, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(format!("v{version}"))
        .join(name)
}

fn bless() -> bool {
    std::env::var_os("EDGEWARD_BLESS").is_some()
}

fn read(version: u16, name: &str) -> Vec<u8> {
    let path = golden_path(version, name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares `bytes` with the committed file; when blessing, writes it instead, but only for
/// the current version.
fn check_or_bless(version: u16, name: &str, bytes: &[u8]) {
    if bless() && version == PROTOCOL_VERSION {
        let path = golden_path(version, name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let committed = read(version, name);
    if committed != bytes {
        let at = committed
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(committed.len().min(bytes.len()));
        panic!(
            "wire format of protocol v{version} changed ({name}): {} committed bytes vs {} encoded, first difference at byte {at}.\n\
             Bump PROTOCOL_VERSION and keep v{version} decodable (proto/src/codec.rs) instead of changing v{version}.",
            committed.len(),
            bytes.len()
        );
    }
}

const ZSTD: EncodeOptions = EncodeOptions {
    compression: Compression::Zstd { level: 3 },
    compress_from: 0,
};

/// A v1 frame as a v1 agent built it: postcard of the v1 types in a version-1 envelope.
fn v1_frame<T: serde::Serialize>(kind: Kind, msg: &T, opts: &EncodeOptions) -> Vec<u8> {
    let raw = codec::payload_bytes(msg).unwrap();
    envelope::seal(v1::VERSION, kind, &raw, opts).unwrap()
}

#[test]
fn v1_legacy_batch_encodes_to_the_committed_bytes() {
    let frame = v1_frame(
        Kind::Batch,
        &legacy_v1::canonical::batch(),
        &EncodeOptions::UNCOMPRESSED,
    );
    check_or_bless(1, "batch.bin", &frame);
}

#[test]
fn v1_committed_batches_decode_to_the_converted_canonical_batch() {
    let expected = Batch::from(legacy_v1::canonical::batch());
    assert_eq!(expected.header.protocol_version, 1);
    for name in ["batch.bin", "batch.zst.bin"] {
        let decoded = decode_batch(&read(1, name), &Limits::default()).unwrap();
        assert_eq!(decoded, expected, "{name}");
    }
}

#[test]
fn v1_replies_encode_to_the_committed_bytes() {
    for (i, reply) in legacy_v1::canonical::replies().iter().enumerate() {
        let name = format!("reply-{i}.bin");
        let legacy = v1_frame(Kind::Reply, reply, &EncodeOptions::UNCOMPRESSED);
        check_or_bless(1, &name, &legacy);
        let current = Reply::from(reply.clone());
        let answered = encode_reply(&current, 1, &EncodeOptions::UNCOMPRESSED).unwrap();
        check_or_bless(1, &name, &answered);
        assert_eq!(
            decode_reply(&read(1, &name), &Limits::default()),
            Ok(current)
        );
    }
}

#[test]
fn v2_batch_encodes_to_the_committed_bytes() {
    let batch = canonical_v2::batch();
    assert_eq!(batch.validate(), Ok(()));
    let frame = encode_batch(&batch, &EncodeOptions::UNCOMPRESSED).unwrap();
    check_or_bless(2, "batch.bin", &frame);
    if bless() {
        let frame = encode_batch(&batch, &ZSTD).unwrap();
        check_or_bless(2, "batch.zst.bin", &frame);
    }
}

#[test]
fn v2_replies_encode_to_the_committed_bytes() {
    for (i, reply) in canonical_v2::replies().iter().enumerate() {
        let frame = encode_reply(reply, 2, &EncodeOptions::UNCOMPRESSED).unwrap();
        check_or_bless(2, &format!("reply-{i}.bin"), &frame);
    }
}

#[test]
fn v2_committed_frames_decode_to_the_canonical_messages() {
    if bless() {
        return;
    }
    let limits = Limits::default();
    for name in ["batch.bin", "batch.zst.bin"] {
        let frame = read(2, name);
        assert_eq!(
            decode_batch(&frame, &limits).unwrap(),
            canonical_v2::batch(),
            "{name}"
        );
    }
    for (i, reply) in canonical_v2::replies().iter().enumerate() {
        let frame = read(2, &format!("reply-{i}.bin"));
        assert_eq!(&decode_reply(&frame, &limits).unwrap(), reply);
    }
}

#[test]
fn the_compressed_golden_frames_are_actually_compressed() {
    for version in [1, 2] {
        if bless() && version == PROTOCOL_VERSION {
            continue;
        }
        let frame = read(version, "batch.zst.bin");
        let plain = read(version, "batch.bin");
        assert_eq!(frame[7] & 1, 1, "v{version} zstd flag");
        assert!(frame.len() < plain.len(), "v{version}");
    }
}

#[test]
fn every_supported_version_has_golden_files() {
    for version in version::SUPPORTED.oldest..=version::SUPPORTED.newest {
        if bless() && version == PROTOCOL_VERSION {
            continue;
        }
        for name in ["batch.bin", "batch.zst.bin", "reply-0.bin"] {
            assert!(
                golden_path(version, name).is_file(),
                "v{version}/{name} is missing"
            );
        }
    }
}

/// What the conversion promises, checked on the canonical batch: nothing a v1 agent reported
/// disappears without a trace, and nothing it did not report is invented.
#[test]
fn v1_canonical_batch_converts_as_documented() {
    let converted = Batch::from(legacy_v1::canonical::batch());
    let s1 = &converted.samples[0];
    let kubelet = s1.kubelet.data().unwrap();
    assert_eq!(kubelet.healthz, Section::Data(kubelet::Healthz::Ok));
    for (name, detail) in [
        ("metrics", unavailable_detail(&kubelet.metrics)),
        ("pods", unavailable_detail(&kubelet.pods)),
        ("scheduling", unavailable_detail(&kubelet.scheduling)),
        ("configz", unavailable_detail(&kubelet.configz)),
    ] {
        assert!(
            detail.starts_with("sent by a protocol-1 agent"),
            "{name}: {detail}"
        );
    }
    assert!(unavailable_detail(&kubelet.metrics).contains("v1.31.4+k3s1"));
    assert!(unavailable_detail(&kubelet.pods).contains("running: 23"));
    let pressure = s1.pressure.data().unwrap();
    assert!(unavailable_detail(&pressure.eviction).starts_with("sent by a protocol-1 agent"));
    // s3: the MicroK8s inventory has no certificates, so it converts; its clock cannot.
    let inventory = converted.samples[2].inventory.data().unwrap();
    assert_eq!(inventory.distro, inventory::Distro::MicroK8s);
    assert!(unavailable_detail(&inventory.clock).contains("max_error_us: 9223372036854775807"));
    assert_eq!(inventory.distro_started_at, None);
    // s2: the synthetic K3s inventory has certificates: not reported, summarised.
    let detail = unavailable_detail(&converted.samples[1].inventory);
    assert!(detail.contains("6 certificates"), "{detail}");
    // An unavailable v1 section keeps its reason and detail.
    assert_eq!(
        converted.samples[2].kubelet,
        Section::unavailable(UnavailableReason::Unreachable, "127.0.0.1:10248 refused")
    );
}

fn unavailable_detail<T>(s: &Section<T>) -> &str {
    match s {
        Section::Unavailable(u) => {
            assert_eq!(u.reason, UnavailableReason::Disabled, "{}", u.detail);
            &u.detail
        }
        _ => panic!("expected an unavailable section"),
    }
}
