//! The server: brokers listening on 127.0.0.1, a thread per connection, requests answered one at
//! a time per connection in the order they came (as Kafka does: a connection's next request is
//! read only once the previous one is answered).

use super::api;
use super::frame::{self, Decoded, FrameError, Undecodable};
use super::group::{Conn, Group};
use super::topics::Topics;
use crate::coordinator::{CoreConfig, GroupState, LoadState};
use crate::flaw::Flaws;
use crate::protocol::{Assignor, BrokerId, ClientAddr, ConsumerId, Generation};
use crate::runtime::history::{self, ClientFinding, Violation};
use crate::runtime::live::Rng;
use crate::runtime::service::GroupService;
use crate::runtime::sync::lock;
use crate::runtime::threads;
use crate::runtime::timers::Timers;
use crate::runtime::Event;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Brokers, each on its own port; broker 0 leads `__consumer_offsets` first.
    pub brokers: u8,
    /// Broker `b` listens on `port + b`; 0 picks free ports.
    pub port: u16,
    /// Partitions of every topic (at most 16: the core's partitions of one topic).
    pub partitions: u8,
    /// Topics that exist from the start (others are created on first use).
    pub topics: Vec<String>,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// How long a newly elected coordinator takes to load the group.
    pub load_time: Duration,
    /// How often the followers fetch `__consumer_offsets`: a write becomes durable (and what
    /// waits for it answered) up to this long after it is appended. Slow followers widen the
    /// window in which a coordinator move loses what is not durable yet.
    pub replication_interval: Duration,
    pub flaws: Flaws,
    /// Faults injected on a seeded schedule, if any.
    pub faults: Option<FaultSchedule>,
    /// Print a timeline of the groups' rebalances.
    pub verbose: bool,
}

/// A fault the server can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServeFault {
    /// Every group's coordinator moves to the next broker (needs two brokers).
    Failover,
    /// A broker stops serving for a while (a third to four thirds of the session timeout):
    /// its connections' requests wait, so a long pause expires its clients' sessions.
    Pause,
    /// The server closes one client connection.
    Drop,
    /// The next OffsetCommit is processed after the session timeout (and the requests behind
    /// it on its connection with it): a commit from a zombie.
    Late,
}

impl ServeFault {
    pub const ALL: [ServeFault; 4] = [
        ServeFault::Failover,
        ServeFault::Pause,
        ServeFault::Drop,
        ServeFault::Late,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ServeFault::Failover => "failover",
            ServeFault::Pause => "pause",
            ServeFault::Drop => "drop",
            ServeFault::Late => "late",
        }
    }
}

impl std::str::FromStr for ServeFault {
    type Err = String;

    fn from_str(name: &str) -> Result<ServeFault, String> {
        ServeFault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = ServeFault::ALL.iter().map(|f| f.name()).collect();
                format!("unknown fault `{name}` (one of {})", names.join(", "))
            })
    }
}

/// Faults on a schedule: every `every`, one of `kinds`, chosen by a generator seeded with
/// `seed` (the same seed gives the same sequence of choices; what they meet depends on timing),
/// at most `limit` of them.
#[derive(Clone, Debug)]
pub struct FaultSchedule {
    pub every: Duration,
    pub seed: u64,
    pub kinds: Vec<ServeFault>,
    pub limit: Option<u32>,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            brokers: 1,
            port: 0,
            partitions: 3,
            topics: Vec::new(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(10),
            load_time: Duration::from_millis(200),
            replication_interval: FOLLOWER_FETCH,
            flaws: Flaws::default(),
            faults: None,
            verbose: false,
        }
    }
}

/// At most this many groups: each has its own coordinators and clocks, and a client must not be
/// able to exhaust the server by naming groups.
pub const MAX_GROUPS: usize = 64;

