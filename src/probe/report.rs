//! A probe's report: JSON for tools, Markdown for people, JUnit XML for CI.

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

/// JUnit XML: one test suite for the broker, one test case per scenario, failed when it has
/// findings (the findings as the message, the scenario's exchanges as the body).
pub fn junit(broker: &Broker, scenarios: &[ScenarioReport]) -> String {
    use crate::report::xml_escape;
    let failures = scenarios.iter().filter(|s| !s.findings.is_empty()).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"groupcheck probe\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        scenarios.len(),
        xml_escape(&broker.bootstrap),
        scenarios.len()
    );
    for s in scenarios {
        xml.push_str(&format!(
            "    <testcase classname=\"probe\" name=\"{}\" time=\"{:.3}\">",
            xml_escape(&s.scenario),
            s.seconds
        ));
        if let Some(why) = &s.skipped {
            xml.push_str(&format!("<skipped message=\"{}\"/>", xml_escape(why)));
        }
        if !s.findings.is_empty() {
            let message: Vec<String> = s.findings.iter().map(|f| f.to_string()).collect();
            xml.push_str(&format!(
                "<failure message=\"{}\" type=\"finding\">{}</failure>",
                xml_escape(&message.join("; ")),
                xml_escape(&markdown(broker, std::slice::from_ref(s)))
            ));
        }
        xml.push_str("</testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
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
            match (&s.skipped, s.findings.is_empty()) {
                (Some(_), _) => "skipped",
                (None, true) => "as Kafka's coordinator answers",
                (None, false) => "FINDINGS",
            },
            s.about,
            s.group,
            s.seconds
        ));
        if let Some(why) = &s.skipped {
            md.push_str(&format!("Not played: {why}.\n\n"));
        }
        for f in &s.findings {
            md.push_str(&format!("- {f}\n"));
        }
        if !s.findings.is_empty() {
            md.push('\n');
        }
        if s.exchanges.is_empty() {
            continue;
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
