//! Rebuilding a coordinator's state from `__consumer_offsets`.
//!
//! [`replay`] is the definition: a fold of the records, latest value per key wins, tombstones
//! delete. [`load`] is what a coordinator runs on failover: it reads the log segment by segment,
//! the way Kafka's loader reads batches — and that read loop is where KAFKA-5600 lived.

use crate::flaw::{Flaw, Flaws};
use crate::protocol::PerPartition;
use crate::protocol::{Assignor, Generation, InstanceId, MemberId, Offset, Partitions, Record};
use serde::{Deserialize, Serialize};

/// How many records the loader reads at a time.
pub const SEGMENT_RECORDS: usize = 2;

/// The part of a coordinator's state that the log determines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    pub generation: Generation,
    pub protocol: Option<Assignor>,
    pub leader: Option<MemberId>,
    pub members: Vec<(MemberId, Partitions)>,
    /// The instance id of each static member.
    pub instances: Vec<(MemberId, InstanceId)>,
    pub offsets: PerPartition<Option<Offset>>,
}

impl Snapshot {
    pub fn empty(partitions: u8) -> Snapshot {
        Snapshot {
            offsets: smallvec::smallvec![None; partitions as usize],
            ..Snapshot::default()
        }
    }

    fn apply(&mut self, record: &Record) {
        match record {
            Record::GroupMetadata {
                generation,
                protocol,
                leader,
                members,
                instances,
            } => {
                self.generation = *generation;
                self.protocol = *protocol;
                self.leader = *leader;
                self.members = members.clone();
                self.instances = instances.clone();
            }
            Record::GroupTombstone => {
                self.generation = Generation(0);
                self.protocol = None;
                self.leader = None;
                self.members.clear();
                self.instances.clear();
            }
            Record::OffsetCommit {
                partition, offset, ..
            } => {
                if let Some(slot) = self.offsets.get_mut(*partition as usize) {
                    *slot = Some(*offset);
                }
            }
            Record::OffsetTombstone { partition } => {
                if let Some(slot) = self.offsets.get_mut(*partition as usize) {
                    *slot = None;
                }
            }
        }
    }
}

/// The state a log denotes: every record applied in log order.
pub fn replay(partitions: u8, records: &[Record]) -> Snapshot {
    let mut snapshot = Snapshot::empty(partitions);
    for record in records {
        snapshot.apply(record);
    }
    snapshot
}

/// The coordinator's loader: reads the log one segment at a time.
pub fn load(partitions: u8, records: &[Record], flaws: Flaws) -> Snapshot {
    let mut snapshot = Snapshot::empty(partitions);
    for segment in records.chunks(SEGMENT_RECORDS) {
        for record in segment {
            snapshot.apply(record);
        }
        // KAFKA-5600: the loaded state was handed over inside the read loop, so only what had
        // been read so far (the first segment) became the coordinator's state.
        if flaws.has(Flaw::PartialReplay) {
            break;
        }
    }
    snapshot
}
