//! Fault injection: make the next N requests to a path fail the way real networks and proxies
//! fail, so client error handling can be tested against a real socket.

use serde::{Deserialize, Serialize};

/// How a faulty answer looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `200` with an HTML page (a captive portal or a proxy error page).
    Html,
    /// `200` with an empty body.
    Empty,
    /// `200` with `Content-Type: application/json` and a truncated JSON body.
    InvalidJson,
    /// The TCP connection is closed without any response.
    Drop,
    /// `500` with a small JSON error body.
    Status500,
}

/// A fault waiting for matching requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Exact request path to match (no query string), e.g. `/api/v1/authenticate`.
    pub path: String,
    /// What to answer.
    pub kind: FaultKind,
    /// How many matching requests to spoil (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// Only match this HTTP method (any if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

fn one() -> u32 {
    1
}

/// The pending faults.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pending: Vec<Fault>,
}

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.pending.push(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    pub(crate) fn list(&self) -> Vec<Fault> {
        self.pending.clone()
    }

    /// Uses up one count of the first fault matching this request, if any.
    pub(crate) fn take(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let idx = self.pending.iter().position(|f| {
            f.path == path
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let fault = &mut self.pending[idx];
        let kind = fault.kind;
        fault.times -= 1;
        if fault.times == 0 {
            self.pending.remove(idx);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_up() {
        let mut faults = Faults::default();
        faults.add(Fault {
            path: "/a".into(),
            kind: FaultKind::Html,
            times: 2,
            method: Some("post".into()),
        });
        assert_eq!(faults.take("GET", "/a"), None);
        assert_eq!(faults.take("POST", "/a"), Some(FaultKind::Html));
        assert_eq!(faults.take("POST", "/a"), Some(FaultKind::Html));
        assert_eq!(faults.take("POST", "/a"), None);
    }
}
