//! The Stateright model: coordinators, the `__consumer_offsets` partition and consumers,
//! exchanging messages over a network, with a bounded budget of faults.
//!
//! # The protocol in one page
//!
//! A consumer group shares a topic's partitions among its members. One broker — the leader of
//! the group's `__consumer_offsets` partition — is the group's *coordinator*. Consumers find it,
//! send JoinGroup (the first one is answered MEMBER_ID_REQUIRED with the id to join with), and the
//! coordinator waits until every known member has (re)joined. It then bumps the *generation*,
//! answers every JoinGroup, and gives the member list to one of them, the *group leader*, which
//! computes the assignment and sends it in its SyncGroup. The coordinator writes the assignment
//! to `__consumer_offsets` and only when that record is durable answers every SyncGroup: from then
//! on the group is Stable. Members heartbeat; a heartbeat answered REBALANCE_IN_PROGRESS makes an
//! eager consumer commit, give up all its partitions, and rejoin.
//!
//! Offsets are committed to the same log. A commit is accepted only from a member of the current
//! generation, and acknowledged only once durable. When the coordinator's broker loses leadership
//! of the log, another broker replays the log and takes over; everything not yet durable is lost,
//! and any rebalance in progress starts over.
//!
//! What can go wrong: a consumer whose session expired (a *zombie*) still believes it owns its
//! partitions; a commit may be acknowledged and then lost in a failover; a new coordinator may
//! serve before it has replayed the log. The properties in [`properties`] say what must never
//! happen; each flaw of [`crate::flaw`] shows one of them happening.
//!
//! # How the model is built
//!
//! This is a plain `stateright::Model` rather than an `ActorModel`: faults are budgeted actions
//! (`ActorModel`'s losses and crash/recover cycles are unbounded), and a request times out only
//! when it or its answer was really lost, when no answer can come any more, or when the client
//! gives up on it (the budgeted late delivery). States are compared up to the numbering of
//! generations and member ids ([`canonical`]), and two timing assumptions
//! ([`MAX_GENERATION_SPAN`], [`MAX_UNREPLICATED`]) keep even a group that rebalances forever
//! finite, so that [`liveness`] can find its cycle. Brokers, the log and
//! consumers are still independent actors that only exchange messages; every protocol decision
//! is made by the core ([`crate::coordinator`], [`crate::consumer`]).

pub mod canonical;
pub mod config;
pub mod liveness;
pub mod properties;
pub mod shortest;
pub mod state;
pub mod symmetry;

pub use config::{Fault, Membership, ModelConfig, Start};
pub use state::{Action, Addr, Control, Envelope, Msg, Observed, Used, World};

use crate::consumer::{Consumer, Send};
use crate::coordinator::{Coordinator, CoreConfig, LoadState};
use crate::offsets_log::commit_allowed;
use crate::property::reply::{judge_reply, ReplyFault};
use crate::property::{from_known_member, from_non_member, told_unknown, unfenced};
use crate::protocol::{
    BrokerId, ClientAddr, ConsumerId, ErrorCode, LeaderEpoch, Offset, Reply, Request, Response,
};
use stateright::{Model, Property};

/// A catalogue configuration made checkable.
#[derive(Clone, Debug)]
pub struct GroupModel {
    pub cfg: ModelConfig,
    pub core: CoreConfig,
    /// The generation of the initial state: a rebalance completes when the group passes it.
    pub initial_generation: crate::protocol::Generation,
    /// Where the safety search records the state graph it explores, for the liveness check.
    pub search_graph: Option<std::sync::Arc<liveness::SearchGraph>>,
}

impl GroupModel {
    pub fn new(cfg: ModelConfig) -> GroupModel {
        let core = cfg.core();
        let mut model = GroupModel {
            cfg,
            core,
            initial_generation: crate::protocol::Generation(0),
            search_graph: None,
        };
        model.initial_generation = model.init_states()[0].leader().group.generation;
        model
    }

