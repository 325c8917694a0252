//! The state of the modelled system and the steps that change it.

use super::Fault;
use crate::consumer::Consumer;
use crate::coordinator::{Coordinator, Member};
use crate::offsets_log::OffsetsLog;
use crate::protocol::{
    BrokerId, ClientAddr, ConsumerId, LeaderEpoch, MemberId, Offset, Partition, Request, Response,
};
use crate::protocol::{PerPartition, Small};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};

/// Who sends or receives a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Addr {
    /// The controller, which moves leadership of `__consumer_offsets`.
    Controller,
    Broker(BrokerId),
    Client(ClientAddr),
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Controller => f.write_str("controller"),
            Addr::Broker(b) => write!(f, "broker-{b}"),
            Addr::Client(c) => write!(f, "{c}"),
        }
    }
}

/// The controller's word to a broker (LeaderAndIsr, reduced to what a coordinator needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Control {
    /// You lead `__consumer_offsets` from this epoch on: load the group.
    StartLeading { epoch: LeaderEpoch },
    /// Leadership moved to this epoch's leader: unload.
    StopLeading { epoch: LeaderEpoch },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg {
    Request(Request),
    Response(Response),
    Control(Control),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Envelope {
    pub src: Addr,
    pub dst: Addr,
    pub msg: Msg,
}

impl Envelope {
    /// The consumer connection this message travels on, if it is client traffic.
    pub fn client(&self) -> Option<ClientAddr> {
        match (self.src, self.dst) {
            (Addr::Client(c), _) | (_, Addr::Client(c)) => Some(c),
            _ => None,
        }
    }
}

/// Faults used so far, counted against the model's budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Used {
    pub crashes: u8,
    pub session_expiries: u8,
    pub failovers: u8,
    pub lost_messages: u8,
    pub leaves: u8,
    pub late_joins: u8,
    #[serde(default)]
    pub late_deliveries: u8,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sync_stalls: u8,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leaves_mid_rebalance: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl Used {
    /// How many faults of kind `f` this execution has suffered.
    pub fn of(mut self, f: Fault) -> u8 {
        *self.slot(f)
    }

    /// One more fault of kind `f`.
    pub fn count(&mut self, f: Fault) {
        *self.slot(f) += 1;
    }

    fn slot(&mut self, f: Fault) -> &mut u8 {
        match f {
            Fault::Crash => &mut self.crashes,
            Fault::SessionExpiry => &mut self.session_expiries,
            Fault::Failover => &mut self.failovers,
            Fault::LostMessage => &mut self.lost_messages,
            Fault::Leave => &mut self.leaves,
            Fault::LeaveMidRebalance => &mut self.leaves_mid_rebalance,
            Fault::LateDelivery => &mut self.late_deliveries,
            Fault::SyncStall => &mut self.sync_stalls,
            Fault::LateJoin => &mut self.late_joins,
        }
    }

    /// The faults `max_total` counts.
    pub fn total(&self) -> u16 {
        Fault::totalled().map(|f| u16::from(self.of(f))).sum()
    }
}

/// Violations judged at the step where they happen (a response sent, a record made durable),
/// which no later state would show. Each bit, once set, stays set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Observed(pub u16);

impl Observed {
    /// A success response revealed a generation, assignment or offset that was not durable.
    pub const UNDURABLE_ACK: u16 = 1 << 0;
    /// An OffsetFetch answer served an offset below an acknowledged commit.
    pub const FETCH_BELOW_ACK: u16 = 1 << 1;
    /// An offset commit from a non-owner became durable.
    pub const ZOMBIE_COMMIT: u16 = 1 << 2;
    /// The durable generation went backwards.
    pub const GENERATION_REGRESSED: u16 = 1 << 3;
    /// Witness: a cooperative consumer processed a record while it rejoined.
    pub const PROCESSED_WHILE_REJOINING: u16 = 1 << 4;
    /// Witness: a cooperative consumer's new assignment took partitions from it, which it
    /// revokes before a follow-up rebalance hands them on.
    pub const REVOKED_FOR_A_MOVE: u16 = 1 << 5;
    /// A request from a member id the coordinator's group did not know changed the coordinator
    /// or wrote to the log, or a serving coordinator answered it with success.
    pub const NON_MEMBER_CHANGED: u16 = 1 << 6;
    /// A serving coordinator answered a member it knew (a pending one included)
    /// UNKNOWN_MEMBER_ID.
    pub const MEMBER_FENCED: u16 = 1 << 7;
    /// Witness: a serving coordinator took the LeaveGroup of a pending member (KIP-394), one
    /// that closed before its second JoinGroup was answered.
    pub const PENDING_MEMBER_LEFT: u16 = 1 << 8;

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    pub fn set(&mut self, bit: u16) {
        self.0 |= bit;
    }
}

/// The whole system: brokers, the offsets partition, consumers, the network, and bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct World {
    pub brokers: Small<Coordinator, 2>,
    pub log: OffsetsLog,
    pub consumers: Small<Consumer, 3>,
    /// Consumers that have started (late joiners start later). Bit per consumer.
    pub started: u8,
    /// Consumers being bounced by a rolling upgrade: closing, to start again with their next
    /// assignor list. Bit per consumer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restarting: u8,
    /// Messages in flight; kept sorted so that equal networks are equal states.
    pub network: Vec<Envelope>,
    pub used: Used,
    /// Highest offset acknowledged to a committer, per partition.
    pub acked: PerPartition<Offset>,
    pub observed: Observed,
    /// Its canonical view's fingerprint and generation span, computed once when first asked.
    #[serde(skip)]
    pub view: View,
}

