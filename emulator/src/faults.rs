//! Injected faults: canned HTTP errors, dropped connections, delays, and
//! operations forced to fail or run slowly. Each fault matches requests by
//! method and a path substring and fires `times` times (0 = until cleared).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::now_rfc3339;

/// A fault as posted to `/_emulator/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Only requests of this method (any case); all methods when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths containing this (any case); all paths when absent.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// How many times it fires; 0 fires until the faults are cleared. 1 when absent.
    #[serde(default = "one")]
    pub times: u32,
    /// What happens when it fires.
    pub action: FaultAction,
}

impl FaultSpec {
    /// A fault that fires once, on the next request of any method and path.
    pub fn new(action: FaultAction) -> FaultSpec {
        FaultSpec {
            method: None,
            path_contains: None,
            times: 1,
            action,
        }
    }

    /// Fires only on requests with this method and a path containing `path_contains`
    /// (compared without regard to case).
    pub fn on(self, method: &str, path_contains: &str) -> FaultSpec {
        FaultSpec {
            method: Some(method.to_string()),
            path_contains: Some(path_contains.to_string()),
            ..self
        }
    }

    /// Fires `times` times; 0 fires until the faults are cleared.
    pub fn times(self, times: u32) -> FaultSpec {
        FaultSpec { times, ..self }
    }
}

fn one() -> u32 {
    1
}

/// What a fault does to the request it fires on, or to the operation that request starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status instead of handling the request.
    Status(StatusFault),
    /// Close the connection without answering.
    DropConnection,
    /// Wait this long, then handle the request normally.
    DelayMs(u64),
    /// The operation the request starts ends Failed with this error.
    FailOperation {
        /// The error code the operation status reports.
        code: String,
        /// The error message the operation status reports.
        message: String,
    },
    /// The operation the request starts takes this long.
    SlowOperationMs(u64),
}

impl FaultAction {
    /// Answers `code` with Azure's usual body for it and no `Retry-After`.
    pub fn status(code: u16) -> FaultAction {
        FaultAction::Status(StatusFault {
            code,
            retry_after: None,
            body: None,
        })
    }

    /// Answers `code` with this `Retry-After` header.
    pub fn status_retry_after(code: u16, retry_after: &str) -> FaultAction {
        FaultAction::Status(StatusFault {
            code,
            retry_after: Some(retry_after.to_string()),
            body: None,
        })
    }

    /// Whether the action applies to the operation a request starts rather
    /// than to the request itself.
    pub(crate) fn is_operation_fault(&self) -> bool {
        matches!(
            self,
            FaultAction::FailOperation { .. } | FaultAction::SlowOperationMs(_)
        )
    }
}

/// An answer given instead of handling the request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusFault {
    /// The HTTP status.
    pub code: u16,
    /// The `Retry-After` header, as sent; none when absent.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// The JSON body; Azure's usual body for the status when absent.
    #[serde(default)]
    pub body: Option<Value>,
}

impl StatusFault {
    /// The body to send: the given one, or Azure's usual body for the status.
    pub(crate) fn body_or_default(&self) -> Value {
        if let Some(body) = &self.body {
            return body.clone();
        }
        match self.code {
            429 => throttled_body("UpdateVM", 12, 13),
            409 => {
                json!({"error": {"code": "Conflict", "message": "The request failed due to conflict with a concurrent request. To resolve it, please refer to https://aka.ms/activitylog to get more details on the conflicting requests."}})
            }
            500..=599 => {
                json!({"error": {"code": "InternalServerError", "message": "The server encountered an internal error. Please retry the request."}})
            }
            404 => json!({"error": {"code": "NotFound", "message": "The entity was not found."}}),
            _ => json!({"error": {"code": "BadRequest", "message": "Injected fault."}}),
        }
    }
}

/// Compute's throttling body, which is **not** wrapped in `"error"`.
pub(crate) fn throttled_body(policy: &str, allowed: u64, measured: u64) -> Value {
    let now = now_rfc3339();
    let detail = json!({
        "operationGroup": policy,
        "startTime": now,
        "endTime": now,
        "allowedRequestCount": allowed,
        "measuredRequestCount": measured,
    });
    json!({
        "code": "OperationNotAllowed",
        "message": "The server rejected the request because too many requests have been received for this subscription.",
        "details": [{"code": "TooManyRequests", "target": policy, "message": detail.to_string()}],
    })
}

/// A posted fault and how many more times it fires.
#[derive(Debug, Clone)]
pub(crate) struct ArmedFault {
    pub id: String,
    pub spec: FaultSpec,
    /// `None` fires until cleared.
    pub remaining: Option<u32>,
}

/// The armed faults, in the order they were posted.
#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    faults: Vec<ArmedFault>,
}

impl FaultSet {
    pub(crate) fn add(&mut self, spec: FaultSpec) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let remaining = (spec.times > 0).then_some(spec.times);
        self.faults.push(ArmedFault {
            id: id.clone(),
            spec,
            remaining,
        });
        id
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    /// The armed faults, in the order they were posted.
    pub(crate) fn armed(&self) -> &[ArmedFault] {
        &self.faults
    }

    /// Takes the first armed fault that matches the request and is of the
    /// requested kind (request-level or operation-level).
    pub(crate) fn take(
        &mut self,
        method: &str,
        path: &str,
        operation_fault: bool,
    ) -> Option<FaultAction> {
        let path = path.to_ascii_lowercase();
        let index = self.faults.iter().position(|f| {
            f.spec.action.is_operation_fault() == operation_fault
                && f.spec
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.spec
                    .path_contains
                    .as_deref()
                    .is_none_or(|p| path.contains(&p.to_ascii_lowercase()))
        })?;
        let fault = &mut self.faults[index];
        let action = fault.spec.action.clone();
        if let Some(remaining) = &mut fault.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        Some(action)
    }
}
