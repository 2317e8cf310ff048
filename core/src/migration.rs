//! Google Authenticator exports: `otpauth-migration://offline?data=…` links, one per QR
//! code of the app's "Transfer accounts → Export accounts" screen.
//!
//! `data` is Base64 of a protobuf `MigrationPayload` holding several accounts with their
//! raw (not Base32) keys. Large exports are split over several QR codes that share a
//! batch id; each code parses on its own, and [`BatchPosition`] tells which one it was.
//!
//! The decoded bytes hold every exported key, so each buffer that carries them is wrapped
//! in [`Zeroizing`] and the decoded messages zero their key fields when dropped.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use prost::Message as _;
use zeroize::Zeroizing;

use crate::account::{Algorithm, NewAccount, OtpParams, display_name};
use crate::otpauth::decode_component;
use crate::secret::TotpSecret;

/// One QR code of a Google Authenticator export, parsed.
#[derive(Debug)]
pub struct MigrationBatch {
    /// The accounts that can be added, in export order.
    pub accounts: Vec<NewAccount>,
    /// Entries that were read but cannot be added (HOTP, MD5, …), with the reason.
    pub skipped: Vec<SkippedEntry>,
    /// Which code of the export this was.
    pub batch: BatchPosition,
}

/// Where one QR code sits in a multi-code export. `index` is 0-based, as in the payload:
/// the second of three codes has `index: 1, size: 3` (shown as "code 2 of 3").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPosition {
    /// 0-based position of this code.
    pub index: u32,
    /// Number of codes in the export (at least 1).
    pub size: u32,
    /// Shared by all codes of one export, to tell two exports apart.
    pub id: i32,
}

impl fmt::Display for BatchPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {} of {}", self.index.saturating_add(1), self.size)
    }
}

/// An exported entry that was not turned into an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// "Issuer: name" as the export names it (never the key).
    pub name: String,
    /// Why it was skipped, as a sentence for the user.
    pub reason: String,
}

/// Why a Google Authenticator export link was refused as a whole. Messages never contain
/// the link's data (which holds the keys).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationError {
    /// A single-account `otpauth://` link.
    #[error(
        "this is a single-account link (otpauth://), not a Google Authenticator export: add it as one account instead"
    )]
    SingleAccount,
    /// Not an `otpauth-migration://offline` link.
    #[error(
        "this is not a Google Authenticator export: expected a link beginning with otpauth-migration://offline?data= (from Transfer accounts → Export accounts)"
    )]
    NotMigration,
    /// No `data=` parameter, or an empty one.
    #[error("the export link has no data: scan the export QR code again, or copy the whole link")]
    MissingData,
    /// `data` is not Base64 (or its `%` escapes are broken).
    #[error(
        "the export link's data is damaged (not valid Base64): scan the export QR code again, or copy the whole link"
    )]
    BadBase64,
    /// `data` decodes, but not to a Google Authenticator payload.
    #[error(
        "the export link's data is not a Google Authenticator export (it may be cut off): scan the export QR code again"
    )]
    BadProtobuf,
    /// A well-formed payload without a single entry.
    #[error(
        "the export contains no accounts: in Google Authenticator, select the accounts to export and scan the codes it shows"
    )]
    Empty,
}

/// The protobuf messages, written by hand from Google Authenticator's (unpublished,
/// widely reverse-engineered) schema so that no build script or `protoc` is needed.
/// Enum fields are read as plain `int32` (the same varint on the wire) so that unknown
/// values reach our own checks instead of being mapped away.
mod proto {
    use std::fmt;

    use zeroize::Zeroize;

    /// `MigrationPayload`.
    #[derive(Clone, PartialEq, prost::Message)]
    #[prost(skip_debug)]
    pub(super) struct MigrationPayload {
        #[prost(message, repeated, tag = "1")]
        pub(super) otp_parameters: Vec<OtpParameters>,
        #[prost(int32, tag = "2")]
        pub(super) version: i32,
        #[prost(int32, tag = "3")]
        pub(super) batch_size: i32,
        #[prost(int32, tag = "4")]
        pub(super) batch_index: i32,
        #[prost(int32, tag = "5")]
        pub(super) batch_id: i32,
    }

