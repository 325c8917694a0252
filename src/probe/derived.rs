//! Scenarios derived from the catalogue: every model that must break a property (a flaw's
//! model, or one showing what a fault does) has a shortest counterexample, found by the
//! checker when the probe starts. Its execution is played on the broker, step for step, by
//! members that are the core's consumers, each answer judged against the core's as in every
//! scenario ([`super::driven`]). The walks of the model (`model-walk-SEED`) are played the
//! same way: a seeded random execution of a passing catalogue model (moving the coordinator
//! only while nothing is on its way: [`quiet`]).
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
//! coordinator move is played with `--move-coordinator` (skipped without it): once the new
//! coordinator has loaded the group, the members find it, and each later request follows it
//! as a client does
//! (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS: not judged).
//!
//! **What cannot be played from outside**, and makes the scenario *skipped* with the step
//! named: a message lost in the network, a request timing out, the rebalance or pending-sync
//! timer firing as a fault, a rolling upgrade's bounce.
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
use crate::consumer::InFlight;
use crate::model::liveness::{self, Outcome};
use crate::model::shortest::shortest_violations;
use crate::model::{Action, Addr, Control, Envelope, GroupModel, ModelConfig, Msg, Start, World};
use crate::property::Property;
use crate::protocol::{Assignors, BrokerId, ConsumerId, MemberId, Request, Response};
use stateright::Model;
use std::collections::HashMap;

/// One step of a model's execution, as the probe plays it. Consumers are numbered as the model
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

/// An execution of a model made into plays.
struct Plan {
    /// What the execution is: a counterexample to a property, or a walk.
    shows: String,
    plays: Vec<Play>,
    /// The model's consumers started in its initial state.
    started: Vec<usize>,
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
    let plan = counterexample(cfg).and_then(|(property, actions)| {
        let shows = format!(
            "the shortest counterexample of `{}` to {}",
            cfg.name,
            property.name()
        );
        plan(cfg, shows, actions)
    });
    play_plan(run, cfg, plan)
}

/// The passing catalogue models a walk of the model is taken in (the seed chooses one).
pub fn walk_models(catalogue: &[ModelConfig]) -> Vec<ModelConfig> {
    let walkable = |m: &&ModelConfig| m.expects_pass() && m.rolling_upgrade.is_empty();
    catalogue.iter().filter(walkable).cloned().collect()
}

pub const WALK_ABOUT: &str = "a seeded random execution of a passing catalogue model (the seed chooses the model, then each step among those enabled that can be played from outside: joins, commits, heartbeats, closes, crashes, sessions expiring, requests delivered in any order or late, and with --move-coordinator coordinator moves while nothing is on its way), played on the broker by the core's consumers, every answer judged against the core's";

/// Steps a walk of the model takes at most.
pub const WALK_STEPS: usize = 40;

/// Plays a seeded random execution of a passing catalogue model (the seed chooses the model,
/// then one enabled step at a time among those the probe can play), up to [`WALK_STEPS`]
/// steps or until none is enabled.
pub fn model_walk(run: &mut Run, seed: u64) -> Result<(), ProbeError> {
    let models = walk_models(&run.cfg.catalogue);
    let Some(cfg) = models
        .get((seed % models.len().max(1) as u64) as usize)
        .cloned()
    else {
        run.skip("the catalogue has no passing model to walk");
        return Ok(());
    };
    let moves = run.cfg.move_coordinator.is_some();
    let actions = random_execution(&cfg, seed, moves);
    let shows = format!("a random execution of `{}` (seed {seed})", cfg.name);
    play_plan(run, &cfg, plan(&cfg, shows, actions))
}

/// A random execution of `cfg` from its initial state: each step chosen by `seed` among the
/// enabled ones a walk plays; coordinator moves only if the probe `moves` coordinators.
fn random_execution(cfg: &ModelConfig, seed: u64, moves: bool) -> Vec<Action> {
    let model = GroupModel::new(cfg.clone());
    let mut rng = crate::runtime::live::Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut w = model.init_states().remove(0);
    let mut path = Vec::new();
    for _ in 0..WALK_STEPS {
        let mut enabled = Vec::new();
        model.actions(&w, &mut enabled);
        // A session expiring takes real time on the broker (the probe waits it out), while a
        // member joining (given its id, or waiting in a join phase) has a session of its own
        // on the broker: the model's steps take no time, so the walk lets no session expire
        // then.
        let joining = w.consumers.iter().any(|c| {
            c.in_flight == Some(InFlight::Join) || (c.member_id.is_some() && c.generation.is_none())
        }) || w
            .leader()
            .group
            .members
            .iter()
            .any(|m| m.awaiting_join.is_some());
        let may_move = moves && quiet(&w);
        // A first JoinGroup its client gave up on mints a pending member (KIP-394) that only
        // a closed connection knows: the broker expires it on its own clock, while in the
        // model it waits in the group, holding the join phase open, until the walk chooses
        // its expiry. The walk leaves such a request in the network.
        let orphan_join = |a: &Action| match a {
            Action::Deliver(e) => match (&e.src, &e.msg) {
                (
                    Addr::Client(c),
                    Msg::Request(Request::JoinGroup {
                        member_id: None, ..
                    }),
                ) => w.consumers[c.consumer.index()].addr != *c,
                _ => false,
            },
            _ => false,
        };
        enabled.retain(|a| match a {
            Action::Failover(_) => may_move,
            Action::ExpireSession(_) => !joining,
            // A probe member has one request on its way at a time, so it cannot send its
            // LeaveGroup beside a JoinGroup or SyncGroup still unanswered.
            Action::Close(c) => w.consumers[c.index()].is_stable(),
            _ => walks(a) && !orphan_join(a),
        });
        if enabled.is_empty() {
            break;
        }
        let action = enabled.swap_remove(rng.below(enabled.len() as u64) as usize);
        let Some(next) = model.next_state(&w, action.clone()) else {
            break;
        };
        let moved_to = match action {
            Action::Failover(to) => Some(to),
            _ => None,
        };
        path.push(action);
        w = next;
        if let Some(to) = moved_to {
            w = settle_move(&model, w, to, &mut path);
        }
    }
    path
}

