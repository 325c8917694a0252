//! Liveness under weak fairness: after the last fault, every fair execution reaches a converged
//! group.
//!
//! `convergence` (an `Always` property) only looks at settled states, where nothing but faults
//! can happen. It cannot see a group that rebalances forever. This check can: it builds the
//! whole state graph (states compared up to the renumbering of generations and member ids, see
//! [`super::canonical`]) and searches it the way TLC checks liveness, for strongly connected
//! components.
//!
//! **The fairness assumption.** The protocol's own steps are weakly fair, per kind of step: if
//! steps of one kind stay enabled, one of them is eventually taken. The kinds are: a delivery
//! on one connection (from one sender to one receiver), the high watermark moving, one broker
//! finishing its load, one consumer's heartbeat, one consumer's request timing out because no
//! answer can come, an orphan's session expiring, and (in recorded runs only) the rebalance
//! timeout. Nothing is forced of faults (crashes, expiries of live consumers, failovers, lost
//! messages, leaves, late joins, late deliveries), of application work (processing records,
//! retrying a commit) or of the log cleaner.
//!
//! **What is checked.** Take the graph of every reachable state, without fault steps and
//! without converged states. A strongly connected component of it is *fair* if every kind of
//! step that is enabled in all its states is also taken on one of its edges; a fair execution
//! can then stay in it forever without converging. So can one that reaches a state where no
//! fair step is enabled at all and stutters there. Either is a violation, reported as a lasso:
//! a prefix from the initial state and a cycle that comes back to where it started (up to the
//! renumbering); for a stutter, the cycle is empty.

use super::canonical::canonical;
use super::properties::converged;
use super::{Action, GroupModel, World};

use crate::protocol::{BrokerId, ConsumerId};
use stateright::Model;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

/// A kind of step that weak fairness forces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FairStep {
    Deliver(super::Addr, super::Addr),
    Replicate,
    FinishLoading(BrokerId),
    Heartbeat(ConsumerId),
    TimeOut(ConsumerId),
    ExpireOrphan,
    RebalanceTimeout,
    PendingSyncTimeout,
    Restart(ConsumerId),
}

impl std::fmt::Display for FairStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FairStep::Deliver(from, to) => write!(f, "a delivery from {from} to {to}"),
            FairStep::Replicate => f.write_str("the high watermark moving"),
            FairStep::FinishLoading(b) => write!(f, "broker-{b} finishing its load"),
            FairStep::Heartbeat(c) => write!(f, "consumer-{c}'s heartbeat"),
            FairStep::TimeOut(c) => write!(f, "consumer-{c}'s request timing out"),
            FairStep::ExpireOrphan => f.write_str("an orphan's session expiring"),
            FairStep::RebalanceTimeout => f.write_str("the rebalance timeout"),
            FairStep::PendingSyncTimeout => f.write_str("the pending-sync timeout"),
            FairStep::Restart(c) => write!(f, "consumer-{c}'s restart"),
        }
    }
}

/// How a step counts for liveness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Never forced, and never taken after the last fault.
    Fault,
    /// Never forced, but may be taken.
    Unforced,
    Fair(FairStep),
}

/// The kind of `action` taken in `w`.
pub fn kind(w: &World, action: &Action) -> StepKind {
    if action.is_fault(w) {
        return StepKind::Fault;
    }
    StepKind::Fair(match action {
        Action::Deliver(e) => FairStep::Deliver(e.src, e.dst),
        Action::Replicate => FairStep::Replicate,
        Action::FinishLoading(b) => FairStep::FinishLoading(*b),
        Action::Heartbeat(c) => FairStep::Heartbeat(*c),
        Action::TimeOut(c) => FairStep::TimeOut(*c),
        Action::ExpireSession(_) => FairStep::ExpireOrphan,
        Action::RebalanceTimeout => FairStep::RebalanceTimeout,
        Action::PendingSyncTimeout => FairStep::PendingSyncTimeout,
        Action::Restart(c) => FairStep::Restart(*c),
        Action::Consume(..) | Action::Commit(_) | Action::Compact => return StepKind::Unforced,
        Action::Lose(_)
        | Action::Abandon(_)
        | Action::Crash(_)
        | Action::Close(_)
        | Action::Start(_)
        | Action::StallSync(_)
        | Action::Bounce(_)
        | Action::Failover(_) => return StepKind::Fault,
    })
}

