//! `serve` under load (a benchmark, never a timed test): N clients over loopback, each a
//! member of one group, heartbeating and committing its partitions in turn. Per API: requests
//! per second, and the latency's median and 99th percentile.
//!
//! The clients join as real ones do: JoinGroup (taking the member id from MEMBER_ID_REQUIRED),
//! SyncGroup (the leader assigns the topic's 16 partitions round-robin), and rejoin whenever a
//! heartbeat says REBALANCE_IN_PROGRESS. Measuring starts once every client has its assignment.

use super::client::WireClient;
use super::server::{ServeConfig, Server};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, HeartbeatRequest,
    JoinGroupRequest, OffsetCommitRequest, SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const GROUP: &str = "bench";
const TOPIC: &str = "bench";
const PARTITIONS: i32 = 16;
const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;

/// One API's figures at one client count.
#[derive(Clone, Debug)]
pub struct Figure {
    pub clients: usize,
    pub api: &'static str,
    pub per_second: f64,
    pub p50_us: u64,
    pub p99_us: u64,
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn versioned(message: &impl Encodable, version: i16) -> bytes::Bytes {
    let mut buf = bytes::BytesMut::new();
    buf.extend_from_slice(&version.to_be_bytes());
    message.encode(&mut buf, version).expect("encodes");
    buf.freeze()
}

/// A member of the benchmark's group.
struct Member {
    client: WireClient,
    id: StrBytes,
    generation: i32,
    partitions: Vec<i32>,
}

impl Member {
    /// Joins (or rejoins) and syncs until it holds an assignment of a completed generation.
    fn join(&mut self) -> io::Result<()> {
        let subscription =
            ConsumerProtocolSubscription::default().with_topics(vec![str_bytes(TOPIC)]);
        loop {
            let join = JoinGroupRequest::default()
                .with_group_id(GroupId(str_bytes(GROUP)))
                .with_session_timeout_ms(30_000)
                .with_rebalance_timeout_ms(30_000)
                .with_member_id(self.id.clone())
                .with_protocol_type(str_bytes("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(str_bytes("roundrobin"))
                    .with_metadata(versioned(&subscription, 0))]);
            let joined = self.client.call(&join, 5)?;
            self.id = joined.member_id.clone();
            if joined.error_code == MEMBER_ID_REQUIRED {
                continue;
            }
            if joined.error_code != 0 {
                return Err(io::Error::other(format!(
                    "JoinGroup: error {}",
                    joined.error_code
                )));
            }
            self.generation = joined.generation_id;
            // The leader assigns the partitions round-robin over the members.
            let assignments = if joined.leader == joined.member_id {
                let n = joined.members.len().max(1) as i32;
                joined
                    .members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let mine = (0..PARTITIONS).filter(|p| p % n == i as i32).collect();
                        let assignment = ConsumerProtocolAssignment::default()
                            .with_assigned_partitions(vec![TopicPartition::default()
                                .with_topic(TopicName(str_bytes(TOPIC)))
                                .with_partitions(mine)]);
                        SyncGroupRequestAssignment::default()
                            .with_member_id(m.member_id.clone())
                            .with_assignment(versioned(&assignment, 0))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let sync = SyncGroupRequest::default()
                .with_group_id(GroupId(str_bytes(GROUP)))
                .with_generation_id(self.generation)
                .with_member_id(self.id.clone())
                .with_assignments(assignments);
            let synced = self.client.call(&sync, 3)?;
            if synced.error_code == REBALANCE_IN_PROGRESS {
                continue;
            }
            if synced.error_code != 0 {
                return Err(io::Error::other(format!(
                    "SyncGroup: error {}",
                    synced.error_code
                )));
            }
            let mut bytes = synced.assignment.clone();
            self.partitions = if bytes.len() >= 2 {
                let version = i16::from_be_bytes([bytes[0], bytes[1]]);
                let _ = bytes::Buf::get_i16(&mut bytes);
                ConsumerProtocolAssignment::decode(&mut bytes, version.min(3))
                    .map(|a| {
                        a.assigned_partitions
                            .into_iter()
                            .flat_map(|t| t.partitions)
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            return Ok(());
        }
    }

    /// A heartbeat; `Ok(false)` if the group is rebalancing (the member has rejoined since).
    fn heartbeat(&mut self) -> io::Result<bool> {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(str_bytes(GROUP)))
            .with_generation_id(self.generation)
            .with_member_id(self.id.clone());
        let answer = self.client.call(&request, 4)?;
        if answer.error_code == REBALANCE_IN_PROGRESS {
            self.join()?;
            return Ok(false);
        }
        Ok(true)
    }

    fn commit(&mut self, offset: i64) -> io::Result<()> {
        let partitions = self
            .partitions
            .iter()
            .map(|p| {
                OffsetCommitRequestPartition::default()
                    .with_partition_index(*p)
                    .with_committed_offset(offset)
            })
            .collect();
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(str_bytes(GROUP)))
            .with_generation_id_or_member_epoch(self.generation)
            .with_member_id(self.id.clone())
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(str_bytes(TOPIC)))
                .with_partitions(partitions)]);
        self.client.call(&request, 8).map(|_| ())
    }
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Measures `serve` with each number of clients for `duration`, reporting each figure as it
/// is measured.
pub fn run(
    clients: &[usize],
    duration: Duration,
    mut report: impl FnMut(&Figure),
) -> io::Result<()> {
    for &n in clients {
        let server = Server::start(ServeConfig {
            partitions: PARTITIONS as u8,
            topics: vec![TOPIC.to_string()],
            session_timeout: Duration::from_secs(30),
            rebalance_timeout: Duration::from_secs(30),
            ..ServeConfig::default()
        })?;
        let address = format!("127.0.0.1:{}", server.ports()[0]);
        let ready = Arc::new(Barrier::new(n));
        // Each member's generation: measuring starts once all are in the same one.
        let generations: Arc<Vec<AtomicI32>> =
            Arc::new((0..n).map(|_| AtomicI32::new(-1)).collect());
        let workers: Vec<_> = (0..n)
            .map(|i| {
                let (address, ready, generations) =
                    (address.clone(), ready.clone(), generations.clone());
                thread::spawn(move || -> io::Result<(Vec<u64>, Vec<u64>, f64)> {
                    let mut member = Member {
                        client: WireClient::connect(&address, &format!("bench-{i}"))?,
                        id: StrBytes::default(),
                        generation: -1,
                        partitions: Vec::new(),
                    };
                    member.join()?;
                    // Until every member is in the same generation, rebalances go on: each
                    // keeps heartbeating (and rejoining when told to).
                    let all_in = |g: i32| generations.iter().all(|x| x.load(Ordering::SeqCst) == g);
                    loop {
                        generations[i].store(member.generation, Ordering::SeqCst);
                        if all_in(member.generation) {
                            break;
                        }
                        member.heartbeat()?;
                        thread::sleep(Duration::from_millis(5));
                    }
                    ready.wait();
                    let (mut heartbeats, mut commits) = (Vec::new(), Vec::new());
                    let start = Instant::now();
                    let mut offset = 0;
                    while start.elapsed() < duration {
                        let t = Instant::now();
                        if member.heartbeat()? {
                            heartbeats.push(t.elapsed().as_micros() as u64);
                        }
                        if !member.partitions.is_empty() {
                            offset += 1;
                            let t = Instant::now();
                            member.commit(offset)?;
                            commits.push(t.elapsed().as_micros() as u64);
                        }
                    }
                    Ok((heartbeats, commits, start.elapsed().as_secs_f64()))
                })
            })
            .collect();
        let (mut heartbeats, mut commits, mut elapsed) = (Vec::new(), Vec::new(), 0f64);
        for w in workers {
            let (h, c, e) = w
                .join()
                .map_err(|_| io::Error::other("a benchmark client panicked"))??;
            heartbeats.extend(h);
            commits.extend(c);
            elapsed = elapsed.max(e);
        }
        let _ = server.stop();
        for (api, mut latencies) in [("Heartbeat", heartbeats), ("OffsetCommit", commits)] {
            latencies.sort_unstable();
            report(&Figure {
                clients: n,
                api,
                per_second: latencies.len() as f64 / elapsed,
                p50_us: percentile(&latencies, 0.5),
                p99_us: percentile(&latencies, 0.99),
            });
        }
    }
    Ok(())
}
