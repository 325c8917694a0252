//! `groupcheck list`, `check`, `replay` and `explore`.
//!
//! Exit codes: 0 every model matched its expectation (or the trace replayed); 1 some model did
//! not, a run was inconclusive, or a replay diverged; 2 bad input (unknown model, malformed
//! model or trace file, bad flag).

use clap::{Args, Parser, Subcommand};
use groupcheck::catalogue;
use groupcheck::check::{check, CheckOptions, CheckReport, Verdict};
use groupcheck::model::{GroupModel, ModelConfig};
use groupcheck::report;
use groupcheck::runtime::live::LiveConfig;
use groupcheck::trace::replay::replay;
use groupcheck::trace::{render, AnyTrace};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "groupcheck",
    version,
    about = "Proves things about Kafka's consumer group protocol"
)]
struct Cli {
    /// The catalogue directory.
    #[arg(long = "models", global = true, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Which models a command works on.
#[derive(Args)]
struct ModelSelection {
    /// Model names (or paths to .toml files).
    #[arg(
        value_name = "MODEL",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    models: Vec<String>,
    /// Every model of the catalogue.
    #[arg(long)]
    all: bool,
}

impl ModelSelection {
    fn load(&self, dir: &std::path::Path) -> Result<Vec<ModelConfig>, String> {
        if self.all {
            catalogue::load_all(dir)
        } else {
            self.models
                .iter()
                .map(|m| catalogue::load(dir, m))
                .collect()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// List the models of the catalogue with their expectations.
    List,
    /// Check models exhaustively and compare each result with its expectation.
    Check {
        #[command(flatten)]
        select: ModelSelection,
        /// Checker threads: one model uses them all; several are checked this many at a time,
        /// one thread each.
        #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: u16,
        /// Stop after generating this many states (the result is then inconclusive).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_states: Option<u64>,
        /// Stop after this many seconds (the result is then inconclusive).
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
        timeout: Option<u64>,
        /// Where to write traces and the run summary.
        #[arg(long, value_name = "DIR", default_value = "reports")]
        reports: PathBuf,
        /// Write no reports.
        #[arg(long, conflicts_with = "reports")]
        no_reports: bool,
        /// Also write the results as JUnit XML to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Depth-first search with symmetry reduction over consumers (fewer states; the pinned
        /// counts are not compared).
        #[arg(long)]
        symmetry: bool,
        /// Check liveness on every model, also where the model file leaves it out (for time).
        #[arg(long)]
        liveness: bool,
    },
    /// Re-execute a trace on the model and confirm its violation (or a served run's trace on
    /// fresh coordinators, confirming every answer and the verdict).
    Replay {
        /// A trace file written by `check` (reports/<model>/trace.json), `run --record` or
        /// `serve --record`.
        #[arg(value_name = "TRACE")]
        trace: PathBuf,
    },
    /// Run a live group on the concurrent runtime with injected faults, printing the rebalance
    /// timeline and checking the model's properties on what happened.
    Run {
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=32))]
        consumers: u8,
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=16))]
        partitions: u8,
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
        brokers: u8,
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        seconds: u64,
        /// Seeds the fault schedule.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print only the summary.
        #[arg(long)]
        quiet: bool,
        /// Switch a flaw on in the core, to watch the checks catch it.
        #[arg(long)]
        flaw: Option<groupcheck::flaw::Flaw>,
        /// The leader's assignor: range, round-robin, sticky, or cooperative-sticky (which
        /// makes the group rebalance cooperatively).
        #[arg(long, default_value = "range", value_parser = parse_assignor)]
        assignor: groupcheck::assignor::Assignor,
        /// Static members (KIP-345): each consumer's number is its `group.instance.id`, and a
        /// crashed or closed consumer restarts with it to take its member back.
        #[arg(long = "static")]
        static_members: bool,
        /// Also write the run as a model execution (a `groupcheck-trace/1` file), checked step
        /// by step against the model's properties; `groupcheck replay` re-executes it. At most
        /// 6 consumers and 4 brokers; keep the run short (a few seconds).
        #[arg(long, value_name = "TRACE")]
        record: Option<PathBuf>,
    },
    /// Serve Kafka's wire protocol on 127.0.0.1: real clients (librdkafka, kafka-python, the
    /// Java client) form consumer groups on the verified coordinator. Every group's history is
    /// judged by the model's properties when it stops (--seconds, or Ctrl-C).
    Serve {
        /// Broker 0's port; broker b listens on PORT + b.
        #[arg(long, default_value_t = 9092, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
        brokers: u8,
        /// Partitions of every topic.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=16))]
        partitions: u8,
        /// A topic that exists from the start (repeatable); others are created on first use.
        #[arg(long = "topic", value_name = "NAME")]
        topics: Vec<String>,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        seconds: Option<u64>,
        /// A member not heard from for this long is expired.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
        session_timeout_ms: u64,
        /// A join phase lasting this long ends without the members that have not rejoined.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
        rebalance_timeout_ms: u64,
        /// Inject a fault every this many milliseconds: a coordinator failover (with two
        /// brokers or more), a broker pausing, a connection dropped, or a commit processed
        /// late (see --fault).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
        fault_every_ms: Option<u64>,
        /// The faults to choose from (repeatable; default: all).
        #[arg(long = "fault")]
        fault_kinds: Vec<groupcheck::wire::ServeFault>,
        /// Seeds the choice of faults.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop injecting after this many faults.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        fault_limit: Option<u32>,
        /// How long a newly elected coordinator loads the group.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=60_000))]
        load_ms: u64,
        /// How often the followers fetch __consumer_offsets: a write becomes durable up to this
        /// long after it is appended (default: every 200 µs).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=60_000))]
        replication_interval_ms: Option<u64>,
        /// Switch a flaw on in the core, to watch the checks catch it.
        #[arg(long)]
        flaw: Option<groupcheck::flaw::Flaw>,
        /// Print only the summary.
        #[arg(long)]
        quiet: bool,
        /// Write each group's history as a trace that `replay` re-executes:
        /// DIR/<group>.json and DIR/<group>.md.
        #[arg(long, value_name = "DIR")]
        record: Option<PathBuf>,
    },
    /// Measure the checker: for each model and thread count, unique states, states per second,
    /// peak memory and wall time (each run in its own process, so peak memory is its own).
    Bench {
        #[command(flatten)]
        select: ModelSelection,
        /// Thread counts to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [1u16, 2], value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Vec<u16>,
        /// Also measure depth-first search with symmetry reduction.
        #[arg(long)]
        symmetry: bool,
    },
    /// One measurement of `bench`, in this process (machine-readable output).
    #[command(hide = true)]
    BenchOne {
        model: String,
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: u16,
        #[arg(long)]
        symmetry: bool,
    },
    /// Measure the runtime's throughput: OffsetCommit, Heartbeat and full rebalances with 1, 2
    /// and 4 client threads.
    BenchRuntime {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=600))]
        seconds: u64,
    },
    /// Measure `serve` over loopback: clients of one group heartbeating and committing;
    /// requests per second and latency (median, 99th percentile) per API.
    BenchServe {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
        seconds: u64,
        /// Client counts to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [1u16, 10, 100], value_parser = clap::value_parser!(u16).range(1..=500))]
        clients: Vec<u16>,
    },
    /// Check a Kafka-compatible broker's group coordinator from outside: members over the wire
    /// through the catalogue's situations, every answer judged (a property broken, or a
    /// deviation from Kafka's answer). Exit 0 clean, 1 findings, 2 bad input or a broker that
    /// cannot be probed.
    Probe {
        /// Any broker of the cluster.
        #[arg(long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// The session timeout of the probe's members: within the broker's
        /// group.min/max.session.timeout.ms. A member is taken as expired this long (and half
        /// as long again, at least a second) after it falls silent. Default: the shortest of
        /// 1, 2, 3, 6, 10 and 30 s the broker accepts.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=300_000))]
        session_timeout_ms: Option<u64>,
        /// The topic the members subscribe to (it must exist, or the broker create it).
        #[arg(long, default_value = "groupcheck-probe")]
        topic: String,
        /// Run only this scenario (or group-walk-SEED, or model-walk-SEED).
        #[arg(long)]
        scenario: Option<String>,
        /// Random walks of a group of members played after the scenarios.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1000))]
        group_walks: u32,
        /// Random executions of the catalogue's passing models played after those.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1000))]
        model_walks: u32,
        /// The first walk's seed (the next walks take the next seeds).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The report goes to DIR/NAME/.
        #[arg(long, value_name = "DIR", default_value = "reports/probe")]
        reports: PathBuf,
        /// The report's directory (default: the bootstrap address).
        #[arg(long)]
        name: Option<String>,
        /// A shell command that moves a group's coordinator to another broker (the group's id
        /// is in $GROUPCHECK_PROBE_GROUP), for the failover scenario; it is skipped without.
        #[arg(long, value_name = "COMMAND")]
        move_coordinator: Option<String>,
    },
    /// Serve Stateright's Explorer for a model on 127.0.0.1, to click through its states.
    Explore {
        /// A model name (or path to a .toml file).
        #[arg(value_name = "MODEL")]
        model: String,
        #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
    },
}

