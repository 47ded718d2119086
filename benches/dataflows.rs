//! Order changes per second through every analysis, in memory, on 1 and 2 workers.
//!
//! `cargo bench --bench dataflows` measures throughput with criterion: each iteration is one
//! step of `STEP` changes after a load of 100k customers, 10k products and `INITIAL_ORDERS` orders.
//! `cargo bench --bench dataflows -- --report` prints, without criterion, one longer run per
//! worker count, with every analysis and with the sales analyses alone (throughput, p50/p99 step
//! time), and the state's memory per live order after loading 1M orders.
//!
//! Records enter as the bytes a producer writes, so decoding is part of every figure.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use salesflow::model::{Change, OutputTopic};
use salesflow::runner::{RawRecord, RunConfig, RunOutput, run};
use salesflow::workload::{Mix, WorkloadConfig, workload};

/// Changes per step (one timely timestamp), as one poll of a busy Kafka source would bring.
const STEP: usize = 10_000;
const INITIAL_ORDERS: usize = 200_000;

fn config(steps: usize, initial_orders: usize) -> WorkloadConfig {
    WorkloadConfig {
        seed: 42,
        customers: 100_000,
        products: 10_000,
        initial_orders,
        step_size: STEP,
        steps,
        mix: Mix::default(),
    }
}

/// Runs the load and then `steps` timed steps; returns the output and how many steps were load.
fn load_and_run(
    workers: usize,
    steps: usize,
    initial_orders: usize,
    sales_only: bool,
) -> (RunOutput, usize) {
    let w = workload(&config(steps, initial_orders));
    let loaded = w.load.len();
    let mut all = raw(w.load);
    all.extend(raw(w.changes));
    let mut run_config = RunConfig {
        collect: false,
        ..RunConfig::new(workers)
    };
    if sales_only {
        run_config.analysis.selected.retain(|topic| {
            !matches!(
                topic,
                OutputTopic::Alerts | OutputTopic::StockLevels | OutputTopic::DataQuality
            )
        });
    }
    (run(&run_config, all), loaded)
}

fn raw(steps: Vec<Vec<Change>>) -> Vec<Vec<RawRecord>> {
    steps
        .iter()
        .map(|step| step.iter().map(RawRecord::of).collect())
        .collect()
}

fn order_changes(c: &mut Criterion) {
    let mut group = c.benchmark_group("order_changes");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(STEP as u64));
    for workers in [1, 2] {
        group.bench_function(BenchmarkId::new("workers", workers), |b| {
            b.iter_custom(|iters| {
                let (output, loaded) = load_and_run(workers, iters as usize, INITIAL_ORDERS, false);
                output.step_durations[loaded..].iter().sum()
            })
        });
    }
    group.finish();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Kilobytes of a `/proc/self/status` field, such as `VmHWM` (peak RSS).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn report() {
    println!("| workers | analyses | timed changes | changes/s | p50 step | p99 step |");
    println!("|---|---|---|---|---|---|");
    for (workers, sales_only) in [(1, false), (1, true), (2, false), (2, true)] {
        let steps = 100;
        let (output, loaded) = load_and_run(workers, steps, INITIAL_ORDERS, sales_only);
        let mut timed = output.step_durations[loaded..].to_vec();
        let total: Duration = timed.iter().sum();
        timed.sort();
        println!(
            "| {workers} | {} | {} | {:.0} | {:.1} ms | {:.1} ms |",
            if sales_only {
                "sales and top products"
            } else {
                "all"
            },
            steps * STEP,
            (steps * STEP) as f64 / total.as_secs_f64(),
            percentile(&timed, 0.5).as_secs_f64() * 1e3,
            percentile(&timed, 0.99).as_secs_f64() * 1e3,
        );
    }
    // Memory: 1M orders loaded on 2 workers. The workload itself sits in memory before the run,
    // so the state is the peak during the run less the resident size just before it.
    let orders = 1_000_000;
    let load = raw(workload(&config(0, orders)).load);
    let before_kb = status_kb("VmRSS:");
    let run_config = RunConfig {
        collect: false,
        ..RunConfig::new(2)
    };
    let started = std::time::Instant::now();
    run(&run_config, load);
    let elapsed = started.elapsed();
    let peak_kb = status_kb("VmHWM:");
    let state = (peak_kb.saturating_sub(before_kb)) * 1024;
    println!(
        "\nloaded {orders} orders (+100k customers, 10k products) on 2 workers in {:.2} s ({:.0} orders/s)",
        elapsed.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64()
    );
    println!(
        "peak state {:.0} MiB = {} bytes per live order (peak RSS {:.0} MiB, input held before the run {:.0} MiB)",
        state as f64 / (1 << 20) as f64,
        state / orders as u64,
        peak_kb as f64 / 1024.0,
        before_kb as f64 / 1024.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--report") {
        report();
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    order_changes(&mut criterion);
    criterion.final_summary();
}
