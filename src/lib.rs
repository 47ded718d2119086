//! salesflow: e-commerce sales analytics as one incremental differential dataflow.
//!
//! ```text
//!   raw key/value bytes --codecs::json--> Change --runner / source--> upsert streams
//!        --dataflows::analyses--> one collection per output topic --codecs::rows--> JSON rows
//! ```

pub mod arrangement_sizes;
pub mod bench;
pub mod cluster;
pub mod codecs;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod fold;
pub mod generate;
pub mod http;
pub mod inputs;
pub mod intake;
pub mod kafka;
pub mod lag;
pub mod logging;
pub mod meter;
pub mod metrics;
pub mod model;
pub mod outputs;
pub mod progress;
pub mod repair;
pub mod report;
pub mod runner;
pub mod runtime;
pub mod sink;
pub mod snapshot;
pub mod source;
pub mod tail;
pub mod workload;
pub mod writer;

/// The analyses, as pure functions from collections to collections (no I/O).
#[path = "../dataflows/mod.rs"]
pub mod dataflows;
