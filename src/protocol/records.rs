use super::{Assignor, Generation, InstanceId, MemberId, Offset, Partition, Partitions};
use serde::{Deserialize, Serialize};

/// A record of the `__consumer_offsets` partition. The partition is compacted in the
/// background, so a new coordinator may replay every record of a key or only the latest per
/// [`RecordKey`]; both must give the same state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Record {
    /// `GroupMetadataKey → GroupMetadataValue`: written when the leader's SyncGroup arrives and
    /// when a join phase ends with no members.
    GroupMetadata {
        generation: Generation,
        /// The protocol (assignor) the generation runs; none for an Empty group.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        protocol: Option<Assignor>,
        leader: Option<MemberId>,
        members: Vec<(MemberId, Partitions)>,
        /// The `group.instance.id` of each static member.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        instances: Vec<(MemberId, InstanceId)>,
    },
    /// `OffsetCommitKey → OffsetCommitValue`. `committed_by` is audit information for the
    /// checker (Kafka does not persist who committed); replay ignores it.
    OffsetCommit {
        partition: Partition,
        offset: Offset,
        committed_by: Option<(MemberId, Generation)>,
    },
    /// A null value for the group key: the group is deleted.
    GroupTombstone,
    /// A null value for an offset key: the committed offset is deleted.
    OffsetTombstone { partition: Partition },
}

/// The compaction key of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordKey {
    Group,
    Offset(Partition),
}

impl Record {
    /// A null value: the key is deleted.
    pub fn is_tombstone(&self) -> bool {
        matches!(
            self,
            Record::GroupTombstone | Record::OffsetTombstone { .. }
        )
    }

    pub fn key(&self) -> RecordKey {
        match self {
            Record::GroupMetadata { .. } | Record::GroupTombstone => RecordKey::Group,
            Record::OffsetCommit { partition, .. } | Record::OffsetTombstone { partition } => {
                RecordKey::Offset(*partition)
            }
        }
    }
}
