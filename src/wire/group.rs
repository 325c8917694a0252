//! The group APIs on the wire: each request translated into the core's request, handled by the
//! group's [`GroupService`] (the concurrent runtime on the verified core), and the core's answer
//! translated back. Every decision is the core's; this module only renames.
//!
//! What the core does not hold, and Kafka's answers need, is kept here beside the service:
//! each member's subscription bytes (the leader receives them in its JoinGroup answer), the
//! leader's assignment bytes (each member receives its own, user data included), the
//! `group.instance.id` strings (the core numbers them), and the group's topic.

use super::consumer_protocol;
use crate::protocol::{
    Assignor, Assignors, ErrorCode, Generation, InstanceId, MemberId, Offset, OwnedClaim,
    Partition, Partitions, Request, Response,
};
use crate::runtime::service::GroupService;
use crate::runtime::timers::Timers;
use bytes::Bytes;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedPartitions;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    SyncGroupRequest, SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a connection waits for the core's answer: a JoinGroup is parked until its join
/// phase ends, which the rebalance timeout bounds; this only guards against a server bug.
const ANSWER_WAIT: Duration = Duration::from_secs(300);

/// One consumer group: its coordinators (the runtime's service), the clocks that expire its
/// sessions and end its join phases, and the wire names the core does not keep.
pub struct Group {
    pub service: Arc<GroupService>,
    pub(super) timers: Mutex<Option<Timers>>,
    names: Mutex<Names>,
}

#[derive(Default)]
struct Names {
    /// The topic the group consumes: the first its members subscribed to.
    topic: Option<String>,
    /// `InstanceId(i)` is `instances[i]`.
    instances: Vec<String>,
    /// Each member's group protocols (assignor name, subscription bytes) as last sent.
    metadata: HashMap<MemberId, Vec<(String, Bytes)>>,
    /// The same, by static instance.
    by_instance: HashMap<InstanceId, Vec<(String, Bytes)>>,
    /// The group's protocol names, by the core's protocol they stand for (by place in
    /// [`Assignor::ALL`]): see [`Names::protocol`].
    protocols: [Option<String>; 4],
    /// The assignor each generation selected.
    selected: HashMap<Generation, Assignor>,
    /// The leader's assignment bytes, per generation and member.
    assignments: HashMap<(Generation, MemberId), Bytes>,
}

/// A topic's partitions with their committed offsets (-1: none), as OffsetFetch answers.
type TopicOffsets = (TopicName, Vec<(i32, i64)>);

impl Names {
    /// The core's protocol standing for the protocol `name` in this group. A coordinator
    /// treats protocol names as opaque: it only tells them apart, intersects them and counts
    /// votes. So each name the group uses gets one of the core's four: the Java client's
    /// assignor names their own (`range`, `roundrobin`, `sticky`, `cooperative-sticky`), any
    /// other name (kafkajs's `RoundRobinAssigner`, a custom assignor) the last one no name
    /// holds yet. `None` once all four are taken by other names: that protocol is not offered.
    fn protocol(&mut self, name: &str) -> Option<Assignor> {
        if let Some(i) = self
            .protocols
            .iter()
            .position(|n| n.as_deref() == Some(name))
        {
            return Some(Assignor::ALL[i]);
        }
        let free = |i: &usize| self.protocols[*i].is_none();
        let i = match Assignor::ALL.iter().position(|a| a.wire_name() == name) {
            // A Java assignor's name takes its own place, unless another name took it.
            Some(own) => Some(own).filter(free),
            // Any other name the last free place, leaving range and round-robin, the most
            // used, to their own names as long as possible.
            None => (0..4).rev().find(free),
        }?;
        self.protocols[i] = Some(name.to_string());
        Some(Assignor::ALL[i])
    }

    /// The protocol name the core's `protocol` stands for in this group.
    fn protocol_name(&self, protocol: Assignor) -> String {
        let i = Assignor::ALL
            .iter()
            .position(|a| *a == protocol)
            .unwrap_or(0);
        self.protocols[i]
            .clone()
            .unwrap_or_else(|| protocol.wire_name().to_string())
    }
}

