//! `serve` under load (a benchmark, never a timed test): N clients over loopback, each a
//! member of one group, heartbeating and committing its partitions in turn. Per API: requests
//! per second, and the latency's median and 99th percentile.
//!
//! The clients join as real ones do: JoinGroup (taking the member id from MEMBER_ID_REQUIRED),
//! SyncGroup (the leader assigns the topic's 16 partitions round-robin), and rejoin whenever a
//! heartbeat says REBALANCE_IN_PROGRESS. Measuring starts once every client has its assignment.

use super::member::WireMember;
use super::server::{ServeConfig, Server};
use crate::protocol::ErrorCode;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const GROUP: &str = "bench";
const TOPIC: &str = "bench";
const PARTITIONS: i32 = 16;

/// One API's figures at one client count.
#[derive(Clone, Debug)]
pub struct Figure {
    pub clients: usize,
    pub api: &'static str,
    pub per_second: f64,
    pub p50_us: u64,
    pub p99_us: u64,
}

fn failed(api: &str, error: i16) -> io::Error {
    io::Error::other(format!("{api}: error {error}"))
}

/// Joins (or rejoins) and syncs until the member holds an assignment of a completed
/// generation.
fn join(member: &mut WireMember) -> io::Result<()> {
    loop {
        let joined = member.join()?;
        if joined.error != 0 {
            return Err(failed("JoinGroup", joined.error));
        }
        match member.sync(&joined.members, PARTITIONS)? {
            0 => return Ok(()),
            e if e == ErrorCode::RebalanceInProgress.code() => continue,
            e => return Err(failed("SyncGroup", e)),
        }
    }
}

/// A heartbeat; `Ok(false)` if the group was rebalancing (the member has rejoined since).
fn heartbeat(member: &mut WireMember) -> io::Result<bool> {
    match member.heartbeat()? {
        e if e == ErrorCode::RebalanceInProgress.code() => join(member).map(|()| false),
        _ => Ok(true),
    }
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Measures `serve` with each number of clients for `duration`, reporting each figure as it
/// is measured.
pub fn run(
    clients: &[usize],
    duration: Duration,
    mut report: impl FnMut(&Figure),
) -> io::Result<()> {
    for &n in clients {
        let server = Server::start(ServeConfig {
            partitions: PARTITIONS as u8,
            topics: vec![TOPIC.to_string()],
            session_timeout: Duration::from_secs(30),
            rebalance_timeout: Duration::from_secs(30),
            ..ServeConfig::default()
        })?;
        let address = format!("127.0.0.1:{}", server.ports()[0]);
        let ready = Arc::new(Barrier::new(n));
        // Each member's generation: measuring starts once all are in the same one.
        let generations: Arc<Vec<AtomicI32>> =
            Arc::new((0..n).map(|_| AtomicI32::new(-1)).collect());
        let workers: Vec<_> = (0..n)
            .map(|i| {
                let (address, ready, generations) =
                    (address.clone(), ready.clone(), generations.clone());
                thread::spawn(move || -> io::Result<(Vec<u64>, Vec<u64>, f64)> {
                    let mut member = WireMember::connect(
                        &address,
                        &format!("bench-{i}"),
                        GROUP,
                        TOPIC,
                        Duration::from_secs(30),
                    )?;
                    join(&mut member)?;
                    // Until every member is in the same generation, rebalances go on: each
                    // keeps heartbeating (and rejoining when told to).
                    let all_in = |g: i32| generations.iter().all(|x| x.load(Ordering::SeqCst) == g);
                    loop {
                        generations[i].store(member.generation, Ordering::SeqCst);
                        if all_in(member.generation) {
                            break;
                        }
                        heartbeat(&mut member)?;
                        thread::sleep(Duration::from_millis(5));
                    }
                    ready.wait();
                    let (mut heartbeats, mut commits) = (Vec::new(), Vec::new());
                    let start = Instant::now();
                    let mut offset = 0;
                    while start.elapsed() < duration {
                        let t = Instant::now();
                        if heartbeat(&mut member)? {
                            heartbeats.push(t.elapsed().as_micros() as u64);
                        }
                        if !member.partitions.is_empty() {
                            offset += 1;
                            let t = Instant::now();
                            let offsets: Vec<_> =
                                member.partitions.iter().map(|p| (*p, offset)).collect();
                            member.commit(&offsets)?;
                            commits.push(t.elapsed().as_micros() as u64);
                        }
                    }
                    Ok((heartbeats, commits, start.elapsed().as_secs_f64()))
                })
            })
            .collect();
        let (mut heartbeats, mut commits, mut elapsed) = (Vec::new(), Vec::new(), 0f64);
        for w in workers {
            let (h, c, e) = w
                .join()
                .map_err(|_| io::Error::other("a benchmark client panicked"))??;
            heartbeats.extend(h);
            commits.extend(c);
            elapsed = elapsed.max(e);
        }
        let _ = server.stop();
        for (api, mut latencies) in [("Heartbeat", heartbeats), ("OffsetCommit", commits)] {
            latencies.sort_unstable();
            report(&Figure {
                clients: n,
                api,
                per_second: latencies.len() as f64 / elapsed,
                p50_us: percentile(&latencies, 0.5),
                p99_us: percentile(&latencies, 0.99),
            });
        }
    }
    Ok(())
}
