//! Scenarios about fencing, played by the core's consumers ([`super::driven`]): a member
//! whose session expired commits as if nothing happened (a zombie), a member's commit, or
//! its leader's SyncGroup, from a generation it has left arrives late, and a member the group
//! knows only as pending leaves. The broker must refuse the first ones and not the last;
//! every answer is judged against the core's, and commits by `no_zombie_commit` on the
//! broker's own answers ([`super::observed`]).

use super::consumers::{b_joins_a_stable_group, formed_and_committed};
use super::mirror::Act;
use super::scenario::Run;
use super::ProbeError;
use crate::protocol::{Assignor, Assignors};

/// A forms a generation alone, processes and commits, then falls silent past its session. B
/// starts and forms a newer generation without it. Back from its pause, A processes and
/// commits in its old generation, before its heartbeat thread could tell it anything: the
/// broker must fence it (UNKNOWN_MEMBER_ID). B then asks for the committed offsets, which
/// must be A's acknowledged ones.
pub(super) fn zombie_commit_after_expiry(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let Some(mut a) = formed_and_committed(run, "A", 0, eager, None)? else {
        return Ok(());
    };
    run.fall_silent("A", 0);
    let (mut b, first) = run.start("B", 1, eager, None)?;
    run.drive_alone(&mut b, first)?;
    if run.deviated() || !b.consumer.is_stable() {
        return Ok(());
    }
    run.act(&mut a, Act::Process);
    let Some(commit) = run.act(&mut a, Act::Commit) else {
        return Ok(());
    };
    // A's next request, its rejoin once fenced, is not sent: the zombie is done with.
    run.exchange(&mut a, commit)?;
    let fetch = run.act(&mut b, Act::Committed);
    run.drive_alone(&mut b, fetch)?;
    run.close(&mut b)
}

/// A forms a generation alone, processes and commits. It processes more and commits, and that
/// commit times out while still in the network: A gives up on it and carries on. B joins;
/// A, told of the rebalance by its Heartbeat, commits again, revokes and rejoins, and the
/// next generation forms with both. Then the commit A gave up on arrives, from the
/// generation A has left: the broker must fence it (ILLEGAL_GENERATION).
pub(super) fn stale_generation(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let Some(mut a) = formed_and_committed(run, "A", 0, eager, None)? else {
        return Ok(());
    };
    run.act(&mut a, Act::Process);
    let Some(stale) = run.act(&mut a, Act::Commit) else {
        return Ok(());
    };
    run.abandon(&mut a, &stale);
    let (mut b, first) = run.start("B", 1, eager, None)?;
    let Some(join) = run.drive(&mut b, first)? else {
        return run.close(&mut a);
    };
    let waiting = run.send_waiting(b, join)?;
    let next = run.beat_until_rebalance(&mut a, run.cfg.session_timeout / 2)?;
    let rejoin = run.drive(&mut a, next)?;
    run.send_now(&mut a, rejoin)?;
    let (mut b, next) = run.waited(waiting, &mut a)?;
    run.drive_alone(&mut b, next)?;
    if run.deviated() {
        return Ok(());
    }
    run.late(a.k, &a.name.clone(), &stale.request)?;
    run.close(&mut b)?;
    run.close(&mut a)
}

/// KIP-394's pending member, leaving: A's first JoinGroup is answered MEMBER_ID_REQUIRED, and
/// its second, with that member id, times out while still in the network; A gives up on it
/// and closes, as the Java client's `close()` does in the middle of a join: its LeaveGroup
/// speaks for a member the group knows only as pending, which the broker must remove (NONE),
/// not call unknown (`member_not_fenced`). Then the JoinGroup A gave up on arrives: its member
/// id is forgotten, so it must be refused (UNKNOWN_MEMBER_ID), not make a member that nobody
/// runs.
pub(super) fn pending_member_leaves(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let (mut a, first) = run.start("A", 0, eager, None)?;
    let Some(first) = first else { return Ok(()) };
    let Some(second) = run.exchange(&mut a, first)?.filter(|_| !run.deviated()) else {
        return Ok(());
    };
    // A's retry is never sent: A closes instead.
    run.abandon(&mut a, &second);
    run.close(&mut a)?;
    if run.deviated() {
        return Ok(());
    }
    run.late(a.k, &a.name.clone(), &second.request)
}

/// B joins A's stable group, and A's rejoin ends the join phase, A leading both. A's
/// SyncGroup, with the generation's assignment, times out while still in the network: A gives
/// up on it and rejoins, as the Java client does. A rejoin with unchanged metadata during
/// CompletingRebalance is answered with the same generation: A leads it again and syncs,
/// which answers B's waiting SyncGroup. B then closes, and A forms the next generation alone.
/// Then the SyncGroup A gave up on arrives, from the generation that ended: the broker must
/// refuse it (ILLEGAL_GENERATION); taken, it would install an old generation's assignment.
pub(super) fn stale_leader_sync(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let Some((mut a, waiting, rejoin)) = b_joins_a_stable_group(run, eager, None)? else {
        return Ok(());
    };
    let Some(stale) = run.exchange(&mut a, rejoin)?.filter(|_| !run.deviated()) else {
        return run.close(&mut a);
    };
    let rejoin = run.abandon(&mut a, &stale);
    let (b, sync) = run.waited(waiting, &mut a)?;
    let Some(sync) = sync.filter(|_| !run.deviated()) else {
        return Ok(());
    };
    let syncing = run.send_waiting(b, sync)?;
    run.grace(&syncing, run.cfg.session_timeout / 10);
    run.drive_alone(&mut a, rejoin)?;
    let (mut b, next) = run.collect(syncing)?;
    run.drive_alone(&mut b, next)?;
    if run.deviated() {
        return Ok(());
    }
    run.close(&mut b)?;
    // A's heartbeat tells it of the rebalance B's leave began; it forms the next generation.
    let beat = run.act(&mut a, Act::Heartbeat);
    run.drive_alone(&mut a, beat)?;
    if run.deviated() || !a.consumer.is_stable() {
        return Ok(());
    }
    run.late(a.k, &a.name.clone(), &stale.request)?;
    run.close(&mut a)
}
