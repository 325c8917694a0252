//! `groupcheck probe` against `groupcheck serve`: the correct coordinator answers as Kafka's
//! does in every scenario, the seeded flaw is found as a safety finding, and a broker that
//! cannot be probed is refused with a reason.

use groupcheck::flaw::Flaw;
use groupcheck::probe::scenario::{run_all, Class, ScenarioReport, SCENARIOS};
use groupcheck::probe::{preflight, Broker, ProbeConfig, ProbeError};
use groupcheck::wire::{ServeConfig, Server};
use std::io::Write;
use std::time::Duration;

/// Short sessions, so that the expiry scenario takes about a second and a half.
const SESSION: Duration = Duration::from_millis(400);

fn serve(flaw: Option<Flaw>) -> Server {
    Server::start(ServeConfig {
        topics: vec!["orders".into()],
        session_timeout: SESSION,
        rebalance_timeout: SESSION,
        flaws: flaw.into_iter().collect(),
        ..ServeConfig::default()
    })
    .expect("serve starts")
}

fn config(bootstrap: String) -> ProbeConfig {
    ProbeConfig {
        bootstrap,
        session_timeout: SESSION,
        topic: "orders".into(),
        run_id: "test".into(),
    }
}

fn probe(server: &Server) -> (Broker, Vec<ScenarioReport>) {
    let cfg = config(server.bootstrap());
    let broker = preflight(&cfg).expect("serve can be probed");
    assert_eq!(broker.partitions, 3);
    let reports = run_all(&cfg, &broker, None, |_| {}).expect("the probe runs");
    (broker, reports)
}

#[test]
fn probing_the_correct_coordinator_finds_nothing() {
    let server = serve(None);
    let (_, reports) = probe(&server);
    assert_eq!(reports.len(), SCENARIOS.len());
    for r in &reports {
        assert!(r.findings.is_empty(), "{}: {:?}", r.scenario, r.findings);
    }
    // The situation each scenario is about was reached: the round trip of KIP-394, the
    // zombie's commit fenced as Kafka fences it, and the old generation's Heartbeat, commit
    // and SyncGroup fenced.
    let answers = |name: &str| {
        let r = reports.iter().find(|r| r.scenario == name).unwrap();
        r.exchanges
            .iter()
            .map(|e| e.answer.clone())
            .collect::<Vec<_>>()
    };
    assert!(answers("member-id-required")[0].starts_with("MEMBER_ID_REQUIRED"));
    assert!(answers("zombie-commit-after-expiry").contains(&"UNKNOWN_MEMBER_ID".to_string()));
    let stale = answers("stale-generation");
    assert_eq!(
        stale.iter().filter(|a| *a == "ILLEGAL_GENERATION").count(),
        3,
        "{stale:?}"
    );
    let report = server.stop();
    assert_eq!(report.violations().count(), 0);
}

#[test]
fn probing_commit_without_fencing_finds_the_zombie_commit() {
    let server = serve(Some(Flaw::CommitWithoutFencing));
    let (broker, reports) = probe(&server);
    let zombie = reports
        .iter()
        .find(|r| r.scenario == "zombie-commit-after-expiry")
        .unwrap();
    assert!(
        zombie
            .findings
            .iter()
            .any(|f| f.class == Class::Safety && f.judgement == "no_zombie_commit"),
        "{:?}",
        zombie.findings
    );
    // The core, taking the same steps, fences that commit: a deviation from Kafka's answer.
    assert!(
        zombie.findings.iter().any(|f| f.class == Class::Deviation
            && f.kafka.as_deref() == Some("UNKNOWN_MEMBER_ID")),
        "{:?}",
        zombie.findings
    );
    // The JUnit report fails that scenario, and only scenarios with findings.
    let xml = groupcheck::probe::report::junit(&broker, &reports);
    let doc = roxmltree::Document::parse(&xml).expect("the JUnit report is XML");
    let failed: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|c| c.children().any(|f| f.has_tag_name("failure")))
        .filter_map(|c| c.attribute("name"))
        .collect();
    let with_findings: Vec<&str> = reports
        .iter()
        .filter(|r| !r.findings.is_empty())
        .map(|r| r.scenario)
        .collect();
    assert_eq!(failed, with_findings);
    assert!(failed.contains(&"zombie-commit-after-expiry"));
    // The coordinator's own history agrees.
    let report = server.stop();
    assert!(report
        .violations()
        .any(|(_, v)| v.property.name() == "no_zombie_commit"));
}

#[test]
fn a_broker_that_cannot_be_probed_is_refused_with_a_reason() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free.local_addr().unwrap().to_string();
    drop(free);
    assert!(matches!(
        preflight(&config(closed)),
        Err(ProbeError::Unreachable(_))
    ));
    // A server that answers anything but Kafka.
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = http.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut c, _) = http.accept().unwrap();
        let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    assert!(matches!(
        preflight(&config(address)),
        Err(ProbeError::NotKafka(_))
    ));
    server.join().unwrap();
}