pub(super) struct Shared {
    pub cfg: ServeConfig,
    pub ports: Vec<u16>,
    pub topics: Topics,
    groups: Mutex<BTreeMap<String, Arc<Group>>>,
    stop: Arc<AtomicBool>,
    /// The open connections, to close them when the server stops.
    connections: Mutex<BTreeMap<u64, TcpStream>>,
    next_connection: AtomicU64,
    loading: Mutex<Vec<(Arc<Group>, BrokerId, Instant)>>,
    /// Fault: the next OffsetCommit is processed only after this delay.
    late_commit: Mutex<Option<Duration>>,
    /// Fault: each broker stops serving until then.
    paused_until: Mutex<Vec<Option<Instant>>>,
    /// The faults injected, by kind.
    injected: Mutex<BTreeMap<&'static str, u32>>,
    /// The fault schedule has been stopped.
    faults_stopped: AtomicBool,
    pub requests: AtomicU64,
    pub refused_connections: AtomicU64,
    /// The server's threads that panicked, each with its message.
    panics: Mutex<Vec<String>>,
    start: Instant,
}

impl Shared {
    fn panicked(&self, what: String) {
        lock(&self.panics).push(what);
    }

    pub fn say(&self, what: &str) {
        if self.cfg.verbose {
            println!("{:>8.3} s  {what}", self.start.elapsed().as_secs_f64());
        }
    }

    /// The group named `name`, created empty on first mention (as Kafka's coordinator creates
    /// a group on its first JoinGroup); `None` past [`MAX_GROUPS`].
    pub fn group(self: &Arc<Self>, name: &str) -> Option<Arc<Group>> {
        let mut groups = lock(&self.groups);
        if let Some(g) = groups.get(name) {
            return Some(g.clone());
        }
        if groups.len() >= MAX_GROUPS {
            return None;
        }
        let core = CoreConfig {
            partitions: self.cfg.partitions,
            assignor: Assignor::Range,
            flaws: self.cfg.flaws,
        };
        let service = Arc::new(GroupService::new(core, self.cfg.brokers, true));
        let shared = self.clone();
        let named = name.to_string();
        let timers = Timers::start(
            service.clone(),
            self.cfg.session_timeout,
            self.cfg.rebalance_timeout,
            Box::new(move |timer| shared.say(&format!("{named}: {timer}"))),
        );
        let group = Arc::new(Group::new(service, timers));
        groups.insert(name.to_string(), group.clone());
        self.say(&format!("group {name} created"));
        Some(group)
    }

    /// Leadership of the group's `__consumer_offsets` partition moves to the next broker,
    /// which loads the group for the configured load time.
    fn failover(&self, name: &str, group: &Arc<Group>) -> BrokerId {
        let service = &group.service;
        let from = service.find_coordinator();
        let to = BrokerId(((from.index() + 1) % service.brokers()) as u8);
        service.failover(to);
        self.say(&format!("{name}: failover broker-{from} → broker-{to}"));
        let due = Instant::now() + self.cfg.load_time;
        let mut loading = lock(&self.loading);
        loading.push((group.clone(), to, due));
        to
    }

    /// Waits while `broker` is paused (or until the server stops).
    fn wait_while_paused(&self, broker: BrokerId) {
        loop {
            let until = lock(&self.paused_until)[broker.index()];
            match until {
                Some(t) if Instant::now() < t && !self.stop.load(Ordering::Relaxed) => {
                    thread::sleep(Duration::from_millis(5).min(t - Instant::now()))
                }
                _ => return,
            }
        }
    }

    fn groups(&self) -> Vec<(String, Arc<Group>)> {
        let groups = lock(&self.groups);
        groups.iter().map(|(n, g)| (n.clone(), g.clone())).collect()
    }
}

/// A running server.
pub struct Server {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    seen: Mutex<BTreeMap<String, (Generation, GroupState)>>,
}

