//! The group's `__consumer_offsets` partition: a replicated, compacted log with a leader.
//!
//! The leader of this partition *is* the group coordinator. An append is accepted only from the
//! current leader epoch (Kafka answers NOT_LEADER_OR_FOLLOWER otherwise, which the coordinator
//! maps to NOT_COORDINATOR). Appended batches are not durable until the high watermark passes
//! them; a leader election truncates every batch that was not yet durable, exactly the records a
//! coordinator must never have acknowledged.
//!
//! The durable part is kept as Kafka keeps it: records in append order. The log cleaner runs
//! in the background ([`OffsetsLog::compact`]), a step of its own, so a loader may read a log
//! that is compacted, partly compacted, or not at all.

use crate::protocol::{
    BrokerId, Generation, InstanceId, LeaderEpoch, MemberId, Offset, Partition, Partitions, Record,
    RecordKey,
};
use serde::{Deserialize, Serialize};

/// Why an append was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The appender's leader epoch is not the partition's current one.
    NotLeaderOrFollower,
}

/// What a coordinator needs of its log: a local append, tagged with the leader epoch it believes
/// it holds. Durability is reported back separately, one batch at a time, in append order.
pub trait LogAppender {
    fn append(&mut self, leader_epoch: LeaderEpoch, batch: Vec<Record>) -> Result<(), AppendError>;
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetsLog {
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    /// Below the high watermark: survives any leader election. In append order, until the
    /// cleaner compacts it.
    pub durable: Vec<Record>,
    /// Appended by the leader, above the high watermark, oldest first.
    pub uncommitted: Vec<Vec<Record>>,
}

impl OffsetsLog {
    pub fn new(leader: BrokerId) -> OffsetsLog {
        OffsetsLog {
            leader,
            leader_epoch: LeaderEpoch(0),
            durable: Vec::new(),
            uncommitted: Vec::new(),
        }
    }

    /// The high watermark passes the oldest uncommitted batch. Returns false if there is none.
    pub fn replicate_one(&mut self) -> bool {
        if self.uncommitted.is_empty() {
            return false;
        }
        let batch = self.uncommitted.remove(0);
        self.durable.extend(batch);
        true
    }

    /// Whether the cleaner would change the durable log: some key has an older record, or a
    /// tombstone is still there.
    pub fn compactable(&self) -> bool {
        (0..self.durable.len()).any(|i| cleaned_away(&self.durable, i))
    }

    /// The log cleaner: the latest record of each key is kept, in log order; a key whose latest
    /// record is a tombstone disappears with it (Kafka keeps tombstones for a while, then
    /// removes them; a loader must give the same state either way).
    pub fn compact(&mut self) {
        self.durable = compacted(&self.durable);
    }

    /// Leadership moves to `leader`: everything above the high watermark is truncated.
    pub fn elect(&mut self, leader: BrokerId) {
        self.leader = leader;
        self.leader_epoch = self.leader_epoch.next();
        self.uncommitted.clear();
    }

    /// The latest durable group metadata (none if the latest group record is a tombstone).
    pub fn durable_group(&self) -> Option<DurableGroup<'_>> {
        match self
            .durable
            .iter()
            .rev()
            .find(|r| r.key() == RecordKey::Group)?
        {
            Record::GroupMetadata {
                generation,
                leader,
                members,
                instances,
                ..
            } => Some(DurableGroup {
                generation: *generation,
                leader: *leader,
                members,
                instances,
            }),
            _ => None,
        }
    }

    /// The generation of the latest durable group metadata (0 when there is none).
    pub fn durable_generation(&self) -> Generation {
        self.durable_group().map_or(Generation(0), |g| g.generation)
    }

    /// Whether an offset commit by `committed_by` for `partition` is legitimate against the
    /// durable group metadata (what `no_zombie_commit` requires of every commit that becomes
    /// durable; see [`commit_allowed`]).
    pub fn commit_is_legit(
        &self,
        partition: Partition,
        committed_by: Option<(MemberId, Generation)>,
    ) -> bool {
        self.durable_group()
            .is_some_and(|g| commit_allowed(g.members, g.generation, committed_by, partition))
    }

