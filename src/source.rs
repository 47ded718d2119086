//! The only consumer: reads the input partitions this worker owns, from their first record.
//!
//! ```text
//!   input partitions --(partition i of all, worker i mod N)--> Reader::poll --> Record
//! ```
//! Inputs are compacted tables, so every run reads them from the beginning and rebuilds its state,
//! as Kafka Streams does for source KTables; consumer-group offsets are never committed.

use std::collections::BTreeMap;
use std::time::Duration;

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
}

/// Reads this worker's partitions.
pub struct Reader {
    consumer: BaseConsumer,
    partitions: BTreeMap<(String, i32), PartitionState>,
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
            list.add_partition_offset(&p.name, p.partition, Offset::Beginning)
                .map_err(KafkaSetupError::Client)?;
        }
        consumer.assign(&list).map_err(KafkaSetupError::Client)?;
        let partitions = assigned
            .into_iter()
            .map(|a| {
                (
                    (a.name.clone(), a.partition),
                    PartitionState {
                        assignment: a,
                        next: 0,
                    },
                )
            })
            .collect();
        Ok(Reader {
            consumer,
            partitions,
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
            let Some(state) = self
                .partitions
                .get_mut(&(message.topic().to_string(), message.partition()))
            else {
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
    pub fn caught_up(&self) -> bool {
        self.partitions
            .values()
            .all(|p| self.position_of(p) >= p.assignment.end_at_start)
    }

    /// Whether every record bound to the resume time has been read again.
    pub fn replayed(&self) -> bool {
        self.partitions
            .values()
            .all(|p| self.position_of(p) >= p.assignment.bound_until)
    }

    /// The consumer's position, which moves past transaction markers that no record reports.
    fn position_of(&self, p: &PartitionState) -> i64 {
        let from_consumer = self
            .consumer
            .position()
            .ok()
            .and_then(|list| {
                match list
                    .find_partition(&p.assignment.name, p.assignment.partition)?
                    .offset()
                {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                }
            })
            .unwrap_or(0);
        p.next.max(from_consumer)
    }

    /// The next offset of every partition, for the progress record.
    pub fn positions(&self) -> Vec<InputPosition> {
        self.partitions
            .values()
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
