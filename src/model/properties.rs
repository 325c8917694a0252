//! The named properties every model is checked against, and the witnesses that show each one
//! guards a situation that really occurs.
//!
//! Safety properties (`Always`) are checked in every reachable state; the step-level ones
//! (`durable_before_ack`, `no_zombie_commit`, parts of `no_lost_commit` and
//! `generation_monotonic`) are judged at the step where the response is sent or the record
//! becomes durable, and remembered in [`Observed`]. Witnesses (`Sometimes`) must each be reached
//! at least once, or the check fails: a property that guards a situation never reached proves
//! nothing.

use super::{Addr, GroupModel, ModelConfig, Msg, Observed, World};
use crate::coordinator::replay::{load, replay};
use crate::coordinator::{GroupState, LoadState};
use crate::flaw::Flaw;
use crate::offsets_log::compacted;
use crate::protocol::{ErrorCode, Generation, MemberId, Partitions, Response};
use stateright::Property;

type Condition = fn(&GroupModel, &World) -> bool;

/// Safety properties, by name.
pub const ALWAYS: [(&str, Condition); 8] = [
    ("single_owner", single_owner),
    ("assignment_is_function", assignment_is_function),
    ("no_zombie_commit", no_zombie_commit),
    ("no_lost_commit", no_lost_commit),
    ("durable_before_ack", durable_before_ack),
    ("replay_equivalence", replay_equivalence),
    ("generation_monotonic", generation_monotonic),
    ("convergence", convergence),
];

/// The first safety property (in [`ALWAYS`] order) that `w` violates, if any.
pub fn first_violated(model: &GroupModel, w: &World) -> Option<&'static str> {
    ALWAYS
        .iter()
        .find(|(_, holds)| !holds(model, w))
        .map(|(name, _)| *name)
}

/// A witness: a situation that must be reached, if the configuration allows it at all.
pub struct Witness {
    pub name: &'static str,
    pub applies: fn(&ModelConfig) -> bool,
    pub condition: Condition,
}

