//! Fault tests of the whole pipeline: the real `edgeward-agent` and `edgeward-aggregator`
//! binaries as separate processes, over mutual TLS on loopback, with the aggregator down,
//! either side killed with `kill -9`, a full outbox and a corrupted outbox. What they check is
//! the exactly-once contract: samples are keyed (node, stream, seq), seqs start at 1 and are
//! contiguous within a stream, a kill loses at most the one sampling cycle in progress (which
//! never got a seq), and every other loss reaches the aggregator as a gap record.

mod support;

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use support::TIMEOUT;
use support::pipeline::{Central, Edge, Pki, Stored, appended_seqs, fields, logged_drops, poll};

/// The agent's WARN when an outage starts.
const CANNOT_DELIVER: &str = "Cannot deliver to the aggregator; buffering and retrying";
/// The agent's INFO when an outage ends.
const DELIVERING_AGAIN: &str = "Delivering to the aggregator again";
/// The agent's ERROR after it moved an unreadable outbox aside.
const OUTBOX_UNREADABLE: &str =
    "Outbox was unreadable; moved it aside and started a new stream with a corruption gap record";
/// The agent's ERROR when the outbox starts dropping its oldest samples (once per gap).
const OUTBOX_FULL: &str =
    "Outbox full: dropping the oldest samples, recorded in a size-bound gap record";

/// Asserts that `stored` is exactly seqs `1..=n` of `stream`, each once, in ascending order,
/// with sample times that do not go back; returns `n`.
fn assert_exactly_once_from_1(stored: &[Stored], stream: u64) -> u64 {
    let streams: BTreeSet<u64> = stored.iter().map(|s| s.stream).collect();
    assert_eq!(
        streams,
        BTreeSet::from([stream]),
        "samples of other streams"
    );
    let seqs: Vec<u64> = stored.iter().map(|s| s.seq).collect();
    let n = seqs.len() as u64;
    let expected: Vec<u64> = (1..=n).collect();
    assert_eq!(seqs, expected, "stored seqs are not exactly 1..={n}");
    assert!(
        stored.windows(2).all(|w| w[0].at <= w[1].at),
        "sample times go back: {stored:?}"
    );
    n
}

/// The node's detail, asserting it has no sequence holes.
fn detail_without_holes(central: &Central, node: &str) -> Value {
    let detail = central.node(node).expect("node detail");
    assert_eq!(detail["holes"], Value::Array(Vec::new()), "{detail:#}");
    detail
}

/// The highest seq in `events`' `Sample appended` lines (0 if none).
fn highest_appended(events: &[Value]) -> u64 {
    appended_seqs(events).into_iter().max().unwrap_or(0)
}

/// The stream an `Agent started` event names.
fn stream_of(started: &Value) -> u64 {
    started["stream"].as_u64().expect("stream in Agent started")
}

#[test]
fn aggregator_down_then_up_delivers_every_sample_exactly_once_in_order() {
    let pki = Pki::new();
    let mut central = Central::new(&pki);
    let edge = Edge::new(&pki, "edge-outage");
    let (mut agent, started) = edge.start(&central.url(), &[]);
    let stream = stream_of(&started);
    agent.wait_for(CANNOT_DELIVER);
    let backlog = agent.wait_until("20 samples appended while the aggregator is down", |e| {
        let n = highest_appended(e);
        (n >= 20).then_some(n)
    });

    central.start();
    agent.wait_for(DELIVERING_AGAIN);
    poll("the backlog stored", TIMEOUT, || {
        (central.sample_count(&edge.name) >= backlog).then_some(())
    });
    let (status, events) = agent.terminate();
    assert!(status.success(), "{status}");

    let stopped = &fields(&events, "Agent stopped")[0];
    let appended = stopped["appended"].as_u64().expect("appended");
    let unacked = stopped["backlog"].as_u64().expect("backlog");
    assert_eq!(appended, highest_appended(&events), "{stopped}");
    let n = assert_exactly_once_from_1(&central.samples(&edge.name), stream);
    // Everything acknowledged is stored; a batch cut off by SIGTERM may be stored unacked.
    assert!(
        n >= backlog && n >= appended - unacked,
        "{n} stored, {stopped}"
    );
    assert!(n <= appended, "{n} stored, {stopped}");
    let detail = detail_without_holes(&central, &edge.name);
    assert_eq!(
        detail["gap_records"],
        Value::Array(Vec::new()),
        "{detail:#}"
    );
}

