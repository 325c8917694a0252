//! The named properties every model is checked against, and the witnesses that show each one
//! guards a situation that really occurs.
//!
//! Safety properties (`Always`) are checked in every reachable state; the step-level ones
//! (`durable_before_ack`, `no_zombie_commit`, parts of `no_lost_commit` and
//! `generation_monotonic`) are judged at the step where the response is sent or the record
//! becomes durable, and remembered in [`Observed`]. Witnesses (`Sometimes`) must each be reached
//! at least once, or the check fails: a property that guards a situation never reached proves
//! nothing.

use super::config::Protocol;
use super::{
    Addr, Control, Fault, GroupModel, Membership, ModelConfig, Msg, Observed, Start, World,
};
use crate::assignor::{Assignor, RebalanceProtocol};
use crate::consumer::{self, Phase};
use crate::coordinator::replay::load;
use crate::coordinator::{GroupState, LoadState};
use crate::flaw::Flaw;
use crate::offsets_log::compacted;
use crate::property::{
    first_overlap, replay_difference, shared_instance, unsupported_protocol, Claim, GroupView,
    Property,
};
use crate::protocol::{
    BrokerId, ClientAddr, ConsumerId, ErrorCode, Generation, MemberId, Partition, Partitions,
    Record, Request, Response,
};

type Condition = fn(&GroupModel, &World) -> bool;

/// The state check of a safety property (one of [`Property::ALWAYS`]).
pub fn condition(p: Property) -> Condition {
    match p {
        Property::SingleOwner => single_owner,
        Property::AssignmentIsFunction => |m, w| function_breach(m, w).is_none(),
        Property::NoZombieCommit => no_zombie_commit,
        Property::NoLostCommit => no_lost_commit,
        Property::DurableBeforeAck => durable_before_ack,
        Property::ReplayEquivalence => replay_equivalence,
        Property::GenerationMonotonic => generation_monotonic,
        Property::NonMemberFenced => |_, w| !w.observed.has(Observed::NON_MEMBER_CHANGED),
        Property::MemberNotFenced => |_, w| !w.observed.has(Observed::MEMBER_FENCED),
        Property::StaticInstanceUnique => |_, w| instance_sharing(w).is_none(),
        Property::GroupProtocolSupported => |_, w| protocol_mismatch(w).is_none(),
        Property::NoUnexpectedError => |_, w| unexpected_answer(w).is_none(),
        Property::Convergence => convergence,
        // Judged on the state graph (liveness.rs), never state by state: no caller asks.
        Property::Liveness => |_, _| unreachable!("liveness has no state check"),
    }
}

/// Whether a safety property is checked in models of `cfg`: `static_instance_unique` only
/// where members are static (a dynamic group has no instance ids, so nothing could witness it);
/// `group_protocol_supported` only where a rolling upgrade changes the consumers' assignors (if
/// they all offer one assignor, every group runs it).
pub fn applies(p: Property, cfg: &ModelConfig) -> bool {
    match p {
        Property::StaticInstanceUnique => cfg.membership == Membership::Static,
        Property::GroupProtocolSupported => !cfg.rolling_upgrade.is_empty(),
        _ => true,
    }
}

/// The first safety property (in [`Property::ALWAYS`] order) that `w` violates, if any.
pub fn first_violated(model: &GroupModel, w: &World) -> Option<Property> {
    Property::ALWAYS
        .into_iter()
        .filter(|p| applies(*p, &model.cfg))
        .find(|p| !condition(*p)(model, w))
}

/// A witness: a situation that must be reached, if the configuration allows it at all.
pub struct Witness {
    pub name: &'static str,
    pub applies: fn(&ModelConfig) -> bool,
    pub condition: Condition,
}

