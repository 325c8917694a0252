//! A live group: consumer threads against the runtime, with crashes, pauses (zombies), leaves,
//! joins and coordinator failovers injected from a seeded schedule, the rebalance timeline
//! printed as it happens, and the model's properties checked on what happened.
//!
//! Time is real here (the core has no clocks; the runtime does): sessions expire when a member
//! has not been heard from for `session_timeout`, and a join phase ends after
//! `rebalance_timeout`. Thread scheduling is not seeded, so two runs with the same seed inject
//! the same faults at the same times but interleave differently.

use super::client::Client;
use super::history;
use super::service::GroupService;
use super::threads;
use super::timers::Timers;
use crate::assignor::Assignor;
use crate::coordinator::{CoreConfig, GroupState, LoadState};
use crate::flaw::Flaws;
use crate::property::{replay_difference, Claim, GroupView, Property};
use crate::protocol::{BrokerId, ClientAddr, ConsumerId, Generation, InstanceId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub consumers: u8,
    pub partitions: u8,
    pub brokers: u8,
    pub duration: Duration,
    pub seed: u64,
    /// Mean time between injected faults.
    pub fault_every: Duration,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// Print the timeline.
    pub verbose: bool,
    /// Flaws switched on in the core (to see the checks catch them).
    pub flaws: Flaws,
    /// Keep the whole event history in the report (to write it as a trace).
    pub keep_history: bool,
    /// The leader's assignor; `cooperative-sticky` makes the group rebalance cooperatively.
    pub assignor: Assignor,
    /// Every consumer is a static member (KIP-345) with its number as `group.instance.id`: a
    /// crash or a close restarts it with that id, to take its member back.
    pub static_members: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            consumers: 4,
            partitions: 6,
            brokers: 2,
            duration: Duration::from_secs(60),
            seed: 1,
            fault_every: Duration::from_millis(700),
            session_timeout: Duration::from_millis(400),
            rebalance_timeout: Duration::from_millis(600),
            verbose: true,
            flaws: Flaws::NONE,
            keep_history: false,
            assignor: Assignor::Range,
            static_members: false,
        }
    }
}

/// What a live run did and found.
#[derive(Clone, Debug, Default)]
pub struct LiveReport {
    pub generations: u32,
    pub faults: HashMap<&'static str, u32>,
    pub commits_acknowledged: u64,
    pub records_processed: u64,
    pub events: usize,
    /// What the history breaks, and the threads that panicked (a run that lost one cannot
    /// vouch for its history).
    pub violations: Vec<String>,
    /// The event history, when [`LiveConfig::keep_history`] asked for it.
    pub history: Vec<super::Event>,
}

/// A fault the schedule asks a consumer thread to suffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    None,
    Crash,
    Pause,
    Leave,
}

/// xorshift64*: a seeded schedule without a dependency.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What each consumer thread last published: its member id, generation and owned partitions.
type Published = Vec<Option<Claim>>;

struct Shared {
    service: Arc<GroupService>,
    /// Consumers close and exit.
    stop: AtomicBool,
    /// Replication and timers stop (after the consumers have left).
    stop_background: AtomicBool,
    orders: Mutex<Vec<Order>>,
    published: Mutex<Published>,
    acked: AtomicU64,
    processed: AtomicU64,
    violations: Mutex<Vec<String>>,
    start: Instant,
    verbose: bool,
}

impl Shared {
    fn say(&self, what: &str) {
        if self.verbose {
            println!("{:>8.3} s  {what}", self.start.elapsed().as_secs_f64());
        }
    }
}

