//! A served run as a trace: the coordinator's history, replayable.
//!
//! A run of `groupcheck serve` is not a model execution: its clients are real libraries, not
//! the model's consumer, so there is no model step to check each client action against. What
//! *is* exactly reproducible is the coordinator's side. Every event of the service's history
//! (`runtime::service::Event`) is the core's answer to one input — a request on a connection,
//! an append to the log, the high watermark passing a batch, a leader election, a load, an
//! unload, a timer — recorded inside the critical section that applied it. So the history is
//! written as it is, and [`replay`] re-executes it on fresh coordinators and a fresh
//! `__consumer_offsets` log: every input applied in the recorded order must be accepted where
//! it was and give the very answers the run sent, every append must be the batch the run
//! appended (and accepted or refused as it was), and the replayed history is then judged again
//! by the same rules (`runtime::history::check_real_clients`) and must break the same
//! properties, with the same findings about the clients.
//!
//! The file is a `groupcheck-trace/1` of kind `coordinator-history`: the same format name as
//! the model's traces, told apart by `kind`.

use super::explain;
use super::{FORMAT, NO_VIOLATION};
use crate::coordinator::{Coordinator, CoreConfig, LoadState};
use crate::flaw::{Flaw, Flaws};
use crate::offsets_log::{AppendError, LogAppender, OffsetsLog};
use crate::property::Property;
use crate::protocol::{Assignor, BrokerId, LeaderEpoch, Record, Reply};
use crate::runtime::history::{self, ClientFinding, Violation};
use crate::runtime::{Event, Timer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;

/// The `kind` of a served run's trace.
pub const KIND: &str = "coordinator-history";

/// A file name for a group id (any string on the wire): other characters than letters,
/// digits, `-`, `_` and `.` become `_`.
pub fn file_stem(group: &str) -> String {
    let stem: String = group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("group{stem}")
    } else {
        stem
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServedTrace {
    pub format: String,
    pub kind: String,
    /// The command that served the run.
    pub origin: String,
    /// The group's id, as its clients named it.
    pub group: String,
    /// The core's configuration: brokers, the topic's partitions, the switched-on flaws.
    pub brokers: u8,
    pub partitions: u8,
    pub assignor: Assignor,
    pub flaws: Vec<Flaw>,
    /// The first property the history breaks, or [`NO_VIOLATION`].
    pub property: String,
    pub property_summary: String,
    /// Why, in one sentence (the first violation's detail).
    pub explanation: String,
    /// Every property the history breaks, where (1-based event) and how.
    pub violations: Vec<Judged>,
    /// What the clients did that the model's consumer never does.
    pub findings: Vec<Judged>,
    /// The coordinator's history, in the order it happened.
    pub events: Vec<Event>,
}

/// One judgement of the history: what, at which event (1-based; one past the last for a
/// judgement of the end), and the detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judged {
    pub what: String,
    pub event: usize,
    pub detail: String,
}

impl From<&Violation> for Judged {
    fn from(v: &Violation) -> Judged {
        Judged {
            what: v.property.name().to_string(),
            event: v.event + 1,
            detail: v.detail.clone(),
        }
    }
}

impl From<&ClientFinding> for Judged {
    fn from(f: &ClientFinding) -> Judged {
        Judged {
            what: f.kind.to_string(),
            event: f.event + 1,
            detail: f.detail.clone(),
        }
    }
}

/// The judgements of a history of real clients.
fn judge(events: &[Event], partitions: u8) -> (Vec<Judged>, Vec<Judged>) {
    let (violations, findings) = history::check_real_clients(events, partitions);
    (
        violations.iter().map(Judged::from).collect(),
        findings.iter().map(Judged::from).collect(),
    )
}

impl ServedTrace {
    /// The trace of one group's served history, judged as it is written.
    pub fn new(
        origin: &str,
        group: &str,
        core: &CoreConfig,
        brokers: u8,
        events: Vec<Event>,
    ) -> ServedTrace {
        let (violations, findings) = judge(&events, core.partitions);
        let first = violations.first();
        let property = first.and_then(|v| Property::from_name(&v.what));
        ServedTrace {
            format: FORMAT.into(),
            kind: KIND.into(),
            origin: origin.into(),
            group: group.into(),
            brokers,
            partitions: core.partitions,
            assignor: core.assignor,
            flaws: core.flaws.iter().collect(),
            property: property.map_or(NO_VIOLATION, |p| p.name()).to_string(),
            property_summary: property.map_or("", |p| p.summary()).to_string(),
            explanation: first.map_or(String::new(), |v| {
                format!("at event {}: {}", v.event, v.detail)
            }),
            violations,
            findings,
            events,
        }
    }

    fn core(&self) -> CoreConfig {
        CoreConfig {
            partitions: self.partitions,
            assignor: self.assignor,
            flaws: self.flaws.iter().copied().collect::<Flaws>(),
        }
    }

    pub fn to_json(&self) -> String {
        super::pretty_json(self)
    }

    /// Parses a served run's trace (the caller has read `format` and `kind`).
    pub fn from_value(v: Value) -> Result<ServedTrace, String> {
        let t: ServedTrace =
            serde_json::from_value(v).map_err(|e| format!("malformed trace: {e}"))?;
        if !(1..=8).contains(&t.brokers) || !(1..=16).contains(&t.partitions) {
            return Err(format!(
                "malformed trace: {} brokers and {} partitions (1–8 and 1–16)",
                t.brokers, t.partitions
            ));
        }
        Ok(t)
    }

    /// The Markdown report: the verdict, the judgements, and every event in order.
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Served run of group `{}`\n\n`{}`\n\n{} broker(s), {} partition(s){}. {} events.\n\n",
            self.group,
            self.origin,
            self.brokers,
            self.partitions,
            if self.flaws.is_empty() {
                String::new()
            } else {
                let names: Vec<_> = self.flaws.iter().map(|f| f.name()).collect();
                format!(", flaw {}", names.join(", "))
            },
            self.events.len()
        );
        if self.violations.is_empty() {
            md.push_str("**No violation**: the coordinator's history breaks no property.\n\n");
        } else {
            md.push_str("## Violations\n\n");
            for v in &self.violations {
                md.push_str(&format!(
                    "- `{}` at event {}: {}\n",
                    v.what, v.event, v.detail
                ));
            }
            md.push('\n');
        }
        if !self.findings.is_empty() {
            md.push_str("## What the clients did\n\n");
            for f in &self.findings {
                md.push_str(&format!(
                    "- {} at event {}: {}\n",
                    f.what, f.event, f.detail
                ));
            }
            md.push('\n');
        }
        md.push_str("## Events\n\n| # | event |\n|---:|---|\n");
        for (i, e) in self.events.iter().enumerate() {
            md.push_str(&format!(
                "| {} | {} |\n",
                i + 1,
                describe(e).replace('|', "\\|")
            ));
        }
        md
    }
}