/// What a served run did, and what its histories broke.
#[derive(Debug, Default)]
pub struct ServeReport {
    pub requests: u64,
    /// The faults injected, by kind.
    pub faults: Vec<(&'static str, u32)>,
    pub groups: Vec<GroupReport>,
    /// The server's threads that panicked: a bug of the server's, whose requests are missing
    /// from the histories, so the run cannot vouch for them.
    pub panics: Vec<String>,
}

/// One group's run.
#[derive(Debug)]
pub struct GroupReport {
    pub name: String,
    /// The configuration of the group's core, and its brokers.
    pub core: CoreConfig,
    pub brokers: u8,
    pub events: Vec<Event>,
    /// What the coordinator broke.
    pub violations: Vec<Violation>,
    /// What the clients did that the model's consumer never does (see
    /// [`history::ClientFinding`]).
    pub client_findings: Vec<ClientFinding>,
}

impl ServeReport {
    pub fn client_findings(&self) -> impl Iterator<Item = (&str, &ClientFinding)> {
        self.groups
            .iter()
            .flat_map(|g| g.client_findings.iter().map(move |f| (g.name.as_str(), f)))
    }

    pub fn violations(&self) -> impl Iterator<Item = (&str, &Violation)> {
        self.groups
            .iter()
            .flat_map(|g| g.violations.iter().map(move |v| (g.name.as_str(), v)))
    }
}

impl Server {
    /// Binds every broker's port on 127.0.0.1 and starts serving.
    pub fn start(cfg: ServeConfig) -> std::io::Result<Server> {
        let mut listeners = Vec::new();
        for b in 0..cfg.brokers.max(1) {
            let port = if cfg.port == 0 {
                0
            } else {
                cfg.port + u16::from(b)
            };
            listeners.push(TcpListener::bind(("127.0.0.1", port))?);
        }
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<Vec<u16>>>()?;
        let cfg_brokers = cfg.brokers.max(1);
        let shared = Arc::new(Shared {
            topics: Topics::new(cfg.partitions, &cfg.topics),
            cfg,
            ports,
            groups: Mutex::new(BTreeMap::new()),
            stop: Arc::new(AtomicBool::new(false)),
            connections: Mutex::new(BTreeMap::new()),
            next_connection: AtomicU64::new(0),
            loading: Mutex::new(Vec::new()),
            late_commit: Mutex::new(None),
            paused_until: Mutex::new(vec![None; usize::from(cfg_brokers)]),
            injected: Mutex::new(BTreeMap::new()),
            faults_stopped: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            refused_connections: AtomicU64::new(0),
            panics: Mutex::new(Vec::new()),
            start: Instant::now(),
        });
        let mut threads = Vec::new();
        for (b, listener) in listeners.into_iter().enumerate() {
            listener.set_nonblocking(true)?;
            let shared = shared.clone();
            let broker = BrokerId(b as u8);
            threads.push(thread::spawn(move || accept(shared, broker, listener)));
        }
        let background = shared.clone();
        threads.push(thread::spawn(move || replicate_and_load(background)));
        if let Some(schedule) = shared.cfg.faults.clone() {
            let injecting = shared.clone();
            threads.push(thread::spawn(move || inject_faults(injecting, schedule)));
        }
        Ok(Server {
            shared,
            threads,
            seen: Mutex::new(BTreeMap::new()),
        })
    }

    /// The ports of the brokers, broker 0 first.
    pub fn ports(&self) -> &[u16] {
        &self.shared.ports
    }

    /// `bootstrap.servers` for a client.
    pub fn bootstrap(&self) -> String {
        let hosts: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        hosts.join(",")
    }

    /// The group named `name`, if a client has mentioned it.
    pub fn group(&self, name: &str) -> Option<Arc<Group>> {
        let groups = lock(&self.shared.groups);
        groups.get(name).cloned()
    }

    /// Fault: leadership of the group's `__consumer_offsets` partition moves to the next broker,
    /// which loads the group for the configured load time. Returns the new coordinator.
    pub fn failover(&self, name: &str) -> Option<BrokerId> {
        let group = self.group(name)?;
        Some(self.shared.failover(name, &group))
    }

