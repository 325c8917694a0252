//! Scenarios derived from the catalogue: every model that must break a property (a flaw's
//! model, or one showing what a fault does) has a shortest counterexample, found by the
//! checker when the probe starts. Its execution is played on the broker, step for step, by
//! members that are the core's consumers, each answer judged against the core's as in every
//! scenario ([`super::driven`]).
//!
//! **How a step of the model is played.** The members are the model's consumers, with its
//! assignor and its static instance ids; a model that starts with the group formed starts
//! with the probe's members forming one, one at a time. A consumer's own step (it processes
//! and commits, heartbeats, closes, starts, crashes and restarts empty, its assignor hangs)
//! is taken by its member, and the request it makes is held until the model delivers it: the
//! broker then reads it, so the broker reads the requests in the model's order (one that can
//! wait for another member goes out on a thread, given a tenth of the session to be answered
//! or held). The model delivering an answer is the member taking the broker's (waiting for
//! it, at most twice the session and five seconds: a broker that answers none by then has not
//! ended the rebalance Kafka's timers end, `convergence`). A session the model expires while
//! its consumer still runs is that member falling silent for its session and half as long
//! again, the others heartbeating; a session of a process that crashed or closed (static) is
//! waited out. The log's replication, compaction and loading, and answers to a process that
//! crashed, are the broker's business: nothing is played for them.
//!
//! A consumer giving up on a request still in the network is its member giving its held
//! request up and carrying on as a client does; the request delivered late goes out on a
//! connection of its own, judged against the core's answer to it, and read by nobody. A
//! coordinator move is played with `--move-coordinator` (skipped without it): the members
//! find the new coordinator, and each later request follows it as a client does
//! (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS: not judged).
//!
//! **What cannot be played from outside**, and makes the scenario *skipped* with the step
//! named: a message lost in the network, a request timing out, the rebalance or pending-sync
//! timer firing as a fault, a rolling upgrade's bounce; and, not yet, a request that can wait
//! for another member sent late or after a coordinator move.
//!
//! **Where Kafka leaves the counterexample.** The model without the flaw takes the same
//! steps until one it cannot take, or that sends other messages: there a broker answering as
//! Kafka does leaves the counterexample too. Members that leave it there or later met such a
//! broker, and the scenario ends as usual; members that leave it earlier (the broker's timing
//! took another path) make it *skipped*, with the step.
//!
//! What a derived scenario can see is what every scenario sees: an answer other than the
//! core's (a deviation), and the safety properties on the broker's own answers. A
//! counterexample whose violation is inside the coordinator (a write acknowledged before it
//! was durable, a log replayed into another group) shows only where an answer differs.

use super::group_walk::{Member, Walk};
use super::mirror::Act;
use super::scenario::{Class, Run};
use super::ProbeError;
use crate::model::liveness::{self, Outcome};
use crate::model::shortest::shortest_violations;
use crate::model::{Action, Addr, GroupModel, ModelConfig, Msg, Start, World};
use crate::property::Property;
use crate::protocol::{Assignors, ErrorCode, MemberId, Request, Response};
use stateright::Model;
use std::collections::HashMap;

