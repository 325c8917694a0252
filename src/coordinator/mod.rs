//! The group coordinator: what every group protocol shares — leadership of
//! `__consumer_offsets` (loading by replay, unloading), which requests it serves, the log and
//! its pending writes, and offsets — with the classic protocol's handlers in [`classic`].
//!
//! Sans-IO, with one output convention: a public entry point (a request, a timer, a log or
//! controller event) returns the replies it can send now, and everything below it pushes into
//! that list. Replies to writes are held back until the batch holding their records is durable
//! ([`Coordinator::on_batch_durable`]); an append refused because leadership moved unloads the
//! coordinator, failing everything pending with NOT_COORDINATOR. The coordinator never answers
//! with anything the log would not give back after a failover.
//!
//! The rules follow Kafka's group-coordinator module (`GroupMetadataManager`,
//! `OffsetMetadataManager`, `classic/ClassicGroup`): docs/protocol.md states them, and
//! docs/model.md lists where we simplify.

pub mod classic;
pub mod replay;

pub use classic::{Group, GroupState, JoinMetadata, Member};

use crate::assignor::Assignor;
use crate::flaw::{Flaw, Flaws};
use crate::offsets_log::LogAppender;
use crate::protocol::{Assignors, PerPartition, Small};
use crate::protocol::{
    BrokerId, ClientAddr, ErrorCode, Generation, InstanceId, LeaderEpoch, MemberId, Offset,
    Partition, Partitions, Record, Reply, Request, Response,
};
use serde::{Deserialize, Serialize};

/// What the core needs to know of a configuration: the topic's size, the assignor the group
/// leader runs, and the switched-on flaws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoreConfig {
    pub partitions: u8,
    pub assignor: Assignor,
    pub flaws: Flaws,
}

/// CoordinatorRuntime's per-partition state: only an ACTIVE coordinator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LoadState {
    NotCoordinator,
    Loading,
    Active,
}

/// A write whose answer waits for its batch to become durable.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PendingWrite {
    /// The leader's SyncGroup: the group metadata with the new assignment.
    Assignment {
        generation: Generation,
        assignments: Vec<(MemberId, Partitions)>,
    },
    /// An OffsetCommit; `acked` if the reply already went out (only under a flaw).
    Offsets {
        to: ClientAddr,
        offsets: Vec<(Partition, Offset)>,
        acked: bool,
    },
    /// A static member's new member id (KIP-345), with the generation it joined in Stable: its
    /// JoinGroup waits for this write.
    Replacement {
        generation: Generation,
        member: MemberId,
    },
    /// A batch nobody waits for (the metadata of a group left with no members).
    Unawaited,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Coordinator {
    pub broker: BrokerId,
    pub load: LoadState,
    /// The leader epoch of `__consumer_offsets` this coordinator holds (or is loading).
    pub epoch: LeaderEpoch,
    pub group: Group,
    /// The committed offsets it serves: updated only once a commit is durable.
    pub offsets: PerPartition<Option<Offset>>,
    /// Writes appended but not yet durable, in log order.
    pub pending: Vec<PendingWrite>,
    /// Sequence for minting member ids in this epoch.
    pub next_member_seq: u32,
}

type Replies = Vec<Reply>;

impl Coordinator {
    /// A broker that does not lead the group's partition.
    pub fn idle(broker: BrokerId, cfg: &CoreConfig) -> Coordinator {
        Coordinator {
            broker,
            load: LoadState::NotCoordinator,
            epoch: LeaderEpoch(0),
            group: Group {
                state: GroupState::Dead,
                ..Group::empty()
            },
            offsets: smallvec::smallvec![None; cfg.partitions as usize],
            pending: Vec::new(),
            next_member_seq: 0,
        }
    }

    /// The coordinator of a brand-new group: leads epoch `epoch` of an empty log.
    pub fn active(broker: BrokerId, epoch: LeaderEpoch, cfg: &CoreConfig) -> Coordinator {
        Coordinator {
            load: LoadState::Active,
            epoch,
            group: Group::empty(),
            ..Coordinator::idle(broker, cfg)
        }
    }

