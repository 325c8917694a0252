//! Counterexample traces: one serde type for every failure, built from a shortest path of the
//! model, rendered as Markdown, Mermaid and terminal text, and replayable.
//!
//! A trace says which model (with its whole configuration, so it replays without the catalogue),
//! which property broke and why in one sentence, and every step: the action exactly as the model
//! takes it, a plain-English sentence, and only the fields of the state that changed. It ends
//! with the violating state.

pub mod diff;
pub mod explain;
pub mod probed;
pub mod recorded;
pub mod render;
pub mod replay;
pub mod served;

pub use crate::model::shortest::{shortest_violations, Shortest};
pub use diff::Change;

use crate::model::{Action, GroupModel, ModelConfig, World};
use crate::property::Property;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The trace format this build writes and reads.
pub const FORMAT: &str = "groupcheck-trace/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    pub format: String,
    pub model: String,
    /// The model's configuration, as in its catalogue file.
    pub config: ModelConfig,
    pub flaw: Option<String>,
    /// Where the execution comes from, when it is not a search of the model: a run recorded
    /// from the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The property the trace violates, or [`NO_VIOLATION`] for a recorded run in which every
    /// property held.
    pub property: String,
    /// What the property says, in one line.
    pub property_summary: String,
    /// Why the last state violates it, in one sentence.
    pub explanation: String,
    /// True when the trace is a shortest violating execution (found by breadth-first search).
    pub minimal: bool,
    /// The path to open in Stateright's Explorer (`groupcheck explore`): initial state index,
    /// then the index of each step's action among those enabled.
    pub explorer_path: String,
    /// For a liveness violation (a lasso): how many steps come before the cycle. Steps
    /// `cycle_start + 1 ..= steps.len()` repeat forever: the state after the last step is the
    /// state after step `cycle_start` (step 0: the initial state), up to the numbering of
    /// generations and member ids. Equal to `steps.len()` when the execution stutters there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_start: Option<usize>,
    pub steps: Vec<Step>,
    /// The state the last step reached, in which the property fails (for a recorded run with
    /// no violation: simply the last state).
    pub violating_state: Value,
}

/// The `property` of a recorded run in which every property held in every state.
pub const NO_VIOLATION: &str = "none";

/// The steps of an execution, with the state before the last step (a violation is explained
/// by what that step did) and the last state.
struct Walk {
    steps: Vec<Step>,
    prev: Option<World>,
    last: World,
    last_view: Value,
}

