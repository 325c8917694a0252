//! The probe's scenarios: each plays members through one situation of the catalogue and
//! judges the broker's answers: safety, or a deviation from the answer the core gives to the
//! same step ([`super::mirror`]).

use super::derived;
use super::driven::Holding;
use super::histories::Histories;
use super::mirror::Taken;
use super::{coordinator, Broker, ProbeConfig, ProbeError};
use crate::model::ModelConfig;
use crate::property::Property;
use crate::protocol::{Assignor, Assignors, ErrorCode};
use crate::wire::core_client::WireNames;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A property broken, as seen from outside.
    Safety,
    /// An answer Kafka's coordinator would not give there.
    Deviation,
}

/// One request and its answer, as the probe saw them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Exchange {
    pub member: String,
    pub request: String,
    pub answer: String,
    /// Where the answer was judged against the core: the broker's error code and the core's
    /// answer to the same step (Kafka's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged: Option<Judged>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Judged {
    pub broker: String,
    pub core: String,
    /// The core's step (from 1) that gave that answer: a request that waited for another
    /// member was taken by the core before the exchanges recorded ahead of its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_step: Option<usize>,
}

/// The core's answer where it gives none: the request waits for the rebalance.
pub const NO_ANSWER: &str = "no answer yet (the request waits for the rebalance)";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    pub class: Class,
    /// The property broken (safety), or the rule of Kafka's protocol not followed (deviation).
    pub judgement: String,
    /// The exchange it is about (1-based).
    pub exchange: usize,
    pub detail: String,
    /// What Kafka's coordinator answers there (a deviation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka: Option<String>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let class = match self.class {
            Class::Safety => "SAFETY",
            Class::Deviation => "DEVIATION",
        };
        write!(
            f,
            "{class} {} at exchange {}: {}",
            self.judgement, self.exchange, self.detail
        )?;
        if let Some(k) = &self.kafka {
            write!(f, " (Kafka answers {k})")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    pub about: String,
    pub group: String,
    pub exchanges: Vec<Exchange>,
    pub findings: Vec<Finding>,
    /// Why the scenario was not played (it judged nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub seconds: f64,
    /// The steps the core took beside the broker, with its answers.
    #[serde(skip)]
    pub core_steps: Vec<Taken>,
}

/// A scenario: its name, what it is about, and how it runs.
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    run: fn(&mut Run) -> Result<(), ProbeError>,
}

