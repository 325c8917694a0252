//! The consumer client: Kafka's classic `ConsumerCoordinator`.
//!
//! One request in flight at a time. The life of a consumer: find the coordinator, JoinGroup
//! (twice: the first answer is MEMBER_ID_REQUIRED with the id to use), SyncGroup (the leader sends
//! the assignment it computed), OffsetFetch for the new partitions, then process records,
//! commit positions and heartbeat. When the group rebalances, an eager consumer first commits
//! and gives up *every* partition, then rejoins. Errors are handled as the Java client does:
//! NOT_COORDINATOR rediscovers, UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION lose the partitions
//! (no commit) and rejoin, REBALANCE_IN_PROGRESS revokes and rejoins, COORDINATOR_LOAD_IN_PROGRESS
//! retries.
//!
//! Its JoinGroup offers its assignors (`partition.assignment.strategy`) in order of preference;
//! the coordinator selects one every member supports, and the leader runs that one. A consumer
//! whose assignors all support it (only cooperative-sticky does) rebalances cooperatively
//! (KIP-429); any other list is eager, which is how a rolling upgrade from eager to cooperative
//! runs its first step (`[cooperative-sticky, range]`: eager, but voting for cooperative-sticky).
//!
//! A cooperative consumer keeps its partitions, and processes them, while it rejoins; on its new
//! assignment it gives up only what it lost, committing those first, and then rejoins at once
//! so that a follow-up rebalance can hand them on. Its JoinGroup claims what it owns and the
//! generation it got it in (`ownedPartitions`, `generationId`). Before any JoinGroup, a consumer
//! of either protocol in a Stable generation commits what it processed (`onJoinPrepare`).
//!
//! A static member (KIP-345, `group.instance.id`) sends its instance id with every request,
//! joins without KIP-394's round trip, and on close commits but sends no LeaveGroup: its
//! session timeout decides, so a restart within it gets the same partitions back without a
//! rebalance. FENCED_INSTANCE_ID (another process has taken its instance id) is fatal.
//!
//! Which generation its commits carry is the client's choice ([`CommitGeneration`]). The Java
//! client commits only in a Stable generation. librdkafka takes its generation from the
//! JoinGroup answer, and its application may commit at any time, so a cooperative consumer's
//! commit can go out between that answer and its SyncGroup, carrying a generation whose
//! assignment nobody has yet: Kafka's coordinator refuses it while it completes that
//! generation (REBALANCE_IN_PROGRESS, since KAFKA-8487), and the SyncGroup follows.

use crate::assignor::{RebalanceProtocol, Subscription};
use crate::coordinator::CoreConfig;
use crate::flaw::Flaw;
use crate::protocol::PerPartition;
use crate::protocol::{
    Assignor, Assignors, BrokerId, ClientAddr, ErrorCode, Generation, InstanceId, MemberId, Offset,
    OwnedClaim, Partition, Partitions, Request, Response,
};
use serde::{Deserialize, Serialize};

/// Where the consumer is in the group's life (AbstractCoordinator.MemberState, refined).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// Not in a generation; will send JoinGroup.
    Unjoined,
    /// A rebalance was requested: committing before giving up the partitions (onJoinPrepare).
    Revoking,
    /// JoinGroup sent (PREPARING_REBALANCE).
    Joining,
    /// SyncGroup sent (COMPLETING_REBALANCE).
    Syncing,
    /// Has its assignment (STABLE).
    Stable,
    /// Closing: commit, then LeaveGroup.
    Leaving,
    /// Closed.
    Closed,
}

/// The request in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InFlight {
    Join,
    Sync,
    Heartbeat,
    Commit,
    Fetch,
    Leave,
}

/// Which generation the consumer's commits carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitGeneration {
    /// The Java client's: only a Stable generation (`generationIfStable`); it does not commit
    /// while it rejoins, except onJoinPrepare's commit before its JoinGroup.
    #[default]
    Stable,
    /// librdkafka's: the generation of its last JoinGroup answer. A cooperative consumer that
    /// processed records while it rejoined commits them with it before its SyncGroup goes out
    /// (librdkafka issue 4059: commits during a cooperative rebalance).
    Joined,
}