#[test]
fn agent_killed_repeatedly_stores_no_duplicates_and_loses_nothing_flushed() {
    let pki = Pki::new();
    let mut central = Central::new(&pki);
    central.start();
    let edge = Edge::new(&pki, "edge-killed");
    let mut killed: Vec<u64> = Vec::new();
    let mut stream = None;
    // Varied lifetimes, so that kills land in different phases of sampling and shipping.
    for lifetime_ms in [300, 1500, 700, 1100, 400, 1300, 900, 600] {
        let (mut agent, started) = edge.start(&central.url(), &[]);
        assert_eq!(
            *stream.get_or_insert(stream_of(&started)),
            stream_of(&started),
            "a kill made the agent start a new stream"
        );
        // No seq is handed out twice, not even one whose append was cut off by the kill.
        let next_seq = started["next_seq"].as_u64().expect("next_seq");
        let last = killed.iter().copied().max().unwrap_or(0);
        assert!(next_seq > last, "{started} after seqs up to {last}");
        thread::sleep(Duration::from_millis(lifetime_ms));
        killed.extend(appended_seqs(&agent.kill()));
    }
    let unique: BTreeSet<u64> = killed.iter().copied().collect();
    assert_eq!(unique.len(), killed.len(), "a seq was appended twice");
    let last_killed = *unique.last().expect("samples appended before the kills");

    let (mut agent, started) = edge.start(&central.url(), &[]);
    let stream = stream.expect("stream");
    assert_eq!(stream_of(&started), stream, "{started}");
    poll("every sample of the killed agents stored", TIMEOUT, || {
        (central.sample_count(&edge.name) >= last_killed).then_some(())
    });
    let (status, _) = agent.terminate();
    assert!(status.success(), "{status}");

    // Contiguous from 1 and reaching every seq a killed agent logged as appended (flushed).
    let n = assert_exactly_once_from_1(&central.samples(&edge.name), stream);
    assert!(
        n >= last_killed,
        "stored 1..={n}, appended up to {last_killed}"
    );
    let detail = detail_without_holes(&central, &edge.name);
    assert_eq!(
        detail["gap_records"],
        Value::Array(Vec::new()),
        "{detail:#}"
    );
}