/// Whether all is quiet: every running consumer at rest in its generation, no request or
/// answer in the network, no write waiting to be durable. Only then does a walk move the
/// coordinator. The probe's members find the new coordinator as soon as it has loaded, while
/// the model's consumers learn of the move from a NOT_COORDINATOR answer to each request
/// already out; with nothing out, each learns it from its heartbeat ([`settle_move`]).
/// (Measured before this rule: 10 of the 17 walks of seeds 1 to 60 that moved the coordinator
/// parted from the model soon after.)
fn quiet(w: &World) -> bool {
    (0..w.consumers.len()).all(|c| !w.is_live(c) || w.consumers[c].is_at_rest())
        && w.log.uncommitted.is_empty()
        && w.network.iter().all(|e| matches!(e.msg, Msg::Control(_)))
}

/// After a move to `to`, the model's steps that the probe's move takes with it: the old
/// coordinator hears of its demotion and the new one loads the group (the probe waits for
/// both), and every running consumer's heartbeat finds the new coordinator (the probe's
/// members follow it at once).
fn settle_move(model: &GroupModel, mut w: World, to: BrokerId, path: &mut Vec<Action>) -> World {
    let mut take = |w: &mut World, action: Action| {
        if let Some(next) = model.next_state(w, action.clone()) {
            path.push(action);
            *w = next;
        }
    };
    let demotion = w.network.iter().find(|e| {
        matches!(e.msg, Msg::Control(Control::StopLeading { .. })) && e.dst != Addr::Broker(to)
    });
    if let Some(e) = demotion.cloned() {
        take(&mut w, Action::Deliver(e));
    }
    take(&mut w, Action::FinishLoading(to));
    let live: Vec<usize> = (0..w.consumers.len()).filter(|c| w.is_live(*c)).collect();
    for c in live {
        let addr = w.consumers[c].addr;
        take(&mut w, Action::Heartbeat(ConsumerId(c as u8)));
        // Its heartbeat to the old coordinator, answered NOT_COORDINATOR.
        let of = |e: &&Envelope| e.src == Addr::Client(addr) || e.dst == Addr::Client(addr);
        for _ in 0..4 {
            let Some(e) = w.network.iter().find(of).cloned() else {
                break;
            };
            take(&mut w, Action::Deliver(e));
        }
    }
    w
}

/// Whether a walk of the model takes `action` (a coordinator move only where it may move one,
/// and all is [`quiet`]): not what the probe cannot play from outside ([`plan`] says why); not
/// a hung assignor (the group it leaves waiting goes on only by the rebalance and pending-sync
/// timers, which a walk does not play).
fn walks(action: &Action) -> bool {
    !matches!(
        action,
        Action::Lose(_)
            | Action::TimeOut(_)
            | Action::RebalanceTimeout
            | Action::PendingSyncTimeout
            | Action::Bounce(_)
            | Action::Restart(_)
            | Action::StallSync(_)
    )
}

