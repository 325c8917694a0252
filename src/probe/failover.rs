//! Scenarios across a move of the group's coordinator (`--move-coordinator`), played by the
//! core's consumers ([`super::driven`]): what the old coordinator acknowledged, the new one
//! must know. Each request after the move follows the coordinator as a client does
//! (NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS are not judged).

use super::consumers::formed_and_committed;
use super::mirror::Act;
use super::scenario::Run;
use super::ProbeError;
use crate::protocol::{Assignor, Assignors};

/// A forms a generation alone and gets its assignment; the group's coordinator moves. A's
/// Heartbeat (which a coordinator still loading answers NONE blindly), then its commit, go to
/// the new coordinator, which must know the generation the old one acknowledged
/// (`durable_before_ack`). A member told otherwise rejoins, and the generation it joins must
/// be newer than the one acknowledged (`generation_monotonic`).
pub(super) fn assignment_survives_coordinator_move(run: &mut Run) -> Result<(), ProbeError> {
    if !run.can_move_coordinator() {
        return Ok(());
    }
    let eager = Assignors::one(Assignor::RoundRobin);
    let (mut a, first) = run.start("A", 0, eager, None)?;
    run.drive_alone(&mut a, first)?;
    if run.deviated() || !a.consumer.is_stable() {
        return Ok(());
    }
    run.move_coordinator("A")?;
    let beat = run.act(&mut a, Act::Heartbeat);
    let mut next = run.send_after_move(&mut a, beat)?;
    if next.is_none() && !run.deviated() {
        run.act(&mut a, Act::Process);
        let commit = run.act(&mut a, Act::Commit);
        next = run.send_after_move(&mut a, commit)?;
    }
    if run.deviated() {
        // Fenced where Kafka knows the member: it starts over as the consumer does, judged by
        // the safety properties alone.
        return run.drive_unjudged(&mut a, next);
    }
    run.drive_alone(&mut a, next)?;
    run.close(&mut a)
}

/// A forms a generation alone, processes and commits, which is acknowledged; the group's
/// coordinator moves. At once A asks the new coordinator for its committed offsets, which
/// must be those acknowledged (`no_lost_commit`; while it loads the group, a coordinator
/// answers COORDINATOR_LOAD_IN_PROGRESS, never an offset it has not loaded); then its
/// Heartbeat.
pub(super) fn offsets_survive_coordinator_move(run: &mut Run) -> Result<(), ProbeError> {
    if !run.can_move_coordinator() {
        return Ok(());
    }
    let eager = Assignors::one(Assignor::RoundRobin);
    let Some(mut a) = formed_and_committed(run, "A", 0, eager, None)? else {
        return Ok(());
    };
    run.move_coordinator("A")?;
    let fetch = run.act(&mut a, Act::Committed);
    run.send_after_move(&mut a, fetch)?;
    let beat = run.act(&mut a, Act::Heartbeat);
    run.send_after_move(&mut a, beat)?;
    run.close(&mut a)
}
