//! The runtime against the model: random executions (proptest state machine, shrinking to a
//! minimal sequence), every catalogue trace and witness path replayed on it, and bad requests.

use groupcheck::catalogue;
use groupcheck::conformance::{follow, Follower};
use groupcheck::model::properties::first_violated;
use groupcheck::model::{Action, GroupModel, ModelConfig, World};
use groupcheck::protocol::{
    BrokerId, ClientAddr, ErrorCode, Generation, LeaderEpoch, MemberId, Request, Response,
};
use groupcheck::runtime::client::{form_group, form_static_group};
use groupcheck::runtime::GroupService;
use groupcheck::trace::Trace;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use stateright::{Checker, Model};
use std::sync::LazyLock;

/// A configuration for long random walks: more of every fault than exhaustive checking can
/// afford. `mode` adds to it: static members (two processes with one instance id among them),
/// cooperative rebalancing, or the rolling upgrade from eager to cooperative. Static members
/// get no sync stall: a hung static member in a join phase nobody else rejoins stays (as in
/// Kafka, until its client's poll timeout, which the model applies only when a rebalance
/// timeout leaves it out of a phase others rejoined), and the walk would break `convergence`.
fn walk(mode: &str) -> GroupModel {
    let extra = match mode {
        "static" => "membership = \"static\"\ninstance_ids = [0, 1, 0]",
        "cooperative" => "protocol = \"classic-cooperative\"\nassignor = \"cooperative-sticky\"",
        "upgrade" => {
            "rolling_upgrade = [[\"cooperative-sticky\", \"range\"], [\"cooperative-sticky\"]]"
        }
        _ => "",
    };
    let stalls = u8::from(mode != "static");
    let cfg = ModelConfig::parse(
        "random-walk",
        &format!(
            r#"
        description = "Random walks: three consumers, every fault several times."
        consumers = 3
        partitions = 3
        brokers = 2
        max_offset = 4
        start = "empty"
        {extra}
        [faults]
        crashes = 3
        session_expiries = 3
        failovers = 3
        lost_messages = 3
        leaves = 1
        late_joins = 1
        late_deliveries = 2
        sync_stalls = {stalls}
        [expect]
        "#
        ),
    )
    .expect("the walk configuration is valid");
    GroupModel::new(cfg)
}

const DYNAMIC: u8 = 0;
const STATIC: u8 = 1;
const COOPERATIVE: u8 = 2;
const UPGRADE: u8 = 3;

static WALKS: LazyLock<[GroupModel; 4]> = LazyLock::new(|| {
    let modes = ["dynamic", "static", "cooperative", "upgrade"];
    modes.map(walk)
});

/// The model is the reference: its state, and any enabled action (or a stutter once nothing is
/// enabled). `MODE` chooses the walk.
struct Reference<const MODE: u8>;

impl<const MODE: u8> Reference<MODE> {
    fn model() -> &'static GroupModel {
        &WALKS[usize::from(MODE)]
    }
}

impl<const MODE: u8> ReferenceStateMachine for Reference<MODE> {
    type State = World;
    type Transition = Option<Action>;

    fn init_state() -> BoxedStrategy<World> {
        Just(Self::model().init_states().remove(0)).boxed()
    }

    fn transitions(state: &World) -> BoxedStrategy<Option<Action>> {
        let mut actions = Vec::new();
        Self::model().actions(state, &mut actions);
        if actions.is_empty() {
            return Just(None).boxed();
        }
        proptest::sample::select(actions).prop_map(Some).boxed()
    }

    fn apply(state: World, transition: &Option<Action>) -> World {
        match transition {
            Some(a) => Self::model().step(&state, a),
            None => state,
        }
    }

    fn preconditions(state: &World, transition: &Option<Action>) -> bool {
        let mut actions = Vec::new();
        Self::model().actions(state, &mut actions);
        match transition {
            Some(a) => actions.contains(a),
            None => actions.is_empty(),
        }
    }
}

/// The system under test: the runtime following the model, and the model state it last saw.
struct RuntimeTest<const MODE: u8>;

struct Sut {
    follower: Follower,
    before: World,
}

impl<const MODE: u8> StateMachineTest for RuntimeTest<MODE> {
    type SystemUnderTest = Sut;
    type Reference = Reference<MODE>;

    fn init_test(state: &World) -> Sut {
        Sut {
            follower: Follower::new(Reference::<MODE>::model(), state),
            before: state.clone(),
        }
    }

    fn apply(mut sut: Sut, after: &World, transition: Option<Action>) -> Sut {
        if let Some(action) = transition {
            if let Err(m) = sut.follower.step(&sut.before, &action, after) {
                panic!("the runtime diverged from the model: {m}");
            }
        }
        sut.before = after.clone();
        sut
    }

