//! The core beside the broker: every step a scenario takes on the broker is taken on a fresh
//! coordinator of the core as well, so the answer Kafka's coordinator gives there is the
//! core's — written once, in the core, not restated by each scenario.
//!
//! Each member of a scenario has a twin here: the same consumer of the core, with the member
//! ids and generations the core gives it (the broker names its members its own way). A
//! member's session expiring, or a timer firing, is a step the scenario takes explicitly,
//! once the broker's answers show it happened there.

use crate::consumer::{CommitGeneration, Consumer, Send};
use crate::coordinator::CoreConfig;
use crate::flaw::Flaws;
use crate::protocol::{
    Assignor, Assignors, BrokerId, ClientAddr, ConsumerId, ErrorCode, InstanceId, MemberId,
    Request, Response,
};
use crate::runtime::GroupService;
use serde::{Deserialize, Serialize};

/// A step the mirror takes for member `member` (numbered as the scenario creates them), as a
/// probe trace records it, to be taken again by `replay`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The member's session expires (the probe waited past it on the broker).
    Expire { member: usize },
    /// The group's coordinator moves to the other broker, which starts loading the group
    /// from the durable log.
    MoveCoordinator,
    /// The new coordinator has loaded the group: taken before any request but a Heartbeat
    /// (which a loading coordinator answers NONE blindly), and before a Heartbeat once the
    /// broker's answer to it shows its coordinator has loaded.
    Loaded,
    /// The member takes the answer the core had parked for it, if it has come.
    Receive { member: usize },
    /// The member starts as the core's consumer ([`crate::consumer`]) with these assignors
    /// and, for a static member, this instance id; its first request waits to be delivered.
    Start {
        member: usize,
        assignors: Assignors,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<InstanceId>,
        #[serde(default, skip_serializing_if = "CommitGeneration::is_stable")]
        commit_generation: CommitGeneration,
    },
    /// The consumer's application or heartbeat thread acts.
    Act { member: usize, act: Act },
    /// The consumer's next request goes out, and its answer, unless parked, is taken in.
    Deliver { member: usize },
    /// The consumer's heartbeat thread keeps its session alive while its next request waits
    /// to go out: a Heartbeat in its generation, whose answer it does not act on.
    KeepAlive { member: usize },
    /// The pending-sync timer fires: members of the generation that have not sent their
    /// SyncGroup within the rebalance timeout are removed (KAFKA-12890's fix); the probe
    /// takes it where the broker's answers show it fired.
    PendingSyncTimeout,
    /// The join phase's rebalance timer fires: it ends without the members that have not
    /// rejoined; the probe takes it where the broker's answers show it fired.
    RebalanceTimeout,
    /// The consumer gives up on the request it was about to send, which stays in the
    /// network: it closes its connection and carries on (its request timed out).
    Abandon { member: usize },
    /// The request the consumer gave up on arrives, on its old connection; nobody reads the
    /// answer.
    DeliverLate { member: usize },
}

/// What a consumer's application or heartbeat thread does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// Processes the next record of every partition it may.
    Process,
    Commit,
    /// Asks for the committed offsets of what it owns.
    Committed,
    Heartbeat,
    Close,
    /// Its SyncGroup, about to go out, does not: its assignor hangs, while its heartbeat
    /// thread goes on.
    Stall,
}

impl Act {
    /// `consumer` does it: the request it sends, if any.
    pub fn on(self, consumer: &mut Consumer, cfg: &CoreConfig) -> Option<Send> {
        match self {
            Act::Process => {
                for p in consumer.processable().iter() {
                    consumer.process(p);
                }
                None
            }
            Act::Commit => consumer.commit(),
            Act::Committed => consumer.committed(),
            Act::Heartbeat => consumer.heartbeat(),
            Act::Close => consumer.close(cfg),
            Act::Stall => {
                consumer.stall();
                None
            }
        }
    }
}

/// A step and the core's answer to it: an error code's name, or none (the request waits, or
/// the step is no request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    #[serde(flatten)]
    pub step: Step,
    pub answer: Option<String>,
}

