//! Counterexample traces: shortest, deterministic, replayable, and the committed reports are
//! exactly what the checker writes.

// The command line's allocator: this test checks models in-process, as `check` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use groupcheck::catalogue;
use groupcheck::check::{check, CheckOptions, CheckReport};
use groupcheck::model::{GroupModel, ModelConfig};
use groupcheck::report::model_files;
use groupcheck::trace::replay::replay;
use groupcheck::trace::{render, Trace};
use stateright::{Checker, Model};
use std::path::PathBuf;
use std::sync::LazyLock;

fn flaw_models() -> Vec<ModelConfig> {
    let models = catalogue::load_all(&catalogue::default_dir()).expect("catalogue loads");
    let flawed: Vec<_> = models.into_iter().filter(|m| !m.expects_pass()).collect();
    assert!(flawed.len() >= 6, "one model per flaw at least");
    flawed
}

/// Each flaw model checked once with 2 threads, shared by the tests of this file (a check of
/// every flaw model takes a while, and the tests only read the reports).
static CHECKED: LazyLock<Vec<(ModelConfig, CheckReport)>> = LazyLock::new(|| {
    let models = flaw_models().into_iter();
    models.map(|m| (m.clone(), run(&m, 2))).collect()
});

fn run(m: &ModelConfig, threads: usize) -> CheckReport {
    check(
        m,
        &CheckOptions {
            threads,
            ..CheckOptions::default()
        },
    )
}

fn traces(r: &CheckReport) -> Vec<&Trace> {
    r.properties
        .iter()
        .filter_map(|p| p.trace.as_ref())
        .collect()
}

/// Whether Stateright's own BFS (one thread, so each state is first met at its least depth)
/// finds a violation of `property` among the states reachable in at most `steps` steps.
fn stateright_finds_within(m: &ModelConfig, property: &'static str, steps: usize) -> bool {
    let checker = GroupModel::new(m.clone())
        .checker()
        .threads(1)
        // Depth counts states: the initial state has depth 1.
        .target_max_depth(steps + 2)
        .spawn_bfs()
        .join();
    checker.discovery(property).is_some()
}

#[test]
fn every_flaw_trace_is_a_shortest_violation() {
    for (m, report) in CHECKED.iter() {
        let ts = traces(report);
        assert_eq!(ts.len(), m.expect.violated.len(), "{}", m.name);
        for t in ts {
            if t.cycle_start.is_some() {
                // A lasso is not searched shortest; `lassos_replay_and_close_their_cycle` checks it.
                continue;
            }
            let property = groupcheck::check::property_names()
                .into_iter()
                .find(|p| *p == t.property)
                .unwrap();
            let n = t.steps.len();
            assert!(t.minimal, "{}: {}", m.name, t.property);
            // An independent search (Stateright's) finds nothing shorter...
            assert!(
                !stateright_finds_within(m, property, n - 1),
                "{}: {} is violated in fewer than {n} steps",
                m.name,
                t.property
            );
            // ...and does find a violation at this length.
            assert!(
                stateright_finds_within(m, property, n),
                "{}: {} not found within {n} steps",
                m.name,
                t.property
            );
        }
    }
}

/// One thread against two give the same trace bytes. (Two runs at two threads give the same
/// bytes too: `committed_reports_are_regenerated_byte_for_byte` compares this run's traces
/// with the committed ones, written by an earlier run.)
#[test]
fn traces_are_the_same_bytes_at_every_thread_count() {
    for (m, report) in CHECKED.iter() {
        // The liveness search yields a trace only where liveness is violated; elsewhere it
        // would double the run and add no trace to compare.
        let options = CheckOptions {
            threads: 1,
            liveness: Some(m.expect.violates("liveness")),
            ..CheckOptions::default()
        };
        let one: Vec<String> = traces(&check(m, &options))
            .iter()
            .map(|t| t.to_json())
            .collect();
        let two: Vec<String> = traces(report).iter().map(|t| t.to_json()).collect();
        assert_eq!(one, two, "{}: 1 vs 2 threads", m.name);
    }
}

fn reports_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reports")
}

