//! What a success response may reveal: the step-level judgement behind `durable_before_ack`
//! and the fetch half of `no_lost_commit`, in one place for the model, the runtime's history
//! checker and the trace explanations.

use super::Property;
use crate::offsets_log::OffsetsLog;
use crate::protocol::{ErrorCode, Generation, MemberId, Offset, Partition, Partitions, Response};

/// Something a success response revealed that it must not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyFault {
    /// SyncGroup answered with an assignment the durable group metadata does not hold.
    UndurableAssignment {
        member: MemberId,
        generation: Generation,
        assignment: Partitions,
    },
    /// OffsetCommit acknowledged above the durable offset.
    UndurableAck {
        partition: Partition,
        offset: Offset,
    },
    /// OffsetFetch served something other than the durable offset.
    UndurableFetch {
        partition: Partition,
        served: Option<Offset>,
    },
    /// OffsetFetch served below an acknowledged commit.
    FetchBelowAck {
        partition: Partition,
        served: Option<Offset>,
        acked: Offset,
    },
}

impl ReplyFault {
    /// The property the fault breaks.
    pub fn property(self) -> Property {
        match self {
            ReplyFault::FetchBelowAck { .. } => Property::NoLostCommit,
            _ => Property::DurableBeforeAck,
        }
    }
}

/// Judges one response sent now against the log and the highest offset acknowledged per
/// partition so far (updated by acknowledgements). `current` is false for a deposed
/// coordinator that has not heard of its demotion: it may still serve the group and the offsets
/// that were durable in its time (Kafka has the same window), so only its acknowledgements are
/// judged — its writes are refused, so it must never acknowledge anything new.
pub fn judge_reply(
    log: &OffsetsLog,
    acked: &mut [Offset],
    response: &Response,
    current: bool,
) -> Vec<ReplyFault> {
    let mut faults = Vec::new();
    match response {
        Response::SyncGroup {
            error: ErrorCode::None,
            member_id,
            generation,
            assignment,
        } if current && !log.assignment_is_durable(*member_id, *generation, *assignment) => faults
            .push(ReplyFault::UndurableAssignment {
                member: *member_id,
                generation: *generation,
                assignment: *assignment,
            }),
        Response::OffsetCommit {
            error: ErrorCode::None,
            offsets,
        } => {
            for &(partition, offset) in offsets {
                if log.ack_is_undurable(partition, offset) {
                    faults.push(ReplyFault::UndurableAck { partition, offset });
                }
                let a = &mut acked[partition as usize];
                *a = (*a).max(offset);
            }
        }
        Response::OffsetFetch {
            error: ErrorCode::None,
            offsets,
        } if current => {
            for &(partition, served) in offsets {
                let acked = acked[partition as usize];
                if served.unwrap_or(0) < acked {
                    faults.push(ReplyFault::FetchBelowAck {
                        partition,
                        served,
                        acked,
                    });
                }
                if log.fetch_is_undurable(partition, served) {
                    faults.push(ReplyFault::UndurableFetch { partition, served });
                }
            }
        }
        _ => {}
    }
    faults
}

/// The first partition whose acknowledged offset the durable log no longer holds.
pub fn lost_ack(log: &OffsetsLog, acked: &[Offset]) -> Option<(Partition, Offset)> {
    acked
        .iter()
        .enumerate()
        .find(|(p, a)| **a > 0 && log.ack_is_undurable(*p as Partition, **a))
        .map(|(p, a)| (p as Partition, *a))
}