fn consumer_thread(
    shared: Arc<Shared>,
    c: ConsumerId,
    cfg: CoreConfig,
    instance: Option<InstanceId>,
    (timeout, pause): (Duration, Duration),
) {
    let mut incarnation = 0;
    let new_client = |incarnation| {
        let addr = ClientAddr {
            consumer: c,
            incarnation,
            connection: 0,
        };
        let mut client = if incarnation == 0 {
            Client::new(addr, &cfg)
        } else {
            Client::restarted(addr, &cfg)
        };
        client.consumer = client.consumer.clone().with_instance(instance);
        client.timeout = Some(timeout);
        client.retry_backoff = Some(Duration::from_millis(5));
        client
    };
    let mut client = new_client(incarnation);
    let mut step = u64::from(c.0);
    while !shared.stop.load(Ordering::Relaxed) {
        let order = std::mem::replace(&mut shared.orders.lock().unwrap()[c.index()], Order::None);
        match order {
            Order::Crash => {
                shared.service.disconnect(client.addr());
                incarnation += 1;
                client = new_client(incarnation);
                // A new process looks for its coordinator and joins at once.
                client.join(&shared.service);
                shared.published.lock().unwrap()[c.index()] = None;
                continue;
            }
            Order::Pause => thread::sleep(pause),
            Order::Leave => {
                client.close(&shared.service);
                shared.published.lock().unwrap()[c.index()] = None;
                thread::sleep(pause / 2);
                incarnation += 1;
                client = new_client(incarnation);
                client.join(&shared.service);
                continue;
            }
            Order::None => {}
        }
        client.check_poll_timer(&shared.service);
        let acked_before = client
            .consumer
            .committed
            .iter()
            .map(|o| *o as u64)
            .sum::<u64>();
        if client.is_stable() {
            step += 1;
            let owned: Vec<_> = client.consumer.owned.iter().collect();
            if !owned.is_empty() && !step.is_multiple_of(3) {
                let p = owned[(step as usize) % owned.len()];
                shared.processed.fetch_add(1, Ordering::Relaxed);
                client.poll(&shared.service, p);
            } else {
                client.heartbeat(&shared.service);
            }
        } else {
            client.join(&shared.service);
        }
        let acked_after = client
            .consumer
            .committed
            .iter()
            .map(|o| *o as u64)
            .sum::<u64>();
        if acked_after > acked_before {
            shared.acked.fetch_add(1, Ordering::Relaxed);
        }
        let consumer = &client.consumer;
        if let Some(claim) = Claim::of(c.index(), consumer) {
            shared.published.lock().unwrap()[c.index()] = claim.at_rest.then_some(claim);
        }
        thread::sleep(Duration::from_millis(5));
    }
    client.close(&shared.service);
}

/// Checks single ownership among the members of the leader's current generation, from what
/// the consumers published (tagged with their generation, so stale entries never count), and
/// replay equivalence whenever the leader is at rest (the snapshot is atomic).
fn check_state(shared: &Shared, partitions: u8) {
    let (brokers, log) = shared.service.snapshot();
    let leader = &brokers[log.leader.index()];
    if leader.load != LoadState::Active || leader.epoch != log.leader_epoch {
        return;
    }
    let mut violations = Vec::new();
    if let Some(d) = replay_difference(leader, log.leader_epoch, &log.durable, partitions) {
        violations.push(format!("{}: {d}", Property::ReplayEquivalence));
    }
    // What the consumers published may be older than the snapshot: only a claim of the
    // leader's current generation is known to be current, so only those are judged.
    let generation = leader.group.generation;
    let published = shared.published.lock().unwrap().clone();
    let claims = published
        .into_iter()
        .flatten()
        .filter(|c| c.generation == generation)
        .collect();
    if let Some(d) = GroupView::of(&leader.group, claims).double_owner() {
        violations.push(format!("{}: {d}", Property::SingleOwner));
    }
    shared.violations.lock().unwrap().extend(violations);
}

