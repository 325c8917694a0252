//! `groupcheck probe` against `groupcheck serve`: the correct coordinator answers as Kafka's
//! does in every scenario, the seeded flaw is found as a safety finding, and a broker that
//! cannot be probed is refused with a reason.

use groupcheck::flaw::Flaw;
use groupcheck::probe::scenario::{run_all, Class, Finding, ScenarioReport, NO_ANSWER, SCENARIOS};
use groupcheck::probe::{preflight, Broker, MoveCoordinator, ProbeConfig, ProbeError};
use groupcheck::trace::probed::{self, ProbeTrace};
use groupcheck::trace::AnyTrace;
use groupcheck::wire::{ServeConfig, Server};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// Short sessions, so that the expiry scenario takes about a second and a half.
const SESSION: Duration = Duration::from_millis(400);

/// Two brokers, so that the group's coordinator can move; followers fetching every
/// `replication`, if given.
fn serve(flaw: Option<Flaw>, replication: Option<Duration>) -> Arc<Server> {
    serve_loading(flaw, replication, Duration::from_millis(50))
}

/// The same, a newly elected coordinator loading the group for `load`.
fn serve_loading(flaw: Option<Flaw>, replication: Option<Duration>, load: Duration) -> Arc<Server> {
    let defaults = ServeConfig::default();
    let server = Server::start(ServeConfig {
        brokers: 2,
        topics: vec!["orders".into()],
        session_timeout: SESSION,
        // Long enough for a member's rejoin to meet the other's waiting JoinGroup.
        rebalance_timeout: Duration::from_secs(2),
        load_time: load,
        replication_interval: replication.unwrap_or(defaults.replication_interval),
        flaws: flaw.into_iter().collect(),
        ..defaults
    })
    .expect("serve starts");
    Arc::new(server)
}

/// The probe's configuration for `server`, moving a coordinator by a failover of the server.
fn config(server: &Arc<Server>) -> ProbeConfig {
    let mover = Arc::downgrade(server);
    ProbeConfig {
        move_coordinator: Some(MoveCoordinator(Arc::new(move |group: &str| {
            let server = mover.upgrade().ok_or("the server has stopped")?;
            server
                .failover(group)
                .map(|_| ())
                .ok_or_else(|| format!("no group {group}"))
        }))),
        ..config_at(first_broker(server))
    }
}

fn first_broker(server: &Server) -> String {
    format!("127.0.0.1:{}", server.ports()[0])
}

fn config_at(bootstrap: String) -> ProbeConfig {
    ProbeConfig {
        bootstrap,
        session_timeout: SESSION,
        topic: "orders".into(),
        run_id: "test".into(),
        move_coordinator: None,
        group_walks: 3,
        model_walks: 0,
        seed: 1,
        catalogue: Vec::new(),
    }
}

fn probe(server: &Arc<Server>, only: Option<&str>) -> (Broker, Vec<ScenarioReport>) {
    let cfg = config(server);
    let broker = preflight(&cfg).expect("serve can be probed");
    assert_eq!(broker.partitions, 3);
    let reports = run_all(&cfg, &broker, only, |_| {}).expect("the probe runs");
    (broker, reports)
}

fn stop(server: Arc<Server>) -> groupcheck::wire::ServeReport {
    let report = Arc::into_inner(server)
        .expect("the probe holds no server")
        .stop();
    assert!(report.panics.is_empty(), "{:?}", report.panics);
    report
}

