//! One event of the emnify events API (`GET /api/v1/event`, `GET /api/v1/user/my/event`),
//! read leniently from JSON: the fields of the documentation's examples, numbers that may
//! come as `5833` or `5833.0`, and optional parts that may be missing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::time::parse_iso8601;

/// Type 6: a user failed to log in (wrong password or code, or locked out).
pub const USER_AUTHENTICATION_FAILED: u64 = 6;
/// Type 7: an application token failed to authenticate (revoked, expired).
pub const APPLICATION_AUTHENTICATION_FAILED: u64 = 7;
/// Type 13: emnify support generated a token to act as one of the workspace's users.
pub const SUPPORT_ACCESS: u64 = 13;
/// Type 14: an MFA key was created, activated or deleted.
pub const MULTI_FACTOR_AUTHENTICATION: u64 = 14;
/// The security-relevant event types, in the order the API documents them.
pub const SECURITY_EVENT_TYPES: [u64; 4] = [
    USER_AUTHENTICATION_FAILED,
    APPLICATION_AUTHENTICATION_FAILED,
    SUPPORT_ACCESS,
    MULTI_FACTOR_AUTHENTICATION,
];

/// An `{id, description}` lookup value (`event_type`, `event_source`, `event_severity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    /// Numeric id.
    pub id: u64,
    /// Its name, e.g. "User authentication failed", "Warn", "API".
    #[serde(default)]
    pub description: String,
}

/// The organisation (workspace) an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOrganisation {
    /// Organisation id.
    pub id: u64,
    /// Its name.
    #[serde(default)]
    pub name: String,
}

/// The user an event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventUser {
    /// User id.
    pub id: u64,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// User name (e-mail).
    #[serde(default)]
    pub username: String,
}

/// The `detail` of a Support Access event (the only detail the documentation shows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    /// The emnify support person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_username: Option<String>,
    /// The support person's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_user_org: Option<EventOrganisation>,
    /// The user support acted as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_username: Option<String>,
}

/// One event as the emnify API returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmnifyEvent {
    /// Event id (unique, but not ordered by time).
    pub id: u64,
    /// When it happened, Unix seconds.
    pub timestamp: u64,
    /// Whether the event is flagged as an alert.
    #[serde(default)]
    pub alert: bool,
    /// The text, e.g. "Failed authentication request from 'x', Reason: … from IP …".
    pub description: String,
    /// Its type (6, 7, 13, 14, …).
    pub event_type: Lookup,
    /// Where it came from (2 = API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source: Option<Lookup>,
    /// Info, Warn, Critical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_severity: Option<Lookup>,
    /// The workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<EventOrganisation>,
    /// The user concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<EventUser>,
    /// Extra fields (Support Access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<EventDetail>,
}

/// Why one event of an API answer could not be read. Never quotes the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventParseError {
    /// A required field is missing or has the wrong JSON type.
    #[error("the event has no usable `{0}`")]
    Missing(&'static str),
    /// The timestamp is not an ISO 8601 date-time.
    #[error("the event's `timestamp` is not an ISO 8601 date-time")]
    Timestamp,
}

/// A whole number given as `5833` or `5833.0`.
fn whole_number(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let float = value.as_f64()?;
        (float >= 0.0 && float.fract() == 0.0 && float < 1.8e19).then_some(float as u64)
    })
}

