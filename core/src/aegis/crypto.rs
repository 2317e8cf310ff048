//! The cryptography of the Aegis format, pure: passwords, randomness and bytes in, bytes
//! out. scrypt derives a slot key from a password; the slot key wraps the master key with
//! AES-256-GCM; the master key encrypts the content with AES-256-GCM.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::AegisError;
use super::file::{CipherParams, FILE_VERSION, Header, PASSWORD_SLOT, PasswordSlot, VaultFile};

const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

/// scrypt parameters of a password slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Cost (a power of two).
    pub n: u64,
    /// Block size.
    pub r: u64,
    /// Parallelism.
    pub p: u64,
}

impl KdfParams {
    /// What Aegis writes: N=2^15, r=8, p=1 (32 MiB, about 0.1 s).
    pub const AEGIS: KdfParams = KdfParams {
        n: 1 << 15,
        r: 8,
        p: 1,
    };

    /// Refuses parameters that are not a power-of-two cost, or that would need more than
    /// 256 MiB or an absurd amount of time: a hostile file must not exhaust the machine.
    fn checked(self) -> Result<scrypt::Params, AegisError> {
        let unsafe_kdf = AegisError::UnsafeKdf {
            n: self.n,
            r: self.r,
            p: self.p,
        };
        if self.n < 2 || !self.n.is_power_of_two() || self.r == 0 || self.p == 0 {
            return Err(unsafe_kdf);
        }
        let memory = 128u128 * u128::from(self.n) * u128::from(self.r);
        let work = memory * u128::from(self.p);
        if memory > 256 << 20 || work > 1 << 30 {
            return Err(unsafe_kdf);
        }
        let log_n = self.n.trailing_zeros() as u8;
        let r = u32::try_from(self.r).map_err(|_| AegisError::UnsafeKdf {
            n: self.n,
            r: self.r,
            p: self.p,
        })?;
        let p = u32::try_from(self.p).map_err(|_| AegisError::UnsafeKdf {
            n: self.n,
            r: self.r,
            p: self.p,
        })?;
        scrypt::Params::new(log_n, r, p, KEY_LEN).map_err(|_| unsafe_kdf)
    }
}

/// The 256-bit key that encrypts a vault's content. Zeroed on drop, never printed.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A key from bytes (tests; normally [`SealRandomness::generate`] makes it).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_slice()))
    }
}

/// The random values a new encrypted vault needs, passed in so that sealing is testable
/// with fixed values.
#[derive(Debug)]
pub struct SealRandomness {
    /// The new master key.
    pub master_key: MasterKey,
    /// UUID of the password slot.
    pub slot_uuid: uuid::Uuid,
    /// scrypt salt.
    pub salt: [u8; 32],
    /// Nonce that wraps the master key.
    pub slot_nonce: [u8; NONCE_LEN],
    /// Nonce that encrypts the content.
    pub content_nonce: [u8; NONCE_LEN],
}

impl SealRandomness {
    /// Fresh values from the operating system's random source.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let mut rng = rand::rng();
        rng.fill_bytes(key.as_mut_slice());
        let mut salt = [0u8; 32];
        rng.fill_bytes(&mut salt);
        Self {
            master_key: MasterKey(key),
            slot_uuid: uuid::Uuid::new_v4(),
            salt,
            slot_nonce: random_nonce(),
            content_nonce: random_nonce(),
        }
    }
}

/// A fresh random 96-bit nonce, for every re-encryption of a vault's content.
pub fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}

/// An encrypted vault after its password was accepted: the master key and the slots, so
/// that the content can be re-encrypted without deriving the key again.
#[derive(Debug, Clone)]
pub struct UnlockedVault {
    /// The content key.
    pub master_key: MasterKey,
    /// The header's slots, kept as they were.
    pub slots: Vec<serde_json::Value>,
}