pub const SCENARIOS: [Scenario; 17] = [
    Scenario {
        name: "member-id-required",
        about: "KIP-394, played by the core's consumer: a JoinGroup (v4 and later) with no member id is answered MEMBER_ID_REQUIRED with an id to join with; joining with it forms the group, the member leading it; it assigns, syncs, fetches its offsets and leaves, every answer judged against the core's",
        run: member_id_required,
    },
    Scenario {
        name: "zombie-commit-after-expiry",
        about: "no_zombie_commit (the flaw commit-without-fencing, KAFKA-2596), played by the core's consumers: A commits, falls silent past its session timeout, B forms a newer generation without it, then A, back from its pause, commits in its old generation; the broker must fence it (UNKNOWN_MEMBER_ID), and B must be served A's acknowledged offsets",
        run: super::fencing::zombie_commit_after_expiry,
    },
    Scenario {
        name: "stale-generation",
        about: "the generation check (no_zombie_commit's other half), played by the core's consumers: A gives up on a commit still in the network; B joins and the next generation forms with both; then A's commit from the old generation arrives late and must be fenced (ILLEGAL_GENERATION)",
        run: super::fencing::stale_generation,
    },
    Scenario {
        name: "pending-member-leaves",
        about: "KIP-394's pending member leaving (member_not_fenced), played by the core's consumer: A's first JoinGroup is answered MEMBER_ID_REQUIRED; its second, with that member id, times out while still in the network, and A closes; its LeaveGroup speaks for a member the group knows only as pending, which the broker must remove (NONE), not call unknown; then the JoinGroup A gave up on arrives and must be refused (UNKNOWN_MEMBER_ID: the id is forgotten), not make a member nobody runs",
        run: super::fencing::pending_member_leaves,
    },
    Scenario {
        name: "stale-leader-sync",
        about: "the generation check on SyncGroup, played by the core's consumers: B joins A's group and A's rejoin ends the join phase, A leading; A's SyncGroup with the assignment times out while still in the network, and A rejoins (answered with the same generation, it leads and syncs again); B leaves and A forms the next generation alone; then A's SyncGroup from the generation that ended arrives late and must be refused (ILLEGAL_GENERATION), not install an old assignment",
        run: super::fencing::stale_leader_sync,
    },
    Scenario {
        name: "assignment-survives-coordinator-move",
        about: "durable_before_ack and generation_monotonic (the flaw sync-ack-before-persist, KAFKA-2017), played by the core's consumer: A forms a generation and gets its assignment, then the group's coordinator moves to another broker; the new coordinator must know the generation the old one acknowledged (A's Heartbeat answered NONE, its commit accepted), and a rejoin must form a newer one. Needs --move-coordinator",
        run: super::failover::assignment_survives_coordinator_move,
    },
    Scenario {
        name: "offsets-survive-coordinator-move",
        about: "no_lost_commit across a failover (the flaws serve-before-load and commit-ack-before-durable), played by the core's consumer: A forms a generation and commits, which is acknowledged; the group's coordinator moves; at once A asks the new coordinator for its committed offsets, which must be those acknowledged (while it loads the group, COORDINATOR_LOAD_IN_PROGRESS, never an offset it has not loaded). Needs --move-coordinator",
        run: super::failover::offsets_survive_coordinator_move,
    },
    Scenario {
        name: "commit-during-rebalance",
        about: "commits while a rebalance runs, and single_owner, played by the core's consumers: A forms a generation; B's JoinGroup begins a rebalance and waits for A; A, told by its Heartbeat (REBALANCE_IN_PROGRESS), commits what it processed while the group prepares the rebalance (Kafka accepts it: A is still a member of its generation), revokes and rejoins; both sync disjoint partitions and are served the acknowledged offsets",
        run: super::rebalance::commit_during_rebalance,
    },
    Scenario {
        name: "leave-during-completing-rebalance",
        about: "a leave while the group waits for its leader's assignment, played by the core's consumers: B joins A's group and the next generation forms with both, A leading; A's assignor fails and A closes, its LeaveGroup arriving while B's SyncGroup waits for the assignment; the leave begins another rebalance, so B's SyncGroup is refused (REBALANCE_IN_PROGRESS), and B's rejoin forms the next generation alone",
        run: super::rebalance::leave_during_completing_rebalance,
    },
    Scenario {
        name: "cooperative-revocation",
        about: "KIP-429, played by the core's consumers (cooperative-sticky): A owns every partition; B joins; A rejoins claiming what it owns and, leading, gives B nothing yet and leaves out what A must give up; A revokes it (committing first) and rejoins; B rejoins; A assigns the revoked partitions to B. Every answer judged against the core's (the leader must learn each member's claim), and single_owner at every assignment",
        run: super::consumers::cooperative_revocation,
    },
    Scenario {
        name: "commit-before-sync",
        about: "a commit with a generation whose assignment nobody has (KAFKA-8487), played by the core's consumers committing as librdkafka does, with the generation of their JoinGroup answer: the cooperative revocation above, where A processes while it rejoins and, its JoinGroup answered, commits that before its SyncGroup goes out; the group is completing the new generation, and the commit must be refused (REBALANCE_IN_PROGRESS) and change nothing; A's SyncGroup follows",
        run: super::consumers::commit_before_sync,
    },
    Scenario {
        name: "static-member-replaced",
        about: "KIP-345, played by the core's consumers: a static member forms a generation and commits; the same group.instance.id starts in another process, which takes the membership over without a rebalance and gets the same assignment; the old process's commit must be fenced (FENCED_INSTANCE_ID, no_zombie_commit), and its Heartbeat tells it so",
        run: super::consumers::static_member_replaced,
    },
    Scenario {
        name: "static-replacement-survives-coordinator-move",
        about: "KIP-345 across a failover, played by the core's consumers (the flaw static-replace-not-persisted, KAFKA-10284): a static member's instance starts in another process, which takes the membership over in a Stable group; then the group's coordinator moves; the new coordinator must have loaded the replacement: the old process's commit fenced (FENCED_INSTANCE_ID, no_zombie_commit), the new process's Heartbeat answered NONE. Needs --move-coordinator",
        run: super::consumers::static_replacement_survives_coordinator_move,
    },
    Scenario {
        name: "static-member-restarts-during-rebalance",
        about: "KIP-345 during a rebalance, played by the core's consumers (the flaw static-replace-only-when-stable, KAFKA-8500): a static member leads a generation; B's JoinGroup begins a rebalance; before the static member rejoins, its instance starts in another process, whose JoinGroup takes the old member's place and ends the join phase; the old process's rejoin is then fenced (FENCED_INSTANCE_ID); no generation lists two members with one group.instance.id (static_instance_unique)",
        run: super::consumers::static_member_restarts_during_rebalance,
    },
    Scenario {
        name: "static-member-restarts-while-completing",
        about: "KIP-345 while the group waits for its leader's assignment, played by the core's consumers (the flaw static-join-in-completing, KAFKA-9801): a static member leads the next generation and holds its assignment back; its instance starts in another process, whose JoinGroup must take the old member's place and begin another rebalance (the assignment computed names the old member id), not be answered at once in the old generation; B's SyncGroup is refused and B's rejoin ends the phase; the old process's SyncGroup is fenced (FENCED_INSTANCE_ID)",
        run: super::consumers::static_member_restarts_while_completing,
    },
    Scenario {
        name: "leader-stalls-before-sync",
        about: "convergence when a leader's assignor hangs (the flaw no-pending-sync-timeout, KAFKA-12890), played by the core's consumers: A and B form a generation, A leading; A never sends its SyncGroup, while its heartbeat thread keeps its session alive; B's SyncGroup waits; the broker must remove A once the rebalance timeout passes without its SyncGroup and answer B's REBALANCE_IN_PROGRESS, and B's rejoin forms a generation alone",
        run: super::consumers::leader_stalls_before_sync,
    },
    Scenario {
        name: "follower-stalls-before-sync",
        about: "convergence when a follower hangs after its JoinGroup answer (the pending-sync timer running on in Stable), played by the core's consumers: A and B form a generation, A leading; B never sends its SyncGroup, while its heartbeat thread keeps its session alive; A's SyncGroup makes the group Stable; the broker must remove B once the rebalance timeout passes without its SyncGroup and answer A's Heartbeat REBALANCE_IN_PROGRESS, and A's rejoin forms a generation alone",
        run: super::consumers::follower_stalls_before_sync,
    },
];

