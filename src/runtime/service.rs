//! The group coordinator service: the sans-IO core behind locks, as a broker would embed it.
//!
//! Kafka serialises every operation on one `__consumer_offsets` partition on one event thread;
//! here each broker's coordinator has its own lock and the partition (the log) another, so the
//! races Kafka's design avoids are real races, and loom explores them:
//!
//! - **Requests** lock the broker, let the core handle the request (appending to the log, which
//!   locks the log inside: the lock order is always broker → log), and post the replies.
//! - **Replication** advances the high watermark under the log lock, releases it, then tells the
//!   coordinator of that leader epoch that its oldest batch is durable. Only then can a write be
//!   answered: the response to a write is deferred until durable.
//! - **Failover** elects a new leader under the log lock (truncating what is not durable, so the
//!   old leader's appends are refused from then on), then makes the new broker load and the old
//!   one unload; unloading fails every parked request and pending write with NOT_COORDINATOR.
//! - **Timers** (session expiry, rebalance timeout) lock the leading broker and call the core.
//!
//! Replies go to per-client mailboxes; a client blocks on a condition variable until its answer
//! arrives (JoinGroup and SyncGroup are parked until their phase completes, as in Kafka).

use super::sync::{lock, Condvar, Mutex};
use crate::coordinator::{Coordinator, CoreConfig, LoadState};
use crate::offsets_log::{AppendError, LogAppender, OffsetsLog};
use crate::protocol::{
    BrokerId, ClientAddr, LeaderEpoch, MemberId, Partition, Record, Reply, Request, Response,
};
use serde::{Deserialize, Serialize};

/// What happened inside the service, in the order it happened: each event is recorded inside
/// the critical section that caused it, so the history is a linearisation of the run, and
/// re-executing it on fresh coordinators and a fresh log gives the same answers
/// (`trace::served`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A broker (holding `epoch`) handled a request and answered with these replies.
    Handled {
        broker: BrokerId,
        epoch: LeaderEpoch,
        from: ClientAddr,
        /// The consumer's step that made it send the request, when it was a step of its own
        /// (a poll, a commit, a heartbeat, a close) rather than a follow-up of an answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<ClientStep>,
        request: Request,
        replies: Vec<Reply>,
    },
    /// A coordinator (believing it holds `epoch`) appended a batch to the log, inside a
    /// request or a timer of `broker` (whose `Handled` or `Timer` follows); `accepted` is false
    /// when the log refused it (the epoch is no longer the leader's).
    Appended {
        broker: BrokerId,
        epoch: LeaderEpoch,
        batch: Vec<Record>,
        accepted: bool,
    },
    /// The high watermark passed the oldest batch: it is durable.
    Replicated { batch: Vec<Record> },
    /// The coordinator (holding `epoch`) completed what waited for its oldest batch.
    Completed {
        broker: BrokerId,
        epoch: LeaderEpoch,
        replies: Vec<Reply>,
    },
    /// Leadership of `__consumer_offsets` moved; the log truncated what was not durable.
    Elected {
        broker: BrokerId,
        epoch: LeaderEpoch,
    },
    /// A broker started loading (after failing what it had parked, if anything).
    Loading {
        broker: BrokerId,
        epoch: LeaderEpoch,
        replies: Vec<Reply>,
    },
    /// A broker learnt that `epoch` has another leader, and unloaded.
    Unloaded {
        broker: BrokerId,
        epoch: LeaderEpoch,
        replies: Vec<Reply>,
    },
    /// A broker finished loading the group from the first `durable` records of the log.
    Loaded {
        broker: BrokerId,
        epoch: LeaderEpoch,
        durable: usize,
    },
    /// A timer fired at the leader.
    Timer {
        broker: BrokerId,
        epoch: LeaderEpoch,
        timer: Timer,
        replies: Vec<Reply>,
    },
    /// Something happened inside a consumer process (recorded by [`crate::runtime::client::Client`]), so
    /// that a run can be written as a model execution.
    Client { addr: ClientAddr, step: ClientStep },
}

/// The coordinator's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// A member was not heard from within its session timeout.
    ExpireSession(MemberId),
    /// The join phase lasted its rebalance timeout.
    RebalanceTimeout,
    /// A completing rebalance lasted the rebalance timeout with members still to sync.
    PendingSyncTimeout,
}

