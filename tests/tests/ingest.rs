//! End-to-end tests of the aggregator's ingest against bad input: the real binary as a child
//! process, over real TLS, with real client certificates and bearer tokens.
//!
//! Every refusal test checks three things: the status (or, for a bad certificate, the failed
//! handshake), that nothing of the refused batch was stored, and that the aggregator still
//! accepts a valid batch afterwards.

mod support;

use std::sync::Barrier;

use edgeward_devfleet::pki::Validity;
use edgeward_proto::envelope::HEADER_LEN;
use edgeward_proto::reply::StreamAck;
use edgeward_proto::synthetic::SyntheticNode;
use edgeward_proto::version::{PROTOCOL_HEADER, SUPPORTED};
use edgeward_proto::{
    Batch, EncodeOptions, Limits, Reply, Sample, UnixMillis, Verdict, decode_reply, encode_batch,
};
use reqwest::blocking::{Client, Response};
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::Value;
use support::tls::{Api, Pki, TlsAggregator, spawn_tls_aggregator};

/// Authenticates with a bearer token.
const TOKEN_NODE: u32 = 1;
/// Authenticates with a client certificate.
const CERT_NODE: u32 = 2;
/// Authenticates with its own bearer token; never sends bad input.
const GOOD_NODE: u32 = 3;
const START: UnixMillis = UnixMillis(1_790_000_000_000);

fn node(index: u32) -> SyntheticNode {
    SyntheticNode::new(index)
}

fn id(index: u32) -> String {
    node(index).node.as_str().to_owned()
}

fn token(index: u32) -> String {
    format!("token-of-{}-0123456789", id(index))
}

fn batch(index: u32, first_seq: u64, n: u64) -> Batch {
    node(index).batch(first_seq, n, START)
}

fn frame(batch: &Batch) -> Vec<u8> {
    encode_batch(batch, &EncodeOptions::default()).expect("encode batch")
}

/// An aggregator that knows the tokens of [`TOKEN_NODE`] and [`GOOD_NODE`], plus `extra` flags.
fn spawn(extra: &[&str]) -> TlsAggregator {
    let tokens = [
        (id(TOKEN_NODE), token(TOKEN_NODE)),
        (id(GOOD_NODE), token(GOOD_NODE)),
    ];
    let pairs: Vec<(&str, &str)> = tokens
        .iter()
        .map(|(node, token)| (node.as_str(), token.as_str()))
        .collect();
    spawn_tls_aggregator(Pki::new(), &pairs, extra)
}

/// A client without a certificate, for bearer tokens.
fn token_client(agg: &TlsAggregator) -> Client {
    agg.pki.client(None)
}

/// A client presenting a current certificate of `index`.
fn cert_client(agg: &TlsAggregator, index: u32) -> Client {
    agg.pki
        .client(Some(agg.pki.node_identity(&id(index), Validity::Current)))
}

fn post(agg: &Api, client: &Client, bearer: Option<&str>, body: &[u8]) -> Response {
    agg.post_batch(client, bearer, body)
        .unwrap_or_else(|e| panic!("POST /v1/batches failed below HTTP: {e:?}"))
}

/// Asserts `status` and a text body containing every one of `needles`; returns the body.
fn assert_refused(response: Response, status: u16, needles: &[&str]) -> String {
    let got = response.status().as_u16();
    let body = response.text().expect("response body");
    assert_eq!(got, status, "body: {body:?}");
    for needle in needles {
        assert!(body.contains(needle), "{needle:?} not in {body:?}");
    }
    body
}

/// Asserts a 200 whose reply accepts the batch and acks its stream through its last seq.
fn assert_accepted(response: Response, batch: &Batch) -> Reply {
    let status = response.status().as_u16();
    let body = response.bytes().expect("response body");
    assert_eq!(status, 200, "body: {:?}", String::from_utf8_lossy(&body));
    let reply = decode_reply(&body, &Limits::default()).expect("a reply frame");
    assert_eq!(reply.verdict, Verdict::Accepted);
    let acks: Vec<StreamAck> = reply.acks.iter().copied().collect();
    assert_eq!(
        acks,
        [StreamAck {
            stream: batch.header.stream,
            acked_through: batch.header.last_seq,
        }]
    );
    reply
}

