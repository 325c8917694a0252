//! Replaying a trace on the model: every step must be enabled, must change exactly the fields the
//! trace records, and the last state must violate the trace's property (for a recorded run with
//! no violation: every property must hold in every state).

use super::diff::{diff, view};
use super::{model_init, Trace, NO_VIOLATION};
use crate::model::liveness::{same_state, unfair_or_converging};
use crate::model::properties::{condition, first_violated};
use crate::model::{GroupModel, World};
use crate::property::Property;
use stateright::Model;

/// Where and why a replay left the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The 1-based step that diverged; 0 for the initial state or the final verdict.
    pub step: usize,
    pub reason: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.step == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "step {}: {}", self.step, self.reason)
        }
    }
}

/// Re-executes `trace` step by step. `Ok` means every step matched and the violation is
/// reproduced.
pub fn replay(trace: &Trace) -> Result<(), Divergence> {
    let model = GroupModel::new(trace.config.clone());
    // A recorded run in which nothing broke replays with every property holding throughout.
    let clean = trace.property == NO_VIOLATION;
    let lasso = trace.property == Property::Liveness.name();
    if lasso != trace.cycle_start.is_some()
        || trace.cycle_start.is_some_and(|k| k > trace.steps.len())
    {
        return Err(Divergence {
            step: 0,
            reason: "a liveness trace, and only one, has a cycle_start within its steps".into(),
        });
    }
    let condition = match Property::from_name(&trace.property) {
        _ if clean || lasso => None,
        Some(p) => Some(condition(p)),
        None => {
            return Err(Divergence {
                step: 0,
                reason: format!("unknown property `{}`", trace.property),
            })
        }
    };
    let mut state = model_init(&model);
    // The states from the start of the cycle on, for a lasso.
    let mut cycle: Vec<World> = Vec::new();
    if trace.cycle_start == Some(0) {
        cycle.push(state.clone());
    }
    let mut enabled = Vec::new();
    for (i, step) in trace.steps.iter().enumerate() {
        let n = i + 1;
        if step.step != n {
            return Err(Divergence {
                step: n,
                reason: format!("steps out of order: found step {} here", step.step),
            });
        }
        enabled.clear();
        model.actions(&state, &mut enabled);
        if !enabled.contains(&step.action) {
            return Err(Divergence {
                step: n,
                reason: format!("`{}` is not enabled here", step.action),
            });
        }
        let next = model.step(&state, &step.action);
        if !model.within_boundary(&next) {
            return Err(Divergence {
                step: n,
                reason: format!("`{}` leaves the model's bounds", step.action),
            });
        }
        let changes = diff(&view(&state), &view(&next));
        if changes != step.changes {
            let first = changes
                .iter()
                .zip(&step.changes)
                .position(|(a, b)| a != b)
                .unwrap_or(changes.len().min(step.changes.len()));
            let got = changes
                .get(first)
                .map(|c| format!("`{}`: {} → {}", c.path, c.from, c.to))
                .unwrap_or_else(|| "nothing more".into());
            let want = step
                .changes
                .get(first)
                .map(|c| format!("`{}`: {} → {}", c.path, c.from, c.to))
                .unwrap_or_else(|| "nothing more".into());
            return Err(Divergence {
                step: n,
                reason: format!(
                    "`{}` changed the state differently: the trace records {want}, the model gives {got}",
                    step.action
                ),
            });
        }
        state = next;
        if trace.cycle_start.is_some_and(|k| n >= k) {
            cycle.push(state.clone());
        }
        if clean {
            if let Some(name) = first_violated(&model, &state) {
                return Err(Divergence {
                    step: n,
                    reason: format!("{name} is violated, but the trace records no violation"),
                });
            }
        }
    }
    if condition.is_some_and(|holds| holds(&model, &state)) {
        return Err(Divergence {
            step: 0,
            reason: format!(
                "after the last step {} holds: the violation is not reproduced",
                trace.property
            ),
        });
    }
    if let Some(k) = trace.cycle_start {
        let Some(last) = cycle.pop() else {
            unreachable!("the cycle holds at least its first state")
        };
        if cycle.is_empty() {
            cycle.push(last.clone());
        } else if !same_state(&cycle[0], &last) {
            return Err(Divergence {
                step: 0,
                reason: format!(
                    "the state after the last step is not the state after step {k}: the cycle does not close"
                ),
            });
        }
        let actions: Vec<_> = trace.steps[k..].iter().map(|s| s.action.clone()).collect();
        if let Some(why) = unfair_or_converging(&model, &cycle, &actions) {
            return Err(Divergence {
                step: 0,
                reason: format!("the cycle is no liveness violation: {why}"),
            });
        }
    }
    if view(&state) != trace.violating_state {
        return Err(Divergence {
            step: 0,
            reason: "the last state differs from the trace's violating_state".into(),
        });
    }
    Ok(())
}
