//! Criterion benchmark of one TOTP code (SHA-1, 6 digits, 30 s); goal: at most 1 µs.
//! `src/bin/code_cost.rs` gives the same figure in a second, without the statistics.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use emnify_auth_core::account::{Algorithm, OtpParams};
use emnify_auth_core::otp::code_at;
use emnify_auth_core::secret::TotpSecret;

fn bench_code_at(c: &mut Criterion) {
    let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).expect("20-byte key");
    let params = OtpParams::new(Algorithm::Sha1, 6, 30).expect("standard parameters");
    let mut time = 1_700_000_000u64;
    c.bench_function("code_at_sha1_6_30", |b| {
        b.iter(|| {
            time += 30;
            code_at(black_box(&secret), black_box(&params), black_box(time))
        })
    });
}

criterion_group!(benches, bench_code_at);
criterion_main!(benches);