/// Whether the Java client's handler of this answer names its error (`AbstractCoordinator`'s
/// and `ConsumerCoordinator`'s response handlers). Any other error is "Unexpected error in …":
/// a `KafkaException` the application gets from `poll()` (JoinGroup, SyncGroup, the offset
/// lookup) or from a commit, although nothing in the protocol went wrong; in a Heartbeat's
/// answer, a failed heartbeat the heartbeat thread retries. That is why a loading coordinator
/// answers a Heartbeat NONE and a SyncGroup REBALANCE_IN_PROGRESS, never
/// COORDINATOR_LOAD_IN_PROGRESS: neither handler knows that code. (This model's consumer goes
/// on as an application would that catches the exception and polls again, and lets a failed
/// heartbeat be.)
pub fn handles(response: &Response) -> bool {
    use ErrorCode::*;
    let error = response.error();
    match response {
        // A lookup's failure is retried if retriable, thrown if not.
        Response::FindCoordinator { .. } | Response::OffsetFetch { .. } => {
            error == None || error.retriable()
        }
        Response::JoinGroup { .. } => matches!(
            error,
            None | CoordinatorLoadInProgress
                | UnknownMemberId
                | CoordinatorNotAvailable
                | NotCoordinator
                | FencedInstanceId
                | InconsistentGroupProtocol
                | MemberIdRequired
                | RebalanceInProgress
        ),
        Response::SyncGroup { .. } | Response::Heartbeat { .. } => matches!(
            error,
            None | RebalanceInProgress
                | FencedInstanceId
                | UnknownMemberId
                | IllegalGeneration
                | CoordinatorNotAvailable
                | NotCoordinator
        ),
        Response::OffsetCommit { .. } => matches!(
            error,
            None | CoordinatorLoadInProgress
                | UnknownTopicOrPartition
                | CoordinatorNotAvailable
                | NotCoordinator
                | FencedInstanceId
                | RebalanceInProgress
                | UnknownMemberId
                | IllegalGeneration
        ),
        // Closing: whatever the answer, the consumer is gone.
        Response::LeaveGroup { .. } => true,
    }
}

impl CommitGeneration {
    pub fn is_stable(&self) -> bool {
        *self == CommitGeneration::Stable
    }
}

/// A request to send to a broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Send {
    pub to: BrokerId,
    pub request: Request,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Consumer {
    pub addr: ClientAddr,
    pub phase: Phase,
    pub coordinator: Option<BrokerId>,
    pub member_id: Option<MemberId>,
    pub generation: Option<Generation>,
    /// Partitions this consumer processes.
    pub owned: Partitions,
    /// Owned partitions whose committed offset has not been fetched yet.
    pub unfetched: Partitions,
    /// Next offset to process, per partition (0 for partitions not owned).
    pub positions: PerPartition<Offset>,
    /// The last offset known committed, per partition (0 for partitions not owned).
    pub committed: PerPartition<Offset>,
    pub in_flight: Option<InFlight>,
    /// `partition.assignment.strategy`: its assignors in order of preference.
    pub assignors: Assignors,
    /// Its assignment when it last synced, with that generation: what its next JoinGroup
    /// claims, for an assignor that uses claims (the StickyAssignor's user data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_assignment: Option<OwnedClaim>,
    /// Its `group.instance.id`, if it is a static member; kept across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceId>,
    /// Cooperative: owned partitions its new assignment left out, to commit and give up before
    /// it rejoins (the eager protocol gives up everything it owns).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub revoking: Partitions,
    /// Its SyncGroup never went out: its assignor hangs (its heartbeat thread goes on).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stalled: bool,
    /// Which generation its commits carry.
    #[serde(default, skip_serializing_if = "CommitGeneration::is_stable")]
    pub commit_generation: CommitGeneration,
    /// Its SyncGroup, held back while the commit it sent first (with the joined generation)
    /// is answered. Only ever held in Syncing: sent by `drive`, or dropped where the consumer
    /// leaves Syncing otherwise (closing, fenced, shut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_sync: Option<Request>,
}

fn is_empty(ps: &Partitions) -> bool {
    ps.is_empty()
}

impl Consumer {
    pub fn new(addr: ClientAddr, cfg: &CoreConfig) -> Consumer {
        Consumer {
            addr,
            phase: Phase::Unjoined,
            coordinator: None,
            member_id: None,
            generation: None,
            owned: Partitions::EMPTY,
            unfetched: Partitions::EMPTY,
            positions: smallvec::smallvec![0; cfg.partitions as usize],
            committed: smallvec::smallvec![0; cfg.partitions as usize],
            in_flight: None,
            assignors: Assignors::one(cfg.assignor),
            last_assignment: None,
            instance: None,
            revoking: Partitions::EMPTY,
            stalled: false,
            commit_generation: CommitGeneration::Stable,
            held_sync: None,
        }
    }

