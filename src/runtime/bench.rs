//! Throughput of the runtime (a benchmark, never a timed test): OffsetCommit, Heartbeat and a
//! full rebalance, with 1, 2 and 4 client threads.

use super::client::{form_group, Client};
use super::service::GroupService;
use crate::assignor::Assignor;
use crate::coordinator::CoreConfig;
use crate::flaw::Flaws;
use crate::protocol::{ClientAddr, ConsumerId};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CFG: CoreConfig = CoreConfig {
    partitions: 4,
    assignor: Assignor::Range,
    flaws: Flaws::NONE,
};

#[derive(Clone, Debug)]
pub struct Figure {
    pub operation: &'static str,
    pub threads: usize,
    pub per_second: f64,
}

/// A thread that keeps the high watermark moving until `stop`.
fn replicate_until(service: Arc<GroupService>, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if !service.replicate() {
                thread::yield_now();
            }
        }
    })
}

/// Runs `op` on `threads` client threads of a formed group for `duration`, with a replication
/// thread keeping the high watermark moving; returns operations per second.
fn measure(threads: usize, duration: Duration, op: fn(&mut Client, &GroupService, u64)) -> f64 {
    let service = Arc::new(GroupService::new(CFG, 1, false));
    let clients = form_group(&service, threads as u8);
    let stop = Arc::new(AtomicBool::new(false));
    // Replication stops only after the workers: a worker's last commit still needs it.
    let stop_replication = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let replicator = replicate_until(service.clone(), stop_replication.clone());
    let start = Instant::now();
    let workers: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let (s, stop, count) = (service.clone(), stop.clone(), count.clone());
            thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    op(&mut c, &s, i);
                    i += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop_replication.store(true, Ordering::Relaxed);
    let _ = replicator.join();
    count.load(Ordering::Relaxed) as f64 / elapsed
}

fn commit(c: &mut Client, s: &GroupService, _: u64) {
    let p = c.consumer.owned.iter().next();
    match p {
        Some(p) => c.poll(s, p),
        None => c.heartbeat(s),
    }
}

fn heartbeat(c: &mut Client, s: &GroupService, _: u64) {
    c.heartbeat(s);
}

/// Full rebalances per second: `threads` fresh consumers join an empty group (join barrier,
/// SyncGroup, the group metadata made durable, offsets fetched), on their own threads.
fn rebalances(threads: usize, duration: Duration) -> f64 {
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < duration {
        let service = Arc::new(GroupService::new(CFG, 1, false));
        let stop = Arc::new(AtomicBool::new(false));
        let replicator = replicate_until(service.clone(), stop.clone());
        let joined = Arc::new(AtomicU64::new(0));
        let joiners: Vec<_> = (0..threads as u8)
            .map(|c| {
                let (s, joined) = (service.clone(), joined.clone());
                thread::spawn(move || {
                    let mut client = Client::new(
                        ClientAddr {
                            consumer: ConsumerId(c),
                            incarnation: 0,
                            connection: 0,
                        },
                        &CFG,
                    );
                    client.timeout = Some(Duration::from_secs(5));
                    // Joined, then heartbeat (rejoining when told to) until everyone has
                    // joined and a heartbeat changes nothing: all are in the last generation.
                    client.join(&s);
                    joined.fetch_add(1, Ordering::SeqCst);
                    loop {
                        let g = client.consumer.generation;
                        client.heartbeat(&s);
                        if joined.load(Ordering::SeqCst) == threads as u64
                            && client.consumer.generation == g
                            && client.is_stable()
                        {
                            break;
                        }
                        thread::yield_now();
                    }
                })
            })
            .collect();
        for j in joiners {
            let _ = j.join();
        }
        stop.store(true, Ordering::Relaxed);
        let _ = replicator.join();
        done += 1;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// Every figure, `duration` per measurement, each handed to `report` as soon as it is measured.
pub fn run(duration: Duration, mut report: impl FnMut(Figure)) {
    for threads in [1, 2, 4] {
        report(Figure {
            operation: "OffsetCommit (durable, acknowledged)",
            threads,
            per_second: measure(threads, duration, commit),
        });
        report(Figure {
            operation: "Heartbeat",
            threads,
            per_second: measure(threads, duration, heartbeat),
        });
        report(Figure {
            operation: "full rebalance (join, sync, durable)",
            threads,
            per_second: rebalances(threads, duration),
        });
    }
}