fn slot_key(
    password: &SecretString,
    salt: &[u8],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, AegisError> {
    let params = kdf.checked()?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    scrypt::scrypt(
        password.expose_secret().as_bytes(),
        salt,
        &params,
        key.as_mut_slice(),
    )
    .map_err(|_| AegisError::UnsafeKdf {
        n: kdf.n,
        r: kdf.r,
        p: kdf.p,
    })?;
    Ok(key)
}

fn hex_bytes(text: &str, what: &str, len: Option<usize>) -> Result<Vec<u8>, AegisError> {
    let bytes = hex::decode(text).map_err(|_| AegisError::NotAegis {
        detail: format!("the {what} is not hexadecimal"),
    })?;
    if len.is_some_and(|len| bytes.len() != len) {
        return Err(AegisError::NotAegis {
            detail: format!("the {what} has the wrong length"),
        });
    }
    Ok(bytes)
}

/// AES-256-GCM with the tag stored apart from the ciphertext, as Aegis does.
fn open_detached(
    cipher: &Aes256Gcm,
    params: &CipherParams,
    ciphertext: &[u8],
    what: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, AegisError> {
    let nonce = hex_bytes(&params.nonce, &format!("{what} nonce"), Some(NONCE_LEN))?;
    let tag = hex_bytes(&params.tag, &format!("{what} tag"), Some(TAG_LEN))?;
    let mut sealed = Zeroizing::new(Vec::with_capacity(ciphertext.len() + TAG_LEN));
    sealed.extend_from_slice(ciphertext);
    sealed.extend_from_slice(&tag);
    Ok(cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &sealed,
                aad: &[],
            },
        )
        .ok()
        .map(Zeroizing::new))
}

fn seal_detached(
    cipher: &Aes256Gcm,
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
) -> (Vec<u8>, CipherParams) {
    let mut sealed = cipher
        .encrypt(Nonce::from_slice(nonce), plaintext)
        .expect("AES-GCM encrypts any input below 64 GiB");
    let tag = sealed.split_off(sealed.len() - TAG_LEN);
    (
        sealed,
        CipherParams {
            nonce: hex::encode(nonce),
            tag: hex::encode(tag),
        },
    )
}

/// Tries every password slot of `file` with `password`.
pub fn unlock(file: &VaultFile, password: &SecretString) -> Result<UnlockedVault, AegisError> {
    if !file.is_encrypted() {
        return Err(AegisError::NotAegis {
            detail: "the vault is not encrypted".into(),
        });
    }
    let slots = file.password_slots();
    if slots.is_empty() {
        return Err(AegisError::NoPasswordSlot);
    }
    for slot in slots {
        let salt = hex_bytes(&slot.salt, "slot salt", None)?;
        let wrapped = hex_bytes(&slot.key, "slot key", Some(KEY_LEN))?;
        let kdf = KdfParams {
            n: slot.n,
            r: slot.r,
            p: slot.p,
        };
        let key = slot_key(password, &salt, kdf)?;
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_slice()));
        if let Some(master) = open_detached(&cipher, &slot.key_params, &wrapped, "slot")? {
            let bytes: [u8; KEY_LEN] =
                master
                    .as_slice()
                    .try_into()
                    .map_err(|_| AegisError::NotAegis {
                        detail: "the master key has the wrong length".into(),
                    })?;
            return Ok(UnlockedVault {
                master_key: MasterKey::from_bytes(bytes),
                slots: file.header.slots.clone().unwrap_or_default(),
            });
        }
    }
    Err(AegisError::WrongPassword)
}

/// The decrypted content JSON of an encrypted vault.
pub fn decrypt_content(
    file: &VaultFile,
    key: &MasterKey,
) -> Result<Zeroizing<Vec<u8>>, AegisError> {
    let (Some(params), Some(db)) = (&file.header.params, file.db.as_str()) else {
        return Err(AegisError::NotAegis {
            detail: "the vault is not encrypted".into(),
        });
    };
    let ciphertext = BASE64.decode(db.trim()).map_err(|_| AegisError::NotAegis {
        detail: "the encrypted content is not Base64".into(),
    })?;
    open_detached(&key.cipher(), params, &ciphertext, "content")?.ok_or(AegisError::Damaged)
}

/// The content JSON of a vault file: decrypted with `password` when encrypted, as is when
/// plain.
pub fn open(
    file: &VaultFile,
    password: Option<&SecretString>,
) -> Result<Zeroizing<Vec<u8>>, AegisError> {
    if !file.is_encrypted() {
        return Ok(Zeroizing::new(
            serde_json::to_vec(&file.db).expect("JSON values serialise"),
        ));
    }
    let password = password.ok_or(AegisError::PasswordNeeded)?;
    let unlocked = unlock(file, password)?;
    decrypt_content(file, &unlocked.master_key)
}

/// A new password slot wrapping `randomness.master_key`.
pub fn password_slot(
    password: &SecretString,
    kdf: KdfParams,
    randomness: &SealRandomness,
) -> Result<serde_json::Value, AegisError> {
    let key = slot_key(password, &randomness.salt, kdf)?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_slice()));
    let (wrapped, key_params) = seal_detached(
        &cipher,
        &randomness.slot_nonce,
        randomness.master_key.0.as_slice(),
    );
    let slot = PasswordSlot {
        kind: PASSWORD_SLOT,
        uuid: randomness.slot_uuid.to_string(),
        key: hex::encode(wrapped),
        key_params,
        n: kdf.n,
        r: kdf.r,
        p: kdf.p,
        salt: hex::encode(randomness.salt),
        repaired: true,
        is_backup: Some(false),
    };
    Ok(serde_json::to_value(slot).expect("slots serialise"))
}

