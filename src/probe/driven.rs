//! Members whose logic is the core's consumer ([`crate::consumer`]), over the wire: what a
//! member sends next, how it takes each answer, what its leader assigns (the core's
//! assignors), what a cooperative member revokes and when it rejoins, how a static member
//! joins and what fences it — all the core's, not the scenario's.
//!
//! Each such member has a twin on the core's side ([`Mirror`]): the same consumer, started
//! and acted on alike, talking to the core's coordinator. Every request goes to both; the
//! broker's answer drives the member, and is judged against the core's answer to the twin:
//! first the error code, then what the answer says — the leader, the members and what each
//! claimed to own, the assignment, the committed offsets — with members named by their number
//! in the scenario, since a broker names them its own way; generation numbers apart (the
//! members the core tells one generation must be told one number). A request that can wait for another member (a JoinGroup, a
//! follower's SyncGroup) is handed back to the scenario, which sends it at once or on a
//! thread of its own; the core takes one sent on a thread where the broker's answers show the
//! broker read it ([`super::histories`]).

use super::mirror::{Act, Mirror, Step};
use super::observed::Answered;
use super::scenario::{code_name, io, Class, Run};
use super::ProbeError;
use crate::consumer::{Consumer, Send};
use crate::coordinator::CoreConfig;
use crate::property::Property;
use crate::protocol::{
    Assignors, BrokerId, ClientAddr, ConsumerId, ErrorCode, Generation, InstanceId, MemberId,
    Partitions, Request, Response,
};
use crate::wire::core_client::CoreWire;
use std::time::{Duration, Instant};

/// A member of the probe that is the core's consumer.
pub(super) struct Driven {
    pub name: String,
    /// Its number in the scenario (and its twin's on the core's side).
    pub k: usize,
    pub consumer: Consumer,
    /// Its connection (away while a request waits on a thread).
    wire: Option<CoreWire>,
    /// The broker's last answer to it.
    pub last: Option<Response>,
    /// When that answer came: its session runs from its last request (Kafka's coordinator
    /// restarts a member's session timer on each of its requests).
    pub answered_at: Instant,
    /// When its last request that restarts its session on the broker was answered (an
    /// OffsetFetch or a LeaveGroup does not).
    pub heard_at: Instant,
}

/// What the broker's answers say a member holds, for `single_owner`.
#[derive(Clone, Copy)]
pub(super) struct Holding {
    owned: Partitions,
    generation: Option<Generation>,
    instance: Option<InstanceId>,
}

/// A request that can wait for another member, sent on a thread of its own.
pub(super) struct Waiting {
    d: Driven,
    request: Request,
    thread: Option<std::thread::JoinHandle<std::io::Result<(CoreWire, Response)>>>,
    /// The broker's answer, once read off the thread.
    answer: Option<Box<std::io::Result<(CoreWire, Response)>>>,
    sent_at: Instant,
}

impl Waiting {
    /// The number of the member whose request it is.
    pub(super) fn member(&self) -> usize {
        self.d.k
    }

    /// How long ago it went out.
    pub(super) fn waited(&self) -> Duration {
        self.sent_at.elapsed()
    }

    /// Whether the broker has answered it.
    pub(super) fn is_answered(&self) -> bool {
        self.answer.is_some() || self.thread.as_ref().is_some_and(|t| t.is_finished())
    }

    /// The broker's answer, if it has come (read before it is judged).
    pub(super) fn answer(&mut self) -> Option<&Response> {
        if self.answer.is_none() && self.is_answered() {
            let thread = self.thread.take().expect("answered on its thread");
            let answered = thread.join().expect("a request thread does not panic");
            self.answer = Some(Box::new(answered));
        }
        let answered = self.answer.as_deref()?;
        answered.as_ref().ok().map(|(_, answer)| answer)
    }
}

/// Whether `request` can wait for other members: a JoinGroup (once it has a member id, or
/// for a static member), or a SyncGroup without assignments (a follower's).
pub(super) fn can_wait(request: &Request) -> bool {
    match request {
        Request::JoinGroup {
            member_id,
            instance,
            ..
        } => member_id.is_some() || instance.is_some(),
        Request::SyncGroup { assignments, .. } => assignments.is_empty(),
        _ => false,
    }
}