/// An assignor by the name a model file gives it.
fn parse_assignor(name: &str) -> Result<groupcheck::assignor::Assignor, String> {
    use serde::Deserialize;
    let named = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name);
    groupcheck::assignor::Assignor::deserialize(named).map_err(|e| e.to_string())
}

fn default_threads() -> u16 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u16)
        .unwrap_or(1)
}

pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let dir = cli
        .models_dir
        .clone()
        .unwrap_or_else(catalogue::default_dir);
    match cli.command {
        Command::List => match catalogue::load_all(&dir) {
            Ok(models) => {
                list(&models);
                0
            }
            Err(e) => bad_input(&e),
        },
        Command::Check {
            select,
            threads,
            max_states,
            timeout,
            reports,
            no_reports,
            junit,
            symmetry,
            liveness,
        } => {
            let models = match select.load(&dir) {
                Ok(m) => m,
                Err(e) => return bad_input(&e),
            };
            let opts = CheckOptions {
                threads: threads as usize,
                max_states: max_states.map(|n| n as usize),
                timeout: timeout.map(Duration::from_secs),
                progress: true,
                symmetry,
                liveness: liveness.then_some(true),
            };
            let outputs = Outputs {
                reports: (!no_reports).then_some(reports),
                junit,
            };
            check_all(&models, &opts, &outputs)
        }
        Command::Replay { trace } => replay_file(&trace),
        Command::Bench {
            select,
            threads,
            symmetry,
        } => match select.load(&dir) {
            Ok(models) => bench(&dir, &models, &threads, symmetry),
            Err(e) => bad_input(&e),
        },
        Command::BenchOne {
            model,
            threads,
            symmetry,
        } => match catalogue::load(&dir, &model) {
            Ok(cfg) => {
                let opts = CheckOptions {
                    threads: threads as usize,
                    symmetry,
                    ..CheckOptions::default()
                };
                let r = check(&cfg, &opts);
                println!(
                    "{} {} {} {:.3} {} {}",
                    r.unique_states,
                    r.states,
                    r.max_depth,
                    r.elapsed.as_secs_f64(),
                    peak_rss_kib().map_or("-".to_string(), |k| k.to_string()),
                    r.exhaustive
                );
                0
            }
            Err(e) => bad_input(&e),
        },
        Command::BenchRuntime { seconds } => {
            println!("| operation | client threads | per second |\n|---|---:|---:|");
            groupcheck::runtime::bench::run(Duration::from_secs(seconds), |f| {
                println!("| {} | {} | {:.0} |", f.operation, f.threads, f.per_second)
            });
            0
        }
        Command::BenchServe { seconds, clients } => {
            println!("| clients | API | per second | p50 | p99 |\n|---:|---|---:|---:|---:|");
            let clients: Vec<usize> = clients.into_iter().map(usize::from).collect();
            let measured =
                groupcheck::wire::bench::run(&clients, Duration::from_secs(seconds), |f| {
                    println!(
                        "| {} | {} | {:.0} | {} µs | {} µs |",
                        f.clients, f.api, f.per_second, f.p50_us, f.p99_us
                    )
                });
            match measured {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("groupcheck: bench-serve failed: {e}");
                    1
                }
            }
        }
        Command::Run {
            consumers,
            partitions,
            brokers,
            seconds,
            seed,
            quiet,
            flaw,
            assignor,
            static_members,
            record,
        } => {
            let cfg = LiveConfig {
                flaws: flaw.into_iter().collect(),
                assignor,
                static_members,
                consumers,
                partitions,
                brokers,
                duration: Duration::from_secs(seconds),
                seed,
                verbose: !quiet,
                keep_history: record.is_some(),
                ..LiveConfig::default()
            };
            // A run the model cannot hold is refused before it starts.
            let record = match record {
                Some(path) => match groupcheck::trace::recorded::model_config(&cfg) {
                    Ok(base) => Some((base, path)),
                    Err(e) => return bad_input(&format!("--record: {e}")),
                },
                None => None,
            };
            live(cfg, record)
        }
        Command::Serve {
            port,
            brokers,
            partitions,
            topics,
            seconds,
            session_timeout_ms,
            rebalance_timeout_ms,
            fault_every_ms,
            fault_kinds,
            seed,
            fault_limit,
            load_ms,
            replication_interval_ms,
            flaw,
            quiet,
            record,
        } => {
            if fault_kinds == [groupcheck::wire::ServeFault::Failover] && brokers < 2 {
                return bad_input("--fault failover needs --brokers 2 or more");
            }
            let faults = fault_every_ms.map(|ms| groupcheck::wire::FaultSchedule {
                every: Duration::from_millis(ms),
                seed,
                kinds: if fault_kinds.is_empty() {
                    groupcheck::wire::ServeFault::ALL.to_vec()
                } else {
                    fault_kinds
                },
                limit: fault_limit,
            });
            let cfg = groupcheck::wire::ServeConfig {
                brokers,
                port,
                partitions,
                topics,
                session_timeout: Duration::from_millis(session_timeout_ms),
                rebalance_timeout: Duration::from_millis(rebalance_timeout_ms),
                load_time: Duration::from_millis(load_ms),
                replication_interval: replication_interval_ms.map_or(
                    groupcheck::wire::ServeConfig::default().replication_interval,
                    Duration::from_millis,
                ),
                flaws: flaw.into_iter().collect(),
                faults,
                verbose: !quiet,
            };
            if let Some(dir) = &record {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return bad_input(&format!("--record {}: {e}", dir.display()));
                }
            }
            serve(cfg, seconds.map(Duration::from_secs), record.as_deref())
        }
        Command::Probe {
            bootstrap,
            session_timeout_ms,
            topic,
            scenario,
            reports,
            name,
            move_coordinator,
            group_walks,
            model_walks,
            seed,
        } => {
            use groupcheck::probe::scenario::{known, SCENARIOS};
            let catalogue = match catalogue::load_all(&dir) {
                Ok(models) => models,
                Err(e) => return bad_input(&e),
            };
            if let Some(s) = scenario.as_deref().filter(|s| !known(s, &catalogue)) {
                let derived = groupcheck::probe::derived::models(&catalogue);
                let names = SCENARIOS.iter().map(|s| s.name.to_string());
                let names: Vec<String> = names.chain(derived.into_iter().map(|m| m.name)).collect();
                return bad_input(&format!(
                    "unknown scenario `{s}` (scenarios: {}, or group-walk-SEED, model-walk-SEED)",
                    names.join(", ")
                ));
            }
            // A walk named alone is played whatever --group-walks or --model-walks says.
            let seed_of = |prefix: &str| {
                let alone = scenario.as_deref().and_then(|s| s.strip_prefix(prefix));
                alone.and_then(|s| s.parse::<u64>().ok())
            };
            let (group_walks, model_walks, seed) =
                match (seed_of("group-walk-"), seed_of("model-walk-")) {
                    (Some(s), _) => (1, 0, s),
                    (_, Some(s)) => (0, 1, s),
                    _ => (group_walks, model_walks, seed),
                };
            let run_id = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let cfg = groupcheck::probe::ProbeConfig {
                bootstrap: bootstrap.clone(),
                session_timeout: Duration::from_millis(session_timeout_ms.unwrap_or(0)),
                topic,
                run_id: format!("{run_id:x}"),
                move_coordinator: move_coordinator.map(groupcheck::probe::MoveCoordinator::shell),
                group_walks,
                model_walks,
                seed,
                catalogue,
            };
            let dir = reports.join(groupcheck::trace::served::file_stem(
                &name.unwrap_or(bootstrap),
            ));
            probe(cfg, session_timeout_ms.is_none(), scenario.as_deref(), &dir)
        }
        Command::Explore { model, port } => match catalogue::load(&dir, &model) {
            Ok(cfg) => explore(cfg, port),
            Err(e) => bad_input(&e),
        },
    }
}