    /// Every safety property of the model, after every step. (The runtime's coordinators and
    /// log equal the model's at this point, so they hold of the runtime too.)
    fn check_invariants(_: &Sut, state: &World) {
        assert_eq!(first_violated(Reference::<MODE>::model(), state), None);
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    })]

    /// Random executions with faults: the runtime stays equal to the model, step by step, and
    /// every property holds.
    #[test]
    fn the_runtime_follows_the_model_on_random_executions(sequential 1..150 => RuntimeTest<DYNAMIC>);
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    })]

    /// The same with static members, two processes of one instance id among them.
    #[test]
    fn the_runtime_follows_the_model_on_random_executions_of_static_members(sequential 1..150 => RuntimeTest<STATIC>);

    /// And with cooperative rebalancing.
    #[test]
    fn the_runtime_follows_the_model_on_random_executions_of_a_cooperative_group(sequential 1..150 => RuntimeTest<COOPERATIVE>);

    /// And through a rolling upgrade from eager to cooperative.
    #[test]
    fn the_runtime_follows_the_model_on_random_executions_of_a_rolling_upgrade(sequential 1..150 => RuntimeTest<UPGRADE>);
}

// The runtime's half of the model's rebalance-timeout step (docs/model.md, static membership): a
// static member the timer leaves out is handed to its client, once, to give up; a member that
// rejoined is not.
#[test]
fn the_rebalance_timeout_hands_the_static_members_it_leaves_out_to_their_clients() {
    let service = GroupService::new(walk("static").core, 1, true);
    let clients = form_static_group(&service, 2);
    let ids: Vec<MemberId> = clients
        .iter()
        .map(|c| c.consumer.member_id.unwrap())
        .collect();
    // consumer-0 leads; its JoinGroup in a Stable group starts a rebalance consumer-1 misses.
    let rejoin = Request::JoinGroup {
        member_id: Some(ids[0]),
        protocols: clients[0].consumer.assignors,
        claim: None,
        instance: clients[0].consumer.instance,
    };
    service.send(BrokerId(0), clients[0].addr(), &rejoin);
    assert!(!service.take_poll_timeout(ids[1]), "no timeout has fired");
    service.rebalance_timeout();
    assert!(!service.take_poll_timeout(ids[0]), "consumer-0 rejoined");
    assert!(service.take_poll_timeout(ids[1]));
    assert!(!service.take_poll_timeout(ids[1]), "handed over once");
    let (brokers, _) = service.snapshot();
    assert!(
        brokers[0].group.is_member(ids[1]),
        "a static member is kept"
    );
}

// The session timer's tick expires every member it found silent. When an expiry ends a join
// phase, the JoinGroup of a new member parked in it is answered, and that answer restarts the
// member's session: the ticks that follow must not expire it (the probe's walks of a group
// found `serve` expiring such a member the instant it was answered). Within the tick itself,
// the member's parked JoinGroup (in the tick's snapshot) gives it the new-member timeout.
#[test]
fn a_member_whose_join_an_expiry_answered_starts_its_session_then() {
    use groupcheck::runtime::timers::Timers;
    use std::time::{Duration, Instant};
    let service = std::sync::Arc::new(GroupService::new(walk("small").core, 1, false));
    let clients = form_group(&service, 1);
    let a = clients[0].consumer.member_id.unwrap();
    let c = ClientAddr {
        consumer: groupcheck::protocol::ConsumerId::at(1),
        ..ClientAddr::default()
    };
    let join = |member_id| Request::JoinGroup {
        member_id,
        protocols: clients[0].consumer.assignors,
        claim: None,
        instance: None,
    };
    service.send(BrokerId(0), c, &join(None));
    let Some(Response::JoinGroup {
        member_id: Some(c_id),
        error: ErrorCode::MemberIdRequired,
        ..
    }) = service.try_receive(c)
    else {
        panic!("a new member is first given its id");
    };
    // C's JoinGroup waits for A, which never rejoins.
    service.send(BrokerId(0), c, &join(Some(c_id)));
    assert!(service.try_receive(c).is_none(), "C's JoinGroup waits");
    let generation = service.snapshot().0[0].group.generation;
    // Both silent for longer than the session: A expires first, which ends the join phase.
    let long_ago = Instant::now() - Duration::from_secs(2);
    service.heard_from(a, long_ago);
    service.heard_from(c_id, long_ago);
    let timers = Timers::start(
        service.clone(),
        Duration::from_secs(1),
        Duration::from_secs(10),
        Box::new(|_| {}),
    );
    std::thread::sleep(Duration::from_millis(200));
    timers.stop().expect("the timer thread did not panic");
    let (brokers, _) = service.snapshot();
    let group = &brokers[0].group;
    assert!(!group.is_member(a), "A expired");
    assert!(group.is_member(c_id), "C, just answered, is a member");
    let heard = service.last_heard(c_id).expect("C's session is timed");
    assert!(heard > long_ago, "the answer restarted C's session");
    assert!(group.generation > generation, "the join phase ended with C");
}

