//! Judging a recorded run: the model's step-level properties, checked over the service's
//! history of events (a linearisation: each event was recorded inside its critical section).
//!
//! The same rules as the model's: a success response of the current coordinator must reveal
//! only what is durable (`durable_before_ack`); every commit that becomes durable comes from a
//! member of the durable generation that was given the partition (`no_zombie_commit`); no
//! acknowledged commit is lost or served below (`no_lost_commit`); the durable generation never
//! goes back (`generation_monotonic`); every assignment written is a function
//! (`assignment_is_function`).

use super::service::Event;
use crate::offsets_log::OffsetsLog;
use crate::property::reply::{judge_reply, lost_ack};
use crate::property::{first_overlap, Property};
use crate::protocol::{Offset, Record};

/// A property broken by a run, with the index of the event where it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub property: Property,
    pub event: usize,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at event {}: {}",
            self.property, self.event, self.detail
        )
    }
}

/// Something a real client did that the model's consumer never does, seen by the coordinator:
/// not a fault of the coordinator (Kafka's accepts it too), but a finding about the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFinding {
    pub kind: ClientFault,
    pub event: usize,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientFault {
    /// A member committed, in its generation, a partition that generation gave another member
    /// (the client's half of `no_zombie_commit`: Kafka's coordinator fences members and
    /// generations, not partitions).
    CommittedUnassigned,
    /// A commit became durable below an offset already acknowledged for the partition: the
    /// group's progress went back, and a restart would process those records again.
    CommitRegressed,
}

impl std::fmt::Display for ClientFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientFault::CommittedUnassigned => "committed a partition it was not assigned",
            ClientFault::CommitRegressed => "commit went back",
        })
    }
}

impl std::fmt::Display for ClientFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at event {}: {}", self.kind, self.event, self.detail)
    }
}

/// Who sent the commits of a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Committers {
    /// The core's consumer: it only commits what it was assigned, and never lower, so every
    /// such commit is the coordinator's fault.
    Core,
    /// Real clients: they may commit lower (a seek, a retry) and may commit partitions they
    /// no longer own; those are findings about the client, and the coordinator is judged
    /// only on what it enforces and keeps.
    Real,
}

/// Checks a history of the core's own consumers; `partitions` is the topic's size.
pub fn check(events: &[Event], partitions: u8) -> Vec<Violation> {
    judge(events, partitions, Committers::Core).0
}

/// Checks a history of real clients (a served run): the coordinator's violations, and what the
/// clients did that the model's consumer never does.
pub fn check_real_clients(
    events: &[Event],
    partitions: u8,
) -> (Vec<Violation>, Vec<ClientFinding>) {
    judge(events, partitions, Committers::Real)
}

fn judge(
    events: &[Event],
    partitions: u8,
    committers: Committers,
) -> (Vec<Violation>, Vec<ClientFinding>) {
    let mut out = Vec::new();
    let mut findings = Vec::new();
    // The durable log as the history has made it so far (compacted, like the real one).
    let mut durable = OffsetsLog::new(crate::protocol::BrokerId(0));
    let mut epoch = crate::protocol::LeaderEpoch(0);
    let mut acked: Vec<Offset> = vec![0; partitions as usize];
    let mut violation = |property, event, detail: String| {
        out.push(Violation {
            property,
            event,
            detail,
        })
    };
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::Elected { epoch: new, .. } => epoch = *new,
            Event::Replicated { batch } => {
                for r in batch {
                    match r {
                        Record::OffsetCommit {
                            partition,
                            committed_by,
                            offset,
                        } => {
                            let legit = durable.commit_is_legit(*partition, *committed_by);
                            let by = committed_by.map_or("no member".to_string(), |(m, g)| {
                                format!("{m} in generation {g}")
                            });
                            let fenced_in = durable
                                .durable_group()
                                .is_some_and(|g| g.fences_in(*committed_by));
                            let acked = &mut acked[usize::from(*partition)];
                            if committers == Committers::Real && *offset < *acked {
                                findings.push(ClientFinding {
                                    kind: ClientFault::CommitRegressed,
                                    event: i,
                                    detail: format!(
                                        "p{partition}@{offset} by {by}, after p{partition}@{acked} was acknowledged"
                                    ),
                                });
                                // The client replaced its own commit: the lower one is now the
                                // one the coordinator must keep.
                                *acked = *offset;
                            }
                            if !legit && committers == Committers::Real && fenced_in {
                                findings.push(ClientFinding {
                                    kind: ClientFault::CommittedUnassigned,
                                    event: i,
                                    detail: format!("p{partition}@{offset} by {by}"),
                                });
                            } else if !legit {
                                violation(
                                    Property::NoZombieCommit,
                                    i,
                                    format!("offset p{partition}@{offset} by {by} became durable"),
                                );
                            }
                        }
                        Record::GroupMetadata {
                            generation,
                            members,
                            ..
                        } => {
                            if let Some((p, m, n)) = first_overlap(members) {
                                violation(
                                    Property::AssignmentIsFunction,
                                    i,
                                    format!(
                                        "generation {generation} gives p{p} to both {m} and {n}"
                                    ),
                                );
                            }
                        }
                        _ => {}
                    }
                }
                let before = durable.durable_generation();
                durable.uncommitted.push(batch.clone());
                durable.replicate_one();
                if durable.durable_generation() < before {
                    violation(
                        Property::GenerationMonotonic,
                        i,
                        format!("{before} → {}", durable.durable_generation()),
                    );
                }
            }
            _ => {}
        }
        let Some((from_epoch, replies)) = e.replies() else {
            continue;
        };
        // As in the model: a deposed coordinator may still serve offsets that were durable in
        // its time, so only its OffsetFetch answers are not judged.
        for reply in replies {
            for fault in judge_reply(&durable, &mut acked, &reply.response, from_epoch == epoch) {
                violation(
                    fault.property(),
                    i,
                    format!("{fault:?} in {}", reply.response),
                );
            }
        }
    }
    if let Some((p, a)) = lost_ack(&durable, &acked) {
        violation(
            Property::NoLostCommit,
            events.len(),
            format!("acknowledged p{p}@{a} is not durable at the end"),
        );
    }
    (out, findings)
}