/// A probe member as the core knows it.
#[derive(Clone, PartialEq)]
struct Mirrored {
    addr: ClientAddr,
    /// The member id the core last gave it: a consumer that closed or crashed forgets its
    /// own, while the group keeps the member until its session expires.
    id: Option<MemberId>,
    /// The core's consumer (once started), and the request it is about to send.
    driven: Option<(Consumer, Option<Send>)>,
    /// A request it gave up on, still in the network, with the connection it left on.
    late: Option<(ClientAddr, Send)>,
}

pub struct Mirror {
    service: GroupService,
    /// Every step taken, with the core's answer.
    pub taken: Vec<Taken>,
    /// The broker coordinating the group (two brokers, for the coordinator to move).
    coordinator: BrokerId,
    members: Vec<Mirrored>,
    pub cfg: CoreConfig,
    /// The core's answer to the last request delivered for a consumer.
    answer: Option<Response>,
    /// The coordinator has moved and not yet loaded the group.
    loading: bool,
    /// Which generation the consumers' commits carry (a model walk takes its model's).
    pub commit_generation: CommitGeneration,
    /// Members whose request went out to the broker on a thread of its own and that the core
    /// has not taken yet, in the order they went out (see [`super::histories`]).
    racing: Vec<usize>,
    /// What the core answered to each racing request it took, by member.
    raced: Vec<(usize, Raced)>,
    /// The step each judged answer of the broker was held against, in the order judged.
    pub judged_at: Vec<usize>,
}

impl Clone for Mirror {
    fn clone(&self) -> Mirror {
        Mirror {
            service: self.service.copy(),
            taken: self.taken.clone(),
            coordinator: self.coordinator,
            members: self.members.clone(),
            cfg: self.cfg,
            answer: self.answer.clone(),
            loading: self.loading,
            commit_generation: self.commit_generation,
            racing: self.racing.clone(),
            raced: self.raced.clone(),
            judged_at: self.judged_at.clone(),
        }
    }
}

/// The core's side of a racing request it took: the request its twin sent (none: the twin
/// had nothing to send), its answer (none: the core parked it) and the step's number.
#[derive(Clone, Debug, PartialEq)]
struct Raced {
    request: Option<Request>,
    answer: Option<Response>,
    step: usize,
}

impl Mirror {
    /// A fresh coordinator of a group over `partitions` partitions (at most 16).
    pub fn new(partitions: u8) -> Mirror {
        let cfg = CoreConfig {
            partitions,
            assignor: Assignor::RoundRobin,
            flaws: Flaws::NONE,
        };
        Mirror {
            service: GroupService::new(cfg, 2, false),
            taken: Vec::new(),
            coordinator: BrokerId(0),
            members: Vec::new(),
            cfg,
            answer: None,
            loading: false,
            commit_generation: CommitGeneration::Stable,
            racing: Vec::new(),
            raced: Vec::new(),
            judged_at: Vec::new(),
        }
    }

    /// Whether `other` is in the same state (whatever steps led there).
    pub fn same_as(&self, other: &Mirror) -> bool {
        self.service.same_as(&other.service)
            && self.members == other.members
            && (self.coordinator, self.loading) == (other.coordinator, other.loading)
            && (self.racing == other.racing && self.raced == other.raced)
    }

    /// The members whose racing request the core has not taken yet, in the order they went
    /// out.
    pub fn racing(&self) -> &[usize] {
        &self.racing
    }

    /// Member `m`'s next request went out to the broker on a thread of its own: the broker
    /// may read it at any point from now on, and the core takes it where the broker's answers
    /// show it did (see [`super::histories`]).
    pub fn race(&mut self, m: usize) {
        if !self.racing.contains(&m) {
            self.racing.push(m);
        }
    }

    /// The core takes member `m`'s racing request now, if it has not yet.
    pub fn take_raced(&mut self, m: usize) {
        let Some(at) = self.racing.iter().position(|&r| r == m) else {
            return;
        };
        self.racing.remove(at);
        let request = self.outbox(m).cloned();
        let answer = self.deliver(m);
        let step = self.taken.len();
        self.raced.push((
            m,
            Raced {
                request,
                answer,
                step,
            },
        ));
    }

