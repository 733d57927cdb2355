//! Provisioning a TOTP authenticator with `admin-mfa-totp`: a fresh secret, the otpauth URI,
//! the QR code (terminal and PNG), the first code, and the same code refused as a replay.

use std::error::Error;
use std::io::Write as _;

use admin_mfa::ports::{Clock, SystemClock};
use admin_mfa_totp::{
    MIN_PNG_MODULE_PX, OtpauthUri, TerminalStyle, TotpParams, TotpSecret, VerifyError, generate,
    verify,
};

pub(crate) fn run() -> Result<(), Box<dyn Error>> {
    println!();
    println!("== 14. Under the hood: provisioning with admin-mfa-totp alone");

    // 1. A fresh 160-bit secret from the OS RNG, with the interoperable defaults
    //    (SHA1, 6 digits, 30 s; the server accepts the current and the previous step).
    let secret = TotpSecret::generate();
    let params = TotpParams::default();
    println!(
        "secret: {secret} ({} bytes; Debug and Display never show it)",
        secret.len()
    );

    // 2. The otpauth URI the authenticator app scans. It holds the secret: it is shown on
    //    the enrolment page once and never logged, emailed or stored in clear.
    let enrolment = OtpauthUri::new(
        "ACME Admin Portal",
        "alice@example.com",
        secret.clone(),
        params,
    )?;
    let uri = enrolment.to_uri();
    println!("otpauth URI: {}", uri.as_str());
    // Groups of four, as people read and type it; the app ignores the spaces.
    println!(
        "key for manual entry: {}",
        secret.to_base32_grouped().as_str()
    );

    // 3. The QR code in the terminal, painted black on white (quiet zone included) so it
    //    scans on dark and light terminals alike.
    println!(
        "{}",
        enrolment
            .to_qr_terminal(TerminalStyle::AnyBackground)?
            .as_str()
    );

    // 4. The same QR code as a PNG file (4 px per module, 4-module quiet zone), in a file of
    //    its own: a fresh name each run (created readable by this user only), kept after the
    //    example exits so it can be opened. It holds the secret: delete it when done.
    let mut png = tempfile::Builder::new()
        .prefix("admin-mfa-quickstart-qr-")
        .suffix(".png")
        .tempfile()?;
    png.write_all(enrolment.to_qr_png(MIN_PNG_MODULE_PX)?.as_slice())?;
    let (_, png_path) = png.keep()?;
    println!(
        "QR code written to {} (it holds the secret: delete it when done)",
        png_path.display()
    );

    // 5. The authenticator app: it parses the scanned URI and computes the current code.
    // The server clock (a real service holds an injected `Clock`).
    let now = SystemClock.now().as_secs();
    let scanned = OtpauthUri::parse(&uri)?;
    let shown_by_app = generate(scanned.secret(), scanned.params(), now);
    println!("the app shows {}", shown_by_app.as_str());

    // 6. The server verifies it and stores the matched step as `last_used_step`.
    let step = verify(&secret, &params, &shown_by_app, now, None)?;
    println!(
        "code accepted at time step {}; stored as last_used_step",
        step.get()
    );

    // 7. The same code again (a replay) is refused, even though it is still in the window.
    match verify(&secret, &params, &shown_by_app, now, Some(step)) {
        Err(VerifyError::Replayed) => println!("the same code a second time: refused (replay)"),
        other => return Err(format!("expected a replay refusal, got {other:?}").into()),
    }
    Ok(())
}
