//! QR codes of an otpauth URI: SVG and terminal text (`qr`), PNG (`qr-png`).
//!
//! Every image holds the secret: show it once to the enrolling user, never cache or log it.
//! All renderings use error correction level M and a quiet zone of 4 modules.

use qrcode::render::{svg, unicode::Dense1x2};
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

use crate::OtpauthUri;

/// Smallest PNG module size in pixels (smaller modules decode unreliably).
#[cfg(feature = "qr-png")]
pub const MIN_PNG_MODULE_PX: u32 = 4;
/// Largest PNG module size in pixels (bounds the image's memory).
#[cfg(feature = "qr-png")]
const MAX_PNG_MODULE_PX: u32 = 16;
/// Width of the white border around the code, in modules.
#[cfg(feature = "qr-png")]
pub const PNG_QUIET_ZONE_MODULES: u32 = 4;

/// Why a QR code could not be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The URI does not fit a QR code at level M (cannot happen for URIs within this crate's
    /// limits, but the encoder reports it).
    #[error("uri does not fit a qr code")]
    DataTooLong,
    /// The PNG module size is outside 4–16 px.
    #[error("png module size must be 4 to 16 px")]
    ModuleSize,
    /// The PNG encoder failed.
    #[error("png encoding failed")]
    Png,
}

/// How terminal text draws the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TerminalStyle {
    /// Blocks are dark modules: for terminals with a light background.
    #[default]
    LightBackground,
    /// Blocks are light modules and the quiet zone: for terminals with a dark background, so
    /// the code still reads dark-on-light.
    DarkBackground,
    /// Black modules on white, quiet zone included, painted with ANSI 256-colour escapes, so
    /// the code scans on dark and light terminals alike. The colours are entries 16 (black)
    /// and 231 (white) of the fixed 6×6×6 colour cube, which terminal colour themes do not
    /// remap (the 16 basic colours they do). Every line starts with the colour escape and
    /// ends with a reset (`ESC[0m`). Print it only to a terminal that understands 256-colour
    /// escapes (nearly all do); elsewhere the escapes show up as text.
    AnyBackground,
}

/// Foreground colour 16 (black) on background colour 231 (white) of the 256-colour cube.
const PAINT_BLACK_ON_WHITE: &str = "\x1b[38;5;16;48;5;231m";
/// Back to the terminal's own colours.
const RESET_COLOURS: &str = "\x1b[0m";

impl OtpauthUri {
    fn qr_code(&self) -> Result<QrCode, QrError> {
        QrCode::with_error_correction_level(self.to_uri().as_bytes(), EcLevel::M)
            .map_err(|_| QrError::DataTooLong)
    }

    /// The QR code as an SVG document (dark modules `#000` on `#fff`, 4-module quiet zone).
    ///
    /// # Errors
    ///
    /// [`QrError::DataTooLong`] if the URI does not fit a QR code.
    pub fn to_qr_svg(&self) -> Result<Zeroizing<String>, QrError> {
        let code = self.qr_code()?;
        Ok(Zeroizing::new(
            code.render::<svg::Color<'_>>()
                .quiet_zone(true)
                .min_dimensions(200, 200)
                .build(),
        ))
    }

    /// The QR code as lines of Unicode half blocks (`▀ ▄ █`), two modules per character
    /// cell, with a 4-module quiet zone, for printing to a terminal.
    ///
    /// [`TerminalStyle::LightBackground`] and [`TerminalStyle::DarkBackground`] use the
    /// terminal's own colours, so each scans only on the background it names;
    /// [`TerminalStyle::AnyBackground`] paints black on white and scans on either.
    ///
    /// ```
    /// use admin_mfa_totp::{OtpauthUri, TerminalStyle, TotpParams, TotpSecret};
    ///
    /// let uri = OtpauthUri::new("ACME", "alice", TotpSecret::generate(), TotpParams::default())?;
    /// let text = uri.to_qr_terminal(TerminalStyle::AnyBackground)?;
    /// assert!(text.lines().all(|l| l.starts_with("\x1b[38;5;16;48;5;231m") && l.ends_with("\x1b[0m")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`QrError::DataTooLong`] if the URI does not fit a QR code.
    pub fn to_qr_terminal(&self, style: TerminalStyle) -> Result<Zeroizing<String>, QrError> {
        let code = self.qr_code()?;
        let mut renderer = code.render::<Dense1x2>();
        renderer.quiet_zone(true).module_dimensions(1, 1);
        if style == TerminalStyle::DarkBackground {
            renderer
                .dark_color(Dense1x2::Light)
                .light_color(Dense1x2::Dark);
        }
        let blocks = Zeroizing::new(renderer.build());
        if style != TerminalStyle::AnyBackground {
            return Ok(blocks);
        }
        // Sized once, so no reallocation leaves a copy of the code behind.
        let lines = blocks.lines().count();
        let mut painted = Zeroizing::new(String::with_capacity(
            blocks.len() + lines * (PAINT_BLACK_ON_WHITE.len() + RESET_COLOURS.len()),
        ));
        for (i, line) in blocks.lines().enumerate() {
            if i > 0 {
                painted.push('\n');
            }
            painted.push_str(PAINT_BLACK_ON_WHITE);
            painted.push_str(line);
            painted.push_str(RESET_COLOURS);
        }
        Ok(painted)
    }

    /// The QR code as a grayscale PNG: `module_px` pixels per module (4 to 16) and a quiet
    /// zone of 4 modules, error correction M.
    ///
    /// ```
    /// use admin_mfa_totp::{MIN_PNG_MODULE_PX, OtpauthUri, TotpParams, TotpSecret};
    ///
    /// let uri = OtpauthUri::new("ACME", "alice", TotpSecret::generate(), TotpParams::default())?;
    /// let png = uri.to_qr_png(MIN_PNG_MODULE_PX)?;
    /// assert!(png.starts_with(b"\x89PNG"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`QrError::ModuleSize`] outside 4–16 px, [`QrError::DataTooLong`], [`QrError::Png`].
    #[cfg(feature = "qr-png")]
    pub fn to_qr_png(&self, module_px: u32) -> Result<Zeroizing<Vec<u8>>, QrError> {
        use image::{ExtendedColorType, ImageEncoder, Luma, codecs::png::PngEncoder};

        if !(MIN_PNG_MODULE_PX..=MAX_PNG_MODULE_PX).contains(&module_px) {
            return Err(QrError::ModuleSize);
        }
        let code = self.qr_code()?;
        let image = code
            .render::<Luma<u8>>()
            .quiet_zone(true)
            .module_dimensions(module_px, module_px)
            .build();
        let (width, height) = image.dimensions();
        let pixels = Zeroizing::new(image.into_raw());
        let mut png = Zeroizing::new(Vec::new());
        PngEncoder::new(&mut *png)
            .write_image(&pixels, width, height, ExtendedColorType::L8)
            .map_err(|_| QrError::Png)?;
        Ok(png)
    }
}