fn replies(rs: &[Reply]) -> String {
    if rs.is_empty() {
        return String::new();
    }
    let each: Vec<_> = rs
        .iter()
        .map(|r| format!("{} to {}", r.response, r.to))
        .collect();
    format!(": {}", each.join("; "))
}

fn batch_text(b: &[Record]) -> String {
    let each: Vec<_> = b.iter().map(explain::record).collect();
    each.join(", ")
}

/// One event in a line.
pub fn describe(e: &Event) -> String {
    match e {
        Event::Handled {
            broker,
            from,
            request,
            replies: rs,
            ..
        } => format!(
            "broker-{broker} handles {request} from {from}{}",
            replies(rs)
        ),
        Event::Appended {
            broker,
            epoch,
            batch: b,
            accepted,
        } => format!(
            "broker-{broker} appends [{}] in leader epoch {epoch}{}",
            batch_text(b),
            if *accepted { "" } else { ": refused" }
        ),
        Event::Replicated { batch: b } => format!("durable: [{}]", batch_text(b)),
        Event::Completed {
            broker,
            replies: rs,
            ..
        } => format!("broker-{broker} completes the durable batch{}", replies(rs)),
        Event::Elected { broker, epoch } => {
            format!("broker-{broker} elected leader of __consumer_offsets, epoch {epoch}")
        }
        Event::Loading {
            broker,
            replies: rs,
            ..
        } => format!("broker-{broker} starts loading{}", replies(rs)),
        Event::Unloaded {
            broker,
            replies: rs,
            ..
        } => format!("broker-{broker} unloads{}", replies(rs)),
        Event::Loaded {
            broker, durable, ..
        } => format!("broker-{broker} loaded the group from {durable} durable records"),
        Event::Timer {
            broker,
            timer,
            replies: rs,
            ..
        } => format!("at broker-{broker}, {timer}{}", replies(rs)),
        Event::Client { addr, step } => format!("{addr}: {step:?}"),
    }
}

/// Where and why a served run's replay left the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The 1-based event that diverged; 0 for the verdict.
    pub event: usize,
    pub reason: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.event == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "event {}: {}", self.event, self.reason)
        }
    }
}