    /// The core's side of member `m`'s racing request, which the core takes now if it had
    /// not: the request its twin sent, and the core's answer (the one it had parked, if it
    /// has come) with its step's number.
    pub fn raced_answer(&mut self, m: usize) -> (Option<Request>, Option<Response>, usize) {
        self.take_raced(m);
        let raced =
            (self.raced.iter().position(|(r, _)| *r == m)).map(|at| self.raced.remove(at).1);
        match raced {
            Some(Raced {
                request,
                answer: Some(answer),
                step,
            }) => (request, Some(answer), step),
            raced => {
                let answer = self.receive_answer(m);
                (raced.and_then(|r| r.request), answer, self.taken.len())
            }
        }
    }

    /// Whether the core parked member `m`'s racing request (every racing request is taken
    /// first, in the order they went out).
    pub fn parked_racing(&mut self, m: usize) -> bool {
        self.take_all_racing();
        self.raced
            .iter()
            .any(|(r, raced)| *r == m && raced.answer.is_none())
    }

    /// Every racing request not yet taken is taken, in the order they went out: before a step
    /// the broker's answers do not place (a timer, a session's expiry, a move, a late
    /// request), as if the broker had read them at once.
    pub fn take_all_racing(&mut self) {
        while let Some(&m) = self.racing.first() {
            self.take_raced(m);
        }
    }

    /// The core's consumer at `addr` running `assignors` (and `instance`, if static), its
    /// commits carrying `commit_generation`: what a probe member is, and its twin here.
    pub fn new_consumer(
        &self,
        addr: ClientAddr,
        assignors: Assignors,
        instance: Option<InstanceId>,
        commit_generation: CommitGeneration,
    ) -> Consumer {
        Consumer::new(addr, &self.cfg)
            .with_assignors(assignors)
            .with_instance(instance)
            .with_commit_generation(commit_generation)
    }

    /// The probe's `m`-th member (numbered as the scenario creates them).
    fn member(&mut self, m: usize) -> &mut Mirrored {
        while self.members.len() <= m {
            let addr = ClientAddr {
                consumer: ConsumerId::at(self.members.len()),
                ..ClientAddr::default()
            };
            self.members.push(Mirrored {
                addr,
                id: None,
                driven: None,
                late: None,
            });
        }
        &mut self.members[m]
    }

    /// Sends `request` from member `m`, makes every write durable, and takes the answer (none
    /// while a JoinGroup or SyncGroup is parked).
    fn ask(&mut self, m: usize, request: Request) -> Option<Response> {
        let addr = self.member(m).addr;
        self.service.send(self.coordinator, addr, &request);
        while self.service.replicate() {}
        self.service.try_receive(addr)
    }

    /// Takes `step`, records it with the core's answer, and returns that answer.
    pub fn take(&mut self, step: Step) -> Option<ErrorCode> {
        let placed = matches!(
            step,
            Step::Receive { .. }
                | Step::Start { .. }
                | Step::Act { .. }
                | Step::Deliver { .. }
                | Step::KeepAlive { .. }
                | Step::Abandon { .. }
                | Step::Loaded
        );
        if !placed {
            self.take_all_racing();
        }
        let waits_for_load = !matches!(
            step,
            Step::KeepAlive { .. } | Step::MoveCoordinator | Step::Loaded
        );
        if waits_for_load {
            self.loaded();
        }
        let answer = match &step {
            Step::Expire { member } => {
                self.expire_step(*member);
                None
            }
            Step::MoveCoordinator => {
                self.move_step();
                None
            }
            Step::Loaded => {
                self.service.finish_loading(self.coordinator);
                self.loading = false;
                None
            }
            Step::Receive { member } => self.receive_step(*member),
            Step::Start {
                member,
                assignors,
                instance,
                commit_generation,
            } => {
                self.start_step(*member, *assignors, *instance, *commit_generation);
                None
            }
            Step::Act { member, act } => {
                let cfg = self.cfg;
                if let Some((consumer, outbox)) = &mut self.member(*member).driven {
                    if let Some(send) = act.on(consumer, &cfg) {
                        *outbox = Some(send);
                    }
                    if *act == Act::Stall {
                        *outbox = None;
                    }
                }
                None
            }
            Step::Deliver { member } => self.deliver_step(*member),
            Step::KeepAlive { member } => self.keep_alive_step(*member),
            Step::PendingSyncTimeout => {
                self.service.pending_sync_timeout();
                while self.service.replicate() {}
                None
            }
            Step::RebalanceTimeout => {
                self.service.rebalance_timeout();
                while self.service.replicate() {}
                None
            }
            Step::Abandon { member } => {
                self.abandon_step(*member);
                None
            }
            Step::DeliverLate { member } => self.deliver_late_step(*member),
        };
        self.taken.push(Taken {
            step,
            answer: answer.map(|e| e.name().to_string()),
        });
        answer
    }

