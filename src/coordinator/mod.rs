//! The group coordinator: the classic group state machine, offsets, and failover by replay.
//!
//! Sans-IO: a handler takes a request (or a timer, or a log event) and returns the replies it
//! can send now. Replies to writes are held back until the batch holding their records is
//! durable ([`Coordinator::on_batch_durable`]); an append refused because leadership moved
//! unloads the coordinator, failing everything pending with NOT_COORDINATOR. The coordinator
//! never answers with anything the log would not give back after a failover.
//!
//! The rules follow Kafka's `GroupMetadataManager` and `ClassicGroup` (group-coordinator module):
//! see the README for the short list of simplifications.

mod group;
pub mod replay;

pub use group::{Group, GroupState, Member};

use crate::assignor::Assignor;
use crate::flaw::{Flaw, Flaws};
use crate::offsets_log::LogAppender;
use crate::protocol::{
    BrokerId, ClientAddr, ErrorCode, Generation, LeaderEpoch, MemberId, Offset, Partition,
    Partitions, Record, Reply, Request, Response,
};
use crate::protocol::{PerPartition, Small};
use serde::{Deserialize, Serialize};

/// What the core needs to know of a configuration: the topic's size, the assignor the group
/// leader runs, and the switched-on flaws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoreConfig {
    pub partitions: u8,
    pub assignor: Assignor,
    pub flaws: Flaws,
}

/// CoordinatorRuntime's per-partition state: only an ACTIVE coordinator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LoadState {
    NotCoordinator,
    Loading,
    Active,
}

/// A write whose answer waits for its batch to become durable.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PendingWrite {
    /// The leader's SyncGroup: the group metadata with the new assignment.
    Assignment {
        generation: Generation,
        assignments: Vec<(MemberId, Partitions)>,
    },
    /// An OffsetCommit; `acked` if the reply already went out (only under a flaw).
    Offsets {
        to: ClientAddr,
        offsets: Vec<(Partition, Offset)>,
        acked: bool,
    },
    /// A batch nobody waits for (the metadata of a group left with no members).
    Unawaited,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Coordinator {
    pub broker: BrokerId,
    pub load: LoadState,
    /// The leader epoch of `__consumer_offsets` this coordinator holds (or is loading).
    pub epoch: LeaderEpoch,
    pub group: Group,
    /// The committed offsets it serves: updated only once a commit is durable.
    pub offsets: PerPartition<Option<Offset>>,
    /// Writes appended but not yet durable, in log order.
    pub pending: Vec<PendingWrite>,
    /// Sequence for minting member ids in this epoch.
    pub next_member_seq: u32,
}

type Replies = Vec<Reply>;

impl Coordinator {
    /// A broker that does not lead the group's partition.
    pub fn idle(broker: BrokerId, cfg: &CoreConfig) -> Coordinator {
        Coordinator {
            broker,
            load: LoadState::NotCoordinator,
            epoch: 0,
            group: Group {
                state: GroupState::Dead,
                ..Group::empty()
            },
            offsets: smallvec::smallvec![None; cfg.partitions as usize],
            pending: Vec::new(),
            next_member_seq: 0,
        }
    }

    /// The coordinator of a brand-new group: leads epoch `epoch` of an empty log.
    pub fn active(broker: BrokerId, epoch: LeaderEpoch, cfg: &CoreConfig) -> Coordinator {
        Coordinator {
            load: LoadState::Active,
            epoch,
            group: Group::empty(),
            ..Coordinator::idle(broker, cfg)
        }
    }

    // ----------------------------------------------------------------------------------------
    // Leadership of __consumer_offsets

    /// Elected leader of epoch `epoch`: answer COORDINATOR_LOAD_IN_PROGRESS until loaded.
    pub fn start_loading(&mut self, epoch: LeaderEpoch, cfg: &CoreConfig) -> Replies {
        let replies = self.unload();
        *self = Coordinator {
            load: LoadState::Loading,
            epoch,
            group: Group::empty(),
            ..Coordinator::idle(self.broker, cfg)
        };
        replies
    }

