//! Drawing an `otpauth://` link as a QR code, to move an account to another device.
//!
//! The text is a secret: the outputs are returned in zeroizing buffers, and the module
//! matrix and pixel buffers used on the way are wiped before they are freed (the `qrcode`
//! crate's own short-lived encoding buffers are beyond our reach).

use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use qrcode::bits::Bits;
use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode, Version};
use zeroize::Zeroizing;

/// Light modules around the code, as the QR specification requires for reliable scanning.
pub const QUIET_ZONE_MODULES: usize = 4;

/// Pixels per module in [`qr_png`]: large enough for a phone to read off a screen.
pub const PNG_PIXELS_PER_MODULE: usize = 8;

/// Bytes that fit in the largest QR code (version 40) at error correction level M.
pub const MAX_QR_BYTES: usize = 2331;

/// Why a QR code could not be produced. Messages never contain the text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrEncodeError {
    /// The text does not fit in a QR code.
    #[error(
        "the link is too long for a QR code ({bytes} bytes, at most {MAX_QR_BYTES} fit): shorten the issuer or account name, or copy the otpauth:// link instead"
    )]
    TooLong {
        /// Length of the text in bytes.
        bytes: usize,
    },
    /// The PNG encoder failed.
    #[error("the QR code image could not be written: {detail}")]
    Image {
        /// What the encoder reported.
        detail: String,
    },
}

/// ECI assignment number of UTF-8.
const UTF8_ECI: u32 = 26;

