//! Real consumer groups on `groupcheck serve`: librdkafka (the `rdkafka` crate) consumers form
//! groups on the verified coordinator over Kafka's wire protocol, under kills and coordinator
//! failovers, and every run's history is judged by the model's properties.
//!
//! Each consumer is a child process (this test binary again, in consumer mode), so that one can
//! be killed for real: it sends no LeaveGroup, and its session must expire. A scenario:
//! a producer writes known records; three consumers poll them with auto-commit; the scenario's
//! fault happens; once every record has been consumed, the consumers close. It passes when
//! every record was consumed at least once, the committed offsets reach the end of every
//! partition, and the server's recorded history breaks no property. Duplicates (records
//! consumed twice, which a rebalance or a kill legitimately causes) are counted and printed.
//!
//! A plain binary (`harness = false`), so that its consumer mode is not a test of its own.

use groupcheck::coordinator::GroupState;
use groupcheck::flaw::Flaw;
use groupcheck::protocol::{ErrorCode, Request};
use groupcheck::runtime::{Event, Timer};
use groupcheck::trace::served::{self, ServedTrace};
use groupcheck::trace::AnyTrace;
use groupcheck::wire::{FaultSchedule, ServeConfig, ServeFault, Server};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const TOPIC: &str = "orders";
const GROUP: &str = "checkout";
const PARTITIONS: u8 = 3;
const RECORDS: usize = 60;
/// Short timeouts, so that a killed member is expired and a group forms within seconds.
const SESSION_MS: u64 = 3000;
/// The faults of the seeded schedule.
const FAULTS: u32 = 8;
/// Scenarios run at once.
const PARALLEL: usize = 7;
/// How long a consumer takes to process one record.
const PROCESSING: Duration = Duration::from_millis(50);
/// The longest a scenario may take before it is a failure.
const DEADLINE: Duration = Duration::from_secs(40);

/// The consumer's settings, passed to the child process.
#[derive(Clone, Copy, Debug)]
struct Mode {
    strategy: &'static str,
    static_members: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    /// One consumer is killed (no LeaveGroup) once a third of the records are consumed.
    Kill,
    /// The third consumer joins once a third of the records are consumed, and the coordinator
    /// fails over while that rebalance is under way.
    FailoverDuringRebalance,
    /// One consumer process is stopped (SIGSTOP) for longer than its session, then resumed: a
    /// zombie whose commits the coordinator must fence.
    Pause,
    /// The server processes the next OffsetCommit only after the committer's session has
    /// expired: a commit from a zombie, which the coordinator must fence.
    LateCommit,
    /// Garbage on the wire from other connections while the group runs.
    Garbage,
    /// Two brokers, and the server's own seeded schedule: every 300 ms a failover, a broker
    /// pausing, a connection dropped or a commit processed late, [`FAULTS`] in all.
    Schedule,
}

struct Scenario {
    name: &'static str,
    mode: Mode,
    fault: Fault,
    /// A flaw switched on in the server's core, and the properties it must break.
    flaw: Option<(Flaw, &'static [&'static str])>,
}

