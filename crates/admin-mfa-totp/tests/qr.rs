//! T-URI-5 and T-URI-6: QR codes decode back to the exact URI.
#![cfg(feature = "qr-png")]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use admin_mfa_totp::{
    Algorithm, MIN_PNG_MODULE_PX, OtpauthUri, PNG_QUIET_ZONE_MODULES, QrError, TerminalStyle,
    TotpParams, TotpSecret,
};

fn sample() -> OtpauthUri {
    let secret = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    OtpauthUri::new(
        "ACME Co",
        "admin+mfa@example.com",
        secret,
        TotpParams::default(),
    )
    .unwrap()
}

/// The longest URI the limits allow: 64-byte issuer and account that need escaping
/// everywhere, a 64-byte secret, SHA512, 8 digits, 120 s.
fn longest() -> OtpauthUri {
    let wide = "é".repeat(32);
    let params = TotpParams::builder()
        .algorithm(Algorithm::Sha512)
        .digits(8)
        .period(120)
        .build()
        .unwrap();
    OtpauthUri::new(
        wide.clone(),
        wide,
        TotpSecret::from_bytes(&[0xA5; 64]).unwrap(),
        params,
    )
    .unwrap()
}

/// Decodes a PNG and returns (QR version, content, image width, image height).
fn decode(png: &[u8]) -> (usize, String, u32, u32, image::GrayImage) {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let (w, h) = img.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code");
    let (meta, content) = grids[0].decode().unwrap();
    // The 2-bit format indicator: M is 0b00 (L 0b01, H 0b10, Q 0b11).
    assert_eq!(meta.ecc_level, 0, "error correction level M");
    (meta.version.0, content, w, h, img)
}

fn check_png(uri: &OtpauthUri, px: u32) -> usize {
    let png = uri.to_qr_png(px).unwrap();
    let (version, content, w, h, img) = decode(&png);
    assert_eq!(content, uri.to_uri().as_str(), "exact URI back");
    assert_eq!(OtpauthUri::parse(&content).unwrap(), *uri);

    // Square; modules × px plus a 4-module quiet zone on each side.
    let modules = u32::try_from(17 + 4 * version).unwrap();
    assert_eq!(w, h);
    assert_eq!(w, (modules + 2 * PNG_QUIET_ZONE_MODULES) * px);

    // The quiet zone is white all round, and the finder pattern starts right after it.
    let qz = PNG_QUIET_ZONE_MODULES * px;
    for y in 0..h {
        for x in 0..w {
            let inside = (qz..w - qz).contains(&x) && (qz..h - qz).contains(&y);
            if !inside {
                assert_eq!(img.get_pixel(x, y).0[0], 255, "quiet zone at ({x}, {y})");
            }
        }
    }
    for d in 0..px {
        assert_eq!(img.get_pixel(qz + d, qz + d).0[0], 0, "finder corner");
    }
    version
}

#[test]
fn t_uri_5_png_decodes_to_the_exact_uri() {
    let uri = sample();
    for px in [MIN_PNG_MODULE_PX, 5, 8, 16] {
        check_png(&uri, px);
    }
}

#[test]
fn t_uri_5_module_size_is_bounded() {
    let uri = sample();
    assert_eq!(uri.to_qr_png(3).unwrap_err(), QrError::ModuleSize);
    assert_eq!(uri.to_qr_png(0).unwrap_err(), QrError::ModuleSize);
    assert_eq!(uri.to_qr_png(17).unwrap_err(), QrError::ModuleSize);
}

#[test]
fn t_uri_6_longest_payload_fits_at_level_m() {
    let uri = longest();
    let version = check_png(&uri, MIN_PNG_MODULE_PX);
    eprintln!("longest URI: QR version {version}");
    // Well below the version-40 ceiling: the limits keep the code scannable.
    assert!(version <= 22, "version {version}");
}

#[test]
fn generated_secrets_decode_too() {
    for _ in 0..5 {
        let uri = OtpauthUri::new(
            "ACME",
            "root@example.com",
            TotpSecret::generate(),
            TotpParams::default(),
        )
        .unwrap();
        check_png(&uri, MIN_PNG_MODULE_PX);
    }
}

