//! Known deviations: documented behaviour of real Azure that the published definitions do not
//! describe, which the emulator reproduces on purpose.
//!
//! A finding that one of these matches is counted under the deviation's id in the log report
//! instead of as a finding. Each matcher is narrow — it looks at the record's status and body as
//! well as at the finding — so that anything else wrong in the same place stays a finding. The
//! table is short on purpose: an entry needs a public source that shows Azure answering so.

use std::fmt;

use serde_json::Value;

use crate::{Finding, FindingKind};

/// One known deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Deviation {
    /// Compute's own throttling (its per-VM and per-operation policies: `UpdateVM`,
    /// `HighCostGet`, `GetOperation…`) answers 429 with a bare
    /// `{"code": "OperationNotAllowed", "message", "details": [{"code": "TooManyRequests",
    /// "target": <policy>, "message": <JSON text>}]}`, not a `CloudError` (`{"error": {…}}`).
    /// ARM's own subscription throttling (`SubscriptionRequestsThrottled`) is wrapped, so an
    /// unwrapped 429 with any other code stays a finding.
    ComputeThrottlingUnwrapped,
    /// Compute's errors carry `error.innererror.internalErrorCode`
    /// (`CannotModifyExtensionsWhenVMNotRunning`, `MultipleExtensionsPerHandlerNotAllowed`, …),
    /// which `InnerError` (`exceptiontype`, `errordetail`) does not declare.
    InternalErrorCode,
}

impl Deviation {
    /// Every known deviation, in the order the summary lists them.
    pub const ALL: [Deviation; 2] = [
        Deviation::ComputeThrottlingUnwrapped,
        Deviation::InternalErrorCode,
    ];

    /// A short, stable name.
    pub fn id(self) -> &'static str {
        match self {
            Deviation::ComputeThrottlingUnwrapped => "compute-throttling-unwrapped",
            Deviation::InternalErrorCode => "innererror-internalErrorCode",
        }
    }

    /// What Azure does that the definitions do not describe.
    pub fn what(self) -> &'static str {
        match self {
            Deviation::ComputeThrottlingUnwrapped => {
                "Compute's own 429 (OperationNotAllowed / TooManyRequests per policy) is not wrapped in CloudError's \"error\""
            }
            Deviation::InternalErrorCode => {
                "Compute's errors carry error.innererror.internalErrorCode, which InnerError does not declare"
            }
        }
    }

    /// Where it is documented.
    pub fn source(self) -> &'static str {
        match self {
            Deviation::ComputeThrottlingUnwrapped => {
                "Microsoft Learn, Troubleshoot throttling errors in Azure (MicrosoftDocs/SupportArticles-docs: troubleshooting-throttling-errors.md)"
            }
            Deviation::InternalErrorCode => {
                "Microsoft Learn, reset RDP (MicrosoftDocs/SupportArticles-docs: reset-rdp.md: CannotModifyExtensionsWhenVMNotRunning); Azure/azure-powershell#8173 (MultipleExtensionsPerHandlerNotAllowed)"
            }
        }
    }

    /// The deviation that explains `finding`, made on a response of `status` with `body`;
    /// `None` when it is a finding.
    pub fn classify(status: u16, body: Option<&Value>, finding: &Finding) -> Option<Deviation> {
        Deviation::ALL
            .into_iter()
            .find(|deviation| deviation.matches(status, body, finding))
    }

    /// Whether this deviation explains `finding`.
    pub fn matches(self, status: u16, body: Option<&Value>, finding: &Finding) -> bool {
        // Only schema findings on a response body: an unlisted status, a missing body or a
        // request body is never excused.
        if finding.kind != FindingKind::Schema || finding.status != Some(status) {
            return false;
        }
        let Some(body) = body else {
            return false;
        };
        match self {
            Deviation::ComputeThrottlingUnwrapped => {
                finding.pointer.is_empty() && is_compute_throttling(status, body)
            }
            Deviation::InternalErrorCode => {
                let Some(pointer) = finding.pointer.strip_suffix("/error/innererror") else {
                    return false;
                };
                let inner = body.pointer(&format!("{pointer}/error/innererror"));
                inner.and_then(Value::as_object).is_some_and(|inner| {
                    let undeclared: Vec<&str> = inner
                        .keys()
                        .map(String::as_str)
                        .filter(|key| !INNER_ERROR_PROPERTIES.contains(key))
                        .collect();
                    undeclared == ["internalErrorCode"]
                })
            }
        }
    }
}

/// The properties `InnerError` (common-types `v1/common.json`) declares.
const INNER_ERROR_PROPERTIES: [&str; 2] = ["exceptiontype", "errordetail"];

/// A 429 with Compute's bare throttling body: no `error`, top-level code `OperationNotAllowed`,
/// and details that are all `TooManyRequests` (one per policy that throttled).
fn is_compute_throttling(status: u16, body: &Value) -> bool {
    status == 429
        && body.get("error").is_none()
        && body.get("code").and_then(Value::as_str) == Some("OperationNotAllowed")
        && body
            .get("details")
            .and_then(Value::as_array)
            .is_some_and(|details| {
                !details.is_empty()
                    && details.iter().all(|detail| {
                        detail.get("code").and_then(Value::as_str) == Some("TooManyRequests")
                    })
            })
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
