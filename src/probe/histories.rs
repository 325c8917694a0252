//! The core's histories that the broker's answers allow.
//!
//! A request that can wait for another member (a JoinGroup, a follower's SyncGroup) goes out
//! on a thread of its own, and the other members go on meanwhile: the broker reads it at some
//! point the probe cannot see, before or after requests sent later. So the core keeps every
//! history its twins could have had: each places the racing requests somewhere among the
//! others' steps. Before a judged step — a request whose answer the broker gave, a racing
//! request's own answer — each history forks over every order of every part of its racing
//! requests (those left are taken later; one taken cannot be untaken), takes the step, and is
//! kept if the core's answer is the broker's (its error code, and what it says: leader,
//! members and their claims, the assignment, the offsets). An answer is a deviation only when
//! no history gives it; it is then judged against the first history with every racing request
//! taken in the order they went out. Histories that reach the same state are one.
//!
//! The first history kept is the one a trace shows: of the orders that agree, the longest in
//! the order the requests went out comes first, so where the broker read each request as it
//! came, the trace shows that. Steps nobody judges (a timer firing, a session's expiry, a
//! move, a late request) take every racing request first, in the order they went out, in
//! every history.

use super::mirror::{Act, Mirror, Step};
use crate::consumer::CommitGeneration;
use crate::protocol::{Assignors, ErrorCode, InstanceId, Response};
use std::ops::Deref;

/// The most histories kept at once: past it, the later ones are dropped (a probe has at most
/// a few members, so a few racing requests).
const HISTORIES: usize = 16;

/// The longest list of racing requests whose every order is tried; past it, only all of them
/// in the order they went out, and none.
const ORDERS_OF_AT_MOST: usize = 4;

/// The core's histories consistent with the broker's answers so far; the first is the one
/// a trace shows, and the one queries read.
pub struct Histories {
    kept: Vec<Mirror>,
}

impl Deref for Histories {
    type Target = Mirror;

    fn deref(&self) -> &Mirror {
        &self.kept[0]
    }
}

impl Histories {
    /// A fresh coordinator of a group over `partitions` partitions ([`Mirror::new`]).
    pub fn new(partitions: u8) -> Histories {
        Histories {
            kept: vec![Mirror::new(partitions)],
        }
    }

    /// Each history does `f`; the first one's result.
    fn every<T>(&mut self, mut f: impl FnMut(&mut Mirror) -> T) -> T {
        let mut results = self.kept.iter_mut().map(&mut f).collect::<Vec<T>>();
        results.swap_remove(0)
    }

    /// Which generation the consumers' commits carry (a model walk takes its model's).
    pub fn set_commit_generation(&mut self, commits: CommitGeneration) {
        self.every(|h| h.commit_generation = commits);
    }

    /// A step nobody judges, in every history ([`Mirror::take`]).
    pub fn take(&mut self, step: Step) -> Option<ErrorCode> {
        self.every(|h| h.take(step.clone()))
    }

    pub fn start(&mut self, m: usize, assignors: Assignors, instance: Option<InstanceId>) {
        self.every(|h| h.start(m, assignors, instance));
    }

    pub fn act(&mut self, m: usize, act: Act) {
        self.every(|h| h.act(m, act));
    }

    pub fn expire(&mut self, m: usize) {
        self.every(|h| h.expire(m));
    }

    pub fn loaded(&mut self) {
        self.every(Mirror::loaded);
    }

    pub fn move_coordinator(&mut self) {
        self.every(Mirror::move_coordinator);
    }

    pub fn abandon(&mut self, m: usize) {
        self.every(|h| h.abandon(m));
    }

    /// The request member `m` gave up on arrives; nobody reads the answer (the first
    /// history's, for the trace).
    pub fn deliver_late(&mut self, m: usize) -> Option<Response> {
        self.every(|h| h.deliver_late(m))
    }

    /// The answer just judged is the one each history's last step gave (a late request's,
    /// taken in every history): that step's number in the first.
    pub fn stamp(&mut self) -> usize {
        self.every(|h| {
            h.judged_at.push(h.taken.len());
            h.taken.len()
        })
    }

    /// Member `m`'s request went out on a thread of its own ([`Mirror::race`]).
    pub fn race(&mut self, m: usize) {
        self.every(|h| h.race(m));
    }

    /// Whether the core parked member `m`'s racing request ([`Mirror::parked_racing`]).
    pub fn parked_racing(&mut self, m: usize) -> bool {
        self.every(|h| h.parked_racing(m))
    }

