//! Scenario tests: drive the model step by step through the situations the properties guard,
//! and pin what each step does. Each step picks an *enabled* action, so these also pin what the
//! model lets happen.

use groupcheck::catalogue;
use groupcheck::coordinator::{GroupState, LoadState};
use groupcheck::model::liveness::{kind, StepKind};
use groupcheck::model::properties::{converged, first_violated, function_breach};
use groupcheck::model::{Action, Addr, Fault, GroupModel, Msg, World};
use groupcheck::protocol::{BrokerId, ConsumerId, ErrorCode, Request, Response};
use stateright::Model;

struct Scenario {
    model: GroupModel,
    world: World,
}

impl Scenario {
    fn new(name: &str) -> Scenario {
        let cfg = catalogue::load(&catalogue::default_dir(), name).unwrap();
        let model = GroupModel::new(cfg);
        let world = model.init_states().remove(0);
        Scenario { model, world }
    }

    fn enabled(&self) -> Vec<Action> {
        let mut actions = Vec::new();
        self.model.actions(&self.world, &mut actions);
        actions
    }

    /// Takes the first enabled action matching `pick`.
    fn step(&mut self, what: &str, pick: impl Fn(&Action) -> bool) -> &mut Self {
        let enabled = self.enabled();
        let Some(action) = enabled.iter().find(|a| pick(a)) else {
            panic!("no enabled action for `{what}`; enabled: {enabled:#?}");
        };
        self.world = self.model.step(&self.world, action);
        self
    }

    /// Delivers the first message matching `pick`.
    fn deliver(&mut self, what: &str, pick: impl Fn(&Msg) -> bool) -> &mut Self {
        self.step(what, |a| matches!(a, Action::Deliver(e) if pick(&e.msg)))
    }

    /// Runs non-fault, non-application steps (first enabled each time) until none is left.
    fn settle(&mut self) -> &mut Self {
        loop {
            let w = &self.world;
            let next = self
                .enabled()
                .into_iter()
                .find(|a| !a.is_fault(w) && !matches!(a, Action::Consume(..)));
            match next {
                Some(a) => self.world = self.model.step(&self.world, &a),
                None => return self,
            }
        }
    }

    fn assert_safe(&self) {
        let violated = first_violated(&self.model, &self.world);
        assert_eq!(violated, None, "violated in {:#?}", self.world);
    }

    fn response_in_flight(&self, pick: impl Fn(&Response) -> bool) -> bool {
        self.world
            .network
            .iter()
            .any(|e| matches!(&e.msg, Msg::Response(r) if pick(r)))
    }
}

#[test]
fn the_formed_group_of_the_small_model_is_stable_with_one_partition_each() {
    let s = Scenario::new("small");
    let g = &s.world.brokers[0].group;
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(g.members.len(), 2);
    assert!(s.world.consumers.iter().all(|c| c.owned.len() == 1));
    assert!(s.world.network.is_empty());
    assert!(converged(&s.world));
    s.assert_safe();
}

#[test]
fn a_zombie_commit_is_fenced_with_unknown_member_id() {
    let mut s = Scenario::new("small");
    let zombie = s.world.consumers[0].member_id.unwrap();
    s.step("consumer-0's session expires", |a| {
        *a == Action::ExpireSession(zombie)
    });
    assert_eq!(
        s.world.brokers[0].group.state,
        GroupState::PreparingRebalance
    );
    assert_eq!(
        s.world.used.of(Fault::SessionExpiry),
        1,
        "expiring a live consumer is a budgeted fault"
    );
    s.step("the zombie processes and commits", |a| {
        matches!(a, Action::Consume(ConsumerId(0), _))
    });
    s.deliver("its OffsetCommit", |m| {
        matches!(m, Msg::Request(Request::OffsetCommit { .. }))
    });
    assert!(s.response_in_flight(|r| matches!(
        r,
        Response::OffsetCommit {
            error: ErrorCode::UnknownMemberId,
            ..
        }
    )));
    assert!(
        s.world.log.uncommitted.is_empty(),
        "a fenced commit writes nothing"
    );
    s.assert_safe();
}

#[test]
fn an_acknowledged_commit_is_served_by_the_next_coordinator() {
    let mut s = Scenario::new("small");
    s.step("consumer-0 processes and commits", |a| {
        matches!(a, Action::Consume(ConsumerId(0), _))
    });
    s.deliver("the OffsetCommit", |m| {
        matches!(m, Msg::Request(Request::OffsetCommit { .. }))
    });
    assert!(
        !s.response_in_flight(|r| matches!(r, Response::OffsetCommit { .. })),
        "no answer before the record is durable"
    );
    s.step("the record becomes durable", |a| *a == Action::Replicate);
    assert!(s.response_in_flight(|r| matches!(
        r,
        Response::OffsetCommit {
            error: ErrorCode::None,
            ..
        }
    )));
    let p = s.world.consumers[0].owned.iter().next().unwrap();
    s.step("failover to broker-1", |a| {
        *a == Action::Failover(BrokerId(1))
    });
    assert_eq!(s.world.brokers[1].load, LoadState::Loading);
    s.step("broker-1 loads", |a| {
        *a == Action::FinishLoading(BrokerId(1))
    });
    assert_eq!(s.world.brokers[1].offsets[p as usize], Some(1));
    assert_eq!(s.world.brokers[1].group.state, GroupState::Stable);
    s.assert_safe();
}

