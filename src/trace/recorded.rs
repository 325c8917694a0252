//! A run of the concurrent runtime, written as a model execution.
//!
//! The runtime records every event inside the critical section that caused it, consumers'
//! steps included ([`crate::runtime::ClientStep`]), so its history is a linearisation of the
//! run. This module turns that history into the model's actions, executes them on the model
//! (which must find each one enabled, and must send exactly the answers the runtime sent), and
//! checks every property of the model in every state. The result is an ordinary
//! [`Trace`](super::Trace): `groupcheck replay` re-executes it, and the renderings show it.
//!
//! Two of the runtime's operations are two critical sections where the model has one step:
//! replication (the batch becomes durable, then its coordinator completes what waited for it)
//! and election (the log elects, then the new leader starts loading). Events of other threads
//! can fall between the halves. When only requests, timers and consumers' steps fell between
//! the halves of a replication, none of which reads durability, the batch is taken to become
//! durable at its completion. Otherwise the events that touch the completing (or loading)
//! broker are moved before the first half, the rest after the second. Either way the model's
//! execution then checks that the reordering changed nothing anyone could see. When it did (the old coordinator unloaded
//! between a batch becoming durable and its completion, so a durable write was answered
//! NOT_COORDINATOR, as Kafka can do too), the run is not a model execution, and the error says
//! at which event.

use super::{explain, explorer_path, Trace, Walk, FORMAT, NO_VIOLATION};
use crate::conformance::answers_differ;
#[cfg(not(loom))]
use crate::model::config::Protocol;
use crate::model::properties::first_violated;
use crate::model::Fault;
use crate::model::{Action, Addr, Control, Envelope, GroupModel, ModelConfig, Msg, Start, World};
use crate::property::Property;
use crate::protocol::{BrokerId, ClientAddr, ErrorCode, Reply, Response};
#[cfg(not(loom))]
use crate::runtime::live::LiveConfig;
use crate::runtime::{ClientStep, Event, Timer};
use stateright::Model;

/// Why a recorded run could not be written as a model execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAModelExecution {
    /// Index of the runtime event where the model could not follow.
    pub event: usize,
    pub reason: String,
}

impl std::fmt::Display for NotAModelExecution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the run is not a model execution at event {}: {}",
            self.event, self.reason
        )
    }
}

/// One model step's worth of runtime events.
#[derive(Clone, Copy, Debug)]
enum Unit {
    One(usize),
    Replicate { replicated: usize, completed: usize },
    Failover { elected: usize, loading: usize },
}