#[test]
fn probing_the_correct_coordinator_finds_nothing() {
    let server = serve(None, None);
    let (_, reports) = probe(&server, None);
    assert_eq!(
        reports.len(),
        SCENARIOS.len() + 3,
        "the scenarios and three walks of a group"
    );
    for r in &reports {
        assert!(
            r.findings.is_empty(),
            "{}: {:?} {:#?}",
            r.scenario,
            r.findings,
            r.exchanges
        );
    }
    // The situation each scenario is about was reached: the round trip of KIP-394, the
    // zombie's commit fenced as Kafka fences it, and the late commit, and the late leader's
    // SyncGroup, of an old generation fenced.
    let answers = |name: &str| {
        let r = reports.iter().find(|r| r.scenario == name).unwrap();
        r.exchanges
            .iter()
            .map(|e| e.answer.clone())
            .collect::<Vec<_>>()
    };
    let said = |name: &str, start: &str| answers(name).iter().any(|a| a.starts_with(start));
    assert!(said("member-id-required", "JoinGroup MEMBER_ID_REQUIRED"));
    assert!(said(
        "zombie-commit-after-expiry",
        "OffsetCommit UNKNOWN_MEMBER_ID"
    ));
    assert!(said("stale-generation", "OffsetCommit ILLEGAL_GENERATION"));
    assert!(said("stale-leader-sync", "SyncGroup ILLEGAL_GENERATION"));
    // KIP-394's pending member left (removed, not called unknown), and its late JoinGroup
    // found its member id forgotten.
    assert!(said("pending-member-leaves", "LeaveGroup NONE"));
    assert!(said("pending-member-leaves", "JoinGroup UNKNOWN_MEMBER_ID"));
    // librdkafka's commit with the generation of its JoinGroup answer, before its SyncGroup.
    assert!(said(
        "commit-before-sync",
        "OffsetCommit REBALANCE_IN_PROGRESS"
    ));
    // The coordinator moved after the assignment was acknowledged, and the member's Heartbeat
    // reached the new coordinator, which knew it.
    let moved = answers("assignment-survives-coordinator-move");
    let requests = reports
        .iter()
        .find(|r| r.scenario == "assignment-survives-coordinator-move")
        .map(|r| {
            r.exchanges
                .iter()
                .map(|e| e.request.clone())
                .collect::<Vec<_>>()
        })
        .unwrap();
    let at = requests
        .iter()
        .position(|r| r.contains("coordinator moved"))
        .expect("the coordinator moved");
    assert!(
        requests[at + 1..]
            .iter()
            .zip(&moved[at + 1..])
            .any(|(r, a)| r.starts_with("Heartbeat") && a == "Heartbeat NONE"),
        "{requests:?} {moved:?}"
    );
    // A commit while the group prepared a rebalance was accepted, and the two members synced
    // the next generation.
    let racing = answers("commit-during-rebalance");
    let told = racing
        .iter()
        .position(|a| a == "Heartbeat REBALANCE_IN_PROGRESS")
        .expect("the rebalance was told");
    assert!(
        racing[told + 1].starts_with("OffsetCommit NONE")
            && racing
                .iter()
                .filter(|a| a.starts_with("SyncGroup NONE"))
                .count()
                == 3,
        "{racing:?}"
    );
    // A leave during CompletingRebalance voided that generation's SyncGroup.
    assert!(said(
        "leave-during-completing-rebalance",
        "SyncGroup REBALANCE_IN_PROGRESS"
    ));
    // The core's consumers: the cooperative leader learned what A owned, and B was given, in
    // the follow-up rebalance, what A had revoked; the static member's new process took the
    // membership over (KIP-814's skip_assignment for the replaced leader), and the old one's
    // commit was fenced.
    let cooperative = reports
        .iter()
        .find(|r| r.scenario == "cooperative-revocation")
        .unwrap();
    assert!(
        cooperative
            .exchanges
            .iter()
            .any(|e| e.answer.starts_with("JoinGroup NONE") && e.answer.contains("owned=[")),
        "{:?}",
        cooperative.exchanges
    );
    assert!(
        cooperative
            .exchanges
            .iter()
            .any(|e| e.member == "B" && e.answer.starts_with("SyncGroup NONE assignment={p")),
        "{:?}",
        cooperative.exchanges
    );
    // The static member's restart during a rebalance took its place in the join phase, and
    // the old process's rejoin was fenced.
    let restarted = answers("static-member-restarts-during-rebalance");
    let fenced = restarted
        .iter()
        .filter(|a| *a == "JoinGroup FENCED_INSTANCE_ID")
        .count();
    let synced = restarted
        .iter()
        .filter(|a| a.starts_with("SyncGroup NONE"))
        .count();
    // A's own generation, then A2's and B's.
    assert_eq!((fenced, synced), (1, 3), "{restarted:?}");
    // A leader whose assignor hung was removed once the rebalance timeout passed: the
    // follower's SyncGroup refused, its rejoin a generation of its own.
    let stalled = answers("leader-stalls-before-sync");
    assert!(
        stalled
            .iter()
            .any(|a| a == "SyncGroup REBALANCE_IN_PROGRESS"),
        "{stalled:?}"
    );
    // A follower hung after its JoinGroup answer was removed from the Stable group once the
    // rebalance timeout passed: its heartbeat thread's Heartbeat fenced, A's rejoin a
    // generation of its own.
    let hung = answers("follower-stalls-before-sync");
    assert!(
        hung.iter().any(|a| a == "Heartbeat UNKNOWN_MEMBER_ID")
            && hung.last().is_some_and(|a| a == "LeaveGroup NONE"),
        "{hung:?}"
    );
    // A static restart while the group waited for its leader's assignment began another
    // rebalance: the follower's SyncGroup refused, the old process's SyncGroup fenced.
    let completing = answers("static-member-restarts-while-completing");
    assert!(
        completing.contains(&"SyncGroup REBALANCE_IN_PROGRESS".to_string())
            && completing.contains(&"SyncGroup FENCED_INSTANCE_ID".to_string()),
        "{completing:?}"
    );
    let replaced = answers("static-member-replaced");
    assert!(
        replaced.iter().any(|a| a.contains("skip-assignment"))
            && replaced.iter().any(|a| a.contains("FENCED_INSTANCE_ID")),
        "{replaced:?}"
    );
    // After the coordinator moved, the one that loaded the group knew the static member's
    // replacement: the old process's commit fenced, the new process's Heartbeat answered.
    let survived = reports
        .iter()
        .find(|r| r.scenario == "static-replacement-survives-coordinator-move")
        .unwrap();
    let after: Vec<(&str, &str)> = survived
        .exchanges
        .iter()
        .skip_while(|e| !e.request.contains("coordinator moved"))
        .filter(|e| !e.request.contains("not judged"))
        .map(|e| (e.request.as_str(), e.answer.as_str()))
        .collect();
    assert!(
        after
            .iter()
            .any(|(r, a)| r.starts_with("OffsetCommit") && a.contains("FENCED_INSTANCE_ID"))
            && after
                .iter()
                .any(|(r, a)| r.starts_with("Heartbeat") && a.contains("NONE")),
        "{:?}",
        survived.exchanges
    );
    let exchanges_of = |walks: &str| -> Vec<(&str, &str)> {
        reports
            .iter()
            .filter(|r| r.scenario.starts_with(walks))
            .flat_map(|r| r.exchanges.iter())
            .map(|e| (e.request.as_str(), e.answer.as_str()))
            .collect()
    };
    // The walks of a group formed generations of two members, rebalanced, and one member fell
    // silent past its session, which the group's coordinator ended; their members were
    // static, eager and cooperative.
    let grouped = exchanges_of("group-walk-");
    for kind in ["group.instance.id", "[roundrobin]", "[cooperative-sticky]"] {
        assert!(grouped.iter().any(|(r, _)| r.contains(kind)), "{kind}");
    }
    assert!(
        grouped.iter().any(|(_, a)| a.contains(",m0.")),
        "{grouped:?}"
    );
    assert!(grouped
        .iter()
        .any(|(_, a)| a.contains("REBALANCE_IN_PROGRESS")));
    assert!(grouped.iter().any(|(r, _)| r.contains("falls silent")));
    assert!(grouped.iter().any(|(_, a)| a.contains("UNKNOWN_MEMBER_ID")));
    let report = stop(server);
    assert_eq!(report.violations().count(), 0);
}