impl std::fmt::Display for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Timer::ExpireSession(id) => write!(f, "session of {id} expires"),
            Timer::RebalanceTimeout => f.write_str("rebalance timeout ends the join phase"),
            Timer::PendingSyncTimeout => {
                f.write_str("pending-sync timeout removes the members that did not sync")
            }
        }
    }
}

/// What a consumer process did, as the model's consumer steps name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientStep {
    /// The process started (its first coordinator lookup).
    Started,
    /// The process restarted with no memory (after a crash, or after it closed).
    Restarted,
    /// It took an answer from its mailbox and handed it to the state machine.
    Received(Response),
    /// Its request got no answer in time.
    TimedOut,
    /// The application processed a record of the partition, then auto-commit sent a commit.
    Polled(Partition),
    /// It retried a commit of positions already processed.
    Committed,
    /// It heartbeated.
    Heartbeat,
    /// It began to close (commit, LeaveGroup).
    Closed,
    /// Its poll timer expired while a rebalance timeout left its static member out: it gave
    /// the membership up, to rejoin (the model's rebalance-timeout step did the same).
    PollTimedOut,
}

impl Event {
    /// The replies this event sent, with the epoch of the coordinator that sent them.
    pub fn replies(&self) -> Option<(LeaderEpoch, &[Reply])> {
        match self {
            Event::Handled { epoch, replies, .. }
            | Event::Completed { epoch, replies, .. }
            | Event::Loading { epoch, replies, .. }
            | Event::Timer { epoch, replies, .. } => Some((*epoch, replies)),
            Event::Unloaded { replies, .. } => Some((LeaderEpoch(u32::MAX), replies)),
            _ => None,
        }
    }
}

pub struct GroupService {
    cfg: CoreConfig,
    brokers: Vec<Mutex<Coordinator>>,
    log: Mutex<OffsetsLog>,
    mailboxes: Mutex<Vec<Reply>>,
    arrived: Condvar,
    /// Every event, when recording is on.
    events: Option<Mutex<Vec<Event>>>,
    /// Static members a rebalance timeout left out, whose clients must give them up
    /// ([`crate::coordinator::Coordinator::static_members_left_out`]).
    poll_timed_out: Mutex<Vec<MemberId>>,
    /// When each member was last heard from (for the session timer; loom has no clock).
    #[cfg(not(loom))]
    heard: Mutex<std::collections::HashMap<MemberId, std::time::Instant>>,
}

/// The log as broker `broker` sees it during one request or timer: each append takes the log
/// lock, and is recorded inside it.
struct LockedLog<'a> {
    service: &'a GroupService,
    broker: BrokerId,
}

impl LogAppender for LockedLog<'_> {
    fn append(&mut self, leader_epoch: LeaderEpoch, batch: Vec<Record>) -> Result<(), AppendError> {
        let mut log = lock(&self.service.log);
        let recorded = self.service.events.is_some().then(|| batch.clone());
        let outcome = log.append(leader_epoch, batch);
        if let Some(batch) = recorded {
            self.service.record(|| Event::Appended {
                broker: self.broker,
                epoch: leader_epoch,
                batch,
                accepted: outcome.is_ok(),
            });
        }
        outcome
    }
}

impl GroupService {
    /// `brokers` brokers; broker 0 leads `__consumer_offsets` (epoch 0) with an empty group.
    pub fn new(cfg: CoreConfig, brokers: u8, record: bool) -> GroupService {
        let brokers = (0..brokers.max(1))
            .map(|b| {
                Mutex::new(if b == 0 {
                    Coordinator::active(BrokerId(0), LeaderEpoch(0), &cfg)
                } else {
                    Coordinator::idle(BrokerId(b), &cfg)
                })
            })
            .collect();
        GroupService {
            cfg,
            brokers,
            log: Mutex::new(OffsetsLog::new(BrokerId(0))),
            mailboxes: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            events: record.then(|| Mutex::new(Vec::new())),
            poll_timed_out: Mutex::new(Vec::new()),
            #[cfg(not(loom))]
            heard: Default::default(),
        }
    }

    /// A service starting from given coordinators and log (to follow a model's execution from
    /// its initial state).
    pub fn from_parts(
        cfg: CoreConfig,
        brokers: Vec<Coordinator>,
        log: OffsetsLog,
        record: bool,
    ) -> GroupService {
        GroupService {
            cfg,
            brokers: brokers.into_iter().map(Mutex::new).collect(),
            log: Mutex::new(log),
            mailboxes: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            events: record.then(|| Mutex::new(Vec::new())),
            poll_timed_out: Mutex::new(Vec::new()),
            #[cfg(not(loom))]
            heard: Default::default(),
        }
    }