/// The rule of Kafka's protocol an answer to `request` follows.
fn rule(request: &Request) -> &'static str {
    match request {
        Request::FindCoordinator => "FindCoordinator: the group's coordinator",
        Request::JoinGroup { .. } => {
            "JoinGroup: the consumer joins (MEMBER_ID_REQUIRED first for a dynamic member, KIP-394; a static member's instance id takes its member's place, KIP-345); the leader learns every member and what each owned"
        }
        Request::SyncGroup { .. } => {
            "SyncGroup: a member of the generation gets what its leader assigned"
        }
        Request::Heartbeat { .. } => {
            "Heartbeat: NONE to a member in its generation of a stable group; a rebalance, or fencing, otherwise"
        }
        Request::LeaveGroup { .. } => "LeaveGroup: a member leaves its group",
        Request::OffsetCommit { .. } => {
            "OffsetCommit: accepted from a member in its generation, fenced otherwise"
        }
        Request::OffsetFetch { .. } => "OffsetFetch: the group's committed offsets",
    }
}

/// What an answer says, members named by `number`, generations left out (and KIP-814's
/// `skip_assignment` where the JoinGroup version lacks it).
fn gist(answer: &Response, number: &dyn Fn(MemberId) -> String, join_version: i16) -> String {
    let error = answer.error();
    match answer {
        Response::JoinGroup {
            protocol,
            leader,
            members,
            claims,
            skip_assignment,
            ..
        } if error == ErrorCode::None => {
            let mut listed: Vec<String> = members.iter().map(|m| number(*m)).collect();
            listed.sort();
            let mut owned: Vec<String> = claims
                .iter()
                .filter(|(_, c)| !c.partitions.is_empty())
                .map(|(m, c)| format!("{} owned {}", number(*m), c.partitions))
                .collect();
            owned.sort();
            format!(
                "NONE protocol={} leader={} members=[{}] claims=[{}]{}",
                protocol.map_or("none", |a| a.wire_name()),
                leader.map_or("none".into(), number),
                listed.join(","),
                owned.join("; "),
                if *skip_assignment && join_version >= 9 {
                    " skip_assignment"
                } else {
                    ""
                }
            )
        }
        Response::SyncGroup { assignment, .. } if error == ErrorCode::None => {
            format!("NONE assignment={assignment}")
        }
        Response::OffsetFetch { offsets, .. } if error == ErrorCode::None => {
            let os: Vec<String> = offsets
                .iter()
                .map(|(p, o)| format!("p{p}@{}", o.map_or("none".into(), |o| o.to_string())))
                .collect();
            format!("NONE {}", os.join(","))
        }
        _ => error.name().to_string(),
    }
}

/// What the core's `answer` says, its members named by the number the core's twins have.
fn core_gist(mirror: &Mirror, answer: &Response, join_version: i16) -> String {
    let number =
        |m: MemberId| (mirror.numbered(m)).map_or("an unknown member".into(), |n| format!("#{n}"));
    gist(answer, &number, join_version)
}

impl Driven {
    fn wire(&mut self) -> &mut CoreWire {
        self.wire
            .as_mut()
            .expect("a member's connection is back once its request is")
    }

    /// What it holds, as the broker's answers made it.
    fn holding(&self) -> Holding {
        Holding {
            owned: if self.consumer.is_closed() {
                Partitions::EMPTY
            } else {
                self.consumer.owned
            },
            generation: self.consumer.generation,
            instance: self.consumer.instance,
        }
    }
}

impl Driven {
    /// `next`, or, if the consumer lost its coordinator and sends nothing, the request it
    /// makes once FindCoordinator is answered: the member's connection is the coordinator's.
    fn rediscovered(&mut self, next: Option<Send>, cfg: &CoreConfig) -> Option<Send> {
        match next {
            None if self.consumer.needs_coordinator() => {
                self.consumer.on_coordinator_found(BrokerId(0), cfg)
            }
            next => next,
        }
    }

    /// Connects to the group's coordinator at `address` instead, as the same member.
    pub(super) fn follow(&mut self, address: &str) -> Result<(), ProbeError> {
        let client = client_id(&self.name);
        self.wire().reconnect(address, &client).map_err(io)
    }
}

/// The client id of the probe's connections for `name`.
fn client_id(name: &str) -> String {
    format!("groupcheck-probe-{}", name.to_lowercase())
}

/// How long a new coordinator may take to load the group before its answer
/// COORDINATOR_LOAD_IN_PROGRESS is judged (a large group's log takes a while to read).
const LOADING_WITHIN: Duration = Duration::from_secs(60);