#[test]
fn svg_has_the_quiet_zone_and_all_modules() {
    let uri = sample();
    let svg = uri.to_qr_svg().unwrap();
    assert!(svg.starts_with("<?xml"));
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    // The version the PNG decodes as fixes the module count.
    let (version, ..) = decode(&uri.to_qr_png(4).unwrap());
    let side = 17 + 4 * version + 8;
    let width: usize = svg
        .split("width=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(width >= 200);
    assert_eq!(width % side, 0, "whole pixels per module");
    assert!(
        !svg.contains("GEZD"),
        "the SVG holds modules, not the URI text"
    );
}

#[test]
fn terminal_half_blocks() {
    let uri = sample();
    let (version, ..) = decode(&uri.to_qr_png(4).unwrap());
    let side = 17 + 4 * version + 8;
    for style in [
        TerminalStyle::LightBackground,
        TerminalStyle::DarkBackground,
    ] {
        let text = uri.to_qr_terminal(style).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        for line in &lines {
            assert_eq!(line.chars().count(), side);
            assert!(line.chars().all(|c| matches!(c, ' ' | '▀' | '▄' | '█')));
        }
        // The first two rows are quiet zone: blank on light terminals, solid on dark ones.
        let quiet = if style == TerminalStyle::LightBackground {
            ' '
        } else {
            '█'
        };
        assert!(lines[0].chars().all(|c| c == quiet), "{style:?}");
        assert!(lines[1].chars().all(|c| c == quiet), "{style:?}");
    }
    assert_ne!(
        uri.to_qr_terminal(TerminalStyle::LightBackground).unwrap(),
        uri.to_qr_terminal(TerminalStyle::DarkBackground).unwrap()
    );
}

/// What a terminal shows for `text` (as printed by `to_qr_terminal`), as a grayscale image at
/// `px` pixels per module: each character cell is two modules, top and bottom. `fg_dark` says
/// whether the block glyphs come out dark (the terminal's foreground is dark, or the text
/// paints it dark) or light.
fn screen(text: &str, fg_dark: bool, px: u32) -> image::GrayImage {
    let rows: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let width = u32::try_from(rows[0].len()).unwrap();
    let height = u32::try_from(rows.len() * 2).unwrap();
    let (fg, bg) = if fg_dark { (0, 255) } else { (255, 0) };
    image::GrayImage::from_fn(width * px, height * px, |x, y| {
        let cell = rows[(y / px / 2) as usize][(x / px) as usize];
        let top = (y / px).is_multiple_of(2);
        let inked = match cell {
            '█' => true,
            '▀' => top,
            '▄' => !top,
            ' ' => false,
            other => panic!("unexpected {other:?}"),
        };
        image::Luma([if inked { fg } else { bg }])
    })
}

fn decode_screen(img: image::GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let grid = grids.first()?;
    grid.decode().ok().map(|(_, content)| content)
}

const PAINT: &str = "\x1b[38;5;16;48;5;231m";
const RESET: &str = "\x1b[0m";

#[test]
fn terminal_renderings_decode_on_the_background_they_are_for() {
    for uri in [sample(), longest()] {
        let want = uri.to_uri();
        // Light terminal: dark glyphs on a light background.
        let light = uri.to_qr_terminal(TerminalStyle::LightBackground).unwrap();
        assert_eq!(
            decode_screen(screen(&light, true, 4)).as_deref(),
            Some(want.as_str())
        );
        // Dark terminal: light glyphs on a dark background.
        let dark = uri.to_qr_terminal(TerminalStyle::DarkBackground).unwrap();
        assert_eq!(
            decode_screen(screen(&dark, false, 4)).as_deref(),
            Some(want.as_str())
        );
    }
}

#[test]
fn terminal_any_background_paints_every_cell_black_on_white() {
    for uri in [sample(), longest()] {
        let want = uri.to_uri();
        let painted = uri.to_qr_terminal(TerminalStyle::AnyBackground).unwrap();
        let light = uri.to_qr_terminal(TerminalStyle::LightBackground).unwrap();
        assert_eq!(painted.lines().count(), light.lines().count());
        let mut glyphs = Vec::new();
        for line in painted.lines() {
            // The colours hold for the whole line, quiet zone included, and are reset after
            // it, so the terminal's own colours play no part.
            let inner = line
                .strip_prefix(PAINT)
                .and_then(|l| l.strip_suffix(RESET))
                .unwrap_or_else(|| panic!("unpainted line {line:?}"));
            assert!(!inner.contains('\x1b'));
            glyphs.push(inner);
        }
        let glyphs = glyphs.join("\n");
        assert_eq!(glyphs, light.as_str(), "the same cells as the light style");
        // Painted black on white: it decodes as the light style does on a light terminal...
        assert_eq!(
            decode_screen(screen(&glyphs, true, 4)).as_deref(),
            Some(want.as_str())
        );
    }
    // ...whereas the unpainted light style on a dark terminal (light glyphs on dark, no light
    // quiet zone) is what this style exists to avoid.
    let light = sample()
        .to_qr_terminal(TerminalStyle::LightBackground)
        .unwrap();
    assert_eq!(decode_screen(screen(&light, false, 4)), None);
}

#[test]
fn write_sample_png_for_inspection() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("admin-mfa-totp-sample-qr.png");
    std::fs::write(&path, sample().to_qr_png(4).unwrap()).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 100);
}