/// Re-executes a served run's history on fresh coordinators and a fresh log, then judges it
/// again. `Ok` means every event happened as recorded and the verdict is the recorded one.
pub fn replay(trace: &ServedTrace) -> Result<(), Divergence> {
    let mut r = Replayer::new(trace.core(), trace.brokers);
    for (i, e) in trace.events.iter().enumerate() {
        r.apply(e).map_err(|reason| Divergence {
            event: i + 1,
            reason,
        })?;
    }
    let (violations, findings) = judge(&trace.events, trace.partitions);
    let verdict = |what: &str, got: &[Judged], recorded: &[Judged]| {
        if got == recorded {
            return Ok(());
        }
        let show = |js: &[Judged]| {
            let each: Vec<_> = js
                .iter()
                .map(|j| format!("{} at {}", j.what, j.event))
                .collect();
            format!("[{}]", each.join(", "))
        };
        Err(Divergence {
            event: 0,
            reason: format!(
                "judged again, the history gives {what} {}, the trace records {}",
                show(got),
                show(recorded)
            ),
        })
    };
    verdict("violations", &violations, &trace.violations)?;
    verdict("findings", &findings, &trace.findings)?;
    let first = violations.first().map_or(NO_VIOLATION, |v| v.what.as_str());
    if first != trace.property {
        return Err(Divergence {
            event: 0,
            reason: format!(
                "the trace names {} but its first violation is {first}",
                trace.property
            ),
        });
    }
    Ok(())
}

/// An append as the run recorded it: the epoch, the batch, and whether the log took it.
type Append = (LeaderEpoch, Vec<Record>, bool);

/// The coordinators and the log, re-executing a history.
struct Replayer {
    cfg: CoreConfig,
    brokers: Vec<Coordinator>,
    log: OffsetsLog,
    /// The appends each broker made since its last request or timer: that request's or
    /// timer's own (it held the broker's lock throughout).
    appends: Vec<VecDeque<Append>>,
    /// The leader and epoch of the log when the last batch became durable, for its completion.
    replicated: Option<(BrokerId, LeaderEpoch)>,
}

/// The log a replayed request or timer appends to: the appends the run recorded for it, in
/// order; any other append is a divergence.
struct RecordedAppends<'a> {
    recorded: &'a mut VecDeque<Append>,
    wrong: Option<String>,
}

impl LogAppender for RecordedAppends<'_> {
    fn append(&mut self, epoch: LeaderEpoch, batch: Vec<Record>) -> Result<(), AppendError> {
        match self.recorded.pop_front() {
            Some((e, b, accepted)) if e == epoch && b == batch => {
                if accepted {
                    Ok(())
                } else {
                    Err(AppendError::NotLeaderOrFollower)
                }
            }
            other => {
                self.wrong.get_or_insert_with(|| match other {
                    Some((e, b, _)) => format!(
                        "the core appends [{}] in epoch {epoch}, the run appended [{}] in epoch {e}",
                        batch_text(&batch),
                        batch_text(&b)
                    ),
                    None => format!(
                        "the core appends [{}], the run appended nothing",
                        batch_text(&batch)
                    ),
                });
                Err(AppendError::NotLeaderOrFollower)
            }
        }
    }
}

impl Replayer {
    fn new(cfg: CoreConfig, brokers: u8) -> Replayer {
        Replayer {
            brokers: (0..brokers)
                .map(|b| {
                    if b == 0 {
                        Coordinator::active(BrokerId(0), LeaderEpoch(0), &cfg)
                    } else {
                        Coordinator::idle(BrokerId(b), &cfg)
                    }
                })
                .collect(),
            log: OffsetsLog::new(BrokerId(0)),
            appends: vec![VecDeque::new(); usize::from(brokers)],
            replicated: None,
            cfg,
        }
    }

    fn broker(&mut self, b: BrokerId) -> Result<usize, String> {
        let i = b.index();
        if i < self.brokers.len() {
            Ok(i)
        } else {
            Err(format!("there is no broker-{b}"))
        }
    }

    /// Runs a request or timer of broker `b` against the appends recorded for it.
    fn with_appends(
        &mut self,
        b: usize,
        f: impl FnOnce(&mut Coordinator, &mut dyn LogAppender, &CoreConfig) -> Vec<Reply>,
    ) -> Result<Vec<Reply>, String> {
        let mut log = RecordedAppends {
            recorded: &mut self.appends[b],
            wrong: None,
        };
        let out = f(&mut self.brokers[b], &mut log, &self.cfg);
        if let Some(wrong) = log.wrong {
            return Err(wrong);
        }
        if let Some((_, batch, _)) = log.recorded.front() {
            return Err(format!(
                "the run appended [{}], the core does not",
                batch_text(batch)
            ));
        }
        Ok(out)
    }

