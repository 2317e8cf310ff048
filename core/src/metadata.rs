//! The vault's metadata file: one schema-versioned JSON document (never a secret in it),
//! written atomically under a lock so that two processes cannot lose each other's update
//! and a crash cannot leave half a file.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::clock_drift::ClockOffset;
use crate::events::store::EventsSection;
use crate::login::profile::LoginProfile;
use crate::mfa_enroll::EnrollmentRecord;
use crate::settings::Settings;
use crate::trusted_devices::DeviceBook;

/// The schema this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;
/// File name of the document inside the data directory.
pub const FILE_NAME: &str = "vault.json";
const LOCK_NAME: &str = "vault.lock";

/// The whole metadata document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaultDocument {
    /// Version of this layout; a file from a newer build is never overwritten.
    pub schema_version: u32,
    /// Accounts, in the order they were added.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// emnify login profiles (their secrets are in the keyring).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<LoginProfile>,
    /// User preferences.
    #[serde(default)]
    pub settings: Settings,
    /// Trusted devices seen at the API per profile (no fingerprints: those stay in the
    /// keyring).
    #[serde(default, skip_serializing_if = "DeviceBook::is_empty")]
    pub devices: DeviceBook,
    /// Security events: what each profile's timeline has shown, imported IDaaS events
    /// (never a token).
    #[serde(default, skip_serializing_if = "EventsSection::is_empty")]
    pub security_events: EventsSection,
    /// MFA keys this app enrolled, and the vault account holding each secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mfa_enrollments: Vec<EnrollmentRecord>,
    /// The last clock offset measured against the emnify API (absent until a response
    /// carried a `Date` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset: Option<ClockOffset>,
    /// Sections this build does not know (written by a newer build): kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Default for VaultDocument {
    fn default() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            accounts: Vec::new(),
            profiles: Vec::new(),
            settings: Settings::default(),
            devices: DeviceBook::default(),
            security_events: EventsSection::default(),
            mfa_enrollments: Vec::new(),
            clock_offset: None,
            other: serde_json::Map::new(),
        }
    }
}

/// Why the metadata file could not be read or written. Paths are shown; contents never.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The file exists but is not a vault document.
    #[error(
        "the vault file {path} is damaged ({detail}) and was left untouched; restore it from a backup, or move it away to start an empty vault (the keys stay in the keyring)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said (position, not content).
        detail: String,
    },
    /// Written by a newer version of the app.
    #[error(
        "the vault file {path} has schema version {found}, newer than this version understands ({SCHEMA_VERSION}); update emnify Authenticator. The file was left untouched"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Version found in the file.
        found: u32,
    },
    /// Reading, writing or locking failed.
    #[error("cannot {action} {path}: {source}; check that the folder exists and is writable")]
    Io {
        /// What we were doing ("read", "write", "lock", "create").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> MetadataError {
    let path = path.to_owned();
    move |source| MetadataError::Io {
        action,
        path,
        source,
    }
}

/// The metadata file of one data directory.
#[derive(Debug, Clone)]
pub struct MetadataFile {
    dir: PathBuf,
    path: PathBuf,
    lock_path: PathBuf,
    #[cfg(test)]
    pub(crate) fail_writes: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MetadataFile {
    /// The metadata file inside `dir` (created on first write, mode 0700).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            path: dir.join(FILE_NAME),
            lock_path: dir.join(LOCK_NAME),
            #[cfg(test)]
            fail_writes: Default::default(),
        }
    }

    /// Path of the JSON document.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the document without holding the lock for longer than the read.
    pub fn read(&self) -> Result<VaultDocument, MetadataError> {
        if !self.dir.exists() {
            return Ok(VaultDocument::default());
        }
        let guard = self.lock_exclusive()?;
        guard.read()
    }

    /// Takes the exclusive lock: until the guard is dropped, no other process (or thread)
    /// using this file can read-modify-write it.
    pub fn lock_exclusive(&self) -> Result<LockedMetadata<'_>, MetadataError> {
        create_private_dir(&self.dir)?;
        let lock = crate::private_file::lock(&self.lock_path)
            .map_err(io_error("lock", &self.lock_path))?;
        Ok(LockedMetadata {
            file: self,
            _lock: lock,
        })
    }
}

