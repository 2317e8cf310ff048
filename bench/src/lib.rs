//! Shared helpers of the benchmarks in `src/bin` and `benches/`.

/// The screenshot composer and `qrencode` wrapper of the core QR tests, included by path
/// so that the benchmark measures exactly the pictures the tests check (the core tests
/// cannot depend on this crate).
#[path = "../../core/tests/support/screenshot.rs"]
pub mod screenshot;
