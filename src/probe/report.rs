//! A probe's report: JSON for tools, Markdown for people.

use super::scenario::ScenarioReport;
use super::Broker;
use serde::Serialize;

#[derive(Serialize)]
struct Report<'a> {
    format: &'static str,
    broker: &'a Broker,
    scenarios: &'a [ScenarioReport],
}

pub fn json(broker: &Broker, scenarios: &[ScenarioReport]) -> String {
    let report = Report {
        format: "groupcheck-probe/1",
        broker,
        scenarios,
    };
    let mut s = serde_json::to_string_pretty(&report).expect("a report serializes");
    s.push('\n');
    s
}

pub fn markdown(broker: &Broker, scenarios: &[ScenarioReport]) -> String {
    let findings: usize = scenarios.iter().map(|s| s.findings.len()).sum();
    let mut md = format!(
        "# Probe of {}\n\n{} scenario(s), {findings} finding(s).\n\n",
        broker.bootstrap,
        scenarios.len()
    );
    for s in scenarios {
        md.push_str(&format!(
            "## `{}`: {}\n\n{}\n\nGroup `{}`, {:.1} s.\n\n",
            s.scenario,
            if s.findings.is_empty() {
                "as Kafka's coordinator answers"
            } else {
                "FINDINGS"
            },
            s.about,
            s.group,
            s.seconds
        ));
        for f in &s.findings {
            md.push_str(&format!("- {f}\n"));
        }
        if !s.findings.is_empty() {
            md.push('\n');
        }
        md.push_str("| # | member | request | answer |\n|---:|---|---|---|\n");
        for (i, e) in s.exchanges.iter().enumerate() {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                i + 1,
                e.member,
                e.request.replace('|', "\\|"),
                e.answer.replace('|', "\\|")
            ));
        }
        md.push('\n');
    }
    md
}
