//! `otpauth://` links (Google's Key Uri Format), as QR codes and "copy link" buttons carry
//! them: parsed into a [`NewAccount`] and written back for export.
//!
//! The format is only loosely specified and services bend it, so parsing follows what
//! Google Authenticator accepts (it is what services test against) rather than RFC 3986 to
//! the letter:
//!
//! - scheme and type are compared without regard to case (`OTPAUTH://TOTP/…` works);
//! - the label is a path: `%XX` escapes are decoded and a `+` stays a plus (e-mail
//!   addresses such as `me+2fa@example.com` keep it), as Android's `Uri.getPath()` does;
//! - query values are form-decoded: `%XX` escapes are decoded and `+` means a space, as
//!   Android's `Uri.getQueryParameter()` (used by Google Authenticator) does. So
//!   `issuer=ACME+Co` is "ACME Co", and a `+` in the secret is a space, which the Base32
//!   parser ignores like the spaces services put between groups (`+` is never a Base32
//!   letter, so no key can be misread by this);
//! - parameter names are compared without regard to case; the first of repeated
//!   parameters wins and unknown ones (`image`, `color`, `counter` …) are ignored.
//!
//! Error messages never contain the secret nor the whole link (which contains it).

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::account::{Algorithm, NewAccount, OtpParams, ParamsError};
use crate::secret::{SecretError, TotpSecret};

/// Why an `otpauth://` link was refused. Messages name the problem and what to do, and
/// never contain the secret key or the whole link.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// The text has no `scheme://` at all.
    #[error(
        "this text is not an authenticator link: paste the whole link beginning with otpauth://totp/, or type the secret key instead"
    )]
    NotAUri,
    /// An `http://` or `https://` address.
    #[error(
        "this is a web address, not an authenticator link: open it in a browser; the page should show a QR code or a setup key to add here"
    )]
    WebLink,
    /// A Google Authenticator export, which holds several accounts.
    #[error(
        "this is a Google Authenticator export (otpauth-migration://), not a single account: import it as a Google Authenticator export instead"
    )]
    MigrationExport,
    /// Some other scheme. The scheme itself is not shown: pasted text may be anything.
    #[error("this link is not an authenticator link: it must begin with otpauth://totp/")]
    NotOtpauth,
    /// `otpauth://hotp/…`.
    #[error(
        "HOTP (counter-based) accounts are not supported yet, only time-based (TOTP) ones: ask the service for a time-based authenticator key"
    )]
    Hotp,
    /// `otpauth://steam/…` or `encoder=steam`.
    #[error(
        "Steam Guard accounts use Steam's own code format, which is not supported: keep using the Steam app for Steam"
    )]
    Steam,
    /// A type other than `totp`, `hotp` or `steam` (only shown if short).
    #[error("unknown one-time password type '{0}': only otpauth://totp/ links are supported")]
    UnknownType(String),
    /// No `secret=` parameter, or an empty one.
    #[error(
        "the link has no secret key (secret= parameter): scan the QR code again, or ask the service for its setup key"
    )]
    MissingSecret,
    /// The secret is not usable Base32 or has a bad length.
    #[error("the link's secret key is unusable: {0}")]
    Secret(SecretError),
    /// Algorithm, digits or period are outside what codes can be made with.
    #[error("the link's code settings are not supported: {0}")]
    Params(ParamsError),
    /// `digits` or `period` is not a whole number.
    #[error("the link's {parameter} ('{value}') is not a whole number: scan the QR code again")]
    NotANumber {
        /// `digits` or `period`.
        parameter: &'static str,
        /// The value as written (only shown if short).
        value: String,
    },
    /// A `%` not followed by two hex digits, or escapes that are not UTF-8.
    #[error(
        "the link's {part} is damaged (a '%' escape is cut off or invalid): scan the QR code or copy the link again"
    )]
    BadEncoding {
        /// Which part: "label", "issuer", "secret", "parameter name", …
        part: &'static str,
    },
    /// Neither a label nor an issuer names the account.
    #[error(
        "the link names no account (no label and no issuer): add the account by typing its secret key and a name instead"
    )]
    MissingLabel,
}