pub(super) fn code_name(code: i16) -> String {
    ErrorCode::from_code(code).map_or_else(|| format!("error {code}"), |e| e.name().to_string())
}

/// A scenario being run: the members' exchanges and the findings so far.
pub struct Run<'a> {
    pub(super) cfg: &'a ProbeConfig,
    pub(super) broker: &'a Broker,
    pub(super) group: String,
    pub(super) coordinator: String,
    exchanges: Vec<Exchange>,
    findings: Vec<Finding>,
    pub(super) skipped: Option<String>,
    /// The broker's id of each member, with its number on the core's side.
    ids: Vec<(String, usize)>,
    /// The core taking the same steps: every history of it the broker's answers allow.
    pub(super) mirror: Histories,
    /// The exchange of each judged answer, in the order judged.
    judged: Vec<usize>,
    progress: &'a mut dyn FnMut(Progress),
    /// The broker's member ids as the core's consumers know them.
    pub(super) names: WireNames,
    /// What each of the core's consumers holds, by its number.
    pub(super) holdings: Vec<Option<Holding>>,
    /// The generations the core's consumers were told, the core's number beside the
    /// broker's.
    pub(super) generations: Vec<(u32, i64)>,
    /// The group's coordinator moved: the core's consumers' requests follow it as a
    /// client's do ([`Run::exchange_after_move`]).
    pub(super) moved: bool,
    /// What the broker's answers have shown, for the safety properties.
    pub(super) observed: super::observed::Observed,
}

