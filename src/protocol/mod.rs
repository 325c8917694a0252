//! Wire vocabulary of the classic consumer group protocol, as plain data.
//!
//! Requests and responses of the seven group APIs, Kafka's error codes, and the records of the
//! `__consumer_offsets` partition. Everything here is `serde`, `Ord` and `Hash` so that the model
//! checker can put it in its state and the trace layer can print it.
//!
//! Identifiers are small integers rather than Kafka's strings and UUIDs: a member id is unique
//! because it carries the leader epoch of the coordinator that minted it (see [`MemberId`]).

mod assignors;
mod display;
mod ids;
mod records;

pub use assignors::{Assignor, Assignors};
pub use ids::{
    BrokerId, ClientAddr, ConsumerId, Generation, InstanceId, LeaderEpoch, MemberId, Offset,
    Partition, Partitions,
};
pub use records::{Record, RecordKey};

use serde::{Deserialize, Serialize};

/// A vector kept inline up to `N` elements. The model clones and hashes its state millions of
/// times, and for the small groups it checks, a heap allocation costs more than the copy. It
/// hashes, compares and serializes exactly like a `Vec`.
pub type Small<T, const N: usize> = smallvec::SmallVec<[T; N]>;

/// One value per partition of the topic.
pub type PerPartition<T> = Small<T, 4>;

/// Kafka's error codes used by the group APIs (numeric values as in `org.apache.kafka.common.protocol.Errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    None,
    UnknownTopicOrPartition,
    CoordinatorLoadInProgress,
    CoordinatorNotAvailable,
    NotCoordinator,
    IllegalGeneration,
    InconsistentGroupProtocol,
    UnknownMemberId,
    RebalanceInProgress,
    MemberIdRequired,
    FencedInstanceId,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::None,
        ErrorCode::UnknownTopicOrPartition,
        ErrorCode::CoordinatorLoadInProgress,
        ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotCoordinator,
        ErrorCode::IllegalGeneration,
        ErrorCode::InconsistentGroupProtocol,
        ErrorCode::UnknownMemberId,
        ErrorCode::RebalanceInProgress,
        ErrorCode::MemberIdRequired,
        ErrorCode::FencedInstanceId,
    ];

    /// Whether the code tells a client that the group's coordinator is moving: it finds the
    /// coordinator again, or waits while it loads, and retries.
    pub fn coordinator_moving(self) -> bool {
        matches!(
            self,
            ErrorCode::NotCoordinator
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::CoordinatorLoadInProgress
        )
    }

    /// Whether the Java client takes the code for a `RetriableException`: it tries again.
    pub fn retriable(self) -> bool {
        self.coordinator_moving() || self == ErrorCode::UnknownTopicOrPartition
    }

    /// The code of that number, if it is one of these.
    pub fn from_code(code: i16) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The numeric code on the wire.
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::CoordinatorLoadInProgress => 14,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::NotCoordinator => 16,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::InconsistentGroupProtocol => 23,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::RebalanceInProgress => 27,
            ErrorCode::MemberIdRequired => 79,
            ErrorCode::FencedInstanceId => 82,
        }
    }

    /// Kafka's name for the code.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            ErrorCode::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::InconsistentGroupProtocol => "INCONSISTENT_GROUP_PROTOCOL",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            ErrorCode::MemberIdRequired => "MEMBER_ID_REQUIRED",
            ErrorCode::FencedInstanceId => "FENCED_INSTANCE_ID",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A request from a consumer to a broker. All consumers subscribe to the same single topic, so
/// JoinGroup's subscription carries no topic list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Request {
    /// Which broker coordinates the group? Answered from cluster metadata.
    FindCoordinator,
    /// `member_id: None` is Kafka's empty member id: the coordinator answers MEMBER_ID_REQUIRED
    /// with a fresh id the client must join with (KIP-394). `protocols`: its assignors in
    /// preference order (protocol type `consumer`). `claim`: what the member owned before, from
    /// its subscription metadata (sent only by members whose assignor uses it).
    JoinGroup {
        member_id: Option<MemberId>,
        protocols: Assignors,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claim: Option<OwnedClaim>,
        /// The static member's `group.instance.id`; `None` for a dynamic member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<InstanceId>,
    },
    /// The group leader sends the whole assignment; followers send an empty one.
    SyncGroup {
        member_id: MemberId,
        generation: Generation,
        assignments: Vec<(MemberId, Partitions)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<InstanceId>,
    },
    Heartbeat {
        member_id: MemberId,
        generation: Generation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<InstanceId>,
    },
    /// A static member does not send it on close (KIP-345): its session timeout decides.
    LeaveGroup {
        member_id: MemberId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<InstanceId>,
    },
    OffsetCommit {
        member_id: MemberId,
        generation: Generation,
        offsets: Vec<(Partition, Offset)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<InstanceId>,
    },
    OffsetFetch {
        partitions: Partitions,
    },
}

impl Request {
    /// The member id the request speaks for: none for FindCoordinator and OffsetFetch, nor for
    /// a JoinGroup without one (a new member, or a static member's new process).
    pub fn member_id(&self) -> Option<MemberId> {
        match self {
            Request::JoinGroup { member_id, .. } => *member_id,
            Request::SyncGroup { member_id, .. }
            | Request::Heartbeat { member_id, .. }
            | Request::LeaveGroup { member_id, .. }
            | Request::OffsetCommit { member_id, .. } => Some(*member_id),
            Request::FindCoordinator | Request::OffsetFetch { .. } => None,
        }
    }

