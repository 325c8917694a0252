//! Scenarios with two members whose requests race: a JoinGroup waits for the other members,
//! so it is sent on a thread of its own while the scenario goes on with the other member.
//!
//! The leave while the group completes a rebalance is still played by a scripted member
//! ([`WireMember`]): the core's consumer, like the Java client, has its SyncGroup out by then,
//! and a broker reads the LeaveGroup queued behind it only once that is answered.

use super::consumers::formed_and_committed;
use super::mirror::Act;
use super::scenario::{JoinInBackground, Run};
use super::ProbeError;
use crate::protocol::{Assignor, Assignors, ErrorCode};
use crate::wire::member::WireMember;

/// Played by the core's consumers: A forms a generation alone, processes and commits; B
/// joins, which begins a rebalance (B's JoinGroup waits for A); A processes more, learns of
/// the rebalance from its Heartbeat, and commits what it processed while the group prepares
/// the rebalance (Kafka accepts it: A is still a member of its generation); A revokes and
/// rejoins, which ends the join phase; both sync and fetch their partitions' offsets. Judged:
/// every answer against the core's, `single_owner` at every assignment, and the offsets
/// served against those acknowledged.
pub(super) fn commit_during_rebalance(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let Some(mut a) = formed_and_committed(run, "A", 0, eager, None)? else {
        return Ok(());
    };
    let (mut b, first) = run.start("B", 1, eager, None)?;
    let Some(join) = run.drive(&mut b, first)? else {
        return run.close(&mut a);
    };
    let mut waiting = run.send_waiting(b, join);
    run.act(&mut a, Act::Process);
    let next = run.beat_until_rebalance(&mut a, &mut waiting, run.cfg.session_timeout / 2)?;
    // The commit of onJoinPrepare, then the rejoin, which ends the join phase.
    let rejoin = run.drive(&mut a, next)?;
    let a_next = run.send_now(&mut a, rejoin)?;
    let (mut b, b_next) = run.waited(waiting, &mut a)?;
    run.drive_alone(&mut a, a_next)?;
    run.drive_alone(&mut b, b_next)?;
    run.close(&mut b)?;
    run.close(&mut a)
}

/// A forms a generation alone and syncs; B gets its member id and sends its JoinGroup in the
/// background, where it waits for A. `None` once a step was refused (the deviation is found).
fn b_joins_a_stable_group(
    run: &mut Run,
) -> Result<Option<(WireMember, JoinInBackground)>, ProbeError> {
    let mut a = run.member("a")?;
    let j = run.join("A", 0, &mut a)?;
    if j.error != 0 || run.sync("A", 0, &mut a, &j)? != 0 {
        return Ok(None);
    }
    let mut b = run.member("b")?;
    if run.member_id("B", 1, &mut b)?.error != ErrorCode::MemberIdRequired.code() {
        // A broker without KIP-394 answers the join itself.
        run.leave_unjudged("A", &mut a)?;
        return Ok(None);
    }
    Ok(Some((a, run.join_in_background("B", 1, b))))
}

/// B joins A's stable group and the next generation forms with both; before any SyncGroup
/// (CompletingRebalance) B leaves. The leave begins another rebalance: A's SyncGroup of the
/// abandoned generation is refused (REBALANCE_IN_PROGRESS), and A's rejoin forms the next
/// generation with A alone, which A leads and syncs.
pub(super) fn leave_during_completing_rebalance(run: &mut Run) -> Result<(), ProbeError> {
    let Some((mut a, mut pending)) = b_joins_a_stable_group(run)? else {
        return Ok(());
    };
    let within = run.cfg.session_timeout / 2;
    run.heartbeat_until_rebalance("A", 0, &mut a, &mut pending, within)?;
    let ja = run.join("A", 0, &mut a)?;
    let (mut b, jb) = run.join_completed(pending, ("A", 0, &mut a))?;
    if run.deviated() || ja.error != 0 || jb.error != 0 {
        run.leave_unjudged("A", &mut a)?;
        return run.leave_unjudged("B", &mut b);
    }
    run.leave("B", 1, &mut b)?;
    run.sync("A", 0, &mut a, &ja)?;
    if run.deviated() {
        return run.leave_unjudged("A", &mut a);
    }
    let j = run.join("A", 0, &mut a)?;
    if j.error == 0 {
        run.sync("A", 0, &mut a, &j)?;
    }
    if run.deviated() {
        return run.leave_unjudged("A", &mut a);
    }
    run.leave("A", 0, &mut a)
}
