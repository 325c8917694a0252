//! Scenario tests of the coordinator core: one rule of Kafka's ClassicGroup coordinator per test.
//!
//! Every test names the rule it pins and cites, in a one-line comment, where the rule is stated
//! in `docs/protocol.md` (sections 1.1–1.9) or, for the flaws, in `src/flaw.rs`.
//! Consumer `c` talks on `ClientAddr { consumer: c, incarnation: 0 }`; consumer 0 is an admin
//! client that only fetches offsets.

use groupcheck::assignor::Assignor;
use groupcheck::consumer;
use groupcheck::coordinator::replay::{self, SEGMENT_RECORDS};
use groupcheck::coordinator::{Coordinator, CoreConfig, GroupState, LoadState, PendingWrite};
use groupcheck::flaw::{Flaw, Flaws};
use groupcheck::offsets_log::OffsetsLog;
use groupcheck::protocol::{
    Assignors, BrokerId, ClientAddr, ConsumerId, ErrorCode, Generation, InstanceId, LeaderEpoch,
    MemberId, Offset, Partition, Partitions, Record, Reply, Request, Response,
};

const PARTITIONS: u8 = 2;
const RANGE: Assignors = Assignors::one(Assignor::Range);
const ADMIN: u8 = 0;
/// A member id no coordinator in these tests ever hands out.
const STRANGER: MemberId = MemberId {
    epoch: LeaderEpoch(9),
    seq: 9,
};

fn config(flaws: Flaws) -> CoreConfig {
    CoreConfig {
        partitions: PARTITIONS,
        assignor: Assignor::Range,
        flaws,
    }
}

fn addr(consumer: u8) -> ClientAddr {
    ClientAddr {
        consumer: ConsumerId(consumer),
        incarnation: 0,
        connection: 0,
    }
}

fn all() -> Partitions {
    Partitions::all(PARTITIONS)
}

/// The one reply addressed to `consumer`.
fn reply_to(replies: &[Reply], consumer: u8) -> &Response {
    let mut to = replies.iter().filter(|r| r.to == addr(consumer));
    let reply = to
        .next()
        .unwrap_or_else(|| panic!("no reply to consumer {consumer} in {replies:?}"));
    assert!(
        to.next().is_none(),
        "two replies to consumer {consumer} in {replies:?}"
    );
    &reply.response
}

fn join_ok(
    generation: impl Into<Generation>,
    id: MemberId,
    leader: MemberId,
    members: &[MemberId],
) -> Response {
    let generation: Generation = generation.into();
    Response::JoinGroup {
        skip_assignment: false,
        error: ErrorCode::None,
        generation,
        protocol: Some(Assignor::Range),
        member_id: Some(id),
        leader: Some(leader),
        members: members.to_vec(),
        claims: Vec::new(),
    }
}

fn join_error(id: Option<MemberId>, error: ErrorCode) -> Response {
    Response::error_for(
        &Request::JoinGroup {
            protocols: RANGE,
            instance: None,
            member_id: id,
            claim: None,
        },
        error,
    )
}

fn sync_reply(
    error: ErrorCode,
    id: MemberId,
    generation: impl Into<Generation>,
    assignment: Partitions,
) -> Response {
    let generation: Generation = generation.into();
    Response::SyncGroup {
        error,
        member_id: id,
        generation,
        assignment,
    }
}

fn committed(error: ErrorCode, offsets: &[(Partition, Offset)]) -> Response {
    Response::OffsetCommit {
        error,
        offsets: offsets.to_vec(),
    }
}

fn reply(consumer: u8, response: Response) -> Reply {
    Reply {
        to: addr(consumer),
        response,
    }
}

/// One request of every group API, from `id` at `generation`.
fn every_group_api(id: MemberId, generation: impl Into<Generation>) -> Vec<Request> {
    let generation: Generation = generation.into();
    vec![
        Request::JoinGroup {
            protocols: RANGE,
            instance: None,
            member_id: None,
            claim: None,
        },
        Request::JoinGroup {
            protocols: RANGE,
            instance: None,
            member_id: Some(id),
            claim: None,
        },
        Request::SyncGroup {
            instance: None,
            member_id: id,
            generation,
            assignments: vec![(id, all())],
        },
        Request::Heartbeat {
            instance: None,
            member_id: id,
            generation,
        },
        Request::LeaveGroup {
            instance: None,
            member_id: id,
        },
        Request::OffsetCommit {
            instance: None,
            member_id: id,
            generation,
            offsets: vec![(0, 1)],
        },
        Request::OffsetFetch { partitions: all() },
    ]
}

/// A coordinator, its `__consumer_offsets` partition and the configuration.
struct Harness {
    coord: Coordinator,
    log: OffsetsLog,
    cfg: CoreConfig,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_flaws(Flaws::NONE)
    }

    fn with_flaw(flaw: Flaw) -> Harness {
        Harness::with_flaws(Flaws::NONE.with(flaw))
    }

    /// Broker 0 leads epoch 0 of an empty log and coordinates a brand-new group.
    fn with_flaws(flaws: Flaws) -> Harness {
        let cfg = config(flaws);
        Harness {
            coord: Coordinator::active(BrokerId(0), LeaderEpoch(0), &cfg),
            log: OffsetsLog::new(BrokerId(0)),
            cfg,
        }
    }

    fn snapshot(&self) -> (Coordinator, OffsetsLog) {
        (self.coord.clone(), self.log.clone())
    }

    fn state(&self) -> GroupState {
        self.coord.group.state
    }

    fn generation(&self) -> u32 {
        self.coord.group.generation.0
    }

    fn member_ids(&self) -> Vec<MemberId> {
        self.coord.group.members.iter().map(|m| m.id).collect()
    }

    fn is_member(&self, id: MemberId) -> bool {
        self.coord.group.is_member(id)
    }

    fn send(&mut self, consumer: u8, request: Request) -> Vec<Reply> {
        self.coord
            .handle(addr(consumer), &request, &mut self.log, &self.cfg)
    }

    /// Sends a request that is answered at once, with exactly one reply, to its sender.
    fn ask(&mut self, consumer: u8, request: Request) -> Response {
        let mut replies = self.send(consumer, request);
        assert_eq!(replies.len(), 1, "expected one reply, got {replies:?}");
        let reply = replies.remove(0);
        assert_eq!(reply.to, addr(consumer));
        reply.response
    }

    /// The first half of the KIP-394 round trip: MEMBER_ID_REQUIRED with a fresh id.
    fn member_id(&mut self, consumer: u8) -> MemberId {
        match self.ask(
            consumer,
            Request::JoinGroup {
                protocols: RANGE,
                instance: None,
                member_id: None,
                claim: None,
            },
        ) {
            Response::JoinGroup {
                error: ErrorCode::MemberIdRequired,
                member_id: Some(id),
                ..
            } => id,
            other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
        }
    }

    fn join_with(&mut self, consumer: u8, id: MemberId) -> Vec<Reply> {
        self.send(
            consumer,
            Request::JoinGroup {
                protocols: RANGE,
                instance: None,
                member_id: Some(id),
                claim: None,
            },
        )
    }

    /// The whole KIP-394 round trip; whatever the second JoinGroup completes is dropped.
    fn join(&mut self, consumer: u8) -> MemberId {
        let id = self.member_id(consumer);
        self.join_with(consumer, id);
        id
    }

    fn sync(
        &mut self,
        consumer: u8,
        id: MemberId,
        generation: impl Into<Generation>,
        assignments: Vec<(MemberId, Partitions)>,
    ) -> Vec<Reply> {
        let generation: Generation = generation.into();
        self.send(
            consumer,
            Request::SyncGroup {
                instance: None,
                member_id: id,
                generation,
                assignments,
            },
        )
    }

    /// A Heartbeat: answered at once, the same as the pure `heartbeat_error`, changing nothing.
    fn heartbeat(
        &mut self,
        consumer: u8,
        id: MemberId,
        generation: impl Into<Generation>,
    ) -> ErrorCode {
        let generation: Generation = generation.into();
        let before = self.snapshot();
        let heartbeat = Request::Heartbeat {
            member_id: id,
            generation,
            instance: None,
        };
        let pure = self.coord.heartbeat_error(&heartbeat, &self.cfg);
        let answered = self.ask(consumer, heartbeat);
        assert_eq!(answered, Response::Heartbeat { error: pure });
        assert_eq!(self.snapshot(), before, "a Heartbeat changes nothing");
        pure
    }

    fn leave(&mut self, consumer: u8, id: MemberId) -> Vec<Reply> {
        self.send(
            consumer,
            Request::LeaveGroup {
                instance: None,
                member_id: id,
            },
        )
    }

    fn commit(
        &mut self,
        consumer: u8,
        id: MemberId,
        generation: impl Into<Generation>,
        offsets: &[(Partition, Offset)],
    ) -> Vec<Reply> {
        let generation: Generation = generation.into();
        self.send(
            consumer,
            Request::OffsetCommit {
                instance: None,
                member_id: id,
                generation,
                offsets: offsets.to_vec(),
            },
        )
    }

    /// The committed offsets the coordinator serves, for every partition.
    fn fetch(&mut self) -> Vec<(Partition, Option<Offset>)> {
        match self.ask(ADMIN, Request::OffsetFetch { partitions: all() }) {
            Response::OffsetFetch {
                error: ErrorCode::None,
                offsets,
            } => offsets,
            other => panic!("OffsetFetch failed: {other:?}"),
        }
    }

    /// The high watermark passes the oldest appended batch.
    fn durable(&mut self) -> Vec<Reply> {
        assert!(self.log.replicate_one(), "no batch to make durable");
        self.coord.on_batch_durable()
    }

    /// Every appended batch becomes durable.
    fn drain(&mut self) -> Vec<Reply> {
        let mut replies = Vec::new();
        while self.log.replicate_one() {
            replies.extend(self.coord.on_batch_durable());
        }
        replies
    }

    fn expire(&mut self, id: MemberId) -> Vec<Reply> {
        self.coord.expire_session(id, &mut self.log, &self.cfg)
    }

    fn time_out_join(&mut self) -> Vec<Reply> {
        self.coord.rebalance_timeout(&mut self.log, &self.cfg)
    }

    /// Consumers 1 and 2 complete one join phase (generation 1), not yet synced.
    fn joined_pair(&mut self) -> (MemberId, MemberId) {
        let (a, b) = (self.member_id(1), self.member_id(2));
        self.join_with(1, a);
        self.join_with(2, b);
        assert_eq!(
            (self.state(), self.generation()),
            (GroupState::CompletingRebalance, 1)
        );
        (a, b)
    }

    /// A Stable group of consumers `1..=n` at generation 1: each gets its id first, so one join
    /// phase takes them all; the leader (consumer 1) syncs the range assignment and it is durable.
    fn stable_group(&mut self, n: u8) -> Vec<MemberId> {
        let ids: Vec<MemberId> = (1..=n).map(|c| self.member_id(c)).collect();
        for (c, id) in (1..=n).zip(&ids) {
            self.join_with(c, *id);
        }
        assert_eq!(self.state(), GroupState::CompletingRebalance);
        let generation = self.generation();
        for (c, id) in (2..=n).zip(&ids[1..]) {
            assert!(self.sync(c, *id, generation, Vec::new()).is_empty());
        }
        let assignment = self.cfg.assignor.assign_members(&ids, PARTITIONS);
        assert!(self.sync(1, ids[0], generation, assignment).is_empty());
        assert_eq!(self.durable().len(), n as usize);
        assert_eq!(self.state(), GroupState::Stable);
        ids
    }

    fn stable_pair(&mut self) -> (MemberId, MemberId) {
        let ids = self.stable_group(2);
        (ids[0], ids[1])
    }

    /// Broker 1 is elected (truncating what was not durable) and loads the durable log; it
    /// replaces the old coordinator in the harness.
    fn fail_over(&mut self) {
        self.log.elect(BrokerId(1));
        let mut next = Coordinator::idle(BrokerId(1), &self.cfg);
        assert!(next
            .start_loading(self.log.leader_epoch, &self.cfg)
            .is_empty());
        assert_eq!(next.load, LoadState::Loading);
        next.finish_loading(&self.log.durable, &self.cfg);
        self.coord = next;
    }
}