    /// The same consumer as a static member with `instance` (or a dynamic one with `None`).
    pub fn with_instance(self, instance: Option<InstanceId>) -> Consumer {
        Consumer { instance, ..self }
    }

    /// The same consumer configured with `assignors`.
    pub fn with_assignors(self, assignors: Assignors) -> Consumer {
        Consumer { assignors, ..self }
    }

    /// The same consumer committing with `commit_generation`.
    pub fn with_commit_generation(self, commit_generation: CommitGeneration) -> Consumer {
        Consumer {
            commit_generation,
            ..self
        }
    }

    /// The rebalance protocol it follows, which its assignors decide.
    pub fn rebalance_protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::of(self.assignors)
    }

    fn is_cooperative(&self) -> bool {
        self.rebalance_protocol() == RebalanceProtocol::Cooperative
    }

    /// Whether its JoinGroup claims what it owned: a cooperative member's `ownedPartitions`, or
    /// the StickyAssignor's user data (its last assignment) for an eager one. An eager consumer
    /// has revoked everything before it rejoins, so it has no `ownedPartitions` to claim.
    fn sends_claims(&self) -> bool {
        self.is_cooperative() || self.assignors.contains(Assignor::Sticky)
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Synced into a generation, holding that generation's assignment.
    pub fn is_stable(&self) -> bool {
        self.phase == Phase::Stable
    }

    /// Stable with no request in flight: free to process, commit or heartbeat.
    pub fn is_at_rest(&self) -> bool {
        self.is_stable() && self.in_flight.is_none()
    }

    /// Partitions whose records it may process now, once their committed position is fetched:
    /// at rest; and, for a cooperative consumer, also while it rejoins, except those it is
    /// giving up. (An eager one gives up everything before it rejoins.)
    pub fn processable(&self) -> Partitions {
        let rejoining = matches!(
            self.phase,
            Phase::Revoking | Phase::Unjoined | Phase::Joining | Phase::Syncing
        );
        if self.is_at_rest() || (self.is_cooperative() && rejoining) {
            self.owned
                .difference(self.unfetched)
                .difference(self.revoking)
        } else {
            Partitions::EMPTY
        }
    }

    /// Processed positions not yet committed.
    fn uncommitted(&self) -> Vec<(Partition, Offset)> {
        self.owned
            .difference(self.unfetched)
            .iter()
            .filter(|p| self.positions[*p as usize] > self.committed[*p as usize])
            .map(|p| (p, self.positions[p as usize]))
            .collect()
    }

    /// Whether it would commit now: at rest, with processed positions not committed yet.
    pub fn wants_commit(&self) -> bool {
        self.is_at_rest() && !self.uncommitted().is_empty()
    }

    /// The heartbeat it would send now, if any, with the coordinator it goes to.
    pub fn heartbeat_due(&self) -> Option<(BrokerId, Request)> {
        if !self.is_at_rest() {
            return None;
        }
        let request = Request::Heartbeat {
            member_id: self.member_id?,
            generation: self.generation?,
            instance: self.instance,
        };
        Some((self.coordinator?, request))
    }

    // ----------------------------------------------------------------------------------------
    // What the application and the environment do

    /// Whether it needs FindCoordinator.
    pub fn needs_coordinator(&self) -> bool {
        self.coordinator.is_none() && !self.is_closed()
    }

    /// FindCoordinator answered: continue whatever was interrupted.
    pub fn on_coordinator_found(
        &mut self,
        coordinator: BrokerId,
        cfg: &CoreConfig,
    ) -> Option<Send> {
        self.coordinator = Some(coordinator);
        self.drive(cfg)
    }

    /// The application processes the next record of `p`.
    pub fn process(&mut self, p: Partition) {
        if self.processable().contains(p) {
            self.positions[p as usize] += 1;
        }
    }

    /// Auto-commit: commit processed positions (only in a Stable generation, as the Java client
    /// refuses to commit otherwise).
    pub fn commit(&mut self) -> Option<Send> {
        let offsets = self.uncommitted();
        if !self.is_at_rest() || offsets.is_empty() {
            return None;
        }
        self.send_commit(offsets)
    }

    /// The heartbeat thread's request.
    pub fn heartbeat(&mut self) -> Option<Send> {
        let (_, request) = self.heartbeat_due()?;
        self.send(InFlight::Heartbeat, request)
    }

    /// The application asks for the committed offsets of what it owns (the Java client's
    /// `KafkaConsumer::committed`). Its answer moves no position: only a partition not yet
    /// fetched takes its start from an OffsetFetch answer.
    pub fn committed(&mut self) -> Option<Send> {
        if !self.is_at_rest() || self.owned.is_empty() {
            return None;
        }
        let partitions = self.owned;
        self.send(InFlight::Fetch, Request::OffsetFetch { partitions })
    }

    /// The application closes the consumer: commit, then LeaveGroup.
    pub fn close(&mut self, cfg: &CoreConfig) -> Option<Send> {
        if self.is_closed() {
            return None;
        }
        // An application whose assignor failed (the SyncGroup never went out) closes too.
        self.stalled = false;
        self.held_sync = None;
        match self.phase {
            // Fenced and not yet rejoining, or its coordinator unknown: `maybeLeaveGroup` sends
            // nothing.
            Phase::Unjoined => {
                self.shut();
                return None;
            }
            // In the middle of a rebalance (AbstractCoordinator.close): the final commit fails in
            // the client, which commits only in a Stable generation, so what it still owns is
            // given up; the LeaveGroup goes out at once; and the JoinGroup or SyncGroup answer,
            // when it comes, is dropped ("we may have already left the group").
            Phase::Joining | Phase::Syncing => {
                if matches!(self.in_flight, Some(InFlight::Join | InFlight::Sync)) {
                    self.in_flight = None;
                }
                self.drop_partitions();
            }
            _ => {}
        }
        self.phase = Phase::Leaving;
        self.drive(cfg)
    }

    /// The request in flight, or its answer, was lost: the request timed out.
    pub fn on_request_timeout(&mut self, cfg: &CoreConfig) -> Option<Send> {
        let lost = self.in_flight.take()?;
        // The Java client fails the connection and looks for the coordinator again.
        self.coordinator = None;
        match lost {
            InFlight::Join => self.phase = Phase::Unjoined,
            InFlight::Sync => self.request_rejoin(),
            InFlight::Leave => self.shut(),
            InFlight::Heartbeat | InFlight::Commit | InFlight::Fetch => {}
        }
        self.drive(cfg)
    }

    /// `max.poll.interval.ms` passed without a poll: the heartbeat thread gives the membership
    /// up (`maybeLeaveGroup`; a static member sends no LeaveGroup), so the partitions are lost,
    /// not committed, and the consumer rejoins as a new member (a static one with its instance
    /// id, to take its member back).
    pub fn on_poll_timeout(&mut self, cfg: &CoreConfig) -> Option<Send> {
        if self.is_closed() {
            return None;
        }
        if self.in_flight.take().is_some() {
            // The answer is for a generation it gave up (the Java client's handlers drop it):
            // it is never read, as if on a connection of its own.
            self.addr.connection = self.addr.connection.wrapping_add(1);
            self.coordinator = None;
        }
        self.reset_generation(true);
        self.drive(cfg)
    }

    /// Its SyncGroup, about to go out, does not: the assignor (or the application thread)
    /// hangs, and the process sends nothing more, while its heartbeat thread keeps its session
    /// alive (KAFKA-12890's situation).
    pub fn stall(&mut self) {
        if self.in_flight == Some(InFlight::Sync) {
            self.in_flight = None;
            self.stalled = true;
        }
    }

    /// The request in flight timed out while it was still on its way (not lost: it may yet
    /// reach the coordinator). As the Java client does on any request timeout, the connection
    /// is closed, so its answer, if one ever comes, is never read; the client carries on over a
    /// new connection. (After a lost message the old connection carries nothing more, so
    /// renewing it there would change nothing.)
    pub fn abandon_request(&mut self, cfg: &CoreConfig) -> Option<Send> {
        self.in_flight?;
        self.addr.connection = self.addr.connection.wrapping_add(1);
        self.on_request_timeout(cfg)
    }

    // ----------------------------------------------------------------------------------------
    // Responses

    /// Handles a response. An answer the consumer is not waiting for is ignored.
    pub fn on_response(&mut self, response: &Response, cfg: &CoreConfig) -> Option<Send> {
        let expected = match response {
            Response::JoinGroup { .. } => InFlight::Join,
            Response::SyncGroup { .. } => InFlight::Sync,
            Response::Heartbeat { .. } => InFlight::Heartbeat,
            Response::OffsetCommit { .. } => InFlight::Commit,
            Response::OffsetFetch { .. } => InFlight::Fetch,
            Response::LeaveGroup { .. } => InFlight::Leave,
            Response::FindCoordinator { .. } => return None,
        };
        if self.in_flight != Some(expected) {
            return None;
        }
        self.in_flight = None;
        let error = response.error();
        // Fatal in the Java client (thrown from poll): another process runs with its instance
        // id, or the group runs a protocol none of its assignors supports. It stops.
        if matches!(
            error,
            ErrorCode::FencedInstanceId | ErrorCode::InconsistentGroupProtocol
        ) {
            self.shut();
            return None;
        }
        if matches!(
            error,
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable
        ) {
            self.coordinator = None;
        }
        match response {
            Response::JoinGroup {
                generation,
                protocol,
                member_id,
                leader,
                members,
                claims,
                skip_assignment,
                ..
            } => {
                // KIP-814: a static leader back in a Stable group keeps the assignment.
                let leads = *leader == *member_id && !skip_assignment;
                let members = if leads { &members[..] } else { &[] };
                let joined = (*generation, *protocol, *member_id);
                self.on_join(error, joined, members, claims, cfg)
            }
            Response::SyncGroup { assignment, .. } => self.on_sync(error, *assignment, cfg),
            Response::Heartbeat { .. } => self.on_heartbeat(error),
            Response::OffsetCommit { offsets, .. } => self.on_commit(error, offsets, cfg),
            Response::OffsetFetch { offsets, .. } => self.on_fetch(error, offsets),
            Response::LeaveGroup { .. } => {
                self.shut();
                None
            }
            Response::FindCoordinator { .. } => None,
        }
        .or_else(|| self.drive(cfg))
    }

    /// `members` is empty unless it is to compute the assignment (it leads the group).
    fn on_join(
        &mut self,
        error: ErrorCode,
        (generation, protocol, member_id): (Generation, Option<Assignor>, Option<MemberId>),
        members: &[MemberId],
        claims: &[(MemberId, OwnedClaim)],
        cfg: &CoreConfig,
    ) -> Option<Send> {
        self.phase = Phase::Unjoined;
        match error {
            ErrorCode::None => {
                let me = member_id?;
                // The Java client cannot look up an assignor it does not have
                // (IllegalStateException out of poll): it stops.
                let Some(assignor) = protocol.filter(|p| self.assignors.contains(*p)) else {
                    self.shut();
                    return None;
                };
                self.member_id = Some(me);
                self.generation = Some(generation);
                self.phase = Phase::Syncing;
                // The group leader computes everyone's assignment.
                let assignments = if !members.is_empty() {
                    let subs: Vec<Subscription> = members
                        .iter()
                        .map(|m| match claims.iter().find(|(c, _)| c == m) {
                            Some((_, c)) => Subscription {
                                member: *m,
                                owned: c.partitions,
                                generation: Some(c.generation),
                            },
                            None => Subscription::new(*m),
                        })
                        .collect();
                    assignor.assign(&subs, cfg.partitions, cfg.flaws)
                } else {
                    Vec::new()
                };
                let sync = Request::SyncGroup {
                    member_id: me,
                    generation,
                    assignments,
                    instance: self.instance,
                };
                let offsets = self.uncommitted();
                if self.commit_generation == CommitGeneration::Joined && !offsets.is_empty() {
                    self.held_sync = Some(sync);
                    return self.send_commit(offsets);
                }
                return self.send(InFlight::Sync, sync);
            }
            ErrorCode::MemberIdRequired => self.member_id = member_id,
            // Out of the group: a cooperative member loses what it still owns (an eager one
            // gave it all up before it rejoined).
            ErrorCode::UnknownMemberId => self.reset_generation(true),
            _ => {}
        }
        None
    }

    fn on_sync(
        &mut self,
        error: ErrorCode,
        assignment: Partitions,
        cfg: &CoreConfig,
    ) -> Option<Send> {
        match error {
            ErrorCode::None => {
                self.unfetched = assignment.difference(self.owned);
                let revoked = self.owned.difference(assignment);
                self.owned = self.owned.union(assignment);
                self.phase = Phase::Stable;
                if self.sends_claims() {
                    self.last_assignment = self.generation.map(|generation| OwnedClaim {
                        partitions: assignment,
                        generation,
                    });
                }
                if self.is_cooperative() && !revoked.is_empty() {
                    // onPartitionsRevoked, then a rejoin: the follow-up rebalance hands them on.
                    self.revoking = revoked;
                    self.phase = Phase::Revoking;
                }
                return self.drive(cfg);
            }
            ErrorCode::UnknownMemberId => self.reset_generation(true),
            ErrorCode::IllegalGeneration => self.reset_generation(false),
            _ => self.request_rejoin(),
        }
        None
    }

    fn on_heartbeat(&mut self, error: ErrorCode) -> Option<Send> {
        match error {
            ErrorCode::RebalanceInProgress => self.request_rejoin(),
            ErrorCode::UnknownMemberId => self.reset_generation(true),
            ErrorCode::IllegalGeneration => self.reset_generation(false),
            _ => {}
        }
        None
    }

    fn on_commit(
        &mut self,
        error: ErrorCode,
        offsets: &[(Partition, Offset)],
        cfg: &CoreConfig,
    ) -> Option<Send> {
        match error {
            ErrorCode::None => {
                for (p, o) in offsets {
                    if self.owned.contains(*p) {
                        let c = &mut self.committed[*p as usize];
                        *c = (*c).max(*o);
                    }
                }
                // onJoinPrepare's commit is done: on to the JoinGroup.
                if self.phase == Phase::Revoking {
                    self.prepare_join(cfg);
                }
            }
            // Retriable: try again (after rediscovery if needed).
            e if e.coordinator_moving() => {}
            // Closing, and fenced: the Java client resets its generation (the member is
            // unjoined), and `maybeLeaveGroup` sends no LeaveGroup for an unjoined member.
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration
                if self.phase == Phase::Leaving =>
            {
                self.shut()
            }
            ErrorCode::UnknownMemberId => self.reset_generation(true),
            ErrorCode::IllegalGeneration => self.reset_generation(false),
            ErrorCode::RebalanceInProgress if self.phase == Phase::Stable => self.request_rejoin(),
            // Committed with the joined generation before its SyncGroup: the held SyncGroup
            // goes out whatever the commit's fate (librdkafka hands a commit's error to the
            // application and goes on with the rebalance).
            _ if self.phase == Phase::Syncing => {}
            // Rejoining and the commit cannot succeed: the Java client goes on to join without
            // it (what it gives up, it gives up as it is).
            _ if self.phase == Phase::Revoking => self.prepare_join(cfg),
            // Leaving: it leaves without it.
            _ => self.drop_partitions(),
        }
        None
    }

    fn on_fetch(
        &mut self,
        error: ErrorCode,
        offsets: &[(Partition, Option<Offset>)],
    ) -> Option<Send> {
        if error == ErrorCode::None {
            for (p, o) in offsets {
                if self.unfetched.contains(*p) {
                    // auto.offset.reset=earliest when nothing was committed
                    let start = o.unwrap_or(0);
                    self.positions[*p as usize] = start;
                    self.committed[*p as usize] = start;
                    self.unfetched.remove(*p);
                }
            }
        }
        None
    }

    // ----------------------------------------------------------------------------------------
    // The poll loop

    /// Sends the next request its phase calls for, if nothing is in flight.
    fn drive(&mut self, cfg: &CoreConfig) -> Option<Send> {
        if self.in_flight.is_some() || self.coordinator.is_none() || self.stalled {
            return None;
        }
        match self.phase {
            Phase::Revoking | Phase::Leaving => {
                // onJoinPrepare's auto-commit, or the final commit of close: what it processed.
                let offsets = self.uncommitted();
                if !offsets.is_empty() {
                    return self.send_commit(offsets);
                }
                if self.phase == Phase::Revoking {
                    self.prepare_join(cfg);
                    return self.send_join();
                }
                // A static member leaves it to its session timeout (KIP-345).
                match self.member_id.filter(|_| self.instance.is_none()) {
                    Some(member_id) => {
                        self.drop_partitions();
                        let instance = None;
                        let leave = Request::LeaveGroup {
                            member_id,
                            instance,
                        };
                        self.send(InFlight::Leave, leave)
                    }
                    None => {
                        self.shut();
                        None
                    }
                }
            }
            Phase::Unjoined | Phase::Joining => self.send_join(),
            Phase::Syncing => match self.held_sync.take() {
                Some(sync) => self.send(InFlight::Sync, sync),
                None => {
                    self.request_rejoin();
                    self.drive(cfg)
                }
            },
            Phase::Stable if !self.unfetched.is_empty() => {
                let partitions = self.unfetched;
                self.send(InFlight::Fetch, Request::OffsetFetch { partitions })
            }
            Phase::Stable | Phase::Closed => None,
        }
    }

    /// onJoinPrepare, once its commit is done: the eager protocol revokes every owned partition
    /// before rejoining; the cooperative one only those its last assignment left out.
    fn prepare_join(&mut self, cfg: &CoreConfig) {
        let revoked = if self.is_cooperative() {
            self.revoking
        } else {
            self.owned
        };
        if !cfg.flaws.has(Flaw::NoRevokeBeforeRejoin) {
            self.give_up(revoked);
        }
        self.phase = Phase::Unjoined;
    }

    /// Gives `partitions` up, forgetting their positions.
    fn give_up(&mut self, partitions: Partitions) {
        if partitions == self.owned {
            return self.drop_partitions();
        }
        for p in partitions.iter() {
            self.positions[p as usize] = 0;
            self.committed[p as usize] = 0;
        }
        self.owned = self.owned.difference(partitions);
        self.unfetched = self.unfetched.difference(partitions);
        self.revoking = self.revoking.difference(partitions);
    }

    /// The group rebalances: a consumer in a Stable generation first commits what it processed
    /// (onJoinPrepare's auto-commit, in either protocol; the Java client commits only in a
    /// Stable generation, so one whose SyncGroup failed does not); an eager one then gives up
    /// everything it owns, a cooperative one only what it is revoking, if anything; then it
    /// rejoins.
    fn request_rejoin(&mut self) {
        if self.phase == Phase::Leaving {
            return; // closing wins: it commits and leaves anyway
        }
        let to_revoke = if self.is_cooperative() {
            self.revoking
        } else {
            self.owned
        };
        let to_commit = self.phase == Phase::Stable && !self.uncommitted().is_empty();
        self.phase = if to_revoke.is_empty() && !to_commit {
            Phase::Unjoined
        } else {
            Phase::Revoking
        };
    }

    /// The member was fenced: its partitions are lost (not committed) and it rejoins.
    fn reset_generation(&mut self, forget_member_id: bool) {
        self.generation = None;
        self.held_sync = None;
        if forget_member_id {
            self.member_id = None;
        }
        self.drop_partitions();
        if self.phase != Phase::Leaving {
            self.phase = Phase::Unjoined;
        }
    }

    fn drop_partitions(&mut self) {
        self.owned = Partitions::EMPTY;
        self.unfetched = Partitions::EMPTY;
        self.revoking = Partitions::EMPTY;
        self.positions.iter_mut().for_each(|o| *o = 0);
        self.committed.iter_mut().for_each(|o| *o = 0);
    }

    fn shut(&mut self) {
        self.drop_partitions();
        self.phase = Phase::Closed;
        self.member_id = None;
        self.generation = None;
        self.coordinator = None;
        self.in_flight = None;
        self.held_sync = None;
    }

    fn send_join(&mut self) -> Option<Send> {
        self.phase = Phase::Joining;
        // A cooperative member claims what it owns now (KIP-429's ownedPartitions, perhaps
        // none), in the generation it was given it; none once it was put out of the group. An
        // eager sticky one claims what it was last given.
        let claim = if self.is_cooperative() {
            let synced = self.generation.and(self.last_assignment);
            synced.map(|a| OwnedClaim {
                partitions: self.owned,
                ..a
            })
        } else {
            self.last_assignment
        };
        let (member_id, instance) = (self.member_id, self.instance);
        let join = Request::JoinGroup {
            member_id,
            protocols: self.assignors,
            claim,
            instance,
        };
        self.send(InFlight::Join, join)
    }

    fn send_commit(&mut self, offsets: Vec<(Partition, Offset)>) -> Option<Send> {
        let (member_id, generation) = (self.member_id?, self.generation?);
        self.send(
            InFlight::Commit,
            Request::OffsetCommit {
                member_id,
                generation,
                offsets,
                instance: self.instance,
            },
        )
    }

    fn send(&mut self, kind: InFlight, request: Request) -> Option<Send> {
        let to = self.coordinator?;
        self.in_flight = Some(kind);
        Some(Send { to, request })
    }
}
