//! States compared up to the names the protocol gives: generations and member ids.
//!
//! Nothing in the protocol depends on the value of a generation, only on equality and on
//! "one more", and nothing depends on a member id beyond equality and order (members are kept
//! sorted, and the first one leads after the leader leaves). So two states that differ only by
//! shifting every generation by the same amount, or by renaming member ids in an
//! order-preserving way, have the same futures. A group that rebalances forever mints a new
//! member id and a new generation on every round; compared this way, its states repeat, which
//! is what lets the liveness check find the cycle (TLA+ calls such a comparison a view).
//!
//! The view also forgets who committed a durable offset: that note exists for
//! `no_zombie_commit`, which judges it when the record becomes durable, and replay ignores it.
//!
//! The renaming: generations are shifted so that the smallest one in use by an active
//! coordinator, the log, a consumer or a message becomes 0; member ids of each leader epoch are
//! renumbered 0, 1, 2, … in their order, and the sequence an active coordinator mints from
//! continues after them. The model's states stay concrete (traces show the real numbers); only
//! their fingerprints ([`World`]'s `Hash`) use the view.

use super::state::{Envelope, Msg, World};
use crate::coordinator::{Coordinator, LoadState, PendingWrite};
use crate::protocol::{Generation, LeaderEpoch, MemberId, Record, Request, Response};
use smallvec::{smallvec, SmallVec};
use std::hash::{BuildHasher, Hasher};

