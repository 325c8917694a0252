//! The names a consumer's JoinGroup offers as group protocols: its partition assignors.

use serde::{Deserialize, Serialize};

/// A partition assignor, as `partition.assignment.strategy` names it. In the classic protocol
/// each one a consumer supports is a *group protocol* of its JoinGroup; the coordinator picks
/// the one every member supports, and the leader runs it. (Its assignment logic is in
/// [`crate::assignor`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assignor {
    /// RangeAssignor: members in id order each take a contiguous range; the first
    /// `partitions % members` take one extra.
    Range,
    /// RoundRobinAssignor: partition `i` goes to the `i % members`-th member in id order.
    RoundRobin,
    /// StickyAssignor (eager): balanced, each member keeping as much of what it owned as the
    /// balance allows.
    Sticky,
    /// CooperativeStickyAssignor: the sticky assignment, except that a partition is never moved
    /// from one member to another in one round.
    CooperativeSticky,
}

impl Assignor {
    pub const ALL: [Assignor; 4] = [
        Assignor::Range,
        Assignor::RoundRobin,
        Assignor::Sticky,
        Assignor::CooperativeSticky,
    ];

    /// The protocol name on the wire (the assignor's `name()` in the Java client).
    pub fn wire_name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }
}

/// A consumer's assignors in preference order: the group protocols of its JoinGroup. Each
/// assignor appears at most once. Packed in one word, a nibble per place (`0` for none,
/// otherwise the assignor's place in [`Assignor::ALL`] plus one), since the checker hashes it
/// in every consumer, member and JoinGroup of every state. It serializes as a list.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(from = "Vec<Assignor>", into = "Vec<Assignor>")]
pub struct Assignors(u16);

impl Assignors {
    /// Just `assignor`.
    pub const fn one(assignor: Assignor) -> Assignors {
        Assignors(assignor as u16 + 1)
    }

    pub fn iter(self) -> impl Iterator<Item = Assignor> {
        let nibbles = (0..4).map(move |i| (self.0 >> (4 * i)) & 0xf);
        nibbles.map_while(|n| n.checked_sub(1).map(|a| Assignor::ALL[a as usize]))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, assignor: Assignor) -> bool {
        self.iter().any(|a| a == assignor)
    }
}

impl From<Vec<Assignor>> for Assignors {
    /// Keeps the first occurrence of each assignor.
    fn from(list: Vec<Assignor>) -> Assignors {
        let mut packed = Assignors(0);
        let mut n = 0;
        for a in list {
            if !packed.contains(a) {
                packed.0 |= (a as u16 + 1) << (4 * n);
                n += 1;
            }
        }
        packed
    }
}

impl From<Assignors> for Vec<Assignor> {
    fn from(list: Assignors) -> Vec<Assignor> {
        list.iter().collect()
    }
}

impl std::fmt::Display for Assignors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(Assignor::wire_name).collect();
        write!(f, "[{}]", names.join(","))
    }
}
