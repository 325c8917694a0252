//! Scenarios played by the core's consumers ([`super::driven`]): a cooperative revocation
//! (KIP-429), where the leader's assignor and each member's claims keep a partition from
//! having two owners; a static member replaced by another process (KIP-345), in a stable group,
//! during a rebalance and while the group waits for its leader's assignment, where the
//! coordinator must fence the process that lost its instance; and a leader whose assignor
//! hangs, which the pending-sync timer must remove.

use super::driven::{Driven, Waiting};
use super::mirror::{Act, Step};
use super::scenario::{Class, Run};
use super::ProbeError;
use crate::consumer::{CommitGeneration, Send};
use crate::protocol::{Assignor, Assignors, InstanceId};
use std::time::{Duration, Instant};

/// Two cooperative-sticky members. A forms a generation alone, owns every partition, processes
/// and commits. B joins; A learns of the rebalance from its Heartbeat, commits, and rejoins
/// claiming what it owns, and, leading, assigns: the cooperative assignor gives B nothing yet
/// and leaves out what A must give up. A revokes it (commits first) and rejoins at once; B
/// learns of that rebalance from its Heartbeat and rejoins; A assigns the revoked partitions
/// to B. Judged: every answer against the core's (the leader must learn each member's claim),
/// and `single_owner` at every assignment.
pub(super) fn cooperative_revocation(run: &mut Run) -> Result<(), ProbeError> {
    revocation(run, CommitGeneration::Stable)
}

/// The same revocation with members that commit as librdkafka does, with the generation of
/// their JoinGroup answer: A processes while it rejoins, and once its JoinGroup is answered
/// commits that, with the new generation, before its SyncGroup goes out. The group is then
/// completing that generation, whose assignment nobody has: Kafka refuses the commit
/// (REBALANCE_IN_PROGRESS, KAFKA-8487) and A's SyncGroup follows.
pub(super) fn commit_before_sync(run: &mut Run) -> Result<(), ProbeError> {
    revocation(run, CommitGeneration::Joined)
}

fn revocation(run: &mut Run, commits: CommitGeneration) -> Result<(), ProbeError> {
    if run.broker.partitions < 2 {
        run.skip("a cooperative revocation needs a topic of at least two partitions");
        return Ok(());
    }
    run.mirror.set_commit_generation(commits);
    let cooperative = Assignors::one(Assignor::CooperativeSticky);
    let Some((mut a, waiting, join)) = b_joins_a_stable_group(run, cooperative, None)? else {
        return Ok(());
    };
    if !commits.is_stable() {
        run.act(&mut a, Act::Process);
    }
    let within = run.cfg.session_timeout / 2;
    // A's JoinGroup ends the join phase (B waits), and A, leading, assigns, revokes what it
    // lost, and is about to rejoin.
    let a_rejoin = run.send_now(&mut a, Some(join))?;
    let (mut b, next) = run.waited(waiting, &mut a)?;
    run.drive_alone(&mut b, next)?;
    let Some(rejoin) = a_rejoin.filter(|_| !run.deviated()) else {
        return close_both(run, &mut a, &mut b);
    };
    let waiting = run.send_waiting(a, rejoin)?;
    // B rejoins once its Heartbeat tells it, which ends the follow-up join phase.
    let next = run.beat_until_rebalance(&mut b, within)?;
    let join = run.drive(&mut b, next)?;
    let b_sync = run.send_now(&mut b, join)?;
    let (mut a, next) = run.waited(waiting, &mut b)?;
    run.drive_alone(&mut a, next)?;
    run.drive_alone(&mut b, b_sync)?;
    close_both(run, &mut a, &mut b)
}

/// A static member (instance 0) forms a generation alone, processes and commits. The same
/// instance starts in another process (a restart while the old one still runs): the broker
/// gives the instance's membership to the new member id without a rebalance (the group is
/// Stable), and the new process gets the same assignment. The old process goes on: its commit
/// must be fenced (FENCED_INSTANCE_ID), which tells it it has lost the instance.
pub(super) fn static_member_replaced(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let instance = Some(InstanceId(0));
    let Some(mut old) = formed_and_committed(run, "A", 0, eager, instance)? else {
        return Ok(());
    };
    let (mut new, first) = run.start("A2", 1, eager, instance)?;
    let rest = run.drive_alone(&mut new, first)?;
    // A broker that does not replace the member still gives the new process its assignment:
    // what the old process can then do is judged by the safety properties.
    run.drive_unjudged(&mut new, rest)?;
    if !new.consumer.is_stable() {
        return Ok(());
    }
    // The old process processes more and commits in its generation.
    run.act(&mut old, Act::Process);
    let commit = run.act(&mut old, Act::Commit);
    if run.deviated() {
        run.drive_unjudged(&mut old, commit)?;
    } else {
        run.drive(&mut old, commit)?;
    }
    // Told otherwise, the old process learns it from its Heartbeat.
    if !old.consumer.is_closed() && !run.deviated() {
        let beat = run.act(&mut old, Act::Heartbeat);
        run.drive(&mut old, beat)?;
    }
    run.close(&mut new)
}

