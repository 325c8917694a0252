//! Seeded random walks of a group: several members, each the core's consumer
//! ([`super::driven`]) beside its twin on the core's side, take the model's own actions in an
//! order a seed chooses — processing and committing, heartbeating, closing (and a new process
//! starting in its place), falling silent past the session, and, with `--move-coordinator`,
//! the group's coordinator moving while the group is settled (see [`Walk::moves`]) — while
//! the protocol's own steps
//! follow as a client's do: a request the consumer makes goes out at once, and a member's
//! heartbeat thread heartbeats every third of its session. Every answer is judged against the
//! core's, and `single_owner` on every assignment, as in the scenarios played by the core's
//! consumers.
//!
//! **Members.** The seed also chooses what the members are (seed mod 3): eager members with
//! the round-robin assignor (2), cooperative members with cooperative-sticky (0: a partition
//! moves in two rebalances, its owner keeping the rest), or static members (1: place `i` is
//! `group.instance.id` `i`, so a process that starts in a closed member's place is that
//! instance restarting, which takes its member back; a static member's close sends no
//! LeaveGroup). They start one at a time, each once the one before has formed a generation.
//!
//! **Racing requests.** A request that can wait for other members (a JoinGroup, a follower's
//! SyncGroup) goes out on a thread of its own, and the core takes it where the broker's answers
//! show the broker read it ([`super::histories`]); the walk gives the broker up to a tenth of
//! the session to answer or hold it before any other request goes out. Of the answers of one
//! join phase the leader's is taken first: a follower's names the leader, whose member id the
//! probe learns from the leader's own.
//!
//! **Sessions that run out.** A member's silence, and a static member's close (it sends no
//! LeaveGroup), end in its session's expiry on the core's side, taken once its session is
//! over on the broker: just before another member's answer that may show it (a Heartbeat
//! answered other than NONE, a waiting request answered), or once it is surely over (a tenth
//! of the session past it). A process restarting a static member's instance well before then
//! takes the member back; near then, the walk waits until it is over. A member falls silent
//! only while no request waits: a member new to the group that waited in a join phase for the
//! silent one could expire first (the core expires a new member that waits longer than its
//! session), a timer the walk does not follow.
//!
//! A walk ends at its first deviation; its members are then left to the broker's session
//! timeouts. The same seed makes the same choices from the same answers.

use super::driven::{Driven, Waiting};
use super::mirror::{Act, Step};
use super::scenario::Run;
use super::ProbeError;
use crate::consumer::Send;
use crate::protocol::{Assignor, Assignors, ErrorCode, InstanceId, Response};
use crate::runtime::live::Rng;
use std::time::{Duration, Instant};

pub const ABOUT: &str = "a seeded random walk of a group of two members (eager, cooperative or static, as the seed chooses), each the core's consumer (processing and committing, heartbeating, closing and a new process starting in its place, falling silent past its session, and with --move-coordinator the group's coordinator moving while the group is settled; rejoins, assignments and SyncGroups as the consumer makes them, racing), every answer judged against the core's and single_owner at every assignment";

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
    /// The group's coordinator moves (`--move-coordinator`).
    Failover,
}

/// A member of the walk: at rest (with the request it makes next, if any), with a request out
/// on a thread, or gone.
pub(super) enum Member {
    AtRest(Driven, Option<Send>),
    Out(Waiting),
    Gone,
}

/// What the members of a walk are.
#[derive(Clone, Copy)]
enum Flavour {
    Eager,
    Cooperative,
    Static,
}

impl Flavour {
    fn of(seed: u64) -> Flavour {
        [Flavour::Cooperative, Flavour::Static, Flavour::Eager][(seed % 3) as usize]
    }

    fn assignors(self) -> Assignors {
        match self {
            Flavour::Cooperative => Assignors::one(Assignor::CooperativeSticky),
            Flavour::Eager | Flavour::Static => Assignors::one(Assignor::RoundRobin),
        }
    }
}