    /// `MigrationPayload.OtpParameters`: one account.
    #[derive(Clone, PartialEq, prost::Message)]
    #[prost(skip_debug)]
    pub(super) struct OtpParameters {
        /// The raw key bytes.
        #[prost(bytes = "vec", tag = "1")]
        pub(super) secret: Vec<u8>,
        #[prost(string, tag = "2")]
        pub(super) name: String,
        #[prost(string, tag = "3")]
        pub(super) issuer: String,
        /// 0 unspecified, 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5.
        #[prost(int32, tag = "4")]
        pub(super) algorithm: i32,
        /// 0 unspecified, 1 six, 2 eight.
        #[prost(int32, tag = "5")]
        pub(super) digits: i32,
        /// 0 unspecified, 1 HOTP, 2 TOTP.
        #[prost(int32, tag = "6")]
        pub(super) otp_type: i32,
        #[prost(int64, tag = "7")]
        pub(super) counter: i64,
    }

    /// Whatever path an entry takes (moved into a `TotpSecret`, skipped, or the whole
    /// payload dropped on an error), its key bytes are zeroed here.
    impl Drop for OtpParameters {
        fn drop(&mut self) {
            self.secret.zeroize();
        }
    }

    // Hand-written so that no `{:?}` can ever print key bytes.
    impl fmt::Debug for MigrationPayload {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("MigrationPayload")
                .field("otp_parameters", &self.otp_parameters)
                .field("batch_size", &self.batch_size)
                .field("batch_index", &self.batch_index)
                .finish_non_exhaustive()
        }
    }

    impl fmt::Debug for OtpParameters {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("OtpParameters")
                .field("name", &self.name)
                .field("issuer", &self.issuer)
                .finish_non_exhaustive()
        }
    }
}

/// Standard Base64 that also takes missing or extra padding and non-zero trailing bits:
/// the `data` value passes through QR scanners and chat apps that drop `=`.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Parses one Google Authenticator export link.
///
/// Entries that cannot become accounts (HOTP, MD5, unknown digit counts, keys under 80
/// bits, no name at all) are listed in [`MigrationBatch::skipped`] rather than failing the
/// code: the others can still be added. A payload without any entry is
/// [`MigrationError::Empty`].
pub fn parse_migration_uri(uri: &str) -> Result<MigrationBatch, MigrationError> {
    let data = migration_data(uri.trim())?;
    let bytes = decode_base64(data)?;
    let mut payload = proto::MigrationPayload::decode(bytes.as_slice())
        .map_err(|_| MigrationError::BadProtobuf)?;
    drop(bytes);

    if payload.otp_parameters.is_empty() {
        return Err(MigrationError::Empty);
    }
    let batch = BatchPosition {
        index: u32::try_from(payload.batch_index).unwrap_or(0),
        // Old exports (and hand-made ones) leave it out: a lone code is 1 of 1.
        size: u32::try_from(payload.batch_size).unwrap_or(0).max(1),
        id: payload.batch_id,
    };
    let mut accounts = Vec::new();
    let mut skipped = Vec::new();
    for (position, mut entry) in payload.otp_parameters.drain(..).enumerate() {
        match convert(&mut entry) {
            Ok(account) => accounts.push(account),
            Err(reason) => skipped.push(SkippedEntry {
                name: entry_name(&entry, position),
                reason,
            }),
        }
    }
    Ok(MigrationBatch {
        accounts,
        skipped,
        batch,
    })
}

/// The still-escaped `data` value of an `otpauth-migration://offline` link.
fn migration_data(uri: &str) -> Result<&str, MigrationError> {
    let (scheme, rest) = uri.split_once("://").ok_or(MigrationError::NotMigration)?;
    if scheme.eq_ignore_ascii_case("otpauth") {
        return Err(MigrationError::SingleAccount);
    }
    if !scheme.eq_ignore_ascii_case("otpauth-migration") {
        return Err(MigrationError::NotMigration);
    }
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !host.trim_end_matches('/').eq_ignore_ascii_case("offline") {
        return Err(MigrationError::NotMigration);
    }
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.eq_ignore_ascii_case("data"))
        .map(|(_, value)| value)
        .filter(|value| !value.trim().is_empty())
        .ok_or(MigrationError::MissingData)
}

