//! loom: every interleaving of the runtime's threads, one test per race.
//!
//! Built only with `RUSTFLAGS="--cfg loom"` (in its own target directory); `tests/loom_gate.rs`
//! runs this file from the normal test command. Each scenario forms its group on the main thread
//! (no branching), then races a few operations, and judges the whole recorded history with the
//! model's properties (`runtime::history`) plus the state-based ones (single ownership among
//! current members, replay equivalence) at the end.
//!
//! Preemption bounds are set per test with `loom::model::Builder::preemption_bound`; the figures
//! are in docs/runtime.md.
#![cfg(loom)]

use groupcheck::assignor::Assignor;
use groupcheck::consumer::Send as Sent;
use groupcheck::coordinator::{CoreConfig, LoadState};
use groupcheck::flaw::Flaws;
use groupcheck::property::{replay_difference, shared_instance, Claim, GroupView, Property};
use groupcheck::protocol::{
    BrokerId, ClientAddr, ConsumerId, ErrorCode, InstanceId, Partitions, Response,
};
use groupcheck::runtime::client::{form_group, form_static_group, settle, Client};
use groupcheck::runtime::{history, GroupService};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

const CFG: CoreConfig = CoreConfig {
    partitions: 2,
    assignor: Assignor::Range,
    flaws: Flaws::NONE,
};

fn model(bound: usize, f: impl Fn() + Send + Sync + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.check(f);
}

/// The high watermark keeps moving until `n` threads have counted themselves `done` (their
/// writes need it to be answered).
fn replicate_until(service: &GroupService, done: &AtomicUsize, n: usize) {
    while done.load(Ordering::SeqCst) < n {
        if !service.replicate() {
            thread::yield_now();
        }
    }
}

/// The model's properties over what happened, and the state-based ones over where it ended.
fn judge(service: &GroupService, clients: &[Client]) {
    let partitions = service.config().partitions;
    let violations = history::check(&service.events(), partitions);
    assert!(violations.is_empty(), "{violations:?}");
    let (brokers, log) = service.snapshot();
    let leader = &brokers[log.leader.index()];
    if leader.load == LoadState::Active && leader.epoch == log.leader_epoch {
        let claims = clients
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Claim::of(i, &c.consumer))
            .collect();
        let double = GroupView::of(&leader.group, claims).double_owner();
        assert!(double.is_none(), "{}: {double:?}", Property::SingleOwner);
    }
    let replayed = replay_difference(leader, log.leader_epoch, &log.durable, partitions);
    assert!(
        replayed.is_none(),
        "{}: {replayed:?}",
        Property::ReplayEquivalence
    );
}

/// KAFKA-2596 class, and a timer racing a state change (KAFKA-9752 / KAFKA-12890): a member
/// commits while its session expires and the high watermark moves. Whatever the order, a commit
/// is accepted only from a current member, and answered only once durable.
#[test]
fn commit_racing_its_session_expiry_is_fenced() {
    model(3, || {
        let service = Arc::new(GroupService::new(CFG, 1, true));
        let mut clients = form_group(&service, 2);
        let zombie = clients[0].consumer.member_id.unwrap();
        let p = clients[0].consumer.owned.iter().next().unwrap();
        clients[0].consumer.process(p);
        let send = clients[0].consumer.commit().unwrap();
        let addr = clients[0].addr();

        let s = service.clone();
        let committer = thread::spawn(move || s.send(send.to, addr, &send.request));
        let s = service.clone();
        let timer = thread::spawn(move || s.expire_session(zombie));
        let s = service.clone();
        let replicator = thread::spawn(move || {
            s.replicate();
        });
        committer.join().unwrap();
        timer.join().unwrap();
        replicator.join().unwrap();
        while service.replicate() {}

        match service.try_receive(addr) {
            Some(Response::OffsetCommit { error, .. }) => assert!(
                matches!(
                    error,
                    ErrorCode::None | ErrorCode::UnknownMemberId | ErrorCode::RebalanceInProgress
                ),
                "{error:?}"
            ),
            other => panic!("the commit was not answered: {other:?}"),
        }
        judge(&service, &clients);
    });
}