    fn initial_world(&self) -> World {
        let cfg = &self.cfg;
        let mut brokers: Vec<Coordinator> = (0..cfg.brokers)
            .map(|b| Coordinator::idle(BrokerId(b), &self.core))
            .collect();
        brokers[0] = Coordinator::active(BrokerId(0), LeaderEpoch(0), &self.core);
        let consumers = (0..cfg.consumers)
            .map(|c| {
                let addr = ClientAddr {
                    consumer: ConsumerId(c),
                    incarnation: 0,
                    connection: 0,
                };
                Consumer::new(addr, &self.core)
                    .with_instance(cfg.instance_of(c))
                    .with_commit_generation(cfg.commit_generation)
            })
            .collect();
        let on_time = cfg.consumers - cfg.faults.late_joins;
        let mut world = World {
            brokers: brokers.into_iter().collect(),
            log: crate::offsets_log::OffsetsLog::new(BrokerId(0)),
            consumers,
            started: ((1u16 << on_time) - 1) as u8,
            restarting: 0,
            network: Vec::new(),
            used: Used::default(),
            acked: smallvec::smallvec![0; cfg.partitions as usize],
            observed: Observed::default(),
            view: Default::default(),
        };
        self.find_coordinators(&mut world);
        world
    }

    /// Lets the protocol run without faults or application work until nothing is left to do:
    /// the first enabled step each time, so the result is always the same.
    fn settle(&self, mut world: World) -> World {
        let mut actions = Vec::new();
        // The fault-free protocol settles in a few dozen steps; a core that never lets it
        // settle is broken, and must fail loudly rather than hang.
        for _ in 0..100_000 {
            actions.clear();
            self.enabled(&world, &mut actions);
            let next = actions.drain(..).find(|a| {
                !a.is_fault(&world) && !matches!(a, Action::Consume(..) | Action::Commit(_))
            });
            match next {
                Some(action) => world = self.step(&world, &action),
                None => return world,
            }
        }
        panic!("the fault-free protocol did not settle within 100000 steps: the core is broken")
    }

    /// The budget a consumer's close counts against: a Stable consumer's (or any, in a recorded
    /// run) is a leave, one in the middle of a rebalance a leave of its own kind.
    fn leave_kind(&self, consumer: &Consumer) -> Fault {
        if self.cfg.recorded || consumer.is_stable() {
            Fault::Leave
        } else {
            Fault::LeaveMidRebalance
        }
    }

    /// Whether one more fault of a kind fits both its own budget and the total.
    fn budget_left(&self, w: &World, f: Fault) -> bool {
        w.used.of(f) < self.cfg.faults.budget(f)
            && self
                .cfg
                .faults
                .max_total
                .is_none_or(|t| w.used.total() < u16::from(t))
    }

