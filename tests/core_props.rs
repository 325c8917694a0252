//! Property tests of the sans-IO core over random request sequences.

use groupcheck::assignor::sticky::counted_claims;
use groupcheck::assignor::{Assignor, Subscription};
use groupcheck::coordinator::replay::{load, replay};
use groupcheck::coordinator::{Coordinator, CoreConfig, GroupState, LoadState};
use groupcheck::flaw::Flaws;
use groupcheck::offsets_log::{LogAppender, OffsetsLog};
use groupcheck::protocol::{
    Assignors, BrokerId, ClientAddr, ConsumerId, ErrorCode, Generation, InstanceId, LeaderEpoch,
    MemberId, Partitions, Record, Request, Response,
};
use proptest::prelude::*;

const CFG: CoreConfig = CoreConfig {
    partitions: 3,
    assignor: Assignor::Range,
    flaws: Flaws::NONE,
};

/// One thing that can happen to a coordinator.
#[derive(Clone, Debug)]
enum Op {
    Request(u8, Request),
    Durable,
    Expire(MemberId),
    RebalanceTimeout,
    PendingSyncTimeout,
    /// The coordinator is elected again for the next leader epoch and reloads the log.
    Failover,
}

fn member() -> impl Strategy<Value = MemberId> {
    (0u32..1, 0u32..5).prop_map(|(epoch, seq)| MemberId {
        epoch: LeaderEpoch(epoch),
        seq,
    })
}

fn partitions() -> impl Strategy<Value = Partitions> {
    (0u16..8).prop_map(|bits| (0..3).filter(|p| bits & (1 << p) != 0).collect())
}

/// A static member's instance id, or none (a dynamic member).
fn instance() -> impl Strategy<Value = Option<InstanceId>> {
    proptest::option::of((0u8..2).prop_map(InstanceId))
}

/// A JoinGroup's protocols: none (refused), one assignor, or two in either order.
fn protocols() -> impl Strategy<Value = Assignors> {
    let assignor = (0..Assignor::ALL.len()).prop_map(|i| Assignor::ALL[i]);
    proptest::collection::vec(assignor, 0..3).prop_map(Assignors::from)
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::FindCoordinator),
        (proptest::option::of(member()), protocols(), instance()).prop_map(
            |(member_id, protocols, instance)| Request::JoinGroup {
                member_id,
                protocols,
                claim: None,
                instance,
            }
        ),
        (
            member(),
            0u32..4,
            proptest::collection::vec((member(), partitions()), 0..3),
            instance()
        )
            .prop_map(|(member_id, generation, assignments, instance)| {
                Request::SyncGroup {
                    member_id,
                    generation: Generation(generation),
                    assignments,
                    instance,
                }
            }),
        (member(), 0u32..4, instance()).prop_map(|(member_id, generation, instance)| {
            Request::Heartbeat {
                member_id,
                generation: Generation(generation),
                instance,
            }
        }),
        (member(), instance()).prop_map(|(member_id, instance)| Request::LeaveGroup {
            member_id,
            instance
        }),
        (
            member(),
            0u32..4,
            proptest::collection::vec((0u8..3, 0u32..5), 0..3),
            instance()
        )
            .prop_map(
                |(member_id, generation, offsets, instance)| Request::OffsetCommit {
                    member_id,
                    generation: Generation(generation),
                    offsets,
                    instance
                }
            ),
        partitions().prop_map(|partitions| Request::OffsetFetch { partitions }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, request()).prop_map(|(c, r)| Op::Request(c, r)),
        2 => Just(Op::Durable),
        1 => member().prop_map(Op::Expire),
        1 => Just(Op::RebalanceTimeout),
        1 => Just(Op::PendingSyncTimeout),
        1 => Just(Op::Failover),
    ]
}

/// Whether a response answers this request: of its API and, where the answer names a member,
/// naming the request's (a static member's restart fences the old member id, whose parked
/// request may have come on the same connection).
fn answers(request: &Request, response: &Response) -> bool {
    match (request, response) {
        (Request::JoinGroup { member_id: a, .. }, Response::JoinGroup { member_id: b, .. }) => {
            a == b
        }
        (Request::SyncGroup { member_id: a, .. }, Response::SyncGroup { member_id: b, .. }) => {
            a == b
        }
        _ => matches!(
            (request, response),
            (Request::FindCoordinator, Response::FindCoordinator { .. })
                | (Request::Heartbeat { .. }, Response::Heartbeat { .. })
                | (Request::LeaveGroup { .. }, Response::LeaveGroup { .. })
                | (Request::OffsetCommit { .. }, Response::OffsetCommit { .. })
                | (Request::OffsetFetch { .. }, Response::OffsetFetch { .. })
        ),
    }
}