// ------------------------------------------------------------------------------------------------
// JoinGroup

// docs/protocol.md §1.3 JoinGroup (KIP-394): an empty member id gets MEMBER_ID_REQUIRED and a fresh id put in pendingMembers.
#[test]
fn join_without_member_id_answers_member_id_required_with_a_fresh_pending_id() {
    let mut h = Harness::new();
    let a = match h.ask(
        1,
        Request::JoinGroup {
            protocols: RANGE,
            instance: None,
            member_id: None,
            claim: None,
        },
    ) {
        Response::JoinGroup {
            error: ErrorCode::MemberIdRequired,
            generation: Generation(0),
            member_id: Some(id),
            leader: None,
            members,
            ..
        } if members.is_empty() => id,
        other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
    };
    let b = h.member_id(2);
    assert_ne!(a, b, "every id handed out is fresh");
    assert_eq!(h.coord.group.pending_members.as_slice(), [a, b]);
    assert!(h.coord.group.members.is_empty());
    assert_eq!(
        (h.state(), h.generation(), h.coord.group.leader),
        (GroupState::Empty, 0, None)
    );
    assert!(h.log.uncommitted.is_empty());
}

// docs/protocol.md §1.5 (ClassicGroup.add: the first joiner leads) and 1.2 (completeClassicGroupJoin: generation++, → CompletingRebalance, leader sees the members).
#[test]
fn joining_with_the_handed_out_id_adds_the_member_as_leader_and_completes_the_join_phase() {
    let mut h = Harness::new();
    let a = h.member_id(1);
    let replies = h.join_with(1, a);
    assert_eq!(replies, vec![reply(1, join_ok(1, a, a, &[a]))]);
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    assert_eq!(h.generation(), 1);
    assert_eq!(h.coord.group.leader, Some(a));
    assert_eq!(h.member_ids(), vec![a]);
    assert!(h.coord.group.pending_members.is_empty());
    // GroupMetadata is written by the leader's SyncGroup, not at the end of the join phase.
    assert!(h.log.uncommitted.is_empty());
}

// docs/protocol.md §1.2 prepareRebalance/hasAllMembersJoined (pending members count) and 1.5 (only the leader's JoinGroup response carries the members).
#[test]
fn the_join_phase_waits_for_every_pending_member_and_only_the_leader_sees_the_members() {
    let mut h = Harness::new();
    let (a, b) = (h.member_id(1), h.member_id(2));
    assert!(h.join_with(1, a).is_empty(), "parked until b has joined");
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 0)
    );
    let replies = h.join_with(2, b);
    assert_eq!(replies.len(), 2);
    assert_eq!(reply_to(&replies, 1), &join_ok(1, a, a, &[a, b]));
    assert_eq!(reply_to(&replies, 2), &join_ok(1, b, a, &[]));
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

// docs/protocol.md §1.3 JoinGroup, known member: validateMember / Empty group → UNKNOWN_MEMBER_ID.
#[test]
fn join_with_an_unknown_member_id_is_unknown_member_id_and_changes_nothing() {
    let mut empty = Harness::new();
    let mut stable = Harness::new();
    stable.stable_pair();
    for h in [&mut empty, &mut stable] {
        let before = h.snapshot();
        let answer = h.ask(
            3,
            Request::JoinGroup {
                protocols: RANGE,
                instance: None,
                member_id: Some(STRANGER),
                claim: None,
            },
        );
        assert_eq!(
            answer,
            join_error(Some(STRANGER), ErrorCode::UnknownMemberId)
        );
        assert_eq!(h.snapshot(), before);
    }
}

// docs/protocol.md §1.2 Stable: "JoinGroup from the leader always triggers a rebalance" (KIP-423 trigger 3).
#[test]
fn a_leader_join_group_in_stable_starts_a_rebalance() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    assert!(h.join_with(1, a).is_empty(), "the leader's JoinGroup parks");
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 1)
    );
    assert_eq!(
        h.coord.group.member(a).unwrap().awaiting_join,
        Some(addr(1))
    );
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::RebalanceInProgress);
    let replies = h.join_with(2, b);
    assert_eq!(reply_to(&replies, 1), &join_ok(2, a, a, &[a, b]));
    assert_eq!(reply_to(&replies, 2), &join_ok(2, b, a, &[]));
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    assert!(h
        .coord
        .group
        .members
        .iter()
        .all(|m| m.assignment.is_empty()));
}

// docs/protocol.md §1.2 Stable: a JoinGroup from a follower with identical metadata returns the current generation (no rebalance).
#[test]
fn a_follower_join_group_in_stable_gets_the_current_generation_without_a_rebalance() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    let before = h.snapshot();
    assert_eq!(
        h.ask(
            2,
            Request::JoinGroup {
                protocols: RANGE,
                instance: None,
                member_id: Some(b),
                claim: None
            }
        ),
        join_ok(1, b, a, &[])
    );
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.2 CompletingRebalance: only a new member, changed metadata, leave or failure rebalances; a rejoin with the same metadata gets the current generation.
#[test]
fn a_join_group_in_completing_rebalance_returns_the_current_generation() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    let before = h.snapshot();
    assert_eq!(
        h.ask(
            1,
            Request::JoinGroup {
                protocols: RANGE,
                instance: None,
                member_id: Some(a),
                claim: None
            }
        ),
        join_ok(1, a, a, &[a, b])
    );
    assert_eq!(
        h.ask(
            2,
            Request::JoinGroup {
                protocols: RANGE,
                instance: None,
                member_id: Some(b),
                claim: None
            }
        ),
        join_ok(1, b, a, &[])
    );
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.2 (KIP-423 trigger 1): a new member joining a Stable group starts a rebalance; handing out its id alone does not.
#[test]
fn a_new_member_joining_a_stable_group_starts_a_rebalance() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    let c = h.member_id(3);
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::None);
    assert!(h.join_with(3, c).is_empty());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.member_ids(), vec![a, b, c]);
    assert_eq!(h.coord.group.leader, Some(a));
    assert!(h.join_with(1, a).is_empty());
    let replies = h.join_with(2, b);
    assert_eq!(replies.len(), 3);
    assert_eq!(reply_to(&replies, 1), &join_ok(2, a, a, &[a, b, c]));
    assert_eq!(reply_to(&replies, 3), &join_ok(2, c, a, &[]));
}

// ------------------------------------------------------------------------------------------------
// SyncGroup

// docs/protocol.md §1.1 (S7: SyncGroup completes only in the append callback) and 1.2 (the leader's SyncGroup appends GroupMetadata; → Stable when it succeeds).
#[test]
fn leader_sync_appends_group_metadata_and_sync_replies_wait_until_it_is_durable() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    assert!(
        h.sync(2, b, 1, Vec::new()).is_empty(),
        "a follower's SyncGroup parks"
    );
    assert_eq!(
        h.coord.group.member(b).unwrap().awaiting_sync,
        Some(addr(2))
    );
    let assignment = Assignor::Range.assign_members(&[a, b], PARTITIONS);
    assert!(h.sync(1, a, 1, assignment.clone()).is_empty());
    let record = Record::GroupMetadata {
        instances: Vec::new(),
        protocol: Some(Assignor::Range),
        generation: Generation(1),
        leader: Some(a),
        members: assignment.clone(),
    };
    assert_eq!(h.log.uncommitted, vec![vec![record.clone()]]);
    assert_eq!(
        h.coord.pending,
        vec![PendingWrite::Assignment {
            generation: Generation(1),
            assignments: assignment.clone()
        }]
    );
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    assert!(h
        .coord
        .group
        .members
        .iter()
        .all(|m| m.assignment.is_empty()));

    let replies = h.durable();
    assert_eq!(replies.len(), 2);
    assert_eq!(
        reply_to(&replies, 1),
        &sync_reply(ErrorCode::None, a, 1, assignment[0].1)
    );
    assert_eq!(
        reply_to(&replies, 2),
        &sync_reply(ErrorCode::None, b, 1, assignment[1].1)
    );
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(h.coord.group.assignments(), assignment);
    assert!(h.coord.pending.is_empty());
    assert_eq!(h.log.durable, vec![record]);
}

// docs/protocol.md §1.5: members the leader leaves out get an empty assignment; 1.2 Stable: SyncGroup returns the member's current assignment.
#[test]
fn members_the_leader_leaves_out_get_an_empty_assignment_and_stable_sync_returns_it() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    assert!(h.sync(1, a, 1, vec![(a, all())]).is_empty());
    assert_eq!(
        h.log.uncommitted,
        vec![vec![Record::GroupMetadata {
            instances: Vec::new(),
            protocol: Some(Assignor::Range),
            generation: Generation(1),
            leader: Some(a),
            members: vec![(a, all()), (b, Partitions::EMPTY)],
        }]]
    );
    assert_eq!(
        h.durable(),
        vec![reply(1, sync_reply(ErrorCode::None, a, 1, all()))]
    );
    let mut before = h.snapshot();
    // The one thing b's SyncGroup changes: b owed it since the join phase ended.
    let owed = before.0.group.member_mut(b).expect("b is a member");
    assert!(owed.pending_sync);
    owed.pending_sync = false;
    let b_sync = Request::SyncGroup {
        instance: None,
        member_id: b,
        generation: Generation(1),
        assignments: Vec::new(),
    };
    assert_eq!(
        h.ask(2, b_sync),
        sync_reply(ErrorCode::None, b, 1, Partitions::EMPTY)
    );
    let a_sync = Request::SyncGroup {
        instance: None,
        member_id: a,
        generation: Generation(1),
        assignments: vec![(b, all())],
    };
    assert_eq!(h.ask(1, a_sync), sync_reply(ErrorCode::None, a, 1, all()));
    assert_eq!(h.snapshot(), before, "a SyncGroup in Stable writes nothing");
}

// docs/protocol.md §1.3 SyncGroup: generationId != group.generationId → ILLEGAL_GENERATION.
#[test]
fn sync_with_a_wrong_generation_is_illegal_generation_and_changes_nothing() {
    let mut completing = Harness::new();
    completing.joined_pair();
    let mut stable = Harness::new();
    stable.stable_pair();
    for h in [&mut completing, &mut stable] {
        let b = h.member_ids()[1];
        for generation in [0, 2] {
            let before = h.snapshot();
            let answer = h.ask(
                2,
                Request::SyncGroup {
                    instance: None,
                    member_id: b,
                    generation: Generation(generation),
                    assignments: Vec::new(),
                },
            );
            let expected = sync_reply(
                ErrorCode::IllegalGeneration,
                b,
                generation,
                Partitions::EMPTY,
            );
            assert_eq!(answer, expected);
            assert_eq!(h.snapshot(), before);
        }
    }
}

// docs/protocol.md §1.3 SyncGroup: group Empty or validateMember fails → UNKNOWN_MEMBER_ID.
#[test]
fn sync_from_an_unknown_member_is_unknown_member_id_and_changes_nothing() {
    let mut empty = Harness::new();
    let mut completing = Harness::new();
    completing.joined_pair();
    let mut stable = Harness::new();
    stable.stable_pair();
    for h in [&mut empty, &mut completing, &mut stable] {
        let generation = h.generation();
        let before = h.snapshot();
        let answer = h.ask(
            3,
            Request::SyncGroup {
                instance: None,
                member_id: STRANGER,
                generation: Generation(generation),
                assignments: vec![(STRANGER, all())],
            },
        );
        let expected = sync_reply(
            ErrorCode::UnknownMemberId,
            STRANGER,
            generation,
            Partitions::EMPTY,
        );
        assert_eq!(answer, expected);
        assert_eq!(h.snapshot(), before);
    }
}

