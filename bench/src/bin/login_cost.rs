//! Requests per login and the time to a cached token, against the emnify API simulator
//! started in this process.
//!
//! ```sh
//! cargo run --release -p emnify-auth-bench --bin login_cost                  # in-memory key store
//! scripts/with-keyring.sh cargo run --release -p emnify-auth-bench --bin login_cost -- --keyring
//! ```
//!
//! Prints e.g.
//! `login requests: mfa 2, trusted device 1, password only 1` and
//! `cached token: 0.012 ms median over 1000 calls (goal < 1 ms), store memory`.

use std::sync::Arc;
use std::time::Instant;

use emnify_auth_core::import::from_secret;
use emnify_auth_core::login::flow::{Clock, Login, LoginOptions, LoginOutcome, SystemClock};
use emnify_auth_core::login::password::password_sha1_hex;
use emnify_auth_core::login::profile::{LoginMethod, NewProfile};
use emnify_auth_core::{KeyringStore, MemoryStore, OtpParams, SecretStore, Vault};
use emnify_sim::{RunningSimulator, SimConfig};

const AUTH: (&str, &str) = ("POST", "/api/v1/authenticate");

fn main() {
    let keyring = std::env::args().any(|a| a == "--keyring");
    let check = std::env::args().any(|a| a == "--check");
    let dir = tempfile::tempdir().expect("temp dir");
    let result = if keyring {
        let service = format!("emnify-authenticator-bench-{}", std::process::id());
        run(
            Vault::open(dir.path(), KeyringStore::new(&service)),
            "keyring",
        )
    } else {
        run(
            Vault::open(dir.path(), Arc::new(MemoryStore::new())),
            "memory",
        )
    };
    if check && result >= 1.0 {
        eprintln!("cached token took {result:.3} ms: goal < 1 ms missed");
        std::process::exit(1);
    }
}

fn run<S: SecretStore>(vault: Vault<S>, store: &str) -> f64 {
    let sim = RunningSimulator::spawn_blocking_thread(SimConfig::new()).expect("simulator");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clock = SystemClock;
    let now = clock.now();
    let account = vault
        .add(
            from_secret(
                "EMNIFYDEMOSECRETKEYFORTOTPAPP234",
                "emnify",
                "demo@example.com",
                OtpParams::default(),
            )
            .expect("demo key"),
            now,
        )
        .expect("add account")
        .added
        .remove(0);
    let add = |name: &str, user: &str, password: &str, otp| {
        vault
            .add_profile(
                NewProfile {
                    name: name.into(),
                    api_url: sim.url(),
                    method: LoginMethod::Credentials {
                        username: user.into(),
                        otp_account: otp,
                        trust_device: true,
                    },
                    secret: password_sha1_hex(password),
                },
                now,
            )
            .expect("profile")
    };
    let mfa = add("mfa", "demo@example.com", "demo-password", Some(account.id));
    let plain = add("plain", "nomfa@example.com", "nomfa-password", None);

    let requests = |profile: &emnify_auth_core::login::profile::LoginProfile| {
        let before = sim.stats().count(AUTH.0, AUTH.1);
        let mut login = Login::new(&vault, vault.profile(&profile.name).unwrap(), &clock).unwrap();
        let outcome = runtime
            .block_on(login.login(&LoginOptions::default()))
            .expect("login");
        assert!(
            matches!(outcome, LoginOutcome::LoggedIn(_)),
            "login failed: {}",
            outcome.explain(clock.now())
        );
        sim.stats().count(AUTH.0, AUTH.1) - before
    };
    let with_mfa = requests(&mfa);
    let trusted = requests(&mfa);
    let password_only = requests(&plain);
    println!(
        "login requests: mfa {with_mfa}, trusted device {trusted}, password only {password_only}"
    );

    let mut login = Login::new(&vault, vault.profile("mfa").unwrap(), &clock).unwrap();
    let before = sim.stats().total;
    let mut samples = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let start = Instant::now();
        let (token, _) = runtime
            .block_on(login.token(&LoginOptions::default()))
            .expect("token");
        std::hint::black_box(token);
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    assert_eq!(sim.stats().total, before, "a cached token made a request");
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    println!(
        "cached token: {median:.3} ms median over {} calls, p99 {:.3} ms (goal < 1 ms), store {store}",
        samples.len(),
        samples[samples.len() * 99 / 100]
    );
    median
}