#[test]
fn every_committed_trace_replays_on_the_runtime() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
    let mut replayed = 0;
    for model_dir in std::fs::read_dir(dir).unwrap() {
        let model_dir = model_dir.unwrap().path();
        if !model_dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&model_dir).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                let t = Trace::from_json(&std::fs::read_to_string(&p).unwrap()).unwrap();
                let model = GroupModel::new(t.config.clone());
                let actions: Vec<Action> = t.steps.iter().map(|s| s.action.clone()).collect();
                if let Err(m) = follow(&model, &actions) {
                    panic!("{}: {m}", p.display());
                }
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 6);
}

/// The path Stateright found to every witness of the fast passing models replays on the runtime.
#[test]
fn every_witness_path_of_the_passing_models_replays_on_the_runtime() {
    for name in [
        "formation",
        "small",
        "churn",
        "static-shared-instance",
        "cooperative-scale-out",
        "stalled-leader",
        "late-deliveries",
        "failover-and-back",
    ] {
        let cfg = catalogue::load(&catalogue::default_dir(), name).unwrap();
        let checker = GroupModel::new(cfg.clone())
            .checker()
            .threads(1)
            .spawn_bfs()
            .join();
        let model = GroupModel::new(cfg);
        let discoveries = checker.discoveries();
        assert!(!discoveries.is_empty());
        for (witness, path) in discoveries {
            let actions = path.into_actions();
            if let Err(m) = follow(&model, &actions) {
                panic!("{name}/{witness}: {m}");
            }
        }
    }
}

fn service_with_group() -> (GroupService, MemberId, u32, ClientAddr) {
    let cfg = groupcheck::coordinator::CoreConfig {
        partitions: 2,
        assignor: groupcheck::assignor::Assignor::Range,
        flaws: groupcheck::flaw::Flaws::NONE,
    };
    let service = GroupService::new(cfg, 2, false);
    let clients = form_group(&service, 2);
    let c = &clients[0].consumer;
    (
        service,
        c.member_id.unwrap(),
        c.generation.unwrap().0,
        c.addr,
    )
}

/// Out-of-protocol requests get Kafka's error code and change nothing.
#[test]
fn bad_requests_get_kafkas_error_codes_and_change_nothing() {
    let (service, member, generation, addr) = service_with_group();
    let stranger = MemberId {
        epoch: LeaderEpoch(0),
        seq: 99,
    };
    let cases = [
        (
            Request::OffsetCommit {
                instance: None,
                member_id: stranger,
                generation: Generation(generation),
                offsets: vec![(0, 1)],
            },
            ErrorCode::UnknownMemberId,
        ),
        (
            Request::OffsetCommit {
                instance: None,
                member_id: member,
                generation: Generation(generation + 5),
                offsets: vec![(0, 1)],
            },
            ErrorCode::IllegalGeneration,
        ),
        (
            Request::OffsetCommit {
                instance: None,
                member_id: member,
                generation: Generation(generation),
                offsets: vec![(7, 1)],
            },
            ErrorCode::UnknownTopicOrPartition,
        ),
        (
            Request::Heartbeat {
                instance: None,
                member_id: stranger,
                generation: Generation(generation),
            },
            ErrorCode::UnknownMemberId,
        ),
        (
            Request::Heartbeat {
                instance: None,
                member_id: member,
                generation: Generation(generation.wrapping_sub(1)),
            },
            ErrorCode::IllegalGeneration,
        ),
        (
            Request::SyncGroup {
                instance: None,
                member_id: stranger,
                generation: Generation(generation),
                assignments: vec![],
            },
            ErrorCode::UnknownMemberId,
        ),
        (
            Request::LeaveGroup {
                instance: None,
                member_id: stranger,
            },
            ErrorCode::UnknownMemberId,
        ),
    ];
    for (request, expected) in cases {
        let before = service.snapshot();
        service.send(BrokerId(0), addr, &request);
        let answer = service.try_receive(addr).expect("answered at once");
        assert_eq!(answer.error(), expected, "{request:?}");
        assert_eq!(service.snapshot(), before, "{request:?} changed the state");
    }
    // A broker that does not coordinate the group.
    let before = service.snapshot();
    service.send(
        BrokerId(1),
        addr,
        &Request::OffsetFetch {
            partitions: groupcheck::protocol::Partitions::all(2),
        },
    );
    assert!(matches!(
        service.try_receive(addr),
        Some(Response::OffsetFetch {
            error: ErrorCode::NotCoordinator,
            ..
        })
    ));
    assert_eq!(service.snapshot(), before);
}

