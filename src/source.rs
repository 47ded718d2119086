//! The only consumer: reads the input partitions this worker owns, from their first record.
//!
//! ```text
//!   input partitions --(partition i of all, worker i mod N)--> Reader::poll --> Record
//! ```
//! Inputs are compacted tables, so every run reads them from the beginning and rebuilds its state,
//! as Kafka Streams does for source KTables; consumer-group offsets are never committed.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::{Kafka, KafkaSetupError};
use crate::model::InputTopic;
use crate::progress::InputPosition;

/// One input partition, its end offset when the job started, and the offset up to which its
/// records are already bound to the resume time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionAssignment {
    pub topic: InputTopic,
    pub name: String,
    pub partition: i32,
    pub end_at_start: i64,
    pub bound_until: i64,
}

/// Every partition goes to exactly one worker: the i-th partition of all inputs to worker i mod N.
pub fn assign(
    all: &[PartitionAssignment],
    worker: usize,
    workers: usize,
) -> Vec<PartitionAssignment> {
    all.iter()
        .enumerate()
        .filter(|(i, _)| i % workers == worker)
        .map(|(_, p)| p.clone())
        .collect()
}

/// One consumed record, borrowed from the consumer.
pub struct Record<'a> {
    pub topic: InputTopic,
    pub topic_name: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Read before the restart: it belongs to the resume time.
    pub bound: bool,
}

struct PartitionState {
    assignment: PartitionAssignment,
    /// The offset after the last record read.
    next: i64,
    /// The consumer's position when last asked, which also moves past transaction markers.
    consumer_position: i64,
}

/// How often the consumer's positions are asked for. Each ask is a round trip through
/// librdkafka's main thread (`rd_kafka_assignment`), which costs the worker a context switch.
const POSITIONS_EVERY: Duration = Duration::from_millis(20);

/// Reads this worker's partitions.
pub struct Reader {
    consumer: BaseConsumer,
    /// Few (a worker's share of the input partitions): a scan finds one faster than a map.
    partitions: Vec<PartitionState>,
    /// When the consumer's positions were last asked for.
    positions_at: Option<Instant>,
}

/// A consumer error that is not about one record (those are dead-lettered instead).
#[derive(Debug, thiserror::Error)]
#[error("reading input failed: {0}")]
pub struct SourceError(#[from] rdkafka::error::KafkaError);

impl Reader {
    pub fn new(
        kafka: &Kafka,
        group: &str,
        assigned: Vec<PartitionAssignment>,
    ) -> Result<Self, KafkaSetupError> {
        let consumer = kafka.consumer(group)?;
        let mut list = TopicPartitionList::new();
        for p in &assigned {
            // Every input is read from offset 0 (`input_partitions` refuses a topic whose first
            // records were deleted). `Beginning` would first ask the broker where that is, and
            // a new consumer waits ~0.5 s before it asks.
            list.add_partition_offset(&p.name, p.partition, Offset::Offset(0))
                .map_err(KafkaSetupError::Client)?;
        }
        consumer.assign(&list).map_err(KafkaSetupError::Client)?;
        let partitions = assigned
            .into_iter()
            .map(|assignment| PartitionState {
                assignment,
                next: 0,
                consumer_position: 0,
            })
            .collect();
        Ok(Reader {
            consumer,
            partitions,
            positions_at: None,
        })
    }

    /// Hands up to `max` available records to `each`, waiting at most `wait` for the first;
    /// returns how many were read.
    pub fn poll(
        &mut self,
        max: usize,
        wait: Duration,
        mut each: impl FnMut(Record<'_>),
    ) -> Result<usize, SourceError> {
        let mut read = 0;
        let mut timeout = wait;
        while read < max {
            let Some(result) = self.consumer.poll(timeout) else {
                break;
            };
            timeout = Duration::ZERO;
            let message = match result {
                Ok(message) => message,
                // Transient broker trouble is reported here and retried by librdkafka itself.
                Err(error) if is_transient(&error) => {
                    tracing::warn!(%error, "input broker trouble; librdkafka retries");
                    break;
                }
                Err(error) => return Err(SourceError(error)),
            };
            let Some(state) = self.partitions.iter_mut().find(|p| {
                p.assignment.partition == message.partition()
                    && p.assignment.name == message.topic()
            }) else {
                continue;
            };
            state.next = message.offset() + 1;
            each(Record {
                topic: state.assignment.topic,
                topic_name: &state.assignment.name,
                partition: message.partition(),
                offset: message.offset(),
                key: message.key(),
                value: message.payload(),
                bound: message.offset() < state.assignment.bound_until,
            });
            read += 1;
        }
        Ok(read)
    }

    /// Whether every partition has been read up to its end offset at start.
    pub fn caught_up(&mut self) -> bool {
        self.all_past(|p| p.end_at_start)
    }

    /// Whether every record bound to the resume time has been read again.
    pub fn replayed(&mut self) -> bool {
        self.all_past(|p| p.bound_until)
    }

    /// Whether every partition's position is at or past `offset` of it. The records read say so
    /// for most; the consumer's position also moves past transaction markers that no record
    /// reports, so it is asked for when the records fall short, at most every `POSITIONS_EVERY`.
    fn all_past(&mut self, offset: impl Fn(&PartitionAssignment) -> i64) -> bool {
        if self
            .partitions
            .iter()
            .all(|p| p.next >= offset(&p.assignment))
        {
            return true;
        }
        if self
            .positions_at
            .is_none_or(|at| at.elapsed() >= POSITIONS_EVERY)
        {
            self.refresh_positions();
        }
        self.partitions
            .iter()
            .all(|p| p.next.max(p.consumer_position) >= offset(&p.assignment))
    }

    fn refresh_positions(&mut self) {
        self.positions_at = Some(Instant::now());
        let Ok(list) = self.consumer.position() else {
            return;
        };
        for p in &mut self.partitions {
            if let Some(Offset::Offset(offset)) = list
                .find_partition(&p.assignment.name, p.assignment.partition)
                .map(|e| e.offset())
            {
                p.consumer_position = offset;
            }
        }
    }

    /// The next offset of every partition, for the progress record.
    pub fn positions(&self) -> Vec<InputPosition> {
        self.partitions
            .iter()
            .map(|p| InputPosition {
                topic: p.assignment.name.clone(),
                partition: p.assignment.partition,
                next_offset: p.next,
            })
            .collect()
    }
}

fn is_transient(error: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            BrokerTransportFailure
                | AllBrokersDown
                | OperationTimedOut
                | NetworkException
                | LeaderNotAvailable
                | NotLeaderForPartition
        )
    )
}
