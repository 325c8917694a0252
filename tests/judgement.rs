//! Judgements of the properties on hand-built inputs: the reply judgements of
//! `durable_before_ack` and `no_lost_commit` on hand-built logs, the cases no catalogue model
//! separates from the others (every model that serves an undurable offset also acknowledges one
//! first); which requests `non_member_fenced` holds to changing nothing; and which answers
//! `member_not_fenced` takes for fencing a member the group knows.

use groupcheck::assignor::Assignor;
use groupcheck::coordinator::{Coordinator, CoreConfig, Group, LoadState, Member};
use groupcheck::offsets_log::OffsetsLog;
use groupcheck::property::reply::{judge_reply, lost_ack, ReplyFault};
use groupcheck::property::{from_known_member, from_non_member, told_unknown};
use groupcheck::protocol::{
    Assignors, BrokerId, ErrorCode, Generation, LeaderEpoch, MemberId, Offset, Record, Request,
    Response,
};

/// A log where p0's commit of 1 is durable and its commit of 2 is appended, not yet durable.
fn log_with_a_pending_commit() -> OffsetsLog {
    let mut log = OffsetsLog::new(BrokerId(0));
    for offset in [1, 2] {
        let commit = Record::OffsetCommit {
            partition: 0,
            offset,
            committed_by: None,
        };
        log.uncommitted.push(vec![commit]);
    }
    assert!(log.replicate_one());
    log
}

fn fetch(served: Option<Offset>) -> Response {
    Response::OffsetFetch {
        error: ErrorCode::None,
        offsets: vec![(0, served)],
    }
}

// An OffsetFetch must serve exactly the durable offset: serving an appended commit that is not
// yet durable reveals what a failover may still lose, even though nothing was acknowledged.
#[test]
fn a_fetch_serving_a_commit_not_yet_durable_is_an_undurable_reply() {
    let log = log_with_a_pending_commit();
    let mut acked = vec![0; 1];
    assert_eq!(judge_reply(&log, &mut acked, &fetch(Some(1)), true), vec![]);
    assert_eq!(
        judge_reply(&log, &mut acked, &fetch(Some(2)), true),
        vec![ReplyFault::UndurableFetch {
            partition: 0,
            served: Some(2)
        }]
    );
    // A deposed coordinator that has not heard of it serves what was durable in its time.
    assert_eq!(
        judge_reply(&log, &mut acked, &fetch(Some(2)), false),
        vec![]
    );
}

// Serving below what was acknowledged loses the commit; serving nothing at all for a partition
// with a durable commit is the same loss.
#[test]
fn a_fetch_below_an_acknowledged_commit_loses_it() {
    let log = log_with_a_pending_commit();
    let mut acked = vec![1; 1];
    let faults = judge_reply(&log, &mut acked, &fetch(None), true);
    assert_eq!(
        faults,
        vec![ReplyFault::FetchBelowAck {
            partition: 0,
            served: None,
            acked: 1
        }]
    );
}

// Acknowledging a commit is durable only once the log holds that offset or a later one: here
// 1 is durable and 2 only appended, so acknowledging 2 reveals what a failover may still lose,
// and an acknowledged 2 is lost if the log stays so.
#[test]
fn acknowledging_an_offset_above_the_durable_one_is_an_undurable_ack() {
    let log = log_with_a_pending_commit();
    let commit = |offset| Response::OffsetCommit {
        error: ErrorCode::None,
        offsets: vec![(0, offset)],
    };
    let mut acked = vec![0; 1];
    assert_eq!(judge_reply(&log, &mut acked, &commit(1), true), vec![]);
    assert_eq!(lost_ack(&log, &acked), None);
    assert_eq!(
        judge_reply(&log, &mut acked, &commit(2), true),
        vec![ReplyFault::UndurableAck {
            partition: 0,
            offset: 2
        }]
    );
    assert_eq!(lost_ack(&log, &acked), Some((0, 2)));
}

fn member(seq: u32) -> MemberId {
    MemberId {
        epoch: LeaderEpoch(0),
        seq,
    }
}

// A zombie is a member id the group knows neither as a member nor as a pending one (KIP-394):
// whatever it sends must change nothing. A pending member's LeaveGroup is its own (Kafka
// removes it), and a JoinGroup without a member id is a newcomer's.
#[test]
fn only_a_member_id_the_group_does_not_know_is_held_to_changing_nothing() {
    let mut group = Group::empty();
    group.members.push(Member::new(member(0)));
    group.pending_members.push(member(1));
    let heartbeat = |seq| Request::Heartbeat {
        member_id: member(seq),
        generation: Generation(1),
        instance: None,
    };
    let leave = |seq| Request::LeaveGroup {
        member_id: member(seq),
        instance: None,
    };
    let join = |member_id| Request::JoinGroup {
        member_id,
        protocols: Assignors::default(),
        claim: None,
        instance: None,
    };
    assert!(!from_non_member(&group, &heartbeat(0)));
    assert!(!from_non_member(&group, &leave(1)));
    assert!(!from_non_member(&group, &join(None)));
    assert!(from_non_member(&group, &heartbeat(2)));
    assert!(from_non_member(&group, &leave(2)));
    assert!(from_non_member(&group, &join(Some(member(2)))));
    let fetch = Request::OffsetFetch {
        partitions: Default::default(),
    };
    assert!(!from_non_member(&group, &fetch));
}

// A member the group knows, pending or not, is never told it is unknown: a pending member's
// LeaveGroup answered UNKNOWN_MEMBER_ID is such a fencing. Only the answer to the request itself
// counts: the JoinGroup a leaving member had parked is answered UNKNOWN_MEMBER_ID, as in Kafka.
// A loading coordinator, and a member id the group does not know, are outside the property.
#[test]
fn only_the_answer_to_a_known_members_own_request_can_fence_it_as_unknown() {
    let cfg = CoreConfig {
        partitions: 2,
        assignor: Assignor::Range,
        flaws: Default::default(),
    };
    let mut c = Coordinator::active(BrokerId(0), LeaderEpoch(0), &cfg);
    c.group.members.push(Member::new(member(0)));
    c.group.pending_members.push(member(1));
    let leave = |seq| Request::LeaveGroup {
        member_id: member(seq),
        instance: None,
    };
    let unknown = Response::LeaveGroup {
        error: ErrorCode::UnknownMemberId,
    };
    let parked_join = Response::error_for(
        &Request::JoinGroup {
            member_id: Some(member(0)),
            protocols: Assignors::default(),
            claim: None,
            instance: None,
        },
        ErrorCode::UnknownMemberId,
    );
    for known in [0, 1] {
        assert!(from_known_member(&c, &leave(known)));
        assert!(told_unknown(&leave(known), &unknown));
    }
    assert!(!told_unknown(&leave(0), &parked_join));
    assert!(!told_unknown(
        &leave(1),
        &Response::LeaveGroup {
            error: ErrorCode::None
        }
    ));
    assert!(!from_known_member(&c, &leave(2)));
    c.load = LoadState::Loading;
    assert!(!from_known_member(&c, &leave(0)));
}
