//! IDaaS webhook payloads (`authentication.succeeded`, `authentication.failed`) read from
//! a file: one JSON object, a JSON array of objects, or JSON lines. A payload's
//! `data.token` is a secret: it is never read into memory kept by this module, stored or
//! shown, and no message here quotes the file.
//!
//! A payload looks like this (Entrust IDaaS webhook documentation):
//!
//! ```json
//! {"id": "019adb89-…", "type": "authentication.succeeded", "accountId": "c848…",
//!  "eventTime": "2025-12-01T20:10:04Z",
//!  "data": {"subject": "f747…", "subjectName": "john.smith", "subjectType": "USER",
//!           "resourceName": "Administration Portal", "sourceIp": "127.0.0.1", "token": "…"}}
//! ```

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::time::parse_iso8601;

/// Whether the authentication worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdaasOutcome {
    /// `authentication.succeeded`.
    Succeeded,
    /// `authentication.failed`.
    Failed,
}

impl IdaasOutcome {
    /// The webhook's `type`.
    pub fn event_type(self) -> &'static str {
        match self {
            IdaasOutcome::Succeeded => "authentication.succeeded",
            IdaasOutcome::Failed => "authentication.failed",
        }
    }
}

/// One IDaaS authentication event, without its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdaasEvent {
    /// The delivery's unique id.
    pub id: String,
    /// Succeeded or failed.
    pub outcome: IdaasOutcome,
    /// `eventTime`, Unix seconds.
    pub event_time: u64,
    /// `data.subject`: the user's id at the IDaaS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `data.subjectName`: the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
    /// `data.resourceName`: where the authentication happened ("Administration Portal").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// `data.sourceIp`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
}

impl IdaasEvent {
    /// The addresses in `sourceIp` that parse.
    pub fn ips(&self) -> Vec<IpAddr> {
        let mut ips = Vec::new();
        for token in self
            .source_ip
            .as_deref()
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
        {
            if let Ok(ip) = token.trim().parse::<IpAddr>()
                && !ips.contains(&ip)
            {
                ips.push(ip);
            }
        }
        ips
    }

    /// "IDaaS authentication failed for 'john.smith' at Administration Portal from IP …".
    pub fn describe(&self) -> String {
        let mut text = format!(
            "IDaaS authentication {}",
            match self.outcome {
                IdaasOutcome::Succeeded => "succeeded",
                IdaasOutcome::Failed => "failed",
            }
        );
        if let Some(name) = &self.subject_name {
            text.push_str(&format!(" for '{name}'"));
        }
        if let Some(resource) = &self.resource_name {
            text.push_str(&format!(" at {resource}"));
        }
        if let Some(ip) = &self.source_ip {
            text.push_str(&format!(" from IP {ip}"));
        }
        text
    }
}

/// A payload that could not be read; the rest of the file still is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadPayload {
    /// 1-based line of the file where the payload starts.
    pub line: usize,
    /// What is wrong (never the content).
    pub reason: String,
}

/// What a file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdaasFile {
    /// The authentication events, in file order, each id once.
    pub events: Vec<IdaasEvent>,
    /// Payloads that could not be read.
    pub bad: Vec<BadPayload>,
    /// Well-formed payloads of other types (e.g. `user.created`), skipped.
    pub other_types: usize,
}

/// Reads a payload file: one JSON object, a JSON array of objects, or JSON lines (one
/// object per line; blank lines, a lone `[`/`]` and trailing commas are tolerated, so an
/// array with one object per line still yields its good lines when one line is broken).
pub fn parse_idaas(text: &str) -> IdaasFile {
    let mut file = IdaasFile::default();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => {
            let lines = array_item_lines(text);
            for (index, item) in items.iter().enumerate() {
                let line = lines.get(index).copied().unwrap_or(1);
                file.take(line, item);
            }
        }
        Ok(value) => file.take(first_content_line(text), &value),
        Err(_) => {
            for (index, raw) in text.lines().enumerate() {
                let line = raw.trim().trim_end_matches(',').trim_end();
                if line.is_empty() || line == "[" || line == "]" {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(value) => file.take(index + 1, &value),
                    Err(err) => file.bad.push(BadPayload {
                        line: index + 1,
                        reason: describe_syntax_error(&err),
                    }),
                }
            }
        }
    }
    file
}

impl IdaasFile {
    fn take(&mut self, line: usize, value: &Value) {
        match payload(value) {
            Ok(Some(event)) => {
                if !self.events.iter().any(|e| e.id == event.id) {
                    self.events.push(event);
                }
            }
            Ok(None) => self.other_types += 1,
            Err(reason) => self.bad.push(BadPayload {
                line,
                reason: reason.to_owned(),
            }),
        }
    }
}

fn describe_syntax_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Eof => "the JSON ends too early".to_owned(),
        Category::Syntax | Category::Io => format!("not valid JSON (column {})", err.column()),
        Category::Data => "not a JSON object".to_owned(),
    }
}

fn optional(data: &Value, field: &str) -> Option<String> {
    data.get(field)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// One payload: `Ok(None)` for other event types.
fn payload(value: &Value) -> Result<Option<IdaasEvent>, &'static str> {
    if !value.is_object() {
        return Err("not a JSON object");
    }
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or("no `type`")?;
    let outcome = match kind.trim() {
        "authentication.succeeded" => IdaasOutcome::Succeeded,
        "authentication.failed" => IdaasOutcome::Failed,
        _ => return Ok(None),
    };
    let id = match value.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err("no `id`"),
    };
    let event_time = value
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(parse_iso8601)
        .ok_or("`eventTime` is missing or not an ISO 8601 time")?;
    let data = value
        .get("data")
        .filter(|d| d.is_object())
        .ok_or("no `data` object")?;
    // `data.token` is deliberately not read.
    Ok(Some(IdaasEvent {
        id,
        outcome,
        event_time,
        subject: optional(data, "subject"),
        subject_name: optional(data, "subjectName"),
        resource_name: optional(data, "resourceName"),
        source_ip: optional(data, "sourceIp"),
    }))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|b| *b == b'\n').count() + 1
}

