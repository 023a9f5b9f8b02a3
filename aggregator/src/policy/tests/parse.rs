//! Parsing and validation: the example is valid, every rule names the offending line, and no
//! input makes the parser panic.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::policy::{Schedule, Target};

#[test]
fn example_policy_is_valid_and_means_what_its_comments_say() {
    let p = policy(EXAMPLE);
    let names: Vec<_> = p
        .groups_in_rollout_order()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["lab", "shops-eu", "frozen-hq", "default"]);
    let lab = p.group("lab").expect("lab group");
    assert!(lab.canary);
    assert_eq!(
        lab.target.as_ref().map(|t| t.version().as_str()),
        Some("v1.32.0+k3s1")
    );
    assert_eq!(lab.max_unavailable.get(), 2);
    assert_eq!(lab.thresholds.stale_intervals, 5);
    let default = p.default_group();
    assert!(matches!(&default.target, Some(Target::Channel { name, .. }) if name == "stable"));
    assert_eq!(default.windows, Schedule::Windows(vec!["nights".into()]));
    let frozen = p.group("frozen-hq").expect("frozen group");
    assert_eq!(frozen.windows, Schedule::Windows(vec![]));
    assert_eq!(p.windows().len(), 2);
    assert_eq!(p.baseline().keys.len(), 6);
    assert_eq!(p.cluster_name(&cluster_of(&p, "lab-01")), Some("lab-01"));
    assert_eq!(p.origin(), "policy.toml");
    assert!(p.sha256().is_some());
}

/// The id of the cluster named `name` in `p`.
fn cluster_of(p: &Policy, name: &str) -> ClusterId {
    p.clusters()
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .map(|(id, _)| id.clone())
        .expect("named cluster")
}

#[test]
fn empty_file_means_the_same_as_no_policy_file() {
    let empty = policy("# nothing yet\n");
    let none = Policy::default();
    let groups = |p: &Policy| p.groups_in_rollout_order().cloned().collect::<Vec<_>>();
    assert_eq!(groups(&empty), groups(&none));
    assert_eq!(empty.thresholds(), none.thresholds());
    assert_eq!(none.default_group().target, None);
    assert_eq!(none.default_group().windows, Schedule::Anytime);
    assert_eq!(none.sha256(), None);
    assert_eq!(none.group_of(&cluster('a')).name, "default");
}

