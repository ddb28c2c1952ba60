//! What ARM answers, as the layers above the wire read it: the buffered [`ArmResponse`], header
//! look-ups on `azure_core`'s [`Headers`], and the server's requested wait (`Retry-After` and
//! its millisecond variants).
//!
//! A leaf: it imports only `error`. The pipeline builds responses, `lro` reads the polling
//! headers, `pacing` reads the rate-limit counts and the retry policy reads the wait; none of
//! them has to reach into another for these.

use std::time::Duration;

use azure_core::http::headers::Headers;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

use super::error::AzureError;

/// A final response: success, or an error status that is not retried (or ran out of retries).
#[derive(Debug)]
pub(crate) struct ArmResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl ArmResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decodes a success body.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, AzureError> {
        serde_json::from_slice(&self.body).map_err(|e| AzureError::UnexpectedResponse {
            status: self.status.as_u16(),
            detail: format!("cannot decode {what}: {e}"),
        })
    }

    /// The error for this response if it is not a success.
    pub(crate) fn error_for_status(self, resource: &str) -> Result<ArmResponse, AzureError> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(AzureError::from_response(
                self.status.as_u16(),
                &self.body,
                resource,
            ))
        }
    }
}

/// `azure_core` headers (one value per name; repeated headers arrive joined with ", ").
pub(crate) fn to_header_map(headers: &Headers) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers.iter() {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_str(value.as_str()),
        ) {
            map.append(n, v);
        }
    }
    map
}

pub(crate) fn header<'a>(headers: &'a Headers, name: &'static str) -> Option<&'a str> {
    headers.get_optional_str(&name.into())
}

/// Parses the server's requested wait: `x-ms-retry-after-ms`, `retry-after-ms`, then
/// `Retry-After` as seconds or as an HTTP date (relative to `now`).
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    retry_after_from(|name| headers.get(name).and_then(|v| v.to_str().ok()), now)
}

/// [`parse_retry_after`] on `azure_core`'s headers, as a policy sees them.
pub(crate) fn retry_after_of(headers: &Headers, now: OffsetDateTime) -> Option<Duration> {
    retry_after_from(|name| header(headers, name), now)
}

fn retry_after_from<'a>(
    get: impl Fn(&'static str) -> Option<&'a str>,
    now: OffsetDateTime,
) -> Option<Duration> {
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = get(name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = get("retry-after")?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let when = time::PrimitiveDateTime::parse(value, &format)
        .ok()?
        .assume_utc();
    let secs = (when - now).whole_milliseconds().max(0);
    Some(Duration::from_millis(u64::try_from(secs).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = time::macros::datetime!(2024-01-01 00:00:00 UTC);
        let mut h = HeaderMap::new();
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert("retry-after", HeaderValue::from_static("1200"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(1200)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Mon, 01 Jan 2024 00:00:30 GMT"),
        );
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 31 Dec 2023 00:00:30 GMT"),
        );
        assert_eq!(parse_retry_after(&h, now), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_millis(250)));
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_millis(1500))
        );
    }
}