// docs/protocol.md §1.2 PreparingRebalance: "respond to sync group with REBALANCE_IN_PROGRESS".
#[test]
fn sync_during_preparing_rebalance_is_rebalance_in_progress() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.join_with(1, a);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let before = h.snapshot();
    let answer = h.ask(
        2,
        Request::SyncGroup {
            instance: None,
            member_id: b,
            generation: Generation(1),
            assignments: Vec::new(),
        },
    );
    assert_eq!(
        answer,
        sync_reply(ErrorCode::RebalanceInProgress, b, 1, Partitions::EMPTY)
    );
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.2 prepareRebalance (parked SyncGroups → REBALANCE_IN_PROGRESS) and 1.1 (the append callback installs only if still CompletingRebalance at that generation).
#[test]
fn a_rebalance_during_completing_rebalance_releases_parked_syncs_and_voids_the_pending_assignment()
{
    let mut h = Harness::new();
    let a = h.join(1);
    assert!(h.sync(1, a, 1, vec![(a, all())]).is_empty());
    let b = h.member_id(2);
    assert_eq!(
        h.state(),
        GroupState::CompletingRebalance,
        "a pending member does not rebalance"
    );
    let replies = h.join_with(2, b);
    assert_eq!(
        replies,
        vec![reply(
            1,
            sync_reply(ErrorCode::RebalanceInProgress, a, 1, Partitions::EMPTY)
        )]
    );
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 1)
    );
    assert!(
        h.durable().is_empty(),
        "the voided assignment answers nobody"
    );
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h
        .coord
        .group
        .members
        .iter()
        .all(|m| m.assignment.is_empty()));
    let replies = h.join_with(1, a);
    assert_eq!(reply_to(&replies, 1), &join_ok(2, a, a, &[a, b]));
}

// ------------------------------------------------------------------------------------------------
// Heartbeat

// docs/protocol.md §1.3 Heartbeat: validateMember first → UNKNOWN_MEMBER_ID, whatever the generation (a KIP-394 pending member is not a member yet).
#[test]
fn heartbeat_from_an_unknown_member_is_unknown_member_id() {
    let mut empty = Harness::new();
    assert_eq!(empty.heartbeat(3, STRANGER, 0), ErrorCode::UnknownMemberId);
    let mut h = Harness::new();
    h.stable_pair();
    assert_eq!(h.heartbeat(3, STRANGER, 1), ErrorCode::UnknownMemberId);
    assert_eq!(h.heartbeat(3, STRANGER, 7), ErrorCode::UnknownMemberId);
    // A member id is both its fields: a member's sequence number under another leader epoch,
    // or its epoch with another sequence number, is somebody else.
    let a = h.member_ids()[0];
    for other in [
        MemberId {
            epoch: LeaderEpoch(a.epoch.0 + 1),
            ..a
        },
        MemberId {
            seq: a.seq + 7,
            ..a
        },
    ] {
        assert_eq!(h.heartbeat(3, other, 1), ErrorCode::UnknownMemberId);
    }
    let pending = h.member_id(3);
    assert_eq!(h.heartbeat(3, pending, 1), ErrorCode::UnknownMemberId);
}

// docs/protocol.md §1.3 Heartbeat: generation mismatch → ILLEGAL_GENERATION, checked before the state.
#[test]
fn heartbeat_with_a_wrong_generation_is_illegal_generation() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    assert_eq!(h.heartbeat(2, b, 0), ErrorCode::IllegalGeneration);
    assert_eq!(h.heartbeat(2, b, 2), ErrorCode::IllegalGeneration);
    h.join_with(1, a);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.heartbeat(2, b, 2), ErrorCode::IllegalGeneration);
}

// docs/protocol.md §1.2 PreparingRebalance: "respond to heartbeats with REBALANCE_IN_PROGRESS".
#[test]
fn heartbeat_during_preparing_rebalance_is_rebalance_in_progress() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.join_with(1, a);
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::RebalanceInProgress);
    assert_eq!(h.heartbeat(1, a, 1), ErrorCode::RebalanceInProgress);
}

// docs/protocol.md §1.2 CompletingRebalance ("code wins": heartbeats answered NONE) and Stable: normal heartbeats.
#[test]
fn heartbeat_in_completing_rebalance_and_stable_is_none() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    assert_eq!(h.heartbeat(1, a, 1), ErrorCode::None);
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::None);
    h.sync(1, a, 1, Assignor::Range.assign_members(&[a, b], PARTITIONS));
    h.durable();
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(h.heartbeat(1, a, 1), ErrorCode::None);
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::None);
}

// ------------------------------------------------------------------------------------------------
// Load state, dead group

// docs/protocol.md §1.1 "During load": Heartbeat → NONE, SyncGroup → REBALANCE_IN_PROGRESS, other group APIs → COORDINATOR_LOAD_IN_PROGRESS.
#[test]
fn a_loading_coordinator_answers_heartbeat_none_sync_rebalance_in_progress_and_the_rest_load_in_progress(
) {
    let mut h = Harness::new();
    h.coord = Coordinator::idle(BrokerId(0), &h.cfg);
    assert!(h.coord.start_loading(LeaderEpoch(0), &h.cfg).is_empty());
    assert_eq!(h.coord.load, LoadState::Loading);
    let before = h.snapshot();
    for request in every_group_api(STRANGER, 3) {
        let expected = match request {
            Request::Heartbeat { .. } => ErrorCode::None,
            Request::SyncGroup { .. } => ErrorCode::RebalanceInProgress,
            _ => ErrorCode::CoordinatorLoadInProgress,
        };
        let answer = h.ask(1, request.clone());
        assert_eq!(
            answer,
            Response::error_for(&request, expected),
            "{request:?}"
        );
        // Why not COORDINATOR_LOAD_IN_PROGRESS everywhere: two of the Java client's handlers
        // do not know it.
        assert!(consumer::handles(&answer), "{answer:?}");
    }
    assert_eq!(
        h.coord.heartbeat_error(&heartbeat(STRANGER, 3), &h.cfg),
        ErrorCode::None
    );
    assert!(!h.coord.can_expire(STRANGER));
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.1/1.3 "All group APIs": a broker that does not lead the group's partition answers NOT_COORDINATOR.
#[test]
fn an_idle_coordinator_answers_not_coordinator() {
    let mut h = Harness::new();
    h.coord = Coordinator::idle(BrokerId(1), &h.cfg);
    let before = h.snapshot();
    for request in every_group_api(STRANGER, 1) {
        let answer = h.ask(1, request.clone());
        assert_eq!(
            answer,
            Response::error_for(&request, ErrorCode::NotCoordinator),
            "{request:?}"
        );
    }
    assert_eq!(
        h.coord.heartbeat_error(&heartbeat(STRANGER, 1), &h.cfg),
        ErrorCode::NotCoordinator
    );
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.1 FindCoordinator: KafkaApis.getCoordinator answers from metadata with the partition leader, whatever the leader's load state.
#[test]
fn find_coordinator_is_answered_from_metadata_even_while_loading() {
    let mut h = Harness::new();
    h.log.elect(BrokerId(1));
    h.coord = Coordinator::idle(BrokerId(1), &h.cfg);
    h.coord.start_loading(LeaderEpoch(1), &h.cfg);
    let answer = h.ask(1, Request::FindCoordinator);
    assert_eq!(
        answer,
        Response::FindCoordinator {
            error: ErrorCode::None,
            coordinator: Some(BrokerId(1))
        }
    );
}

// docs/protocol.md §1.2 Dead (KAFKA-8386): Join/Sync/Heartbeat/Leave/OffsetCommit answer COORDINATOR_NOT_AVAILABLE (the core reaches Dead only as an idle broker, so the state is set by hand).
#[test]
fn a_dead_group_answers_coordinator_not_available() {
    let mut h = Harness::new();
    let a = h.stable_group(1)[0];
    h.coord.group.state = GroupState::Dead;
    let before = h.snapshot();
    for request in every_group_api(a, 1) {
        if matches!(request, Request::OffsetFetch { .. }) {
            continue;
        }
        let answer = h.ask(1, request.clone());
        let expected = Response::error_for(&request, ErrorCode::CoordinatorNotAvailable);
        assert_eq!(answer, expected, "{request:?}");
    }
    assert_eq!(h.snapshot(), before);
}

// ------------------------------------------------------------------------------------------------
// OffsetCommit / OffsetFetch

// docs/protocol.md §1.4 validateOffsetCommit: validateMember → UNKNOWN_MEMBER_ID (also in an Empty group); a rejected commit writes nothing.
#[test]
fn commit_from_an_unknown_member_is_unknown_member_id_and_changes_nothing() {
    let mut h = Harness::new();
    h.stable_group(1);
    for id in [STRANGER, h.member_id(3)] {
        let before = h.snapshot();
        let replies = h.commit(3, id, 1, &[(0, 5)]);
        assert_eq!(
            replies,
            vec![reply(3, committed(ErrorCode::UnknownMemberId, &[(0, 5)]))]
        );
        assert_eq!(h.snapshot(), before);
    }
    let mut emptied = Harness::new();
    let a = emptied.stable_group(1)[0];
    emptied.leave(1, a);
    emptied.drain();
    assert_eq!(emptied.state(), GroupState::Empty);
    let h = &mut emptied;
    let before = h.snapshot();
    let replies = h.commit(1, a, 2, &[(0, 5)]);
    assert_eq!(
        replies,
        vec![reply(1, committed(ErrorCode::UnknownMemberId, &[(0, 5)]))]
    );
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.4 validateOffsetCommit: generationId != this.generationId → ILLEGAL_GENERATION.
#[test]
fn commit_with_a_stale_generation_is_illegal_generation_and_changes_nothing() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    // After a rebalance to generation 2, generation 1 is stale.
    h.join_with(1, a);
    h.join_with(2, b);
    h.sync(2, b, 2, Vec::new());
    h.sync(1, a, 2, Assignor::Range.assign_members(&[a, b], PARTITIONS));
    h.durable();
    assert_eq!((h.state(), h.generation()), (GroupState::Stable, 2));
    for generation in [1, 3] {
        let before = h.snapshot();
        let replies = h.commit(2, b, generation, &[(1, 4)]);
        assert_eq!(
            replies,
            vec![reply(2, committed(ErrorCode::IllegalGeneration, &[(1, 4)]))]
        );
        assert_eq!(h.snapshot(), before);
    }
}

// docs/protocol.md §1.4: in CompletingRebalance a (non-transactional) commit → REBALANCE_IN_PROGRESS.
#[test]
fn commit_in_completing_rebalance_is_rebalance_in_progress_and_changes_nothing() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    for (c, id) in [(1, a), (2, b)] {
        let before = h.snapshot();
        let replies = h.commit(c, id, 1, &[(0, 5)]);
        assert_eq!(
            replies,
            vec![reply(
                c,
                committed(ErrorCode::RebalanceInProgress, &[(0, 5)])
            )]
        );
        assert_eq!(h.snapshot(), before);
    }
}

// docs/protocol.md §1.2/1.4: PreparingRebalance "allow[s] offset commits from previous generation" — still the current one, so eager consumers commit on revoke.
#[test]
fn a_member_of_the_current_generation_may_commit_during_preparing_rebalance() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.join_with(1, a);
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 1)
    );
    assert!(h.commit(2, b, 1, &[(1, 4)]).is_empty());
    assert_eq!(
        h.durable(),
        vec![reply(2, committed(ErrorCode::None, &[(1, 4)]))]
    );
    assert_eq!(h.fetch(), vec![(0, None), (1, Some(4))]);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

// docs/protocol.md §1.1: the offset cache is updated only in the append callback; the new runtime defers the response until the batch is committed.
#[test]
fn a_commit_is_acknowledged_and_served_only_once_its_batch_is_durable() {
    let mut h = Harness::new();
    let (a, _) = h.stable_pair();
    assert_eq!(h.fetch(), vec![(0, None), (1, None)]);
    assert!(
        h.commit(1, a, 1, &[(0, 5)]).is_empty(),
        "no answer before durability"
    );
    assert_eq!(
        h.log.uncommitted,
        vec![vec![Record::OffsetCommit {
            partition: 0,
            offset: 5,
            committed_by: Some((a, Generation(1))),
        }]]
    );
    assert_eq!(
        h.coord.pending,
        vec![PendingWrite::Offsets {
            to: addr(1),
            offsets: vec![(0, 5)],
            acked: false,
        }]
    );
    assert_eq!(
        h.fetch(),
        vec![(0, None), (1, None)],
        "readers never see uncommitted writes"
    );
    assert_eq!(
        h.durable(),
        vec![reply(1, committed(ErrorCode::None, &[(0, 5)]))]
    );
    assert_eq!(h.fetch(), vec![(0, Some(5)), (1, None)]);
    assert_eq!(h.coord.offsets.as_slice(), [Some(5), None]);
    assert!(h.coord.pending.is_empty());
}

