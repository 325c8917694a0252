//! Scenarios with two members whose requests race: a JoinGroup waits for the other members,
//! so it is sent on a thread of its own while the scenario goes on with the other member.

use super::consumers::{formed_and_committed, leader_hangs_while_b_syncs};
use super::mirror::Act;
use super::scenario::Run;
use super::ProbeError;
use crate::protocol::{Assignor, Assignors};

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
    let waiting = run.send_waiting(b, join)?;
    run.act(&mut a, Act::Process);
    let next = run.beat_until_rebalance(&mut a, run.cfg.session_timeout / 2)?;
    // The commit of onJoinPrepare, then the rejoin, which ends the join phase.
    let rejoin = run.drive(&mut a, next)?;
    let a_next = run.send_now(&mut a, rejoin)?;
    let (mut b, b_next) = run.waited(waiting, &mut a)?;
    run.drive_alone(&mut a, a_next)?;
    run.drive_alone(&mut b, b_next)?;
    run.close(&mut b)?;
    run.close(&mut a)
}

/// Played by the core's consumers: B joins A's stable group, and A's rejoin ends the join
/// phase, A leading. A's assignor then fails (its SyncGroup never goes out) and the
/// application closes A, whose LeaveGroup reaches the broker while the group waits for the
/// leader's assignment (CompletingRebalance) and B's SyncGroup waits with it. The leave
/// begins another rebalance: B's SyncGroup is answered REBALANCE_IN_PROGRESS, and B's rejoin
/// forms the next generation alone, which B leads and syncs.
pub(super) fn leave_during_completing_rebalance(run: &mut Run) -> Result<(), ProbeError> {
    let Some((mut a, waiting)) = leader_hangs_while_b_syncs(run)? else {
        return Ok(());
    };
    run.grace(&waiting, run.cfg.session_timeout / 10);
    let leave = run.act(&mut a, Act::Close);
    run.drive_alone(&mut a, leave)?;
    let (mut b, next) = run.waited(waiting, &mut a)?;
    run.drive_alone(&mut b, next)?;
    run.close(&mut b)
}