/// The connection a request came on, as the service knows it.
pub struct Conn {
    pub broker: crate::protocol::BrokerId,
    pub addr: crate::protocol::ClientAddr,
    /// The server is stopping: stop waiting for answers.
    pub stopping: Arc<AtomicBool>,
}

fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// A member id as the client sent it: empty is Kafka's "no id yet"; anything else that is not
/// an id this coordinator minted is an unknown member.
fn member_id(s: &StrBytes) -> Result<Option<MemberId>, ErrorCode> {
    if s.is_empty() {
        return Ok(None);
    }
    MemberId::try_from(s.to_string())
        .map(Some)
        .map_err(|_| ErrorCode::UnknownMemberId)
}

fn known_member(s: &StrBytes) -> Result<MemberId, ErrorCode> {
    member_id(s)?.ok_or(ErrorCode::UnknownMemberId)
}

/// Reads a versioned consumer-protocol blob (a subscription or an assignment): its version,
/// then its body at that version (or the newest the codec knows: newer ones only add fields).
impl Group {
    pub fn new(service: Arc<GroupService>, timers: Timers) -> Group {
        Group {
            service,
            timers: Mutex::new(Some(timers)),
            names: Mutex::new(Names::default()),
        }
    }

    fn names(&self) -> std::sync::MutexGuard<'_, Names> {
        crate::runtime::sync::lock(&self.names)
    }

    /// The wire name of the protocol the core knows as `protocol` in this group.
    pub fn protocol_name(&self, protocol: Assignor) -> String {
        self.names().protocol_name(protocol)
    }

    /// The group's topic, if a member has subscribed yet.
    pub fn topic(&self) -> Option<String> {
        self.names().topic.clone()
    }

    fn instance(&self, id: &Option<StrBytes>) -> Result<Option<InstanceId>, ErrorCode> {
        let Some(id) = id.as_ref().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let mut names = self.names();
        if let Some(i) = names.instances.iter().position(|s| s == id.as_str()) {
            return Ok(Some(InstanceId(i as u8)));
        }
        // The core numbers instance ids in a byte.
        let i = u8::try_from(names.instances.len()).map_err(|_| ErrorCode::FencedInstanceId)?;
        names.instances.push(id.to_string());
        Ok(Some(InstanceId(i)))
    }

    /// A partition of the group's topic, if the topic has it (the core is never asked about
    /// another: UNKNOWN_TOPIC_OR_PARTITION is answered for it).
    fn partition(&self, index: i32) -> Option<Partition> {
        Partition::try_from(index)
            .ok()
            .filter(|p| *p < self.service.config().partitions)
    }

    /// The partitions of the group's topic among `topics`.
    fn partitions_of<'a>(
        &self,
        topics: impl IntoIterator<Item = (&'a TopicName, &'a [i32])>,
    ) -> Partitions {
        let topic = self.topic();
        let mut out = Partitions::EMPTY;
        for (name, partitions) in topics {
            if Some(name.as_str()) == topic.as_deref() {
                for p in partitions.iter().filter_map(|p| self.partition(*p)) {
                    out.insert(p);
                }
            }
        }
        out
    }

    /// Asks the core, and waits for its answer (parked requests wait for their phase).
    fn ask(&self, conn: &Conn, request: &Request) -> Option<Response> {
        self.service.send(conn.broker, conn.addr, request);
        let deadline = Instant::now() + ANSWER_WAIT;
        while Instant::now() < deadline && !conn.stopping.load(Ordering::Relaxed) {
            let answer = self
                .service
                .receive_timeout(conn.addr, Duration::from_millis(100));
            if answer.is_some() {
                return answer;
            }
        }
        None
    }

    pub fn join_group(
        &self,
        conn: &Conn,
        req: &JoinGroupRequest,
        version: i16,
    ) -> JoinGroupResponse {
        let refuse = |error: ErrorCode| {
            JoinGroupResponse::default()
                .with_error_code(error.code())
                .with_generation_id(-1)
                .with_member_id(req.member_id.clone())
        };
        let id = match member_id(&req.member_id) {
            Ok(id) => id,
            Err(e) => return refuse(e),
        };
        let instance = match self.instance(&req.group_instance_id) {
            Ok(i) => i,
            Err(e) => return refuse(e),
        };
        // Each protocol name the core can tell apart (see `Names::protocols`).
        let known: Vec<(Assignor, &Bytes)> = {
            let mut names = self.names();
            req.protocols
                .iter()
                .filter_map(|p| Some((names.protocol(p.name.as_str())?, &p.metadata)))
                .collect()
        };
        if req.protocol_type.as_str() != "consumer" || known.is_empty() {
            return refuse(ErrorCode::InconsistentGroupProtocol);
        }
        let subscription: Option<ConsumerProtocolSubscription> =
            consumer_protocol::decode(known[0].1);
        let Some(subscription) = subscription else {
            return refuse(ErrorCode::InconsistentGroupProtocol);
        };
        let claim = {
            let mut names = self.names();
            if names.topic.is_none() {
                names.topic = subscription.topics.first().map(|t| t.to_string());
            }
            drop(names);
            let owned = self.partitions_of(
                subscription
                    .owned_partitions
                    .iter()
                    .map(|t| (&t.topic, t.partitions.as_slice())),
            );
            let generation = u32::try_from(subscription.generation_id).ok();
            (!owned.is_empty() || generation.is_some()).then(|| OwnedClaim {
                partitions: owned,
                generation: Generation(generation.unwrap_or(0)),
            })
        };
        let protocols = Assignors::from(known.iter().map(|(a, _)| *a).collect::<Vec<_>>());
        // What the member sent, kept before the core sees the request: the leader's answer may
        // be built on another connection's thread before this one hears back.
        let sent: Vec<(String, Bytes)> = req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect();
        {
            let mut names = self.names();
            if let Some(id) = id {
                names.metadata.insert(id, sent.clone());
            }
            if let Some(i) = instance {
                names.by_instance.insert(i, sent.clone());
            }
        }
        let mut request = Request::JoinGroup {
            member_id: id,
            protocols,
            claim,
            instance,
        };
        loop {
            let Some(answer) = self.ask(conn, &request) else {
                return refuse(ErrorCode::CoordinatorNotAvailable);
            };
            let Response::JoinGroup {
                error,
                generation,
                protocol,
                member_id,
                leader,
                members,
                skip_assignment,
                ..
            } = answer
            else {
                return refuse(ErrorCode::CoordinatorNotAvailable);
            };
            // Before KIP-394 (JoinGroup v4) a client cannot take a member id and rejoin: the
            // server does the round trip for it.
            if error == ErrorCode::MemberIdRequired && version < 4 {
                if let Request::JoinGroup { member_id: m, .. } = &mut request {
                    *m = member_id;
                }
                continue;
            }
            if let Some(m) = member_id
                .filter(|_| error == ErrorCode::None || error == ErrorCode::MemberIdRequired)
            {
                self.names().metadata.insert(m, sent.clone());
            }
            let mut response = JoinGroupResponse::default()
                .with_error_code(error.code())
                .with_member_id(
                    member_id
                        .map(|m| str_bytes(m.to_string()))
                        .unwrap_or_default(),
                );
            if error != ErrorCode::None {
                return response.with_generation_id(-1);
            }
            // The leader learns each member's subscription and instance id. A static member's
            // first JoinGroup is answered in the same instant as the leader's, before its own
            // thread has seen its new id, so its subscription is found by its instance id.
            let instances = if members.is_empty() {
                HashMap::new()
            } else {
                let (brokers, _) = self.service.snapshot();
                let group = &brokers[conn.broker.index()].group;
                group
                    .members
                    .iter()
                    .filter_map(|m| Some((m.id, m.instance?)))
                    .collect::<HashMap<MemberId, InstanceId>>()
            };
            let names = self.names();
            let protocol_name = protocol.map(|a| str_bytes(names.protocol_name(a)));
            let members = members
                .iter()
                .map(|m| {
                    let instance = instances.get(m);
                    let metadata = names
                        .metadata
                        .get(m)
                        .or_else(|| names.by_instance.get(instance?))
                        .and_then(|sent| {
                            let name = names.protocol_name(protocol?);
                            sent.iter().find(|(n, _)| *n == name)
                        })
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    let instance = instance
                        .and_then(|i| names.instances.get(usize::from(i.0)))
                        .map(|s| str_bytes(s.clone()));
                    JoinGroupResponseMember::default()
                        .with_member_id(str_bytes(m.to_string()))
                        .with_group_instance_id(instance)
                        .with_metadata(metadata)
                })
                .collect();
            drop(names);
            if let Some(a) = protocol {
                self.names().selected.insert(generation, a);
            }
            response = response
                .with_generation_id(generation.0 as i32)
                .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
                .with_protocol_name(protocol_name)
                .with_leader(leader.map(|l| str_bytes(l.to_string())).unwrap_or_default())
                // KIP-814's field exists from v9; an older static leader is not told to skip.
                .with_skip_assignment(skip_assignment && version >= 9)
                .with_members(members);
            return response;
        }
    }

    pub fn sync_group(&self, conn: &Conn, req: &SyncGroupRequest) -> SyncGroupResponse {
        let refuse = |error: ErrorCode| SyncGroupResponse::default().with_error_code(error.code());
        let member = match known_member(&req.member_id) {
            Ok(m) => m,
            Err(e) => return refuse(e),
        };
        let instance = match self.instance(&req.group_instance_id) {
            Ok(i) => i,
            Err(e) => return refuse(e),
        };
        let Ok(generation) = u32::try_from(req.generation_id).map(Generation) else {
            return refuse(ErrorCode::IllegalGeneration);
        };
        let mut assignments = Vec::new();
        for a in &req.assignments {
            // An id this coordinator did not mint cannot be a member: the core refuses the
            // assignment for naming it.
            let Ok(m) = known_member(&a.member_id) else {
                return refuse(ErrorCode::UnknownMemberId);
            };
            let decoded: Option<ConsumerProtocolAssignment> =
                consumer_protocol::decode(&a.assignment);
            let partitions = decoded
                .map(|d| {
                    self.partitions_of(
                        d.assigned_partitions
                            .iter()
                            .map(|t| (&t.topic, t.partitions.as_slice())),
                    )
                })
                .unwrap_or(Partitions::EMPTY);
            assignments.push((m, partitions, a.assignment.clone()));
        }
        let request = Request::SyncGroup {
            member_id: member,
            generation,
            assignments: assignments.iter().map(|(m, p, _)| (*m, *p)).collect(),
            instance,
        };
        let Some(Response::SyncGroup {
            error, assignment, ..
        }) = self.ask(conn, &request)
        else {
            return refuse(ErrorCode::CoordinatorNotAvailable);
        };
        let mut names = self.names();
        if error == ErrorCode::None {
            for (m, _, bytes) in assignments {
                names.assignments.insert((generation, m), bytes);
            }
        }
        if error != ErrorCode::None {
            return refuse(error);
        }
        // The leader's own bytes for this member (user data included), or, if the core's
        // assignment is all there is (a group loaded after this server restarted), the same
        // partitions encoded afresh.
        let bytes = names
            .assignments
            .get(&(generation, member))
            .cloned()
            .unwrap_or_else(|| {
                let topic = names.topic.clone().unwrap_or_default();
                let owned = AssignedPartitions::default()
                    .with_topic(TopicName(str_bytes(topic)))
                    .with_partitions(assignment.iter().map(i32::from).collect());
                consumer_protocol::encode(
                    &ConsumerProtocolAssignment::default().with_assigned_partitions(vec![owned]),
                    0,
                )
            });
        let protocol = names.selected.get(&generation).copied();
        SyncGroupResponse::default()
            .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
            .with_protocol_name(protocol.map(|a| str_bytes(names.protocol_name(a))))
            .with_assignment(bytes)
    }

    pub fn heartbeat(&self, conn: &Conn, req: &HeartbeatRequest) -> HeartbeatResponse {
        let answer = (|| {
            let request = Request::Heartbeat {
                member_id: known_member(&req.member_id)?,
                generation: Generation(
                    u32::try_from(req.generation_id).map_err(|_| ErrorCode::IllegalGeneration)?,
                ),
                instance: self.instance(&req.group_instance_id)?,
            };
            Ok(self
                .ask(conn, &request)
                .map_or(ErrorCode::CoordinatorNotAvailable, |r| r.error()))
        })();
        HeartbeatResponse::default().with_error_code(answer.unwrap_or_else(|e| e).code())
    }

    pub fn leave_group(
        &self,
        conn: &Conn,
        req: &LeaveGroupRequest,
        version: i16,
    ) -> LeaveGroupResponse {
        // Up to v2 one member leaves; from v3 a batch, each answered on its own.
        let leaving: Vec<(StrBytes, Option<StrBytes>)> = if version < 3 {
            vec![(req.member_id.clone(), None)]
        } else {
            req.members
                .iter()
                .map(|m| (m.member_id.clone(), m.group_instance_id.clone()))
                .collect()
        };
        let mut members = Vec::new();
        let mut first_error = ErrorCode::None;
        for (id, instance) in leaving {
            let answer = (|| {
                let request = Request::LeaveGroup {
                    member_id: known_member(&id)?,
                    instance: self.instance(&instance)?,
                };
                Ok(self
                    .ask(conn, &request)
                    .map_or(ErrorCode::CoordinatorNotAvailable, |r| r.error()))
            })();
            let error = answer.unwrap_or_else(|e| e);
            if first_error == ErrorCode::None {
                first_error = error;
            }
            members.push(
                MemberResponse::default()
                    .with_member_id(id)
                    .with_group_instance_id(instance)
                    .with_error_code(error.code()),
            );
        }
        // Kafka answers a batch's member errors per member; the top-level error is for the
        // group (NOT_COORDINATOR and the like), which the core's first answer tells.
        let group_error = match first_error {
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::CoordinatorNotAvailable => first_error,
            e if version < 3 => e,
            _ => ErrorCode::None,
        };
        LeaveGroupResponse::default()
            .with_error_code(group_error.code())
            .with_members(if version < 3 { Vec::new() } else { members })
    }

    pub fn offset_commit(&self, conn: &Conn, req: &OffsetCommitRequest) -> OffsetCommitResponse {
        let topic = self.topic();
        let mut offsets: Vec<(Partition, Offset)> = Vec::new();
        for t in &req.topics {
            if Some(t.name.as_str()) == topic.as_deref() {
                for p in &t.partitions {
                    if let (Some(partition), Ok(offset)) = (
                        self.partition(p.partition_index),
                        Offset::try_from(p.committed_offset),
                    ) {
                        offsets.push((partition, offset));
                    }
                }
            }
        }
        let answer = (|| {
            let request = Request::OffsetCommit {
                member_id: known_member(&req.member_id)?,
                generation: Generation(
                    u32::try_from(req.generation_id_or_member_epoch)
                        .map_err(|_| ErrorCode::IllegalGeneration)?,
                ),
                offsets: offsets.clone(),
                instance: self.instance(&req.group_instance_id)?,
            };
            Ok(self
                .ask(conn, &request)
                .map_or(ErrorCode::CoordinatorNotAvailable, |r| r.error()))
        })();
        let error = answer.unwrap_or_else(|e| e);
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let ours = Some(t.name.as_str()) == topic.as_deref();
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let taken = ours
                            && offsets.iter().any(|(q, o)| {
                                i32::from(*q) == p.partition_index
                                    && i64::from(*o) == p.committed_offset
                            });
                        let e = if taken {
                            error.code()
                        } else {
                            ErrorCode::UnknownTopicOrPartition.code()
                        };
                        OffsetCommitResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(e)
                    })
                    .collect();
                OffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        OffsetCommitResponse::default().with_topics(topics)
    }

    /// The committed offsets of the group's topic (`requested`: which partitions, all if
    /// `None`), as the core serves them.
    fn fetch_offsets(
        &self,
        conn: &Conn,
        requested: Option<Vec<(TopicName, Vec<i32>)>>,
    ) -> (ErrorCode, Vec<TopicOffsets>) {
        let partitions = self.service.config().partitions;
        let topic = self.topic();
        let requested = requested.unwrap_or_else(|| {
            topic
                .iter()
                .map(|t| {
                    (
                        TopicName(str_bytes(t.clone())),
                        (0..i32::from(partitions)).collect(),
                    )
                })
                .collect()
        });
        let wanted = self.partitions_of(requested.iter().map(|(t, p)| (t, p.as_slice())));
        let (error, served) = match self.ask(conn, &Request::OffsetFetch { partitions: wanted }) {
            Some(Response::OffsetFetch { error, offsets }) => (error, offsets),
            _ => (ErrorCode::CoordinatorNotAvailable, Vec::new()),
        };
        let topics = requested
            .into_iter()
            .map(|(name, ps)| {
                let ours = Some(name.as_str()) == topic.as_deref();
                let offsets = ps
                    .into_iter()
                    .map(|p| {
                        let served = served
                            .iter()
                            .find(|(q, _)| ours && i32::from(*q) == p)
                            .and_then(|(_, o)| *o);
                        (p, served.map_or(-1, i64::from))
                    })
                    .collect();
                (name, offsets)
            })
            .collect();
        (error, topics)
    }

    /// OffsetFetch up to v7: one group.
    pub fn offset_fetch(&self, conn: &Conn, req: &OffsetFetchRequest) -> OffsetFetchResponse {
        let requested = req.topics.as_ref().map(|ts| {
            ts.iter()
                .map(|t| (t.name.clone(), t.partition_indexes.clone()))
                .collect()
        });
        let (error, topics) = self.fetch_offsets(conn, requested);
        let topics = topics
            .into_iter()
            .map(|(name, offsets)| {
                OffsetFetchResponseTopic::default()
                    .with_name(name)
                    .with_partitions(
                        offsets
                            .into_iter()
                            .map(|(p, o)| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(o)
                                    .with_committed_leader_epoch(-1)
                            })
                            .collect(),
                    )
            })
            .collect();
        OffsetFetchResponse::default()
            .with_error_code(error.code())
            .with_topics(if error == ErrorCode::None {
                topics
            } else {
                Vec::new()
            })
    }

    /// One group of an OffsetFetch from v8 on.
    pub fn offset_fetch_group(
        &self,
        conn: &Conn,
        group_id: &kafka_protocol::messages::GroupId,
        topics: &Option<
            Vec<kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopics>,
        >,
    ) -> OffsetFetchResponseGroup {
        let requested = topics.as_ref().map(|ts| {
            ts.iter()
                .map(|t| (t.name.clone(), t.partition_indexes.clone()))
                .collect()
        });
        let (error, topics) = self.fetch_offsets(conn, requested);
        let topics = topics
            .into_iter()
            .map(|(name, offsets)| {
                OffsetFetchResponseTopics::default()
                    .with_name(name)
                    .with_partitions(
                        offsets
                            .into_iter()
                            .map(|(p, o)| {
                                OffsetFetchResponsePartitions::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(o)
                                    .with_committed_leader_epoch(-1)
                            })
                            .collect(),
                    )
            })
            .collect();
        OffsetFetchResponseGroup::default()
            .with_group_id(group_id.clone())
            .with_error_code(error.code())
            .with_topics(if error == ErrorCode::None {
                topics
            } else {
                Vec::new()
            })
    }
}
