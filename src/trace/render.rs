//! A trace three ways: Markdown for people reading a report, a Mermaid `sequenceDiagram` that
//! GitHub renders, and a compact form for the terminal.

use super::Trace;
use crate::model::config::Fault;
use crate::model::{Action, Addr, Msg};
use std::fmt::Write;

/// The configuration in one line.
pub fn config_line(t: &Trace) -> String {
    let c = &t.config;
    let f = &c.faults;
    let mut faults: Vec<String> = Fault::ALL
        .into_iter()
        .filter(|k| f.budget(*k) > 0)
        .map(|k| format!("{} {}", f.budget(k), k.noun()))
        .collect();
    if let Some(t) = f.max_total {
        faults.push(format!("at most {t} per execution"));
    }
    let faults = if faults.is_empty() {
        "none".to_string()
    } else {
        faults.join(", ")
    };
    let n = |k: u8, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
    format!(
        "{}, {}, {}, {} assignor, starts {}, network {}{}; faults: {}",
        n(c.consumers, "consumer"),
        n(c.partitions, "partition"),
        n(c.brokers, "broker"),
        format!("{:?}", c.assignor).to_lowercase(),
        match c.start {
            crate::model::Start::Empty => "empty",
            crate::model::Start::Stable => "with the group formed",
        },
        if c.network.ordered {
            "ordered"
        } else {
            "unordered"
        },
        if c.network.start_leading_travels {
            ", StartLeading a message"
        } else {
            ""
        },
        faults
    )
}

fn flaw_line(t: &Trace) -> String {
    match t.config.flaw {
        Some(f) => match f.jira() {
            Some(j) => format!("`{}` ({j})", f.name()),
            None => format!("`{}`", f.name()),
        },
        None => "none (the correct protocol)".into(),
    }
}

/// The trace as a Markdown document.
pub fn markdown(t: &Trace, trace_path: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# `{}` violated in `{}`\n", t.property, t.model);
    let _ = writeln!(s, "**{}.**\n", t.explanation);
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| model | `{}`: {} |",
        t.model,
        t.config.description.trim()
    );
    let _ = writeln!(s, "| configuration | {} |", config_line(t));
    let _ = writeln!(s, "| flaw | {} |", flaw_line(t));
    let _ = writeln!(s, "| property | `{}`: {} |", t.property, t.property_summary);
    let length = if t.minimal {
        format!(
            "{} steps, a shortest counterexample: no execution of fewer steps violates `{}`",
            t.steps.len(),
            t.property
        )
    } else {
        format!("{} steps (not proven shortest)", t.steps.len())
    };
    let _ = writeln!(s, "| trace | {length} |");
    if let Some(k) = t.cycle_start {
        let cycle = if k == t.steps.len() {
            format!("after step {k} the execution stutters forever: no fair step is enabled")
        } else {
            format!(
                "steps {}–{} repeat forever (a lasso: the state after step {} is the state after step {k}, up to the numbering of generations and member ids)",
                k + 1,
                t.steps.len(),
                t.steps.len()
            )
        };
        let _ = writeln!(s, "| cycle | {cycle} |");
    }
    let _ = writeln!(s, "| replay | `groupcheck replay {trace_path}` |");
    let _ = writeln!(
        s,
        "| explore | `groupcheck explore {}`, then open `http://127.0.0.1:3000/{}` |",
        t.model, t.explorer_path
    );
    let _ = writeln!(s, "\n## Steps\n");
    for step in &t.steps {
        if t.cycle_start == Some(step.step - 1) {
            let _ = writeln!(s, "**The cycle starts here; it repeats forever.**\n");
        }
        let _ = writeln!(s, "{}. {}", step.step, step.description);
        for m in &step.sent {
            let _ = writeln!(s, "   - sends `{m}`");
        }
        for c in &step.changes {
            if c.path == "network" {
                continue; // shown as "sends" above, or delivered by the step itself
            }
            let _ = writeln!(s, "   - `{}`: `{}` → `{}`", c.path, c.from, c.to);
        }
    }
    let _ = writeln!(s, "\n## Violation\n");
    let _ = writeln!(s, "{}.\n", t.explanation);
    let _ = writeln!(s, "## Sequence diagram\n");
    let _ = writeln!(s, "```mermaid\n{}```", mermaid(t));
    s
}