/// The fair kinds of step enabled in `w`, sorted and without repeats.
pub fn fair_enabled(model: &GroupModel, w: &World) -> Vec<FairStep> {
    let mut actions = Vec::new();
    model.actions(w, &mut actions);
    let mut fair: Vec<FairStep> = actions
        .iter()
        .filter_map(|a| match kind(w, a) {
            StepKind::Fair(f) => Some(f),
            _ => None,
        })
        .collect();
    fair.sort_unstable();
    fair.dedup();
    fair
}

/// Whether the cycle through `states` (the first state again at the end, not repeated here),
/// taking `steps`, is fair and never converges: the judgement a lasso must pass.
pub fn unfair_or_converging(
    model: &GroupModel,
    states: &[World],
    steps: &[Action],
) -> Option<String> {
    if states.iter().any(converged) {
        return Some("a state of the cycle is converged".into());
    }
    let mut taken = Vec::new();
    for (w, a) in states.iter().zip(steps) {
        match kind(w, a) {
            StepKind::Fault => return Some(format!("the cycle takes the fault `{a}`")),
            StepKind::Fair(f) => taken.push(f),
            StepKind::Unforced => {}
        }
    }
    let mut always = fair_enabled(model, &states[0]);
    for w in &states[1..] {
        let here = fair_enabled(model, w);
        always.retain(|f| here.contains(f));
    }
    always
        .iter()
        .find(|f| !taken.contains(f))
        .map(|f| format!("{f} stays enabled through the cycle and is never taken"))
}

/// A violation: the execution `prefix`, then `cycle` forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lasso {
    pub prefix: Vec<Action>,
    pub cycle: Vec<Action>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Holds,
    Violated(Lasso),
    /// The graph has more states than the bound.
    Inconclusive,
}

#[derive(Clone, Debug)]
pub struct LivenessReport {
    pub states: usize,
    pub edges: usize,
    pub outcome: Outcome,
}

const FAULT: u32 = u32::MAX;
const UNFORCED: u32 = u32::MAX - 1;

struct Graph {
    /// Per state: the first index of its edges in `edges`.
    first_edge: Vec<u32>,
    /// (successor, fair kind id or FAULT / UNFORCED, action index in `actions()`).
    edges: Vec<(u32, u32, u16)>,
    /// Per state: the first index of its enabled fair kinds in `enabled`.
    first_enabled: Vec<u32>,
    enabled: Vec<u32>,
    converged: Vec<bool>,
    /// BFS parent: (state, action index).
    parent: Vec<Option<(u32, u16)>>,
}

impl Graph {
    fn edges_of(&self, s: u32) -> &[(u32, u32, u16)] {
        run_of(&self.first_edge, &self.edges, s)
    }

    fn enabled_of(&self, s: u32) -> &[u32] {
        run_of(&self.first_enabled, &self.enabled, s)
    }

    /// An edge that stays in the graph after the last fault, between non-converged states.
    fn live_edge(&self, from: u32, e: &(u32, u32, u16)) -> bool {
        e.1 != FAULT && !self.converged[from as usize] && !self.converged[e.0 as usize]
    }
}

/// State `s`'s run of `items`, which holds every state's run one after the other.
fn run_of<'a, T>(first: &[u32], items: &'a [T], s: u32) -> &'a [T] {
    let s = s as usize;
    let end = first.get(s + 1).map_or(items.len(), |e| *e as usize);
    &items[first[s] as usize..end]
}

/// Builds the state graph breadth-first (so parents give shortest prefixes).
fn build(model: &GroupModel, max_states: Option<usize>) -> Option<Graph> {
    let mut kinds: HashMap<FairStep, u32> = HashMap::new();
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut g = Graph {
        first_edge: Vec::new(),
        edges: Vec::new(),
        first_enabled: Vec::new(),
        enabled: Vec::new(),
        converged: Vec::new(),
        parent: Vec::new(),
    };
    let mut queue: VecDeque<World> = VecDeque::new();
    for w in model.init_states() {
        if let Entry::Vacant(e) = index.entry(w.fingerprint()) {
            e.insert(g.converged.len() as u32);
            g.converged.push(converged(&w));
            g.parent.push(None);
            queue.push_back(w);
        }
    }
    let mut actions = Vec::new();
    let mut next = 0u32;
    while let Some(w) = queue.pop_front() {
        let me = next;
        next += 1;
        g.first_edge.push(g.edges.len() as u32);
        g.first_enabled.push(g.enabled.len() as u32);
        actions.clear();
        model.actions(&w, &mut actions);
        let mut fair_here = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            let label = match kind(&w, a) {
                StepKind::Fault => FAULT,
                StepKind::Unforced => UNFORCED,
                StepKind::Fair(f) => {
                    let n = kinds.len() as u32;
                    let id = *kinds.entry(f).or_insert(n);
                    fair_here.push(id);
                    id
                }
            };
            let succ = model.step(&w, a);
            if !model.within_boundary(&succ) {
                continue;
            }
            let to = match index.entry(succ.fingerprint()) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let id = g.converged.len() as u32;
                    e.insert(id);
                    g.converged.push(converged(&succ));
                    g.parent.push(Some((me, i as u16)));
                    queue.push_back(succ);
                    id
                }
            };
            g.edges.push((to, label, i as u16));
        }
        fair_here.sort_unstable();
        fair_here.dedup();
        g.enabled.extend(fair_here);
        if max_states.is_some_and(|n| g.converged.len() > n) {
            return None;
        }
    }
    Some(g)
}

