//! Tests of the etcd answer parsers, on answers copied from a real etcd 3.4.23
//! (`curl` against a local member, 2026-11-21) plus hostile bytes.

use proptest::prelude::*;

use super::*;

const STATUS_LEADER: &str = r#"{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"1","raft_term":"2"},"version":"3.4.23","dbSize":"20480","leader":"13668033151171901709","raftIndex":"5","raftTerm":"2","raftAppliedIndex":"5","dbSizeInUse":"16384"}"#;
const STATUS_NO_LEADER: &str = r#"{"header":{"cluster_id":"5885719011582526788","member_id":"17628310501313495538","revision":"1","raft_term":"2"},"version":"3.4.23","dbSize":"20480","raftIndex":"10","raftTerm":"2","raftAppliedIndex":"10","errors":["etcdserver: no leader"],"dbSizeInUse":"16384"}"#;
const MEMBERS: &str = r#"{"header":{"cluster_id":"5885719011582526788","member_id":"17628310501313495538","raft_term":"2"},"members":[{"ID":"6678329523359872433","name":"b","peerURLs":["http://127.0.0.1:24802"],"clientURLs":["http://127.0.0.1:24792"]},{"ID":"8189880069937206109","name":"c","peerURLs":["http://127.0.0.1:24803"],"clientURLs":["http://127.0.0.1:24793"]},{"ID":"17628310501313495538","name":"a","peerURLs":["http://127.0.0.1:24801"],"clientURLs":["http://127.0.0.1:24791"],"isLearner":true}]}"#;

#[test]
fn status_of_a_leader_reads_every_field() {
    let s = status(STATUS_LEADER.as_bytes()).expect("status");
    assert_eq!(
        s,
        StatusAnswer {
            version: "3.4.23".into(),
            member_id: 13_668_033_151_171_901_709,
            leader_id: 13_668_033_151_171_901_709,
            is_learner: false,
            raft_term: 2,
            raft_index: 5,
            raft_applied_index: 5,
            db_size_bytes: 20480,
            db_size_in_use_bytes: 16384,
            errors: Bounded::new(),
        }
    );
}

#[test]
fn status_without_a_leader_has_leader_zero_and_etcds_error() {
    let s = status(STATUS_NO_LEADER.as_bytes()).expect("status");
    assert_eq!(s.leader_id, 0);
    assert_eq!(&s.errors[..], ["etcdserver: no leader".to_owned()]);
}

#[test]
fn status_without_header_or_with_wrong_types_is_an_error_not_zeroes() {
    assert!(status(b"{}").is_err());
    assert!(
        status(br#"{"header":{"member_id":"1"}}"#).is_err(),
        "no version"
    );
    let wrong = STATUS_LEADER.replace(r#""dbSize":"20480""#, r#""dbSize":true"#);
    assert_eq!(
        status(wrong.as_bytes()).expect_err("bool size"),
        "dbSize is not an unsigned integer"
    );
    let numbers = r#"{"header":{"memberId":7},"version":"3.5.17","dbSize":4096}"#;
    let s = status(numbers.as_bytes()).expect("numbers and camelCase header");
    assert_eq!((s.member_id, s.db_size_bytes), (7, 4096));
}

#[test]
fn health_reads_true_false_and_the_35_reason() {
    assert!(health(br#"{"health":"true"}"#).expect("ok").healthy);
    let h = health(br#"{"health":"false","reason":"RAFT NO LEADER"}"#).expect("503 body");
    assert_eq!(
        h,
        EtcdHealth {
            healthy: false,
            reason: "RAFT NO LEADER".into()
        }
    );
    assert!(health(br#"{"health":"maybe"}"#).is_err());
    assert!(health(b"ok").is_err());
}

#[test]
fn members_read_ids_names_peer_urls_and_learners() {
    let m = members(MEMBERS.as_bytes()).expect("members");
    assert_eq!(m.len(), 3);
    assert_eq!(
        m[2],
        EtcdMember {
            id: 17_628_310_501_313_495_538,
            name: "a".into(),
            peer_url: "http://127.0.0.1:24801".into(),
            is_learner: true,
        }
    );
    assert!(!m[0].is_learner);
    assert!(members(br#"{"members":[{"name":"x"}]}"#).is_err(), "no ID");
}

#[test]
fn alarms_by_name_or_number_and_from_status_errors() {
    assert!(alarms(b"{}").expect("none").is_empty());
    let a = alarms(
        br#"{"alarms":[{"memberID":"1","alarm":"NOSPACE"},{"memberID":"2","alarm":2},{"memberID":"3","alarm":"NOSPACE"}]}"#,
    )
    .expect("alarms");
    assert_eq!(&a[..], ["NOSPACE".to_owned(), "CORRUPT".to_owned()]);
    let e = alarms_in_errors(&[
        "etcdserver: no leader".into(),
        "memberID:13668033151171901709 alarm:NOSPACE ".into(),
    ]);
    assert_eq!(&e[..], ["NOSPACE".to_owned()]);
}

#[test]
fn gateway_error_text_is_picked_up() {
    assert_eq!(
        error_message(br#"{"error":"etcdserver: request timed out","code":14}"#).as_deref(),
        Some("etcdserver: request timed out")
    );
    assert_eq!(error_message(b"<html>"), None);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = health(&bytes);
        let _ = status(&bytes);
        let _ = alarms(&bytes);
        let _ = members(&bytes);
        let _ = error_message(&bytes);
    }

    #[test]
    fn arbitrary_json_shapes_never_panic(text in r#"[\[\]{}",:0-9a-zA-Z_ -]{0,300}"#) {
        for wrapped in [text.clone(), format!(r#"{{"header":{{"member_id":"1"}},"version":"x",{text}}}"#),
                        format!(r#"{{"members":[{text}]}}"#), format!(r#"{{"alarms":[{text}]}}"#)] {
            let _ = status(wrapped.as_bytes());
            let _ = members(wrapped.as_bytes());
            let _ = alarms(wrapped.as_bytes());
            let _ = health(wrapped.as_bytes());
        }
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_stack_overflow(depth in 100usize..5000) {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let _ = status(text.as_bytes());
    }
}
