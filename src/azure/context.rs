//! Per-operation deadline and cancellation.
//!
//! Every wait in this module tree (HTTP exchange, token acquisition, retry backoff, LRO poll
//! interval) goes through [`OpContext`], so a Terraform timeout or interrupt stops work within
//! milliseconds instead of after the next poll.
//!
//! Imports `error` only.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::AzureError;

/// The deadline and cancel token of one resource operation (create, read, update, delete).
#[derive(Clone, Debug)]
pub struct OpContext {
    started: Instant,
    deadline: Instant,
    cancel: CancellationToken,
}

impl OpContext {
    /// An operation that must finish within `timeout` and stops when `cancel` fires.
    pub fn new(timeout: Duration, cancel: CancellationToken) -> OpContext {
        let started = Instant::now();
        // A timeout too large to represent means "no practical deadline".
        let deadline = started
            .checked_add(timeout)
            .unwrap_or_else(|| started + Duration::from_secs(100 * 365 * 24 * 3600));
        OpContext {
            started,
            deadline,
            cancel,
        }
    }

    pub(crate) fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Time since the operation started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether waiting `wait` from now would end after the deadline.
    pub(crate) fn would_pass_deadline(&self, wait: Duration) -> bool {
        wait > self.remaining()
    }

    pub(crate) fn deadline_exceeded(&self, what: impl Into<String>) -> AzureError {
        AzureError::DeadlineExceeded {
            what: what.into(),
            elapsed: self.elapsed(),
            sent: false,
        }
    }

    /// Runs `fut` until it completes, the operation is cancelled or the deadline passes.
    /// `what` completes the sentence "timed out after Ns while …". The errors say nothing was
    /// sent; the pipeline marks them otherwise when a request was on its way.
    pub(crate) async fn run<T, F>(&self, what: &str, fut: F) -> Result<T, AzureError>
    where
        F: Future<Output = Result<T, AzureError>>,
    {
        if self.cancel.is_cancelled() {
            return Err(AzureError::Cancelled { sent: false });
        }
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(AzureError::Cancelled { sent: false }),
            _ = tokio::time::sleep_until(self.deadline) => Err(self.deadline_exceeded(what)),
            out = fut => out,
        }
    }

    /// Sleeps for `wait`, cut short by cancellation or by the deadline (then an error).
    pub(crate) async fn sleep(&self, wait: Duration, what: &str) -> Result<(), AzureError> {
        self.run(what, async {
            tokio::time::sleep(wait).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deadline_and_cancel_are_prompt() {
        let ctx = OpContext::new(Duration::from_millis(50), CancellationToken::new());
        let t = std::time::Instant::now();
        let r = ctx.sleep(Duration::from_secs(30), "waiting").await;
        assert!(matches!(r, Err(AzureError::DeadlineExceeded { .. })));
        assert!(t.elapsed() < Duration::from_secs(1));

        let cancel = CancellationToken::new();
        let ctx = OpContext::new(Duration::from_secs(60), cancel.clone());
        let h = tokio::spawn(async move { ctx.sleep(Duration::from_secs(30), "waiting").await });
        cancel.cancel();
        let r = h.await.expect("join");
        assert!(matches!(r, Err(AzureError::Cancelled { .. })));
    }
}