/// Where `check` writes what it found.
struct Outputs {
    reports: Option<PathBuf>,
    junit: Option<PathBuf>,
}

fn replay_file(path: &std::path::Path) -> i32 {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return bad_input(&format!("cannot read trace file {}: {e}", path.display())),
    };
    let trace = match AnyTrace::from_json(&text) {
        Ok(AnyTrace::Model(t)) => t,
        Ok(AnyTrace::Served(t)) => return replay_served(path, &t),
        Ok(AnyTrace::Probe(t)) => return replay_probe(path, &t),
        Err(e) => return bad_input(&format!("{}: {e}", path.display())),
    };
    println!(
        "replaying {} ({} steps) on model {}",
        path.display(),
        trace.steps.len(),
        trace.model
    );
    match replay(&trace) {
        Ok(()) => {
            if trace.property == groupcheck::trace::NO_VIOLATION {
                println!("every step matched; every property held in every state, as recorded");
            } else {
                println!(
                    "every step matched; {} is violated as recorded: {}",
                    trace.property, trace.explanation
                );
            }
            0
        }
        Err(d) => {
            println!("DIVERGED at {d}");
            1
        }
    }
}

/// Replays the core's side of a probe's scenario: its steps taken again, the judgement checked.
fn replay_probe(path: &std::path::Path, trace: &groupcheck::trace::probed::ProbeTrace) -> i32 {
    println!(
        "replaying {} (scenario {} against {}: {} exchanges, {} core steps) on a fresh coordinator",
        path.display(),
        trace.scenario,
        trace.broker,
        trace.exchanges.len(),
        trace.core_steps.len()
    );
    match groupcheck::trace::probed::replay(trace) {
        Ok(summary) => {
            println!("{summary}");
            0
        }
        Err(d) => {
            println!("DIVERGED at {d}");
            1
        }
    }
}

