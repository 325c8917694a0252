//! Shortest counterexamples: a breadth-first search of our own, on one thread, in the model's
//! action order.
//!
//! Stateright's counterexamples are neither minimal nor stable across thread counts (a later
//! discovery can overwrite an earlier one). This search checks every state when it is first
//! generated and expands the state space one depth at a time, so the first violating state it
//! meets has the least depth of all violating states: no shorter execution violates the
//! property. Ties are broken by the model's action order, so the same trace comes out on every
//! run, whatever `--threads` the main check used.

use crate::model::properties::condition;
use crate::model::{Action, GroupModel, World};
use crate::property::Property;
use stateright::Model;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// A shortest path to a state that violates `property`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortest {
    pub property: Property,
    pub actions: Vec<Action>,
    /// For each step, the index of its action in [`Model::actions`] of the state before it:
    /// the path Stateright's Explorer takes in its URL.
    pub action_indices: Vec<usize>,
}

/// Finds, for each of `properties` (safety properties), a shortest path to a state
/// violating it. Stops when all are found, the state space is exhausted, or `max_states` unique
/// states were visited; a property missing from the result was not found within the bound.
pub fn shortest_violations(
    model: &GroupModel,
    properties: &[Property],
    max_states: Option<usize>,
) -> Vec<Shortest> {
    let conditions: Vec<_> = Property::ALWAYS
        .into_iter()
        .filter(|p| properties.contains(p))
        .map(|p| (p, condition(p)))
        .collect();
    let mut found: Vec<Option<u64>> = vec![None; conditions.len()];
    // fingerprint → (parent fingerprint, action index); roots have no parent.
    let mut parents: HashMap<u64, Option<(u64, usize)>> = HashMap::new();
    let mut frontier: Vec<World> = Vec::new();
    let check = |w: &World, fp: u64, found: &mut Vec<Option<u64>>| {
        for (i, (_, condition)) in conditions.iter().enumerate() {
            if found[i].is_none() && !condition(model, w) {
                found[i] = Some(fp);
            }
        }
        found.iter().all(Option::is_some)
    };
    'search: {
        for w in model.init_states() {
            let fp = w.fingerprint();
            if let Entry::Vacant(e) = parents.entry(fp) {
                e.insert(None);
                if check(&w, fp, &mut found) {
                    break 'search;
                }
                frontier.push(w);
            }
        }
        let mut actions = Vec::new();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for w in &frontier {
                let parent = w.fingerprint();
                actions.clear();
                model.actions(w, &mut actions);
                for (index, action) in actions.drain(..).enumerate() {
                    let Some(succ) = model.next_state(w, action) else {
                        continue;
                    };
                    if !model.within_boundary(&succ) {
                        continue;
                    }
                    let fp = succ.fingerprint();
                    if let Entry::Vacant(e) = parents.entry(fp) {
                        e.insert(Some((parent, index)));
                        if check(&succ, fp, &mut found) {
                            break 'search;
                        }
                        if max_states.is_some_and(|n| parents.len() >= n) {
                            break 'search;
                        }
                        next.push(succ);
                    }
                }
            }
            frontier = next;
        }
    }
    conditions
        .iter()
        .zip(&found)
        .filter_map(|((p, _), fp)| fp.map(|fp| path_to(model, &parents, *p, fp)))
        .collect()
}

/// Rebuilds the path to `target` from the parent links, replaying it forward from the initial
/// state to recover the actions.
fn path_to(
    model: &GroupModel,
    parents: &HashMap<u64, Option<(u64, usize)>>,
    property: Property,
    target: u64,
) -> Shortest {
    let mut indices = Vec::new();
    let mut fp = target;
    while let Some(Some((parent, index))) = parents.get(&fp) {
        indices.push(*index);
        fp = *parent;
    }
    indices.reverse();
    let root = fp;
    let mut state = model
        .init_states()
        .into_iter()
        .find(|w| w.fingerprint() == root)
        .expect("the path starts at an initial state");
    let mut actions = Vec::with_capacity(indices.len());
    let mut enabled = Vec::new();
    for &index in &indices {
        enabled.clear();
        model.actions(&state, &mut enabled);
        let action = enabled.swap_remove(index);
        state = model.step(&state, &action);
        actions.push(action);
    }
    Shortest {
        property,
        actions,
        action_indices: indices,
    }
}

impl Shortest {
    /// A path found some other way (not proven shortest), with its Explorer indices.
    pub fn from_actions(model: &GroupModel, property: Property, actions: Vec<Action>) -> Shortest {
        let mut state = model.init_states().remove(0);
        let mut enabled = Vec::new();
        let mut action_indices = Vec::with_capacity(actions.len());
        for action in &actions {
            enabled.clear();
            model.actions(&state, &mut enabled);
            action_indices.push(enabled.iter().position(|a| a == action).unwrap_or(0));
            state = model.step(&state, action);
        }
        Shortest {
            property,
            actions,
            action_indices,
        }
    }
}