#[test]
fn probing_commit_without_fencing_finds_the_zombie_commit() {
    let server = serve(Some(Flaw::CommitWithoutFencing), None);
    let (broker, reports) = probe(&server, None);
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
    assert!(
        traces_replay_and_forgeries_diverge(&broker, zombie),
        "the fenced commit's judgement is forged"
    );
    // The static member's old process, played by the core's consumer, commits after the
    // instance was given to a new process: accepted, where Kafka fences it.
    let replaced = reports
        .iter()
        .find(|r| r.scenario == "static-member-replaced")
        .unwrap();
    assert!(
        replaced
            .findings
            .iter()
            .any(|f| f.class == Class::Safety && f.judgement == "no_zombie_commit")
            && replaced
                .findings
                .iter()
                .any(|f| f.class == Class::Deviation
                    && f.kafka.as_deref() == Some("FENCED_INSTANCE_ID")),
        "{:?}",
        replaced.findings
    );
    traces_replay_and_forgeries_diverge(&broker, replaced);
    // In the second walk of a group, a member back from a pause past its session commits:
    // accepted, where Kafka fences it.
    let walk = reports
        .iter()
        .find(|r| r.scenario == "group-walk-2")
        .unwrap();
    assert!(
        walk.findings.iter().any(|f| f.class == Class::Deviation
            && f.judgement.starts_with("OffsetCommit")
            && f.kafka.as_deref() == Some("UNKNOWN_MEMBER_ID")),
        "{:?}",
        walk.findings
    );
    traces_replay_and_forgeries_diverge(&broker, walk);
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
        .map(|r| r.scenario.as_str())
        .collect();
    assert_eq!(failed, with_findings);
    assert!(failed.contains(&"zombie-commit-after-expiry"));
    // The coordinator's own history agrees.
    let report = stop(server);
    assert!(report
        .violations()
        .any(|(_, v)| v.property.name() == "no_zombie_commit"));
}