    /// Fault: the next OffsetCommit (of any group) is processed `delay` late, as a request
    /// stuck in a broker's queue is. Its connection's later requests wait behind it (Kafka
    /// reads a connection's next request only once this one is answered), so a delay longer
    /// than the session timeout makes the committer a zombie by the time its commit is seen.
    pub fn process_next_commit_late(&self, delay: Duration) {
        *lock(&self.shared.late_commit) = Some(delay);
    }

    /// Stops the fault schedule (a test's clients then finish in peace).
    pub fn stop_faults(&self) {
        self.shared.faults_stopped.store(true, Ordering::Relaxed);
    }

    /// What changed since the last call: each group that reached a new generation, or a new
    /// state, with the assignment once it is Stable.
    pub fn timeline(&self) -> Vec<String> {
        let mut seen = lock(&self.seen);
        let mut lines = Vec::new();
        for (name, group) in self.shared.groups() {
            let (brokers, log) = group.service.snapshot();
            let leader = &brokers[log.leader.index()];
            if leader.load != LoadState::Active {
                continue;
            }
            let now = (leader.group.generation, leader.group.state);
            if seen.insert(name.clone(), now) == Some(now) {
                continue;
            }
            let members: Vec<String> = leader
                .group
                .members
                .iter()
                .map(|m| format!("{}:{}", m.id, m.assignment))
                .collect();
            let protocol = leader
                .group
                .protocol
                .map(|a| format!(" ({})", group.protocol_name(a)))
                .unwrap_or_default();
            lines.push(format!(
                "{name}: broker-{} {:?} at generation {}{protocol}: {}",
                leader.broker,
                now.1,
                now.0,
                members.join(" ")
            ));
        }
        lines
    }

    /// Requests handled so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Stops serving: closes every connection, stops the clocks, makes the log durable, and
    /// judges each group's history by the model's properties.
    pub fn stop(mut self) -> ServeReport {
        self.halt();
        let injected = lock(&self.shared.injected).clone();
        let mut report = ServeReport {
            requests: self.requests(),
            faults: injected.into_iter().collect(),
            groups: Vec::new(),
            panics: Vec::new(),
        };
        for (name, group) in self.shared.groups() {
            if let Some(t) = lock(&group.timers).take() {
                if let Err(e) = t.stop() {
                    self.shared.panicked(format!("group {name}: {e}"));
                }
            }
            while group.service.replicate() {}
            let events = group.service.events();
            let (violations, client_findings) =
                history::check_real_clients(&events, self.shared.cfg.partitions);
            report.groups.push(GroupReport {
                name,
                core: *group.service.config(),
                brokers: self.shared.cfg.brokers,
                events,
                violations,
                client_findings,
            });
        }
        report.panics = std::mem::take(&mut *lock(&self.shared.panics));
        report
    }

