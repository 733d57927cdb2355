//! RFC 6238 TOTP for admin MFA: secrets, otpauth URIs, QR codes and replay-proof verification.