/// Replays a served run's coordinator history on fresh coordinators, and judges it again.
fn replay_served(path: &std::path::Path, trace: &groupcheck::trace::served::ServedTrace) -> i32 {
    println!(
        "replaying {} ({} events of group {}) on fresh coordinators",
        path.display(),
        trace.events.len(),
        trace.group
    );
    match groupcheck::trace::served::replay(trace) {
        Ok(()) if trace.property == groupcheck::trace::NO_VIOLATION => {
            println!("every event matched; judged again, no property is broken, as recorded");
            0
        }
        Ok(()) => {
            println!(
                "every event matched; judged again, {} is violated as recorded: {}",
                trace.property, trace.explanation
            );
            0
        }
        Err(d) => {
            println!("DIVERGED at {d}");
            1
        }
    }
}

/// The process's peak resident memory (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench(dir: &std::path::Path, models: &[ModelConfig], threads: &[u16], symmetry: bool) -> i32 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return bad_input(&format!("cannot find this executable: {e}")),
    };
    println!("| model | search | threads | unique states | states generated | unique states/s | peak RSS | wall time |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let searches: &[bool] = if symmetry { &[false, true] } else { &[false] };
    for m in models {
        for &sym in searches {
            for t in threads {
                let path = dir.join(format!("{}.toml", m.name));
                let target = if path.exists() {
                    path.display().to_string()
                } else {
                    m.name.clone()
                };
                let mut args = vec![
                    "bench-one".to_string(),
                    target,
                    "--threads".into(),
                    t.to_string(),
                ];
                if sym {
                    args.push("--symmetry".into());
                }
                let text = match std::process::Command::new(&exe).args(&args).output() {
                    Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
                    Ok(o) => return bad_input(&String::from_utf8_lossy(&o.stderr)),
                    Err(e) => return bad_input(&format!("cannot run a measurement: {e}")),
                };
                let f: Vec<&str> = text.split_whitespace().collect();
                if f.len() < 6 {
                    return bad_input(&format!("unexpected measurement output: {text}"));
                }
                let unique: f64 = f[0].parse().unwrap_or(0.0);
                let secs: f64 = f[3].parse().unwrap_or(0.0);
                let rss = f[4]
                    .parse::<f64>()
                    .map_or("n/a".to_string(), |k| format!("{:.0} MB", k / 1024.0));
                println!(
                    "| `{}` | {} | {t} | {} | {} | {:.0} | {rss} | {secs:.2} s{} |",
                    m.name,
                    if sym { "DFS + symmetry" } else { "BFS" },
                    f[0],
                    f[1],
                    unique / secs.max(1e-9),
                    if f[5] == "true" { "" } else { " (bound hit)" }
                );
            }
        }
    }
    0
}

