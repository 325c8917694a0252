//! The core's consumer over the wire: its [`Request`]s encoded as Kafka's, and a broker's
//! answers decoded into the core's [`Response`]s, so that the consumer state machine of
//! [`crate::consumer`] (its joins, its leader's assignor, its revocations, its static
//! membership) can drive a real broker. The inverse of [`super::group`], which decodes a
//! client's requests for the core.
//!
//! A broker names members with strings of its own: [`WireNames`] gives each one the core's
//! [`MemberId`] `m0.N`, `N` its place in the order first seen, shared by every member of one
//! group so that a leader's member list and its assignment name the same members.

use super::client::WireClient;
use super::consumer_protocol;
use super::member::str_bytes;
use crate::protocol::{
    Assignor, Assignors, ErrorCode, Generation, InstanceId, LeaderEpoch, MemberId, Offset,
    OwnedClaim, Partition, Partitions, Request, Response,
};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The broker's member ids, numbered as the core's, for the members of one group, with the
/// `group.instance.id` a leader's member list gave each.
#[derive(Clone, Default)]
pub struct WireNames(Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<(MemberId, String)>>>);

impl WireNames {
    /// The core's id for the broker's `name`, numbered on first sight (`None` for "").
    pub fn id(&self, name: &str) -> Option<MemberId> {
        if name.is_empty() {
            return None;
        }
        let mut names = self.0.lock().expect("not poisoned");
        let seq = match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                names.push(name.to_string());
                names.len() - 1
            }
        };
        Some(MemberId {
            epoch: LeaderEpoch(0),
            seq: u32::try_from(seq).expect("a probe names few members"),
        })
    }

    /// `text` with the core's ids of these members written as the broker's names.
    pub fn rename(&self, text: &str) -> String {
        let names = self.0.lock().expect("not poisoned");
        // The longest numbers first: `m0.1` is the start of `m0.12`.
        names
            .iter()
            .enumerate()
            .rev()
            .fold(text.to_string(), |t, (i, n)| {
                t.replace(&format!("m0.{i}"), n)
            })
    }

    /// The `group.instance.id` the broker last listed `id` with, if any.
    pub fn instance_of(&self, id: MemberId) -> Option<String> {
        let instances = self.1.lock().expect("not poisoned");
        instances
            .iter()
            .rev()
            .find(|(m, _)| *m == id)
            .map(|(_, i)| i.clone())
    }

    fn listed_with(&self, id: MemberId, instance: &str) {
        let mut instances = self.1.lock().expect("not poisoned");
        instances.push((id, instance.to_string()));
    }

    /// The broker's name for the core's `id` ("" if it never named it).
    pub fn name(&self, id: MemberId) -> String {
        let names = self.0.lock().expect("not poisoned");
        names.get(id.seq as usize).cloned().unwrap_or_default()
    }
}

/// A static member's `group.instance.id` on the wire.
pub fn instance_name(i: InstanceId) -> String {
    format!("groupcheck-{i}")
}

/// One consumer's connection to the group's coordinator.
pub struct CoreWire {
    client: WireClient,
    group: String,
    topic: String,
    session_timeout: Duration,
    pub names: WireNames,
    /// JoinGroup's version: from 5 (KIP-345's `group.instance.id`) to 9 (KIP-814's
    /// `skip_assignment`). The other requests: SyncGroup v3, Heartbeat v4, LeaveGroup v3 and
    /// OffsetCommit v8, each with the instance id, and OffsetFetch v7.
    join_version: i16,
    /// The last answer's error code, when the core does not know it: the answer then carries
    /// COORDINATOR_NOT_AVAILABLE in its place (the core gives no such code, so the consumer
    /// takes the nearest refusal), and the judge names the code the broker sent.
    unknown: std::cell::Cell<Option<i16>>,
}

/// The partitions of our topic among `topics`, those the core can number.
fn partitions<'a>(topic: &str, topics: impl Iterator<Item = (&'a str, &'a [i32])>) -> Partitions {
    topics
        .filter(|(t, _)| *t == topic)
        .flat_map(|(_, ps)| ps.iter())
        .filter_map(|p| {
            Partition::try_from(*p)
                .ok()
                .filter(|p| *p < Partitions::MAX)
        })
        .collect()
}

fn generation(g: i32) -> Generation {
    Generation(u32::try_from(g).unwrap_or(0))
}

impl CoreWire {
    fn code(&self, e: i16) -> ErrorCode {
        ErrorCode::from_code(e).unwrap_or_else(|| {
            self.unknown.set(Some(e));
            ErrorCode::CoordinatorNotAvailable
        })
    }

    /// The error code the broker sent in its last answer, if the core does not know it.
    pub fn unknown_code(&self) -> Option<i16> {
        self.unknown.get()
    }

