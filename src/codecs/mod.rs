//! Bytes to records and records to bytes. Pure functions, no I/O.

pub mod json;
pub mod rows;
