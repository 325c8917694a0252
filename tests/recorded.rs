//! Runs recorded from the concurrent runtime, written as model executions (`groupcheck run
//! --record`): the trace replays on the model, a run with a flaw records the violation, and a
//! history the model could not have produced is refused.

use groupcheck::assignor::Assignor;
use groupcheck::flaw::{Flaw, Flaws};
use groupcheck::model::{Action, Membership, ModelConfig};
use groupcheck::protocol::{ErrorCode, Record, Response};
use groupcheck::runtime::live::{self, LiveConfig};
use groupcheck::runtime::Event;
use groupcheck::trace::recorded::{from_history, model_config};
use groupcheck::trace::replay::replay;
use groupcheck::trace::{Trace, NO_VIOLATION};
use std::time::Duration;

fn live_config(flaw: Option<Flaw>) -> LiveConfig {
    live_config_with(flaw, Assignor::Range)
}

fn live_config_with(flaw: Option<Flaw>, assignor: Assignor) -> LiveConfig {
    LiveConfig {
        assignor,
        consumers: 3,
        partitions: 4,
        brokers: 2,
        duration: Duration::from_millis(1500),
        seed: 7,
        // Faults come often, so that a short run has crashes, pauses, leaves and failovers.
        fault_every: Duration::from_millis(250),
        verbose: false,
        flaws: flaw.into_iter().collect::<Flaws>(),
        keep_history: true,
        ..LiveConfig::default()
    }
}

fn base(flaw: Option<Flaw>) -> ModelConfig {
    model_config(&live_config(flaw)).expect("the model holds the run")
}

/// A recorded run of `cfg` (another run if one took a path the model has no single step for).
fn recorded(cfg: &LiveConfig) -> Trace {
    let base = model_config(cfg).expect("the model holds the run");
    let mut refused = Vec::new();
    for _ in 0..3 {
        match from_history(&live::run(cfg).history, &base, "test") {
            Ok(trace) => return trace,
            Err(e) => refused.push(e.to_string()),
        }
    }
    panic!("three runs in a row were not model executions: {refused:?}");
}

/// A recorded run and its trace. Thread scheduling is real, so once in a while a run takes a
/// path the model has no single step for (see `trace::recorded`); such a run is inconclusive,
/// not wrong, and another run is made.
fn recorded_run(flaw: Option<Flaw>) -> (Vec<Event>, Trace) {
    let mut refused = Vec::new();
    for _ in 0..3 {
        let report = live::run(&live_config(flaw));
        match from_history(&report.history, &base(flaw), "test") {
            Ok(trace) => return (report.history, trace),
            Err(e) => refused.push(e.to_string()),
        }
    }
    panic!("three runs in a row were not model executions: {refused:?}");
}

#[test]
fn a_recorded_run_of_the_correct_runtime_is_a_model_execution_where_every_property_holds() {
    let (history, trace) = recorded_run(None);
    assert_eq!(trace.property, NO_VIOLATION, "{}", trace.explanation);
    assert!(
        trace.steps.len() > 100,
        "a run of 1.5 s takes hundreds of steps"
    );
    let faults = trace.config.faults;
    assert!(
        faults.crashes + faults.session_expiries + faults.failovers + faults.leaves > 0,
        "the run suffered faults: {faults:?}"
    );
    assert!(history.len() >= trace.steps.len() / 2);
    // The file form reads back and replays on the model, every property holding throughout.
    let back = Trace::from_json(&trace.to_json()).expect("a recorded trace reads back");
    assert_eq!(back, trace);
    replay(&back).expect("a recorded run replays on the model");
}

#[test]
fn a_recorded_run_with_a_flaw_records_the_violation_and_replays_it() {
    let (_, trace) = recorded_run(Some(Flaw::SyncAckBeforePersist));
    assert_eq!(
        trace.property, "durable_before_ack",
        "{}",
        trace.explanation
    );
    replay(&trace).expect("the violation replays on the model");
}

#[test]
fn a_history_the_model_could_not_have_produced_is_refused() {
    let (mut history, _) = recorded_run(None);
    // Forge one answer: the first JoinGroup success becomes NOT_COORDINATOR.
    let forged = history
        .iter_mut()
        .flat_map(|e| match e {
            Event::Handled { replies, .. } | Event::Completed { replies, .. } => {
                replies.iter_mut().collect::<Vec<_>>()
            }
            _ => Vec::new(),
        })
        .find_map(|r| match &mut r.response {
            Response::JoinGroup { error, .. } if *error == ErrorCode::None => {
                *error = ErrorCode::NotCoordinator;
                Some(())
            }
            _ => None,
        });
    assert!(forged.is_some(), "the run formed a group");
    let refused = from_history(&history, &base(None), "test").expect_err("a forged answer");
    assert!(refused.reason.contains("the runtime answered"), "{refused}");

    // Drop the record of one replication: a completion without its replication.
    let (mut history, _) = recorded_run(None);
    let at = history
        .iter()
        .position(|e| matches!(e, Event::Replicated { .. }))
        .expect("the run replicated");
    history.remove(at);
    assert!(from_history(&history, &base(None), "test").is_err());

    // Change what one replication made durable: the model's log no longer matches.
    let (mut history, _) = recorded_run(None);
    let batch = history
        .iter_mut()
        .find_map(|e| match e {
            Event::Replicated { batch } => Some(batch),
            _ => None,
        })
        .expect("the run replicated");
    batch.push(Record::OffsetTombstone { partition: 0 });
    let refused = from_history(&history, &base(None), "test").expect_err("a forged batch");
    assert!(refused.reason.contains("the runtime made"), "{refused}");
}

