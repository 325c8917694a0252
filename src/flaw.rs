//! Named, documented deviations from the protocol.
//!
//! Each flaw re-creates a bug that Kafka really had (or a mistake every implementer is tempted
//! into) and is switched on at the single place in the core where that bug lived. The correct
//! protocol passes every property; each flaw must be caught by at least one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flaw {
    /// KAFKA-2596: OffsetCommit is accepted without checking member id and generation, so a
    /// zombie (a consumer removed from the group) overwrites the new owner's offsets.
    /// Lives in `Coordinator::validate_offset_commit`.
    CommitWithoutFencing,
    /// KAFKA-2017: SyncGroup is answered (and the group made Stable) before the group metadata
    /// record holding the assignment is durable; a failover then resurrects an older generation.
    /// Lives in `Coordinator::sync_group`.
    SyncAckBeforePersist,
    /// A coordinator that was just elected answers OffsetFetch and JoinGroup before it has
    /// replayed `__consumer_offsets`, i.e. from an empty cache.
    /// Lives in `Coordinator::check_serving`.
    ServeBeforeLoad,
    /// KAFKA-5600: the loader materialises the group and offsets inside its per-segment read
    /// loop, so only the first segment of the log is applied.
    /// Lives in `coordinator::replay::load`.
    PartialReplay,
    /// OffsetCommit is acknowledged as soon as its record is appended, before it is durable; a
    /// failover truncates the record and the acknowledged offset is lost.
    /// Lives in `Coordinator::offset_commit`.
    CommitAckBeforeDurable,
    /// KAFKA-8653: a JoinGroup v0 carries no rebalance timeout, and the coordinator took it as
    /// zero: every join phase ends the moment it begins, with only the members that have
    /// rejoined so far; the others are removed, rejoin, and end the next phase the same way.
    /// Lives in `Coordinator::maybe_complete_join`.
    RebalanceTimeoutZero,
    /// An eager consumer rejoins without revoking (committing and giving up) its partitions and
    /// keeps processing them in the next generation.
    /// Lives in `Consumer::prepare_join`.
    NoRevokeBeforeRejoin,
    /// KAFKA-7026: the sticky assignor trusts every member's claim to what it owned, even a
    /// claim from an older generation (a member that was kicked out meanwhile) or one another
    /// member makes too; both keep the partition and the assignment gives it twice.
    /// Lives in `assignor::sticky::counted_claims`.
    StickyNoDedup,
    /// KAFKA-8500: a static member's JoinGroup with an unknown member id replaces the old
    /// member id only while the group is Stable; in any other state the instance is admitted a
    /// second time, so two processes with one `group.instance.id` are both members.
    /// Lives in `Coordinator::join_static_unknown`.
    StaticReplaceOnlyWhenStable,
    /// KAFKA-10284: a static member that restarts in a Stable group gets its new member id in
    /// memory only, answered before (without) a durable write; after a failover the loaded
    /// group knows only the old id, and the live member is fenced.
    /// Lives in `Coordinator::join_static_unknown`.
    StaticReplaceNotPersisted,
    /// KAFKA-9801: a static member that restarts during CompletingRebalance is answered with
    /// the current generation instead of a new rebalance; the leader assigned its old member
    /// id, so the new one gets nothing and its partitions are owned by nobody.
    /// Lives in `Coordinator::join_static_unknown`.
    StaticJoinInCompleting,
    /// KAFKA-14639: the sticky assignors resolved ownership claims by the newest generation any
    /// member reported, dropping every older claim. A cooperative member whose SyncGroup was
    /// answered REBALANCE_IN_PROGRESS rejoins claiming, in its older generation, a partition it
    /// still owns; its claim is dropped, the partition looks free, and it is given to another
    /// member in the same round, before its owner revoked it.
    /// Lives in `assignor::sticky::counted_claims`.
    CooperativeTrustsStaleClaim,
    /// KAFKA-12890: nothing removes a member that does not send its SyncGroup (the heartbeats
    /// it keeps sending satisfy its session), so a leader whose assignor stalls keeps the group
    /// in CompletingRebalance forever. Kafka's fix is the pending-sync timer.
    /// Lives in `Coordinator::can_time_out_sync`.
    NoPendingSyncTimeout,
}