/// An unload racing a pending write (notes §6.3 iv): a commit is appended, the leader moves,
/// the high watermark moves. No success may be sent for a write the election truncated, and an
/// acknowledged offset must be what the new coordinator serves.
#[test]
fn failover_racing_a_pending_commit_never_acknowledges_a_truncated_write() {
    model(3, || {
        let service = Arc::new(GroupService::new(CFG, 2, true));
        let mut clients = form_group(&service, 1);
        clients[0].consumer.process(0);
        let send = clients[0].consumer.commit().unwrap();
        let addr = clients[0].addr();

        let s = service.clone();
        let committer = thread::spawn(move || s.send(send.to, addr, &send.request));
        let s = service.clone();
        let controller = thread::spawn(move || s.failover(BrokerId(1)));
        let s = service.clone();
        let replicator = thread::spawn(move || {
            s.replicate();
        });
        committer.join().unwrap();
        controller.join().unwrap();
        replicator.join().unwrap();
        while service.replicate() {}
        assert!(service.finish_loading(BrokerId(1)));

        let answer = service.try_receive(addr);
        let Some(Response::OffsetCommit { error, .. }) = answer else {
            panic!("the commit was not answered: {answer:?}");
        };
        let (brokers, log) = service.snapshot();
        if error == ErrorCode::None {
            assert_eq!(
                log.durable_offset(0),
                Some(1),
                "acknowledged but not durable"
            );
            assert_eq!(
                brokers[1].offsets[0],
                Some(1),
                "acknowledged but not served"
            );
        }
        judge(&service, &clients);
    });
}

/// The join barrier under concurrent joins and a leave: a newcomer joins, an old member rejoins
/// after its heartbeat learns of the rebalance, another member leaves. Every JoinGroup and
/// SyncGroup is answered (no deadlock, no lost wake-up), and the group ends with one owner per
/// partition.
#[test]
fn join_barrier_with_a_concurrent_join_and_leave_completes() {
    model(2, || {
        let service = Arc::new(GroupService::new(CFG, 1, true));
        let mut clients = form_group(&service, 2);
        let mut leaver = clients.pop().unwrap();
        let mut member = clients.pop().unwrap();
        let mut newcomer = Client::new(
            ClientAddr {
                consumer: ConsumerId(2),
                incarnation: 0,
                connection: 0,
            },
            &CFG,
        );
        // The newcomer has had its member id (the MEMBER_ID_REQUIRED round trip): the barrier
        // now waits for its second JoinGroup.
        let first = newcomer
            .consumer
            .on_coordinator_found(service.find_coordinator(), &CFG)
            .unwrap();
        service.send(first.to, newcomer.addr(), &first.request);
        let answer = service.try_receive(newcomer.addr()).unwrap();
        let second = newcomer.consumer.on_response(&answer, &CFG);
        assert!(second.is_some());
        let done = Arc::new(AtomicUsize::new(0));

        let (s, d) = (service.clone(), done.clone());
        let joiner = thread::spawn(move || {
            newcomer.exchange(&s, second);
            d.fetch_add(1, Ordering::SeqCst);
            newcomer
        });
        let (s, d) = (service.clone(), done.clone());
        let leaving = thread::spawn(move || {
            leaver.close(&s);
            // The heartbeat after the leave learns of the rebalance; the member rejoins.
            member.heartbeat(&s);
            d.fetch_add(1, Ordering::SeqCst);
            member
        });
        replicate_until(&service, &done, 2);
        let mut clients = vec![leaving.join().unwrap(), joiner.join().unwrap()];
        settle(&service, &mut clients, Vec::new());
        for c in &clients {
            assert!(c.is_stable(), "{} did not get back to Stable", c.addr());
        }
        let owned: Vec<_> = clients.iter().map(|c| c.consumer.owned).collect();
        assert_eq!(owned[0].union(owned[1]), Partitions::all(2));
        judge(&service, &clients);
    });
}

/// The high watermark racing a failover there and back: a batch becomes durable while the
/// leader moves away and returns with a new epoch and a new pending write. The durable batch
/// must complete nothing at the re-elected coordinator (the leader-epoch check on completion),
/// or the new write would be acknowledged before it is durable.
#[test]
fn high_watermark_racing_a_failover_and_back_completes_only_its_own_epoch() {
    model(3, || {
        let service = Arc::new(GroupService::new(CFG, 2, true));
        let mut clients = form_group(&service, 1);
        let member = clients[0].consumer.member_id.unwrap();
        let generation = clients[0].consumer.generation.unwrap();
        clients[0].consumer.process(0);
        let send = clients[0].consumer.commit().unwrap();
        let addr = clients[0].addr();
        service.send(send.to, addr, &send.request);

        let s = service.clone();
        let replicator = thread::spawn(move || {
            s.replicate();
        });
        let s = service.clone();
        let controller = thread::spawn(move || {
            s.failover(BrokerId(1));
            s.failover(BrokerId(0));
            if s.finish_loading(BrokerId(0)) {
                let again = groupcheck::protocol::Request::OffsetCommit {
                    member_id: member,
                    generation,
                    offsets: vec![(0, 2)],
                    instance: None,
                };
                s.send(BrokerId(0), addr, &again);
            }
        });
        replicator.join().unwrap();
        controller.join().unwrap();
        while service.replicate() {}
        judge(&service, &clients);
    });
}