    /// Applies one action. The caller guarantees it is enabled.
    pub fn step(&self, world: &World, action: &Action) -> World {
        let mut w = world.clone();
        match action {
            Action::Deliver(env) => {
                remove_envelope(&mut w.network, env);
                self.deliver(&mut w, env);
            }
            Action::Lose(env) => {
                remove_envelope(&mut w.network, env);
                w.used.count(Fault::LostMessage);
                if let Some(c) = env.client().and_then(|addr| w.consumer_at(addr)) {
                    let send = w.consumers[c].on_request_timeout(&self.core);
                    self.send(&mut w, c, send);
                }
            }
            Action::TimeOut(c) => {
                let send = w.consumers[c.index()].on_request_timeout(&self.core);
                self.send(&mut w, c.index(), send);
            }
            Action::Abandon(c) => {
                w.used.count(Fault::LateDelivery);
                let send = w.consumers[c.index()].abandon_request(&self.core);
                self.send(&mut w, c.index(), send);
            }
            Action::Replicate => self.replicate(&mut w),
            Action::Compact => w.log.compact(),
            Action::FinishLoading(b) => {
                let durable = w.log.durable.clone();
                w.brokers[b.index()].finish_loading(&durable, &self.core);
            }
            Action::Consume(c, p) => {
                let consumer = &mut w.consumers[c.index()];
                if !consumer.is_at_rest() {
                    w.observed.set(Observed::PROCESSED_WHILE_REJOINING);
                }
                consumer.process(*p);
                let send = consumer.commit();
                self.send(&mut w, c.index(), send);
            }
            Action::Commit(c) => {
                let send = w.consumers[c.index()].commit();
                self.send(&mut w, c.index(), send);
            }
            Action::Heartbeat(c) => {
                let send = w.consumers[c.index()].heartbeat();
                self.send(&mut w, c.index(), send);
            }
            Action::ExpireSession(id) => {
                if w.expiry_is_fault(*id) {
                    w.used.count(Fault::SessionExpiry);
                }
                let b = w.log.leader;
                let (brokers, log) = (&mut w.brokers, &mut w.log);
                let replies = brokers[b.index()].expire_session(*id, log, &self.core);
                self.emit(&mut w, b, replies);
            }
            Action::RebalanceTimeout => {
                if state::rebalance_timeout_removes_live(&w) {
                    w.used.count(Fault::SessionExpiry);
                }
                // A live static member left out of the join phase has not polled for the
                // rebalance timeout, which is its own max.poll.interval.ms, counted from before
                // the rebalance began: its client gave the membership up first. (A dynamic one
                // is removed, and is a zombie until it learns so.)
                let b = w.log.leader;
                let missing = w.brokers[b.index()].static_members_left_out();
                let left_out: Vec<usize> = (0..w.consumers.len())
                    .filter(|c| w.is_live(*c) && !w.consumers[*c].stalled)
                    .filter(|c| {
                        w.consumers[*c]
                            .member_id
                            .is_some_and(|id| missing.contains(&id))
                    })
                    .collect();
                for c in left_out {
                    let send = w.consumers[c].on_poll_timeout(&self.core);
                    self.send(&mut w, c, send);
                }
                let (brokers, log) = (&mut w.brokers, &mut w.log);
                let replies = brokers[b.index()].rebalance_timeout(log, &self.core);
                self.emit(&mut w, b, replies);
            }
            Action::StallSync(c) => {
                w.used.count(Fault::SyncStall);
                let addr = w.consumers[c.index()].addr;
                w.network.retain(|e| !sync_group_from(e, addr));
                w.consumers[c.index()].stall();
            }
            Action::PendingSyncTimeout => {
                let b = w.log.leader;
                let (brokers, log) = (&mut w.brokers, &mut w.log);
                let replies = brokers[b.index()].pending_sync_timeout(log, &self.core);
                self.emit(&mut w, b, replies);
            }
            Action::Crash(c) => {
                let c = c.index();
                w.used.count(Fault::Crash);
                let old = w.consumers[c].addr;
                // The process's connections die with it: answers to it are never read.
                w.network.retain(|e| {
                    !matches!(e.dst, Addr::Client(a) if (a.consumer, a.incarnation) == (old.consumer, old.incarnation))
                });
                self.start_again(&mut w, c);
            }
            Action::Bounce(c) => {
                w.restarting |= 1 << c.0;
                let send = w.consumers[c.index()].close(&self.core);
                self.send(&mut w, c.index(), send);
            }
            Action::Restart(c) => self.start_again(&mut w, c.index()),
            Action::Close(c) => {
                w.used.count(self.leave_kind(&w.consumers[c.index()]));
                let send = w.consumers[c.index()].close(&self.core);
                self.send(&mut w, c.index(), send);
            }
            Action::Start(c) => {
                w.used.count(Fault::LateJoin);
                w.started |= 1 << c.0;
            }
            Action::Failover(to) => {
                w.used.count(Fault::Failover);
                let from = w.log.leader;
                w.log.elect(*to);
                let epoch = w.log.leader_epoch;
                // The old leader learns of its demotion only when the controller's message
                // arrives, and until then still serves (its appends are refused). The new one
                // starts loading at once, unless its StartLeading travels too.
                if self.cfg.network.start_leading_travels {
                    let start = Msg::Control(Control::StartLeading { epoch });
                    self.control(&mut w, *to, start);
                } else {
                    let replies = w.brokers[to.index()].on_start_leading(epoch, &self.core);
                    self.emit(&mut w, *to, replies);
                }
                self.control(&mut w, from, Msg::Control(Control::StopLeading { epoch }));
            }
        }
        self.find_coordinators(&mut w);
        if !self.load_ahead(&w) {
            // No loader can read the log any more, and nothing else tells an uncompacted log
            // from a compacted one: keep it compacted, so that histories that differ only in
            // old records are one state.
            w.log.compact();
        }
        // Changed since it was copied: its view is computed afresh, now, while it can be
        // computed without a copy (every state generated is asked for it).
        w.view = Default::default();
        w.cache_view();
        w
    }