fn main() {
    if let Ok(bootstrap) = std::env::var("GROUPCHECK_SERVE_CONSUMER") {
        consumer_process(&bootstrap);
        return;
    }
    let eager_range = Mode {
        strategy: "range",
        static_members: false,
    };
    let scenarios = [
        Scenario {
            name: "eager range",
            mode: eager_range,
            fault: Fault::None,
            flaw: None,
        },
        Scenario {
            name: "eager round-robin",
            mode: Mode {
                strategy: "roundrobin",
                static_members: false,
            },
            fault: Fault::None,
            flaw: None,
        },
        Scenario {
            name: "cooperative-sticky",
            mode: Mode {
                strategy: "cooperative-sticky",
                static_members: false,
            },
            fault: Fault::None,
            flaw: None,
        },
        Scenario {
            name: "static members (range)",
            mode: Mode {
                strategy: "range",
                static_members: true,
            },
            fault: Fault::None,
            flaw: None,
        },
        Scenario {
            name: "eager range, a member killed",
            mode: eager_range,
            fault: Fault::Kill,
            flaw: None,
        },
        Scenario {
            name: "cooperative-sticky, a member killed",
            mode: Mode {
                strategy: "cooperative-sticky",
                static_members: false,
            },
            fault: Fault::Kill,
            flaw: None,
        },
        Scenario {
            name: "eager range, failover during a rebalance",
            mode: eager_range,
            fault: Fault::FailoverDuringRebalance,
            flaw: None,
        },
        Scenario {
            name: "eager range, a member paused past its session",
            mode: eager_range,
            fault: Fault::Pause,
            flaw: None,
        },
        Scenario {
            name: "eager range, a commit processed after its member's session expired",
            mode: eager_range,
            fault: Fault::LateCommit,
            flaw: None,
        },
        Scenario {
            name:
                "flaw commit-without-fencing, a commit processed after its member's session expired",
            mode: eager_range,
            fault: Fault::LateCommit,
            flaw: Some((Flaw::CommitWithoutFencing, &["no_zombie_commit"])),
        },
        Scenario {
            name: "cooperative-sticky, seeded faults",
            mode: Mode {
                strategy: "cooperative-sticky",
                static_members: false,
            },
            fault: Fault::Schedule,
            flaw: None,
        },
        Scenario {
            name: "eager range, garbage on the wire",
            mode: eager_range,
            fault: Fault::Garbage,
            flaw: None,
        },
        Scenario {
            name: "flaw sync-ack-before-persist",
            mode: eager_range,
            fault: Fault::None,
            flaw: Some((Flaw::SyncAckBeforePersist, &["durable_before_ack"])),
        },
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen: Vec<&Scenario> = scenarios
        .iter()
        .filter(|s| filter.is_empty() || filter.iter().any(|f| s.name.contains(f.as_str())))
        .collect();
    // Scenarios run a few at a time: each has its own server on its own ports, and mostly waits.
    let mut failed = Vec::new();
    for batch in chosen.chunks(PARALLEL) {
        let results: Vec<(&str, Result<String, String>, f64)> = thread::scope(|scope| {
            let running: Vec<_> = batch
                .iter()
                .map(|s| {
                    scope.spawn(move || {
                        let start = Instant::now();
                        (s.name, judge(s), start.elapsed().as_secs_f64())
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|t| t.join().expect("a scenario runs"))
                .collect()
        });
        for (name, judged, secs) in results {
            match judged {
                Ok(summary) => println!("ok    {name} ({secs:.1} s): {summary}"),
                Err(why) => {
                    println!("FAIL  {name} ({secs:.1} s): {why}");
                    failed.push(name);
                }
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("failed: {}", failed.join(", "));
        std::process::exit(1);
    }
}

/// Runs a scenario and judges it against its expectation: no property broken, or, with a flaw,
/// the flaw's properties broken.
fn judge(s: &Scenario) -> Result<String, String> {
    let expected = s.flaw.map_or(&[][..], |(_, properties)| properties);
    let (summary, broken) = run(s)?;
    let as_expected = if expected.is_empty() {
        broken.is_empty()
    } else {
        expected
            .iter()
            .all(|p| broken.iter().any(|b| b.starts_with(p)))
    };
    // The first few violations tell the story.
    let shown = broken
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    let more = broken.len().saturating_sub(3);
    let shown = if more > 0 {
        format!("{shown} (and {more} more)")
    } else {
        shown
    };
    match as_expected {
        true if broken.is_empty() => Ok(format!("{summary}, no property broken")),
        true => Ok(format!("{summary}; broken as expected: {shown}")),
        false if broken.is_empty() => Err(format!(
            "{summary}; expected {expected:?} to break, nothing broke"
        )),
        false => Err(format!("{summary}; the history breaks {shown}")),
    }
}

/// A consumer process: polls until told to close on stdin (or killed), printing each record's
/// value on stdout.
fn consumer_process(bootstrap: &str) {
    let strategy = std::env::var("GROUPCHECK_STRATEGY").unwrap_or_else(|_| "range".into());
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", GROUP)
        .set("partition.assignment.strategy", &strategy)
        .set("session.timeout.ms", SESSION_MS.to_string())
        .set("heartbeat.interval.ms", "300")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "100")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .set("log_level", "3");
    if let Ok(instance) = std::env::var("GROUPCHECK_INSTANCE") {
        config.set("group.instance.id", instance);
    }
    // Whatever happens to the test, this process ends: closing may wait for a coordinator
    // that is gone.
    thread::spawn(|| {
        thread::sleep(DEADLINE * 2);
        std::process::exit(3);
    });
    let consumer: BaseConsumer = config.create().expect("a consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribes");
    // Closing is asked for on stdin.
    let close = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asked = close.clone();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        asked.store(true, std::sync::atomic::Ordering::Relaxed);
        thread::sleep(Duration::from_secs(10));
        std::process::exit(0);
    });
    let mut out = std::io::stdout();
    while !close.load(std::sync::atomic::Ordering::Relaxed) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            if let Some(value) = m.payload() {
                let _ = writeln!(out, "record {}", String::from_utf8_lossy(value));
                let _ = out.flush();
                // Processing takes a while, so that rebalances and faults meet work in progress.
                thread::sleep(PROCESSING);
            }
        }
    }
    // Dropping the consumer closes it: a final commit, then LeaveGroup (dynamic members).
    drop(consumer);
    let _ = writeln!(out, "closed");
}

/// A running consumer process and what it has consumed.
struct Member {
    child: Child,
    stdin: Option<ChildStdin>,
}

fn spawn_member(
    bootstrap: &str,
    mode: Mode,
    n: usize,
    seen: &Arc<Mutex<HashMap<String, usize>>>,
) -> Member {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .env("GROUPCHECK_SERVE_CONSUMER", bootstrap)
        .env("GROUPCHECK_STRATEGY", mode.strategy)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if mode.static_members {
        command.env("GROUPCHECK_INSTANCE", format!("instance-{n}"));
    }
    let mut child = command.spawn().expect("a consumer process starts");
    let stdout = child.stdout.take().expect("piped");
    let seen = seen.clone();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(value) = line.strip_prefix("record ") {
                *seen.lock().unwrap().entry(value.to_string()).or_default() += 1;
            }
        }
    });
    let stdin = child.stdin.take();
    Member { child, stdin }
}

