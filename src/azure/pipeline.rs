//! The HTTP pipeline: the only place that sends requests to ARM.
//!
//! One `send` does, in order: token injection (lazily acquired, single-flight, dropped and
//! re-acquired once when ARM calls it stale), the exchange itself under the operation's deadline
//! and cancel token, logging with redaction, and retries:
//!
//! * 408, 429, 500, 502, 503, 504, retryable 409s and connection failures are retried;
//! * `Retry-After` (seconds or HTTP date) and `x-ms-retry-after-ms`/`retry-after-ms` are honoured
//!   however long they are; if the wait would end past the deadline we fail right away with
//!   `Throttled`/`DeadlineExceeded` saying how long Azure asked to wait;
//! * otherwise the wait is exponential with jitter; TLS certificate errors are never retried.
//!
//! Operations get back the final response and decide what a status means for them.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::cloud::CloudEndpoints;
use super::context::OpContext;
use super::credentials::TokenSource;
use super::error::{AzureError, CloudError, body_excerpt};
use super::transport::{certificate_hint, describe_reqwest_error, is_certificate_error_chain};

/// Backoff for retried requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First backoff step.
    pub base: Duration,
    /// Longest backoff step (a server's Retry-After may be longer and is still honoured).
    pub max_delay: Duration,
    /// Retries of 5xx/408/409/connection failures before giving up. 429s are retried until the
    /// deadline, since the server told us exactly when to come back.
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retries: 8,
        }
    }
}

impl RetryPolicy {
    /// Wait before retry number `retry` (1-based): "equal jitter" on base·2^(retry-1) capped at
    /// `max_delay`, i.e. uniformly between half and all of the step. Half is fixed so that a
    /// retry is never immediate (CRP asks for no immediate retries); the random half spreads
    /// out clients that failed together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let step = self.base.saturating_mul(1u32 << exp).min(self.max_delay);
        let half = step / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms == 0 {
            0
        } else {
            rand::random_range(0..=jitter_ms)
        };
        half + Duration::from_millis(extra)
    }
}