fn create_private_dir(dir: &Path) -> Result<(), MetadataError> {
    crate::private_file::create_private_dir(dir).map_err(io_error("create", dir))
}

/// The metadata file while this process holds its lock.
#[derive(Debug)]
pub struct LockedMetadata<'a> {
    file: &'a MetadataFile,
    _lock: File,
}

impl LockedMetadata<'_> {
    /// The current document; an absent file is an empty vault.
    pub fn read(&self) -> Result<VaultDocument, MetadataError> {
        let path = &self.file.path;
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(VaultDocument::default());
            }
            Err(err) => return Err(io_error("read", path)(err)),
        };
        parse_document(&text, path)
    }

    /// Replaces the document atomically: a temporary file in the same folder (mode 0600),
    /// flushed to disk, then renamed over the old one; the folder is synced so the rename
    /// survives a crash.
    pub fn write(&self, doc: &VaultDocument) -> Result<(), MetadataError> {
        let file = self.file;
        #[cfg(test)]
        if file.fail_writes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(io_error("write", &file.path)(io::Error::other(
                "simulated disk failure",
            )));
        }
        let mut json = serde_json::to_vec_pretty(doc).expect("a vault document always serialises");
        json.push(b'\n');
        crate::private_file::replace(&file.path, &json).map_err(io_error("write", &file.path))
    }
}

/// Parses a document, refusing damaged files and files from newer builds.
pub fn parse_document(text: &str, path: &Path) -> Result<VaultDocument, MetadataError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        schema_version: u32,
    }
    let version: VersionOnly =
        serde_json::from_str(text).map_err(|err| MetadataError::Corrupt {
            path: path.to_owned(),
            detail: describe_json_error(&err),
        })?;
    if version.schema_version > SCHEMA_VERSION {
        return Err(MetadataError::NewerSchema {
            path: path.to_owned(),
            found: version.schema_version,
        });
    }
    serde_json::from_str(text).map_err(|err| MetadataError::Corrupt {
        path: path.to_owned(),
        detail: describe_json_error(&err),
    })
}

/// serde_json's message can quote input; we keep only the kind and position.
fn describe_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match err.classify() {
        Category::Io => "read error",
        Category::Syntax => "not valid JSON",
        Category::Data => "unexpected content",
        Category::Eof => "file ends too early",
    };
    format!("{kind} at line {}, column {}", err.line(), err.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{AccountId, OtpParams};

    fn account(label: &str) -> Account {
        Account {
            id: AccountId::random(),
            issuer: "emnify".into(),
            label: label.into(),
            params: OtpParams::default(),
            created_at: 1,
            icon: None,
            color: None,
            profile: None,
            pinned: false,
        }
    }

    #[test]
    fn round_trip_keeps_unknown_sections() {
        let dir = tempfile::tempdir().unwrap();
        let file = MetadataFile::in_dir(&dir.path().join("data"));
        assert_eq!(file.read().unwrap(), VaultDocument::default());
        let mut doc = VaultDocument::default();
        doc.accounts.push(account("a"));
        doc.other
            .insert("future".into(), serde_json::json!({"x": 1}));
        file.lock_exclusive().unwrap().write(&doc).unwrap();
        assert_eq!(file.read().unwrap(), doc);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn damaged_and_newer_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = MetadataFile::in_dir(dir.path());
        fs::write(file.path(), "{\"schema_version\": 1, \"accounts\": [").unwrap();
        let err = file.read().unwrap_err();
        assert!(matches!(err, MetadataError::Corrupt { .. }));
        assert!(err.to_string().contains(&file.path().display().to_string()));

        fs::write(file.path(), "{\"schema_version\": 99}").unwrap();
        assert!(matches!(
            file.read().unwrap_err(),
            MetadataError::NewerSchema { found: 99, .. }
        ));
    }

    #[test]
    fn no_temporary_files_are_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = MetadataFile::in_dir(dir.path());
        for i in 0..3 {
            let mut doc = VaultDocument::default();
            doc.accounts.push(account(&i.to_string()));
            file.lock_exclusive().unwrap().write(&doc).unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [FILE_NAME, LOCK_NAME]);
    }
}