    fn halt(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let open = std::mem::take(&mut *lock(&self.shared.connections));
        for c in open.values() {
            let _ = c.shutdown(Shutdown::Both);
        }
        for t in self.threads.drain(..) {
            if let Err(e) = threads::join(t, "a server thread") {
                self.shared.panicked(e);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.halt();
    }
}

fn accept(shared: Arc<Shared>, broker: BrokerId, listener: TcpListener) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let registered = stream.try_clone().and_then(|clone| {
                    stream.set_nonblocking(false)?;
                    stream.set_nodelay(true)?;
                    Ok(clone)
                });
                let Ok(clone) = registered else {
                    shared.refused_connections.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let n = shared.next_connection.fetch_add(1, Ordering::Relaxed);
                lock(&shared.connections).insert(n, clone);
                let shared = shared.clone();
                connections.push(thread::spawn(move || {
                    // A panic ends this connection only; the run reports it.
                    let serving =
                        AssertUnwindSafe(|| serve_connection(shared.clone(), broker, n, stream));
                    if let Err(payload) = std::panic::catch_unwind(serving) {
                        let who = format!("connection {n} to broker-{broker}");
                        shared.panicked(threads::panicked(&who, &*payload));
                    }
                }));
                connections.retain(|t| !t.is_finished());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
    for t in connections {
        let _ = t.join();
    }
}

/// The followers' fetch by default: every 200 µs, so a commit waits for its replication about
/// that long (Kafka's followers fetch continuously; a few milliseconds is usual).
const FOLLOWER_FETCH: Duration = Duration::from_micros(200);

/// Replication of every group's `__consumer_offsets` writes (each `replication_interval`), and
/// coordinators finishing their loads when due.
fn replicate_and_load(shared: Arc<Shared>) {
    let mut fetched = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        if fetched.elapsed() >= shared.cfg.replication_interval {
            fetched = Instant::now();
            for (_, group) in shared.groups() {
                while group.service.replicate() {}
            }
        }
        let now = Instant::now();
        let due: Vec<_> = {
            let mut loading = lock(&shared.loading);
            let (due, later) = loading.drain(..).partition(|(_, _, at)| *at <= now);
            *loading = later;
            due
        };
        for (group, broker, _) in due {
            if group.service.finish_loading(broker) {
                shared.say(&format!("broker-{broker} finished loading"));
            }
        }
        thread::sleep(FOLLOWER_FETCH.min(shared.cfg.replication_interval));
    }
}

fn serve_connection(shared: Arc<Shared>, broker: BrokerId, n: u64, stream: TcpStream) {
    // Each connection is a client of its own to the service (its replies go to its mailbox).
    let conn = Conn {
        broker,
        addr: ClientAddr {
            consumer: ConsumerId((n % 256) as u8),
            incarnation: (n / 256) as u32,
            connection: 0,
        },
        stopping: shared.stop.clone(),
    };
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = BufWriter::new(stream);
    loop {
        let frame = match frame::read_frame(&mut reader) {
            Ok(f) => f,
            Err(FrameError::Closed) => break,
            Err(e) => {
                shared.say(&format!("{}: closing: {e}", conn.addr));
                break;
            }
        };
        // The codec must not take the server down, whatever the bytes.
        let decoded = std::panic::catch_unwind(|| frame::decode(frame, api::supports))
            .unwrap_or_else(|_| Err(Undecodable::NotARequest("the codec failed".into())));
        shared.wait_while_paused(conn.broker);
        let answered = match decoded {
            Ok(request) => {
                shared.requests.fetch_add(1, Ordering::Relaxed);
                let version = request.header.request_api_version;
                let correlation = request.header.correlation_id;
                let api = request.api;
                match handle(&shared, &conn, request) {
                    Some(response) => {
                        let written = frame::write_response(
                            &mut writer,
                            api,
                            version,
                            correlation,
                            &response,
                        );
                        // An answer that does not encode at its version is this server's bug:
                        // said aloud, whatever the verbosity.
                        if let Err(e) = &written {
                            if e.kind() == std::io::ErrorKind::InvalidData {
                                eprintln!(
                                    "groupcheck serve: cannot encode {api:?} v{version}: {e}"
                                );
                            }
                        }
                        written
                    }
                    None => Ok(()),
                }
            }
            Err(Undecodable::UnsupportedVersion { header, api }) if api == ApiKey::ApiVersions => {
                frame::write_response(
                    &mut writer,
                    api,
                    0,
                    header.correlation_id,
                    &ResponseKind::ApiVersions(api::unsupported_api_versions()),
                )
            }
            Err(e) => {
                // Kafka closes a connection whose request it cannot read.
                shared.say(&format!("{}: closing: {e}", conn.addr));
                break;
            }
        };
        if answered.is_err() {
            break;
        }
    }
    for (_, group) in shared.groups() {
        group.service.disconnect(conn.addr);
    }
    let registered = lock(&shared.connections).remove(&n);
    if let Some(stream) = registered {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// The answer to one request (`None`: Kafka sends none, e.g. Produce with `acks=0`).
fn handle(shared: &Arc<Shared>, conn: &Conn, request: Decoded) -> Option<ResponseKind> {
    let version = request.header.request_api_version;
    Some(match request.request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api::api_versions()),
        RequestKind::Metadata(r) => ResponseKind::Metadata(api::metadata(shared, &r, version)),
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(api::find_coordinator(shared, &r, version))
        }
        RequestKind::Produce(r) => {
            let response = api::produce(shared, &r);
            return (r.acks != 0).then_some(ResponseKind::Produce(response));
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(api::init_producer_id(shared, &r))
        }
        RequestKind::Fetch(r) => ResponseKind::Fetch(api::fetch(shared, &r)),
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(api::list_offsets(shared, &r, version))
        }
        RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(match shared.group(&r.group_id) {
            Some(g) => g.join_group(conn, &r, version),
            None => api::no_group_join(),
        }),
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(match shared.group(&r.group_id) {
            Some(g) => g.sync_group(conn, &r),
            None => api::no_group_sync(),
        }),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(match shared.group(&r.group_id) {
            Some(g) => g.heartbeat(conn, &r),
            None => api::no_group_heartbeat(),
        }),
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(match shared.group(&r.group_id) {
            Some(g) => g.leave_group(conn, &r, version),
            None => api::no_group_leave(),
        }),
        RequestKind::OffsetCommit(r) => {
            let late = lock(&shared.late_commit).take();
            if let Some(delay) = late {
                shared.say(&format!("{}: OffsetCommit held for {delay:?}", conn.addr));
                thread::sleep(delay);
            }
            ResponseKind::OffsetCommit(match shared.group(&r.group_id) {
                Some(g) => g.offset_commit(conn, &r),
                None => api::no_group_commit(&r),
            })
        }
        RequestKind::OffsetFetch(r) => {
            ResponseKind::OffsetFetch(api::offset_fetch(shared, conn, &r, version))
        }
        // `api::supports` lets nothing else through.
        _ => return None,
    })
}

