//! A probe's scenario as a trace (`"kind": "probe-scenario"`): the real requests and the
//! broker's answers, each finding classified safety or deviation, and the steps the core took
//! beside the broker with its answers.
//!
//! The broker is not there when the trace is read, so `replay` re-executes the core's side:
//! it takes the recorded steps again on a fresh coordinator of the core, which must give the
//! recorded answers (so a newer core still judges the run the same way); every answer judged
//! against the core must carry the core's answer in order; and every judged answer that differs
//! from the core's must be reported as a deviation. The safety findings are the broker's own
//! answers judged by the scenario, shown as recorded.

use super::render::mermaid_text;
use crate::probe::mirror::{Mirror, Step, Taken};
use crate::probe::scenario::{Class, Exchange, Finding, ScenarioReport, NO_ANSWER};
use crate::probe::Broker;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write;

pub const KIND: &str = "probe-scenario";

/// The probe's members the core can take steps for (a scenario has two).
const MAX_MEMBERS: usize = 16;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeTrace {
    pub format: String,
    pub kind: String,
    pub broker: String,
    pub partitions: u8,
    pub scenario: String,
    pub about: String,
    pub group: String,
    pub exchanges: Vec<Exchange>,
    pub findings: Vec<Finding>,
    pub core_steps: Vec<Taken>,
}

impl ProbeTrace {
    pub fn of(broker: &Broker, r: &ScenarioReport) -> ProbeTrace {
        ProbeTrace {
            format: super::FORMAT.into(),
            kind: KIND.into(),
            broker: broker.bootstrap.clone(),
            partitions: broker.partitions as u8,
            scenario: r.scenario.clone(),
            about: r.about.clone(),
            group: r.group.clone(),
            exchanges: r.exchanges.clone(),
            findings: r.findings.clone(),
            core_steps: r.core_steps.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        super::pretty_json(self)
    }

    pub fn from_value(v: Value) -> Result<ProbeTrace, String> {
        let t: ProbeTrace =
            serde_json::from_value(v).map_err(|e| format!("malformed trace: {e}"))?;
        if !(1..=16).contains(&t.partitions) {
            return Err(format!(
                "malformed trace: {} partitions (1–16)",
                t.partitions
            ));
        }
        for (i, taken) in t.core_steps.iter().enumerate() {
            let bad = |what: String| Err(format!("malformed trace: core step {}: {what}", i + 1));
            let members = match &taken.step {
                Step::Expire { member }
                | Step::Receive { member }
                | Step::Start { member, .. }
                | Step::Act { member, .. }
                | Step::Deliver { member }
                | Step::KeepAlive { member }
                | Step::Abandon { member }
                | Step::DeliverLate { member } => vec![*member],
                Step::MoveCoordinator
                | Step::Loaded
                | Step::PendingSyncTimeout
                | Step::RebalanceTimeout => vec![],
            };
            if let Some(m) = members.iter().find(|m| **m >= MAX_MEMBERS) {
                return bad(format!("member {m} (at most {MAX_MEMBERS} members)"));
            }
        }
        for f in &t.findings {
            if f.exchange == 0 || f.exchange > t.exchanges.len() {
                return Err(format!(
                    "malformed trace: a finding at exchange {} of {}",
                    f.exchange,
                    t.exchanges.len()
                ));
            }
        }
        Ok(t)
    }

    fn verdict(&self) -> String {
        let count = |c: Class| self.findings.iter().filter(|f| f.class == c).count();
        format!(
            "{} safety finding(s), {} deviation(s)",
            count(Class::Safety),
            count(Class::Deviation)
        )
    }

    /// The Markdown report: what the scenario is about, the findings, every exchange with
    /// the core's answer beside the broker's, and the sequence diagram.
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Probe of {}: `{}`\n\n{}\n\nGroup `{}`, {} partition(s). {}.\n\n",
            self.broker,
            self.scenario,
            self.about,
            self.group,
            self.partitions,
            self.verdict()
        );
        for f in &self.findings {
            let _ = writeln!(md, "- {f}");
        }
        md.push_str(
            "\n| # | member | request | answer | Kafka's (the core's) |\n|---:|---|---|---|---|\n",
        );
        for (i, e) in self.exchanges.iter().enumerate() {
            let core = e.judged.as_ref().map_or("", |j| j.core.as_str());
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                i + 1,
                e.member,
                e.request.replace('|', "\\|"),
                e.answer.replace('|', "\\|"),
                core
            );
        }
        let _ = write!(
            md,
            "\n## Sequence diagram\n\n```mermaid\n{}```\n",
            self.mermaid()
        );
        md
    }

    /// The exchanges as a Mermaid sequence diagram, each finding a note at its exchange.
    pub fn mermaid(&self) -> String {
        let mut s = String::from("sequenceDiagram\n");
        let mut members: Vec<&str> = self.exchanges.iter().map(|e| e.member.as_str()).collect();
        members.dedup();
        members.sort_unstable();
        members.dedup();
        for m in &members {
            let _ = writeln!(s, "    participant {m}");
        }
        let _ = writeln!(
            s,
            "    participant broker as {}",
            mermaid_text(&self.broker)
        );
        for (i, e) in self.exchanges.iter().enumerate() {
            let n = i + 1;
            if e.answer.is_empty() {
                // Not a request: the member fell silent, or the coordinator moved.
                let _ = writeln!(
                    s,
                    "    Note over {},broker: {n}. {}",
                    e.member,
                    mermaid_text(e.request.trim_matches(|c| c == '(' || c == ')'))
                );
            } else {
                let _ = writeln!(
                    s,
                    "    {}->>broker: {n}. {}",
                    e.member,
                    mermaid_text(&e.request)
                );
                let _ = writeln!(s, "    broker-->>{}: {}", e.member, mermaid_text(&e.answer));
            }
            for f in self.findings.iter().filter(|f| f.exchange == n) {
                let _ = writeln!(
                    s,
                    "    Note over {},broker: {}",
                    e.member,
                    mermaid_text(&f.to_string())
                );
            }
        }
        s
    }
}