/// The model configuration a run of `live` is written against: its consumers, partitions,
/// brokers and flaw. An error says why the model cannot hold such a run. (Live runs are not
/// built for loom.)
#[cfg(not(loom))]
pub fn model_config(live: &LiveConfig) -> Result<ModelConfig, String> {
    let mut flaws = live.flaws.iter();
    let flaw = flaws.next();
    if flaws.next().is_some() {
        return Err("the model switches on one flaw at a time".into());
    }
    let cfg = ModelConfig {
        name: format!("run-seed-{}", live.seed),
        description: format!(
            "A run of the concurrent runtime: {} consumers, {} partitions, {} brokers, {} s, seed {}.",
            live.consumers,
            live.partitions,
            live.brokers,
            live.duration.as_secs(),
            live.seed
        ),
        protocol: if live.assignor.is_cooperative() {
            Protocol::ClassicCooperative
        } else {
            Protocol::ClassicEager
        },
        consumers: live.consumers,
        partitions: live.partitions,
        brokers: live.brokers,
        max_offset: 1,
        assignor: live.assignor,
        rolling_upgrade: Vec::new(),
        membership: if live.static_members {
            crate::model::Membership::Static
        } else {
            crate::model::Membership::Dynamic
        },
        instance_ids: None,
        commit_generation: Default::default(),
        start: Start::Empty,
        flaw,
        network: Default::default(),
        faults: Default::default(),
        recorded: true,
        expect: Default::default(),
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Writes a recorded history as a trace. `base` gives the consumers, partitions, brokers,
/// assignor and flaw of the run; its fault budget is replaced by the faults the run used.
pub fn from_history(
    events: &[Event],
    base: &ModelConfig,
    origin: &str,
) -> Result<Trace, NotAModelExecution> {
    let mut cfg = base.clone();
    cfg.recorded = true;
    cfg.start = Start::Empty;
    // Budgets as large as the state can count: the run decides how many faults there are.
    cfg.faults = crate::model::config::Faults {
        crashes: u8::MAX,
        session_expiries: u8::MAX,
        failovers: u8::MAX,
        lost_messages: u8::MAX,
        leaves: u8::MAX,
        leaves_mid_rebalance: 0,
        late_joins: 0,
        late_deliveries: 0,
        sync_stalls: 0,
        max_total: None,
    };
    cfg.expect = Default::default();
    let mut run = Follow::new(GroupModel::new(cfg));
    for unit in linearize(events)? {
        run.unit(events, unit)?;
        if run.violated.is_some() {
            break;
        }
    }
    // The budget the run used, so that the trace replays with exactly these faults.
    let used = run.w.used;
    let mut cfg = run.model.cfg.clone();
    for f in [
        Fault::Crash,
        Fault::SessionExpiry,
        Fault::Failover,
        Fault::LostMessage,
        Fault::Leave,
    ] {
        cfg.faults.set_budget(f, used.of(f));
    }
    cfg.expect.violated = run.violated.into_iter().collect();
    let model = GroupModel::new(cfg);
    let walk = Walk::new(&model, &run.actions);
    let (property, summary, explanation) = match run.violated {
        Some(p) => (
            p.name(),
            p.summary().to_string(),
            explain::violation(&model, p, walk.prev.as_ref(), &walk.last),
        ),
        None => (
            NO_VIOLATION,
            "every property of the model, in every state".to_string(),
            format!(
                "Every property held in each of the {} states of the recorded run.",
                run.actions.len() + 1
            ),
        ),
    };
    Ok(Trace {
        format: FORMAT.into(),
        model: model.cfg.name.clone(),
        config: model.cfg.clone(),
        flaw: model.cfg.flaw.map(|f| f.name().to_string()),
        origin: Some(origin.to_string()),
        property: property.to_string(),
        property_summary: summary,
        explanation,
        minimal: false,
        explorer_path: explorer_path(&run.indices),
        cycle_start: None,
        steps: walk.steps,
        violating_state: walk.last_view,
    })
}

fn broker_of(e: &Event) -> Option<BrokerId> {
    match e {
        Event::Handled { broker, .. }
        | Event::Appended { broker, .. }
        | Event::Completed { broker, .. }
        | Event::Loading { broker, .. }
        | Event::Unloaded { broker, .. }
        | Event::Loaded { broker, .. }
        | Event::Timer { broker, .. } => Some(*broker),
        Event::Replicated { .. } | Event::Elected { .. } | Event::Client { .. } => None,
    }
}

/// Orders the events as model steps: each two-part operation becomes one unit, and the events
/// of other threads that fell between its halves go before it (if they touch its broker) or
/// after it.
fn linearize(events: &[Event]) -> Result<Vec<Unit>, NotAModelExecution> {
    let mut done = vec![false; events.len()];
    let mut units = Vec::with_capacity(events.len());
    let err = |event, reason: &str| NotAModelExecution {
        event,
        reason: reason.to_string(),
    };
    for i in 0..events.len() {
        if done[i] {
            continue;
        }
        done[i] = true;
        let second = match &events[i] {
            Event::Replicated { .. } => (i + 1..events.len())
                .find(|&k| !done[k] && matches!(events[k], Event::Completed { .. }))
                .ok_or_else(|| err(i, "a batch became durable and was never completed"))?,
            Event::Elected { broker, .. } => (i + 1..events.len())
                .find(|&k| {
                    !done[k]
                        && matches!(events[k], Event::Loading { broker: b, .. } if b == *broker)
                })
                .ok_or_else(|| err(i, "an elected broker never started loading"))?,
            Event::Completed { .. } => return Err(err(i, "a completion without replication")),
            Event::Loading { .. } => return Err(err(i, "loading without an election")),
            _ => {
                units.push(Unit::One(i));
                continue;
            }
        };
        let replication = matches!(events[i], Event::Replicated { .. });
        let window = || (i + 1..second).filter(|&k| !done[k]);
        if replication
            && window().all(|k| {
                matches!(
                    events[k],
                    Event::Handled { .. }
                        | Event::Appended { .. }
                        | Event::Timer { .. }
                        | Event::Client { .. }
                )
            })
        {
            // Nothing between the halves reads durability or truncates the log: requests and
            // timers only append (after the batch), and consumers read only their answers. So
            // the batch may as well have become durable at its completion, and the events keep
            // their order (a consumer's answer and the request it prompted stay in sequence).
            for k in window().collect::<Vec<_>>() {
                done[k] = true;
                units.push(Unit::One(k));
            }
            done[second] = true;
            units.push(Unit::Replicate {
                replicated: i,
                completed: second,
            });
            continue;
        }
        let b = broker_of(&events[second]);
        for k in i + 1..second {
            if done[k] || broker_of(&events[k]) != b {
                continue;
            }
            if !matches!(
                events[k],
                Event::Handled { .. } | Event::Appended { .. } | Event::Timer { .. }
            ) {
                return Err(err(
                    k,
                    "the broker changed leadership between the two halves of a replication or an election (the model takes each as one step)",
                ));
            }
            done[k] = true;
            units.push(Unit::One(k));
        }
        done[second] = true;
        units.push(match events[i] {
            Event::Replicated { .. } => Unit::Replicate {
                replicated: i,
                completed: second,
            },
            _ => Unit::Failover {
                elected: i,
                loading: second,
            },
        });
    }
    Ok(units)
}

/// The model following the runtime's events.
struct Follow {
    model: GroupModel,
    w: World,
    actions: Vec<Action>,
    indices: Vec<usize>,
    /// Connections whose heartbeat was answered NONE and left out (such a heartbeat changes
    /// nothing, and the model explores only heartbeats whose answer tells something): their
    /// next answer is that NONE, and is left out too.
    skipped_heartbeat: Vec<ClientAddr>,
    violated: Option<Property>,
    event: usize,
}

impl Follow {
    fn new(model: GroupModel) -> Follow {
        let w = model.init_states().pop().expect("one initial state");
        Follow {
            model,
            w,
            actions: Vec::new(),
            indices: Vec::new(),
            skipped_heartbeat: Vec::new(),
            violated: None,
            event: 0,
        }
    }

    fn fail<T>(&self, reason: String) -> Result<T, NotAModelExecution> {
        Err(NotAModelExecution {
            event: self.event,
            reason,
        })
    }

    /// Takes `action` on the model, which must find it enabled; returns the state before.
    fn apply(&mut self, action: Action) -> Result<World, NotAModelExecution> {
        let mut enabled = Vec::new();
        self.model.actions(&self.w, &mut enabled);
        let Some(index) = enabled.iter().position(|a| *a == action) else {
            let consumer = match &action {
                Action::Consume(c, _)
                | Action::Commit(c)
                | Action::Heartbeat(c)
                | Action::Close(c)
                | Action::Crash(c) => self
                    .w
                    .consumers
                    .get(c.index())
                    .map(|c| format!(" (the model's consumer: {c:?})"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            return self.fail(format!(
                "`{action}` is not enabled in the model here{consumer}"
            ));
        };
        let next = self.model.step(&self.w, &action);
        let before = std::mem::replace(&mut self.w, next);
        self.actions.push(action);
        self.indices.push(index);
        if self.violated.is_none() {
            self.violated = first_violated(&self.model, &self.w);
        }
        Ok(before)
    }

    /// The answers the runtime sent in an event must be the ones the model's step sent (to
    /// connections still alive).
    fn same_answers(&self, before: &World, runtime: &[Reply]) -> Result<(), NotAModelExecution> {
        match answers_differ(before, &self.w, runtime.iter().cloned()) {
            Some(what) => self.fail(what),
            None => Ok(()),
        }
    }

    /// The envelope in flight that `pick` chooses.
    fn in_flight(&self, pick: impl Fn(&Envelope) -> bool) -> Option<Envelope> {
        self.w.network.iter().find(|e| pick(e)).cloned()
    }

    fn unit(&mut self, events: &[Event], unit: Unit) -> Result<(), NotAModelExecution> {
        match unit {
            Unit::One(i) => {
                self.event = i;
                self.one(&events[i])
            }
            Unit::Replicate {
                replicated,
                completed,
            } => {
                self.event = replicated;
                let (Event::Replicated { batch }, Event::Completed { replies, .. }) =
                    (&events[replicated], &events[completed])
                else {
                    unreachable!("paired by linearize")
                };
                if self.w.log.uncommitted.first() != Some(batch) {
                    return self.fail(format!(
                        "the runtime made {batch:?} durable; the model's oldest batch is {:?}",
                        self.w.log.uncommitted.first()
                    ));
                }
                let before = self.apply(Action::Replicate)?;
                self.event = completed;
                self.same_answers(&before, replies)
            }
            Unit::Failover { elected, loading } => {
                self.event = elected;
                let (Event::Elected { broker, epoch }, Event::Loading { replies, .. }) =
                    (&events[elected], &events[loading])
                else {
                    unreachable!("paired by linearize")
                };
                let before = self.apply(Action::Failover(*broker))?;
                if self.w.log.leader_epoch != *epoch {
                    return self.fail(format!(
                        "the runtime elected at epoch {epoch}, the model at {}",
                        self.w.log.leader_epoch
                    ));
                }
                self.event = loading;
                self.same_answers(&before, replies)
            }
        }
    }

    fn one(&mut self, event: &Event) -> Result<(), NotAModelExecution> {
        match event {
            Event::Handled {
                broker,
                from,
                step,
                request,
                replies,
                ..
            } => {
                let none_heartbeat = matches!(step, Some(ClientStep::Heartbeat))
                    && matches!(replies.as_slice(), [Reply { to, response: Response::Heartbeat { error: ErrorCode::None } }] if to == from);
                if none_heartbeat {
                    self.skipped_heartbeat.push(*from);
                    return Ok(());
                }
                if let Some(step) = step {
                    let action = self.consumer_step(*from, step)?;
                    self.apply(action)?;
                }
                let env = Envelope {
                    src: Addr::Client(*from),
                    dst: Addr::Broker(*broker),
                    msg: Msg::Request(request.clone()),
                };
                let before = self.apply(Action::Deliver(env))?;
                self.same_answers(&before, replies)
            }
            Event::Client { addr, step } => match step {
                // The model gave the membership up within its rebalance-timeout step.
                ClientStep::Started | ClientStep::PollTimedOut => Ok(()),
                ClientStep::Received(Response::Heartbeat {
                    error: ErrorCode::None,
                }) if self.skipped_heartbeat.contains(addr) => {
                    self.skipped_heartbeat.retain(|a| a != addr);
                    Ok(())
                }
                ClientStep::Received(response) => {
                    let to = Addr::Client(*addr);
                    let Some(env) = self.in_flight(|e| {
                        e.dst == to && matches!(&e.msg, Msg::Response(r) if r == response)
                    }) else {
                        return self.fail(format!(
                            "{addr} read {response}, which the model never sent it"
                        ));
                    };
                    self.apply(Action::Deliver(env)).map(drop)
                }
                ClientStep::TimedOut => {
                    let me = Addr::Client(*addr);
                    let Some(env) = self.in_flight(|e| e.dst == me || e.src == me) else {
                        return self.fail(format!(
                            "{addr}'s request timed out while its answer was still to come; the model times out only requests whose message was lost"
                        ));
                    };
                    self.apply(Action::Lose(env)).map(drop)
                }
                step => {
                    let action = self.consumer_step(*addr, step)?;
                    self.apply(action).map(drop)
                }
            },
            Event::Timer {
                broker,
                timer,
                replies,
                ..
            } => {
                let action = match timer {
                    Timer::ExpireSession(id) => Action::ExpireSession(*id),
                    Timer::RebalanceTimeout => Action::RebalanceTimeout,
                    Timer::PendingSyncTimeout => Action::PendingSyncTimeout,
                };
                let leader = self.w.log.leader;
                let no_op = match timer {
                    Timer::ExpireSession(id) => !self.w.brokers[broker.index()].can_expire(*id),
                    Timer::RebalanceTimeout => !self.w.brokers[broker.index()].can_time_out_join(),
                    Timer::PendingSyncTimeout => {
                        !self.w.brokers[broker.index()].can_time_out_sync(&self.model.core)
                    }
                };
                if no_op && replies.is_empty() {
                    return Ok(()); // the core ignored a timer that was no longer due
                }
                if *broker != leader {
                    return self.fail(format!(
                        "{timer} at broker-{broker}, which had lost leadership to broker-{leader} (the runtime reads the leader, then locks the broker)"
                    ));
                }
                let before = self.apply(action)?;
                self.same_answers(&before, replies)
            }
            Event::Unloaded {
                broker, replies, ..
            } => {
                let dst = Addr::Broker(*broker);
                let Some(env) = self.in_flight(|e| {
                    e.dst == dst && matches!(e.msg, Msg::Control(Control::StopLeading { .. }))
                }) else {
                    return self.fail(format!(
                        "broker-{broker} unloaded with no word from the controller"
                    ));
                };
                let before = self.apply(Action::Deliver(env))?;
                self.same_answers(&before, replies)
            }
            Event::Loaded { broker, .. } => self.apply(Action::FinishLoading(*broker)).map(drop),
            // Part of the request or timer whose event follows: the model's step appends.
            Event::Appended { .. } => Ok(()),
            Event::Replicated { .. }
            | Event::Completed { .. }
            | Event::Elected { .. }
            | Event::Loading { .. } => unreachable!("paired by linearize"),
        }
    }

    /// The model's consumer action for a consumer's own step.
    fn consumer_step(
        &self,
        addr: ClientAddr,
        step: &ClientStep,
    ) -> Result<Action, NotAModelExecution> {
        let c = addr.consumer;
        let restart = matches!(step, ClientStep::Restarted);
        match self.w.consumers.get(c.index()) {
            Some(model) if restart || model.addr == addr => {}
            Some(model) => {
                return self.fail(format!(
                    "{addr} took a step, but the model's consumer-{c} is {}",
                    model.addr
                ))
            }
            None => return self.fail(format!("{addr} is not one of the run's consumers")),
        }
        Ok(match step {
            // Processing a partition it cannot process changes nothing: what is left is the
            // commit of positions processed before.
            ClientStep::Polled(p) if self.w.consumers[c.index()].processable().contains(*p) => {
                Action::Consume(c, *p)
            }
            ClientStep::Polled(_) | ClientStep::Committed => Action::Commit(c),
            ClientStep::Heartbeat => Action::Heartbeat(c),
            ClientStep::Closed => Action::Close(c),
            ClientStep::Restarted => Action::Crash(c),
            other => return self.fail(format!("{addr}: unexpected step {other:?}")),
        })
    }
}
