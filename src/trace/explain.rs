//! Plain English: one sentence per step, and one sentence saying why the last state violates
//! the property.

use crate::consumer::Phase;
use crate::coordinator::replay::replay;
use crate::coordinator::{GroupState, LoadState};
use crate::judge::{judge_reply, lost_ack, ReplyFault};
use crate::model::properties::{converged, current_member};
use crate::model::{Action, Addr, GroupModel, Msg, Observed, World};
use crate::protocol::{MemberId, Offset, Partition, Partitions, Record};

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
                let i = c.consumer as usize;
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
                format!("broker-{b} hears from the controller: {}", env.msg)
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
            after.consumers[*c as usize].addr
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
            let g = &after.brokers[*b as usize].group;
            format!(
                "broker-{b} finishes replaying __consumer_offsets: the group is {:?} at generation {}",
                g.state, g.generation
            )
        }
        Action::Consume(c, p) => format!(
            "consumer-{c} processes record {} of p{p} and commits its positions",
            before.consumers[*c as usize].positions[*p as usize]
        ),
        Action::Commit(c) => format!("consumer-{c} retries committing its positions"),
        Action::Heartbeat(c) => format!("consumer-{c} sends a heartbeat"),
        Action::ExpireSession(id) => {
            let b = before.log.leader;
            match holder(before, *id) {
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
            after.consumers[*c as usize].addr
        ),
        Action::Close(c) => format!("consumer-{c} shuts down: it commits and leaves the group"),
        Action::Start(c) => format!("consumer-{c} starts"),
        Action::Failover(b) => format!(
            "FAILOVER: broker-{b} becomes leader of __consumer_offsets (leader epoch {}); batches not yet durable are truncated and broker-{b} starts loading the group",
            after.log.leader_epoch
        ),
    }
}

