//! The emnify login commands: profiles, login, token, logout, whoami, workspace switch.

use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use emnify_auth_core::Vault;
use emnify_auth_core::login::api::DEFAULT_API_URL;
use emnify_auth_core::login::flow::{
    Clock, LoggedIn, Login, LoginError, LoginOptions, LoginOutcome, LoginPath, SystemClock,
    format_utc,
};
use emnify_auth_core::login::password::password_sha1_hex;
use emnify_auth_core::login::profile::{LoginMethod, LoginProfile, NewProfile};
use emnify_auth_core::store_choice::VaultStore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::args::{
    LoginArgs, NameArgs, ProfileAddArgs, ProfileCommand, RemoveArgs, WorkspaceCommand,
};
use crate::prompt;

type CliVault = Vault<VaultStore>;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `profile …`
pub fn profile(vault: &CliVault, command: ProfileCommand) -> Result<()> {
    match command {
        ProfileCommand::Add(args) => profile_add(vault, args),
        ProfileCommand::List(flag) => profile_list(vault, flag.json),
        ProfileCommand::Remove(args) => profile_remove(vault, args),
    }
}

fn profile_add(vault: &CliVault, args: ProfileAddArgs) -> Result<()> {
    let api_url = args.api_url.unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let (method, secret) = if args.app_token_stdin {
        let token = prompt::read_stdin_line("application token")?;
        (
            LoginMethod::ApplicationToken,
            SecretString::from(token.as_str().to_owned()),
        )
    } else {
        let Some(username) = args.username else {
            bail!("give --username (or --app-token-stdin for an application token)");
        };
        let password = if args.password_stdin {
            prompt::read_stdin_line("password")?
        } else if std::io::stdin().is_terminal() {
            zeroize::Zeroizing::new(
                rpassword::prompt_password(format!("emnify password of {username}: "))
                    .context("cannot read the password")?,
            )
        } else {
            bail!("give the password with --password-stdin (there is no terminal to ask)");
        };
        let otp_account = match args.otp {
            Some(name) => Some(vault.find(&name)?.id),
            None => None,
        };
        (
            LoginMethod::Credentials {
                username,
                otp_account,
                trust_device: args.trust_device,
            },
            password_sha1_hex(&password),
        )
    };
    let profile = vault.add_profile(
        NewProfile {
            name: args.name,
            api_url,
            method,
            secret,
        },
        SystemClock.now(),
    )?;
    println!("added login profile {} ({})", profile.name, profile.api_url);
    Ok(())
}

fn profile_json(vault: &CliVault, profile: &LoginProfile) -> serde_json::Value {
    let (method, username, otp, trust_device) = match &profile.method {
        LoginMethod::Credentials {
            username,
            otp_account,
            trust_device,
        } => {
            let otp = otp_account
                .and_then(|id| vault.account(id).ok())
                .map(|a| a.display_name());
            ("credentials", Some(username.clone()), otp, *trust_device)
        }
        LoginMethod::ApplicationToken => ("application_token", None, None, false),
    };
    json!({
        "id": profile.id.to_string(),
        "name": profile.name,
        "api_url": profile.api_url,
        "method": method,
        "username": username,
        "otp_account": otp,
        "trust_device": trust_device,
        "trusted_until": profile
            .trust
            .as_ref()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| t.expires_at),
        "locked_until": profile.guard.locked_until,
        "consecutive_failures": profile.guard.consecutive_failures,
    })
}

fn profile_list(vault: &CliVault, json: bool) -> Result<()> {
    let profiles = vault.profiles()?;
    if json {
        let values: Vec<_> = profiles.iter().map(|p| profile_json(vault, p)).collect();
        println!("{}", serde_json::to_string_pretty(&values)?);
        return Ok(());
    }
    if profiles.is_empty() {
        println!("no login profiles yet: add one with `emnify-auth profile add NAME --username …`");
    }
    for profile in &profiles {
        let who = match &profile.method {
            LoginMethod::Credentials { username, .. } => username.clone(),
            LoginMethod::ApplicationToken => "application token".to_owned(),
        };
        println!("{}  {}  {}", profile.name, who, profile.api_url);
    }
    Ok(())
}

fn profile_remove(vault: &CliVault, args: RemoveArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let question = format!(
        "Remove login profile '{}' and its stored password and tokens?",
        profile.name
    );
    if !args.yes && !prompt::confirm(&question, "--yes")? {
        bail!("not removed");
    }
    vault.remove_profile(&profile.name)?;
    println!("removed login profile {}", profile.name);
    Ok(())
}

