//! Logging in to the emnify API: profiles, the HTTP client, JWT claims and the login
//! state machine.

pub mod api;
pub mod devices;
pub mod flow;
pub mod jwt;
pub mod password;
pub mod profile;

#[cfg(test)]
mod fake_api;
