//! Scenarios with two members whose requests race: a JoinGroup waits for the other members,
//! so it is sent on a thread of its own while the scenario goes on with the other member.

use super::scenario::{JoinInBackground, Run};
use super::ProbeError;
use crate::property::Property;
use crate::protocol::ErrorCode;
use crate::wire::member::WireMember;

/// A forms a generation alone and syncs; B joins, which starts a rebalance (B's JoinGroup
/// waits for A); A learns of it from its Heartbeat and commits p0@1 while the group prepares
/// the rebalance; A rejoins, which ends the join phase; B commits p0@2 before the new
/// generation's assignment is given (CompletingRebalance); A assigns, both sync; p0 is fetched.
pub(super) fn commit_during_rebalance(run: &mut Run) -> Result<(), ProbeError> {
    let Some((mut a, mut pending)) = b_joins_a_stable_group(run)? else {
        return Ok(());
    };
    // A learns of the rebalance from its Heartbeat, as a client does.
    let within = run.cfg.session_timeout / 2;
    run.heartbeat_until_rebalance("A", 0, &mut a, &mut pending, within)?;
    let acked = (run.commit("A", 0, &mut a, 1)? == 0).then_some(1);
    let ja = run.join("A", 0, &mut a)?;
    let (mut b, jb) = run.join_completed(pending, ("A", 0, &mut a))?;
    if run.deviated() || ja.error != 0 || jb.error != 0 {
        run.leave_unjudged("A", &mut a)?;
        return run.leave_unjudged("B", &mut b);
    }
    // The new generation is formed and its assignment not yet given.
    run.commit("B", 1, &mut b, 2)?;
    // The leader syncs first: a follower's SyncGroup waits for the leader's assignment.
    let a_leads = ja.leader == a.id;
    let mut synced = true;
    for a_turn in [a_leads, !a_leads] {
        let e = match a_turn {
            true => run.sync("A", 0, &mut a, &ja)?,
            false => run.sync("B", 1, &mut b, &jb)?,
        };
        synced = e == 0;
        if !synced {
            break;
        }
    }
    if synced && a.generation == b.generation {
        let shared: Vec<i32> = a
            .partitions
            .iter()
            .filter(|p| b.partitions.contains(p))
            .copied()
            .collect();
        if !shared.is_empty() {
            run.broke(
                Property::SingleOwner,
                format!(
                    "partitions {shared:?} given to both {} and {} in generation {}",
                    a.id, b.id, a.generation
                ),
            );
        }
    }
    if run.deviated() {
        run.leave_unjudged("A", &mut a)?;
        return run.leave_unjudged("B", &mut b);
    }
    run.fetch_judged("A", 0, &mut a, acked, None)?;
    run.leave("B", 1, &mut b)?;
    run.leave("A", 0, &mut a)
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
