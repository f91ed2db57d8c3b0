//! A Kinesis stream in memory behind a mocked SDK client (`aws-smithy-mocks`): shards with
//! records, iterators of the form `shard|index`, and a log of every `GetShardIterator`, so
//! tests can check where a restarted shard loop resumed.
//!
//! The mock calls these closures under its own lock: they must not panic (that would poison
//! the mock for every later call), so they answer whatever they are asked.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::get_records::GetRecordsOutput;
use aws_sdk_kinesis::operation::get_shard_iterator::GetShardIteratorOutput;
use aws_sdk_kinesis::operation::list_shards::ListShardsOutput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{HashKeyRange, Record, SequenceNumberRange, Shard, ShardIteratorType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::json;

/// Where a `GetShardIterator` asked to start.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Requested {
    TrimHorizon,
    Latest,
    After(String),
    AtTimestamp(SystemTime),
}

struct FakeRecord {
    sequence: u64,
    data: Vec<u8>,
    arrived: SystemTime,
}

struct FakeShard {
    id: String,
    records: Vec<FakeRecord>,
}

#[derive(Default)]
struct State {
    shards: Vec<FakeShard>,
    next_sequence: u64,
    requests: Vec<(String, Requested)>,
    /// A record read as garbage the first time a `GetRecords` returns it.
    corrupt_once: Option<u64>,
    /// A record read as [`PANIC_RECORD`] the first time a `GetRecords` returns it.
    panic_once: Option<u64>,
}

/// Data that makes the shard loop panic when it decodes it (`batch.rs`, tests only): a bug
/// in the loop, which the supervisor must notice and recover from.
pub(crate) const PANIC_RECORD: &[u8] = b"cdc-dms test: panic in the shard loop";

impl State {
    fn shard(&mut self, id: &str) -> Option<&mut FakeShard> {
        self.shards.iter_mut().find(|s| s.id == id)
    }
}

/// The stream; clones share it.
#[derive(Clone)]
pub(super) struct FakeStream {
    state: Arc<Mutex<State>>,
}

/// A DMS insert of row `id`.
pub(super) fn insert(id: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({"data": {"id": id}, "metadata": {
        "timestamp": "2026-03-01T12:00:00.123456Z", "record-type": "data",
        "operation": "insert", "schema-name": "public", "table-name": "orders"}}))
    .unwrap_or_default()
}

/// An open shard `id` (`None` only if the SDK's builder refused it).
pub(super) fn shard(id: &str) -> Option<Shard> {
    Shard::builder()
        .shard_id(id)
        .set_hash_key_range(
            HashKeyRange::builder()
                .starting_hash_key("0")
                .ending_hash_key("1")
                .build()
                .ok(),
        )
        .set_sequence_number_range(
            SequenceNumberRange::builder()
                .starting_sequence_number("1")
                .build()
                .ok(),
        )
        .build()
        .ok()
}