/// Encrypts `content` (the content JSON) under an unlocked vault's master key with a fresh
/// `nonce`, keeping its slots.
pub fn seal(content: &[u8], unlocked: &UnlockedVault, nonce: [u8; NONCE_LEN]) -> VaultFile {
    let (ciphertext, params) = seal_detached(&unlocked.master_key.cipher(), &nonce, content);
    VaultFile {
        version: FILE_VERSION,
        header: Header {
            slots: Some(unlocked.slots.clone()),
            params: Some(params),
        },
        db: serde_json::Value::String(BASE64.encode(ciphertext)),
    }
}

/// A new encrypted vault of `content` with one password slot.
pub fn create(
    content: &[u8],
    password: &SecretString,
    kdf: KdfParams,
    randomness: &SealRandomness,
) -> Result<(VaultFile, UnlockedVault), AegisError> {
    let slot = password_slot(password, kdf, randomness)?;
    let unlocked = UnlockedVault {
        master_key: randomness.master_key.clone(),
        slots: vec![slot],
    };
    Ok((seal(content, &unlocked, randomness.content_nonce), unlocked))
}

/// A plain (unencrypted) vault of `content`.
pub fn plain(content: serde_json::Value) -> VaultFile {
    VaultFile {
        version: FILE_VERSION,
        header: Header::default(),
        db: content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams { n: 16, r: 8, p: 1 };

    fn fixed_randomness() -> SealRandomness {
        SealRandomness {
            master_key: MasterKey::from_bytes([7; 32]),
            slot_uuid: uuid::Uuid::nil(),
            salt: [1; 32],
            slot_nonce: [2; 12],
            content_nonce: [3; 12],
        }
    }

    fn password(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn sealed_content_opens_with_the_password_only() {
        let (file, _) = create(
            b"{\"version\":2}",
            &password("pw"),
            FAST,
            &fixed_randomness(),
        )
        .unwrap();
        let parsed = VaultFile::parse(file.to_json().as_bytes()).unwrap();
        assert_eq!(
            open(&parsed, Some(&password("pw"))).unwrap().as_slice(),
            b"{\"version\":2}"
        );
        assert!(matches!(
            open(&parsed, Some(&password("pW"))),
            Err(AegisError::WrongPassword)
        ));
        assert!(matches!(
            open(&parsed, None),
            Err(AegisError::PasswordNeeded)
        ));
    }

    #[test]
    fn resealing_keeps_the_slot_and_changes_the_nonce() {
        let (file, unlocked) = create(b"{}", &password("pw"), FAST, &fixed_randomness()).unwrap();
        let again = seal(b"{\"a\":1}", &unlocked, [9; 12]);
        assert_eq!(again.header.slots, file.header.slots);
        assert_ne!(again.header.params, file.header.params);
        assert_eq!(
            open(&again, Some(&password("pw"))).unwrap().as_slice(),
            b"{\"a\":1}"
        );
    }

    #[test]
    fn a_changed_byte_is_reported_as_damage() {
        let (mut file, unlocked) =
            create(b"{\"x\":1}", &password("pw"), FAST, &fixed_randomness()).unwrap();
        let mut bytes = BASE64.decode(file.db.as_str().unwrap()).unwrap();
        bytes[0] ^= 1;
        file.db = serde_json::Value::String(BASE64.encode(bytes));
        assert!(matches!(
            decrypt_content(&file, &unlocked.master_key),
            Err(AegisError::Damaged)
        ));
    }

    #[test]
    fn hostile_kdf_parameters_are_refused_before_any_work() {
        for (n, r, p) in [
            (0, 8, 1),
            (3, 8, 1),
            (1 << 30, 8, 1),
            (1 << 15, 1 << 20, 1),
            (1 << 15, 8, 1 << 20),
        ] {
            assert!(matches!(
                KdfParams { n, r, p }.checked(),
                Err(AegisError::UnsafeKdf { .. })
            ));
        }
        assert!(KdfParams::AEGIS.checked().is_ok());
    }

    #[test]
    fn the_master_key_never_prints() {
        let text = format!("{:?}", fixed_randomness());
        assert!(!text.contains("7, 7"), "{text}");
    }
}