    /// Consumer `c`'s process starts again with no memory: with its assignors, or the next ones
    /// if a rolling upgrade bounced it (even if it died while closing).
    fn start_again(&self, w: &mut World, c: usize) {
        let old = &w.consumers[c];
        let addr = ClientAddr {
            incarnation: old.addr.incarnation + 1,
            connection: 0,
            ..old.addr
        };
        let mut assignors = old.assignors;
        if w.is_restarting(c) {
            w.restarting &= !(1 << c);
            assignors = self.cfg.next_assignors(assignors).unwrap_or(assignors);
        }
        // A static member restarts with its instance id, to take its member back.
        let instance = old.instance;
        let consumer = Consumer::new(addr, &self.core).with_instance(instance);
        w.consumers[c] = consumer
            .with_assignors(assignors)
            .with_commit_generation(old.commit_generation);
    }

    /// Whether the rolling upgrade may bounce consumer `c` now: it runs with its assignment, no
    /// other consumer is being bounced, it has bounces left, and every consumer has been through
    /// as many as it has.
    fn may_bounce(&self, w: &World, c: usize) -> bool {
        let stage = |c: usize| self.cfg.stage_of(w.consumers[c].assignors);
        w.restarting == 0
            && w.consumers[c].is_stable()
            && stage(c) < self.cfg.rolling_upgrade.len()
            && (0..w.consumers.len()).all(|other| stage(other) >= stage(c))
    }

    /// Whether some coordinator may still load the log: one is loading, a StartLeading is on
    /// its way, or a failover is left.
    fn load_ahead(&self, w: &World) -> bool {
        w.brokers.iter().any(|b| b.load == LoadState::Loading)
            || w.network
                .iter()
                .any(|e| matches!(e.msg, Msg::Control(Control::StartLeading { .. })))
            || self.budget_left(w, Fault::Failover)
    }

    /// FindCoordinator, answered from cluster metadata: a consumer that lost its coordinator
    /// looks it up at once. (The answer may be stale by the time it is used, as in Kafka: the
    /// next failover can happen right after.)
    fn find_coordinators(&self, w: &mut World) {
        for c in 0..w.consumers.len() {
            if w.is_live(c) && w.consumers[c].needs_coordinator() {
                let leader = w.log.leader;
                let send = w.consumers[c].on_coordinator_found(leader, &self.core);
                self.send(w, c, send);
            }
        }
    }

    fn deliver(&self, w: &mut World, env: &Envelope) {
        match (&env.dst, &env.msg) {
            (Addr::Broker(b), Msg::Request(request)) => {
                let Addr::Client(from) = env.src else { return };
                let b = *b;
                let appended_before = w.log.uncommitted.len();
                // non_member_fenced: a zombie's request must be refused and leave all as it is.
                let fenced = from_non_member(&w.brokers[b.index()].group, request)
                    .then(|| w.brokers[b.index()].clone());
                let known = from_known_member(&w.brokers[b.index()], request);
                if known && matches!(request, Request::LeaveGroup { .. }) {
                    let pending = &w.brokers[b.index()].group.pending_members;
                    if request.member_id().is_some_and(|id| pending.contains(&id)) {
                        w.observed.set(Observed::PENDING_MEMBER_LEFT);
                    }
                }
                let (brokers, log) = (&mut w.brokers, &mut w.log);
                let replies = brokers[b.index()].handle(from, request, log, &self.core);
                // A coordinator writes only by appending a batch.
                let wrote = w.log.uncommitted.len() != appended_before;
                let answers = replies.iter().map(|r| &r.response);
                if fenced.is_some_and(|before| {
                    !unfenced(&before, &w.brokers[b.index()], wrote, answers).is_empty()
                }) {
                    w.observed.set(Observed::NON_MEMBER_CHANGED);
                }
                let fenced_member = |r: &Reply| r.to == from && told_unknown(request, &r.response);
                if known && replies.iter().any(fenced_member) {
                    w.observed.set(Observed::MEMBER_FENCED);
                }
                self.judge_appended_commits(w, b, appended_before);
                self.emit(w, b, replies);
            }
            (Addr::Broker(b), Msg::Control(control)) => {
                let b = *b;
                let replies = match *control {
                    Control::StartLeading { epoch } => {
                        w.brokers[b.index()].on_start_leading(epoch, &self.core)
                    }
                    Control::StopLeading { epoch } => {
                        w.brokers[b.index()].on_stop_leading(epoch, &self.core)
                    }
                };
                self.emit(w, b, replies);
            }
            (Addr::Client(addr), Msg::Response(response)) => {
                if let Some(c) = w.consumer_at(*addr) {
                    let owned = w.consumers[c].owned;
                    let send = w.consumers[c].on_response(response, &self.core);
                    if let Response::SyncGroup {
                        error: ErrorCode::None,
                        assignment,
                        ..
                    } = response
                    {
                        let synced = w.consumers[c].generation.is_some();
                        if synced && !owned.difference(*assignment).is_empty() {
                            w.observed.set(Observed::REVOKED_FOR_A_MOVE);
                        }
                    }
                    self.send(w, c, send);
                }
            }
            _ => {}
        }
    }