impl From<SecretError> for UriError {
    fn from(error: SecretError) -> Self {
        UriError::Secret(error)
    }
}

impl From<ParamsError> for UriError {
    fn from(error: ParamsError) -> Self {
        UriError::Params(error)
    }
}

/// Characters written as-is in labels and query values: RFC 3986 "unreserved" plus `@`,
/// which is legal in both and keeps e-mail labels readable. Everything else is escaped;
/// in particular `:` (the issuer separator), `+` (a space in query values), `&`, `#`, `?`,
/// `/` and spaces (as `%20`, which every reader decodes, unlike `+`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// Longest piece of a link echoed in an error message. Shorter than any accepted key (16
/// Base32 characters), so that even a key pasted into the wrong place cannot be echoed
/// whole, and a pasted blob cannot turn an error into a wall of text.
const MAX_ECHO_CHARS: usize = 10;

/// Parses an `otpauth://totp/…` link into an account ready to be added.
///
/// The issuer comes from the `issuer` parameter, else from the label's `Issuer:` prefix;
/// the label is the account name after that prefix. If the parameter and the prefix
/// differ, the parameter wins: the Key Uri Format calls it the recommended field, it is
/// escaped on its own (so survives issuers containing `:`), and it is what Google
/// Authenticator shows — e.g. Microsoft Entra links read `Contoso:alice@contoso.com` with
/// `issuer=Microsoft`. Issuer and label are trimmed; a missing label falls back to the
/// issuer.
pub fn parse_otpauth_uri(uri: &str) -> Result<NewAccount, UriError> {
    let uri = uri.trim();
    let (scheme, rest) = uri.split_once(':').ok_or(UriError::NotAUri)?;
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(if scheme.eq_ignore_ascii_case("otpauth") {
            UriError::NotOtpauth
        } else {
            UriError::NotAUri
        });
    };
    if !scheme.eq_ignore_ascii_case("otpauth") {
        return Err(classify_foreign_scheme(scheme));
    }

    // The label may contain a raw '#' (some generators do not escape it), so only a '#'
    // after the query start is taken as a fragment.
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, query.split_once('#').map_or(query, |(q, _)| q)),
        None => (rest.split_once('#').map_or(rest, |(b, _)| b), ""),
    };
    let (otp_type, raw_label) = before_query.split_once('/').unwrap_or((before_query, ""));

    if otp_type.eq_ignore_ascii_case("hotp") {
        return Err(UriError::Hotp);
    }
    if otp_type.eq_ignore_ascii_case("steam") {
        return Err(UriError::Steam);
    }
    if !otp_type.eq_ignore_ascii_case("totp") {
        return Err(UriError::UnknownType(echoable(otp_type)));
    }

    let query = Query::parse(query)?;
    if query
        .value("encoder", "encoder")?
        .is_some_and(|encoder| encoder.trim().eq_ignore_ascii_case("steam"))
    {
        return Err(UriError::Steam);
    }

    let secret_text = query
        .value("secret", "secret")?
        .ok_or(UriError::MissingSecret)?;
    if secret_text.trim().is_empty() {
        return Err(UriError::MissingSecret);
    }
    let secret = TotpSecret::from_base32(&secret_text)?;

    let algorithm = match query.value("algorithm", "algorithm")? {
        Some(text) if !text.trim().is_empty() => text.parse::<Algorithm>()?,
        _ => Algorithm::Sha1,
    };
    let digits = query.number("digits")?.unwrap_or(6);
    let period = query.number("period")?.unwrap_or(30);
    let params = OtpParams::new(algorithm, u32::try_from(digits).unwrap_or(u32::MAX), period)?;

    let label =
        decode_component(raw_label, false).ok_or(UriError::BadEncoding { part: "label" })?;
    let issuer_param = query.value("issuer", "issuer")?;
    let (issuer, label) = split_label(&label, issuer_param.as_ref().map(|issuer| issuer.trim()));
    if label.is_empty() {
        return Err(UriError::MissingLabel);
    }

    Ok(NewAccount {
        issuer,
        label,
        params,
        secret,
    })
}

