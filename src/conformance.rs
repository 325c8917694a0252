//! Conformance of the runtime to the model: the same execution, step by step, on both.
//!
//! The model is the environment (network, consumers, faults); the runtime's
//! [`GroupService`](crate::runtime::GroupService) stands in for its brokers and
//! `__consumer_offsets`. Every step that reaches a broker or the log is also performed on the
//! runtime, through its locks, mailboxes and deferred completions; after each step the
//! runtime's coordinators and log must equal the model's, and the answers it posted must be the
//! ones the model put on the network.

use crate::model::{Action, Addr, Control, GroupModel, Msg, World};
use crate::protocol::Reply;
use crate::runtime::GroupService;
use stateright::Model;

/// Where the runtime left the model's execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// 1-based step.
    pub step: usize,
    pub action: String,
    pub what: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} ({}): {}", self.step, self.action, self.what)
    }
}

/// The runtime following one model execution.
pub struct Follower {
    pub service: GroupService,
    steps: usize,
    /// Whether the model's controller sends its StartLeading as a message (then a failover
    /// elects in the log only, and the message's delivery starts the load).
    start_leading_travels: bool,
}

impl Follower {
    /// A runtime in the model's state `w` (normally its initial state).
    pub fn new(model: &GroupModel, w: &World) -> Follower {
        Follower {
            service: GroupService::from_parts(model.core, w.brokers.to_vec(), w.log.clone(), false),
            steps: 0,
            start_leading_travels: model.cfg.network.start_leading_travels,
        }
    }

    /// Performs `action` on the runtime as the model performs it from `before` to `after`,
    /// and compares.
    pub fn step(&mut self, before: &World, action: &Action, after: &World) -> Result<(), Mismatch> {
        self.steps += 1;
        let s = &self.service;
        match action {
            Action::Deliver(env) => match (&env.src, &env.dst, &env.msg) {
                (Addr::Client(from), Addr::Broker(b), Msg::Request(r)) => s.send(*b, *from, r),
                (_, Addr::Broker(b), Msg::Control(Control::StartLeading { epoch })) => {
                    s.start_leading(*b, *epoch)
                }
                (_, Addr::Broker(b), Msg::Control(Control::StopLeading { epoch })) => {
                    s.stop_leading(*b, *epoch)
                }
                _ => {}
            },
            Action::Replicate => {
                s.replicate();
            }
            Action::Compact => {}
            Action::FinishLoading(b) => {
                s.finish_loading(*b);
            }
            Action::ExpireSession(id) => s.expire_session(*id),
            Action::RebalanceTimeout => s.rebalance_timeout(),
            Action::PendingSyncTimeout => s.pending_sync_timeout(),
            Action::Failover(to) if self.start_leading_travels => {
                s.elect_in_log(*to);
            }
            Action::Failover(to) => {
                s.elect(*to);
            }
            Action::Lose(_)
            | Action::Abandon(_)
            | Action::TimeOut(_)
            | Action::Consume(..)
            | Action::Commit(_)
            | Action::Heartbeat(_)
            | Action::Crash(_)
            | Action::Close(_)
            | Action::StallSync(_)
            | Action::Bounce(_)
            | Action::Restart(_)
            | Action::Start(_) => {}
        }
        // The model's cleaner runs on Compact, and at every step once no loader can read the log
        // any more: the runtime's runs whenever the model's log is left compacted.
        if !after.log.compactable() {
            s.compact();
        }
        let mismatch = |what: String| Mismatch {
            step: self.steps,
            action: action.to_string(),
            what,
        };
        if let Some(what) = answers_differ(before, after, s.drain()) {
            return Err(mismatch(what));
        }
        let (brokers, log) = s.snapshot();
        if log != after.log {
            return Err(mismatch(format!(
                "__consumer_offsets differs: runtime {log:?}, model {:?}",
                after.log
            )));
        }
        for (b, (r, m)) in brokers.iter().zip(&after.brokers).enumerate() {
            if r != m {
                return Err(mismatch(format!(
                    "broker-{b} differs: runtime {r:?}, model {m:?}"
                )));
            }
        }
        Ok(())
    }
}

/// Follows a whole path of the model from its initial state.
pub fn follow(model: &GroupModel, actions: &[Action]) -> Result<(), Mismatch> {
    let mut w = model.init_states().remove(0);
    let mut follower = Follower::new(model, &w);
    for a in actions {
        let next = model.step(&w, a);
        follower.step(&w, a, &next)?;
        w = next;
    }
    Ok(())
}

/// Whether the runtime's answers (to connections still alive after the step) differ from the
/// answers the model's step from `before` to `after` sent, and how.
pub fn answers_differ(
    before: &World,
    after: &World,
    runtime: impl IntoIterator<Item = Reply>,
) -> Option<String> {
    let mut posted: Vec<Reply> = runtime
        .into_iter()
        .filter(|r| after.consumer_at(r.to).is_some())
        .collect();
    let mut sent: Vec<Reply> = after
        .sent_since(before)
        .into_iter()
        .filter_map(|e| match (&e.src, &e.dst, &e.msg) {
            (Addr::Broker(_), Addr::Client(to), Msg::Response(r))
                if after.consumer_at(*to).is_some() =>
            {
                Some(Reply {
                    to: *to,
                    response: r.clone(),
                })
            }
            _ => None,
        })
        .collect();
    posted.sort();
    sent.sort();
    (posted != sent).then(|| format!("the runtime answered {posted:?}, the model {sent:?}"))
}
