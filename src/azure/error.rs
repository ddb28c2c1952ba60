//! The one error type of the Azure layer, and the parser for ARM error bodies.
//!
//! Every variant's `Display` is written for the person running `terraform apply`: it says what
//! happened and, where it helps, what to do. No variant ever carries a token, secret or password:
//! the texts come from ARM error bodies, Entra error messages and our own wording only.
//!
//! Imports `setting` only (the name a configuration error carries).

use std::time::Duration;

use serde::Deserialize;

use super::setting::Setting;

/// An error from the Azure Resource Manager client.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// A provider setting is missing, malformed or contradicts another one. The setting is
    /// typed: the provider's boundary names its Terraform attribute and environment variables.
    #[error("invalid provider configuration ({setting}): {message}")]
    Configuration {
        /// The setting at fault.
        setting: Setting,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Microsoft Entra ID refused to issue a token, or ARM refused the one we sent.
    #[error("authentication with Microsoft Entra ID failed: {message}")]
    Authentication {
        /// Entra's or ARM's reason.
        message: String,
        /// A setting that may be the cause, when the refusal points at one (the provider's
        /// boundary names its Terraform attribute and environment variables).
        hint: Option<Setting>,
    },
    /// The resource (or its parent) does not exist.
    #[error("{resource} was not found ({code}): {message}")]
    NotFound {
        /// What was looked for ("VM extension …").
        resource: String,
        /// ARM's error code (`ResourceNotFound`, `ParentResourceNotFound`, …).
        code: String,
        /// ARM's message, or ours when there is none.
        message: String,
    },
    /// Compute refuses to change extensions of a VM that is stopped or deallocated.
    #[error(
        "the virtual machine is not running, so its extensions cannot be changed: {message} Start the VM and try again."
    )]
    VmNotRunning {
        /// Compute's message.
        message: String,
    },
    /// A 409 that is not retryable (and not the stopped-VM case).
    #[error("Azure reported a conflict ({code}): {message}")]
    Conflict {
        /// ARM's error code.
        code: String,
        /// ARM's message, or ours when there is none.
        message: String,
    },
    /// The long-running operation ended Failed or Canceled; `statuses` holds the extension's
    /// instance-view messages (the in-guest reason, e.g. "does not support Domain Controller").
    #[error("the VM extension operation failed ({code}): {message}{}", format_statuses(.statuses))]
    ExtensionFailed {
        /// The operation's error code.
        code: String,
        /// The operation's error message.
        message: String,
        /// The extension's own status and substatus messages.
        statuses: Vec<String>,
    },
    /// Azure throttled the request and the wait it asked for ends after the operation's deadline.
    #[error("Azure throttled the request and asked to wait {}s before retrying, which is past this operation's timeout; increase the timeout or retry later: {message}", .retry_after.as_secs())]
    Throttled {
        /// The wait Azure asked for.
        retry_after: Duration,
        /// ARM's message, or ours when there is none.
        message: String,
    },
    /// The operation's timeout elapsed. Azure may still be working on it when `sent`.
    #[error("timed out after {}s while {what}{}", .elapsed.as_secs(), if *.sent { "; Azure may still be processing the request" } else { "" })]
    DeadlineExceeded {
        /// What was under way ("reading VM …").
        what: String,
        /// The timeout that ran out.
        elapsed: Duration,
        /// Whether the request may have reached Azure before the deadline.
        sent: bool,
    },
    /// The operation was cancelled (Terraform interrupt / StopProvider).
    #[error("the operation was cancelled")]
    Cancelled {
        /// Whether the request may have reached Azure before the cancellation.
        sent: bool,
    },
    /// No (complete) HTTP response: DNS, connection, TLS, a connection dropped mid-exchange.
    #[error("could not reach Azure: {message}")]
    Transport {
        /// The cause, with a hint for certificate problems.
        message: String,
        /// False when the failure happened before any byte of the request could reach Azure
        /// (connect, TLS handshake, building the client).
        sent: bool,
    },
    /// Any other error status from ARM, with its code kept so callers can match on it.
    #[error("Azure rejected the request (HTTP {status}, {code}{}): {message}", .inner_code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Api {
        /// The HTTP status.
        status: u16,
        /// ARM's error code.
        code: String,
        /// ARM's message, or ours when there is none.
        message: String,
        /// Compute's `innererror.internalErrorCode`, when given.
        inner_code: Option<String>,
        /// The part of the request the error is about, when ARM says.
        target: Option<String>,
    },
    /// A response we cannot make sense of (a real HTTP status from Azure).
    #[error("unexpected response from Azure (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// What could not be understood.
        detail: String,
    },
    /// The client refused to send a request: e.g. a status URL on a foreign host (the bearer token
    /// must never leave the resource manager). Nothing was sent.
    #[error("refused to send the request: {detail}")]
    Refused {
        /// Why.
        detail: String,
    },
    /// A bug in this client (a body that cannot be encoded, an impossible branch). Nothing was
    /// sent by the step that failed.
    #[error("internal error in the Azure client: {detail}; please report this")]
    Internal {
        /// What went wrong.
        detail: String,
    },
}

