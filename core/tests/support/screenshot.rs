//! Synthetic "desktop screenshots" with QR codes drawn by the `qrencode` tool pasted in,
//! for the QR decoding tests and the `qr_vs_zbarimg` benchmark (which includes this file
//! by path, so both test and measure the very same pictures).
//!
//! The picture is meant to be hostile in the ways a real screenshot is: a gradient that
//! defeats a global threshold, window frames and title bars with hard edges, and many
//! rows of small dark glyph-like blocks that produce spurious finder-pattern candidates.

use std::process::Command;

use image::{GrayImage, Luma, Rgb, RgbImage};

/// A QR code drawn by `qrencode` (not by the code under test): `scale` pixels per module,
/// 4-module quiet zone, error correction level M.
///
/// Panics when the tool is missing: a cross-check that silently did not run is worse
/// than a failure.
pub fn qrencode(text: &str, scale: u32) -> GrayImage {
    let out = Command::new("qrencode")
        .args(["-o", "-", "-t", "PNG", "-l", "M", "-m", "4"])
        .args(["-s", &scale.to_string(), "--", text])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `qrencode` ({e}): install it (Debian: apt-get install qrencode)")
        });
    assert!(
        out.status.success(),
        "qrencode failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    image::load_from_memory(&out.stdout)
        .expect("qrencode wrote an unreadable PNG")
        .to_luma8()
}

/// Small deterministic generator, so that the same seed always gives the same picture
/// (a failing test must be reproducible) without a dependency on `rand`.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
}

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
    let x_end = (x + w).min(img.width());
    let y_end = (y + h).min(img.height());
    for yy in y..y_end {
        for xx in x..x_end {
            img.put_pixel(xx, yy, Rgb(color));
        }
    }
}

/// A `width`×`height` desktop: gradient wallpaper, a taskbar with icons, and a few
/// windows full of "text".
pub fn desktop(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = XorShift(seed | 1);
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let t = (x + y) as f32 / (width + height) as f32;
        Rgb([
            (30.0 + 120.0 * t) as u8,
            (60.0 + 40.0 * (1.0 - t)) as u8,
            (140.0 + 90.0 * t) as u8,
        ])
    });
    // Taskbar with square icons: hard-edged dark/light squares, like finder patterns.
    let bar = height / 27;
    fill(&mut img, 0, height - bar, width, bar, [32, 32, 36]);
    let mut x = bar / 2;
    while x + bar < width / 3 {
        let shade = 120 + rng.below(130) as u8;
        fill(
            &mut img,
            x,
            height - bar + bar / 6,
            bar * 2 / 3,
            bar * 2 / 3,
            [shade, shade, 250],
        );
        x += bar;
    }
    for _ in 0..6 {
        let w = width / 5 + rng.below(width / 4);
        let h = height / 5 + rng.below(height / 3);
        let wx = rng.below(width - w);
        let wy = rng.below(height - bar - h);
        window(&mut img, &mut rng, wx, wy, w, h);
    }
    img
}

fn window(img: &mut RgbImage, rng: &mut XorShift, x: u32, y: u32, w: u32, h: u32) {
    let dark = rng.below(3) == 0;
    let (body, ink) = if dark {
        ([40, 42, 48], [210, 210, 215])
    } else {
        ([246, 246, 244], [25, 25, 30])
    };
    fill(img, x, y, w, h, [90, 90, 95]);
    fill(img, x + 1, y + 1, w - 2, h - 2, body);
    fill(img, x + 1, y + 1, w - 2, 36, [60, 64, 80]);
    // Lines of glyphs: 6–10 px wide blocks with word gaps, 14 px tall, 24 px apart.
    let mut ly = y + 56;
    while ly + 24 < y + h {
        let mut lx = x + 16;
        let line_end = x + 16 + rng.below(w.saturating_sub(32));
        while lx + 12 < line_end {
            let gw = 4 + rng.below(6);
            let gh = 8 + rng.below(7);
            fill(img, lx, ly + 14 - gh, gw, gh, ink);
            lx += gw + 2 + if rng.below(6) == 0 { 8 } else { 0 };
        }
        ly += 24;
    }
}

/// Pastes `qr` with its top-left corner at (`x`, `y`).
pub fn paste(img: &mut RgbImage, qr: &GrayImage, x: u32, y: u32) {
    for (qx, qy, Luma([v])) in qr.enumerate_pixels() {
        if x + qx < img.width() && y + qy < img.height() {
            img.put_pixel(x + qx, y + qy, Rgb([*v, *v, *v]));
        }
    }
}

/// Light-on-dark, as a QR code shown by an app in dark mode looks.
pub fn invert(img: &mut RgbImage) {
    for p in img.pixels_mut() {
        p.0 = p.0.map(|c| 255 - c);
    }
}