/// Two controllers fail over at once (`serve`'s fault thread and its control API can): one
/// moves leadership to broker-1, the other to each broker of `others` in turn. Whatever the
/// order, the broker that leads last loads the group, and every other broker is left out of
/// it: none loads or serves for an epoch that is over.
fn racing_failovers_leave_the_last_leader_loading(others: &'static [u8]) {
    model(2, move || {
        let service = Arc::new(GroupService::new(CFG, 2, true));
        let clients = form_group(&service, 1);
        let s = service.clone();
        let there = thread::spawn(move || s.failover(BrokerId(1)));
        let s = service.clone();
        let other = thread::spawn(move || {
            for b in others {
                s.failover(BrokerId(*b));
            }
        });
        there.join().unwrap();
        other.join().unwrap();
        let (brokers, log) = service.snapshot();
        for b in brokers.iter().filter(|b| b.broker != log.leader) {
            assert_eq!(
                b.load,
                LoadState::NotCoordinator,
                "broker-{} is {:?} for epoch {}, but epoch {} has begun",
                b.broker,
                b.load,
                b.epoch,
                log.leader_epoch
            );
        }
        let leader = service.find_coordinator();
        assert!(
            service.finish_loading(leader),
            "broker-{leader} leads but cannot load"
        );
        judge(&service, &clients);
    });
}

/// One failover to broker-1 and one back to broker-0: the StopLeading of the first may reach
/// broker-0 after it leads again; it must be ignored, or the group's coordinator unloads for
/// good. And the StartLeading of the first may reach broker-1 after the StopLeading of the
/// second; broker-1 must remember the later epoch it was told of, or it loads for an epoch
/// that is over, for good, answering COORDINATOR_LOAD_IN_PROGRESS to a consumer that found it
/// before the second failover (found by the model `failover-and-back`, 2026-12-07).
#[test]
fn a_failover_racing_one_back_leaves_the_last_leader_loading() {
    racing_failovers_leave_the_last_leader_loading(&[0]);
}

/// Leadership goes to broker-1 twice: the StartLeading of its first, older epoch may reach it
/// after that of its second. It must be ignored (Kafka's loader skips an election older than
/// the epoch it holds), or broker-1 loads for an epoch that is over and never serves.
#[test]
fn failovers_racing_there_and_back_leave_the_last_leader_loading() {
    racing_failovers_leave_the_last_leader_loading(&[0, 1]);
}