/// What the checker asks of a state's canonical view ([`super::canonical::view`]): its
/// fingerprint and the span of its generations. Computed once per state, since the boundary
/// and the fingerprint are asked of every state generated. A copy starts empty (it is copied
/// to be changed), and it takes no part in comparing states.
#[derive(Debug, Default)]
pub struct View(std::sync::OnceLock<(u64, u32)>);

impl Clone for View {
    fn clone(&self) -> View {
        View::default()
    }
}

impl PartialEq for View {
    fn eq(&self, _: &View) -> bool {
        true
    }
}

impl Eq for View {}

/// A state's fingerprint is that of its canonical form ([`super::canonical`]): states that
/// differ only in the numbering of generations and member ids are one state to the checker.
/// (Equal states have equal canonical forms, so `Hash` agrees with `Eq`.)
impl Hash for World {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.fingerprint().hash(h);
    }
}

impl World {
    /// The state's fingerprint (a hash with fixed seeds: the same on every run), as the
    /// exploration uses it: equal for states equal up to renumbering.
    pub fn fingerprint(&self) -> u64 {
        self.view().0
    }

    /// How many generations lie between the oldest and the newest one in use.
    pub fn generation_span(&self) -> u32 {
        self.view().1
    }

    fn view(&self) -> (u64, u32) {
        *self.view.0.get_or_init(|| super::canonical::view(self))
    }

    /// Computes the canonical view now, on the state itself (no copy): for a state just made.
    pub fn cache_view(&mut self) {
        if self.view.0.get().is_none() {
            let view = super::canonical::view_in_place(self);
            let _ = self.view.0.set(view);
        }
    }

    /// Hashes every field but the cached view (of a state already made canonical).
    pub(super) fn hash_fields<H: Hasher>(&self, h: &mut H) {
        self.brokers.hash(h);
        self.log.hash(h);
        self.consumers.hash(h);
        self.started.hash(h);
        self.restarting.hash(h);
        self.network.hash(h);
        self.used.hash(h);
        self.acked.hash(h);
        self.observed.hash(h);
    }

    pub fn is_started(&self, c: usize) -> bool {
        self.started & (1 << c) != 0
    }

    /// A consumer a rolling upgrade bounced, to start again with its next assignor list.
    pub fn is_restarting(&self, c: usize) -> bool {
        self.restarting & (1 << c) != 0
    }

    /// A consumer that runs: started and not closed.
    pub fn is_live(&self, c: usize) -> bool {
        self.is_started(c) && !self.consumers[c].is_closed()
    }

    /// The consumer process behind a connection, if that process is still the one running.
    pub fn consumer_at(&self, addr: ClientAddr) -> Option<usize> {
        let c = addr.consumer.index();
        (c < self.consumers.len() && self.consumers[c].addr == addr && self.is_started(c))
            .then_some(c)
    }

    /// Whether `addr` is a connection its consumer process closed after giving up on a request
    /// (the process itself still runs): whatever arrives on it is never read.
    pub fn is_abandoned(&self, addr: ClientAddr) -> bool {
        let c = addr.consumer.index();
        c < self.consumers.len()
            && self.is_started(c)
            && self.consumers[c].addr.incarnation == addr.incarnation
            && self.consumers[c].addr.connection != addr.connection
    }

    /// Whether consumer `c` waits for an answer that can never come: its request is neither in
    /// the network nor parked at any broker, and no answer is on its way.
    pub fn awaits_in_vain(&self, c: usize) -> bool {
        let addr = Addr::Client(self.consumers[c].addr);
        self.is_live(c)
            && self.consumers[c].in_flight.is_some()
            && !self.network.iter().any(|e| e.src == addr || e.dst == addr)
            && !self
                .brokers
                .iter()
                .any(|b| b.parks_request_of(self.consumers[c].addr))
    }

