//! The "keyring" app-lock mode: the Secret Service's own lock and password prompt.
//!
//! The Secret Service unlocks whole collections, and the collection holding our keys (the
//! default one, normally the login keyring) is usually unlocked already, when its Unlock
//! call would return at once without asking anything. So locking the app locks that
//! collection, and unlocking always goes through the keyring's own prompt (gnome-keyring
//! shows it through gcr-prompter; KeePassXC and KWallet show their own).

use std::fmt;

/// What came of the keyring's password prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlock {
    /// The collection is unlocked: the right password was typed.
    Unlocked,
    /// The prompt was closed without unlocking.
    Dismissed,
}

/// A Secret Service call failed.
#[derive(Debug)]
pub struct KeyringLockError(String);

impl fmt::Display for KeyringLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the keyring (Secret Service) cannot be locked or unlocked: {}; check that it runs, or choose a lock password instead",
            self.0
        )
    }
}

impl std::error::Error for KeyringLockError {}

#[cfg(target_os = "linux")]
mod secret_service {
    use zbus::blocking::{Connection, Proxy};
    use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue};

    use super::{KeyringLockError, Unlock};

    const BUS_NAME: &str = "org.freedesktop.secrets";
    const SERVICE_PATH: &str = "/org/freedesktop/secrets";
    const SERVICE: &str = "org.freedesktop.Secret.Service";
    const COLLECTION: &str = "org.freedesktop.Secret.Collection";
    const PROMPT: &str = "org.freedesktop.Secret.Prompt";
    /// The object path that stands for "no prompt needed".
    const NO_PROMPT: &str = "/";

    fn failed(err: zbus::Error) -> KeyringLockError {
        KeyringLockError(err.to_string())
    }

    struct Keyring {
        connection: Connection,
        /// The default collection, where the keys are stored.
        collection: OwnedObjectPath,
    }

    impl Keyring {
        fn connect() -> Result<Self, KeyringLockError> {
            let connection = Connection::session().map_err(failed)?;
            let service =
                Proxy::new(&connection, BUS_NAME, SERVICE_PATH, SERVICE).map_err(failed)?;
            let collection: OwnedObjectPath =
                service.call("ReadAlias", &("default",)).map_err(failed)?;
            if collection.as_str() == NO_PROMPT {
                return Err(KeyringLockError("it has no default keyring".into()));
            }
            Ok(Self {
                connection,
                collection,
            })
        }

        fn service(&self) -> Result<Proxy<'_>, KeyringLockError> {
            Proxy::new(&self.connection, BUS_NAME, SERVICE_PATH, SERVICE).map_err(failed)
        }

        fn locked(&self) -> Result<bool, KeyringLockError> {
            Proxy::new(
                &self.connection,
                BUS_NAME,
                self.collection.as_str(),
                COLLECTION,
            )
            .map_err(failed)?
            .get_property("Locked")
            .map_err(failed)
        }

        fn lock(&self) -> Result<(), KeyringLockError> {
            let (_locked, prompt): (Vec<OwnedObjectPath>, OwnedObjectPath) = self
                .service()?
                .call("Lock", &(vec![self.collection.as_ref()],))
                .map_err(failed)?;
            // Locking never needs the user in the services we know; one that asks is
            // answered by its own prompt.
            if prompt.as_str() != NO_PROMPT {
                self.prompt(prompt.as_ref())?;
            }
            Ok(())
        }

        fn unlock(&self) -> Result<Unlock, KeyringLockError> {
            let (_unlocked, prompt): (Vec<OwnedObjectPath>, OwnedObjectPath) = self
                .service()?
                .call("Unlock", &(vec![self.collection.as_ref()],))
                .map_err(failed)?;
            if prompt.as_str() == NO_PROMPT {
                return Ok(Unlock::Unlocked);
            }
            self.prompt(prompt.as_ref())
        }

        /// Shows the service's prompt and waits for its `Completed` signal (the prompt
        /// belongs to this connection: it must stay open meanwhile).
        fn prompt(&self, path: ObjectPath<'_>) -> Result<Unlock, KeyringLockError> {
            let prompt = Proxy::new(&self.connection, BUS_NAME, path, PROMPT).map_err(failed)?;
            let mut completed = prompt.receive_signal("Completed").map_err(failed)?;
            // No parent window id: the prompt is system-modal.
            prompt.call::<_, _, ()>("Prompt", &("",)).map_err(failed)?;
            let message = completed
                .next()
                .ok_or_else(|| KeyringLockError("its prompt vanished".into()))?;
            let (dismissed, _result): (bool, OwnedValue) =
                message.body().deserialize().map_err(failed)?;
            Ok(if dismissed {
                Unlock::Dismissed
            } else {
                Unlock::Unlocked
            })
        }
    }

    pub fn is_locked() -> Result<bool, KeyringLockError> {
        Keyring::connect()?.locked()
    }

    pub fn lock() -> Result<(), KeyringLockError> {
        Keyring::connect()?.lock()
    }

    pub fn unlock_with_prompt() -> Result<Unlock, KeyringLockError> {
        let keyring = Keyring::connect()?;
        // An unlocked collection would "unlock" without asking anything (someone else may
        // have unlocked it, or locking it failed): lock it first, so the password is
        // always asked.
        if !keyring.locked()? {
            keyring.lock()?;
        }
        keyring.unlock()
    }
}

#[cfg(not(target_os = "linux"))]
mod secret_service {
    use super::{KeyringLockError, Unlock};

    fn unsupported() -> KeyringLockError {
        KeyringLockError("this system's keyring has no lock the app can use".into())
    }

    pub fn is_locked() -> Result<bool, KeyringLockError> {
        Err(unsupported())
    }

    pub fn lock() -> Result<(), KeyringLockError> {
        Err(unsupported())
    }

    pub fn unlock_with_prompt() -> Result<Unlock, KeyringLockError> {
        Err(unsupported())
    }
}

/// Whether the collection holding the keys is locked.
pub fn is_locked() -> Result<bool, KeyringLockError> {
    secret_service::is_locked()
}

/// Locks the collection holding the keys (and with it every other secret in it).
pub fn lock() -> Result<(), KeyringLockError> {
    secret_service::lock()
}

/// Asks for the keyring's password in its own prompt, blocking until it is answered.
pub fn unlock_with_prompt() -> Result<Unlock, KeyringLockError> {
    secret_service::unlock_with_prompt()
}
