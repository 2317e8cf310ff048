//! Prints the cost of one `code_at` call (SHA-1, 6 digits, 30 s), measured over about a
//! million calls: the quick figure for CI, where criterion's statistics take too long.
//!
//! `--iterations N` changes the count; `--check` fails when the goal is missed.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use emnify_auth_core::account::{Algorithm, OtpParams};
use emnify_auth_core::otp::code_at;
use emnify_auth_core::secret::TotpSecret;

const GOAL_NS: f64 = 1000.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let iterations = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<u64>().expect("--iterations takes a number"))
        .unwrap_or(1_000_000)
        .max(1);
    let check = args.iter().any(|a| a == "--check");

    // The RFC 6238 SHA-1 test key; a fixed, public key keeps runs comparable.
    let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).expect("20-byte key");
    let params = OtpParams::new(Algorithm::Sha1, 6, 30).expect("standard parameters");
    let start_time = 1_700_000_000u64;

    for i in 0..iterations.min(10_000) {
        black_box(code_at(&secret, &params, black_box(start_time + i * 30)));
    }
    let start = Instant::now();
    for i in 0..iterations {
        // A new time step each call, so that no result can be reused.
        black_box(code_at(
            black_box(&secret),
            black_box(&params),
            black_box(start_time + i * 30),
        ));
    }
    let per_code = start.elapsed().as_nanos() as f64 / iterations as f64;
    println!("code_at: {per_code:.0} ns per code (goal <= {GOAL_NS:.0}; {iterations} calls)");
    if check && per_code > GOAL_NS {
        eprintln!("the code_at goal was missed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
