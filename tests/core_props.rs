//! Property tests of the sans-IO core over random request sequences.

use groupcheck::assignor::Assignor;
use groupcheck::coordinator::replay::{load, replay};
use groupcheck::coordinator::{Coordinator, CoreConfig, GroupState};
use groupcheck::flaw::Flaws;
use groupcheck::offsets_log::{LogAppender, OffsetsLog};
use groupcheck::protocol::{
    ClientAddr, ErrorCode, MemberId, Partitions, Record, Request, Response,
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
}

fn member() -> impl Strategy<Value = MemberId> {
    (0u32..1, 0u32..5).prop_map(|(epoch, seq)| MemberId { epoch, seq })
}

fn partitions() -> impl Strategy<Value = Partitions> {
    (0u16..8).prop_map(|bits| (0..3).filter(|p| bits & (1 << p) != 0).collect())
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::FindCoordinator),
        proptest::option::of(member()).prop_map(|member_id| Request::JoinGroup { member_id }),
        (
            member(),
            0u32..4,
            proptest::collection::vec((member(), partitions()), 0..3)
        )
            .prop_map(|(member_id, generation, assignments)| Request::SyncGroup {
                member_id,
                generation,
                assignments
            }),
        (member(), 0u32..4).prop_map(|(member_id, generation)| Request::Heartbeat {
            member_id,
            generation
        }),
        member().prop_map(|member_id| Request::LeaveGroup { member_id }),
        (
            member(),
            0u32..4,
            proptest::collection::vec((0u8..3, 0u32..5), 0..3)
        )
            .prop_map(|(member_id, generation, offsets)| Request::OffsetCommit {
                member_id,
                generation,
                offsets
            }),
        partitions().prop_map(|partitions| Request::OffsetFetch { partitions }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, request()).prop_map(|(c, r)| Op::Request(c, r)),
        2 => Just(Op::Durable),
        1 => member().prop_map(Op::Expire),
        1 => Just(Op::RebalanceTimeout),
    ]
}

/// Answers that reject a request: the coordinator must be left exactly as it was.
/// Whether a response is of the request's API.
fn answers(request: &Request, response: &Response) -> bool {
    matches!(
        (request, response),
        (Request::FindCoordinator, Response::FindCoordinator { .. })
            | (Request::JoinGroup { .. }, Response::JoinGroup { .. })
            | (Request::SyncGroup { .. }, Response::SyncGroup { .. })
            | (Request::Heartbeat { .. }, Response::Heartbeat { .. })
            | (Request::LeaveGroup { .. }, Response::LeaveGroup { .. })
            | (Request::OffsetCommit { .. }, Response::OffsetCommit { .. })
            | (Request::OffsetFetch { .. }, Response::OffsetFetch { .. })
    )
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

    /// Any sequence of requests, durability and timers: no panic, rejected requests change
    /// nothing, the generation never goes back, the group stays well-formed, and the offsets
    /// served are exactly the replay of the durable log.
    #[test]
    fn random_requests_keep_the_coordinator_well_formed(ops in proptest::collection::vec(op(), 0..60)) {
        let mut log = OffsetsLog::new(0);
        let mut c = Coordinator::active(0, 0, &CFG);
        for op in ops {
            let before = c.clone();
            match op {
                Op::Request(client, request) => {
                    let from = ClientAddr { consumer: client, ..ClientAddr::default() };
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
                    let expirable = c.can_expire(m);
                    c.expire_session(m, &mut log, &CFG);
                    if !expirable {
                        prop_assert_eq!(&c, &before);
                    }
                }
                Op::RebalanceTimeout => {
                    c.rebalance_timeout(&mut log, &CFG);
                }
            }
            prop_assert!(c.group.generation >= before.group.generation, "generation went back");
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
        let mut log = OffsetsLog::new(0);
        let mut all = Vec::new();
        for (batch, clean) in batches {
            all.extend(batch.iter().cloned());
            log.append(0, batch).unwrap();
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
        prop_assert!(log.durable.iter().all(|r| !r.is_tombstone()), "tombstones removed");
    }
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (
            0u32..5,
            proptest::option::of(member()),
            proptest::collection::vec((member(), partitions()), 0..3)
        )
            .prop_map(|(generation, leader, members)| Record::GroupMetadata {
                generation,
                leader,
                members
            }),
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
