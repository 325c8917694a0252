//! A checked configuration, as written in a `models/*.toml` file of the catalogue.

use crate::assignor::Assignor;
use crate::consumer::CommitGeneration;
use crate::coordinator::CoreConfig;
use crate::flaw::{Flaw, Flaws};
use crate::property::Property;
use crate::protocol::{Assignors, InstanceId, Partitions};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The model's name: its file name without `.toml`.
    #[serde(skip)]
    pub name: String,
    /// One or two sentences: what this configuration is for.
    pub description: String,
    /// The group protocol the consumers and the coordinator speak.
    #[serde(default)]
    pub protocol: Protocol,
    pub consumers: u8,
    pub partitions: u8,
    /// Brokers that can coordinate the group (lead `__consumer_offsets`).
    #[serde(default = "default_brokers")]
    pub brokers: u8,
    /// Records per partition: a consumer's position never passes this.
    #[serde(default = "default_max_offset")]
    pub max_offset: u8,
    /// Every consumer's assignor at the start (`partition.assignment.strategy` of one).
    #[serde(default = "default_assignor")]
    pub assignor: Assignor,
    /// A rolling upgrade: the assignor list (in order of preference) of each rolling bounce in
    /// turn. Every consumer is restarted once per bounce with that list, one consumer at a time,
    /// and a bounce reaches a consumer only once every consumer has been through the previous
    /// one. The documented eager-to-cooperative upgrade is
    /// `[["cooperative-sticky", "range"], ["cooperative-sticky"]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rolling_upgrade: Vec<Assignors>,
    /// How members are known to the coordinator.
    #[serde(default, skip_serializing_if = "Membership::is_dynamic")]
    pub membership: Membership,
    /// With static membership, each consumer's `group.instance.id` (default: its number). An
    /// id given twice is two processes started with one instance id: a replacement started
    /// while the old process still runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ids: Option<Vec<u8>>,
    /// Which generation the consumers' commits carry: `stable` (the Java client's) or
    /// `joined` (librdkafka's: the generation of the last JoinGroup answer, so a cooperative
    /// consumer commits what it processed while rejoining before its SyncGroup goes out).
    #[serde(default, skip_serializing_if = "CommitGeneration::is_stable")]
    pub commit_generation: CommitGeneration,
    /// `empty`: every consumer starts unjoined. `stable`: the group has already formed (the
    /// protocol runs, fault-free, until it settles) before the check starts.
    #[serde(default)]
    pub start: Start,
    #[serde(default)]
    pub flaw: Option<Flaw>,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub faults: Faults,
    /// A run recorded from the runtime (`groupcheck run --record`), not a configuration to
    /// explore. Real time does not follow the exploration's reductions, so they are off: an
    /// orphan's session may expire at any time, the rebalance timeout may end a join phase that
    /// only orphans hold up, a consumer may close in any phase and start again after closing
    /// (a restart, counted as a crash), `max_offset` does not bound processing, and neither
    /// the generation span nor the replication backlog is bounded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recorded: bool,
    pub expect: Expect,
}

/// The group protocol of a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// The classic protocol (JoinGroup/SyncGroup) with eager rebalancing: every member gives
    /// up all its partitions before it rejoins.
    #[default]
    ClassicEager,
    /// The classic protocol with cooperative rebalancing (KIP-429): members keep their
    /// partitions while they rejoin, and a partition moves in two rebalances. It runs with the
    /// `cooperative-sticky` assignor.
    ClassicCooperative,
}

/// How the consumers are members of the group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Membership {
    /// Every join gets a new member id from the coordinator; leaving (or a session expiry)
    /// ends the membership.
    #[default]
    Dynamic,
    /// KIP-345: every consumer sets `group.instance.id`. A restart takes over the member the
    /// instance had, without a rebalance if the group is Stable; no LeaveGroup on close.
    Static,
}