    /// Replay of the durable log finished: the group comes back Stable (if it has members) or
    /// Empty, at the last durable generation. Any rebalance in flight at the old coordinator is
    /// lost, as in Kafka.
    pub fn finish_loading(&mut self, durable: &[Record], cfg: &CoreConfig) {
        let snapshot = replay::load(cfg.partitions, durable, cfg.flaws);
        let members: Vec<Member> = snapshot
            .members
            .iter()
            .map(|(id, assignment)| Member {
                assignment: *assignment,
                ..Member::new(*id)
            })
            .collect();
        self.group = Group {
            state: if members.is_empty() {
                GroupState::Empty
            } else {
                GroupState::Stable
            },
            generation: snapshot.generation,
            leader: snapshot.leader,
            members: members.into_iter().collect(),
            pending_members: Small::new(),
        };
        self.offsets = snapshot.offsets;
        self.load = LoadState::Active;
    }

    /// Leadership moved away: fail every parked request and pending write with NOT_COORDINATOR.
    pub fn stop_leading(&mut self, cfg: &CoreConfig) -> Replies {
        let replies = self.unload();
        *self = Coordinator::idle(self.broker, cfg);
        replies
    }

    fn unload(&mut self) -> Replies {
        let mut replies = Vec::new();
        for m in &self.group.members {
            if let Some(to) = m.awaiting_join {
                replies.push(join_error(to, Some(m.id), ErrorCode::NotCoordinator));
            }
            if let Some(to) = m.awaiting_sync {
                replies.push(sync_reply(
                    to,
                    m.id,
                    self.group.generation,
                    ErrorCode::NotCoordinator,
                    Partitions::EMPTY,
                ));
            }
        }
        for w in &self.pending {
            if let PendingWrite::Offsets {
                to,
                offsets,
                acked: false,
            } = w
            {
                replies.push(Reply {
                    to: *to,
                    response: Response::OffsetCommit {
                        error: ErrorCode::NotCoordinator,
                        offsets: offsets.clone(),
                    },
                });
            }
        }
        replies
    }

    /// The oldest pending batch is durable: complete what waited for it.
    pub fn on_batch_durable(&mut self) -> Replies {
        if self.pending.is_empty() {
            return Vec::new();
        }
        match self.pending.remove(0) {
            PendingWrite::Assignment {
                generation,
                assignments,
            } => {
                if self.group.state == GroupState::CompletingRebalance
                    && self.group.generation == generation
                {
                    self.install_assignment(&assignments)
                } else {
                    Vec::new()
                }
            }
            PendingWrite::Offsets { to, offsets, acked } => {
                for (p, o) in &offsets {
                    self.offsets[*p as usize] = Some(*o);
                }
                if acked {
                    Vec::new()
                } else {
                    vec![Reply {
                        to,
                        response: Response::OffsetCommit {
                            error: ErrorCode::None,
                            offsets,
                        },
                    }]
                }
            }
            PendingWrite::Unawaited => Vec::new(),
        }
    }

