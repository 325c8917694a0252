//! Plain English: one sentence per step, and one sentence saying why the last state violates
//! the property.

use crate::coordinator::replay::load;
use crate::coordinator::LoadState;
use crate::model::properties::load_ignores_compaction;
use crate::model::properties::{
    function_breach, group_view, instance_sharing, protocol_mismatch, unconverged,
    unexpected_answer,
};
use crate::model::{Action, Addr, GroupModel, Msg, Observed, World};
use crate::offsets_log::compacted;
use crate::property::reply::{judge_reply, lost_ack, ReplyFault};
use crate::property::{
    from_known_member, from_non_member, offset_text as offset, offsets_line, replay_difference,
    unfenced, Property,
};
use crate::protocol::{MemberId, Record};

/// What one step did.
pub fn describe(before: &World, action: &Action, after: &World) -> String {
    match action {
        Action::Deliver(env) => match (&env.src, &env.dst, &env.msg) {
            (Addr::Client(c), Addr::Broker(b), Msg::Request(r)) if before.is_abandoned(*c) => {
                format!("broker-{b} receives {r} from {c}, late: its client gave up on it")
            }
            (Addr::Client(c), Addr::Broker(b), Msg::Request(r)) => {
                format!("broker-{b} receives {r} from {c}")
            }
            (Addr::Broker(b), Addr::Client(c), Msg::Response(r)) => {
                let mut s = format!("{c} receives {r} from broker-{b}");
                let i = c.consumer.index();
                if before.is_abandoned(*c) {
                    s.push_str(" on a connection it has closed: the answer is never read");
                } else if before.consumer_at(*c).is_some() && before.consumers[i].phase != after.consumers[i].phase
                {
                    s.push_str(&format!(
                        " ({:?} → {:?})",
                        before.consumers[i].phase, after.consumers[i].phase
                    ));
                }
                s
            }
            (_, Addr::Broker(b), Msg::Control(_)) => {
                let mut s = format!("broker-{b} hears from the controller: {}", env.msg);
                if before.brokers[b.index()] == after.brokers[b.index()] {
                    s.push_str(&format!(
                        "; it has heard of epoch {} already, so the message is stale and ignored",
                        before.brokers[b.index()].epoch
                    ));
                }
                s
            }
            _ => format!("{env} arrives"),
        },
        Action::Lose(env) => format!(
            "the network loses {} from {} to {}, and the request times out",
            env.msg, env.src, env.dst
        ),
        Action::TimeOut(c) => format!(
            "consumer-{c}'s request times out: it is no longer parked anywhere and no answer is on its way"
        ),
        Action::Abandon(c) => format!(
            "consumer-{c}'s request times out while still on its way: it closes the connection and carries on as {}; the request may still arrive, and its answer will not be read",
            after.consumers[c.index()].addr
        ),
        Action::Replicate => {
            let batch: Vec<String> = before
                .log
                .uncommitted
                .first()
                .map(|b| b.iter().map(record).collect())
                .unwrap_or_default();
            format!(
                "__consumer_offsets: the high watermark passes the batch [{}], which is now durable",
                batch.join("; ")
            )
        }
        Action::Compact => {
            let gone = before.log.durable.len() - after.log.durable.len();
            format!("__consumer_offsets: the log cleaner compacts the durable log ({gone} older records or tombstones removed; the latest record of each key stays)")
        }
        Action::FinishLoading(b) => {
            let g = &after.brokers[b.index()].group;
            format!(
                "broker-{b} finishes replaying __consumer_offsets: the group is {:?} at generation {}",
                g.state, g.generation
            )
        }
        Action::Consume(c, p) => format!(
            "consumer-{c} processes record {} of p{p} and commits its positions",
            before.consumers[c.index()].positions[*p as usize]
        ),
        Action::Commit(c) => format!("consumer-{c} retries committing its positions"),
        Action::Heartbeat(c) => format!("consumer-{c} sends a heartbeat"),
        Action::ExpireSession(id) => {
            let b = before.log.leader;
            match holder(before, *id) {
                Some(c) if before.parked_while_join_waits(*id) => format!(
                    "the session of {id} expires at broker-{b} while consumer-{c} waits in JoinGroup, sending no heartbeats: the join phase has waited longer than a session for a member that has not rejoined"
                ),
                Some(c) if before.held_by_live_consumer(*id) => format!(
                    "the session of {id} expires at broker-{b} while consumer-{c} still runs (a long pause): consumer-{c} is now a zombie"
                ),
                _ => format!("the session of {id}, whose process is gone, expires at broker-{b}"),
            }
        }
        Action::RebalanceTimeout => format!(
            "the rebalance timeout ends the join phase at broker-{} and removes the members that have not rejoined",
            before.log.leader
        ),
        Action::Crash(c) => format!(
            "CRASH: consumer-{c} dies and restarts with no memory as {}",
            after.consumers[c.index()].addr
        ),
        // What it sends (a final commit, a LeaveGroup, or nothing) is the step's own line.
        Action::Close(c) => format!(
            "consumer-{c} shuts down ({:?} → {:?})",
            before.consumers[c.index()].phase,
            after.consumers[c.index()].phase
        ),
        Action::Start(c) => format!("consumer-{c} starts"),
        Action::Bounce(c) => format!(
            "consumer-{c} is bounced by the rolling upgrade: it commits and closes (a dynamic member sends LeaveGroup), to start again with its next assignors"
        ),
        Action::Restart(c) => format!("consumer-{c} starts again with its next assignors"),
        Action::StallSync(c) => format!(
            "STALL: consumer-{c}'s SyncGroup never goes out (its assignor hangs); its heartbeats keep its session alive"
        ),
        Action::PendingSyncTimeout => format!(
            "the pending-sync timer fires at broker-{}: the members that have not sent their SyncGroup are removed",
            before.log.leader
        ),
        Action::Failover(b) => format!(
            "FAILOVER: broker-{b} becomes leader of __consumer_offsets (leader epoch {}); batches not yet durable are truncated and broker-{b} {}",
            after.log.leader_epoch,
            if after.brokers[b.index()].load == LoadState::Loading {
                "starts loading the group"
            } else {
                "will load the group when the controller's StartLeading reaches it"
            }
        ),
    }
}