    /// Whether a live consumer still uses this member id (if not, the member is an orphan
    /// whose session will expire on its own).
    pub fn held_by_live_consumer(&self, id: MemberId) -> bool {
        let holds = (0..self.consumers.len())
            .any(|c| self.is_live(c) && self.consumers[c].member_id == Some(id));
        // A JoinGroup answer on its way to a running consumer carries the id to it.
        let on_its_way = self.network.iter().any(|e| match (&e.dst, &e.msg) {
            (Addr::Client(to), Msg::Response(Response::JoinGroup { member_id, .. })) => {
                *member_id == Some(id) && self.consumer_at(*to).is_some_and(|c| self.is_live(c))
            }
            _ => false,
        });
        // So does a JoinGroup parked for a running consumer: a static member's first JoinGroup
        // is answered only when the join phase ends, and until then the consumer has no id.
        let parked = (self.brokers.iter()).any(|b| {
            b.group
                .member(id)
                .is_some_and(|m| self.joins_for_live_consumer(m))
        });
        holds || on_its_way || parked
    }

    /// Whether `m` has a JoinGroup parked for a running consumer.
    fn joins_for_live_consumer(&self, m: &Member) -> bool {
        (m.awaiting_join)
            .and_then(|to| self.consumer_at(to))
            .is_some_and(|c| self.is_live(c))
    }

    /// Whether the session timer of `id` may run out with its consumer alive and well: its
    /// JoinGroup is parked at the leader while the join phase waits for a member that has not
    /// rejoined. A consumer sends no heartbeats until it has joined (the Java client stops its
    /// heartbeat thread meanwhile), and a join phase may wait up to the rebalance timeout,
    /// longer than a session; only the coordinator's rule that a parked member has satisfied
    /// its heartbeat keeps it. A new member is left out: its timer is the new-member join
    /// timeout, as long as the rebalance timeout.
    pub fn parked_while_join_waits(&self, id: MemberId) -> bool {
        let parked = (self.leader().group.member(id))
            .is_some_and(|m| !m.is_new && self.joins_for_live_consumer(m));
        parked && left_out(self).next().is_some()
    }

    /// Whether the session expiry of `id` is a fault: its consumer still runs and heartbeats
    /// (a long pause stopped it), not one waiting in a join phase.
    pub fn expiry_is_fault(&self, id: MemberId) -> bool {
        self.held_by_live_consumer(id) && !self.parked_while_join_waits(id)
    }

    /// Whether `id` is the member of a consumer whose SyncGroup stalled.
    pub fn stalled_member(&self, id: MemberId) -> bool {
        let mut consumers = self.consumers.iter();
        consumers.any(|c| c.stalled && c.member_id == Some(id))
    }

    /// Messages in flight now that were not in flight in `before` (what one step sent).
    pub fn sent_since(&self, before: &World) -> Vec<&Envelope> {
        let mut old: Vec<&Envelope> = before.network.iter().collect();
        let mut sent = Vec::new();
        for e in &self.network {
            match old.iter().position(|o| *o == e) {
                Some(i) => {
                    old.remove(i);
                }
                None => sent.push(e),
            }
        }
        sent
    }

    pub fn leader(&self) -> &Coordinator {
        &self.brokers[self.log.leader.index()]
    }
}

/// One step of the system. Faults are marked; everything else is the protocol at work.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Action {
    /// A message arrives.
    Deliver(Envelope),
    /// Fault: a client message is lost, and the consumer's request times out.
    Lose(Envelope),
    /// The high watermark of `__consumer_offsets` passes the oldest uncommitted batch.
    Replicate,
    /// The log cleaner compacts the durable part of `__consumer_offsets` (the latest record
    /// per key). Background work: it may happen or not, at any point.
    Compact,
    /// A newly elected coordinator finishes replaying the log.
    FinishLoading(BrokerId),
    /// A consumer processes the next record of a partition and commits its positions
    /// (auto-commit folded into the poll loop).
    Consume(ConsumerId, Partition),
    /// The next auto-commit retries positions that a failed commit left uncommitted.
    Commit(ConsumerId),
    /// A consumer heartbeats (only explored when the answer would not be NONE).
    Heartbeat(ConsumerId),
    /// A member's session timer fires. A fault when a live consumer still uses the member.
    ExpireSession(MemberId),
    /// Fault: the join phase's rebalance timeout fires while a live consumer has not rejoined.
    RebalanceTimeout,
    /// A consumer's request times out because no answer can come any more: it was consumed and
    /// nothing parks it (a later JoinGroup of the same member, arriving late on a closed
    /// connection, took its place). Kafka's request timeout guarantees this step.
    TimeOut(ConsumerId),
    /// Fault: a consumer gives up on its request while the request is still in the network
    /// (it timed out). The client closes the connection and carries on; the request may still
    /// be delivered later, and its answer is never read.
    Abandon(ConsumerId),
    /// Fault: a consumer crashes and restarts with no memory.
    Crash(ConsumerId),
    /// Fault: a consumer closes (commit, LeaveGroup).
    Close(ConsumerId),
    /// A late consumer starts.
    Start(ConsumerId),
    /// Fault: leadership of `__consumer_offsets` moves to this broker.
    Failover(BrokerId),
    /// Fault: a consumer's SyncGroup, still in the network, never left: its assignor hangs.
    StallSync(ConsumerId),
    /// Fault (the operator's): a rolling upgrade bounces a consumer, which closes (commit,
    /// LeaveGroup) to start again with its next assignor list.
    Bounce(ConsumerId),
    /// A bounced consumer, closed, starts again with its next assignor list.
    Restart(ConsumerId),
    /// The pending-sync timer ends a completing rebalance without the members that have not
    /// sent their SyncGroup (explored when those are stalled or orphaned).
    PendingSyncTimeout,
}

