//! Running a model to completion (or to a bound) and judging the result against its
//! expectation.

use crate::model::liveness;
use crate::model::properties::WITNESSES;
use crate::model::{GroupModel, ModelConfig};
use crate::property::Property;
use crate::trace::{shortest_violations, Shortest, Trace};
use stateright::{Checker, Model};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub threads: usize,
    /// Stop after generating this many states: the result is then inconclusive.
    pub max_states: Option<usize>,
    /// Stop after this long: the result is then inconclusive.
    pub timeout: Option<Duration>,
    /// Print progress to stderr while a check runs longer than two seconds.
    pub progress: bool,
    /// Depth-first search with symmetry reduction over consumers (counts then differ from the
    /// pinned breadth-first counts; verdicts do not).
    pub symmetry: bool,
    /// Check liveness: `None` as the model file says, `Some(true)` always, `Some(false)` never.
    pub liveness: Option<bool>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            threads: 1,
            max_states: None,
            timeout: None,
            progress: false,
            symmetry: false,
            liveness: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A safety property held in every reachable state.
    Holds,
    /// A safety property failed; a counterexample exists.
    Violated,
    /// A witness situation was reached.
    WitnessFound,
    /// A witness situation is unreachable: the property it backs is vacuous here.
    WitnessMissing,
    /// The run hit a bound before it could tell.
    Inconclusive,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "VIOLATED",
            Verdict::WitnessFound => "witness found",
            Verdict::WitnessMissing => "WITNESS MISSING",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Clone, Debug)]
pub struct PropertyResult {
    pub name: &'static str,
    pub verdict: Verdict,
    /// For a violation: the counterexample, a shortest one unless the search for it hit the
    /// state bound.
    pub trace: Option<Trace>,
}

#[derive(Clone, Debug)]
pub struct CheckReport {
    pub model: String,
    pub states: usize,
    pub unique_states: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
    /// Every reachable state was visited (no bound was hit).
    pub exhaustive: bool,
    /// Time spent finding the shortest counterexamples (zero when nothing is violated).
    pub trace_elapsed: Duration,
    /// The liveness check, when the model has it: states of its graph and its time.
    pub liveness: Option<(usize, Duration)>,
    pub properties: Vec<PropertyResult>,
    /// How the result differs from the model's expectation; empty when it matches.
    pub mismatches: Vec<String>,
}

impl CheckReport {
    pub fn matches_expectation(&self) -> bool {
        self.mismatches.is_empty()
    }

    pub fn violated(&self) -> Vec<&'static str> {
        self.properties
            .iter()
            .filter(|p| p.verdict == Verdict::Violated)
            .map(|p| p.name)
            .collect()
    }
}

/// Checks one model exhaustively with breadth-first search.
pub fn check(cfg: &ModelConfig, opts: &CheckOptions) -> CheckReport {
    let model = GroupModel::new(cfg.clone());
    if !opts.liveness.unwrap_or(cfg.expect.liveness) {
        let mut report = check_safety(&model, None, opts);
        report.mismatches = mismatches(cfg, &report, opts.symmetry);
        return report;
    }
    // The breadth-first safety search records the state graph, and liveness is judged on it
    // afterwards. The depth-first search with symmetry explores representatives only, so
    // liveness explores the whole graph itself, on one thread beside the safety search.
    std::thread::scope(|scope| {
        let (mut report, (result, states, elapsed)) = if opts.symmetry {
            let liveness = scope.spawn(|| check_liveness(&model, None, opts));
            let report = check_safety(&model, None, opts);
            (
                report,
                liveness.join().expect("the liveness search panicked"),
            )
        } else {
            let graph = std::sync::Arc::new(liveness::SearchGraph::default());
            let report = check_safety(&model, Some(graph.clone()), opts);
            let liveness = check_liveness(&model, Some((&graph, report.exhaustive)), opts);
            (report, liveness)
        };
        report.properties.push(result);
        report.liveness = Some((states, elapsed));
        report.mismatches = mismatches(cfg, &report, opts.symmetry);
        report
    })
}

/// The liveness verdict of `model`, on the graph the safety search recorded if there is one
/// (with whether that search was exhaustive), with the size of the graph and the time it took.
fn check_liveness(
    model: &GroupModel,
    recorded: Option<(&liveness::SearchGraph, bool)>,
    opts: &CheckOptions,
) -> (PropertyResult, usize, Duration) {
    let start = Instant::now();
    let report = match recorded {
        Some((graph, exhaustive)) => {
            liveness::check_recorded(model, graph, exhaustive, opts.max_states)
        }
        None => liveness::check(model, opts.max_states),
    };
    let (verdict, trace) = match &report.outcome {
        liveness::Outcome::Holds => (Verdict::Holds, None),
        liveness::Outcome::Violated(lasso) => (Verdict::Violated, Some(Trace::lasso(model, lasso))),
        liveness::Outcome::Inconclusive => (Verdict::Inconclusive, None),
    };
    let result = PropertyResult {
        name: Property::Liveness.name(),
        verdict,
        trace,
    };
    (result, report.states, start.elapsed())
}

