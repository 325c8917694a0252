//! Liveness under weak fairness: after the last fault, every fair execution reaches a converged
//! group.
//!
//! `convergence` (an `Always` property) only looks at settled states, where nothing but faults
//! can happen. It cannot see a group that rebalances forever. This check can: it takes the
//! whole state graph (states compared up to the renumbering of generations and member ids, see
//! [`super::canonical`]) and searches it the way TLC checks liveness, for strongly connected
//! components. The graph is the one the safety search explored, recorded as it went
//! ([`SearchGraph`]), so no second exploration is needed; it is explored anew only where the
//! safety search does not record it (depth-first with symmetry).
//!
//! **The fairness assumption.** The protocol's own steps are weakly fair, per kind of step: if
//! steps of one kind stay enabled, one of them is eventually taken. The kinds are: a delivery
//! on one connection (from one sender to one receiver), the high watermark moving, one broker
//! finishing its load, one consumer's heartbeat, one consumer's request timing out because no
//! answer can come, an orphan's session expiring, and (in recorded runs only) the rebalance
//! timeout. Nothing is forced of faults (crashes, expiries of live consumers, failovers, lost
//! messages, leaves, late joins, late deliveries), of application work (processing records,
//! retrying a commit), of the log cleaner, or of the session of a live consumer waiting in a
//! join phase running out (no fault: time passes while the phase waits for a slow member).
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
use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

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
    if let Action::ExpireSession(id) = action {
        // Nothing forces the member it waits for to be that slow.
        if w.parked_while_join_waits(*id) {
            return StepKind::Unforced;
        }
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
    model.enabled(w, &mut actions);
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

#[derive(Default)]
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

/// The state graph as the safety search explores it, so that liveness needs no second
/// exploration: each state the search expands, with its steps and where they lead.
///
/// Stateright's breadth-first search expands a state by asking for its actions and then for
/// the successor of each, in order, on one thread; [`GroupModel`]'s `Model` impl tells this
/// recorder both. Should the search not work that way (or stop before it has expanded every
/// state), the recording is incomplete and the liveness check explores the graph itself.
#[derive(Debug, Default)]
pub struct SearchGraph {
    expanded: Mutex<Vec<Expanded>>,
    /// Set when a successor came that did not belong to the state being expanded.
    broken: AtomicBool,
    /// Set once the search is over (its traces are rebuilt from the same model afterwards).
    sealed: AtomicBool,
}

/// One expanded state: its fingerprint, whether it is converged, its fair kinds in the order
/// of its actions (first occurrences), how many actions it has, and its edges so far
/// (action index, successor's fingerprint, kind of step) to successors within the boundary.
#[derive(Debug)]
struct Expanded {
    fp: u64,
    converged: bool,
    fair: Vec<FairStep>,
    actions: usize,
    taken: usize,
    edges: Vec<(u16, u64, StepKind)>,
}

thread_local! {
    /// The state this thread of the search is expanding.
    static EXPANDING: RefCell<Option<Expanded>> = const { RefCell::new(None) };
}

impl SearchGraph {
    /// The search is about to take each of `actions` from `w`.
    pub(super) fn expanding(&self, w: &World, actions: &[Action]) {
        if self.sealed.load(Ordering::Relaxed) {
            return;
        }
        let mut fair: Vec<FairStep> = Vec::new();
        for a in actions {
            if let StepKind::Fair(f) = kind(w, a) {
                if !fair.contains(&f) {
                    fair.push(f);
                }
            }
        }
        let state = Expanded {
            fp: w.fingerprint(),
            converged: converged(w),
            fair,
            actions: actions.len(),
            taken: 0,
            edges: Vec::with_capacity(actions.len()),
        };
        let unfinished = EXPANDING.with(|e| e.borrow_mut().replace(state)).is_some();
        if unfinished {
            self.broken.store(true, Ordering::Relaxed);
        }
        self.finish_if_done();
    }

    /// The search took `action` from `w` to `succ`.
    pub(super) fn stepped(&self, model: &GroupModel, w: &World, action: &Action, succ: &World) {
        if self.sealed.load(Ordering::Relaxed) {
            return;
        }
        let ok = EXPANDING.with(|e| match e.borrow_mut().as_mut() {
            Some(x) if x.fp == w.fingerprint() && x.taken < x.actions => {
                if model.within_boundary(succ) {
                    x.edges
                        .push((x.taken as u16, succ.fingerprint(), kind(w, action)));
                }
                x.taken += 1;
                true
            }
            _ => false,
        });
        if !ok {
            self.broken.store(true, Ordering::Relaxed);
        }
        self.finish_if_done();
    }

    /// Hands the state being expanded over once every one of its actions has been taken.
    fn finish_if_done(&self) {
        let done = EXPANDING.with(|e| {
            let mut e = e.borrow_mut();
            match e.as_ref() {
                Some(x) if x.taken == x.actions => e.take(),
                _ => None,
            }
        });
        if let Some(x) = done {
            self.expanded.lock().expect("not poisoned").push(x);
        }
    }

    /// How many states the search has expanded so far.
    pub fn expanded_states(&self) -> usize {
        self.expanded.lock().expect("not poisoned").len()
    }

    /// Ends the recording: later calls (rebuilding traces) are not part of the search.
    pub fn seal(&self) {
        self.sealed.store(true, Ordering::Relaxed);
    }

    /// The graph, numbered as [`explore`] numbers it; `None` if the recording is incomplete.
    fn graph(&self, model: &GroupModel) -> Option<Graph> {
        if self.broken.load(Ordering::Relaxed) {
            return None;
        }
        let expanded = std::mem::take(&mut *self.expanded.lock().expect("not poisoned"));
        let by_fp: HashMap<u64, &Expanded> = expanded.iter().map(|x| (x.fp, x)).collect();
        let mut builder = Builder::new();
        for w in model.init_states() {
            builder.reach(w.fingerprint(), converged(&w), None, w.fingerprint());
        }
        while let Some(fp) = builder.queue.pop_front() {
            let x = by_fp.get(&fp)?;
            builder.expand(x.fair.iter().copied(), |b, me| {
                for &(i, to, kind) in &x.edges {
                    // A successor never expanded: the recording is incomplete.
                    let converged = by_fp.get(&to)?.converged;
                    let to = b.reach(to, converged, Some((me, i)), to);
                    b.edge(to, kind, i);
                }
                Some(())
            })?;
        }
        Some(builder.g)
    }
}

/// Numbers states in breadth-first order from the initial states, their steps in the order of
/// their actions, and fair kinds as first met: the one numbering, whether the graph is
/// explored here or was recorded by the safety search, so both give the same lasso.
struct Builder<T> {
    kinds: HashMap<FairStep, u32>,
    index: HashMap<u64, u32>,
    g: Graph,
    queue: VecDeque<T>,
    next: u32,
}

impl<T> Builder<T> {
    fn new() -> Builder<T> {
        Builder {
            kinds: HashMap::new(),
            index: HashMap::new(),
            g: Graph::default(),
            queue: VecDeque::new(),
            next: 0,
        }
    }

    /// The number of the state with fingerprint `fp`, queueing `item` if it is new.
    fn reach(&mut self, fp: u64, converged: bool, parent: Option<(u32, u16)>, item: T) -> u32 {
        match self.index.entry(fp) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let id = self.g.converged.len() as u32;
                e.insert(id);
                self.g.converged.push(converged);
                self.g.parent.push(parent);
                self.queue.push_back(item);
                id
            }
        }
    }

    fn kind_id(&mut self, f: FairStep) -> u32 {
        let n = self.kinds.len() as u32;
        *self.kinds.entry(f).or_insert(n)
    }

    /// Expands the next state: its fair kinds (in the order of its actions), then its edges.
    fn expand(
        &mut self,
        fair: impl Iterator<Item = FairStep>,
        edges: impl FnOnce(&mut Self, u32) -> Option<()>,
    ) -> Option<()> {
        let me = self.next;
        self.next += 1;
        self.g.first_edge.push(self.g.edges.len() as u32);
        self.g.first_enabled.push(self.g.enabled.len() as u32);
        let mut here: Vec<u32> = fair.map(|f| self.kind_id(f)).collect();
        edges(self, me)?;
        here.sort_unstable();
        here.dedup();
        self.g.enabled.extend(here);
        Some(())
    }

    fn edge(&mut self, to: u32, kind: StepKind, action: u16) {
        let label = match kind {
            StepKind::Fault => FAULT,
            StepKind::Unforced => UNFORCED,
            StepKind::Fair(f) => self.kind_id(f),
        };
        self.g.edges.push((to, label, action));
    }
}