/// One step of a counterexample, as the probe plays it. Consumers are numbered as the model
/// numbers them (a member's place in the walk); processes as they start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Play {
    /// The consumer's application or heartbeat thread does it.
    Act(usize, Act),
    /// The request the consumer made (of this API) goes out.
    Send(usize, &'static str),
    /// The consumer takes the answer to its request.
    Answer(usize),
    /// The consumer, running, falls silent past its session.
    Silence(usize),
    /// The session of the process numbered so (crashed, or a static member closed) is over.
    Lapse(usize),
    /// The consumer's process stops with no LeaveGroup, and a new one starts in its place.
    Crash(usize),
    Start(usize),
    /// The group's coordinator moves (`--move-coordinator`).
    Move,
    /// The consumer gives up on its request, which stays in the network.
    Abandon(usize),
    /// The request the consumer gave up on (of this API) arrives.
    SendLate(usize, &'static str),
}

/// A counterexample made into plays, or the step that cannot be played from outside.
struct Plan {
    property: Property,
    plays: Vec<Play>,
    /// The first play of the step where the model without the flaw leaves the counterexample
    /// (it cannot take the step, or the step sends other messages): a broker that answers
    /// as Kafka does leaves it there too.
    kafka_leaves_at: Option<usize>,
}

/// The catalogue models a derived scenario is played for: those that must break a property,
/// without a rolling upgrade (a bounce is the operator's, not the broker's).
pub fn models(catalogue: &[ModelConfig]) -> Vec<ModelConfig> {
    let derivable = |m: &&ModelConfig| !m.expects_pass() && m.rolling_upgrade.is_empty();
    catalogue.iter().filter(derivable).cloned().collect()
}

/// The scenario's description: the model's.
pub fn about(cfg: &ModelConfig) -> String {
    format!(
        "the catalogue's `{}` played from its shortest counterexample: {}",
        cfg.name, cfg.description
    )
}

/// Plays `cfg`'s counterexample on the broker.
pub fn play(run: &mut Run, cfg: &ModelConfig) -> Result<(), ProbeError> {
    let plan = match plan(cfg) {
        Ok(plan) => plan,
        Err(why) => {
            run.skip(&why);
            return Ok(());
        }
    };
    let instances = (0..cfg.consumers)
        .map(|c| cfg.instance_of(c))
        .collect::<Option<Vec<_>>>();
    let mut walk = Walk::new(Assignors::one(cfg.assignor), instances);
    let model = GroupModel::new(cfg.clone());
    let init = &model.init_states()[0];
    match cfg.start {
        // The model's consumers that start later are the last ones.
        Start::Stable => walk.form(run, started(init).count())?,
        Start::Empty => {
            walk.held = true;
            for c in started(init) {
                walk.start_at(run, c)?;
            }
        }
    }
    walk.held = true;
    run.saw(
        "probe",
        format!(
            "(plays the shortest counterexample of `{}` to {}: {} steps)",
            cfg.name,
            plan.property.name(),
            plan.plays.len()
        ),
        String::new(),
    );
    for (i, &p) in plan.plays.iter().enumerate() {
        if run.deviated() {
            return Ok(());
        }
        walk.settle(run)?;
        if let Err(why) = step(run, &mut walk, p)? {
            if run.skipped.is_some() {
                break;
            }
            let left = format!("play {} ({p:?}): {why}", i + 1);
            if plan.kafka_leaves_at.is_some_and(|at| i >= at) {
                // The broker answered as Kafka does where the flaw answers otherwise.
                run.saw(
                    "probe",
                    format!("(the members leave the counterexample where Kafka's protocol leaves it, at {left})"),
                    String::new(),
                );
            } else {
                run.skip(&format!(
                    "the counterexample could not be followed at its {left}"
                ));
            }
            break;
        }
    }
    // What is still out must be answered, as after any step.
    for c in 0..walk.members.len() {
        if !run.deviated() && matches!(walk.members[c], Member::Out(_)) {
            answered(run, &mut walk, c)?;
        }
    }
    walk.held = false;
    walk.close_all(run)
}

/// Plays one step: `Err` when the members are not where the model's consumers were.
fn step(run: &mut Run, walk: &mut Walk, p: Play) -> Result<Result<(), String>, ProbeError> {
    Ok(match p {
        Play::Act(c, act) => walk.act(run, c, act)?,
        Play::Send(c, api) => walk.send(run, c, api)?,
        Play::Answer(c) => {
            answered(run, walk, c)?;
            Ok(())
        }
        Play::Silence(c) => match walk.members.get(c) {
            Some(Member::AtRest(..)) => walk.fall_silent(run, c).map(Ok)?,
            _ => Err("the consumer is not at rest".into()),
        },
        Play::Lapse(k) => walk.lapse_over(run, k).map(Ok)?,
        Play::Crash(c) => walk.crash(run, c).map(Ok)?,
        Play::Start(c) => walk.start_at(run, c).map(Ok)?,
        Play::Abandon(c) => walk.abandon(run, c),
        Play::SendLate(c, api) => walk.send_late(run, c, api)?,
        Play::Move => {
            if !run.can_move_coordinator() {
                return Ok(Err("it needs a way to move the group's coordinator".into()));
            }
            run.move_coordinator("probe")?;
            walk.follow_move(run)?;
            Ok(())
        }
    })
}

/// Member `c`'s request, if one is out, is answered in time: Kafka's coordinator answers
/// every JoinGroup and SyncGroup within the rebalance timeout (its join phase, or its
/// pending-sync timer, ends), or the group is stuck (`convergence`).
fn answered(run: &mut Run, walk: &mut Walk, c: usize) -> Result<(), ProbeError> {
    if !walk.answer(run, c)? {
        run.found(
            Class::Deviation,
            Property::Convergence.name(),
            format!(
                "no answer to the request of consumer-{c} within twice the session and five seconds"
            ),
            Some("an answer within the rebalance timeout (the join phase, or the pending-sync timer, ends)".into()),
        );
    }
    Ok(())
}

/// The consumers started in `w`.
fn started(w: &World) -> impl Iterator<Item = usize> + '_ {
    (0..w.consumers.len()).filter(|c| w.started & (1 << c) != 0)
}

