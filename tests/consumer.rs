//! The consumer state machine's own rules, beyond what the model exercises.

use groupcheck::assignor::{Assignor, RebalanceProtocol};
use groupcheck::consumer::{handles, CommitGeneration, Consumer, InFlight, Phase};
use groupcheck::coordinator::CoreConfig;
use groupcheck::flaw::Flaws;
use groupcheck::protocol::{
    Assignors, BrokerId, ClientAddr, ConsumerId, ErrorCode, Generation, InstanceId, LeaderEpoch,
    MemberId, Partitions, Request, Response,
};

const CFG: CoreConfig = CoreConfig {
    partitions: 2,
    assignor: Assignor::Range,
    flaws: Flaws::NONE,
};

/// A consumer in `phase` that owns everything and has processed three records of p0.
fn consumer_in(phase: Phase) -> Consumer {
    let mut c = Consumer::new(
        ClientAddr {
            consumer: ConsumerId(0),
            incarnation: 0,
            connection: 0,
        },
        &CFG,
    );
    c.phase = phase;
    c.coordinator = Some(BrokerId(0));
    c.member_id = Some(MemberId {
        epoch: LeaderEpoch(0),
        seq: 0,
    });
    c.generation = Some(Generation(1));
    c.owned = Partitions::all(2);
    c.positions[0] = 3;
    c
}

// The Java client commits only in a Stable generation: in any other phase the commit would be
// fenced (or would commit for a generation it is leaving).
#[test]
fn auto_commit_is_sent_only_in_a_stable_generation() {
    let send = consumer_in(Phase::Stable)
        .commit()
        .expect("a commit in Stable");
    assert!(matches!(send.request, Request::OffsetCommit { .. }));
    for phase in [
        Phase::Unjoined,
        Phase::Revoking,
        Phase::Joining,
        Phase::Syncing,
        Phase::Leaving,
        Phase::Closed,
    ] {
        assert!(consumer_in(phase).commit().is_none(), "{phase:?}");
    }
}

// One request in flight at a time: no commit while another request is outstanding.
#[test]
fn no_commit_while_a_request_is_in_flight() {
    let mut c = consumer_in(Phase::Stable);
    assert!(c.heartbeat().is_some());
    assert!(c.commit().is_none());
}

// KIP-345: a static member sends its instance id with every request, and on close commits but
// sends no LeaveGroup: its session timeout decides, so a restart can take the member back.
#[test]
fn a_static_member_closes_without_leaving() {
    let mut c = consumer_in(Phase::Stable).with_instance(Some(InstanceId(0)));
    let commit = c.close(&CFG).expect("commits first");
    assert!(matches!(
        commit.request,
        Request::OffsetCommit {
            instance: Some(InstanceId(0)),
            ..
        }
    ));
    let committed = Response::OffsetCommit {
        error: ErrorCode::None,
        offsets: vec![(0, 3)],
    };
    assert_eq!(c.on_response(&committed, &CFG), None, "no LeaveGroup");
    assert!(c.is_closed());
}

// KIP-345: FENCED_INSTANCE_ID means another process took the instance id over; it is fatal,
// and the partitions are given up without a commit.
#[test]
fn fenced_instance_id_stops_a_static_member() {
    let mut c = consumer_in(Phase::Stable).with_instance(Some(InstanceId(0)));
    assert!(c.heartbeat().is_some());
    let fenced = Response::Heartbeat {
        error: ErrorCode::FencedInstanceId,
    };
    assert_eq!(c.on_response(&fenced, &CFG), None);
    assert!(c.is_closed());
    assert!(c.owned.is_empty());
}

