//! Symmetry reduction over consumers: consumers are interchangeable processes, so a state and
//! the same state with consumers renumbered behave alike. The representative renumbers them in
//! the order of their own state, and rewrites every place a consumer's number appears: its
//! address, the network, the coordinators' parked requests and pending writes, and who has
//! started.
//!
//! Stateright applies symmetry only with DFS. Counts differ from the BFS counts pinned in the
//! catalogue; verdicts must not (a test checks this on every model).

use super::{Addr, Envelope, World};
use crate::coordinator::PendingWrite;
use crate::protocol::{ClientAddr, ConsumerId};

/// The state with its consumers renumbered canonically.
pub fn representative(w: &World) -> World {
    let n = w.consumers.len();
    let mut order: Vec<usize> = (0..n).collect();
    // A consumer's identity-free state decides its place.
    order.sort_by_key(|&c| {
        let k = &w.consumers[c];
        (
            (w.is_started(c), w.is_restarting(c), k.assignors),
            k.phase,
            k.member_id,
            k.generation,
            k.owned,
            k.unfetched,
            k.positions.clone(),
            k.committed.clone(),
            k.in_flight,
            k.coordinator,
            k.addr.incarnation,
        )
    });
    if order.iter().enumerate().all(|(new, old)| new == *old) {
        return w.clone();
    }
    // new_of[old] = new
    let mut new_of = vec![ConsumerId(0); n];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = ConsumerId::at(new);
    }
    let map = |a: ClientAddr| ClientAddr {
        consumer: new_of
            .get(a.consumer.index())
            .copied()
            .unwrap_or(a.consumer),
        ..a
    };
    let mut r = w.clone();
    r.consumers = order.iter().map(|&old| w.consumers[old].clone()).collect();
    for c in &mut r.consumers {
        c.addr = map(c.addr);
    }
    r.started = 0;
    r.restarting = 0;
    for (old, new) in new_of.iter().enumerate() {
        if w.is_started(old) {
            r.started |= 1 << new.0;
        }
        if w.is_restarting(old) {
            r.restarting |= 1 << new.0;
        }
    }
    for b in &mut r.brokers {
        for m in &mut b.group.members {
            m.awaiting_join = m.awaiting_join.map(map);
            m.awaiting_sync = m.awaiting_sync.map(map);
        }
        for p in &mut b.pending {
            if let PendingWrite::Offsets { to, .. } = p {
                *to = map(*to);
            }
        }
    }
    let addr = |a: Addr| match a {
        Addr::Client(c) => Addr::Client(map(c)),
        other => other,
    };
    let mut network: Vec<Envelope> = w
        .network
        .iter()
        .map(|e| Envelope {
            src: addr(e.src),
            dst: addr(e.dst),
            msg: e.msg.clone(),
        })
        .collect();
    // The network is kept sorted (per connection on an ordered network, where the sending order
    // within a connection must be kept: a stable sort by connection does that).
    network.sort_by_key(|e| (e.src, e.dst));
    r.network = network;
    r
}