#[test]
fn the_services_timer_thread_expires_silent_members_and_keeps_heard_ones() {
    use groupcheck::coordinator::GroupState;
    use groupcheck::runtime::timers::Timers;
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let service = Arc::new(GroupService::new(
        catalogue::load(std::path::Path::new("models"), "formation")
            .unwrap()
            .core(),
        1,
        false,
    ));
    let mut clients = form_group(&service, 2);
    let timers = Timers::start(
        service.clone(),
        Duration::from_millis(150),
        Duration::from_millis(300),
        Box::new(|_| {}),
    );
    let members = |s: &GroupService| s.snapshot().0[0].group.members.len();
    assert_eq!(members(&service), 2);
    // consumer-0 heartbeats; consumer-1 falls silent and is expired.
    let deadline = Instant::now() + Duration::from_secs(20);
    while members(&service) == 2 && Instant::now() < deadline {
        clients[0].heartbeat(&service);
        std::thread::sleep(Duration::from_millis(20));
    }
    let (brokers, _) = service.snapshot();
    let group = &brokers[0].group;
    assert_eq!(group.members.len(), 1, "the silent member was expired");
    assert_eq!(
        group.members[0].id,
        clients[0].consumer.member_id.unwrap(),
        "the member that heartbeats stays"
    );
    assert_ne!(group.state, GroupState::Empty);
    timers.stop().expect("the timer thread did not panic");
}

// KAFKA-12890's timer on the service's clock: a follower that never sends its SyncGroup, its
// heartbeats keeping its session, is removed the rebalance timeout after the join phase ended,
// although the leader's SyncGroup has made the group Stable meanwhile (the timer's clock runs
// on from CompletingRebalance into Stable).
#[test]
fn the_services_timer_removes_a_follower_that_never_synced_from_a_stable_group() {
    use groupcheck::coordinator::GroupState;
    use groupcheck::protocol::{Assignors, ConsumerId};
    use groupcheck::runtime::timers::Timers;
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let cfg = catalogue::load(std::path::Path::new("models"), "formation")
        .unwrap()
        .core();
    let service = Arc::new(GroupService::new(cfg, 1, false));
    let addr = |c| ClientAddr {
        consumer: ConsumerId(c),
        ..ClientAddr::default()
    };
    let (a, b) = (addr(0), addr(1));
    let join = |member_id| Request::JoinGroup {
        member_id,
        protocols: Assignors::one(cfg.assignor),
        claim: None,
        instance: None,
    };
    let mut ids = Vec::new();
    for c in [a, b] {
        service.send(BrokerId(0), c, &join(None));
        let Some(Response::JoinGroup {
            member_id: Some(id),
            ..
        }) = service.try_receive(c)
        else {
            panic!("a new member is first given its id");
        };
        ids.push(id);
    }
    service.send(BrokerId(0), a, &join(Some(ids[0])));
    service.send(BrokerId(0), b, &join(Some(ids[1])));
    let Some(Response::JoinGroup { generation, .. }) = service.try_receive(a) else {
        panic!("the join phase ended with both");
    };
    assert!(service.try_receive(b).is_some());
    // A, the leader, syncs the assignment; B never sends its SyncGroup.
    let sync = Request::SyncGroup {
        member_id: ids[0],
        generation,
        assignments: cfg.assignor.assign_members(&ids, cfg.partitions),
        instance: None,
    };
    service.send(BrokerId(0), a, &sync);
    while service.replicate() {}
    assert!(service.try_receive(a).is_some(), "A's SyncGroup answered");
    let group = |s: &GroupService| s.snapshot().0[0].group.clone();
    assert_eq!(group(&service).state, GroupState::Stable);
    let timers = Timers::start(
        service.clone(),
        Duration::from_millis(1000),
        Duration::from_millis(300),
        Box::new(|_| {}),
    );
    // Both heartbeat, so no session runs out.
    let deadline = Instant::now() + Duration::from_secs(20);
    while group(&service).is_member(ids[1]) && Instant::now() < deadline {
        for (c, id) in [(a, ids[0]), (b, ids[1])] {
            let heartbeat = Request::Heartbeat {
                member_id: id,
                generation,
                instance: None,
            };
            service.send(BrokerId(0), c, &heartbeat);
            while service.try_receive(c).is_some() {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    timers.stop().expect("the timer thread did not panic");
    let group = group(&service);
    assert!(
        !group.is_member(ids[1]),
        "B, which never synced, was removed"
    );
    assert!(group.is_member(ids[0]), "A stays");
    assert_eq!(group.state, GroupState::PreparingRebalance);
}