pub const WITNESSES: [Witness; 36] = [
    Witness {
        name: "consumer_crashed",
        applies: |c| c.faults.crashes > 0,
        condition: |_, w| w.used.of(Fault::Crash) > 0,
    },
    Witness {
        name: "live_session_expired",
        applies: |c| c.faults.session_expiries > 0,
        condition: |_, w| w.used.of(Fault::SessionExpiry) > 0,
    },
    Witness {
        name: "coordinator_failed_over",
        applies: |c| c.faults.failovers > 0,
        condition: |_, w| w.used.of(Fault::Failover) > 0 && w.leader().load == LoadState::Active,
    },
    Witness {
        name: "stale_stop_leading",
        // The controller's StopLeading of an earlier failover is still on its way to a broker
        // that leads again, of a later epoch: the epoch check must ignore it.
        applies: |c| c.faults.failovers > 1,
        condition: |_, w| {
            w.network.iter().any(|e| match (&e.dst, &e.msg) {
                (Addr::Broker(b), Msg::Control(Control::StopLeading { epoch })) => {
                    let to = &w.brokers[b.index()];
                    to.load != LoadState::NotCoordinator && to.epoch > *epoch
                }
                _ => false,
            })
        },
    },
    Witness {
        name: "stale_start_leading",
        // The controller's StartLeading of an earlier failover is still on its way to a broker
        // that has heard of a later epoch since (its StopLeading, or a later StartLeading): the
        // epoch check must ignore it. Only an unordered network delivers them so.
        applies: |c| {
            c.network.start_leading_travels && !c.network.ordered && c.faults.failovers > 1
        },
        condition: |_, w| {
            w.network.iter().any(|e| match (&e.dst, &e.msg) {
                (Addr::Broker(b), Msg::Control(Control::StartLeading { epoch })) => {
                    w.brokers[b.index()].epoch > *epoch
                }
                _ => false,
            })
        },
    },
    Witness {
        name: "message_lost",
        applies: |c| c.faults.lost_messages > 0,
        condition: |_, w| w.used.of(Fault::LostMessage) > 0,
    },
    Witness {
        name: "consumer_left",
        applies: |c| c.faults.leaves > 0,
        condition: |_, w| w.used.of(Fault::Leave) > 0 && w.consumers.iter().any(|c| c.is_closed()),
    },
    Witness {
        name: "known_member_refused",
        // member_not_fenced's situation: the coordinator refuses a request of a member its
        // group knows (a rebalance it must rejoin, a generation it missed) and must say why
        // without calling it unknown, which would cost it its member id. A group of one member
        // is never refused so, nor one whose join phases end as they begin (that flaw removes
        // the member instead).
        applies: |c| c.members_at_once() > 1 && c.flaw != Some(Flaw::RebalanceTimeoutZero),
        condition: |_, w| {
            let group = &w.leader().group;
            w.network.iter().any(|e| match (&e.dst, &e.msg) {
                (Addr::Client(to), Msg::Response(r)) => {
                    matches!(
                        r.error(),
                        ErrorCode::RebalanceInProgress | ErrorCode::IllegalGeneration
                    ) && w
                        .consumer_at(*to)
                        .and_then(|c| w.consumers[c].member_id)
                        .is_some_and(|id| group.is_member(id))
                }
                _ => false,
            })
        },
    },
    Witness {
        name: "pending_member_left",
        // member_not_fenced's situation where KIP-394 matters: a member the group knows only as
        // pending (it closed before its second JoinGroup was answered) leaves, and is removed.
        applies: |c| c.faults.leaves_mid_rebalance > 0 && c.membership == Membership::Dynamic,
        condition: |_, w| w.observed.has(Observed::PENDING_MEMBER_LEFT),
    },
    Witness {
        name: "late_consumer_joined",
        applies: |c| c.faults.late_joins > 0,
        // Every late consumer has started and every live consumer is a current member. (Said
        // without consumer numbers, so that it means the same under symmetry reduction.)
        condition: |m, w| {
            w.used.of(Fault::LateJoin) == m.cfg.faults.late_joins
                && (0..w.consumers.len())
                    .filter(|c| w.is_live(*c))
                    .all(|c| current_member(w, w.consumers[c].member_id, w.consumers[c].generation))
        },
    },
    Witness {
        name: "parked_member_outwaits_session",
        // A live consumer waits in a join phase, without heartbeats, for a member that has not
        // rejoined: its session may run out, and only the rule that a parked member has
        // satisfied its heartbeat keeps it in the group. Sure to happen where three consumers
        // rebalance, or where a cooperative group's follow-up rebalance waits for the member
        // that did not revoke.
        applies: |c| c.consumers > 2 || c.protocol == Protocol::ClassicCooperative,
        condition: |_, w| {
            (w.leader().group.members.iter()).any(|m| w.parked_while_join_waits(m.id))
        },
    },
    Witness {
        name: "rebalance_completed",
        applies: |_| true,
        condition: |m, w| {
            let l = w.leader();
            l.load == LoadState::Active
                && l.group.state == GroupState::Stable
                && l.group.generation > m.initial_generation
        },
    },
    Witness {
        name: "zombie_commit_fenced",
        // Nothing is fenced when fencing itself is the flaw.
        applies: |c| c.faults.session_expiries > 0 && c.flaw != Some(Flaw::CommitWithoutFencing),
        condition: |_, w| {
            in_flight_from(w, false, |r| {
                matches!(
                    r,
                    Response::OffsetCommit {
                        error: ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration,
                        ..
                    }
                )
            })
        },
    },
    Witness {
        name: "non_member_refused",
        // non_member_fenced's situation: a request from a member id the group no longer knows
        // (a zombie's, whose session expired) met the coordinator. Only such a request is
        // answered UNKNOWN_MEMBER_ID in these three APIs (a SyncGroup is also answered so when
        // its member is removed while it waits).
        applies: |c| c.faults.session_expiries > 0,
        condition: |_, w| {
            in_flight_from(w, false, |r| {
                r.error() == ErrorCode::UnknownMemberId
                    && matches!(
                        r,
                        Response::Heartbeat { .. }
                            | Response::LeaveGroup { .. }
                            | Response::OffsetCommit { .. }
                    )
            })
        },
    },
    Witness {
        name: "rebalance_after_failover",
        applies: |c| c.faults.failovers > 0,
        condition: |_, w| {
            in_flight_from(w, true, |r| {
                matches!(
                    r,
                    Response::SyncGroup {
                        error: ErrorCode::None,
                        ..
                    }
                )
            })
        },
    },
    Witness {
        name: "commit_read_after_failover",
        applies: |c| c.faults.failovers > 0,
        condition: |_, w| {
            in_flight_from(w, true, |r| match r {
                Response::OffsetFetch {
                    error: ErrorCode::None,
                    offsets,
                } => offsets.iter().any(|(_, o)| o.is_some_and(|o| o > 0)),
                _ => false,
            })
        },
    },
    Witness {
        name: "sync_group_meets_loading_coordinator",
        // no_unexpected_error's situation: a SyncGroup meets a coordinator that is loading,
        // whose natural answer (COORDINATOR_LOAD_IN_PROGRESS) the Java client's SyncGroup
        // handler does not know. A SyncGroup goes to the broker its JoinGroup was answered by,
        // so only a coordinator that leads again gets one. (A Heartbeat, the other request a
        // loading coordinator answers otherwise, is never explored there: its answer, NONE,
        // would tell the consumer nothing.)
        applies: |c| c.faults.failovers > 1,
        condition: |_, w| {
            w.network.iter().any(|e| match (&e.dst, &e.msg) {
                (Addr::Broker(b), Msg::Request(r)) => {
                    w.brokers[b.index()].load == LoadState::Loading
                        && matches!(r, Request::SyncGroup { .. })
                }
                _ => false,
            })
        },
    },
    Witness {
        name: "uncompacted_log_loading",
        // A new coordinator loads while the durable log still holds older records of some key
        // (the cleaner has not run), so the order in which it applies them matters.
        applies: |c| c.faults.failovers > 0,
        condition: |_, w| w.leader().load == LoadState::Loading && w.log.compactable(),
    },
    Witness {
        name: "late_request_fenced",
        // A request its client gave up on reaches the coordinator after the member moved on,
        // and is refused for its stale member id or generation.
        applies: |c| c.faults.late_deliveries > 0 && c.flaw != Some(Flaw::CommitWithoutFencing),
        condition: |_, w| {
            to_abandoned(w, |r| {
                matches!(
                    r.error(),
                    ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration
                )
            })
        },
    },
    Witness {
        name: "late_answer_discarded",
        // The answer to a request its client gave up on is on its way to the closed connection.
        applies: |c| c.faults.late_deliveries > 0,
        condition: |_, w| to_abandoned(w, |_| true),
    },
    Witness {
        name: "stale_claim_reaches_assignor",
        // KAFKA-7026's situation: the leader's assignor gets claims from two generations (a
        // member that was out of the group claims what another has owned since).
        applies: |c| c.assignor.uses_claims() && c.faults.session_expiries > 0,
        condition: |_, w| {
            in_flight_from(w, false, |r| match r {
                Response::JoinGroup { claims, .. } => claims
                    .iter()
                    .any(|(_, a)| claims.iter().any(|(_, b)| a.generation != b.generation)),
                _ => false,
            })
        },
    },
    Witness {
        name: "static_restart_without_rebalance",
        // KIP-345's point: a static member's process restarts and is back in the generation it
        // left, with no rebalance.
        applies: |c| {
            c.membership == Membership::Static && c.faults.crashes > 0 && c.start == Start::Stable
        },
        condition: |m, w| {
            w.consumers.iter().any(|c| {
                c.addr.incarnation > 0
                    && c.is_stable()
                    && c.generation == Some(m.initial_generation)
            })
        },
    },
    Witness {
        name: "static_instance_fenced",
        // A second process took over an instance id: the first one's next request is refused.
        applies: |c| c.shares_an_instance(),
        condition: |_, w| in_flight_from(w, false, |r| r.error() == ErrorCode::FencedInstanceId),
    },
    Witness {
        name: "processing_while_rejoining",
        // KIP-429's point: a cooperative member keeps processing its partitions during a
        // rebalance.
        applies: |c| c.protocol == Protocol::ClassicCooperative,
        condition: |_, w| w.observed.has(Observed::PROCESSED_WHILE_REJOINING),
    },
    Witness {
        name: "partition_moved_in_two_rebalances",
        // A rebalance took a partition from its owner, which revoked it, and the group then
        // converged with every partition owned: a follow-up rebalance handed it on.
        applies: |c| c.protocol == Protocol::ClassicCooperative,
        condition: |_, w| w.observed.has(Observed::REVOKED_FOR_A_MOVE) && converged(w),
    },
    Witness {
        name: "stalled_member_removed",
        // KAFKA-12890's fix at work: a member whose SyncGroup never went out was removed, and
        // the group is Stable without it.
        applies: |c| c.faults.sync_stalls > 0 && c.flaw != Some(Flaw::NoPendingSyncTimeout),
        condition: |_, w| {
            let l = w.leader();
            l.group.state == GroupState::Stable
                && w.consumers
                    .iter()
                    .any(|c| c.stalled && c.member_id.is_some_and(|id| !l.group.is_member(id)))
        },
    },
    Witness {
        name: "stable_with_hung_member",
        // A follower's SyncGroup stalled after the leader's went out: the group went Stable
        // with a member that will never take its assignment, and only the pending-sync timer,
        // running on in Stable, removes it.
        applies: |c| c.faults.sync_stalls > 0,
        condition: |_, w| {
            let l = w.leader();
            l.group.state == GroupState::Stable
                && l.group.members.iter().any(|m| w.stalled_member(m.id))
        },
    },
    Witness {
        name: "nobody_rejoins_but_a_hung_member",
        // A join phase in which no member has rejoined, and a hung consumer's member holds
        // it: only the rebalance timeout, removing the dynamic members all the same, ends it.
        applies: |c| c.faults.sync_stalls > 0 && c.faults.leaves > 0,
        condition: |_, w| {
            let g = &w.leader().group;
            g.state == GroupState::PreparingRebalance
                && g.members.iter().all(|m| m.awaiting_join.is_none())
                && g.members.iter().any(|m| w.stalled_member(m.id))
        },
    },
    Witness {
        name: "inconsistent_protocol_rejected",
        // A bounce that skips a step of the upgrade: the restarted consumer shares no assignor
        // with the group, and its JoinGroup is refused.
        applies: ModelConfig::upgrade_skips_a_step,
        condition: |_, w| {
            in_flight_from(w, false, |r| {
                r.error() == ErrorCode::InconsistentGroupProtocol
            })
        },
    },
    Witness {
        name: "mixed_rebalance_protocols",
        // The middle of an eager-to-cooperative upgrade: an eager and a cooperative consumer
        // are members of one Stable generation.
        applies: |c| {
            let mut protocols = c.configurations().map(RebalanceProtocol::of);
            let first = protocols.next();
            upgrades_in_steps(c) && protocols.any(|p| Some(p) != first)
        },
        condition: |_, w| {
            let l = w.leader();
            let members = (0..w.consumers.len()).filter(|c| {
                let k = &w.consumers[*c];
                w.is_live(*c) && k.is_stable() && k.generation == Some(l.group.generation)
            });
            let mut protocols = members.map(|c| w.consumers[c].rebalance_protocol());
            let first = protocols.next();
            l.group.state == GroupState::Stable && protocols.any(|p| Some(p) != first)
        },
    },
    Witness {
        name: "group_switched_assignor",
        // The rolling upgrade changed the assignor the group runs: a Stable generation runs the
        // first assignor of the last bounce's list.
        applies: |c| upgrades_in_steps(c) && c.final_assignors().iter().next() != Some(c.assignor),
        condition: |m, w| {
            let l = w.leader();
            let last = m.cfg.final_assignors().iter().next();
            l.group.state == GroupState::Stable && l.group.protocol == last
        },
    },
    Witness {
        name: "rolling_upgrade_completed",
        // Every consumer was bounced through every step and runs its last list, and the group
        // converged.
        applies: upgrades_in_steps,
        condition: |m, w| {
            let last = m.cfg.rolling_upgrade.len();
            let upgraded = |c: usize| m.cfg.stage_of(w.consumers[c].assignors) == last;
            (0..w.consumers.len()).all(|c| w.is_live(c) && upgraded(c)) && converged(w)
        },
    },
    Witness {
        name: "commit_before_sync",
        // librdkafka's commit with the generation of its JoinGroup answer is on its way to a
        // coordinator whose group completes that very generation: nobody has its assignment.
        applies: |c| !c.commit_generation.is_stable(),
        condition: |_, w| {
            w.network.iter().any(|e| match (&e.dst, &e.msg) {
                (Addr::Broker(b), Msg::Request(Request::OffsetCommit { generation, .. })) => {
                    let group = &w.brokers[b.index()].group;
                    group.state == GroupState::CompletingRebalance
                        && group.generation == *generation
                }
                _ => false,
            })
        },
    },
    Witness {
        name: "commit_with_unsynced_generation",
        // What Kafka accepts from such a client: a late JoinGroup restarted the rebalance
        // before anyone synced, and the commit with the generation that never completed was
        // accepted in PreparingRebalance. `no_zombie_commit` allows it only because it comes
        // from the partition's owner.
        applies: |c| !c.commit_generation.is_stable() && c.faults.late_deliveries > 0,
        condition: |_, w| {
            let durable = w.log.durable_generation();
            w.log.uncommitted.iter().flatten().any(|r| {
                matches!(r, Record::OffsetCommit { committed_by: Some((_, g)), .. } if *g > durable)
            })
        },
    },
    Witness {
        name: "commit_acknowledged",
        applies: |_| true,
        condition: |_, w| w.acked.iter().any(|o| *o > 0),
    },
    Witness {
        name: "settled_converged",
        // A group that rebalances forever never settles: that flaw is caught by liveness.
        applies: |c| c.flaw != Some(Flaw::RebalanceTimeoutZero),
        condition: |m, w| m.is_quiescent(w) && converged(w),
    },
];