/// The node's stored sample count from `GET /v1/nodes`, `None` if the node is not listed.
fn stored_samples(agg: &Api, index: u32) -> Option<u64> {
    let (status, nodes) = agg.get_json("/v1/nodes");
    assert_eq!(status, 200, "{nodes}");
    let nodes = nodes.as_array().expect("a JSON array of nodes");
    let summary = nodes.iter().find(|n| n["id"] == id(index))?;
    Some(summary["samples"].as_u64().expect("samples count"))
}

/// Asserts the aggregator knows nothing of node `index`: not listed, and its detail is 404.
fn assert_not_stored(agg: &Api, index: u32) {
    assert_eq!(stored_samples(agg, index), None, "{} is listed", id(index));
    let (status, detail) = agg.get_json(&format!("/v1/nodes/{}", id(index)));
    assert_eq!(status, 404, "{detail}");
}

/// The stored samples of node `index` as (stream, seq) pairs, in the order served.
fn stored_seqs(agg: &Api, index: u32) -> Vec<(u64, u64)> {
    let (status, samples) = agg.get_json(&format!("/v1/nodes/{}/samples?limit=10000", id(index)));
    assert_eq!(status, 200, "{samples}");
    samples
        .as_array()
        .expect("a JSON array of samples")
        .iter()
        .map(|s| {
            let stream = s["stream"].as_u64().expect("stream");
            let seq = s["sample"]["seq"].as_u64().expect("seq");
            (stream, seq)
        })
        .collect()
}

/// Node `index` sends a fresh valid batch of 5 samples through `client` (with `bearer`) and
/// it is accepted and stored: the aggregator still ingests after whatever came before.
fn assert_still_ingests(agg: &Api, client: &Client, bearer: Option<&str>, index: u32) {
    let before = stored_samples(agg, index).unwrap_or(0);
    let good = batch(index, 1_000, 5);
    assert_accepted(post(agg, client, bearer, &frame(&good)), &good);
    assert_eq!(stored_samples(agg, index), Some(before + 5));
}

/// Node [`GOOD_NODE`] sends a valid batch with its token and it is stored.
fn assert_good_node_ingests(agg: &TlsAggregator) {
    let client = token_client(agg);
    assert_still_ingests(agg, &client, Some(&token(GOOD_NODE)), GOOD_NODE);
}

#[test]
fn garbage_body_is_refused_with_400_naming_bad_magic() {
    let agg = spawn(&[]);
    let client = cert_client(&agg, CERT_NODE);
    let garbage = b"GET / HTTP/1.1\r\nthis is not an edgeward frame at all\r\n".repeat(4);
    assert_refused(post(&agg, &client, None, &garbage), 400, &["bad magic"]);
    assert_not_stored(&agg, CERT_NODE);
    assert_still_ingests(&agg, &client, None, CERT_NODE);
    assert_good_node_ingests(&agg);
}

#[test]
fn empty_body_is_refused_with_400_truncated() {
    let agg = spawn(&[]);
    let client = token_client(&agg);
    let bearer = token(TOKEN_NODE);
    assert_refused(
        post(&agg, &client, Some(&bearer), b""),
        400,
        &["truncated frame", "have 0"],
    );
    assert_not_stored(&agg, TOKEN_NODE);
    assert_still_ingests(&agg, &client, Some(&bearer), TOKEN_NODE);
}

#[test]
fn truncated_frames_are_refused_with_400_at_every_cut_point() {
    let agg = spawn(&[]);
    let client = cert_client(&agg, CERT_NODE);
    let whole = frame(&batch(CERT_NODE, 1, 5));
    let len = whole.len();
    // Inside the magic, inside the version, header without its tail, header without
    // payload, half the payload, one byte short.
    for cut in [3, 5, 6, HEADER_LEN - 1, HEADER_LEN, len / 2, len - 1] {
        let body = assert_refused(
            post(&agg, &client, None, &whole[..cut]),
            400,
            &["truncated frame"],
        );
        assert!(body.contains(&format!("have {cut}")), "cut {cut}: {body:?}");
    }
    assert_not_stored(&agg, CERT_NODE);
    assert_still_ingests(&agg, &client, None, CERT_NODE);
}