    /// The answer the core had parked for `m` (a JoinGroup waiting for the other members, a
    /// SyncGroup waiting for the leader), if it has come.
    pub fn receive(&mut self, m: usize) -> Option<ErrorCode> {
        self.take(Step::Receive { member: m })
    }

    fn receive_step(&mut self, m: usize) -> Option<ErrorCode> {
        let addr = self.member(m).addr;
        let answer = self.service.try_receive(addr)?;
        Some(self.consume(m, answer))
    }

    fn start_step(
        &mut self,
        m: usize,
        assignors: Assignors,
        instance: Option<InstanceId>,
        commit_generation: CommitGeneration,
    ) {
        let (cfg, coordinator) = (self.cfg, self.coordinator);
        let addr = self.member(m).addr;
        let mut consumer = self.new_consumer(addr, assignors, instance, commit_generation);
        let first = consumer.on_coordinator_found(coordinator, &cfg);
        self.member(m).driven = Some((consumer, first));
    }

    /// Member `m`, the core's consumer, starts (see [`Step::Start`]).
    pub fn start(&mut self, m: usize, assignors: Assignors, instance: Option<InstanceId>) {
        self.take(Step::Start {
            member: m,
            assignors,
            instance,
            commit_generation: self.commit_generation,
        });
    }

    /// Consumer `m` does `act`.
    pub fn act(&mut self, m: usize, act: Act) {
        self.take(Step::Act { member: m, act });
    }

    /// The request consumer `m` is about to send.
    pub fn outbox(&self, m: usize) -> Option<&Request> {
        let (_, outbox) = self.members.get(m)?.driven.as_ref()?;
        outbox.as_ref().map(|s| &s.request)
    }

    /// Consumer `m`'s request goes out: the core's answer, unless it parks the request.
    pub fn deliver(&mut self, m: usize) -> Option<Response> {
        self.answer = None;
        self.take(Step::Deliver { member: m });
        self.answer.take()
    }

    /// The answer the core had parked for consumer `m`, if it has come.
    pub fn receive_answer(&mut self, m: usize) -> Option<Response> {
        self.answer = None;
        self.receive(m);
        self.answer.take()
    }

    /// Consumer `m`'s heartbeat thread heartbeats (see [`Step::KeepAlive`]): the core's
    /// answer.
    pub fn keep_alive(&mut self, m: usize) -> Option<ErrorCode> {
        self.take(Step::KeepAlive { member: m })
    }

    fn keep_alive_step(&mut self, m: usize) -> Option<ErrorCode> {
        let (consumer, _) = self.member(m).driven.as_ref()?;
        let request = Request::Heartbeat {
            member_id: consumer.member_id?,
            generation: consumer.generation?,
            instance: consumer.instance,
        };
        self.ask(m, request).map(|r| r.error())
    }

    fn deliver_step(&mut self, m: usize) -> Option<ErrorCode> {
        let addr = self.member(m).addr;
        let send = self.member(m).driven.as_mut()?.1.take()?;
        self.service.send(send.to, addr, &send.request);
        while self.service.replicate() {}
        let answer = self.service.try_receive(addr)?;
        Some(self.consume(m, answer))
    }

    /// Consumer `m` gives up on its next request (see [`Step::Abandon`]).
    pub fn abandon(&mut self, m: usize) {
        self.take(Step::Abandon { member: m });
    }