/// Whether the configuration runs a rolling upgrade whose every bounce shares an assignor with
/// the one before.
fn upgrades_in_steps(c: &ModelConfig) -> bool {
    !c.rolling_upgrade.is_empty() && !c.upgrade_skips_a_step()
}

/// Whether a response matching `pred` is on its way to a consumer, sent by a coordinator that
/// (if `after_failover`) was elected by a failover.
fn in_flight_from(w: &World, after_failover: bool, pred: fn(&Response) -> bool) -> bool {
    w.network.iter().any(|e| match (&e.src, &e.msg) {
        (Addr::Broker(b), Msg::Response(r)) => {
            (!after_failover || w.brokers[b.index()].epoch > crate::protocol::LeaderEpoch(0))
                && pred(r)
        }
        _ => false,
    })
}

/// Whether a response matching `pred` is on its way to a connection its (still running)
/// consumer closed after giving up on the request.
fn to_abandoned(w: &World, pred: fn(&Response) -> bool) -> bool {
    w.network.iter().any(|e| match (&e.dst, &e.msg) {
        (Addr::Client(to), Msg::Response(r)) => w.is_abandoned(*to) && pred(r),
        _ => false,
    })
}

/// An answer on its way to a consumer whose error the Java client does not handle, and to whom.
pub fn unexpected_answer(w: &World) -> Option<(ClientAddr, &Response)> {
    w.network.iter().find_map(|e| match (&e.dst, &e.msg) {
        (Addr::Client(to), Msg::Response(r)) if !consumer::handles(r) => Some((*to, r)),
        _ => None,
    })
}

