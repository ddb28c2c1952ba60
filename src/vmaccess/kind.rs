//! What the engine needs to know about one kind of access extension: who publishes it, which OS
//! it serves, and how its settings are built from the caller's input. Windows' `VMAccessAgent` is
//! below; Linux's `VMAccessForLinux` is another [`Kind`] value and another [`ExtensionKind`] impl
//! (`kind/linux.rs`). A VM's OS picks its kind ([`for_os`]).

pub(crate) mod linux;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::azure::{OsType, ProtectedSettings, VmExtension};

/// The data describing an extension kind; every text the engine's errors need comes from here.
#[derive(Debug)]
pub(crate) struct Kind {
    /// How users call it in messages: "VMAccess".
    pub(crate) label: &'static str,
    pub(crate) publisher: &'static str,
    pub(crate) extension_type: &'static str,
    /// The resource name used when the VM has none of this kind yet.
    pub(crate) default_name: &'static str,
    pub(crate) default_handler_version: &'static str,
    /// The OS whose guest agent runs it.
    pub(crate) os: OsType,
    /// Said when the VM runs another OS: what to use there instead.
    pub(crate) other_os_hint: &'static str,
    /// The guest agent's service, named when the agent is not ready.
    pub(crate) agent_service: &'static str,
    /// Said when the extension itself failed in the guest: its known causes.
    pub(crate) failure_advice: &'static str,
}

impl Kind {
    /// Whether an extension read from ARM is of this kind.
    pub(crate) fn matches(&self, ext: &VmExtension) -> bool {
        ext.is_of(self.publisher, self.extension_type)
    }

    /// Whether `other` is the same kind.
    pub(crate) fn is(&self, other: &Kind) -> bool {
        self.publisher == other.publisher && self.extension_type == other.extension_type
    }
}

/// Every access extension kind, one per OS.
pub(crate) const ALL: [&Kind; 2] = [&WINDOWS_VMACCESS, &linux::LINUX_VMACCESS];

/// The access extension of a VM running `os`; Windows' when the OS is not known, as before Linux
/// was supported (a VM whose OS Azure does not report is most likely an old Windows one).
pub(crate) fn for_os(os: Option<OsType>) -> &'static Kind {
    match os {
        Some(OsType::Linux) => &linux::LINUX_VMACCESS,
        Some(OsType::Windows) | None => &WINDOWS_VMACCESS,
    }
}

/// An extension kind together with its input type and settings builder.
pub(crate) trait ExtensionKind: Send + Sync + 'static {
    /// What the caller asks the extension to do.
    type Input: Send + Sync;
    const KIND: &'static Kind;
    /// Public `settings` and `protectedSettings` for `input`.
    fn settings(input: &Self::Input) -> (Value, ProtectedSettings);
    /// The user name an extension's public settings were last run for.
    fn username(settings: &Value) -> Option<String>;
}

/// Windows `VMAccessAgent` (publisher `Microsoft.Compute`, handler 2.0+).
pub(crate) struct WindowsVmAccess;

/// Reset `username`'s password (creating or enabling the account), or with no user name, reset
/// the Remote Desktop configuration.
#[derive(Clone, Debug, Default)]
pub(crate) struct AccountReset {
    pub(crate) username: Option<String>,
    pub(crate) password: Option<SecretString>,
}

pub(crate) const WINDOWS_VMACCESS: Kind = Kind {
    label: "VMAccess",
    publisher: "Microsoft.Compute",
    extension_type: "VMAccessAgent",
    default_name: "VMAccessAgent",
    default_handler_version: "2.4",
    os: OsType::Windows,
    other_os_hint: "On Linux use the VMAccessForLinux extension (publisher Microsoft.OSTCExtensions), for example \
                    through `az vm user update`.",
    agent_service: "Windows Azure Guest Agent",
    failure_advice: "VMAccess does not support domain controllers; a password the VM's policy refuses (length, \
                     complexity, history) needs another password; an agent that does not report needs the VM agent \
                     running with outbound access to Azure.",
};

impl ExtensionKind for WindowsVmAccess {
    type Input = AccountReset;
    const KIND: &'static Kind = &WINDOWS_VMACCESS;

    /// `{"UserName"}` / `{"Password"}` like `Set-AzVMAccessExtension`; both `{}` for an RDP reset.
    fn settings(input: &AccountReset) -> (Value, ProtectedSettings) {
        let public = match &input.username {
            Some(u) => json!({ "UserName": u }),
            None => json!({}),
        };
        let protected = match &input.password {
            Some(p) => json!({ "Password": p.expose_secret() }),
            None => json!({}),
        };
        (public, ProtectedSettings::new(protected))
    }

    /// Whatever the key's casing (PowerShell writes `UserName`, the docs `username`).
    fn username(settings: &Value) -> Option<String> {
        let (_, value) = settings
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("username"))?;
        value.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_is_read_from_either_key_casing() {
        let name = WindowsVmAccess::username;
        assert_eq!(name(&json!({"UserName": "ops"})), Some("ops".into()));
        assert_eq!(name(&json!({"username": "ops"})), Some("ops".into()));
        assert_eq!(name(&json!({})), None);
        assert_eq!(name(&Value::Null), None);
    }

    #[test]
    fn settings_shape_and_redaction() {
        let input = AccountReset {
            username: Some("azureadmin".into()),
            password: Some(SecretString::from("Sup3r-Secret!")),
        };
        let (public, protected) = WindowsVmAccess::settings(&input);
        assert_eq!(public, json!({"UserName": "azureadmin"}));
        assert!(!format!("{protected:?}").contains("Sup3r"));
        let (public, _) = WindowsVmAccess::settings(&AccountReset::default());
        assert_eq!(public, json!({}));
    }
}