fn live(cfg: LiveConfig, record: Option<(ModelConfig, PathBuf)>) -> i32 {
    println!(
        "live group: {} consumers, {} partitions, {} brokers, {} s, seed {}",
        cfg.consumers,
        cfg.partitions,
        cfg.brokers,
        cfg.duration.as_secs(),
        cfg.seed
    );
    let r = groupcheck::runtime::live::run(&cfg);
    let mut faults: Vec<String> = r.faults.iter().map(|(k, v)| format!("{v} {k}")).collect();
    faults.sort();
    println!(
        "\n{} stable generations, {} records processed, {} commits acknowledged, {} events recorded; faults: {}",
        r.generations,
        r.records_processed,
        r.commits_acknowledged,
        r.events,
        faults.join(", ")
    );
    let mut code = if r.violations.is_empty() {
        println!("no violation: single_owner, replay_equivalence, no_zombie_commit, no_lost_commit, durable_before_ack, generation_monotonic, assignment_is_function hold on this run");
        0
    } else {
        for v in &r.violations {
            println!("VIOLATION {v}");
        }
        1
    };
    if let Some((base, path)) = record {
        code = code.max(record_run(&cfg, &base, &r.history, &path));
    }
    code
}

/// Serves until `seconds` pass or Ctrl-C, then judges what happened.
fn serve(
    cfg: groupcheck::wire::ServeConfig,
    seconds: Option<Duration>,
    record: Option<&std::path::Path>,
) -> i32 {
    use std::sync::atomic::{AtomicBool, Ordering};
    let server = match groupcheck::wire::Server::start(cfg.clone()) {
        Ok(s) => s,
        Err(e) => return bad_input(&format!("cannot listen on 127.0.0.1:{}: {e}", cfg.port)),
    };
    let interrupted = std::sync::Arc::new(AtomicBool::new(false));
    let on_signal = interrupted.clone();
    // Without a handler (one is already installed) only --seconds ends the run.
    let _ = ctrlc::set_handler(move || on_signal.store(true, Ordering::Relaxed));
    println!(
        "serving Kafka on {} ({} broker{}, {} partitions per topic){}",
        server.bootstrap(),
        cfg.brokers,
        if cfg.brokers == 1 { "" } else { "s" },
        cfg.partitions,
        match seconds {
            Some(s) => format!(" for {} s", s.as_secs()),
            None => ", Ctrl-C stops".into(),
        }
    );
    let start = std::time::Instant::now();
    while !interrupted.load(Ordering::Relaxed) && seconds.is_none_or(|s| start.elapsed() < s) {
        std::thread::sleep(Duration::from_millis(20));
        for line in server.timeline() {
            if cfg.verbose {
                println!("{:>8.3} s  {line}", start.elapsed().as_secs_f64());
            }
        }
    }
    let report = server.stop();
    println!(
        "\n{} requests served in {:.1} s; {} group{}",
        report.requests,
        start.elapsed().as_secs_f64(),
        report.groups.len(),
        if report.groups.len() == 1 { "" } else { "s" }
    );
    if !report.faults.is_empty() {
        let faults: Vec<String> = report
            .faults
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        println!("faults injected: {}", faults.join(", "));
    }
    for g in &report.groups {
        println!("  {}: {} events recorded", g.name, g.events.len());
    }
    if let Some(dir) = record {
        let origin = std::iter::once("groupcheck".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" ");
        for g in &report.groups {
            let trace = groupcheck::trace::served::ServedTrace::new(
                &origin,
                &g.name,
                &g.core,
                g.brokers,
                g.events.clone(),
            );
            let base = dir.join(groupcheck::trace::served::file_stem(&g.name));
            let written = std::fs::write(base.with_extension("json"), trace.to_json())
                .and_then(|()| std::fs::write(base.with_extension("md"), trace.to_markdown()));
            match written {
                Ok(()) => println!("  {}: written to {}.json", g.name, base.display()),
                Err(e) => return bad_input(&format!("cannot write {}: {e}", base.display())),
            }
        }
    }
    for (group, f) in report.client_findings() {
        println!("CLIENT {group}: {f}");
    }
    let violations: Vec<_> = report.violations().collect();
    for (group, v) in &violations {
        println!("VIOLATION {group}: {v}");
    }
    for p in &report.panics {
        println!("PANIC {p}");
    }
    if !report.panics.is_empty() {
        println!("a thread of the server panicked: the histories miss its requests, so this run cannot vouch for them");
        1
    } else if !violations.is_empty() {
        1
    } else if report.groups.is_empty() {
        println!("no group was served: nothing to judge");
        0
    } else {
        println!("no violation: no_zombie_commit, no_lost_commit, durable_before_ack, generation_monotonic, assignment_is_function hold on every group's history");
        0
    }
}