/// The properties of one configuration: every safety property and the applicable witnesses.
pub fn for_model(cfg: &ModelConfig) -> Vec<stateright::Property<GroupModel>> {
    let mut props: Vec<stateright::Property<GroupModel>> = Property::ALWAYS
        .into_iter()
        .filter(|p| applies(*p, cfg))
        .map(|p| stateright::Property::always(p.name(), condition(p)))
        .collect();
    props.extend(
        WITNESSES
            .iter()
            .filter(|w| (w.applies)(cfg))
            .map(|w| stateright::Property::sometimes(w.name, w.condition)),
    );
    props
}

/// The group as the properties see it: the generation and members of the current coordinator,
/// or of the durable log while no coordinator is serving, and the claims of the live consumers.
pub fn group_view(w: &World) -> GroupView {
    let l = w.leader();
    let claims = (0..w.consumers.len())
        .filter(|c| w.is_live(*c))
        .filter_map(|c| Claim::of(c, &w.consumers[c]))
        .collect();
    if l.load == LoadState::Active && l.epoch == w.log.leader_epoch {
        return GroupView::of(&l.group, claims);
    }
    match w.log.durable_group() {
        Some(g) => GroupView::classic(g.generation, g.members.iter().copied(), claims),
        None => GroupView {
            members: Vec::new(),
            claims,
        },
    }
}

