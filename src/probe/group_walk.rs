//! Seeded random walks of a group: several members, each the core's consumer
//! ([`super::driven`]) beside its twin on the core's side, take the model's own actions in an
//! order a seed chooses — processing and committing, heartbeating, closing (and a new process
//! starting in its place), falling silent past the session — while the protocol's own steps
//! follow as a client's do: a request the consumer makes goes out at once, and a member's
//! heartbeat thread heartbeats every third of its session. Every answer is judged against the
//! core's, and `single_owner` on every assignment, as in the scenarios played by the core's
//! consumers.
//!
//! **Racing requests.** A request that can wait for other members (a JoinGroup, a follower's
//! SyncGroup) goes out on a thread of its own, the core taking it at once; the walk then gives
//! the broker up to a tenth of the session to answer or hold it before any other request goes
//! out, so the broker reads the requests in the order the core takes them (a timing
//! assumption, on loopback). A member's silence is its session's expiry on the core's side,
//! taken once its session is over on the broker, just before another member's answer that
//! may show it (a Heartbeat answered other than NONE, a waiting request answered), or at the
//! silence's end. A member falls silent only while no request waits: a member new to the
//! group that waited in a join phase for the silent one could expire first (the core expires
//! a new member that waits longer than its session), a timer the walk does not follow. A walk ends at its first deviation; its members are then left to the
//! broker's session timeouts. The same seed makes the same choices from the same answers.

use super::driven::{Driven, Waiting};
use super::mirror::{Act, Step};
use super::scenario::Run;
use super::ProbeError;
use crate::consumer::Send;
use crate::property::Property;
use crate::protocol::{Assignor, Assignors, ErrorCode, Generation, MemberId, Response};
use crate::runtime::live::Rng;
use std::time::{Duration, Instant};

pub const ABOUT: &str = "a seeded random walk of a group of two members, each the core's consumer (processing and committing, heartbeating, closing and a new process starting in its place, falling silent past its session; rejoins, assignments and SyncGroups as the consumer makes them, racing), every answer judged against the core's and single_owner at every assignment";

/// Moves chosen by the seed in a walk.
pub const STEPS: usize = 10;

/// Members at a time.
const MEMBERS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Move {
    Work,
    Beat,
    Close,
    Silence,
    Start,
}

/// A member of the walk: at rest (with the request it makes next, if any), with a request out
/// on a thread, or gone.
enum Member {
    AtRest(Driven, Option<Send>),
    Out(Waiting),
    Gone,
}

struct Walk {
    members: Vec<Member>,
    /// The number the next process starts with (the core's numbering: one per process).
    next: usize,
    /// At most one silence per walk, to bound its time.
    silent: bool,
    /// The generations the broker formed, with their members, as its answers to the leaders
    /// listed them.
    formed: Vec<(Generation, Vec<MemberId>)>,
}

/// Plays `STEPS` moves chosen by `seed` (and a silence, if none was chosen), then every
/// member closes.
pub fn group_walk(run: &mut Run, seed: u64) -> Result<(), ProbeError> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut walk = Walk {
        members: Vec::new(),
        next: 0,
        silent: false,
        formed: Vec::new(),
    };
    for _ in 0..MEMBERS {
        walk.start(run)?;
    }
    for _ in 0..STEPS {
        walk.settle(run, &mut None)?;
        if run.deviated() {
            return Ok(());
        }
        let moves = walk.moves();
        let Some(&(i, m)) = moves.get(rng.below(moves.len().max(1) as u64) as usize) else {
            walk.wait_for_one(run)?;
            continue;
        };
        walk.play(run, i, m)?;
    }
    // Every walk has its pause past the session: if the seed chose none, a member takes it
    // now, once no request waits (a new process starts if every member has closed).
    for _ in 0..6 {
        walk.settle(run, &mut None)?;
        if walk.silent || run.deviated() {
            break;
        }
        let moves = walk.moves();
        let silence = moves.iter().find(|(_, m)| *m == Move::Silence);
        let start = moves.iter().find(|(_, m)| *m == Move::Start);
        match silence.or(start) {
            Some(&(i, m)) => walk.play(run, i, m)?,
            None => walk.wait_for_one(run)?,
        }
    }
    walk.close_all(run)
}