/// A record of `__consumer_offsets`, in words.
pub fn record(r: &Record) -> String {
    match r {
        Record::GroupMetadata {
            generation,
            protocol,
            leader,
            members,
            instances,
        } => {
            let instance = |m: &crate::protocol::MemberId| {
                let found = instances.iter().find(|(i, _)| i == m);
                found.map(|(_, i)| format!("({i})")).unwrap_or_default()
            };
            let ms: Vec<String> = members
                .iter()
                .map(|(m, ps)| format!("{m}{}:{ps}", instance(m)))
                .collect();
            let leader = leader
                .map(|l| l.to_string())
                .unwrap_or_else(|| "none".into());
            let protocol = protocol.map_or(String::new(), |p| format!(" ({})", p.wire_name()));
            format!(
                "group metadata: generation {generation}{protocol}, leader {leader}, assignment [{}]",
                ms.join(" ")
            )
        }
        Record::OffsetCommit {
            partition,
            offset,
            committed_by,
        } => match committed_by {
            Some((m, g)) => format!("offset p{partition}@{offset} by {m} in generation {g}"),
            None => format!("offset p{partition}@{offset}"),
        },
        Record::GroupTombstone => "group tombstone".into(),
        Record::OffsetTombstone { partition } => format!("offset tombstone for p{partition}"),
    }
}

/// The consumer currently holding a member id, if any.
fn holder(w: &World, id: MemberId) -> Option<usize> {
    (0..w.consumers.len()).find(|c| w.consumers[*c].member_id == Some(id))
}

