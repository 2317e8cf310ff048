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

fn init() {
    let max = std::env::var("FUZZ_IMAGE_MAX_PIXELS")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(1_000_000);
    MAX_PIXELS.get_or_init(|| max);
    tolerate_caught_decoder_panics();
}

/// core runs `rqrr` and the image decoders inside `recovered_panic::catch` on purpose (rqrr
/// has panicked on degenerate candidate grids, png 0.18.1 on a PLTE chunk whose length is
/// not a multiple of 3 — found here, image-rs/image-png#694; such a panic costs one
/// candidate or reports the file as damaged), but libfuzzer-sys installs a panic hook that
/// aborts on every panic, caught or not. This hook lets exactly the panics raised inside
/// core's `catch` unwind to it; all other panics still abort as crashes. Set
/// FUZZ_RQRR_PANICS=abort to see those too.
fn tolerate_caught_decoder_panics() {
    if std::env::var_os("FUZZ_RQRR_PANICS").is_some_and(|value| value == "abort") {
        return;
    }
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !emnify_auth_core::recovered_panic::is_recovering() {
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