/// One broken snippet: the text, the line the error must name, and the problem expected.
type Case = (&'static str, usize, fn(&Problem) -> bool);

const WINDOW: &str = "[[windows]]\nname = \"nights\"\nstart = \"01:00\"\nend = \"05:00\"\n\
                      time_zone = \"UTC\"\n";

#[test]
fn every_rule_is_reported_with_the_line_of_the_offending_value() {
    let cases: &[Case] = &[
        (
            "[defaults]\nmax_unavailable = 1\ncolour = 1\n",
            3,
            |p| matches!(p, Problem::Toml(m) if m.contains("colour")),
        ),
        (
            "[[groups]]\nname = \"a\"\nclusters = []\ncanery = true\n",
            4,
            |p| matches!(p, Problem::Toml(m) if m.contains("canery")),
        ),
        ("[defaults\n", 1, |p| matches!(p, Problem::Toml(_))),
        ("[defaults]\ntarget = \"1.31.4\"\n", 2, |p| {
            matches!(p, Problem::Version { .. })
        }),
        (
            "[channels]\nstable = \"v1.31.4+k3s1\"\n[defaults]\ntarget = \"v1.31.4\"\n\
             channel = \"stable\"\n",
            5,
            |p| matches!(p, Problem::TargetAndChannel),
        ),
        (
            "[defaults]\nchannel = \"stable\"\n",
            2,
            |p| matches!(p, Problem::UnknownChannel { pinned, .. } if pinned == "none"),
        ),
        ("[channels]\nstable = \"latest\"\n", 2, |p| {
            matches!(p, Problem::Version { .. })
        }),
        ("[channels]\nStable = \"v1.31.4\"\n", 2, |p| {
            matches!(p, Problem::Name { .. })
        }),
        (
            "[[windows]]\nname = \"n\"\nstart = \"25:00\"\nend = \"05:00\"\ntime_zone = \"UTC\"\n",
            3,
            |p| matches!(p, Problem::Time { .. }),
        ),
        (
            "[[windows]]\nname = \"n\"\nstart = \"01:00\"\nend = \"05:00\"\ntime_zone = \"Europe/Berlln\"\n",
            5,
            |p| matches!(p, Problem::UnknownTimeZone { .. }),
        ),
        (
            "[[windows]]\nname = \"n\"\ndays = [\"mon\", \"funday\"]\nstart = \"01:00\"\nend = \"05:00\"\ntime_zone = \"UTC\"\n",
            3,
            |p| matches!(p, Problem::Day { value } if value == "funday"),
        ),
        (
            "[[windows]]\nname = \"n\"\ndays = []\nstart = \"01:00\"\nend = \"05:00\"\ntime_zone = \"UTC\"\n",
            3,
            |p| matches!(p, Problem::Empty { what: "days" }),
        ),
        (
            "[[windows]]\nname = \"n\"\nstart = \"01:00\"\nend = \"01:00\"\ntime_zone = \"UTC\"\n",
            4,
            |p| matches!(p, Problem::EmptyWindow { .. }),
        ),
        (
            "[[windows]]\nname = \"n\"\nstart = \"01:00\"\nend = \"05:00\"\ntime_zone = 1\n",
            5,
            |p| matches!(p, Problem::Toml(_)),
        ),
        // The windows fixture is 5 lines; the second definition's name is on line 7.
        (concat_window_twice(), 7, |p| {
            matches!(
                p,
                Problem::Duplicate {
                    what: "window",
                    first_line: 2,
                    ..
                }
            )
        }),
        (
            "[[windows]]\nname = \"nights\"\nstart = \"01:00\"\nend = \"05:00\"\n\
             time_zone = \"UTC\"\n[defaults]\nwindows = [\"nights\", \"nites\"]\n",
            7,
            |p| matches!(p, Problem::UnknownWindow { name } if name == "nites"),
        ),
        ("[defaults]\nmax_unavailable = 0\n", 2, |p| {
            matches!(p, Problem::Integer { value: 0, .. })
        }),
        ("[defaults]\nmax_unavailable = -3\n", 2, |p| {
            matches!(p, Problem::Integer { .. })
        }),
        ("[defaults]\nstuck_after = \"soon\"\n", 2, |p| {
            matches!(p, Problem::Duration { .. })
        }),
        ("[defaults]\nstuck_after = \"0s\"\n", 2, |p| {
            matches!(p, Problem::Duration { .. })
        }),
        ("[[groups]]\nname = \"default\"\nclusters = []\n", 2, |p| {
            matches!(p, Problem::ReservedGroupName)
        }),
        ("[[groups]]\nname = \"Shop EU\"\nclusters = []\n", 2, |p| {
            matches!(p, Problem::Name { .. })
        }),
        ("[[groups]]\nname = \"a\"\ncanary = true\n", 2, |p| {
            matches!(p, Problem::SelectsNothing { .. })
        }),
        (
            "[[groups]]\nname = \"a\"\nclusters = []\n[[groups]]\nname = \"a\"\nclusters = []\n",
            5,
            |p| {
                matches!(
                    p,
                    Problem::Duplicate {
                        what: "group",
                        first_line: 2,
                        ..
                    }
                )
            },
        ),
        (
            "[[groups]]\nname = \"a\"\nclusters = [\"c1\"]\n\n[[groups]]\nname = \"b\"\n\
             clusters = [\"c2\",\n  \"c1\"]\n",
            8,
            |p| matches!(p, Problem::ClusterInTwoGroups { group, first_line: 3, .. } if group == "a"),
        ),
        (
            "[[groups]]\nname = \"a\"\nclusters = [\"shop 1\"]\n",
            3,
            |p| matches!(p, Problem::ClusterId { .. }),
        ),
        (
            "[[clusters]]\nid = \"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789\"\n",
            2,
            |p| matches!(p, Problem::ClusterId { reason, .. } if reason.contains("lowercase")),
        ),
        (
            "[[clusters]]\nid = \"a\"\n[[clusters]]\nid = \"b\"\n[[clusters]]\nid = \"a\"\n",
            6,
            |p| {
                matches!(
                    p,
                    Problem::Duplicate {
                        what: "cluster id",
                        first_line: 2,
                        ..
                    }
                )
            },
        ),
        (
            "[[clusters]]\nid = \"a\"\nlabels = { \"tier name\" = \"x\" }\n",
            3,
            |p| matches!(p, Problem::Name { .. }),
        ),
        ("[alerts]\nlabels = { severity = \"page\" }\n", 2, |p| {
            matches!(
                p,
                Problem::Name {
                    what: "alert label",
                    ..
                }
            )
        }),
        ("[alerts]\nlabels = { \"team-name\" = \"x\" }\n", 2, |p| {
            matches!(p, Problem::Name { .. })
        }),
        ("[alerts]\nlabels = { team = \"\" }\n", 2, |p| {
            matches!(p, Problem::Name { .. })
        }),
        (
            "[thresholds]\nwal_fsync_p99 = \"1s\"\n",
            2,
            |p| matches!(p, Problem::Toml(m) if m.contains("wal_fsync_p99")),
        ),
        ("[thresholds]\ndb_quota_ratio_warning = 1.5\n", 2, |p| {
            matches!(p, Problem::Ratio { .. })
        }),
        ("[thresholds]\nstale_intervals = 0\n", 2, |p| {
            matches!(p, Problem::Integer { .. })
        }),
        ("[thresholds]\n\ncert_critical = \"60d\"\n", 3, |p| {
            matches!(
                p,
                Problem::ThresholdOrder {
                    lower: "cert_critical",
                    upper: "cert_warning",
                    ..
                }
            )
        }),
        (
            "[[groups]]\nname = \"a\"\nclusters = []\n\
             thresholds = { wal_fsync_p99_critical = \"100ms\" }\n",
            4,
            |p| {
                matches!(
                    p,
                    Problem::ThresholdOrder {
                        lower: "wal_fsync_p99_warning",
                        ..
                    }
                )
            },
        ),
        (
            "[baseline]\nkernels = [\"6.1.*\", \"6.[0-9].*\"]\n",
            2,
            |p| matches!(p, Problem::Glob { .. }),
        ),
        ("[baseline]\nos = [\"\"]\n", 2, |p| {
            matches!(p, Problem::Glob { .. })
        }),
        ("[baseline]\nagent_version = \"0.1 beta\"\n", 2, |p| {
            matches!(p, Problem::Name { .. })
        }),
        (
            "[baseline.keys]\n\"k3s/registries.yaml\" = { sha256 = \"ABC\" }\n",
            2,
            |p| matches!(p, Problem::Sha256 { .. }),
        ),
        (
            "[baseline.keys]\n\"sysctl:x\" = { value = \"1\", sha256 = \"00\" }\n",
            2,
            |p| matches!(p, Problem::Expected),
        ),
        ("[baseline.keys]\n\"sysctl:x\" = {}\n", 2, |p| {
            matches!(p, Problem::Expected)
        }),
        (
            "[baseline.keys]\n\"sysctl:x\" = { value = [\"1\"] }\n",
            2,
            |p| matches!(p, Problem::ExpectedValue { .. }),
        ),
        (
            "[baseline.keys]\n\"k3s/config.yaml:x\" = { value = 1.5 }\n",
            2,
            |p| matches!(p, Problem::ExpectedValue { .. }),
        ),
        (
            "[baseline.keys]\n\"bad key\" = { value = \"1\" }\n",
            2,
            |p| matches!(p, Problem::Name { .. }),
        ),
        (
            "[baseline.keys]\n\"sysctl:x\" = { value = \"1\", expected = 2 }\n",
            2,
            |p| matches!(p, Problem::Toml(m) if m.contains("expected")),
        ),
    ];
    for (text, line, check) in cases {
        let (got_line, problem, message) = rejected(text);
        assert_eq!(got_line, *line, "line of {message:?} for:\n{text}");
        assert!(
            check(&problem),
            "unexpected problem {problem:?} for:\n{text}"
        );
        let prefix = format!("policy.toml:{line}:");
        assert!(message.starts_with(&prefix), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

const fn concat_window_twice() -> &'static str {
    "[[windows]]\nname = \"nights\"\nstart = \"01:00\"\nend = \"05:00\"\ntime_zone = \"UTC\"\n\
     [[windows]]\nname = \"nights\"\nstart = \"02:00\"\nend = \"05:00\"\ntime_zone = \"UTC\"\n"
}

#[test]
fn error_names_origin_line_and_column() {
    let text = format!("{WINDOW}[defaults]\nwindows = [\"nights\", \"noon\"]\n");
    let error = Policy::parse(&text, "/etc/edgeward/policy.toml").expect_err("unknown window");
    assert_eq!(
        error.to_string(),
        "/etc/edgeward/policy.toml:7:22: no [[windows]] entry is named \"noon\""
    );
}

/// Every file of `broken/` starts with `# line <N>: <text the message must contain>`.
#[test]
fn corpus_of_broken_files_is_rejected_at_the_documented_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/tests/broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "corpus has {} files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let header = text.lines().next().unwrap_or_default();
        let (line, needle) = header
            .strip_prefix("# line ")
            .and_then(|rest| rest.split_once(": "))
            .unwrap_or_else(|| panic!("{} lacks the `# line N: text` header", path.display()));
        let origin = path.display().to_string();
        let error = Policy::parse(&text, &origin).expect_err(&origin);
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{origin}:{line}:")),
            "{message}"
        );
        assert!(message.contains(needle), "{message} lacks {needle:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = Policy::parse(&text, "fuzz.toml");
    }

    #[test]
    fn mangled_example_never_panics(
        cut in 0..EXAMPLE.len(),
        len in 0usize..64,
        insert in "[\\[\\]{}=\",.:*a-z0-9 \n]{0,12}",
    ) {
        let mut text = EXAMPLE.as_bytes().to_vec();
        let end = (cut + len).min(text.len());
        text.splice(cut..end, insert.bytes());
        let text = String::from_utf8_lossy(&text);
        if let Err(e) = Policy::parse(&text, "fuzz.toml") {
            let message = e.to_string();
            prop_assert!(message.starts_with("fuzz.toml:"), "{}", message);
            prop_assert!(!message.contains('\n'), "{}", message);
        }
    }
}