    /// Appends a batch; if leadership is gone, unloads and reports false.
    fn append(
        &mut self,
        log: &mut dyn LogAppender,
        batch: Vec<Record>,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) -> bool {
        match log.append(self.epoch, batch) {
            Ok(()) => true,
            Err(_) => {
                // NOT_LEADER_OR_FOLLOWER maps to NOT_COORDINATOR; the runtime unloads (FAILED).
                replies.extend(self.stop_leading(cfg));
                false
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Requests

    /// Whether this coordinator serves `request` now; `Err` carries the answer if not.
    fn check_serving(&self, request: &Request, cfg: &CoreConfig) -> Result<(), ErrorCode> {
        match self.load {
            // A Dead group (deleted; here only set by hand, as groups are never deleted) answers
            // every group API this way (KAFKA-8386); its committed offsets may still be read.
            LoadState::Active
                if self.group.state == GroupState::Dead
                    && !matches!(request, Request::OffsetFetch { .. }) =>
            {
                Err(ErrorCode::CoordinatorNotAvailable)
            }
            LoadState::Active => Ok(()),
            LoadState::NotCoordinator => Err(ErrorCode::NotCoordinator),
            LoadState::Loading => match request {
                // "the group is still loading, so respond just blindly"
                Request::Heartbeat { .. } => Err(ErrorCode::None),
                // "we've lost the state of the active rebalance": start over at JoinGroup
                Request::SyncGroup { .. } => Err(ErrorCode::RebalanceInProgress),
                Request::OffsetFetch { .. } | Request::JoinGroup { .. }
                    if cfg.flaws.has(Flaw::ServeBeforeLoad) =>
                {
                    Ok(())
                }
                _ => Err(ErrorCode::CoordinatorLoadInProgress),
            },
        }
    }

    /// Handles one request arriving on connection `from`.
    pub fn handle(
        &mut self,
        from: ClientAddr,
        request: &Request,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
    ) -> Replies {
        if *request == Request::FindCoordinator {
            return vec![self.find_coordinator(from)];
        }
        if let Err(error) = self.check_serving(request, cfg) {
            return vec![Reply {
                to: from,
                response: Response::error_for(request, error),
            }];
        }
        let mut replies = Vec::new();
        match request {
            Request::FindCoordinator => replies.push(self.find_coordinator(from)),
            Request::JoinGroup { member_id } => {
                self.join_group(from, *member_id, log, cfg, &mut replies)
            }
            Request::SyncGroup {
                member_id,
                generation,
                assignments,
            } => self.sync_group(
                from,
                *member_id,
                *generation,
                assignments,
                log,
                cfg,
                &mut replies,
            ),
            Request::Heartbeat {
                member_id,
                generation,
            } => replies.push(Reply {
                to: from,
                response: Response::Heartbeat {
                    error: self.heartbeat_error(*member_id, *generation),
                },
            }),
            Request::LeaveGroup { member_id } => {
                let mut error = self.leave_group(*member_id, log, cfg, &mut replies);
                if self.load != LoadState::Active {
                    // Emptying the group needed a write, and leadership was gone.
                    error = ErrorCode::NotCoordinator;
                }
                replies.push(Reply {
                    to: from,
                    response: Response::LeaveGroup { error },
                });
            }
            Request::OffsetCommit {
                member_id,
                generation,
                offsets,
            } => self.offset_commit(
                from,
                *member_id,
                *generation,
                offsets,
                log,
                cfg,
                &mut replies,
            ),
            Request::OffsetFetch { partitions } => replies.push(Reply {
                to: from,
                response: Response::OffsetFetch {
                    error: ErrorCode::None,
                    offsets: partitions
                        .iter()
                        .filter(|p| (*p as usize) < self.offsets.len())
                        .map(|p| (p, self.offsets[p as usize]))
                        .collect(),
                },
            }),
        }
        replies
    }

    /// FindCoordinator is not a group API: any broker answers it from cluster metadata, loading
    /// or not. This broker knows only whether it leads the group's partition itself.
    fn find_coordinator(&self, to: ClientAddr) -> Reply {
        let response = match self.load {
            LoadState::NotCoordinator => Response::error_for(
                &Request::FindCoordinator,
                ErrorCode::CoordinatorNotAvailable,
            ),
            LoadState::Loading | LoadState::Active => Response::FindCoordinator {
                error: ErrorCode::None,
                coordinator: Some(self.broker),
            },
        };
        Reply { to, response }
    }

    fn mint_member_id(&mut self) -> MemberId {
        let id = MemberId {
            epoch: self.epoch,
            seq: self.next_member_seq,
        };
        self.next_member_seq += 1;
        id
    }

    fn join_group(
        &mut self,
        from: ClientAddr,
        member_id: Option<MemberId>,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let Some(id) = member_id else {
            // KIP-394: hand out an id and make the client come back with it, so a retried
            // JoinGroup cannot add a second member for the same client.
            let id = self.mint_member_id();
            self.group.pending_members.push(id);
            replies.push(join_error(from, Some(id), ErrorCode::MemberIdRequired));
            return;
        };
        if let Some(at) = self.group.pending_members.iter().position(|p| *p == id) {
            self.group.pending_members.remove(at);
            self.group.add(Member {
                awaiting_join: Some(from),
                is_new: true,
                ..Member::new(id)
            });
            if self.group.state != GroupState::PreparingRebalance {
                self.prepare_rebalance(replies);
            }
            self.maybe_complete_join(log, cfg, replies);
            return;
        }
        if !self.group.is_member(id) {
            replies.push(join_error(from, Some(id), ErrorCode::UnknownMemberId));
            return;
        }
        let park = |group: &mut Group| {
            if let Some(m) = group.member_mut(id) {
                m.awaiting_join = Some(from);
            }
        };
        match self.group.state {
            GroupState::PreparingRebalance => {
                park(&mut self.group);
                self.maybe_complete_join(log, cfg, replies);
            }
            // A follower rejoining with unchanged metadata (it probably lost the JoinGroup
            // response) gets the current generation back without a new rebalance.
            GroupState::CompletingRebalance => replies.push(self.join_reply(from, id)),
            GroupState::Stable if self.group.leader != Some(id) => {
                replies.push(self.join_reply(from, id))
            }
            // A JoinGroup from the leader of a Stable group always starts a rebalance.
            GroupState::Stable => {
                park(&mut self.group);
                self.prepare_rebalance(replies);
                self.maybe_complete_join(log, cfg, replies);
            }
            GroupState::Empty | GroupState::Dead => {
                replies.push(join_error(from, Some(id), ErrorCode::UnknownMemberId))
            }
        }
    }

    /// The JoinGroup answer of the current generation; only the leader sees the members.
    fn join_reply(&self, to: ClientAddr, id: MemberId) -> Reply {
        let is_leader = self.group.leader == Some(id);
        Reply {
            to,
            response: Response::JoinGroup {
                error: ErrorCode::None,
                generation: self.group.generation,
                member_id: Some(id),
                leader: self.group.leader,
                members: if is_leader {
                    self.group.members.iter().map(|m| m.id).collect()
                } else {
                    Vec::new()
                },
            },
        }
    }

    fn prepare_rebalance(&mut self, replies: &mut Replies) {
        if self.group.state == GroupState::CompletingRebalance {
            // The assignment being synced is void: release the parked SyncGroups.
            let generation = self.group.generation;
            for m in &mut self.group.members {
                m.assignment = Partitions::EMPTY;
                if let Some(to) = m.awaiting_sync.take() {
                    replies.push(sync_reply(
                        to,
                        m.id,
                        generation,
                        ErrorCode::RebalanceInProgress,
                        Partitions::EMPTY,
                    ));
                }
            }
            // A pending assignment write stays queued (its batch is in the log) but will not be
            // installed: on_batch_durable checks the state and generation.
        }
        self.group.state = GroupState::PreparingRebalance;
    }

    fn maybe_complete_join(
        &mut self,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        if self.group.state != GroupState::PreparingRebalance {
            return;
        }
        // KAFKA-8653: the rebalance timeout, taken as zero, has expired as soon as anyone joined.
        let timed_out = cfg.flaws.has(Flaw::RebalanceTimeoutZero)
            && self.group.members.iter().any(|m| m.awaiting_join.is_some());
        if self.group.all_members_joined() || timed_out {
            self.complete_join(log, cfg, replies);
        }
    }

    /// Ends the join phase: members that did not rejoin are removed, the leader is kept if it
    /// rejoined, the generation is bumped and every parked JoinGroup is answered.
    fn complete_join(
        &mut self,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let gone: Vec<MemberId> = self
            .group
            .members
            .iter()
            .filter(|m| m.awaiting_join.is_none())
            .map(|m| m.id)
            .collect();
        for id in gone {
            self.group.remove(id);
        }
        self.group.generation += 1;
        if self.group.members.is_empty() {
            self.group.state = GroupState::Empty;
            self.group.leader = None;
            let record = Record::GroupMetadata {
                generation: self.group.generation,
                leader: None,
                members: Vec::new(),
            };
            if self.append(log, vec![record], cfg, replies) {
                self.pending.push(PendingWrite::Unawaited);
            }
            return;
        }
        self.group.state = GroupState::CompletingRebalance;
        let ids: Vec<(MemberId, ClientAddr)> = self
            .group
            .members
            .iter_mut()
            .filter_map(|m| {
                m.assignment = Partitions::EMPTY;
                m.is_new = false;
                m.awaiting_join.take().map(|to| (m.id, to))
            })
            .collect();
        for (id, to) in ids {
            replies.push(self.join_reply(to, id));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sync_group(
        &mut self,
        from: ClientAddr,
        id: MemberId,
        generation: Generation,
        assignments: &[(MemberId, Partitions)],
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let reply = |error, assignment| sync_reply(from, id, generation, error, assignment);
        let error = match self.group.state {
            _ if !self.group.is_member(id) => Some(ErrorCode::UnknownMemberId),
            _ if generation != self.group.generation => Some(ErrorCode::IllegalGeneration),
            GroupState::PreparingRebalance => Some(ErrorCode::RebalanceInProgress),
            _ => None,
        };
        if let Some(error) = error {
            replies.push(reply(error, Partitions::EMPTY));
            return;
        }
        if self.group.state == GroupState::Stable {
            let assignment = self
                .group
                .member(id)
                .map(|m| m.assignment)
                .unwrap_or_default();
            replies.push(reply(ErrorCode::None, assignment));
            return;
        }
        // CompletingRebalance: park until the leader's assignment is durable.
        if let Some(m) = self.group.member_mut(id) {
            m.awaiting_sync = Some(from);
        }
        let already_writing = self.pending.iter().any(
            |w| matches!(w, PendingWrite::Assignment { generation: g, .. } if *g == generation),
        );
        if self.group.leader != Some(id) || already_writing {
            return;
        }
        // Members the leader left out get an empty assignment.
        let assignments: Vec<(MemberId, Partitions)> = self
            .group
            .members
            .iter()
            .map(|m| {
                let a = assignments.iter().find(|(mid, _)| *mid == m.id);
                (m.id, a.map(|(_, ps)| *ps).unwrap_or_default())
            })
            .collect();
        let record = Record::GroupMetadata {
            generation,
            leader: self.group.leader,
            members: assignments.clone(),
        };
        if !self.append(log, vec![record], cfg, replies) {
            return;
        }
        if cfg.flaws.has(Flaw::SyncAckBeforePersist) {
            // KAFKA-2017: the members learn the assignment before it is durable.
            replies.extend(self.install_assignment(&assignments));
            self.pending.push(PendingWrite::Unawaited);
        } else {
            self.pending.push(PendingWrite::Assignment {
                generation,
                assignments,
            });
        }
    }

    /// The generation's assignment takes effect: answer every parked SyncGroup, become Stable.
    fn install_assignment(&mut self, assignments: &[(MemberId, Partitions)]) -> Replies {
        let generation = self.group.generation;
        let mut replies = Vec::new();
        for m in &mut self.group.members {
            m.assignment = assignments
                .iter()
                .find(|(id, _)| *id == m.id)
                .map(|(_, ps)| *ps)
                .unwrap_or_default();
            if let Some(to) = m.awaiting_sync.take() {
                replies.push(sync_reply(
                    to,
                    m.id,
                    generation,
                    ErrorCode::None,
                    m.assignment,
                ));
            }
        }
        self.group.state = GroupState::Stable;
        replies
    }

    /// The Heartbeat answer for `(member, generation)`. Pure, so callers may ask without sending.
    pub fn heartbeat_error(&self, id: MemberId, generation: Generation) -> ErrorCode {
        match self.load {
            LoadState::NotCoordinator => return ErrorCode::NotCoordinator,
            LoadState::Loading => return ErrorCode::None,
            LoadState::Active => {}
        }
        match self.group.state {
            GroupState::Dead => ErrorCode::CoordinatorNotAvailable,
            _ if !self.group.is_member(id) => ErrorCode::UnknownMemberId,
            _ if generation != self.group.generation => ErrorCode::IllegalGeneration,
            GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
            _ => ErrorCode::None,
        }
    }

    fn leave_group(
        &mut self,
        id: MemberId,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) -> ErrorCode {
        if let Some(at) = self.group.pending_members.iter().position(|p| *p == id) {
            self.group.pending_members.remove(at);
            self.maybe_complete_join(log, cfg, replies);
            return ErrorCode::None;
        }
        if !self.group.is_member(id) {
            return ErrorCode::UnknownMemberId;
        }
        self.remove_member(id, log, cfg, replies);
        ErrorCode::None
    }

    /// Removes a member (leave, session expiry) and rebalances the rest.
    fn remove_member(
        &mut self,
        id: MemberId,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let generation = self.group.generation;
        if let Some(m) = self.group.remove(id) {
            if let Some(to) = m.awaiting_join {
                replies.push(join_error(to, Some(id), ErrorCode::UnknownMemberId));
            }
            if let Some(to) = m.awaiting_sync {
                replies.push(sync_reply(
                    to,
                    id,
                    generation,
                    ErrorCode::UnknownMemberId,
                    Partitions::EMPTY,
                ));
            }
        }
        if matches!(
            self.group.state,
            GroupState::Stable | GroupState::CompletingRebalance
        ) {
            self.prepare_rebalance(replies);
        }
        self.maybe_complete_join(log, cfg, replies);
    }

    /// ClassicGroup.validateOffsetCommit for a consumer-group member.
    fn validate_offset_commit(
        &self,
        id: MemberId,
        generation: Generation,
        cfg: &CoreConfig,
    ) -> Result<(), ErrorCode> {
        if cfg.flaws.has(Flaw::CommitWithoutFencing) {
            // KAFKA-2596: the offsets are written whoever sends them.
            return Ok(());
        }
        match self.group.state {
            _ if !self.group.is_member(id) => Err(ErrorCode::UnknownMemberId),
            _ if generation != self.group.generation => Err(ErrorCode::IllegalGeneration),
            // The assignment of the new generation is not known yet; in PreparingRebalance the
            // old generation may still commit (that is how eager consumers commit on revoke).
            GroupState::CompletingRebalance => Err(ErrorCode::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn offset_commit(
        &mut self,
        from: ClientAddr,
        id: MemberId,
        generation: Generation,
        offsets: &[(Partition, Offset)],
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let reply = |error| Reply {
            to: from,
            response: Response::OffsetCommit {
                error,
                offsets: offsets.to_vec(),
            },
        };
        if let Err(error) = self.validate_offset_commit(id, generation, cfg) {
            replies.push(reply(error));
            return;
        }
        // Kafka answers per partition; the whole commit is refused here.
        if offsets.iter().any(|(p, _)| *p >= cfg.partitions) {
            replies.push(reply(ErrorCode::UnknownTopicOrPartition));
            return;
        }
        let batch = offsets
            .iter()
            .map(|(p, o)| Record::OffsetCommit {
                partition: *p,
                offset: *o,
                committed_by: Some((id, generation)),
            })
            .collect();
        if !self.append(log, batch, cfg, replies) {
            replies.push(reply(ErrorCode::NotCoordinator));
            return;
        }
        let ack_now = cfg.flaws.has(Flaw::CommitAckBeforeDurable);
        if ack_now {
            replies.push(reply(ErrorCode::None));
        }
        self.pending.push(PendingWrite::Offsets {
            to: from,
            offsets: offsets.to_vec(),
            acked: ack_now,
        });
    }

    /// Whether a request that arrived on `to` is parked here, still to be answered (a JoinGroup
    /// or SyncGroup waiting for the join phase or the assignment, an OffsetCommit waiting for
    /// durability).
    pub fn parks_request_of(&self, to: ClientAddr) -> bool {
        self.group
            .members
            .iter()
            .any(|m| m.awaiting_join == Some(to) || m.awaiting_sync == Some(to))
            || self
                .pending
                .iter()
                .any(|w| matches!(w, PendingWrite::Offsets { to: t, acked: false, .. } if *t == to))
    }

    // ----------------------------------------------------------------------------------------
    // Timers

    /// Whether the session (or pending-sync, or new-member join) timer of `id` would remove it
    /// now. ClassicGroupMember.hasSatisfiedHeartbeat: a new member can be expired while awaiting
    /// join; any other member with a parked JoinGroup or SyncGroup has satisfied its heartbeat.
    pub fn can_expire(&self, id: MemberId) -> bool {
        self.load == LoadState::Active
            && (self.group.pending_members.contains(&id)
                || self.group.member(id).is_some_and(|m| {
                    m.is_new || (m.awaiting_join.is_none() && m.awaiting_sync.is_none())
                }))
    }

    /// The session timer of `id` fired.
    pub fn expire_session(
        &mut self,
        id: MemberId,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
    ) -> Replies {
        let mut replies = Vec::new();
        if !self.can_expire(id) {
            return replies;
        }
        if let Some(at) = self.group.pending_members.iter().position(|p| *p == id) {
            self.group.pending_members.remove(at);
            self.maybe_complete_join(log, cfg, &mut replies);
        } else {
            self.remove_member(id, log, cfg, &mut replies);
        }
        replies
    }

    /// Whether the rebalance timeout would end the join phase now (someone joined, not all).
    pub fn can_time_out_join(&self) -> bool {
        self.load == LoadState::Active
            && self.group.state == GroupState::PreparingRebalance
            && self.group.members.iter().any(|m| m.awaiting_join.is_some())
            && !self.group.all_members_joined()
    }

    /// The rebalance timeout fired: end the join phase without the members that did not rejoin.
    pub fn rebalance_timeout(&mut self, log: &mut dyn LogAppender, cfg: &CoreConfig) -> Replies {
        let mut replies = Vec::new();
        if self.can_time_out_join() {
            self.complete_join(log, cfg, &mut replies);
        }
        replies
    }
}

fn join_error(to: ClientAddr, member_id: Option<MemberId>, error: ErrorCode) -> Reply {
    Reply {
        to,
        response: Response::error_for(&Request::JoinGroup { member_id }, error),
    }
}

fn sync_reply(
    to: ClientAddr,
    member_id: MemberId,
    generation: Generation,
    error: ErrorCode,
    assignment: Partitions,
) -> Reply {
    Reply {
        to,
        response: Response::SyncGroup {
            error,
            member_id,
            generation,
            assignment,
        },
    }
}
