//! The classic group: its state, generation, leader and members (ClassicGroup in Kafka).

use crate::protocol::Small;
use crate::protocol::{
    Assignor, Assignors, ClientAddr, Generation, InstanceId, MemberId, OwnedClaim, Partitions,
    Record,
};
use serde::{Deserialize, Serialize};

/// ClassicGroupState. Valid transitions (Kafka's `ClassicGroupState` static initialiser):
/// Empty ← PreparingRebalance; PreparingRebalance ← Stable, CompletingRebalance, Empty;
/// CompletingRebalance ← PreparingRebalance; Stable ← CompletingRebalance; Dead ← any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// Whether `self → next` is a transition Kafka allows.
    pub fn can_become(self, next: GroupState) -> bool {
        use GroupState::*;
        matches!(
            (self, next),
            (PreparingRebalance, Empty)
                | (Stable | CompletingRebalance | Empty, PreparingRebalance)
                | (PreparingRebalance, CompletingRebalance)
                | (CompletingRebalance, Stable)
                | (_, Dead)
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    /// The assignment of the current generation (empty until the leader's SyncGroup is durable).
    pub assignment: Partitions,
    /// A parked JoinGroup: the member has (re)joined in this join phase.
    pub awaiting_join: Option<ClientAddr>,
    /// A parked SyncGroup waiting for the leader's assignment to become durable.
    pub awaiting_sync: Option<ClientAddr>,
    /// Joined in this join phase and not yet answered: Kafka's new-member join timeout can
    /// still remove it while its JoinGroup is parked.
    pub is_new: bool,
    /// Answered in the join phase that ended last and no SyncGroup heard from it since
    /// (Kafka's `pendingSyncMembers`): the pending-sync timer removes it, in CompletingRebalance
    /// and in Stable alike. Cleared when a rebalance begins; a loaded group has none.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_sync: bool,
    /// The protocols (assignors) its last JoinGroup offered, in its order of preference.
    pub protocols: Assignors,
    /// What its last JoinGroup said it owned, handed to the leader's assignor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<OwnedClaim>,
    /// A static member's `group.instance.id` (KIP-345).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceId>,
}

impl Member {
    pub fn new(id: MemberId) -> Member {
        Member {
            id,
            assignment: Partitions::EMPTY,
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            pending_sync: false,
            protocols: Assignors::default(),
            claim: None,
            instance: None,
        }
    }

    /// Member `id` with its JoinGroup from `from` parked, carrying `metadata`.
    pub fn joining(id: MemberId, from: ClientAddr, metadata: JoinMetadata) -> Member {
        Member {
            awaiting_join: Some(from),
            protocols: metadata.protocols,
            claim: metadata.claim,
            ..Member::new(id)
        }
    }

    pub fn is_static(&self) -> bool {
        self.instance.is_some()
    }

    /// Takes the protocol metadata of its latest JoinGroup.
    pub fn update(&mut self, metadata: JoinMetadata) {
        self.protocols = metadata.protocols;
        self.claim = metadata.claim;
    }

    /// Whether a JoinGroup with `metadata` says what its last one said (ClassicGroupMember.matches:
    /// the same protocols, each with the same subscription).
    pub fn matches(&self, metadata: JoinMetadata) -> bool {
        self.protocols == metadata.protocols && self.claim == metadata.claim
    }
}

/// The protocol metadata of a JoinGroup: the protocols it offers and, in each one's subscription,
/// what the member owned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinMetadata {
    pub protocols: Assignors,
    pub claim: Option<OwnedClaim>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Group {
    pub state: GroupState,
    pub generation: Generation,
    /// The protocol (assignor) selected for the current generation; none while Empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Assignor>,
    pub leader: Option<MemberId>,
    /// Sorted by member id.
    pub members: Small<Member, 4>,
    /// KIP-394: ids handed out with MEMBER_ID_REQUIRED whose owner has not joined with them yet.
    pub pending_members: Small<MemberId, 2>,
}

impl Group {
    /// Moves to `next`, which must be a transition Kafka allows (`ClassicGroup.transitionTo`
    /// throws otherwise): a core that attempts another is broken and must fail loudly.
    pub fn transition_to(&mut self, next: GroupState) {
        assert!(
            self.state.can_become(next),
            "illegal classic group transition {:?} -> {next:?}",
            self.state
        );
        self.state = next;
    }

    pub fn empty() -> Group {
        Group {
            state: GroupState::Empty,
            generation: Generation(0),
            protocol: None,
            leader: None,
            members: Small::new(),
            pending_members: Small::new(),
        }
    }

    pub fn member(&self, id: MemberId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    pub fn member_mut(&mut self, id: MemberId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    pub fn is_member(&self, id: MemberId) -> bool {
        self.member(id).is_some()
    }

    /// The member id an instance id maps to (ClassicGroup.staticMemberId). Kafka keeps one
    /// entry per instance, pointing at the member that joined last; should two members ever
    /// carry one instance id, that is the newest.
    pub fn static_member(&self, instance: InstanceId) -> Option<MemberId> {
        let same = self.members.iter().filter(|m| m.instance == Some(instance));
        same.map(|m| m.id).max()
    }

    /// The instance id of each static member, as the group metadata record holds them.
    pub fn instances(&self) -> Vec<(MemberId, InstanceId)> {
        let statics = self.members.iter();
        statics.filter_map(|m| Some((m.id, m.instance?))).collect()
    }

    /// The group metadata record of the current generation with `assignments`.
    pub fn metadata_record(&self, assignments: Vec<(MemberId, Partitions)>) -> Record {
        Record::GroupMetadata {
            generation: self.generation,
            protocol: self.protocol,
            leader: self.leader,
            members: assignments,
            instances: self.instances(),
        }
    }

    /// Whether a member offering `protocols` can join (ClassicGroup.supportsProtocols): an
    /// Empty group takes any non-empty list; otherwise one of them must be supported by every
    /// member.
    pub fn supports_protocols(&self, protocols: Assignors) -> bool {
        if self.state == GroupState::Empty {
            return !protocols.is_empty();
        }
        protocols.iter().any(|p| self.supported_by_all(p))
    }

    fn supported_by_all(&self, protocol: Assignor) -> bool {
        self.members.iter().all(|m| m.protocols.contains(protocol))
    }

    /// The protocol of the next generation (ClassicGroup.selectProtocol): of those every member
    /// supports, the one most members prefer; none if there is none. (Kafka breaks a tie by hash
    /// order; here the first in [`Assignor::ALL`] wins, so that runs are deterministic.)
    pub fn select_protocol(&self) -> Option<Assignor> {
        let candidates = Assignor::ALL
            .into_iter()
            .filter(|p| self.supported_by_all(*p));
        let votes = |p: Assignor| {
            let firsts = self
                .members
                .iter()
                .map(|m| m.protocols.iter().find(|c| self.supported_by_all(*c)));
            firsts.filter(|vote| *vote == Some(p)).count()
        };
        // max_by_key keeps the last of equals: reverse so the first wins.
        let candidates: Vec<Assignor> = candidates.collect();
        candidates.into_iter().rev().max_by_key(|p| votes(*p))
    }

    pub fn add(&mut self, member: Member) {
        // ClassicGroup.add: the first member to join an empty group leads it.
        if self.leader.is_none() {
            self.leader = Some(member.id);
        }
        let at = self.members.partition_point(|m| m.id < member.id);
        self.members.insert(at, member);
    }

    /// Removes a member, choosing another leader if it led (ClassicGroup.remove).
    pub fn remove(&mut self, id: MemberId) -> Option<Member> {
        let at = self.members.iter().position(|m| m.id == id)?;
        let member = self.members.remove(at);
        if self.leader == Some(id) {
            self.leader = self.members.first().map(|m| m.id);
        }
        Some(member)
    }

    /// Keeps the leader if it rejoined, else the first member that did
    /// (ClassicGroup.maybeElectNewJoinedLeader); a static member may stay in the group without
    /// having rejoined, but never leads it.
    pub fn elect_joined_leader(&mut self) {
        let joined = |id: MemberId| self.member(id).is_some_and(|m| m.awaiting_join.is_some());
        if !self.leader.is_some_and(joined) {
            let first = self.members.iter().find(|m| m.awaiting_join.is_some());
            self.leader = first.map(|m| m.id);
        }
    }

    /// Every member has rejoined and no KIP-394 pending member is outstanding.
    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.iter().all(|m| m.awaiting_join.is_some())
    }

    /// The assignment of the current generation, as the durable record would hold it.
    pub fn assignments(&self) -> Vec<(MemberId, Partitions)> {
        self.members.iter().map(|m| (m.id, m.assignment)).collect()
    }
}