/// Writes the `otpauth://totp/` link for an account, as QR codes for other apps carry it.
///
/// The label is `Issuer:label` with both parts escaped (so a `:` inside either stays
/// part of it), and the issuer is also written as the `issuer` parameter, which is how
/// [`parse_otpauth_uri`] tells an issuer containing `:` apart. Without an issuer, a
/// label containing `:` gets an empty prefix (`:a%3Ab`) so that no reader mistakes its
/// first part for an issuer. Algorithm, digits and period are always written.
///
/// The result contains the secret, so it is zeroed on drop.
pub fn otpauth_uri(
    issuer: &str,
    label: &str,
    params: &OtpParams,
    secret: &TotpSecret,
) -> Zeroizing<String> {
    let issuer_escaped = utf8_percent_encode(issuer, COMPONENT).to_string();
    let label_escaped = utf8_percent_encode(label, COMPONENT).to_string();
    let path_prefix = if !issuer.is_empty() {
        Cow::Owned(format!("{issuer_escaped}:"))
    } else if label.contains(':') {
        Cow::Borrowed(":")
    } else {
        Cow::Borrowed("")
    };
    let issuer_param = if issuer.is_empty() {
        String::new()
    } else {
        format!("&issuer={issuer_escaped}")
    };
    let tail = format!(
        "&algorithm={}&digits={}&period={}",
        params.algorithm, params.digits, params.period
    );
    let base32 = secret.expose_base32();

    let head = "otpauth://totp/";
    let parts: [&str; 7] = [
        head,
        &path_prefix,
        &label_escaped,
        "?secret=",
        &base32,
        &issuer_param,
        &tail,
    ];
    // Allocated once at its final size: growing the buffer would leave copies of the
    // secret in freed memory that `Zeroizing` cannot reach.
    let mut uri = Zeroizing::new(String::with_capacity(parts.iter().map(|p| p.len()).sum()));
    for part in parts {
        uri.push_str(part);
    }
    uri
}

/// The error for a link whose scheme is not `otpauth`, pointing to the right place where
/// one exists.
fn classify_foreign_scheme(scheme: &str) -> UriError {
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        UriError::WebLink
    } else if scheme.eq_ignore_ascii_case("otpauth-migration") {
        UriError::MigrationExport
    } else {
        UriError::NotOtpauth
    }
}

/// Splits a decoded label into issuer and account name, given the `issuer` parameter.
fn split_label(label: &str, issuer_param: Option<&str>) -> (String, String) {
    let issuer_param = issuer_param.filter(|issuer| !issuer.is_empty());
    let (prefix, account) = match issuer_param
        .and_then(|issuer| label.strip_prefix(issuer))
        .and_then(|rest| rest.strip_prefix(':'))
    {
        // Matching the whole parameter first keeps an issuer that itself contains ':'
        // (written escaped by `otpauth_uri`) in one piece.
        Some(account) => (issuer_param, account),
        None => match label.split_once(':') {
            Some((prefix, account)) => (Some(prefix), account),
            None => (None, label),
        },
    };
    let issuer = issuer_param.or(prefix).unwrap_or("").trim().to_owned();
    let account = account.trim();
    let account = if account.is_empty() {
        issuer.clone()
    } else {
        account.to_owned()
    };
    (issuer, account)
}

/// The raw `name=value` pairs of a query string, kept escaped until asked for.
struct Query<'a> {
    pairs: Vec<(Zeroizing<String>, &'a str)>,
}

impl<'a> Query<'a> {
    fn parse(query: &'a str) -> Result<Self, UriError> {
        let mut pairs = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_component(name, true).ok_or(UriError::BadEncoding {
                part: "parameter name",
            })?;
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// The decoded value of the first parameter called `name` (any case). `part` names it
    /// in errors.
    fn value(&self, name: &str, part: &'static str) -> Result<Option<Zeroizing<String>>, UriError> {
        self.pairs
            .iter()
            .find(|(candidate, _)| candidate.trim().eq_ignore_ascii_case(name))
            .map(|(_, raw)| decode_component(raw, true).ok_or(UriError::BadEncoding { part }))
            .transpose()
    }

    /// A whole-number parameter; empty counts as absent.
    fn number(&self, name: &'static str) -> Result<Option<u64>, UriError> {
        match self.value(name, name)? {
            Some(text) if !text.trim().is_empty() => {
                text.trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| UriError::NotANumber {
                        parameter: name,
                        value: echoable(&text),
                    })
            }
            _ => Ok(None),
        }
    }
}