/// The symbol for `text` at level M, which recovers from ~15% damage (glare, a finger on
/// the screen) while keeping otpauth links at versions a phone reads easily.
///
/// ASCII text gets the crate's optimal segmentation. Other text is one byte segment after
/// a UTF-8 ECI header: without it, readers assume ISO-8859-1 or guess (zbar reads "ä" as
/// Big5), and the optimiser may encode UTF-8 byte pairs that look like Shift JIS in kanji
/// mode, which decoders then convert as Shift JIS.
fn build_code(text: &str) -> Result<QrCode, QrError> {
    if text.is_ascii() {
        return QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M);
    }
    for version in 1..=40 {
        let mut bits = Bits::new(Version::Normal(version));
        let pushed = (|| {
            bits.push_eci_designator(UTF8_ECI)?;
            bits.push_byte_data(text.as_bytes())?;
            bits.push_terminator(EcLevel::M)
        })();
        match pushed {
            Ok(()) => return QrCode::with_bits(bits, EcLevel::M),
            Err(QrError::DataTooLong) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(QrError::DataTooLong)
}

/// The code's modules, row by row, `true` for dark, with the quiet zone added.
struct Modules {
    /// Wiped on drop: the pattern encodes the secret as surely as the text does.
    dark: Zeroizing<Vec<bool>>,
    /// Modules per side, quiet zone included.
    side: usize,
}

impl Modules {
    fn new(text: &str) -> Result<Self, QrEncodeError> {
        let code = build_code(text).map_err(|error| match error {
            QrError::DataTooLong => QrEncodeError::TooLong { bytes: text.len() },
            other => QrEncodeError::Image {
                detail: other.to_string(),
            },
        })?;
        let width = code.width();
        let mut colors = code.into_colors();
        let side = width + 2 * QUIET_ZONE_MODULES;
        let mut dark = Zeroizing::new(vec![false; side * side]);
        for (y, row) in colors.chunks_exact(width).enumerate() {
            let start = (y + QUIET_ZONE_MODULES) * side + QUIET_ZONE_MODULES;
            for (module, color) in dark[start..start + width].iter_mut().zip(row) {
                *module = *color == Color::Dark;
            }
        }
        // `Color` has no `Zeroize`; overwrite it by hand, and keep the optimiser from
        // dropping the stores to a buffer that is freed right after.
        colors.fill(Color::Light);
        std::hint::black_box(&colors);
        Ok(Self { dark, side })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.side && y < self.side && self.dark[y * self.side + x]
    }
}

/// `text` as a PNG: black modules on white, a 4-module quiet zone, 8 pixels per module,
/// 8-bit greyscale, error correction level M.
pub fn qr_png(text: &str) -> Result<Zeroizing<Vec<u8>>, QrEncodeError> {
    let modules = Modules::new(text)?;
    let side_px = modules.side * PNG_PIXELS_PER_MODULE;
    let mut pixels = Zeroizing::new(vec![255u8; side_px * side_px]);
    for (y, row) in pixels.chunks_exact_mut(side_px).enumerate() {
        for (x, pixel) in row.iter_mut().enumerate() {
            if modules.is_dark(x / PNG_PIXELS_PER_MODULE, y / PNG_PIXELS_PER_MODULE) {
                *pixel = 0;
            }
        }
    }
    // Reserved beyond the worst case (stored deflate blocks plus headers), so the buffer
    // never grows: a reallocation would leave an unwiped copy of the image behind.
    let mut png = Zeroizing::new(Vec::with_capacity(
        pixels.len() + pixels.len() / 8 + side_px + 4096,
    ));
    let side = side_px as u32;
    PngEncoder::new(&mut *png)
        .write_image(&pixels, side, side, image::ExtendedColorType::L8)
        .map_err(|error| QrEncodeError::Image {
            detail: error.to_string(),
        })?;
    Ok(png)
}

/// Set black text on a bright white background, and back to the terminal's defaults.
const COLORS_ON: &str = "\x1b[30;107m";
const COLORS_OFF: &str = "\x1b[0m";

/// `text` as lines of Unicode half blocks (`▀`, `▄`, `█` and space, two module rows per
/// line), quiet zone included, each line ending in `\n`.
///
/// Every line sets black on bright white itself (ANSI SGR `30;107`, reset at the end of
/// the line), so the code is dark-on-light on dark and light terminal themes alike:
/// drawing only the dark modules would show an inverted code on dark themes, which many
/// scanner apps cannot read. Print it only to a terminal; the caller decides that.
pub fn qr_terminal(text: &str) -> Result<Zeroizing<String>, QrEncodeError> {
    let modules = Modules::new(text)?;
    let lines = modules.side.div_ceil(2);
    // Upper bound of the final size, so the string never reallocates (see `qr_png`).
    let capacity = lines * (modules.side * 3 + COLORS_ON.len() + COLORS_OFF.len() + 1);
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    for line in 0..lines {
        out.push_str(COLORS_ON);
        for x in 0..modules.side {
            let top = modules.is_dark(x, 2 * line);
            let bottom = modules.is_dark(x, 2 * line + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str(COLORS_OFF);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr_decode::decode_qr_texts;

    const URI: &str =
        "otpauth://totp/ACME%20Co:jo%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co";

    #[test]
    fn png_round_trips_through_the_decoder() {
        let png = qr_png(URI).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(decode_qr_texts(&png).unwrap(), vec![URI.to_owned()]);
    }

    #[test]
    fn non_ascii_text_round_trips() {
        let text = "otpauth://totp/Bäckerei Müller:jörg?secret=GEZDGNBVGY3TQOJQ&issuer=Bäckerei";
        let png = qr_png(text).unwrap();
        assert_eq!(decode_qr_texts(&png).unwrap(), vec![text.to_owned()]);
        let too_long = "ä".repeat(MAX_QR_BYTES / 2 + 1);
        assert!(matches!(
            qr_png(&too_long),
            Err(QrEncodeError::TooLong { .. })
        ));
    }

    #[test]
    fn png_has_quiet_zone_and_eight_pixels_per_module() {
        let png = qr_png(URI).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        let code = QrCode::with_error_correction_level(URI, EcLevel::M).unwrap();
        let side = (code.width() + 8) as u32 * 8;
        assert_eq!(image.dimensions(), (side, side));
        // Quiet zone all white, then the top-left finder's black corner.
        assert!((0..32).all(|i| image.get_pixel(i, i).0 == [255]));
        assert_eq!(image.get_pixel(32, 32).0, [0]);
        assert_eq!(image.get_pixel(39, 39).0, [0]);
    }

    #[test]
    fn terminal_rendering_matches_the_module_matrix() {
        let rendered = qr_terminal(URI).unwrap();
        let code = QrCode::with_error_correction_level(URI, EcLevel::M).unwrap();
        let width = code.width();
        let side = width + 8;
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        let colors = code.to_colors();
        let dark = |x: usize, y: usize| {
            (4..4 + width).contains(&x)
                && (4..4 + width).contains(&y)
                && colors[(y - 4) * width + x - 4] == qrcode::Color::Dark
        };
        for (i, line) in lines.iter().enumerate() {
            let body = line
                .strip_prefix(COLORS_ON)
                .and_then(|l| l.strip_suffix(COLORS_OFF))
                .expect("each line sets and resets its colours");
            let cells: Vec<char> = body.chars().collect();
            assert_eq!(cells.len(), side);
            for (x, cell) in cells.iter().enumerate() {
                let expected = match (dark(x, 2 * i), dark(x, 2 * i + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                };
                assert_eq!(*cell, expected, "line {i}, column {x}");
            }
        }
    }

    #[test]
    fn too_long_text_is_refused_with_its_length_only() {
        let text = "a".repeat(MAX_QR_BYTES + 1);
        let error = qr_png(&text).unwrap_err();
        assert!(matches!(error, QrEncodeError::TooLong { bytes } if bytes == text.len()));
        let message = error.to_string();
        assert!(message.contains("too long") && !message.contains("aaaa"));
        assert!(matches!(
            qr_terminal(&text),
            Err(QrEncodeError::TooLong { .. })
        ));
    }

    #[test]
    fn largest_text_still_fits() {
        // Bytes that are not alphanumeric force byte mode, the mode of the capacity table.
        let text = "a".repeat(MAX_QR_BYTES);
        assert!(qr_png(&text).is_ok());
    }
}
