//! What the VMAccessAgent handler does inside a Windows guest when it runs:
//! reset or create a local administrator, and restore Remote Desktop access.
//! Also what both VMAccess handlers share ([`Handler`], [`run`]): the refusal on the
//! other OS, and the failure CRP wraps into a `VMExtensionProvisioningError`.
//!
//! Failure texts follow what Azure reports (see
//! `shared/facts/azure-vmaccess.md` §4).

use serde_json::Value;

use super::extension::{ExtensionConfig, InstanceStatus, VMACCESS_PUBLISHER, VMACCESS_TYPE};
use super::vm::{Account, OsType, Vm};

/// How an operation failed, as the operation-status `error` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OperationError {
    pub code: String,
    pub message: String,
}

impl OperationError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> OperationError {
        OperationError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// A failed guest run: the operation error and the message the handler
/// reported in the extension's instance view.
#[derive(Debug, Clone)]
pub(crate) struct GuestFailure {
    pub error: OperationError,
    pub guest_message: String,
    /// The `n` of the instance view's `ProvisioningState/failed/{n}`.
    pub status_code: u32,
}

impl GuestFailure {
    /// The extension's instance-view status after the failure.
    pub(crate) fn status(&self) -> InstanceStatus {
        InstanceStatus::failed_with_code(self.status_code, &self.guest_message)
    }
}

/// A failure the handler reported from the guest, as CRP wraps it.
pub(crate) fn provisioning_error(
    extension_name: &str,
    publisher: &str,
    extension_type: &str,
    guest: &str,
    troubleshooting: &str,
) -> GuestFailure {
    GuestFailure {
        error: OperationError::new(
            "VMExtensionProvisioningError",
            format!(
                "VM has reported a failure when processing extension '{extension_name}' (publisher '{publisher}' and type '{extension_type}'). Error message: '{guest}'. More information on troubleshooting is available at {troubleshooting}"
            ),
        ),
        guest_message: guest.to_string(),
        status_code: 1,
    }
}

/// A VMAccess handler: its `Publisher.Type`, the OS it runs on, what it says on the other
/// one, and its enable command.
pub(crate) struct Handler {
    pub name: &'static str,
    pub os: OsType,
    pub other_os: &'static str,
    pub enable: fn(&mut Vm, &str, &ExtensionConfig) -> Result<String, GuestFailure>,
}

/// VMAccessAgent, for Windows.
pub(crate) const WINDOWS: Handler = Handler {
    name: "Microsoft.Compute.VMAccessAgent",
    os: OsType::Windows,
    other_os: "VMAccessAgent is a Windows extension and is not supported on Linux. Use Microsoft.OSTCExtensions.VMAccessForLinux instead.",
    enable,
};

/// Runs `handler`'s enable command in the guest as extension `extension_name`. `Ok`
/// carries the status message. On the other OS the handler fails as a terminal error.
pub(crate) fn run(
    handler: &Handler,
    vm: &mut Vm,
    extension_name: &str,
    config: &ExtensionConfig,
) -> Result<String, GuestFailure> {
    if vm.os_type != handler.os {
        let message = format!(
            "Handler '{}' has reported failure for VM Extension '{extension_name}' with terminal error code '1009' and error message: '{}'",
            handler.name, handler.other_os
        );
        return Err(GuestFailure {
            error: OperationError::new("VMExtensionHandlerNonTransientError", message.clone()),
            guest_message: message,
            status_code: 1,
        });
    }
    vm.vmaccess_runs += 1;
    (handler.enable)(vm, extension_name, config)
}

const PASSWORD_POLICY: &str = "Cannot update Remote Desktop Connection settings for Administrator account. Exception: System.Runtime.InteropServices.COMException (0x800708C5): The password does not meet the password policy requirements. Check the minimum password length, password complexity, and password history requirements.";

/// VMAccessAgent in a Windows guest: reset or create an administrator, restore Remote Desktop.
fn enable(
    vm: &mut Vm,
    extension_name: &str,
    config: &ExtensionConfig,
) -> Result<String, GuestFailure> {
    let provisioning_error = |guest: &str| {
        provisioning_error(
            extension_name,
            VMACCESS_PUBLISHER,
            VMACCESS_TYPE,
            guest,
            "https://aka.ms/vmextensionwindowstroubleshoot",
        )
    };
    if vm.domain_controller {
        return Err(provisioning_error(
            "VMAccess Extension does not support Domain Controller.",
        ));
    }
    let username = setting(config.options.settings.as_ref(), "UserName");
    let password = setting(config.options.protected_settings.as_ref(), "Password");
    let message = match username.filter(|u| !u.is_empty()) {
        None => "RDP configuration was reset.".to_string(),
        Some(username) => {
            let password = password.filter(|p| !p.is_empty()).ok_or_else(|| {
                provisioning_error(
                    "The Admin User Account password cannot be null or empty if provided the username.",
                )
            })?;
            if let Some(account) = vm
                .accounts
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(username) && !a.administrator)
            {
                return Err(provisioning_error(&format!(
                    "User account {} already exists but cannot be updated because it is not in the Administrators group.",
                    account.name
                )));
            }
            if !vm.password_meets_policy(username, password) {
                return Err(provisioning_error(PASSWORD_POLICY));
            }
            match vm.account_mut(username) {
                Some(account) => {
                    account.set_password(password);
                    account.enabled = true;
                }
                None => {
                    let mut account = Account::new(username, true);
                    account.set_password(password);
                    vm.accounts.push(account);
                }
            }
            format!(
                "The password of account '{username}' was reset and RDP configuration was reset."
            )
        }
    };
    vm.rdp_enabled = true;
    vm.rdp_firewall_rule = true;
    Ok(message)
}

/// Reads a string setting by its TitleCase key or the lower-case key the docs use.
fn setting<'a>(object: Option<&'a Value>, key: &str) -> Option<&'a str> {
    let object = object?.as_object()?;
    object
        .get(key)
        .or_else(|| object.get(&key.to_lowercase()))
        .or_else(|| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_str)
}
