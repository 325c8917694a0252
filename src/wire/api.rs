//! The APIs served, their versions, and the answers that do not involve the group coordinator:
//! cluster metadata, coordinator lookup, and the in-memory topics' Produce, Fetch and
//! ListOffsets.

use super::group::Conn;
use super::server::Shared;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::OffsetFetchResponseGroup;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, FetchRequest, FetchResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, HeartbeatResponse, InitProducerIdRequest, InitProducerIdResponse,
    JoinGroupResponse, LeaveGroupResponse, ListOffsetsRequest, ListOffsetsResponse,
    MetadataRequest, MetadataResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, ProduceRequest, ProduceResponse, ProducerId,
    SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The APIs and versions served. The upper bounds stop where a version needs what this server
/// does not have (topic ids in Fetch from v13 and Produce from v12; KIP-848's consumer group
/// heartbeat is not offered, so clients use the classic protocol).
pub const SUPPORTED: [(ApiKey, i16, i16); 13] = [
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::ApiVersions, 0, 4),
    // Idempotent producers (the default of kafka-python and the Java client) ask for an id
    // first; transactions are not served.
    (ApiKey::InitProducerId, 0, 4),
];

/// UNSUPPORTED_VERSION.
const UNSUPPORTED_VERSION: i16 = 35;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
/// The longest a Fetch waits for records (its `max_wait_ms`, bounded).
const MAX_FETCH_WAIT: Duration = Duration::from_millis(500);

pub fn supports(api: ApiKey, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|(a, min, max)| *a == api && (*min..=*max).contains(&version))
}

fn versions() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|(a, min, max)| {
            ApiVersion::default()
                .with_api_key(*a as i16)
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect()
}

pub fn api_versions() -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(versions())
}

/// The answer to an ApiVersions newer than this server: UNSUPPORTED_VERSION with what it does
/// support, so the client retries with a version both know.
pub fn unsupported_api_versions() -> ApiVersionsResponse {
    api_versions().with_error_code(UNSUPPORTED_VERSION)
}

fn host() -> StrBytes {
    StrBytes::from_static_str("127.0.0.1")
}

fn leader_of(shared: &Shared, partition: i32) -> BrokerId {
    BrokerId(partition % i32::from(shared.cfg.brokers.max(1)))
}

pub(super) fn metadata(shared: &Shared, r: &MetadataRequest, version: i16) -> MetadataResponse {
    let brokers = shared
        .ports
        .iter()
        .enumerate()
        .map(|(b, port)| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b as i32))
                .with_host(host())
                .with_port(i32::from(*port))
        })
        .collect();
    // Before v4 a Metadata request always auto-creates.
    let create = version < 4 || r.allow_auto_topic_creation;
    let names: Vec<String> = match &r.topics {
        None => shared.topics.names(),
        Some(ts) => ts
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
            .collect(),
    };
    let topics = names
        .into_iter()
        .map(|name| {
            let exists = shared.topics.exists(&name) || (create && shared.topics.create(&name));
            let topic = MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(name))));
            if !exists {
                return topic.with_error_code(UNKNOWN_TOPIC_OR_PARTITION);
            }
            let partitions = (0..i32::from(shared.topics.partitions()))
                .map(|p| {
                    let leader = leader_of(shared, p);
                    MetadataResponsePartition::default()
                        .with_partition_index(p)
                        .with_leader_id(leader)
                        .with_leader_epoch(0)
                        .with_replica_nodes(vec![leader])
                        .with_isr_nodes(vec![leader])
                })
                .collect();
            topic.with_partitions(partitions)
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(StrBytes::from_static_str("groupcheck")))
        .with_controller_id(BrokerId(0))
        .with_topics(topics)
}

pub(super) fn find_coordinator(
    shared: &Arc<Shared>,
    r: &FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    // Only group coordinators (key type 0) exist here.
    let find = |key: &StrBytes| -> Coordinator {
        let coordinator = (r.key_type == 0)
            .then(|| shared.group(key))
            .flatten()
            .map(|g| g.service.find_coordinator());
        match coordinator {
            Some(b) => Coordinator::default()
                .with_key(key.clone())
                .with_node_id(BrokerId(i32::from(b.0)))
                .with_host(host())
                .with_port(i32::from(shared.ports[b.index()])),
            None => Coordinator::default()
                .with_key(key.clone())
                .with_node_id(BrokerId(-1))
                .with_port(-1)
                .with_error_code(COORDINATOR_NOT_AVAILABLE),
        }
    };
    if version < 4 {
        let c = find(&r.key);
        FindCoordinatorResponse::default()
            .with_error_code(c.error_code)
            .with_node_id(c.node_id)
            .with_host(c.host)
            .with_port(c.port)
    } else {
        FindCoordinatorResponse::default()
            .with_coordinators(r.coordinator_keys.iter().map(find).collect())
    }
}

