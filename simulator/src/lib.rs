//! A loopback HTTP simulator of the parts of the emnify REST API the emnify Authenticator
//! uses: login in all four shapes (with MFA, trusted devices, refresh and application tokens),
//! MFA keys, trusted devices, users, workspace switching and security events.
//!
//! It is the other side of the wire: it shares no code with the client crates and follows the
//! OpenAPI fragments in `shared/emnify-api/`. Tests and the app's demo mode start it with
//! [`serve`] (inside a tokio runtime) or [`RunningSimulator::spawn_blocking_thread`] (anywhere),
//! and move its [`SimClock`] instead of sleeping.
//!
//! ```no_run
//! # async fn demo() -> Result<(), emnify_sim::SimError> {
//! let sim = emnify_sim::serve(emnify_sim::SimConfig::new().with_admin(true)).await?;
//! let base = sim.url(); // http://127.0.0.1:PORT
//! sim.clock().advance(std::time::Duration::from_secs(241 * 60)); // tokens have expired
//! assert_eq!(sim.stats().count("POST", "/api/v1/authenticate"), 0);
//! sim.shutdown().await;
//! # let _ = base; Ok(()) }
//! ```

mod admin;
mod clock;
mod error;
mod faults;
mod jwt;
mod routes;
mod seed;
mod server;
mod state;
mod stats;
mod time_fmt;
mod totp;

pub use clock::SimClock;
pub use error::SimError;
pub use faults::{Fault, FaultKind};
pub use seed::{
    DEMO_SEED_JSON, Seed, SeedApplicationToken, SeedError, SeedEvent, SeedMfaKey, SeedMfaStatus,
    SeedOrganisation, SeedTime, SeedTokenStatus, SeedTrustedDevice, SeedUser,
};
pub use server::{RunningSimulator, SimConfig, SimHandle, SimulatorThread, serve};
pub use stats::StatsSnapshot;

/// Lifetimes and limits the simulator enforces (the emnify documentation's numbers).
pub mod limits {
    pub use crate::routes::events_limits::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
    pub use crate::state::{
        AUTH_TOKEN_MINUTES, EVENT_RETENTION_MS, LOCK_AFTER_FAILURES, LOCKOUT_MS, MFA_TOKEN_MINUTES,
        RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW_MS, REFRESH_TOKEN_MINUTES, TOTP_WINDOW_STEPS,
        TRUSTED_DEVICE_DAYS,
    };
}
