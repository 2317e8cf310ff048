//! Our codes against `oathtool` (OATH Toolkit), an implementation no one here wrote, on
//! 1,000 random (secret, time, algorithm, digits, period) cases.

use std::process::Command;

use emnify_auth_core::otp::{code_at, code_info_at};
use emnify_auth_core::{Algorithm, OtpParams, TotpSecret};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn oathtool(secret: &TotpSecret, params: &OtpParams, time: u64) -> String {
    let algorithm = match params.algorithm {
        Algorithm::Sha1 => "sha1",
        Algorithm::Sha256 => "sha256",
        Algorithm::Sha512 => "sha512",
    };
    let out = Command::new("oathtool")
        .arg(format!("--totp={algorithm}"))
        .args(["--digits", &params.digits.to_string()])
        .args(["--time-step-size", &format!("{}s", params.period)])
        .args(["--now", &format!("@{time}")])
        .args(["--base32", secret.expose_base32().as_str()])
        .output()
        .expect("oathtool is not installed: run scripts/setup.sh (CI installs it)");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_thousand_random_cases_match_oathtool() {
    let seed = std::env::var("OATH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..1000 {
        let len = rng.random_range(10..=64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let secret = TotpSecret::from_bytes(bytes).unwrap();
        let algorithm =
            [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][rng.random_range(0..3)];
        let digits = rng.random_range(6..=8);
        let period = *[30u64, 30, 60, 15, rng.random_range(1..=300)]
            .get(rng.random_range(0..5))
            .unwrap();
        let params = OtpParams::new(algorithm, digits, period).unwrap();
        // Up to 2^32: oathtool's own limit for `--now @…` on this platform is far beyond.
        let time: u64 = rng.random_range(0..=4_294_967_295);
        let ours = code_at(&secret, &params, time);
        let theirs = oathtool(&secret, &params, time);
        assert_eq!(
            ours, theirs,
            "case {case} (OATH_SEED={seed}): {algorithm} {digits} digits {period}s at {time}"
        );
        if case % 50 == 0 {
            let info = code_info_at(&secret, &params, time);
            assert_eq!(
                info.next,
                oathtool(&secret, &params, info.valid_from + period)
            );
        }
    }
}