/// As `static_member_replaced` until the new process has its assignment; then the group's
/// coordinator moves. The coordinator that loads the group must know the replacement: the old
/// process's commit in its generation is fenced (FENCED_INSTANCE_ID), and the new process's
/// Heartbeat answered NONE. A coordinator that answered the replacement before writing it
/// (KAFKA-10284) loads the old member id: it takes the old process's commit, and fences the
/// new one.
pub(super) fn static_replacement_survives_coordinator_move(
    run: &mut Run,
) -> Result<(), ProbeError> {
    if !run.can_move_coordinator() {
        return Ok(());
    }
    let eager = Assignors::one(Assignor::RoundRobin);
    let instance = Some(InstanceId(0));
    let Some(mut old) = formed_and_committed(run, "A", 0, eager, instance)? else {
        return Ok(());
    };
    let (mut new, first) = run.start("A2", 1, eager, instance)?;
    run.drive_alone(&mut new, first)?;
    if run.deviated() || !new.consumer.is_stable() {
        return Ok(());
    }
    run.move_coordinator("A2")?;
    // The old process goes on, as in `static_member_replaced`; its commit is retried while
    // the new coordinator loads, so it is answered by a coordinator that has loaded the group.
    run.act(&mut old, Act::Process);
    let commit = run.act(&mut old, Act::Commit);
    run.send_after_move(&mut old, commit)?;
    let beat = run.act(&mut new, Act::Heartbeat);
    run.send_after_move(&mut new, beat)?;
    run.close(&mut new)
}

/// A static member (instance 0) leads a generation alone; B joins, which begins a rebalance
/// (B's JoinGroup waits); A learns of it from its Heartbeat, and before A rejoins, the same
/// instance starts in another process, A2, whose JoinGroup (no member id) must take A's
/// place in the rebalance: the join phase ends at once, A2 and B members of the next
/// generation. Then the old process's rejoin must be fenced (FENCED_INSTANCE_ID). Judged:
/// every answer against the core's, and `static_instance_unique` on every member list (the
/// flaw static-replace-only-when-stable, KAFKA-8500, admits A2 beside A).
pub(super) fn static_member_restarts_during_rebalance(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let instance = Some(InstanceId(0));
    let Some((mut a, waiting_b, a_rejoin)) = b_joins_a_stable_group(run, eager, instance)? else {
        return Ok(());
    };
    // A holds its rejoin back.
    let within = run.cfg.session_timeout / 2;
    let (a2, join) = run.start("A2", 2, eager, instance)?;
    let Some(join) = join else {
        return Ok(());
    };
    let waiting_a2 = run.send_waiting(a2, join)?;
    run.grace(&waiting_a2, within);
    // The old process rejoins: its instance has a new member now.
    run.send_now(&mut a, Some(a_rejoin))?;
    if run.deviated() {
        return Ok(());
    }
    let (mut a2, next_a2) = run.waited(waiting_a2, &mut a)?;
    let (mut b, next_b) = run.waited(waiting_b, &mut a2)?;
    // The leader syncs first; then the follower, whose SyncGroup would have waited for it.
    let next_a2 = run.drive(&mut a2, next_a2)?;
    let next_b = run.drive(&mut b, next_b)?;
    run.drive_alone(&mut a2, next_a2)?;
    run.drive_alone(&mut b, next_b)?;
    run.close(&mut b)?;
    run.close(&mut a2)
}

