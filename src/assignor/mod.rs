//! Partition assignors run by the group leader on the member list of its JoinGroup response.
//! Pure functions: the same members and partitions always give the same assignment.

use crate::protocol::{MemberId, Partitions};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assignor {
    /// RangeAssignor: members in id order each take a contiguous range; the first
    /// `partitions % members` take one extra.
    Range,
    /// RoundRobinAssignor: partition `i` goes to the `i % members`-th member in id order.
    RoundRobin,
}

impl Assignor {
    /// Assigns partitions `0..partitions` to `members` (any order; duplicates ignored).
    pub fn assign(self, members: &[MemberId], partitions: u8) -> Vec<(MemberId, Partitions)> {
        let mut ids = members.to_vec();
        ids.sort();
        ids.dedup();
        let mut out: Vec<(MemberId, Partitions)> =
            ids.iter().map(|id| (*id, Partitions::EMPTY)).collect();
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
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u8) -> Vec<MemberId> {
        (0..n)
            .map(|seq| MemberId {
                epoch: 0,
                seq: seq.into(),
            })
            .collect()
    }

    #[test]
    fn range_gives_contiguous_ranges_first_members_take_extra() {
        let a = Assignor::Range.assign(&ids(2), 3);
        assert_eq!(a[0].1, [0, 1].into_iter().collect());
        assert_eq!(a[1].1, [2].into_iter().collect());
    }

    #[test]
    fn round_robin_deals_partitions_in_turn() {
        let a = Assignor::RoundRobin.assign(&ids(2), 3);
        assert_eq!(a[0].1, [0, 2].into_iter().collect());
        assert_eq!(a[1].1, [1].into_iter().collect());
    }

    #[test]
    fn every_partition_exactly_once_for_any_member_count() {
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            for n in 1..=5 {
                for parts in 0..=6 {
                    let a = assignor.assign(&ids(n), parts);
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
            Assignor::Range.assign(&rev, 4),
            Assignor::Range.assign(&ids(3), 4)
        );
    }
}