pub(super) struct Walk {
    /// Requests given up on, still in the network: by place, with the process that sent it.
    late: Vec<Late>,
    /// What each new process runs.
    assignors: Assignors,
    /// The `group.instance.id` of each place, when members are static.
    instances: Option<Vec<InstanceId>>,
    /// Requests members make are held until [`Walk::send`] sends them (a played
    /// counterexample decides when each goes out); otherwise they go out at once.
    pub(super) held: bool,
    /// A member's assignor hung (its SyncGroup never went out) and the pending-sync timer
    /// has not yet been seen to fire.
    stalled: bool,
    pub(super) members: Vec<Member>,
    /// The number the next process starts with (the core's numbering: one per process).
    next: usize,
    /// At most one silence per walk, to bound its time.
    silent: bool,
    /// Members whose sessions run out on the broker: the silent one, and static members that
    /// closed (they send no LeaveGroup). Each with when the broker expires it, and its
    /// instance.
    lapsing: Vec<Lapsing>,
}

#[derive(Clone, Copy)]
struct Lapsing {
    at: Instant,
    member: usize,
    instance: Option<InstanceId>,
}

/// A request given up on by the process numbered `k` (its client timed out, or crashed),
/// still in the network.
struct Late {
    place: usize,
    k: usize,
    name: String,
    send: Send,
}

impl Late {
    fn of(place: usize, d: &Driven, send: Send) -> Late {
        Late {
            place,
            k: d.k,
            name: d.name.clone(),
            send,
        }
    }
}

impl Lapsing {
    /// `d`, heard from no more: the broker expires it a session after its last request that
    /// restarts the session reached it (a little before its answer came back here).
    fn of(run: &Run, d: &Driven) -> Lapsing {
        let session = run.cfg.session_timeout;
        Lapsing {
            at: d.heard_at + session - session / 20,
            member: d.k,
            instance: d.consumer.instance,
        }
    }
}