// KIP-814: a static leader that took its member back in a Stable group sends an empty
// SyncGroup: the assignment stays as it is.
#[test]
fn a_leader_told_to_skip_the_assignment_sends_none() {
    let mut c = consumer_in(Phase::Joining).with_instance(Some(InstanceId(0)));
    c.in_flight = Some(groupcheck::consumer::InFlight::Join);
    let me = MemberId {
        epoch: LeaderEpoch(0),
        seq: 5,
    };
    let answer = |skip_assignment| Response::JoinGroup {
        error: ErrorCode::None,
        generation: Generation(1),
        protocol: Some(Assignor::Range),
        member_id: Some(me),
        leader: Some(me),
        members: vec![me],
        claims: Vec::new(),
        skip_assignment,
    };
    let sync = c
        .clone()
        .on_response(&answer(true), &CFG)
        .expect("SyncGroup");
    assert!(
        matches!(sync.request, Request::SyncGroup { ref assignments, .. } if assignments.is_empty())
    );
    let sync = c.on_response(&answer(false), &CFG).expect("SyncGroup");
    assert!(
        matches!(sync.request, Request::SyncGroup { ref assignments, .. } if !assignments.is_empty())
    );
}

/// A consumer in `phase` configured with cooperative-sticky alone: it rebalances cooperatively.
fn cooperative_in(phase: Phase) -> Consumer {
    consumer_in(phase).with_assignors(Assignors::one(Assignor::CooperativeSticky))
}

// KIP-429: a cooperative consumer keeps processing while it rejoins, commits what it processed
// before its JoinGroup (onJoinPrepare's auto-commit, as the eager one does), and its JoinGroup
// claims what it owns, in the generation it was given it.
#[test]
fn a_cooperative_consumer_keeps_its_partitions_while_it_rejoins() {
    let mut c = cooperative_in(Phase::Stable);
    c.last_assignment = Some(groupcheck::protocol::OwnedClaim {
        partitions: Partitions::all(2),
        generation: Generation(1),
    });
    assert!(c.heartbeat().is_some());
    let rebalancing = Response::Heartbeat {
        error: ErrorCode::RebalanceInProgress,
    };
    // onJoinPrepare: it commits what it processed first, and processes on meanwhile.
    let commit = c.on_response(&rebalancing, &CFG).expect("commits first");
    assert!(
        matches!(&commit.request, Request::OffsetCommit { offsets, .. } if offsets == &vec![(0, 3)]),
        "{commit:?}"
    );
    assert_eq!(c.processable(), Partitions::all(2));
    let committed = Response::OffsetCommit {
        error: ErrorCode::None,
        offsets: vec![(0, 3)],
    };
    let join = c.on_response(&committed, &CFG).expect("then rejoins");
    let Request::JoinGroup { claim, .. } = join.request else {
        panic!("{join:?}");
    };
    assert_eq!(
        claim.map(|c| (c.partitions, c.generation)),
        Some((Partitions::all(2), Generation(1)))
    );
    assert_eq!(c.owned, Partitions::all(2));
    assert_eq!(c.processable(), Partitions::all(2));
    // An eager consumer would have committed and given everything up first.
    assert_eq!(consumer_in(Phase::Joining).processable(), Partitions::EMPTY);
}

/// A cooperative consumer owning both partitions, synced to an assignment of p1 alone: it
/// and the commit of p0 it sends before giving p0 up.
fn cooperative_assigned_p1_only() -> (Consumer, groupcheck::consumer::Send) {
    let mut c = cooperative_in(Phase::Syncing);
    c.in_flight = Some(InFlight::Sync);
    let synced = Response::SyncGroup {
        error: ErrorCode::None,
        member_id: MemberId {
            epoch: LeaderEpoch(0),
            seq: 0,
        },
        generation: Generation(1),
        assignment: Partitions::single(1),
    };
    let commit = c.on_response(&synced, &CFG).expect("commits p0 first");
    (c, commit)
}

// KIP-429: on its new assignment a cooperative consumer commits and gives up only what it lost,
// then rejoins at once so that a follow-up rebalance can hand it on.
#[test]
fn a_cooperative_consumer_revokes_only_what_it_lost_committing_first() {
    let (mut c, commit) = cooperative_assigned_p1_only();
    assert!(
        matches!(&commit.request, Request::OffsetCommit { offsets, .. } if offsets == &vec![(0, 3)]),
        "{commit:?}"
    );
    assert_eq!(
        c.processable(),
        Partitions::single(1),
        "p0 is no longer processed"
    );
    let committed = Response::OffsetCommit {
        error: ErrorCode::None,
        offsets: vec![(0, 3)],
    };
    let join = c.on_response(&committed, &CFG).expect("then rejoins");
    assert!(matches!(join.request, Request::JoinGroup { .. }));
    assert_eq!(c.owned, Partitions::single(1));
}