fn describe_path(path: LoginPath) -> &'static str {
    match path {
        LoginPath::Cached => "the cached token",
        LoginPath::Refresh => "the refresh token",
        LoginPath::Password => "password (no MFA asked)",
        LoginPath::TrustedDevice => "password from this trusted device",
        LoginPath::Mfa => "password and MFA code",
        LoginPath::ApplicationToken => "application token",
    }
}

fn report(profile: &LoginProfile, done: &LoggedIn) {
    println!(
        "logged in to '{}' with {} ({} request{}); token valid until {} UTC",
        profile.name,
        describe_path(done.path),
        done.requests,
        if done.requests == 1 { "" } else { "s" },
        format_utc(done.expires_at)
    );
    if let Some(until) = done.trusted_until {
        println!(
            "this installation is now a trusted device until {} UTC",
            format_utc(until)
        );
    }
}

/// `login NAME`
pub fn login(vault: &CliVault, args: LoginArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    let options = LoginOptions {
        confirm_risky: args.force,
    };
    runtime()?.block_on(async {
        let mut login = Login::new(vault, profile, &clock)?;
        let mut outcome = login.login(&options).await?;
        if let LoginOutcome::NeedsCode(pending) = outcome {
            let code = if args.code_stdin {
                prompt::read_stdin_line("MFA code")?
            } else if std::io::stdin().is_terminal() {
                eprint!("MFA code for {}: ", login.profile().name);
                prompt::read_stdin_line("MFA code")?
            } else {
                bail!(
                    "the server asks for an MFA code and profile '{}' has no linked authenticator account: pass the code with --code-stdin, or link an account (profile add … --otp ACCOUNT)",
                    login.profile().name
                );
            };
            outcome = login.submit_code(pending, &code).await?;
        }
        match outcome {
            LoginOutcome::LoggedIn(done) => {
                report(login.profile(), &done);
                Ok(())
            }
            other @ LoginOutcome::NeedsConfirmation { .. } => {
                bail!("{} (add --force)", other.explain(clock.now()))
            }
            other => bail!("{}", other.explain(clock.now())),
        }
    })
}

/// `token NAME`: only the token on stdout, for `$(emnify-auth token prod)`.
pub fn token(vault: &CliVault, args: LoginArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    let options = LoginOptions {
        confirm_risky: args.force,
    };
    let token = runtime()?
        .block_on(async {
            let mut login = Login::new(vault, profile, &clock)?;
            login.token(&options).await.map(|(token, _)| token)
        })
        .map_err(|err| match err {
            LoginError::NeedsUser { .. } => {
                anyhow::anyhow!(
                    "{err} (run `emnify-auth login {}` to see and fix it)",
                    args.name
                )
            }
            other => other.into(),
        })?;
    println!("{}", token.expose_secret());
    Ok(())
}

/// `logout NAME`
pub fn logout(vault: &CliVault, args: NameArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    Login::new(vault, profile.clone(), &clock)?.logout()?;
    println!("logged out of '{}' (stored tokens forgotten)", profile.name);
    Ok(())
}

/// `whoami NAME`
pub fn whoami(vault: &CliVault, args: NameArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    let user = runtime()?.block_on(async {
        let mut login = Login::new(vault, profile, &clock)?;
        login.whoami(&LoginOptions::default()).await
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&user)?);
        return Ok(());
    }
    let field = |key: &str| {
        user.get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_owned()
    };
    let organisation = user
        .get("organisation")
        .and_then(|o| o.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("?");
    println!(
        "{} ({}), workspace {}",
        field("username"),
        field("name"),
        organisation
    );
    Ok(())
}

/// `workspace …`
pub fn workspace(vault: &CliVault, command: WorkspaceCommand) -> Result<()> {
    match command {
        WorkspaceCommand::Switch(args) => {
            let profile = vault.profile(&args.name)?;
            let clock = SystemClock;
            let done = runtime()?.block_on(async {
                let mut login = Login::new(vault, profile.clone(), &clock)?;
                login
                    .switch_workspace(args.id, &LoginOptions::default())
                    .await
            })?;
            println!(
                "'{}' now works in workspace {}; token valid until {} UTC",
                profile.name,
                args.id,
                format_utc(done.expires_at)
            );
            Ok(())
        }
    }
}