/// Parses the server's requested wait: `x-ms-retry-after-ms`, `retry-after-ms`, then
/// `Retry-After` as seconds or as an HTTP date (relative to `now`).
pub fn parse_retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = header_str(headers, name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = header_str(headers, "retry-after")?.trim();
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

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request to send. Bodies are JSON.
pub(crate) struct ArmRequest {
    pub method: Method,
    pub url: reqwest::Url,
    pub body: Option<Vec<u8>>,
    /// Whether to attach the bearer token (false for the metadata endpoint).
    pub authenticated: bool,
    /// Completes "timed out after Ns while …".
    pub what: String,
}

/// A final response: success, or an error status that is not retried (or ran out of retries).
#[derive(Debug)]
pub(crate) struct ArmResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ArmResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
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

/// Sends requests with auth, retries, deadline and redacted logging.
pub(crate) struct Pipeline {
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
    retry: RetryPolicy,
}

enum Verdict {
    Done,
    /// Retry after the server-specified wait (or our backoff when `None`).
    Retry {
        server_wait: Option<Duration>,
        throttled: bool,
        reason: String,
    },
}

impl Pipeline {
    pub(crate) fn new(
        http: reqwest::Client,
        tokens: Arc<TokenSource>,
        retry: RetryPolicy,
    ) -> Pipeline {
        Pipeline {
            http,
            tokens,
            retry,
        }
    }

    pub(crate) async fn send(
        &self,
        req: &ArmRequest,
        cloud: Option<&CloudEndpoints>,
        ctx: &OpContext,
    ) -> Result<ArmResponse, AzureError> {
        let url_for_log = redact_url(&req.url);
        let mut retries: u32 = 0;
        let mut refreshed_token = false;
        loop {
            let attempt = retries + 1;
            let token = match (req.authenticated, cloud) {
                (true, Some(cloud)) => Some(
                    ctx.run("acquiring an access token", self.tokens.token(cloud))
                        .await?,
                ),
                (true, None) => {
                    return Err(AzureError::UnexpectedResponse {
                        status: 0,
                        detail: "internal error: authenticated request without cloud endpoints"
                            .into(),
                    });
                }
                (false, _) => None,
            };

            let mut builder = self
                .http
                .request(req.method.clone(), req.url.clone())
                .header("Accept", "application/json")
                .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string());
            if let Some(token) = &token {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                    .map_err(|_| AzureError::Authentication {
                        message:
                            "the access token contains characters not allowed in an HTTP header"
                                .into(),
                    })?;
                value.set_sensitive(true);
                builder = builder.header("Authorization", value);
            }
            if let Some(body) = &req.body {
                builder = builder
                    .header("Content-Type", "application/json")
                    .body(body.clone());
                tracing::trace!(method = %req.method, url = %url_for_log, body = %redact_body(body), "request body");
            }

            tracing::debug!(method = %req.method, url = %url_for_log, attempt, "sending request");
            let started = Instant::now();
            let outcome = ctx
                .run(&req.what, async {
                    match builder.send().await {
                        Ok(resp) => {
                            let status = resp.status();
                            let headers = resp.headers().clone();
                            match resp.bytes().await {
                                Ok(b) => Ok(Ok(ArmResponse {
                                    status,
                                    headers,
                                    body: b.to_vec(),
                                })),
                                Err(e) => Ok(Err(e)),
                            }
                        }
                        Err(e) => Ok(Err(e)),
                    }
                })
                .await?;
            let elapsed_ms = started.elapsed().as_millis();

            let verdict = match &outcome {
                Err(e) => {
                    if is_certificate_error_chain(e) {
                        return Err(AzureError::Transport {
                            message: certificate_hint(&describe_reqwest_error(e)),
                        });
                    }
                    tracing::debug!(method = %req.method, url = %url_for_log, attempt, elapsed_ms, error = %describe_reqwest_error(e), "request failed without a response");
                    if is_retryable_transport(e) {
                        Verdict::Retry {
                            server_wait: None,
                            throttled: false,
                            reason: format!(
                                "the connection failed ({})",
                                describe_reqwest_error(e)
                            ),
                        }
                    } else {
                        return Err(AzureError::Transport {
                            message: describe_reqwest_error(e),
                        });
                    }
                }
                Ok(resp) => {
                    tracing::debug!(
                        method = %req.method,
                        url = %url_for_log,
                        status = resp.status.as_u16(),
                        attempt,
                        elapsed_ms,
                        request_id = resp.header("x-ms-request-id").unwrap_or(""),
                        "received response"
                    );
                    if !resp.body.is_empty() {
                        tracing::trace!(status = resp.status.as_u16(), body = %redact_body(&resp.body), "response body");
                    }
                    let error = if resp.status.is_success() {
                        None
                    } else {
                        CloudError::parse(&resp.body)
                    };
                    if resp.status == StatusCode::UNAUTHORIZED
                        && !refreshed_token
                        && error.as_ref().is_some_and(CloudError::is_stale_token)
                    {
                        if let Some(t) = &token {
                            // The token expired or was revoked before our early refresh: fetch a
                            // new one and try exactly once more.
                            self.tokens.invalidate(t).await;
                            refreshed_token = true;
                            continue;
                        }
                    }
                    classify(resp.status, error.as_ref(), &resp.headers)
                }
            };

            let Verdict::Retry {
                server_wait,
                throttled,
                reason,
            } = verdict
            else {
                return outcome.map_err(|e| AzureError::Transport {
                    message: describe_reqwest_error(&e),
                });
            };
            retries += 1;
            if !throttled && retries > self.retry.max_retries {
                tracing::debug!(url = %url_for_log, retries, "giving up after retries");
                return match outcome {
                    Ok(resp) => Ok(resp),
                    Err(e) => Err(AzureError::Transport {
                        message: describe_reqwest_error(&e),
                    }),
                };
            }
            let wait = server_wait.unwrap_or_else(|| self.retry.backoff(retries));
            if ctx.would_pass_deadline(wait) {
                let message = match &outcome {
                    Ok(resp) => CloudError::parse(&resp.body)
                        .map(|e| format!("{}: {}", e.code, e.message))
                        .unwrap_or_else(|| body_excerpt(&resp.body)),
                    Err(e) => describe_reqwest_error(e),
                };
                return Err(if throttled {
                    AzureError::Throttled {
                        retry_after: wait,
                        message,
                    }
                } else {
                    ctx.deadline_exceeded(format!(
                        "{} ({reason}; the next retry would be in {}s)",
                        req.what,
                        wait.as_secs()
                    ))
                });
            }
            tracing::debug!(url = %url_for_log, attempt, wait_ms = wait.as_millis(), reason = %reason, "retrying request");
            ctx.sleep(wait, &req.what).await?;
        }
    }
}