/// Explores the state graph breadth-first (so parents give shortest prefixes).
fn explore(model: &GroupModel, max_states: Option<usize>) -> Option<Graph> {
    let mut builder: Builder<World> = Builder::new();
    for w in model.init_states() {
        builder.reach(w.fingerprint(), converged(&w), None, w.clone());
    }
    let mut actions = Vec::new();
    while let Some(w) = builder.queue.pop_front() {
        actions.clear();
        model.enabled(&w, &mut actions);
        let fair = actions.iter().filter_map(|a| match kind(&w, a) {
            StepKind::Fair(f) => Some(f),
            _ => None,
        });
        builder.expand(fair, |b, me| {
            for (i, a) in actions.iter().enumerate() {
                let succ = model.step(&w, a);
                if !model.within_boundary(&succ) {
                    continue;
                }
                let to = b.reach(
                    succ.fingerprint(),
                    converged(&succ),
                    Some((me, i as u16)),
                    succ,
                );
                b.edge(to, kind(&w, a), i as u16);
            }
            Some(())
        });
        if max_states.is_some_and(|n| builder.g.converged.len() > n) {
            return None;
        }
    }
    Some(builder.g)
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
        model.enabled(&w, &mut enabled);
        let a = enabled.swap_remove(i as usize);
        w = model.step(&w, &a);
        out.push(a);
    }
    (out, w)
}

/// Checks liveness, exploring the state graph. With `max_states`, a larger graph is
/// inconclusive.
pub fn check(model: &GroupModel, max_states: Option<usize>) -> LivenessReport {
    check_graph(model, explore(model, max_states), max_states)
}

/// Checks liveness on the graph the safety search recorded (`exhaustive`: it visited every
/// state), exploring it anew should the recording be incomplete.
pub fn check_recorded(
    model: &GroupModel,
    recorded: &SearchGraph,
    exhaustive: bool,
    max_states: Option<usize>,
) -> LivenessReport {
    if !exhaustive {
        return check_graph(model, None, max_states);
    }
    match recorded.graph(model) {
        Some(g) => check_graph(model, Some(g), max_states),
        None => check(model, max_states),
    }
}

fn check_graph(model: &GroupModel, g: Option<Graph>, max_states: Option<usize>) -> LivenessReport {
    let Some(g) = g else {
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