    /// Whether the durable group metadata gives `member` exactly `assignment` in `generation`:
    /// what a successful SyncGroup answer may reveal.
    pub fn assignment_is_durable(
        &self,
        member: MemberId,
        generation: Generation,
        assignment: Partitions,
    ) -> bool {
        self.durable_group()
            .is_some_and(|g| g.generation == generation && g.assigns(member, assignment))
    }

    /// Whether acknowledging `offset` for `partition` reveals something not durable.
    pub fn ack_is_undurable(&self, partition: Partition, offset: Offset) -> bool {
        self.durable_offset(partition).is_none_or(|d| d < offset)
    }

    /// Whether serving `served` for `partition` reveals something other than what is durable.
    pub fn fetch_is_undurable(&self, partition: Partition, served: Option<Offset>) -> bool {
        served.is_some() && served != self.durable_offset(partition)
    }

    /// The latest durable committed offset of a partition.
    pub fn durable_offset(&self, partition: Partition) -> Option<Offset> {
        let key = RecordKey::Offset(partition);
        match self.durable.iter().rev().find(|r| r.key() == key)? {
            Record::OffsetCommit { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

/// A log as the cleaner leaves it: the latest record of each key, in log order, tombstones
/// and their keys removed.
pub fn compacted(records: &[Record]) -> Vec<Record> {
    (0..records.len())
        .filter(|i| !cleaned_away(records, *i))
        .map(|i| records[i].clone())
        .collect()
}

/// Whether the cleaner removes `records[i]`: a later record has its key, or it is a tombstone.
fn cleaned_away(records: &[Record], i: usize) -> bool {
    let r = &records[i];
    r.is_tombstone() || records[i + 1..].iter().any(|l| l.key() == r.key())
}

/// The group metadata record as the durable log holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurableGroup<'a> {
    pub generation: Generation,
    pub leader: Option<MemberId>,
    pub members: &'a [(MemberId, Partitions)],
    pub instances: &'a [(MemberId, InstanceId)],
}

/// `no_zombie_commit`'s rule: a commit of `partition` by `committer` is legitimate against a
/// group at `generation` with `assignments` if it comes from a member of that generation that
/// was given the partition, or, when no member of it was given the partition, from any member
/// of it: the owner of the previous generation committing what a cooperative round took from
/// it before it gives it up (KIP-429 leaves such a partition unassigned until then). The commit
/// may carry a later generation than the group's: a client that commits with the generation of
/// its JoinGroup answer (librdkafka) does so before that generation's assignment exists, and
/// Kafka accepts it in PreparingRebalance; while the committer is the partition's owner in the
/// group's generation, nobody else can have it. An earlier generation is a fenced one.
pub fn commit_allowed(
    assignments: &[(MemberId, Partitions)],
    generation: Generation,
    committer: Option<(MemberId, Generation)>,
    partition: Partition,
) -> bool {
    let Some((id, g)) = committer else {
        return false;
    };
    let given = |ps: &Partitions| ps.contains(partition);
    let mine = assignments.iter().find(|(m, _)| *m == id);
    g >= generation
        && mine.is_some_and(|(_, ps)| given(ps) || !assignments.iter().any(|(_, ps)| given(ps)))
}

impl DurableGroup<'_> {
    /// Whether `committer` is a member of this generation: the part of `no_zombie_commit` a
    /// coordinator enforces (Kafka's fencing checks member and generation, not partitions).
    pub fn fences_in(&self, committer: Option<(MemberId, Generation)>) -> bool {
        committer.is_some_and(|(id, g)| {
            g == self.generation && self.members.iter().any(|(m, _)| *m == id)
        })
    }

    /// Whether this generation gave `partition` to `member`.
    pub fn gives(&self, member: MemberId, partition: Partition) -> bool {
        self.members
            .iter()
            .any(|(m, ps)| *m == member && ps.contains(partition))
    }

    /// Whether `member` is in this generation with exactly `assignment`.
    pub fn assigns(&self, member: MemberId, assignment: Partitions) -> bool {
        self.members
            .iter()
            .any(|(m, ps)| *m == member && *ps == assignment)
    }
}

impl LogAppender for OffsetsLog {
    fn append(&mut self, leader_epoch: LeaderEpoch, batch: Vec<Record>) -> Result<(), AppendError> {
        if leader_epoch != self.leader_epoch {
            return Err(AppendError::NotLeaderOrFollower);
        }
        self.uncommitted.push(batch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(seq: u32) -> MemberId {
        MemberId {
            epoch: LeaderEpoch(0),
            seq,
        }
    }

    /// Generation 2 with members 0 (given p0) and 1 (given p1), led by member 0.
    fn generation_two() -> Record {
        Record::GroupMetadata {
            instances: Vec::new(),
            protocol: None,
            generation: Generation(2),
            leader: Some(member(0)),
            members: vec![
                (member(0), [0].into_iter().collect()),
                (member(1), [1].into_iter().collect()),
            ],
        }
    }

    /// no_zombie_commit's judgement: a durable commit is legitimate only from a member of the
    /// durable generation that was given that very partition.
    #[test]
    fn a_commit_is_legit_only_from_a_member_of_the_durable_generation_given_the_partition() {
        let (a, b, stranger) = (member(0), member(1), member(2));
        let mut log = OffsetsLog::new(BrokerId(0));
        assert!(
            !log.commit_is_legit(0, Some((a, Generation(2)))),
            "no group metadata yet"
        );
        log.append(LeaderEpoch(0), vec![generation_two()]).unwrap();
        log.replicate_one();
        assert!(log.commit_is_legit(0, Some((a, Generation(2)))));
        assert!(
            !log.commit_is_legit(1, Some((a, Generation(2)))),
            "a member, but not given p1"
        );
        assert!(
            !log.commit_is_legit(0, Some((b, Generation(2)))),
            "a member, but not given p0"
        );
        assert!(
            !log.commit_is_legit(0, Some((stranger, Generation(2)))),
            "not a member"
        );
        assert!(
            !log.commit_is_legit(0, Some((a, Generation(1)))),
            "an older generation"
        );
        assert!(!log.commit_is_legit(0, None), "no member at all");
        // A cooperative round left p1 out: its previous owner may still commit it.
        let round = Record::GroupMetadata {
            instances: Vec::new(),
            protocol: None,
            generation: Generation(3),
            leader: Some(a),
            members: vec![(a, [0].into_iter().collect()), (b, Partitions::EMPTY)],
        };
        log.append(LeaderEpoch(0), vec![round]).unwrap();
        log.replicate_one();
        assert!(
            log.commit_is_legit(1, Some((b, Generation(3)))),
            "p1 is given to nobody"
        );
        assert!(
            !log.commit_is_legit(0, Some((b, Generation(3)))),
            "p0 is a's"
        );
        assert!(
            !log.commit_is_legit(1, Some((stranger, Generation(3)))),
            "not a member"
        );
    }

    /// The fencing part of the judgement, and a commit's: from the durable generation's owner
    /// of the partition, in that generation or a later one (a cooperative member that rejoined
    /// commits with the generation of its JoinGroup answer), never an earlier one.
    #[test]
    fn fencing_and_commits_are_judged_against_the_durable_generation() {
        let (a, b, stranger) = (member(0), member(1), member(2));
        let mut log = OffsetsLog::new(BrokerId(0));
        log.append(LeaderEpoch(0), vec![generation_two()]).unwrap();
        log.replicate_one();
        let durable = log.durable_group().expect("durable group metadata");
        assert!(durable.fences_in(Some((a, Generation(2)))));
        assert!(
            !durable.fences_in(Some((stranger, Generation(2)))),
            "not a member"
        );
        assert!(
            !durable.fences_in(Some((a, Generation(1)))),
            "an older generation"
        );
        assert!(!durable.fences_in(None));
        // A cooperative member keeps its partitions while it rejoins, and commits with the
        // generation of its JoinGroup answer before the new assignment is durable.
        assert!(log.commit_is_legit(0, Some((a, Generation(3)))));
        assert!(
            !log.commit_is_legit(1, Some((a, Generation(3)))),
            "p1 was b's"
        );
        assert!(log.commit_is_legit(1, Some((b, Generation(2)))));
        assert!(
            !log.commit_is_legit(0, Some((a, Generation(1)))),
            "an older generation"
        );
    }
}
