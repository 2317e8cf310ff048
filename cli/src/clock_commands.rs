//! `clock`: this computer's clock against emnify's (measured on every emnify response)
//! and `clock correct on|off`, whether codes are computed for emnify's clock.

use anyhow::Result;
use emnify_auth_core::Vault;
use emnify_auth_core::clock_drift::{ClockStatus, describe_offset};
use emnify_auth_core::login::flow::format_utc;
use emnify_auth_core::store_choice::VaultStore;
use serde_json::{Value, json};

use crate::args::{ClockArgs, ClockCommand, OnOff};

/// Runs `clock …`.
pub fn run(vault: &Vault<VaultStore>, args: ClockArgs) -> Result<()> {
    match args.command {
        Some(ClockCommand::Correct(correct)) => set_correction(vault, correct.state == OnOff::On),
        None => show(vault, args.json),
    }
}

/// The `clock` object of `code --json`: the offset and whether the code was corrected.
pub fn clock_json(status: &ClockStatus) -> Value {
    json!({
        "offset_seconds": status.offset_seconds(),
        "measured_at": status.offset.as_ref().map(|o| o.measured_at),
        "source": status.offset.as_ref().map(|o| o.source.as_str()),
        "corrected": status.corrected(),
    })
}

fn show(vault: &Vault<VaultStore>, json: bool) -> Result<()> {
    let status = vault.clock_status()?;
    if json {
        let mut value = clock_json(&status);
        value["correction"] = json!(status.correction);
        value["warning"] = json!(status.needs_warning());
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    match &status.offset {
        None => println!(
            "offset: not measured yet (every emnify response measures it: log in with `emnify-auth login NAME`)"
        ),
        Some(offset) => println!(
            "offset: {:+} s, {} (measured {} UTC against {})",
            offset.offset_seconds,
            describe_offset(offset.offset_seconds),
            format_utc(offset.measured_at),
            offset.source
        ),
    }
    if status.correction {
        println!(
            "correction: on, codes are computed for emnify's clock (`emnify-auth clock correct off` turns it off)"
        );
    } else {
        println!(
            "correction: off, codes use this computer's clock (`emnify-auth clock correct on` corrects them)"
        );
    }
    Ok(())
}

fn set_correction(vault: &Vault<VaultStore>, on: bool) -> Result<()> {
    vault.set_clock_correction(on)?;
    let status = vault.clock_status()?;
    match (on, &status.offset) {
        (false, _) => println!("clock correction is off: codes use this computer's clock"),
        (true, None) => println!(
            "clock correction is on; no offset is measured yet, so codes use this computer's clock until the next emnify response"
        ),
        (true, Some(offset)) => println!(
            "clock correction is on: codes are computed for emnify's clock ({}, measured {} UTC against {})",
            describe_offset(offset.offset_seconds),
            format_utc(offset.measured_at),
            offset.source
        ),
    }
    Ok(())
}