    /// A copy of the service as it is between requests: its coordinators, log, mailboxes and
    /// sessions (the probe tries orders of racing requests on copies of its core).
    pub fn copy(&self) -> GroupService {
        let (brokers, log) = self.snapshot();
        let mut copy = GroupService::from_parts(self.cfg, brokers, log, false);
        copy.events = (self.events.as_ref()).map(|e| Mutex::new(lock(e).clone()));
        copy.mailboxes = Mutex::new(lock(&self.mailboxes).clone());
        copy.poll_timed_out = Mutex::new(lock(&self.poll_timed_out).clone());
        #[cfg(not(loom))]
        {
            copy.heard = Mutex::new(lock(&self.heard).clone());
        }
        copy
    }

    /// Whether `other` holds what this service holds (coordinators, log, mailboxes).
    pub fn same_as(&self, other: &GroupService) -> bool {
        self.snapshot() == other.snapshot()
            && *lock(&self.mailboxes) == *lock(&other.mailboxes)
            && *lock(&self.poll_timed_out) == *lock(&other.poll_timed_out)
    }

    /// Every answer waiting in any mailbox, taken out.
    pub fn drain(&self) -> Vec<Reply> {
        std::mem::take(&mut *lock(&self.mailboxes))
    }

    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    pub fn brokers(&self) -> usize {
        self.brokers.len()
    }

    fn record(&self, event: impl FnOnce() -> Event) {
        if let Some(events) = &self.events {
            lock(events).push(event());
        }
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .as_ref()
            .map(|e| lock(e).clone())
            .unwrap_or_default()
    }

    fn post(&self, replies: Vec<Reply>) {
        if replies.is_empty() {
            return;
        }
        // Kafka restarts a member's session when it answers its JoinGroup or SyncGroup
        // (`completeAndScheduleNextHeartbeatExpiration`, `rescheduleClassicGroupMemberHeartbeat`):
        // a member whose request was parked has its whole session again from the answer.
        #[cfg(not(loom))]
        for reply in &replies {
            if let Response::JoinGroup {
                member_id: Some(id),
                ..
            }
            | Response::SyncGroup { member_id: id, .. } = &reply.response
            {
                self.heard_from(*id, std::time::Instant::now());
            }
        }
        lock(&self.mailboxes).extend(replies);
        self.arrived.notify_all();
    }

    /// When `id` was last heard from (a request carrying its member id), if ever.
    #[cfg(not(loom))]
    pub fn last_heard(&self, id: MemberId) -> Option<std::time::Instant> {
        lock(&self.heard).get(&id).copied()
    }

    /// Notes that `id` was heard from at `at`.
    #[cfg(not(loom))]
    pub fn heard_from(&self, id: MemberId, at: std::time::Instant) {
        lock(&self.heard).insert(id, at);
    }

    /// FindCoordinator, from cluster metadata: the current leader of `__consumer_offsets`.
    pub fn find_coordinator(&self) -> BrokerId {
        lock(&self.log).leader
    }

    /// Records a consumer's step that sent nothing.
    pub fn note(&self, addr: ClientAddr, step: ClientStep) {
        self.record(|| Event::Client { addr, step });
    }

    /// Records a consumer's step and looks up the coordinator at the same instant (the model
    /// finds the coordinator within the step that made the consumer lose it).
    pub fn find_coordinator_noting(&self, addr: ClientAddr, step: ClientStep) -> BrokerId {
        let log = lock(&self.log);
        self.record(|| Event::Client { addr, step });
        log.leader
    }

    /// A request arrives at broker `to` on connection `from`. The answer (now, or when its
    /// phase completes or its write is durable) goes to `from`'s mailbox.
    pub fn send(&self, to: BrokerId, from: ClientAddr, request: &Request) {
        self.send_noting(to, from, request, None)
    }