/// Decodes the escaped Base64 `data` value into the payload bytes.
///
/// A literal `+` is a Base64 digit here, not a space: Google Authenticator escapes its
/// `+` as `%2B`, but some tools (and people) unescape the link before sharing it, so form
/// decoding would corrupt the keys. Spaces, which Base64 never contains, are taken as a
/// `+` that something form-decoded on the way; the URL-safe alphabet (`-`, `_`) is
/// accepted too.
fn decode_base64(escaped: &str) -> Result<Zeroizing<Vec<u8>>, MigrationError> {
    let unescaped = decode_component(escaped, false).ok_or(MigrationError::BadBase64)?;
    let mut text = Zeroizing::new(String::with_capacity(unescaped.len()));
    for character in unescaped.chars() {
        match character {
            ' ' | '-' => text.push('+'),
            '_' => text.push('/'),
            '\n' | '\r' | '\t' => {}
            other => text.push(other),
        }
    }
    LENIENT_BASE64
        .decode(text.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| MigrationError::BadBase64)
}

/// Turns one entry into an account, or says why it cannot be one. Takes the key out of
/// the entry (leaving it empty) so that it lives only inside the `TotpSecret`.
fn convert(entry: &mut proto::OtpParameters) -> Result<NewAccount, String> {
    match entry.otp_type {
        // Unspecified: the app wrote only TOTP before it had HOTP.
        0 | 2 => {}
        1 => {
            return Err(
                "HOTP (counter-based) accounts are not supported yet, only time-based ones".into(),
            );
        }
        other => {
            return Err(format!(
                "it has an unknown type ({other}); only time-based (TOTP) accounts can be imported"
            ));
        }
    }
    let algorithm = match entry.algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        4 => {
            return Err(
                "it uses MD5, which is not supported (only SHA1, SHA256 and SHA512)".into(),
            );
        }
        other => {
            return Err(format!(
                "it uses an unknown algorithm ({other}); only SHA1, SHA256 and SHA512 are supported"
            ));
        }
    };
    let digits = match entry.digits {
        0 | 1 => 6,
        2 => 8,
        other => {
            return Err(format!(
                "it has an unknown code length ({other}); only 6 and 8 digits are known"
            ));
        }
    };
    let params = OtpParams::new(algorithm, digits, 30)
        .map_err(|error| format!("its settings are not supported: {error}"))?;
    let (issuer, label) = split_name(&entry.name, &entry.issuer)
        .ok_or_else(|| "it has neither a name nor an issuer".to_owned())?;
    let secret = TotpSecret::from_bytes(std::mem::take(&mut entry.secret))
        .map_err(|error| format!("its key is unusable: {error}"))?;
    Ok(NewAccount {
        issuer,
        label,
        params,
        secret,
    })
}

/// Issuer and label from an entry's `name` and `issuer`. The app copies an `otpauth`
/// label into `name` whole, so it may start with `Issuer:`; that prefix is dropped when it
/// repeats the issuer (in any case) or stands in for a missing one, and otherwise kept as
/// part of the name (it is then not an issuer prefix, e.g. "Team: Ops"). `None` when
/// nothing names the account.
fn split_name(name: &str, issuer: &str) -> Option<(String, String)> {
    let issuer = issuer.trim();
    let name = name.trim();
    let (issuer, label) = if issuer.is_empty() {
        match name.split_once(':') {
            Some((prefix, rest)) => (prefix.trim(), rest.trim()),
            None => ("", name),
        }
    } else {
        // The whole issuer first, so that an issuer containing ':' is matched in one piece.
        let repeated = name
            .strip_prefix(issuer)
            .and_then(|rest| rest.strip_prefix(':'))
            .or_else(|| {
                name.split_once(':')
                    .filter(|(prefix, _)| prefix.trim().eq_ignore_ascii_case(issuer))
                    .map(|(_, rest)| rest)
            });
        (issuer, repeated.map_or(name, str::trim))
    };
    let label = if label.is_empty() { issuer } else { label };
    (!label.is_empty()).then(|| (issuer.to_owned(), label.to_owned()))
}

