//! The read side: listing, detail, paging, totals, JSON shape.

use edgeward_proto::{GapReason, NodeId, Seq, StreamId, UnixMillis};

use super::*;

#[test]
fn nodes_listing_summarises_every_node_in_name_order() {
    let (_dir, store) = store();
    let (a, b) = (sim(2), sim(1));
    store.ingest(&batch(&a, 1, 3), T0).unwrap();
    store
        .ingest(&batch(&b, 1, 5), UnixMillis(T0.0 + 1))
        .unwrap();
    store
        .ingest(&batch(&b, 10, 1), UnixMillis(T0.0 + 2))
        .unwrap();
    let nodes = store.nodes().unwrap();
    let names: Vec<_> = nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(names, ["sim-node-00001", "sim-node-00002"]);
    let first = &nodes[0];
    assert_eq!(first.cluster.as_ref(), Some(&b.cluster));
    assert_eq!(
        (first.first_seen, first.last_seen),
        (UnixMillis(T0.0 + 1), UnixMillis(T0.0 + 2))
    );
    assert_eq!((first.samples, first.holes, first.gap_records), (6, 1, 0));
    let latest = first.latest.unwrap();
    assert_eq!((latest.stream, latest.seq), (b.stream, Seq(10)));
    assert_eq!(latest.at, batch(&b, 10, 1).samples[0].at);
    assert!(!first.agent_version.is_empty());
}

#[test]
fn unknown_node_has_no_detail_and_no_samples() {
    let (_dir, store) = store();
    let id = NodeId::new("nobody").unwrap();
    assert!(store.node(&id).unwrap().is_none());
    assert!(store.samples(&id, None, 10).unwrap().is_empty());
    assert!(store.nodes().unwrap().is_empty());
}

#[test]
fn node_detail_shows_registry_latest_sample_history_gaps_and_holes() {
    let (_dir, store) = store();
    let node = sim(1);
    store.ingest(&batch(&node, 1, 10), T0).unwrap();
    let mut b = batch(&node, 21, 5);
    b.gaps = vec![gap(node.stream, 11, 14, GapReason::SizeBound)]
        .try_into()
        .unwrap();
    store.ingest(&b, T0).unwrap();
    let detail = store.node(&node.node).unwrap().unwrap();
    assert_eq!(detail.registry.id, node.node);
    let latest = detail.latest.unwrap();
    assert_eq!(latest.stream, node.stream);
    assert_eq!(latest.sample, b.samples[4], "the full sample, as sent");
    assert_eq!(detail.history.len(), 1);
    let h = &detail.history[0];
    assert_eq!(
        (h.samples, h.oldest.unwrap().seq, h.newest.unwrap().seq),
        (15, Seq(1), Seq(25))
    );
    assert_eq!(detail.gap_records.len(), 1);
    assert_eq!(detail.gap_records[0].carried_by, node.stream);
    assert_eq!(detail.holes.len(), 1);
    assert_eq!(detail.holes[0].unexplained, 6);
}

#[test]
fn samples_page_through_streams_in_arrival_order_with_a_cursor() {
    let (_dir, store) = store();
    let old = sim(1);
    store.ingest(&batch(&old, 5, 3), T0).unwrap();
    let mut new = old.clone();
    new.stream = StreamId(0);
    store.ingest(&batch(&new, 1, 2), T0).unwrap();
    let all = store.samples(&old.node, None, 100).unwrap();
    let keys: Vec<_> = all.iter().map(|s| (s.stream, s.sample.seq.0)).collect();
    let expected = [
        (old.stream, 5),
        (old.stream, 6),
        (old.stream, 7),
        (StreamId(0), 1),
        (StreamId(0), 2),
    ];
    assert_eq!(keys, expected);
    let page = store
        .samples(&old.node, Some((old.stream, Seq(6))), 2)
        .unwrap();
    let keys: Vec<_> = page.iter().map(|s| (s.stream, s.sample.seq.0)).collect();
    assert_eq!(keys, [(old.stream, 7), (StreamId(0), 1)]);
    assert!(
        store
            .samples(&old.node, Some((StreamId(42), Seq(0))), 9)
            .unwrap()
            .is_empty()
    );
    assert!(store.samples(&old.node, None, 0).unwrap().is_empty());
}

#[test]
fn stats_count_nodes_samples_gaps_holes_and_bytes() {
    let (_dir, store) = store();
    assert_eq!(store.stats().unwrap().nodes, 0);
    for i in 0..3 {
        let node = sim(i);
        store.ingest(&batch(&node, 1, 4), T0).unwrap();
        store.ingest(&batch(&node, 8, 4), T0).unwrap();
        let lost = gap(node.stream, 5, 6, GapReason::SizeBound);
        store.ingest(&gap_only(&node, 12, vec![lost]), T0).unwrap();
    }
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.nodes, stats.samples, stats.gap_records, stats.holes),
        (3, 24, 3, 3)
    );
    assert!(stats.bytes_on_disk > 0);
}

#[test]
fn node_detail_serializes_to_json_with_boot_id_as_a_uuid() {
    let (_dir, store) = store();
    let mut node = sim(1);
    node.boot_id.0 = *b"\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef";
    store.ingest(&batch(&node, 1, 2), T0).unwrap();
    let detail = store.node(&node.node).unwrap().unwrap();
    let json = serde_json::to_value(&detail).unwrap();
    assert_eq!(
        json["registry"]["boot_id"],
        "01234567-89ab-cdef-0123-456789abcdef"
    );
    assert_eq!(json["registry"]["id"], "sim-node-00001");
    assert_eq!(json["registry"]["first_seen"], T0.0);
    assert_eq!(json["latest"]["sample"]["seq"], 2);
    let summary = serde_json::to_value(store.nodes().unwrap()).unwrap();
    assert_eq!(summary[0]["latest"]["seq"], 2);
}

#[test]
fn recent_returns_the_newest_samples_across_streams_oldest_first() {
    let (_dir, store) = store();
    let first = sim(1);
    store.ingest(&batch(&first, 1, 6), T0).unwrap();
    // The agent restarted on a fresh outbox: a second stream arrives later.
    let mut second = first.clone();
    second.stream = StreamId(first.stream.0 ^ 0xFF);
    store
        .ingest(&batch(&second, 1, 3), UnixMillis(T0.0 + 1))
        .unwrap();
    let recent = store.recent(&first.node, 5).unwrap();
    let got: Vec<_> = recent.iter().map(|s| (s.stream, s.sample.seq.0)).collect();
    assert_eq!(
        got,
        [
            (first.stream, 5),
            (first.stream, 6),
            (second.stream, 1),
            (second.stream, 2),
            (second.stream, 3)
        ]
    );
    assert!(
        store
            .recent(&NodeId::new("nobody").unwrap(), 5)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn sample_at_finds_one_stored_sample_and_nothing_else() {
    let (_dir, store) = store();
    let node = sim(1);
    let b = batch(&node, 1, 4);
    store.ingest(&b, T0).unwrap();
    let found = store
        .sample_at(&node.node, node.stream, Seq(3))
        .unwrap()
        .unwrap();
    assert_eq!(found.sample, b.samples[2]);
    assert!(
        store
            .sample_at(&node.node, node.stream, Seq(9))
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .sample_at(&node.node, StreamId(7), Seq(3))
            .unwrap()
            .is_none()
    );
}
