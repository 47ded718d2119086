//! A seeded workload of changes, shared by benchmarks and tests (feature `testing`).