fn first_content_line(text: &str) -> usize {
    let start = text.len() - text.trim_start().len();
    line_of(text, start)
}

/// The line on which each item of a top-level JSON array starts (the text is valid JSON).
fn array_item_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut expect_item = false;
    for (offset, c) in text.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if expect_item && !c.is_whitespace() {
            expect_item = false;
            if c != ']' {
                lines.push(line_of(text, offset));
            }
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expect_item = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect_item = true,
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCEEDED: &str = r#"{"id": "019adb89-60dd-750e-90a3-e860c924aa29", "type": "authentication.succeeded", "accountId": "c8485a88-4fd0-4248-8dcd-fb4ac0749fb7", "eventTime": "2025-12-01T20:10:04Z", "data": {"subject": "f7475916-56ab-44a1-ab8a-3d4407baa102", "subjectName": "john.smith", "subjectType": "USER", "resourceName": "Administration Portal", "sourceIp": "127.0.0.1", "token": "TOKEN-SECRET-1", "entityAttributes": {"registrationRequired": true}}}"#;
    const FAILED: &str = r#"{"id": "019adb89-0000-750e-90a3-e860c924aa30", "type": "authentication.failed", "eventTime": "2025-12-01T20:11:00Z", "data": {"subjectName": "john.smith", "resourceName": "User Portal", "sourceIp": "203.0.113.9", "token": "TOKEN-SECRET-2"}}"#;

    fn no_token(file: &IdaasFile) {
        let debug = format!("{file:?}");
        let json = serde_json::to_string(&file.events).unwrap();
        for text in [debug, json] {
            assert!(!text.contains("TOKEN-SECRET"), "{text}");
        }
    }

    #[test]
    fn a_single_object() {
        let file = parse_idaas(SUCCEEDED);
        assert_eq!(file.bad, []);
        let event = &file.events[0];
        assert_eq!(event.outcome, IdaasOutcome::Succeeded);
        assert_eq!(event.event_time, 1_764_619_804);
        assert_eq!(event.subject_name.as_deref(), Some("john.smith"));
        assert_eq!(
            event.resource_name.as_deref(),
            Some("Administration Portal")
        );
        assert_eq!(event.ips(), vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
        assert!(event.describe().contains("succeeded for 'john.smith'"));
        no_token(&file);
    }

    #[test]
    fn an_array_with_a_bad_item_names_its_line() {
        let text = format!(
            "[\n  {SUCCEEDED},\n  {{\"type\": \"authentication.failed\"}},\n  {FAILED}\n]\n"
        );
        let file = parse_idaas(&text);
        assert_eq!(file.events.len(), 2);
        assert_eq!(
            file.bad,
            [BadPayload {
                line: 3,
                reason: "no `id`".into()
            }]
        );
        no_token(&file);
    }

    #[test]
    fn json_lines_with_a_malformed_line() {
        let text = format!(
            "{SUCCEEDED}\n\n{{\"id\": \"x\", \"type\": \"authentication.failed\", \"data\": {{\"token\": \"TOKEN-SECRET-3\"\n{FAILED}\n{{\"id\": \"y\", \"type\": \"user.created\", \"eventTime\": \"2025-12-01T20:11:00Z\", \"data\": {{}}}}\n"
        );
        let file = parse_idaas(&text);
        assert_eq!(file.events.len(), 2);
        assert_eq!(file.other_types, 1);
        assert_eq!(file.bad.len(), 1);
        assert_eq!(file.bad[0].line, 3);
        assert!(!file.bad[0].reason.contains("TOKEN"), "{:?}", file.bad);
        no_token(&file);
    }

    #[test]
    fn a_broken_array_of_one_line_objects_keeps_its_good_lines() {
        let text = format!("[\n{SUCCEEDED},\n{{\"id\": oops}},\n{FAILED}\n]");
        let file = parse_idaas(&text);
        assert_eq!(file.events.len(), 2);
        assert_eq!(file.bad.len(), 1);
        assert_eq!(file.bad[0].line, 3);
    }

    #[test]
    fn field_problems_are_named_and_duplicates_dropped() {
        let text = format!(
            "{SUCCEEDED}\n{SUCCEEDED}\n{{\"id\": \"z\", \"type\": \"authentication.failed\", \"eventTime\": \"TOKEN-SECRET-4\", \"data\": {{}}}}\n{{\"id\": \"z\", \"type\": \"authentication.failed\", \"eventTime\": \"2025-12-01T20:11:00Z\"}}\n[1]\n"
        );
        let file = parse_idaas(&text);
        assert_eq!(file.events.len(), 1);
        let reasons: Vec<(usize, &str)> = file
            .bad
            .iter()
            .map(|b| (b.line, b.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (3, "`eventTime` is missing or not an ISO 8601 time"),
                (4, "no `data` object"),
                (5, "not a JSON object"),
            ]
        );
    }

    #[test]
    fn item_lines_skip_strings_and_nesting() {
        let text = "[{\"a\": \"],[,\"}, {\"b\": [1, 2]},\n\n  3\n]";
        assert_eq!(array_item_lines(text), vec![1, 1, 3]);
        assert_eq!(array_item_lines("[]"), Vec::<usize>::new());
    }
}