/// Plays `STEPS` moves chosen by `seed` (and a silence, if none was chosen), then every
/// member closes.
pub fn group_walk(run: &mut Run, seed: u64) -> Result<(), ProbeError> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let flavour = Flavour::of(seed);
    let instances = match flavour {
        Flavour::Static => Some((0..MEMBERS as u8).map(InstanceId).collect()),
        _ => None,
    };
    let mut walk = Walk::new(flavour.assignors(), instances);
    walk.form(run, MEMBERS)?;
    for _ in 0..STEPS {
        walk.settle(run)?;
        if run.deviated() {
            return Ok(());
        }
        let may_move = run.cfg.move_coordinator.is_some() && run.mirror.settled();
        let moves = walk.moves(may_move);
        let Some(&(i, m)) = moves.get(rng.below(moves.len().max(1) as u64) as usize) else {
            walk.wait_for_one(run)?;
            continue;
        };
        walk.play(run, i, m)?;
    }
    // Every walk has its pause past the session: if the seed chose none, a member takes it
    // now, once no request waits (a new process starts if every member has closed).
    for _ in 0..6 {
        walk.settle(run)?;
        if walk.silent || run.deviated() {
            break;
        }
        let moves = walk.moves(false);
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
    pub(super) fn new(assignors: Assignors, instances: Option<Vec<InstanceId>>) -> Walk {
        Walk {
            late: Vec::new(),
            assignors,
            instances,
            held: false,
            stalled: false,
            members: Vec::new(),
            next: 0,
            silent: false,
            lapsing: Vec::new(),
        }
    }

    /// `n` members start one at a time, each once the one before has formed a generation:
    /// the first joins an empty group, whose first join phase a broker may hold open (Kafka's
    /// group.initial.rebalance.delay.ms) and let the next member into; the core, without that
    /// delay, ends it at once.
    pub(super) fn form(&mut self, run: &mut Run, n: usize) -> Result<(), ProbeError> {
        for _ in 0..n {
            self.start(run)?;
            self.settle(run)?;
            while self.waiting() > 0 && !run.deviated() {
                self.wait_for_one(run)?;
            }
        }
        Ok(())
    }

    /// How many members have a request out.
    fn waiting(&self) -> usize {
        let out = self.members.iter().filter(|m| matches!(m, Member::Out(_)));
        out.count()
    }

    /// A new process starts, in an empty place or beside the others.
    fn start(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        let place = (self.members.iter())
            .position(|m| matches!(m, Member::Gone))
            .unwrap_or(self.members.len());
        self.start_at(run, place)
    }

    /// A new process starts in `place` (empty, or one past the last).
    pub(super) fn start_at(&mut self, run: &mut Run, place: usize) -> Result<(), ProbeError> {
        let k = self.next;
        self.next += 1;
        let instance = self.instances.as_ref().map(|ids| ids[place]);
        self.restart(run, instance)?;
        let (d, first) = run.start(&name(k), k, self.assignors, instance)?;
        let member = Member::AtRest(d, first);
        match self.members.get_mut(place) {
            Some(m) => *m = member,
            None => self.members.push(member),
        }
        Ok(())
    }

    /// What the seed may choose: members at rest with nothing to send work, heartbeat, close
    /// or fall silent; an empty place may take a new process; and the coordinator may move if
    /// `may_move` (the probe can move it, and the group is settled on the core's side:
    /// [`super::mirror::Mirror::settled`]) and the walk is [`Walk::quiet`].
    fn moves(&self, may_move: bool) -> Vec<(usize, Move)> {
        // A silence while another member's request waits could outlast that member's own
        // session (a new member waiting in a join phase expires with it; see the module doc).
        let any_out = self.waiting() > 0;
        let mut moves = Vec::new();
        if may_move && self.quiet() {
            moves.push((0, Move::Failover));
        }
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

    /// Whether the walk lets the coordinator move: every member at rest with nothing to send,
    /// no session running out, no request given up on still in the network, no hung
    /// assignor. A loading coordinator restarts the sessions it loads, which the walk's
    /// reckoning of when a session runs out does not follow.
    fn quiet(&self) -> bool {
        let at_rest = |m: &Member| matches!(m, Member::AtRest(_, None) | Member::Gone);
        self.members.iter().all(at_rest)
            && self.lapsing.is_empty()
            && self.late.is_empty()
            && !self.stalled
    }

    fn play(&mut self, run: &mut Run, i: usize, m: Move) -> Result<(), ProbeError> {
        match m {
            Move::Start => return self.start(run),
            Move::Silence => return self.silence(run, i),
            Move::Failover => {
                run.move_coordinator("probe")?;
                return self.follow_move(run);
            }
            _ => {}
        }
        let Member::AtRest(mut d, _) = std::mem::replace(&mut self.members[i], Member::Gone) else {
            unreachable!("moves are offered to members at rest")
        };
        let next = match m {
            Move::Work => {
                run.act(&mut d, Act::Process);
                let commit = run.act(&mut d, Act::Commit);
                run.drive(&mut d, commit)?
            }
            Move::Beat => {
                let beat = run.act(&mut d, Act::Heartbeat);
                run.drive(&mut d, beat)?
            }
            _ => return self.close(run, d),
        };
        self.members[i] = Member::AtRest(d, next);
        Ok(())
    }

    /// The protocol's own steps, until none is due: answers that have come are judged;
    /// requests members make go out; heartbeats due are sent; sessions that have run out on
    /// the broker expire on the core's side (see the module doc).
    pub(super) fn settle(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        let grace = run.cfg.session_timeout / 10;
        let mut changed = true;
        while changed && !run.deviated() {
            changed = false;
            let mut timer = self.lapse(run);
            let mut armed = timer.is_some();
            // A hung leader's pending-sync timer, once no session is due first.
            if !armed && self.stalled {
                timer = Some(Step::PendingSyncTimeout);
            }
            let timer = &mut timer;
            for i in self.leaders_first(grace) {
                // A request that went out on a thread may be answered together with others
                // already waiting: the order of taking answers is decided again.
                let mut sent_waiting = false;
                let member = std::mem::replace(&mut self.members[i], Member::Gone);
                self.members[i] = match member {
                    Member::Out(mut w) if w.is_answered() => {
                        changed = true;
                        // Once a lapsing member's session is over on the broker, its expiry
                        // may be what this answer waited for (due by now, if not before).
                        if !armed {
                            let now = Instant::now();
                            if let Some(l) = self.lapsing.first().filter(|l| now >= l.at) {
                                *timer = Some(Step::Expire { member: l.member });
                                armed = true;
                            }
                        }
                        run.fire(timer);
                        // A member new to the group that waited in a join phase longer than
                        // its session may have been expired by the broker's new-member timer
                        // (the core allows it; Kafka's is five minutes, `serve`'s the session).
                        let unknown = matches!(
                            w.answer(),
                            Some(Response::JoinGroup {
                                error: ErrorCode::UnknownMemberId,
                                ..
                            })
                        );
                        if unknown && w.waited() >= run.cfg.session_timeout {
                            run.mirror.take(Step::Expire { member: w.member() });
                        }
                        // A join phase that lasted the rebalance timeout the members asked
                        // for (their session) may have been ended by the broker's timer,
                        // without the members that had not rejoined.
                        let formed = matches!(
                            w.answer(),
                            Some(Response::JoinGroup {
                                error: ErrorCode::None,
                                ..
                            })
                        );
                        if formed
                            && w.waited() >= run.cfg.session_timeout
                            && run.mirror.parked_racing(w.member())
                        {
                            run.mirror.take(Step::RebalanceTimeout);
                        }
                        let (d, next) = run.collect(w)?;
                        Member::AtRest(d, next)
                    }
                    Member::AtRest(mut d, held) if self.held => {
                        // Its heartbeat thread keeps its session alive; what a heartbeat
                        // tells it, it learns only where the counterexample heartbeats.
                        if !d.consumer.is_closed()
                            && d.consumer.generation.is_some()
                            && d.answered_at.elapsed() >= run.cfg.session_timeout / 3
                        {
                            changed = true;
                            run.keep_alive(&mut d, timer)?;
                        }
                        Member::AtRest(d, held)
                    }
                    Member::AtRest(mut d, Some(send)) => {
                        changed = true;
                        // What cannot wait goes out and is answered at once; what can goes
                        // out on a thread, the core taking it now.
                        match run.drive(&mut d, Some(send))? {
                            Some(send) if !run.deviated() => {
                                let w = run.send_waiting(d, send)?;
                                run.grace(&w, grace);
                                sent_waiting = true;
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
                            // Its assignor hung: its heartbeat thread goes on.
                            None => {
                                run.keep_alive(&mut d, timer)?;
                                None
                            }
                        };
                        let next = run.drive(&mut d, next)?;
                        Member::AtRest(d, next)
                    }
                    other => other,
                };
                if sent_waiting {
                    break;
                }
            }
            if armed && timer.is_none() {
                self.lapsing.remove(0);
            } else if timer.is_none() {
                self.stalled = false;
            }
        }
        Ok(())
    }

    /// The members in the order their answers are taken: a JoinGroup answer that names its
    /// leader comes after the leader's own, the one that tells the probe the leader's member
    /// id (a static member gets its id only there). A broker answers the members of a join
    /// phase together, so a follower's answer waits up to `grace` for its leader's.
    fn leaders_first(&mut self, grace: Duration) -> Vec<usize> {
        let until = Instant::now() + grace;
        let joins = |w: &mut Waiting| match w.answer() {
            Some(Response::JoinGroup {
                member_id, leader, ..
            }) => Some(member_id == leader),
            _ => None,
        };
        loop {
            let mut leads = Vec::new();
            let mut follows = false;
            let mut unanswered = false;
            for m in &mut self.members {
                if let Member::Out(w) = m {
                    let joined = joins(w);
                    leads.push(joined == Some(true));
                    follows |= joined == Some(false);
                    unanswered |= !w.is_answered();
                } else {
                    leads.push(false);
                }
            }
            if !(follows && unanswered) || Instant::now() >= until {
                let mut order: Vec<usize> = (0..self.members.len()).collect();
                order.sort_by_key(|&i| !leads[i]);
                return order;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The sessions surely over on the broker (a tenth of the session past when it expires
    /// them) expire on the core's side; the first one due is armed, to fire just before an
    /// answer that may show it (another member's Heartbeat answered other than NONE, a
    /// waiting request answered).
    fn lapse(&mut self, run: &mut Run) -> Option<Step> {
        let now = Instant::now();
        let surely = run.cfg.session_timeout / 10;
        self.lapsing.retain(|l| {
            let over = now >= l.at + surely;
            if over {
                run.mirror.expire(l.member);
            }
            !over
        });
        let due = self.lapsing.first().filter(|l| now >= l.at)?;
        Some(Step::Expire { member: due.member })
    }

    /// Member `d` closes; a static one sends no LeaveGroup, so its session runs out on the
    /// broker a session after its last request reached it (a little before its answer came
    /// back here).
    fn close(&mut self, run: &mut Run, mut d: Driven) -> Result<(), ProbeError> {
        run.close(&mut d)?;
        if d.consumer.instance.is_some() {
            self.lapses(run, &d);
        }
        Ok(())
    }

    /// `d` is heard from no more: the broker expires it a session after its last request.
    fn lapses(&mut self, run: &Run, d: &Driven) {
        let lapsing = Lapsing::of(run, d);
        self.lapsing.push(lapsing);
        self.lapsing.sort_by_key(|l| l.at);
    }

    /// A static member restarting with `instance`: if its closed process's session is still
    /// well within its time on the broker, the new process takes the member back (the core
    /// replaces it alike); near its end the walk waits until it is surely over, so that the
    /// broker and the core agree on which it was.
    fn restart(&mut self, run: &mut Run, instance: Option<InstanceId>) -> Result<(), ProbeError> {
        let Some(i) = instance else { return Ok(()) };
        let early = run.cfg.session_timeout / 5;
        let Some(at) = self.lapsing.iter().position(|l| l.instance == Some(i)) else {
            return Ok(());
        };
        if Instant::now() + early < self.lapsing[at].at {
            self.lapsing.remove(at);
            return Ok(());
        }
        while self.lapsing.iter().any(|l| l.instance == Some(i)) && !run.deviated() {
            self.settle(run)?;
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// No member can move: waits for an answer, the members at rest heartbeating meanwhile (a
    /// broker that answers none within twice the session and five seconds is stuck where the
    /// core is, or the walk ends).
    fn wait_for_one(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        let until = Instant::now() + run.cfg.session_timeout * 2 + Duration::from_secs(5);
        let waiting = self.waiting();
        while Instant::now() < until {
            // The members at rest go on heartbeating meanwhile (and an answer is taken).
            self.settle(run)?;
            if self.waiting() < waiting || run.deviated() {
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

    /// Member `i` falls silent past its session, then processes and commits, as an
    /// application back from a pause does.
    fn silence(&mut self, run: &mut Run, i: usize) -> Result<(), ProbeError> {
        self.fall_silent(run, i)?;
        // Back from its pause, the application goes on where it was: it processes and commits
        // before its heartbeat thread learns anything (the zombie's commit).
        self.play(run, i, Move::Work)
    }

    /// Member `i` falls silent for its session and half as long again, while the others go
    /// on; its session expires on the core's side where the broker's answers show it did.
    pub(super) fn fall_silent(&mut self, run: &mut Run, i: usize) -> Result<(), ProbeError> {
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
        self.lapses(run, &d);
        while start.elapsed() < session + session / 2 && !run.deviated() {
            self.settle(run)?;
            std::thread::sleep(Duration::from_millis(10));
        }
        // Surely over by now (the walk may have ended at a deviation first).
        if let Some(at) = self.lapsing.iter().position(|l| l.member == k) {
            self.lapsing.remove(at);
            run.mirror.expire(k);
        }
        self.members[i] = Member::AtRest(d, next);
        Ok(())
    }

    /// Every member closes, the waiting ones once answered.
    pub(super) fn close_all(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        while !run.deviated() {
            self.settle(run)?;
            let at_rest = self
                .members
                .iter()
                .position(|m| matches!(m, Member::AtRest(..)));
            match at_rest {
                Some(i) => {
                    if let Member::AtRest(d, _) =
                        std::mem::replace(&mut self.members[i], Member::Gone)
                    {
                        if !d.consumer.is_closed() {
                            self.close(run, d)?;
                        }
                    }
                }
                None if self.waiting() > 0 => self.wait_for_one(run)?,
                None => break,
            }
        }
        Ok(())
    }

    /// Member `i`'s application or heartbeat thread does `act` (a counterexample's step):
    /// the request it makes is held until [`Walk::send`]. `Err` if the member cannot.
    pub(super) fn act(
        &mut self,
        run: &mut Run,
        i: usize,
        act: Act,
    ) -> Result<Result<(), String>, ProbeError> {
        let Some(Member::AtRest(d, held)) = self.members.get_mut(i) else {
            return Ok(Err("the member is not at rest".into()));
        };
        let made = run.act(d, act);
        if act == Act::Stall {
            // The SyncGroup it was about to send never goes out; the pending-sync timer may
            // end the rebalance without it.
            *held = None;
            self.stalled = true;
        } else if let Some(send) = made {
            if held.is_some() {
                return Ok(Err("the member has a request held already".into()));
            }
            *held = Some(send);
        }
        Ok(Ok(()))
    }

    /// Member `i`'s held request goes out: one that can wait for another member on a thread
    /// of its own (the core taking it at once, the broker given a tenth of the session to
    /// answer or hold it), any other answered at once. `Err` if it has none.
    pub(super) fn send(
        &mut self,
        run: &mut Run,
        i: usize,
        api: &str,
    ) -> Result<Result<(), String>, ProbeError> {
        let held = match self.members.get(i) {
            Some(Member::AtRest(_, Some(send))) => send.request.api(),
            _ => return Ok(Err(format!("the member has no {api} to send"))),
        };
        if held != api {
            return Ok(Err(format!("the member sends a {held}, not a {api}")));
        }
        let Member::AtRest(mut d, Some(send)) =
            std::mem::replace(&mut self.members[i], Member::Gone)
        else {
            unreachable!("matched above")
        };
        if super::driven::can_wait(&send.request) {
            let w = run.send_waiting(d, send)?;
            run.grace(&w, run.cfg.session_timeout / 10);
            self.members[i] = Member::Out(w);
            return Ok(Ok(()));
        }
        let next = run.exchange(&mut d, send)?;
        // A static member's close sends no LeaveGroup: its session runs out on the broker.
        if d.consumer.is_closed() && d.consumer.instance.is_some() && next.is_none() {
            self.lapses(run, &d);
        }
        self.members[i] = Member::AtRest(d, next);
        Ok(Ok(()))
    }

    /// Member `i` takes the answer to its request, waiting for it (at most twice the session
    /// and five seconds, the others heartbeating): false if none came.
    pub(super) fn answer(&mut self, run: &mut Run, i: usize) -> Result<bool, ProbeError> {
        let until = Instant::now() + run.cfg.session_timeout * 2 + Duration::from_secs(5);
        while matches!(self.members.get(i), Some(Member::Out(_))) && !run.deviated() {
            if Instant::now() >= until {
                return Ok(false);
            }
            self.settle(run)?;
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(true)
    }

    /// Waits until the session of the process numbered `k` (crashed, or a static member
    /// closed) is over on the broker, and has expired on the core's side.
    pub(super) fn lapse_over(&mut self, run: &mut Run, k: usize) -> Result<(), ProbeError> {
        while self.lapsing.iter().any(|l| l.member == k) && !run.deviated() {
            self.settle(run)?;
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Member `i`'s process stops, sending nothing more (its session runs out on the broker),
    /// and a new one starts in its place.
    pub(super) fn crash(&mut self, run: &mut Run, i: usize) -> Result<(), ProbeError> {
        if let Member::AtRest(d, held) = std::mem::replace(&mut self.members[i], Member::Gone) {
            if d.consumer.member_id.is_some() {
                self.lapses(run, &d);
            }
            // What it was about to send stays in the network, and may yet arrive.
            if let Some(send) = held {
                run.mirror.abandon(d.k);
                self.late.push(Late::of(i, &d, send));
            }
        }
        self.start_at(run, i)
    }

    /// The group's coordinator has moved: once the new one has loaded the group, the members
    /// at rest find it, as a client told NOT_COORDINATOR does (a member's request out on a
    /// thread stays where it went, and follows when it is sent again).
    pub(super) fn follow_move(&mut self, run: &mut Run) -> Result<(), ProbeError> {
        run.await_loaded()?;
        for m in &mut self.members {
            if let Member::AtRest(d, _) = m {
                d.follow(&run.coordinator)?;
            }
        }
        Ok(())
    }

    /// Member `i` gives up on the request it was about to send (its request timed out),
    /// which stays in the network to arrive later ([`Walk::send_late`]); it carries on as a
    /// client does. `Err` if it has none.
    pub(super) fn abandon(&mut self, run: &mut Run, i: usize) -> Result<(), String> {
        let Some(Member::AtRest(d, held)) = self.members.get_mut(i) else {
            return Err("the member is not at rest".into());
        };
        let Some(send) = held.take() else {
            return Err("the member has no request to give up on".into());
        };
        *held = run.abandon(d, &send);
        self.late.push(Late::of(i, d, send));
        Ok(())
    }

    /// The request member `i` gave up on arrives, on a connection of its own (the member
    /// closed the one it went out on); its answer is judged against the core's and read by
    /// nobody.
    pub(super) fn send_late(
        &mut self,
        run: &mut Run,
        i: usize,
        api: &str,
    ) -> Result<Result<(), String>, ProbeError> {
        let at = (self.late.iter()).position(|l| l.place == i && l.send.request.api() == api);
        let Some(at) = at else {
            return Ok(Err(format!("no {api} of the member was given up on")));
        };
        let late = self.late.remove(at);
        run.late(late.k, &late.name, &late.send.request)?;
        Ok(Ok(()))
    }
}
