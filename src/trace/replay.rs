//! Replaying a trace on the model: every step must be enabled, must change exactly the fields the
//! trace records, and the last state must violate the trace's property (for a recorded run with
//! no violation: every property must hold in every state).

use super::diff::{diff, view};
use super::{model_init, Trace, NO_VIOLATION};
use crate::model::properties::{first_violated, ALWAYS};
use crate::model::GroupModel;
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
    let condition = match ALWAYS.iter().find(|(n, _)| *n == trace.property) {
        Some((_, condition)) => Some(*condition),
        None if clean => None,
        None => {
            return Err(Divergence {
                step: 0,
                reason: format!("unknown property `{}`", trace.property),
            })
        }
    };
    let mut state = model_init(&model);
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
    if view(&state) != trace.violating_state {
        return Err(Divergence {
            step: 0,
            reason: "the last state differs from the trace's violating_state".into(),
        });
    }
    Ok(())
}
