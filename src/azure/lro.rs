//! Long-running operations: what the initial response tells us to poll, and what each poll means.
//!
//! `Azure-AsyncOperation` is preferred, `Location` is the fallback, and an immediate 200/201/204
//! with neither header is already done. The status reads are sent on the [`PollPolicy`] schedule
//! by the pipeline's retry policy; `ArmClient::wait` in `operations.rs` starts them and, on a
//! failure, makes the one more ARM call the error needs (the extension's instance view).
//!
//! Imports `error`, `ids` and `response`; the pipeline imports this module (the poll plan's
//! types, `still_running`), never the other way round.

use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use super::error::{AzureError, CloudError};
use super::ids::ExtensionTarget;
use super::response::{ArmResponse, parse_retry_after};

/// Poll cadence. The first status read comes `initial / 4` after Azure accepted the operation (a
/// short operation is seen done at once); after that the gap grows with the time since —
/// `(factor − 1) × elapsed`, at least `initial`, at most `max` — so the overshoot past the end of
/// an operation stays a small fraction of its length while a long one stays well inside Compute's
/// per-VM "Get Operation" budget (bucket 45, refilled 15 per minute). The defaults (400 ms, 1.15,
/// 8 s) read at 0.1 s, make 29 reads in the first minute and 8 a minute after the second, and see
/// an operation of 1–10 s done a median 0.34 s late. A server `Retry-After` always wins when it is
/// longer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    /// The wait before the first read.
    pub initial: Duration,
    /// How much each wait grows over the one before.
    pub factor: f64,
    /// The longest wait between reads.
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(400),
            factor: 1.15,
            max: Duration::from_secs(8),
        }
    }
}

impl PollPolicy {
    /// The wait before the first status read.
    pub(crate) fn first(&self) -> Duration {
        self.initial / 4
    }

    /// The gap before the next status read, `elapsed` after the operation was accepted.
    pub(crate) fn gap(&self, elapsed: Duration) -> Duration {
        elapsed
            .mul_f64((self.factor - 1.0).clamp(0.0, 100.0))
            .clamp(self.initial, self.max.max(self.initial))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PollTarget {
    /// Nothing to poll: the initial response was final.
    Done,
    /// `Azure-AsyncOperation`: an operation document with `status`.
    AsyncOperation(String),
    /// `Location`: 202 while running, 200/204 when finished.
    Location(String),
}

/// A started PUT/DELETE that `ArmClient::wait` drives to its end. It can be stored and waited on
/// later (e.g. after persisting Terraform state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOperation {
    pub(crate) target: PollTarget,
    /// What the operation writes, for messages and for reading a failure's reasons.
    pub(crate) target_resource: ExtensionTarget,
    pub(crate) retry_after: Option<Duration>,
    /// When Azure accepted the operation (the poll schedule grows with the time since).
    pub(crate) accepted_at: tokio::time::Instant,
    /// "creating or updating" / "deleting", for messages.
    pub(crate) action: &'static str,
}

impl PendingOperation {
    /// From the response to the initial PUT/DELETE.
    pub(crate) fn from_initial(
        resp: &ArmResponse,
        extension: impl Into<ExtensionTarget>,
        action: &'static str,
    ) -> PendingOperation {
        let target = if let Some(url) = resp.header("azure-asyncoperation") {
            PollTarget::AsyncOperation(url.to_owned())
        } else if let Some(url) = resp.header("location") {
            PollTarget::Location(url.to_owned())
        } else {
            PollTarget::Done
        };
        PendingOperation {
            target,
            target_resource: extension.into(),
            retry_after: parse_retry_after(&resp.headers, OffsetDateTime::now_utc()),
            accepted_at: tokio::time::Instant::now(),
            action,
        }
    }

    /// An operation that needs no polling.
    pub(crate) fn done(
        extension: impl Into<ExtensionTarget>,
        action: &'static str,
    ) -> PendingOperation {
        PendingOperation {
            target: PollTarget::Done,
            target_resource: extension.into(),
            retry_after: None,
            accepted_at: tokio::time::Instant::now(),
            action,
        }
    }