pub(super) fn produce(shared: &Shared, r: &ProduceRequest) -> ProduceResponse {
    let responses = r
        .topic_data
        .iter()
        .map(|t| {
            let partitions = t
                .partition_data
                .iter()
                .map(|p| {
                    let appended = match &p.records {
                        Some(records) => shared.topics.append(&t.name, p.index, records),
                        None => Err(super::topics::AppendError::CorruptMessage),
                    };
                    let response = PartitionProduceResponse::default()
                        .with_index(p.index)
                        .with_log_append_time_ms(-1)
                        .with_log_start_offset(0);
                    match appended {
                        Ok(base) => response.with_base_offset(base),
                        Err(e) => response.with_error_code(e.code()).with_base_offset(-1),
                    }
                })
                .collect();
            TopicProduceResponse::default()
                .with_name(t.name.clone())
                .with_partition_responses(partitions)
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}

/// A producer id for an idempotent producer. A transactional one gets
/// COORDINATOR_NOT_AVAILABLE: there is no transaction coordinator.
pub(super) fn init_producer_id(
    shared: &Shared,
    r: &InitProducerIdRequest,
) -> InitProducerIdResponse {
    if r.transactional_id.is_some() {
        return InitProducerIdResponse::default()
            .with_error_code(COORDINATOR_NOT_AVAILABLE)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
    InitProducerIdResponse::default()
        .with_producer_id(ProducerId(shared.topics.next_producer_id()))
        .with_producer_epoch(0)
}

pub(super) fn fetch(shared: &Shared, r: &FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(u64::try_from(r.max_wait_ms).unwrap_or(0)).min(MAX_FETCH_WAIT);
    let deadline = Instant::now() + wait;
    loop {
        let mut found = false;
        let responses = r
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let max = usize::try_from(p.partition_max_bytes).unwrap_or(0);
                        let data = PartitionData::default()
                            .with_partition_index(p.partition)
                            .with_last_stable_offset(-1)
                            .with_log_start_offset(0)
                            .with_preferred_read_replica(BrokerId(-1));
                        match shared
                            .topics
                            .fetch(&t.topic, p.partition, p.fetch_offset, max)
                        {
                            None => data
                                .with_error_code(UNKNOWN_TOPIC_OR_PARTITION)
                                .with_high_watermark(-1),
                            Some(f) => {
                                let data = data
                                    .with_high_watermark(f.high_watermark)
                                    .with_last_stable_offset(f.high_watermark);
                                match f.records {
                                    None => data.with_error_code(OFFSET_OUT_OF_RANGE),
                                    Some(records) => {
                                        found |= !records.is_empty();
                                        data.with_records(Some(records))
                                    }
                                }
                            }
                        }
                    })
                    .collect();
                FetchableTopicResponse::default()
                    .with_topic(t.topic.clone())
                    .with_partitions(partitions)
            })
            .collect();
        if found || Instant::now() >= deadline {
            return FetchResponse::default().with_responses(responses);
        }
        shared.topics.wait_for_append(deadline);
    }
}

pub(super) fn list_offsets(
    shared: &Shared,
    r: &ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let topics = r
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let response = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        // The field exists from v4.
                        .with_leader_epoch(if version >= 4 { 0 } else { -1 });
                    match shared.topics.end_offset(&t.name, p.partition_index) {
                        None => response
                            .with_error_code(UNKNOWN_TOPIC_OR_PARTITION)
                            .with_offset(-1),
                        // EARLIEST (-2) is 0: nothing is ever deleted. Every other query
                        // (LATEST, a timestamp) is answered with the end: records carry no
                        // timestamps here.
                        Some(end) => response.with_offset(if p.timestamp == -2 { 0 } else { end }),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

pub(super) fn offset_fetch(
    shared: &Arc<Shared>,
    conn: &Conn,
    r: &OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    if version < 8 {
        return match shared.group(&r.group_id) {
            Some(g) => g.offset_fetch(conn, r),
            None => OffsetFetchResponse::default().with_error_code(COORDINATOR_NOT_AVAILABLE),
        };
    }
    let groups = r
        .groups
        .iter()
        .map(|q| match shared.group(&q.group_id) {
            Some(g) => g.offset_fetch_group(conn, &q.group_id, &q.topics),
            None => OffsetFetchResponseGroup::default()
                .with_group_id(q.group_id.clone())
                .with_error_code(COORDINATOR_NOT_AVAILABLE),
        })
        .collect();
    OffsetFetchResponse::default().with_groups(groups)
}

// Answers for a group this server has no room for.

pub fn no_group_join() -> JoinGroupResponse {
    JoinGroupResponse::default()
        .with_error_code(COORDINATOR_NOT_AVAILABLE)
        .with_generation_id(-1)
}

pub fn no_group_sync() -> SyncGroupResponse {
    SyncGroupResponse::default().with_error_code(COORDINATOR_NOT_AVAILABLE)
}

pub fn no_group_heartbeat() -> HeartbeatResponse {
    HeartbeatResponse::default().with_error_code(COORDINATOR_NOT_AVAILABLE)
}

pub fn no_group_leave() -> LeaveGroupResponse {
    LeaveGroupResponse::default().with_error_code(COORDINATOR_NOT_AVAILABLE)
}

pub fn no_group_commit(r: &OffsetCommitRequest) -> OffsetCommitResponse {
    let topics = r
        .topics
        .iter()
        .map(|t| {
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(COORDINATOR_NOT_AVAILABLE)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}