    /// The error code the broker sent in `answer`, its last: the code `answer` carries, or
    /// the one the core does not know that it stands in for.
    pub fn sent_code(&self, answer: &Response) -> i16 {
        self.unknown.get().unwrap_or(answer.error().code())
    }

    /// Connects to `address` instead (the group's coordinator moved), as the same consumer.
    pub fn reconnect(&mut self, address: &str, client_id: &str) -> io::Result<()> {
        self.client = WireClient::connect(address, client_id)?;
        Ok(())
    }

    pub fn connect(
        address: &str,
        client_id: &str,
        group: &str,
        topic: &str,
        session_timeout: Duration,
        names: WireNames,
        join_version: i16,
    ) -> io::Result<CoreWire> {
        Ok(CoreWire {
            client: WireClient::connect(address, client_id)?,
            group: group.into(),
            topic: topic.into(),
            session_timeout,
            names,
            join_version,
            unknown: std::cell::Cell::new(None),
        })
    }

    fn group_id(&self) -> GroupId {
        GroupId(str_bytes(&self.group))
    }

    fn topic_name(&self) -> TopicName {
        TopicName(str_bytes(&self.topic))
    }

    fn member(&self, id: MemberId) -> StrBytes {
        str_bytes(&self.names.name(id))
    }

    /// Sends `request` and decodes the answer. FindCoordinator is not sent: the probe has
    /// found the coordinator; it answers NONE.
    pub fn call(&mut self, request: &Request) -> io::Result<Response> {
        self.unknown.set(None);
        let instance = |i: &Option<InstanceId>| i.map(|i| str_bytes(&instance_name(i)));
        Ok(match request {
            Request::FindCoordinator => Response::FindCoordinator {
                error: ErrorCode::None,
                coordinator: Some(crate::protocol::BrokerId(0)),
            },
            Request::JoinGroup {
                member_id,
                protocols,
                claim,
                instance: i,
            } => self.join(*member_id, *protocols, *claim, instance(i))?,
            Request::SyncGroup {
                member_id,
                generation: g,
                assignments,
                instance: i,
            } => {
                let assignments =
                    assignments
                        .iter()
                        .map(|(m, ps)| {
                            let mine = ConsumerProtocolAssignment::default()
                                .with_assigned_partitions(vec![AssignedTopic::default()
                                    .with_topic(self.topic_name())
                                    .with_partitions(ps.iter().map(i32::from).collect())]);
                            SyncGroupRequestAssignment::default()
                                .with_member_id(self.member(*m))
                                .with_assignment(consumer_protocol::encode(&mine, 0))
                        })
                        .collect();
                let sync = SyncGroupRequest::default()
                    .with_group_id(self.group_id())
                    .with_generation_id(g.0 as i32)
                    .with_member_id(self.member(*member_id))
                    .with_group_instance_id(instance(i))
                    .with_assignments(assignments);
                let answer = self.client.call(&sync, 3)?;
                let given: Option<ConsumerProtocolAssignment> =
                    consumer_protocol::decode(&answer.assignment);
                let assignment = given.map_or(Partitions::EMPTY, |a| {
                    let topics = a.assigned_partitions.iter();
                    partitions(
                        &self.topic,
                        topics.map(|t| (t.topic.as_str(), t.partitions.as_slice())),
                    )
                });
                Response::SyncGroup {
                    error: self.code(answer.error_code),
                    member_id: *member_id,
                    generation: *g,
                    assignment,
                }
            }
            Request::Heartbeat {
                member_id,
                generation: g,
                instance: i,
            } => {
                let beat = HeartbeatRequest::default()
                    .with_group_id(self.group_id())
                    .with_generation_id(g.0 as i32)
                    .with_member_id(self.member(*member_id))
                    .with_group_instance_id(instance(i));
                let answer = self.client.call(&beat, 4)?;
                Response::Heartbeat {
                    error: self.code(answer.error_code),
                }
            }
            Request::LeaveGroup {
                member_id,
                instance: i,
            } => {
                let leave = LeaveGroupRequest::default()
                    .with_group_id(self.group_id())
                    .with_members(vec![MemberIdentity::default()
                        .with_member_id(self.member(*member_id))
                        .with_group_instance_id(instance(i))]);
                let answer = self.client.call(&leave, 3)?;
                let member = answer.members.first().map_or(0, |m| m.error_code);
                let error = if answer.error_code != 0 {
                    answer.error_code
                } else {
                    member
                };
                Response::LeaveGroup {
                    error: self.code(error),
                }
            }
            Request::OffsetCommit {
                member_id,
                generation: g,
                offsets,
                instance: i,
            } => {
                let ps = offsets
                    .iter()
                    .map(|(p, o)| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(i32::from(*p))
                            .with_committed_offset(i64::from(*o))
                    })
                    .collect();
                let commit = OffsetCommitRequest::default()
                    .with_group_id(self.group_id())
                    .with_generation_id_or_member_epoch(g.0 as i32)
                    .with_member_id(self.member(*member_id))
                    .with_group_instance_id(instance(i))
                    .with_topics(vec![OffsetCommitRequestTopic::default()
                        .with_name(self.topic_name())
                        .with_partitions(ps)]);
                let answer = self.client.call(&commit, 8)?;
                Response::OffsetCommit {
                    error: self.code(super::member::commit_error(&answer)),
                    offsets: offsets.clone(),
                }
            }
            Request::OffsetFetch { partitions: ps } => {
                let fetch = OffsetFetchRequest::default()
                    .with_group_id(self.group_id())
                    .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                        .with_name(self.topic_name())
                        .with_partition_indexes(ps.iter().map(i32::from).collect())]));
                let answer = self.client.call(&fetch, 7)?;
                let found = answer.topics.iter().flat_map(|t| &t.partitions);
                let error = found
                    .clone()
                    .map(|p| p.error_code)
                    .find(|e| *e != 0)
                    .unwrap_or(answer.error_code);
                let offsets = ps
                    .iter()
                    .filter_map(|p| {
                        let at = found.clone().find(|x| x.partition_index == i32::from(p))?;
                        Some((p, Offset::try_from(at.committed_offset).ok()))
                    })
                    .collect();
                Response::OffsetFetch {
                    error: self.code(error),
                    offsets,
                }
            }
        })
    }

    fn join(
        &mut self,
        member_id: Option<MemberId>,
        protocols: Assignors,
        claim: Option<OwnedClaim>,
        instance: Option<StrBytes>,
    ) -> io::Result<Response> {
        let owned = claim.map_or(Partitions::EMPTY, |c| c.partitions);
        let subscription = ConsumerProtocolSubscription::default()
            .with_topics(vec![str_bytes(&self.topic)])
            .with_owned_partitions(if owned.is_empty() {
                Vec::new()
            } else {
                vec![OwnedTopic::default()
                    .with_topic(self.topic_name())
                    .with_partitions(owned.iter().map(i32::from).collect())]
            })
            .with_generation_id(claim.map_or(-1, |c| c.generation.0 as i32));
        let metadata = consumer_protocol::encode(&subscription, 2);
        let timeout = i32::try_from(self.session_timeout.as_millis()).unwrap_or(i32::MAX);
        let join = JoinGroupRequest::default()
            .with_group_id(self.group_id())
            .with_session_timeout_ms(timeout)
            .with_rebalance_timeout_ms(timeout)
            .with_member_id(member_id.map_or_else(StrBytes::default, |m| self.member(m)))
            .with_group_instance_id(instance)
            .with_protocol_type(str_bytes("consumer"))
            .with_protocols(
                protocols
                    .iter()
                    .map(|a| {
                        JoinGroupRequestProtocol::default()
                            .with_name(str_bytes(a.wire_name()))
                            .with_metadata(metadata.clone())
                    })
                    .collect(),
            );
        let answer = self.client.call(&join, self.join_version)?;
        let names = &self.names;
        for m in &answer.members {
            if let (Some(id), Some(i)) = (names.id(m.member_id.as_str()), &m.group_instance_id) {
                names.listed_with(id, i.as_str());
            }
        }
        let claims = answer
            .members
            .iter()
            .filter_map(|m| {
                let id = names.id(m.member_id.as_str())?;
                let s: ConsumerProtocolSubscription = consumer_protocol::decode(&m.metadata)?;
                let owned = partitions(
                    &self.topic,
                    s.owned_partitions
                        .iter()
                        .map(|t| (t.topic.as_str(), t.partitions.as_slice())),
                );
                let claimed = !owned.is_empty() || s.generation_id >= 0;
                claimed.then(|| {
                    let claim = OwnedClaim {
                        partitions: owned,
                        generation: generation(s.generation_id),
                    };
                    (id, claim)
                })
            })
            .collect();
        let protocol = answer.protocol_name.as_ref().and_then(|n| {
            Assignor::ALL
                .into_iter()
                .find(|a| a.wire_name() == n.as_str())
        });
        Ok(Response::JoinGroup {
            error: self.code(answer.error_code),
            generation: generation(answer.generation_id),
            protocol,
            member_id: names.id(answer.member_id.as_str()),
            leader: names.id(answer.leader.as_str()),
            members: answer
                .members
                .iter()
                .filter_map(|m| names.id(m.member_id.as_str()))
                .collect(),
            claims,
            skip_assignment: answer.skip_assignment,
        })
    }
}