#[test]
fn flipped_payload_bit_is_refused_with_400_checksum_mismatch() {
    let agg = spawn(&[]);
    let client = cert_client(&agg, CERT_NODE);
    let mut body = frame(&batch(CERT_NODE, 1, 5));
    let middle = HEADER_LEN + (body.len() - HEADER_LEN) / 2;
    body[middle] ^= 0b0001_0000;
    assert_refused(
        post(&agg, &client, None, &body),
        400,
        &["checksum mismatch"],
    );
    assert_not_stored(&agg, CERT_NODE);
    assert_still_ingests(&agg, &client, None, CERT_NODE);
}

#[test]
fn unsupported_version_is_refused_with_415_naming_the_supported_range() {
    let agg = spawn(&[]);
    let client = token_client(&agg);
    let bearer = token(TOKEN_NODE);
    let mut body = frame(&batch(TOKEN_NODE, 1, 5));
    // The header CRC now fails too: the version is read first, so the answer is 415.
    body[4..6].copy_from_slice(&99u16.to_le_bytes());
    let response = post(&agg, &client, Some(&bearer), &body);
    let header = response
        .headers()
        .get(PROTOCOL_HEADER)
        .map(|v| v.to_str().expect("ASCII header").to_owned());
    assert_refused(response, 415, &["protocol version 99"]);
    assert_eq!(header, Some(SUPPORTED.to_string()));
    assert_not_stored(&agg, TOKEN_NODE);
    assert_still_ingests(&agg, &client, Some(&bearer), TOKEN_NODE);
}

#[test]
fn batch_above_max_batch_bytes_is_refused_with_413_and_one_below_is_stored() {
    let agg = spawn(&["--max-batch-bytes", "65536"]);
    let client = token_client(&agg);
    let bearer = token(TOKEN_NODE);
    let big = batch(TOKEN_NODE, 1, 300);
    let body = encode_batch(&big, &EncodeOptions::UNCOMPRESSED).expect("encode");
    assert!(body.len() >= 100 << 10, "only {} bytes", body.len());
    assert_refused(post(&agg, &client, Some(&bearer), &body), 413, &[]);
    assert_not_stored(&agg, TOKEN_NODE);

    let small = batch(TOKEN_NODE, 1, 60);
    let body = encode_batch(&small, &EncodeOptions::UNCOMPRESSED).expect("encode");
    assert!(
        (32 << 10..65536).contains(&body.len()),
        "{} bytes",
        body.len()
    );
    assert_accepted(post(&agg, &client, Some(&bearer), &body), &small);
    assert_eq!(stored_samples(&agg, TOKEN_NODE), Some(60));
}

#[test]
fn compressed_batch_whose_payload_exceeds_max_batch_bytes_is_refused_with_413() {
    let agg = spawn(&["--max-batch-bytes", "65536"]);
    let client = token_client(&agg);
    let bearer = token(TOKEN_NODE);
    let big = batch(TOKEN_NODE, 1, 200);
    let raw = encode_batch(&big, &EncodeOptions::UNCOMPRESSED).expect("encode");
    let body = frame(&big);
    assert!(
        raw.len() > 65536 && body.len() < 65536,
        "{} / {}",
        raw.len(),
        body.len()
    );
    // 413 makes the agent send fewer samples; 400 would make it quarantine them.
    assert_refused(post(&agg, &client, Some(&bearer), &body), 413, &[]);
    assert_not_stored(&agg, TOKEN_NODE);
    let half = batch(TOKEN_NODE, 1, 60);
    assert_accepted(post(&agg, &client, Some(&bearer), &frame(&half)), &half);
}

#[test]
fn batch_claiming_another_node_is_refused_with_403_for_token_and_certificate() {
    let agg = spawn(&[]);
    let victim = batch(GOOD_NODE, 1, 5);

    let by_token = token_client(&agg);
    let bearer = token(TOKEN_NODE);
    let response = post(&agg, &by_token, Some(&bearer), &frame(&victim));
    assert_refused(response, 403, &[&id(TOKEN_NODE), &id(GOOD_NODE)]);

    let by_cert = cert_client(&agg, CERT_NODE);
    let response = post(&agg, &by_cert, None, &frame(&victim));
    assert_refused(response, 403, &[&id(CERT_NODE), &id(GOOD_NODE)]);

    for index in [TOKEN_NODE, CERT_NODE, GOOD_NODE] {
        assert_not_stored(&agg, index);
    }
    assert_still_ingests(&agg, &by_token, Some(&bearer), TOKEN_NODE);
    assert_still_ingests(&agg, &by_cert, None, CERT_NODE);
    assert_good_node_ingests(&agg);
}

