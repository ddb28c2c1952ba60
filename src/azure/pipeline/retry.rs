//! Retries, throttling and polling: the one loop that decides when to send a request again.
//!
//! * 408, 429, 500, 502, 503, 504, retryable 409s and connection failures are retried;
//! * `Retry-After` (seconds or HTTP date) and `x-ms-retry-after-ms`/`retry-after-ms` are honoured
//!   however long they are; if the wait would end past the deadline we fail right away with
//!   `Throttled`/`DeadlineExceeded` saying how long Azure asked to wait;
//! * otherwise the wait is exponential with jitter; TLS certificate errors are never retried;
//! * writes, and the reads of a listing, pass the [`Pacer`] gate first; a throttled one closes
//!   its bucket for every request that draws from it until `Retry-After` has passed;
//! * a status read of a long-running operation that says "still running" is sent again after
//!   the poll schedule's gap (or the server's longer `Retry-After`).

use std::sync::Arc;
use std::time::Duration;

use azure_core::error::ErrorKind;
use azure_core::http::Request;
use azure_core::http::headers::Headers;
use azure_core::http::policies::PolicyResult;
use reqwest::StatusCode;
use time::OffsetDateTime;

use super::super::error::{AzureError, CloudError, body_excerpt};
use super::super::lro::still_running;
use super::super::pacing::{Pacer, Scope};
use super::super::response::retry_after_of;
use super::step::{Next, Step, buffer, into_azure, rebuild, wrap};

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
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
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

/// Whether a response is final or worth another try.
#[derive(Debug)]
pub(crate) enum Verdict {
    Done,
    /// Retry after the server-specified wait (or our backoff when `None`).
    Retry {
        server_wait: Option<Duration>,
        throttled: bool,
        reason: String,
    },
}

pub(crate) fn classify(status: StatusCode, body: &[u8], headers: &Headers) -> Verdict {
    let error = if status.is_success() {
        None
    } else {
        CloudError::parse(body)
    };
    let retryable = match status.as_u16() {
        408 | 429 | 500 | 502 | 503 | 504 => true,
        409 => error
            .as_ref()
            .is_some_and(CloudError::is_retryable_conflict),
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
        server_wait: retry_after_of(headers, OffsetDateTime::now_utc()),
        throttled: status == StatusCode::TOO_MANY_REQUESTS,
        reason,
    }
}

#[derive(Debug)]
pub(crate) struct Retry {
    options: RetryPolicy,
    pacer: Arc<Pacer>,
}

impl Retry {
    pub(crate) fn new(options: RetryPolicy, pacer: Arc<Pacer>) -> Retry {
        Retry { options, pacer }
    }
}

#[async_trait::async_trait]
impl Step for Retry {
    async fn send(&self, request: &mut Request, next: Next<'_, '_>) -> PolicyResult {
        let call = next.call()?;
        let op = &call.op;
        let write = !request.method().is_safe();
        let paced_by = if write {
            Scope::writes_to(request.url())
        } else if call.handling.bulk_read {
            Scope::reads_of(request.url())
        } else {
            Vec::new()
        };
        let mut retries: u32 = 0;
        // Whether an earlier attempt may have reached Azure (for a deadline's "sent").
        let mut maybe_sent = false;
        if let Some(poll) = &call.handling.poll {
            let first = poll
                .schedule
                .first()
                .saturating_sub(poll.accepted_at.elapsed())
                .max(poll.retry_after.unwrap_or_default());
            op.sleep(first, &call.handling.what)
                .await
                .map_err(|e| wrap(e.while_sending()))?;
        }
        loop {
            let ticket = if !paced_by.is_empty() {
                Some(
                    self.pacer
                        .admit(&paced_by, op, &call.handling.what)
                        .await
                        .map_err(|e| wrap(if maybe_sent { e.while_sending() } else { e }))?,
                )
            } else {
                None
            };
            let outcome = next.send(&mut request.clone()).await;
            let (verdict, last) = match outcome {
                Err(e) if e.kind() == &ErrorKind::Io => {
                    let error = into_azure(e);
                    maybe_sent |= error.may_have_reached_azure();
                    let verdict = Verdict::Retry {
                        server_wait: None,
                        throttled: false,
                        reason: format!("the connection failed ({error})"),
                    };
                    (verdict, Err(error))
                }
                Err(e) => return Err(e),
                Ok(response) => {
                    let (status, headers, body) = buffer(response).await?;
                    if let Some(ticket) = ticket {
                        self.pacer.observe(ticket, status, &headers);
                    }
                    let verdict = classify(status, &body, &headers);
                    if let (Verdict::Done, Some(poll)) = (&verdict, &call.handling.poll) {
                        if status.is_success() && still_running(&poll.target, status, &body) {
                            let gap = poll.schedule.gap(poll.accepted_at.elapsed());
                            let server = retry_after_of(&headers, OffsetDateTime::now_utc())
                                .unwrap_or_default();
                            op.sleep(gap.max(server), &call.handling.what)
                                .await
                                .map_err(|e| wrap(e.while_sending()))?;
                            retries = 0;
                            continue;
                        }
                    }
                    if status.as_u16() != 429 {
                        maybe_sent = true;
                    }
                    (verdict, Ok((status, headers, body)))
                }
            };
            let Verdict::Retry {
                server_wait,
                throttled,
                reason,
            } = verdict
            else {
                return match last {
                    Ok((status, headers, body)) => Ok(rebuild(status, headers, body)),
                    Err(e) => Err(wrap(e)),
                };
            };
            retries += 1;
            if !throttled && retries > self.options.max_retries {
                tracing::debug!(retries, "giving up after retries");
                return match last {
                    Ok((status, headers, body)) => Ok(rebuild(status, headers, body)),
                    Err(e) => Err(wrap(e)),
                };
            }
            let wait = server_wait.unwrap_or_else(|| self.options.backoff(retries));
            if op.would_pass_deadline(wait) {
                let message = match &last {
                    Ok((_, _, body)) => CloudError::parse(body)
                        .map(|e| format!("{}: {}", e.code, e.message))
                        .unwrap_or_else(|| body_excerpt(body)),
                    Err(e) => e.to_string(),
                };
                let error = if throttled {
                    AzureError::Throttled {
                        retry_after: wait,
                        message,
                    }
                } else {
                    let e = op.deadline_exceeded(format!(
                        "{} ({reason}; the next retry would be in {}s)",
                        call.handling.what,
                        wait.as_secs()
                    ));
                    if maybe_sent { e.while_sending() } else { e }
                };
                return Err(wrap(error));
            }
            tracing::debug!(retries, wait_ms = wait.as_millis(), reason = %reason, "retrying request");
            if throttled && !paced_by.is_empty() {
                // One gate for the bucket: every request on it (this one included) waits there.
                self.pacer
                    .close_for(&paced_by, last.as_ref().ok().map(|(_, h, _)| h), wait);
                continue;
            }
            op.sleep(wait, &call.handling.what)
                .await
                .map_err(|e| wrap(if maybe_sent { e.while_sending() } else { e }))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn classification() {
        let h = Headers::new();
        let conflict = br#"{"error":{"code":"Conflict","message":"x"}}"#;
        assert!(matches!(
            classify(StatusCode::CONFLICT, conflict, &h),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            classify(StatusCode::CONFLICT, b"", &h),
            Verdict::Done
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, b"", &h),
            Verdict::Done
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, b"", &h),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
        assert!(matches!(
            classify(StatusCode::NOT_IMPLEMENTED, b"", &h),
            Verdict::Done
        ));
    }
}