/// Something holding generations and member ids.
trait Names {
    fn names<V: FnMut(Name<'_>)>(&mut self, v: &mut V);
}

/// A name found in a state, to read or rewrite.
enum Name<'a> {
    Generation(&'a mut Generation),
    Member(&'a mut MemberId),
}

fn gen<V: FnMut(Name<'_>)>(v: &mut V, g: &mut Generation) {
    v(Name::Generation(g))
}

fn member<V: FnMut(Name<'_>)>(v: &mut V, m: &mut MemberId) {
    v(Name::Member(m))
}

impl Names for Request {
    fn names<V: FnMut(Name<'_>)>(&mut self, v: &mut V) {
        match self {
            Request::FindCoordinator | Request::OffsetFetch { .. } => {}
            Request::JoinGroup {
                member_id, claim, ..
            } => {
                member_id.iter_mut().for_each(|m| member(v, m));
                claim.iter_mut().for_each(|c| gen(v, &mut c.generation));
            }
            Request::SyncGroup {
                member_id,
                generation,
                assignments,
                ..
            } => {
                member(v, member_id);
                gen(v, generation);
                assignments.iter_mut().for_each(|(m, _)| member(v, m));
            }
            Request::Heartbeat {
                member_id,
                generation,
                ..
            }
            | Request::OffsetCommit {
                member_id,
                generation,
                ..
            } => {
                member(v, member_id);
                gen(v, generation);
            }
            Request::LeaveGroup { member_id, .. } => member(v, member_id),
        }
    }
}

impl Names for Response {
    fn names<V: FnMut(Name<'_>)>(&mut self, v: &mut V) {
        match self {
            Response::JoinGroup {
                generation,
                member_id,
                leader,
                members,
                claims,
                error,
                ..
            } => {
                // An error answer carries no generation (Kafka's -1); ours is a placeholder.
                if *error == crate::protocol::ErrorCode::None {
                    gen(v, generation);
                }
                member_id.iter_mut().for_each(|m| member(v, m));
                leader.iter_mut().for_each(|m| member(v, m));
                members.iter_mut().for_each(|m| member(v, m));
                for (m, c) in claims {
                    member(v, m);
                    gen(v, &mut c.generation);
                }
            }
            Response::SyncGroup {
                member_id,
                generation,
                ..
            } => {
                member(v, member_id);
                gen(v, generation);
            }
            _ => {}
        }
    }
}

impl Names for Record {
    fn names<V: FnMut(Name<'_>)>(&mut self, v: &mut V) {
        match self {
            Record::GroupMetadata {
                generation,
                leader,
                members,
                instances,
                ..
            } => {
                gen(v, generation);
                leader.iter_mut().for_each(|m| member(v, m));
                members.iter_mut().for_each(|(m, _)| member(v, m));
                instances.iter_mut().for_each(|(m, _)| member(v, m));
            }
            Record::OffsetCommit { committed_by, .. } => {
                if let Some((m, g)) = committed_by {
                    member(v, m);
                    gen(v, g);
                }
            }
            Record::GroupTombstone | Record::OffsetTombstone { .. } => {}
        }
    }
}

impl Names for Envelope {
    fn names<V: FnMut(Name<'_>)>(&mut self, v: &mut V) {
        match &mut self.msg {
            Msg::Request(r) => r.names(v),
            Msg::Response(r) => r.names(v),
            Msg::Control(_) => {}
        }
    }
}

impl Names for Coordinator {
    fn names<V: FnMut(Name<'_>)>(&mut self, v: &mut V) {
        // Only an active coordinator's group means anything; the others hold placeholders
        // (generation 0) that are reset before use.
        if self.load != LoadState::Active {
            return;
        }
        let g = &mut self.group;
        gen(v, &mut g.generation);
        g.leader.iter_mut().for_each(|m| member(v, m));
        for m in &mut g.members {
            member(v, &mut m.id);
            m.claim.iter_mut().for_each(|c| gen(v, &mut c.generation));
        }
        g.pending_members.iter_mut().for_each(|m| member(v, m));
        for w in &mut self.pending {
            match w {
                PendingWrite::Assignment {
                    generation,
                    assignments,
                } => {
                    gen(v, generation);
                    assignments.iter_mut().for_each(|(m, _)| member(v, m));
                }
                PendingWrite::Replacement {
                    generation,
                    member: id,
                } => {
                    gen(v, generation);
                    member(v, id);
                }
                PendingWrite::Offsets { .. } | PendingWrite::Unawaited => {}
            }
        }
    }
}

impl Names for World {
    fn names<V: FnMut(Name<'_>)>(&mut self, v: &mut V) {
        self.brokers.iter_mut().for_each(|b| b.names(v));
        // Who committed a durable offset is the checker's audit note, judged when the record
        // became durable; replay ignores it, so it is left out of the view (see `canonical`).
        self.log.durable.iter_mut().for_each(|r| r.names(v));
        self.log
            .uncommitted
            .iter_mut()
            .flatten()
            .for_each(|r| r.names(v));
        for c in &mut self.consumers {
            c.member_id.iter_mut().for_each(|m| member(v, m));
            c.generation.iter_mut().for_each(|g| gen(v, g));
            c.last_assignment
                .iter_mut()
                .for_each(|a| gen(v, &mut a.generation));
            c.held_sync.iter_mut().for_each(|r| r.names(v));
        }
        self.network.iter_mut().for_each(|e| e.names(v));
    }
}

/// Per leader epoch, the member sequence numbers in use.
type Seqs = SmallVec<[(LeaderEpoch, SmallVec<[u32; 8]>); 2]>;

/// The renaming that makes a state canonical.
pub struct Renaming {
    shift: u32,
    /// The newest generation in use minus the oldest.
    span: u32,
    /// Per leader epoch, the member sequence numbers in use, sorted.
    seqs: Seqs,
}

impl Renaming {
    /// The renaming of `w` (which is only read: the visit needs `&mut`).
    fn collect(probe: &mut World) -> Renaming {
        let mut min_gen: Option<Generation> = None;
        let mut max_gen = Generation(0);
        let mut seqs = Seqs::new();
        probe.names(&mut |n| match n {
            Name::Generation(g) => {
                min_gen = Some(min_gen.map_or(*g, |m| m.min(*g)));
                max_gen = max_gen.max(*g);
            }
            Name::Member(m) => match seqs.iter_mut().find(|(e, _)| *e == m.epoch) {
                Some((_, s)) => s.push(m.seq),
                None => seqs.push((m.epoch, smallvec![m.seq])),
            },
        });
        for (_, s) in &mut seqs {
            s.sort_unstable();
            s.dedup();
        }
        let shift = min_gen.unwrap_or_default().0;
        Renaming {
            shift,
            span: max_gen.0.saturating_sub(shift),
            seqs,
        }
    }

    /// Whether the renaming changes nothing (the state is canonical already).
    fn is_identity(&self) -> bool {
        self.shift == 0
            && self
                .seqs
                .iter()
                .all(|(_, s)| s.iter().enumerate().all(|(i, q)| i as u32 == *q))
    }

    fn rename(&self, n: Name<'_>) {
        match n {
            Name::Generation(g) => g.0 -= self.shift,
            Name::Member(m) => {
                if let Some((_, s)) = self.seqs.iter().find(|(e, _)| *e == m.epoch) {
                    if let Ok(rank) = s.binary_search(&m.seq) {
                        m.seq = rank as u32;
                    }
                }
            }
        }
    }

    /// Renames `w` in place; an active coordinator mints on after the renamed ids of its epoch
    /// (a sequence number nobody holds any more tells nothing).
    fn apply(&self, w: &mut World) {
        if !self.is_identity() {
            // Renaming keeps every order, so members and the network stay sorted.
            w.names(&mut |n| self.rename(n));
        }
        for b in w.brokers.iter_mut().filter(|b| b.load == LoadState::Active) {
            b.next_member_seq = self
                .seqs
                .iter()
                .find(|(e, _)| *e == b.epoch)
                .map_or(0, |(_, s)| s.len() as u32);
        }
    }

    /// Undoes [`Renaming::apply`] but for the minting sequences, which the caller restores.
    fn undo(&self, w: &mut World) {
        if !self.is_identity() {
            w.names(&mut |n| match n {
                Name::Generation(g) => g.0 += self.shift,
                Name::Member(m) => {
                    if let Some((_, s)) = self.seqs.iter().find(|(e, _)| *e == m.epoch) {
                        m.seq = s[m.seq as usize];
                    }
                }
            });
        }
    }
}

/// The fingerprint of `w`'s canonical form, and how many generations lie between the oldest
/// and the newest one in use.
pub fn view(w: &World) -> (u64, u32) {
    view_in_place(&mut w.clone())
}

/// [`view`], computed on `w` itself: renamed, hashed and renamed back, so the state is not
/// copied (this runs for every state the search generates). `w` is left as it was.
pub fn view_in_place(w: &mut World) -> (u64, u32) {
    let audit = take_audit(w);
    let renaming = Renaming::collect(w);
    let minted: SmallVec<[u32; 4]> = w.brokers.iter().map(|b| b.next_member_seq).collect();
    renaming.apply(w);
    // Fixed seeds, so the same state has the same fingerprint on every run.
    let mut h = ahash::RandomState::with_seeds(1, 2, 3, 4).build_hasher();
    w.hash_fields(&mut h);
    renaming.undo(w);
    for (b, seq) in w.brokers.iter_mut().zip(minted) {
        b.next_member_seq = seq;
    }
    for (i, note) in audit {
        if let Record::OffsetCommit { committed_by, .. } = &mut w.log.durable[i] {
            *committed_by = Some(note);
        }
    }
    (h.finish(), renaming.span)
}

/// `w` with generations and member ids renamed canonically.
pub fn canonical(w: &World) -> World {
    let mut c = w.clone();
    take_audit(&mut c);
    Renaming::collect(&mut c).apply(&mut c);
    c
}

/// Takes out the audit note of who committed each durable offset (by position in the log):
/// judged when the record became durable and ignored by replay, it is no part of the state
/// that matters (neither for the comparison of states nor for the generation-span bound,
/// which must agree on it).
fn take_audit(w: &mut World) -> Vec<(usize, (MemberId, Generation))> {
    let mut audit = Vec::new();
    for (i, r) in w.log.durable.iter_mut().enumerate() {
        if let Record::OffsetCommit { committed_by, .. } = r {
            if let Some(note) = committed_by.take() {
                audit.push((i, note));
            }
        }
    }
    audit
}
