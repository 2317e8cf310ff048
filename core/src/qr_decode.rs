//! Finding and reading every QR code in an image file (a screenshot, a saved picture).
//!
//! The work is done by `rqrr`, but its own preparation step (a row-wise moving-average
//! threshold over the whole image) is both slow on 4K screenshots and weak on light-on-dark
//! codes, so this module prepares the black-and-white pictures itself:
//!
//! 1. Decode the file under size limits checked from the header first, so that a tiny file
//!    claiming a huge picture is refused before anything is allocated.
//! 2. Convert to luma once (integer weights, transparency composited onto white).
//! 3. Search a pyramid, coarse to fine. Large screenshots are first box-downscaled to about
//!    two megapixels (a quarter of the work for a 4K screenshot). Each level is binarised
//!    with a local-mean threshold (robust to gradients and window shadows) in both
//!    polarities, so dark-mode (light-on-dark) codes are found too, and searched by rqrr.
//! 4. What looks like a code on a downscaled level but was not read there (grids rqrr
//!    located but could not decode, and triples of finder patterns placed like a code's,
//!    found by our own more tolerant scan) is searched again at full resolution, cropped:
//!    rqrr misses many codes whose modules shrink to 2–3 pixels when downscaled.
//! 5. Only when all this read nothing is the next finer level searched whole, down to
//!    full resolution, and then a global (Otsu) threshold tried, for large clean codes
//!    whose modules are wider than the local-mean window.
//!
//! Payloads are usually `otpauth://` links holding secrets: nothing here logs them, and no
//! error message ever contains any part of one.

use std::io::Cursor;

use crate::recovered_panic;
use image::{DynamicImage, GrayImage, ImageError, ImageFormat, ImageReader, Limits};
use zeroize::Zeroizing;

/// Largest encoded file accepted.
pub const MAX_IMAGE_BYTES: usize = 64 * 1024 * 1024;

/// Largest decoded image accepted (width × height), checked from the header before
/// decoding: a 7680×4320 dual-4K screenshot (33 M pixels) passes, 20000×20000 does not.
pub const MAX_IMAGE_PIXELS: u64 = 80_000_000;

/// The search starts on the first level of the pyramid (halving each time) that is no
/// larger than this; below it a full-resolution search is cheap enough to be the first.
const PASS_PIXELS: u64 = 2_200_000;

/// Why no text could be read from an image. Messages never contain payload text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrDecodeError {
    /// The file is larger than [`MAX_IMAGE_BYTES`].
    #[error(
        "the image file is too large ({bytes} bytes, at most {MAX_IMAGE_BYTES} are accepted): crop the screenshot around the QR code and try again"
    )]
    FileTooLarge {
        /// Size of the file.
        bytes: usize,
    },
    /// The picture has more than [`MAX_IMAGE_PIXELS`] pixels.
    #[error(
        "the image is too large ({width}×{height} pixels, at most {MAX_IMAGE_PIXELS} pixels are accepted): crop it around the QR code and try again"
    )]
    ImageTooLarge {
        /// Width claimed by the file.
        width: u32,
        /// Height claimed by the file.
        height: u32,
    },
    /// Not a PNG, JPEG, WebP, BMP or GIF file, or a variant of one the decoder lacks.
    #[error(
        "the file is not an image in a supported format: use a PNG, JPEG, WebP, BMP or GIF screenshot of the QR code"
    )]
    UnsupportedFormat,
    /// The file starts like an image but cannot be decoded.
    #[error(
        "the {format} image is damaged or incomplete ({detail}): take or save the screenshot again, or paste the otpauth:// link instead"
    )]
    Corrupt {
        /// The format the file claims to be in ("PNG", "JPEG", ...).
        format: &'static str,
        /// What the decoder reported.
        detail: String,
    },
    /// Nothing resembling a QR code was found.
    #[error(
        "no QR code found in the image: crop or zoom so the code is clearly visible, or paste the otpauth:// link instead"
    )]
    NoQrCode,
    /// Something shaped like a QR code was found, but its content could not be read.
    #[error(
        "a QR code was found but could not be read: take a larger, sharper screenshot of it (not a photo of a screen, if possible), or paste the otpauth:// link instead"
    )]
    Unreadable,
    /// The only codes found hold binary data rather than text.
    #[error(
        "the QR code does not contain text (its content is not valid UTF-8), so it is not an otpauth:// link: check that you picked the right code"
    )]
    NotText,
}

/// The texts of all QR codes in an image file (PNG, JPEG, WebP, BMP or GIF, recognised by
/// content, not by name), de-duplicated, ordered top to bottom then left to right.
///
/// Never returns an empty vector: no readable code is an error that says what to do.
pub fn decode_qr_texts(bytes: &[u8]) -> Result<Vec<String>, QrDecodeError> {
    let image = load(bytes)?;
    let luma = to_luma(image);
    let mut search = Search::default();
    search.run(&luma);
    search.finish()
}