/// Takes the core's recorded steps again and checks the judgement (see the module's doc).
/// `Ok` with a summary, or where it diverged.
pub fn replay(t: &ProbeTrace) -> Result<String, String> {
    let mut mirror = Mirror::new(t.partitions);
    let mut answers = Vec::new();
    for (i, taken) in t.core_steps.iter().enumerate() {
        let answer = mirror
            .take(taken.step.clone())
            .map(|e| e.name().to_string());
        if answer != taken.answer {
            return Err(format!(
                "core step {} ({:?}): the core answers {} where the trace has {}",
                i + 1,
                taken.step,
                answer.as_deref().unwrap_or("nothing"),
                taken.answer.as_deref().unwrap_or("nothing")
            ));
        }
        answers.push(answer);
    }
    // The core's answer each judged exchange carries, in the order the core gave them.
    let mut next = answers.iter().map(|a| a.as_deref().unwrap_or(NO_ANSWER));
    for (i, e) in t.exchanges.iter().enumerate() {
        let Some(judged) = &e.judged else { continue };
        // Where the trace names the step, its answer; else (traces written before steps were
        // named) the next step with that answer.
        let gave = match judged.core_step {
            Some(step) => answers
                .get(step.wrapping_sub(1))
                .is_some_and(|a| a.as_deref().unwrap_or(NO_ANSWER) == judged.core),
            None => next.any(|a| a == judged.core),
        };
        if !gave {
            return Err(format!(
                "exchange {}: the core's answer {} is not the answer of its step",
                i + 1,
                judged.core
            ));
        }
        let reported = t
            .findings
            .iter()
            .any(|f| f.class == Class::Deviation && f.exchange == i + 1);
        if judged.broker != judged.core && !reported {
            return Err(format!(
                "exchange {}: the broker answered {} where the core answers {}, and no deviation is reported",
                i + 1,
                judged.broker,
                judged.core
            ));
        }
    }
    Ok(format!(
        "the core gave the recorded answers to its {} steps, and every answer unlike the core's is a deviation; {}",
        t.core_steps.len(),
        t.verdict()
    ))
}
