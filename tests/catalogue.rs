//! The catalogue as a regression suite: every model in `models/` is checked exhaustively and
//! must match the expectation its file records (violated properties, witnesses, state count).

// The command line's allocator: this test checks models in-process, as `check` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use groupcheck::catalogue;
use groupcheck::check::{check, CheckOptions, Verdict};
use groupcheck::flaw::Flaw;
use groupcheck::model::config::Expect;
use groupcheck::model::ModelConfig;
use groupcheck::property::Property;

fn options() -> CheckOptions {
    CheckOptions {
        threads: 2,
        ..CheckOptions::default()
    }
}

/// Set by `scripts/mutants.sh`: check the models smallest first and stop at the first one not
/// as expected, so that a mutant the catalogue catches costs seconds, not the whole catalogue.
const FAIL_FAST: &str = "GROUPCHECK_CATALOGUE_FAIL_FAST";

#[test]
fn every_model_matches_its_expectation() {
    let mut models = catalogue::load_all(&catalogue::default_dir()).expect("catalogue loads");
    let fail_fast = std::env::var_os(FAIL_FAST).is_some();
    if fail_fast {
        // Flaw models pin no count; most are small, and passing models catch most mutants.
        models.sort_by_key(|m| m.expect.unique_states.unwrap_or(usize::MAX));
    }
    let mut failures = Vec::new();
    for m in &models {
        // A mutant that blows a model's state space up is caught by its count (pinned counts
        // are exact), without waiting for the whole space.
        let cap = fail_fast.then(|| m.expect.unique_states.map_or(5_000_000, |n| n * 6));
        let report = check(
            m,
            &CheckOptions {
                max_states: cap,
                ..options()
            },
        );
        eprintln!(
            "{:<32} {:>9} unique states {:>7.2} s  violated: {:?}",
            m.name,
            report.unique_states,
            report.elapsed.as_secs_f64(),
            report.violated()
        );
        if !report.matches_expectation() {
            failures.push(format!("{}: {}", m.name, report.mismatches.join("; ")));
            if fail_fast {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "models not as expected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_flaw_has_a_model_that_catches_it_and_every_passing_model_pins_its_state_count() {
    let models = catalogue::load_all(&catalogue::default_dir()).unwrap();
    for flaw in Flaw::ALL {
        assert!(
            models
                .iter()
                .any(|m| m.flaw == Some(flaw) && !m.expect.violated.is_empty()),
            "no catalogue model expects flaw {flaw} to be caught"
        );
    }
    for m in models.iter().filter(|m| m.expects_pass()) {
        assert!(
            m.flaw.is_none(),
            "{}: a model with a flaw cannot expect to pass",
            m.name
        );
        assert!(
            m.expect.unique_states.is_some(),
            "{}: a passing model must pin its unique state count",
            m.name
        );
    }
}

#[test]
fn the_reference_model_has_the_faults_the_readme_promises() {
    let m = catalogue::load(&catalogue::default_dir(), "reference").unwrap();
    assert_eq!((m.consumers, m.partitions, m.brokers), (3, 2, 2));
    let f = m.faults;
    assert!(f.crashes >= 1 && f.session_expiries >= 1 && f.failovers >= 1 && f.lost_messages >= 1);
    assert!(m.expects_pass());
}

/// `models/deep/NAME-3.toml` is the catalogue's `NAME` with a third consumer, and
/// `NAME-start-leading.toml` the catalogue's `NAME` with the controller's StartLeading
/// travelling: nothing else differs, so the deep run checks the same configuration, bigger.
#[test]
fn each_deep_model_is_its_catalogue_model_grown_one_way() {
    let deep = catalogue::load_all(&catalogue::default_dir().join("deep")).unwrap();
    assert_eq!(deep.len(), 4);
    for d in deep {
        let (name, grow): (&str, fn(&mut ModelConfig)) =
            if let Some(name) = d.name.strip_suffix("-3") {
                (name, |c| c.consumers = 3)
            } else if let Some(name) = d.name.strip_suffix("-start-leading") {
                (name, |c| c.network.start_leading_travels = true)
            } else {
                panic!(
                    "{}: a deep model is named NAME-3 or NAME-start-leading",
                    d.name
                )
            };
        let m = catalogue::load(&catalogue::default_dir(), name).unwrap();
        assert!(d.expect.unique_states > m.expect.unique_states, "{name}");
        let mut grown = ModelConfig {
            name: d.name.clone(),
            description: d.description.clone(),
            expect: d.expect.clone(),
            ..m.clone()
        };
        grow(&mut grown);
        assert_eq!(grown, d, "{name}");
    }
}

#[test]
fn a_bounded_run_is_inconclusive_never_a_pass() {
    let m = catalogue::load(&catalogue::default_dir(), "small").unwrap();
    let report = check(
        &m,
        &CheckOptions {
            max_states: Some(1_000),
            ..options()
        },
    );
    assert!(!report.exhaustive);
    assert!(!report.matches_expectation());
    assert!(report.properties.iter().all(|p| matches!(
        p.verdict,
        Verdict::Inconclusive | Verdict::WitnessFound | Verdict::Violated
    )));
    assert!(report
        .properties
        .iter()
        .any(|p| p.verdict == Verdict::Inconclusive));
}

#[test]
fn the_same_model_gives_the_same_counts_at_any_thread_count() {
    // A model with faults and a few hundred thousand states: enough for the two threads to race
    // for the same states many times, small enough to check twice in the gate.
    let m = catalogue::load(&catalogue::default_dir(), "round-robin").unwrap();
    let one = check(
        &m,
        &CheckOptions {
            threads: 1,
            ..options()
        },
    );
    let two = check(
        &m,
        &CheckOptions {
            threads: 2,
            ..options()
        },
    );
    assert_eq!(one.unique_states, two.unique_states);
    assert_eq!(one.violated(), two.violated());
}

#[test]
fn a_missing_witness_fails_the_check() {
    // With a failover as the only fault, nothing ever rebalances after it: the failover
    // witnesses are unreachable, so the correct protocol "passing" here would prove nothing
    // about failover, and the check must say so.
    let mut m = catalogue::load(&catalogue::default_dir(), "small").unwrap();
    m.expect.unique_states = None;
    m.faults = groupcheck::model::config::Faults {
        failovers: 1,
        ..Default::default()
    };
    let report = check(&m, &options());
    assert!(report.exhaustive);
    assert!(report.violated().is_empty());
    for witness in ["rebalance_after_failover", "commit_read_after_failover"] {
        assert!(
            report
                .properties
                .iter()
                .any(|p| p.name == witness && p.verdict == Verdict::WitnessMissing),
            "{witness} should be missing"
        );
    }
    assert!(!report.matches_expectation());
}

#[test]
fn an_expected_violation_nothing_checked_fails_the_check() {
    // A dynamic group has no static_instance_unique to break, and liveness left unchecked
    // breaks nothing: expecting either violated must not read as met.
    let mut m = catalogue::load(&catalogue::default_dir(), "formation").unwrap();
    m.expect.unique_states = None;
    m.expect.violated = vec![Property::StaticInstanceUnique, Property::Liveness];
    let unchecked = CheckOptions {
        liveness: Some(false),
        ..options()
    };
    let report = check(&m, &unchecked);
    assert!(report.exhaustive && report.violated().is_empty());
    assert_eq!(
        report.mismatches,
        [
            "static_instance_unique is expected violated but not checked",
            "liveness is expected violated but not checked",
        ]
    );
    assert!(!report.matches_expectation());
}

/// The largest pinned plain count of a model whose symmetric check runs in the gate. The few
/// larger models (over a million states each) would double the catalogue's share of the gate;
/// `groupcheck check --all --symmetry` checks them too, outside it.
const SYMMETRY_GATE_MAX_STATES: usize = 1_000_000;

/// Symmetry reduction (depth-first) must not change any verdict, and it must not explore more
/// states than the plain breadth-first search. A passing model's plain count is pinned in its
/// file and its plain verdicts are checked against its expectation by
/// `every_model_matches_its_expectation`, so only the models without a pinned count are checked
/// plainly again here.
#[test]
fn symmetry_reduction_changes_no_verdict() {
    let models = catalogue::load_all(&catalogue::default_dir()).expect("catalogue loads");
    let models: Vec<_> = models
        .into_iter()
        .filter(|m| {
            m.expect
                .unique_states
                .is_none_or(|n| n <= SYMMETRY_GATE_MAX_STATES)
        })
        .collect();
    assert!(
        models.len() >= 20,
        "the symmetric check covers most of the catalogue"
    );
    // Liveness does not use symmetry: leave it to the test above.
    let no_liveness = CheckOptions {
        liveness: Some(false),
        ..options()
    };
    for m in &models {
        // What is expected of the safety properties alone; a flaw caught by liveness only is
        // then expected to pass them, which is checked.
        let m = &ModelConfig {
            expect: Expect {
                violated: (m.expect.violated.iter())
                    .filter(|p| **p != Property::Liveness)
                    .copied()
                    .collect(),
                ..m.expect.clone()
            },
            ..m.clone()
        };
        let reduced = check(
            m,
            &CheckOptions {
                symmetry: true,
                ..no_liveness.clone()
            },
        );
        assert!(
            reduced.matches_expectation(),
            "{}: {:?}",
            m.name,
            reduced.mismatches
        );
        let plain_states = match m.expect.unique_states {
            Some(pinned) => pinned,
            None => {
                let plain = check(m, &no_liveness);
                let verdicts = |r: &groupcheck::check::CheckReport| {
                    let named = r.properties.iter();
                    named.map(|p| (p.name, p.verdict)).collect::<Vec<_>>()
                };
                assert_eq!(verdicts(&plain), verdicts(&reduced), "{}", m.name);
                plain.unique_states
            }
        };
        assert!(
            reduced.unique_states <= plain_states,
            "{}: {} > {}",
            m.name,
            reduced.unique_states,
            plain_states
        );
    }
}

/// Liveness is judged on the state graph the safety search recorded. It must be the graph a
/// search of its own would build, numbered the same way, so the verdict and the lasso are the
/// same; and a recording that is incomplete (here: empty) must fall back to that search.
#[test]
fn liveness_on_the_recorded_graph_is_liveness_on_an_explored_one() {
    use groupcheck::model::liveness::{self, SearchGraph};
    use groupcheck::model::GroupModel;
    use stateright::{Checker, Model};
    use std::sync::Arc;
    for name in [
        "flaw-rebalance-timeout-zero",
        "flaw-no-revoke-before-rejoin",
        "churn",
    ] {
        let cfg = catalogue::load(&catalogue::default_dir(), name).expect("model loads");
        let model = GroupModel::new(cfg);
        let explored = liveness::check(&model, None);
        let graph = Arc::new(SearchGraph::default());
        let searched = GroupModel {
            search_graph: Some(graph.clone()),
            ..model.clone()
        };
        let checker = searched.checker().threads(2).spawn_bfs().join();
        graph.seal();
        assert!(checker.is_done(), "{name}");
        // The recording is complete, so the check below uses it rather than falling back.
        assert_eq!(graph.expanded_states(), explored.states, "{name}");
        let recorded = liveness::check_recorded(&model, &graph, true, None);
        assert_eq!(recorded.states, explored.states, "{name}");
        assert_eq!(recorded.edges, explored.edges, "{name}");
        assert_eq!(recorded.outcome, explored.outcome, "{name}");
        let fallback = liveness::check_recorded(&model, &SearchGraph::default(), true, None);
        assert_eq!(fallback.outcome, explored.outcome, "{name}");
    }
}