impl Drop for Member {
    /// A scenario that ends early (an error) leaves no consumer behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Member {
    fn close(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "close");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal to the process (STOP pauses it, CONT resumes it).
    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "kill -{signal}: {sent:?}"
        );
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn produce(bootstrap: &str) -> Result<(), String> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "3")
        .create()
        .map_err(|e| e.to_string())?;
    for i in 0..RECORDS {
        let (key, value) = (format!("k{i}"), format!("r{i}"));
        let record = BaseRecord::to(TOPIC)
            .key(&key)
            .payload(&value)
            .partition((i % usize::from(PARTITIONS)) as i32);
        producer.send(record).map_err(|(e, _)| e.to_string())?;
    }
    producer
        .flush(Duration::from_secs(10))
        .map_err(|e| e.to_string())
}

/// A consumer of the group that never joins it: it reads the committed offsets.
fn committed_reader(bootstrap: &str) -> Result<BaseConsumer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", GROUP)
        .set("log_level", "3")
        .create()
        .map_err(|e| e.to_string())
}

/// The group's committed offsets, read over the wire (OffsetFetch).
fn committed(consumer: &BaseConsumer) -> Result<Vec<i64>, String> {
    let mut list = rdkafka::TopicPartitionList::new();
    for p in 0..i32::from(PARTITIONS) {
        list.add_partition(TOPIC, p);
    }
    let offsets = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    Ok((0..i32::from(PARTITIONS))
        .map(|p| {
            offsets
                .find_partition(TOPIC, p)
                .and_then(|e| e.offset().to_raw())
                .unwrap_or(-1)
        })
        .collect())
}

