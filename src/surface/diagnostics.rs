//! The one place Azure and engine errors become Terraform diagnostics, for every surface: a
//! summary a human reads in a pipeline log, and a detail that says what to do. Extension-specific
//! wording comes from the engine's [`Kind`]. The warnings more than one surface gives live here
//! too.

use crate::azure::AzureError;
use crate::tfprotocol::Diagnostic;
use crate::vmaccess::discovery::DiscoveryError;
use crate::vmaccess::{Kind, RunError, START_THE_VM};

use super::attributes::{EXTENSION_NAME, VIRTUAL_MACHINE_ID, VIRTUAL_MACHINE_SCALE_SET_ID};
use super::settings::setting_source;

/// `doing` completes "Error while …", e.g. "running VMAccess on VM \"web\"".
pub(crate) fn diagnostic(err: &AzureError, doing: &str, kind: &Kind) -> Diagnostic {
    let (summary, advice) = match err {
        AzureError::ExtensionFailed { .. } => (
            format!("The {} extension failed on the VM", kind.label),
            format!(
                "The extension's own message is above. {} Fix the cause and apply again (a resource reruns by itself; invoke an action again).",
                kind.failure_advice
            ),
        ),
        AzureError::Api {
            inner_code: Some(code),
            ..
        } if code == "MultipleExtensionsPerHandlerNotAllowed" => (
            format!("The VM already has a {} extension", kind.label),
            format!(
                "A VM can have only one {} extension. Leave `extension_name` unset to reuse the existing one, or remove \
                 the other extension first.",
                kind.extension_type
            ),
        ),
        _ => return general_diagnostic(err, doing),
    };
    Diagnostic::error(summary, format!("Error while {doing}: {err}\n\n{advice}"))
}

/// The diagnostic for an error whose wording does not depend on the extension kind (provider
/// configuration, authentication, transport, throttling …).
pub fn general_diagnostic(err: &AzureError, doing: &str) -> Diagnostic {
    general_with_summary(err, doing, None)
}