/// Plays `plan` (or skips, saying why it cannot be played) in a group of `cfg`'s consumers.
fn play_plan(
    run: &mut Run,
    cfg: &ModelConfig,
    plan: Result<Plan, String>,
) -> Result<(), ProbeError> {
    let plan = match plan {
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
    run.mirror.set_commit_generation(cfg.commit_generation);
    if cfg.start == Start::Stable {
        // The model's consumers that start later are the last ones.
        walk.form(run, plan.started.len())?;
    }
    walk.held = true;
    if cfg.start == Start::Empty {
        for &c in &plan.started {
            walk.start_at(run, c)?;
        }
    }
    run.saw(
        "probe",
        format!("(plays {}: {} steps)", plan.shows, plan.plays.len()),
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
    // A walk that could not be followed leaves its members' requests held: one held back
    // while another member's request waits for it would leave that one to the broker's timer,
    // which the core does not fire. They go out now, as the members would send them.
    if run.skipped.is_some() {
        for c in 0..walk.members.len() {
            if let Member::AtRest(_, Some(send)) = &walk.members[c] {
                let api = send.request.api();
                if !run.deviated() {
                    walk.send(run, c, api)?.ok();
                }
            }
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

/// The shortest counterexample of `cfg`, to the first property it must break (a liveness
/// lasso once around its cycle).
fn counterexample(cfg: &ModelConfig) -> Result<(Property, Vec<Action>), String> {
    let model = GroupModel::new(cfg.clone());
    let mut safety = cfg.expect.violated.iter().copied();
    match safety.find(|p| *p != Property::Liveness) {
        Some(p) => {
            let found = shortest_violations(&model, &[p], None);
            let found = found.into_iter().next().ok_or(format!(
                "`{}` has no counterexample to {}",
                cfg.name,
                p.name()
            ))?;
            Ok((p, found.actions))
        }
        None => match liveness::check(&model, None).outcome {
            Outcome::Violated(lasso) => {
                Ok((Property::Liveness, [lasso.prefix, lasso.cycle].concat()))
            }
            _ => Err(format!("`{}` has no lasso", cfg.name)),
        },
    }
}

/// An execution of `cfg` (`shows` says what it is) made into plays.
fn plan(cfg: &ModelConfig, shows: String, actions: Vec<Action>) -> Result<Plan, String> {
    let model = GroupModel::new(cfg.clone());
    let mut w = model.init_states().remove(0);
    let kafka = GroupModel::new(ModelConfig {
        flaw: None,
        ..cfg.clone()
    });
    let mut correct = Some(kafka.init_states().remove(0));
    let mut kafka_leaves_at = None;
    // Processes numbered as they start (as the walk numbers them), and the process each
    // member of the model belongs to.
    let on_time: Vec<usize> = started(&w).collect();
    let mut process = vec![None; w.consumers.len()];
    for (k, &c) in on_time.iter().enumerate() {
        process[c] = Some(k);
    }
    let mut next = on_time.len();
    // The process each member id belongs to: those of the initial state, then each as the
    // coordinator hands it out (even if the answer never reaches its process: the probe's
    // member takes it at once).
    let mut belongs: HashMap<MemberId, usize> = (w.consumers.iter().zip(&process))
        .filter_map(|(consumer, k)| Some((consumer.member_id?, (*k)?)))
        .collect();
    let mut plays = Vec::new();
    for (i, action) in actions.into_iter().enumerate() {
        let first_play = plays.len();
        let cannot = |what: &str| {
            format!(
                "step {} of the counterexample ({action}) cannot be played from outside: {what}",
                i + 1
            )
        };
        let after = model
            .next_state(&w, action.clone())
            .ok_or_else(|| cannot("the model does not take it"))?;
        let sent = after.sent_since(&w);
        // A request answered "the coordinator is moving" (and its answer): the probe's member
        // finds the new coordinator as a client does when it sends the request the new one
        // answers.
        let moving = |m: &Msg| matches!(m, Msg::Response(r) if r.error().coordinator_moving());
        match &action {
            Action::Deliver(e) => match (&e.src, &e.dst, &e.msg) {
                (_, _, Msg::Control(_))
                | (_, _, Msg::Request(Request::FindCoordinator))
                | (_, _, Msg::Response(Response::FindCoordinator { .. })) => {}
                // A heartbeat told so is the probe's member's heartbeat answered by the new
                // coordinator: neither answer changes what the consumer does.
                (_, Addr::Client(a), Msg::Response(Response::Heartbeat { .. }))
                    if moving(&e.msg) =>
                {
                    plays.push(Play::Answer(a.consumer.index()));
                }
                (Addr::Client(a), _, Msg::Request(Request::Heartbeat { .. }))
                    if sent.iter().any(|e| moving(&e.msg)) =>
                {
                    plays.push(Play::Send(a.consumer.index(), "Heartbeat"));
                }
                (_, _, m) if moving(m) => {}
                (_, _, Msg::Request(_)) if sent.iter().any(|e| moving(&e.msg)) => {}
                (Addr::Client(a), _, Msg::Request(r)) => {
                    let c = a.consumer.index();
                    // One that left on a connection since closed (its client gave up on it,
                    // or crashed) arrives late.
                    if w.consumers[c].addr == *a {
                        plays.push(Play::Send(c, r.api()));
                    } else {
                        plays.push(Play::SendLate(c, r.api()));
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
        // Where the protocol without the flaw parts from the counterexample.
        correct = correct.and_then(|c| {
            let taken = kafka.next_state(&c, action.clone())?;
            (taken.sent_since(&c) == sent).then_some(taken)
        });
        if correct.is_none() && kafka_leaves_at.is_none() {
            kafka_leaves_at = Some(first_play);
        }
        for e in &sent {
            if let (Addr::Client(a), Msg::Response(Response::JoinGroup { member_id, .. })) =
                (&e.dst, &e.msg)
            {
                if let (Some(m), Some(k)) = (member_id, process[a.consumer.index()]) {
                    belongs.entry(*m).or_insert(k);
                }
            }
        }
        w = after;
    }
    Ok(Plan {
        shows,
        plays,
        started: on_time,
        kafka_leaves_at,
    })
}