impl Action {
    /// Steps the environment may or may not take; a state where only these remain is settled.
    pub fn is_fault(&self, world: &World) -> bool {
        match self {
            Action::Lose(_)
            | Action::Abandon(_)
            | Action::Crash(_)
            | Action::Close(_)
            | Action::Start(_)
            | Action::Failover(_)
            | Action::StallSync(_)
            | Action::Bounce(_) => true,
            Action::ExpireSession(id) => world.expiry_is_fault(*id),
            // A fault when it goes on without a live consumer that would rejoin; ending a wait
            // for a hung consumer's member is the timer doing its job.
            Action::RebalanceTimeout => rebalance_timeout_removes_live(world),
            _ => false,
        }
    }
}

/// Whether ending the join phase now would go on without a member a live consumer still uses
/// and would rejoin with (a hung one, whose SyncGroup stalled, never will).
pub fn rebalance_timeout_removes_live(world: &World) -> bool {
    left_out(world).any(|id| world.held_by_live_consumer(id) && !world.stalled_member(id))
}

/// Whether the join phase waits for a member of a hung consumer (whose SyncGroup stalled): its
/// heartbeats keep its session, so only the rebalance timeout ends the phase without it.
pub fn join_waits_for_hung(world: &World) -> bool {
    left_out(world).any(|id| world.stalled_member(id))
}

/// The members that have not rejoined in the current join phase.
pub fn left_out(world: &World) -> impl Iterator<Item = MemberId> + '_ {
    let g = &world.leader().group;
    let missing = g.members.iter().filter(|m| m.awaiting_join.is_none());
    missing.map(|m| m.id)
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Request(r) => write!(f, "{r}"),
            Msg::Response(r) => write!(f, "{r}"),
            Msg::Control(Control::StartLeading { epoch }) => {
                write!(f, "StartLeading(epoch={epoch})")
            }
            Msg::Control(Control::StopLeading { epoch }) => write!(f, "StopLeading(epoch={epoch})"),
        }
    }
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}: {}", self.src, self.dst, self.msg)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Deliver(e) => write!(f, "deliver {e}"),
            Action::Lose(e) => write!(f, "LOSE {e} (the request times out)"),
            Action::Replicate => write!(
                f,
                "__consumer_offsets: high watermark passes the oldest batch"
            ),
            Action::Compact => write!(f, "__consumer_offsets: the cleaner compacts the log"),
            Action::FinishLoading(b) => write!(f, "broker-{b} finishes loading the group"),
            Action::Consume(c, p) => {
                write!(f, "consumer-{c} processes a record of p{p} and commits")
            }
            Action::Commit(c) => write!(f, "consumer-{c} retries its commit"),
            Action::Heartbeat(c) => write!(f, "consumer-{c} heartbeats"),
            Action::ExpireSession(m) => write!(f, "session of {m} expires"),
            Action::RebalanceTimeout => write!(f, "rebalance timeout ends the join phase"),
            Action::TimeOut(c) => {
                write!(f, "consumer-{c}'s request times out (no answer will come)")
            }
            Action::Abandon(c) => write!(
                f,
                "TIMEOUT consumer-{c} gives up on its request (still in the network) and reconnects"
            ),
            Action::Crash(c) => write!(f, "CRASH consumer-{c} (restarts empty)"),
            Action::Close(c) => write!(f, "consumer-{c} closes"),
            Action::Start(c) => write!(f, "consumer-{c} starts"),
            Action::Bounce(c) => write!(f, "consumer-{c} is bounced"),
            Action::Restart(c) => write!(f, "consumer-{c} restarts"),
            Action::StallSync(c) => write!(f, "STALL consumer-{c}'s SyncGroup never goes out"),
            Action::PendingSyncTimeout => {
                write!(
                    f,
                    "pending-sync timeout removes the members that did not sync"
                )
            }
            Action::Failover(b) => write!(
                f,
                "FAILOVER: broker-{b} becomes leader of __consumer_offsets"
            ),
        }
    }
}