impl Walk {
    fn new(model: &GroupModel, actions: &[Action]) -> Walk {
        let mut state = model_init(model);
        let mut steps = Vec::with_capacity(actions.len());
        let mut before = diff::view(&state);
        let mut prev = None;
        for (i, action) in actions.iter().enumerate() {
            let next = model.step(&state, action);
            let after = diff::view(&next);
            steps.push(Step {
                step: i + 1,
                action: action.clone(),
                description: explain::describe(&state, action, &next),
                sent: next
                    .sent_since(&state)
                    .iter()
                    .map(|e| e.to_string())
                    .collect(),
                changes: diff::diff(&before, &after),
            });
            prev = Some(std::mem::replace(&mut state, next));
            before = after;
        }
        Walk {
            steps,
            prev,
            last: state,
            last_view: before,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// 1-based.
    pub step: usize,
    /// The action as the model takes it.
    pub action: Action,
    /// What happened, in plain English.
    pub description: String,
    /// The messages this step put on the network.
    pub sent: Vec<String>,
    /// Every field of the state that changed.
    pub changes: Vec<Change>,
}

impl Trace {
    /// Builds the trace of a path (found by [`shortest_violations`]) to a violation of
    /// `property`.
    pub fn build(model: &GroupModel, found: &Shortest, minimal: bool) -> Trace {
        let walk = Walk::new(model, &found.actions);
        let cfg = &model.cfg;
        Trace {
            format: FORMAT.into(),
            model: cfg.name.clone(),
            config: cfg.clone(),
            flaw: cfg.flaw.map(|f| f.name().to_string()),
            origin: None,
            property: found.property.to_string(),
            property_summary: found.property.summary().to_string(),
            explanation: explain::violation(model, found.property, walk.prev.as_ref(), &walk.last),
            minimal,
            explorer_path: explorer_path(&found.action_indices),
            cycle_start: None,
            steps: walk.steps,
            violating_state: walk.last_view,
        }
    }

    /// The stable JSON form: fixed field order, two-space indentation, a final newline.
    /// A liveness counterexample: `prefix`, then `cycle` forever.
    pub fn lasso(model: &GroupModel, lasso: &crate::model::liveness::Lasso) -> Trace {
        let actions: Vec<Action> = lasso.prefix.iter().chain(&lasso.cycle).cloned().collect();
        let found = Shortest::from_actions(model, Property::Liveness, actions);
        let mut trace = Trace::build(model, &found, false);
        trace.cycle_start = Some(lasso.prefix.len());
        let walk = Walk::new(model, &lasso.prefix);
        trace.explanation = explain::livelock(&walk.last, lasso.cycle.len());
        trace
    }

    pub fn to_json(&self) -> String {
        pretty_json(self)
    }

    /// Parses a model's trace file, refusing other formats and kinds with a clear message.
    pub fn from_json(text: &str) -> Result<Trace, String> {
        match AnyTrace::from_json(text)? {
            AnyTrace::Model(t) => Ok(t),
            AnyTrace::Served(_) => Err(format!(
                "a served run's trace (kind `{}`), not a model's",
                served::KIND
            )),
            AnyTrace::Probe(_) => Err(format!(
                "a probe's trace (kind `{}`), not a model's",
                probed::KIND
            )),
        }
    }

    fn from_value(v: Value) -> Result<Trace, String> {
        let mut trace: Trace =
            serde_json::from_value(v).map_err(|e| format!("malformed trace: {e}"))?;
        trace.config.name = trace.model.clone();
        trace
            .config
            .validate()
            .map_err(|e| format!("malformed trace: config: {e}"))?;
        Ok(trace)
    }
}

/// A `groupcheck-trace/1` file of any kind: a model's execution (no `kind`), a served run's
/// coordinator history (`"kind": "coordinator-history"`), or a probe's scenario
/// (`"kind": "probe-scenario"`).
#[allow(clippy::large_enum_variant)]
pub enum AnyTrace {
    Model(Trace),
    Served(served::ServedTrace),
    Probe(probed::ProbeTrace),
}

impl AnyTrace {
    /// Parses a trace file, refusing other formats with a clear message.
    pub fn from_json(text: &str) -> Result<AnyTrace, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        match v.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(format!(
                    "unsupported trace format `{other}` (this build reads `{FORMAT}`)"
                ))
            }
            None => {
                return Err(format!(
                    "not a groupcheck trace: no \"format\": \"{FORMAT}\""
                ))
            }
        }
        match v.get("kind") {
            None => Trace::from_value(v).map(AnyTrace::Model),
            Some(k) if k.as_str() == Some(served::KIND) => {
                served::ServedTrace::from_value(v).map(AnyTrace::Served)
            }
            Some(k) if k.as_str() == Some(probed::KIND) => {
                probed::ProbeTrace::from_value(v).map(AnyTrace::Probe)
            }
            Some(k) => Err(format!(
                "unknown trace kind {k} (this build reads `{}` and `{}`, or none for a model's trace)",
                served::KIND,
                probed::KIND
            )),
        }
    }
}

/// A trace file's text: pretty JSON, ending with a newline.
fn pretty_json(t: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(t).expect("a trace serializes");
    s.push('\n');
    s
}

fn model_init(model: &GroupModel) -> World {
    use stateright::Model;
    model
        .init_states()
        .pop()
        .expect("a model has one initial state")
}

fn explorer_path(indices: &[usize]) -> String {
    let mut path = String::from("#/steps/0");
    for i in indices {
        path.push_str(&format!("/{i}"));
    }
    path
}