// KIP-429, onJoinPrepare: when the commit before giving up what it lost fails, the consumer
// rejoins without it and gives up only what it lost (a broker may refuse that commit, say
// REBALANCE_IN_PROGRESS; Kafka's coordinator, fencing a newer generation first, does not).
#[test]
fn a_cooperative_consumer_whose_revoking_commit_fails_rejoins_keeping_the_rest() {
    let (mut c, _) = cooperative_assigned_p1_only();
    let refused = Response::OffsetCommit {
        error: ErrorCode::RebalanceInProgress,
        offsets: vec![(0, 3)],
    };
    let join = c.on_response(&refused, &CFG).expect("rejoins without it");
    assert!(matches!(join.request, Request::JoinGroup { .. }));
    assert_eq!(c.owned, Partitions::single(1));
}

// docs/protocol.md §1.9: a consumer follows the cooperative protocol only if all its assignors
// support it, so the first step of the upgrade, [cooperative-sticky, range], is eager.
#[test]
fn a_consumer_offering_cooperative_sticky_and_range_is_eager() {
    let upgraded = Assignors::from(vec![Assignor::CooperativeSticky, Assignor::Range]);
    let c = consumer_in(Phase::Joining).with_assignors(upgraded);
    assert_eq!(c.rebalance_protocol(), RebalanceProtocol::Eager);
    assert_eq!(c.processable(), Partitions::EMPTY);
    let c = cooperative_in(Phase::Joining);
    assert_eq!(c.rebalance_protocol(), RebalanceProtocol::Cooperative);
}

// docs/protocol.md §1.9: the leader runs the assignor the group selected, not its own first
// choice; a JoinGroup answer naming an assignor the client lacks, or INCONSISTENT_GROUP_PROTOCOL,
// is fatal.
#[test]
fn the_leader_runs_the_selected_assignor_and_an_unknown_one_is_fatal() {
    let me = MemberId {
        epoch: LeaderEpoch(0),
        seq: 5,
    };
    let other = MemberId {
        epoch: LeaderEpoch(0),
        seq: 6,
    };
    let upgraded = Assignors::from(vec![Assignor::RoundRobin, Assignor::Range]);
    let joining = || {
        let mut c = consumer_in(Phase::Joining).with_assignors(upgraded);
        c.in_flight = Some(groupcheck::consumer::InFlight::Join);
        c
    };
    let answer = |protocol| Response::JoinGroup {
        error: ErrorCode::None,
        generation: Generation(1),
        protocol: Some(protocol),
        member_id: Some(me),
        leader: Some(me),
        members: vec![me, other],
        claims: Vec::new(),
        skip_assignment: false,
    };
    // Of three partitions, range gives the first member p0 and p1; round-robin, p0 and p2.
    let three = CoreConfig {
        partitions: 3,
        ..CFG
    };
    let sync = joining().on_response(&answer(Assignor::Range), &three);
    let Some(Request::SyncGroup { assignments, .. }) = sync.map(|s| s.request) else {
        panic!("no SyncGroup");
    };
    assert_eq!(assignments[0], (me, Partitions::all(2)));
    let mut c = joining();
    assert!(c
        .on_response(&answer(Assignor::CooperativeSticky), &CFG)
        .is_none());
    assert!(c.is_closed(), "an assignor it does not have");
    let mut c = joining();
    let refused = Response::error_for(
        &Request::JoinGroup {
            member_id: None,
            protocols: upgraded,
            claim: None,
            instance: None,
        },
        ErrorCode::InconsistentGroupProtocol,
    );
    assert!(c.on_response(&refused, &CFG).is_none());
    assert!(c.is_closed(), "INCONSISTENT_GROUP_PROTOCOL");
}

