//! The coordinator's clocks. The core has none: it is told when a session expired or a join
//! phase lasted too long. This background thread tells it, from real time, as Kafka's
//! coordinator does with its heartbeat and rebalance timers.
//!
//! A member is heard from whenever a request that refreshes its session reaches any broker
//! (the core says which: `Coordinator::session_refreshed_by`); the service keeps the last time. Every tick, the thread looks at the leading coordinator: a
//! member silent for longer than the session timeout is expired (the core ignores members it
//! must not expire, such as one whose JoinGroup is parked), a join phase that has lasted
//! the rebalance timeout is ended, removing the members that did not rejoin, and the rebalance
//! timeout after a join phase ended the members that have not sent their SyncGroup are removed,
//! whether the group still completes the rebalance or is Stable already.

use super::service::{GroupService, Timer};
use super::threads;
use crate::coordinator::{GroupState, LoadState};
use crate::protocol::{Generation, MemberId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Kafka's new-member join timeout (`classicGroupNewMemberJoinTimeoutMs`, formerly
/// `GroupCoordinator.NewMemberJoinTimeoutMs`: five minutes): how long a new member's first
/// JoinGroup may wait before the member is removed, so that clients that gave up and retried
/// leave no defunct members behind. Its session does not apply while it waits: it cannot
/// heartbeat before it is answered.
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// The phase of a rebalance the group is in, since when.
type Phase = (GroupState, Generation, Instant);

/// The running timer thread; dropping it stops the thread.
pub struct Timers {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Hears of a timer that fired, for a timeline.
pub type OnFire = Box<dyn Fn(Timer) + Send>;

impl Timers {
    /// Starts the thread. `on_fire` hears of every timer that fires (before it is applied).
    pub fn start(
        service: Arc<GroupService>,
        session_timeout: Duration,
        rebalance_timeout: Duration,
        on_fire: OnFire,
    ) -> Timers {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::spawn(move || {
            let mut phase_since: Option<Phase> = None;
            while !stopping.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(10));
                tick(
                    &service,
                    session_timeout,
                    rebalance_timeout,
                    &mut phase_since,
                    &on_fire,
                );
            }
        });
        Timers {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread and waits for it; `Err` if it panicked.
    pub fn stop(mut self) -> Result<(), String> {
        self.halt()
    }

    fn halt(&mut self) -> Result<(), String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => threads::join(t, "the timer thread"),
            None => Ok(()),
        }
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        // Stopped without a report (the run was abandoned): nothing to tell the panic to.
        let _ = self.halt();
    }
}

fn tick(
    service: &GroupService,
    session: Duration,
    rebalance: Duration,
    phase_since: &mut Option<Phase>,
    on_fire: &OnFire,
) {
    let (brokers, log) = service.snapshot();
    let leader = &brokers[log.leader.index()];
    if leader.load != LoadState::Active {
        return;
    }
    let now = Instant::now();
    let mut ids: Vec<MemberId> = leader.group.members.iter().map(|m| m.id).collect();
    ids.extend(leader.group.pending_members.iter().copied());
    for id in ids {
        // Judged one member at a time, when its turn comes: an expiry before it in this tick
        // may have ended a join phase, and the answer to its JoinGroup restarted its session.
        let heard = service.last_heard(id).unwrap_or_else(|| {
            // First seen by the clock: its session starts now.
            service.heard_from(id, now);
            now
        });
        // A member new to the group, waiting in its first join phase, has the new-member join
        // timeout instead of its session.
        let new = leader.group.member(id);
        let limit = if new.is_some_and(|m| m.is_new && m.awaiting_join.is_some()) {
            NEW_MEMBER_JOIN_TIMEOUT
        } else {
            session
        };
        if Instant::now().duration_since(heard) > limit && leader.can_expire(id) {
            on_fire(Timer::ExpireSession(id));
            service.expire_session(id);
        }
    }
    // A join phase that lasts the rebalance timeout ends without the members that did not
    // rejoin; the rebalance timeout after a join phase ended (KAFKA-12890's pending-sync
    // timer), the members that have not sent their SyncGroup are removed, whether the group
    // still completes that rebalance or is Stable already. So there are two clocks: one over
    // the join phase, one from its end while anyone answered in it has yet to sync.
    let clock = match leader.group.state {
        GroupState::PreparingRebalance => GroupState::PreparingRebalance,
        _ if !leader.pending_sync().is_empty() => GroupState::CompletingRebalance,
        _ => {
            *phase_since = None;
            return;
        }
    };
    let now_in = (clock, leader.group.generation);
    match *phase_since {
        Some((state, generation, since)) if (state, generation) == now_in => {
            if now.duration_since(since) > rebalance {
                if state == GroupState::PreparingRebalance && leader.can_time_out_join() {
                    on_fire(Timer::RebalanceTimeout);
                    service.rebalance_timeout();
                } else if state == GroupState::CompletingRebalance
                    && leader.can_time_out_sync(service.config())
                {
                    on_fire(Timer::PendingSyncTimeout);
                    service.pending_sync_timeout();
                }
                *phase_since = None;
            }
        }
        _ => *phase_since = Some((now_in.0, now_in.1, now)),
    }
}