#[test]
fn probing_sync_ack_before_persist_finds_the_assignment_lost_in_a_move() {
    // Followers fetch every second: the assignment the flawed coordinator acknowledges at once
    // is not durable yet when the coordinator moves.
    let scenario = "assignment-survives-coordinator-move";
    let server = serve(
        Some(Flaw::SyncAckBeforePersist),
        Some(Duration::from_secs(1)),
    );
    let (broker, reports) = probe(&server, Some(scenario));
    let findings = &reports[0].findings;
    for property in ["durable_before_ack", "generation_monotonic"] {
        assert!(
            findings
                .iter()
                .any(|f| f.class == Class::Safety && f.judgement == property),
            "{property}: {findings:?}"
        );
    }
    // The core's coordinator knows the member after the move: a deviation.
    assert!(
        findings
            .iter()
            .any(|f| f.class == Class::Deviation && f.kafka.as_deref() == Some("NONE")),
        "{findings:?}"
    );
    traces_replay_and_forgeries_diverge(&broker, &reports[0]);
    let report = stop(server);
    assert!(report
        .violations()
        .any(|(_, v)| v.property.name() == "durable_before_ack"));
}

/// Probes `server` with `scenario` alone: some finding is `found`, and the findings' trace
/// replays. The server's own report.
fn finds(
    server: Arc<Server>,
    scenario: &str,
    found: impl Fn(&Finding) -> bool,
) -> groupcheck::wire::ServeReport {
    let (broker, reports) = probe(&server, Some(scenario));
    let findings = &reports[0].findings;
    assert!(findings.iter().any(found), "{scenario}: {findings:?}");
    traces_replay_and_forgeries_diverge(&broker, &reports[0]);
    stop(server)
}

