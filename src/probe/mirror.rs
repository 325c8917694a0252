//! The core beside the broker: every step a scenario takes on the broker is taken on a fresh
//! coordinator of the core as well, so the answer Kafka's coordinator gives there is the
//! core's — written once, in the core, not restated by each scenario.
//!
//! The mirror keeps its own member ids and generations (the broker names its members its own
//! way); a member's session expiring is a step the scenario takes explicitly, once it has
//! waited past the session timeout on the broker.

use crate::coordinator::CoreConfig;
use crate::flaw::Flaws;
use crate::protocol::{
    Assignor, Assignors, BrokerId, ClientAddr, ConsumerId, ErrorCode, Generation, MemberId, Offset,
    Partition, Partitions, Request, Response,
};
use crate::runtime::GroupService;

/// A probe member as the core knows it.
struct Mirrored {
    addr: ClientAddr,
    id: Option<MemberId>,
    generation: Generation,
}

pub struct Mirror {
    service: GroupService,
    members: Vec<Mirrored>,
}

impl Mirror {
    /// A fresh coordinator of a group over `partitions` partitions (at most 16).
    pub fn new(partitions: u8) -> Mirror {
        let cfg = CoreConfig {
            partitions,
            assignor: Assignor::RoundRobin,
            flaws: Flaws::NONE,
        };
        Mirror {
            service: GroupService::new(cfg, 1, false),
            members: Vec::new(),
        }
    }

    /// The probe's `m`-th member (numbered as the scenario creates them).
    fn member(&mut self, m: usize) -> &mut Mirrored {
        while self.members.len() <= m {
            let addr = ClientAddr {
                consumer: ConsumerId::at(self.members.len()),
                ..ClientAddr::default()
            };
            self.members.push(Mirrored {
                addr,
                id: None,
                generation: Generation(0),
            });
        }
        &mut self.members[m]
    }

    /// Sends `request` from member `m`, makes every write durable, and takes the answer (none
    /// while a JoinGroup or SyncGroup is parked).
    fn ask(&mut self, m: usize, request: Request) -> Option<Response> {
        let addr = self.member(m).addr;
        self.service.send(BrokerId(0), addr, &request);
        while self.service.replicate() {}
        self.service.try_receive(addr)
    }

    /// JoinGroup with the member id the core gave `m` (none at first).
    pub fn join(&mut self, m: usize) -> Option<ErrorCode> {
        let member_id = self.member(m).id;
        let request = Request::JoinGroup {
            member_id,
            protocols: Assignors::one(Assignor::RoundRobin),
            claim: None,
            instance: None,
        };
        let answer = self.ask(m, request)?;
        if let Response::JoinGroup {
            error,
            generation,
            member_id: Some(id),
            ..
        } = answer
        {
            let me = self.member(m);
            me.id = Some(id);
            if error == ErrorCode::None {
                me.generation = generation;
            }
        }
        Some(answer.error())
    }

    /// SyncGroup of `m` in its generation; as leader (`members` not empty) it gives the
    /// partitions round-robin over the members `members` names.
    pub fn sync(&mut self, m: usize, members: &[usize], partitions: u8) -> Option<ErrorCode> {
        let n = members.len().max(1);
        let assignments = members
            .iter()
            .enumerate()
            .filter_map(|(i, other)| {
                let id = self.member(*other).id?;
                let mine = (0..partitions).filter(|p| usize::from(*p) % n == i);
                Some((id, mine.collect::<Partitions>()))
            })
            .collect();
        let me = self.member(m);
        let request = Request::SyncGroup {
            member_id: me.id?,
            generation: me.generation,
            assignments,
            instance: None,
        };
        self.ask(m, request).map(|r| r.error())
    }

    /// The generation `m` believes it is in.
    pub fn generation(&mut self, m: usize) -> Generation {
        self.member(m).generation
    }

    /// Makes `m` believe it is in `generation` (to send a request from an older one).
    pub fn set_generation(&mut self, m: usize, generation: Generation) {
        self.member(m).generation = generation;
    }

    /// Heartbeat of `m` in its generation.
    pub fn heartbeat(&mut self, m: usize) -> Option<ErrorCode> {
        let me = self.member(m);
        let request = Request::Heartbeat {
            member_id: me.id?,
            generation: me.generation,
            instance: None,
        };
        self.ask(m, request).map(|r| r.error())
    }

    /// OffsetCommit of `m` in its generation.
    pub fn commit(&mut self, m: usize, offsets: &[(Partition, Offset)]) -> Option<ErrorCode> {
        let me = self.member(m);
        let request = Request::OffsetCommit {
            member_id: me.id?,
            generation: me.generation,
            offsets: offsets.to_vec(),
            instance: None,
        };
        self.ask(m, request).map(|r| r.error())
    }

    /// OffsetFetch of `partition` by `m`: the error code and the committed offset the core
    /// serves.
    pub fn fetch(&mut self, m: usize, partition: Partition) -> Option<(ErrorCode, Option<Offset>)> {
        let request = Request::OffsetFetch {
            partitions: [partition].into_iter().collect(),
        };
        match self.ask(m, request)? {
            Response::OffsetFetch { error, offsets } => {
                let offset = offsets.into_iter().find(|(p, _)| *p == partition);
                Some((error, offset.and_then(|(_, o)| o)))
            }
            _ => None,
        }
    }

    /// LeaveGroup of `m`.
    pub fn leave(&mut self, m: usize) -> Option<ErrorCode> {
        let request = Request::LeaveGroup {
            member_id: self.member(m).id?,
            instance: None,
        };
        self.ask(m, request).map(|r| r.error())
    }

    /// The session of `m` expires.
    pub fn expire(&mut self, m: usize) {
        if let Some(id) = self.member(m).id {
            self.service.expire_session(id);
            while self.service.replicate() {}
        }
    }
}