#[test]
fn batch_without_credentials_is_refused_with_401_bearer_challenge() {
    let agg = spawn(&[]);
    let client = token_client(&agg);
    let response = post(&agg, &client, None, &frame(&batch(TOKEN_NODE, 1, 5)));
    assert_eq!(
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    assert_refused(
        response,
        401,
        &["no client certificate and no bearer token"],
    );
    assert_not_stored(&agg, TOKEN_NODE);
    assert_still_ingests(&agg, &client, Some(&token(TOKEN_NODE)), TOKEN_NODE);
}

#[test]
fn oversized_body_without_credentials_is_refused_with_401_before_it_is_read() {
    let agg = spawn(&["--max-batch-bytes", "65536"]);
    let client = token_client(&agg);
    let response = post(&agg, &client, None, &vec![0u8; 200 * 1024]);
    assert_refused(
        response,
        401,
        &["no client certificate and no bearer token"],
    );
    assert_not_stored(&agg, TOKEN_NODE);
    assert_still_ingests(&agg, &client, Some(&token(TOKEN_NODE)), TOKEN_NODE);
}

#[test]
fn bearer_scheme_is_matched_case_insensitively() {
    let agg = spawn(&[]);
    let client = token_client(&agg);
    let body = frame(&batch(TOKEN_NODE, 1, 5));
    let response = client
        .post(agg.url("/v1/batches"))
        .header("authorization", format!("bearer {}", token(TOKEN_NODE)))
        .body(body)
        .send()
        .expect("post");
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn batch_with_unknown_bearer_token_is_refused_with_401() {
    let agg = spawn(&[]);
    let client = token_client(&agg);
    let guessed = format!("{}x", token(TOKEN_NODE));
    let response = post(
        &agg,
        &client,
        Some(&guessed),
        &frame(&batch(TOKEN_NODE, 1, 5)),
    );
    assert_eq!(
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    assert_refused(response, 401, &["not in the tokens file"]);
    assert_not_stored(&agg, TOKEN_NODE);
    assert_still_ingests(&agg, &client, Some(&token(TOKEN_NODE)), TOKEN_NODE);
}

/// Posts a valid batch of [`CERT_NODE`] with `identity`, expects the request to fail below
/// HTTP and the aggregator to log a handshake failure whose error contains `reason`; then the
/// same node with a current certificate is stored.
fn assert_handshake_refused(agg: &mut TlsAggregator, identity: reqwest::Identity, reason: &str) {
    let client = agg.pki.client(Some(identity));
    let outcome = agg.post_batch(&client, None, &frame(&batch(CERT_NODE, 1, 5)));
    if let Ok(response) = outcome {
        panic!(
            "expected a failed handshake, got HTTP {}",
            response.status()
        );
    }
    let event = agg.process.wait_for_event("TLS handshake failed");
    assert_eq!(event["level"], "WARN", "{event}");
    let error = event["fields"]["error"].as_str().unwrap_or_default();
    assert!(error.contains(reason), "{reason:?} not in {event}");
    assert_not_stored(agg, CERT_NODE);
    let client = cert_client(agg, CERT_NODE);
    assert_still_ingests(agg, &client, None, CERT_NODE);
}

#[test]
fn expired_client_certificate_fails_the_tls_handshake_and_stores_nothing() {
    let mut agg = spawn(&[]);
    let expired = agg.pki.node_identity(&id(CERT_NODE), Validity::Expired);
    assert_handshake_refused(&mut agg, expired, "expired");
}

#[test]
fn client_certificate_from_untrusted_ca_fails_the_tls_handshake_and_stores_nothing() {
    let mut agg = spawn(&[]);
    let foreign = agg.pki.foreign_identity(&id(CERT_NODE));
    assert_handshake_refused(&mut agg, foreign, "UnknownIssuer");
}

#[test]
fn resent_batch_gets_the_same_acks_and_is_not_stored_twice() {
    let agg = spawn(&[]);
    let client = cert_client(&agg, CERT_NODE);
    let sent = batch(CERT_NODE, 11, 6);
    let body = frame(&sent);
    let first = assert_accepted(post(&agg, &client, None, &body), &sent);
    let stored = stored_seqs(&agg, CERT_NODE);
    assert_eq!(stored.len(), 6);
    let second = assert_accepted(post(&agg, &client, None, &body), &sent);
    assert_eq!(second, first);
    assert_eq!(stored_samples(&agg, CERT_NODE), Some(6));
    assert_eq!(stored_seqs(&agg, CERT_NODE), stored);
}

#[test]
fn good_node_keeps_getting_200_while_a_bad_node_is_refused() {
    const ROUNDS: u64 = 8;
    let agg = spawn(&[]);
    let good = cert_client(&agg, CERT_NODE);
    let bad = token_client(&agg);
    let bearer = token(TOKEN_NODE);
    let api = &agg.api;
    let start = Barrier::new(2);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            start.wait();
            for round in 0..ROUNDS {
                let sent = batch(CERT_NODE, 1 + round * 5, 5);
                assert_accepted(post(api, &good, None, &frame(&sent)), &sent);
            }
        });
        scope.spawn(|| {
            start.wait();
            let valid = frame(&batch(TOKEN_NODE, 1, 5));
            let mut flipped = valid.clone();
            flipped[HEADER_LEN + 1] ^= 1;
            // The bad node also tries to pass seqs the good node never sends off as its own.
            let impostor = frame(&batch(CERT_NODE, 1_000, 5));
            for round in 0..ROUNDS {
                let (token, body, status): (&str, &[u8], u16) = match round % 4 {
                    0 => (&bearer, b"garbage", 400),
                    1 => (&bearer, &flipped, 400),
                    2 => (&bearer, &impostor, 403),
                    _ => ("not-a-token-of-anyone", &valid, 401),
                };
                assert_refused(post(api, &bad, Some(token), body), status, &[]);
            }
        });
    });
    assert_not_stored(&agg, TOKEN_NODE);
    let expected: Vec<(u64, u64)> = (1..=ROUNDS * 5)
        .map(|seq| (node(CERT_NODE).stream.0, seq))
        .collect();
    assert_eq!(stored_seqs(&agg, CERT_NODE), expected);
}