fn is_rejection(r: &Response) -> bool {
    !matches!(r.error(), ErrorCode::None | ErrorCode::MemberIdRequired)
}

fn check_group_invariants(c: &Coordinator) -> Result<(), TestCaseError> {
    let g = &c.group;
    prop_assert!(
        g.members.windows(2).all(|w| w[0].id < w[1].id),
        "members sorted and unique"
    );
    if g.members.is_empty() {
        prop_assert!(g.leader.is_none() || g.state != GroupState::Stable);
    } else {
        prop_assert!(
            g.leader.is_some_and(|l| g.is_member(l)),
            "the leader is a member"
        );
    }
    let statics: Vec<_> = g.members.iter().filter_map(|m| m.instance).collect();
    prop_assert!(
        statics
            .iter()
            .enumerate()
            .all(|(i, x)| !statics[..i].contains(x)),
        "at most one member per instance id"
    );
    let mut seen = Partitions::EMPTY;
    for m in &g.members {
        prop_assert!(
            seen.intersection(m.assignment).is_empty(),
            "assignment is a function"
        );
        seen = seen.union(m.assignment);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any sequence of requests, durability, timers and failovers: no panic, rejected requests
    /// change nothing, the generation goes back only to the durable one on a failover, the
    /// group stays well-formed, and the offsets served are exactly the replay of the durable
    /// log.
    #[test]
    fn random_requests_keep_the_coordinator_well_formed(ops in proptest::collection::vec(op(), 0..60)) {
        let mut log = OffsetsLog::new(BrokerId(0));
        let mut c = Coordinator::active(BrokerId(0), LeaderEpoch(0), &CFG);
        for op in ops {
            let before = c.clone();
            let failover = matches!(op, Op::Failover);
            match op {
                Op::Request(client, request) => {
                    let from = ClientAddr { consumer: ConsumerId(client), ..ClientAddr::default() };
                    let replies = c.handle(from, &request, &mut log, &CFG);
                    let direct: Vec<_> = replies.iter().filter(|r| r.to == from).collect();
                    if matches!(request, Request::Heartbeat { .. } | Request::OffsetFetch { .. } | Request::FindCoordinator) {
                        prop_assert_eq!(&c, &before, "reads change nothing");
                    }
                    // A rejection is the only reply, and it answers this request (a parked request
                    // of the same connection may be answered by it too).
                    if replies.len() == 1 && direct.len() == 1 && answers(&request, &direct[0].response) && is_rejection(&direct[0].response) {
                        prop_assert_eq!(&c, &before, "rejected {:?} with {:?}", request, direct[0].response);
                    }
                }
                Op::Durable => {
                    if log.replicate_one() {
                        c.on_batch_durable();
                    }
                }
                Op::Expire(m) => {
                    c.expire_session(m, &mut log, &CFG);
                    // Kafka's hasSatisfiedHeartbeat, said from the state (not by `can_expire`,
                    // which the coordinator itself asks): a pending or new member, or one with
                    // no JoinGroup or SyncGroup parked, is removed; for any other id nothing
                    // changes.
                    let g = &before.group;
                    let expires = before.load == LoadState::Active
                        && (g.pending_members.contains(&m)
                            || g.member(m).is_some_and(|x| {
                                x.is_new || (x.awaiting_join.is_none() && x.awaiting_sync.is_none())
                            }));
                    if expires {
                        let gone = !c.group.is_member(m) && !c.group.pending_members.contains(&m);
                        prop_assert!(gone, "{} expired but is still in the group", m);
                    } else {
                        prop_assert_eq!(&c, &before);
                    }
                }
                Op::RebalanceTimeout => {
                    c.rebalance_timeout(&mut log, &CFG);
                }
                Op::PendingSyncTimeout => {
                    c.pending_sync_timeout(&mut log, &CFG);
                }
                Op::Failover => {
                    log.elect(BrokerId(0));
                    c.start_loading(log.leader_epoch, &CFG);
                    c.finish_loading(&log.durable, &CFG);
                    // A rebalance in flight is lost with the old leader: back to what is durable.
                    let durable = replay(CFG.partitions, &log.durable);
                    prop_assert_eq!(c.group.generation, durable.generation);
                    prop_assert_eq!(c.group.members.len(), durable.members.len());
                }
            }
            if !failover {
                prop_assert!(c.group.generation >= before.group.generation, "generation went back");
            }
            check_group_invariants(&c)?;
            prop_assert_eq!(&c.offsets, &replay(CFG.partitions, &log.durable).offsets);
        }
    }

    /// Compaction keeps what replay needs: the compacted durable log replays to the same state
    /// as the full sequence of records.
    #[test]
    fn replay_is_the_same_whenever_the_cleaner_runs(
        batches in proptest::collection::vec(
            (proptest::collection::vec(record(), 1..3), any::<bool>()),
            0..12,
        )
    ) {
        // The cleaner runs after some batches and not others: a log compacted in parts.
        let mut log = OffsetsLog::new(BrokerId(0));
        let mut all = Vec::new();
        for (batch, clean) in batches {
            all.extend(batch.iter().cloned());
            log.append(LeaderEpoch(0), batch).unwrap();
            prop_assert!(log.replicate_one());
            if clean {
                log.compact();
            }
            prop_assert_eq!(replay(CFG.partitions, &log.durable), replay(CFG.partitions, &all));
            prop_assert_eq!(
                groupcheck::coordinator::replay::load(CFG.partitions, &log.durable, CFG.flaws),
                replay(CFG.partitions, &all),
                "loading reads the log as replay does"
            );
        }
        log.compact();
        prop_assert!(!log.compactable());
        let keys: std::collections::BTreeSet<_> = log.durable.iter().map(|r| r.key()).collect();
        prop_assert_eq!(keys.len(), log.durable.len(), "one record per key");
        // Said without `is_tombstone`, the judgement the cleaner itself uses.
        let tombstone =
            |r: &Record| matches!(r, Record::GroupTombstone | Record::OffsetTombstone { .. });
        prop_assert!(!log.durable.iter().any(tombstone), "tombstones removed");
    }
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (
            0u32..5,
            proptest::option::of(member()),
            proptest::collection::vec((member(), partitions()), 0..3),
            // Which members are static, and with which instance id.
            proptest::collection::vec(proptest::option::of(0u8..2), 3)
        )
            .prop_map(
                |(generation, leader, members, statics)| Record::GroupMetadata {
                    instances: (members.iter().zip(statics))
                        .filter_map(|((m, _), i)| Some((*m, InstanceId(i?))))
                        .collect(),
                    protocol: (!members.is_empty()).then_some(Assignor::Range),
                    generation: Generation(generation),
                    leader,
                    members
                }
            ),
        (0u8..3, 0u32..5).prop_map(|(partition, offset)| Record::OffsetCommit {
            partition,
            offset,
            committed_by: None
        }),
        Just(Record::GroupTombstone),
        (0u8..3).prop_map(|partition| Record::OffsetTombstone { partition }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The loader (segment by segment) applies exactly what replaying every record in log order
    /// gives, on any log, compacted or not, when no flaw is on.
    #[test]
    fn loading_equals_replay_on_any_log(records in proptest::collection::vec(record(), 0..20)) {
        prop_assert_eq!(
            load(3, &records, Flaws::NONE),
            replay(3, &records)
        );
    }
}

/// A group as its leader's assignor sees it: 1 to 4 members (ids in order), 0 to 8 partitions,
/// each member claiming any partitions in any generation (or none: a new member).
fn subscriptions() -> impl Strategy<Value = (Vec<Subscription>, u8)> {
    (1usize..=4, 0u8..=8)
        .prop_flat_map(|(n, p)| {
            (
                proptest::collection::vec((0u16..256, proptest::option::of(0u32..3)), n),
                Just(p),
            )
        })
        .prop_map(|(claims, p)| {
            let subs = claims
                .into_iter()
                .enumerate()
                .map(|(i, (bits, generation))| Subscription {
                    member: MemberId {
                        epoch: LeaderEpoch(0),
                        seq: i as u32,
                    },
                    owned: (0..p).filter(|q| bits & (1 << q) != 0).collect(),
                    generation: generation.map(Generation),
                })
                .collect();
            (subs, p)
        })
}

/// Every partition given at most once; returns the union.
fn given_once(a: &[(MemberId, Partitions)]) -> Result<Partitions, TestCaseError> {
    let mut union = Partitions::EMPTY;
    for (_, g) in a {
        prop_assert_eq!(
            union.intersection(*g),
            Partitions::EMPTY,
            "a partition given twice"
        );
        union = union.union(*g);
    }
    Ok(union)
}

/// Every member holds ⌊P/N⌋ or ⌈P/N⌉ partitions.
fn balanced(a: &[(MemberId, Partitions)], p: u8) -> Result<(), TestCaseError> {
    let floor = usize::from(p) / a.len();
    let ceil = floor + usize::from(usize::from(p) % a.len() != 0);
    for (m, g) in a {
        prop_assert!((floor..=ceil).contains(&g.len()), "{m} holds {g}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Which claims count: a partition counts for the member that claims it in the newest
    /// generation among its claims, and for nobody if two members claim it in that generation
    /// (KAFKA-7026); an older claim nobody newer disputes counts (KAFKA-14639).
    #[test]
    fn each_partition_counts_for_its_one_newest_claimant((subs, p) in subscriptions()) {
        let counted = counted_claims(&subs, p, Flaws::NONE);
        given_once(&subs.iter().map(|s| s.member).zip(counted.iter().copied()).collect::<Vec<_>>())?;
        for q in 0..p {
            let claims: Vec<usize> = (0..subs.len()).filter(|i| subs[*i].owned.contains(q)).collect();
            // Option orders None (no generation) below every Some.
            let newest = claims.iter().map(|i| subs[*i].generation).max();
            let top: Vec<usize> = claims.iter().copied().filter(|i| Some(subs[*i].generation) == newest).collect();
            let holders: Vec<usize> = (0..subs.len()).filter(|i| counted[*i].contains(q)).collect();
            let expected = if top.len() == 1 { top } else { Vec::new() };
            prop_assert_eq!(holders, expected, "p{}", q);
        }
    }

    /// The sticky assignment is a balanced function onto every partition, and each member keeps
    /// as many of its counted partitions as its share allows.
    #[test]
    fn sticky_is_balanced_and_keeps_what_the_balance_allows((subs, p) in subscriptions()) {
        let a = Assignor::Sticky.assign(&subs, p, Flaws::NONE);
        prop_assert_eq!(given_once(&a)?, Partitions::all(p));
        balanced(&a, p)?;
        let floor = usize::from(p) / subs.len();
        for ((_, g), c) in a.iter().zip(counted_claims(&subs, p, Flaws::NONE)) {
            prop_assert!(g.intersection(c).len() >= c.len().min(floor), "kept too little of {c}");
        }
    }

    /// KIP-429: the cooperative round never gives a member a partition another member owns
    /// (counted); once the owners have revoked what they lost, the follow-up round completes a
    /// balanced assignment without moving anything again.
    #[test]
    fn cooperative_revokes_before_it_reassigns_and_settles_in_two_rounds((subs, p) in subscriptions()) {
        let counted = counted_claims(&subs, p, Flaws::NONE);
        let first = Assignor::CooperativeSticky.assign(&subs, p, Flaws::NONE);
        given_once(&first)?;
        for (i, (m, g)) in first.iter().enumerate() {
            for (j, c) in counted.iter().enumerate() {
                prop_assert!(i == j || g.intersection(*c).is_empty(), "{m} given a partition of another owner");
            }
        }
        let newest = subs.iter().filter_map(|s| s.generation).max().unwrap_or(Generation(0));
        let kept: Vec<Subscription> = first
            .iter()
            .map(|(member, owned)| Subscription { member: *member, owned: *owned, generation: Some(newest.next()) })
            .collect();
        let second = Assignor::CooperativeSticky.assign(&kept, p, Flaws::NONE);
        prop_assert_eq!(given_once(&second)?, Partitions::all(p));
        balanced(&second, p)?;
        for ((_, a), (_, b)) in first.iter().zip(&second) {
            prop_assert_eq!(a.difference(*b), Partitions::EMPTY, "the second round moved a partition");
        }
    }
}

// A set holds partitions 0 to 15: the sixteenth's number is in no set, not an alias of p0.
#[test]
fn a_partition_past_the_last_is_in_no_set() {
    let every = Partitions::all(Partitions::MAX);
    assert!((0..Partitions::MAX).all(|p| every.contains(p)));
    assert!(!every.contains(Partitions::MAX));
    assert!(!Partitions::single(0).contains(Partitions::MAX));
    assert_eq!(Partitions::single(3).iter().collect::<Vec<_>>(), vec![3]);
    let mut every = every;
    every.remove(Partitions::MAX);
    assert_eq!(every, Partitions::all(Partitions::MAX), "not p0 removed");
    let numbered = std::panic::catch_unwind(|| Partitions::single(Partitions::MAX));
    assert!(
        numbered.is_err(),
        "a set of the sixteenth alone is refused, as insert refuses it"
    );
}

// A set of partitions is read from a trace as its list; a partition past the last makes the
// file malformed instead of being dropped (or, shifted past the bitset, read as another).
#[test]
fn a_partition_set_read_with_a_partition_past_the_last_is_refused() {
    let read = |json| serde_json::from_str::<Partitions>(json);
    assert_eq!(read("[3, 15]").unwrap(), [3, 15].into_iter().collect());
    let err = read("[3, 16]").unwrap_err().to_string();
    assert!(err.contains("partition 16 is past the last"), "{err}");
}