/// The texts of all QR codes in raw RGBA pixels (e.g. an image taken from the clipboard),
/// like [`decode_qr_texts`].
pub fn decode_qr_texts_rgba(
    width: u32,
    height: u32,
    rgba: Vec<u8>,
) -> Result<Vec<String>, QrDecodeError> {
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(QrDecodeError::ImageTooLarge { width, height });
    }
    let image = image::RgbaImage::from_raw(width, height, rgba).ok_or(QrDecodeError::Corrupt {
        format: "RGBA",
        detail: "the pixel data does not match the image size".into(),
    })?;
    let luma = to_luma(DynamicImage::ImageRgba8(image));
    let mut search = Search::default();
    search.run(&luma);
    search.finish()
}

fn format_name(format: ImageFormat) -> Option<&'static str> {
    Some(match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Gif => "GIF",
        _ => return None,
    })
}

fn load(bytes: &[u8]) -> Result<DynamicImage, QrDecodeError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(QrDecodeError::FileTooLarge { bytes: bytes.len() });
    }
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|_| QrDecodeError::UnsupportedFormat)
    };
    let probe = reader()?;
    let format = probe.format().ok_or(QrDecodeError::UnsupportedFormat)?;
    let name = format_name(format).ok_or(QrDecodeError::UnsupportedFormat)?;
    let failed = |error: ImageError| match error {
        ImageError::Unsupported(_) => QrDecodeError::UnsupportedFormat,
        other => QrDecodeError::Corrupt {
            format: name,
            detail: other.to_string(),
        },
    };

    let (width, height) = probe.into_dimensions().map_err(failed)?;
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(QrDecodeError::ImageTooLarge { width, height });
    }
    // The header was checked above, but the decoder is bound as well: a file whose later
    // frames or chunks claim more than its header cannot make us allocate more than an
    // RGBA8 picture of the announced size (plus slack for the decoders' own buffers).
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(u64::from(width) * u64::from(height) * 4 + (64 << 20));
    let mut decoder = reader()?;
    decoder.limits(limits);
    // The decoders have panicked on malformed files (png 0.18.1 on a PLTE chunk whose
    // length is not a multiple of 3, found by fuzz/image_qr; image-rs/image-png#694): a
    // damaged screenshot must be an error, not a crash of the app.
    let decoded =
        recovered_panic::catch(|| decoder.decode()).ok_or_else(|| QrDecodeError::Corrupt {
            format: name,
            detail: "the decoder could not make sense of its content".into(),
        })?;
    decoded.map_err(|error| match error {
        ImageError::Limits(_) => QrDecodeError::ImageTooLarge { width, height },
        other => failed(other),
    })
}

/// Rec. 601 weights in 8-bit fixed point: the fast path for the layouts decoders produce.
fn luma_of(r: u8, g: u8, b: u8) -> u8 {
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128) >> 8) as u8
}

/// Transparent pixels count as white: a code exported with a transparent background has
/// black or undefined colour under its transparent pixels.
fn over_white(luma: u8, alpha: u8) -> u8 {
    let (l, a) = (u32::from(luma), u32::from(alpha));
    ((l * a + 255 * (255 - a) + 127) / 255) as u8
}

fn to_luma(image: DynamicImage) -> GrayImage {
    let (width, height) = (image.width(), image.height());
    // Converted in place, into the front of the decoder's own buffer: no second
    // picture-sized allocation while the colour one is still alive.
    let (mut raw, channels) = match image {
        DynamicImage::ImageLuma8(gray) => return gray,
        DynamicImage::ImageLumaA8(gray) => (gray.into_raw(), 2),
        DynamicImage::ImageRgb8(rgb) => (rgb.into_raw(), 3),
        DynamicImage::ImageRgba8(rgba) => (rgba.into_raw(), 4),
        other => (other.into_rgba8().into_raw(), 4),
    };
    let pixels = raw.len() / channels;
    match channels {
        2 => {
            for i in 0..pixels {
                raw[i] = over_white(raw[2 * i], raw[2 * i + 1]);
            }
        }
        3 => {
            for i in 0..pixels {
                raw[i] = luma_of(raw[3 * i], raw[3 * i + 1], raw[3 * i + 2]);
            }
        }
        _ => {
            for i in 0..pixels {
                let l = luma_of(raw[4 * i], raw[4 * i + 1], raw[4 * i + 2]);
                raw[i] = over_white(l, raw[4 * i + 3]);
            }
        }
    }
    raw.truncate(pixels);
    GrayImage::from_raw(width, height, raw).expect("one luma byte per pixel")
}

