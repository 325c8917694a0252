//! A group member speaking the classic protocol over one connection, one request at a time,
//! as a consumer does: JoinGroup (taking its member id from MEMBER_ID_REQUIRED), SyncGroup
//! (assigning, when it leads), Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup. Each call
//! returns what the broker answered, error codes included: the caller decides what an error
//! means (the benchmark rejoins, the probe judges it).

use super::client::WireClient;
use super::consumer_protocol;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
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
use std::time::Duration;

pub fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// The partitions of an assignment's bytes (empty if they do not decode).
fn assigned(bytes: &bytes::Bytes) -> Vec<i32> {
    consumer_protocol::decode::<ConsumerProtocolAssignment>(bytes)
        .map(|a| {
            a.assigned_partitions
                .into_iter()
                .flat_map(|t| t.partitions)
                .collect()
        })
        .unwrap_or_default()
}

/// The first error code of an OffsetCommit answer (0 when every partition was accepted).
pub fn commit_error(answer: &kafka_protocol::messages::OffsetCommitResponse) -> i16 {
    let mut codes = answer.topics.iter().flat_map(|t| &t.partitions);
    codes
        .find(|p| p.error_code != 0)
        .map_or(0, |p| p.error_code)
}

/// A JoinGroup answer.
#[derive(Clone, Debug)]
pub struct Joined {
    pub error: i16,
    pub generation: i32,
    pub member_id: String,
    pub leader: String,
    /// The members, when this member leads.
    pub members: Vec<String>,
}

/// One member of `group`, subscribed to `topic`.
pub struct WireMember {
    client: WireClient,
    pub group: String,
    pub topic: String,
    /// The assignor it offers.
    pub protocol: String,
    pub session_timeout: Duration,
    pub id: String,
    pub generation: i32,
    pub partitions: Vec<i32>,
}

impl WireMember {
    pub fn connect(
        address: &str,
        client_id: &str,
        group: &str,
        topic: &str,
        session_timeout: Duration,
    ) -> io::Result<WireMember> {
        Ok(WireMember {
            client: WireClient::connect(address, client_id)?,
            group: group.into(),
            topic: topic.into(),
            protocol: "roundrobin".into(),
            session_timeout,
            id: String::new(),
            generation: -1,
            partitions: Vec::new(),
        })
    }

    /// Connects to `address` instead (the group's coordinator moved), as the same member.
    pub fn reconnect(&mut self, address: &str, client_id: &str) -> io::Result<()> {
        self.client = WireClient::connect(address, client_id)?;
        Ok(())
    }

    fn group_id(&self) -> GroupId {
        GroupId(str_bytes(&self.group))
    }

    /// One JoinGroup (v5) with the member id it holds (empty at first); it takes the member id
    /// and generation the answer gives.
    pub fn join_once(&mut self) -> io::Result<Joined> {
        let subscription =
            ConsumerProtocolSubscription::default().with_topics(vec![str_bytes(&self.topic)]);
        let timeout = i32::try_from(self.session_timeout.as_millis()).unwrap_or(i32::MAX);
        let join = JoinGroupRequest::default()
            .with_group_id(self.group_id())
            .with_session_timeout_ms(timeout)
            .with_rebalance_timeout_ms(timeout)
            .with_member_id(str_bytes(&self.id))
            .with_protocol_type(str_bytes("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(str_bytes(&self.protocol))
                .with_metadata(consumer_protocol::encode(&subscription, 0))]);
        let answer = self.client.call(&join, 5)?;
        if !answer.member_id.is_empty() {
            self.id = answer.member_id.to_string();
        }
        if answer.error_code == 0 {
            self.generation = answer.generation_id;
        }
        Ok(Joined {
            error: answer.error_code,
            generation: answer.generation_id,
            member_id: answer.member_id.to_string(),
            leader: answer.leader.to_string(),
            members: answer
                .members
                .iter()
                .map(|m| m.member_id.to_string())
                .collect(),
        })
    }

