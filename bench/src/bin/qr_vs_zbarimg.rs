//! Times `decode_qr_texts` against `zbarimg` on synthetic 3840×2160 desktop screenshots
//! holding a `qrencode` QR code, and checks that both read the same text.
//!
//! Ours: file read + decode + search, in process. zbarimg: a process per run, so its
//! figure includes process start, ImageMagick's image loading and the scan: that is what
//! the user would otherwise run. Median of `--runs` (default 11) after one warm-up run.
//!
//! `--check` makes the exit status non-zero when a ratio misses the goal.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use emnify_auth_bench::screenshot::{desktop, invert, paste, qrencode};
use emnify_auth_core::qr_decode::decode_qr_texts;

const URI: &str = "otpauth://totp/ACME%20Co:jo%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";
const GOAL: f64 = 0.5;

struct Variant {
    name: &'static str,
    /// Pixels per module of the pasted code.
    scale: u32,
    inverted: bool,
    /// Whether the ratio is held to the goal (the small-module case is reported only).
    goal: bool,
}

const VARIANTS: [Variant; 3] = [
    Variant {
        name: "qr_decode_3840x2160",
        scale: 4,
        inverted: false,
        goal: true,
    },
    Variant {
        name: "qr_decode_3840x2160_inverted",
        scale: 4,
        inverted: true,
        goal: true,
    },
    Variant {
        name: "qr_decode_3840x2160_2px_modules",
        scale: 2,
        inverted: false,
        goal: false,
    },
];

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ours(path: &Path) -> (Duration, Vec<String>) {
    let start = Instant::now();
    let bytes = std::fs::read(path).expect("read the screenshot");
    let texts = decode_qr_texts(&bytes).unwrap_or_default();
    (start.elapsed(), texts)
}

fn zbarimg(path: &Path, inverted: bool) -> (Duration, Vec<String>) {
    let mut command = Command::new("zbarimg");
    command.args(["-q", "--raw", "--nodbus"]);
    if inverted {
        // Without it zbar does not look for light-on-dark codes at all.
        command.arg("-Stest-inverted");
    }
    let start = Instant::now();
    let out = command.arg(path).output().unwrap_or_else(|e| {
        panic!("cannot run `zbarimg` ({e}): install it (Debian: apt-get install zbar-tools)")
    });
    let elapsed = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    (elapsed, text.lines().map(str::to_owned).collect())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<usize>().expect("--runs takes a number"))
        .unwrap_or(11)
        .max(1);
    let check = args.iter().any(|a| a == "--check");

    let dir = tempfile::tempdir().expect("temporary directory");
    let mut all_met = true;
    for variant in &VARIANTS {
        let mut shot = desktop(3840, 2160, 7);
        paste(&mut shot, &qrencode(URI, variant.scale), 2411, 1303);
        if variant.inverted {
            invert(&mut shot);
        }
        let path = dir.path().join(format!("{}.png", variant.name));
        shot.save(&path).expect("write the screenshot");

        let (_, our_texts) = ours(&path);
        let (_, their_texts) = zbarimg(&path, variant.inverted);
        let ours_median = median((0..runs).map(|_| ours(&path).0).collect());
        let theirs_median = median(
            (0..runs)
                .map(|_| zbarimg(&path, variant.inverted).0)
                .collect(),
        );

        // Payloads are never printed, only whether they match.
        let ours_ok = our_texts == [URI];
        let theirs_ok = their_texts == [URI];
        let ratio = ms(ours_median) / ms(theirs_median);
        let met = ratio <= GOAL && ours_ok;
        println!(
            "{}: ours {:.1} ms, zbarimg {:.1} ms, ratio {:.2} (goal <= {GOAL}{}); ours {}, zbarimg {}",
            variant.name,
            ms(ours_median),
            ms(theirs_median),
            ratio,
            if variant.goal { "" } else { ", not held to it" },
            if ours_ok {
                "read the code"
            } else {
                "FAILED to read the code"
            },
            if theirs_ok {
                "read the code"
            } else {
                "FAILED to read the code"
            },
        );
        if variant.goal && !met {
            all_met = false;
        }
    }
    println!(
        "(medians of {runs} runs; ours = read + decode in process, zbarimg = process spawn + load + scan)"
    );
    if check && !all_met {
        eprintln!("a QR decoding goal was missed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