/// Runs a live group and reports what happened.
pub fn run(cfg: &LiveConfig) -> LiveReport {
    let core = CoreConfig {
        partitions: cfg.partitions,
        assignor: cfg.assignor,
        flaws: cfg.flaws,
    };
    let shared = Arc::new(Shared {
        service: Arc::new(GroupService::new(core, cfg.brokers, true)),
        stop: AtomicBool::new(false),
        stop_background: AtomicBool::new(false),
        orders: Mutex::new(vec![Order::None; cfg.consumers as usize]),
        published: Mutex::new(vec![None; cfg.consumers as usize]),
        acked: AtomicU64::new(0),
        processed: AtomicU64::new(0),
        violations: Mutex::new(Vec::new()),
        start: Instant::now(),
        verbose: cfg.verbose,
    });
    let mut consumers = Vec::new();
    let mut background = Vec::new();
    for c in 0..cfg.consumers {
        let s = shared.clone();
        let timing = (cfg.rebalance_timeout * 3, cfg.session_timeout * 2);
        let instance = cfg.static_members.then_some(InstanceId(c));
        consumers.push(thread::spawn(move || {
            consumer_thread(s, ConsumerId(c), core, instance, timing)
        }));
    }
    let s = shared.clone();
    background.push(thread::spawn(move || {
        while !s.stop_background.load(Ordering::Relaxed) {
            if !s.service.replicate() {
                thread::sleep(Duration::from_millis(1));
            }
        }
    }));
    let s = shared.clone();
    let timers = Timers::start(
        shared.service.clone(),
        cfg.session_timeout,
        cfg.rebalance_timeout,
        Box::new(move |timer| s.say(&timer.to_string())),
    );

    // The fault schedule and the timeline, on this thread.
    let mut rng = Rng(cfg.seed.max(1));
    let mut faults: HashMap<&'static str, u32> = HashMap::new();
    let mut next_fault = Instant::now() + cfg.fault_every;
    let mut loading: Option<(BrokerId, Instant)> = None;
    let mut last_seen: Option<(Generation, GroupState)> = None;
    let mut generations = 0;
    let end = Instant::now() + cfg.duration;
    while Instant::now() < end {
        thread::sleep(Duration::from_millis(5));
        let (brokers, log) = shared.service.snapshot();
        let leader = &brokers[log.leader.index()];
        let now_seen = (leader.group.generation, leader.group.state);
        if leader.load == LoadState::Active && Some(now_seen) != last_seen {
            if leader.group.state == GroupState::Stable {
                generations += 1;
                let assignment: Vec<String> = leader
                    .group
                    .members
                    .iter()
                    .map(|m| format!("{}:{}", m.id, m.assignment))
                    .collect();
                shared.say(&format!(
                    "broker-{} Stable at generation {}: {}",
                    leader.broker,
                    leader.group.generation,
                    assignment.join(" ")
                ));
            }
            last_seen = Some(now_seen);
        }
        check_state(&shared, cfg.partitions);
        if let Some((b, at)) = loading {
            if Instant::now() >= at {
                shared.service.finish_loading(b);
                shared.say(&format!("broker-{b} finished loading"));
                loading = None;
            }
        }
        if Instant::now() < next_fault {
            continue;
        }
        next_fault = Instant::now()
            + cfg.fault_every / 2
            + Duration::from_millis(rng.below(cfg.fault_every.as_millis() as u64));
        let kind = rng.below(5);
        let c = rng.below(cfg.consumers as u64) as usize;
        let (name, order) = match kind {
            0 => ("crash", Order::Crash),
            1 => ("pause", Order::Pause),
            2 => ("leave", Order::Leave),
            _ if cfg.brokers > 1 && loading.is_none() => ("failover", Order::None),
            _ => ("crash", Order::Crash),
        };
        *faults.entry(name).or_default() += 1;
        if name == "failover" {
            let hop = 1 + rng.below(cfg.brokers as u64 - 1) as u8;
            let to = BrokerId((log.leader.0 + hop) % cfg.brokers);
            shared.say(&format!("FAILOVER to broker-{to}"));
            shared.service.failover(to);
            loading = Some((
                to,
                Instant::now() + Duration::from_millis(20 + rng.below(50)),
            ));
        } else {
            shared.say(&format!("{} consumer-{c}", name.to_uppercase()));
            shared.orders.lock().unwrap()[c] = order;
        }
    }
    if let Some((b, _)) = loading {
        shared.service.finish_loading(b);
    }
    // Consumers close (commit, LeaveGroup) while replication and timers still run.
    shared.stop.store(true, Ordering::Relaxed);
    let mut panics = Vec::new();
    for (c, t) in consumers.into_iter().enumerate() {
        panics.extend(threads::join(t, &format!("consumer-{c}'s thread")).err());
    }
    shared.stop_background.store(true, Ordering::Relaxed);
    panics.extend(timers.stop().err());
    for t in background {
        panics.extend(threads::join(t, "the replication thread").err());
    }
    while shared.service.replicate() {}
    let events = shared.service.events();
    let mut violations = shared.violations.lock().unwrap().clone();
    violations.extend(panics);
    violations.extend(
        history::check(&events, cfg.partitions)
            .into_iter()
            .map(|v| v.to_string()),
    );
    LiveReport {
        generations,
        faults,
        commits_acknowledged: shared.acked.load(Ordering::Relaxed),
        records_processed: shared.processed.load(Ordering::Relaxed),
        events: events.len(),
        violations,
        history: if cfg.keep_history { events } else { Vec::new() },
    }
}