    fn abandon_step(&mut self, m: usize) {
        let (cfg, coordinator) = (self.cfg, self.coordinator);
        let me = self.member(m);
        let Some((consumer, outbox)) = &mut me.driven else {
            return;
        };
        let Some(send) = outbox.take() else { return };
        *outbox = consumer.abandon_request(&cfg);
        if outbox.is_none() && consumer.needs_coordinator() {
            // It finds the coordinator again as the probe's member does.
            *outbox = consumer.on_coordinator_found(coordinator, &cfg);
        }
        me.late = Some((me.addr, send));
        me.addr = consumer.addr;
    }

    /// The request consumer `m` gave up on arrives (see [`Step::DeliverLate`]): the core's
    /// answer, unless it parks the request.
    pub fn deliver_late(&mut self, m: usize) -> Option<Response> {
        self.answer = None;
        self.take(Step::DeliverLate { member: m });
        self.answer.take()
    }

    fn deliver_late_step(&mut self, m: usize) -> Option<ErrorCode> {
        let (addr, send) = self.member(m).late.take()?;
        self.service.send(send.to, addr, &send.request);
        while self.service.replicate() {}
        let answer = self.service.try_receive(addr)?;
        let error = answer.error();
        self.answer = Some(answer);
        Some(error)
    }

    /// Consumer `m` takes in `answer`; its next request waits to be delivered.
    fn consume(&mut self, m: usize, answer: Response) -> ErrorCode {
        let (cfg, coordinator) = (self.cfg, self.coordinator);
        let error = answer.error();
        let me = self.member(m);
        if let Some((consumer, outbox)) = &mut me.driven {
            *outbox = consumer.on_response(&answer, &cfg);
            if outbox.is_none() && consumer.needs_coordinator() {
                *outbox = consumer.on_coordinator_found(coordinator, &cfg);
            }
            me.id = consumer.member_id;
        }
        self.answer = Some(answer);
        error
    }

    /// The member whose id the core gave is `id`.
    pub fn numbered(&self, id: MemberId) -> Option<usize> {
        self.members.iter().position(|m| m.id == Some(id))
    }

    /// Consumer `m` as the core drives it.
    pub fn consumer(&self, m: usize) -> Option<&Consumer> {
        Some(&self.members.get(m)?.driven.as_ref()?.0)
    }

    /// Whether the group is settled on the core's side: Stable, and every member one that a
    /// running consumer holds (none left, closed or crashed, whose session has yet to run
    /// out). The mirror makes every write durable within its step, so a coordinator that
    /// loads such a group loads what is in memory.
    pub fn settled(&self) -> bool {
        let (brokers, _) = self.service.snapshot();
        let c = &brokers[self.coordinator.index()];
        let held = |id: MemberId| {
            self.members.iter().any(|m| {
                let running = m.driven.as_ref().is_some_and(|(c, _)| !c.is_closed());
                running && m.id == Some(id)
            })
        };
        c.group.state == crate::coordinator::GroupState::Stable
            && c.group.members.iter().all(|m| held(m.id))
    }

    /// The group's coordinator moves to the other broker, which loads the group from the
    /// durable log (the probe asks the broker only once it has found its new coordinator).
    pub fn move_coordinator(&mut self) {
        self.take(Step::MoveCoordinator);
    }

    fn move_step(&mut self) {
        self.coordinator = BrokerId(1 - self.coordinator.0);
        self.service.failover(self.coordinator);
        self.loading = true;
        // The consumers' twins find the new coordinator as the probe's members do.
        let coordinator = self.coordinator;
        for m in &mut self.members {
            if let Some((consumer, held)) = &mut m.driven {
                if consumer.coordinator.is_some() {
                    consumer.coordinator = Some(coordinator);
                }
                // A request made before the move and not yet sent follows it alike.
                if let Some(send) = held {
                    send.to = coordinator;
                }
            }
        }
    }

    /// The new coordinator has loaded the group, if it had not (see [`Step::Loaded`]).
    pub fn loaded(&mut self) {
        if self.loading {
            self.take(Step::Loaded);
        }
    }

    /// The session of `m` expires.
    pub fn expire(&mut self, m: usize) {
        self.take(Step::Expire { member: m });
    }

    fn expire_step(&mut self, m: usize) {
        if let Some(id) = self.member(m).id {
            self.service.expire_session(id);
            while self.service.replicate() {}
        }
    }
}