    /// JoinGroup until an answer other than MEMBER_ID_REQUIRED.
    pub fn join(&mut self) -> io::Result<Joined> {
        loop {
            let joined = self.join_once()?;
            if joined.error != crate::protocol::ErrorCode::MemberIdRequired.code() {
                return Ok(joined);
            }
        }
    }

    /// SyncGroup (v3) in its generation; a leader gives `partitions` of the topic round-robin
    /// over `members`. Returns the error code, and keeps the partitions it was given.
    pub fn sync(&mut self, members: &[String], partitions: i32) -> io::Result<i16> {
        let n = members.len().max(1);
        let assignments =
            members
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let mine = (0..partitions).filter(|p| *p as usize % n == i).collect();
                    let assignment = ConsumerProtocolAssignment::default()
                        .with_assigned_partitions(vec![TopicPartition::default()
                            .with_topic(TopicName(str_bytes(&self.topic)))
                            .with_partitions(mine)]);
                    SyncGroupRequestAssignment::default()
                        .with_member_id(str_bytes(m))
                        .with_assignment(consumer_protocol::encode(&assignment, 0))
                })
                .collect();
        let sync = SyncGroupRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(str_bytes(&self.id))
            .with_assignments(assignments);
        let answer = self.client.call(&sync, 3)?;
        if answer.error_code == 0 {
            self.partitions = assigned(&answer.assignment);
        }
        Ok(answer.error_code)
    }

    /// A Heartbeat (v4) in its generation; the error code.
    pub fn heartbeat(&mut self) -> io::Result<i16> {
        let request = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(str_bytes(&self.id));
        Ok(self.client.call(&request, 4)?.error_code)
    }

    /// An OffsetCommit (v8) of `offsets` in its generation; the first error code of the
    /// answer (0 when every partition was accepted).
    pub fn commit(&mut self, offsets: &[(i32, i64)]) -> io::Result<i16> {
        let partitions = offsets
            .iter()
            .map(|(p, o)| {
                OffsetCommitRequestPartition::default()
                    .with_partition_index(*p)
                    .with_committed_offset(*o)
            })
            .collect();
        let request = OffsetCommitRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id_or_member_epoch(self.generation)
            .with_member_id(str_bytes(&self.id))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(str_bytes(&self.topic)))
                .with_partitions(partitions)]);
        Ok(commit_error(&self.client.call(&request, 8)?))
    }

    /// The committed offsets of `partitions` (OffsetFetch v7; -1 for none), or the error code
    /// of the answer.
    pub fn committed(&mut self, partitions: &[i32]) -> io::Result<Result<Vec<i64>, i16>> {
        let request = OffsetFetchRequest::default()
            .with_group_id(self.group_id())
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(TopicName(str_bytes(&self.topic)))
                .with_partition_indexes(partitions.to_vec())]));
        let answer = self.client.call(&request, 7)?;
        if answer.error_code != 0 {
            return Ok(Err(answer.error_code));
        }
        let mut out = Vec::new();
        for p in partitions {
            let found = answer
                .topics
                .iter()
                .flat_map(|t| &t.partitions)
                .find(|x| x.partition_index == *p);
            match found {
                Some(x) if x.error_code != 0 => return Ok(Err(x.error_code)),
                Some(x) => out.push(x.committed_offset),
                None => out.push(-1),
            }
        }
        Ok(Ok(out))
    }

    /// A LeaveGroup (v3) of this member; the error code.
    pub fn leave(&mut self) -> io::Result<i16> {
        let request = LeaveGroupRequest::default()
            .with_group_id(self.group_id())
            .with_members(vec![
                MemberIdentity::default().with_member_id(str_bytes(&self.id))
            ]);
        let answer = self.client.call(&request, 3)?;
        let member = answer.members.first().map_or(0, |m| m.error_code);
        Ok(if answer.error_code != 0 {
            answer.error_code
        } else {
            member
        })
    }
}
