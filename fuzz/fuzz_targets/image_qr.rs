//! Screenshots: `import::from_image` (format sniffing, header size checks, decoding, the
//! QR search and the parsing of what the codes hold) on any bytes must return, never
//! panic. Run with a small `-max_len` (see fuzz/options/image_qr).
//!
//! File size is not what makes an input slow: a 35-byte GIF can declare an 80-megapixel
//! canvas, which core accepts (`MAX_IMAGE_PIXELS`, a dual-4K screenshot is 33 MP) and
//! decodes and searches in full, taking seconds. Such inputs soon fill the corpus and
//! bring the fuzzer down to a few executions per second, so inputs whose header declares
//! more than FUZZ_IMAGE_MAX_PIXELS pixels (default 1,000,000) are skipped. Set it to
//! 80000000 for a run that also covers the downscaled search of large screenshots.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use image::ImageReader;
use libfuzzer_sys::fuzz_target;

static MAX_PIXELS: OnceLock<u64> = OnceLock::new();

/// Crates whose panics core catches (registry folder names start with `<name>-`).
const CAUGHT_CRATES: &[&str] = &[
    "rqrr",
    "png",
    "image",
    "gif",
    "zune-jpeg",
    "zune-core",
    "image-webp",
];

fn init() {
    let max = std::env::var("FUZZ_IMAGE_MAX_PIXELS")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(1_000_000);
    MAX_PIXELS.get_or_init(|| max);
    tolerate_caught_decoder_panics();
}

/// core runs `rqrr` and the image decoders inside `catch_unwind` on purpose (rqrr has
/// panicked on degenerate candidate grids, png 0.18.1 on a PLTE chunk whose length is not a
/// multiple of 3 — found here, image-rs/image-png#694; such a panic costs one candidate or
/// reports the file as damaged), but libfuzzer-sys installs a panic hook that aborts on
/// every panic, caught or not. This hook lets panics raised inside those crates unwind to
/// core's `catch_unwind`; all other panics still abort as crashes. A panic in them that
/// core does not catch still reaches libfuzzer-sys's own `catch_unwind` around the target,
/// which aborts too, so nothing is hidden but what core already handles. Set
/// FUZZ_RQRR_PANICS=abort to see those too.
fn tolerate_caught_decoder_panics() {
    if std::env::var_os("FUZZ_RQRR_PANICS").is_some_and(|value| value == "abort") {
        return;
    }
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_caught_crate = info.location().is_some_and(|location| {
            let file = location.file().replace('\\', "/");
            CAUGHT_CRATES
                .iter()
                .any(|name| file.contains(&format!("/{name}-")))
        });
        if !in_caught_crate {
            fuzzer_hook(info);
        }
    }));
}

/// The size the file's header declares, read the way core reads it (header only).
fn declared_pixels(data: &[u8]) -> Option<u64> {
    let (width, height) = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()?;
    Some(u64::from(width) * u64::from(height))
}

fuzz_target!(init: init(), |data: &[u8]| {
    let max = MAX_PIXELS.get().copied().unwrap_or(u64::MAX);
    if declared_pixels(data).is_some_and(|pixels| pixels > max) {
        return;
    }
    let _ = emnify_auth_core::import::from_image(data);
});