    // ----------------------------------------------------------------------------------------
    // Leadership of __consumer_offsets

    /// Told (by the controller) that it leads epoch `epoch`. A message about an epoch no later
    /// than the latest it has heard of, as leader or not, is stale and changes nothing: it
    /// arrived after a later failover's message (two controllers racing), and loading for it
    /// would leave this broker loading for good for an epoch that is over.
    pub fn on_start_leading(&mut self, epoch: LeaderEpoch, cfg: &CoreConfig) -> Replies {
        if self.epoch < epoch {
            self.start_loading(epoch, cfg)
        } else {
            Vec::new()
        }
    }

    /// Told (by the controller) that epoch `epoch` has another leader. Stale if it already holds
    /// a later epoch. It remembers `epoch`, so that a StartLeading older than it, still on its
    /// way, is known for stale when it arrives.
    pub fn on_stop_leading(&mut self, epoch: LeaderEpoch, cfg: &CoreConfig) -> Replies {
        if self.epoch < epoch {
            let replies = self.stop_leading(cfg);
            self.epoch = epoch;
            replies
        } else {
            Vec::new()
        }
    }

    /// Elected leader of epoch `epoch`: answer COORDINATOR_LOAD_IN_PROGRESS until loaded.
    pub fn start_loading(&mut self, epoch: LeaderEpoch, cfg: &CoreConfig) -> Replies {
        let mut replies = Vec::new();
        self.unload(&mut replies);
        *self = Coordinator {
            load: LoadState::Loading,
            epoch,
            group: Group::empty(),
            ..Coordinator::idle(self.broker, cfg)
        };
        replies
    }

    /// Replay of the durable log finished: the group comes back Stable (if it has members) or
    /// Empty, at the last durable generation. Any rebalance in flight at the old coordinator is
    /// lost, as in Kafka.
    pub fn finish_loading(&mut self, durable: &[Record], cfg: &CoreConfig) {
        let snapshot = replay::load(cfg.partitions, durable, cfg.flaws);
        let members: Vec<Member> = snapshot
            .members
            .iter()
            .map(|(id, assignment)| Member {
                assignment: *assignment,
                // Only the selected protocol's metadata is in the record (as in Kafka), so a
                // loaded member supports just that one until it rejoins.
                protocols: snapshot.protocol.map(Assignors::one).unwrap_or_default(),
                instance: snapshot
                    .instances
                    .iter()
                    .find(|(m, _)| m == id)
                    .map(|(_, i)| *i),
                ..Member::new(*id)
            })
            .collect();
        self.group = Group {
            state: if members.is_empty() {
                GroupState::Empty
            } else {
                GroupState::Stable
            },
            generation: snapshot.generation,
            protocol: snapshot.protocol,
            leader: snapshot.leader,
            members: members.into_iter().collect(),
            pending_members: Small::new(),
        };
        self.offsets = snapshot.offsets;
        self.load = LoadState::Active;
    }

    /// Leadership moved away: fail every parked request and pending write with NOT_COORDINATOR.
    /// The epoch it led stays known (see [`Coordinator::on_start_leading`]).
    pub fn stop_leading(&mut self, cfg: &CoreConfig) -> Replies {
        let mut replies = Vec::new();
        self.unload(&mut replies);
        *self = Coordinator {
            epoch: self.epoch,
            ..Coordinator::idle(self.broker, cfg)
        };
        replies
    }

    /// Fails every parked request and unacknowledged commit with NOT_COORDINATOR.
    fn unload(&self, replies: &mut Replies) {
        self.fail_parked(ErrorCode::NotCoordinator, replies);
        for w in &self.pending {
            if let PendingWrite::Offsets {
                to,
                offsets,
                acked: false,
            } = w
            {
                replies.push(Reply {
                    to: *to,
                    response: Response::OffsetCommit {
                        error: ErrorCode::NotCoordinator,
                        offsets: offsets.clone(),
                    },
                });
            }
        }
    }

