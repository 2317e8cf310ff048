//! What an event means for the account's security (pure functions): the IP addresses of a
//! failed authentication, the MFA key an MFA event is about, and whether an event deserves
//! to be highlighted.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The words emnify adds when failures lock the user for five minutes.
pub const TOO_MANY_FAILED: &str = "Too many failed authentication requests";

const FAILED_PREFIX: &str = "failed authentication request";
const FROM_IP: &str = " from ip ";

/// The IP addresses of a "Failed authentication request from '…', Reason: … from IP …"
/// description, in the order given (the API lists the client first, then the proxies it
/// went through: "from IP 176.11.24.173, 45.196.240.161"). Empty for other descriptions.
pub fn failed_auth_ips(description: &str) -> Vec<IpAddr> {
    let text = description.trim();
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` fit `text`.
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with(FAILED_PREFIX) {
        return Vec::new();
    }
    // The last " from IP ": a user or token name could contain the words too.
    let Some(position) = lower.rfind(FROM_IP) else {
        return Vec::new();
    };
    let mut ips = Vec::new();
    for token in text[position + FROM_IP.len()..].split(|c: char| c == ',' || c.is_whitespace()) {
        let token = token
            .trim_matches(|c: char| matches!(c, '.' | ';' | '(' | ')' | '[' | ']' | '\'' | '"'));
        if let Ok(ip) = token.parse::<IpAddr>()
            && !ips.contains(&ip)
        {
            ips.push(ip);
        }
    }
    ips
}

/// Whether a description reports the failure that locked the user, or an attempt during
/// the lockout.
pub fn mentions_too_many_failures(description: &str) -> bool {
    description
        .to_ascii_lowercase()
        .contains(&TOO_MANY_FAILED.to_ascii_lowercase())
}

/// What happened to an MFA key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaKeyAction {
    /// Created (activation pending).
    Created,
    /// Activated: MFA is on.
    Activated,
    /// Deleted: with no other active key, MFA is off.
    Deleted,
    /// A word this build does not know.
    Other(String),
}

/// An MFA event's key and action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaKeyEvent {
    /// The key id, when the description names it.
    pub key_id: Option<u64>,
    /// What happened.
    pub action: MfaKeyAction,
}

/// Reads "MFA key with Id '717' of Type 'Time-Based One-Time Password' deleted for user
/// 'x'" (the wording of emnify's example). `None` for other descriptions.
pub fn mfa_key_event(description: &str) -> Option<MfaKeyEvent> {
    let text = description.trim();
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with("mfa key") {
        return None;
    }
    let key_id = lower.find("id '").and_then(|start| {
        let rest = &text[start + 4..];
        rest[..rest.find('\'')?].trim().parse().ok()
    });
    let before_user = &lower[..lower.rfind(" for user").unwrap_or(lower.len())];
    let word = before_user.split_whitespace().last()?;
    let action = match word {
        "created" => MfaKeyAction::Created,
        "activated" => MfaKeyAction::Activated,
        "deleted" | "removed" => MfaKeyAction::Deleted,
        other => MfaKeyAction::Other(other.trim_matches('\'').to_owned()),
    };
    Some(MfaKeyEvent { key_id, action })
}

/// Why an event stands out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Highlight {
    /// The failure that locked the user for five minutes, or an attempt during a lockout.
    TooManyFailedAttempts,
    /// emnify support acted as a user of the workspace.
    SupportAccess {
        /// The support person, when known.
        support_username: Option<String>,
    },
    /// An MFA key was deleted (MFA may be off now).
    MfaKeyDeleted {
        /// The key, when the description names it.
        key_id: Option<u64>,
    },
    /// A failed login from an address no earlier event showed.
    FailedLoginFromNewIp {
        /// The address.
        ip: IpAddr,
    },
}

impl Highlight {
    /// A short sentence for people.
    pub fn describe(&self) -> String {
        match self {
            Highlight::TooManyFailedAttempts => {
                "too many failed attempts: the user was locked out for 5 minutes".to_owned()
            }
            Highlight::SupportAccess {
                support_username: Some(who),
            } => format!("emnify support ({who}) accessed the workspace as a user"),
            Highlight::SupportAccess {
                support_username: None,
            } => "emnify support accessed the workspace as a user".to_owned(),
            Highlight::MfaKeyDeleted { key_id: Some(id) } => {
                format!("MFA key {id} was deleted")
            }
            Highlight::MfaKeyDeleted { key_id: None } => "an MFA key was deleted".to_owned(),
            Highlight::FailedLoginFromNewIp { ip } => {
                format!("failed login from an IP address not seen before: {ip}")
            }
        }
    }
}

/// The facts [`highlight`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct HighlightFacts<'a> {
    /// The emnify event type; `None` for IDaaS events.
    pub event_type: Option<u64>,
    /// The event text.
    pub description: &'a str,
    /// Whether the event is a failed authentication (types 6 and 7, IDaaS failures).
    pub failed_login: bool,
    /// An IP address this event is the first to show, if any.
    pub new_ip: Option<IpAddr>,
    /// The support person (Support Access).
    pub support_username: Option<&'a str>,
}

/// Whether an event stands out, and why. When several reasons apply, the most serious
/// wins: a lockout, then support access, then a deleted MFA key, then a new IP address.
pub fn highlight(facts: &HighlightFacts<'_>) -> Option<Highlight> {
    if facts.failed_login && mentions_too_many_failures(facts.description) {
        return Some(Highlight::TooManyFailedAttempts);
    }
    match facts.event_type {
        Some(crate::events::model::SUPPORT_ACCESS) => {
            return Some(Highlight::SupportAccess {
                support_username: facts.support_username.map(str::to_owned),
            });
        }
        Some(crate::events::model::MULTI_FACTOR_AUTHENTICATION) => {
            if let Some(MfaKeyEvent {
                key_id,
                action: MfaKeyAction::Deleted,
            }) = mfa_key_event(facts.description)
            {
                return Some(Highlight::MfaKeyDeleted { key_id });
            }
        }
        _ => {}
    }
    match (facts.failed_login, facts.new_ip) {
        (true, Some(ip)) => Some(Highlight::FailedLoginFromNewIp { ip }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ips_of_the_documentation_examples() {
        assert_eq!(
            failed_auth_ips(
                "Failed authentication request from 'example@yourorg.com', Reason: Invalid password from IP 176.11.24.173, 45.196.240.161"
            ),
            vec![ip("176.11.24.173"), ip("45.196.240.161")]
        );
        assert_eq!(
            failed_auth_ips(
                "Failed authentication request from 'example@yourorg.com', Reason: Invalid password. Too many failed authentication requests from IP 139.39.233.94, 32.7.85.228"
            ),
            vec![ip("139.39.233.94"), ip("32.7.85.228")]
        );
        assert_eq!(
            failed_auth_ips(
                "Failed authentication request from 'Application Token Name', Reason: TokenStatus Revoked from IP 54.64.35.156"
            ),
            vec![ip("54.64.35.156")]
        );
    }

    #[test]
    fn ips_of_the_simulator_wording() {
        for (reason, want) in [
            ("Invalid password", "127.0.0.1"),
            ("Invalid MFA code", "198.51.100.23"),
            (
                "Invalid password. Too many failed authentication requests",
                "127.0.0.1",
            ),
            ("Too many failed authentication requests", "::1"),
            ("TokenStatus Expired", "203.0.113.40"),
        ] {
            let text = format!(
                "Failed authentication request from 'demo@example.com', Reason: {reason} from IP {want}"
            );
            assert_eq!(failed_auth_ips(&text), vec![ip(want)], "{text}");
        }
    }

    #[test]
    fn ips_edge_cases() {
        // A name containing the words; IPv6; a trailing full stop; duplicates.
        assert_eq!(
            failed_auth_ips(
                "Failed authentication request from 'from IP 10.0.0.1', Reason: Invalid password from IP 2001:db8::7, 2001:db8::7."
            ),
            vec![ip("2001:db8::7")]
        );
        assert_eq!(
            failed_auth_ips("failed AUTHENTICATION request from 'x', Reason: y FROM IP 10.1.2.3"),
            vec![ip("10.1.2.3")]
        );
        assert!(failed_auth_ips("Failed authentication request from 'x', Reason: y").is_empty());
        assert!(
            failed_auth_ips("Failed authentication request from 'x' from IP unknown").is_empty()
        );
        assert!(failed_auth_ips("User 'a' logged in from IP 10.0.0.1").is_empty());
        assert!(failed_auth_ips("").is_empty());
    }

    #[test]
    fn mfa_key_events() {
        let deleted = "MFA key with Id '717' of Type 'Time-Based One-Time Password' deleted for user 'demo@example.com'";
        assert_eq!(
            mfa_key_event(deleted),
            Some(MfaKeyEvent {
                key_id: Some(717),
                action: MfaKeyAction::Deleted
            })
        );
        let created = "MFA key with Id '1000' of Type 'Time-Based One-Time Password' created for user 'nomfa@example.com'";
        assert_eq!(
            mfa_key_event(created).unwrap().action,
            MfaKeyAction::Created
        );
        let activated =
            "MFA key with Id '1000' of Type 'Time-Based One-Time Password' activated for user 'x'";
        assert_eq!(
            mfa_key_event(activated).unwrap().action,
            MfaKeyAction::Activated
        );
        assert_eq!(
            mfa_key_event("MFA key with Id 'x' of Type 'T' renamed for user 'u'"),
            Some(MfaKeyEvent {
                key_id: None,
                action: MfaKeyAction::Other("renamed".into())
            })
        );
        assert_eq!(mfa_key_event("Support user a of organisation b"), None);
    }

    fn facts<'a>(event_type: Option<u64>, description: &'a str) -> HighlightFacts<'a> {
        HighlightFacts {
            event_type,
            description,
            failed_login: matches!(event_type, Some(6 | 7)),
            new_ip: None,
            support_username: None,
        }
    }

    #[test]
    fn highlights() {
        let locked = "Failed authentication request from 'u', Reason: Invalid password. Too many failed authentication requests from IP 127.0.0.1";
        let mut f = facts(Some(6), locked);
        f.new_ip = Some(ip("127.0.0.1"));
        // The lockout is more serious than the new address.
        assert_eq!(highlight(&f), Some(Highlight::TooManyFailedAttempts));

        let wrong =
            "Failed authentication request from 'u', Reason: Invalid password from IP 127.0.0.1";
        assert_eq!(highlight(&facts(Some(6), wrong)), None);
        let mut f = facts(Some(6), wrong);
        f.new_ip = Some(ip("127.0.0.1"));
        assert_eq!(
            highlight(&f),
            Some(Highlight::FailedLoginFromNewIp {
                ip: ip("127.0.0.1")
            })
        );
        // A new address on a success (IDaaS) is no reason.
        let mut f = facts(None, "authentication.succeeded");
        f.new_ip = Some(ip("10.0.0.1"));
        assert_eq!(highlight(&f), None);

        let mut f = facts(Some(13), "Support user s of organisation e generated …");
        f.support_username = Some("s");
        assert_eq!(
            highlight(&f),
            Some(Highlight::SupportAccess {
                support_username: Some("s".into())
            })
        );
        let deleted =
            "MFA key with Id '717' of Type 'Time-Based One-Time Password' deleted for user 'u'";
        assert_eq!(
            highlight(&facts(Some(14), deleted)),
            Some(Highlight::MfaKeyDeleted { key_id: Some(717) })
        );
        let created =
            "MFA key with Id '717' of Type 'Time-Based One-Time Password' created for user 'u'";
        assert_eq!(highlight(&facts(Some(14), created)), None);
        assert!(
            Highlight::MfaKeyDeleted { key_id: Some(717) }
                .describe()
                .contains("717")
        );
    }
}