/// How a skipped entry is named to the user: "Issuer: name", else its position.
fn entry_name(entry: &proto::OtpParameters, position: usize) -> String {
    match split_name(&entry.name, &entry.issuer) {
        Some((issuer, label)) => display_name(&issuer, &label),
        None => format!("entry {}", position + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::proto::{MigrationPayload, OtpParameters};
    use super::*;
    use crate::secret::SecretError;

    fn entry(secret: &[u8], name: &str, issuer: &str) -> OtpParameters {
        OtpParameters {
            secret: secret.to_vec(),
            name: name.into(),
            issuer: issuer.into(),
            algorithm: 1,
            digits: 1,
            otp_type: 2,
            counter: 0,
        }
    }

    fn payload(entries: Vec<OtpParameters>, size: i32, index: i32, id: i32) -> MigrationPayload {
        MigrationPayload {
            otp_parameters: entries,
            version: 1,
            batch_size: size,
            batch_index: index,
            batch_id: id,
        }
    }

    /// The link as Google Authenticator writes it: standard Base64, `+/=` escaped.
    fn link(payload: &MigrationPayload) -> String {
        let data = base64::engine::general_purpose::STANDARD.encode(payload.encode_to_vec());
        let escaped = data
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        format!("otpauth-migration://offline?data={escaped}")
    }

    const KEY: &[u8] = b"Hello!\xde\xad\xbe\xef";

    #[test]
    fn several_accounts_in_one_code() {
        let mut sha256 = entry(&[7; 32], "bob@example.com", "Example");
        sha256.algorithm = 2;
        sha256.digits = 2;
        let mut sha512 = entry(&[9; 64], "ops", "");
        sha512.algorithm = 3;
        let batch = parse_migration_uri(&link(&payload(
            vec![
                entry(KEY, "Example:alice@google.com", "Example"),
                sha256,
                sha512,
            ],
            1,
            0,
            42,
        )))
        .unwrap();
        assert!(batch.skipped.is_empty());
        assert_eq!(
            batch.batch,
            BatchPosition {
                index: 0,
                size: 1,
                id: 42
            }
        );
        let [alice, bob, ops] = &batch.accounts[..] else {
            panic!("{batch:?}")
        };
        assert_eq!(
            (alice.issuer.as_str(), alice.label.as_str()),
            ("Example", "alice@google.com")
        );
        assert_eq!(alice.params, OtpParams::default());
        assert_eq!(alice.secret.expose_base32().as_str(), "JBSWY3DPEHPK3PXP");
        assert_eq!(
            (bob.issuer.as_str(), bob.label.as_str()),
            ("Example", "bob@example.com")
        );
        assert_eq!(
            bob.params,
            OtpParams::new(Algorithm::Sha256, 8, 30).unwrap()
        );
        assert_eq!(bob.secret.expose_bytes(), &[7; 32]);
        assert_eq!((ops.issuer.as_str(), ops.label.as_str()), ("", "ops"));
        assert_eq!(
            ops.params,
            OtpParams::new(Algorithm::Sha512, 6, 30).unwrap()
        );
    }

    #[test]
    fn unspecified_fields_take_the_defaults() {
        let mut bare = entry(KEY, "alice", "");
        bare.algorithm = 0;
        bare.digits = 0;
        bare.otp_type = 0;
        let batch = parse_migration_uri(&link(&payload(vec![bare], 0, 0, 0))).unwrap();
        assert_eq!(batch.accounts[0].params, OtpParams::default());
        assert_eq!(
            batch.batch,
            BatchPosition {
                index: 0,
                size: 1,
                id: 0
            }
        );
    }

    #[test]
    fn names_and_issuers() {
        for (name, issuer, want_issuer, want_label) in [
            ("Example:alice", "Example", "Example", "alice"),
            ("Example: alice", "Example", "Example", "alice"),
            ("example : alice", "Example", "Example", "alice"),
            ("Example:alice", "", "Example", "alice"),
            ("alice", "Example", "Example", "alice"),
            ("Team: Ops", "Example", "Example", "Team: Ops"),
            ("a:b:alice", "a:b", "a:b", "alice"),
            ("", "Example", "Example", "Example"),
            ("Example:", "", "Example", "Example"),
            (" alice ", " Example ", "Example", "alice"),
        ] {
            assert_eq!(
                split_name(name, issuer),
                Some((want_issuer.to_owned(), want_label.to_owned())),
                "{name:?} / {issuer:?}"
            );
        }
        assert_eq!(split_name("", ""), None);
        assert_eq!(split_name(" : ", ""), None);
    }

    #[test]
    fn unsupported_entries_are_skipped_with_a_reason() {
        let mut hotp = entry(KEY, "hotp demo", "");
        hotp.otp_type = 1;
        hotp.counter = 4;
        let mut md5 = entry(KEY, "legacy", "Old");
        md5.algorithm = 4;
        let mut odd_digits = entry(KEY, "odd", "");
        odd_digits.digits = 3;
        let short = entry(&KEY[..8], "short", "");
        let nameless = entry(KEY, "", "");
        let batch = parse_migration_uri(&link(&payload(
            vec![hotp, entry(KEY, "ok", ""), md5, odd_digits, short, nameless],
            1,
            0,
            1,
        )))
        .unwrap();
        assert_eq!(batch.accounts.len(), 1);
        assert_eq!(batch.accounts[0].label, "ok");
        let reasons: Vec<(&str, &str)> = batch
            .skipped
            .iter()
            .map(|s| (s.name.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert_eq!(reasons[0].0, "hotp demo");
        assert!(
            reasons[0].1.contains("HOTP (counter-based)"),
            "{}",
            reasons[0].1
        );
        assert_eq!(reasons[1].0, "Old: legacy");
        assert!(reasons[1].1.contains("MD5"));
        assert_eq!(reasons[2].0, "odd");
        assert!(reasons[2].1.contains("code length (3)"));
        assert_eq!(reasons[3].0, "short");
        assert!(
            reasons[3]
                .1
                .contains(&SecretError::TooShort { bits: 64 }.to_string())
        );
        assert_eq!(reasons[4].0, "entry 6");
        assert!(reasons[4].1.contains("neither a name nor an issuer"));
    }

    #[test]
    fn a_code_with_only_skipped_entries_still_parses() {
        let mut hotp = entry(KEY, "counter", "");
        hotp.otp_type = 1;
        let batch = parse_migration_uri(&link(&payload(vec![hotp], 1, 0, 1))).unwrap();
        assert!(batch.accounts.is_empty());
        assert_eq!(batch.skipped.len(), 1);
    }

    #[test]
    fn batch_position_of_each_code() {
        for index in 0..3 {
            let uri = link(&payload(
                vec![entry(KEY, &format!("user{index}"), "ACME")],
                3,
                index,
                -123_456,
            ));
            let batch = parse_migration_uri(&uri).unwrap();
            assert_eq!(
                batch.batch,
                BatchPosition {
                    index: index as u32,
                    size: 3,
                    id: -123_456
                }
            );
            assert_eq!(batch.batch.to_string(), format!("code {} of 3", index + 1));
        }
    }

    /// A payload whose Base64 contains '+', '/' and padding, to exercise every spelling.
    fn plus_payload() -> (MigrationPayload, String) {
        // 0xfb 0xff 0xbf 0xef 0xfe gives "+/+/+" runs; the length decides the padding.
        (10..=20)
            .map(|length| {
                let mut key = vec![0xfb, 0xff, 0xbf, 0xef, 0xfe];
                key.resize(length, 0);
                let payload = payload(vec![entry(&key, "plus", "")], 1, 0, 5);
                let data =
                    base64::engine::general_purpose::STANDARD.encode(payload.encode_to_vec());
                (payload, data)
            })
            .find(|(_, data)| data.contains('+') && data.contains('/') && data.ends_with('='))
            .expect("some key length gives '+', '/' and '='")
    }

    #[test]
    fn plus_slash_and_padding_in_every_spelling() {
        let (payload, data) = plus_payload();
        let want = payload.otp_parameters[0].secret.clone();
        let unpadded = data.trim_end_matches('=').to_owned();
        for spelling in [
            data.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
            data.replace('+', "%2b")
                .replace('/', "%2f")
                .replace('=', "%3d"),
            data.clone(),
            unpadded.clone(),
            data.replace('+', "%2B"),
            data.replace('+', " "),
            data.replace('+', "%20"),
            unpadded.replace('+', "-").replace('/', "_"),
        ] {
            for prefix in [
                "otpauth-migration://offline?data=",
                "OTPAUTH-MIGRATION://OFFLINE?DATA=",
            ] {
                let uri = format!("{prefix}{spelling}");
                let batch = parse_migration_uri(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
                assert_eq!(batch.accounts[0].secret.expose_bytes(), &want[..], "{uri}");
            }
        }
    }

    #[test]
    fn malformed_links_each_have_their_error() {
        let cases: &[(&str, MigrationError)] = &[
            ("", MigrationError::NotMigration),
            ("hello", MigrationError::NotMigration),
            (
                "https://example.com/?data=CgA",
                MigrationError::NotMigration,
            ),
            (
                "otpauth-migration://online?data=CgA",
                MigrationError::NotMigration,
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
                MigrationError::SingleAccount,
            ),
            ("otpauth-migration://offline", MigrationError::MissingData),
            (
                "otpauth-migration://offline?data=",
                MigrationError::MissingData,
            ),
            (
                "otpauth-migration://offline?foo=bar",
                MigrationError::MissingData,
            ),
            (
                "otpauth-migration://offline?data=%4",
                MigrationError::BadBase64,
            ),
            (
                "otpauth-migration://offline?data=Cg*A",
                MigrationError::BadBase64,
            ),
            (
                "otpauth-migration://offline?data=C",
                MigrationError::BadBase64,
            ),
            // Field 1 announces 5 bytes and has 1.
            (
                "otpauth-migration://offline?data=CgUB",
                MigrationError::BadProtobuf,
            ),
            // Field 1 as a varint instead of a message.
            (
                "otpauth-migration://offline?data=CAE%3D",
                MigrationError::BadProtobuf,
            ),
            // Only a version and a batch: no entries.
            (
                "otpauth-migration://offline?data=EAEYASAA",
                MigrationError::Empty,
            ),
        ];
        for (uri, expected) in cases {
            assert_eq!(
                parse_migration_uri(uri).as_ref().unwrap_err(),
                expected,
                "{uri}"
            );
        }
    }

    #[test]
    fn debug_of_a_batch_shows_no_key() {
        let (_, data) = plus_payload();
        let batch = parse_migration_uri(&link(&payload(
            vec![entry(KEY, "Example:alice", "Example")],
            2,
            1,
            9,
        )))
        .unwrap();
        let shown = format!("{batch:?}");
        assert!(
            shown.contains("alice") && shown.contains("Example"),
            "{shown}"
        );
        for secret_form in ["JBSWY3DP", "72, 101", "Hello", "222, 173"] {
            assert!(!shown.contains(secret_form), "{shown}");
        }
        let payload_debug = format!(
            "{:?}",
            MigrationPayload::decode(LENIENT_BASE64.decode(data.as_bytes()).unwrap().as_slice())
                .unwrap()
        );
        assert!(!payload_debug.contains("secret"), "{payload_debug}");
        assert!(!payload_debug.contains("251"), "{payload_debug}");
    }

    #[test]
    fn error_messages_never_echo_the_data() {
        let (_, data) = plus_payload();
        let piece = &data[..8];
        for uri in [
            format!("otpauth-migration://offline?data={data}%4"),
            format!(
                "otpauth-migration://offline?data={}",
                &data[..data.len() - 6]
            ),
            format!("otpauth-migration://online?data={data}"),
        ] {
            if let Err(error) = parse_migration_uri(&uri) {
                let message = error.to_string();
                assert!(!message.contains(piece), "{message}");
            }
        }
    }
}