/// A static member (instance 0) leads a generation alone; B joins; A's rejoin ends the join
/// phase, and the group waits for A's assignment (CompletingRebalance) when A's instance
/// starts in another process, A2. Its JoinGroup must take A's place and begin another
/// rebalance (the assignment A computed names A's old member id): A2's join waits, B's
/// SyncGroup is refused (REBALANCE_IN_PROGRESS) and B's rejoin ends the phase, A2 leading;
/// the old process's SyncGroup is fenced (FENCED_INSTANCE_ID). The flaw
/// static-join-in-completing (KAFKA-9801) answers A2 at once in the old generation.
pub(super) fn static_member_restarts_while_completing(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let instance = Some(InstanceId(0));
    let Some((mut a, waiting_b, a_rejoin)) = b_joins_a_stable_group(run, eager, instance)? else {
        return Ok(());
    };
    // A's rejoin ends the join phase; A, leading, holds its assignment back.
    let Some(a_sync) = run.exchange(&mut a, a_rejoin)?.filter(|_| !run.deviated()) else {
        return Ok(());
    };
    let (mut b, b_sync) = run.waited(waiting_b, &mut a)?;
    let Some(b_sync) = b_sync.filter(|_| !run.deviated()) else {
        return Ok(());
    };
    let (a2, join) = run.start("A2", 2, eager, instance)?;
    let Some(join) = join else {
        return Ok(());
    };
    let waiting_a2 = run.send_waiting(a2, join)?;
    run.grace(&waiting_a2, run.cfg.session_timeout / 2);
    if waiting_a2.is_answered() {
        // Answered before any rebalance could end: judged against the core, which waits.
        run.waited(waiting_a2, &mut b)?;
        return Ok(());
    }
    // B's SyncGroup is refused; B rejoins, which ends the join phase A2 waits in.
    let b_join = run.send_now(&mut b, Some(b_sync))?;
    let b_next = run.send_now(&mut b, b_join)?;
    let (mut a2, a2_next) = run.waited(waiting_a2, &mut b)?;
    // The old process's assignment goes out at last.
    run.exchange(&mut a, a_sync)?;
    run.drive_alone(&mut a2, a2_next)?;
    run.drive_alone(&mut b, b_next)?;
    run.close(&mut b)?;
    run.close(&mut a2)
}

