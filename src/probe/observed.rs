//! The catalogue's safety properties, judged on what the broker's own answers show: every
//! answer any member of a scenario takes passes here, judged or not against the core.
//!
//! What is observable, and so judged:
//! - `no_zombie_commit`: a commit accepted in a generation older than one the broker had
//!   told before the commit went out (once a join phase has ended, Kafka fences every other
//!   generation); or from a process of a static instance after the broker's JoinGroup answer
//!   gave that instance to another process. An offset served that the broker had refused to
//!   commit, too.
//! - `no_lost_commit`: an offset served other than the last one the broker acknowledged for
//!   its partition (every commit in a scenario is the probe's, and they never race).
//! - `generation_monotonic`: a JoinGroup answer telling an older generation than one the
//!   broker had told before the request went out; to a dynamic member joining for the first
//!   time, not a newer one (its join begins a join phase of its own, or ends one that began
//!   after it was sent).
//! - `durable_before_ack`: after the group's coordinator moved, a member whose assignment the
//!   broker had acknowledged before the move, heard from within its session, is fenced where
//!   the core, which loaded what was acknowledged, still knows it.
//!
//! - `no_unexpected_error`: an answer whose error the Java client's handler of that request
//!   does not know (an unexpected error to it), such as COORDINATOR_LOAD_IN_PROGRESS to a
//!   SyncGroup or a Heartbeat.
//!
//! `single_owner` and `static_instance_unique` are judged where a member takes its assignment
//! and where a leader learns the members ([`super::driven`]).

use crate::consumer;
use crate::property::Property;
use crate::protocol::{ErrorCode, Generation, InstanceId, MemberId, Offset, Partition};
use crate::protocol::{Request, Response};
use std::time::Instant;

#[derive(Default)]
pub(super) struct Observed {
    /// The dynamic members the broker has let join (a JoinGroup answered NONE).
    joined: Vec<MemberId>,
    /// The process (a member's number in the scenario) each static instance was last given to.
    instances: Vec<(InstanceId, usize)>,
    /// The last offset acknowledged for each partition.
    acked: Vec<(Partition, Offset)>,
    /// Offsets the broker refused to commit.
    refused: Vec<(Partition, Offset)>,
    /// The generations the broker's JoinGroup answers told, with when each was taken.
    told: Vec<(Instant, Generation)>,
    /// Whose assignment the broker acknowledged, in which generation, and how many moves of
    /// the coordinator had happened then.
    synced: Vec<(usize, Generation, usize)>,
    /// How many times the group's coordinator moved.
    pub moves: usize,
}

/// An answer the broker gave, with what the judgement needs beside it.
pub(super) struct Answered<'a> {
    /// The member's number in the scenario (one per process).
    pub k: usize,
    pub request: &'a Request,
    pub answer: &'a Response,
    /// When the request went out.
    pub sent_at: Instant,
    /// The core's answer to the same request (its error), where it was judged against one.
    pub core: Option<ErrorCode>,
    /// The member was heard from within its session when the request went out.
    pub live: bool,
}

impl Observed {
    /// Takes `a` in: the property it breaks, if any, and how.
    pub(super) fn judge(&mut self, a: &Answered) -> Option<(Property, String)> {
        let error = a.answer.error();
        if !consumer::handles(a.answer) {
            let why = format!(
                "{} answered {error}, an unexpected error to the Java client's handler",
                a.request.api()
            );
            return Some((Property::NoUnexpectedError, why));
        }
        match (a.request, a.answer) {
            (
                Request::OffsetCommit {
                    member_id,
                    generation,
                    offsets,
                    instance,
                },
                _,
            ) => {
                if error == ErrorCode::None {
                    self.acked
                        .retain(|(p, _)| !offsets.iter().any(|(q, _)| q == p));
                    self.acked.extend(offsets);
                    self.zombie(a, *member_id, *generation, *instance)
                } else {
                    self.refused.extend(offsets);
                    self.lost_in_move(a, *generation)
                }
            }
            (_, Response::OffsetFetch { offsets, .. }) if error == ErrorCode::None => {
                offsets.iter().find_map(|(p, o)| self.served(*p, *o))
            }
            (
                Request::JoinGroup { instance, .. },
                Response::JoinGroup {
                    generation,
                    member_id,
                    ..
                },
            ) if error == ErrorCode::None => {
                let first = match (instance, member_id) {
                    (Some(i), _) => {
                        self.instances.retain(|(j, _)| j != i);
                        self.instances.push((*i, a.k));
                        false
                    }
                    (None, Some(id)) if !self.joined.contains(id) => {
                        self.joined.push(*id);
                        true
                    }
                    (None, _) => false,
                };
                let newest = self.newest_before(a.sent_at);
                self.told.push((Instant::now(), *generation));
                let back = newest.filter(|n| generation < n || (first && generation == n));
                back.map(|n| {
                    let why = format!(
                        "generation {} told to {}, after generation {} was",
                        generation.0,
                        match first {
                            true => "a member joining for the first time",
                            false => "a member",
                        },
                        n.0
                    );
                    (Property::GenerationMonotonic, why)
                })
            }
            (Request::SyncGroup { generation, .. }, _) if error == ErrorCode::None => {
                self.synced.push((a.k, *generation, self.moves));
                None
            }
            (Request::SyncGroup { generation, .. } | Request::Heartbeat { generation, .. }, _) => {
                self.lost_in_move(a, *generation)
            }
            _ => None,
        }
    }