impl Run<'_> {
    pub(super) fn saw(&mut self, member: &str, request: String, answer: String) {
        self.exchanges.push(Exchange {
            member: member.into(),
            request,
            answer,
            judged: None,
        });
    }

    pub(super) fn found(
        &mut self,
        class: Class,
        judgement: &str,
        detail: String,
        kafka: Option<String>,
    ) {
        self.findings.push(Finding {
            class,
            judgement: judgement.into(),
            exchange: self.exchanges.len(),
            detail,
            kafka,
        });
    }

    /// A safety finding at the last exchange: `property` broken, as the broker's own answers
    /// show.
    pub(super) fn broke(&mut self, property: Property, detail: String) {
        self.found(Class::Safety, property.name(), detail, None);
    }

    /// A deviation unless the last answer has the code `core` the core gave at its step
    /// `step`.
    pub(super) fn expect_at(&mut self, got: i16, core: Option<ErrorCode>, rule: &str, step: usize) {
        let kafka = core.map_or(NO_ANSWER, |c| c.name()).to_string();
        self.judged.push(self.exchanges.len().saturating_sub(1));
        if let Some(last) = self.exchanges.last_mut() {
            last.judged = Some(Judged {
                broker: code_name(got),
                core: kafka.clone(),
                core_step: Some(step),
            });
        }
        if core.is_some_and(|c| c.code() == got) {
            return;
        }
        self.found(
            Class::Deviation,
            rule,
            format!("answered {}", code_name(got)),
            Some(kafka),
        );
    }

    /// The scenario is not played, for `why`.
    pub(super) fn skip(&mut self, why: &str) {
        self.skipped = Some(why.into());
    }

    /// The number of the member the broker calls `id`.
    pub(super) fn number_of(&self, id: &str) -> Option<usize> {
        self.ids.iter().find(|(i, _)| i == id).map(|(_, n)| *n)
    }

    /// Notes the broker's id for member `k`.
    pub(super) fn name_member(&mut self, id: &str, k: usize) {
        if !id.is_empty() && !self.ids.iter().any(|(i, _)| i == id) {
            self.ids.push((id.to_string(), k));
        }
    }
}

impl Run<'_> {
    /// Member `k` falls silent for longer than its session (and some more, for the broker's
    /// clock); the core then expires its session. How long it was silent.
    pub(super) fn fall_silent(&mut self, name: &str, k: usize) -> Duration {
        let session = self.cfg.session_timeout;
        let silent = session + (session / 2).max(Duration::from_secs(1));
        (self.progress)(Progress::Waiting {
            time: silent,
            why: "a member falls silent past its session timeout",
        });
        std::thread::sleep(silent);
        self.mirror.expire(k);
        let pause = format!("(silent for {} ms)", silent.as_millis());
        self.saw(name, pause, String::new());
        silent
    }

    /// Whether an answer so far deviated from the core's.
    pub(super) fn deviated(&self) -> bool {
        self.findings.iter().any(|f| f.class == Class::Deviation)
    }

    /// Whether the coordinator can be moved; the scenario is skipped if not.
    pub(super) fn can_move_coordinator(&mut self) -> bool {
        if self.cfg.move_coordinator.is_none() {
            self.skipped =
                Some("it needs a way to move the group's coordinator (--move-coordinator)".into());
        }
        self.skipped.is_none()
    }

    /// Moves the group's coordinator to another broker, on the broker and on the core alike.
    pub(super) fn move_coordinator(&mut self, name: &str) -> Result<(), ProbeError> {
        let mover = self.cfg.move_coordinator.clone();
        let mover = mover.ok_or_else(|| ProbeError::Unsupported("no --move-coordinator".into()))?;
        (mover.0)(&self.group)
            .map_err(|e| ProbeError::Unsupported(format!("moving the coordinator failed: {e}")))?;
        self.mirror.move_coordinator();
        self.observed.moves += 1;
        self.moved = true;
        self.saw(
            name,
            "(the group's coordinator moved)".into(),
            String::new(),
        );
        Ok(())
    }
}

pub(super) fn io(e: std::io::Error) -> ProbeError {
    ProbeError::NotKafka(format!("the connection failed: {e}"))
}

/// How far a probe is, as it goes.
pub enum Progress<'a> {
    Started {
        index: usize,
        of: usize,
        scenario: &'a str,
    },
    /// A scenario waits (a member silent past its session).
    Waiting {
        time: Duration,
        why: &'a str,
    },
    Finished(&'a ScenarioReport),
}

