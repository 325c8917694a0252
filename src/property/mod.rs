//! The named properties, each written once: its name, what it says, and the judgements that
//! decide it. The model's state checks, the trace explanations, the runtime's history and state
//! checks and the loom scenarios all call these.
//!
//! A property judges what every protocol has, not how one protocol keeps it: the generation and
//! members the coordinator counts, what each consumer claims to own ([`GroupView`]), the state a
//! coordinator holds against the replay of its log ([`replay_difference`]), and what a success
//! response reveals against the durable log ([`reply`]).

pub mod reply;

use crate::consumer::Consumer;
use crate::coordinator::replay::{replay, Snapshot};
use crate::coordinator::{Coordinator, Group, GroupState, LoadState};
use crate::protocol::{
    ErrorCode, Generation, InstanceId, LeaderEpoch, MemberId, Offset, Partition, Partitions,
    Record, Request, Response,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A named property of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    SingleOwner,
    AssignmentIsFunction,
    NoZombieCommit,
    NoLostCommit,
    DurableBeforeAck,
    ReplayEquivalence,
    GenerationMonotonic,
    NonMemberFenced,
    MemberNotFenced,
    /// Checked only where members are static.
    StaticInstanceUnique,
    /// Checked only where consumers change their assignors (a rolling upgrade).
    GroupProtocolSupported,
    NoUnexpectedError,
    Convergence,
    /// Judged on the state graph (fair cycles), not state by state.
    Liveness,
}

impl Property {
    /// The safety properties, checked in every reachable state, in report order.
    pub const ALWAYS: [Property; 13] = [
        Property::SingleOwner,
        Property::AssignmentIsFunction,
        Property::NoZombieCommit,
        Property::NoLostCommit,
        Property::DurableBeforeAck,
        Property::ReplayEquivalence,
        Property::GenerationMonotonic,
        Property::NonMemberFenced,
        Property::MemberNotFenced,
        Property::StaticInstanceUnique,
        Property::GroupProtocolSupported,
        Property::NoUnexpectedError,
        Property::Convergence,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Property::SingleOwner => "single_owner",
            Property::AssignmentIsFunction => "assignment_is_function",
            Property::NoZombieCommit => "no_zombie_commit",
            Property::NoLostCommit => "no_lost_commit",
            Property::DurableBeforeAck => "durable_before_ack",
            Property::ReplayEquivalence => "replay_equivalence",
            Property::GenerationMonotonic => "generation_monotonic",
            Property::NonMemberFenced => "non_member_fenced",
            Property::MemberNotFenced => "member_not_fenced",
            Property::StaticInstanceUnique => "static_instance_unique",
            Property::GroupProtocolSupported => "group_protocol_supported",
            Property::NoUnexpectedError => "no_unexpected_error",
            Property::Convergence => "convergence",
            Property::Liveness => "liveness",
        }
    }

    /// The property of that name, if there is one.
    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALWAYS
            .into_iter()
            .chain([Property::Liveness])
            .find(|p| p.name() == name)
    }

    /// What the property says, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            Property::SingleOwner => {
                "no partition is owned by two live consumers that the coordinator both counts as members, whatever generation each is in"
            }
            Property::AssignmentIsFunction => {
                "every assignment gives each partition to at most one member, and a Stable group with members gives every partition to exactly one"
            }
            Property::NoZombieCommit => {
                "every offset commit that becomes durable came from a member of the durable generation that was assigned the partition"
            }
            Property::NoLostCommit => {
                "every acknowledged commit stays in the durable log, and no coordinator serves an offset below it"
            }
            Property::DurableBeforeAck => {
                "no success response reveals an assignment or offset that is not durable"
            }
            Property::ReplayEquivalence => {
                "a serving coordinator at rest holds exactly the replay of its durable log"
            }
            Property::GenerationMonotonic => {
                "the durable generation never decreases, and the serving coordinator is never behind it"
            }
            Property::NonMemberFenced => {
                "a request that speaks for a member id the group does not know (neither a member nor a pending one) is refused by a serving coordinator and changes neither the coordinator nor the log"
            }
            Property::MemberNotFenced => {
                "a request that speaks for a member id the group knows (a member, or a pending one) is never answered UNKNOWN_MEMBER_ID by a serving coordinator: only a member the group has removed is fenced as unknown"
            }
            Property::StaticInstanceUnique => {
                "no two members of a group, as a coordinator holds it or as its log records it, have the same group.instance.id"
            }
            Property::GroupProtocolSupported => {
                "a group that completes a rebalance or is Stable runs a protocol (assignor) that every member offered in its JoinGroup"
            }
            Property::NoUnexpectedError => {
                "every answer a coordinator sends a consumer carries an error the Java client's handler of that request knows (any other is an unexpected error: a KafkaException for the application, or a failed heartbeat)"
            }
            Property::Convergence => {
                "once nothing but faults can happen, the group is Stable with every partition owned by exactly one live member"
            }
            Property::Liveness => {
                "after the last fault, every fair execution reaches a converged group (weak fairness of the protocol's own steps)"
            }
        }
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// --------------------------------------------------------------------------------------------
// single_owner and assignment_is_function