/// Whether a response is final or worth another try.
fn classify(status: StatusCode, error: Option<&CloudError>, headers: &HeaderMap) -> Verdict {
    let retryable = match status.as_u16() {
        408 | 429 | 500 | 502 | 503 | 504 => true,
        409 => error.is_some_and(CloudError::is_retryable_conflict),
        _ => false,
    };
    if !retryable {
        return Verdict::Done;
    }
    let reason = match error {
        Some(e) => format!("HTTP {} {}", status.as_u16(), e.code),
        None => format!("HTTP {}", status.as_u16()),
    };
    Verdict::Retry {
        server_wait: parse_retry_after(headers, OffsetDateTime::now_utc()),
        throttled: status == StatusCode::TOO_MANY_REQUESTS,
        reason,
    }
}

/// Connection-level failures worth retrying (reset, closed, timeout). Builder errors, bad URLs
/// and redirects are not.
fn is_retryable_transport(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() || e.is_decode()
}

/// Query parameters safe to log; every other value is replaced (status URLs may carry
/// signatures, e.g. `?p=…`).
const LOGGABLE_QUERY: &[&str] = &["api-version", "$expand"];

pub(crate) fn redact_url(url: &reqwest::Url) -> String {
    let mut out = url.clone();
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let keep = LOGGABLE_QUERY.iter().any(|a| a.eq_ignore_ascii_case(&k));
                (
                    k.into_owned(),
                    if keep {
                        v.into_owned()
                    } else {
                        "REDACTED".to_owned()
                    },
                )
            })
            .collect();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let _ = out.set_password(None);
    out.to_string()
}

/// Keys whose values never reach a log, compared case-insensitively.
const SECRET_KEYS: &[&str] = &[
    "protectedsettings",
    "password",
    "adminpassword",
    "client_secret",
    "clientsecret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
    "authorization",
];

/// A body as it may appear in a trace log: JSON with secret values replaced; anything that is not
/// JSON is summarised by its length rather than risked.
pub(crate) fn redact_body(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) => format!("<{} bytes, not JSON>", body.len()),
    }
}

fn redact_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if SECRET_KEYS.contains(&lower.as_str())
                    || lower.contains("password")
                    || lower.contains("secret")
                {
                    *val = serde_json::Value::String("REDACTED".into());
                } else {
                    redact_value(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
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

    #[test]
    fn backoff_is_bounded_and_never_immediate() {
        let p = RetryPolicy::default();
        for retry in 1..40 {
            for _ in 0..50 {
                let d = p.backoff(retry);
                let step = p
                    .base
                    .saturating_mul(1u32 << (retry - 1).min(30))
                    .min(p.max_delay);
                assert!(d >= step / 2 && d <= step, "retry {retry}: {d:?}");
                assert!(d <= p.max_delay);
            }
        }
        assert!(p.backoff(1) >= Duration::from_millis(500));
    }

    #[test]
    fn redaction_of_bodies_and_urls() {
        let body = br#"{"location":"westeurope","properties":{"settings":{"UserName":"admin"},"protectedSettings":{"Password":"Hunter2!x"}},"client_secret":"abc","nested":[{"access_token":"tok"}]}"#;
        let out = redact_body(body);
        assert!(
            !out.contains("Hunter2!x") && !out.contains("abc\"") && !out.contains("tok\""),
            "{out}"
        );
        assert!(out.contains("admin"));
        assert_eq!(
            redact_body(b"client_secret=abc&x=y"),
            "<21 bytes, not JSON>"
        );
        let url = reqwest::Url::parse("https://h/x?api-version=1&p=secret&$expand=instanceView")
            .expect("url");
        let s = redact_url(&url);
        assert!(!s.contains("secret") && s.contains("api-version=1"), "{s}");
    }

    #[test]
    fn classification() {
        let h = HeaderMap::new();
        let conflict = CloudError {
            code: "Conflict".into(),
            ..Default::default()
        };
        assert!(matches!(
            classify(StatusCode::CONFLICT, Some(&conflict), &h),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            classify(StatusCode::CONFLICT, None, &h),
            Verdict::Done
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None, &h),
            Verdict::Done
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, None, &h),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
        assert!(matches!(
            classify(StatusCode::NOT_IMPLEMENTED, None, &h),
            Verdict::Done
        ));
    }
}
