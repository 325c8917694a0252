//! An in-process consumer: the core's consumer state machine, talking to a [`GroupService`].
//!
//! Each call runs one exchange to completion: it sends the consumer's request, waits for the
//! answer, hands it to the state machine, and goes on while the state machine has a follow-up
//! (JoinGroup → SyncGroup → OffsetFetch, a rejoin after REBALANCE_IN_PROGRESS, a rediscovery
//! after NOT_COORDINATOR, …).

use super::service::GroupService;
use crate::consumer::{Consumer, Phase, Send};
use crate::coordinator::CoreConfig;
use crate::protocol::{ClientAddr, Partition};

pub struct Client {
    pub consumer: Consumer,
    cfg: CoreConfig,
    /// How long to wait for an answer before the request times out (`None`: forever).
    #[cfg(not(loom))]
    pub timeout: Option<std::time::Duration>,
}

impl Client {
    pub fn new(addr: ClientAddr, cfg: &CoreConfig) -> Client {
        Client {
            consumer: Consumer::new(addr, cfg),
            cfg: *cfg,
            #[cfg(not(loom))]
            timeout: None,
        }
    }

    pub fn addr(&self) -> ClientAddr {
        self.consumer.addr
    }

    fn wait(&mut self, service: &GroupService) -> Option<Send> {
        let me = self.addr();
        #[cfg(not(loom))]
        if let Some(t) = self.timeout {
            return match service.receive_timeout(me, t) {
                Some(response) => self.consumer.on_response(&response, &self.cfg),
                None => self.consumer.on_request_timeout(&self.cfg),
            };
        }
        let response = service.receive(me);
        self.consumer.on_response(&response, &self.cfg)
    }

    /// Sends `send` and every follow-up until the consumer has nothing more to send.
    pub fn exchange(&mut self, service: &GroupService, mut send: Option<Send>) {
        loop {
            if send.is_none() && self.consumer.needs_coordinator() {
                let leader = service.find_coordinator();
                send = self.consumer.on_coordinator_found(leader, &self.cfg);
            }
            let Some(Send { to, request }) = send else {
                return;
            };
            service.send(to, self.addr(), &request);
            send = self.wait(service);
        }
    }

    /// Joins the group (or whatever the consumer has to do next) until it is in a generation,
    /// closed, or out of things to send.
    pub fn join(&mut self, service: &GroupService) {
        self.exchange(service, None);
    }

    /// The application processes a record of `p` (if it owns it), then auto-commits.
    pub fn poll(&mut self, service: &GroupService, p: Partition) {
        self.consumer.process(p);
        let send = self.consumer.commit();
        self.exchange(service, send);
    }

    /// Commits the processed positions, if any are uncommitted.
    pub fn commit(&mut self, service: &GroupService) {
        let send = self.consumer.commit();
        self.exchange(service, send);
    }

    /// One heartbeat (and the rejoin it may trigger).
    pub fn heartbeat(&mut self, service: &GroupService) {
        let send = self.consumer.heartbeat();
        self.exchange(service, send);
    }

    /// Commits and leaves the group.
    pub fn close(&mut self, service: &GroupService) {
        let send = self.consumer.close(&self.cfg);
        self.exchange(service, send);
    }

    pub fn is_stable(&self) -> bool {
        self.consumer.phase == Phase::Stable && self.consumer.in_flight.is_none()
    }
}

/// Drives `clients` on one thread until nothing moves: every request is sent, every batch
/// replicated, every answer handed to its consumer; then heartbeats, in case a rebalance is
/// waiting for a member that only a heartbeat would tell. With no faults this forms (or
/// re-forms) the group. Used to set up scenarios; it never blocks.
pub fn settle(service: &GroupService, clients: &mut [Client], mut sends: Vec<Option<Send>>) {
    sends.resize(clients.len(), None);
    for _ in 0..10_000 {
        run_until_still(service, clients, &mut sends);
        let before: Vec<_> = clients.iter().map(|c| c.consumer.clone()).collect();
        for (c, send) in clients.iter_mut().zip(sends.iter_mut()) {
            *send = c.consumer.heartbeat();
        }
        run_until_still(service, clients, &mut sends);
        if clients.iter().map(|c| &c.consumer).eq(before.iter()) {
            return;
        }
    }
    panic!("the group did not settle: the core is broken");
}

fn run_until_still(service: &GroupService, clients: &mut [Client], sends: &mut [Option<Send>]) {
    for _ in 0..100_000 {
        let mut moved = false;
        for (c, send) in clients.iter_mut().zip(sends.iter_mut()) {
            if send.is_none() && c.consumer.needs_coordinator() {
                *send = c
                    .consumer
                    .on_coordinator_found(service.find_coordinator(), &c.cfg);
            }
            if let Some(Send { to, request }) = send.take() {
                service.send(to, c.addr(), &request);
                moved = true;
            }
        }
        while service.replicate() {
            moved = true;
        }
        for (c, send) in clients.iter_mut().zip(sends.iter_mut()) {
            if let Some(response) = service.try_receive(c.addr()) {
                *send = c.consumer.on_response(&response, &c.cfg);
                moved = true;
            }
        }
        if !moved {
            return;
        }
    }
    panic!("the protocol kept moving without settling: the core is broken");
}

/// `n` consumers (`consumer-0` …) that have joined a fresh group, fault-free.
pub fn form_group(service: &GroupService, n: u8) -> Vec<Client> {
    let cfg = *service.config();
    let mut clients: Vec<Client> = (0..n)
        .map(|c| {
            Client::new(
                ClientAddr {
                    consumer: c,
                    incarnation: 0,
                },
                &cfg,
            )
        })
        .collect();
    settle(service, &mut clients, Vec::new());
    clients
}