/// Half the size in each direction, each pixel the mean of a 2×2 box; an odd last row or
/// column is dropped.
fn halve(luma: &GrayImage) -> GrayImage {
    let (w, h) = (luma.width() as usize, luma.height() as usize);
    let (ow, oh) = (w / 2, h / 2);
    let raw = luma.as_raw();
    let mut out = vec![0u8; ow * oh];
    if ow > 0 {
        for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
            let top = raw[2 * oy * w..][..2 * ow].chunks_exact(2);
            let bottom = raw[(2 * oy + 1) * w..][..2 * ow].chunks_exact(2);
            for (o, (a, b)) in out_row.iter_mut().zip(top.zip(bottom)) {
                let sum = u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
                *o = ((sum + 2) >> 2) as u8;
            }
        }
    }
    GrayImage::from_raw(ow as u32, oh as u32, out).expect("one byte per pixel")
}

const BLOCK: usize = 8;
/// Blocks whose darkest and lightest pixels differ by no more than this hold no edge;
/// their threshold is borrowed from their neighbours (as in ZXing's hybrid binariser).
const FLAT_BLOCK_RANGE: u8 = 24;

/// Pixels halfway between a dark and a light module are counted as light: rqrr's finder
/// test rounds the module width down, so dark runs one pixel too long (the centre of a
/// finder at 2.5 px per module becoming 8 px instead of 7) get a code rejected, while
/// slightly short ones pass. rqrr's own preparation biases the same way.
const WHITE_BIAS_PERCENT: u32 = 5;

