//! `--demo`: an embedded emnify API simulator with a demo user, a throwaway data folder and
//! a keyring namespace of its own, so every screen works without an emnify account and
//! nothing touches the user's real vault.

use anyhow::{Context, Result};
use emnify_auth_core::import;
use emnify_auth_core::login::password::password_sha1_hex;
use emnify_auth_core::login::profile::{LoginMethod, NewProfile};
use emnify_auth_core::{OtpParams, SecretStore, Vault};
use emnify_sim::{RunningSimulator, SimConfig, SimulatorThread};

/// The demo user of the simulator's built-in seed (public demo values, not secrets).
const DEMO_USER: &str = "demo@example.com";
const DEMO_PASSWORD: &str = "demo-password";
const DEMO_TOTP: &str = "EMNIFYDEMOSECRETKEYFORTOTPAPP234";

/// The running demo environment; dropping it stops the simulator and deletes the folder.
pub struct Demo {
    sim: SimulatorThread,
    dir: tempfile::TempDir,
    service: String,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("url", &self.sim.url())
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl Demo {
    /// Starts the simulator and makes the throwaway folder.
    pub fn start() -> Result<Self> {
        let sim = RunningSimulator::spawn_blocking_thread(SimConfig::new())
            .context("cannot start the demo API simulator")?;
        let dir = tempfile::Builder::new()
            .prefix("emnify-authenticator-demo-")
            .tempdir()
            .context("cannot create the demo data folder")?;
        let service = format!("emnify-authenticator-demo-{}", std::process::id());
        Ok(Self { sim, dir, service })
    }

    /// The demo data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The demo keyring namespace.
    pub fn keyring_service(&self) -> &str {
        &self.service
    }

    /// Fills the demo vault: the demo user's MFA account, two look-alike accounts and a
    /// login profile pointing at the simulator.
    pub fn seed<S: SecretStore>(&self, vault: &Vault<S>) -> Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let accounts = vec![
            import::from_secret(DEMO_TOTP, "emnify", DEMO_USER, OtpParams::default())?,
            import::from_secret(
                "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                "GitHub",
                "iot-ops",
                OtpParams::default(),
            )?,
            import::from_secret(
                "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U",
                "AWS",
                "fleet-admin",
                OtpParams::default(),
            )?,
        ];
        let report = vault.add_all(accounts, now)?;
        let otp_account = report.added.first().map(|a| a.id);
        vault.add_profile(
            NewProfile {
                name: "Demo workspace".into(),
                api_url: self.sim.url(),
                method: LoginMethod::Credentials {
                    username: DEMO_USER.into(),
                    otp_account,
                    trust_device: true,
                },
                secret: password_sha1_hex(DEMO_PASSWORD),
            },
            now,
        )?;
        Ok(())
    }

    /// Deletes every keyring entry the demo wrote.
    pub fn clean_keyring<S: SecretStore>(&self, vault: &Vault<S>) {
        for account in vault.accounts().unwrap_or_default() {
            let _ = vault.remove(account.id);
        }
        for profile in vault.profiles().unwrap_or_default() {
            let _ = vault.remove_profile(&profile.name);
        }
        let _ = vault
            .secrets()
            .delete(emnify_auth_core::login::profile::FINGERPRINT_KEY);
        let _ = vault
            .secrets()
            .delete(emnify_auth_core::app_lock::VERIFIER_KEY);
    }
}