/// A forms a generation alone; B joins; A rejoins, which forms the next generation with both,
/// A leading, and then A's assignor hangs: its SyncGroup never goes out, while its heartbeat
/// thread keeps its session alive (KAFKA-12890). B's SyncGroup waits for the assignment. Kafka
/// removes a member that has not synced within the rebalance timeout (the pending-sync timer),
/// so B's SyncGroup must be answered REBALANCE_IN_PROGRESS, and B's rejoin forms a generation
/// alone. Without that timer the group is stuck (the flaw no-pending-sync-timeout;
/// `convergence`): B's SyncGroup unanswered after twice the rebalance timeout and five seconds
/// more is a deviation.
pub(super) fn leader_stalls_before_sync(run: &mut Run) -> Result<(), ProbeError> {
    let Some((mut a, waiting)) = leader_hangs_while_b_syncs(run)? else {
        return Ok(());
    };
    // The probe asks for a rebalance timeout as long as the session.
    let bound = run.cfg.session_timeout * 2 + Duration::from_secs(5);
    let deadline = Instant::now() + bound;
    let mut timer = Some(Step::PendingSyncTimeout);
    let mut beat = Instant::now();
    while !waiting.is_answered() && Instant::now() < deadline {
        if beat.elapsed() >= run.cfg.session_timeout / 3 {
            run.keep_alive(&mut a, &mut timer)?;
            beat = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if !waiting.is_answered() {
        run.saw(
            "B",
            format!("(its SyncGroup unanswered after {} ms)", bound.as_millis()),
            String::new(),
        );
        run.found(
            Class::Deviation,
            "SyncGroup: a member that does not send its SyncGroup within the rebalance timeout is removed, and the others' SyncGroup answered REBALANCE_IN_PROGRESS (convergence)",
            format!(
                "no answer within {} ms: the group waits for its leader's assignment forever",
                bound.as_millis()
            ),
            Some("REBALANCE_IN_PROGRESS".into()),
        );
        return Ok(());
    }
    run.fire(&mut timer);
    let (mut b, next) = run.waited(waiting, &mut a)?;
    // B rejoins and forms a generation alone.
    run.drive_alone(&mut b, next)?;
    run.close(&mut b)
}

/// A forms a generation alone; B joins; A's rejoin forms the next generation with both, A
/// leading, and then B hangs after its JoinGroup answer: its SyncGroup never goes out, while
/// its heartbeat thread keeps its session alive. A's SyncGroup makes the group Stable with a
/// member that never takes its assignment. Kafka's pending-sync timer runs on in Stable
/// (`onExpirePendingSync`): once the rebalance timeout passes without B's SyncGroup, B is
/// removed, A's next Heartbeat is answered REBALANCE_IN_PROGRESS, and A's rejoin forms a
/// generation alone. A group still Stable with B after twice the rebalance timeout and five
/// seconds more is a deviation (`convergence`: B's partitions are processed by nobody).
pub(super) fn follower_stalls_before_sync(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let Some((mut a, waiting, rejoin)) = b_joins_a_stable_group(run, eager, None)? else {
        return Ok(());
    };
    let Some(a_sync) = run.exchange(&mut a, rejoin)?.filter(|_| !run.deviated()) else {
        return Ok(());
    };
    let (mut b, _) = run.waited(waiting, &mut a)?;
    if run.deviated() {
        return Ok(());
    }
    run.act(&mut b, Act::Stall);
    if run.drive_alone(&mut a, Some(a_sync))?.is_some() || run.deviated() {
        return Ok(());
    }
    // Both heartbeat every third of a session (B's heartbeat thread goes on), until the broker
    // answers one other than NONE: the timer has fired there.
    let bound = run.cfg.session_timeout * 2 + Duration::from_secs(5);
    let deadline = Instant::now() + bound;
    let mut timer = Some(Step::PendingSyncTimeout);
    let mut next = None;
    while timer.is_some() && Instant::now() < deadline {
        std::thread::sleep(run.cfg.session_timeout / 3);
        let Some(beat) = run.act(&mut a, Act::Heartbeat) else {
            break;
        };
        next = run.exchange_timed(&mut a, beat, &mut timer)?;
        if run.deviated() {
            return Ok(());
        }
        run.keep_alive(&mut b, &mut timer)?;
    }
    if timer.is_some() {
        run.found(
            Class::Deviation,
            "Heartbeat: a member that does not send its SyncGroup within the rebalance timeout is removed, also from a Stable group, and the others' Heartbeat answered REBALANCE_IN_PROGRESS (convergence)",
            format!(
                "every Heartbeat answered NONE for {} ms: the group keeps a member that never took its assignment",
                bound.as_millis()
            ),
            Some("REBALANCE_IN_PROGRESS".into()),
        );
        return Ok(());
    }
    // A rejoins and forms a generation alone.
    let next = match next {
        Some(next) => Some(next),
        None => run.beat_until_rebalance(&mut a, run.cfg.session_timeout)?,
    };
    run.drive_alone(&mut a, next)?;
    run.close(&mut a)
}

/// Member `k` starts as the core's consumer, forms a generation alone, processes and commits;
/// `None` when the broker refused a step (the deviation is found).
pub(super) fn formed_and_committed(
    run: &mut Run,
    name: &str,
    k: usize,
    assignors: Assignors,
    instance: Option<InstanceId>,
) -> Result<Option<Driven>, ProbeError> {
    let (mut d, first) = run.start(name, k, assignors, instance)?;
    run.drive_alone(&mut d, first)?;
    if run.deviated() || !d.consumer.is_stable() {
        return Ok(None);
    }
    run.act(&mut d, Act::Process);
    let commit = run.act(&mut d, Act::Commit);
    run.drive_alone(&mut d, commit)?;
    Ok((!run.deviated()).then_some(d))
}

/// A (the core's consumer with `assignors`, static with `instance`) leads a generation alone
/// and commits; B (dynamic) gets its member id and sends its JoinGroup, which waits; A's
/// Heartbeat tells it of the rebalance, and A commits what it had not. A, B's waiting join, and
/// A's rejoin, unsent; `None` once an answer deviated.
pub(super) fn b_joins_a_stable_group(
    run: &mut Run,
    assignors: Assignors,
    instance: Option<InstanceId>,
) -> Result<Option<(Driven, Waiting, Send)>, ProbeError> {
    let Some(mut a) = formed_and_committed(run, "A", 0, assignors, instance)? else {
        return Ok(None);
    };
    let (mut b, first) = run.start("B", 1, assignors, None)?;
    let Some(join) = run.drive(&mut b, first)? else {
        run.close(&mut a)?;
        return Ok(None);
    };
    let waiting = run.send_waiting(b, join)?;
    let within = run.cfg.session_timeout / 2;
    let next = run.beat_until_rebalance(&mut a, within)?;
    let rejoin = run.drive(&mut a, next)?;
    Ok(rejoin.filter(|_| !run.deviated()).map(|r| (a, waiting, r)))
}

/// B joins A's stable group (eager members); A's rejoin ends the join phase, A leading both,
/// and then A's assignor hangs: its SyncGroup never goes out, while B's goes out on a thread
/// of its own and waits for it (the core taking it at once). A, and B's waiting SyncGroup;
/// `None` once an answer deviated.
pub(super) fn leader_hangs_while_b_syncs(
    run: &mut Run,
) -> Result<Option<(Driven, Waiting)>, ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let Some((mut a, waiting, rejoin)) = b_joins_a_stable_group(run, eager, None)? else {
        return Ok(None);
    };
    if run.exchange(&mut a, rejoin)?.is_none() || run.deviated() {
        return Ok(None);
    }
    run.act(&mut a, Act::Stall);
    let (b, sync) = run.waited(waiting, &mut a)?;
    let Some(sync) = sync.filter(|_| !run.deviated()) else {
        return Ok(None);
    };
    let waiting = run.send_waiting(b, sync)?;
    Ok(Some((a, waiting)))
}

fn close_both(run: &mut Run, a: &mut Driven, b: &mut Driven) -> Result<(), ProbeError> {
    run.close(b)?;
    run.close(a)
}