/// Tarjan's algorithm, iteratively, over the live edges: the components, each a list of states.
fn components(g: &Graph) -> Vec<Vec<u32>> {
    let n = g.converged.len();
    const UNSEEN: u32 = u32::MAX;
    let mut order = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0u32;
    // (state, next edge position)
    let mut calls: Vec<(u32, usize)> = Vec::new();
    for root in 0..n as u32 {
        if order[root as usize] != UNSEEN || g.converged[root as usize] {
            continue;
        }
        calls.push((root, 0));
        order[root as usize] = counter;
        low[root as usize] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
            let edges = g.edges_of(v);
            if let Some(e) = edges.get(*pos) {
                *pos += 1;
                if !g.live_edge(v, e) {
                    continue;
                }
                let w = e.0;
                if order[w as usize] == UNSEEN {
                    order[w as usize] = counter;
                    low[w as usize] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w as usize] = true;
                    calls.push((w, 0));
                } else if on_stack[w as usize] {
                    low[v as usize] = low[v as usize].min(order[w as usize]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent as usize] = low[parent as usize].min(low[v as usize]);
            }
            if low[v as usize] == order[v as usize] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

/// Whether a fair execution can stay in `comp` forever: every fair kind enabled in all its
/// states is taken on one of its edges (or, for a single state with no edge inside, no fair
/// kind is enabled there at all).
fn fair_component(g: &Graph, comp: &[u32], member: &[bool]) -> bool {
    let internal = |v: u32| {
        g.edges_of(v)
            .iter()
            .filter(move |e| g.live_edge(v, e) && member[e.0 as usize])
    };
    let has_edge = comp.iter().any(|&v| internal(v).next().is_some());
    if !has_edge {
        // A single state without a live self-loop: fair to stay only if nothing fair is enabled.
        return g.enabled_of(comp[0]).is_empty();
    }
    let mut always: Vec<u32> = g.enabled_of(comp[0]).to_vec();
    for &v in &comp[1..] {
        let here = g.enabled_of(v);
        always.retain(|k| here.contains(k));
        if always.is_empty() {
            return true;
        }
    }
    always
        .iter()
        .all(|k| comp.iter().any(|&v| internal(v).any(|e| e.1 == *k)))
}

/// A shortest path (action indices) inside `member` from `from` to a state satisfying `goal`,
/// and that state.
fn path_within(
    g: &Graph,
    member: &[bool],
    from: u32,
    goal: &dyn Fn(u32) -> bool,
) -> Option<(Vec<u16>, u32)> {
    let mut prev: HashMap<u32, (u32, u16)> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = std::collections::HashSet::from([from]);
    while let Some(v) = queue.pop_front() {
        if goal(v) {
            let mut path = Vec::new();
            let mut at = v;
            while at != from {
                let (p, a) = prev[&at];
                path.push(a);
                at = p;
            }
            path.reverse();
            return Some((path, v));
        }
        for e in g.edges_of(v) {
            if g.live_edge(v, e) && member[e.0 as usize] && seen.insert(e.0) {
                prev.insert(e.0, (v, e.2));
                queue.push_back(e.0);
            }
        }
    }
    None
}

/// The lasso through a fair component: the shortest prefix to its first-reached state, and a
/// cycle back to it that takes every kind taken inside and passes a state where each kind
/// that is enabled somewhere but never taken inside is disabled.
fn lasso(g: &Graph, comp: &[u32], member: &[bool]) -> (Vec<u16>, Vec<u16>) {
    let entry = *comp.iter().min().expect("a component has a state");
    let mut prefix = Vec::new();
    let mut at = entry;
    while let Some((p, a)) = g.parent[at as usize] {
        prefix.push(a);
        at = p;
    }
    prefix.reverse();
    let internal: Vec<(u32, (u32, u32, u16))> = comp
        .iter()
        .flat_map(|&v| {
            g.edges_of(v)
                .iter()
                .filter(move |e| g.live_edge(v, e) && member[e.0 as usize])
                .map(move |e| (v, *e))
        })
        .collect();
    if internal.is_empty() {
        return (prefix, Vec::new());
    }
    let mut taken: Vec<u32> = internal
        .iter()
        .map(|(_, e)| e.1)
        .filter(|k| *k != UNFORCED)
        .collect();
    taken.sort_unstable();
    taken.dedup();
    let mut never: Vec<u32> = comp
        .iter()
        .flat_map(|&v| g.enabled_of(v).iter().copied())
        .filter(|k| !taken.contains(k))
        .collect();
    never.sort_unstable();
    never.dedup();
    let mut cycle = Vec::new();
    let mut cur = entry;
    for k in &taken {
        let (path, v) = path_within(g, member, cur, &|v| {
            g.edges_of(v)
                .iter()
                .any(|e| g.live_edge(v, e) && member[e.0 as usize] && e.1 == *k)
        })
        .expect("a component is strongly connected");
        cycle.extend(path);
        let e = g
            .edges_of(v)
            .iter()
            .find(|e| g.live_edge(v, e) && member[e.0 as usize] && e.1 == *k)
            .expect("found above");
        cycle.push(e.2);
        cur = e.0;
    }
    for k in &never {
        let (path, v) = path_within(g, member, cur, &|v| !g.enabled_of(v).contains(k))
            .expect("a fair component disables what it never takes");
        cycle.extend(path);
        cur = v;
    }
    if cur != entry || cycle.is_empty() {
        // Back to the entry; with no step taken yet, go around at least once.
        let first = internal
            .iter()
            .find(|(v, _)| *v == cur)
            .map(|(_, e)| *e)
            .expect("every state of a component has an edge inside");
        if cycle.is_empty() {
            cycle.push(first.2);
            cur = first.0;
        }
        let (path, _) = path_within(g, member, cur, &|v| v == entry).expect("strongly connected");
        cycle.extend(path);
    }
    (prefix, cycle)
}

/// Turns action indices into actions, from the initial state.
fn actions_of(model: &GroupModel, start: &World, indices: &[u16]) -> (Vec<Action>, World) {
    let mut w = start.clone();
    let mut out = Vec::with_capacity(indices.len());
    let mut enabled = Vec::new();
    for &i in indices {
        enabled.clear();
        model.actions(&w, &mut enabled);
        let a = enabled.swap_remove(i as usize);
        w = model.step(&w, &a);
        out.push(a);
    }
    (out, w)
}

/// Checks liveness. With `max_states`, a larger graph is inconclusive.
pub fn check(model: &GroupModel, max_states: Option<usize>) -> LivenessReport {
    let Some(g) = build(model, max_states) else {
        return LivenessReport {
            states: max_states.unwrap_or(0),
            edges: 0,
            outcome: Outcome::Inconclusive,
        };
    };
    let n = g.converged.len();
    let mut member = vec![false; n];
    let mut found: Option<(Vec<u16>, Vec<u16>)> = None;
    let mut best_entry = u32::MAX;
    for comp in components(&g) {
        comp.iter().for_each(|&v| member[v as usize] = true);
        let entry = *comp.iter().min().expect("non-empty");
        if entry < best_entry && fair_component(&g, &comp, &member) {
            best_entry = entry;
            found = Some(lasso(&g, &comp, &member));
        }
        comp.iter().for_each(|&v| member[v as usize] = false);
    }
    let edges = g.edges.len();
    let outcome = match found {
        None => Outcome::Holds,
        Some((prefix, cycle)) => {
            let init = model.init_states().remove(0);
            let (prefix, at) = actions_of(model, &init, &prefix);
            let (cycle, _) = actions_of(model, &at, &cycle);
            Outcome::Violated(Lasso { prefix, cycle })
        }
    };
    LivenessReport {
        states: n,
        edges,
        outcome,
    }
}

/// Whether `a` and `b` are the same state up to the renumbering of generations and member ids.
pub fn same_state(a: &World, b: &World) -> bool {
    canonical(a) == canonical(b)
}