/// Decodes `%XX` escapes (and `+` as space in query values), refusing a `%` that is not
/// followed by two hex digits and escapes that do not form UTF-8. Raw non-ASCII text is
/// accepted as it is: QR generators often leave it unescaped. The result may hold a
/// secret, so it is zeroed on drop.
pub(crate) fn decode_component(text: &str, plus_as_space: bool) -> Option<Zeroizing<String>> {
    let bytes = text.as_bytes();
    let mut decoded = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let high = hex_value(*bytes.get(index + 1)?)?;
                let low = hex_value(*bytes.get(index + 2)?)?;
                decoded.push(high << 4 | low);
                index += 3;
            }
            b'+' if plus_as_space => {
                decoded.push(b' ');
                index += 1;
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    // Validate in place and copy into a string buffer of the exact size, so the only
    // copies of the bytes are in zeroed buffers.
    let text = std::str::from_utf8(&decoded).ok()?;
    let mut owned = Zeroizing::new(String::with_capacity(text.len()));
    owned.push_str(text);
    Some(owned)
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// `text` for an error message if it is short and printable, else a placeholder: see
/// [`MAX_ECHO_CHARS`].
fn echoable(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ECHO_CHARS && !text.chars().any(char::is_control) {
        text.to_owned()
    } else {
        "(not shown)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(uri: &str) -> NewAccount {
        parse_otpauth_uri(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    fn base32(account: &NewAccount) -> String {
        account.secret.expose_base32().to_string()
    }

    #[test]
    fn google_spec_examples() {
        let account =
            parse("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example");
        assert_eq!(account.issuer, "Example");
        assert_eq!(account.label, "alice@google.com");
        assert_eq!(account.params, OtpParams::default());
        assert_eq!(base32(&account), "JBSWY3DPEHPK3PXP");
        assert_eq!(account.secret.expose_bytes().len(), 10, "80-bit key");

        let account = parse(
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
        );
        assert_eq!(account.issuer, "ACME Co");
        assert_eq!(account.label, "john.doe@email.com");
        assert_eq!(account.params, OtpParams::default());
        assert_eq!(base32(&account), "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ");
    }

    #[test]
    fn service_style_links() {
        // GitHub: plain prefix and parameter.
        let account = parse("otpauth://totp/GitHub:octocat?secret=ABCDEFGHIJKLMNOP&issuer=GitHub");
        assert_eq!(
            (account.issuer.as_str(), account.label.as_str()),
            ("GitHub", "octocat")
        );

        // AWS: spaces escaped, 64-character key.
        let aws_key = "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZHXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ";
        let account = parse(&format!(
            "otpauth://totp/Amazon%20Web%20Services:root-account-mfa-device@123456789012?secret={aws_key}&issuer=Amazon%20Web%20Services"
        ));
        assert_eq!(account.issuer, "Amazon Web Services");
        assert_eq!(account.label, "root-account-mfa-device@123456789012");
        assert_eq!(base32(&account), aws_key);
        assert_eq!(account.secret.expose_bytes().len(), 40);

        // Microsoft personal accounts: lower-case key, escaped '@'.
        let account = parse(
            "otpauth://totp/Microsoft:alice%40outlook.com?secret=jbswy3dpehpk3pxp&issuer=Microsoft",
        );
        assert_eq!(account.issuer, "Microsoft");
        assert_eq!(account.label, "alice@outlook.com");
        assert_eq!(base32(&account), "JBSWY3DPEHPK3PXP");

        // Microsoft Entra: the prefix (tenant) differs from the parameter; the parameter wins.
        let account = parse(
            "otpauth://totp/Contoso:alice@contoso.com?secret=JBSWY3DPEHPK3PXP&issuer=Microsoft",
        );
        assert_eq!(account.issuer, "Microsoft");
        assert_eq!(account.label, "alice@contoso.com");
    }

    #[test]
    fn case_whitespace_and_separator_variants() {
        for uri in [
            "OTPAUTH://TOTP/Example:alice@google.com?SECRET=JBSWY3DPEHPK3PXP&ISSUER=Example",
            "  otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example\n",
            "otpauth://totp/Example:%20%20alice@google.com?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp/Example: alice@google.com?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp/Example%3Aalice%40google.com?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp/Example%3a%20alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
            "otpauth://totp/alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
            "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example#fragment",
        ] {
            let account = parse(uri);
            assert_eq!(account.issuer, "Example", "{uri}");
            assert_eq!(account.label, "alice@google.com", "{uri}");
        }
    }

    #[test]
    fn label_without_issuer() {
        let account = parse("otpauth://totp/alice@example.com?secret=JBSWY3DPEHPK3PXP");
        assert_eq!(account.issuer, "");
        assert_eq!(account.label, "alice@example.com");
    }

    #[test]
    fn missing_label_falls_back_to_the_issuer() {
        for uri in [
            "otpauth://totp/?secret=JBSWY3DPEHPK3PXP&issuer=GitLab",
            "otpauth://totp?secret=JBSWY3DPEHPK3PXP&issuer=GitLab",
            "otpauth://totp/GitLab:?secret=JBSWY3DPEHPK3PXP",
        ] {
            let account = parse(uri);
            assert_eq!(
                (account.issuer.as_str(), account.label.as_str()),
                ("GitLab", "GitLab")
            );
        }
        assert_eq!(
            parse_otpauth_uri("otpauth://totp/?secret=JBSWY3DPEHPK3PXP").unwrap_err(),
            UriError::MissingLabel
        );
        assert_eq!(
            parse_otpauth_uri("otpauth://totp/%20?secret=JBSWY3DPEHPK3PXP&issuer=").unwrap_err(),
            UriError::MissingLabel
        );
    }

    #[test]
    fn secret_spellings() {
        for secret in [
            "JBSWY3DPEHPK3PXP",
            "jbswy3dpehpk3pxp",
            "JBSW%20Y3DP%20EHPK%203PXP",
            "JBSW+Y3DP+EHPK+3PXP",
            "JBSWY3DPEHPK3PXP====",
            "JBSWY3DPEHPK3PXP%3D%3D%3D%3D",
            "%4A%42SWY3DPEHPK3PXP",
        ] {
            let account = parse(&format!("otpauth://totp/x?secret={secret}"));
            assert_eq!(base32(&account), "JBSWY3DPEHPK3PXP", "{secret}");
        }
    }

    #[test]
    fn plus_is_a_space_in_parameters_but_a_plus_in_the_label() {
        let account = parse(
            "otpauth://totp/ACME+Co:me+2fa@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co",
        );
        assert_eq!(account.issuer, "ACME Co");
        // The prefix "ACME+Co" differs from the parameter "ACME Co": parameter wins.
        assert_eq!(account.label, "me+2fa@example.com");

        let account =
            parse("otpauth://totp/me%2B2fa@example.com?secret=JBSWY3DPEHPK3PXP&issuer=A%2BB");
        assert_eq!(account.issuer, "A+B");
        assert_eq!(account.label, "me+2fa@example.com");
    }

    #[test]
    fn algorithm_digits_and_period() {
        let account =
            parse("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=sha256&digits=8&period=60");
        assert_eq!(
            account.params,
            OtpParams::new(Algorithm::Sha256, 8, 60).unwrap()
        );
        let account =
            parse("otpauth://totp/x?Secret=JBSWY3DPEHPK3PXP&ALGORITHM=SHA512&Digits=7&PERIOD=15");
        assert_eq!(
            account.params,
            OtpParams::new(Algorithm::Sha512, 7, 15).unwrap()
        );
        // Empty values count as absent; unknown parameters are ignored.
        let account = parse(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=&digits=&period=&image=https%3A%2F%2Fexample.com%2Fa.png&counter=3",
        );
        assert_eq!(account.params, OtpParams::default());
        // The first of repeated parameters wins.
        let account = parse("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=8&digits=6");
        assert_eq!(account.params.digits, 8);
    }

    #[test]
    fn unicode_labels() {
        let account = parse(
            "otpauth://totp/%C3%9Cbung%20GmbH:j%C3%BCrgen@example.de?secret=JBSWY3DPEHPK3PXP&issuer=%C3%9Cbung%20GmbH",
        );
        assert_eq!(account.issuer, "Übung GmbH");
        assert_eq!(account.label, "jürgen@example.de");
        // Raw (unescaped) UTF-8 and spaces, as some generators write them.
        let account = parse("otpauth://totp/Übung GmbH:jürgen?secret=JBSWY3DPEHPK3PXP");
        assert_eq!(account.issuer, "Übung GmbH");
        assert_eq!(account.label, "jürgen");
    }

    #[test]
    fn malformed_links_each_have_their_error() {
        let cases: &[(&str, UriError)] = &[
            ("JBSWY3DPEHPK3PXP", UriError::NotAUri),
            ("", UriError::NotAUri),
            ("hello world", UriError::NotAUri),
            ("mailto:alice@example.com", UriError::NotAUri),
            (
                "otpauth:totp/x?secret=JBSWY3DPEHPK3PXP",
                UriError::NotOtpauth,
            ),
            (
                "ftp://example.com/x?secret=JBSWY3DPEHPK3PXP",
                UriError::NotOtpauth,
            ),
            (
                "https://github.com/settings/two_factor_authentication",
                UriError::WebLink,
            ),
            (
                "HTTP://example.com/otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
                UriError::WebLink,
            ),
            (
                "otpauth-migration://offline?data=CgA%3D",
                UriError::MigrationExport,
            ),
            (
                "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
                UriError::Hotp,
            ),
            ("OTPAUTH://HOTP/x", UriError::Hotp),
            (
                "otpauth://steam/Steam:alice?secret=JBSWY3DPEHPK3PXP",
                UriError::Steam,
            ),
            (
                "otpauth://totp/Steam:alice?secret=JBSWY3DPEHPK3PXP&encoder=steam",
                UriError::Steam,
            ),
            (
                "otpauth://motp/x?secret=JBSWY3DPEHPK3PXP",
                UriError::UnknownType("motp".into()),
            ),
            (
                "otpauth:///x?secret=JBSWY3DPEHPK3PXP",
                UriError::UnknownType(String::new()),
            ),
            ("otpauth://totp/x", UriError::MissingSecret),
            ("otpauth://totp/x?issuer=A", UriError::MissingSecret),
            ("otpauth://totp/x?secret=&issuer=A", UriError::MissingSecret),
            ("otpauth://totp/x?secret=%20", UriError::MissingSecret),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PX1",
                UriError::Secret(SecretError::InvalidCharacter {
                    position: 16,
                    character: '1',
                }),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK",
                UriError::Secret(SecretError::TooShort { bits: 56 }),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXPA",
                UriError::Secret(SecretError::InvalidLength { length: 17 }),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9",
                UriError::Params(ParamsError::Digits(9)),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=5",
                UriError::Params(ParamsError::Digits(5)),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
                UriError::Params(ParamsError::Period(0)),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
                UriError::Params(ParamsError::UnknownAlgorithm("MD5".into())),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=six",
                UriError::NotANumber {
                    parameter: "digits",
                    value: "six".into(),
                },
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=-30",
                UriError::NotANumber {
                    parameter: "period",
                    value: "-30".into(),
                },
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=99999999999999999999999",
                UriError::NotANumber {
                    parameter: "digits",
                    value: "(not shown)".into(),
                },
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP%4",
                UriError::BadEncoding { part: "secret" },
            ),
            (
                "otpauth://totp/Example%4?secret=JBSWY3DPEHPK3PXP",
                UriError::BadEncoding { part: "label" },
            ),
            (
                "otpauth://totp/Example%ZZ?secret=JBSWY3DPEHPK3PXP",
                UriError::BadEncoding { part: "label" },
            ),
            (
                "otpauth://totp/Example%FF?secret=JBSWY3DPEHPK3PXP",
                UriError::BadEncoding { part: "label" },
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&issuer=ACME%2",
                UriError::BadEncoding { part: "issuer" },
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&%=1",
                UriError::BadEncoding {
                    part: "parameter name",
                },
            ),
        ];
        for (uri, expected) in cases {
            assert_eq!(
                parse_otpauth_uri(uri).as_ref().unwrap_err(),
                expected,
                "{uri}"
            );
        }
    }

    #[test]
    fn hotp_message_says_what_is_supported() {
        let message = UriError::Hotp.to_string();
        assert!(message.contains("HOTP (counter-based)"), "{message}");
        assert!(message.contains("not supported yet"), "{message}");
        assert!(message.contains("time-based"), "{message}");
    }

    #[test]
    fn no_error_message_contains_the_secret() {
        // A distinctive key and near-misses of it; none of the messages may show it, nor
        // any 6-character piece of it.
        let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let links = [
            format!("otpauth://hotp/x?secret={key}"),
            format!("otpauth://steam/x?secret={key}"),
            format!("otpauth://{key}/x?secret={key}"),
            format!("otpauth://totp/x?secret={key}1"),
            format!("otpauth://totp/x?secret={key}A"),
            format!("otpauth://totp/x?secret={key}%4"),
            format!("otpauth://totp/x?secret={key}&digits=9"),
            format!("otpauth://totp/x?secret={key}&digits={key}"),
            format!("otpauth://totp/x?secret={key}&period={key}"),
            format!("otpauth://totp/x?secret={key}&algorithm=MD5"),
            format!("otpauth://totp/%4?secret={key}"),
            format!("otpauth://totp/?secret={key}"),
            format!("https://example.com/?secret={key}"),
            format!("{key}://totp/x?secret={key}"),
            format!("otpauth-migration://offline?data={key}"),
        ];
        for link in &links {
            let error = parse_otpauth_uri(link).expect_err(link);
            let message = error.to_string();
            let debug = format!("{error:?}");
            for window in key.as_bytes().windows(6) {
                let piece = std::str::from_utf8(window).unwrap();
                assert!(!message.contains(piece), "{message}");
                assert!(!debug.contains(piece), "{debug}");
            }
        }
    }

    #[test]
    fn written_links_follow_the_format() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let uri = otpauth_uri(
            "ACME Co",
            "john.doe@email.com",
            &OtpParams::default(),
            &secret,
        );
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
        let params = OtpParams::new(Algorithm::Sha512, 8, 60).unwrap();
        let uri = otpauth_uri("", "a:b c+d", &params, &secret);
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/:a%3Ab%20c%2Bd?secret=JBSWY3DPEHPK3PXP&algorithm=SHA512&digits=8&period=60"
        );
        let uri = otpauth_uri("x:y", "z", &OtpParams::default(), &secret);
        assert!(
            uri.starts_with("otpauth://totp/x%3Ay:z?secret="),
            "{}",
            uri.as_str()
        );
        assert!(uri.contains("&issuer=x%3Ay&"), "{}", uri.as_str());
    }

    /// Names as the parser leaves them: printable, no surrounding whitespace.
    fn name(min: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("\\PC{{{min},24}}"))
            .unwrap()
            .prop_map(|text| text.trim().to_owned())
            .prop_filter("non-empty after trimming", move |text| text.len() >= min)
    }

    proptest! {
        #[test]
        fn written_links_parse_back(
            issuer in prop_oneof![Just(String::new()), name(1)],
            label in name(1),
            key in proptest::collection::vec(any::<u8>(), 10..=64),
            algorithm in prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
            digits in 6u32..=8,
            period in 1u64..=3600,
        ) {
            let params = OtpParams::new(algorithm, digits, period).unwrap();
            let secret = TotpSecret::from_bytes(key.clone()).unwrap();
            let uri = otpauth_uri(&issuer, &label, &params, &secret);
            let back = parse_otpauth_uri(&uri).unwrap();
            prop_assert_eq!(&back.issuer, &issuer);
            prop_assert_eq!(&back.label, &label);
            prop_assert_eq!(back.params, params);
            prop_assert_eq!(back.secret.expose_bytes(), &key[..]);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,80}") {
            let _ = parse_otpauth_uri(&text);
            let _ = parse_otpauth_uri(&format!("otpauth://totp/{text}"));
            let _ = parse_otpauth_uri(&format!("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&{text}"));
        }
    }
}
