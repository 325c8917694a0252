//! Seeded random walks: a member takes the model's own actions in an order a seed chooses —
//! JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup, falling silent past
//! its session, a request from an older generation, a coordinator move (with
//! `--move-coordinator`) — and every answer is judged as in the scenarios: against the core
//! taking the same step ([`super::mirror`]), and for safety on the broker's own answers.
//!
//! One member, its requests one at a time: the core then takes them in the one order the
//! broker saw, so its answer is the answer (walks of racing members need the judgement over
//! every order the core allows, which is not there yet). A walk ends at its first deviation:
//! from there the broker is in a state the core cannot reach, and judging its later answers
//! against the core's would only repeat the first difference. The same seed makes the same
//! choices from the same answers.

use super::scenario::Run;
use super::ProbeError;
use crate::property::Property;
use crate::protocol::{ErrorCode, Generation};
use crate::runtime::live::Rng;
use crate::wire::member::{Joined, WireMember};

pub const ABOUT: &str = "a seeded random walk of one member through the model's actions (JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup, silence past its session, a request from an older generation, a coordinator move), each answer judged against the core's and, for safety, against the broker's own earlier answers";

/// Steps of a walk; at most one silence past the session each, to bound its time.
pub const STEPS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Join,
    Sync,
    Heartbeat,
    Commit,
    Fetch,
    Leave,
    Silence,
    Stale,
    Move,
}

/// What the walk has seen of the broker so far.
#[derive(Default)]
struct Seen {
    /// The join answer of the member's current generation, until it has synced.
    joined: Option<Joined>,
    /// The newest generation whose assignment the broker acknowledged (SyncGroup NONE), with
    /// the member's id in it: a coordinator may lose a generation it formed but never made
    /// durable, not this one.
    acknowledged: Option<(i32, String)>,
    /// An older generation of the member: the broker's number, and the core's.
    older: Option<(i32, Generation)>,
    /// The offset of p0 the broker last acknowledged.
    acked: Option<u32>,
    next_offset: u32,
    silent: bool,
}

/// Plays `STEPS` actions chosen by `seed`, then the member leaves.
pub fn walk(run: &mut Run, seed: u64) -> Result<(), ProbeError> {
    // Xorshift needs a state other than 0; distinct seeds give distinct states.
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut a = run.member("a")?;
    let mut seen = Seen {
        next_offset: 1,
        ..Seen::default()
    };
    for _ in 0..STEPS {
        let has_id = !a.id.is_empty();
        let mut acts = vec![Act::Join, Act::Fetch];
        if has_id {
            acts.extend([Act::Heartbeat, Act::Commit, Act::Leave]);
            if !seen.silent {
                acts.push(Act::Silence);
            }
            if seen.older.is_some() {
                acts.push(Act::Stale);
            }
            if run.cfg.move_coordinator.is_some() {
                acts.push(Act::Move);
            }
        }
        if seen.joined.is_some() {
            acts.push(Act::Sync);
        }
        let act = acts[rng.below(acts.len() as u64) as usize];
        step(run, &mut a, &mut seen, act, &mut rng)?;
        if run.deviated() {
            // The broker is now in a state the core cannot reach: later answers would be
            // judged against the wrong state. The walk ends at its first deviation.
            break;
        }
    }
    if run.deviated() {
        run.leave_unjudged("A", &mut a)
    } else if !a.id.is_empty() {
        run.leave("A", 0, &mut a)
    } else {
        Ok(())
    }
}

fn step(
    run: &mut Run,
    a: &mut WireMember,
    seen: &mut Seen,
    act: Act,
    rng: &mut Rng,
) -> Result<(), ProbeError> {
    let fenced = [ErrorCode::UnknownMemberId, ErrorCode::IllegalGeneration].map(|e| e.code());
    let e = match act {
        Act::Join => {
            let before = (a.generation, run.mirror.generation(0));
            let j = run.join("A", 0, a)?;
            if j.error == 0 {
                // The same number for the same member is the same generation (no rebalance,
                // which `join` judges); for another member it is another generation.
                let went_back = |(n, id): &(i32, String)| {
                    j.generation < *n || (j.generation == *n && j.member_id != *id)
                };
                if let Some((n, _)) = seen.acknowledged.as_ref().filter(|a| went_back(a)) {
                    run.broke(Property::GenerationMonotonic, format!(
                            "generation {} formed for {} after the broker had acknowledged generation {n}",
                            j.generation, j.member_id
                        ));
                }
                if before.0 >= 0 && j.generation != before.0 {
                    seen.older = Some(before);
                }
                seen.joined = Some(j.clone());
            }
            j.error
        }
        Act::Sync => {
            let j = seen.joined.take().expect("enabled after a join");
            let e = run.sync("A", 0, a, &j)?;
            if e == 0
                && seen
                    .acknowledged
                    .as_ref()
                    .is_none_or(|(n, _)| a.generation > *n)
            {
                seen.acknowledged = Some((a.generation, a.id.clone()));
            }
            e
        }
        Act::Heartbeat => run.heartbeat("A", 0, a)?,
        Act::Commit => commit(run, a, seen)?,
        Act::Fetch => {
            run.fetch_judged("A", 0, a, seen.acked, None)?;
            0
        }
        Act::Leave => {
            run.leave("A", 0, a)?;
            forget(run, a, seen);
            0
        }
        Act::Silence => {
            run.fall_silent("A", 0);
            seen.silent = true;
            0
        }
        Act::Stale => {
            let (broker, core) = seen.older.expect("enabled with an older generation");
            let (now, now_core) = (a.generation, run.mirror.generation(0));
            a.generation = broker;
            run.mirror.set_generation(0, core);
            if rng.below(2) == 0 {
                run.heartbeat("A", 0, a)?;
            } else if commit(run, a, seen)? == 0 {
                if let Some((n, _)) = seen.acknowledged.as_ref().filter(|(n, _)| *n > broker) {
                    run.broke(Property::NoZombieCommit, format!(
                            "the broker accepted a commit in generation {broker} after it had acknowledged generation {n}"
                        ));
                }
            }
            a.generation = now;
            run.mirror.set_generation(0, now_core);
            // A fenced stale request says nothing about the member's current generation.
            return Ok(());
        }
        Act::Move => {
            run.move_coordinator("A")?;
            let within = run.cfg.session_timeout / 2;
            let e = run.heartbeat_after_move("A", 0, a, within)?;
            run.await_loaded("A", a)?;
            e
        }
    };
    if e == ErrorCode::UnknownMemberId.code() {
        // As a client does: it joins again as a new member.
        forget(run, a, seen);
    } else if fenced.contains(&e) || e == ErrorCode::RebalanceInProgress.code() {
        seen.joined = None;
    }
    Ok(())
}

/// OffsetCommit of p0 at the next offset; an acknowledged one is what OffsetFetch must serve.
fn commit(run: &mut Run, a: &mut WireMember, seen: &mut Seen) -> Result<i16, ProbeError> {
    let offset = seen.next_offset;
    seen.next_offset += 1;
    let e = run.commit("A", 0, a, offset)?;
    if e == 0 {
        seen.acked = Some(offset);
    }
    Ok(e)
}

/// The member forgets its id and generation, on the broker's side and the core's.
fn forget(run: &mut Run, a: &mut WireMember, seen: &mut Seen) {
    a.id.clear();
    a.generation = -1;
    run.mirror.forget(0);
    seen.joined = None;
    seen.older = None;
}