impl Membership {
    pub fn is_dynamic(&self) -> bool {
        *self == Membership::Dynamic
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    #[default]
    Empty,
    Stable,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// FIFO per connection (TCP) instead of any order.
    #[serde(default)]
    pub ordered: bool,
    /// The controller's StartLeading travels to the new leader as a message, as its
    /// StopLeading does to the old one: the new leader learns of its election late, and on an
    /// unordered network two failovers' messages to one broker can arrive in either order (two
    /// controllers racing, as `serve`'s fault thread and control API can). Otherwise the new
    /// leader starts loading at the failover itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub start_leading_travels: bool,
}

/// The fault budget: how many of each fault one execution may suffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// A consumer process dies and restarts with no memory (a new member).
    #[serde(default)]
    pub crashes: u8,
    /// The session of a live consumer expires (a GC pause): it becomes a zombie.
    #[serde(default)]
    pub session_expiries: u8,
    /// Leadership of `__consumer_offsets` moves to another broker.
    #[serde(default)]
    pub failovers: u8,
    /// A request or response between a consumer and a broker is lost.
    #[serde(default)]
    pub lost_messages: u8,
    /// A consumer closes gracefully (commit, LeaveGroup).
    #[serde(default)]
    pub leaves: u8,
    /// A consumer closes in the middle of a rebalance (its JoinGroup or SyncGroup unanswered,
    /// or before it first joined), as the Java client's `close()` can: it drops the answer it
    /// waited for and sends LeaveGroup at once, as a pending member (KIP-394) too. (`leaves`
    /// close only Stable consumers.)
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leaves_mid_rebalance: u8,
    /// A consumer gives up on a request that is still in the network: the request times out,
    /// the client closes that connection and carries on (retries, rediscovers, rejoins) on a new
    /// one, while the old request may still reach the coordinator later. Its answer is never
    /// read.
    #[serde(default)]
    pub late_deliveries: u8,
    /// A consumer's SyncGroup never goes out (its assignor hangs) while its heartbeats keep
    /// its session alive.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sync_stalls: u8,
    /// Consumers that start only later, while the group is running (the last ones).
    #[serde(default)]
    pub late_joins: u8,
    /// At most this many faults (late joins not counted) in one execution, of any kinds (like `MaxPerturbations` in
    /// TLA+ specs). Unset: every kind's budget can be used in the same execution.
    #[serde(default)]
    pub max_total: Option<u8>,
}

/// A kind of fault, as the budget counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    Crash,
    SessionExpiry,
    Failover,
    LostMessage,
    Leave,
    LeaveMidRebalance,
    LateDelivery,
    SyncStall,
    /// Not counted in `max_total`: a consumer that starts late is part of the scenario.
    LateJoin,
}

impl Fault {
    /// Every kind, in the order a report lists them.
    pub const ALL: [Fault; 9] = [
        Fault::Crash,
        Fault::SessionExpiry,
        Fault::Failover,
        Fault::LostMessage,
        Fault::Leave,
        Fault::LeaveMidRebalance,
        Fault::LateJoin,
        Fault::LateDelivery,
        Fault::SyncStall,
    ];

    /// The kinds `max_total` counts: all but a late join, which is part of the scenario.
    pub fn totalled() -> impl Iterator<Item = Fault> {
        Fault::ALL.into_iter().filter(|f| *f != Fault::LateJoin)
    }

    /// What one of them is called in a report.
    pub fn noun(self) -> &'static str {
        match self {
            Fault::Crash => "crash",
            Fault::SessionExpiry => "session expiry",
            Fault::Failover => "failover",
            Fault::LostMessage => "lost message",
            Fault::Leave => "leave",
            Fault::LeaveMidRebalance => "leave in the middle of a rebalance",
            Fault::LateJoin => "late join",
            Fault::LateDelivery => "late delivery",
            Fault::SyncStall => "sync stall",
        }
    }
}

impl Faults {
    /// The budget of one kind.
    pub fn budget(mut self, f: Fault) -> u8 {
        *self.slot(f)
    }

    pub fn set_budget(&mut self, f: Fault, n: u8) {
        *self.slot(f) = n;
    }

    fn slot(&mut self, f: Fault) -> &mut u8 {
        match f {
            Fault::Crash => &mut self.crashes,
            Fault::SessionExpiry => &mut self.session_expiries,
            Fault::Failover => &mut self.failovers,
            Fault::LostMessage => &mut self.lost_messages,
            Fault::Leave => &mut self.leaves,
            Fault::LeaveMidRebalance => &mut self.leaves_mid_rebalance,
            Fault::LateDelivery => &mut self.late_deliveries,
            Fault::SyncStall => &mut self.sync_stalls,
            Fault::LateJoin => &mut self.late_joins,
        }
    }

    /// The sum of the per-kind budgets `max_total` counts.
    pub fn sum(&self) -> u8 {
        Fault::totalled().map(|f| self.budget(f)).sum()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The properties that must be violated; empty for a correct configuration.
    #[serde(default)]
    pub violated: Vec<Property>,
    /// Unique states of an exhaustive check: a regression guard.
    #[serde(default)]
    pub unique_states: Option<usize>,
    /// Whether `check` also checks liveness (a second exploration of the whole state graph).
    /// A model that turns it off says why in its description.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub liveness: bool,
}

impl Expect {
    /// Whether the property (or witness) of that name is expected to be violated.
    pub fn violates(&self, name: &str) -> bool {
        self.violated.iter().any(|p| p.name() == name)
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            violated: Vec::new(),
            unique_states: None,
            liveness: true,
        }
    }
}

fn default_brokers() -> u8 {
    2
}
fn default_max_offset() -> u8 {
    1
}
fn default_assignor() -> Assignor {
    Assignor::Range
}