/// Local-mean binarisation into rqrr's bitmap form (1 = dark module, 0 = light).
///
/// Thresholds are the mean of 5×5 blocks of 8×8 pixels around each block: cheap (two
/// passes over the pixels), unaffected by gradients, and sharp enough for 2-pixel modules.
/// With `invert`, light pixels become the "dark" ones, which turns light-on-dark codes into
/// ordinary ones without a second luma image.
fn binarize_local(luma: &GrayImage, invert: bool) -> GrayImage {
    let (w, h) = (luma.width() as usize, luma.height() as usize);
    if w < BLOCK * 5 || h < BLOCK * 5 {
        return binarize_global(luma, invert);
    }
    let raw = luma.as_raw();
    let value = |v: u8| if invert { 255 - v } else { v };
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    // Trailing blocks are shifted inwards so that every block is a full 8×8.
    let origin = |b: usize, size: usize| (b * BLOCK).min(size - BLOCK);

    let mut black_points = vec![0u8; bw * bh];
    for by in 0..bh {
        let y0 = origin(by, h);
        for bx in 0..bw {
            let x0 = origin(bx, w);
            let (mut sum, mut min, mut max) = (0u32, 255u8, 0u8);
            for row in raw[y0 * w..].chunks_exact(w).take(BLOCK) {
                for &v in &row[x0..x0 + BLOCK] {
                    let v = value(v);
                    sum += u32::from(v);
                    min = min.min(v);
                    max = max.max(v);
                }
            }
            let mut point = (sum / (BLOCK * BLOCK) as u32) as u8;
            if max - min <= FLAT_BLOCK_RANGE {
                // A flat block is assumed to be background (light), unless its neighbours
                // show it is darker than their threshold, as inside a large dark module.
                point = min / 2;
                if by > 0 && bx > 0 {
                    let above = u32::from(black_points[(by - 1) * bw + bx]);
                    let left = u32::from(black_points[by * bw + bx - 1]);
                    let diagonal = u32::from(black_points[(by - 1) * bw + bx - 1]);
                    let neighbours = ((above + 2 * left + diagonal) / 4) as u8;
                    if min < neighbours {
                        point = neighbours;
                    }
                }
            }
            black_points[by * bw + bx] = point;
        }
    }

    let mut out = vec![0u8; w * h];
    for by in 0..bh {
        let y0 = origin(by, h);
        let rows = by.saturating_sub(2)..=(by + 2).min(bh - 1);
        for bx in 0..bw {
            let x0 = origin(bx, w);
            let cols = bx.saturating_sub(2)..=(bx + 2).min(bw - 1);
            let mut sum = 0u32;
            let mut count = 0u32;
            for ny in rows.clone() {
                for &p in &black_points[ny * bw + cols.start()..=ny * bw + cols.end()] {
                    sum += u32::from(p);
                    count += 1;
                }
            }
            let threshold = (sum * (100 - WHITE_BIAS_PERCENT) / (100 * count)) as u8;
            for y in y0..y0 + BLOCK {
                let src = &raw[y * w + x0..y * w + x0 + BLOCK];
                let dst = &mut out[y * w + x0..y * w + x0 + BLOCK];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = u8::from(value(v) <= threshold);
                }
            }
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("one byte per pixel")
}

/// Otsu's global threshold: the fallback for codes whose modules are larger than the
/// local-mean window, and for tiny images.
fn binarize_global(luma: &GrayImage, invert: bool) -> GrayImage {
    let mut histogram = [0u64; 256];
    for &v in luma.as_raw() {
        histogram[usize::from(v)] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let weighted: f64 = histogram
        .iter()
        .enumerate()
        .map(|(v, &n)| v as f64 * n as f64)
        .sum();
    let (mut below, mut below_weighted) = (0u64, 0f64);
    let (mut best, mut threshold) = (-1f64, 127u8);
    for (v, &n) in histogram.iter().enumerate() {
        below += n;
        below_weighted += v as f64 * n as f64;
        let above = total - below;
        if below == 0 || above == 0 {
            continue;
        }
        let mean_below = below_weighted / below as f64;
        let mean_above = (weighted - below_weighted) / above as f64;
        let between = below as f64 * above as f64 * (mean_below - mean_above).powi(2);
        if between > best {
            best = between;
            threshold = v as u8;
        }
    }
    let mut out = luma.clone();
    for v in out.iter_mut() {
        *v = u8::from((*v <= threshold) != invert);
    }
    out
}

/// A rectangle in full-resolution pixel coordinates, right and bottom exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Region {
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
}

impl Region {
    /// `self` grown by `x`/`y` pixels on each side, clipped to a `width`×`height` image.
    fn grown(self, x: u32, y: u32, width: u32, height: u32) -> Self {
        Region {
            left: self.left.saturating_sub(x),
            top: self.top.saturating_sub(y),
            right: self.right.saturating_add(x).min(width),
            bottom: self.bottom.saturating_add(y).min(height),
        }
    }

    fn contains(self, x: u32, y: u32) -> bool {
        (self.left..self.right).contains(&x) && (self.top..self.bottom).contains(&y)
    }

    fn union(self, other: Region) -> Region {
        Region {
            left: self.left.min(other.left),
            top: self.top.min(other.top),
            right: self.right.max(other.right),
            bottom: self.bottom.max(other.bottom),
        }
    }

    fn area(self) -> u64 {
        u64::from(self.right.saturating_sub(self.left))
            * u64::from(self.bottom.saturating_sub(self.top))
    }
}

/// A part of the full-resolution image worth a closer look, and in which polarity.
#[derive(Debug, Clone, Copy)]
struct Lead {
    region: Region,
    invert: bool,
}

/// Finder candidates kept per level; past this, the level is noise (text, dithering)
/// and only whole-image passes are worth their cost.
const MAX_CANDIDATES: usize = 128;

#[derive(Default)]
struct Search {
    /// Each code read and where; duplicates are dropped at the end, zeroed.
    found: Vec<(Region, Zeroizing<String>)>,
    /// Code-like spots not read yet.
    leads: Vec<Lead>,
    /// Something looked like a code but could not be decoded.
    unreadable: bool,
    not_text: bool,
}

/// How one level of the search maps back to the full-resolution image.
#[derive(Debug, Clone, Copy)]
struct Placement {
    scale: u32,
    x: u32,
    y: u32,
}

impl Placement {
    const FULL: Placement = Placement {
        scale: 1,
        x: 0,
        y: 0,
    };
}

impl Search {
    fn run(&mut self, luma: &GrayImage) {
        // levels[i] is downscaled by 2^(i+1); the full-resolution image is not copied.
        let mut levels: Vec<GrayImage> = Vec::new();
        let area = |image: &GrayImage| u64::from(image.width()) * u64::from(image.height());
        while area(levels.last().unwrap_or(luma)) > PASS_PIXELS {
            let smaller = halve(levels.last().unwrap_or(luma));
            levels.push(smaller);
        }
        // Coarse to fine; `depth` 0 is the full-resolution image. On a downscaled level,
        // codes with large modules are read directly; the rest of what looks like a code
        // (grids rqrr located but could not read, finder patterns it did not group) is
        // then read at full resolution, cropped.
        for depth in (0..=levels.len()).rev() {
            let level = if depth == 0 { luma } else { &levels[depth - 1] };
            let placement = Placement {
                scale: 1 << depth,
                x: 0,
                y: 0,
            };
            let mut candidates = Vec::new();
            for invert in [false, true] {
                let bitmap = binarize_local(level, invert);
                if depth > 0 {
                    candidates.push(finder_candidates(&bitmap));
                }
                self.scan(bitmap, placement, invert);
            }
            if depth > 0 {
                for (invert, found) in [false, true].into_iter().zip(candidates) {
                    self.add_candidate_leads(found, placement.scale, invert, luma);
                }
                self.follow_leads(luma);
            }
            if !self.found.is_empty() {
                return;
            }
        }
        for invert in [false, true] {
            self.scan(binarize_global(luma, invert), Placement::FULL, invert);
        }
    }

    /// Leads from the finder triples of a downscaled level that no code read so far
    /// accounts for.
    fn add_candidate_leads(
        &mut self,
        candidates: Option<Vec<Candidate>>,
        scale: u32,
        invert: bool,
        luma: &GrayImage,
    ) {
        let Some(candidates) = candidates else {
            return;
        };
        let scale = scale as f32;
        for [a, b, c] in finder_triples(&candidates) {
            let explained = |p: &Candidate| {
                let (x, y) = ((p.x * scale) as u32, (p.y * scale) as u32);
                self.found.iter().any(|(region, _)| region.contains(x, y))
            };
            if explained(&a) && explained(&b) && explained(&c) {
                continue;
            }
            // The code's fourth corner has no finder; it mirrors `a` across b–c.
            let xs = [a.x, b.x, c.x, b.x + c.x - a.x];
            let ys = [a.y, b.y, c.y, b.y + c.y - a.y];
            let min = |v: [f32; 4]| v.into_iter().fold(f32::MAX, f32::min).max(0.0);
            let max = |v: [f32; 4]| v.into_iter().fold(0.0, f32::max);
            // Finder centres are 3.5 modules inside the code, plus a 4-module quiet zone,
            // plus slack for the coarse estimate.
            let margin = (a.module + b.module + c.module) / 3.0 * 10.0;
            let region = Region {
                left: ((min(xs) - margin).max(0.0) * scale) as u32,
                top: ((min(ys) - margin).max(0.0) * scale) as u32,
                right: ((max(xs) + margin) * scale) as u32 + 1,
                bottom: ((max(ys) + margin) * scale) as u32 + 1,
            };
            self.leads.push(Lead {
                region: region.grown(0, 0, luma.width(), luma.height()),
                invert,
            });
        }
    }

    /// Reads the leads gathered so far at full resolution, each cropped out of the image.
    ///
    /// Leads are not merged: one chance alignment of text overlapping a real code would
    /// turn both into one large crop. Instead the smallest go first, and a lead is skipped
    /// once a code read covers its centre or an identical crop was already searched.
    fn follow_leads(&mut self, luma: &GrayImage) {
        let mut leads = std::mem::take(&mut self.leads);
        for lead in &mut leads {
            lead.region = lead.region.grown(0, 0, luma.width(), luma.height());
        }
        leads.sort_by_key(|lead| lead.region.area());
        // Up to a quarter of the image in all: beyond that, crops no longer save much
        // over a full pass, and the large leads are usually chance alignments of text.
        let mut budget = u64::from(luma.width()) * u64::from(luma.height()) / 4;
        let mut searched: Vec<Lead> = Vec::new();
        for lead in leads {
            let region = lead.region;
            let (centre_x, centre_y) = (
                (region.left + region.right) / 2,
                (region.top + region.bottom) / 2,
            );
            let read = self
                .found
                .iter()
                .any(|(found, _)| found.contains(centre_x, centre_y));
            let repeated = searched
                .iter()
                .any(|done| done.invert == lead.invert && done.region.union(region) == done.region);
            if region.area() == 0 || read || repeated {
                continue;
            }
            let Some(rest) = budget.checked_sub(region.area()) else {
                break;
            };
            budget = rest;
            searched.push(lead);
            let (width, height) = (region.right - region.left, region.bottom - region.top);
            let crop = image::imageops::crop_imm(luma, region.left, region.top, width, height);
            let crop = crop.to_image();
            let placement = Placement {
                scale: 1,
                x: region.left,
                y: region.top,
            };
            let found_before = self.found.len();
            self.scan(binarize_local(&crop, lead.invert), placement, lead.invert);
            if self.found.len() == found_before {
                self.scan(binarize_global(&crop, lead.invert), placement, lead.invert);
            }
        }
    }

    /// Runs rqrr on one bitmap. rqrr has panicked on degenerate candidate groups in the
    /// past; such a panic costs us one candidate, never the whole import.
    fn scan(&mut self, bitmap: GrayImage, at: Placement, invert: bool) {
        // The smallest code is 21 modules wide; rqrr also indexes pixel 0 of every row.
        if bitmap.width() < 21 || bitmap.height() < 21 {
            return;
        }
        let (width, height) = (bitmap.width(), bitmap.height());
        let mut prepared = rqrr::PreparedImage::without_preparation(bitmap);
        let outcomes = recovered_panic::catch(|| {
            prepared
                .detect_grids()
                .into_iter()
                .map(|grid| {
                    let content = recovered_panic::catch(|| {
                        // Sized up front so that the buffer is never reallocated, which
                        // would leave an unzeroed copy of the payload behind.
                        let mut out = Zeroizing::new(Vec::with_capacity(rqrr::MAX_PAYLOAD_SIZE));
                        grid.decode_to(&mut *out).ok().map(|_| out)
                    })
                    .flatten();
                    (grid.bounds, content)
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();

        for (bounds, content) in outcomes {
            let xs = bounds.map(|p| p.x.clamp(0, width as i32) as u32);
            let ys = bounds.map(|p| p.y.clamp(0, height as i32) as u32);
            let local = Region {
                left: xs.iter().min().copied().unwrap_or(0),
                top: ys.iter().min().copied().unwrap_or(0),
                right: xs.iter().max().copied().unwrap_or(0) + 1,
                bottom: ys.iter().max().copied().unwrap_or(0) + 1,
            };
            let region = Region {
                left: at.x + local.left * at.scale,
                top: at.y + local.top * at.scale,
                right: at.x + local.right * at.scale,
                bottom: at.y + local.bottom * at.scale,
            };
            match content {
                Some(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) => self.found.push((region, Zeroizing::new(text.to_owned()))),
                    Err(_) => self.not_text = true,
                },
                None => {
                    self.unreadable = true;
                    if at.scale > 1 {
                        // A quarter of the code on each side covers the quiet zone and
                        // corners estimated a few coarse pixels off.
                        let (w, h) = (region.right - region.left, region.bottom - region.top);
                        self.leads.push(Lead {
                            region: region.grown(w / 4 + 8, h / 4 + 8, u32::MAX, u32::MAX),
                            invert,
                        });
                    }
                }
            }
        }
    }

    fn finish(mut self) -> Result<Vec<String>, QrDecodeError> {
        self.found
            .sort_by_key(|(region, _)| (region.top, region.left));
        let mut texts: Vec<String> = Vec::with_capacity(self.found.len());
        for (_, mut text) in self.found {
            if !texts.contains(&*text) {
                texts.push(std::mem::take(&mut *text));
            }
        }
        if !texts.is_empty() {
            Ok(texts)
        } else if self.not_text {
            Err(QrDecodeError::NotText)
        } else if self.unreadable {
            Err(QrDecodeError::Unreadable)
        } else {
            Err(QrDecodeError::NoQrCode)
        }
    }
}

/// Where a finder pattern (the 1:1:3:1:1 squares in three corners of a code) seems to be,
/// in the coordinates of the bitmap it was found in.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    x: f32,
    y: f32,
    module: f32,
}

/// The module size if `runs` (dark, light, dark, light, dark) are in a 1:1:3:1:1 ratio.
///
/// More tolerant than rqrr's own test (which rounds the module size down and rejects
/// many finders with 2–3 pixel modules): this one only decides where to look closer.
fn finder_ratio(runs: [usize; 5]) -> Option<f32> {
    const WEIGHTS: [f32; 5] = [1.0, 1.0, 3.0, 1.0, 1.0];
    let total: usize = runs.iter().sum();
    if total < 7 {
        return None;
    }
    let module = total as f32 / 7.0;
    // Half a module either way for the rings, a third of the width for the centre, plus
    // the half pixel that sampling can add or remove at each edge.
    let tolerance = [
        module / 2.0,
        module / 2.0,
        module,
        module / 2.0,
        module / 2.0,
    ];
    runs.iter()
        .zip(WEIGHTS)
        .zip(tolerance)
        .all(|((&run, weight), tolerance)| (run as f32 - weight * module).abs() <= tolerance + 0.5)
        .then_some(module)
}

/// Groups of three candidates placed like the finders of one code: similar module
/// sizes, two equally long legs at a right angle from the corner finder, in any rotation.
fn finder_triples(candidates: &[Candidate]) -> Vec<[Candidate; 3]> {
    let similar =
        |p: &Candidate, q: &Candidate| p.module.max(q.module) <= 1.5 * p.module.min(q.module);
    let mut triples = Vec::new();
    for (i, a) in candidates.iter().enumerate() {
        for (j, b) in candidates.iter().enumerate().skip(i + 1) {
            for c in candidates.iter().skip(j + 1) {
                if !similar(a, b) || !similar(a, c) || !similar(b, c) {
                    continue;
                }
                let module = (a.module + b.module + c.module) / 3.0;
                // Try each of the three as the corner.
                for [corner, p, q] in [[a, b, c], [b, a, c], [c, a, b]] {
                    let (ux, uy) = (p.x - corner.x, p.y - corner.y);
                    let (vx, vy) = (q.x - corner.x, q.y - corner.y);
                    let (u, v) = (ux.hypot(uy), vx.hypot(vy));
                    // Finder centres of version 1 are 14 modules apart, of version 40, 170.
                    let legs_fit = (10.0 * module..=180.0 * module).contains(&u)
                        && (u - v).abs() <= 0.2 * u.max(v);
                    let cosine = (ux * vx + uy * vy) / (u * v);
                    if legs_fit && cosine.abs() <= 0.2 {
                        triples.push([*corner, *p, *q]);
                        break;
                    }
                }
            }
        }
    }
    triples
}

/// The five vertical runs through (`x`, `y`), which must be dark, centred there.
fn vertical_runs(bitmap: &GrayImage, x: u32, y: u32, max_run: usize) -> ([usize; 5], f32) {
    let dark = |y: u32| bitmap.get_pixel(x, y).0[0] == 1;
    // Runs going up from y (centre, light, dark) and down from y + 1.
    let mut up = [0usize; 3];
    let mut yy = y as i64;
    for (i, run) in up.iter_mut().enumerate() {
        let want = i != 1;
        while yy >= 0 && dark(yy as u32) == want && *run <= max_run {
            *run += 1;
            yy -= 1;
        }
    }
    let mut down = [0usize; 3];
    let mut yy = y + 1;
    for (i, run) in down.iter_mut().enumerate() {
        let want = i != 1;
        while yy < bitmap.height() && dark(yy) == want && *run <= max_run {
            *run += 1;
            yy += 1;
        }
    }
    let runs = [up[2], up[1], up[0] + down[0], down[1], down[2]];
    let centre = y as f32 - up[0] as f32 + (up[0] + down[0]) as f32 / 2.0;
    (runs, centre)
}

/// Finder-pattern candidates in a bitmap (1 = dark), checked across rows and columns and
/// merged when close; `None` when there are too many to be worth following.
fn finder_candidates(bitmap: &GrayImage) -> Option<Vec<Candidate>> {
    let (w, h) = (bitmap.width() as usize, bitmap.height() as usize);
    let raw = bitmap.as_raw();
    let mut found: Vec<Candidate> = Vec::new();
    for (y, row) in raw.chunks_exact(w.max(1)).enumerate().take(h) {
        let mut runs = [0usize; 5];
        let mut completed = 0usize;
        let mut x = 0;
        while x < w {
            let color = row[x];
            let start = x;
            while x < w && row[x] == color {
                x += 1;
            }
            runs.rotate_left(1);
            runs[4] = x - start;
            completed += 1;
            if color != 1 || completed < 5 {
                continue;
            }
            let Some(module) = finder_ratio(runs) else {
                continue;
            };
            let centre_x = (x - runs[4] - runs[3]) as f32 - runs[2] as f32 / 2.0;
            if found.iter().any(|c| {
                (c.x - centre_x).abs() < 3.0 * c.module && (c.y - y as f32).abs() < 4.0 * c.module
            }) {
                continue;
            }
            let total: usize = runs.iter().sum();
            let (vertical, centre_y) = vertical_runs(bitmap, centre_x as u32, y as u32, total);
            let Some(vertical_module) = finder_ratio(vertical) else {
                continue;
            };
            // Finders are square; text and window edges that pass one way rarely do.
            let square = |a: usize, b: usize| a.max(b) as f32 <= 1.4 * a.min(b) as f32 + 1.0;
            if !square(vertical.iter().sum(), total) || !square(vertical[2], runs[2]) {
                continue;
            }
            if found.len() == MAX_CANDIDATES {
                return None;
            }
            found.push(Candidate {
                x: centre_x,
                y: centre_y,
                module: (module + vertical_module) / 2.0,
            });
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Luma, Rgba, RgbaImage};
    use qrcode::{EcLevel, QrCode};

    const URI: &str =
        "otpauth://totp/ACME%20Co:jo%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co";

    /// A code with `px` pixels per module and a 4-module quiet zone.
    fn code_image(data: &[u8], px: u32) -> GrayImage {
        let code = QrCode::with_error_correction_level(data, EcLevel::M).unwrap();
        let width = code.width() as u32;
        let colors = code.to_colors();
        let side = (width + 8) * px;
        GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = (x / px, y / px);
            let dark = (4..4 + width).contains(&mx)
                && (4..4 + width).contains(&my)
                && colors[((my - 4) * width + mx - 4) as usize] == qrcode::Color::Dark;
            Luma([if dark { 20 } else { 235 }])
        })
    }

    fn canvas(width: u32, height: u32) -> GrayImage {
        GrayImage::from_fn(width, height, |x, y| Luma([(90 + (x + y) % 120) as u8]))
    }

    fn png(image: &GrayImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn invert(image: &mut GrayImage) {
        image.iter_mut().for_each(|v| *v = 255 - *v);
    }

    #[test]
    fn reads_a_plain_code() {
        assert_eq!(
            decode_qr_texts(&png(&code_image(URI.as_bytes(), 4))).unwrap(),
            [URI]
        );
    }

    #[test]
    fn reads_a_light_on_dark_code() {
        let mut image = code_image(URI.as_bytes(), 4);
        invert(&mut image);
        assert_eq!(decode_qr_texts(&png(&image)).unwrap(), [URI]);
    }

    #[test]
    fn reads_a_large_code_with_big_modules() {
        // Modules far wider than the local-mean window.
        assert_eq!(
            decode_qr_texts(&png(&code_image(URI.as_bytes(), 40))).unwrap(),
            [URI]
        );
    }

    #[test]
    fn reads_every_code_top_to_bottom_without_duplicates() {
        let first = "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP&issuer=A";
        let second = "otpauth://totp/B:b?secret=KRSXG5CTMVRXEZLU&issuer=B";
        let mut image = canvas(1600, 1200);
        image::imageops::replace(&mut image, &code_image(second.as_bytes(), 4), 900, 700);
        image::imageops::replace(&mut image, &code_image(first.as_bytes(), 4), 1100, 100);
        image::imageops::replace(&mut image, &code_image(first.as_bytes(), 3), 100, 800);
        assert_eq!(decode_qr_texts(&png(&image)).unwrap(), [first, second]);
    }

    #[test]
    fn finds_a_code_in_a_4k_picture_at_an_odd_offset() {
        let mut image = canvas(3840, 2160);
        image::imageops::replace(&mut image, &code_image(URI.as_bytes(), 4), 2411, 1303);
        assert_eq!(decode_qr_texts(&png(&image)).unwrap(), [URI]);
    }

    #[test]
    fn finds_a_small_module_code_in_a_4k_picture() {
        // Two-pixel modules vanish on the downscaled level; the full-resolution pass must
        // still find them.
        let mut image = canvas(3840, 2160);
        image::imageops::replace(&mut image, &code_image(URI.as_bytes(), 2), 301, 1777);
        assert_eq!(decode_qr_texts(&png(&image)).unwrap(), [URI]);
    }

    #[test]
    fn transparent_background_counts_as_white() {
        let code = code_image(URI.as_bytes(), 4);
        let image = RgbaImage::from_fn(code.width(), code.height(), |x, y| {
            if code.get_pixel(x, y).0[0] < 128 {
                Rgba([0, 0, 0, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, ImageFormat::Png).unwrap();
        assert_eq!(decode_qr_texts(bytes.get_ref()).unwrap(), [URI]);
    }

    #[test]
    fn binary_payload_is_reported_without_its_content() {
        let data = [0xff, 0xfe, 0x80, 0x00, 0x81, 0xc3, 0x28];
        let error = decode_qr_texts(&png(&code_image(&data, 4))).unwrap_err();
        assert!(matches!(error, QrDecodeError::NotText), "{error:?}");
        assert!(error.to_string().contains("not valid UTF-8"));
    }

    #[test]
    fn picture_without_code_is_no_qr_code() {
        let error = decode_qr_texts(&png(&canvas(800, 600))).unwrap_err();
        assert!(matches!(error, QrDecodeError::NoQrCode), "{error:?}");
        assert!(error.to_string().contains("paste the otpauth:// link"));
    }

    #[test]
    fn tiny_and_degenerate_pictures_are_no_qr_code() {
        for (width, height) in [(1, 1), (1, 5000), (5000, 1), (20, 20), (3, 4_000_000)] {
            let error = decode_qr_texts(&png(&GrayImage::new(width, height))).unwrap_err();
            assert!(
                matches!(error, QrDecodeError::NoQrCode),
                "{width}×{height}: {error:?}"
            );
        }
    }

    #[test]
    fn random_bytes_are_an_unsupported_format() {
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(matches!(
            decode_qr_texts(&bytes),
            Err(QrDecodeError::UnsupportedFormat)
        ));
        assert!(matches!(
            decode_qr_texts(b""),
            Err(QrDecodeError::UnsupportedFormat)
        ));
    }

    #[test]
    fn truncated_png_is_corrupt() {
        let bytes = png(&code_image(URI.as_bytes(), 4));
        let error = decode_qr_texts(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(
            matches!(error, QrDecodeError::Corrupt { format: "PNG", .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("damaged or incomplete"));
    }

    #[test]
    fn oversized_file_is_refused_before_decoding() {
        let bytes = vec![0u8; MAX_IMAGE_BYTES + 1];
        assert!(matches!(
            decode_qr_texts(&bytes),
            Err(QrDecodeError::FileTooLarge { bytes }) if bytes == MAX_IMAGE_BYTES + 1
        ));
    }

    #[test]
    fn huge_dimensions_are_refused_from_the_header() {
        // A real 1×1 PNG whose IHDR is patched to claim 20000×20000 (1.6 GB as RGBA).
        let bytes = emnify_auth_e2e::png_claiming_size(&png(&GrayImage::new(1, 1)), 20_000, 20_000);
        let error = decode_qr_texts(&bytes).unwrap_err();
        assert!(
            matches!(
                error,
                QrDecodeError::ImageTooLarge {
                    width: 20_000,
                    height: 20_000
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn halving_averages_boxes_and_drops_odd_edges() {
        let image = GrayImage::from_raw(3, 3, vec![0, 4, 9, 8, 12, 9, 9, 9, 9]).unwrap();
        let half = halve(&image);
        assert_eq!(half.dimensions(), (1, 1));
        assert_eq!(half.as_raw(), &[6]);
    }

    #[test]
    fn luma_weights_and_alpha() {
        assert_eq!(luma_of(255, 255, 255), 255);
        assert_eq!(luma_of(0, 0, 0), 0);
        assert_eq!(over_white(0, 0), 255);
        assert_eq!(over_white(0, 255), 0);
        assert_eq!(over_white(100, 255), 100);
    }
}