    /// The newest generation told before `at`.
    fn newest_before(&self, at: Instant) -> Option<Generation> {
        let before = self.told.iter().filter(|(told, _)| *told < at);
        before.map(|(_, g)| *g).max()
    }

    /// A commit accepted from member `id` in `generation`: a zombie's, if the broker had
    /// fenced it.
    fn zombie(
        &self,
        a: &Answered,
        id: MemberId,
        generation: Generation,
        instance: Option<InstanceId>,
    ) -> Option<(Property, String)> {
        let k = a.k;
        if let Some(newer) = self.newest_before(a.sent_at).filter(|n| *n > generation) {
            let why = format!(
                "a commit of {id} in generation {} accepted after the broker had told generation {}",
                generation.0, newer.0
            );
            return Some((Property::NoZombieCommit, why));
        }
        let holder = self
            .instances
            .iter()
            .find(|(i, _)| Some(*i) == instance)
            .filter(|(_, holder)| *holder != k)?;
        let why = format!(
            "a commit from process #{k} of {} accepted after the broker's JoinGroup answer gave the instance to process #{}",
            crate::wire::core_client::instance_name(holder.0),
            holder.1
        );
        Some((Property::NoZombieCommit, why))
    }

    /// Partition `p` served at `offset`: the last acknowledged offset, or a violation.
    fn served(&self, p: Partition, offset: Option<Offset>) -> Option<(Property, String)> {
        let acked = self.acked.iter().find(|(q, _)| *q == p).map(|(_, o)| *o);
        if offset == acked {
            return None;
        }
        let shown = |o: Option<Offset>| o.map_or("no offset".into(), |o| format!("p{p}@{o}"));
        let refused = offset.is_some_and(|o| self.refused.contains(&(p, o)));
        Some(match refused {
            true => (
                Property::NoZombieCommit,
                format!("{} served: a commit the broker refused", shown(offset)),
            ),
            false => (
                Property::NoLostCommit,
                format!(
                    "{} served where {} was acknowledged last",
                    shown(offset),
                    shown(acked)
                ),
            ),
        })
    }

    /// A request in `generation` fenced after a coordinator move, though the broker had
    /// acknowledged the member's assignment in that generation before the move, the member
    /// was heard from within its session, and the core still knows it.
    fn lost_in_move(&self, a: &Answered, generation: Generation) -> Option<(Property, String)> {
        let fenced = [
            ErrorCode::UnknownMemberId,
            ErrorCode::IllegalGeneration,
            ErrorCode::FencedInstanceId,
        ];
        let error = a.answer.error();
        let core_knows = a.core.is_some_and(|c| !fenced.contains(&c));
        if !fenced.contains(&error) || !core_knows || !a.live {
            return None;
        }
        let acked = self
            .synced
            .iter()
            .any(|(k, g, moves)| *k == a.k && *g == generation && *moves < self.moves);
        acked.then(|| {
            let why = format!(
                "the broker acknowledged the assignment of process #{} in generation {} before its coordinator moved, and then answered {} to it within its session",
                a.k,
                generation.0,
                error.name()
            );
            (Property::DurableBeforeAck, why)
        })
    }
}

impl super::scenario::Run<'_> {
    /// Judges an answer the broker gave by the safety properties ([`Observed`]).
    pub(super) fn observe(&mut self, a: &Answered) {
        if let Some((property, why)) = self.observed.judge(a) {
            let why = self.names.rename(&why);
            self.broke(property, why);
        }
    }
}