/// Mermaid text must not contain `;` (a statement separator) or `#` (an entity escape).
pub(crate) fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            c => out.push(c),
        }
    }
    out
}

fn participant(a: &Addr) -> String {
    match a {
        Addr::Controller => "ctl".into(),
        Addr::Broker(b) => format!("b{b}"),
        Addr::Client(c) => format!("c{}", c.consumer),
    }
}

/// The trace as a Mermaid sequence diagram: consumers, brokers, the offsets log (and the
/// controller when it speaks); a message is drawn when it is delivered or lost.
pub fn mermaid(t: &Trace) -> String {
    let c = &t.config;
    let mut s = String::from("sequenceDiagram\n");
    for i in 0..c.consumers {
        let _ = writeln!(s, "    participant c{i} as consumer-{i}");
    }
    for b in 0..c.brokers {
        let _ = writeln!(s, "    participant b{b} as broker-{b}");
    }
    let _ = writeln!(s, "    participant log as __consumer_offsets");
    let uses_controller = t.steps.iter().any(|st| {
        matches!(&st.action, Action::Deliver(e) | Action::Lose(e) if e.src == Addr::Controller)
    });
    if uses_controller {
        let _ = writeln!(s, "    participant ctl as controller");
    }
    let brokers = if c.brokers > 1 {
        format!("b0,b{}", c.brokers - 1)
    } else {
        "b0".into()
    };
    let in_cycle = |step: usize| t.cycle_start.is_some_and(|k| step > k);
    for st in &t.steps {
        if t.cycle_start == Some(st.step - 1) {
            let _ = writeln!(s, "    loop repeats forever");
        }
        let line = match &st.action {
            Action::Deliver(e) => format!(
                "{}->>{}: {}",
                participant(&e.src),
                participant(&e.dst),
                msg_text(&e.msg)
            ),
            Action::Lose(e) => format!(
                "{}--x{}: LOST {}",
                participant(&e.src),
                participant(&e.dst),
                msg_text(&e.msg)
            ),
            Action::Replicate | Action::Compact => format!("Note over log: {}", st.description),
            Action::FinishLoading(b) => format!("Note over b{b}: {}", st.description),
            Action::Consume(i, _)
            | Action::Commit(i)
            | Action::Abandon(i)
            | Action::TimeOut(i)
            | Action::Heartbeat(i)
            | Action::Crash(i)
            | Action::Close(i)
            | Action::StallSync(i)
            | Action::Bounce(i)
            | Action::Restart(i)
            | Action::Start(i) => format!("Note over c{i}: {}", st.description),
            Action::ExpireSession(_)
            | Action::RebalanceTimeout
            | Action::PendingSyncTimeout
            | Action::Failover(_) => {
                format!("Note over {brokers}: {}", st.description)
            }
        };
        let indent = if in_cycle(st.step) {
            "        "
        } else {
            "    "
        };
        let _ = writeln!(s, "{indent}{}", mermaid_text(&numbered(&line, st.step)));
    }
    if t.cycle_start.is_some_and(|k| k < t.steps.len()) {
        let _ = writeln!(s, "    end");
    }
    let last = if uses_controller { "ctl" } else { "log" };
    let _ = writeln!(
        s,
        "    Note over c0,{last}: {}",
        mermaid_text(&format!("VIOLATED {}: {}", t.property, t.explanation))
    );
    s
}

/// Puts the step number inside the message or note text, after the first `: `.
fn numbered(line: &str, step: usize) -> String {
    match line.split_once(": ") {
        Some((head, text)) => format!("{head}: {step}. {text}"),
        None => line.to_string(),
    }
}

fn msg_text(m: &Msg) -> String {
    m.to_string()
}

/// The compact rendering `groupcheck check` prints under a violated property.
pub fn terminal(t: &Trace) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "      {} counterexample, {} steps:",
        if t.minimal { "shortest" } else { "a" },
        t.steps.len()
    );
    for step in &t.steps {
        if t.cycle_start == Some(step.step - 1) {
            let _ = writeln!(s, "      ↻ from here the cycle repeats forever:");
        }
        let _ = writeln!(s, "      {:>3}. {}", step.step, step.description);
    }
    let _ = writeln!(s, "      ⇒ {}", t.explanation);
    s
}