fn who(w: &World, id: MemberId) -> String {
    match holder(w, id) {
        Some(c) => format!("consumer-{c} ({id})"),
        None => id.to_string(),
    }
}

/// Why `w` violates `property`; `prev` is the state before the last step (none when the initial
/// state already violates it).
pub fn violation(
    model: &GroupModel,
    property: Property,
    prev: Option<&World>,
    w: &World,
) -> String {
    let newly = |bit: u16| w.observed.has(bit) && !prev.is_some_and(|p| p.observed.has(bit));
    let sentence = match property {
        Property::SingleOwner => group_view(w).double_owner().map(|d| d.to_string()),
        Property::AssignmentIsFunction => function_breach(model, w),
        Property::NoZombieCommit => {
            prev.and_then(|p| accepted_zombie_commit(p, w).or_else(|| zombie_commit(p)))
        }
        Property::NoLostCommit if newly(Observed::FETCH_BELOW_ACK) => {
            prev.and_then(|p| reply_fault(p, w, |f| matches!(f, ReplyFault::FetchBelowAck { .. })))
        }
        Property::NoLostCommit => lost_commit(w),
        Property::DurableBeforeAck => {
            prev.and_then(|p| reply_fault(p, w, |f| !matches!(f, ReplyFault::FetchBelowAck { .. })))
        }
        Property::ReplayEquivalence => w
            .brokers
            .iter()
            .find_map(|b| {
                replay_difference(b, w.log.leader_epoch, &w.log.durable, model.cfg.partitions)
                    .map(|d| d.to_string())
            })
            .or_else(|| compaction_changes_load(model, w)),
        Property::GenerationMonotonic if newly(Observed::GENERATION_REGRESSED) => prev.map(|p| {
            format!(
                "the durable generation went back from {} to {}",
                p.log.durable_generation(),
                w.log.durable_generation()
            )
        }),
        Property::GenerationMonotonic => {
            let l = w.leader();
            Some(format!(
                "broker-{} serves generation {} while the durable log is at generation {}",
                l.broker,
                l.group.generation,
                w.log.durable_generation()
            ))
        }
        Property::NonMemberFenced => prev.and_then(|p| unfenced_request(p, w)),
        Property::MemberNotFenced => prev.and_then(|p| fenced_member(p, w)),
        Property::StaticInstanceUnique => instance_sharing(w),
        Property::GroupProtocolSupported => protocol_mismatch(w),
        Property::NoUnexpectedError => unexpected_answer(w).map(|(to, r)| {
            let to = match w.consumer_at(to) {
                Some(c) => format!("consumer-{c}"),
                None => to.to_string(),
            };
            format!(
                "{r} is on its way to {to}, and the Java client's handler of that request does not know {}: an unexpected error",
                r.error()
            )
        }),
        Property::Convergence => unconverged(w).map(|u| {
            format!("nothing but faults can happen any more, yet the group has not converged: {u}")
        }),
        Property::Liveness => None,
    };
    match (sentence, prev) {
        (Some(s), _) => s,
        (None, None) => format!(
            "{property} fails in the initial state: the violation happened while the group formed, fault-free, before the check began (start = \"empty\" explores the formation)"
        ),
        (None, Some(_)) => format!("{property} fails in the last state"),
    }
}

/// A commit the coordinator accepted (appended) in the last step from a non-owner.
fn accepted_zombie_commit(prev: &World, w: &World) -> Option<String> {
    let mut old: Vec<&Record> = prev.log.uncommitted.iter().flatten().collect();
    let leader = w.leader();
    let group = &leader.group;
    for r in w.log.uncommitted.iter().flatten() {
        if let Some(i) = old.iter().position(|o| *o == r) {
            old.remove(i);
            continue;
        }
        let Record::OffsetCommit {
            partition,
            offset,
            committed_by: Some((m, g)),
        } = r
        else {
            continue;
        };
        let reason = match group.member(*m) {
            None => format!("{m} is no longer a member of the group"),
            Some(_) if *g != group.generation => {
                format!("the group is at generation {}", group.generation)
            }
            Some(member) if !member.assignment.contains(*partition) => {
                format!("{m} does not own p{partition} in generation {g}")
            }
            Some(_) => continue,
        };
        return Some(format!(
            "{} committed offset {offset} for p{partition} in generation {g}, and broker-{} accepted it although {reason}",
            who(prev, *m),
            leader.broker
        ));
    }
    None
}