/// OffsetCommit and OffsetFetch are linearizable against a sequential spec with generation
/// fencing (notes §6.3; the KAFKA-2596 class): consumer-0's session expired and the group moved
/// on to a generation without it. Its zombie commits p0@3 while p0's new owner commits p0@1 and
/// a third client fetches p0. The zombie is refused, the owner is acknowledged only once its
/// offset is durable, and the fetch sees a state of the spec: no offset or the owner's, never
/// the zombie's; if the owner's commit was acknowledged before the fetch was sent, the owner's.
#[test]
fn commits_and_a_fetch_across_a_generation_are_linearizable() {
    model(2, || {
        let service = Arc::new(GroupService::new(CFG, 1, true));
        let mut clients = form_group(&service, 2);
        assert!(clients[0].consumer.owned.contains(0));
        for _ in 0..3 {
            clients[0].consumer.process(0);
        }
        let zombie_commit = clients[0].consumer.commit().unwrap();
        service.expire_session(clients[0].consumer.member_id.unwrap());
        settle(&service, &mut clients[1..], Vec::new());
        let mut owner = clients.pop().unwrap();
        let zombie = clients.pop().unwrap();
        assert!(owner.is_stable() && owner.consumer.owned == Partitions::all(2));
        owner.consumer.process(0);
        let fetcher = ClientAddr {
            consumer: ConsumerId(2),
            incarnation: 0,
            connection: 0,
        };
        let (acked, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));

        let (s, z) = (service.clone(), zombie.addr());
        let zombie_thread =
            thread::spawn(move || s.send(zombie_commit.to, z, &zombie_commit.request));
        let (s, a, d) = (service.clone(), acked.clone(), done.clone());
        let owner_thread = thread::spawn(move || {
            owner.commit(&s);
            if owner.consumer.committed[0] == 1 {
                a.store(1, Ordering::SeqCst);
            }
            d.fetch_add(1, Ordering::SeqCst);
            owner
        });
        let (s, a, d) = (service.clone(), acked.clone(), done.clone());
        let fetch_thread = thread::spawn(move || {
            let acked_before = a.load(Ordering::SeqCst) == 1;
            let fetch = groupcheck::protocol::Request::OffsetFetch {
                partitions: Partitions::single(0),
            };
            s.send(s.find_coordinator(), fetcher, &fetch);
            let answer = s.receive(fetcher);
            d.fetch_add(1, Ordering::SeqCst);
            (acked_before, answer)
        });
        replicate_until(&service, &done, 2);
        zombie_thread.join().unwrap();
        let owner = owner_thread.join().unwrap();
        let (acked_before, fetched) = fetch_thread.join().unwrap();
        while service.replicate() {}

        assert_eq!(owner.consumer.committed[0], 1, "the owner's commit failed");
        match service.try_receive(zombie.addr()) {
            Some(Response::OffsetCommit { error, .. }) => assert!(
                matches!(
                    error,
                    ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration
                ),
                "the zombie's commit was answered {error:?}"
            ),
            other => panic!("the zombie's commit was not answered: {other:?}"),
        }
        let Response::OffsetFetch {
            error: ErrorCode::None,
            offsets,
        } = &fetched
        else {
            panic!("the fetch failed: {fetched:?}");
        };
        let seen = offsets[0].1;
        assert!(matches!(seen, None | Some(1)), "the fetch saw {seen:?}");
        if acked_before {
            assert_eq!(seen, Some(1), "an acknowledged commit was not fetched");
        }
        judge(&service, &[zombie, owner]);
    });
}

/// A rejoin racing its own session expiry, and a join barrier waiting for a silent member
/// (KAFKA-9752 / KAFKA-9232: a timer racing a state change). consumer-2 has left; consumer-0
/// learns of the rebalance and rejoins while its session timer fires and consumer-1, silent,
/// expires. Whatever the order, an expiry either finds consumer-0 parked in JoinGroup (its
/// heartbeat is satisfied: it stays) or removes it first (its JoinGroup is told
/// UNKNOWN_MEMBER_ID and it joins afresh); the expiry of the last missing member ends the join
/// phase and wakes the parked JoinGroup. Nothing is left unanswered, and consumer-0 ends up
/// owning every partition alone.
#[test]
fn rejoin_racing_its_session_expiry_and_a_silent_member_completes() {
    model(2, || {
        let service = Arc::new(GroupService::new(CFG, 1, true));
        let mut clients = form_group(&service, 3);
        let mut leaver = clients.pop().unwrap();
        let leave = leaver.consumer.close(&CFG);
        settle(&service, std::slice::from_mut(&mut leaver), vec![leave]);
        let silent = clients.pop().unwrap();
        let mut rejoiner = clients.pop().unwrap();
        let (rejoiner_id, silent_id) = (
            rejoiner.consumer.member_id.unwrap(),
            silent.consumer.member_id.unwrap(),
        );
        let done = Arc::new(AtomicUsize::new(0));

        let (s, d) = (service.clone(), done.clone());
        let rejoining = thread::spawn(move || {
            rejoiner.heartbeat(&s);
            d.fetch_add(1, Ordering::SeqCst);
            rejoiner
        });
        let (s, d) = (service.clone(), done.clone());
        let timer = thread::spawn(move || {
            s.expire_session(rejoiner_id);
            s.expire_session(silent_id);
            d.fetch_add(1, Ordering::SeqCst);
        });
        replicate_until(&service, &done, 2);
        let mut rejoiner = rejoining.join().unwrap();
        timer.join().unwrap();
        // If its session expired after it was back in a generation, a heartbeat tells it.
        settle(&service, std::slice::from_mut(&mut rejoiner), Vec::new());
        assert!(
            rejoiner.is_stable(),
            "consumer-0 did not get back to Stable"
        );
        assert_eq!(rejoiner.consumer.owned, Partitions::all(2));
        judge(&service, &[rejoiner, silent, leaver]);
    });
}