/// Whether `id` in `generation` is a member the current group counts.
pub fn current_member(w: &World, id: Option<MemberId>, generation: Option<Generation>) -> bool {
    matches!((id, generation), (Some(id), Some(g)) if group_view(w).counts(id, g))
}

/// No partition is owned by two live consumers that the coordinator both counts as members.
fn single_owner(_: &GroupModel, w: &World) -> bool {
    group_view(w).double_owner().is_none()
}

/// assignment_is_function, in words: the first assignment a coordinator holds or has written
/// that gives a partition to two members, or one the topic does not have, or, in the eager
/// protocol, a Stable group with members that gives a partition to none (a cooperative round
/// leaves out what its owner has yet to revoke).
pub fn function_breach(model: &GroupModel, w: &World) -> Option<String> {
    for b in w.brokers.iter().filter(|b| b.load == LoadState::Active) {
        let g = &b.group;
        let sets = g.assignments();
        if let Some((p, m, n)) = first_overlap(&sets) {
            return Some(format!(
                "broker-{}'s group at generation {} gives p{p} to both {m} and {n}",
                b.broker, g.generation
            ));
        }
        let all = Partitions::all(model.cfg.partitions);
        let given = sets.iter().fold(Partitions::EMPTY, |u, (_, s)| u.union(*s));
        if let Some(p) = given.difference(all).iter().next() {
            return Some(format!(
                "broker-{}'s group at generation {} gives p{p}, which the topic does not have",
                b.broker, g.generation
            ));
        }
        // An assignor that supports the cooperative protocol may leave a partition out for a
        // follow-up rebalance; any other must give every partition away.
        let complete = !g.protocol.is_some_and(Assignor::is_cooperative);
        if complete && g.state == GroupState::Stable && !g.members.is_empty() {
            if let Some(p) = all.difference(given).iter().next() {
                return Some(format!(
                    "broker-{}'s group is Stable at generation {} but gives p{p} to no member",
                    b.broker, g.generation
                ));
            }
        }
    }
    let records = w
        .log
        .durable
        .iter()
        .chain(w.log.uncommitted.iter().flatten());
    for r in records {
        if let Record::GroupMetadata {
            generation,
            members,
            ..
        } = r
        {
            if let Some((p, m, n)) = first_overlap(members) {
                return Some(format!(
                    "the group metadata written for generation {generation} gives p{p} to both {m} and {n}"
                ));
            }
        }
    }
    None
}