impl FakeStream {
    /// A stream with these open shards, empty.
    pub(super) fn new(shards: &[&str]) -> Self {
        let state = State {
            shards: shards
                .iter()
                .map(|id| FakeShard {
                    id: (*id).to_owned(),
                    records: Vec::new(),
                })
                .collect(),
            next_sequence: 100,
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes an insert of row `id` to `shard`; returns its sequence number.
    pub(super) fn put(&self, shard: &str, id: i64) -> String {
        let mut s = self.lock();
        let sequence = s.next_sequence;
        s.next_sequence += 1;
        s.shard(shard)
            .expect("a shard of the fake")
            .records
            .push(FakeRecord {
                sequence,
                data: insert(id),
                arrived: SystemTime::now(),
            });
        sequence.to_string()
    }

    /// The record with this sequence number is read as garbage once.
    pub(super) fn corrupt_once(&self, sequence: &str) {
        self.lock().corrupt_once = sequence.parse().ok();
    }

    /// The record with this sequence number makes the shard loop panic once.
    pub(super) fn panic_once(&self, sequence: &str) {
        self.lock().panic_once = sequence.parse().ok();
    }

    /// [`put`](Self::put), the record making the loop panic once (set under the same lock:
    /// no read can come between).
    pub(super) fn put_panicking_once(&self, shard: &str, id: i64) -> String {
        let mut s = self.lock();
        let sequence = s.next_sequence;
        s.next_sequence += 1;
        s.panic_once = Some(sequence);
        s.shard(shard)
            .expect("a shard of the fake")
            .records
            .push(FakeRecord {
                sequence,
                data: insert(id),
                arrived: SystemTime::now(),
            });
        sequence.to_string()
    }

    /// Every `GetShardIterator` of `shard` so far, in order.
    pub(super) fn requests(&self, shard: &str) -> Vec<Requested> {
        self.lock()
            .requests
            .iter()
            .filter(|(s, _)| s == shard)
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// A client whose `ListShards`, `GetShardIterator` and `GetRecords` are served from here.
    pub(super) fn client(&self) -> Client {
        let (a, b, c) = (self.clone(), self.clone(), self.clone());
        let list = mock!(Client::list_shards).then_compute_output(move |_| a.list());
        let iterator = mock!(Client::get_shard_iterator).then_compute_output(move |req| {
            b.iterator(
                req.shard_id().unwrap_or_default(),
                req.shard_iterator_type(),
                req.starting_sequence_number(),
                req.timestamp().and_then(|t| SystemTime::try_from(*t).ok()),
            )
        });
        let records = mock!(Client::get_records).then_compute_output(move |req| {
            c.records(
                req.shard_iterator().unwrap_or_default(),
                req.limit().unwrap_or(10_000),
            )
        });
        mock_client!(
            aws_sdk_kinesis,
            RuleMode::MatchAny,
            [&list, &iterator, &records]
        )
    }

    fn list(&self) -> ListShardsOutput {
        let shards = self
            .lock()
            .shards
            .iter()
            .filter_map(|s| shard(&s.id))
            .collect();
        ListShardsOutput::builder().set_shards(Some(shards)).build()
    }

    fn iterator(
        &self,
        shard: &str,
        kind: Option<&ShardIteratorType>,
        after: Option<&str>,
        since: Option<SystemTime>,
    ) -> GetShardIteratorOutput {
        let mut s = self.lock();
        let requested = match kind {
            Some(ShardIteratorType::Latest) => Requested::Latest,
            Some(ShardIteratorType::AfterSequenceNumber) => {
                Requested::After(after.unwrap_or_default().to_owned())
            }
            Some(ShardIteratorType::AtTimestamp) => {
                Requested::AtTimestamp(since.unwrap_or(SystemTime::UNIX_EPOCH))
            }
            _ => Requested::TrimHorizon,
        };
        s.requests.push((shard.to_owned(), requested.clone()));
        let records = s.shard(shard).map(|s| &s.records[..]).unwrap_or_default();
        let index = match &requested {
            Requested::TrimHorizon => 0,
            Requested::Latest => records.len(),
            Requested::After(seq) => {
                let seq: u64 = seq.parse().unwrap_or(0);
                records.iter().filter(|r| r.sequence <= seq).count()
            }
            Requested::AtTimestamp(t) => records.iter().filter(|r| r.arrived < *t).count(),
        };
        GetShardIteratorOutput::builder()
            .shard_iterator(format!("{shard}|{index}"))
            .build()
    }

    fn records(&self, iterator: &str, limit: i32) -> GetRecordsOutput {
        let mut s = self.lock();
        let (shard, index) = iterator.split_once('|').unwrap_or((iterator, "0"));
        let index: usize = index.parse().unwrap_or(0);
        let mut corrupt = s.corrupt_once;
        let mut panics = s.panic_once;
        let (page, end, len) = match s.shard(shard) {
            Some(sh) => {
                let end = sh
                    .records
                    .len()
                    .min(index + usize::try_from(limit).unwrap_or(1));
                let page: Vec<Record> = sh
                    .records
                    .get(index..end)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| {
                        let data = if corrupt == Some(r.sequence) {
                            corrupt = None;
                            b"\xff not json".to_vec()
                        } else if panics == Some(r.sequence) {
                            panics = None;
                            PANIC_RECORD.to_vec()
                        } else {
                            r.data.clone()
                        };
                        Record::builder()
                            .sequence_number(r.sequence.to_string())
                            .partition_key("orders")
                            .data(Blob::new(data))
                            .build()
                            .ok()
                    })
                    .collect();
                (page, end, sh.records.len())
            }
            None => (Vec::new(), index, index),
        };
        s.corrupt_once = corrupt;
        s.panic_once = panics;
        GetRecordsOutput::builder()
            .set_records(Some(page))
            .next_shard_iterator(format!("{shard}|{end}"))
            .millis_behind_latest(if end == len { 0 } else { 1_000 })
            .build()
            .expect("records are set")
    }
}