    fn replicate(&self, w: &mut World) {
        let batch = w.log.uncommitted[0].clone();
        // Judge each commit against the group metadata durable before it.
        for record in &batch {
            if let crate::protocol::Record::OffsetCommit {
                partition,
                committed_by,
                ..
            } = record
            {
                let legit = w.log.commit_is_legit(*partition, *committed_by);
                if !legit {
                    w.observed.set(Observed::ZOMBIE_COMMIT);
                }
            }
        }
        let before = w.log.durable_generation();
        w.log.replicate_one();
        let after = w.log.durable_generation();
        if after < before {
            w.observed.set(Observed::GENERATION_REGRESSED);
        }
        let b = w.log.leader;
        if w.brokers[b.index()].epoch == w.log.leader_epoch {
            let replies = w.brokers[b.index()].on_batch_durable();
            self.emit(w, b, replies);
        }
    }

    /// `no_zombie_commit` at the moment a coordinator accepts a commit: every offset record it
    /// appended passes [`commit_allowed`] against its current group. (The
    /// judgement when the record becomes durable, against the durable group, cannot see a
    /// member that was just removed in memory but is still in the durable metadata.)
    fn judge_appended_commits(&self, w: &mut World, b: BrokerId, appended_before: usize) {
        let group = &w.brokers[b.index()].group;
        let zombie = w
            .log
            .uncommitted
            .iter()
            .skip(appended_before)
            .flatten()
            .any(|r| match r {
                crate::protocol::Record::OffsetCommit {
                    partition,
                    committed_by,
                    ..
                } => !commit_allowed(
                    &group.assignments(),
                    group.generation,
                    *committed_by,
                    *partition,
                ),
                _ => false,
            });
        if zombie {
            w.observed.set(Observed::ZOMBIE_COMMIT);
        }
    }

    /// Sends a coordinator's replies, judging each success against the durable log first.
    fn emit(&self, w: &mut World, b: BrokerId, replies: Vec<Reply>) {
        // A deposed coordinator that has not heard of its demotion yet is judged as such.
        let current = w.brokers[b.index()].epoch == w.log.leader_epoch;
        for reply in replies {
            for fault in judge_reply(&w.log, &mut w.acked, &reply.response, current) {
                w.observed.set(match fault {
                    ReplyFault::FetchBelowAck { .. } => Observed::FETCH_BELOW_ACK,
                    _ => Observed::UNDURABLE_ACK,
                });
            }
            if w.consumer_at(reply.to).is_none() && !w.is_abandoned(reply.to) {
                continue; // the connection died with its process
            }
            push_envelope(
                &mut w.network,
                Envelope {
                    src: Addr::Broker(b),
                    dst: Addr::Client(reply.to),
                    msg: Msg::Response(reply.response),
                },
                &self.cfg,
            );
        }
    }

    fn send(&self, w: &mut World, c: usize, send: Option<Send>) {
        if let Some(Send { to, request }) = send {
            let src = Addr::Client(w.consumers[c].addr);
            push_envelope(
                &mut w.network,
                Envelope {
                    src,
                    dst: Addr::Broker(to),
                    msg: Msg::Request(request),
                },
                &self.cfg,
            );
        }
    }

    /// Sends the controller's message `msg` to `broker`.
    fn control(&self, w: &mut World, broker: BrokerId, msg: Msg) {
        let env = Envelope {
            src: Addr::Controller,
            dst: Addr::Broker(broker),
            msg,
        };
        push_envelope(&mut w.network, env, &self.cfg);
    }

    /// Whether an envelope can be delivered now (FIFO per connection on an ordered network).
    fn deliverable(&self, network: &[Envelope], i: usize) -> bool {
        !self.cfg.network.ordered || i == 0 || {
            let (a, b) = (&network[i - 1], &network[i]);
            (a.src, a.dst) != (b.src, b.dst)
        }
    }
}

/// See [`GroupModel::within_boundary`].
pub const MAX_GENERATION_SPAN: u32 = 4;