/// non_member_fenced: the request from a member id its coordinator's group did not know that
/// the last step delivered, and what it changed.
fn unfenced_request(prev: &World, w: &World) -> Option<String> {
    let (b, request) = prev
        .sent_since(w)
        .into_iter()
        .find_map(|e| match (&e.dst, &e.msg) {
            (Addr::Broker(b), Msg::Request(r))
                if from_non_member(&prev.brokers[b.index()].group, r) =>
            {
                Some((*b, r))
            }
            _ => None,
        })?;
    let wrote = w.log.uncommitted.len() != prev.log.uncommitted.len();
    let sent = w.sent_since(prev);
    let answers = sent.iter().filter_map(|e| match (&e.src, &e.msg) {
        (Addr::Broker(from), Msg::Response(r)) if *from == b => Some(r),
        _ => None,
    });
    let done = unfenced(
        &prev.brokers[b.index()],
        &w.brokers[b.index()],
        wrote,
        answers,
    );
    if done.is_empty() {
        return None;
    }
    Some(format!(
        "broker-{b} took the {} of {}, whose member id its group does not know, and {}",
        request.api(),
        request
            .member_id()
            .map_or_else(String::new, |id| who(prev, id)),
        done.join(", and ")
    ))
}

/// member_not_fenced: the request from a member its serving coordinator knew that the last step
/// delivered, and its answer.
fn fenced_member(prev: &World, w: &World) -> Option<String> {
    let (b, from, request) =
        prev.sent_since(w)
            .into_iter()
            .find_map(|e| match (&e.src, &e.dst, &e.msg) {
                (Addr::Client(from), Addr::Broker(b), Msg::Request(r))
                    if from_known_member(&prev.brokers[b.index()], r) =>
                {
                    Some((*b, *from, r))
                }
                _ => None,
            })?;
    let id = request.member_id()?;
    let pending = prev.brokers[b.index()].group.pending_members.contains(&id);
    Some(format!(
        "broker-{b} answered the {} of {}, {} of its group, UNKNOWN_MEMBER_ID{}",
        request.api(),
        who(prev, id),
        if pending {
            "a pending member"
        } else {
            "a member"
        },
        match w.consumer_at(from) {
            Some(_) => "",
            None => " (on a connection its client has closed)",
        }
    ))
}

fn zombie_commit(prev: &World) -> Option<String> {
    let batch = prev.log.uncommitted.first()?;
    let group = prev.log.durable_group();
    for r in batch {
        let Record::OffsetCommit {
            partition,
            offset,
            committed_by,
        } = r
        else {
            continue;
        };
        let legit = prev.log.commit_is_legit(*partition, *committed_by);
        if legit {
            continue;
        }
        let by = match committed_by {
            Some((id, gen)) => format!(
                "{} committed offset {offset} for p{partition} in generation {gen}",
                who(prev, *id)
            ),
            None => format!("a commit of offset {offset} for p{partition} with no member"),
        };
        let owner = group.as_ref().and_then(|g| {
            g.members
                .iter()
                .find(|(_, ps)| ps.contains(*partition))
                .map(|(m, _)| (g.generation, *m))
        });
        let verdict = match (group.as_ref(), owner) {
            (_, Some((gen, m))) => format!("generation {gen} gives p{partition} to {m}"),
            (Some(g), None) => format!("generation {} gives p{partition} to no one", g.generation),
            (None, None) => "no group generation is durable".into(),
        };
        return Some(format!(
            "{by}, and the commit became durable although {verdict}"
        ));
    }
    None
}

