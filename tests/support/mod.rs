//! Shared by the integration tests: a from-scratch oracle of the output tables and a generator of
//! random input streams. Each test uses part of it.
#![allow(dead_code)]

pub mod oracle;
pub mod streams;
