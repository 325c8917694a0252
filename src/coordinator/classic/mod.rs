//! The classic group protocol (Kafka's `classic/` package with the classic handlers of
//! `GroupMetadataManager`): JoinGroup, SyncGroup, Heartbeat and LeaveGroup, the join phase and
//! its timers, and the member checks every classic request makes. What every protocol shares
//! (serving, loading, the log, offsets) is in the parent module.

mod group;

pub use group::{Group, GroupState, JoinMetadata, Member};

use super::{Coordinator, CoreConfig, LoadState, PendingWrite, Replies};
use crate::flaw::Flaw;
use crate::offsets_log::LogAppender;
use crate::protocol::{
    ClientAddr, ErrorCode, Generation, InstanceId, MemberId, Partitions, Reply, Request, Response,
};

impl Coordinator {
    fn mint_member_id(&mut self) -> MemberId {
        let id = MemberId {
            epoch: self.epoch,
            seq: self.next_member_seq,
        };
        self.next_member_seq += 1;
        id
    }

    /// JoinGroup from `from`, with its member id (empty for a new member) and instance id.
    pub(super) fn join_group(
        &mut self,
        (from, member_id, instance): (ClientAddr, Option<MemberId>, Option<InstanceId>),
        metadata: JoinMetadata,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        // Before anything else, new member or known: a member must share a protocol with the
        // whole group, or the leader would have no assignor to run.
        if !self.group.supports_protocols(metadata.protocols) {
            let error = ErrorCode::InconsistentGroupProtocol;
            replies.push(join_error(from, member_id, error));
            return;
        }
        if let (None, Some(instance)) = (member_id, instance) {
            return self.join_static_unknown(from, instance, metadata, log, cfg, replies);
        }
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
            let member = Member::joining(id, from, metadata);
            return self.add_new_member(member, log, cfg, replies);
        }
        if let Err(error) = self.validate_identity(id, instance) {
            replies.push(join_error(from, Some(id), error));
            return;
        }
        let park = |group: &mut Group| {
            if let Some(m) = group.member_mut(id) {
                m.awaiting_join = Some(from);
                m.update(metadata);
            }
        };
        // Its protocol metadata is unchanged: the same protocols, and the same claim (KIP-429's
        // `ownedPartitions` changes when a cooperative member has revoked partitions).
        let unchanged = self.group.member(id).is_some_and(|m| m.matches(metadata));
        match self.group.state {
            GroupState::PreparingRebalance => {
                park(&mut self.group);
                self.maybe_complete_join(log, cfg, replies);
            }
            // A member rejoining with unchanged metadata (it probably lost the JoinGroup
            // response) gets the current generation back without a new rebalance; a follower
            // of a Stable group too.
            GroupState::CompletingRebalance if unchanged => replies.push(self.join_reply(from, id)),
            GroupState::Stable if unchanged && self.group.leader != Some(id) => {
                replies.push(self.join_reply(from, id))
            }
            // Changed metadata, or a JoinGroup from the leader of a Stable group, starts a
            // rebalance.
            GroupState::CompletingRebalance | GroupState::Stable => {
                park(&mut self.group);
                self.prepare_rebalance(replies);
                self.maybe_complete_join(log, cfg, replies);
            }
            GroupState::Empty | GroupState::Dead => {
                replies.push(join_error(from, Some(id), ErrorCode::UnknownMemberId))
            }
        }
    }

    /// A static member joins with an unknown member id (KIP-345): a new instance is added at
    /// once (static members skip KIP-394's round trip); a known one is a restart, and takes the
    /// place of the old member id, which is fenced.
    fn join_static_unknown(
        &mut self,
        from: ClientAddr,
        instance: InstanceId,
        metadata: JoinMetadata,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let state = self.group.state;
        let old = self.group.static_member(instance);
        // KAFKA-8500: the member id was replaced only in Stable; in any other state the known
        // instance was admitted once more, beside the member it should have fenced.
        let replace_only_when_stable =
            cfg.flaws.has(Flaw::StaticReplaceOnlyWhenStable) && state != GroupState::Stable;
        let id = self.mint_member_id();
        let Some(old) = old.filter(|_| !replace_only_when_stable) else {
            let member = Member {
                instance: Some(instance),
                ..Member::joining(id, from, metadata)
            };
            return self.add_new_member(member, log, cfg, replies);
        };
        self.replace_static_member(old, id, from, metadata, replies);
        // Its protocols may differ from the old process's: if the group would now select another
        // protocol, the assignment must be computed again.
        let protocol_changes = self.group.select_protocol() != self.group.protocol;
        match state {
            GroupState::Stable if protocol_changes => {
                self.prepare_rebalance(replies);
                self.maybe_complete_join(log, cfg, replies);
            }
            // The restarted member gets its assignment back without a rebalance, once the new
            // member id is durable: a failover must not bring the old one back and fence it.
            GroupState::Stable if cfg.flaws.has(Flaw::StaticReplaceNotPersisted) => {
                // KAFKA-10284: the replacement lived in memory only.
                self.answer_parked_join(id, replies);
            }
            GroupState::Stable => {
                let record = self.group.metadata_record(self.group.assignments());
                if self.append(log, vec![record], cfg, replies) {
                    let generation = self.group.generation;
                    (self.pending).push(PendingWrite::Replacement {
                        generation,
                        member: id,
                    });
                }
            }
            // KAFKA-9801: the leader may already have assigned the old member id, so the new one
            // would get nothing: the assignment is voided and computed again.
            GroupState::CompletingRebalance if cfg.flaws.has(Flaw::StaticJoinInCompleting) => {
                self.answer_parked_join(id, replies);
            }
            GroupState::CompletingRebalance => {
                self.prepare_rebalance(replies);
                self.maybe_complete_join(log, cfg, replies);
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(log, cfg, replies),
            // An Empty or Dead group has no members, so no instance maps to one.
            GroupState::Empty | GroupState::Dead => {
                unreachable!("a static member of an {state:?} group")
            }
        }
    }

    /// A member new to the group has joined (its JoinGroup is parked): a rebalance begins, if
    /// one is not under way, and the join phase ends if it was the last one awaited.
    fn add_new_member(
        &mut self,
        member: Member,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        self.group.add(Member {
            is_new: true,
            ..member
        });
        if self.group.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(replies);
        }
        self.maybe_complete_join(log, cfg, replies);
    }

    /// ClassicGroup.replaceStaticMember: `new` takes the place of `old` with its assignment (and
    /// leadership); whatever `old` has parked is answered FENCED_INSTANCE_ID at once.
    fn replace_static_member(
        &mut self,
        old: MemberId,
        new: MemberId,
        from: ClientAddr,
        metadata: JoinMetadata,
        replies: &mut Replies,
    ) {
        let was_leader = self.group.leader == Some(old);
        let Some(replaced) = self.group.remove(old) else {
            return;
        };
        if let Some(to) = replaced.awaiting_join {
            replies.push(join_error(to, Some(old), ErrorCode::FencedInstanceId));
        }
        if let Some(to) = replaced.awaiting_sync {
            let generation = self.group.generation;
            let error = ErrorCode::FencedInstanceId;
            replies.push(sync_reply(to, old, generation, error, Partitions::EMPTY));
        }
        self.group.add(Member {
            assignment: replaced.assignment,
            instance: replaced.instance,
            // Still owed a SyncGroup by the instance, whichever process sends it.
            pending_sync: replaced.pending_sync,
            ..Member::joining(new, from, metadata)
        });
        if was_leader {
            self.group.leader = Some(new);
        }
    }

    /// Answers `id`'s parked JoinGroup with the current generation, if it is still parked.
    fn answer_parked_join(&mut self, id: MemberId, replies: &mut Replies) {
        let parked = self
            .group
            .member_mut(id)
            .and_then(|m| m.awaiting_join.take());
        if let Some(to) = parked {
            replies.push(self.join_reply(to, id));
        }
    }

    /// The durable write of a static member's new id is done: answer its JoinGroup, unless a
    /// rebalance has begun since (the join phase answers it then).
    pub(super) fn on_replacement_durable(
        &mut self,
        generation: Generation,
        id: MemberId,
        replies: &mut Replies,
    ) {
        if self.group.state == GroupState::Stable && self.group.generation == generation {
            self.answer_parked_join(id, replies);
        }
    }

    /// The JoinGroup answer of the current generation; only the leader sees the members. A
    /// leader answered in a Stable group (a static leader that restarted) must keep the
    /// assignment as it is (KIP-814).
    fn join_reply(&self, to: ClientAddr, id: MemberId) -> Reply {
        let is_leader = self.group.leader == Some(id);
        Reply {
            to,
            response: Response::JoinGroup {
                error: ErrorCode::None,
                generation: self.group.generation,
                protocol: self.group.protocol,
                member_id: Some(id),
                leader: self.group.leader,
                members: if is_leader {
                    self.group.members.iter().map(|m| m.id).collect()
                } else {
                    Vec::new()
                },
                claims: if is_leader {
                    let claimed = self.group.members.iter();
                    claimed.filter_map(|m| Some((m.id, m.claim?))).collect()
                } else {
                    Vec::new()
                },
                skip_assignment: is_leader && self.group.state == GroupState::Stable,
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
        // The pending-sync timer is cancelled: the new join phase answers everyone again.
        for m in &mut self.group.members {
            m.pending_sync = false;
        }
        self.group.transition_to(GroupState::PreparingRebalance);
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

    /// Ends the join phase: dynamic members that did not rejoin are removed (a static one stays,
    /// until its session expires), the leader is kept if it rejoined, the generation is bumped
    /// and every parked JoinGroup is answered.
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
            .filter(|m| m.awaiting_join.is_none() && !m.is_static())
            .map(|m| m.id)
            .collect();
        let rejoined = self.group.members.iter().any(|m| m.awaiting_join.is_some());
        for id in gone {
            self.group.remove(id);
        }
        if !rejoined && !self.group.members.is_empty() {
            // Nobody rejoined, and static members are left: the join phase waits on for them
            // (Kafka schedules the timer again).
            return;
        }
        self.group.elect_joined_leader();
        self.group.generation = self.group.generation.next();
        self.group.protocol = self.group.select_protocol();
        if self.group.members.is_empty() {
            self.group.transition_to(GroupState::Empty);
            self.group.leader = None;
            self.group.protocol = None;
            let record = self.group.metadata_record(Vec::new());
            if self.append(log, vec![record], cfg, replies) {
                self.pending.push(PendingWrite::Unawaited);
            }
            return;
        }
        self.group.transition_to(GroupState::CompletingRebalance);
        let ids: Vec<(MemberId, ClientAddr)> = self
            .group
            .members
            .iter_mut()
            .filter_map(|m| {
                m.assignment = Partitions::EMPTY;
                m.is_new = false;
                m.pending_sync = true;
                m.awaiting_join.take().map(|to| (m.id, to))
            })
            .collect();
        for (id, to) in ids {
            replies.push(self.join_reply(to, id));
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn sync_group(
        &mut self,
        from: ClientAddr,
        id: MemberId,
        instance: Option<InstanceId>,
        generation: Generation,
        assignments: &[(MemberId, Partitions)],
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let reply = |error, assignment| sync_reply(from, id, generation, error, assignment);
        let valid = self.validate_member(id, instance, generation);
        if let Err(error) = valid.and(self.not_rebalancing()) {
            replies.push(reply(error, Partitions::EMPTY));
            return;
        }
        if let Some(m) = self.group.member_mut(id) {
            m.pending_sync = false;
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
        let record = self.group.metadata_record(assignments.clone());
        if !self.append(log, vec![record], cfg, replies) {
            return;
        }
        if cfg.flaws.has(Flaw::SyncAckBeforePersist) {
            // KAFKA-2017: the members learn the assignment before it is durable.
            self.install_assignment(&assignments, replies);
            self.pending.push(PendingWrite::Unawaited);
        } else {
            self.pending.push(PendingWrite::Assignment {
                generation,
                assignments,
            });
        }
    }

    /// The leader's assignment of `generation` is durable: it takes effect, unless a rebalance
    /// has voided it since.
    pub(super) fn on_assignment_durable(
        &mut self,
        generation: Generation,
        assignments: &[(MemberId, Partitions)],
        replies: &mut Replies,
    ) {
        if self.group.state == GroupState::CompletingRebalance
            && self.group.generation == generation
        {
            self.install_assignment(assignments, replies)
        }
    }

    /// The generation's assignment takes effect: answer every parked SyncGroup, become Stable.
    fn install_assignment(
        &mut self,
        assignments: &[(MemberId, Partitions)],
        replies: &mut Replies,
    ) {
        let generation = self.group.generation;
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
        self.group.transition_to(GroupState::Stable);
    }

    /// Every request of a member after its JoinGroup (SyncGroup, Heartbeat, OffsetCommit) must
    /// come from a current member, in the current generation: this is the classic protocol's
    /// fencing (`ClassicGroup.validateMember` and the generation check beside it).
    fn validate_member(
        &self,
        id: MemberId,
        instance: Option<InstanceId>,
        generation: Generation,
    ) -> Result<(), ErrorCode> {
        self.validate_identity(id, instance)?;
        if generation != self.group.generation {
            Err(ErrorCode::IllegalGeneration)
        } else {
            Ok(())
        }
    }

    /// ClassicGroup.validateMember: a static member's instance must map to this very member id
    /// (else it has been replaced, and is fenced); and the member must be in the group.
    fn validate_identity(
        &self,
        id: MemberId,
        instance: Option<InstanceId>,
    ) -> Result<(), ErrorCode> {
        if let Some(instance) = instance {
            match self.group.static_member(instance) {
                None => return Err(ErrorCode::UnknownMemberId),
                Some(current) if current != id => return Err(ErrorCode::FencedInstanceId),
                Some(_) => {}
            }
        }
        if self.group.is_member(id) {
            Ok(())
        } else {
            Err(ErrorCode::UnknownMemberId)
        }
    }

    /// The member whose session timer `request` resets, if any: Kafka refreshes a classic
    /// member's session on its JoinGroup, SyncGroup, Heartbeat and OffsetCommit alike (a
    /// LeaveGroup ends the session instead).
    pub fn session_refreshed_by(request: &Request) -> Option<MemberId> {
        match request {
            Request::JoinGroup { member_id, .. } => *member_id,
            Request::SyncGroup { member_id, .. }
            | Request::Heartbeat { member_id, .. }
            | Request::OffsetCommit { member_id, .. } => Some(*member_id),
            Request::LeaveGroup { .. } | Request::FindCoordinator | Request::OffsetFetch { .. } => {
                None
            }
        }
    }

    /// While the join phase runs, a SyncGroup or Heartbeat of the current generation is told to
    /// rejoin.
    fn not_rebalancing(&self) -> Result<(), ErrorCode> {
        match self.group.state {
            GroupState::PreparingRebalance => Err(ErrorCode::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// The answer to a Heartbeat. Pure, so callers may ask without sending.
    pub fn heartbeat_error(&self, heartbeat: &Request, cfg: &CoreConfig) -> ErrorCode {
        let Request::Heartbeat {
            member_id,
            generation,
            instance,
        } = *heartbeat
        else {
            panic!("heartbeat_error of a {}", heartbeat.api());
        };
        self.check_serving(heartbeat, cfg)
            .and_then(|()| self.validate_member(member_id, instance, generation))
            .and(self.not_rebalancing())
            .err()
            .unwrap_or(ErrorCode::None)
    }

    /// Fails every parked JoinGroup and SyncGroup with `error`.
    pub(super) fn fail_parked(&self, error: ErrorCode, replies: &mut Replies) {
        for m in &self.group.members {
            if let Some(to) = m.awaiting_join {
                replies.push(join_error(to, Some(m.id), error));
            }
            if let Some(to) = m.awaiting_sync {
                replies.push(sync_reply(
                    to,
                    m.id,
                    self.group.generation,
                    error,
                    Partitions::EMPTY,
                ));
            }
        }
    }

    pub(super) fn leave_group(
        &mut self,
        id: MemberId,
        instance: Option<InstanceId>,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) -> ErrorCode {
        if let Some(at) = self.group.pending_members.iter().position(|p| *p == id) {
            self.group.pending_members.remove(at);
            self.maybe_complete_join(log, cfg, replies);
            return ErrorCode::None;
        }
        if let Err(error) = self.validate_identity(id, instance) {
            return error;
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
    pub(super) fn validate_offset_commit(
        &self,
        id: MemberId,
        instance: Option<InstanceId>,
        generation: Generation,
        cfg: &CoreConfig,
    ) -> Result<(), ErrorCode> {
        if cfg.flaws.has(Flaw::CommitWithoutFencing) {
            // KAFKA-2596: the offsets are written whoever sends them.
            return Ok(());
        }
        self.validate_member(id, instance, generation)?;
        match self.group.state {
            // The assignment of the new generation is not known yet; in PreparingRebalance the
            // old generation may still commit (that is how eager consumers commit on revoke).
            GroupState::CompletingRebalance => Err(ErrorCode::RebalanceInProgress),
            _ => Ok(()),
        }
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

    /// Whether the rebalance timeout would do something now (Kafka's `onCompleteJoin`): end
    /// the join phase without the members that have not rejoined, if some have; if none has,
    /// remove the dynamic ones all the same (the static ones stay, and the phase waits on).
    pub fn can_time_out_join(&self) -> bool {
        self.load == LoadState::Active
            && self.group.state == GroupState::PreparingRebalance
            && !self.group.all_members_joined()
            && (self.group.members.iter()).any(|m| m.awaiting_join.is_some() || !m.is_static())
    }

    /// Whether the pending-sync timer would remove members now (KAFKA-12890's fix): some
    /// member answered in the last join phase has not sent its SyncGroup, whether the group
    /// still completes that rebalance or is Stable already (the leader synced without it).
    pub fn can_time_out_sync(&self, cfg: &CoreConfig) -> bool {
        !cfg.flaws.has(Flaw::NoPendingSyncTimeout)
            && self.load == LoadState::Active
            && matches!(
                self.group.state,
                GroupState::CompletingRebalance | GroupState::Stable
            )
            && !self.pending_sync().is_empty()
    }

    /// The members answered in the last join phase that have not sent their SyncGroup.
    pub fn pending_sync(&self) -> Vec<MemberId> {
        let members = self.group.members.iter();
        members.filter(|m| m.pending_sync).map(|m| m.id).collect()
    }

    /// The pending-sync timer fired (the rebalance timeout after the join phase ended): the
    /// members that have not sent their SyncGroup are removed, and the group rebalances.
    pub fn pending_sync_timeout(&mut self, log: &mut dyn LogAppender, cfg: &CoreConfig) -> Replies {
        let mut replies = Vec::new();
        if self.can_time_out_sync(cfg) {
            for id in self.pending_sync() {
                self.remove_member(id, log, cfg, &mut replies);
            }
        }
        replies
    }

    /// The static members the rebalance timeout would leave out of the join phase now (it keeps
    /// them in the group). Each has gone the rebalance timeout without polling, and that is its
    /// own `max.poll.interval.ms`, whose timer started before the rebalance did: its client has
    /// given the membership up already (`Consumer::on_poll_timeout`).
    pub fn static_members_left_out(&self) -> Vec<MemberId> {
        if !self.can_time_out_join() {
            return Vec::new();
        }
        let members = self.group.members.iter();
        let left_out = members.filter(|m| m.is_static() && m.awaiting_join.is_none());
        left_out.map(|m| m.id).collect()
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
        response: Response::error_for(
            &Request::JoinGroup {
                member_id,
                protocols: Default::default(),
                claim: None,
                instance: None,
            },
            error,
        ),
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