/// How many appended batches may wait for the high watermark before the coordinator stops
/// taking requests.
pub const MAX_UNREPLICATED: usize = 3;

/// Nothing of the protocol is moving: no message in flight, no write waiting for the high
/// watermark, no coordinator loading. (Requests parked at the coordinator may be waiting.)
fn protocol_idle(w: &World) -> bool {
    w.network.is_empty()
        && w.log.uncommitted.is_empty()
        && w.brokers.iter().all(|b| b.load != LoadState::Loading)
}

/// Whether `e` is a SyncGroup from the consumer at `addr`.
fn sync_group_from(e: &Envelope, addr: ClientAddr) -> bool {
    e.src == Addr::Client(addr) && matches!(e.msg, Msg::Request(Request::SyncGroup { .. }))
}

fn remove_envelope(network: &mut Vec<Envelope>, env: &Envelope) {
    if let Some(i) = network.iter().position(|e| e == env) {
        network.remove(i);
    }
}

/// Adds a message in canonical position: sorted, except that an ordered network keeps the
/// sending order within a connection.
fn push_envelope(network: &mut Vec<Envelope>, env: Envelope, cfg: &ModelConfig) {
    let at = if cfg.network.ordered {
        network.partition_point(|e| (e.src, e.dst) <= (env.src, env.dst))
    } else {
        network.partition_point(|e| *e <= env)
    };
    network.insert(at, env);
}

impl Model for GroupModel {
    type State = World;
    type Action = Action;

    fn init_states(&self) -> Vec<World> {
        let world = self.initial_world();
        vec![match self.cfg.start {
            Start::Empty => world,
            Start::Stable => self.settle(world),
        }]
    }

    fn actions(&self, w: &World, actions: &mut Vec<Action>) {
        self.enabled(w, actions);
        if let Some(graph) = &self.search_graph {
            graph.expanding(w, actions);
        }
    }

    fn next_state(&self, w: &World, action: Action) -> Option<World> {
        let succ = self.step(w, &action);
        if let Some(graph) = &self.search_graph {
            graph.stepped(self, w, &action, &succ);
        }
        Some(succ)
    }

    /// Messages, log records and members are never more than [`MAX_GENERATION_SPAN`]
    /// generations apart: a batch reaches the high watermark, and a message its receiver,
    /// before the group has moved on that far (a timing assumption; without it a group that
    /// rebalances forever would leave old batches behind without end).
    fn within_boundary(&self, w: &World) -> bool {
        self.cfg.recorded || w.generation_span() <= MAX_GENERATION_SPAN
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::for_model(&self.cfg)
    }
}