/// How many deliveries failed other than by a refused connection: requests a kill of the
/// aggregator cut off (the first failure of an outage is at WARN, the rest at DEBUG).
fn cut_off_deliveries(events: &[Value]) -> usize {
    let mut failures = fields(events, CANNOT_DELIVER);
    failures.extend(fields(events, "Delivery failed again"));
    failures
        .iter()
        .filter(|f| {
            !f["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("(Connect)")
        })
        .count()
}

#[test]
fn aggregator_killed_during_ingest_loses_nothing_acknowledged() {
    let pki = Pki::new();
    let mut central = Central::new(&pki);
    central.start();
    // Three nodes keep the aggregator busy, so that kills land in the middle of ingests.
    let mut agents = Vec::new();
    for i in 1..=3 {
        let edge = Edge::new(&pki, &format!("edge-central-killed-{i}"));
        let (agent, started) = edge.start(&central.url(), &["--max-batch-bytes", "4096"]);
        agents.push((edge, agent, stream_of(&started)));
    }
    // Each round: wait until batches flow, let a varied moment pass, then kill. Every other
    // round freezes the aggregator (SIGSTOP) for a moment first, so that the agents' next
    // requests are in flight on their kept-alive connections when the kill lands; the other
    // rounds kill at whatever point ingest is. Stay down a varied while (a backlog builds, so
    // the next life starts with catch-up batches). Go on until kills cut off at least two.
    let pauses = [(0, 300), (30, 150), (70, 400), (10, 200), (50, 250)];
    let mut rounds = 0;
    loop {
        let cut_off: usize = agents
            .iter()
            .map(|(_, agent, _)| cut_off_deliveries(&agent.events()))
            .sum();
        if rounds >= pauses.len() && cut_off >= 2 {
            break;
        }
        assert!(
            rounds < 40,
            "{rounds} kills cut off only {cut_off} deliveries"
        );
        let (settle_ms, down_ms) = pauses[rounds % pauses.len()];
        central.running().wait_until("batches stored", |e| {
            (fields(e, "Batch stored").len() >= 3).then_some(())
        });
        thread::sleep(Duration::from_millis(settle_ms));
        if rounds % 2 == 1 {
            central.running().freeze();
            thread::sleep(Duration::from_millis(300));
        }
        central.kill();
        thread::sleep(Duration::from_millis(down_ms));
        central.start();
        rounds += 1;
    }
    for (edge, mut agent, stream) in agents {
        let appended = highest_appended(&agent.events());
        poll("every sample stored", TIMEOUT, || {
            (central.sample_count(&edge.name) >= appended).then_some(())
        });
        let (status, events) = agent.terminate();
        assert!(status.success(), "{status}");

        let stopped = &fields(&events, "Agent stopped")[0];
        let total = stopped["appended"].as_u64().expect("appended");
        let unacked = stopped["backlog"].as_u64().expect("backlog");
        let n = assert_exactly_once_from_1(&central.samples(&edge.name), stream);
        assert!(
            n >= appended && n >= total - unacked,
            "{n} stored, {stopped}"
        );
        let detail = detail_without_holes(&central, &edge.name);
        assert_eq!(
            detail["gap_records"],
            Value::Array(Vec::new()),
            "{detail:#}"
        );
    }
}

/// The node's stored history of `stream`.
fn history(detail: &Value, stream: u64) -> Option<&Value> {
    detail["history"]
        .as_array()?
        .iter()
        .find(|h| h["stream"].as_u64() == Some(stream))
}

/// The node's agent gap records of `stream` with `reason`, as (first_seq, last_seq, count).
fn gap_records(detail: &Value, stream: u64, reason: &str) -> Vec<(u64, u64, u64)> {
    let mut gaps: Vec<(u64, u64, u64)> = detail["gap_records"]
        .as_array()
        .expect("gap_records")
        .iter()
        .map(|g| &g["record"])
        .filter(|r| r["stream"].as_u64() == Some(stream) && r["reason"] == reason)
        .map(|r| {
            let seq = |name: &str| r[name].as_u64().expect("gap record field");
            (seq("first_seq"), seq("last_seq"), seq("count"))
        })
        .collect();
    gaps.sort_unstable();
    gaps
}

#[test]
fn full_outbox_drops_oldest_and_ships_a_gap_record_with_the_right_count() {
    let pki = Pki::new();
    let mut central = Central::new(&pki);
    let edge = Edge::new(&pki, "edge-full");
    let (mut agent, started) = edge.start(&central.url(), &["--outbox-max-bytes", "16384"]);
    let stream = stream_of(&started);
    agent.wait_until("the outbox dropped 5 samples", |e| {
        (logged_drops(e) >= 5).then_some(())
    });
    let (status, events) = agent.terminate();
    assert!(status.success(), "{status}");
    let dropped = logged_drops(&events);
    let newest = highest_appended(&events);
    let full = fields(&events, OUTBOX_FULL);
    assert_eq!(full.len(), 1, "one ERROR per gap: {full:?}");
    assert_eq!(full[0]["first_seq"], 1, "{full:?}");

    // The backlog ships after a restart with the default bound. (With the small bound, an
    // append during the catch-up drops a sample that is in flight: it is then both stored
    // and reported lost, which this test would count as a duplicate.)
    central.start();
    let (mut agent, started) = edge.start(&central.url(), &[]);
    assert_eq!(stream_of(&started), stream, "{started}");
    let detail = poll("the backlog and the gap record stored", TIMEOUT, || {
        let detail = central.node(&edge.name)?;
        let high_water = history(&detail, stream)?["high_water"].as_u64()?;
        (high_water >= newest && !gap_records(&detail, stream, "SizeBound").is_empty())
            .then_some(detail)
    });
    let (status, events) = agent.terminate();
    assert!(status.success(), "{status}");
    assert_eq!(logged_drops(&events), 0, "dropped with the default bound");

    // The drops are the oldest seqs, 1..=dropped, each reported once and counted exactly.
    let gaps = gap_records(&detail, stream, "SizeBound");
    let mut next = 1;
    for &(first, last, count) in &gaps {
        assert_eq!(
            first, next,
            "gap records {gaps:?} do not continue at {next}"
        );
        assert_eq!(count, last - first + 1, "{gaps:?}");
        next = last + 1;
    }
    assert_eq!(
        next - 1,
        dropped,
        "gap records {gaps:?}, {dropped} logged drops"
    );
    // What was not dropped is stored, once each, right after the drops.
    let stored = central.samples(&edge.name);
    assert!(stored.iter().all(|s| s.stream == stream), "{stored:?}");
    let seqs: Vec<u64> = stored.iter().map(|s| s.seq).collect();
    let expected: Vec<u64> = (dropped + 1..=dropped + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "stored seqs after {dropped} dropped");
    assert!(seqs.last() >= Some(&newest), "seqs up to {newest} appended");
    let detail = detail_without_holes(&central, &edge.name);
    assert_eq!(gap_records(&detail, stream, "SizeBound"), gaps);
}

#[test]
fn full_outbox_during_catch_up_reports_every_seq_once_stored_or_lost_never_both() {
    let pki = Pki::new();
    let mut central = Central::new(&pki);
    let edge = Edge::new(&pki, "edge-full-catch-up");
    // A tiny bound and tiny batches: during the catch-up, appends keep dropping samples,
    // some of them while their batch is in flight.
    let small = ["--outbox-max-bytes", "16384", "--max-batch-bytes", "4096"];
    let (mut agent, started) = edge.start(&central.url(), &small);
    let stream = stream_of(&started);
    agent.wait_until("the outbox dropped 5 samples", |e| {
        (logged_drops(e) >= 5).then_some(())
    });
    // The aggregator answers nothing for a moment right after it starts: the agent's first
    // catch-up batch (the oldest samples) is in flight while appends to the full outbox drop
    // those very samples. The request still completes within the agent's 2 s timeout.
    central.start();
    central.running().freeze();
    thread::sleep(Duration::from_millis(800));
    central.running().thaw();
    let caught_up = highest_appended(&agent.events()) + 20;
    poll("the catch-up reached fresh samples", TIMEOUT, || {
        let detail = central.node(&edge.name)?;
        (history(&detail, stream)?["high_water"].as_u64()? >= caught_up).then_some(())
    });
    let (status, events) = agent.terminate();
    assert!(status.success(), "{status}");
    let newest = highest_appended(&events);
    let detail = poll(
        "every appended seq stored or reported lost",
        TIMEOUT,
        || {
            let detail = central.node(&edge.name)?;
            (history(&detail, stream)?["high_water"].as_u64()? >= newest).then_some(detail)
        },
    );

    let stored: std::collections::BTreeSet<u64> =
        central.samples(&edge.name).iter().map(|s| s.seq).collect();
    let mut lost = std::collections::BTreeSet::new();
    for (first, last, count) in gap_records(&detail, stream, "SizeBound") {
        assert_eq!(count, last - first + 1, "size-bound gaps are contiguous");
        for seq in first..=last {
            assert!(lost.insert(seq), "seq {seq} reported lost twice");
        }
    }
    let both: Vec<_> = stored.intersection(&lost).collect();
    assert!(both.is_empty(), "stored and reported lost: {both:?}");
    assert!(
        !lost.is_empty(),
        "the test did not make the outbox drop anything"
    );
    let all: Vec<u64> = stored.union(&lost).copied().collect();
    let expected: Vec<u64> = (1..=newest).collect();
    assert_eq!(all, expected, "every seq 1..={newest} once, stored or lost");
    assert!(logged_drops(&events) >= lost.len() as u64);
}

/// Corrupts a closed outbox's sled data file.
type Corruption = fn(&mut std::fs::File, u64);

/// Two kinds of damage the outbox must detect at open: garbage over the middle half of the
/// log, and the log cut to half its length.
const CORRUPTIONS: [(&str, Corruption); 2] = [
    ("garbage", |file, len| {
        use std::io::{Seek, SeekFrom, Write};
        file.seek(SeekFrom::Start(len / 4)).expect("seek");
        let garbage = vec![0xA5; usize::try_from(len / 2).expect("length")];
        file.write_all(&garbage).expect("write garbage");
    }),
    ("truncated", |file, len| {
        file.set_len(len / 2).expect("truncate")
    }),
];

#[test]
fn corrupted_outbox_is_moved_aside_and_the_loss_is_reported() {
    let pki = Pki::new();
    let mut central = Central::new(&pki);
    // A backlog per kind of damage, built while the aggregator is down.
    let mut edges = Vec::new();
    for (kind, corrupt) in CORRUPTIONS {
        let edge = Edge::new(&pki, &format!("edge-corrupt-{kind}"));
        let (agent, started) = edge.start(&central.url(), &[]);
        edges.push((edge, agent, stream_of(&started), corrupt));
    }
    let mut olds = Vec::new();
    for (edge, mut agent, old, corrupt) in edges {
        agent.wait_until("a backlog of 20 samples tried", |e| {
            let tried = !fields(e, CANNOT_DELIVER).is_empty();
            (tried && highest_appended(e) >= 20).then_some(())
        });
        let (status, events) = agent.terminate();
        assert!(status.success(), "{status}");
        let db = edge.outbox().join("db");
        let len = std::fs::metadata(&db).expect("outbox data file").len();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .expect("open outbox data file");
        corrupt(&mut file, len);
        file.sync_all().expect("sync");
        olds.push((edge, old, highest_appended(&events)));
    }

    central.start();
    for (edge, old, old_last) in &olds {
        let (mut agent, started) = edge.start(&central.url(), &[]);
        let new = stream_of(&started);
        assert_ne!(new, *old, "{}: the old stream goes on", edge.name);
        assert_eq!(started["next_seq"], 1, "{started}");
        let events = agent.events();
        let recovered = fields(&events, OUTBOX_UNREADABLE);
        assert_eq!(recovered.len(), 1, "{}: {events:#?}", edge.name);
        assert_eq!(
            recovered[0]["old_stream"].as_u64(),
            Some(*old),
            "{}",
            recovered[0]
        );
        assert_eq!(
            recovered[0]["new_stream"].as_u64(),
            Some(new),
            "{}",
            recovered[0]
        );
        let moved_to = recovered[0]["moved_to"].as_str().expect("moved_to");
        assert!(std::path::Path::new(moved_to).is_dir(), "{moved_to}");

        // The loss of the whole old stream reaches the aggregator, carried by the new one,
        // and the agent goes on in the new stream.
        let detail = poll("the corruption gap record and new samples", TIMEOUT, || {
            let detail = central.node(&edge.name)?;
            let gap = gap_records(&detail, *old, "Corruption");
            let samples = history(&detail, new)?["samples"].as_u64()?;
            (!gap.is_empty() && samples >= 10).then_some(detail)
        });
        let gaps = gap_records(&detail, *old, "Corruption");
        assert_eq!(gaps.len(), 1, "{detail:#}");
        let (first, last, count) = gaps[0];
        assert!(first == 1 && last >= *old_last && count >= 1, "{gaps:?}");
        let carried_by = detail["gap_records"]
            .as_array()
            .expect("gap_records")
            .iter()
            .find(|g| g["record"]["reason"] == "Corruption")
            .map(|g| g["carried_by"].as_u64());
        assert_eq!(carried_by, Some(Some(new)), "{detail:#}");
        assert!(agent.is_running(), "{}: the agent exited", edge.name);
        let (status, events) = agent.terminate();
        assert!(status.success(), "{status}");
        assert!(
            highest_appended(&events) >= 10,
            "the agent stopped appending"
        );
        assert_exactly_once_from_1(&central.samples(&edge.name), new);
        detail_without_holes(&central, &edge.name);
    }
}
