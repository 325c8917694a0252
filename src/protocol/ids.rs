use serde::{Deserialize, Serialize};
use std::fmt;

/// A number of its own kind: a type, so that numbers of different kinds cannot be mixed up,
/// written (in traces, and by `Display`) as the bare number.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A broker that can lead the group's `__consumer_offsets` partition.
    BrokerId(u8)
);

impl BrokerId {
    /// Its place among the brokers (they are numbered from 0).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

id_type!(
    /// The group's generation id. Kafka's "no generation" (-1) is `Option::None` where it can
    /// occur.
    Generation(u32)
);

impl Generation {
    /// The generation a completed join phase moves to.
    pub fn next(self) -> Generation {
        Generation(self.0 + 1)
    }
}

impl From<u32> for Generation {
    fn from(id: u32) -> Generation {
        Generation(id)
    }
}

id_type!(
    /// The leader epoch of `__consumer_offsets`: it grows with every election.
    LeaderEpoch(u32)
);

impl LeaderEpoch {
    /// The epoch the next election starts.
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(self.0 + 1)
    }
}

id_type!(
    /// A consumer process of the model or of a live run, numbered from 0. Its restarts keep
    /// the number (a [`ClientAddr`] tells the incarnations apart).
    ConsumerId(u8)
);

impl ConsumerId {
    /// Its place among the consumers.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The consumer at place `index` (there are at most a few).
    pub fn at(index: usize) -> ConsumerId {
        ConsumerId(u8::try_from(index).expect("a consumer number fits in u8"))
    }
}

/// A partition of the single subscribed topic.
pub type Partition = u8;
/// A position in a partition: the offset of the next record to consume.
pub type Offset = u32;

/// A member id minted by a coordinator. Kafka appends a UUID to the client id; we get the same
/// uniqueness from the leader epoch of the minting coordinator (a new coordinator always has a
/// higher epoch) and a per-coordinator sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct MemberId {
    pub epoch: LeaderEpoch,
    pub seq: u32,
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}.{}", self.epoch, self.seq)
    }
}

/// A static member's `group.instance.id` (KIP-345): chosen by the operator, stable across
/// restarts of the process, unlike the member id the coordinator mints for every join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct InstanceId(pub u8);

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instance-{}", self.0)
    }
}

impl From<InstanceId> for String {
    fn from(i: InstanceId) -> String {
        i.to_string()
    }
}

impl TryFrom<String> for InstanceId {
    type Error = String;
    fn try_from(s: String) -> Result<InstanceId, String> {
        s.strip_prefix("instance-")
            .and_then(|n| n.parse().ok())
            .map(InstanceId)
            .ok_or_else(|| format!("bad instance id `{s}` (expected instance-<n>)"))
    }
}

/// The connection a request arrived on: a consumer process, told apart from its earlier
/// incarnations so that an answer meant for a crashed process is never read by its successor,
/// and the process's connection to the coordinator, renewed each time the client gives up on a
/// request, so that an answer to an abandoned request is never read as the answer to a new one
/// (Kafka's correlation ids and closed sockets).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(into = "String", try_from = "String")]
pub struct ClientAddr {
    pub consumer: ConsumerId,
    pub incarnation: u32,
    pub connection: u8,
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "consumer-{}", self.consumer)?;
        if self.incarnation != 0 {
            write!(f, "#{}", self.incarnation)?;
        }
        if self.connection != 0 {
            write!(f, ":{}", self.connection)?;
        }
        Ok(())
    }
}

// In JSON (traces) ids are written as they are displayed: `m0.1`, `consumer-2#1`.

impl From<MemberId> for String {
    fn from(m: MemberId) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for MemberId {
    type Error = String;
    fn try_from(s: String) -> Result<MemberId, String> {
        let bad = || format!("bad member id `{s}` (expected m<epoch>.<seq>)");
        let (epoch, seq) = s
            .strip_prefix('m')
            .and_then(|r| r.split_once('.'))
            .ok_or_else(bad)?;
        Ok(MemberId {
            epoch: LeaderEpoch(epoch.parse().map_err(|_| bad())?),
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

impl From<ClientAddr> for String {
    fn from(c: ClientAddr) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for ClientAddr {
    type Error = String;
    fn try_from(s: String) -> Result<ClientAddr, String> {
        let bad =
            || format!("bad client `{s}` (expected consumer-<n>[#<incarnation>][:<connection>])");
        let rest = s.strip_prefix("consumer-").ok_or_else(bad)?;
        let (rest, connection) = rest.split_once(':').unwrap_or((rest, "0"));
        let (consumer, incarnation) = rest.split_once('#').unwrap_or((rest, "0"));
        Ok(ClientAddr {
            consumer: ConsumerId(consumer.parse().map_err(|_| bad())?),
            incarnation: incarnation.parse().map_err(|_| bad())?,
            connection: connection.parse().map_err(|_| bad())?,
        })
    }
}

/// A set of partitions (at most 16), as a bitset: cheap to hash, compare and copy.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "Vec<Partition>", try_from = "Vec<Partition>")]
pub struct Partitions(u16);

impl Partitions {
    pub const EMPTY: Partitions = Partitions(0);
    pub const MAX: u8 = 16;

    /// Partitions `0..count`.
    pub fn all(count: u8) -> Partitions {
        assert!(count <= Self::MAX, "at most {} partitions", Self::MAX);
        Partitions(((1u32 << count) - 1) as u16)
    }
    pub fn single(p: Partition) -> Partitions {
        let mut ps = Partitions::EMPTY;
        ps.insert(p);
        ps
    }
    pub fn contains(self, p: Partition) -> bool {
        p < Self::MAX && self.0 & (1 << p) != 0
    }
    pub fn insert(&mut self, p: Partition) {
        assert!(p < Self::MAX, "partition {p} is past the last");
        self.0 |= 1 << p;
    }
    /// A partition past the last is in no set: removing it changes nothing.
    pub fn remove(&mut self, p: Partition) {
        if p < Self::MAX {
            self.0 &= !(1 << p);
        }
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    pub fn union(self, other: Partitions) -> Partitions {
        Partitions(self.0 | other.0)
    }
    pub fn intersection(self, other: Partitions) -> Partitions {
        Partitions(self.0 & other.0)
    }
    pub fn difference(self, other: Partitions) -> Partitions {
        Partitions(self.0 & !other.0)
    }
    pub fn iter(self) -> impl Iterator<Item = Partition> {
        (0..Self::MAX).filter(move |p| self.contains(*p))
    }
}

impl From<Partitions> for Vec<Partition> {
    fn from(ps: Partitions) -> Self {
        ps.iter().collect()
    }
}

/// How a set is read from a trace: a partition past the last is a malformed file, not dropped.
impl TryFrom<Vec<Partition>> for Partitions {
    type Error = String;
    fn try_from(v: Vec<Partition>) -> Result<Self, String> {
        match v.iter().find(|p| **p >= Partitions::MAX) {
            Some(p) => Err(format!(
                "partition {p} is past the last: at most {} partitions",
                Partitions::MAX
            )),
            None => Ok(v.into_iter().collect()),
        }
    }
}

impl FromIterator<Partition> for Partitions {
    fn from_iter<I: IntoIterator<Item = Partition>>(iter: I) -> Self {
        let mut ps = Partitions::EMPTY;
        iter.into_iter().for_each(|p| ps.insert(p));
        ps
    }
}

impl fmt::Debug for Partitions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Partitions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "p{p}")?;
        }
        f.write_str("}")
    }
}