impl Run<'_> {
    /// A connection of the core's consumer to the group's coordinator, as the client `name`.
    fn connect(&self, name: &str) -> Result<CoreWire, ProbeError> {
        CoreWire::connect(
            &self.coordinator,
            &client_id(name),
            &self.group,
            &self.cfg.topic,
            self.cfg.session_timeout,
            self.names.clone(),
            self.broker.join_version,
        )
        .map_err(|e| ProbeError::Unreachable(format!("{}: {e}", self.coordinator)))
    }

    /// Member `k` starts as the core's consumer with `assignors` (and `instance`, if static),
    /// and its twin beside it. Its first request.
    pub(super) fn start(
        &mut self,
        name: &str,
        k: usize,
        assignors: Assignors,
        instance: Option<InstanceId>,
    ) -> Result<(Driven, Option<Send>), ProbeError> {
        let wire = self.connect(&name.to_lowercase())?;
        let cfg = self.mirror.cfg;
        let addr = ClientAddr {
            consumer: ConsumerId::at(k),
            ..ClientAddr::default()
        };
        let commits = self.mirror.commit_generation;
        let mut consumer = self.mirror.new_consumer(addr, assignors, instance, commits);
        // The probe found the coordinator: the consumer's lookup is answered at once.
        let first = consumer.on_coordinator_found(BrokerId(0), &cfg);
        self.mirror.start(k, assignors, instance);
        let static_member = instance.map_or(String::new(), |i| {
            format!(
                ", group.instance.id={}",
                crate::wire::core_client::instance_name(i)
            )
        });
        self.saw(
            name,
            format!("(starts: the core's consumer, assignors {assignors}{static_member})"),
            String::new(),
        );
        let d = Driven {
            name: name.into(),
            k,
            consumer,
            wire: Some(wire),
            last: None,
            answered_at: Instant::now(),
            heard_at: Instant::now(),
        };
        Ok((d, first))
    }

    /// `d`'s application or heartbeat thread does `act`, and its twin alike: the request it
    /// sends, if any.
    pub(super) fn act(&mut self, d: &mut Driven, act: Act) -> Option<Send> {
        self.mirror.act(d.k, act);
        let cfg = self.mirror.cfg;
        act.on(&mut d.consumer, &cfg)
    }

    /// Sends every request `d` makes, starting with `first`, until it has none, or an answer
    /// deviated, or its next one can wait for another member: that one is returned unsent.
    pub(super) fn drive(
        &mut self,
        d: &mut Driven,
        first: Option<Send>,
    ) -> Result<Option<Send>, ProbeError> {
        let mut next = first;
        while let Some(send) = next.take_if(|s| !can_wait(&s.request) && !self.deviated()) {
            next = self.exchange(d, send)?;
        }
        Ok(next)
    }

    /// Sends `send` (which may wait: the scenario knows it will be answered), then drives `d`
    /// on.
    pub(super) fn send_now(
        &mut self,
        d: &mut Driven,
        send: Option<Send>,
    ) -> Result<Option<Send>, ProbeError> {
        if self.deviated() {
            return Ok(send);
        }
        let Some(send) = send else { return Ok(None) };
        let next = self.exchange(d, send)?;
        self.drive(d, next)
    }

    /// Drives `d` alone, sending even what can wait (the other members are at rest), until
    /// it has nothing to send or an answer deviated: the request it stopped at, then.
    pub(super) fn drive_alone(
        &mut self,
        d: &mut Driven,
        first: Option<Send>,
    ) -> Result<Option<Send>, ProbeError> {
        let mut next = self.drive(d, first)?;
        while next.is_some() && !self.deviated() {
            next = self.send_now(d, next)?;
        }
        Ok(next)
    }

    /// One request of `d` to the broker, and its twin's to the core: the request `d` sends
    /// next, unsent.
    pub(super) fn exchange(
        &mut self,
        d: &mut Driven,
        send: Send,
    ) -> Result<Option<Send>, ProbeError> {
        self.exchange_timed(d, send, &mut None)
    }

    /// [`Run::exchange`], where `timer` is one the broker may have fired meanwhile (as in
    /// [`Run::keep_alive`]): the core fires it just before an answer other than NONE.
    pub(super) fn exchange_timed(
        &mut self,
        d: &mut Driven,
        send: Send,
        timer: &mut Option<Step>,
    ) -> Result<Option<Send>, ProbeError> {
        if self.moved {
            return self.exchange_after_move(d, send);
        }
        let sent_at = Instant::now();
        let answer = d.wire().call(&send.request).map_err(io)?;
        if answer.error() != ErrorCode::None {
            self.fire(timer);
        }
        let judged = self.judge_delivery(d, &answer);
        Ok(self.answered(d, &send.request, judged, (answer, sent_at), ""))
    }

    /// The core fires `timer`, if one is armed: the broker's answers show it fired there.
    pub(super) fn fire(&mut self, timer: &mut Option<Step>) {
        if let Some(fired) = timer.take() {
            self.mirror.take(fired);
        }
    }

    /// `d` sends `send` after the group's coordinator moved, following it as a client does
    /// ([`Run::after_move`]: NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS are not judged,
    /// how long a move takes is the broker's business); the first other answer is judged
    /// against the core's, and `d` driven on. The request `d` stopped at, if any.
    pub(super) fn send_after_move(
        &mut self,
        d: &mut Driven,
        send: Option<Send>,
    ) -> Result<Option<Send>, ProbeError> {
        let Some(send) = send.filter(|_| !self.deviated()) else {
            return Ok(None);
        };
        let next = self.exchange_after_move(d, send)?;
        self.drive(d, next)
    }

    /// [`Run::send_after_move`] of one request: the request `d` makes next, unsent.
    pub(super) fn exchange_after_move(
        &mut self,
        d: &mut Driven,
        send: Send,
    ) -> Result<Option<Send>, ProbeError> {
        let sent_at = Instant::now();
        let answer = self.until_found(d, &send.request)?;
        let judged = self.judge_delivery(d, &answer);
        Ok(self.answered(d, &send.request, judged, (answer, sent_at), ""))
    }

    /// Sends `d`'s `request` until the group's coordinator is found again after a move:
    /// NOT_COORDINATOR sends the member to the coordinator FindCoordinator names, and
    /// COORDINATOR_LOAD_IN_PROGRESS waits, as a client does (neither is judged: how long a
    /// move takes is the broker's business). The first other answer, or the last once
    /// [`LOADING_WITHIN`] has passed, for the caller to judge.
    fn until_found(&mut self, d: &mut Driven, request: &Request) -> Result<Response, ProbeError> {
        let sent = self.names.rename(&request.to_string());
        let deadline = Instant::now() + LOADING_WITHIN;
        loop {
            let answer = d.wire().call(request).map_err(io)?;
            let code = d.wire().sent_code(&answer);
            let moving = ErrorCode::from_code(code).is_some_and(ErrorCode::coordinator_moving);
            if !moving || Instant::now() >= deadline {
                return Ok(answer);
            }
            let name = d.name.clone();
            let unjudged = format!("{sent} (not judged: the coordinator moves)");
            self.saw(&name, unjudged, code_name(code));
            if code != ErrorCode::CoordinatorLoadInProgress.code() {
                // The member's connection may be older than the run's coordinator (another
                // member followed the move first): it reconnects to the one found.
                let address = super::coordinator(self.cfg, &self.group)?;
                let moved = address != self.coordinator;
                self.coordinator = address;
                d.follow(&self.coordinator)?;
                if moved {
                    // A client asks the coordinator it found at once.
                    continue;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Past a deviation the core has no answer to judge by: `d` goes on alone, every request
    /// sent to the broker only (at most eight), its answers judged by the safety properties
    /// alone; the last one is kept in `d.last`.
    pub(super) fn drive_unjudged(
        &mut self,
        d: &mut Driven,
        first: Option<Send>,
    ) -> Result<(), ProbeError> {
        let mut next = first;
        for _ in 0..8 {
            let Some(send) = next else { break };
            let sent_at = Instant::now();
            let answer = d.wire().call(&send.request).map_err(io)?;
            let names = self.names.clone();
            self.saw(
                &d.name,
                format!(
                    "{} (not judged: past a deviation)",
                    names.rename(&send.request.to_string())
                ),
                names.rename(&answer.to_string()),
            );
            self.observe(&Answered {
                k: d.k,
                request: &send.request,
                answer: &answer,
                sent_at,
                core: None,
                live: false,
            });
            let cfg = self.mirror.cfg;
            next = d.consumer.on_response(&answer, &cfg);
            self.holds(d, &answer);
            d.last = Some(answer);
        }
        Ok(())
    }

    /// `d` takes the broker's `answer` to `request` (sent at `sent_at`), judged against the
    /// core's (`None`: parked) to its twin's `core_request`, given at the core's step `step`,
    /// and by the safety properties. The request `d` sends next.
    fn answered(
        &mut self,
        d: &mut Driven,
        request: &Request,
        (core_request, core, step): (Option<Request>, Option<Response>, usize),
        (answer, sent_at): (Response, Instant),
        note: &str,
    ) -> Option<Send> {
        let names = self.names.clone();
        let broker_said = self.broker_gist(d.k, &answer);
        // A code the core does not know is named as the broker sent it.
        let unknown = d.wire.as_ref().and_then(CoreWire::unknown_code);
        let mut said = names.rename(&answer.to_string());
        if let Some(raw) = unknown {
            let stand_in = ErrorCode::CoordinatorNotAvailable.name();
            said = said.replacen(stand_in, &super::scenario::code_name(raw), 1);
        }
        self.saw(
            &d.name,
            format!("{}{note}", names.rename(&request.to_string())),
            said,
        );
        if core_request.as_ref().map(Request::api) != Some(request.api()) {
            let twin = core_request.map_or("nothing".into(), |r| r.api().to_string());
            self.found(
                Class::Deviation,
                "the consumer, answered as Kafka answers, sends the same requests",
                format!("{} sent", request.api()),
                Some(format!("{twin} sent")),
            );
        }
        let code = d.wire().sent_code(&answer);
        self.expect_at(
            code,
            core.as_ref().map(Response::error),
            rule(request),
            step,
        );
        let core_error = core.as_ref().map(Response::error);
        if let Some(core) = core.filter(|c| c.error().code() == code) {
            let kafka = core_gist(&self.mirror, &core, self.broker.join_version);
            if broker_said != kafka {
                self.found(Class::Deviation, rule(request), broker_said, Some(kafka));
            }
        }
        self.one_number_per_generation(d.k, &answer);
        self.observe(&Answered {
            k: d.k,
            request,
            answer: &answer,
            sent_at,
            core: core_error,
            live: self.heard_within_session(d, sent_at),
        });
        let cfg = self.mirror.cfg;
        let next = d.consumer.on_response(&answer, &cfg);
        let next = d.rediscovered(next, &cfg);
        self.holds(d, &answer);
        self.one_member_per_instance(&answer);
        d.last = Some(answer);
        d.answered_at = Instant::now();
        if crate::coordinator::Coordinator::session_refreshed_by(request).is_some() {
            d.heard_at = d.answered_at;
        }
        next
    }

    /// The members the core tells one generation must be told one generation number by the
    /// broker, and two generations two numbers (the numbers themselves are the broker's).
    fn one_number_per_generation(&mut self, k: usize, answer: &Response) {
        let Response::JoinGroup {
            error: ErrorCode::None,
            generation,
            ..
        } = answer
        else {
            return;
        };
        // After a deviation the twins' generations no longer correspond.
        let core = self.mirror.consumer(k).and_then(|c| c.generation);
        let Some(core) = core.filter(|_| !self.deviated()) else {
            return;
        };
        let told = (core.0, i64::from(generation.0));
        let clash = self
            .generations
            .iter()
            .find(|(c, b)| (*c == told.0) != (*b == told.1))
            .copied();
        match clash {
            Some((c, b)) if c == told.0 => self.found(
                Class::Deviation,
                "JoinGroup: the members of one join phase are told the same generation",
                format!(
                    "generation {} for member #{k}, {b} for another member of the same one",
                    told.1
                ),
                Some(format!("generation {b}")),
            ),
            Some((_, b)) => self.found(
                Class::Deviation,
                "JoinGroup: every join phase forms a new generation",
                format!("generation {b} again, for another join phase"),
                Some("a new generation".into()),
            ),
            None => {}
        }
        if !self.generations.contains(&told) {
            self.generations.push(told);
        }
    }

    /// A leader's member list naming two members with one `group.instance.id` breaks
    /// `static_instance_unique`: two processes of one instance are both members.
    fn one_member_per_instance(&mut self, answer: &Response) {
        let Response::JoinGroup {
            error: ErrorCode::None,
            generation,
            members,
            ..
        } = answer
        else {
            return;
        };
        let names = self.names.clone();
        let listed: Vec<(MemberId, String)> = members
            .iter()
            .filter_map(|m| Some((*m, names.instance_of(*m)?)))
            .collect();
        let twice = listed.iter().enumerate().find_map(|(i, (m, instance))| {
            let (other, _) = listed[i + 1..].iter().find(|(_, j)| j == instance)?;
            Some((*m, *other, instance.clone()))
        });
        if let Some((m, other, instance)) = twice {
            self.broke(
                Property::StaticInstanceUnique,
                format!(
                    "generation {generation} lists both {} and {} with group.instance.id {instance}",
                    names.name(m),
                    names.name(other)
                ),
            );
        }
    }

    /// Notes what `d` holds after `answer`; a SyncGroup answer giving it partitions another
    /// member holds in the same generation, both members as the broker's own answers have it,
    /// breaks `single_owner` (a static member's newer incarnation replaces the older one).
    fn holds(&mut self, d: &Driven, answer: &Response) {
        let now = d.holding();
        if let Response::SyncGroup {
            error: ErrorCode::None,
            assignment,
            ..
        } = answer
        {
            let clash = self.holdings.iter().enumerate().find(|(j, h)| {
                let h = h.filter(|h| *j != d.k && h.generation == now.generation);
                h.is_some_and(|h| {
                    !h.owned.intersection(*assignment).is_empty()
                        && (h.instance.is_none() || h.instance != now.instance)
                })
            });
            if let Some((j, h)) = clash {
                let shared = h.expect("found").owned.intersection(*assignment);
                self.broke(
                    Property::SingleOwner,
                    format!(
                        "{shared} given to member #{} while member #{j} still owns it in the same generation",
                        d.k
                    ),
                );
            }
        }
        if self.holdings.len() <= d.k {
            self.holdings.resize(d.k + 1, None);
        }
        self.holdings[d.k] = Some(now);
    }

    /// Whether `d` was heard from within its session (and a tenth of it to spare) when a
    /// request went out at `sent_at`.
    fn heard_within_session(&self, d: &Driven, sent_at: Instant) -> bool {
        let session = self.cfg.session_timeout;
        sent_at.saturating_duration_since(d.heard_at) < session - session / 10
    }

    /// Sends `send`, which can wait for other members, on a thread of its own (after a
    /// coordinator move, on a new connection to the coordinator, as a client that was told
    /// NOT_COORDINATOR does).
    pub(super) fn send_waiting(
        &mut self,
        mut d: Driven,
        send: Send,
    ) -> Result<Waiting, ProbeError> {
        if self.moved {
            d.follow(&self.coordinator)?;
        }
        let mut wire = d.wire.take().expect("the member's connection is here");
        let request = send.request;
        let sent = request.clone();
        let thread = std::thread::spawn(move || {
            let answer = wire.call(&sent)?;
            Ok((wire, answer))
        });
        self.mirror.race(d.k);
        Ok(Waiting {
            d,
            request,
            thread: Some(thread),
            answer: None,
            sent_at: Instant::now(),
        })
    }

    /// The core takes, in every history the broker's answers allow ([`super::histories`]),
    /// the step whose answer is judged against the broker's `answer` to `d`: `step` takes it
    /// on one history, giving its result and the step's number, and `core` finds the core's
    /// answer in that result. An answer with a code the core does not know agrees with none.
    fn judge<T>(
        &mut self,
        d: &mut Driven,
        answer: &Response,
        step: impl Fn(&mut Mirror) -> (T, usize),
        core: impl Fn(&T) -> Option<&Response>,
    ) -> (T, usize) {
        let unknown = d.wire().unknown_code().is_some();
        let said = self.broker_gist(d.k, answer);
        let version = self.broker.join_version;
        self.mirror.judge(step, |history, result| {
            let agrees = |c: &Response| core_gist(history, c, version) == said;
            !unknown && core(result).is_some_and(agrees)
        })
    }

    /// [`Run::judge`] of `d`'s request, delivered to the core: the request its twin sent, the
    /// core's answer (none: parked) and the step's number.
    fn judge_delivery(
        &mut self,
        d: &mut Driven,
        answer: &Response,
    ) -> (Option<Request>, Option<Response>, usize) {
        let k = d.k;
        let deliver = |h: &mut Mirror| {
            let request = h.outbox(k).cloned();
            ((request, h.deliver(k)), h.taken.len())
        };
        let ((request, core), step) = self.judge(d, answer, deliver, |(_, c)| c.as_ref());
        (request, core, step)
    }

    /// What the broker's `answer` to member `k` says, its members named by their number in
    /// the scenario (a JoinGroup answer names `k` itself first).
    fn broker_gist(&mut self, k: usize, answer: &Response) -> String {
        let names = self.names.clone();
        if let Response::JoinGroup {
            member_id: Some(id),
            ..
        } = answer
        {
            self.name_member(&names.name(*id), k);
        }
        let number = |m: MemberId| {
            self.number_of(&names.name(m))
                .map_or("an unknown member".into(), |n| format!("#{n}"))
        };
        gist(answer, &number, self.broker.join_version)
    }

    /// Heartbeats of `d` while another member's request waits, until one is answered other
    /// than NONE (a rebalance has begun: the core takes the waiting request just before that
    /// answer, [`Run::judge`]) or `within` has passed. The request `d` sends next.
    pub(super) fn beat_until_rebalance(
        &mut self,
        d: &mut Driven,
        within: Duration,
    ) -> Result<Option<Send>, ProbeError> {
        let deadline = Instant::now() + within;
        loop {
            let Some(send) = self.act(d, Act::Heartbeat) else {
                return Ok(None);
            };
            let sent_at = Instant::now();
            let answer = d.wire().call(&send.request).map_err(io)?;
            let judged = self.judge_delivery(d, &answer);
            let rebalancing = answer.error() != ErrorCode::None;
            let next = self.answered(d, &send.request, judged, (answer, sent_at), "");
            if rebalancing || next.is_some() || Instant::now() >= deadline {
                return Ok(next);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Gives `w`'s request up to `up_to` to be answered (a broker that must answer it at once
    /// does), so that the broker has surely read it before the scenario goes on.
    pub(super) fn grace(&self, w: &Waiting, up_to: Duration) {
        let until = Instant::now() + up_to;
        while !w.is_answered() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `d`'s heartbeat thread keeps its session alive while its next request is held back
    /// (a Java consumer's heartbeat thread heartbeats while its application thread has yet to
    /// rejoin): a Heartbeat in its generation, judged, which `d` does not act on.
    /// `timer`, if given, is one the broker may have fired meanwhile: the core fires it just
    /// before a Heartbeat the broker answers other than NONE.
    pub(super) fn keep_alive(
        &mut self,
        d: &mut Driven,
        timer: &mut Option<Step>,
    ) -> Result<(), ProbeError> {
        let c = &d.consumer;
        let (Some(member_id), Some(generation)) = (c.member_id, c.generation) else {
            return Ok(());
        };
        if c.is_closed() {
            return Ok(());
        }
        let request = Request::Heartbeat {
            member_id,
            generation,
            instance: c.instance,
        };
        let sent_at = Instant::now();
        let answer = d.wire().call(&request).map_err(io)?;
        if answer.error() != ErrorCode::None {
            self.mirror.loaded();
            self.fire(timer);
        }
        let k = d.k;
        let beat = |h: &mut Mirror| {
            let error = h.keep_alive(k);
            (
                error.map(|error| Response::Heartbeat { error }),
                h.taken.len(),
            )
        };
        let (core, step) = self.judge(d, &answer, beat, Option::as_ref);
        let core = core.map(|c| c.error());
        let live = self.heard_within_session(d, sent_at);
        // A Heartbeat restarts the member's session on the broker.
        (d.answered_at, d.heard_at) = (Instant::now(), Instant::now());
        let names = self.names.clone();
        self.saw(
            &d.name,
            format!(
                "{} (the heartbeat thread)",
                names.rename(&request.to_string())
            ),
            names.rename(&answer.to_string()),
        );
        self.expect_at(answer.error().code(), core, rule(&request), step);
        self.observe(&Answered {
            k: d.k,
            request: &request,
            answer: &answer,
            sent_at,
            core,
            live,
        });
        Ok(())
    }

    /// Waits for `w`'s answer and judges it; meanwhile `other` heartbeats every third of its
    /// session, as a client's heartbeat thread does. The member back, with the request it
    /// sends next.
    pub(super) fn waited(
        &mut self,
        w: Waiting,
        other: &mut Driven,
    ) -> Result<(Driven, Option<Send>), ProbeError> {
        let mut beat = Instant::now();
        while !w.is_answered() {
            if beat.elapsed() >= self.cfg.session_timeout / 3 {
                self.keep_alive(other, &mut None)?;
                beat = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.collect(w)
    }

    /// Judges `w`'s answer, which has come (or waits for it): the member back, with the
    /// request it sends next.
    pub(super) fn collect(&mut self, mut w: Waiting) -> Result<(Driven, Option<Send>), ProbeError> {
        let answered = match w.answer.take() {
            Some(answered) => *answered,
            None => (w.thread.take().expect("a request on its thread"))
                .join()
                .expect("a request thread does not panic"),
        };
        let (wire, answer) = answered.map_err(io)?;
        let mut d = w.d;
        d.wire = Some(wire);
        // The racing requests, its own among them, the broker read before it answered.
        let k = d.k;
        let raced = |h: &mut Mirror| {
            let (request, core, step) = h.raced_answer(k);
            ((request, core), step)
        };
        let ((core_request, core), step) = self.judge(&mut d, &answer, raced, |(_, c)| c.as_ref());
        let note = " (sent on a thread: it waited for another member)";
        let judged = (core_request, core, step);
        let answered = (answer, w.sent_at);
        let next = self.answered(&mut d, &w.request, judged, answered, note);
        Ok((d, next))
    }

    /// `d` closes (commits, then leaves, or, static, only commits), unjudged after a
    /// deviation.
    pub(super) fn close(&mut self, d: &mut Driven) -> Result<(), ProbeError> {
        if self.deviated() {
            return Ok(());
        }
        let send = self.act(d, Act::Close);
        self.drive_alone(d, send).map(drop)
    }

    /// `d` gives up on `send`, which it was about to send (its request timed out while still
    /// in the network, where it may yet arrive: [`Run::late`]), and carries on as a client
    /// does: the request it makes next.
    pub(super) fn abandon(&mut self, d: &mut Driven, send: &Send) -> Option<Send> {
        self.mirror.abandon(d.k);
        let cfg = self.mirror.cfg;
        let next = d.consumer.abandon_request(&cfg);
        let next = d.rediscovered(next, &cfg);
        let request = self.names.rename(&send.request.to_string());
        let name = d.name.clone();
        self.saw(
            &name,
            format!("(gives up on {request}: it stays in the network)"),
            String::new(),
        );
        next
    }

    /// After a move, waits until the group's new coordinator has loaded the group: an
    /// OffsetFetch on a connection of the probe's own, repeated while it is answered that the
    /// coordinator is moving (not judged: how long a move takes is the broker's business).
    pub(super) fn await_loaded(&mut self) -> Result<(), ProbeError> {
        self.moved = true;
        let request = Request::OffsetFetch {
            partitions: Partitions::all(self.mirror.cfg.partitions),
        };
        let deadline = Instant::now() + LOADING_WITHIN;
        let answer = loop {
            self.coordinator = super::coordinator(self.cfg, &self.group)?;
            let answer = self.connect("probe")?.call(&request);
            let answer = answer.map_err(io)?;
            if !answer.error().coordinator_moving() || Instant::now() >= deadline {
                break answer;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let sent = format!("{request} (not judged: has the new coordinator loaded the group?)");
        self.saw("probe", sent, answer.error().name().to_string());
        self.mirror.loaded();
        Ok(())
    }

    /// The request member `k` gave up on arrives, on a connection of its own (the broker
    /// cannot tell it from any other late request); the answer, judged against the core's,
    /// is read by nobody. One that can wait for other members is given a tenth of the session
    /// to be answered where the core holds it, twice the session and five seconds where the
    /// core answers it; held longer, its answer is not waited for.
    pub(super) fn late(
        &mut self,
        k: usize,
        name: &str,
        request: &Request,
    ) -> Result<(), ProbeError> {
        let mut wire = self.connect(&format!("{}-late", name.to_lowercase()))?;
        let sent_at = Instant::now();
        let (core, answered) = if can_wait(request) {
            let core = self.mirror.deliver_late(k);
            let sent = request.clone();
            let thread = std::thread::spawn(move || wire.call(&sent).map(|a| (wire, a)));
            let session = self.cfg.session_timeout;
            let until = Instant::now()
                + match core {
                    Some(_) => session * 2 + Duration::from_secs(5),
                    None => session / 10,
                };
            while !thread.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
            let answered = match thread.is_finished() {
                true => Some(thread.join().expect("a request thread does not panic")),
                false => None,
            };
            (core, answered.transpose().map_err(io)?)
        } else {
            let answer = wire.call(request).map_err(io)?;
            (self.mirror.deliver_late(k), Some((wire, answer)))
        };
        let names = self.names.clone();
        let late = format!(
            "{} (late: its client gave up on it)",
            names.rename(&request.to_string())
        );
        let core_error = core.as_ref().map(Response::error);
        let Some((wire, answer)) = answered else {
            self.saw(name, late, "(held: its answer is read by nobody)".into());
            if let Some(c) = core_error {
                let kafka = Some(c.name().to_string());
                self.found(Class::Deviation, rule(request), "no answer".into(), kafka);
            }
            return Ok(());
        };
        self.saw(name, late, names.rename(&answer.to_string()));
        let step = self.mirror.stamp();
        self.expect_at(wire.sent_code(&answer), core_error, rule(request), step);
        self.observe(&Answered {
            k,
            request,
            answer: &answer,
            sent_at,
            core: core_error,
            live: false,
        });
        Ok(())
    }
}