#[test]
fn a_failover_truncates_a_commit_that_was_not_durable_and_it_is_never_acknowledged() {
    let mut s = Scenario::new("small");
    s.step("consumer-0 processes and commits", |a| {
        matches!(a, Action::Consume(ConsumerId(0), _))
    });
    s.deliver("the OffsetCommit", |m| {
        matches!(m, Msg::Request(Request::OffsetCommit { .. }))
    });
    assert_eq!(s.world.log.uncommitted.len(), 1);
    s.step("failover to broker-1", |a| {
        *a == Action::Failover(BrokerId(1))
    });
    assert!(
        s.world.log.uncommitted.is_empty(),
        "the election truncates the undurable batch"
    );
    s.deliver("broker-0 hears it is demoted", |m| {
        matches!(m, Msg::Control(_))
    });
    assert_eq!(s.world.brokers[0].load, LoadState::NotCoordinator);
    assert!(s.response_in_flight(|r| matches!(
        r,
        Response::OffsetCommit {
            error: ErrorCode::NotCoordinator,
            ..
        }
    )));
    assert!(s.world.acked.iter().all(|a| *a == 0));
    s.assert_safe();
}

#[test]
fn a_demoted_coordinator_that_was_not_told_has_its_appends_refused() {
    let mut s = Scenario::new("small");
    s.step("failover to broker-1", |a| {
        *a == Action::Failover(BrokerId(1))
    });
    assert_eq!(
        s.world.brokers[0].load,
        LoadState::Active,
        "broker-0 does not know yet"
    );
    s.step("consumer-0 processes and commits", |a| {
        matches!(a, Action::Consume(ConsumerId(0), _))
    });
    s.deliver("the OffsetCommit reaches broker-0", |m| {
        matches!(m, Msg::Request(Request::OffsetCommit { .. }))
    });
    assert_eq!(s.world.brokers[0].load, LoadState::NotCoordinator);
    assert!(s.world.log.uncommitted.is_empty());
    assert!(s.response_in_flight(|r| matches!(
        r,
        Response::OffsetCommit {
            error: ErrorCode::NotCoordinator,
            ..
        }
    )));
    s.assert_safe();
}

#[test]
fn after_a_crash_the_group_settles_converged_without_the_dead_member() {
    let mut s = Scenario::new("small");
    let dead = s.world.consumers[1].member_id.unwrap();
    s.step("consumer-1 crashes", |a| *a == Action::Crash(ConsumerId(1)));
    s.settle();
    let g = &s.world.leader().group;
    assert_eq!(g.state, GroupState::Stable);
    assert!(!g.is_member(dead));
    assert_eq!(
        g.members.len(),
        2,
        "the restarted consumer joined as a new member"
    );
    assert!(converged(&s.world));
    s.assert_safe();
}

#[test]
fn an_assignment_of_a_partition_the_topic_lacks_is_no_function() {
    let mut s = Scenario::new("small");
    s.settle();
    assert_eq!(function_breach(&s.model, &s.world), None);
    let beyond = s.model.cfg.partitions;
    let leader = s.world.log.leader.index();
    let group = &mut s.world.brokers[leader].group;
    let member = group.members[0].id;
    group.member_mut(member).unwrap().assignment.insert(beyond);
    let breach = function_breach(&s.model, &s.world).expect("a breach");
    assert!(breach.contains("which the topic does not have"), "{breach}");
}

#[test]
fn a_lost_join_request_is_retried_and_the_group_still_converges() {
    let mut s = Scenario::new("small");
    s.step("consumer-1 crashes", |a| *a == Action::Crash(ConsumerId(1)));
    s.step(
        "lose the new incarnation's first JoinGroup",
        |a| matches!(a, Action::Lose(e) if matches!(e.dst, Addr::Broker(_))),
    );
    assert!(s.world.network.iter().any(|e| matches!(
        e.msg,
        Msg::Request(Request::JoinGroup {
            member_id: None,
            claim: None,
            ..
        })
    )));
    s.settle();
    assert!(converged(&s.world));
    s.assert_safe();
}

#[test]
fn a_lost_member_id_answer_leaves_an_orphan_pending_member_that_expires_when_idle() {
    let mut s = Scenario::new("small");
    s.step("consumer-1 crashes", |a| *a == Action::Crash(ConsumerId(1)));
    s.deliver("its JoinGroup without member id", |m| {
        matches!(
            m,
            Msg::Request(Request::JoinGroup {
                member_id: None,
                claim: None,
                ..
            })
        )
    });
    let orphan = s.world.leader().group.pending_members[0];
    s.step(
        "lose the MEMBER_ID_REQUIRED answer",
        |a| matches!(a, Action::Lose(e) if matches!(e.dst, Addr::Client(_))),
    );
    assert!(
        !s.enabled().contains(&Action::ExpireSession(orphan)),
        "an orphan expires only when the protocol is idle"
    );
    s.settle();
    assert!(!s.world.leader().group.pending_members.contains(&orphan));
    assert!(converged(&s.world));
    s.assert_safe();
}