fn format_statuses(statuses: &[String]) -> String {
    if statuses.is_empty() {
        String::new()
    } else {
        format!(" Extension status: {}", statuses.join(" | "))
    }
}

impl AzureError {
    /// Whether the request that failed may have reached Azure, so that Azure may have acted on
    /// it. False for failures before anything was sent (configuration, token acquisition,
    /// refused or unencodable requests, connect/TLS failures) and for definite answers from Azure
    /// that refuse the request (4xx): a failed create must then not be kept in state.
    pub(crate) fn may_have_reached_azure(&self) -> bool {
        match self {
            AzureError::DeadlineExceeded { sent, .. }
            | AzureError::Cancelled { sent }
            | AzureError::Transport { sent, .. } => *sent,
            // An unreadable or 5xx answer after retries: Azure may have started the work.
            AzureError::UnexpectedResponse { status, .. } => *status >= 500,
            AzureError::Api { status, .. } => *status >= 500,
            // Throttling answers are refusals; the last attempt was not accepted.
            AzureError::Throttled { .. }
            | AzureError::Configuration { .. }
            | AzureError::Authentication { .. }
            | AzureError::NotFound { .. }
            | AzureError::VmNotRunning { .. }
            | AzureError::Conflict { .. }
            | AzureError::Refused { .. }
            | AzureError::Internal { .. } => false,
            // Azure ran the operation and it failed.
            AzureError::ExtensionFailed { .. } => true,
        }
    }

    /// Marks a deadline, cancellation or transport failure as having happened while the request
    /// was (possibly) on its way to Azure.
    pub(crate) fn while_sending(self) -> AzureError {
        match self {
            AzureError::DeadlineExceeded { what, elapsed, .. } => AzureError::DeadlineExceeded {
                what,
                elapsed,
                sent: true,
            },
            AzureError::Cancelled { .. } => AzureError::Cancelled { sent: true },
            AzureError::Transport { message, .. } => AzureError::Transport {
                message,
                sent: true,
            },
            other => other,
        }
    }

    /// Builds the error for a final (non-retried) error response.
    pub(crate) fn from_response(status: u16, body: &[u8], resource: &str) -> AzureError {
        let Some(err) = CloudError::parse(body) else {
            return AzureError::UnexpectedResponse {
                status,
                detail: format!("{resource}: {}", body_excerpt(body)),
            };
        };
        let inner_code = err.internal_code().map(str::to_owned);
        match status {
            401 => AzureError::Authentication {
                message: format!("{}: {}", err.code, err.message),
                hint: None,
            },
            404 => AzureError::NotFound {
                resource: resource.to_owned(),
                code: err.code,
                message: err.message,
            },
            409 if err.is_vm_not_running() => AzureError::VmNotRunning {
                message: err.message,
            },
            409 => AzureError::Conflict {
                code: err.code,
                message: err.message,
            },
            _ => AzureError::Api {
                status,
                code: err.code,
                message: err.message,
                inner_code,
                target: err.target,
            },
        }
    }
}

/// A short, printable excerpt of a body that is not an ARM error (e.g. an HTML gateway page).
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty response body".to_owned();
    }
    let mut excerpt: String = text.chars().take(300).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    excerpt
}

/// An ARM error: `{"error": {...}}` (CloudError) or the bare `{"code","message"}` that
/// throttling responses use.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub(crate) struct CloudError {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) target: Option<String>,
    #[serde(default)]
    /// ARM's `ErrorDetail` is recursive: each detail has the same shape.
    pub(crate) details: Vec<CloudError>,
    #[serde(default, rename = "innererror", alias = "innerError")]
    pub(crate) inner_error: Option<InnerError>,
}

/// Compute's `innererror`; `internalErrorCode` is what distinguishes e.g. a stopped VM.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub(crate) struct InnerError {
    #[serde(default, rename = "internalErrorCode")]
    pub(crate) internal_error_code: Option<String>,
    #[serde(default, rename = "exceptiontype")]
    pub(crate) exception_type: Option<String>,
    #[serde(default, rename = "errordetail")]
    pub(crate) error_detail: Option<String>,
}