impl GroupModel {
    /// The steps enabled in `w`, in a fixed order (what `Model::actions` gives, without
    /// recording the search graph).
    pub fn enabled(&self, w: &World, actions: &mut Vec<Action>) {
        let cfg = &self.cfg;
        // Replication keeps up: while MAX_UNREPLICATED batches wait for the high watermark, the
        // coordinator takes no request (a timing assumption of the exploration, as the two
        // below; it keeps stale requests and unreplicated batches from piling up).
        let backlog = !cfg.recorded && w.log.uncommitted.len() >= MAX_UNREPLICATED;
        for (i, env) in w.network.iter().enumerate() {
            let held = backlog
                && matches!((&env.dst, &env.msg), (Addr::Broker(b), Msg::Request(_)) if *b == w.log.leader);
            if self.deliverable(&w.network, i) && !held {
                actions.push(Action::Deliver(env.clone()));
            }
            if env.client().is_some() && self.budget_left(w, Fault::LostMessage) {
                actions.push(Action::Lose(env.clone()));
            }
        }
        if !w.log.uncommitted.is_empty() {
            actions.push(Action::Replicate);
        }
        // The cleaner runs in the background; its work shows only to a loader, so it is
        // explored while the coordinator loads (where KAFKA-19862 lived), which also bounds it.
        if w.leader().load == LoadState::Loading && w.log.compactable() {
            actions.push(Action::Compact);
        }
        for b in &w.brokers {
            if b.load == LoadState::Loading && b.epoch == w.log.leader_epoch {
                actions.push(Action::FinishLoading(b.broker));
            }
        }
        let leader = w.leader();
        let expirable = (leader.group.pending_members.iter().copied())
            .chain(leader.group.members.iter().map(|m| m.id));
        let expiries_left = self.budget_left(w, Fault::SessionExpiry);
        for id in expirable.filter(|id| leader.can_expire(*id)) {
            // A live consumer's session expires only as a budgeted fault (a GC pause), unless
            // it waits in a join phase without heartbeats: then it is time passing. An orphan's
            // (its process is gone) expires for sure, but session timeouts are long next to
            // message delays, so only once the protocol is idle.
            let enabled = if w.parked_while_join_waits(id) {
                true
            } else if w.held_by_live_consumer(id) {
                expiries_left
            } else {
                cfg.recorded || protocol_idle(w)
            };
            if enabled {
                actions.push(Action::ExpireSession(id));
            }
        }
        // Orphans are removed by their own session expiry; the rebalance timeout matters when it
        // removes a live consumer that is slow to rejoin, which is a fault.
        if leader.can_time_out_join() {
            let removes_live = state::rebalance_timeout_removes_live(w);
            let ends_a_wait = !removes_live && (cfg.recorded || state::join_waits_for_hung(w));
            if (removes_live && expiries_left) || ends_a_wait {
                actions.push(Action::RebalanceTimeout);
            }
        }
        // The pending-sync timer: explored once every member that has not synced is hung (a
        // member merely slower than the others syncs within the timeout; an orphan's session
        // expires first).
        let all_hung = || leader.pending_sync().iter().all(|id| w.stalled_member(*id));
        if leader.can_time_out_sync(&self.core) && (cfg.recorded || all_hung()) {
            actions.push(Action::PendingSyncTimeout);
        }
        for (c, consumer) in w.consumers.iter().enumerate() {
            let id = ConsumerId::at(c);
            if !w.is_started(c) {
                actions.push(Action::Start(id));
                continue;
            }
            if consumer.is_closed() {
                if w.is_restarting(c) {
                    actions.push(Action::Restart(id));
                } else if cfg.recorded && self.budget_left(w, Fault::Crash) {
                    actions.push(Action::Crash(id));
                }
                continue;
            }
            for p in consumer.processable().iter() {
                if cfg.recorded || consumer.positions[p as usize] < Offset::from(cfg.max_offset) {
                    actions.push(Action::Consume(id, p));
                }
            }
            if consumer.wants_commit() {
                actions.push(Action::Commit(id));
            }
            if self.heartbeat_informative(w, consumer) {
                actions.push(Action::Heartbeat(id));
            }
            if w.awaits_in_vain(c) {
                actions.push(Action::TimeOut(id));
            }
            if consumer.in_flight.is_some()
                && self.budget_left(w, Fault::LateDelivery)
                && w.network.iter().any(|e| {
                    e.src == Addr::Client(consumer.addr) && matches!(e.msg, Msg::Request(_))
                })
            {
                actions.push(Action::Abandon(id));
            }
            if self.budget_left(w, Fault::Crash) {
                actions.push(Action::Crash(id));
            }
            // Any member's SyncGroup may stall. The leader's is KAFKA-12890's: the group
            // completes the rebalance forever. A follower's leaves the group Stable with a
            // member that never takes its assignment. The pending-sync timer removes either.
            let sync_on_its_way = w.network.iter().any(|e| sync_group_from(e, consumer.addr));
            if sync_on_its_way && self.budget_left(w, Fault::SyncStall) {
                actions.push(Action::StallSync(id));
            }
            if self.budget_left(w, self.leave_kind(consumer)) {
                actions.push(Action::Close(id));
            }
            if self.may_bounce(w, c) {
                actions.push(Action::Bounce(id));
            }
        }
        if self.budget_left(w, Fault::Failover) {
            for b in (0..cfg.brokers).map(BrokerId) {
                if b != w.log.leader {
                    actions.push(Action::Failover(b));
                }
            }
        }
    }

    /// A heartbeat answered NONE by a Stable group changes nothing anywhere, so only heartbeats
    /// whose answer would tell the consumer something are explored.
    fn heartbeat_informative(&self, w: &World, consumer: &Consumer) -> bool {
        consumer.heartbeat_due().is_some_and(|(b, heartbeat)| {
            w.brokers[b.index()].heartbeat_error(&heartbeat, &self.core) != ErrorCode::None
        })
    }

    /// Whether the system has settled: nothing but faults could happen next.
    pub fn is_quiescent(&self, w: &World) -> bool {
        let mut actions = Vec::new();
        self.enabled(w, &mut actions);
        actions.iter().all(|a| a.is_fault(w))
    }
}