/// Runs every scenario and then the random walks (or only the one named), telling
/// `progress` as it goes.
pub fn run_all(
    cfg: &ProbeConfig,
    broker: &Broker,
    only: Option<&str>,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<ScenarioReport>, ProbeError> {
    let mut chosen: Vec<(String, String, Play)> = SCENARIOS
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.about.to_string(),
                Play::Scenario(s.run),
            )
        })
        .collect();
    for m in derived::models(&cfg.catalogue) {
        chosen.push((
            m.name.clone(),
            derived::about(&m),
            Play::Derived(Box::new(m)),
        ));
    }
    for i in 0..u64::from(cfg.group_walks) {
        let seed = cfg.seed.wrapping_add(i);
        let about = super::group_walk::ABOUT.to_string();
        chosen.push((format!("group-walk-{seed}"), about, Play::GroupWalk(seed)));
    }
    for i in 0..u64::from(cfg.model_walks) {
        let seed = cfg.seed.wrapping_add(i);
        let about = derived::WALK_ABOUT.to_string();
        chosen.push((format!("model-walk-{seed}"), about, Play::ModelWalk(seed)));
    }
    chosen.retain(|(name, _, _)| only.is_none_or(|n| n == name));
    let mut out = Vec::new();
    let of = chosen.len();
    for (i, (name, about, play)) in chosen.into_iter().enumerate() {
        progress(Progress::Started {
            index: i + 1,
            of,
            scenario: &name,
        });
        let group = format!("groupcheck-probe-{}-{name}", cfg.run_id);
        let start = Instant::now();
        let mut run = Run {
            cfg,
            broker,
            coordinator: coordinator(cfg, &group)?,
            group,
            exchanges: Vec::new(),
            findings: Vec::new(),
            skipped: None,
            ids: Vec::new(),
            mirror: Histories::new(broker.partitions as u8),
            judged: Vec::new(),
            progress: &mut progress,
            names: WireNames::default(),
            holdings: Vec::new(),
            generations: Vec::new(),
            moved: false,
            observed: Default::default(),
        };
        match play {
            Play::Scenario(run_it) => run_it(&mut run)?,
            Play::GroupWalk(seed) => super::group_walk::group_walk(&mut run, seed)?,
            Play::Derived(model) => derived::play(&mut run, &model)?,
            Play::ModelWalk(seed) => derived::model_walk(&mut run, seed)?,
        }
        // Each judged exchange names its step in the history the trace shows.
        let mut exchanges = run.exchanges;
        for (&e, &step) in run.judged.iter().zip(&run.mirror.judged_at) {
            if let Some(judged) = &mut exchanges[e].judged {
                judged.core_step = Some(step);
            }
        }
        let report = ScenarioReport {
            scenario: name,
            about,
            group: run.group,
            exchanges,
            findings: run.findings,
            skipped: run.skipped,
            seconds: start.elapsed().as_secs_f64(),
            core_steps: run.mirror.taken.clone(),
        };
        progress(Progress::Finished(&report));
        out.push(report);
    }
    Ok(out)
}

/// What a probe plays: a scenario, or a random walk (of one member, or of a group) from a
/// seed.
enum Play {
    Scenario(fn(&mut Run) -> Result<(), ProbeError>),
    GroupWalk(u64),
    /// A catalogue model's counterexample.
    Derived(Box<ModelConfig>),
    /// A random execution of a passing catalogue model, from a seed.
    ModelWalk(u64),
}

/// The names a probe can be asked to play alone: the scenarios, those derived from
/// `catalogue`, `group-walk-SEED` and `model-walk-SEED`.
pub fn known(name: &str, catalogue: &[ModelConfig]) -> bool {
    let derived = derived::models(catalogue);
    let seeded = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|seed| seed.parse::<u64>().is_ok())
    };
    SCENARIOS.iter().any(|s| s.name == name)
        || derived.iter().any(|m| m.name == name)
        || seeded("group-walk-")
        || seeded("model-walk-")
}

/// A dynamic member joins an empty group: MEMBER_ID_REQUIRED with an id (KIP-394), then its
/// join forms the group, the member leading it; it assigns, syncs, fetches its committed
/// offsets and leaves. Every answer is judged against the core's.
fn member_id_required(run: &mut Run) -> Result<(), ProbeError> {
    let eager = Assignors::one(Assignor::RoundRobin);
    let (mut a, first) = run.start("A", 0, eager, None)?;
    run.drive_alone(&mut a, first)?;
    run.close(&mut a)
}