// REBALANCE_IN_PROGRESS to a Stable consumer's commit: the Java client's commit handler
// requests a rejoin (its partitions revoked, eagerly, before it rejoins), rather than taking the
// commit as lost. The coordinator of the model answers a commit so only once the member has
// rejoined, so this is the client's rule on its own.
#[test]
fn a_commit_answered_rebalance_in_progress_makes_a_stable_consumer_rejoin() {
    let mut c = consumer_in(Phase::Stable);
    assert!(c.commit().is_some());
    let rebalancing = Response::OffsetCommit {
        error: ErrorCode::RebalanceInProgress,
        offsets: vec![(0, 3)],
    };
    c.on_response(&rebalancing, &CFG);
    assert_eq!(c.phase, Phase::Revoking);
    assert_eq!(c.owned, Partitions::all(2), "revoked only by the rejoin");
}

// A consumer being closed whose final commit is fenced (UNKNOWN_MEMBER_ID or
// ILLEGAL_GENERATION) closes at once, its partitions given up, with no LeaveGroup: the Java
// client resets its generation on the failed commit (the member is unjoined), and
// `maybeLeaveGroup` sends nothing for an unjoined member. A member the group still counts is
// then removed by its session timeout.
#[test]
fn a_closing_consumer_whose_final_commit_is_fenced_closes_without_leave_group() {
    for error in [ErrorCode::IllegalGeneration, ErrorCode::UnknownMemberId] {
        let mut c = consumer_in(Phase::Stable);
        let commit = c.close(&CFG).expect("the final commit");
        assert!(matches!(commit.request, Request::OffsetCommit { .. }));
        let fenced = Response::OffsetCommit {
            error,
            offsets: vec![(0, 3)],
        };
        let next = c.on_response(&fenced, &CFG);
        assert_eq!(next, None, "{error:?}");
        assert!(c.is_closed(), "{error:?}");
        assert_eq!(c.owned, Partitions::EMPTY, "{error:?}");
    }
}

// A consumer being closed whose final commit fails otherwise (neither fenced nor told of a
// moving coordinator: REBALANCE_IN_PROGRESS, say, which Kafka's coordinator sends a member of
// the current generation only in CompletingRebalance, or another broker's answer) leaves
// without it, as `KafkaConsumer::close` does after a failed commit: its LeaveGroup goes out,
// its partitions given up. It does not rejoin.
#[test]
fn a_closing_consumer_whose_final_commit_fails_leaves_without_it() {
    for error in [
        ErrorCode::RebalanceInProgress,
        ErrorCode::UnknownTopicOrPartition,
    ] {
        let mut c = consumer_in(Phase::Stable);
        c.close(&CFG).expect("the final commit");
        let failed = Response::OffsetCommit {
            error,
            offsets: vec![(0, 3)],
        };
        let leave = c.on_response(&failed, &CFG).expect("LeaveGroup");
        assert!(
            matches!(leave.request, Request::LeaveGroup { .. }),
            "{error:?}: {leave:?}"
        );
        assert_eq!(
            (c.phase, c.owned),
            (Phase::Leaving, Partitions::EMPTY),
            "{error:?}"
        );
    }
}

// The application asks for its committed offsets (`KafkaConsumer::committed`): one
// OffsetFetch of what it owns, only at rest, and its answer moves no position.
#[test]
fn committed_offsets_are_asked_at_rest_and_move_no_position() {
    let mut c = consumer_in(Phase::Stable);
    let send = c.committed().expect("an OffsetFetch at rest");
    assert!(matches!(
        send.request,
        Request::OffsetFetch { partitions } if partitions == Partitions::all(2)
    ));
    assert!(c.committed().is_none(), "one request in flight");
    let served = Response::OffsetFetch {
        error: ErrorCode::None,
        offsets: vec![(0, Some(1)), (1, None)],
    };
    c.on_response(&served, &CFG);
    assert_eq!(c.positions[0], 3);
    assert!(consumer_in(Phase::Revoking).committed().is_none());
}

