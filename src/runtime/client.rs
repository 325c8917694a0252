//! An in-process consumer: the core's consumer state machine, talking to a [`GroupService`].
//!
//! Each call runs one exchange to completion: it sends the consumer's request, waits for the
//! answer, hands it to the state machine, and goes on while the state machine has a follow-up
//! (JoinGroup → SyncGroup → OffsetFetch, a rejoin after REBALANCE_IN_PROGRESS, a rediscovery
//! after NOT_COORDINATOR, …).
//!
//! The consumer's own steps (a poll, a commit, a heartbeat, a close, an answer read, a timeout,
//! a restart) go into the service's history when it records one, so that a run can be written
//! as a model execution (`trace::recorded`).

use super::service::{ClientStep, GroupService};
use crate::consumer::{Consumer, Send};
use crate::coordinator::CoreConfig;
use crate::protocol::{ClientAddr, ConsumerId, InstanceId, Partition, Response};

pub struct Client {
    pub consumer: Consumer,
    cfg: CoreConfig,
    /// How the process came to be, recorded at its first step.
    origin: Option<ClientStep>,
    /// How long to wait for an answer before the request times out (`None`: forever).
    #[cfg(not(loom))]
    pub timeout: Option<std::time::Duration>,
    /// How long to wait before retrying after COORDINATOR_LOAD_IN_PROGRESS (Kafka's
    /// `retry.backoff.ms`; `None`: retry at once).
    #[cfg(not(loom))]
    pub retry_backoff: Option<std::time::Duration>,
}

impl Client {
    /// A consumer process starting for the first time.
    pub fn new(addr: ClientAddr, cfg: &CoreConfig) -> Client {
        Client {
            consumer: Consumer::new(addr, cfg),
            cfg: *cfg,
            origin: Some(ClientStep::Started),
            #[cfg(not(loom))]
            timeout: None,
            #[cfg(not(loom))]
            retry_backoff: None,
        }
    }

    /// A consumer process restarting with no memory (a crash, or a start after it closed).
    pub fn restarted(addr: ClientAddr, cfg: &CoreConfig) -> Client {
        Client {
            origin: Some(ClientStep::Restarted),
            ..Client::new(addr, cfg)
        }
    }

    pub fn addr(&self) -> ClientAddr {
        self.consumer.addr
    }

    /// Records `step` (what just happened inside the consumer) and, if the consumer lost its
    /// coordinator and has nothing to send, looks the coordinator up in the same instant, as
    /// the model's step does.
    fn after(
        &mut self,
        service: &GroupService,
        step: ClientStep,
        send: Option<Send>,
    ) -> Option<Send> {
        if send.is_none() && self.consumer.needs_coordinator() {
            let leader = service.find_coordinator_noting(self.addr(), step);
            return self.consumer.on_coordinator_found(leader, &self.cfg);
        }
        service.note(self.addr(), step);
        send
    }

    fn received(&mut self, service: &GroupService, response: Response) -> Option<Send> {
        #[cfg(not(loom))]
        if let Some(backoff) = self.retry_backoff {
            if response.error() == crate::protocol::ErrorCode::CoordinatorLoadInProgress {
                std::thread::sleep(backoff);
            }
        }
        let send = self.consumer.on_response(&response, &self.cfg);
        self.after(service, ClientStep::Received(response), send)
    }

    fn wait(&mut self, service: &GroupService) -> Option<Send> {
        let me = self.addr();
        #[cfg(not(loom))]
        if let Some(t) = self.timeout {
            return match service.receive_timeout(me, t) {
                Some(response) => self.received(service, response),
                None => {
                    let send = self.consumer.on_request_timeout(&self.cfg);
                    self.after(service, ClientStep::TimedOut, send)
                }
            };
        }
        let response = service.receive(me);
        self.received(service, response)
    }

    /// Sends `send` and every follow-up until the consumer has nothing more to send.
    pub fn exchange(&mut self, service: &GroupService, send: Option<Send>) {
        self.send_all(service, send, None);
    }

    /// [`Client::exchange`] of what `step` (a step of the consumer's own) made it send.
    fn send_all(
        &mut self,
        service: &GroupService,
        mut send: Option<Send>,
        mut step: Option<ClientStep>,
    ) {
        while let Some(Send { to, request }) = send {
            service.send_noting(to, self.addr(), &request, step.take());
            send = self.wait(service);
        }
    }

    /// Joins the group (or whatever the consumer has to do next) until it is in a generation,
    /// closed, or out of things to send.
    pub fn join(&mut self, service: &GroupService) {
        let send = match self.origin.take() {
            Some(step) => self.after(service, step, None),
            None => None,
        };
        self.send_all(service, send, None);
    }

    /// The application processes a record of `p` (if it owns it), then auto-commits.
    pub fn poll(&mut self, service: &GroupService, p: Partition) {
        self.consumer.process(p);
        let send = self.consumer.commit();
        self.send_all(service, send, Some(ClientStep::Polled(p)));
    }

    /// Commits the processed positions, if any are uncommitted.
    pub fn commit(&mut self, service: &GroupService) {
        let send = self.consumer.commit();
        self.send_all(service, send, Some(ClientStep::Committed));
    }

    /// One heartbeat (and the rejoin it may trigger).
    pub fn heartbeat(&mut self, service: &GroupService) {
        let send = self.consumer.heartbeat();
        self.send_all(service, send, Some(ClientStep::Heartbeat));
    }

    /// Commits and leaves the group.
    pub fn close(&mut self, service: &GroupService) {
        if self.consumer.is_closed() {
            return;
        }
        let send = self.consumer.close(&self.cfg);
        if send.is_none() {
            service.note(self.addr(), ClientStep::Closed);
        }
        self.send_all(service, send, Some(ClientStep::Closed));
    }

    pub fn is_stable(&self) -> bool {
        self.consumer.is_at_rest()
    }

    /// Before anything else a poll does: if a rebalance timeout left its static member out,
    /// its poll timer has expired too (`max.poll.interval.ms` is the rebalance timeout, and
    /// its timer started first), so it gives the membership up and rejoins.
    pub fn check_poll_timer(&mut self, service: &GroupService) {
        let Some(id) = self.consumer.member_id else {
            return;
        };
        if service.take_poll_timeout(id) {
            let send = self.consumer.on_poll_timeout(&self.cfg);
            let send = self.after(service, ClientStep::PollTimedOut, send);
            self.send_all(service, send, None);
        }
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
    form_group_of(service, n, |_| None)
}

/// [`form_group`] of static members, each with its number as `group.instance.id`.
pub fn form_static_group(service: &GroupService, n: u8) -> Vec<Client> {
    form_group_of(service, n, |c| Some(InstanceId(c)))
}

fn form_group_of(
    service: &GroupService,
    n: u8,
    instance: impl Fn(u8) -> Option<InstanceId>,
) -> Vec<Client> {
    let cfg = *service.config();
    let mut clients: Vec<Client> = (0..n)
        .map(|c| {
            let addr = ClientAddr {
                consumer: ConsumerId(c),
                incarnation: 0,
                connection: 0,
            };
            let mut client = Client::new(addr, &cfg);
            client.consumer = client.consumer.clone().with_instance(instance(c));
            client
        })
        .collect();
    settle(service, &mut clients, Vec::new());
    clients
}
