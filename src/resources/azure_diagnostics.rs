//! The one place Azure errors become Terraform diagnostics: a summary a
//! human reads in a pipeline log, and a detail that says what to do.

use crate::azure::AzureError;
use crate::provider::setting_source;
use crate::tfprotocol::Diagnostic;

/// `doing` completes "Error while …", e.g. "running VMAccess on VM \"web\"".
pub fn diagnostic(err: &AzureError, doing: &str) -> Diagnostic {
    let named;
    let (summary, advice): (&str, &str) = match err {
        AzureError::Configuration { setting, .. } => {
            let (attribute, env) = setting_source(*setting);
            named = match attribute {
                Some(a) => format!(
                    "Fix the provider setting `{a}` (environment variable {}).",
                    env.join(" or ")
                ),
                None => format!("Set the environment variable {}.", env.join(" or ")),
            };
            ("Invalid provider configuration", named.as_str())
        }
        AzureError::Authentication { .. } => (
            "Authentication with Azure failed",
            "Check the credentials in the provider settings or ARM_* environment variables, and that the identity has at \
             least Virtual Machine Contributor on the VM.",
        ),
        AzureError::NotFound { .. } => (
            "Not found in Azure",
            "Check the ID, and that the provider's subscription is the VM's.",
        ),
        AzureError::VmNotRunning { .. } => (
            "The VM is not running",
            "Extensions run inside the guest, so the VM must be running: start it (`az vm start`, `Start-AzVM` or the \
             portal) and apply again.",
        ),
        AzureError::ExtensionFailed { .. } => (
            "The VMAccess extension failed on the VM",
            "The extension's own message is above. VMAccess does not support domain controllers; a password the VM's policy \
             refuses (length, complexity, history) needs another password; an agent that does not report needs the VM agent \
             running with outbound access to Azure. Fix the cause and apply again: the resource reruns.",
        ),
        AzureError::Throttled { .. } => (
            "Azure is throttling requests",
            "Azure asked to wait longer than this operation's timeout. Retry later, lower -parallelism, or raise the timeout.",
        ),
        AzureError::DeadlineExceeded { .. } => (
            "Timed out",
            "Azure may still be running the operation. Raise the resource's `timeouts` if the VM is slow; the next apply \
             checks the extension and reruns it if needed.",
        ),
        AzureError::Cancelled { .. } => (
            "Interrupted",
            "The operation was interrupted. Azure may still be running it; the next apply checks and reruns if needed.",
        ),
        AzureError::Transport { .. } => (
            "Could not reach Azure",
            "Check network access to Azure (proxy, firewall), and SSL_CERT_FILE for private certificate authorities.",
        ),
        AzureError::Conflict { .. } => (
            "Azure reported a conflict",
            "Another operation is changing the VM. Wait for it to finish and apply again.",
        ),
        AzureError::Api {
            inner_code: Some(code),
            ..
        } if code == "MultipleExtensionsPerHandlerNotAllowed" => (
            "The VM already has a VMAccess extension",
            "A VM can have only one VMAccessAgent extension. Leave `extension_name` unset to reuse the existing one, or remove \
             the other extension first.",
        ),
        AzureError::Api { .. } => ("Azure rejected the request", "See Azure's message above."),
        AzureError::UnexpectedResponse { .. } => (
            "Unexpected response from Azure",
            "This may be a transient Azure problem; apply again. If it persists, report it with the TF_LOG=debug output.",
        ),
        AzureError::Refused { .. } => (
            "Request refused by the provider",
            "Nothing was sent. Azure answered with something the provider will not follow; report it with the TF_LOG=debug \
             output.",
        ),
        AzureError::Internal { .. } => (
            "Internal error in the provider",
            "Nothing was changed by the failed step. Please report it with the TF_LOG=debug output.",
        ),
    };
    Diagnostic::error(summary, format!("Error while {doing}: {err}\n\n{advice}"))
}