/// The committed `reports/` are documentation ("this is what KAFKA-2596 looks like"): they must
/// be exactly what `groupcheck check --all` writes today.
#[test]
fn committed_reports_are_regenerated_byte_for_byte() {
    let models = catalogue::load_all(&catalogue::default_dir()).unwrap();
    let mut stale = Vec::new();
    for (m, report) in CHECKED.iter() {
        let dir = reports_dir().join(&m.name);
        let expected = model_files(report);
        assert!(!expected.is_empty(), "{}: no trace", m.name);
        let mut committed: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        committed.sort();
        let mut names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        if committed != names {
            stale.push(format!(
                "{}: files {committed:?}, expected {names:?}",
                m.name
            ));
            continue;
        }
        for (name, contents) in expected {
            if std::fs::read_to_string(dir.join(&name)).ok().as_deref() != Some(&contents) {
                stale.push(format!("{}/{name} differs", m.name));
            }
        }
    }
    for m in models.iter().filter(|m| m.expects_pass()) {
        if reports_dir().join(&m.name).exists() {
            stale.push(format!(
                "{}: a passing model has a report directory",
                m.name
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "reports/ is stale; regenerate with `cargo run --release -- check --all`:\n{}",
        stale.join("\n")
    );
}

fn committed_traces() -> Vec<(PathBuf, Trace)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(reports_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                let t = Trace::from_json(&std::fs::read_to_string(&p).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                out.push((p, t));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 6);
    out
}

#[test]
fn every_committed_trace_replays_and_reproduces_its_violation() {
    for (path, t) in committed_traces() {
        assert_eq!(replay(&t), Ok(()), "{}", path.display());
    }
}

#[test]
fn a_tampered_trace_diverges_at_the_step_that_was_changed() {
    let (_, t) = committed_traces()
        .into_iter()
        .max_by_key(|(_, t)| t.steps.len())
        .unwrap();
    assert!(t.steps.len() >= 3);

    let mut changed = t.clone();
    changed.steps[2].changes.pop();
    let d = replay(&changed).unwrap_err();
    assert_eq!(d.step, 3, "{d}");

    let mut skipped = t.clone();
    skipped.steps.remove(0);
    for (i, s) in skipped.steps.iter_mut().enumerate() {
        s.step = i + 1;
    }
    assert!(replay(&skipped).is_err());

    let mut cut = t.clone();
    cut.steps.pop();
    let d = replay(&cut).unwrap_err();
    assert!(d.reason.contains("not reproduced") || d.step > 0, "{d}");
}

/// The diagram uses only the statements we emit, and its text cannot break Mermaid's parser.
#[test]
fn mermaid_diagrams_are_well_formed() {
    for (path, t) in committed_traces() {
        let d = render::mermaid(&t);
        let mut lines = d.lines();
        assert_eq!(lines.next(), Some("sequenceDiagram"));
        let mut notes = 0;
        for line in lines {
            let line = line.trim_start();
            let ok = line.starts_with("participant ")
                || line == "loop repeats forever"
                || line == "end"
                || line.starts_with("Note over ")
                || line.contains("->>")
                || line.contains("--x");
            assert!(ok, "{}: {line}", path.display());
            if let Some((_, text)) = line.split_once(": ") {
                let unescaped = text.replace("#35;", "").replace("#59;", "");
                assert!(
                    !unescaped.contains(['#', ';']),
                    "{}: {line}",
                    path.display()
                );
            }
            notes += line.starts_with("Note over ") as usize;
        }
        assert!(d.contains("VIOLATED"), "{}", path.display());
        assert!(notes >= 1);
        // One line per step, plus the violation (and a lasso's `loop` and `end`).
        let steps = d
            .lines()
            .filter(|l| !l.contains("participant"))
            .filter(|l| !matches!(l.trim(), "loop repeats forever" | "end"))
            .count()
            - 1;
        assert_eq!(steps, t.steps.len() + 1, "{}", path.display());
    }
}

#[test]
fn a_trace_round_trips_through_json_unchanged() {
    for (_, t) in committed_traces() {
        let again = Trace::from_json(&t.to_json()).unwrap();
        assert_eq!(again, t);
    }
}

#[test]
fn malformed_traces_are_refused_with_a_reason() {
    let (_, t) = committed_traces().remove(0);
    let good = t.to_json();
    for (text, needle) in [
        ("{", "not JSON"),
        ("{}", "not a groupcheck trace"),
        (
            &good.replace("groupcheck-trace/1", "groupcheck-trace/99") as &str,
            "unsupported trace format",
        ),
        (
            &good.replacen("\"steps\"", "\"stepz\"", 1),
            "malformed trace",
        ),
        (
            &good.replacen("\"consumers\": 2", "\"consumers\": 0", 1),
            "consumers: must be 1 to 6",
        ),
    ] {
        let e = Trace::from_json(text).unwrap_err();
        assert!(e.contains(needle), "{needle}: {e}");
    }
}

/// A liveness counterexample is a lasso: its cycle closes (up to renumbering), is fair, and
/// replays; cut short or with a step of the cycle removed, it does not.
#[test]
fn lassos_replay_and_close_their_cycle() {
    let (_, report) = CHECKED
        .iter()
        .find(|(m, _)| m.name == "flaw-rebalance-timeout-zero")
        .expect("the flaw-rebalance-timeout-zero model");
    let t = traces(report)
        .into_iter()
        .find(|t| t.property == "liveness")
        .expect("a liveness trace")
        .clone();
    let k = t.cycle_start.expect("a lasso has a cycle");
    assert!(k < t.steps.len(), "the cycle has steps");
    replay(&t).unwrap();
    let d = render::mermaid(&t);
    assert_eq!(d.matches("loop repeats forever").count(), 1);
    assert!(render::markdown(&t, "x").contains("repeat forever"));

    // The last step of the cycle removed: the cycle no longer closes.
    let mut open = t.clone();
    open.steps.pop();
    open.violating_state = t.violating_state.clone();
    assert!(replay(&open).is_err());
    // The cycle said to start one step later: it does not come back there.
    let mut shifted = t.clone();
    shifted.cycle_start = Some(k + 1);
    let d = replay(&shifted).unwrap_err();
    assert!(d.reason.contains("does not close"), "{d}");
    // A lasso without its cycle is refused.
    let mut none = t.clone();
    none.cycle_start = None;
    assert!(replay(&none).is_err());
}
