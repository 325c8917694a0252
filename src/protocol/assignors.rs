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
/// assignor appears at most once. It serializes as a list.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(from = "Vec<Assignor>", into = "Vec<Assignor>")]
pub struct Assignors([Option<Assignor>; 4]);

impl Assignors {
    /// Just `assignor`.
    pub const fn one(assignor: Assignor) -> Assignors {
        Assignors([Some(assignor), None, None, None])
    }

    pub fn iter(self) -> impl Iterator<Item = Assignor> {
        self.0.into_iter().map_while(|a| a)
    }

    pub fn is_empty(self) -> bool {
        self.0[0].is_none()
    }

    pub fn contains(self, assignor: Assignor) -> bool {
        self.iter().any(|a| a == assignor)
    }
}

impl From<Vec<Assignor>> for Assignors {
    /// Keeps the first occurrence of each assignor.
    fn from(list: Vec<Assignor>) -> Assignors {
        let mut slots = [None; 4];
        let mut n = 0;
        for a in list {
            if !slots[..n].contains(&Some(a)) {
                slots[n] = Some(a);
                n += 1;
            }
        }
        Assignors(slots)
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