// docs/protocol.md §1.1: onOffsetCommitAppend overwrites only with a newer record in log order ("higher log offset wins").
#[test]
fn commits_are_acknowledged_in_log_order_and_the_later_commit_wins() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    assert!(h.commit(1, a, 1, &[(0, 5)]).is_empty());
    assert!(h.commit(2, b, 1, &[(0, 7), (1, 2)]).is_empty());
    assert_eq!(
        h.durable(),
        vec![reply(1, committed(ErrorCode::None, &[(0, 5)]))]
    );
    assert_eq!(h.fetch(), vec![(0, Some(5)), (1, None)]);
    assert_eq!(
        h.durable(),
        vec![reply(2, committed(ErrorCode::None, &[(0, 7), (1, 2)]))]
    );
    assert_eq!(h.fetch(), vec![(0, Some(7)), (1, Some(2))]);
}

// ------------------------------------------------------------------------------------------------
// LeaveGroup

// docs/protocol.md §1.3 LeaveGroup: the member is removed; removal from Stable → PreparingRebalance.
#[test]
fn leave_group_removes_the_member_and_starts_a_rebalance() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    let replies = h.leave(2, b);
    assert_eq!(
        replies,
        vec![reply(
            2,
            Response::LeaveGroup {
                error: ErrorCode::None
            }
        )]
    );
    assert!(!h.is_member(b));
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 1)
    );
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::UnknownMemberId);
    assert_eq!(h.heartbeat(1, a, 1), ErrorCode::RebalanceInProgress);
    assert_eq!(h.join_with(1, a), vec![reply(1, join_ok(2, a, a, &[a]))]);
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

// docs/protocol.md §1.5 (ClassicGroup.remove): when the leader goes, a remaining member leads.
#[test]
fn when_the_leader_leaves_a_remaining_member_becomes_leader() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.leave(1, a);
    assert_eq!(h.coord.group.leader, Some(b));
    assert_eq!(h.join_with(2, b), vec![reply(2, join_ok(2, b, b, &[b]))]);
}

// docs/protocol.md §1.2 completeClassicGroupJoin: a join phase ending with no members → Empty, generation++, GroupMetadata with no members written.
#[test]
fn the_last_member_leaving_empties_the_group_and_persists_it_at_a_new_generation() {
    let mut h = Harness::new();
    let a = h.stable_group(1)[0];
    assert_eq!(
        h.leave(1, a),
        vec![reply(
            1,
            Response::LeaveGroup {
                error: ErrorCode::None
            }
        )]
    );
    assert_eq!(
        (h.state(), h.generation(), h.coord.group.leader),
        (GroupState::Empty, 2, None)
    );
    assert!(h.coord.group.members.is_empty());
    let empty = Record::GroupMetadata {
        instances: Vec::new(),
        protocol: None,
        generation: Generation(2),
        leader: None,
        members: Vec::new(),
    };
    assert_eq!(h.log.uncommitted, vec![vec![empty.clone()]]);
    assert_eq!(h.coord.pending, vec![PendingWrite::Unawaited]);
    assert!(
        h.durable().is_empty(),
        "nobody waits for the empty group's record"
    );
    assert_eq!(
        groupcheck::offsets_log::compacted(&h.log.durable),
        vec![empty],
        "it replaces generation 1 once the cleaner runs"
    );
    // Empty: the former member is unknown to every API (docs/protocol.md §1.2 Empty).
    assert_eq!(h.heartbeat(1, a, 2), ErrorCode::UnknownMemberId);
    assert_eq!(
        h.ask(
            1,
            Request::JoinGroup {
                protocols: RANGE,
                instance: None,
                member_id: Some(a),
                claim: None
            }
        ),
        join_error(Some(a), ErrorCode::UnknownMemberId)
    );
}

// docs/protocol.md §1.3 LeaveGroup: validateMember → UNKNOWN_MEMBER_ID.
#[test]
fn leave_group_from_an_unknown_member_is_unknown_member_id_and_changes_nothing() {
    let mut h = Harness::new();
    h.stable_pair();
    let before = h.snapshot();
    assert_eq!(
        h.ask(
            3,
            Request::LeaveGroup {
                instance: None,
                member_id: STRANGER
            }
        ),
        Response::LeaveGroup {
            error: ErrorCode::UnknownMemberId
        }
    );
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.3 LeaveGroup: a pending (KIP-394) member is removed, and the join phase stops waiting for it.
#[test]
fn leave_group_of_a_pending_member_removes_it_and_lets_the_join_phase_complete() {
    let mut h = Harness::new();
    let (a, b) = (h.member_id(1), h.member_id(2));
    assert!(h.join_with(1, a).is_empty());
    let replies = h.leave(2, b);
    assert_eq!(replies.len(), 2);
    assert_eq!(reply_to(&replies, 1), &join_ok(1, a, a, &[a]));
    assert_eq!(
        reply_to(&replies, 2),
        &Response::LeaveGroup {
            error: ErrorCode::None
        }
    );
    assert!(h.coord.group.pending_members.is_empty());
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

// ------------------------------------------------------------------------------------------------
// Timers

// docs/protocol.md §1.6 session.timeout.ms and 1.2 (KIP-423 trigger 4): an expired member of a Stable group is removed and the group rebalances.
#[test]
fn session_expiry_in_stable_removes_the_member_and_starts_a_rebalance() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    assert!(h.coord.can_expire(b));
    assert!(h.expire(b).is_empty());
    assert!(!h.is_member(b));
    assert_eq!(h.member_ids(), vec![a]);
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 1)
    );
}

// docs/protocol.md §1.6 (ClassicGroupMember.hasSatisfiedHeartbeat): a member awaiting join has satisfied its heartbeat and is not expired.
#[test]
fn a_member_with_a_parked_join_group_cannot_be_expired() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.join_with(1, a);
    assert!(!h.coord.can_expire(a));
    assert!(h.coord.can_expire(b));
    let before = h.snapshot();
    assert!(h.expire(a).is_empty());
    assert_eq!(h.snapshot(), before);
}

// docs/protocol.md §1.6: a member awaiting sync has satisfied its heartbeat; one that never sent SyncGroup is removed (pending-sync timeout, KAFKA-12890).
#[test]
fn a_member_with_a_parked_sync_group_cannot_be_expired_but_one_that_never_synced_can() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    assert!(h.sync(2, b, 1, Vec::new()).is_empty());
    assert!(!h.coord.can_expire(b));
    assert!(h.coord.can_expire(a));
    let replies = h.expire(a);
    assert_eq!(
        replies,
        vec![reply(
            2,
            sync_reply(ErrorCode::RebalanceInProgress, b, 1, Partitions::EMPTY)
        )]
    );
    assert!(!h.is_member(a));
    assert_eq!(h.coord.group.leader, Some(b));
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

// docs/protocol.md §1.5/1.6 (hasSatisfiedHeartbeat: "New members can be expired while awaiting join"; new-member join timeout).
#[test]
fn a_new_member_awaiting_its_first_join_response_can_still_be_expired() {
    let mut h = Harness::new();
    h.stable_pair();
    let c = h.member_id(3);
    assert!(h.join_with(3, c).is_empty());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h.coord.can_expire(c));
    let replies = h.expire(c);
    assert_eq!(
        replies,
        vec![reply(3, join_error(Some(c), ErrorCode::UnknownMemberId))]
    );
    assert!(!h.is_member(c));
}

// docs/protocol.md §1.3/1.5 (KIP-394): a pending member expires after its session timeout and the join phase stops waiting for it.
#[test]
fn an_expired_pending_member_no_longer_blocks_the_join_phase() {
    let mut h = Harness::new();
    let (a, b) = (h.member_id(1), h.member_id(2));
    assert!(h.join_with(1, a).is_empty());
    assert!(h.coord.can_expire(b));
    assert_eq!(h.expire(b), vec![reply(1, join_ok(1, a, a, &[a]))]);
    assert!(h.coord.group.pending_members.is_empty());
}

// docs/protocol.md §1.2 completeClassicGroupJoin: at the rebalance timeout, dynamic members that did not rejoin are removed.
#[test]
fn the_rebalance_timeout_removes_members_that_did_not_rejoin() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.join_with(1, a);
    assert_eq!(h.time_out_join(), vec![reply(1, join_ok(2, a, a, &[a]))]);
    assert!(!h.is_member(b));
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::CompletingRebalance, 2)
    );
}

// docs/protocol.md §1.5 maybeElectNewJoinedLeader: if the leader did not rejoin, a member that did becomes leader.
#[test]
fn the_rebalance_timeout_elects_a_rejoined_member_when_the_leader_did_not_rejoin() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    let c = h.member_id(3);
    h.join_with(3, c);
    h.join_with(2, b);
    let replies = h.time_out_join();
    assert_eq!(replies.len(), 2);
    assert_eq!(reply_to(&replies, 2), &join_ok(2, b, b, &[b, c]));
    assert_eq!(reply_to(&replies, 3), &join_ok(2, c, b, &[]));
    assert!(!h.is_member(a));
    assert_eq!(h.coord.group.leader, Some(b));
}

// docs/protocol.md §1.2 completeClassicGroupJoin: the dynamic members that did not rejoin are
// removed even when nobody has ("if no member rejoined but members exist, reschedule" is for
// the static members left): the group is Empty, its metadata written. A member hung before
// its SyncGroup, its heartbeats keeping it, would otherwise hold the join phase for good.
#[test]
fn the_rebalance_timeout_removes_the_dynamic_members_when_nobody_has_rejoined() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.expire(b);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h.coord.can_time_out_join());
    assert!(h.time_out_join().is_empty(), "nothing of a's is parked");
    assert!(!h.is_member(a));
    assert_eq!((h.state(), h.generation()), (GroupState::Empty, 2));
    assert_eq!(
        h.drain(),
        vec![],
        "the empty group's metadata, awaited by nobody"
    );
    assert_eq!(h.log.durable_group().map(|g| g.members.len()), Some(0));
}

// docs/protocol.md §1.2/1.7 completeClassicGroupJoin: a static member that has not rejoined
// stays, and with nobody rejoined the join phase waits on (Kafka schedules the timer again).
#[test]
fn the_rebalance_timeout_keeps_a_static_member_and_waits_on_while_nobody_has_rejoined() {
    let mut h = Harness::new();
    let (_, second) = h.stable_static_pair();
    h.expire(second);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(!h.coord.can_time_out_join());
    let before = h.snapshot();
    assert!(h.time_out_join().is_empty());
    assert_eq!(h.snapshot(), before);
}

// ------------------------------------------------------------------------------------------------
// Failover

// docs/protocol.md §1.1: an append refused (NOT_LEADER_OR_FOLLOWER) maps to NOT_COORDINATOR and the runtime unloads, failing every deferred event.
#[test]
fn after_an_election_the_old_coordinators_next_append_is_refused_and_it_unloads_with_not_coordinator(
) {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.join_with(1, a);
    assert!(h.commit(2, b, 1, &[(1, 4)]).is_empty());
    h.log.elect(BrokerId(1));
    assert!(
        h.log.uncommitted.is_empty(),
        "the election truncates the pending commit"
    );
    let replies = h.commit(2, b, 1, &[(0, 6)]);
    assert_eq!(
        replies,
        vec![
            reply(1, join_error(Some(a), ErrorCode::NotCoordinator)),
            reply(2, committed(ErrorCode::NotCoordinator, &[(1, 4)])),
            reply(2, committed(ErrorCode::NotCoordinator, &[(0, 6)])),
        ]
    );
    assert_eq!(h.coord.load, LoadState::NotCoordinator);
    assert_eq!(h.coord, Coordinator::idle(BrokerId(0), &h.cfg));
    assert!(h.log.uncommitted.is_empty(), "nothing was appended");
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::NotCoordinator);
}