impl CloudError {
    /// Parses either error shape; `None` when the body is not an ARM error at all.
    pub(crate) fn parse(body: &[u8]) -> Option<CloudError> {
        #[derive(Deserialize)]
        struct Wrapped {
            error: CloudError,
        }
        if let Ok(w) = serde_json::from_slice::<Wrapped>(body) {
            return Some(w.error);
        }
        match serde_json::from_slice::<CloudError>(body) {
            Ok(e) if !e.code.is_empty() || !e.message.is_empty() => Some(e),
            _ => None,
        }
    }

    pub(crate) fn internal_code(&self) -> Option<&str> {
        self.inner_error
            .as_ref()
            .and_then(|i| i.internal_error_code.as_deref())
    }

    pub(crate) fn is_vm_not_running(&self) -> bool {
        self.internal_code()
            .is_some_and(|c| c.eq_ignore_ascii_case("CannotModifyExtensionsWhenVMNotRunning"))
    }

    /// 409s that mean "try again": a concurrent request or a preempted operation, as opposed to a
    /// request that can never succeed as sent.
    pub(crate) fn is_retryable_conflict(&self) -> bool {
        if self.is_vm_not_running() {
            return false;
        }
        let code = self.code.to_ascii_lowercase();
        code == "conflict"
            || code.starts_with("retryableerror")
            || code == "operationpreempted"
            || code == "anotheroperationinprogress"
    }

    /// 401 codes that mean our cached token is stale and a fresh one may work.
    pub(crate) fn is_stale_token(&self) -> bool {
        self.code.eq_ignore_ascii_case("ExpiredAuthenticationToken")
            || self.code.eq_ignore_ascii_case("InvalidAuthenticationToken")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrapped_cloud_error_with_inner_code() {
        let body = br#"{"error":{"code":"OperationNotAllowed","message":"Cannot modify extensions in the VM when the VM is not running.","innererror":{"internalErrorCode":"CannotModifyExtensionsWhenVMNotRunning"}}}"#;
        let e = CloudError::parse(body).expect("parses");
        assert_eq!(e.code, "OperationNotAllowed");
        assert!(e.is_vm_not_running());
        assert!(!e.is_retryable_conflict());
        assert!(matches!(
            AzureError::from_response(409, body, "x"),
            AzureError::VmNotRunning { .. }
        ));
    }

    #[test]
    fn parses_bare_throttling_body() {
        let body = br#"{"code":"OperationNotAllowed","message":"too many requests","details":[{"code":"TooManyRequests","target":"HighCostGet","message":"{}"}]}"#;
        let e = CloudError::parse(body).expect("parses");
        assert_eq!(e.code, "OperationNotAllowed");
        assert_eq!(e.details.len(), 1);
        assert_eq!(e.details[0].target.as_deref(), Some("HighCostGet"));
    }

    #[test]
    fn keeps_code_and_inner_code_of_bad_request() {
        let body = br#"{"error":{"code":"BadRequest","message":"Multiple VMExtensions per handler not supported","innererror":{"internalErrorCode":"MultipleExtensionsPerHandlerNotAllowed"},"target":"x"}}"#;
        match AzureError::from_response(400, body, "extension") {
            AzureError::Api {
                status,
                code,
                inner_code,
                target,
                ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(code, "BadRequest");
                assert_eq!(
                    inner_code.as_deref(),
                    Some("MultipleExtensionsPerHandlerNotAllowed")
                );
                assert_eq!(target.as_deref(), Some("x"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn non_json_body_is_unexpected_response() {
        let e = AzureError::from_response(502, b"<html>bad gateway</html>", "VM");
        assert!(matches!(
            e,
            AzureError::UnexpectedResponse { status: 502, .. }
        ));
        assert!(CloudError::parse(b"{}").is_none());
        assert!(CloudError::parse(b"").is_none());
    }

    #[test]
    fn retryable_conflicts() {
        let c = |code: &str| CloudError {
            code: code.into(),
            ..Default::default()
        };
        assert!(c("Conflict").is_retryable_conflict());
        assert!(c("RetryableErrorDueToAnotherOperation").is_retryable_conflict());
        assert!(c("OperationPreempted").is_retryable_conflict());
        assert!(!c("OperationNotAllowed").is_retryable_conflict());
        assert!(c("ExpiredAuthenticationToken").is_stale_token());
    }
}
