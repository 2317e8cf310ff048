//! Request counters, so tests can assert how often a client called an endpoint (for example
//! that a cached token spared a `POST /api/v1/authenticate`).

use std::collections::BTreeMap;

use serde::Serialize;

/// A snapshot of the request counters since start or the last reset.
///
/// Requests to the admin routes (`/_sim/...`) are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// All counted requests.
    pub total: u64,
    /// Requests per `"METHOD /path"` (the literal path, without the query string).
    pub requests: BTreeMap<String, u64>,
}

impl StatsSnapshot {
    /// How many `method path` requests were seen, e.g. `count("POST", "/api/v1/authenticate")`.
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.requests
            .get(&format!("{} {path}", method.to_ascii_uppercase()))
            .copied()
            .unwrap_or(0)
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    snapshot: StatsSnapshot,
}

impl Stats {
    pub(crate) fn record(&mut self, method: &str, path: &str) {
        self.snapshot.total += 1;
        *self
            .snapshot
            .requests
            .entry(format!("{method} {path}"))
            .or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.snapshot.clone()
    }

    pub(crate) fn reset(&mut self) {
        self.snapshot = StatsSnapshot::default();
    }
}