/// A consumer's claim to be a member that owns partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Which consumer (its index), for the explanation.
    pub consumer: usize,
    pub member: MemberId,
    /// The generation (classic) or member epoch it believes it holds its partitions in.
    pub generation: Generation,
    pub owned: Partitions,
    /// Settled in its generation with nothing in flight.
    pub at_rest: bool,
}

/// A member as the coordinator counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberView {
    pub id: MemberId,
    /// The generation (classic: the group's) or member epoch the coordinator holds it in.
    pub generation: Generation,
    /// What the coordinator has assigned it.
    pub assigned: Partitions,
}

impl Claim {
    /// What consumer number `index` claims, if it believes it is a member.
    pub fn of(index: usize, c: &Consumer) -> Option<Claim> {
        Some(Claim {
            consumer: index,
            member: c.member_id?,
            generation: c.generation?,
            owned: c.owned,
            at_rest: c.is_at_rest(),
        })
    }
}

/// The group as a property sees it, whatever the protocol: the members the coordinator counts,
/// each with its generation or epoch and its assignment, and what each running consumer claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupView {
    pub members: Vec<MemberView>,
    pub claims: Vec<Claim>,
}

/// Two consumers the coordinator counts as members that own one partition: single_owner broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoubleOwner {
    pub partition: Partition,
    pub first: Claim,
    pub second: Claim,
}

impl GroupView {
    /// The view of a group a coordinator holds, with the consumers' claims.
    pub fn of(group: &Group, claims: Vec<Claim>) -> GroupView {
        let members = group.members.iter().map(|m| (m.id, m.assignment));
        GroupView::classic(group.generation, members, claims)
    }

    /// A classic group's view: every member is held in the group's generation.
    pub fn classic(
        generation: Generation,
        members: impl Iterator<Item = (MemberId, Partitions)>,
        claims: Vec<Claim>,
    ) -> GroupView {
        let members = members
            .map(|(id, assigned)| MemberView {
                id,
                generation,
                assigned,
            })
            .collect();
        GroupView { members, claims }
    }

    /// Whether the coordinator counts `member` in `generation`.
    pub fn counts(&self, member: MemberId, generation: Generation) -> bool {
        self.members
            .iter()
            .any(|m| m.id == member && m.generation == generation)
    }

    /// Whether the coordinator counts `member` as a member, in whatever generation.
    pub fn is_member(&self, member: MemberId) -> bool {
        self.members.iter().any(|m| m.id == member)
    }

    /// single_owner's judgement: the first partition owned by two consumers whose members the
    /// coordinator counts, whatever generation each believes it is in (a member still in the
    /// previous generation, before it learns of the rebalance, owns what it owned).
    pub fn double_owner(&self) -> Option<DoubleOwner> {
        let counted: Vec<&Claim> = self
            .claims
            .iter()
            .filter(|c| self.is_member(c.member))
            .collect();
        for (i, a) in counted.iter().enumerate() {
            for b in &counted[i + 1..] {
                if let Some(partition) = a.owned.intersection(b.owned).iter().next() {
                    return Some(DoubleOwner {
                        partition,
                        first: **a,
                        second: **b,
                    });
                }
            }
        }
        None
    }
}

impl fmt::Display for DoubleOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = (self.first, self.second);
        if a.generation == b.generation {
            return write!(
                f,
                "consumer-{} ({}) and consumer-{} ({}) both own p{} as members of generation {}",
                a.consumer, a.member, b.consumer, b.member, self.partition, a.generation
            );
        }
        write!(
            f,
            "consumer-{} ({}, in generation {}) and consumer-{} ({}, in generation {}) both own p{}, and the group counts both as members",
            a.consumer, a.member, a.generation, b.consumer, b.member, b.generation, self.partition
        )
    }
}

/// assignment_is_function's judgement of one assignment: the first partition given to two
/// members, and to whom.
pub fn first_overlap(sets: &[(MemberId, Partitions)]) -> Option<(Partition, MemberId, MemberId)> {
    for (i, (m, a)) in sets.iter().enumerate() {
        for (n, b) in &sets[i + 1..] {
            if let Some(p) = a.intersection(*b).iter().next() {
                return Some((p, *m, *n));
            }
        }
    }
    None
}

// --------------------------------------------------------------------------------------------
// replay_equivalence