/// Writes a recorded run as a trace, checked on the model as it is written.
fn record_run(
    cfg: &LiveConfig,
    base: &ModelConfig,
    history: &[groupcheck::runtime::Event],
    path: &std::path::Path,
) -> i32 {
    let origin = format!(
        "groupcheck run --consumers {} --partitions {} --brokers {} --seconds {} --seed {}{}",
        cfg.consumers,
        cfg.partitions,
        cfg.brokers,
        cfg.duration.as_secs(),
        cfg.seed,
        base.flaw
            .map(|f| format!(" --flaw {}", f.name()))
            .unwrap_or_default()
    );
    let trace = match groupcheck::trace::recorded::from_history(history, base, &origin) {
        Ok(t) => t,
        Err(e) => {
            println!("INCONCLUSIVE recording: {e}");
            return 1;
        }
    };
    if let Err(e) = std::fs::write(path, trace.to_json()) {
        return bad_input(&format!("cannot write {}: {e}", path.display()));
    }
    let verdict = if trace.property == groupcheck::trace::NO_VIOLATION {
        "every property of the model held in every state".to_string()
    } else {
        format!("VIOLATION of {}: {}", trace.property, trace.explanation)
    };
    println!(
        "recorded {} events as {} model steps in {}: {verdict}",
        history.len(),
        trace.steps.len(),
        path.display()
    );
    i32::from(trace.property != groupcheck::trace::NO_VIOLATION)
}