// docs/protocol.md §1.1: a coordinator unloaded by a refused append remembers the epoch it led,
// so the StartLeading of an earlier election, arriving late (two controllers racing), is stale.
#[test]
fn a_coordinator_unloaded_by_a_refused_append_ignores_an_older_start_leading() {
    let mut h = Harness::new();
    let (_, b) = h.stable_pair();
    h.log.elect(BrokerId(1));
    h.log.elect(BrokerId(0));
    h.coord.on_start_leading(LeaderEpoch(2), &h.cfg);
    h.coord.finish_loading(&h.log.durable, &h.cfg);
    h.log.elect(BrokerId(1));
    h.commit(2, b, 1, &[(0, 6)]);
    assert_eq!(
        (h.coord.load, h.coord.epoch),
        (LoadState::NotCoordinator, LeaderEpoch(2))
    );
    assert!(h.coord.on_start_leading(LeaderEpoch(1), &h.cfg).is_empty());
    assert_eq!(h.coord.load, LoadState::NotCoordinator);
}

// Kafka's coordinator runtime ignores a load for an epoch it already holds: a StartLeading of
// the epoch a coordinator leads (a controller's message repeated) changes nothing, and the
// group with a member parked in its join phase stays as it is.
#[test]
fn start_leading_the_epoch_it_leads_changes_nothing() {
    let mut h = Harness::new();
    let (a, _) = h.stable_pair();
    h.join_with(1, a);
    let before = h.snapshot();
    assert!(h.coord.on_start_leading(LeaderEpoch(0), &h.cfg).is_empty());
    assert_eq!(h.snapshot(), before);
    assert_eq!(h.coord.load, LoadState::Active);
}

// And it unloads only for an epoch later than its own: a StopLeading of the epoch a
// coordinator leads is not about it, and changes nothing either.
#[test]
fn stop_leading_the_epoch_it_leads_changes_nothing() {
    let mut h = Harness::new();
    let (a, _) = h.stable_pair();
    h.join_with(1, a);
    let before = h.snapshot();
    assert!(h.coord.on_stop_leading(LeaderEpoch(0), &h.cfg).is_empty());
    assert_eq!(h.snapshot(), before);
    assert_eq!(h.coord.load, LoadState::Active);
    assert!(!h.coord.on_stop_leading(LeaderEpoch(1), &h.cfg).is_empty());
    assert_eq!(h.coord.load, LoadState::NotCoordinator);
}

// docs/protocol.md §1.1: a broker that has unloaded remembers the epoch it was told of, so a
// StartLeading of an earlier epoch that arrives after it (two controllers racing) is stale and
// changes nothing; one of a later epoch loads.
#[test]
fn a_start_leading_older_than_the_stop_leading_before_it_changes_nothing() {
    let mut h = Harness::new();
    h.stable_pair();
    h.coord.on_stop_leading(LeaderEpoch(2), &h.cfg);
    assert_eq!(
        (h.coord.load, h.coord.epoch),
        (LoadState::NotCoordinator, LeaderEpoch(2))
    );
    let before = h.snapshot();
    assert!(h.coord.on_start_leading(LeaderEpoch(1), &h.cfg).is_empty());
    assert_eq!(h.snapshot(), before);
    assert_eq!(h.coord.load, LoadState::NotCoordinator);
    assert!(h.coord.on_start_leading(LeaderEpoch(3), &h.cfg).is_empty());
    assert_eq!(
        (h.coord.load, h.coord.epoch),
        (LoadState::Loading, LeaderEpoch(3))
    );
}

// A brand-new group's coordinator leads the epoch it is made for: a StopLeading of an earlier
// epoch is stale to it.
#[test]
fn a_brand_new_groups_coordinator_leads_the_epoch_it_is_made_for() {
    let cfg = config(Flaws::NONE);
    let mut coord = Coordinator::active(BrokerId(0), LeaderEpoch(2), &cfg);
    assert_eq!(coord.epoch, LeaderEpoch(2));
    assert!(coord.on_stop_leading(LeaderEpoch(1), &cfg).is_empty());
    assert_eq!(coord.load, LoadState::Active);
}

// docs/protocol.md §1.1: unloading "fails all deferred events with NOT_COORDINATOR" — parked JoinGroups and pending commits.
#[test]
fn stop_leading_fails_a_parked_join_and_a_pending_commit_with_not_coordinator() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.join_with(1, a);
    h.commit(2, b, 1, &[(1, 4)]);
    let replies = h.coord.stop_leading(&h.cfg);
    assert_eq!(
        replies,
        vec![
            reply(1, join_error(Some(a), ErrorCode::NotCoordinator)),
            reply(2, committed(ErrorCode::NotCoordinator, &[(1, 4)])),
        ]
    );
    assert_eq!(h.coord, Coordinator::idle(BrokerId(0), &h.cfg));
    assert!(h.log.replicate_one());
    assert!(
        h.coord.on_batch_durable().is_empty(),
        "nothing is pending any more"
    );
}

// docs/protocol.md §1.1: unloading fails parked SyncGroups (waiting for the assignment write) with NOT_COORDINATOR.
#[test]
fn stop_leading_fails_parked_syncs_with_not_coordinator() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    h.sync(2, b, 1, Vec::new());
    h.sync(1, a, 1, Assignor::Range.assign_members(&[a, b], PARTITIONS));
    let replies = h.coord.stop_leading(&h.cfg);
    assert_eq!(
        replies,
        vec![
            reply(
                1,
                sync_reply(ErrorCode::NotCoordinator, a, 1, Partitions::EMPTY)
            ),
            reply(
                2,
                sync_reply(ErrorCode::NotCoordinator, b, 1, Partitions::EMPTY)
            ),
        ]
    );
    assert_eq!(h.coord.load, LoadState::NotCoordinator);
    assert!(h.coord.pending.is_empty());
}

// docs/protocol.md §1.1 loading: the group is re-materialised Stable (it has members) at the last durable generation, with the durable offsets.
#[test]
fn a_new_coordinator_reloads_the_last_durable_generation_and_offsets() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    let assignment = h.coord.group.assignments();
    h.commit(1, a, 1, &[(0, 5)]);
    h.durable();
    assert!(h.commit(2, b, 1, &[(1, 7)]).is_empty(), "never durable");
    h.fail_over();
    assert_eq!(
        (h.coord.broker, h.coord.load, h.coord.epoch),
        (BrokerId(1), LoadState::Active, LeaderEpoch(1))
    );
    assert_eq!(
        (h.state(), h.generation(), h.coord.group.leader),
        (GroupState::Stable, 1, Some(a))
    );
    assert_eq!(h.coord.group.assignments(), assignment);
    assert_eq!(h.fetch(), vec![(0, Some(5)), (1, None)]);
    assert_eq!(h.heartbeat(2, b, 1), ErrorCode::None);
    let b_sync = Request::SyncGroup {
        instance: None,
        member_id: b,
        generation: Generation(1),
        assignments: Vec::new(),
    };
    assert_eq!(
        h.ask(2, b_sync),
        sync_reply(ErrorCode::None, b, 1, assignment[1].1)
    );
    let c = h.member_id(3);
    assert_eq!(
        c.epoch,
        LeaderEpoch(1),
        "ids minted by the new coordinator carry its epoch"
    );
    assert!(c != a && c != b);
}

// docs/protocol.md §1.1 (KAFKA-2720 review): an in-flight rebalance is lost on failover; the group comes back at the last durably written generation.
#[test]
fn an_in_flight_generation_is_lost_on_failover() {
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    let generation_1 = h.coord.group.assignments();
    h.join_with(1, a);
    h.join_with(2, b);
    h.sync(2, b, 2, Vec::new());
    h.sync(1, a, 2, vec![(a, all())]);
    assert_eq!(
        (h.state(), h.generation(), h.log.uncommitted.len()),
        (GroupState::CompletingRebalance, 2, 1)
    );
    h.fail_over();
    assert_eq!((h.state(), h.generation()), (GroupState::Stable, 1));
    assert_eq!(h.coord.group.assignments(), generation_1);
    assert_eq!(h.heartbeat(1, a, 2), ErrorCode::IllegalGeneration);
    assert_eq!(h.heartbeat(1, a, 1), ErrorCode::None);
}

// docs/protocol.md §1.1 loading: a group whose last durable metadata has no members comes back Empty (at that generation; a log with no metadata at 0).
#[test]
fn a_group_emptied_durably_reloads_empty_at_its_generation() {
    let mut fresh = Harness::new();
    fresh.fail_over();
    assert_eq!((fresh.state(), fresh.generation()), (GroupState::Empty, 0));
    let mut h = Harness::new();
    let a = h.stable_group(1)[0];
    h.leave(1, a);
    h.durable();
    h.fail_over();
    assert_eq!(
        (h.state(), h.generation(), h.coord.group.leader),
        (GroupState::Empty, 2, None)
    );
    assert!(h.coord.group.members.is_empty());
}

// ------------------------------------------------------------------------------------------------
// Flaws: each changes exactly the behaviour it names

// flaw.rs CommitWithoutFencing (KAFKA-2596) vs docs/protocol.md §1.4: validateOffsetCommit is skipped, so an unknown member's commit is written.
#[test]
fn flaw_commit_without_fencing_accepts_a_commit_from_an_unknown_member() {
    let mut h = Harness::with_flaw(Flaw::CommitWithoutFencing);
    h.stable_pair();
    assert!(h.commit(3, STRANGER, 0, &[(0, 9)]).is_empty());
    assert_eq!(
        h.log.uncommitted,
        vec![vec![Record::OffsetCommit {
            partition: 0,
            offset: 9,
            committed_by: Some((STRANGER, Generation(0))),
        }]]
    );
    assert_eq!(
        h.durable(),
        vec![reply(3, committed(ErrorCode::None, &[(0, 9)]))]
    );
    assert_eq!(h.fetch(), vec![(0, Some(9)), (1, None)]);
    // Only OffsetCommit is unfenced.
    assert_eq!(h.heartbeat(3, STRANGER, 1), ErrorCode::UnknownMemberId);
    assert_eq!(
        h.ask(
            3,
            Request::LeaveGroup {
                instance: None,
                member_id: STRANGER
            }
        ),
        Response::LeaveGroup {
            error: ErrorCode::UnknownMemberId
        }
    );
}

// flaw.rs CommitAckBeforeDurable vs docs/protocol.md §1.1 (the response waits for the high watermark): the ack goes out at append, and a failover loses an acked offset.
#[test]
fn flaw_commit_ack_before_durable_acknowledges_at_append_but_serves_only_durable_offsets() {
    let mut h = Harness::with_flaw(Flaw::CommitAckBeforeDurable);
    let (a, b) = h.stable_pair();
    assert_eq!(
        h.commit(1, a, 1, &[(0, 5)]),
        vec![reply(1, committed(ErrorCode::None, &[(0, 5)]))]
    );
    assert_eq!(
        h.coord.pending,
        vec![PendingWrite::Offsets {
            to: addr(1),
            offsets: vec![(0, 5)],
            acked: true,
        }]
    );
    assert_eq!(
        h.fetch(),
        vec![(0, None), (1, None)],
        "the cache still waits for durability"
    );
    assert!(h.durable().is_empty(), "no second acknowledgement");
    assert_eq!(h.fetch(), vec![(0, Some(5)), (1, None)]);
    // Fencing is unchanged.
    let stale = h.commit(2, b, 0, &[(1, 4)]);
    assert_eq!(
        stale,
        vec![reply(2, committed(ErrorCode::IllegalGeneration, &[(1, 4)]))]
    );
    // An acknowledged commit is not failed again on unload, and a failover loses it.
    assert_eq!(h.commit(1, a, 1, &[(0, 6)]).len(), 1);
    assert!(h.coord.clone().stop_leading(&h.cfg).is_empty());
    h.fail_over();
    assert_eq!(h.fetch(), vec![(0, Some(5)), (1, None)]);
}