    /// A judged step: `step` takes it on a history and gives the core's answer with the
    /// step's number; `agrees` says whether that answer is the broker's. Keeps the histories,
    /// each forked over the orders of its racing requests, whose answer agrees (see the
    /// module's doc); if none does, the first, with its racing requests taken in the order
    /// they went out. The first kept history's answer and step.
    pub fn judge<T>(
        &mut self,
        step: impl Fn(&mut Mirror) -> (T, usize),
        agrees: impl Fn(&Mirror, &T) -> bool,
    ) -> (T, usize) {
        let mut kept: Vec<(Mirror, T, usize)> = Vec::new();
        for history in &self.kept {
            for order in orders(history.racing()) {
                let mut fork = history.clone();
                for &r in &order {
                    fork.take_raced(r);
                }
                let (answer, at) = step(&mut fork);
                let new = !kept.iter().any(|(k, ..)| k.same_as(&fork));
                if new && kept.len() < HISTORIES && agrees(&fork, &answer) {
                    kept.push((fork, answer, at));
                }
            }
        }
        if kept.is_empty() {
            let mut first = self.kept.swap_remove(0);
            first.take_all_racing();
            let (answer, at) = step(&mut first);
            kept.push((first, answer, at));
        }
        let mut results = Vec::new();
        self.kept = (kept.into_iter())
            .map(|(mut history, answer, at)| {
                history.judged_at.push(at);
                results.push((answer, at));
                history
            })
            .collect();
        results.swap_remove(0)
    }
}

/// Every order of every part of `racing`, the longest first, and of each length the order the
/// requests went out in first; past [`ORDERS_OF_AT_MOST`], only all of them in that order,
/// and none.
fn orders(racing: &[usize]) -> Vec<Vec<usize>> {
    if racing.len() > ORDERS_OF_AT_MOST {
        return vec![racing.to_vec(), Vec::new()];
    }
    let mut by_length = vec![vec![Vec::new()]];
    for n in 0..racing.len() {
        let longer = (by_length[n].iter())
            .flat_map(|order: &Vec<usize>| {
                let unused = racing.iter().filter(|r| !order.contains(r));
                unused.map(|&r| [order.clone(), vec![r]].concat())
            })
            .collect();
        by_length.push(longer);
    }
    by_length.into_iter().rev().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::{orders, Histories};
    use crate::probe::mirror::Act;
    use crate::protocol::{Assignor, Assignors, ErrorCode, Response};

    /// Member `m`'s next request delivered, judged against the broker's error `broker` (any,
    /// if none): the core's answer in the first history kept.
    fn deliver(h: &mut Histories, m: usize, broker: Option<ErrorCode>) -> Option<Response> {
        let deliver = |x: &mut super::Mirror| (x.deliver(m), x.taken.len());
        let agrees = |_: &super::Mirror, a: &Option<Response>| {
            broker.is_none() || a.as_ref().map(Response::error) == broker
        };
        h.judge(deliver, agrees).0
    }

    /// Member 0 alone in a stable group, member 1's rejoin on its way (its JoinGroup with
    /// the member id it was just given).
    fn rejoin_racing() -> Histories {
        let mut h = Histories::new(2);
        let assignors = Assignors::one(Assignor::RoundRobin);
        h.start(0, assignors, None);
        while h.outbox(0).is_some() {
            deliver(&mut h, 0, None);
        }
        h.start(1, assignors, None);
        let answer = deliver(&mut h, 1, None).map(|a| a.error());
        assert_eq!(answer, Some(ErrorCode::MemberIdRequired));
        h.race(1);
        h
    }

    #[test]
    fn a_racing_join_is_taken_where_a_heartbeat_answer_shows_the_broker_read_it() {
        let mut h = rejoin_racing();
        h.act(0, Act::Heartbeat);
        let beat = deliver(&mut h, 0, Some(ErrorCode::None));
        assert_eq!(beat.map(|a| a.error()), Some(ErrorCode::None));
        assert_eq!(h.racing(), [1], "not read yet: left to be taken later");
        h.act(0, Act::Heartbeat);
        let beat = deliver(&mut h, 0, Some(ErrorCode::RebalanceInProgress));
        assert_eq!(
            beat.map(|a| a.error()),
            Some(ErrorCode::RebalanceInProgress)
        );
        assert!(h.racing().is_empty(), "read before that heartbeat");
    }

    #[test]
    fn an_answer_no_order_gives_is_judged_with_every_racing_request_taken() {
        let mut h = rejoin_racing();
        h.act(0, Act::Heartbeat);
        let beat = deliver(&mut h, 0, Some(ErrorCode::UnknownMemberId));
        assert_eq!(
            beat.map(|a| a.error()),
            Some(ErrorCode::RebalanceInProgress)
        );
        assert!(h.racing().is_empty());
        assert_eq!(h.kept.len(), 1);
    }

    #[test]
    fn orders_of_two_racing_requests_longest_first_as_they_went_out_first() {
        let expected: Vec<Vec<usize>> = vec![vec![3, 5], vec![5, 3], vec![3], vec![5], vec![]];
        assert_eq!(orders(&[3, 5]), expected);
        assert_eq!(orders(&[]), vec![Vec::<usize>::new()]);
    }
}