fn explore(cfg: ModelConfig, port: u16) -> i32 {
    use stateright::Model;
    let addr = format!("127.0.0.1:{port}");
    // Stateright's server panics on a port it cannot bind: find out first.
    if let Err(e) = std::net::TcpListener::bind(&addr) {
        return bad_input(&format!("cannot listen on {addr}: {e}"));
    }
    println!(
        "Explorer for {} on http://{addr}/ (a trace's explorer_path goes after the slash); Ctrl-C to stop",
        cfg.name
    );
    GroupModel::new(cfg).checker().serve(addr);
    0
}

/// Probes a broker, prints each scenario's verdict, writes the report.
/// Probes a broker (with the shortest session timeout it accepts, if `find_session`), prints
/// each scenario's progress and verdict, writes the report.
fn probe(
    mut cfg: groupcheck::probe::ProbeConfig,
    find_session: bool,
    only: Option<&str>,
    dir: &std::path::Path,
) -> i32 {
    use groupcheck::probe::{accepts_session_timeout, preflight, report, scenario};
    let broker = match preflight(&cfg) {
        Ok(b) => b,
        Err(e) => return bad_input(&e.to_string()),
    };
    let session = if find_session {
        groupcheck::probe::shortest_session_timeout(&cfg)
    } else {
        match accepts_session_timeout(&cfg, cfg.session_timeout) {
            Ok(true) => Ok(cfg.session_timeout),
            Ok(false) => Err(groupcheck::probe::ProbeError::Unsupported(format!(
                "the broker refuses a session timeout of {} ms (INVALID_SESSION_TIMEOUT: outside its group.min/max.session.timeout.ms)",
                cfg.session_timeout.as_millis()
            ))),
            Err(e) => Err(e),
        }
    };
    match session {
        Ok(t) => cfg.session_timeout = t,
        Err(e) => return bad_input(&e.to_string()),
    }
    let cfg = &cfg;
    println!(
        "probing {} (topic {}, {} partitions; session timeout {} ms)",
        cfg.bootstrap,
        cfg.topic,
        broker.partitions,
        cfg.session_timeout.as_millis()
    );
    // A bar on standard error while the probe runs (drawn only on a terminal); the verdicts
    // go to standard output as lines, above it.
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} {elapsed:>4} {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let scenarios = scenario::run_all(cfg, &broker, only, |p| match p {
        scenario::Progress::Started {
            index,
            of,
            scenario,
        } => {
            bar.set_length(of as u64);
            bar.set_position(index as u64 - 1);
            bar.set_message(scenario.to_string());
            bar.suspend(|| println!("[{index}/{of}] {scenario}"));
        }
        scenario::Progress::Waiting { time, why } => {
            bar.set_message(format!("waiting {} ms: {why}", time.as_millis()));
            bar.suspend(|| println!("      waiting {} ms: {why}", time.as_millis()));
        }
        scenario::Progress::Finished(r) => {
            bar.inc(1);
            let verdict = match (&r.skipped, r.findings.is_empty()) {
                (Some(_), _) => "skip ",
                (None, true) => "ok   ",
                (None, false) => "FOUND",
            };
            bar.suspend(|| {
                println!("{verdict} {} ({:.1} s)", r.scenario, r.seconds);
                if let Some(why) = &r.skipped {
                    println!("      skipped: {why}");
                }
                for f in &r.findings {
                    println!("      {f}");
                }
            });
        }
    });
    bar.finish_and_clear();
    let scenarios = match scenarios {
        Ok(s) => s,
        Err(e) => return bad_input(&e.to_string()),
    };
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join("report.json"), report::json(&broker, &scenarios)))
        .and_then(|()| std::fs::write(dir.join("report.md"), report::markdown(&broker, &scenarios)))
        .and_then(|()| std::fs::write(dir.join("report.xml"), report::junit(&broker, &scenarios)));
    // Each scenario with findings as a trace that `replay` reads.
    let traces = scenarios
        .iter()
        .filter(|s| !s.findings.is_empty())
        .try_for_each(|s| {
            let trace = groupcheck::trace::probed::ProbeTrace::of(&broker, s);
            std::fs::write(dir.join(format!("{}.json", s.scenario)), trace.to_json())?;
            std::fs::write(dir.join(format!("{}.md", s.scenario)), trace.to_markdown())
        });
    if let Err(e) = written.and(traces) {
        return bad_input(&format!("cannot write {}: {e}", dir.display()));
    }
    let findings: usize = scenarios.iter().map(|s| s.findings.len()).sum();
    println!(
        "{} scenario(s), {findings} finding(s); report in {}",
        scenarios.len(),
        dir.display()
    );
    i32::from(findings > 0)
}

