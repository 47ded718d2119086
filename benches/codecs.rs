//! The codecs alone: input records decoded per second (and bytes per second), and output rows
//! encoded per second in every envelope.
//!
//! `cargo bench --bench codecs`. The inputs are what `salesflow generate` writes (a seeded
//! workload's customers, products and order changes, as the bytes a producer sends); the output
//! rows are `sales_by_customer` rows, the most numerous kind, each changed from an old row.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use salesflow::codecs::envelope::{KeyChange, encode};
use salesflow::codecs::json::{DecodeConfig, decode};
use salesflow::codecs::rows;
use salesflow::config::Envelope;
use salesflow::model::{Change, Figures, Money, Native};
use salesflow::runner::RawRecord;
use salesflow::workload::{Mix, WorkloadConfig, workload};

/// Records per iteration: enough that per-iteration overhead disappears.
const RECORDS: usize = 20_000;

fn records() -> Vec<RawRecord> {
    let w = workload(&WorkloadConfig {
        seed: 7,
        customers: 2_000,
        products: 500,
        initial_orders: RECORDS,
        step_size: RECORDS,
        steps: 0,
        mix: Mix::default(),
    });
    w.load
        .iter()
        .flatten()
        .map(RawRecord::of)
        .filter(|r| matches!(r.topic, salesflow::model::InputTopic::Orders))
        .take(RECORDS)
        .collect()
}

fn decoding(c: &mut Criterion) {
    let records = records();
    let config = DecodeConfig::default();
    let bytes: usize = records
        .iter()
        .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
        .sum();
    let mut group = c.benchmark_group("decode orders");
    for (name, throughput) in [
        ("records", Throughput::Elements(records.len() as u64)),
        ("bytes", Throughput::Bytes(bytes as u64)),
    ] {
        group.throughput(throughput);
        group.bench_function(name, |b| {
            b.iter(|| {
                records
                    .iter()
                    .filter(|r| {
                        matches!(
                            decode(r.topic, r.key.as_deref(), r.value.as_deref(), &config),
                            Ok(Change::Order(..))
                        )
                    })
                    .count()
            })
        });
    }
    group.finish();
}

/// A customer's figures after `n` orders.
fn figures(n: i64) -> Figures {
    Figures {
        orders: n,
        units: 3 * n,
        revenue: Money::from_cents(i128::from(4_599 * n)),
        native: Native::default(),
    }
}

fn encoding(c: &mut Criterion) {
    let customers: Vec<String> = (0..RECORDS).map(|i| i.to_string()).collect();
    let mut group = c.benchmark_group("encode sales_by_customer changes");
    group.throughput(Throughput::Elements(customers.len() as u64));
    for envelope in [Envelope::Upsert, Envelope::Debezium, Envelope::Diff] {
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{envelope:?}").to_lowercase()),
            &envelope,
            |b, &envelope| {
                b.iter(|| {
                    let mut bytes = 0;
                    for (i, customer) in customers.iter().enumerate() {
                        let fields = [("customer_id", customer.as_str())];
                        let key = rows::key(&fields);
                        let before = rows::sales(&fields, &figures(i as i64 % 7 + 1));
                        let after = rows::sales(&fields, &figures(i as i64 % 7 + 2));
                        let change = KeyChange {
                            before: Some(&before),
                            after: Some(&after),
                        };
                        bytes += key.len();
                        bytes += encode(envelope, &change, 1_795_305_600_000)
                            .iter()
                            .flatten()
                            .map(String::len)
                            .sum::<usize>();
                    }
                    bytes
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, decoding, encoding);
criterion_main!(benches);