    /// The oldest pending batch is durable: complete what waited for it.
    pub fn on_batch_durable(&mut self) -> Replies {
        let mut replies = Vec::new();
        if self.pending.is_empty() {
            return replies;
        }
        match self.pending.remove(0) {
            PendingWrite::Assignment {
                generation,
                assignments,
            } => self.on_assignment_durable(generation, &assignments, &mut replies),
            PendingWrite::Replacement { generation, member } => {
                self.on_replacement_durable(generation, member, &mut replies)
            }
            PendingWrite::Offsets { to, offsets, acked } => {
                for (p, o) in &offsets {
                    self.offsets[*p as usize] = Some(*o);
                }
                if !acked {
                    replies.push(Reply {
                        to,
                        response: Response::OffsetCommit {
                            error: ErrorCode::None,
                            offsets,
                        },
                    });
                }
            }
            PendingWrite::Unawaited => {}
        }
        replies
    }

    /// Appends a batch; if leadership is gone, unloads and reports false.
    fn append(
        &mut self,
        log: &mut dyn LogAppender,
        batch: Vec<Record>,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) -> bool {
        match log.append(self.epoch, batch) {
            Ok(()) => true,
            Err(_) => {
                // NOT_LEADER_OR_FOLLOWER maps to NOT_COORDINATOR. Kafka reverts the failed batch
                // and unloads only when its resignation arrives; unloading now gives the same
                // answers, earlier, and leaves nothing to revert.
                replies.extend(self.stop_leading(cfg));
                false
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Requests

    /// Whether this coordinator serves `request` now; `Err` carries the answer if not.
    fn check_serving(&self, request: &Request, cfg: &CoreConfig) -> Result<(), ErrorCode> {
        match self.load {
            // A Dead group (deleted; here only set by hand, as groups are never deleted) answers
            // every group API this way (KAFKA-8386); its committed offsets may still be read.
            LoadState::Active
                if self.group.state == GroupState::Dead
                    && !matches!(request, Request::OffsetFetch { .. }) =>
            {
                Err(ErrorCode::CoordinatorNotAvailable)
            }
            LoadState::Active => Ok(()),
            LoadState::NotCoordinator => Err(ErrorCode::NotCoordinator),
            LoadState::Loading => match request {
                // "the group is still loading, so respond just blindly"
                Request::Heartbeat { .. } => Err(ErrorCode::None),
                // "we've lost the state of the active rebalance": start over at JoinGroup
                Request::SyncGroup { .. } => Err(ErrorCode::RebalanceInProgress),
                Request::OffsetFetch { .. } | Request::JoinGroup { .. }
                    if cfg.flaws.has(Flaw::ServeBeforeLoad) =>
                {
                    Ok(())
                }
                _ => Err(ErrorCode::CoordinatorLoadInProgress),
            },
        }
    }

    /// Handles one request arriving on connection `from`.
    pub fn handle(
        &mut self,
        from: ClientAddr,
        request: &Request,
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
    ) -> Replies {
        if *request == Request::FindCoordinator {
            return vec![self.find_coordinator(from)];
        }
        if let Err(error) = self.check_serving(request, cfg) {
            return vec![Reply {
                to: from,
                response: Response::error_for(request, error),
            }];
        }
        let mut replies = Vec::new();
        match request {
            Request::FindCoordinator => replies.push(self.find_coordinator(from)),
            Request::JoinGroup {
                member_id,
                protocols,
                claim,
                instance,
            } => {
                let metadata = JoinMetadata {
                    protocols: *protocols,
                    claim: *claim,
                };
                let join = (from, *member_id, *instance);
                self.join_group(join, metadata, log, cfg, &mut replies)
            }
            Request::SyncGroup {
                member_id,
                generation,
                assignments,
                instance,
            } => self.sync_group(
                from,
                *member_id,
                *instance,
                *generation,
                assignments,
                log,
                cfg,
                &mut replies,
            ),
            Request::Heartbeat { .. } => replies.push(Reply {
                to: from,
                response: Response::Heartbeat {
                    error: self.heartbeat_error(request, cfg),
                },
            }),
            Request::LeaveGroup {
                member_id,
                instance,
            } => {
                let mut error = self.leave_group(*member_id, *instance, log, cfg, &mut replies);
                if self.load != LoadState::Active {
                    // Emptying the group needed a write, and leadership was gone.
                    error = ErrorCode::NotCoordinator;
                }
                replies.push(Reply {
                    to: from,
                    response: Response::LeaveGroup { error },
                });
            }
            Request::OffsetCommit {
                member_id,
                generation,
                offsets,
                instance,
            } => self.offset_commit(
                from,
                *member_id,
                *instance,
                *generation,
                offsets,
                log,
                cfg,
                &mut replies,
            ),
            Request::OffsetFetch { partitions } => replies.push(Reply {
                to: from,
                response: Response::OffsetFetch {
                    error: ErrorCode::None,
                    offsets: partitions
                        .iter()
                        .filter(|p| (*p as usize) < self.offsets.len())
                        .map(|p| (p, self.offsets[p as usize]))
                        .collect(),
                },
            }),
        }
        replies
    }

    /// FindCoordinator is not a group API: any broker answers it from cluster metadata, loading
    /// or not. This broker knows only whether it leads the group's partition itself.
    fn find_coordinator(&self, to: ClientAddr) -> Reply {
        let response = match self.load {
            LoadState::NotCoordinator => Response::error_for(
                &Request::FindCoordinator,
                ErrorCode::CoordinatorNotAvailable,
            ),
            LoadState::Loading | LoadState::Active => Response::FindCoordinator {
                error: ErrorCode::None,
                coordinator: Some(self.broker),
            },
        };
        Reply { to, response }
    }

    #[allow(clippy::too_many_arguments)]
    fn offset_commit(
        &mut self,
        from: ClientAddr,
        id: MemberId,
        instance: Option<InstanceId>,
        generation: Generation,
        offsets: &[(Partition, Offset)],
        log: &mut dyn LogAppender,
        cfg: &CoreConfig,
        replies: &mut Replies,
    ) {
        let reply = |error| Reply {
            to: from,
            response: Response::OffsetCommit {
                error,
                offsets: offsets.to_vec(),
            },
        };
        if let Err(error) = self.validate_offset_commit(id, instance, generation, cfg) {
            replies.push(reply(error));
            return;
        }
        // Kafka answers per partition; the whole commit is refused here.
        if offsets.iter().any(|(p, _)| *p >= cfg.partitions) {
            replies.push(reply(ErrorCode::UnknownTopicOrPartition));
            return;
        }
        let batch = offsets
            .iter()
            .map(|(p, o)| Record::OffsetCommit {
                partition: *p,
                offset: *o,
                committed_by: Some((id, generation)),
            })
            .collect();
        if !self.append(log, batch, cfg, replies) {
            replies.push(reply(ErrorCode::NotCoordinator));
            return;
        }
        let ack_now = cfg.flaws.has(Flaw::CommitAckBeforeDurable);
        if ack_now {
            replies.push(reply(ErrorCode::None));
        }
        self.pending.push(PendingWrite::Offsets {
            to: from,
            offsets: offsets.to_vec(),
            acked: ack_now,
        });
    }

    /// Whether a request that arrived on `to` is parked here, still to be answered (a JoinGroup
    /// or SyncGroup waiting for the join phase or the assignment, an OffsetCommit waiting for
    /// durability).
    pub fn parks_request_of(&self, to: ClientAddr) -> bool {
        self.group
            .members
            .iter()
            .any(|m| m.awaiting_join == Some(to) || m.awaiting_sync == Some(to))
            || self
                .pending
                .iter()
                .any(|w| matches!(w, PendingWrite::Offsets { to: t, acked: false, .. } if *t == to))
    }
}