/// Every safety property and witness of `model`, by breadth-first search (or depth-first with
/// symmetry), with a shortest counterexample for each violation.
fn check_safety(
    model: &GroupModel,
    graph: Option<std::sync::Arc<liveness::SearchGraph>>,
    opts: &CheckOptions,
) -> CheckReport {
    let cfg = &model.cfg;
    let properties = model.properties();
    let searched = GroupModel {
        search_graph: graph.clone(),
        ..model.clone()
    };
    let mut builder = searched.checker().threads(opts.threads.max(1));
    if let Some(n) = opts.max_states {
        builder = builder.target_state_count(n);
    }
    if let Some(t) = opts.timeout {
        builder = builder.timeout(t);
    }
    let start = Instant::now();
    let mut checker: Box<dyn Checker<GroupModel>> = if opts.symmetry {
        Box::new(
            builder
                .symmetry_fn(crate::model::symmetry::representative)
                .spawn_dfs(),
        )
    } else {
        Box::new(builder.spawn_bfs())
    };
    let handles = checker.handles();
    let mut last_report = Instant::now();
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(2));
        if opts.progress
            && start.elapsed() > Duration::from_secs(2)
            && last_report.elapsed() > Duration::from_secs(2)
        {
            eprintln!(
                "  … {}: {} states, {} unique, depth {}, {:.0} s",
                cfg.name,
                checker.state_count(),
                checker.unique_state_count(),
                checker.max_depth(),
                start.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    for h in handles {
        let _ = h.join();
    }
    if let Some(graph) = &graph {
        graph.seal();
    }
    let elapsed = start.elapsed();
    let states = checker.state_count();
    let hit_state_bound = opts.max_states.is_some_and(|n| states >= n);
    let hit_time_bound = opts.timeout.is_some_and(|t| elapsed >= t);
    let exhaustive = !hit_state_bound && !hit_time_bound;
    let discoveries = checker.discoveries();

    let results: Vec<PropertyResult> = properties
        .iter()
        .map(|p| {
            let is_safety = Property::from_name(p.name).is_some();
            let found = discoveries.get(p.name);
            let verdict = match (is_safety, found.is_some(), exhaustive) {
                (true, true, _) => Verdict::Violated,
                (true, false, true) => Verdict::Holds,
                (false, true, _) => Verdict::WitnessFound,
                (false, false, true) => Verdict::WitnessMissing,
                (_, false, false) => Verdict::Inconclusive,
            };
            PropertyResult {
                name: p.name,
                verdict,
                trace: None,
            }
        })
        .collect();
    let trace_start = Instant::now();
    let results = attach_traces(model, results, &discoveries, opts);
    let trace_elapsed = trace_start.elapsed();
    CheckReport {
        model: cfg.name.clone(),
        states,
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        elapsed,
        exhaustive,
        trace_elapsed,
        liveness: None,
        properties: results,
        mismatches: Vec::new(),
    }
}

/// Finds a shortest counterexample for every violated property. Should that search hit the
/// state bound, Stateright's own (longer) path is kept, marked as not minimal.
fn attach_traces(
    model: &GroupModel,
    mut results: Vec<PropertyResult>,
    discoveries: &std::collections::HashMap<
        &'static str,
        stateright::Path<crate::model::World, crate::model::Action>,
    >,
    opts: &CheckOptions,
) -> Vec<PropertyResult> {
    let violated: Vec<Property> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Violated)
        .filter_map(|r| Property::from_name(r.name))
        .collect();
    if violated.is_empty() {
        return results;
    }
    let shortest = shortest_violations(model, &violated, opts.max_states);
    for r in results
        .iter_mut()
        .filter(|r| r.verdict == Verdict::Violated)
    {
        r.trace = match shortest.iter().find(|s| s.property.name() == r.name) {
            Some(s) => Some(Trace::build(model, s, true)),
            None => discoveries.get(r.name).map(|path| {
                let p = Property::from_name(r.name).expect("only safety properties are violated");
                let s = Shortest::from_actions(model, p, path.clone().into_actions());
                Trace::build(model, &s, false)
            }),
        };
    }
    results
}

/// How a report differs from what the model file expects.
fn mismatches(cfg: &ModelConfig, report: &CheckReport, symmetry: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !report.exhaustive {
        out.push(
            "inconclusive: a state or time bound was hit before the state space was exhausted"
                .into(),
        );
    }
    // An expectation nothing checked is not met: a property the model leaves out (static
    // membership's in a dynamic group), or liveness not checked.
    for p in &cfg.expect.violated {
        if !report.properties.iter().any(|r| r.name == p.name()) {
            let why = match p {
                Property::Liveness if !cfg.expect.liveness => " (expect.liveness = false)",
                _ => "",
            };
            out.push(format!(
                "{} is expected violated but not checked{why}",
                p.name()
            ));
        }
    }
    for p in &report.properties {
        if p.verdict == Verdict::Inconclusive && p.name == Property::Liveness.name() {
            out.push("inconclusive: the liveness graph is larger than the state bound".into());
        }
        let expected_violated = cfg.expect.violates(p.name);
        match p.verdict {
            Verdict::Violated if !expected_violated => {
                out.push(format!("{} is violated but expected to hold", p.name))
            }
            Verdict::Holds if expected_violated => out.push(format!(
                "{} holds but the model expects a violation",
                p.name
            )),
            Verdict::WitnessMissing => out.push(format!("witness {} was never reached", p.name)),
            _ => {}
        }
    }
    // The pinned count is the breadth-first count without symmetry.
    if report.exhaustive && cfg.expects_pass() && !symmetry {
        if let Some(expected) = cfg.expect.unique_states {
            if expected != report.unique_states {
                out.push(format!(
                    "unique states: expected {expected}, got {}",
                    report.unique_states
                ));
            }
        }
    }
    out
}

/// The names of every property and witness, in report order.
pub fn property_names() -> Vec<&'static str> {
    Property::ALWAYS
        .into_iter()
        .chain([Property::Liveness])
        .map(Property::name)
        .chain(WITNESSES.iter().map(|w| w.name))
        .collect()
}
