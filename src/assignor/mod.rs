//! Partition assignors run by the group leader on the member list of its JoinGroup response.
//! Pure functions: the same members and partitions always give the same assignment.

pub mod sticky;

use crate::flaw::Flaws;
pub use crate::protocol::Assignor;
use crate::protocol::{Assignors, Generation, MemberId, Partitions};

/// What a member's JoinGroup tells the leader's assignor (Kafka's ConsumerProtocolSubscription
/// for one topic): the partitions it owned, and the generation it owned them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subscription {
    pub member: MemberId,
    pub owned: Partitions,
    /// `None` before its first generation (Kafka's DEFAULT_GENERATION).
    pub generation: Option<Generation>,
}

impl Subscription {
    /// A member that claims nothing.
    pub fn new(member: MemberId) -> Subscription {
        Subscription {
            member,
            owned: Partitions::EMPTY,
            generation: None,
        }
    }
}

/// The rebalance protocol a consumer follows (ConsumerPartitionAssignor.RebalanceProtocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RebalanceProtocol {
    /// Give up every partition before rejoining.
    Eager,
    /// Keep the partitions while rejoining; give up only those the new assignment leaves out
    /// (KIP-429).
    Cooperative,
}

impl RebalanceProtocol {
    /// The protocol a consumer with `assignors` follows: the highest one all of them support
    /// (ConsumerCoordinator's constructor). Only the cooperative-sticky assignor supports the
    /// cooperative protocol, so a list that also names another assignor is eager: that is the
    /// first step of a rolling upgrade.
    pub fn of(assignors: Assignors) -> RebalanceProtocol {
        let all_cooperative = assignors.iter().all(Assignor::is_cooperative);
        if !assignors.is_empty() && all_cooperative {
            RebalanceProtocol::Cooperative
        } else {
            RebalanceProtocol::Eager
        }
    }
}

impl Assignor {
    /// Whether the assignor supports the cooperative rebalance protocol (it may leave
    /// partitions unassigned for a follow-up rebalance).
    pub fn is_cooperative(self) -> bool {
        self == Assignor::CooperativeSticky
    }

    /// Whether it needs each member's claim to what it owned (sent in its JoinGroup).
    pub fn uses_claims(self) -> bool {
        matches!(self, Assignor::Sticky | Assignor::CooperativeSticky)
    }

    /// Assigns partitions `0..partitions` to members that claim nothing (what the classic
    /// eager protocol's leader knows of them).
    pub fn assign_members(
        self,
        members: &[MemberId],
        partitions: u8,
    ) -> Vec<(MemberId, Partitions)> {
        let subs: Vec<Subscription> = members.iter().map(|m| Subscription::new(*m)).collect();
        self.assign(&subs, partitions, Flaws::NONE)
    }

    /// Assigns partitions `0..partitions` to the members of `subs` (any order; a member listed
    /// twice counts once, with its first subscription).
    /// (`flaws`: the sticky assignors' KAFKA-7026.)
    pub fn assign(
        self,
        subs: &[Subscription],
        partitions: u8,
        flaws: Flaws,
    ) -> Vec<(MemberId, Partitions)> {
        let mut subs = subs.to_vec();
        subs.sort_by_key(|s| s.member);
        subs.dedup_by_key(|s| s.member);
        match self {
            Assignor::Sticky => return sticky::assign(&subs, partitions, flaws),
            Assignor::CooperativeSticky => {
                return sticky::assign_cooperatively(&subs, partitions, flaws)
            }
            Assignor::Range | Assignor::RoundRobin => {}
        }
        let mut out: Vec<(MemberId, Partitions)> =
            subs.iter().map(|s| (s.member, Partitions::EMPTY)).collect();
        if out.is_empty() {
            return out;
        }
        let n = out.len() as u8;
        match self {
            Assignor::Range => {
                let (per, extra) = (partitions / n, partitions % n);
                let mut next = 0u8;
                for (i, (_, ps)) in out.iter_mut().enumerate() {
                    let take = per + u8::from((i as u8) < extra);
                    for p in next..next + take {
                        ps.insert(p);
                    }
                    next += take;
                }
            }
            Assignor::RoundRobin => {
                for p in 0..partitions {
                    out[(p % n) as usize].1.insert(p);
                }
            }
            Assignor::Sticky | Assignor::CooperativeSticky => unreachable!("returned above"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::LeaderEpoch;

    fn ids(n: u8) -> Vec<Subscription> {
        (0..n)
            .map(|seq| {
                Subscription::new(MemberId {
                    epoch: LeaderEpoch(0),
                    seq: seq.into(),
                })
            })
            .collect()
    }

    #[test]
    fn range_gives_contiguous_ranges_first_members_take_extra() {
        let a = Assignor::Range.assign(&ids(2), 3, Flaws::NONE);
        assert_eq!(a[0].1, [0, 1].into_iter().collect());
        assert_eq!(a[1].1, [2].into_iter().collect());
    }

    #[test]
    fn round_robin_deals_partitions_in_turn() {
        let a = Assignor::RoundRobin.assign(&ids(2), 3, Flaws::NONE);
        assert_eq!(a[0].1, [0, 2].into_iter().collect());
        assert_eq!(a[1].1, [1].into_iter().collect());
    }

    #[test]
    fn every_partition_exactly_once_for_any_member_count() {
        for assignor in [Assignor::Range, Assignor::RoundRobin, Assignor::Sticky] {
            for n in 1..=5 {
                for parts in 0..=6 {
                    let a = assignor.assign(&ids(n), parts, Flaws::NONE);
                    let total: usize = a.iter().map(|(_, ps)| ps.len()).sum();
                    let union = a.iter().fold(Partitions::EMPTY, |u, (_, ps)| u.union(*ps));
                    assert_eq!(total, parts as usize);
                    assert_eq!(union, Partitions::all(parts));
                }
            }
        }
    }

    #[test]
    fn member_order_does_not_matter() {
        let mut rev = ids(3);
        rev.reverse();
        assert_eq!(
            Assignor::Range.assign(&rev, 4, Flaws::NONE),
            Assignor::Range.assign(&ids(3), 4, Flaws::NONE)
        );
    }
}