pub const WITNESSES: [Witness; 15] = [
    Witness {
        name: "consumer_crashed",
        applies: |c| c.faults.crashes > 0,
        condition: |_, w| w.used.crashes > 0,
    },
    Witness {
        name: "live_session_expired",
        applies: |c| c.faults.session_expiries > 0,
        condition: |_, w| w.used.session_expiries > 0,
    },
    Witness {
        name: "coordinator_failed_over",
        applies: |c| c.faults.failovers > 0,
        condition: |_, w| w.used.failovers > 0 && w.leader().load == LoadState::Active,
    },
    Witness {
        name: "message_lost",
        applies: |c| c.faults.lost_messages > 0,
        condition: |_, w| w.used.lost_messages > 0,
    },
    Witness {
        name: "consumer_left",
        applies: |c| c.faults.leaves > 0,
        condition: |_, w| w.used.leaves > 0 && w.consumers.iter().any(|c| c.is_closed()),
    },
    Witness {
        name: "late_consumer_joined",
        applies: |c| c.faults.late_joins > 0,
        // Every late consumer has started and every live consumer is a current member. (Said
        // without consumer numbers, so that it means the same under symmetry reduction.)
        condition: |m, w| {
            w.used.late_joins == m.cfg.faults.late_joins
                && (0..w.consumers.len())
                    .filter(|c| w.is_live(*c))
                    .all(|c| current_member(w, w.consumers[c].member_id, w.consumers[c].generation))
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

/// Whether a response matching `pred` is on its way to a consumer, sent by a coordinator that
/// (if `after_failover`) was elected by a failover.
fn in_flight_from(w: &World, after_failover: bool, pred: fn(&Response) -> bool) -> bool {
    w.network.iter().any(|e| match (&e.src, &e.msg) {
        (Addr::Broker(b), Msg::Response(r)) => {
            (!after_failover || w.brokers[*b as usize].epoch > 0) && pred(r)
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

/// The properties of one configuration: every safety property and the applicable witnesses.
pub fn for_model(cfg: &ModelConfig) -> Vec<Property<GroupModel>> {
    let mut props: Vec<Property<GroupModel>> = ALWAYS
        .iter()
        .map(|(name, f)| Property::always(name, *f))
        .collect();
    props.extend(
        WITNESSES
            .iter()
            .filter(|w| (w.applies)(cfg))
            .map(|w| Property::sometimes(w.name, w.condition)),
    );
    props
}

/// Generation and members of the group as the current coordinator knows it, or as the durable
/// log has it while no coordinator is serving.
pub fn current_group(w: &World) -> (Generation, Vec<MemberId>) {
    let l = w.leader();
    if l.load == LoadState::Active && l.epoch == w.log.leader_epoch {
        (
            l.group.generation,
            l.group.members.iter().map(|m| m.id).collect(),
        )
    } else {
        match w.log.durable_group() {
            Some(g) => (g.generation, g.members.iter().map(|(m, _)| *m).collect()),
            None => (0, Vec::new()),
        }
    }
}

pub fn current_member(w: &World, id: Option<MemberId>, generation: Option<Generation>) -> bool {
    let (g, members) = current_group(w);
    matches!((id, generation), (Some(id), Some(gen)) if gen == g && members.contains(&id))
}

fn pairwise_disjoint(sets: impl Iterator<Item = Partitions>) -> bool {
    let mut seen = Partitions::EMPTY;
    for s in sets {
        if !seen.intersection(s).is_empty() {
            return false;
        }
        seen = seen.union(s);
    }
    true
}

/// No partition is owned by two live consumers that are both members of the current generation.
fn single_owner(_: &GroupModel, w: &World) -> bool {
    let owners = (0..w.consumers.len())
        .filter(|c| w.is_live(*c))
        .map(|c| &w.consumers[c])
        .filter(|c| current_member(w, c.member_id, c.generation))
        .map(|c| c.owned);
    pairwise_disjoint(owners)
}

/// Every assignment a coordinator holds or has written gives each partition to at most one
/// member; a Stable group with members has every partition assigned exactly once.
fn assignment_is_function(m: &GroupModel, w: &World) -> bool {
    let all = Partitions::all(m.cfg.partitions);
    let held = w
        .brokers
        .iter()
        .filter(|b| b.load == LoadState::Active)
        .all(|b| {
            let g = &b.group;
            pairwise_disjoint(g.members.iter().map(|m| m.assignment))
                && (g.state != GroupState::Stable
                    || g.members.is_empty()
                    || g.members
                        .iter()
                        .fold(Partitions::EMPTY, |u, m| u.union(m.assignment))
                        == all)
        });
    let written = w
        .log
        .durable
        .iter()
        .chain(w.log.uncommitted.iter().flatten())
        .all(|r| match r {
            crate::protocol::Record::GroupMetadata { members, .. } => {
                pairwise_disjoint(members.iter().map(|(_, ps)| *ps))
            }
            _ => true,
        });
    held && written
}

/// Every offset commit that became durable came from a member of the durable generation that
/// was assigned the partition.
fn no_zombie_commit(_: &GroupModel, w: &World) -> bool {
    !w.observed.has(Observed::ZOMBIE_COMMIT)
}

/// Every acknowledged commit is in the durable log (or superseded by a higher one), and no
/// coordinator ever served an offset below an acknowledged commit.
fn no_lost_commit(_: &GroupModel, w: &World) -> bool {
    !w.observed.has(Observed::FETCH_BELOW_ACK) && crate::judge::lost_ack(&w.log, &w.acked).is_none()
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
            if b.load != LoadState::Active
                || b.epoch != w.log.leader_epoch
                || !b.pending.is_empty()
                || !matches!(b.group.state, GroupState::Stable | GroupState::Empty)
            {
                return true;
            }
            let expected = replay(m.cfg.partitions, &w.log.durable);
            b.group.generation == expected.generation
                && b.group.leader == expected.leader
                && b.group.assignments() == expected.members
                && b.offsets == expected.offsets
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

/// When nothing but faults can happen any more, the group has converged.
fn convergence(m: &GroupModel, w: &World) -> bool {
    !m.is_quiescent(w) || converged(w)
}

/// Stable at the serving coordinator, every live consumer a synced member owning exactly its
/// assignment, no other members, every partition owned by exactly one live consumer.
pub fn converged(w: &World) -> bool {
    let l = w.leader();
    if l.load != LoadState::Active
        || l.epoch != w.log.leader_epoch
        || !l.pending.is_empty()
        || !l.group.pending_members.is_empty()
    {
        return false;
    }
    let live: Vec<_> = (0..w.consumers.len())
        .filter(|c| w.is_live(*c))
        .map(|c| &w.consumers[c])
        .collect();
    if live.is_empty() {
        return l.group.members.is_empty();
    }
    let g = &l.group;
    let all = Partitions::all(w.acked.len() as u8);
    g.state == GroupState::Stable
        && g.members.len() == live.len()
        && live.iter().all(|c| {
            c.phase == crate::consumer::Phase::Stable
                && c.in_flight.is_none()
                && c.unfetched.is_empty()
                && c.generation == Some(g.generation)
                && c.member_id
                    .and_then(|id| g.member(id))
                    .is_some_and(|m| m.assignment == c.owned)
        })
        && pairwise_disjoint(live.iter().map(|c| c.owned))
        && live.iter().fold(Partitions::EMPTY, |u, c| u.union(c.owned)) == all
}

/// What a safety property says, in one line (as in the README's table).
pub fn property_summary(name: &str) -> &'static str {
    match name {
        "single_owner" => {
            "no partition is owned by two live consumers that are both members of the current generation"
        }
        "assignment_is_function" => {
            "every assignment gives each partition to at most one member, and a Stable group with members gives every partition to exactly one"
        }
        "no_zombie_commit" => {
            "every offset commit that becomes durable came from a member of the durable generation that was assigned the partition"
        }
        "no_lost_commit" => {
            "every acknowledged commit stays in the durable log, and no coordinator serves an offset below it"
        }
        "durable_before_ack" => {
            "no success response reveals an assignment or offset that is not durable"
        }
        "replay_equivalence" => {
            "a serving coordinator at rest holds exactly the replay of its durable log"
        }
        "generation_monotonic" => {
            "the durable generation never decreases, and the serving coordinator is never behind it"
        }
        "liveness" => {
            "after the last fault, every fair execution reaches a converged group (weak fairness of the protocol's own steps)"
        }
        "convergence" => {
            "once nothing but faults can happen, the group is Stable with every partition owned by exactly one live member"
        }
        _ => "a witness: a situation that must be reached",
    }
}