/// A coordinator at rest whose state is not the replay of its durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayDifference {
    pub broker: crate::protocol::BrokerId,
    pub state: GroupState,
    pub held: Snapshot,
    pub replayed: Snapshot,
}

// --------------------------------------------------------------------------------------------
// non_member_fenced

/// non_member_fenced's situation: `request` speaks for a member id that `group` knows neither
/// as a member nor as a pending one (KIP-394): a zombie's Heartbeat, SyncGroup, OffsetCommit
/// or LeaveGroup, or a JoinGroup with a member id the group has forgotten. Kafka refuses it
/// (UNKNOWN_MEMBER_ID, or FENCED_INSTANCE_ID for a static member's old process; a loading
/// coordinator answers a Heartbeat NONE, blindly) and nothing changes: a zombie can neither
/// rebalance the group nor write to its log. A JoinGroup without a member id is a new member,
/// or a static member's new process, and may change the group.
pub fn from_non_member(group: &Group, request: &Request) -> bool {
    request.member_id().is_some_and(|id| !knows(group, id))
}

/// Whether `group` knows `id`, as a member or as a pending one (KIP-394).
fn knows(group: &Group, id: MemberId) -> bool {
    group.is_member(id) || group.pending_members.contains(&id)
}

/// non_member_fenced's judgement of the step where coordinator `before` took a non-member's
/// request and became `after`, writing to the log if `wrote` and sending `answers`: what it did
/// that it must not, in words (empty: the request was fenced). A loading coordinator answers
/// every Heartbeat NONE, blindly, as Kafka's does: only a serving one's success is a breach.
pub fn unfenced<'a>(
    before: &Coordinator,
    after: &Coordinator,
    wrote: bool,
    answers: impl IntoIterator<Item = &'a Response>,
) -> Vec<String> {
    let (was, is) = (&before.group, &after.group);
    let mut done = Vec::new();
    if (was.state, was.generation) != (is.state, is.generation) {
        done.push(format!(
            "took the group from {:?} in generation {} to {:?} in generation {}",
            was.state, was.generation, is.state, is.generation
        ));
    }
    let ids = |g: &Group| -> Vec<MemberId> { g.members.iter().map(|m| m.id).collect() };
    if ids(was) != ids(is) {
        done.push(format!(
            "changed its members from {:?} to {:?}",
            ids(was),
            ids(is)
        ));
    }
    if wrote {
        done.push("wrote to the offsets log".into());
    }
    let serving = before.load == LoadState::Active;
    if serving && answers.into_iter().any(|r| r.error() == ErrorCode::None) {
        done.push("answered it with success".into());
    }
    if done.is_empty() && before != after {
        done.push("changed its state".into());
    }
    done
}

// --------------------------------------------------------------------------------------------
// member_not_fenced

/// member_not_fenced's situation: serving coordinator `c` takes `request`, which speaks for a
/// member id its group knows (a member, or a pending one). Such a request is never answered
/// UNKNOWN_MEMBER_ID: fencing is for members the group has removed (expired, left, replaced,
/// timed out of a rebalance). A known member told it is unknown forgets its id and rejoins as a
/// new member, a rebalance nobody needed, while its old id lingers in the group until its
/// session expires; a pending member told so after its LeaveGroup stays pending, and its
/// JoinGroup, arriving later, makes it a member nobody runs.
pub fn from_known_member(c: &Coordinator, request: &Request) -> bool {
    c.load == LoadState::Active && request.member_id().is_some_and(|id| knows(&c.group, id))
}

/// member_not_fenced's judgement of `answer`, sent back on the connection a known member's
/// `request` came on: whether it tells that request UNKNOWN_MEMBER_ID. (A request the same
/// client parked earlier, a JoinGroup its LeaveGroup ends, may be answered so.)
pub fn told_unknown(request: &Request, answer: &Response) -> bool {
    let unknown = ErrorCode::UnknownMemberId;
    // The kind of answer `request` gets, as the core writes one.
    let kind = |r: &Response| std::mem::discriminant(r);
    answer.error() == unknown && kind(answer) == kind(&Response::error_for(request, unknown))
}

// --------------------------------------------------------------------------------------------
// group_protocol_supported

/// group_protocol_supported's judgement of one group, in words: a generation past its join
/// phase (CompletingRebalance or Stable) must run a protocol every member offered, or its
/// leader has no assignor to run and a member cannot read its assignment.
pub fn unsupported_protocol(group: &Group) -> Option<String> {
    if !matches!(
        group.state,
        GroupState::CompletingRebalance | GroupState::Stable
    ) {
        return None;
    }
    let Some(protocol) = group.protocol else {
        return Some(format!(
            "generation {} is {:?} with no protocol that every member supports",
            group.generation, group.state
        ));
    };
    let mut members = group.members.iter();
    let m = members.find(|m| !m.protocols.contains(protocol))?;
    Some(format!(
        "generation {} runs {} but {} offered {}",
        group.generation,
        protocol.wire_name(),
        m.id,
        m.protocols
    ))
}