// flaw.rs SyncAckBeforePersist (KAFKA-2017) vs docs/protocol.md §1.1 S7: the generation is exposed before its GroupMetadata is durable.
#[test]
fn flaw_sync_ack_before_persist_answers_sync_group_before_the_assignment_is_durable() {
    let mut h = Harness::with_flaw(Flaw::SyncAckBeforePersist);
    let (a, b) = h.joined_pair();
    assert!(
        h.sync(2, b, 1, Vec::new()).is_empty(),
        "followers still wait for the leader"
    );
    let assignment = Assignor::Range.assign_members(&[a, b], PARTITIONS);
    let replies = h.sync(1, a, 1, assignment.clone());
    assert_eq!(replies.len(), 2);
    assert_eq!(
        reply_to(&replies, 1),
        &sync_reply(ErrorCode::None, a, 1, assignment[0].1)
    );
    assert_eq!(
        reply_to(&replies, 2),
        &sync_reply(ErrorCode::None, b, 1, assignment[1].1)
    );
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(h.log.uncommitted.len(), 1);
    assert!(h.log.durable.is_empty());
    assert_eq!(h.coord.pending, vec![PendingWrite::Unawaited]);
    // Commits still wait for durability.
    assert!(h.commit(1, a, 1, &[(0, 5)]).is_empty());
    // The log never held generation 1: after a failover the group is Empty at generation 0.
    h.fail_over();
    assert_eq!((h.state(), h.generation()), (GroupState::Empty, 0));
    assert_eq!(h.heartbeat(1, a, 1), ErrorCode::UnknownMemberId);
}

// flaw.rs ServeBeforeLoad vs docs/protocol.md §1.1 "During load": OffsetFetch and JoinGroup are served from an empty cache instead of COORDINATOR_LOAD_IN_PROGRESS.
#[test]
fn flaw_serve_before_load_answers_offset_fetch_and_join_group_while_loading() {
    for flawed in [false, true] {
        let flaws = if flawed {
            Flaws::NONE.with(Flaw::ServeBeforeLoad)
        } else {
            Flaws::NONE
        };
        let mut h = Harness::with_flaws(flaws);
        let a = h.stable_group(1)[0];
        h.commit(1, a, 1, &[(0, 5)]);
        h.durable();
        h.log.elect(BrokerId(1));
        h.coord = Coordinator::idle(BrokerId(1), &h.cfg);
        h.coord.start_loading(LeaderEpoch(1), &h.cfg);
        let fetch = Request::OffsetFetch { partitions: all() };
        let join = Request::JoinGroup {
            protocols: RANGE,
            instance: None,
            member_id: None,
            claim: None,
        };
        if flawed {
            assert_eq!(
                h.ask(ADMIN, fetch.clone()),
                Response::OffsetFetch {
                    error: ErrorCode::None,
                    offsets: vec![(0, None), (1, None)],
                },
                "the durable offset 5 is not served"
            );
            assert_eq!(h.ask(3, join).error(), ErrorCode::MemberIdRequired);
        } else {
            let loading = ErrorCode::CoordinatorLoadInProgress;
            assert_eq!(
                h.ask(ADMIN, fetch.clone()),
                Response::error_for(&fetch, loading)
            );
            assert_eq!(h.ask(3, join.clone()), Response::error_for(&join, loading));
        }
        // Everything else answers as without the flaw.
        assert_eq!(h.heartbeat(1, a, 1), ErrorCode::None);
        let sync = h.sync(1, a, 1, Vec::new());
        assert_eq!(
            sync,
            vec![reply(
                1,
                sync_reply(ErrorCode::RebalanceInProgress, a, 1, Partitions::EMPTY)
            )]
        );
        let commit = h.commit(1, a, 1, &[(1, 3)]);
        assert_eq!(
            commit,
            vec![reply(
                1,
                committed(ErrorCode::CoordinatorLoadInProgress, &[(1, 3)])
            )]
        );
        h.coord.finish_loading(&h.log.durable, &h.cfg);
        assert_eq!(h.fetch(), vec![(0, Some(5)), (1, None)]);
    }
}

// flaw.rs PartialReplay (KAFKA-5600) vs docs/protocol.md §1.1 loading: only the first segment of the log is applied, while replay applies every record.
#[test]
fn flaw_partial_replay_loses_the_records_past_the_first_segment() {
    assert_eq!(SEGMENT_RECORDS, 2);
    let mut h = Harness::new();
    let (a, b) = h.stable_pair();
    h.commit(1, a, 1, &[(0, 5)]);
    h.commit(2, b, 1, &[(1, 7)]);
    h.drain();
    let durable = h.log.durable.clone();
    assert_eq!(durable.len(), 3, "group metadata and two offsets");
    let flawed = Flaws::NONE.with(Flaw::PartialReplay);

    let full = replay::replay(PARTITIONS, &durable);
    assert_eq!(full.offsets.as_slice(), [Some(5), Some(7)]);
    assert_eq!(full.generation, Generation(1));
    assert_eq!(replay::load(PARTITIONS, &durable, Flaws::NONE), full);
    let partial = replay::load(PARTITIONS, &durable, flawed);
    assert_eq!(partial.offsets.as_slice(), [Some(5), None]);
    assert_eq!(
        (partial.generation, &partial.members),
        (Generation(1), &full.members)
    );
    // A log that fits in one segment loses nothing.
    let short = &durable[..SEGMENT_RECORDS];
    assert_eq!(
        replay::load(PARTITIONS, short, flawed),
        replay::replay(PARTITIONS, short)
    );

    for (flaws, expected) in [(Flaws::NONE, Some(7)), (flawed, None)] {
        let cfg = config(flaws);
        let mut c = Coordinator::idle(BrokerId(1), &cfg);
        c.start_loading(LeaderEpoch(1), &cfg);
        c.finish_loading(&durable, &cfg);
        assert_eq!(c.offsets.as_slice(), [Some(5), expected], "{flaws:?}");
        assert_eq!(
            (c.group.state, c.group.generation),
            (GroupState::Stable, Generation(1))
        );
    }
}

/// One step of a scripted run: what it is, its replies, and the coordinator and log after it.
type Step = (&'static str, Vec<Reply>, Coordinator, OffsetsLog);

/// The same script under any flaws: form a group, commit (once as a stranger), fail over, read.
fn scripted_run(flaws: Flaws) -> Vec<Step> {
    let mut h = Harness::with_flaws(flaws);
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |h: &Harness, label, replies| {
        steps.push((label, replies, h.coord.clone(), h.log.clone()));
    };
    let id_in = |replies: &[Reply]| match replies[0].response {
        Response::JoinGroup {
            member_id: Some(id),
            ..
        } => id,
        ref other => panic!("no member id in {other:?}"),
    };
    let r = h.send(
        1,
        Request::JoinGroup {
            protocols: RANGE,
            instance: None,
            member_id: None,
            claim: None,
        },
    );
    let a = id_in(&r);
    step(&h, "consumer 1 asks for an id", r);
    let r = h.send(
        2,
        Request::JoinGroup {
            protocols: RANGE,
            instance: None,
            member_id: None,
            claim: None,
        },
    );
    let b = id_in(&r);
    step(&h, "consumer 2 asks for an id", r);
    let r = h.join_with(1, a);
    step(&h, "consumer 1 joins", r);
    let r = h.join_with(2, b);
    step(&h, "consumer 2 joins", r);
    let r = h.sync(2, b, 1, Vec::new());
    step(&h, "the follower syncs", r);
    let r = h.sync(1, a, 1, Assignor::Range.assign_members(&[a, b], PARTITIONS));
    step(&h, "the leader syncs", r);
    let r = h.drain();
    step(&h, "the log catches up after the sync", r);
    let r = h.commit(3, STRANGER, 1, &[(0, 9)]);
    step(&h, "a stranger commits", r);
    let r = h.commit(1, a, 1, &[(0, 5)]);
    step(&h, "the leader commits", r);
    let r = h.drain();
    step(&h, "the log catches up after the commits", r);
    let mut r = h.commit(2, b, 1, &[(1, 7)]);
    r.extend(h.drain());
    step(&h, "the follower commits durably", r);
    h.log.elect(BrokerId(1));
    h.coord = Coordinator::idle(BrokerId(1), &h.cfg);
    let r = h.coord.start_loading(LeaderEpoch(1), &h.cfg);
    step(&h, "broker 1 starts loading", r);
    let r = h.send(ADMIN, Request::OffsetFetch { partitions: all() });
    step(&h, "offsets are fetched while loading", r);
    h.coord.finish_loading(&h.log.durable, &h.cfg);
    step(&h, "broker 1 finishes loading", Vec::new());
    let r = h.send(ADMIN, Request::OffsetFetch { partitions: all() });
    step(&h, "offsets are fetched after loading", r);
    let r = h.send(
        2,
        Request::Heartbeat {
            instance: None,
            member_id: b,
            generation: Generation(1),
        },
    );
    step(&h, "the follower heartbeats", r);
    // A static member joins (broker 1 mints m1.0, m1.1, … in order, whatever the flaws), and
    // its instance restarts in each group state in turn.
    let minted = |seq| MemberId {
        epoch: LeaderEpoch(1),
        seq,
    };
    let r = h.join_static(4, I0);
    step(&h, "a static member joins", r);
    let r = h.join_static(5, I0);
    step(&h, "the instance restarts while the group rebalances", r);
    let mut r = h.join_with(1, a);
    r.extend(h.join_with(2, b));
    step(&h, "the dynamic members rejoin", r);
    let r = h.join_static(6, I0);
    step(&h, "the instance restarts while the rebalance completes", r);
    let mut r = h.join_with(1, a);
    r.extend(h.join_with(2, b));
    let generation = h.generation();
    let members = [a, b, minted(2)];
    r.extend(h.sync(
        1,
        a,
        generation,
        Assignor::Range.assign_members(&members, PARTITIONS),
    ));
    r.extend(h.drain());
    step(&h, "the group is Stable again", r);
    let r = h.join_static(7, I0);
    step(&h, "the instance restarts in a Stable group", r);
    steps
}

/// A dynamic member's Heartbeat.
fn heartbeat(member_id: MemberId, generation: impl Into<Generation>) -> Request {
    let generation: Generation = generation.into();
    Request::Heartbeat {
        member_id,
        generation,
        instance: None,
    }
}

// flaw.rs: each coordinator flaw is switched on at the single place its bug lived; NoRevokeBeforeRejoin (the consumer), StickyNoDedup and CooperativeTrustsStaleClaim (the leader's assignor) never reach the coordinator.
#[test]
fn each_flaw_first_changes_the_coordinator_at_the_step_it_names() {
    let correct = scripted_run(Flaws::NONE);
    for flaw in Flaw::ALL {
        let run = scripted_run(Flaws::NONE.with(flaw));
        assert_eq!(run.len(), correct.len());
        let first = correct
            .iter()
            .zip(&run)
            .find(|(x, y)| x != y)
            .map(|(x, _)| x.0);
        let expected = match flaw {
            Flaw::CommitWithoutFencing => Some("a stranger commits"),
            Flaw::SyncAckBeforePersist => Some("the leader syncs"),
            Flaw::ServeBeforeLoad => Some("offsets are fetched while loading"),
            Flaw::PartialReplay => Some("broker 1 finishes loading"),
            Flaw::CommitAckBeforeDurable => Some("the leader commits"),
            // Consumer-side and assignor flaws never reach the coordinator.
            Flaw::NoRevokeBeforeRejoin
            | Flaw::StickyNoDedup
            | Flaw::CooperativeTrustsStaleClaim => None,
            // The script never lets the pending-sync timer fire (see the test of the timer).
            Flaw::NoPendingSyncTimeout => None,
            Flaw::RebalanceTimeoutZero => Some("consumer 1 joins"),
            Flaw::StaticReplaceOnlyWhenStable => {
                Some("the instance restarts while the group rebalances")
            }
            Flaw::StaticJoinInCompleting => {
                Some("the instance restarts while the rebalance completes")
            }
            Flaw::StaticReplaceNotPersisted => Some("the instance restarts in a Stable group"),
        };
        assert_eq!(first, expected, "{flaw}");
    }
}

// ------------------------------------------------------------------------------------------------
// Writes refused after an election

// A LeaveGroup that empties the group needs a write; if leadership is gone the write is
// refused, the coordinator unloads, and the member is told NOT_COORDINATOR (not NONE).
#[test]
fn a_leave_whose_write_is_refused_is_answered_not_coordinator_and_unloads() {
    let mut h = Harness::new();
    let a = h.stable_group(1)[0];
    h.log.elect(BrokerId(1));
    assert_eq!(
        h.leave(1, a),
        vec![reply(
            1,
            Response::LeaveGroup {
                error: ErrorCode::NotCoordinator
            }
        )]
    );
    assert_eq!(h.coord.load, LoadState::NotCoordinator);
    assert!(h.log.uncommitted.is_empty());
}

// The leader's SyncGroup arriving twice (a retry) writes the assignment once.
#[test]
fn a_repeated_leader_sync_group_writes_the_assignment_once() {
    let mut h = Harness::new();
    let (a, b) = h.joined_pair();
    let assignment = h.cfg.assignor.assign_members(&[a, b], PARTITIONS);
    assert!(h.sync(1, a, 1, assignment.clone()).is_empty());
    h.sync(1, a, 1, assignment);
    assert_eq!(h.log.uncommitted.len(), 1, "one assignment record");
    assert_eq!(h.coord.pending.len(), 1, "one pending write");
}

// ------------------------------------------------------------------------------------------------
// Static membership (KIP-345)

const I0: InstanceId = InstanceId(0);
const I1: InstanceId = InstanceId(1);

impl Harness {
    /// A static member's JoinGroup with an unknown member id: its first join, or a restart.
    fn join_static(&mut self, consumer: u8, instance: InstanceId) -> Vec<Reply> {
        let join = Request::JoinGroup {
            protocols: RANGE,
            member_id: None,
            claim: None,
            instance: Some(instance),
        };
        self.send(consumer, join)
    }

    fn static_heartbeat(&mut self, consumer: u8, id: MemberId, instance: InstanceId) -> Response {
        let generation = self.generation();
        let heartbeat = Request::Heartbeat {
            member_id: id,
            generation: Generation(generation),
            instance: Some(instance),
        };
        self.ask(consumer, heartbeat)
    }

    /// Consumers 1 and 2 as static members I0 and I1 of a Stable group at generation 1.
    fn stable_static_pair(&mut self) -> (MemberId, MemberId) {
        self.join_static(1, I0);
        // The first member's join phase ended at once; the second one starts another.
        let first = self.member_ids()[0];
        self.join_static(2, I1);
        let second = self.member_ids()[1];
        self.send(
            1,
            Request::JoinGroup {
                protocols: RANGE,
                member_id: Some(first),
                claim: None,
                instance: Some(I0),
            },
        );
        assert_eq!(
            (self.state(), self.generation()),
            (GroupState::CompletingRebalance, 2)
        );
        let assignment = self
            .cfg
            .assignor
            .assign_members(&[first, second], PARTITIONS);
        for (c, id, instance, assignments) in
            [(2, second, I1, Vec::new()), (1, first, I0, assignment)]
        {
            let sync = Request::SyncGroup {
                member_id: id,
                generation: Generation(2),
                assignments,
                instance: Some(instance),
            };
            self.send(c, sync);
        }
        self.drain();
        assert_eq!(self.state(), GroupState::Stable);
        (first, second)
    }
}

// docs/protocol.md §1.7: a static member joins without KIP-394's MEMBER_ID_REQUIRED round trip.
#[test]
fn a_static_member_joins_without_the_member_id_round_trip() {
    let mut h = Harness::new();
    let replies = h.join_static(1, I0);
    let id = h.member_ids()[0];
    assert_eq!(replies, vec![reply(1, join_ok(1, id, id, &[id]))]);
    assert!(h.coord.group.pending_members.is_empty());
    assert_eq!(h.coord.group.static_member(I0), Some(id));
}

// docs/protocol.md §1.7 (KIP-345, KAFKA-10284): a restart in a Stable group takes the member
// over without a rebalance, answered only once the new member id is durable.
#[test]
fn a_static_restart_in_a_stable_group_takes_the_member_over_once_durable() {
    let mut h = Harness::new();
    let (first, second) = h.stable_static_pair();
    let assignment = h.coord.group.member(second).unwrap().assignment;
    assert!(h.join_static(3, I1).is_empty(), "answered before durable");
    let new = h.coord.group.static_member(I1).unwrap();
    assert_ne!(new, second);
    assert_eq!((h.state(), h.generation()), (GroupState::Stable, 2));
    assert!(
        matches!(h.coord.pending[..], [PendingWrite::Replacement { member, generation: Generation(2) }] if member == new)
    );
    assert_eq!(h.drain(), vec![reply(3, join_ok(2, new, first, &[]))]);
    assert_eq!(
        h.send(
            3,
            Request::SyncGroup {
                member_id: new,
                generation: Generation(2),
                assignments: Vec::new(),
                instance: Some(I1),
            }
        ),
        vec![reply(3, sync_reply(ErrorCode::None, new, 2, assignment))]
    );
    // The old process is fenced on its next request.
    assert_eq!(
        h.static_heartbeat(2, second, I1),
        Response::Heartbeat {
            error: ErrorCode::FencedInstanceId
        }
    );
    // A failover loads the new member id with its instance.
    h.fail_over();
    assert_eq!(h.coord.group.static_member(I1), Some(new));
    assert_eq!(
        h.static_heartbeat(3, new, I1),
        Response::Heartbeat {
            error: ErrorCode::None
        }
    );
}

// docs/protocol.md §1.7 (KIP-345): the durable write of a static restart answers its
// JoinGroup only while the group is still Stable in that generation; once a rebalance has
// begun, the join phase answers it with the next generation.
#[test]
fn a_static_restart_durable_after_a_rebalance_began_is_answered_by_the_join_phase() {
    let mut h = Harness::new();
    let (first, _) = h.stable_static_pair();
    assert!(h.join_static(3, I1).is_empty(), "answered before durable");
    let new = h.coord.group.static_member(I1).unwrap();
    // A third static member joins before the replacement is durable: a rebalance begins.
    assert!(h.join_static(4, InstanceId(2)).is_empty());
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 2)
    );
    let replies = h.drain();
    assert!(replies.iter().all(|r| r.to != addr(3)), "{replies:?}");
    let member = h.coord.group.member(new).unwrap();
    assert!(member.awaiting_join.is_some(), "its JoinGroup still waits");
    // The join phase ends once the first member rejoins too: the restart is answered then,
    // under its new member id, in the new generation.
    let rejoin = Request::JoinGroup {
        protocols: RANGE,
        member_id: Some(first),
        claim: None,
        instance: Some(I0),
    };
    let replies = h.send(1, rejoin);
    let Response::JoinGroup {
        error,
        generation,
        member_id,
        ..
    } = reply_to(&replies, 3)
    else {
        panic!("{replies:?}");
    };
    assert_eq!(
        (*error, *generation, *member_id),
        (ErrorCode::None, Generation(3), Some(new))
    );
}

