//! Bytes to records and records to bytes. Pure functions, no I/O.

pub mod dead_letter;
pub mod envelope;
pub mod input;
pub mod json;
pub mod rows;