// --------------------------------------------------------------------------------------------
// static_instance_unique

/// Two members with one `group.instance.id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedInstance {
    pub instance: InstanceId,
    pub first: MemberId,
    pub second: MemberId,
}

/// static_instance_unique's judgement of one member list (a coordinator's group, or a group
/// metadata record): the first instance id two members share.
pub fn shared_instance(instances: &[(MemberId, InstanceId)]) -> Option<SharedInstance> {
    instances
        .iter()
        .enumerate()
        .find_map(|(i, (first, instance))| {
            let mut later = instances[i + 1..].iter();
            later
                .find(|(_, other)| other == instance)
                .map(|(second, _)| SharedInstance {
                    instance: *instance,
                    first: *first,
                    second: *second,
                })
        })
}

impl fmt::Display for SharedInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} and {} as members with one instance id, {}",
            self.first, self.second, self.instance
        )
    }
}

/// replay_equivalence's judgement of one coordinator: when it serves the current leader epoch
/// and is at rest (Stable or Empty, no write pending), the state it holds must be the replay of
/// the durable log.
pub fn replay_difference(
    c: &Coordinator,
    leader_epoch: LeaderEpoch,
    durable: &[Record],
    partitions: u8,
) -> Option<ReplayDifference> {
    let at_rest = c.load == LoadState::Active
        && c.epoch == leader_epoch
        && c.pending.is_empty()
        && matches!(c.group.state, GroupState::Stable | GroupState::Empty);
    if !at_rest {
        return None;
    }
    let replayed = replay(partitions, durable);
    let held = Snapshot {
        generation: c.group.generation,
        protocol: c.group.protocol,
        leader: c.group.leader,
        members: c.group.assignments(),
        instances: c.group.instances(),
        offsets: c.offsets.clone(),
    };
    (held != replayed).then(|| ReplayDifference {
        broker: c.broker,
        state: c.group.state,
        held,
        replayed,
    })
}

impl fmt::Display for ReplayDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, r) = (&self.held, &self.replayed);
        let mut diffs = Vec::new();
        if h.generation != r.generation {
            diffs.push(format!(
                "generation {} instead of {}",
                h.generation, r.generation
            ));
        }
        if h.protocol != r.protocol {
            let name = |p: Option<crate::protocol::Assignor>| p.map_or("none", |p| p.wire_name());
            diffs.push(format!(
                "protocol {} instead of {}",
                name(h.protocol),
                name(r.protocol)
            ));
        }
        if h.leader != r.leader {
            let name = |m: Option<MemberId>| m.map_or("none".to_string(), |m| m.to_string());
            diffs.push(format!(
                "leader {} instead of {}",
                name(h.leader),
                name(r.leader)
            ));
        }
        if h.members != r.members {
            diffs.push(format!(
                "members {} instead of {}",
                members_line(&h.members),
                members_line(&r.members)
            ));
        }
        if h.instances != r.instances {
            let line = |is: &[(MemberId, crate::protocol::InstanceId)]| {
                let named: Vec<String> = is.iter().map(|(m, i)| format!("{i}:{m}")).collect();
                format!("[{}]", named.join(" "))
            };
            diffs.push(format!(
                "static members {} instead of {}",
                line(&h.instances),
                line(&r.instances)
            ));
        }
        if h.offsets != r.offsets {
            diffs.push(format!(
                "offsets {} instead of {}",
                offsets_line(&h.offsets),
                offsets_line(&r.offsets)
            ));
        }
        write!(
            f,
            "broker-{} is {:?} with {}: replaying its durable log gives the latter",
            self.broker,
            self.state,
            diffs.join(", ")
        )
    }
}

/// An offset as the explanations print it.
pub fn offset_text(o: Option<Offset>) -> String {
    o.map(|o| o.to_string()).unwrap_or_else(|| "nothing".into())
}

/// Offsets per partition as the explanations print them: `p0@1 p1@nothing`.
pub fn offsets_line(offsets: &[Option<Offset>]) -> String {
    let parts: Vec<String> = offsets
        .iter()
        .enumerate()
        .map(|(p, o)| format!("p{p}@{}", offset_text(*o)))
        .collect();
    parts.join(" ")
}

fn members_line(members: &[(MemberId, Partitions)]) -> String {
    let parts: Vec<String> = members.iter().map(|(m, ps)| format!("{m}:{ps}")).collect();
    format!("[{}]", parts.join(" "))
}