// docs/protocol.md §1.7 (KIP-814): a static leader that restarts in a Stable group is told the
// members but must keep the assignment.
#[test]
fn a_restarted_static_leader_gets_the_members_and_skips_the_assignment() {
    let mut h = Harness::new();
    let (first, second) = h.stable_static_pair();
    h.join_static(3, I0);
    let new = h.coord.group.static_member(I0).unwrap();
    let answered = h.drain();
    assert_eq!(h.coord.group.leader, Some(new));
    let Response::JoinGroup {
        leader,
        members,
        skip_assignment,
        ..
    } = reply_to(&answered, 3)
    else {
        panic!("{answered:?}");
    };
    assert_eq!(
        (*leader, members.clone(), *skip_assignment),
        (Some(new), vec![second, new], true)
    );
    assert!(!h.is_member(first));
}

// docs/protocol.md §1.7 (KAFKA-8500): a restart replaces the member in any state, and what the
// old member has parked is answered FENCED_INSTANCE_ID at once.
#[test]
fn a_static_restart_during_a_rebalance_fences_the_parked_join_of_the_old_member() {
    let mut h = Harness::new();
    let (first, second) = h.stable_static_pair();
    // The first member rejoins (a rebalance begins) and parks its JoinGroup.
    let rejoin = Request::JoinGroup {
        protocols: RANGE,
        member_id: Some(first),
        claim: None,
        instance: Some(I0),
    };
    assert!(h.send(1, rejoin).is_empty());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    let replies = h.join_static(3, I0);
    let new = h.coord.group.static_member(I0).unwrap();
    assert_eq!(
        replies,
        vec![reply(
            1,
            Response::error_for(
                &Request::JoinGroup {
                    protocols: RANGE,
                    member_id: Some(first),
                    claim: None,
                    instance: None,
                },
                ErrorCode::FencedInstanceId
            )
        )]
    );
    assert_eq!(h.member_ids(), vec![second, new]);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

// docs/protocol.md §1.7 (KAFKA-9801): a restart during CompletingRebalance starts a new
// rebalance, since the leader may have assigned the old member id.
#[test]
fn a_static_restart_while_the_rebalance_completes_starts_another() {
    let mut h = Harness::new();
    h.join_static(1, I0);
    h.join_static(2, I1);
    let first = h.coord.group.static_member(I0).unwrap();
    h.send(
        1,
        Request::JoinGroup {
            protocols: RANGE,
            member_id: Some(first),
            claim: None,
            instance: Some(I0),
        },
    );
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    h.join_static(3, I1);
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::PreparingRebalance, 2)
    );
}

// docs/protocol.md §1.6/1.7: the end of a join phase removes the dynamic members that did not
// rejoin; a static one stays (its session timeout decides), and a member that did rejoin leads.
#[test]
fn a_static_member_that_did_not_rejoin_stays_in_the_next_generation() {
    let mut h = Harness::new();
    let (first, second) = h.stable_static_pair();
    // A new static member starts a rebalance; the second member rejoins, the leader does not.
    h.join_static(3, InstanceId(2));
    let third = h.coord.group.static_member(InstanceId(2)).unwrap();
    let rejoin = Request::JoinGroup {
        protocols: RANGE,
        member_id: Some(second),
        claim: None,
        instance: Some(I1),
    };
    h.send(2, rejoin);
    // The rebalance timeout would leave the first out: its client, which has not polled for
    // as long, has given the membership up (the model and the runtime tell it so).
    assert_eq!(h.coord.static_members_left_out(), vec![first]);
    h.time_out_join();
    assert_eq!(
        (h.state(), h.generation()),
        (GroupState::CompletingRebalance, 3)
    );
    assert_eq!(h.member_ids(), vec![first, second, third]);
    assert_eq!(h.coord.group.leader, Some(second));
}

// docs/protocol.md §1.7: a static member's instance must map to its member id; the member ids
// of an instance's earlier processes are fenced on every API.
#[test]
fn every_request_of_a_replaced_static_member_is_fenced() {
    let mut h = Harness::new();
    let (_, second) = h.stable_static_pair();
    h.join_static(3, I1);
    h.drain();
    let before = h.snapshot();
    for request in every_group_api(second, 2) {
        let Some(request) = from_instance(request, I1) else {
            continue;
        };
        let answer = h.ask(2, request.clone());
        assert_eq!(
            answer,
            Response::error_for(&request, ErrorCode::FencedInstanceId),
            "{request:?}"
        );
    }
    assert_eq!(h.snapshot(), before);
}

/// `request` as a static member of `instance` sends it, if it names a member.
fn from_instance(request: Request, i: InstanceId) -> Option<Request> {
    let instance = Some(i);
    Some(match request {
        Request::JoinGroup {
            protocols: RANGE,
            member_id: member_id @ Some(_),
            claim,
            ..
        } => Request::JoinGroup {
            protocols: RANGE,
            member_id,
            claim,
            instance,
        },
        Request::SyncGroup {
            member_id,
            generation,
            assignments,
            ..
        } => Request::SyncGroup {
            member_id,
            generation,
            assignments,
            instance,
        },
        Request::Heartbeat {
            member_id,
            generation,
            ..
        } => Request::Heartbeat {
            member_id,
            generation,
            instance,
        },
        Request::LeaveGroup { member_id, .. } => Request::LeaveGroup {
            member_id,
            instance,
        },
        Request::OffsetCommit {
            member_id,
            generation,
            offsets,
            ..
        } => Request::OffsetCommit {
            member_id,
            generation,
            offsets,
            instance,
        },
        _ => return None,
    })
}

// ------------------------------------------------------------------------------------------------
// Changed metadata (the cooperative protocol's second rebalance)