/// A static member's restart racing its old member id's session expiry (KIP-345; the timer
/// racing a state change of KAFKA-9752, on the replacement of KAFKA-10284). consumer-0's process
/// died; a new one joins with its instance id while the old member id's session timer fires and
/// the high watermark moves. Either the expiry comes first (the old member leaves, and the new
/// process joins as a new member of the emptied group) or the restart does (it takes the member
/// over, and the timer of a member id no longer in the group does nothing). Either way the new
/// process is answered only once what it is told is durable, it ends up owning everything, and
/// the coordinator never holds two members of one instance.
fn static_restart_racing_its_old_session_expiry(cfg: CoreConfig) {
    model(2, move || {
        let service = Arc::new(GroupService::new(cfg, 1, true));
        let clients = form_static_group(&service, 1);
        let old = &clients[0];
        let old_id = old.consumer.member_id.unwrap();
        service.disconnect(old.addr());
        let addr = ClientAddr {
            incarnation: 1,
            ..old.addr()
        };
        let mut restarted = Client::restarted(addr, &cfg);
        restarted.consumer = restarted
            .consumer
            .clone()
            .with_instance(Some(InstanceId(0)));
        let done = Arc::new(AtomicUsize::new(0));

        let (s, d) = (service.clone(), done.clone());
        let restarting = thread::spawn(move || {
            restarted.join(&s);
            d.fetch_add(1, Ordering::SeqCst);
            restarted
        });
        let (s, d) = (service.clone(), done.clone());
        let timer = thread::spawn(move || {
            s.expire_session(old_id);
            d.fetch_add(1, Ordering::SeqCst);
        });
        replicate_until(&service, &done, 2);
        let restarted = restarting.join().unwrap();
        timer.join().unwrap();
        while service.replicate() {}

        assert!(restarted.is_stable(), "the restarted process is not Stable");
        assert_eq!(restarted.consumer.owned, Partitions::all(2));
        let (brokers, _) = service.snapshot();
        let shared = shared_instance(&brokers[0].group.instances());
        assert!(
            shared.is_none(),
            "{}: {shared:?}",
            Property::StaticInstanceUnique
        );
        judge(&service, &[restarted]);
    });
}

#[test]
fn static_restart_racing_its_old_session_expiry_is_answered_once_durable() {
    static_restart_racing_its_old_session_expiry(CFG);
}

/// The same race without the guard it relies on (the replacement answered before it is durable,
/// KAFKA-10284): the history shows an answer revealing a member id the log does not hold.
#[test]
#[should_panic(expected = "DurableBeforeAck")]
fn static_restart_answered_before_durable_is_caught() {
    static_restart_racing_its_old_session_expiry(CoreConfig {
        flaws: Flaws::NONE.with(groupcheck::flaw::Flaw::StaticReplaceNotPersisted),
        ..CFG
    });
}

/// Four partitions, so that a follower holds two of them: consumer-0 leads with p0 and p2,
/// consumer-1 follows with p1 and p3.
const COOPERATIVE: CoreConfig = CoreConfig {
    partitions: 4,
    assignor: Assignor::CooperativeSticky,
    ..CFG
};

/// Sends `send` and hands the answer, which must already be there, to `client`.
fn exchange_now(service: &GroupService, client: &mut Client, send: Sent) -> Option<Sent> {
    service.send(send.to, client.addr(), &send.request);
    let answer = service
        .try_receive(client.addr())
        .expect("answered at once");
    client.consumer.on_response(&answer, &COOPERATIVE)
}