/// The shortest counterexample of `cfg` (for the first property it must break; a liveness
/// lasso is played once around its cycle), made into plays.
fn plan(cfg: &ModelConfig) -> Result<Plan, String> {
    let model = GroupModel::new(cfg.clone());
    let safety = cfg.expect.violated.iter().copied();
    let (property, actions) = match safety.clone().find(|p| *p != Property::Liveness) {
        Some(p) => {
            let found = shortest_violations(&model, &[p], None);
            let found = found.into_iter().next().ok_or(format!(
                "`{}` has no counterexample to {}",
                cfg.name,
                p.name()
            ))?;
            (p, found.actions)
        }
        None => match liveness::check(&model, None).outcome {
            Outcome::Violated(lasso) => (Property::Liveness, [lasso.prefix, lasso.cycle].concat()),
            _ => return Err(format!("`{}` has no lasso", cfg.name)),
        },
    };
    let mut w = model.init_states().remove(0);
    let kafka = GroupModel::new(ModelConfig {
        flaw: None,
        ..cfg.clone()
    });
    let mut correct = Some(kafka.init_states().remove(0));
    let mut kafka_leaves_at = None;
    // Processes numbered as they start (as the walk numbers them), and the process each
    // member of the model belongs to.
    let mut next = 0;
    let mut process = vec![None; w.consumers.len()];
    for c in started(&w).collect::<Vec<_>>() {
        process[c] = Some(next);
        next += 1;
    }
    let mut belongs: HashMap<MemberId, usize> = HashMap::new();
    let mut plays = Vec::new();
    for (i, action) in actions.into_iter().enumerate() {
        let first_play = plays.len();
        note_members(&w, &process, &mut belongs);
        let cannot = |what: &str| {
            format!(
                "step {} of the counterexample ({action}) cannot be played from outside: {what}",
                i + 1
            )
        };
        match &action {
            Action::Deliver(e) => match (&e.src, &e.dst, &e.msg) {
                (_, _, Msg::Control(_))
                | (_, _, Msg::Request(Request::FindCoordinator))
                | (_, _, Msg::Response(Response::FindCoordinator { .. })) => {}
                // Finding the coordinator again after a move: the probe's member follows it
                // as a client does when it sends the request the new one answers.
                (_, _, Msg::Response(r)) if moving(r.error()) => {}
                (_, _, Msg::Request(_)) if answered_moving(&model, &w, &action) => {}
                (Addr::Client(a), _, Msg::Request(r)) => {
                    let c = a.consumer.index();
                    let now = w.consumers[c].addr;
                    if now == *a {
                        plays.push(Play::Send(c, r.api()));
                    } else if now.incarnation == a.incarnation {
                        plays.push(Play::SendLate(c, r.api()));
                    } else {
                        return Err(cannot("a request of an earlier process, read late"));
                    }
                }
                (_, Addr::Client(a), Msg::Response(_)) => {
                    let c = a.consumer.index();
                    if w.consumers[c].addr == *a {
                        plays.push(Play::Answer(c));
                    }
                }
                _ => return Err(cannot("a message the probe does not send")),
            },
            Action::Replicate | Action::Compact | Action::FinishLoading(_) => {}
            Action::Consume(c, _) => {
                let c = c.index();
                plays.extend([Play::Act(c, Act::Process), Play::Act(c, Act::Commit)]);
            }
            Action::Commit(c) => plays.push(Play::Act(c.index(), Act::Commit)),
            Action::Heartbeat(c) => plays.push(Play::Act(c.index(), Act::Heartbeat)),
            Action::Close(c) => plays.push(Play::Act(c.index(), Act::Close)),
            Action::StallSync(c) => plays.push(Play::Act(c.index(), Act::Stall)),
            Action::ExpireSession(m) => {
                let live = (0..w.consumers.len())
                    .find(|&c| w.consumers[c].member_id == Some(*m) && w.held_by_live_consumer(*m));
                match (live, belongs.get(m)) {
                    (Some(c), _) => plays.push(Play::Silence(c)),
                    (None, Some(&k)) => plays.push(Play::Lapse(k)),
                    (None, None) => return Err(cannot("a member no process of the probe had")),
                }
            }
            Action::Crash(c) => {
                process[c.index()] = Some(next);
                next += 1;
                plays.push(Play::Crash(c.index()));
            }
            Action::Start(c) => {
                process[c.index()] = Some(next);
                next += 1;
                plays.push(Play::Start(c.index()));
            }
            Action::Lose(_) => return Err(cannot("a message lost in the network")),
            Action::Abandon(c) => plays.push(Play::Abandon(c.index())),
            Action::TimeOut(_) => return Err(cannot("a request timing out")),
            Action::RebalanceTimeout => return Err(cannot("the rebalance timer firing")),
            Action::PendingSyncTimeout => return Err(cannot("the pending-sync timer firing")),
            Action::Failover(_) => plays.push(Play::Move),
            Action::Bounce(_) | Action::Restart(_) => {
                return Err(cannot("a rolling upgrade's bounce"))
            }
        }
        let next = model
            .next_state(&w, action.clone())
            .ok_or_else(|| cannot("the model does not take it"))?;
        // Where the protocol without the flaw parts from the counterexample.
        correct = correct.and_then(|c| {
            let taken = kafka.next_state(&c, action.clone())?;
            (taken.sent_since(&c) == next.sent_since(&w)).then_some(taken)
        });
        if correct.is_none() && kafka_leaves_at.is_none() {
            kafka_leaves_at = Some(first_play);
        }
        w = next;
    }
    Ok(Plan {
        property,
        plays,
        kafka_leaves_at,
    })
}

/// Whether `error` tells a client the coordinator is moving.
fn moving(error: ErrorCode) -> bool {
    [
        ErrorCode::NotCoordinator,
        ErrorCode::CoordinatorNotAvailable,
        ErrorCode::CoordinatorLoadInProgress,
    ]
    .contains(&error)
}

/// Whether delivering a request in `w` is answered with "the coordinator is moving".
fn answered_moving(model: &GroupModel, w: &World, action: &Action) -> bool {
    let Some(next) = model.next_state(w, action.clone()) else {
        return false;
    };
    let sent = next.sent_since(w);
    sent.iter()
        .any(|e| matches!(&e.msg, Msg::Response(r) if moving(r.error())))
}

/// Records which process each member of `w` belongs to.
fn note_members(w: &World, process: &[Option<usize>], belongs: &mut HashMap<MemberId, usize>) {
    for (c, consumer) in w.consumers.iter().enumerate() {
        if let (Some(m), Some(k)) = (consumer.member_id, process[c]) {
            belongs.entry(m).or_insert(k);
        }
    }
}
