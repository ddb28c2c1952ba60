//! Wall-clock time as the emulated services write it: RFC 3339 for ARM and Entra bodies,
//! seconds since the Unix epoch for token claims.
//!
//! The lowest layer of the crate: it imports nothing from it, so every other module may use
//! it. Deadlines inside the emulator (operations, throttling buckets, token expiry) use
//! `Instant` instead, which this module does not cover.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The current UTC time in RFC 3339, as ARM writes times.
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Today's UTC date as `yyyy-mm-dd`, the form of a Linux account's expiry date.
pub(crate) fn today() -> String {
    let date = OffsetDateTime::now_utc().date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Seconds since the Unix epoch (JWT `iat`, `nbf`, `exp`; Entra's `expires_on`).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