impl ModelConfig {
    /// Parses and validates a model file.
    pub fn parse(name: &str, text: &str) -> Result<ModelConfig, String> {
        let mut cfg: ModelConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.name = name.to_string();
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        let check = |ok: bool, msg: &str| if ok { Ok(()) } else { Err(msg.to_string()) };
        check(
            (1..=6).contains(&self.consumers),
            "consumers: must be 1 to 6",
        )?;
        check(
            (1..=Partitions::MAX).contains(&self.partitions),
            "partitions: must be 1 to 16",
        )?;
        check((1..=4).contains(&self.brokers), "brokers: must be 1 to 4")?;
        check(
            (1..=8).contains(&self.max_offset),
            "max_offset: must be 1 to 8",
        )?;
        check(
            self.assignor.is_cooperative() == (self.protocol == Protocol::ClassicCooperative),
            "assignor: `cooperative-sticky` goes with protocol = \"classic-cooperative\", and that protocol with it",
        )?;
        check(
            self.faults.late_joins < self.consumers,
            "faults.late_joins: at least one consumer must start at once",
        )?;
        check(
            self.faults.failovers == 0 || self.brokers >= 2,
            "faults.failovers: a failover needs at least 2 brokers",
        )?;
        let configurations: Vec<Assignors> = self.configurations().collect();
        for (i, list) in configurations.iter().enumerate() {
            check(
                !list.is_empty() && !configurations[..i].contains(list),
                "rolling_upgrade: every bounce names assignors, each list a new one",
            )?;
        }
        check(
            self.rolling_upgrade.len() <= 3,
            "rolling_upgrade: at most 3 bounces",
        )?;
        check(
            self.commit_generation.is_stable() || self.protocol == Protocol::ClassicCooperative,
            "commit_generation: `joined` needs protocol = \"classic-cooperative\" (an eager consumer gives up everything before it rejoins, so it has nothing to commit before its SyncGroup)",
        )?;
        if let Some(ids) = &self.instance_ids {
            check(
                self.membership == Membership::Static,
                "instance_ids: only with membership = \"static\"",
            )?;
            check(
                ids.len() == usize::from(self.consumers),
                "instance_ids: one per consumer",
            )?;
        }
        Ok(())
    }

    /// The assignor lists consumers run, in the order of the rolling upgrade: the initial one,
    /// then one per bounce.
    pub fn configurations(&self) -> impl Iterator<Item = Assignors> + '_ {
        let initial = std::iter::once(Assignors::one(self.assignor));
        initial.chain(self.rolling_upgrade.iter().copied())
    }

    /// How many bounces of the rolling upgrade a consumer running `assignors` has been through.
    pub fn stage_of(&self, assignors: Assignors) -> usize {
        let mut stages = self.configurations();
        stages.position(|s| s == assignors).unwrap_or(0)
    }

    /// The list a consumer running `assignors` is restarted with by its next bounce.
    pub fn next_assignors(&self, assignors: Assignors) -> Option<Assignors> {
        self.rolling_upgrade.get(self.stage_of(assignors)).copied()
    }

    /// The list every consumer runs once the rolling upgrade is over.
    pub fn final_assignors(&self) -> Assignors {
        let last = self.rolling_upgrade.last().copied();
        last.unwrap_or(Assignors::one(self.assignor))
    }

    /// Whether a bounce of the rolling upgrade shares no assignor with the one before it, so
    /// that its first restarted consumer cannot join the group (INCONSISTENT_GROUP_PROTOCOL).
    pub fn upgrade_skips_a_step(&self) -> bool {
        let stages: Vec<Assignors> = self.configurations().collect();
        let disjoint = |pair: &[Assignors]| !pair[0].iter().any(|a| pair[1].contains(a));
        stages.windows(2).any(disjoint)
    }

    /// The `group.instance.id` of consumer `c`, if members are static.
    pub fn instance_of(&self, c: u8) -> Option<InstanceId> {
        if self.membership.is_dynamic() {
            return None;
        }
        let configured = self.instance_ids.as_ref().map(|ids| ids[usize::from(c)]);
        Some(InstanceId(configured.unwrap_or(c)))
    }

    /// How many members the consumers can be at once: one each, but one per instance id when
    /// static consumers share one.
    pub fn members_at_once(&self) -> usize {
        if self.membership.is_dynamic() {
            return usize::from(self.consumers);
        }
        let mut ids: Vec<_> = (0..self.consumers)
            .filter_map(|c| self.instance_of(c))
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    }

    /// Whether two consumers are configured with one instance id.
    pub fn shares_an_instance(&self) -> bool {
        self.members_at_once() < usize::from(self.consumers)
    }

    pub fn core(&self) -> CoreConfig {
        CoreConfig {
            partitions: self.partitions,
            assignor: self.assignor,
            flaws: self.flaw.into_iter().collect::<Flaws>(),
        }
    }

    /// What the check must find, in words: `pass` or `violates …`.
    pub fn expectation(&self) -> String {
        if self.expects_pass() {
            return "pass".into();
        }
        let names: Vec<&str> = self.expect.violated.iter().map(|p| p.name()).collect();
        format!("violates {}", names.join(", "))
    }

    /// Whether the correct protocol is expected to pass.
    pub fn expects_pass(&self) -> bool {
        self.expect.violated.is_empty()
    }
}