/// Every offset commit that became durable came from a member of the durable generation that
/// was assigned the partition.
fn no_zombie_commit(_: &GroupModel, w: &World) -> bool {
    !w.observed.has(Observed::ZOMBIE_COMMIT)
}

/// Every acknowledged commit is in the durable log (or superseded by a higher one), and no
/// coordinator ever served an offset below an acknowledged commit.
fn no_lost_commit(_: &GroupModel, w: &World) -> bool {
    !w.observed.has(Observed::FETCH_BELOW_ACK)
        && crate::property::reply::lost_ack(&w.log, &w.acked).is_none()
}

/// No success response revealed an assignment (with its generation) or an offset that was not
/// durable when it was sent.
fn durable_before_ack(_: &GroupModel, w: &World) -> bool {
    !w.observed.has(Observed::UNDURABLE_ACK)
}

/// The serving coordinator, whenever its group is at rest (Stable or Empty, nothing pending),
/// holds exactly the state that replaying the durable log gives.
fn replay_equivalence(m: &GroupModel, w: &World) -> bool {
    load_ignores_compaction(m, w)
        && w.brokers.iter().all(|b| {
            replay_difference(b, w.log.leader_epoch, &w.log.durable, m.cfg.partitions).is_none()
        })
}

/// Loading the durable log gives the same state as loading it after the cleaner has run.
pub fn load_ignores_compaction(m: &GroupModel, w: &World) -> bool {
    let (p, flaws) = (m.cfg.partitions, m.core.flaws);
    !w.log.compactable()
        || load(p, &w.log.durable, flaws) == load(p, &compacted(&w.log.durable), flaws)
}