fn name(k: usize) -> String {
    ["A", "B", "C", "D", "E", "F", "G", "H"]
        .get(k)
        .map_or(format!("M{k}"), |n| n.to_string())
}

impl Walk {
    /// A new process starts, in an empty place or beside the others.
    fn start(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        let k = self.next;
        self.next += 1;
        let (d, first) = run.start(&name(k), k, Assignors::one(Assignor::RoundRobin), None)?;
        let member = Member::AtRest(d, first);
        match self.members.iter().position(|m| matches!(m, Member::Gone)) {
            Some(i) => self.members[i] = member,
            None => self.members.push(member),
        }
        Ok(())
    }

    /// What the seed may choose: members at rest with nothing to send work, heartbeat, close
    /// or fall silent; an empty place may take a new process.
    fn moves(&self) -> Vec<(usize, Move)> {
        // A silence while another member's request waits could outlast that member's own
        // session (a new member waiting in a join phase expires with it; see the module doc).
        let any_out = self.members.iter().any(|m| matches!(m, Member::Out(_)));
        let mut moves = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            match m {
                Member::AtRest(d, None) if !d.consumer.is_closed() => {
                    moves.extend([(i, Move::Work), (i, Move::Beat), (i, Move::Close)]);
                    if !self.silent && !any_out && d.consumer.is_stable() {
                        moves.push((i, Move::Silence));
                    }
                }
                Member::Gone if self.next < 8 => moves.push((i, Move::Start)),
                _ => {}
            }
        }
        moves
    }

    fn play(&mut self, run: &mut Run, i: usize, m: Move) -> Result<(), ProbeError> {
        match m {
            Move::Start => return self.start(run),
            Move::Silence => return self.silence(run, i),
            _ => {}
        }
        let Member::AtRest(mut d, _) = std::mem::replace(&mut self.members[i], Member::Gone) else {
            unreachable!("moves are offered to members at rest")
        };
        let next = match m {
            Move::Work => {
                run.act(&mut d, Act::Process);
                let commit = run.act(&mut d, Act::Commit);
                let next = run.drive(&mut d, commit)?;
                self.judge_commit(run, &d);
                next
            }
            Move::Beat => {
                let beat = run.act(&mut d, Act::Heartbeat);
                run.drive(&mut d, beat)?
            }
            _ => {
                run.close(&mut d)?;
                return Ok(());
            }
        };
        self.members[i] = Member::AtRest(d, next);
        Ok(())
    }

    /// The protocol's own steps, until none is due: answers that have come are judged;
    /// requests members make go out; heartbeats due are sent. `timer`: a silent member's
    /// expiry the broker may have taken (see the module doc).
    fn settle(&mut self, run: &mut Run, timer: &mut Option<Step>) -> Result<(), ProbeError> {
        let grace = run.cfg.session_timeout / 10;
        let mut changed = true;
        while changed && !run.deviated() {
            changed = false;
            for i in 0..self.members.len() {
                let member = std::mem::replace(&mut self.members[i], Member::Gone);
                self.members[i] = match member {
                    Member::Out(w) if w.is_answered() => {
                        changed = true;
                        // Once the silent member's session is over on the broker, its expiry
                        // may be what this answer waited for.
                        run.fire(timer);
                        let (d, next) = run.collect(w)?;
                        if let Some(Response::JoinGroup {
                            error: ErrorCode::None,
                            generation,
                            members,
                            ..
                        }) = &d.last
                        {
                            if !members.is_empty() {
                                self.formed.push((*generation, members.clone()));
                            }
                        }
                        Member::AtRest(d, next)
                    }
                    Member::AtRest(mut d, Some(send)) => {
                        changed = true;
                        // What cannot wait goes out and is answered at once; what can goes
                        // out on a thread, the core taking it now.
                        match run.drive(&mut d, Some(send))? {
                            Some(send) if !run.deviated() => {
                                let mut w = run.send_waiting(d, send);
                                run.core_takes(&mut w);
                                run.grace(&w, grace);
                                Member::Out(w)
                            }
                            next => Member::AtRest(d, next),
                        }
                    }
                    Member::AtRest(mut d, None)
                        if !d.consumer.is_closed()
                            && d.consumer.generation.is_some()
                            && d.answered_at.elapsed() >= run.cfg.session_timeout / 3 =>
                    {
                        changed = true;
                        let next = match run.act(&mut d, Act::Heartbeat) {
                            Some(send) => run.exchange_timed(&mut d, send, timer)?,
                            None => None,
                        };
                        let next = run.drive(&mut d, next)?;
                        Member::AtRest(d, next)
                    }
                    other => other,
                };
            }
        }
        Ok(())
    }

    /// `d`'s commit, if the broker accepted it, must come from a member of the newest
    /// generation the broker formed: one formed later without it had fenced it
    /// (`no_zombie_commit`, on the broker's own answers).
    fn judge_commit(&self, run: &mut Run, d: &Driven) {
        let accepted = matches!(
            d.last,
            Some(Response::OffsetCommit {
                error: ErrorCode::None,
                ..
            })
        );
        let (Some(id), Some(generation)) = (d.consumer.member_id, d.consumer.generation) else {
            return;
        };
        let without = self
            .formed
            .iter()
            .find(|(g, members)| *g > generation && !members.contains(&id));
        if let Some((newer, _)) = without.filter(|_| accepted) {
            let name = run.names.name(id);
            run.broke(
                Property::NoZombieCommit,
                format!(
                    "the broker accepted a commit of {name} in generation {generation} after it had formed generation {newer} without it"
                ),
            );
        }
    }

    /// Every member is out or gone: waits for an answer (a broker that answers none within
    /// twice the session and five seconds is stuck where the core is, or the walk ends).
    fn wait_for_one(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        let until = Instant::now() + run.cfg.session_timeout * 2 + Duration::from_secs(5);
        while Instant::now() < until {
            if self.members.iter().any(|m| match m {
                Member::Out(w) => w.is_answered(),
                _ => false,
            }) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Nothing comes: the members still out are abandoned.
        for m in &mut self.members {
            if matches!(m, Member::Out(..)) {
                *m = Member::Gone;
            }
        }
        Ok(())
    }

    /// Member `i` falls silent for its session and half as long again, while the others go
    /// on; its session expires on the core's side where the broker's answers show it did.
    /// Then it processes and commits, as an application back from a pause does.
    fn silence(&mut self, run: &mut Run, i: usize) -> Result<(), ProbeError> {
        self.silent = true;
        let Member::AtRest(d, next) = std::mem::replace(&mut self.members[i], Member::Gone) else {
            unreachable!("only a member at rest falls silent")
        };
        let k = d.k;
        run.saw(
            &d.name,
            "(falls silent past its session)".into(),
            String::new(),
        );
        let session = run.cfg.session_timeout;
        let start = Instant::now();
        // The broker expires it a session after its last request reached it: a little before
        // its answer came back here.
        let expires = d.answered_at + session - session / 20;
        let mut timer = None;
        let mut fired = false;
        while start.elapsed() < session + session / 2 && !run.deviated() {
            if !fired && Instant::now() >= expires {
                timer = Some(Step::Expire { member: k });
                fired = true;
            }
            self.settle(run, &mut timer)?;
            std::thread::sleep(Duration::from_millis(10));
        }
        if timer.is_some() || !fired {
            run.mirror.expire(k);
        }
        self.members[i] = Member::AtRest(d, next);
        // Back from its pause, the application goes on where it was: it processes and commits
        // before its heartbeat thread learns anything (the zombie's commit).
        self.play(run, i, Move::Work)
    }

    /// Every member closes, the waiting ones once answered.
    fn close_all(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        while !run.deviated() {
            self.settle(run, &mut None)?;
            let at_rest = self
                .members
                .iter()
                .position(|m| matches!(m, Member::AtRest(..)));
            match at_rest {
                Some(i) => {
                    if let Member::AtRest(mut d, _) =
                        std::mem::replace(&mut self.members[i], Member::Gone)
                    {
                        if !d.consumer.is_closed() {
                            run.close(&mut d)?;
                        }
                    }
                }
                None if self.members.iter().any(|m| matches!(m, Member::Out(..))) => {
                    self.wait_for_one(run)?
                }
                None => break,
            }
        }
        Ok(())
    }
}