/// [`general_diagnostic`], under `summary` when the caller knows better what failed.
fn general_with_summary(err: &AzureError, doing: &str, summary: Option<&str>) -> Diagnostic {
    let named;
    let (summary_of_kind, advice): (&str, &str) = match err {
        AzureError::Configuration { setting, .. } => {
            named = match where_set(*setting) {
                (Some(attribute), env) => {
                    format!("Fix the provider setting {attribute} (environment variable {env}).")
                }
                (None, env) => format!("Set the environment variable {env}."),
            };
            ("Invalid provider configuration", named.as_str())
        }
        AzureError::Authentication {
            hint: Some(setting),
            ..
        } => {
            named = match where_set(*setting) {
                (Some(attribute), env) => format!(
                    "Set it with the provider setting {attribute} (environment variable {env})."
                ),
                (None, env) => {
                    format!("Set it with the environment variable {env}.")
                }
            };
            ("Authentication with Azure failed", named.as_str())
        }
        AzureError::Authentication { hint: None, .. } => (
            "Authentication with Azure failed",
            "Check the credentials in the provider settings or ARM_* environment variables, and that the identity has at \
             least Virtual Machine Contributor on the VM.",
        ),
        AzureError::NotFound { .. } => (
            "Not found in Azure",
            "Check the ID, and that the provider's subscription is the VM's.",
        ),
        AzureError::VmNotRunning { .. } => ("The VM is not running", START_THE_VM),
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
        AzureError::ExtensionFailed { .. } | AzureError::Api { .. } => {
            ("Azure rejected the request", "See Azure's message above.")
        }
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
    let summary = summary.unwrap_or(summary_of_kind);
    Diagnostic::error(summary, format!("Error while {doing}: {err}\n\n{advice}"))
}

/// A setting's provider attribute (quoted), if it has one, and its environment variables ("A or
/// B").
fn where_set(setting: crate::azure::Setting) -> (Option<String>, String) {
    let (attribute, env) = setting_source(setting);
    (attribute.map(|a| format!("`{a}`")), env.join(" or "))
}

/// Why a run stopped before anything was sent, with the fix, on the attribute to change.
pub(crate) fn run_error(err: &RunError, doing: &str, kind: &Kind) -> Diagnostic {
    let vm_attr = VIRTUAL_MACHINE_ID;
    match err {
        RunError::VmNotFound { vm } => Diagnostic::error(
            "Virtual machine not found",
            format!("No VM exists at {vm}. Check `virtual_machine_id`, and that the provider's subscription is the VM's."),
        )
        .at_attr(vm_attr),
        RunError::ScaleSetNotFound { scale_set } => Diagnostic::error(
            "Virtual machine scale set not found",
            format!(
                "No virtual machine scale set exists at {scale_set}. Check `{VIRTUAL_MACHINE_SCALE_SET_ID}`, and that \
                 the provider's subscription is the scale set's."
            ),
        )
        .at_attr(VIRTUAL_MACHINE_SCALE_SET_ID),
        RunError::WrongOs { kind, .. } => Diagnostic::error(
            format!("Not a {:?} VM", kind.os),
            format!("{err}. {}", kind.other_os_hint),
        )
        .at_attr(vm_attr),
        RunError::NotRunning { .. } => {
            Diagnostic::error("The VM is not running", format!("{err}. {START_THE_VM}"))
                .at_attr(vm_attr)
        }
        RunError::AgentNotReady { kind, .. } => Diagnostic::error(
            "The VM agent is not ready",
            format!(
                "{err}. {} needs a running agent that can reach Azure: check that the {} service runs and has outbound \
                 access to Azure, or let a new VM finish booting, then apply again.",
                kind.label, kind.agent_service
            ),
        )
        .at_attr(vm_attr),
        RunError::NameTaken { existing, kind, .. } => Diagnostic::error(
            format!("The VM already has a {} extension under another name", kind.label),
            format!(
                "{err}. Remove `extension_name` (or set it to {existing:?}) to reuse it, or delete that extension first."
            ),
        )
        .at_attr(EXTENSION_NAME),
        RunError::Azure(e) => diagnostic(e, doing, kind).at_attr(vm_attr),
    }
}

/// Fleet discovery's errors, named for a person running `terraform query`.
pub(crate) fn discovery_error(e: &DiscoveryError) -> Diagnostic {
    match e {
        DiscoveryError::InvalidRequest { field, .. } => Diagnostic::error(
            "Invalid list configuration",
            format!("{e}. Fix `{field}` in the list block's `config`."),
        ),
        DiscoveryError::List { scope, source } => Diagnostic::error(
            format!("Cannot list the virtual machines of {scope}"),
            format!(
                "Azure answered: {source}\n\nThe listing needs read access to the virtual machines and their \
                 extensions (the Reader role has it) on the subscription or resource groups searched. Check \
                 `subscription_id` and `resource_group_names` in the list block's `config`, and the principal's role \
                 assignments."
            ),
        ),
        DiscoveryError::ScaleSets { scope, source } => Diagnostic::error(
            format!("Cannot list the virtual machine scale sets of {scope}"),
            format!(
                "Azure answered: {source}\n\n`include_scale_set_instances` needs read access to the scale sets and \
                 their instances (the Reader role has it) on the subscription or resource groups searched. Check the \
                 principal's role assignments, or leave `include_scale_set_instances` out."
            ),
        ),
        // Listing reads no extension settings, so no extension-specific wording applies.
        DiscoveryError::Extensions { vm, source } => general_with_summary(
            source,
            &format!("listing the extensions of VM {vm}"),
            Some("Cannot list a VM's extensions"),
        ),
        DiscoveryError::UnexpectedVmId { .. } => Diagnostic::error(
            "Unexpected answer from Azure",
            format!("{e}. This is a bug in Azure or in the provider; please report it."),
        ),
    }
}

/// A run found the VM's VMAccess extension under another name and uses it; `so` says what the
/// surface does with it ("this resource manages that one").
pub(crate) fn reusing_existing(vm: &str, existing: &str, kind: &Kind, so: &str) -> Diagnostic {
    Diagnostic::warning(
        "Reusing the VM's existing VMAccess extension",
        format!(
            "VM {vm:?} already has a {} extension named {existing:?} (the portal and the Azure CLI create it under \
             that name). A VM can have only one, so {so}.",
            kind.extension_type
        ),
    )
}