    fn apply(&mut self, e: &Event) -> Result<(), String> {
        let same = |got: Vec<Reply>, recorded: &[Reply]| {
            if got == recorded {
                Ok(())
            } else {
                Err(format!(
                    "the core answers{}, the run answered{}",
                    none_or(&replies(&got)),
                    none_or(&replies(recorded))
                ))
            }
        };
        match e {
            Event::Appended {
                broker,
                epoch,
                batch,
                accepted,
            } => {
                let b = self.broker(*broker)?;
                let took = self.log.append(*epoch, batch.clone()).is_ok();
                if took != *accepted {
                    return Err(format!(
                        "the log {} the append, the run's log {} it",
                        if took { "accepts" } else { "refuses" },
                        if *accepted { "accepted" } else { "refused" }
                    ));
                }
                self.appends[b].push_back((*epoch, batch.clone(), *accepted));
                Ok(())
            }
            Event::Handled {
                broker,
                epoch,
                from,
                request,
                replies: recorded,
                ..
            } => {
                let b = self.broker(*broker)?;
                let got = self.with_appends(b, |c, log, cfg| c.handle(*from, request, log, cfg))?;
                self.same_epoch(b, *epoch)?;
                same(got, recorded)
            }
            Event::Timer {
                broker,
                epoch,
                timer,
                replies: recorded,
            } => {
                let b = self.broker(*broker)?;
                let got = self.with_appends(b, |c, log, cfg| match timer {
                    Timer::ExpireSession(id) => c.expire_session(*id, log, cfg),
                    Timer::RebalanceTimeout => c.rebalance_timeout(log, cfg),
                    Timer::PendingSyncTimeout => c.pending_sync_timeout(log, cfg),
                })?;
                self.same_epoch(b, *epoch)?;
                same(got, recorded)
            }
            Event::Replicated { batch } => {
                if self.log.uncommitted.first() != Some(batch) {
                    return Err(format!(
                        "[{}] is not the oldest batch above the high watermark",
                        batch_text(batch)
                    ));
                }
                self.log.replicate_one();
                self.replicated = Some((self.log.leader, self.log.leader_epoch));
                Ok(())
            }
            Event::Completed {
                broker,
                epoch,
                replies: recorded,
            } => {
                let Some((leader, log_epoch)) = self.replicated.take() else {
                    return Err("a completion with no batch made durable before it".into());
                };
                if leader != *broker {
                    return Err(format!("broker-{leader} led the log, not broker-{broker}"));
                }
                let b = self.broker(*broker)?;
                let c = &mut self.brokers[b];
                let got = if c.epoch == log_epoch && c.load == LoadState::Active {
                    c.on_batch_durable()
                } else {
                    Vec::new()
                };
                self.same_epoch(b, *epoch)?;
                same(got, recorded)
            }
            Event::Elected { broker, epoch } => {
                self.broker(*broker)?;
                self.log.elect(*broker);
                if self.log.leader_epoch != *epoch {
                    return Err(format!(
                        "the election gives epoch {}, the run's gave {epoch}",
                        self.log.leader_epoch
                    ));
                }
                Ok(())
            }
            Event::Loading {
                broker,
                epoch,
                replies: recorded,
            } => {
                let b = self.broker(*broker)?;
                let got = self.brokers[b].on_start_leading(*epoch, &self.cfg);
                same(got, recorded)
            }
            Event::Unloaded {
                broker,
                epoch,
                replies: recorded,
            } => {
                let b = self.broker(*broker)?;
                let got = self.brokers[b].on_stop_leading(*epoch, &self.cfg);
                same(got, recorded)
            }
            Event::Loaded {
                broker,
                epoch,
                durable,
            } => {
                let b = self.broker(*broker)?;
                let c = &mut self.brokers[b];
                // The run read the durable log (its length recorded) under the log's lock,
                // then loaded under the broker's: an election may fall between, so only the
                // broker's own epoch is compared, as the run did.
                if c.load != LoadState::Loading
                    || c.epoch != *epoch
                    || *durable > self.log.durable.len()
                {
                    return Err(format!(
                        "broker-{broker} cannot finish loading epoch {epoch} from {durable} durable records here"
                    ));
                }
                c.finish_loading(&self.log.durable[..*durable], &self.cfg);
                Ok(())
            }
            // A consumer's own step (a run of the runtime's consumers): nothing of the
            // coordinator's.
            Event::Client { .. } => Ok(()),
        }
    }

    fn same_epoch(&self, b: usize, epoch: LeaderEpoch) -> Result<(), String> {
        let now = self.brokers[b].epoch;
        if now == epoch {
            Ok(())
        } else {
            Err(format!(
                "broker-{b} holds epoch {now}, the run's held {epoch}"
            ))
        }
    }
}

fn none_or(s: &str) -> &str {
    if s.is_empty() {
        " nothing"
    } else {
        s
    }
}