/// Runs a scenario: its summary, and the properties the server's history breaks.
fn run(s: &Scenario) -> Result<(String, Vec<String>), String> {
    let two_brokers = matches!(s.fault, Fault::FailoverDuringRebalance | Fault::Schedule);
    let brokers = if two_brokers { 2 } else { 1 };
    let faults = (s.fault == Fault::Schedule).then(|| FaultSchedule {
        every: Duration::from_millis(300),
        seed: 7,
        kinds: ServeFault::ALL.to_vec(),
        limit: Some(FAULTS),
    });
    let server = Server::start(ServeConfig {
        brokers,
        partitions: PARTITIONS,
        topics: vec![TOPIC.to_string()],
        session_timeout: Duration::from_millis(SESSION_MS),
        rebalance_timeout: Duration::from_millis(SESSION_MS),
        load_time: Duration::from_millis(100),
        flaws: s.flaw.map(|(f, _)| f).into_iter().collect(),
        faults,
        ..ServeConfig::default()
    })
    .map_err(|e| format!("the server does not start: {e}"))?;
    let bootstrap = server.bootstrap();
    produce(&bootstrap)?;
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let distinct = || seen.lock().unwrap().len();
    let start = Instant::now();
    let first = if s.fault == Fault::FailoverDuringRebalance {
        2
    } else {
        3
    };
    let mut members: Vec<Option<Member>> = (0..first)
        .map(|n| Some(spawn_member(&bootstrap, s.mode, n, &seen)))
        .collect();
    let mut fault_done = s.fault == Fault::None;
    let mut failover_to = None;
    let mut formed_in = None;
    while distinct() < RECORDS {
        if formed_in.is_none() && group_state(&server) == Some((GroupState::Stable, first)) {
            formed_in = Some(start.elapsed());
        }
        if start.elapsed() > DEADLINE {
            for m in members.into_iter().flatten() {
                m.kill();
            }
            let report = server.stop();
            return Err(format!(
                "{} of {RECORDS} records consumed in {} s ({} requests served)",
                distinct(),
                DEADLINE.as_secs(),
                report.requests
            ));
        }
        if !fault_done && distinct() >= RECORDS / 3 {
            match s.fault {
                Fault::Kill => {
                    if let Some(m) = members[0].take() {
                        m.kill();
                    }
                }
                Fault::FailoverDuringRebalance => {
                    members.push(Some(spawn_member(&bootstrap, s.mode, 2, &seen)));
                    // The newcomer's JoinGroup starts the rebalance; the coordinator moves
                    // while the members rejoin.
                    if !wait_for_rebalance(&server) {
                        return Err("the newcomer started no rebalance".into());
                    }
                    failover_to = server.failover(GROUP);
                }
                Fault::Pause => {
                    if let Some(m) = &members[0] {
                        m.signal("STOP");
                        thread::sleep(Duration::from_millis(SESSION_MS + 1500));
                        m.signal("CONT");
                    }
                }
                Fault::LateCommit => {
                    server.process_next_commit_late(Duration::from_millis(SESSION_MS + 1000))
                }
                Fault::Garbage => send_garbage(server.ports()[0])?,
                Fault::None | Fault::Schedule => {}
            }
            fault_done = true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let consumed_in = start.elapsed();
    server.stop_faults();
    // Every record has been consumed; the group goes on until it has committed the end of
    // every partition (a killed member's partitions only move once its session expires).
    let end = (RECORDS / usize::from(PARTITIONS)) as i64;
    let reader = committed_reader(&bootstrap)?;
    // A fetch may meet a failover (NOT_COORDINATOR) or a pause: asked again until the deadline.
    let mut offsets = committed(&reader);
    while offsets
        .as_ref()
        .map_or(true, |o| o.iter().any(|o| *o != end))
        && start.elapsed() < DEADLINE
    {
        thread::sleep(Duration::from_millis(100));
        offsets = committed(&reader);
    }
    let offsets = offsets?;
    for m in members.into_iter().flatten() {
        m.close();
    }
    let report = server.stop();
    if !report.panics.is_empty() {
        return Err(format!("server threads panicked: {:?}", report.panics));
    }
    let broken: Vec<String> = report.violations().map(|(_, v)| v.to_string()).collect();
    replays(&report)?;
    if offsets.iter().any(|o| *o != end) {
        return Err(format!(
            "committed offsets {offsets:?}, expected {end} on every partition"
        ));
    }
    if s.fault == Fault::FailoverDuringRebalance && failover_to.is_none() {
        return Err("the failover did not happen".into());
    }
    // Evidence that the fault met what it is for.
    let (expired, zombie_commits_fenced) = session_expiries(&report);
    if s.fault == Fault::Pause && expired == 0 {
        return Err("no session expired: the pause met no session timeout".into());
    }
    if s.fault == Fault::LateCommit && s.flaw.is_none() && zombie_commits_fenced == 0 {
        return Err("no commit was fenced: the late commit did not meet a zombie".into());
    }
    if s.fault == Fault::Schedule && report.faults.is_empty() {
        return Err("the fault schedule injected nothing".into());
    }
    let findings: Vec<String> = report
        .client_findings()
        .map(|(g, f)| format!("{g}: {f}"))
        .collect();
    let duplicates: usize = seen.lock().unwrap().values().map(|n| n - 1).sum();
    let events: usize = report.groups.iter().map(|g| g.events.len()).sum();
    let faults: Vec<String> = report
        .faults
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let faults = if faults.is_empty() {
        String::new()
    } else {
        format!(", faults: {}", faults.join(" "))
    };
    let summary = format!(
        "a group of {first} formed in {}, {RECORDS} records consumed in {:.1} s, {duplicates} duplicates, committed {offsets:?}, {} requests, {events} coordinator events{faults}{}",
        formed_in.map_or("(not seen)".into(), |t| format!("{:.2} s", t.as_secs_f64())),
        consumed_in.as_secs_f64(),
        report.requests,
        if findings.is_empty() {
            String::new()
        } else {
            format!("; librdkafka: {}", findings.join("; "))
        }
    );
    Ok((summary, broken))
}

/// Every group's history, written as a trace and read back, re-executes on fresh coordinators
/// with the same answers, and is judged the same again.
fn replays(report: &groupcheck::wire::ServeReport) -> Result<(), String> {
    for g in &report.groups {
        let trace = ServedTrace::new("test", &g.name, &g.core, g.brokers, g.events.clone());
        let read = match AnyTrace::from_json(&trace.to_json()) {
            Ok(AnyTrace::Served(t)) => t,
            Ok(_) => return Err("a served trace read back as another kind".into()),
            Err(e) => return Err(format!("the served trace does not read back: {e}")),
        };
        served::replay(&read)
            .map_err(|d| format!("{}: the history does not replay: {d}", g.name))?;
    }
    Ok(())
}

/// Waits (up to a few seconds) until the group's coordinator is in a join phase.
/// How many sessions expired, and how many commits from a member whose session had expired
/// were answered UNKNOWN_MEMBER_ID (a zombie's commit fenced).
fn session_expiries(report: &groupcheck::wire::ServeReport) -> (usize, usize) {
    let (mut expired, mut fenced) = (Vec::new(), 0);
    for e in report.groups.iter().flat_map(|g| &g.events) {
        match e {
            Event::Timer {
                timer: Timer::ExpireSession(m),
                ..
            } => expired.push(*m),
            Event::Handled {
                request: request @ Request::OffsetCommit { .. },
                replies,
                ..
            } if request.member_id().is_some_and(|m| expired.contains(&m))
                && replies
                    .iter()
                    .any(|r| r.response.error() == ErrorCode::UnknownMemberId) =>
            {
                fenced += 1
            }
            _ => {}
        }
    }
    (expired.len(), fenced)
}

/// Whether the group starts rebalancing within 5 s.
fn wait_for_rebalance(server: &Server) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if group_state(server).is_some_and(|(state, _)| state == GroupState::PreparingRebalance) {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    false
}

/// The group's state and member count at its current coordinator.
fn group_state(server: &Server) -> Option<(GroupState, usize)> {
    let group = server.group(GROUP)?;
    let (brokers, log) = group.service.snapshot();
    let g = &brokers[log.leader.index()].group;
    Some((g.state, g.members.len()))
}

/// Garbage on the wire, sent while a group runs: each connection must get Kafka's error or be
/// closed, and the server must go on serving everyone else.
fn send_garbage(port: u16) -> Result<(), String> {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::{ApiKey, HeartbeatRequest, MetadataRequest, RequestHeader};
    use kafka_protocol::protocol::{Encodable, StrBytes};
    use std::io::Read;
    use std::net::TcpStream;

    let connect = || -> Result<TcpStream, String> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        Ok(s)
    };
    // The server closed the connection: reading gives end of file, not an answer.
    let closed = |mut s: TcpStream, what: &str| -> Result<(), String> {
        let mut buf = [0u8; 4];
        match s.read(&mut buf) {
            Ok(0) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
            other => Err(format!("{what}: the connection stayed open ({other:?})")),
        }
    };
    let frame = |body: &[u8]| -> Vec<u8> {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    };
    let request = |api: ApiKey, version: i16, body: &dyn Fn(&mut bytes::BytesMut)| -> Vec<u8> {
        let mut buf = bytes::BytesMut::new();
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .with_client_id(Some(StrBytes::from_static_str("garbage")));
        header
            .encode(&mut buf, api.request_header_version(version))
            .expect("a header encodes");
        body(&mut buf);
        frame(&buf)
    };
    let answer = |mut s: TcpStream| -> Result<Vec<u8>, String> {
        let mut size = [0u8; 4];
        s.read_exact(&mut size)
            .map_err(|e| format!("no answer: {e}"))?;
        let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
        s.read_exact(&mut body)
            .map_err(|e| format!("a short answer: {e}"))?;
        Ok(body)
    };
    let send = |bytes: &[u8]| -> Result<TcpStream, String> {
        let mut s = connect()?;
        s.write_all(bytes).map_err(|e| e.to_string())?;
        Ok(s)
    };

    // A size prefix of 2 GB, and a negative one: closed before anything is allocated.
    closed(send(&i32::MAX.to_be_bytes())?, "a 2 GB size prefix")?;
    closed(send(&(-1i32).to_be_bytes())?, "a negative size prefix")?;
    // Bytes that are no request, an API key Kafka does not have, a version nobody speaks.
    closed(send(&frame(&[0xde; 20]))?, "random bytes")?;
    closed(
        send(&frame(&[0x03, 0xe7, 0, 0, 0, 0, 0, 7, 0xff, 0xff]))?,
        "API key 999",
    )?;
    closed(
        send(&request(ApiKey::JoinGroup, 99, &|_| {}))?,
        "JoinGroup v99",
    )?;
    // A body that does not decode at its version.
    closed(
        send(&request(ApiKey::Heartbeat, 3, &|b| {
            b.extend_from_slice(&[1, 2, 3])
        }))?,
        "a truncated Heartbeat",
    )?;
    // A client that disconnects in the middle of a request.
    drop(send(&[0, 0, 0, 100, 0, 3, 0, 1])?);
    // ApiVersions newer than the server: UNSUPPORTED_VERSION (35), with what it supports.
    let body = answer(send(&request(ApiKey::ApiVersions, 99, &|_| {}))?)?;
    if body.get(4..6) != Some(&35i16.to_be_bytes()[..]) {
        return Err(format!(
            "ApiVersions v99 was answered {body:?}, not UNSUPPORTED_VERSION"
        ));
    }
    // A topic that does not exist, not to be created: UNKNOWN_TOPIC_OR_PARTITION.
    let metadata = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            kafka_protocol::messages::TopicName(StrBytes::from_static_str("no-such-topic")),
        ))]));
    let body = answer(send(&request(ApiKey::Metadata, 9, &|b| {
        metadata.encode(b, 9).expect("encodes")
    }))?)?;
    // The topic's entry starts with its error code, then its name (a compact string from v9).
    let wanted = [&3i16.to_be_bytes()[..], &[14], b"no-such-topic"].concat();
    if !body.windows(wanted.len()).any(|w| w == wanted) {
        return Err(
            "Metadata for a missing topic did not answer UNKNOWN_TOPIC_OR_PARTITION".into(),
        );
    }
    // A heartbeat for a group nobody joined, from a member nobody knows: UNKNOWN_MEMBER_ID (25).
    let heartbeat = HeartbeatRequest::default()
        .with_group_id(kafka_protocol::messages::GroupId(
            StrBytes::from_static_str("nobody"),
        ))
        .with_generation_id(1)
        .with_member_id(StrBytes::from_static_str("m9.9"));
    let body = answer(send(&request(ApiKey::Heartbeat, 2, &|b| {
        heartbeat.encode(b, 2).expect("encodes")
    }))?)?;
    if body.get(8..10) != Some(&25i16.to_be_bytes()[..]) {
        return Err(format!(
            "a stranger's Heartbeat was answered {body:?}, not UNKNOWN_MEMBER_ID"
        ));
    }
    Ok(())
}