    /// True when the initial response was already final.
    pub fn is_done(&self) -> bool {
        self.target == PollTarget::Done
    }

    /// Whether the operation is tracked through `Azure-AsyncOperation` (else `Location` or none).
    pub fn uses_async_operation_header(&self) -> bool {
        matches!(self.target, PollTarget::AsyncOperation(_))
    }

    pub(crate) fn status_url(&self) -> Option<&str> {
        match &self.target {
            PollTarget::Done => None,
            PollTarget::AsyncOperation(u) | PollTarget::Location(u) => Some(u),
        }
    }
}

/// Whether a successful status read says the operation still runs (the pipeline then reads again
/// on the poll schedule).
pub(crate) fn still_running(target: &PollTarget, status: reqwest::StatusCode, body: &[u8]) -> bool {
    match target {
        PollTarget::Done => false,
        PollTarget::Location(_) => status.as_u16() == 202,
        PollTarget::AsyncOperation(_) => {
            #[derive(Deserialize, Default)]
            #[serde(default)]
            struct Status {
                status: String,
            }
            // An unreadable document is not "running": `interpret` reports it.
            serde_json::from_slice::<Status>(body)
                .is_ok_and(|s| outcome_of(&s.status, None) == PollOutcome::InProgress)
        }
    }
}

/// What one successful status read says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PollOutcome {
    InProgress,
    Succeeded,
    /// Failed or Canceled, with the operation's error.
    Failed {
        code: String,
        message: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OperationStatus {
    status: String,
    error: Option<CloudError>,
}

/// Interprets a 2xx status read. Non-2xx reads never get here: they mean "could not read the
/// status", not "the operation failed".
pub(crate) fn interpret(
    target: &PollTarget,
    resp: &ArmResponse,
) -> Result<PollOutcome, AzureError> {
    match target {
        PollTarget::Done => Ok(PollOutcome::Succeeded),
        PollTarget::AsyncOperation(_) => {
            let op: OperationStatus = resp.json("the operation status")?;
            Ok(outcome_of(&op.status, op.error))
        }
        PollTarget::Location(_) => {
            if resp.status.as_u16() == 202 {
                return Ok(PollOutcome::InProgress);
            }
            // The final Location response may be the resource itself; a Failed provisioning state
            // there is a failure too.
            #[derive(Deserialize, Default)]
            #[serde(default, rename_all = "camelCase")]
            struct Props {
                provisioning_state: Option<String>,
            }
            #[derive(Deserialize, Default)]
            #[serde(default)]
            struct Resource {
                properties: Props,
                status: Option<String>,
                error: Option<CloudError>,
            }
            let res: Resource = serde_json::from_slice(&resp.body).unwrap_or_default();
            match res.properties.provisioning_state.or(res.status) {
                Some(state) => Ok(match outcome_of(&state, res.error) {
                    // A final Location answer with a non-terminal state is still done for ARM.
                    PollOutcome::InProgress => PollOutcome::Succeeded,
                    other => other,
                }),
                None => Ok(PollOutcome::Succeeded),
            }
        }
    }
}

fn outcome_of(status: &str, error: Option<CloudError>) -> PollOutcome {
    let lower = status.trim().to_ascii_lowercase();
    match lower.as_str() {
        "succeeded" => PollOutcome::Succeeded,
        "failed" | "canceled" | "cancelled" => {
            let error = error.unwrap_or_default();
            PollOutcome::Failed {
                code: if error.code.is_empty() {
                    status.to_owned()
                } else {
                    error.code
                },
                message: if error.message.is_empty() {
                    format!("the operation ended with status {status}")
                } else {
                    error.message
                },
            }
        }
        _ => PollOutcome::InProgress,
    }
}

#[cfg(test)]
impl PollPolicy {
    /// How many status reads this schedule makes in the first `window` of an operation that
    /// does not end (no server `Retry-After`).
    fn reads_within(&self, window: Duration) -> u32 {
        let mut at = self.first();
        let mut reads = 0;
        while at <= window {
            reads += 1;
            at += self.gap(at);
        }
        reads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::ids::ExtensionId;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn resp(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> ArmResponse {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_static(v));
        }
        ArmResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers: h,
            body: body.as_bytes().to_vec(),
        }
    }

    fn ext() -> ExtensionId {
        ExtensionId::parse("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v/extensions/e")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn header_preference() {
        let r = resp(
            201,
            &[
                ("azure-asyncoperation", "https://a/op"),
                ("location", "https://a/loc"),
                ("retry-after", "3"),
            ],
            "{}",
        );
        let op = PendingOperation::from_initial(&r, ext(), "creating");
        assert_eq!(op.target, PollTarget::AsyncOperation("https://a/op".into()));
        assert_eq!(op.retry_after, Some(Duration::from_secs(3)));
        let r = resp(202, &[("location", "https://a/loc")], "");
        assert_eq!(
            PendingOperation::from_initial(&r, ext(), "deleting").target,
            PollTarget::Location("https://a/loc".into())
        );
        assert!(PendingOperation::from_initial(&resp(200, &[], "{}"), ext(), "creating").is_done());
    }

    #[test]
    fn statuses_are_case_insensitive() {
        let t = PollTarget::AsyncOperation("u".into());
        assert_eq!(
            interpret(&t, &resp(200, &[], r#"{"status":"InProgress"}"#)).ok(),
            Some(PollOutcome::InProgress)
        );
        assert_eq!(
            interpret(&t, &resp(200, &[], r#"{"status":"SUCCEEDED"}"#)).ok(),
            Some(PollOutcome::Succeeded)
        );
        assert_eq!(
            interpret(&t, &resp(200, &[], r#"{"status":"Failed","error":{"code":"VMExtensionProvisioningError","message":"boom"}}"#)).ok(),
            Some(PollOutcome::Failed { code: "VMExtensionProvisioningError".into(), message: "boom".into() })
        );
        assert!(matches!(
            interpret(&t, &resp(200, &[], r#"{"status":"canceled"}"#)),
            Ok(PollOutcome::Failed { .. })
        ));
        let l = PollTarget::Location("u".into());
        assert_eq!(
            interpret(&l, &resp(202, &[], "")).ok(),
            Some(PollOutcome::InProgress)
        );
        assert_eq!(
            interpret(&l, &resp(204, &[], "")).ok(),
            Some(PollOutcome::Succeeded)
        );
    }

    #[test]
    fn poll_schedule_starts_fast_and_backs_off_to_the_cap() {
        let p = PollPolicy::default();
        assert_eq!(p.first(), Duration::from_millis(100));
        assert_eq!(p.gap(Duration::ZERO), Duration::from_millis(400));
        assert_eq!(p.gap(Duration::from_secs(4)), Duration::from_millis(600));
        assert_eq!(p.gap(Duration::from_secs(3600)), Duration::from_secs(8));
        // An operation of a few seconds is seen done well within half a second.
        assert!(p.gap(Duration::from_secs(3)) <= Duration::from_millis(450));
    }

    /// Compute's per-VM "Get Operation" bucket holds 45 and refills 15 a minute: the first
    /// minute stays at or under 30 reads and the sustained rate under the refill.
    #[test]
    fn poll_schedule_stays_inside_the_per_vm_budget() {
        let p = PollPolicy::default();
        let first_minute = p.reads_within(Duration::from_secs(60));
        assert!(first_minute <= 30, "{first_minute}");
        let two = p.reads_within(Duration::from_secs(120));
        assert!(two - first_minute <= 15, "{}", two - first_minute);
    }

    #[test]
    fn still_running_reads() {
        let a = PollTarget::AsyncOperation("u".into());
        assert!(still_running(
            &a,
            reqwest::StatusCode::OK,
            br#"{"status":"InProgress"}"#
        ));
        assert!(!still_running(
            &a,
            reqwest::StatusCode::OK,
            br#"{"status":"Succeeded"}"#
        ));
        let l = PollTarget::Location("u".into());
        assert!(still_running(&l, reqwest::StatusCode::ACCEPTED, b""));
        assert!(!still_running(&l, reqwest::StatusCode::OK, b"{}"));
    }
}
