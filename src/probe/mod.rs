//! `groupcheck probe`: a black-box check of a Kafka-compatible broker's group coordinator.
//!
//! The probe plays group members over the wire ([`crate::wire::member`]) through the
//! situations the catalogue's properties and flaws are about, and judges every answer two
//! ways:
//!
//! - **Safety**: what a property forbids, seen from outside. A commit the broker accepts from a
//!   member its own earlier answers had already fenced (a newer generation formed without it)
//!   breaks `no_zombie_commit`; an acknowledged commit not served back breaks
//!   `no_lost_commit`.
//! - **Deviation**: an answer Kafka's coordinator (and the core, which follows it) would not
//!   give in that situation, with Kafka's answer beside it.
//!
//! A real broker's timing and naming differ from the core's (member ids, when a join phase
//! ends, an initial rebalance delay), so nothing is compared in lockstep: each judgement rests
//! only on what the broker itself answered before. What cannot be seen from outside — when a
//! session really expired, what is durable — is judged by its consequences: the members a
//! JoinGroup answer lists, the offsets an OffsetFetch serves.

mod consumers;
pub mod derived;
mod driven;
mod failover;
mod fencing;
pub mod group_walk;
mod histories;
pub mod mirror;
mod observed;
mod rebalance;
pub mod report;
pub mod scenario;

use crate::wire::client::WireClient;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FindCoordinatorRequest, MetadataRequest, TopicName,
};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// How the probe reaches the broker and how long it waits.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// `HOST:PORT` of any broker.
    pub bootstrap: String,
    /// The broker's session timeout for the probe's members: at least its
    /// `group.min.session.timeout.ms`, and what a member is expired after.
    pub session_timeout: Duration,
    /// The topic the members subscribe to (created if the broker auto-creates topics).
    pub topic: String,
    /// Makes the run's group ids unique, so that runs do not meet each other's groups.
    pub run_id: String,
    /// How to move a group's coordinator to another broker, for the scenarios about failover
    /// (skipped without it: from outside, only the operator can move a coordinator).
    pub move_coordinator: Option<MoveCoordinator>,
    /// Random walks of a group of members played after the scenarios, with seeds `seed`,
    /// `seed + 1`, ...
    pub group_walks: u32,
    /// Random executions of the catalogue's passing models played after those, with the same
    /// seeds.
    pub model_walks: u32,
    pub seed: u64,
    /// The catalogue: a scenario is derived from each of its models that must break a
    /// property ([`derived`]).
    pub catalogue: Vec<crate::model::ModelConfig>,
}

/// Moves the coordinator of the group it is given to another broker, and returns once the
/// move has begun (e.g. a leader election of the group's `__consumer_offsets` partition, or a
/// broker restarted).
#[derive(Clone)]
pub struct MoveCoordinator(pub Arc<MoveFn>);

/// Given the group's id; an error says why the coordinator could not be moved.
pub type MoveFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

/// How long `--move-coordinator`'s command may take.
const MOVE_TIMEOUT: Duration = Duration::from_secs(60);

impl MoveCoordinator {
    /// `sh -c command`, with the group's id in `GROUPCHECK_PROBE_GROUP`; it must exit 0 within
    /// a minute (it is killed after that).
    pub fn shell(command: String) -> MoveCoordinator {
        MoveCoordinator(Arc::new(move |group: &str| {
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .env("GROUPCHECK_PROBE_GROUP", group)
                .stdin(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("`{command}`: {e}"))?;
            let deadline = std::time::Instant::now() + MOVE_TIMEOUT;
            loop {
                if let Some(status) = child.try_wait().map_err(|e| format!("`{command}`: {e}"))? {
                    return match status.success() {
                        true => Ok(()),
                        false => Err(format!("`{command}` exited with {status}")),
                    };
                }
                if std::time::Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`{command}` did not finish within {} s",
                        MOVE_TIMEOUT.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }))
    }
}

impl std::fmt::Debug for MoveCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MoveCoordinator(..)")
    }
}

/// Why a probe could not run: exit code 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeError {
    Unreachable(String),
    NotKafka(String),
    Unsupported(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Unreachable(e) => write!(f, "broker unreachable: {e}"),
            ProbeError::NotKafka(e) => write!(f, "not a Kafka broker: {e}"),
            ProbeError::Unsupported(e) => write!(f, "the broker cannot be probed: {e}"),
        }
    }
}

/// The API versions the probe speaks.
pub const NEEDED: [(ApiKey, i16); 7] = [
    (ApiKey::FindCoordinator, 3),
    (ApiKey::JoinGroup, 5),
    (ApiKey::SyncGroup, 3),
    (ApiKey::Heartbeat, 4),
    (ApiKey::OffsetCommit, 8),
    (ApiKey::OffsetFetch, 7),
    (ApiKey::LeaveGroup, 3),
];

/// How long the preflight waits for any answer.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the preflight learnt of the broker.
#[derive(Clone, Debug, Serialize)]
pub struct Broker {
    pub bootstrap: String,
    pub partitions: i32,
    /// The JoinGroup version the core's consumers speak: 9 (KIP-814's `skip_assignment`), or
    /// the broker's newest if older.
    #[serde(skip)]
    pub join_version: i16,
}