/// The durable generation never decreases, and the serving coordinator is never behind it.
fn generation_monotonic(_: &GroupModel, w: &World) -> bool {
    let l = w.leader();
    let durable = w.log.durable_generation();
    let serving_behind = l.load == LoadState::Active
        && l.epoch == w.log.leader_epoch
        && l.group.generation < durable;
    !w.observed.has(Observed::GENERATION_REGRESSED) && !serving_behind
}

/// group_protocol_supported: a serving coordinator whose group runs a protocol some member
/// did not offer, in words.
pub fn protocol_mismatch(w: &World) -> Option<String> {
    let mut serving = w.brokers.iter().filter(|b| b.load == LoadState::Active);
    serving.find_map(|b| {
        let mismatch = unsupported_protocol(&b.group)?;
        Some(format!("broker-{}'s {mismatch}", b.broker))
    })
}

/// static_instance_unique: where two members share an instance id — in a serving
/// coordinator's group or in a group metadata record written to the log — in words.
pub fn instance_sharing(w: &World) -> Option<String> {
    let mut serving = w.brokers.iter().filter(|b| b.load == LoadState::Active);
    let held = serving.find_map(|b| {
        let shared = shared_instance(&b.group.instances())?;
        Some(format!("broker-{} holds {shared}", b.broker))
    });
    let written = || {
        let mut records = w
            .log
            .durable
            .iter()
            .chain(w.log.uncommitted.iter().flatten());
        records.find_map(|r| match r {
            Record::GroupMetadata {
                generation,
                instances,
                ..
            } => shared_instance(instances).map(|shared| {
                format!("the group metadata of generation {generation} in the log records {shared}")
            }),
            _ => None,
        })
    };
    held.or_else(written)
}

/// When nothing but faults can happen any more, the group has converged.
fn convergence(m: &GroupModel, w: &World) -> bool {
    !m.is_quiescent(w) || converged(w)
}

