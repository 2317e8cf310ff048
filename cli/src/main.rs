//! `emnify-auth`: the command line of emnify Authenticator, a thin shell over
//! `emnify_auth_core`. Exit code 0 on success; otherwise one line on stderr and 1 (2 for
//! usage errors, from clap).

mod args;
mod backup_commands;
mod clock_commands;
mod device_commands;
mod event_commands;
mod login_commands;
mod mfa_commands;
mod prompt;
mod store_commands;
mod vault_commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    emnify_auth_core::recovered_panic::quiet_hook();
    let cli = args::Cli::parse();
    match vault_commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: our errors already say what happened and what to do; the causes
            // (if any) are appended on the same line.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
