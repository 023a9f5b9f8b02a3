//! Property tests: random interleavings and repetitions of one synthetic node's batches,
//! against a model of what must be stored.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

/// Consecutive chunks of one stream starting at seq 1, and the order in which they are
/// delivered: each chunk 0 to 3 times, shuffled.
fn deliveries() -> impl Strategy<Value = (Vec<(u64, u64)>, Vec<usize>)> {
    prop::collection::vec(1u64..8, 1..10)
        .prop_flat_map(|sizes| {
            let n = sizes.len();
            (Just(sizes), prop::collection::vec(0usize..4, n))
        })
        .prop_flat_map(|(sizes, times)| {
            let mut first = 1;
            let chunks: Vec<(u64, u64)> = sizes
                .iter()
                .map(|&len| {
                    let chunk = (first, len);
                    first += len;
                    chunk
                })
                .collect();
            let order: Vec<usize> = times
                .iter()
                .enumerate()
                .flat_map(|(i, &t)| std::iter::repeat_n(i, t))
                .collect();
            (Just(chunks), Just(order).prop_shuffle())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn every_delivered_sample_is_stored_once_in_order_and_unseen_ones_are_holes(
        (chunks, order) in deliveries()
    ) {
        let (_dir, store) = store();
        let node = sim(5);
        let mut union = BTreeSet::new();
        let mut first_delivered = None;
        for &i in &order {
            let (first, len) = chunks[i];
            let outcome = store.ingest(&batch(&node, first, len), T0).unwrap();
            prop_assert_eq!(outcome.stored + outcome.duplicates, len);
            prop_assert_eq!(outcome.acks[0].acked_through.0, first + len - 1);
            union.extend(first..first + len);
            first_delivered.get_or_insert(first);
        }
        let expected: Vec<_> = union.iter().map(|&s| (node.stream, s)).collect();
        prop_assert_eq!(stored(&store, &node), expected);
        prop_assert_eq!(store.stats().unwrap().samples, union.len() as u64);

        // Seqs above the first delivered batch and below the highest stored that never
        // arrived are exactly the holes; seqs below the first batch are nobody's hole.
        let missing: BTreeSet<u64> = match (first_delivered, union.last()) {
            (Some(f), Some(&hwm)) => (f..=hwm).filter(|s| !union.contains(s)).collect(),
            _ => BTreeSet::new(),
        };
        let holes = store.node(&node.node).unwrap().map(|d| d.holes).unwrap_or_default();
        let in_holes: BTreeSet<u64> =
            holes.iter().flat_map(|h| h.first_seq.0..=h.last_seq.0).collect();
        prop_assert_eq!(in_holes, missing);
        prop_assert!(holes.windows(2).all(|w| w[0].last_seq.0 + 1 < w[1].first_seq.0));
    }

    #[test]
    fn retention_keeps_the_newest_and_never_restores_what_it_pruned(
        (chunks, order) in deliveries(),
        history in 1u32..20,
    ) {
        let (_dir, store) = store_with(history);
        let node = sim(6);
        let mut model = BTreeSet::new();
        let mut floor = 0u64;
        for &i in &order {
            let (first, len) = chunks[i];
            let outcome = store.ingest(&batch(&node, first, len), T0).unwrap();
            let new: Vec<u64> =
                (first..first + len).filter(|s| *s > floor && !model.contains(s)).collect();
            prop_assert_eq!(outcome.stored, new.len() as u64);
            model.extend(new);
            while model.len() > history as usize {
                let oldest = model.pop_first().unwrap();
                floor = floor.max(oldest);
            }
        }
        let expected: Vec<_> = model.iter().map(|&s| (node.stream, s)).collect();
        prop_assert_eq!(stored(&store, &node), expected);
        if let Some(detail) = store.node(&node.node).unwrap() {
            prop_assert!(detail.holes.iter().all(|h| h.last_seq.0 > floor));
            let latest = detail.latest.map(|l| l.sample.seq.0);
            prop_assert_eq!(latest, model.last().copied());
        }
    }
}