#[test]
fn a_loading_coordinator_answers_load_in_progress_and_the_consumer_retries() {
    let mut s = Scenario::new("small");
    s.step("failover to broker-1", |a| {
        *a == Action::Failover(BrokerId(1))
    });
    s.deliver("broker-0 hears it is demoted", |m| {
        matches!(m, Msg::Control(_))
    });
    s.step("consumer-0 processes and commits", |a| {
        matches!(a, Action::Consume(ConsumerId(0), _))
    });
    s.deliver("the commit reaches broker-0", |m| {
        matches!(m, Msg::Request(Request::OffsetCommit { .. }))
    });
    s.deliver("NOT_COORDINATOR", |m| {
        matches!(m, Msg::Response(Response::OffsetCommit { .. }))
    });
    assert_eq!(
        s.world.consumers[0].coordinator,
        Some(BrokerId(1)),
        "rediscovered broker-1"
    );
    s.step("the auto-commit retries", |a| {
        *a == Action::Commit(ConsumerId(0))
    });
    s.deliver("the retried commit reaches broker-1", |m| {
        matches!(m, Msg::Request(Request::OffsetCommit { .. }))
    });
    assert!(s.response_in_flight(|r| matches!(
        r,
        Response::OffsetCommit {
            error: ErrorCode::CoordinatorLoadInProgress,
            ..
        }
    )));
    s.assert_safe();
}

// KAFKA-7026's witness holds every model whose assignor reads the members' claims (sticky,
// cooperative-sticky) and has a session expiry to reaching a stale claim; a witness that
// silently stopped applying would let those models pass without the situation.
#[test]
fn the_stale_claim_witness_applies_where_the_assignor_reads_claims() {
    for (name, applies) in [
        ("sticky", true),
        ("cooperative", true),
        ("small", false),
        ("round-robin", false),
    ] {
        let model = GroupModel::new(catalogue::load(&catalogue::default_dir(), name).unwrap());
        let names: Vec<&str> = model.properties().iter().map(|p| p.name).collect();
        assert_eq!(
            names.contains(&"stale_claim_reaches_assignor"),
            applies,
            "{name}"
        );
    }
}

// docs/model.md (timing assumptions): a consumer waiting in a join phase sends no heartbeats,
// so while the phase waits for a member that has not rejoined, its session may run out; that
// is time passing, not a fault, and only the coordinator's rule that a parked member has
// satisfied its heartbeat (ClassicGroupMember.hasSatisfiedHeartbeat) keeps it.
#[test]
fn a_member_waiting_in_a_join_phase_outlasts_its_session_and_the_coordinator_keeps_it() {
    let mut s = Scenario::new("small");
    let waiting = s.world.consumers[0].member_id.unwrap();
    s.step("consumer-1 crashes", |a| *a == Action::Crash(ConsumerId(1)));
    s.deliver("its JoinGroup without member id", |m| {
        matches!(
            m,
            Msg::Request(Request::JoinGroup {
                member_id: None,
                ..
            })
        )
    });
    s.deliver("MEMBER_ID_REQUIRED", |m| {
        matches!(m, Msg::Response(Response::JoinGroup { .. }))
    });
    s.deliver("its JoinGroup with the member id", |m| {
        matches!(
            m,
            Msg::Request(Request::JoinGroup {
                member_id: Some(_),
                ..
            })
        )
    });
    assert!(
        !s.world.parked_while_join_waits(waiting),
        "consumer-0 has not rejoined yet"
    );
    s.step("consumer-0 heartbeats", |a| {
        *a == Action::Heartbeat(ConsumerId(0))
    });
    s.deliver("the Heartbeat", |m| {
        matches!(m, Msg::Request(Request::Heartbeat { .. }))
    });
    s.deliver("REBALANCE_IN_PROGRESS", |m| {
        matches!(m, Msg::Response(Response::Heartbeat { .. }))
    });
    s.deliver("consumer-0's JoinGroup", |m| {
        matches!(m, Msg::Request(Request::JoinGroup { member_id: Some(id), .. }) if *id == waiting)
    });
    // The crashed process's member has not rejoined: the phase waits for its session.
    assert!(s.world.parked_while_join_waits(waiting));
    let expiry = Action::ExpireSession(waiting);
    assert!(!expiry.is_fault(&s.world), "time passing, not a fault");
    assert_eq!(kind(&s.world, &expiry), StepKind::Unforced);
    assert!(
        !s.enabled().contains(&expiry),
        "the coordinator keeps a parked member"
    );
    s.settle();
    assert!(converged(&s.world));
    assert!(s.world.leader().group.is_member(waiting));
    s.assert_safe();
}