/// The JoinGroup answer of generation 2 to member m0.0, leading alone with `assignor`.
fn joined_alone(assignor: Assignor) -> (MemberId, Response) {
    let me = MemberId {
        epoch: LeaderEpoch(0),
        seq: 0,
    };
    let joined = Response::JoinGroup {
        error: ErrorCode::None,
        generation: Generation(2),
        protocol: Some(assignor),
        member_id: Some(me),
        leader: Some(me),
        members: vec![me],
        claims: Vec::new(),
        skip_assignment: false,
    };
    (me, joined)
}

// librdkafka's rule: a commit carries the generation of the last JoinGroup answer. A
// cooperative consumer that processed while it rejoined commits that before its SyncGroup,
// which waits for the commit's answer and then goes out whatever it was (REBALANCE_IN_PROGRESS
// from Kafka's coordinator in CompletingRebalance). The Java client's consumer syncs at once.
#[test]
fn a_consumer_committing_with_the_joined_generation_commits_before_its_sync_group() {
    let (_, joined) = joined_alone(Assignor::CooperativeSticky);
    let joining = || {
        let mut c = cooperative_in(Phase::Joining);
        c.in_flight = Some(InFlight::Join);
        c
    };
    let java = joining().on_response(&joined, &CFG).expect("SyncGroup");
    assert!(
        matches!(java.request, Request::SyncGroup { .. }),
        "{java:?}"
    );

    let mut c = joining().with_commit_generation(CommitGeneration::Joined);
    let commit = c.on_response(&joined, &CFG).expect("a commit first");
    assert!(
        matches!(
            &commit.request,
            Request::OffsetCommit { generation: Generation(2), offsets, .. } if offsets == &vec![(0, 3)]
        ),
        "{commit:?}"
    );
    assert_eq!(c.phase, Phase::Syncing);
    let refused = Response::OffsetCommit {
        error: ErrorCode::RebalanceInProgress,
        offsets: vec![(0, 3)],
    };
    let sync = c.on_response(&refused, &CFG).expect("then the SyncGroup");
    assert!(
        matches!(&sync.request, Request::SyncGroup { generation: Generation(2), assignments, .. } if !assignments.is_empty()),
        "{sync:?}"
    );
    assert_eq!((c.phase, c.owned), (Phase::Syncing, Partitions::all(2)));
    assert_eq!(c.committed[0], 0, "nothing committed");
}

// max.poll.interval.ms passed without a poll (a static member the rebalance timeout left out,
// whose client has been silent as long): the heartbeat thread gives the membership up, so its
// partitions are lost, not committed, and it rejoins as a new member with its instance id, to
// take its member back.
#[test]
fn a_static_member_whose_poll_timed_out_rejoins_without_committing() {
    let mut c = consumer_in(Phase::Stable).with_instance(Some(InstanceId(0)));
    let send = c.on_poll_timeout(&CFG).expect("it rejoins");
    assert!(
        matches!(
            send.request,
            Request::JoinGroup {
                member_id: None,
                instance: Some(InstanceId(0)),
                ..
            }
        ),
        "{:?}",
        send.request
    );
    assert_eq!((c.owned, c.generation), (Partitions::EMPTY, None));
}

// A consumer whose assignor hangs (its SyncGroup never went out) sends nothing more, even once
// its poll times out: rejoining is the application thread's work, and that thread is the one
// that hangs. Only its heartbeat thread lives on.
#[test]
fn a_hung_static_member_whose_poll_timed_out_sends_nothing() {
    let mut c = consumer_in(Phase::Syncing).with_instance(Some(InstanceId(0)));
    c.in_flight = Some(InFlight::Sync);
    c.stall();
    assert!(c.stalled && c.in_flight.is_none());
    assert!(c.on_poll_timeout(&CFG).is_none());
    assert_eq!((c.owned, c.generation), (Partitions::EMPTY, None));
}