/// Stable at the serving coordinator, every live consumer a synced member owning exactly its
/// assignment, no other members, every partition owned by exactly one live consumer.
pub fn converged(w: &World) -> bool {
    unconverged(w).is_none()
}

/// Why a group has not converged: the first requirement of [`converged`] it misses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unconverged {
    NotServing(BrokerId),
    WritesPending(BrokerId),
    MembersPending(BrokerId),
    NotStable(GroupState, Generation, BrokerId),
    NotAMember(ConsumerId),
    NotSynced(ConsumerId, Phase, Option<Generation>, Generation),
    OwnsOtherThanAssigned(ConsumerId, Partitions, Partitions),
    MemberCount(usize, usize),
    Owners(Partition, usize),
    WorkInFlight,
}

/// The first requirement of convergence that `w` misses, if any.
pub fn unconverged(w: &World) -> Option<Unconverged> {
    use Unconverged::*;
    let l = w.leader();
    if l.load != LoadState::Active || l.epoch != w.log.leader_epoch {
        return Some(NotServing(l.broker));
    }
    if !l.pending.is_empty() {
        return Some(WritesPending(l.broker));
    }
    let g = &l.group;
    if !g.pending_members.is_empty() {
        return Some(MembersPending(l.broker));
    }
    // A consumer whose SyncGroup stalled is alive but hung: the group must go on without it.
    let running = |c: &usize| w.is_live(*c) && !w.consumers[*c].stalled;
    let live: Vec<usize> = (0..w.consumers.len()).filter(running).collect();
    if live.is_empty() && g.members.is_empty() {
        return None;
    }
    if g.state != GroupState::Stable {
        return Some(NotStable(g.state, g.generation, l.broker));
    }
    for &c in &live {
        let consumer = &w.consumers[c];
        match consumer.member_id.and_then(|id| g.member(id)) {
            None => return Some(NotAMember(ConsumerId::at(c))),
            Some(_)
                if consumer.phase != Phase::Stable || consumer.generation != Some(g.generation) =>
            {
                return Some(NotSynced(
                    ConsumerId::at(c),
                    consumer.phase,
                    consumer.generation,
                    g.generation,
                ))
            }
            Some(m) if m.assignment != consumer.owned => {
                return Some(OwnsOtherThanAssigned(
                    ConsumerId::at(c),
                    consumer.owned,
                    m.assignment,
                ))
            }
            _ => {}
        }
    }
    if g.members.len() != live.len() {
        return Some(MemberCount(g.members.len(), live.len()));
    }
    for p in 0..w.acked.len() as u8 {
        let owners = live
            .iter()
            .filter(|c| w.consumers[**c].owned.contains(p))
            .count();
        if owners != 1 {
            return Some(Owners(p, owners));
        }
    }
    live.iter()
        .map(|c| &w.consumers[*c])
        .any(|c| c.in_flight.is_some() || !c.unfetched.is_empty())
        .then_some(WorkInFlight)
}

impl std::fmt::Display for Unconverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Unconverged::*;
        match self {
            NotServing(b) => write!(f, "broker-{b} is not serving the group"),
            WritesPending(b) => write!(f, "broker-{b} still has writes pending"),
            MembersPending(b) => write!(f, "broker-{b} still awaits pending members"),
            NotStable(state, generation, b) => write!(
                f,
                "the group is {state:?} at generation {generation} on broker-{b}"
            ),
            NotAMember(c) => write!(f, "consumer-{c} is not a member of the group"),
            NotSynced(c, phase, generation, group) => write!(
                f,
                "consumer-{c} is {phase:?} in generation {generation:?} while the group is at generation {group}"
            ),
            OwnsOtherThanAssigned(c, owned, assigned) => {
                write!(f, "consumer-{c} owns {owned} but is assigned {assigned}")
            }
            MemberCount(members, live) => write!(
                f,
                "the group has {members} members for {live} live consumers"
            ),
            Owners(p, n) => write!(f, "p{p} is owned by {n} live consumers"),
            WorkInFlight => f.write_str("a consumer still has work in flight"),
        }
    }
}