fn text(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn lookup(value: Option<&Value>) -> Option<Lookup> {
    let value = value?;
    Some(Lookup {
        id: whole_number(value.get("id")?)?,
        description: text(value.get("description")),
    })
}

fn organisation(value: Option<&Value>) -> Option<EventOrganisation> {
    let value = value?;
    Some(EventOrganisation {
        id: whole_number(value.get("id")?)?,
        name: text(value.get("name")),
    })
}

fn optional_text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

impl EmnifyEvent {
    /// Reads one item of an events answer.
    pub fn from_json(value: &Value) -> Result<Self, EventParseError> {
        let id = value
            .get("id")
            .and_then(whole_number)
            .ok_or(EventParseError::Missing("id"))?;
        let timestamp = value
            .get("timestamp")
            .and_then(Value::as_str)
            .ok_or(EventParseError::Missing("timestamp"))?;
        let timestamp = parse_iso8601(timestamp).ok_or(EventParseError::Timestamp)?;
        let event_type =
            lookup(value.get("event_type")).ok_or(EventParseError::Missing("event_type"))?;
        let user = value.get("user").and_then(|u| {
            Some(EventUser {
                id: whole_number(u.get("id")?)?,
                name: text(u.get("name")),
                username: text(u.get("username")),
            })
        });
        let detail = value
            .get("detail")
            .filter(|d| d.is_object())
            .map(|d| EventDetail {
                support_username: optional_text(d.get("support_username")),
                support_user_org: organisation(d.get("support_user_org")),
                target_username: optional_text(d.get("target_username")),
            });
        Ok(Self {
            id,
            timestamp,
            alert: value.get("alert").and_then(Value::as_bool).unwrap_or(false),
            description: text(value.get("description")),
            event_type,
            event_source: lookup(value.get("event_source")),
            event_severity: lookup(value.get("event_severity")),
            organisation: organisation(value.get("organisation")),
            user,
            detail,
        })
    }

    /// The support person of a Support Access event: from `detail`, else from the
    /// description ("Support user X of organisation …").
    pub fn support_username(&self) -> Option<String> {
        if let Some(name) = self
            .detail
            .as_ref()
            .and_then(|d| d.support_username.clone())
        {
            return Some(name);
        }
        let rest = self.description.strip_prefix("Support user ")?;
        let name = rest.split(" of organisation ").next()?.trim();
        (!name.is_empty()).then(|| name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documentation_examples_parse() {
        let failed = json!({
            "timestamp": "2021-11-04T11:47:10.517Z",
            "alert": false,
            "description": "Failed authentication request from 'example@yourorg.com', Reason: Invalid password from IP 176.11.24.173, 45.196.240.161",
            "id": 13096831909u64,
            "event_type": {"id": 6, "description": "User authentication failed"},
            "event_source": {"id": 2, "description": "API"},
            "event_severity": {"id": 1, "description": "Warn"},
            "organisation": {"id": 5833, "name": "Test Org"},
            "user": {"id": 3492824, "name": "John Doe", "username": "example@yourorg.com"}
        });
        let event = EmnifyEvent::from_json(&failed).unwrap();
        assert_eq!(event.id, 13_096_831_909);
        assert_eq!(event.timestamp, 1_636_026_430);
        assert_eq!(event.event_type.id, USER_AUTHENTICATION_FAILED);
        assert_eq!(event.event_severity.as_ref().unwrap().description, "Warn");
        assert_eq!(event.event_source.as_ref().unwrap().id, 2);
        assert_eq!(event.organisation.as_ref().unwrap().name, "Test Org");
        assert_eq!(event.user.as_ref().unwrap().username, "example@yourorg.com");
        assert_eq!(event.detail, None);

        let support = json!({
            "timestamp": "2021-11-04T12:48:12.977Z",
            "alert": false,
            "description": "Support user max.mustermann@emnify.com of organisation emnify GmbH generated a support token for user example-user@test.com of organisation Test Org",
            "id": 136301313516u64,
            "event_type": {"id": 13.0, "description": "Support Access"},
            "event_source": {"id": 2, "description": "API"},
            "event_severity": {"id": 1, "description": "Warn"},
            "organisation": {"id": 5833.0, "name": "Test Org"},
            "user": {"id": 3492824, "name": "John Doe", "username": "example-user@test.com"},
            "detail": {
                "support_username": "max.mustermann@emnify.com",
                "support_user_org": {"id": 2, "name": "emnify GmbH"},
                "target_username": "example-user@test.com"
            }
        });
        let event = EmnifyEvent::from_json(&support).unwrap();
        assert_eq!(event.event_type.id, SUPPORT_ACCESS);
        assert_eq!(event.organisation.as_ref().unwrap().id, 5833);
        let detail = event.detail.as_ref().unwrap();
        assert_eq!(
            detail.target_username.as_deref(),
            Some("example-user@test.com")
        );
        assert_eq!(
            detail.support_user_org.as_ref().unwrap().name,
            "emnify GmbH"
        );
        assert_eq!(
            event.support_username().as_deref(),
            Some("max.mustermann@emnify.com")
        );
    }

    #[test]
    fn support_user_from_the_description_when_there_is_no_detail() {
        let event = EmnifyEvent::from_json(&json!({
            "id": 1, "timestamp": "2021-11-04T12:48:12Z",
            "description": "Support user max.mustermann@emnify.com of organisation emnify GmbH generated a support token for user u of organisation O",
            "event_type": {"id": 13}
        }))
        .unwrap();
        assert_eq!(
            event.support_username().as_deref(),
            Some("max.mustermann@emnify.com")
        );
    }

    #[test]
    fn unusable_items_say_which_field() {
        let no_id = json!({"timestamp": "2021-11-04T12:48:12Z", "event_type": {"id": 6}});
        assert_eq!(
            EmnifyEvent::from_json(&no_id),
            Err(EventParseError::Missing("id"))
        );
        let bad_time =
            json!({"id": 1, "timestamp": "secret-looking text", "event_type": {"id": 6}});
        let err = EmnifyEvent::from_json(&bad_time).unwrap_err();
        assert_eq!(err, EventParseError::Timestamp);
        assert!(!err.to_string().contains("secret-looking"));
        let no_type = json!({"id": 1, "timestamp": "2021-11-04T12:48:12Z"});
        assert_eq!(
            EmnifyEvent::from_json(&no_type),
            Err(EventParseError::Missing("event_type"))
        );
    }
}