#[test]
fn probing_a_coordinator_that_serves_before_it_loads_finds_the_offset_lost_in_a_move() {
    // Followers fetch every 300 ms, so that what the flawed coordinator acknowledges early is
    // not durable yet when the coordinator moves; a new coordinator loads for 300 ms, so that
    // the flawed one is asked before it has loaded.
    let (replication, load) = (Duration::from_millis(300), Duration::from_millis(300));
    for flaw in [Flaw::ServeBeforeLoad, Flaw::CommitAckBeforeDurable] {
        let server = serve_loading(Some(flaw), Some(replication), load);
        finds(server, "offsets-survive-coordinator-move", |f| {
            f.class == Class::Safety && f.judgement == "no_lost_commit"
        });
    }
}

#[test]
fn probing_a_static_restart_admitted_beside_its_old_member_finds_the_deviation() {
    // KAFKA-8500: a static member restarting while the group rebalances is admitted a second
    // time instead of taking its old member's place: the join phase's answers name another
    // leader and other members than Kafka's.
    let server = serve(Some(Flaw::StaticReplaceOnlyWhenStable), None);
    finds(server, "static-member-restarts-during-rebalance", |f| {
        f.class == Class::Deviation && f.judgement.starts_with("JoinGroup")
    });
}

#[test]
fn probing_a_static_replacement_lost_in_a_move_finds_the_zombie_commit() {
    // KAFKA-10284: the replacement of a static member's id is answered before it is written,
    // so the coordinator that loads the group after a move knows the old process's id: it
    // takes the old process's commit.
    let server = serve(Some(Flaw::StaticReplaceNotPersisted), None);
    finds(
        server,
        "static-replacement-survives-coordinator-move",
        |f| f.class == Class::Safety && f.judgement == "no_zombie_commit",
    );
}

#[test]
fn probing_a_coordinator_without_the_pending_sync_timer_finds_the_stuck_group() {
    // KAFKA-12890: a leader that never sends its SyncGroup, its heartbeats keeping it a
    // member, holds the group in CompletingRebalance forever without the pending-sync timer.
    // A follower hung after its JoinGroup answer stays a member of the Stable group forever.
    for scenario in ["leader-stalls-before-sync", "follower-stalls-before-sync"] {
        let server = serve(Some(Flaw::NoPendingSyncTimeout), None);
        finds(server, scenario, |f| {
            f.class == Class::Deviation
                && f.judgement.contains("(convergence)")
                && f.kafka.as_deref() == Some("REBALANCE_IN_PROGRESS")
        });
    }
}

#[test]
fn probing_a_static_restart_answered_in_the_old_generation_finds_the_deviation() {
    // KAFKA-9801: a static member restarting while the group waits for its leader's
    // assignment is answered at once in the current generation, whose assignment names its
    // old member id, instead of beginning another rebalance.
    let server = serve(Some(Flaw::StaticJoinInCompleting), None);
    finds(server, "static-member-restarts-while-completing", |f| {
        f.class == Class::Deviation
            && f.judgement.starts_with("JoinGroup")
            && f.kafka.as_deref() == Some(NO_ANSWER)
    });
}