    /// The Kafka API name of the request.
    pub fn api(&self) -> &'static str {
        match self {
            Request::FindCoordinator => "FindCoordinator",
            Request::JoinGroup { .. } => "JoinGroup",
            Request::SyncGroup { .. } => "SyncGroup",
            Request::Heartbeat { .. } => "Heartbeat",
            Request::LeaveGroup { .. } => "LeaveGroup",
            Request::OffsetCommit { .. } => "OffsetCommit",
            Request::OffsetFetch { .. } => "OffsetFetch",
        }
    }
}

/// The partitions a member says it owned and the generation it owned them in: Kafka's
/// ConsumerProtocolSubscription `ownedPartitions` and `generationId` (before KIP-429, the
/// StickyAssignor's user data held the same).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct OwnedClaim {
    pub partitions: Partitions,
    pub generation: Generation,
}

/// A broker's answer. Fields that Kafka does not put on the wire are marked as echoes: they repeat
/// what the request said so that a checker can judge the response on its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Response {
    FindCoordinator {
        error: ErrorCode,
        coordinator: Option<BrokerId>,
    },
    /// On NONE: the generation just formed, the protocol (assignor) the group selected, the
    /// member's id, the leader, and — for the leader only — every member. On MEMBER_ID_REQUIRED:
    /// the id to join with.
    JoinGroup {
        error: ErrorCode,
        generation: Generation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        protocol: Option<Assignor>,
        member_id: Option<MemberId>,
        leader: Option<MemberId>,
        members: Vec<MemberId>,
        /// For the leader only: what each member claimed in its JoinGroup, if anything.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        claims: Vec<(MemberId, OwnedClaim)>,
        /// KIP-814: a static leader that rejoined a Stable group with a new member id gets the
        /// members, to watch the subscription, but must not compute a new assignment.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        skip_assignment: bool,
    },
    /// `member_id` and `generation` are echoes of the request.
    SyncGroup {
        error: ErrorCode,
        member_id: MemberId,
        generation: Generation,
        assignment: Partitions,
    },
    Heartbeat {
        error: ErrorCode,
    },
    LeaveGroup {
        error: ErrorCode,
    },
    /// `offsets` echoes what was committed.
    OffsetCommit {
        error: ErrorCode,
        offsets: Vec<(Partition, Offset)>,
    },
    /// `None` means no committed offset for the partition.
    OffsetFetch {
        error: ErrorCode,
        offsets: Vec<(Partition, Option<Offset>)>,
    },
}

impl Response {
    pub fn error(&self) -> ErrorCode {
        match self {
            Response::FindCoordinator { error, .. }
            | Response::JoinGroup { error, .. }
            | Response::SyncGroup { error, .. }
            | Response::Heartbeat { error }
            | Response::LeaveGroup { error }
            | Response::OffsetCommit { error, .. }
            | Response::OffsetFetch { error, .. } => *error,
        }
    }

    /// The answer to `request` that carries only `error`.
    pub fn error_for(request: &Request, error: ErrorCode) -> Response {
        match request {
            Request::FindCoordinator => Response::FindCoordinator {
                error,
                coordinator: None,
            },
            Request::JoinGroup { member_id, .. } => Response::JoinGroup {
                error,
                generation: Generation(0),
                protocol: None,
                member_id: *member_id,
                leader: None,
                members: Vec::new(),
                claims: Vec::new(),
                skip_assignment: false,
            },
            Request::SyncGroup {
                member_id,
                generation,
                ..
            } => Response::SyncGroup {
                error,
                member_id: *member_id,
                generation: *generation,
                assignment: Partitions::EMPTY,
            },
            Request::Heartbeat { .. } => Response::Heartbeat { error },
            Request::LeaveGroup { .. } => Response::LeaveGroup { error },
            Request::OffsetCommit { offsets, .. } => Response::OffsetCommit {
                error,
                offsets: offsets.clone(),
            },
            Request::OffsetFetch { .. } => Response::OffsetFetch {
                error,
                offsets: Vec::new(),
            },
        }
    }
}

/// A response and the connection it goes back on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reply {
    pub to: ClientAddr,
    pub response: Response,
}

#[cfg(test)]
mod tests {
    use super::{Assignor, Assignors, Generation, LeaderEpoch, MemberId, Partitions, Request};
    use kafka_protocol::messages::ApiKey;

    /// Traces and probe reports name each request by its API, and the probe tells the request
    /// a broker-driven consumer sent from its twin's by that name: it must be Kafka's.
    #[test]
    fn every_request_is_named_by_its_kafka_api() {
        let member_id = MemberId {
            epoch: LeaderEpoch(0),
            seq: 1,
        };
        let generation = Generation(1);
        let named = [
            (Request::FindCoordinator, ApiKey::FindCoordinator),
            (
                Request::JoinGroup {
                    member_id: None,
                    protocols: Assignors::one(Assignor::RoundRobin),
                    claim: None,
                    instance: None,
                },
                ApiKey::JoinGroup,
            ),
            (
                Request::SyncGroup {
                    member_id,
                    generation,
                    assignments: Vec::new(),
                    instance: None,
                },
                ApiKey::SyncGroup,
            ),
            (
                Request::Heartbeat {
                    member_id,
                    generation,
                    instance: None,
                },
                ApiKey::Heartbeat,
            ),
            (
                Request::LeaveGroup {
                    member_id,
                    instance: None,
                },
                ApiKey::LeaveGroup,
            ),
            (
                Request::OffsetCommit {
                    member_id,
                    generation,
                    offsets: Vec::new(),
                    instance: None,
                },
                ApiKey::OffsetCommit,
            ),
            (
                Request::OffsetFetch {
                    partitions: Partitions::EMPTY,
                },
                ApiKey::OffsetFetch,
            ),
        ];
        for (request, key) in named {
            assert_eq!(request.api(), format!("{key:?}"));
        }
    }
}