/// A cooperative revocation racing a rejoin (KIP-429; the two-round move KAFKA-14639 broke).
/// consumer-0 leads with p0 and p2, consumer-1 follows with p1 and p3, when consumer-2 joins.
/// The first rebalance leaves p3 out of consumer-1's assignment: consumer-1 commits the
/// progress it made on p3 during the rebalance, gives p3 up and rejoins claiming less than
/// before; meanwhile consumer-2 heartbeats, and rejoins if it hears of the new rebalance.
/// Whichever comes first, consumer-1's changed claim starts a rebalance (a follower rejoining a
/// Stable group with unchanged metadata just gets its generation back), and p3 ends with
/// consumer-2, never owned by two on the way.
#[test]
fn cooperative_revocation_racing_a_rejoin_hands_the_partition_on() {
    model(2, || {
        let service = Arc::new(GroupService::new(COOPERATIVE, 1, true));
        let mut clients = form_group(&service, 2);
        let mut follower = clients.pop().unwrap();
        let mut leader = clients.pop().unwrap();
        let (p1, p3) = (Partitions::single(1), Partitions::single(3));
        assert_eq!(follower.consumer.owned, p1.union(p3));
        follower.consumer.process(3);
        let addr = ClientAddr {
            consumer: ConsumerId(2),
            incarnation: 0,
            connection: 0,
        };
        let mut newcomer = Client::new(addr, &COOPERATIVE);
        // The first rebalance, step by step on this thread: the newcomer joins (two JoinGroups),
        // the others hear of it and rejoin keeping their partitions, all sync.
        let found = newcomer
            .consumer
            .on_coordinator_found(service.find_coordinator(), &COOPERATIVE);
        let join = exchange_now(&service, &mut newcomer, found.unwrap()).unwrap();
        service.send(join.to, addr, &join.request);
        // The follower commits its progress first (onJoinPrepare), then rejoins keeping p1 and p3,
        // and processes p3 on while the rebalance runs.
        let heartbeat = follower.consumer.heartbeat().unwrap();
        let commit = exchange_now(&service, &mut follower, heartbeat).unwrap();
        service.send(commit.to, follower.addr(), &commit.request);
        while service.replicate() {}
        let committed = service.try_receive(follower.addr()).unwrap();
        let rejoin = follower
            .consumer
            .on_response(&committed, &COOPERATIVE)
            .unwrap();
        service.send(rejoin.to, follower.addr(), &rejoin.request);
        follower.consumer.process(3);
        let heartbeat = leader.consumer.heartbeat().unwrap();
        let rejoin = exchange_now(&service, &mut leader, heartbeat).unwrap();
        let sync = exchange_now(&service, &mut leader, rejoin).unwrap();
        for c in [&mut follower, &mut newcomer] {
            let answer = service.try_receive(c.addr()).unwrap();
            let follower_sync = c.consumer.on_response(&answer, &COOPERATIVE).unwrap();
            service.send(follower_sync.to, c.addr(), &follower_sync.request);
        }
        service.send(sync.to, leader.addr(), &sync.request);
        while service.replicate() {}
        for c in [&mut leader, &mut newcomer] {
            let answer = service.try_receive(c.addr()).unwrap();
            assert!(c.consumer.on_response(&answer, &COOPERATIVE).is_none());
        }
        assert!(
            newcomer.consumer.owned.is_empty(),
            "p3 is not moved in one round"
        );
        let answer = service.try_receive(follower.addr()).unwrap();
        let revoke = follower.consumer.on_response(&answer, &COOPERATIVE);
        let revoke = revoke.expect("the follower commits p3 before it gives it up");
        let done = Arc::new(AtomicUsize::new(0));

        let (s, d) = (service.clone(), done.clone());
        let revoking = thread::spawn(move || {
            s.send(revoke.to, follower.addr(), &revoke.request);
            let answer = s.receive(follower.addr());
            // p3 given up: the follower rejoins claiming less.
            let rejoin = follower
                .consumer
                .on_response(&answer, &COOPERATIVE)
                .unwrap();
            s.send(rejoin.to, follower.addr(), &rejoin.request);
            d.fetch_add(1, Ordering::SeqCst);
            follower
        });
        let (s, d) = (service.clone(), done.clone());
        let rejoining = thread::spawn(move || {
            let heartbeat = newcomer.consumer.heartbeat().unwrap();
            s.send(heartbeat.to, addr, &heartbeat.request);
            let answer = s.receive(addr);
            if let Some(rejoin) = newcomer.consumer.on_response(&answer, &COOPERATIVE) {
                s.send(rejoin.to, addr, &rejoin.request);
            }
            d.fetch_add(1, Ordering::SeqCst);
            newcomer
        });
        replicate_until(&service, &done, 2);
        let mut clients = vec![leader, revoking.join().unwrap(), rejoining.join().unwrap()];
        settle(&service, &mut clients, Vec::new());
        assert_eq!(clients[1].consumer.owned, p1);
        assert_eq!(clients[2].consumer.owned, p3, "p3 was not handed on");
        judge(&service, &clients);
    });
}
