//! The data plane: topics held in memory, so that a client can produce the records a test then
//! consumes. Nothing here is checked by the model; it is just enough of a log for Produce,
//! Fetch and ListOffsets.
//!
//! Record batches are kept as the producer sent them (magic 2, CRC checked), with the broker's
//! base offset written into each, as Kafka's broker assigns offsets to a v2 batch without
//! rewriting its records (the base offset is outside the batch's CRC).

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::RecordBatchDecoder;
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// One partition's log: its batches with their base offsets, and the offset of the next record.
#[derive(Default)]
struct PartitionLog {
    batches: Vec<(i64, Bytes)>,
    end: i64,
}

/// Why an append was refused (Kafka's error code for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// UNKNOWN_TOPIC_OR_PARTITION (3).
    UnknownTopicOrPartition,
    /// CORRUPT_MESSAGE (2): not a sequence of valid v2 record batches.
    CorruptMessage,
}

impl AppendError {
    pub fn code(self) -> i16 {
        match self {
            AppendError::UnknownTopicOrPartition => 3,
            AppendError::CorruptMessage => 2,
        }
    }
}

/// What a fetch of one partition found.
pub struct Fetched {
    pub high_watermark: i64,
    /// `None` when the offset is past the end (OFFSET_OUT_OF_RANGE).
    pub records: Option<Bytes>,
}

/// Every topic, each with the same number of partitions.
pub struct Topics {
    partitions: u8,
    logs: Mutex<BTreeMap<String, Vec<PartitionLog>>>,
    appended: Condvar,
    producer_ids: std::sync::atomic::AtomicI64,
}

impl Topics {
    /// Topics of `partitions` partitions each; `names` exist from the start.
    pub fn new(partitions: u8, names: &[String]) -> Topics {
        let topics = Topics {
            partitions,
            logs: Mutex::new(BTreeMap::new()),
            appended: Condvar::new(),
            producer_ids: std::sync::atomic::AtomicI64::new(0),
        };
        for name in names {
            topics.create(name);
        }
        topics
    }

    /// A new idempotent producer's id.
    pub fn next_producer_id(&self) -> i64 {
        self.producer_ids
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub fn partitions(&self) -> u8 {
        self.partitions
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<PartitionLog>>> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates `name` if it does not exist (Kafka's auto-creation); true if it exists now.
    pub fn create(&self, name: &str) -> bool {
        if name.is_empty() || name.len() > 249 {
            return false;
        }
        self.lock().entry(name.to_string()).or_insert_with(|| {
            (0..self.partitions)
                .map(|_| PartitionLog::default())
                .collect()
        });
        true
    }

    pub fn exists(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// Every topic's name.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Appends the batches in `records`; returns the base offset of the first.
    pub fn append(&self, topic: &str, partition: i32, records: &Bytes) -> Result<i64, AppendError> {
        let counts = batch_sizes(records).ok_or(AppendError::CorruptMessage)?;
        let mut logs = self.lock();
        let log = logs
            .get_mut(topic)
            .and_then(|t| usize::try_from(partition).ok().and_then(|p| t.get_mut(p)))
            .ok_or(AppendError::UnknownTopicOrPartition)?;
        let base = log.end;
        let mut at = 0;
        for (len, count) in counts {
            let mut batch = BytesMut::from(&records[at..at + len]);
            batch[..8].copy_from_slice(&log.end.to_be_bytes());
            log.batches.push((log.end, batch.freeze()));
            log.end += i64::from(count);
            at += len;
        }
        drop(logs);
        self.appended.notify_all();
        Ok(base)
    }

    /// The log end offset of a partition (its high watermark: every record is committed).
    pub fn end_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        let logs = self.lock();
        let log = logs.get(topic)?.get(usize::try_from(partition).ok()?)?;
        Some(log.end)
    }

    /// The batches of a partition from `offset` on, up to about `max_bytes` (at least one
    /// batch, as Kafka always returns one whole batch however small the limit).
    pub fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Option<Fetched> {
        let logs = self.lock();
        let log = logs.get(topic)?.get(usize::try_from(partition).ok()?)?;
        if offset < 0 || offset > log.end {
            return Some(Fetched {
                high_watermark: log.end,
                records: None,
            });
        }
        // From the batch holding `offset` (the last whose base is at most `offset`) on.
        let mut out = BytesMut::new();
        if offset < log.end {
            let start = log.batches.partition_point(|(base, _)| *base <= offset) - 1;
            for (_, batch) in &log.batches[start..] {
                if !out.is_empty() && out.len() + batch.len() > max_bytes {
                    break;
                }
                out.extend_from_slice(batch);
            }
        }
        Some(Fetched {
            high_watermark: log.end,
            records: Some(out.freeze()),
        })
    }

    /// Waits until something is appended or `deadline` passes (a Fetch's `max_wait_ms`).
    pub fn wait_for_append(&self, deadline: Instant) {
        let logs = self.lock();
        let now = Instant::now();
        if now < deadline {
            let _ = self
                .appended
                .wait_timeout(logs, (deadline - now).min(Duration::from_secs(1)));
        }
    }
}

/// The length and record count of each batch in `records`, if it is a sequence of valid v2
/// batches (the crate checks each batch's CRC).
fn batch_sizes(records: &Bytes) -> Option<Vec<(usize, i32)>> {
    let infos = RecordBatchDecoder::decode_batch_info(&mut records.clone()).ok()?;
    let mut sizes = Vec::with_capacity(infos.len());
    let mut at = 0usize;
    for info in &infos {
        let len_bytes: [u8; 4] = records.get(at + 8..at + 12)?.try_into().ok()?;
        let len = 12 + usize::try_from(i32::from_be_bytes(len_bytes)).ok()?;
        sizes.push((len, info.record_count));
        at += len;
    }
    (at == records.len() && !sizes.is_empty()).then_some(sizes)
}