fn bad_input(message: &str) -> i32 {
    eprintln!("groupcheck: {message}");
    2
}

fn list(models: &[ModelConfig]) {
    println!("{:<32} {:<26} EXPECTATION", "MODEL", "FLAW");
    for m in models {
        let flaw = m
            .flaw
            .map(|f| f.name().to_string())
            .unwrap_or_else(|| "-".into());
        println!("{:<32} {:<26} {}", m.name, flaw, m.expectation());
    }
}

fn check_all(models: &[ModelConfig], opts: &CheckOptions, outputs: &Outputs) -> i32 {
    let mut failed = Vec::new();
    let mut runs = Vec::new();
    check_each(models, opts, |m, report| {
        println!(
            "== {} ({}; expect {})",
            m.name,
            m.description.trim(),
            m.expectation()
        );
        print_report(&report);
        if !report.matches_expectation() {
            failed.push(m.name.clone());
        }
        runs.push((m.clone(), report));
    });
    if let Some(dir) = &outputs.reports {
        match report::write(dir, &runs) {
            Ok(()) => println!("\nreports written to {}/", dir.display()),
            Err(e) => return bad_input(&e),
        }
    }
    if let Some(file) = &outputs.junit {
        if let Err(e) = std::fs::write(file, report::junit(&runs)) {
            return bad_input(&format!("cannot write {}: {e}", file.display()));
        }
    }
    println!();
    if failed.is_empty() {
        println!("{} model(s) checked, all as expected", models.len());
        0
    } else {
        println!(
            "{} model(s) checked, {} not as expected: {}",
            models.len(),
            failed.len(),
            failed.join(", ")
        );
        1
    }
}

/// Checks every model, and hands each report to `done` in the order of `models`. Several
/// models are checked `opts.threads` at a time, one checker thread each, the largest (by
/// pinned count) first: a search's second thread gains less than a second search does. Counts
/// and counterexamples are the same at any thread count.
fn check_each(
    models: &[ModelConfig],
    opts: &CheckOptions,
    mut done: impl FnMut(&ModelConfig, CheckReport),
) {
    let workers = opts.threads.min(models.len());
    if workers <= 1 {
        for m in models {
            done(m, check(m, opts));
        }
        return;
    }
    let one = CheckOptions {
        threads: 1,
        ..opts.clone()
    };
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(models[i].expect.unique_states.unwrap_or(0)));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut reports: Vec<Option<CheckReport>> = vec![None; models.len()];
    let mut handed = 0;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..workers {
            let (tx, next, order, one) = (tx.clone(), &next, &order, &one);
            s.spawn(move || loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                if tx.send((i, check(&models[i], one))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, report) in rx {
            reports[i] = Some(report);
            while let Some(report) = reports.get_mut(handed).and_then(Option::take) {
                done(&models[handed], report);
                handed += 1;
            }
        }
    });
}

fn print_report(r: &CheckReport) {
    println!(
        "   {} states generated, {} unique, max depth {}, {:.2} s{}",
        r.states,
        r.unique_states,
        r.max_depth,
        r.elapsed.as_secs_f64(),
        if r.exhaustive {
            ", exhaustive"
        } else {
            ", BOUND HIT (inconclusive)"
        }
    );
    if let Some((states, elapsed)) = r.liveness {
        println!(
            "   liveness graph: {states} states, {:.2} s",
            elapsed.as_secs_f64()
        );
    }
    if r.properties.iter().any(|p| p.trace.is_some()) {
        println!(
            "   shortest counterexamples found in {:.2} s",
            r.trace_elapsed.as_secs_f64()
        );
    }
    for p in &r.properties {
        println!("   {:<28} {}", p.name, p.verdict.label());
        if let (Verdict::Violated, Some(trace)) = (p.verdict, &p.trace) {
            print!("{}", render::terminal(trace));
        }
    }
    if r.matches_expectation() {
        println!("   => as expected");
    } else {
        for m in &r.mismatches {
            println!("   => NOT AS EXPECTED: {m}");
        }
    }
}