impl Flaw {
    pub const ALL: [Flaw; 13] = [
        Flaw::CommitWithoutFencing,
        Flaw::SyncAckBeforePersist,
        Flaw::ServeBeforeLoad,
        Flaw::PartialReplay,
        Flaw::CommitAckBeforeDurable,
        Flaw::NoRevokeBeforeRejoin,
        Flaw::RebalanceTimeoutZero,
        Flaw::StickyNoDedup,
        Flaw::StaticReplaceOnlyWhenStable,
        Flaw::StaticReplaceNotPersisted,
        Flaw::StaticJoinInCompleting,
        Flaw::CooperativeTrustsStaleClaim,
        Flaw::NoPendingSyncTimeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Flaw::CommitWithoutFencing => "commit-without-fencing",
            Flaw::SyncAckBeforePersist => "sync-ack-before-persist",
            Flaw::ServeBeforeLoad => "serve-before-load",
            Flaw::PartialReplay => "partial-replay",
            Flaw::CommitAckBeforeDurable => "commit-ack-before-durable",
            Flaw::NoRevokeBeforeRejoin => "no-revoke-before-rejoin",
            Flaw::RebalanceTimeoutZero => "rebalance-timeout-zero",
            Flaw::StickyNoDedup => "sticky-no-dedup",
            Flaw::StaticReplaceOnlyWhenStable => "static-replace-only-when-stable",
            Flaw::StaticReplaceNotPersisted => "static-replace-not-persisted",
            Flaw::StaticJoinInCompleting => "static-join-in-completing",
            Flaw::CooperativeTrustsStaleClaim => "cooperative-trusts-stale-claim",
            Flaw::NoPendingSyncTimeout => "no-pending-sync-timeout",
        }
    }

    /// The Kafka JIRA of the real bug, when there is one.
    pub fn jira(self) -> Option<&'static str> {
        match self {
            Flaw::CommitWithoutFencing => Some("KAFKA-2596"),
            Flaw::SyncAckBeforePersist => Some("KAFKA-2017"),
            Flaw::PartialReplay => Some("KAFKA-5600"),
            Flaw::RebalanceTimeoutZero => Some("KAFKA-8653"),
            Flaw::StickyNoDedup => Some("KAFKA-7026"),
            Flaw::StaticReplaceOnlyWhenStable => Some("KAFKA-8500"),
            Flaw::StaticReplaceNotPersisted => Some("KAFKA-10284"),
            Flaw::StaticJoinInCompleting => Some("KAFKA-9801"),
            Flaw::CooperativeTrustsStaleClaim => Some("KAFKA-14639"),
            Flaw::NoPendingSyncTimeout => Some("KAFKA-12890"),
            _ => None,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flaw {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flaw::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Flaw::ALL.iter().map(|f| f.name()).collect();
                format!("unknown flaw `{s}` (known: {})", known.join(", "))
            })
    }
}

/// The flaws switched on in one configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flaws(u16);

impl Flaws {
    pub const NONE: Flaws = Flaws(0);

    pub fn has(self, flaw: Flaw) -> bool {
        self.0 & flaw.bit() != 0
    }
    pub fn with(self, flaw: Flaw) -> Flaws {
        Flaws(self.0 | flaw.bit())
    }
    pub fn iter(self) -> impl Iterator<Item = Flaw> {
        Flaw::ALL.into_iter().filter(move |f| self.has(*f))
    }
}

impl FromIterator<Flaw> for Flaws {
    fn from_iter<I: IntoIterator<Item = Flaw>>(iter: I) -> Self {
        iter.into_iter().fold(Flaws::NONE, Flaws::with)
    }
}