// docs/protocol.md §1.8 (Kafka's classicGroupJoinExistingMember): a follower that rejoins a
// Stable group with its metadata unchanged gets the current generation back; with changed
// metadata (a cooperative member that revoked a partition now claims less) it starts a
// rebalance, so that the partition it gave up is handed on.
#[test]
fn a_rejoin_with_changed_metadata_starts_a_rebalance() {
    let mut h = Harness::new();
    let (_, b) = h.stable_pair();
    let claim = |ps: &[u8]| {
        Some(groupcheck::protocol::OwnedClaim {
            partitions: ps.iter().copied().collect(),
            generation: Generation(1),
        })
    };
    let rejoin = |claim| Request::JoinGroup {
        protocols: RANGE,
        member_id: Some(b),
        claim,
        instance: None,
    };
    h.coord.group.member_mut(b).unwrap().claim = claim(&[0, 1]);
    let same = h.send(2, rejoin(claim(&[0, 1])));
    assert_eq!(
        same,
        vec![reply(2, join_ok(1, b, h.coord.group.leader.unwrap(), &[]))]
    );
    assert_eq!(h.state(), GroupState::Stable);
    assert!(
        h.send(2, rejoin(claim(&[0]))).is_empty(),
        "parked in the new join phase"
    );
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

// docs/protocol.md §1.8: the same in CompletingRebalance: a member rejoining with changed
// metadata starts a new rebalance instead of getting the generation being completed.
#[test]
fn a_rejoin_with_changed_metadata_while_completing_starts_a_rebalance() {
    let mut h = Harness::new();
    let (_, b) = h.joined_pair();
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    let claimed = Some(groupcheck::protocol::OwnedClaim {
        partitions: [0].into_iter().collect(),
        generation: Generation(1),
    });
    let rejoin = Request::JoinGroup {
        protocols: RANGE,
        member_id: Some(b),
        claim: claimed,
        instance: None,
    };
    assert!(h.send(2, rejoin).is_empty(), "parked in the new join phase");
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

// docs/protocol.md §1.6 (KAFKA-12890's fix): when a completing rebalance has lasted the
// rebalance timeout, the members that have not sent their SyncGroup are removed and the group
// rebalances; with the flaw nothing does, and the group waits for ever.
#[test]
fn the_pending_sync_timer_removes_a_member_that_never_syncs() {
    for (flaws, removed) in [
        (Flaws::NONE, true),
        (Flaws::NONE.with(Flaw::NoPendingSyncTimeout), false),
    ] {
        let mut h = Harness::with_flaws(flaws);
        let (a, b) = h.joined_pair();
        // The follower syncs; the leader's assignor hangs.
        assert!(h.sync(2, b, 1, Vec::new()).is_empty());
        assert_eq!(h.coord.pending_sync(), vec![a]);
        let replies = h.coord.pending_sync_timeout(&mut h.log, &h.cfg);
        assert_eq!(!h.is_member(a), removed, "{flaws:?}");
        if removed {
            assert_eq!(h.state(), GroupState::PreparingRebalance);
            assert_eq!(
                replies,
                vec![reply(
                    2,
                    sync_reply(ErrorCode::RebalanceInProgress, b, 1, Partitions::EMPTY)
                )]
            );
        } else {
            assert_eq!(h.state(), GroupState::CompletingRebalance);
        }
    }
}

/// Consumers 1 and 2 complete a join phase and the leader's SyncGroup makes the group Stable
/// (its assignment durable); consumer 2's SyncGroup has not come.
fn stable_without_the_followers_sync(flaws: Flaws) -> (Harness, MemberId, MemberId) {
    let mut h = Harness::with_flaws(flaws);
    let (a, b) = h.joined_pair();
    assert_eq!(h.coord.pending_sync(), vec![a, b]);
    let assignment = h.cfg.assignor.assign_members(&[a, b], PARTITIONS);
    assert!(h.sync(1, a, 1, assignment).is_empty());
    assert_eq!(h.durable().len(), 1, "the leader's SyncGroup answered");
    assert_eq!(h.state(), GroupState::Stable);
    assert_eq!(h.coord.pending_sync(), vec![b]);
    (h, a, b)
}

// docs/protocol.md §1.6: Kafka's pending-sync timer runs on once the leader's SyncGroup made
// the group Stable: a follower that never sent its SyncGroup (its heartbeats keeping its
// session) holds an assignment it never takes, and is removed (not under the flaw).
#[test]
fn the_pending_sync_timer_runs_on_in_stable_and_removes_a_follower_that_never_synced() {
    for (flaws, removed) in [
        (Flaws::NONE, true),
        (Flaws::NONE.with(Flaw::NoPendingSyncTimeout), false),
    ] {
        let (mut h, a, b) = stable_without_the_followers_sync(flaws);
        assert_eq!(h.coord.can_time_out_sync(&h.cfg), removed, "{flaws:?}");
        let replies = h.coord.pending_sync_timeout(&mut h.log, &h.cfg);
        assert!(replies.is_empty(), "nothing of b's is parked");
        assert_eq!(!h.is_member(b), removed, "{flaws:?}");
        assert!(h.is_member(a));
        let state = match removed {
            true => GroupState::PreparingRebalance,
            false => GroupState::Stable,
        };
        assert_eq!(h.state(), state);
    }
}

// docs/protocol.md §1.6: the follower's SyncGroup in Stable, a new join phase and a failover
// (Kafka keeps the pending-sync set in memory only) each leave nobody pending.
#[test]
fn a_sync_in_stable_a_new_join_phase_or_a_failover_leaves_nobody_pending_sync() {
    let (mut h, _, b) = stable_without_the_followers_sync(Flaws::NONE);
    assert!(!h.sync(2, b, 1, Vec::new()).is_empty(), "answered at once");
    assert!(h.coord.pending_sync().is_empty());
    assert!(!h.coord.can_time_out_sync(&h.cfg));

    let (mut h, _, _) = stable_without_the_followers_sync(Flaws::NONE);
    let c = h.member_id(3);
    h.join_with(3, c);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(h.coord.pending_sync().is_empty());

    let (mut h, _, _) = stable_without_the_followers_sync(Flaws::NONE);
    h.fail_over();
    assert_eq!(h.state(), GroupState::Stable);
    assert!(h.coord.pending_sync().is_empty());
}

// ------------------------------------------------------------------------------------------------
// Group protocols (the assignors a JoinGroup offers)

const UPGRADED: [Assignor; 2] = [Assignor::CooperativeSticky, Assignor::Range];

fn offering(member_id: Option<MemberId>, protocols: &[Assignor]) -> Request {
    Request::JoinGroup {
        member_id,
        protocols: Assignors::from(protocols.to_vec()),
        claim: None,
        instance: None,
    }
}

/// Consumers 1 and 2 form generation 1, each offering its list, and the leader's assignment is
/// durable.
fn stable_pair_offering(h: &mut Harness, first: &[Assignor], second: &[Assignor]) -> [MemberId; 2] {
    let (a, b) = (h.member_id(1), h.member_id(2));
    assert!(h.send(1, offering(Some(a), first)).is_empty());
    let replies = h.send(2, offering(Some(b), second));
    let Response::JoinGroup { protocol, .. } = reply_to(&replies, 1) else {
        panic!("{replies:?}");
    };
    let assignment = protocol.unwrap().assign_members(&[a, b], PARTITIONS);
    assert!(h.sync(2, b, 1, Vec::new()).is_empty());
    assert!(h.sync(1, a, 1, assignment).is_empty());
    assert_eq!(h.durable().len(), 2);
    [a, b]
}

// docs/protocol.md §1.9 Admission: a JoinGroup sharing no protocol with every member is
// INCONSISTENT_GROUP_PROTOCOL and changes nothing, from a new member and a known one alike (the
// check comes before any other).
#[test]
fn a_join_sharing_no_protocol_with_the_group_is_inconsistent_group_protocol_and_changes_nothing() {
    let mut h = Harness::new();
    let (a, _) = h.stable_pair();
    let before = h.snapshot();
    let cooperative = [Assignor::CooperativeSticky];
    for member_id in [None, Some(a), Some(STRANGER)] {
        assert_eq!(
            h.ask(3, offering(member_id, &cooperative)),
            join_error(member_id, ErrorCode::InconsistentGroupProtocol)
        );
        assert_eq!(h.snapshot(), before);
    }
    // An Empty group takes any list but an empty one.
    let mut empty = Harness::new();
    let none = empty.ask(1, offering(None, &[]));
    assert_eq!(none, join_error(None, ErrorCode::InconsistentGroupProtocol));
    assert!(empty.coord.group.pending_members.is_empty());
}

// docs/protocol.md §1.9 Selection: of the protocols every member supports, the one most members
// list first; it is named in every JoinGroup answer and written with the generation.
#[test]
fn the_group_runs_the_protocol_all_support_that_most_list_first() {
    let mut h = Harness::new();
    stable_pair_offering(&mut h, &UPGRADED, &[Assignor::Range]);
    assert_eq!(
        h.coord.group.protocol,
        Some(Assignor::Range),
        "only range is common"
    );
    let mut h = Harness::new();
    stable_pair_offering(&mut h, &UPGRADED, &UPGRADED);
    assert_eq!(h.coord.group.protocol, Some(Assignor::CooperativeSticky));
    let Record::GroupMetadata { protocol, .. } = h.log.durable.last().unwrap() else {
        panic!("{:?}", h.log.durable);
    };
    assert_eq!(*protocol, Some(Assignor::CooperativeSticky));
    // A tie goes to the first in range, round-robin, sticky, cooperative-sticky.
    let mut h = Harness::new();
    let robin_first = [Assignor::RoundRobin, Assignor::Range];
    stable_pair_offering(
        &mut h,
        &robin_first,
        &[Assignor::Range, Assignor::RoundRobin],
    );
    assert_eq!(h.coord.group.protocol, Some(Assignor::Range));
}

// docs/protocol.md §1.9 Metadata: a follower of a Stable group rejoining with other protocols
// starts a rebalance (the same protocols get the current generation back).
#[test]
fn a_follower_rejoining_with_other_protocols_starts_a_rebalance() {
    let mut h = Harness::new();
    let [_, b] = stable_pair_offering(&mut h, &UPGRADED, &UPGRADED);
    let same = h.ask(2, offering(Some(b), &UPGRADED));
    assert!(matches!(
        same,
        Response::JoinGroup {
            error: ErrorCode::None,
            generation: Generation(1),
            ..
        }
    ));
    assert_eq!(h.state(), GroupState::Stable);
    assert!(h
        .send(2, offering(Some(b), &[Assignor::CooperativeSticky]))
        .is_empty());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

// docs/protocol.md §1.9 Loading: the record holds the selected protocol only, so a loaded group
// knows each member by that one until it rejoins, and a rejoin with the full list is changed
// metadata.
#[test]
fn a_loaded_group_knows_its_members_by_the_selected_protocol_only() {
    let mut h = Harness::new();
    let [a, b] = stable_pair_offering(&mut h, &UPGRADED, &UPGRADED);
    h.fail_over();
    let cooperative = Assignors::one(Assignor::CooperativeSticky);
    assert_eq!(h.coord.group.protocol, Some(Assignor::CooperativeSticky));
    for id in [a, b] {
        assert_eq!(h.coord.group.member(id).unwrap().protocols, cooperative);
    }
    assert!(h.send(2, offering(Some(b), &UPGRADED)).is_empty());
    assert_eq!(h.state(), GroupState::PreparingRebalance);
}

/// OffsetFetch names partitions by number; one the group's topic does not have is left out of
/// the answer (the wire layer answers such a request itself, but the core must not read past
/// its offsets).
#[test]
fn offset_fetch_of_a_partition_the_topic_does_not_have_answers_without_it() {
    let mut h = Harness::new();
    let beyond: Partitions = [PARTITIONS].into_iter().collect();
    match h.ask(ADMIN, Request::OffsetFetch { partitions: beyond }) {
        Response::OffsetFetch {
            error: ErrorCode::None,
            offsets,
        } => assert!(offsets.is_empty(), "{offsets:?}"),
        other => panic!("OffsetFetch failed: {other:?}"),
    }
}