/// A scenario's findings as a trace: it reads back, its Markdown and Mermaid show the
/// findings, `replay` takes the core's steps again and agrees; a core answer or a judgement
/// changed in the file, or a deviation left out, diverges. Whether a judgement could be forged
/// (some answer's error code differed from the core's).
fn traces_replay_and_forgeries_diverge(broker: &Broker, r: &ScenarioReport) -> bool {
    let trace = ProbeTrace::of(broker, r);
    let read = |json: String| match AnyTrace::from_json(&json) {
        Ok(AnyTrace::Probe(t)) => t,
        Ok(_) => panic!("a probe trace read back as another kind"),
        Err(e) => panic!("the probe trace does not read back: {e}"),
    };
    let back = read(trace.to_json());
    assert_eq!(back.exchanges, r.exchanges);
    probed::replay(&back).expect("the core's side replays");
    let md = back.to_markdown();
    assert!(md.contains("```mermaid\nsequenceDiagram"));
    for (class, note) in [(Class::Safety, "SAFETY"), (Class::Deviation, "DEVIATION")] {
        if r.findings.iter().any(|f| f.class == class) {
            assert!(
                back.mermaid().contains(&format!("broker: {note}")),
                "{note}"
            );
        }
    }

    let mut forged = back.clone();
    let step = forged
        .core_steps
        .iter_mut()
        .find(|t| t.answer.is_some())
        .unwrap();
    step.answer = Some("REBALANCE_IN_PROGRESS".into());
    assert!(probed::replay(&forged).is_err(), "a core answer changed");

    // Where an answer's error code differed from the core's (a served offset is judged by
    // its value, under the same code).
    let mut hidden = back.clone();
    let judged = hidden
        .exchanges
        .iter_mut()
        .filter_map(|e| e.judged.as_mut())
        .find(|j| j.broker != j.core);
    if let Some(judged) = judged {
        judged.core = judged.broker.clone();
        assert!(probed::replay(&hidden).is_err(), "a judgement changed");
        let mut unreported = back.clone();
        unreported.findings.retain(|f| f.class != Class::Deviation);
        assert!(probed::replay(&unreported).is_err(), "a deviation left out");
        return true;
    }
    false
}

#[test]
fn without_a_way_to_move_the_coordinator_the_failover_scenario_is_skipped() {
    let server = serve(None, None);
    let cfg = config_at(first_broker(&server));
    let broker = preflight(&cfg).unwrap();
    let scenario = "assignment-survives-coordinator-move";
    let reports = run_all(&cfg, &broker, Some(scenario), |_| {}).unwrap();
    assert!(reports[0].skipped.is_some());
    assert!(reports[0].exchanges.is_empty() && reports[0].findings.is_empty());
    let xml = groupcheck::probe::report::junit(&broker, &reports);
    assert!(xml.contains("<skipped"), "{xml}");
    stop(server);
}

#[test]
fn a_broker_that_cannot_be_probed_is_refused_with_a_reason() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free.local_addr().unwrap().to_string();
    drop(free);
    assert!(matches!(
        preflight(&config_at(closed)),
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
        preflight(&config_at(address)),
        Err(ProbeError::NotKafka(_))
    ));
    server.join().unwrap();
}

/// The committed probe traces (the Tansu report's) still replay: the core gives the answers
/// it gave when the broker was probed, so the classification in their report stands.
#[test]
fn committed_probe_traces_replay() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/probe");
    let mut replayed = 0;
    for broker in std::fs::read_dir(&root).unwrap() {
        for file in std::fs::read_dir(broker.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".json") || name == "report.json" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(AnyTrace::Probe(t)) = AnyTrace::from_json(&text) else {
                panic!("{name}: not a probe trace");
            };
            probed::replay(&t).unwrap_or_else(|d| panic!("{name}: {d}"));
            replayed += 1;
        }
    }
    assert!(replayed >= 2, "the Tansu report's traces");
}