/// Injects a fault of the schedule's kinds every `every`, until the server stops.
fn inject_faults(shared: Arc<Shared>, schedule: FaultSchedule) {
    let mut rng = Rng(schedule.seed.max(1));
    let mut next = Instant::now() + schedule.every;
    let mut injected = 0;
    while !shared.stop.load(Ordering::Relaxed) && !shared.faults_stopped.load(Ordering::Relaxed) {
        if Instant::now() < next {
            thread::sleep(Duration::from_millis(10));
            continue;
        }
        if schedule.limit.is_some_and(|limit| injected >= limit) {
            return;
        }
        next += schedule.every;
        let applicable: Vec<ServeFault> = schedule
            .kinds
            .iter()
            .copied()
            .filter(|k| *k != ServeFault::Failover || shared.cfg.brokers > 1)
            .collect();
        if applicable.is_empty() {
            continue;
        }
        let kind = applicable[rng.below(applicable.len() as u64) as usize];
        injected += 1;
        let session = shared.cfg.session_timeout;
        match kind {
            ServeFault::Failover => {
                for (name, group) in shared.groups() {
                    shared.failover(&name, &group);
                }
            }
            ServeFault::Pause => {
                let broker = rng.below(u64::from(shared.cfg.brokers.max(1))) as usize;
                // A third to four thirds of the session timeout.
                let pause = session / 3 * (1 + rng.below(4) as u32);
                shared.say(&format!("broker-{broker} pauses for {pause:?}"));
                lock(&shared.paused_until)[broker] = Some(Instant::now() + pause);
            }
            ServeFault::Drop => {
                let open = lock(&shared.connections);
                let keys: Vec<u64> = open.keys().copied().collect();
                if let Some(n) = keys.get(rng.below(keys.len() as u64) as usize) {
                    let _ = open[n].shutdown(Shutdown::Both);
                    drop(open);
                    shared.say(&format!("connection {n} dropped"));
                }
            }
            ServeFault::Late => {
                *lock(&shared.late_commit) = Some(session + Duration::from_millis(500));
                shared.say("the next OffsetCommit will be processed late");
            }
        }
        *lock(&shared.injected).entry(kind.name()).or_default() += 1;
    }
}