#[test]
fn a_recorded_run_of_a_cooperative_group_is_a_model_execution_where_every_property_holds() {
    let trace = recorded(&live_config_with(None, Assignor::CooperativeSticky));
    assert_eq!(trace.property, NO_VIOLATION, "{}", trace.explanation);
    assert_eq!(
        trace.config.protocol,
        groupcheck::model::config::Protocol::ClassicCooperative
    );
    assert!(
        trace.steps.len() > 100,
        "a run of 1.5 s takes hundreds of steps"
    );
    replay(&trace).expect("a recorded cooperative run replays on the model");
}

// Static members (KIP-345) live: a crashed or closed process restarts with its instance id and
// takes its member back; a pause past the session timeout expires the member; a pause through a
// join phase's end leaves the member out, and its client gives it up (the model's
// rebalance-timeout step). The session timeout is longer than the rebalance timeout, as static
// deployments set it, so that a pause can outlast a join phase without its session expiring.
#[test]
fn a_recorded_run_of_a_static_group_is_a_model_execution_where_every_property_holds() {
    let cfg = LiveConfig {
        static_members: true,
        session_timeout: Duration::from_millis(700),
        rebalance_timeout: Duration::from_millis(400),
        ..live_config_with(None, Assignor::Range)
    };
    let trace = recorded(&cfg);
    assert_eq!(trace.property, NO_VIOLATION, "{}", trace.explanation);
    assert_eq!(trace.config.membership, Membership::Static);
    let restarts = trace.steps.iter();
    let restarts = restarts
        .filter(|s| matches!(s.action, Action::Crash(_)))
        .count();
    assert!(restarts > 0, "no process restarted with its instance id");
    replay(&trace).expect("a recorded static run replays on the model");
}

/// The coordinator's side of a run, as `serve --record` writes it: re-executed on fresh
/// coordinators and a fresh log, every answer and every append is the same, and the history is
/// judged the same again; a forged answer, an append left out, or a verdict changed diverges
/// where it was changed.
#[test]
fn a_coordinator_history_replays_and_a_forged_one_diverges_where_it_was_changed() {
    use groupcheck::coordinator::CoreConfig;
    use groupcheck::trace::served::{replay, ServedTrace};
    let history_of = |flaw| {
        let cfg = live_config(flaw);
        let core = CoreConfig {
            partitions: cfg.partitions,
            assignor: cfg.assignor,
            flaws: cfg.flaws,
        };
        let history = live::run(&cfg).history;
        ServedTrace::new("test", "g", &core, cfg.brokers, history)
    };
    let clean = history_of(None);
    assert_eq!(clean.property, NO_VIOLATION, "{}", clean.explanation);
    replay(&clean).expect("the correct runtime's history replays");
    let appends = clean
        .events
        .iter()
        .filter(|e| matches!(e, Event::Appended { .. }))
        .count();
    assert!(appends > 10, "a run of 1.5 s appends often: {appends}");

    // An answer the run never sent.
    let answered = clean
        .events
        .iter()
        .position(|e| matches!(e, Event::Handled { replies, .. } if !replies.is_empty()))
        .unwrap();
    let mut forged = clean.clone();
    if let Event::Handled { replies, .. } = &mut forged.events[answered] {
        replies.clear();
    }
    let d = replay(&forged).unwrap_err();
    assert_eq!(d.event, answered + 1, "{d}");

    // An append left out: the request that made it diverges.
    let appended = clean
        .events
        .iter()
        .position(|e| matches!(e, Event::Appended { accepted: true, .. }))
        .unwrap();
    let mut cut = clean.clone();
    cut.events.remove(appended);
    let d = replay(&cut).unwrap_err();
    assert!(d.reason.contains("the run appended nothing"), "{d}");

    // A flawed coordinator's history breaks its property, and replays doing so.
    let flawed = history_of(Some(Flaw::SyncAckBeforePersist));
    assert_eq!(flawed.property, "durable_before_ack");
    replay(&flawed).expect("the flawed history replays");
    let mut acquitted = flawed.clone();
    acquitted.violations.clear();
    let d = replay(&acquitted).unwrap_err();
    assert!(d.reason.starts_with("judged again"), "{d}");
}