/// Checks that `bootstrap` is a Kafka broker that speaks the versions the probe needs, and
/// that the topic exists (or is created): its partition count.
pub fn preflight(cfg: &ProbeConfig) -> Result<Broker, ProbeError> {
    let mut client =
        WireClient::connect_within(&cfg.bootstrap, "groupcheck-probe", PREFLIGHT_TIMEOUT)
            .map_err(|e| ProbeError::Unreachable(format!("{}: {e}", cfg.bootstrap)))?;
    // ApiVersions v0: every Kafka broker answers it, whatever it supports.
    let versions = client
        .call(&ApiVersionsRequest::default(), 0)
        .map_err(|e| ProbeError::NotKafka(format!("{}: ApiVersions: {e}", cfg.bootstrap)))?;
    if versions.error_code != 0 {
        return Err(ProbeError::NotKafka(format!(
            "{}: ApiVersions answered error {}",
            cfg.bootstrap, versions.error_code
        )));
    }
    for (api, version) in NEEDED {
        let offered = versions
            .api_keys
            .iter()
            .find(|k| k.api_key == api as i16)
            .is_some_and(|k| k.min_version <= version && version <= k.max_version);
        if !offered {
            return Err(ProbeError::Unsupported(format!(
                "{api:?} v{version} is not offered"
            )));
        }
    }
    let metadata = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(crate::wire::member::str_bytes(&cfg.topic)),
        ))]))
        .with_allow_auto_topic_creation(true);
    let mut partitions = 0;
    for _ in 0..20 {
        let answer = client
            .call(&metadata, 4)
            .map_err(|e| ProbeError::NotKafka(format!("Metadata: {e}")))?;
        partitions = answer
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .map(|t| t.partitions.len() as i32)
            .sum();
        if partitions > 0 {
            break;
        }
        // Auto-creation takes a moment on a real broker.
        std::thread::sleep(Duration::from_millis(250));
    }
    if partitions > 16 {
        return Err(ProbeError::Unsupported(format!(
            "topic `{}` has {partitions} partitions; the probe's core takes at most 16 (pass --topic)",
            cfg.topic
        )));
    }
    if partitions == 0 {
        return Err(ProbeError::Unsupported(format!(
            "topic `{}` does not exist and was not created (create it, or pass --topic)",
            cfg.topic
        )));
    }
    let join_version = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::JoinGroup as i16)
        .map_or(5, |k| k.max_version.clamp(5, 9));
    Ok(Broker {
        bootstrap: cfg.bootstrap.clone(),
        partitions,
        join_version,
    })
}

/// Kafka's INVALID_SESSION_TIMEOUT: a JoinGroup's session timeout outside the broker's
/// `group.min.session.timeout.ms` and `group.max.session.timeout.ms` (the core has no such
/// bounds: the model's sessions have no length).
const INVALID_SESSION_TIMEOUT: i16 = 26;

/// The session timeouts the probe tries, shortest first, when none is given: Kafka's minimum
/// is 6 s by default, and a broker configured for tests often allows less.
pub const SESSION_LADDER_MS: [u64; 6] = [1_000, 2_000, 3_000, 6_000, 10_000, 30_000];

/// Whether the broker accepts members with `session_timeout`: a JoinGroup with it, in a group
/// of its own, is not answered INVALID_SESSION_TIMEOUT (a broker checks it before anything
/// else). The member is left again if it joined.
pub fn accepts_session_timeout(
    cfg: &ProbeConfig,
    session_timeout: Duration,
) -> Result<bool, ProbeError> {
    let group = format!(
        "groupcheck-probe-{}-session-{}",
        cfg.run_id,
        session_timeout.as_millis()
    );
    let address = coordinator(cfg, &group)?;
    let mut m = crate::wire::member::WireMember::connect(
        &address,
        "groupcheck-probe",
        &group,
        &cfg.topic,
        session_timeout,
    )
    .map_err(|e| ProbeError::Unreachable(format!("{address}: {e}")))?;
    let joined = m
        .join_once()
        .map_err(|e| ProbeError::NotKafka(format!("JoinGroup: {e}")))?;
    if joined.error == 0 {
        let _ = m.leave();
    }
    Ok(joined.error != INVALID_SESSION_TIMEOUT)
}

/// The shortest session timeout of [`SESSION_LADDER_MS`] the broker accepts: what the probe
/// uses when none is given, so that its waits are as short as the broker allows.
pub fn shortest_session_timeout(cfg: &ProbeConfig) -> Result<Duration, ProbeError> {
    for ms in SESSION_LADDER_MS {
        let t = Duration::from_millis(ms);
        if accepts_session_timeout(cfg, t)? {
            return Ok(t);
        }
    }
    Err(ProbeError::Unsupported(format!(
        "the broker accepts none of the session timeouts {SESSION_LADDER_MS:?} ms (pass --session-timeout-ms)"
    )))
}

/// The address of `group`'s coordinator (asked of the bootstrap broker until it knows).
pub fn coordinator(cfg: &ProbeConfig, group: &str) -> Result<String, ProbeError> {
    let mut client =
        WireClient::connect_within(&cfg.bootstrap, "groupcheck-probe", PREFLIGHT_TIMEOUT)
            .map_err(|e| ProbeError::Unreachable(format!("{}: {e}", cfg.bootstrap)))?;
    let request = FindCoordinatorRequest::default()
        .with_key(crate::wire::member::str_bytes(group))
        .with_key_type(0);
    for _ in 0..40 {
        let answer = client
            .call(&request, 3)
            .map_err(|e| ProbeError::NotKafka(format!("FindCoordinator: {e}")))?;
        if answer.error_code == 0 {
            return Ok(format!("{}:{}", answer.host, answer.port));
        }
        // COORDINATOR_NOT_AVAILABLE while __consumer_offsets is created or loaded.
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(ProbeError::Unsupported(format!(
        "no coordinator found for group `{group}`"
    )))
}