/// The first fault of the responses the last step sent, judged as the model judged them: in
/// sending order, against the log after the step and the offsets acknowledged before it.
fn reply_fault(prev: &World, w: &World, wanted: fn(&ReplyFault) -> bool) -> Option<String> {
    let mut acked = prev.acked.clone();
    for e in w.sent_since(prev) {
        let (Addr::Broker(b), Addr::Client(c), Msg::Response(r)) = (&e.src, &e.dst, &e.msg) else {
            continue;
        };
        let current = w.brokers[b.index()].epoch == w.log.leader_epoch;
        let faults = judge_reply(&w.log, &mut acked, r, current);
        let Some(fault) = faults.into_iter().find(wanted) else {
            continue;
        };
        let durable = |p| offset(w.log.durable_offset(p));
        return Some(match fault {
            ReplyFault::UndurableAssignment {
                member,
                generation,
                assignment,
            } => {
                let held = match w.log.durable_group() {
                    None => "holds no group metadata".to_string(),
                    Some(g) if g.generation != generation => {
                        format!("holds generation {}", g.generation)
                    }
                    Some(g) => match g.members.iter().find(|(m, _)| *m == member) {
                        None => format!("has no member {member} in generation {generation}"),
                        Some((_, ps)) => format!("gives {member} {ps}"),
                    },
                };
                format!("broker-{b} answered {c}'s SyncGroup as {member} with assignment {assignment} of generation {generation}, but the durable log {held}")
            }
            ReplyFault::UndurableAck { partition: p, offset: o } => format!(
                "broker-{b} acknowledged offset {o} for p{p} to {c}, but the durable log holds {} for p{p}",
                durable(p)
            ),
            ReplyFault::UndurableFetch { partition: p, served } => format!(
                "broker-{b} served offset {} for p{p} to {c}, but the durable log holds {} for p{p}",
                offset(served),
                durable(p)
            ),
            ReplyFault::FetchBelowAck {
                partition: p,
                served,
                acked,
            } => format!(
                "broker-{b} served {} for p{p} to {c}, but offset {acked} for p{p} had been acknowledged",
                offset(served)
            ),
        });
    }
    None
}

fn lost_commit(w: &World) -> Option<String> {
    lost_ack(&w.log, &w.acked).map(|(p, a)| {
        format!(
            "offset {a} for p{p} was acknowledged, but the durable log now holds {} for p{p}",
            offset(w.log.durable_offset(p))
        )
    })
}

/// The other half of replay_equivalence: loading the log must not depend on the cleaner.
fn compaction_changes_load(model: &GroupModel, w: &World) -> Option<String> {
    if load_ignores_compaction(model, w) {
        return None;
    }
    let (p, flaws) = (model.cfg.partitions, model.core.flaws);
    let raw = load(p, &w.log.durable, flaws);
    let clean = load(p, &compacted(&w.log.durable), flaws);
    Some(format!(
        "loading the durable log as it is gives generation {} and offsets {}, but loading it after the log cleaner has run gives generation {} and offsets {}",
        raw.generation,
        offsets_line(&raw.offsets),
        clean.generation,
        offsets_line(&clean.offsets)
    ))
}

/// Why a lasso violates liveness; `w` is the state where the cycle starts.
pub fn livelock(w: &World, cycle_len: usize) -> String {
    if cycle_len == 0 {
        format!(
            "no fair step is enabled any more and the group has not converged: {}",
            unconverged(w).map(|u| u.to_string()).unwrap_or_default()
        )
    } else {
        format!(
            "the last {cycle_len} steps repeat forever (back to the same state up to the numbering of generations and member ids), every step that stays enabled is taken, and the group never converges: at the start of the cycle, {}",
            unconverged(w).map(|u| u.to_string()).unwrap_or_default()
        )
    }
}