#[test]
fn stored_samples_read_back_exactly_as_sent_in_seq_order() {
    let agg = spawn(&[]);
    let client = token_client(&agg);
    let sent = batch(TOKEN_NODE, 41, 7);
    assert_accepted(
        post(&agg, &client, Some(&token(TOKEN_NODE)), &frame(&sent)),
        &sent,
    );

    let (status, summaries) = agg.get_json("/v1/nodes");
    assert_eq!(status, 200);
    let summary = summaries
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == id(TOKEN_NODE)))
        .unwrap_or_else(|| panic!("{} not in {summaries}", id(TOKEN_NODE)));
    assert_eq!(summary["samples"], 7, "{summary}");
    assert_eq!(summary["holes"], 0, "{summary}");
    assert_eq!(summary["gap_records"], 0, "{summary}");

    let path = format!("/v1/nodes/{}/samples?limit=100", id(TOKEN_NODE));
    let (status, stored) = agg.get_json(&path);
    assert_eq!(status, 200, "{stored}");
    let stored = stored.as_array().expect("a JSON array of samples");
    assert_eq!(stored.len(), 7);
    for (entry, expected) in stored.iter().zip(sent.samples.iter()) {
        assert_eq!(entry["stream"], sent.header.stream.0);
        let sample: Sample = serde_json::from_value(entry["sample"].clone()).expect("a sample");
        assert_eq!(&sample, expected);
    }

    // Paging: the first three, then what follows seq 43.
    let seqs = |path: String| -> Vec<u64> {
        let (status, page) = agg.get_json(&path);
        assert_eq!(status, 200, "{page}");
        page.as_array()
            .expect("a JSON array")
            .iter()
            .map(|s: &Value| s["sample"]["seq"].as_u64().expect("seq"))
            .collect()
    };
    let node_path = format!("/v1/nodes/{}/samples", id(TOKEN_NODE));
    assert_eq!(seqs(format!("{node_path}?limit=3")), [41, 42, 43]);
    let after = format!(
        "{node_path}?after_stream={}&after_seq=43",
        sent.header.stream.0
    );
    assert_eq!(seqs(after), [44, 45, 46, 47]);
}