    /// [`GroupService::send`], recording with it what made the consumer send (a recorded run
    /// then shows the consumer's step at the instant the broker handles its request).
    pub fn send_noting(
        &self,
        to: BrokerId,
        from: ClientAddr,
        request: &Request,
        step: Option<ClientStep>,
    ) {
        #[cfg(not(loom))]
        if let Some(id) = Coordinator::session_refreshed_by(request) {
            self.heard_from(id, std::time::Instant::now());
        }
        let replies = {
            let mut broker = lock(&self.brokers[to.index()]);
            let mut log = LockedLog {
                service: self,
                broker: to,
            };
            let replies = broker.handle(from, request, &mut log, &self.cfg);
            self.record(|| Event::Handled {
                broker: to,
                epoch: broker.epoch,
                from,
                step,
                request: request.clone(),
                replies: replies.clone(),
            });
            replies
        };
        self.post(replies);
    }

    /// The answer waiting for `me`, if any.
    pub fn try_receive(&self, me: ClientAddr) -> Option<Response> {
        let mut boxes = lock(&self.mailboxes);
        let at = boxes.iter().position(|r| r.to == me)?;
        Some(boxes.remove(at).response)
    }

    /// Blocks until an answer for `me` arrives.
    pub fn receive(&self, me: ClientAddr) -> Response {
        let mut boxes = lock(&self.mailboxes);
        loop {
            if let Some(at) = boxes.iter().position(|r| r.to == me) {
                return boxes.remove(at).response;
            }
            boxes = self.arrived.wait(boxes).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks until an answer for `me` arrives or `timeout` passes (not under loom, which has
    /// no clock).
    #[cfg(not(loom))]
    pub fn receive_timeout(
        &self,
        me: ClientAddr,
        timeout: std::time::Duration,
    ) -> Option<Response> {
        let deadline = std::time::Instant::now() + timeout;
        let mut boxes = lock(&self.mailboxes);
        loop {
            if let Some(at) = boxes.iter().position(|r| r.to == me) {
                return Some(boxes.remove(at).response);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return None;
            }
            boxes = self
                .arrived
                .wait_timeout(boxes, deadline - now)
                .map(|(b, _)| b)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Drops the answers of a connection that died (a crashed consumer).
    pub fn disconnect(&self, me: ClientAddr) {
        lock(&self.mailboxes).retain(|r| r.to != me);
    }

    /// The log cleaner compacts the durable part of the log. (Live runs never call it: a run is
    /// short, and loading reads the uncompacted log just as well.)
    pub fn compact(&self) {
        lock(&self.log).compact();
    }

    /// The high watermark passes the oldest uncommitted batch; the coordinator of that leader
    /// epoch completes what waited for it. Returns false if nothing was waiting to replicate.
    pub fn replicate(&self) -> bool {
        let (leader, epoch) = {
            let mut log = lock(&self.log);
            let Some(batch) = log.uncommitted.first().cloned() else {
                return false;
            };
            log.replicate_one();
            self.record(|| Event::Replicated {
                batch: batch.clone(),
            });
            (log.leader, log.leader_epoch)
        };
        // The batch is durable before anyone hears of it. A coordinator of another epoch (the
        // leader moved meanwhile, and unloading already failed its pending writes) has nothing
        // to complete.
        let replies = {
            let mut broker = lock(&self.brokers[leader.index()]);
            let replies = if broker.epoch == epoch && broker.load == LoadState::Active {
                broker.on_batch_durable()
            } else {
                Vec::new()
            };
            self.record(|| Event::Completed {
                broker: leader,
                epoch: broker.epoch,
                replies: replies.clone(),
            });
            replies
        };
        self.post(replies);
        true
    }

    /// Leadership of `__consumer_offsets` moves to `to`, which starts loading. Returns the old
    /// leader and the new epoch; the old leader keeps serving from memory until
    /// [`GroupService::stop_leading`] reaches it, but its appends are refused from now on.
    pub fn elect(&self, to: BrokerId) -> (BrokerId, LeaderEpoch) {
        let (from, epoch) = self.elect_in_log(to);
        self.start_leading(to, epoch);
        (from, epoch)
    }

    /// Leadership of `__consumer_offsets` moves to `to` in the log only: `to` learns of it when
    /// [`GroupService::start_leading`] reaches it (a StartLeading that travels, in the model).
    pub fn elect_in_log(&self, to: BrokerId) -> (BrokerId, LeaderEpoch) {
        let mut log = lock(&self.log);
        let from = log.leader;
        log.elect(to);
        self.record(|| Event::Elected {
            broker: to,
            epoch: log.leader_epoch,
        });
        (from, log.leader_epoch)
    }

    /// The controller tells `to` that it leads epoch `epoch`: it starts loading, unless the
    /// message is stale.
    pub fn start_leading(&self, to: BrokerId, epoch: LeaderEpoch) {
        let replies = {
            let mut broker = lock(&self.brokers[to.index()]);
            let replies = broker.on_start_leading(epoch, &self.cfg);
            self.record(|| Event::Loading {
                broker: to,
                epoch,
                replies: replies.clone(),
            });
            replies
        };
        self.post(replies);
    }

    /// The controller tells `broker` that epoch `epoch` has another leader: it unloads, failing
    /// everything parked or pending with NOT_COORDINATOR.
    pub fn stop_leading(&self, broker: BrokerId, epoch: LeaderEpoch) {
        let replies = {
            let mut b = lock(&self.brokers[broker.index()]);
            let replies = b.on_stop_leading(epoch, &self.cfg);
            self.record(|| Event::Unloaded {
                broker,
                epoch,
                replies: replies.clone(),
            });
            replies
        };
        self.post(replies);
    }

    /// A failover: elect `to`, then unload the old leader.
    pub fn failover(&self, to: BrokerId) {
        let (from, epoch) = self.elect(to);
        if from != to {
            self.stop_leading(from, epoch);
        }
    }

    /// `broker` finishes replaying the durable log (if it is still the leader it was elected as).
    pub fn finish_loading(&self, broker: BrokerId) -> bool {
        let (durable, epoch) = {
            let log = lock(&self.log);
            (log.durable.clone(), log.leader_epoch)
        };
        let mut b = lock(&self.brokers[broker.index()]);
        if b.load != LoadState::Loading || b.epoch != epoch {
            return false;
        }
        b.finish_loading(&durable, &self.cfg);
        self.record(|| Event::Loaded {
            broker,
            epoch,
            durable: durable.len(),
        });
        true
    }

    fn at_leader(
        &self,
        timer: Timer,
        f: impl FnOnce(&mut Coordinator, &mut LockedLog) -> Vec<Reply>,
    ) {
        let leader = lock(&self.log).leader;
        let replies = {
            let mut broker = lock(&self.brokers[leader.index()]);
            let mut log = LockedLog {
                service: self,
                broker: leader,
            };
            let replies = f(&mut broker, &mut log);
            self.record(|| Event::Timer {
                broker: leader,
                epoch: broker.epoch,
                timer,
                replies: replies.clone(),
            });
            replies
        };
        self.post(replies);
    }

    /// The session timer of `id` fires at the leader (the core ignores it if the member has
    /// satisfied its heartbeat, e.g. while its JoinGroup is parked).
    pub fn expire_session(&self, id: MemberId) {
        let cfg = &self.cfg;
        self.at_leader(Timer::ExpireSession(id), |b, log| {
            b.expire_session(id, log, cfg)
        });
    }

    /// The rebalance timeout of the join phase fires at the leader.
    pub fn rebalance_timeout(&self) {
        let cfg = &self.cfg;
        self.at_leader(Timer::RebalanceTimeout, |b, log| {
            lock(&self.poll_timed_out).extend(b.static_members_left_out());
            b.rebalance_timeout(log, cfg)
        });
    }

    /// Whether `id` is a static member a rebalance timeout left out: its client's own poll
    /// timer (the same timeout, started earlier) has expired. Asked once: the answer is taken.
    pub fn take_poll_timeout(&self, id: MemberId) -> bool {
        let mut left_out = lock(&self.poll_timed_out);
        let found = left_out.iter().position(|m| *m == id);
        found.map(|at| left_out.remove(at)).is_some()
    }

    /// The pending-sync timer fires at the leader.
    pub fn pending_sync_timeout(&self) {
        let cfg = &self.cfg;
        self.at_leader(Timer::PendingSyncTimeout, |b, log| {
            b.pending_sync_timeout(log, cfg)
        });
    }

    /// A copy of every broker's coordinator and of the log, taken at one instant: every broker
    /// lock (in broker order), then the log lock, are held together.
    pub fn snapshot(&self) -> (Vec<Coordinator>, OffsetsLog) {
        let guards: Vec<_> = self.brokers.iter().map(lock).collect();
        let log = lock(&self.log).clone();
        (guards.iter().map(|g| (**g).clone()).collect(), log)
    }
}