/// The scenarios derived from the catalogue's counterexamples: the correct coordinator answers
/// every one as Kafka's does (or they name the step that cannot be played from outside), and
/// each coordinator flaw whose counterexample shows in the answers is found by its own.
#[test]
fn counterexamples_played_on_the_broker_find_the_flaws_that_show_outside() {
    use groupcheck::probe::derived;
    let catalogue = groupcheck::catalogue::load_all(&groupcheck::catalogue::default_dir())
        .expect("the catalogue loads");
    let models = derived::models(&catalogue);
    assert_eq!(models.len(), 15, "every model that must break a property");
    let with = |server: &Arc<Server>| ProbeConfig {
        group_walks: 0,
        catalogue: catalogue.clone(),
        ..config(server)
    };
    let server = serve(None, None);
    let cfg = with(&server);
    let broker = preflight(&cfg).expect("serve can be probed");
    let mut skipped = Vec::new();
    for m in &models {
        let reports = run_all(&cfg, &broker, Some(&m.name), |_| {}).expect("the probe runs");
        let r = &reports[0];
        assert!(r.findings.is_empty(), "{}: {:?}", m.name, r.findings);
        if let Some(why) = &r.skipped {
            skipped.push((m.name.as_str(), why.clone()));
        }
    }
    // Every one is played to its end, but the one whose counterexample needs the broker's
    // rebalance timer to fire at a chosen step (the probe cannot make a broker's timer fire).
    assert_eq!(
        skipped.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        ["static-hung-member"],
        "{skipped:#?}"
    );
    assert!(
        skipped[0].1.contains("the rebalance timer firing"),
        "{skipped:#?}"
    );
    drop(stop(server));
    for (flaw, model) in [
        (Flaw::ServeBeforeLoad, "flaw-serve-before-load"),
        (Flaw::PartialReplay, "flaw-partial-replay"),
        (Flaw::CommitWithoutFencing, "flaw-commit-without-fencing"),
        (Flaw::NoPendingSyncTimeout, "flaw-no-pending-sync-timeout"),
        (Flaw::RebalanceTimeoutZero, "flaw-rebalance-timeout-zero"),
        (
            Flaw::StaticReplaceOnlyWhenStable,
            "flaw-static-replace-only-when-stable",
        ),
    ] {
        let server = serve(Some(flaw), None);
        let cfg = with(&server);
        let broker = preflight(&cfg).expect("serve can be probed");
        let reports = run_all(&cfg, &broker, Some(model), |_| {}).expect("the probe runs");
        assert!(
            !reports[0].findings.is_empty(),
            "{model} played on serve --flaw {flaw:?} finds it: {:#?}",
            reports[0].exchanges
        );
        drop(stop(server));
    }
}

/// Random executions of the catalogue's passing models (the seed chooses the model), played
/// on the correct coordinator: every answer as Kafka's; and on one that takes commits without
/// fencing, the zombie's commit found by some.
#[test]
fn model_walks_find_nothing_on_the_correct_coordinator_and_the_zombie_commit_on_a_flawed_one() {
    let catalogue = groupcheck::catalogue::load_all(&groupcheck::catalogue::default_dir())
        .expect("the catalogue loads");
    let walks = |flaw: Option<Flaw>| {
        let server = serve(flaw, None);
        let cfg = ProbeConfig {
            group_walks: 0,
            model_walks: 12,
            catalogue: catalogue.clone(),
            ..config(&server)
        };
        let broker = preflight(&cfg).expect("serve can be probed");
        let reports: Vec<_> = (1..=cfg.model_walks)
            .flat_map(|seed| {
                let walk = format!("model-walk-{seed}");
                run_all(&cfg, &broker, Some(&walk), |_| {}).expect("the probe runs")
            })
            .collect();
        drop(stop(server));
        reports
    };
    let correct = walks(None);
    let played: Vec<_> = correct.iter().filter(|r| r.skipped.is_none()).collect();
    assert!(played.len() >= 10, "most walks are played: {correct:#?}");
    for r in &correct {
        assert!(r.findings.is_empty(), "{}: {:?}", r.scenario, r.findings);
    }
    // Distinct models were walked.
    let models: std::collections::BTreeSet<_> = correct
        .iter()
        .filter_map(|r| {
            r.exchanges
                .iter()
                .find(|e| e.request.contains("random execution"))
        })
        .map(|e| e.request.split('`').nth(1).unwrap_or_default().to_string())
        .collect();
    assert!(models.len() >= 6, "{models:?}");
    let flawed = walks(Some(Flaw::CommitWithoutFencing));
    assert!(
        flawed.iter().any(|r| !r.findings.is_empty()),
        "a walk meets the zombie's commit"
    );
}