// no_unexpected_error's table, the Java client's response handlers: an error a handler does
// not name is "Unexpected error in ..." to it. COORDINATOR_LOAD_IN_PROGRESS
// is retried by the JoinGroup, OffsetCommit and OffsetFetch handlers and unknown to the
// SyncGroup and Heartbeat ones; ILLEGAL_GENERATION is unknown to the JoinGroup one (Kafka
// never answers a JoinGroup so); a LeaveGroup's answer is only logged.
#[test]
fn the_java_client_handles_coordinator_load_in_progress_only_where_it_retries() {
    let member = MemberId {
        epoch: LeaderEpoch(0),
        seq: 1,
    };
    let every_api = |error| {
        [
            Request::FindCoordinator,
            Request::JoinGroup {
                member_id: Some(member),
                protocols: Assignors::default(),
                claim: None,
                instance: None,
            },
            Request::SyncGroup {
                member_id: member,
                generation: Generation(1),
                assignments: Vec::new(),
                instance: None,
            },
            Request::Heartbeat {
                member_id: member,
                generation: Generation(1),
                instance: None,
            },
            Request::OffsetCommit {
                member_id: member,
                generation: Generation(1),
                offsets: Vec::new(),
                instance: None,
            },
            Request::OffsetFetch {
                partitions: Partitions::EMPTY,
            },
            Request::LeaveGroup {
                member_id: member,
                instance: None,
            },
        ]
        .map(|r| (r.api(), handles(&Response::error_for(&r, error))))
    };
    let load = every_api(ErrorCode::CoordinatorLoadInProgress);
    let unknown: Vec<_> = load.iter().filter(|(_, h)| !h).map(|(a, _)| *a).collect();
    assert_eq!(unknown, ["SyncGroup", "Heartbeat"]);
    let illegal = every_api(ErrorCode::IllegalGeneration);
    let unknown: Vec<_> = illegal
        .iter()
        .filter(|(_, h)| !h)
        .map(|(a, _)| *a)
        .collect();
    assert_eq!(unknown, ["FindCoordinator", "JoinGroup", "OffsetFetch"]);
    for (api, handled) in every_api(ErrorCode::None) {
        assert!(handled, "{api} NONE");
    }
}

// Closed in the middle of a rebalance, the Java client sends its LeaveGroup at once, without a
// final commit (it commits only in a Stable generation), and drops the JoinGroup or SyncGroup
// answer when it comes: "we may have already left the group", says its JoinGroup handler. The
// member does not go on to sync, nor take an assignment.
#[test]
fn a_consumer_closed_while_it_rejoins_leaves_at_once_and_ignores_the_answer() {
    let (me, joined) = joined_alone(Assignor::Range);
    let synced = Response::SyncGroup {
        error: ErrorCode::None,
        member_id: me,
        generation: Generation(2),
        assignment: Partitions::all(2),
    };
    for (phase, in_flight, answer) in [
        (Phase::Joining, InFlight::Join, &joined),
        (Phase::Syncing, InFlight::Sync, &synced),
    ] {
        let mut c = consumer_in(phase);
        c.in_flight = Some(in_flight);
        let leave = c.close(&CFG).expect("LeaveGroup at once");
        assert_eq!(
            leave.request,
            Request::LeaveGroup {
                member_id: me,
                instance: None
            },
            "{phase:?}"
        );
        assert_eq!(
            c.owned,
            Partitions::EMPTY,
            "{phase:?}: given up, not committed"
        );
        assert_eq!(c.on_response(answer, &CFG), None, "{phase:?}");
        assert_eq!((c.phase, c.owned), (Phase::Leaving, Partitions::EMPTY));
        let left = Response::LeaveGroup {
            error: ErrorCode::None,
        };
        assert_eq!(c.on_response(&left, &CFG), None);
        assert!(c.is_closed(), "{phase:?}");
    }
}

// Fenced and not rejoining yet (its coordinator unknown), it is not in the group as far as
// the Java client knows (UNJOINED): close sends no LeaveGroup.
#[test]
fn a_consumer_closed_while_unjoined_sends_nothing() {
    let mut c = consumer_in(Phase::Unjoined);
    c.coordinator = None;
    assert_eq!(c.close(&CFG), None);
    assert!(c.is_closed());
}