/// A record of `__consumer_offsets`, in words.
pub fn record(r: &Record) -> String {
    match r {
        Record::GroupMetadata {
            generation,
            leader,
            members,
        } => {
            let ms: Vec<String> = members.iter().map(|(m, ps)| format!("{m}:{ps}")).collect();
            let leader = leader
                .map(|l| l.to_string())
                .unwrap_or_else(|| "none".into());
            format!(
                "group metadata: generation {generation}, leader {leader}, assignment [{}]",
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

fn offset(o: Option<Offset>) -> String {
    o.map(|o| o.to_string()).unwrap_or_else(|| "nothing".into())
}

/// Why `w` violates `property`; `prev` is the state before the last step (none when the initial
/// state already violates it).
pub fn violation(model: &GroupModel, property: &str, prev: Option<&World>, w: &World) -> String {
    let newly = |bit: u8| w.observed.has(bit) && !prev.is_some_and(|p| p.observed.has(bit));
    let sentence = match property {
        "single_owner" => single_owner(w),
        "assignment_is_function" => assignment_is_function(model, w),
        "no_zombie_commit" => {
            prev.and_then(|p| accepted_zombie_commit(p, w).or_else(|| zombie_commit(p)))
        }
        "no_lost_commit" if newly(Observed::FETCH_BELOW_ACK) => {
            prev.and_then(|p| reply_fault(p, w, |f| matches!(f, ReplyFault::FetchBelowAck { .. })))
        }
        "no_lost_commit" => lost_commit(w),
        "durable_before_ack" => {
            prev.and_then(|p| reply_fault(p, w, |f| !matches!(f, ReplyFault::FetchBelowAck { .. })))
        }
        "replay_equivalence" => replay_differs(model, w),
        "generation_monotonic" if newly(Observed::GENERATION_REGRESSED) => prev.map(|p| {
            format!(
                "the durable generation went back from {} to {}",
                p.log.durable_generation(),
                w.log.durable_generation()
            )
        }),
        "generation_monotonic" => {
            let l = w.leader();
            Some(format!(
                "broker-{} serves generation {} while the durable log is at generation {}",
                l.broker,
                l.group.generation,
                w.log.durable_generation()
            ))
        }
        "convergence" => Some(format!(
            "nothing but faults can happen any more, yet the group has not converged: {}",
            not_converged(w)
        )),
        _ => None,
    };
    match (sentence, prev) {
        (Some(s), _) => s,
        (None, None) => format!(
            "{property} fails in the initial state: the violation happened while the group formed, fault-free, before the check began (start = \"empty\" explores the formation)"
        ),
        (None, Some(_)) => format!("{property} fails in the last state"),
    }
}

fn offsets_line(offsets: &[Option<Offset>]) -> String {
    let parts: Vec<String> = offsets
        .iter()
        .enumerate()
        .map(|(p, o)| format!("p{p}@{}", offset(*o)))
        .collect();
    parts.join(" ")
}

fn members_line(members: &[(MemberId, Partitions)]) -> String {
    let parts: Vec<String> = members.iter().map(|(m, ps)| format!("{m}:{ps}")).collect();
    format!("[{}]", parts.join(" "))
}

fn single_owner(w: &World) -> Option<String> {
    let owners: Vec<usize> = (0..w.consumers.len())
        .filter(|c| w.is_live(*c))
        .filter(|c| current_member(w, w.consumers[*c].member_id, w.consumers[*c].generation))
        .collect();
    for (i, a) in owners.iter().enumerate() {
        for b in &owners[i + 1..] {
            let (x, y) = (&w.consumers[*a], &w.consumers[*b]);
            if let Some(p) = x.owned.intersection(y.owned).iter().next() {
                return Some(format!(
                    "consumer-{a} ({}) and consumer-{b} ({}) both own p{p} as members of generation {}",
                    x.member_id?,
                    y.member_id?,
                    x.generation?
                ));
            }
        }
    }
    None
}

fn first_overlap(sets: &[(MemberId, Partitions)]) -> Option<(Partition, MemberId, MemberId)> {
    for (i, (m, a)) in sets.iter().enumerate() {
        for (n, b) in &sets[i + 1..] {
            if let Some(p) = a.intersection(*b).iter().next() {
                return Some((p, *m, *n));
            }
        }
    }
    None
}

fn assignment_is_function(model: &GroupModel, w: &World) -> Option<String> {
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
        if g.state == GroupState::Stable && !g.members.is_empty() && given != all {
            let p = all.iter().find(|p| !given.contains(*p))?;
            return Some(format!(
                "broker-{}'s group is Stable at generation {} but gives p{p} to no member",
                b.broker, g.generation
            ));
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
        let current = w.brokers[*b as usize].epoch == w.log.leader_epoch;
        let faults = judge_reply(&w.log, &mut acked, r, current);
        let Some(fault) = faults.into_iter().find(wanted) else {
            continue;
        };
        let durable = |p| offset(w.log.durable_offset(p));
        return Some(match fault {
            ReplyFault::UndurableAssignment {
                generation,
                assignment,
            } => {
                let held = w
                    .log
                    .durable_group()
                    .map(|g| format!("generation {}", g.generation))
                    .unwrap_or_else(|| "no group metadata".into());
                format!("broker-{b} answered {c}'s SyncGroup with assignment {assignment} of generation {generation}, but the durable log holds {held}")
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

fn replay_differs(model: &GroupModel, w: &World) -> Option<String> {
    let b = w.brokers.iter().find(|b| {
        b.load == LoadState::Active && b.epoch == w.log.leader_epoch && b.pending.is_empty()
    })?;
    let expected = replay(model.cfg.partitions, &w.log.durable);
    let mut diffs = Vec::new();
    if b.group.generation != expected.generation {
        diffs.push(format!(
            "generation {} instead of {}",
            b.group.generation, expected.generation
        ));
    }
    if b.group.leader != expected.leader {
        let name = |m: Option<MemberId>| m.map_or("none".to_string(), |m| m.to_string());
        diffs.push(format!(
            "leader {} instead of {}",
            name(b.group.leader),
            name(expected.leader)
        ));
    }
    if b.group.assignments() != expected.members {
        diffs.push(format!(
            "members {} instead of {}",
            members_line(&b.group.assignments()),
            members_line(&expected.members)
        ));
    }
    if b.offsets != expected.offsets {
        diffs.push(format!(
            "offsets {} instead of {}",
            offsets_line(&b.offsets),
            offsets_line(&expected.offsets)
        ));
    }
    Some(format!(
        "broker-{} is {:?} with {}: replaying its durable log gives the latter",
        b.broker,
        b.group.state,
        diffs.join(", ")
    ))
}

/// Why a lasso violates liveness; `w` is the state where the cycle starts.
pub fn livelock(w: &World, cycle_len: usize) -> String {
    if cycle_len == 0 {
        format!(
            "no fair step is enabled any more and the group has not converged: {}",
            not_converged(w)
        )
    } else {
        format!(
            "the last {cycle_len} steps repeat forever (back to the same state up to the numbering of generations and member ids), every step that stays enabled is taken, and the group never converges: at the start of the cycle, {}",
            not_converged(w)
        )
    }
}

fn not_converged(w: &World) -> String {
    debug_assert!(!converged(w));
    let l = w.leader();
    if l.load != LoadState::Active || l.epoch != w.log.leader_epoch {
        return format!("broker-{} is not serving the group", l.broker);
    }
    if !l.pending.is_empty() {
        return format!("broker-{} still has writes pending", l.broker);
    }
    let g = &l.group;
    if !g.pending_members.is_empty() {
        return format!("broker-{} still awaits pending members", l.broker);
    }
    if g.state != GroupState::Stable {
        return format!(
            "the group is {:?} at generation {} on broker-{}",
            g.state, g.generation, l.broker
        );
    }
    let live: Vec<usize> = (0..w.consumers.len()).filter(|c| w.is_live(*c)).collect();
    for &c in &live {
        let consumer = &w.consumers[c];
        let member = consumer.member_id.and_then(|id| g.member(id));
        match member {
            None => return format!("consumer-{c} is not a member of the group"),
            Some(_)
                if consumer.phase != Phase::Stable || consumer.generation != Some(g.generation) =>
            {
                return format!(
                    "consumer-{c} is {:?} in generation {:?} while the group is at generation {}",
                    consumer.phase, consumer.generation, g.generation
                )
            }
            Some(m) if m.assignment != consumer.owned => {
                return format!(
                    "consumer-{c} owns {} but is assigned {}",
                    consumer.owned, m.assignment
                )
            }
            _ => {}
        }
    }
    if g.members.len() != live.len() {
        return format!(
            "the group has {} members for {} live consumers",
            g.members.len(),
            live.len()
        );
    }
    for p in 0..w.acked.len() as u8 {
        let owners = live
            .iter()
            .filter(|c| w.consumers[**c].owned.contains(p))
            .count();
        if owners != 1 {
            return format!("p{p} is owned by {owners} live consumers");
        }
    }
    "a consumer still has work in flight".into()
}