/// A broker that answers every JoinGroup with an error code Kafka does not have (999), and
/// everything the probe needs before that as a one-broker cluster with `orders` of three
/// partitions: its port.
fn broker_answering_an_unknown_code() -> u16 {
    use groupcheck::wire::frame::{decode, read_frame, write_response};
    use kafka_protocol::messages::find_coordinator_response::Coordinator;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{
        BrokerId, FindCoordinatorResponse, JoinGroupResponse, MetadataResponse, RequestKind,
        ResponseKind, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let host = || StrBytes::from_static_str("127.0.0.1");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                while let Ok(frame) = read_frame(&mut stream) {
                    let Ok(d) = decode(frame, |_, _| true) else {
                        return;
                    };
                    let version = d.header.request_api_version;
                    let response = match d.request {
                        RequestKind::ApiVersions(_) => {
                            ResponseKind::ApiVersions(groupcheck::wire::api::api_versions())
                        }
                        RequestKind::Metadata(_) => {
                            let partitions = (0..3)
                                .map(|p| {
                                    MetadataResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_leader_id(BrokerId(0))
                                })
                                .collect();
                            let name = TopicName(StrBytes::from_static_str("orders"));
                            ResponseKind::Metadata(
                                MetadataResponse::default()
                                    .with_brokers(vec![MetadataResponseBroker::default()
                                        .with_host(host())
                                        .with_port(i32::from(port))])
                                    .with_topics(vec![MetadataResponseTopic::default()
                                        .with_name(Some(name))
                                        .with_partitions(partitions)]),
                            )
                        }
                        RequestKind::FindCoordinator(r) => {
                            let at = |key: StrBytes| {
                                Coordinator::default()
                                    .with_key(key)
                                    .with_host(host())
                                    .with_port(i32::from(port))
                            };
                            ResponseKind::FindCoordinator(if version < 4 {
                                FindCoordinatorResponse::default()
                                    .with_host(host())
                                    .with_port(i32::from(port))
                            } else {
                                FindCoordinatorResponse::default().with_coordinators(
                                    r.coordinator_keys.into_iter().map(at).collect(),
                                )
                            })
                        }
                        RequestKind::JoinGroup(_) => ResponseKind::JoinGroup(
                            JoinGroupResponse::default().with_error_code(999),
                        ),
                        _ => return,
                    };
                    let id = d.header.correlation_id;
                    if write_response(&mut stream, d.api, version, id, &response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// An error code outside Kafka's set is judged as the broker sent it (`error 999`), not as
/// the refusal the consumer takes it for, and the probe goes on to its verdict.
#[test]
fn an_unknown_error_code_is_judged_as_the_broker_sent_it() {
    let port = broker_answering_an_unknown_code();
    let cfg = ProbeConfig {
        group_walks: 0,
        ..config_at(format!("127.0.0.1:{port}"))
    };
    let broker = preflight(&cfg).expect("the fake broker can be probed");
    let reports =
        run_all(&cfg, &broker, Some("static-member-replaced"), |_| {}).expect("the probe runs");
    let r = &reports[0];
    let join = r
        .exchanges
        .iter()
        .find(|e| e.request.starts_with("JoinGroup"));
    let answer = &join.expect("a JoinGroup went out").answer;
    assert!(answer.contains("error 999"), "{answer}");
    assert!(!answer.contains("COORDINATOR_NOT_AVAILABLE"), "{answer}");
    let deviation = r.findings.iter().find(|f| f.class == Class::Deviation);
    let deviation = deviation.expect("the answer is a deviation");
    assert!(deviation.detail.contains("error 999"), "{deviation}");
}
