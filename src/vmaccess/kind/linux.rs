//! Linux `VMAccessForLinux` (publisher `Microsoft.OSTCExtensions`, handler 1.5): what it is, and
//! its settings. Every setting it reads is protected, so the public settings are always `{}` and
//! Azure never shows which account a run was for.
//!
//! Its flags are tested with Python truthiness in the guest, where the *string* `"false"` counts
//! as true: they are sent as JSON `true`, or left out.
//!
//! The engine's decisions for it are unit-tested in `vmaccess/tests/linux.rs`.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::azure::{OsType, ProtectedSettings};

use super::{ExtensionKind, Kind};

pub(crate) const LINUX_VMACCESS: Kind = Kind {
    label: "VMAccess",
    publisher: "Microsoft.OSTCExtensions",
    extension_type: "VMAccessForLinux",
    default_name: "VMAccessForLinux",
    default_handler_version: "1.5",
    os: OsType::Linux,
    other_os_hint: "On Windows use the VMAccessAgent extension (publisher Microsoft.Compute), for example through \
                    `Set-AzVMAccessExtension`.",
    agent_service: "Azure Linux Agent (waagent)",
    failure_advice: "The extension's message starts with \"Enable failed:\". A user name with neither a password nor \
                     an SSH key, a system account (uid below UID_MIN), a key that is not ssh-rsa or ssh-ed25519, or a \
                     guest without Python each fail; an agent that does not report needs waagent running with \
                     outbound access to Azure.",
};

/// `VMAccessForLinux`.
pub(crate) struct LinuxVmAccess;

/// One run's changes to a Linux VM's accounts and SSH daemon. Which combinations make sense is
/// the surfaces' to check (a user name needs a password or a key; removing a user goes alone).
#[derive(Clone, Debug, Default)]
pub(crate) struct LinuxAccessReset {
    /// The account to create or update (and make a sudoer).
    pub(crate) username: Option<String>,
    /// Sets the password; the extension also turns on `PasswordAuthentication` for the VM.
    pub(crate) password: Option<SecretString>,
    /// OpenSSH public keys for the account's `authorized_keys`, one per line.
    pub(crate) ssh_public_keys: Vec<String>,
    /// Replace the account's `authorized_keys` instead of appending to it.
    pub(crate) remove_prior_keys: bool,
    /// Replace the whole `sshd_config` with the distribution's default and restart sshd.
    pub(crate) reset_ssh: bool,
    /// `yyyy-mm-dd`: when a *new* account expires (an existing one keeps its own).
    pub(crate) expiration: Option<String>,
    /// The account to delete, home directory included.
    pub(crate) remove_user: Option<String>,
}

impl ExtensionKind for LinuxVmAccess {
    type Input = LinuxAccessReset;
    const KIND: &'static Kind = &LINUX_VMACCESS;

    /// `{}` public; the protected keys the extension reads (`username`, `password`, `ssh_key`,
    /// `remove_prior_keys`, `reset_ssh`, `expiration`, `remove_user`), each only when it asks for
    /// something.
    fn settings(input: &LinuxAccessReset) -> (Value, ProtectedSettings) {
        let mut protected = Map::new();
        let mut text = |key: &str, value: Option<&str>| {
            if let Some(v) = value {
                protected.insert(key.to_string(), Value::String(v.to_string()));
            }
        };
        text("username", input.username.as_deref());
        text(
            "password",
            input.password.as_ref().map(|p| p.expose_secret()),
        );
        let keys = input.ssh_public_keys.join("\n");
        text("ssh_key", (!keys.is_empty()).then_some(keys.as_str()));
        text("expiration", input.expiration.as_deref());
        text("remove_user", input.remove_user.as_deref());
        for (key, on) in [
            ("remove_prior_keys", input.remove_prior_keys),
            ("reset_ssh", input.reset_ssh),
        ] {
            if on {
                protected.insert(key.to_string(), Value::Bool(true));
            }
        }
        (json!({}), ProtectedSettings::new(Value::Object(protected)))
    }

    /// Never shown: the user name is a protected setting, so `None` here means "not shown", not
    /// "no user" (unlike Windows, where `None` is a Remote Desktop reset).
    fn username(_settings: &Value) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::ExtensionPut;

    /// The protected settings as ARM would receive them.
    fn sent(input: &LinuxAccessReset) -> (Value, Value) {
        let (public, protected) = LinuxVmAccess::settings(input);
        let wire = ExtensionPut {
            location: Some("westeurope".into()),
            publisher: LINUX_VMACCESS.publisher.into(),
            extension_type: LINUX_VMACCESS.extension_type.into(),
            type_handler_version: LINUX_VMACCESS.default_handler_version.into(),
            auto_upgrade_minor_version: true,
            force_update_tag: "tag".into(),
            settings: public.clone(),
            protected_settings: protected,
        }
        .to_wire();
        (public, wire["properties"]["protectedSettings"].clone())
    }

    #[test]
    fn a_password_and_keys_reset_sends_only_protected_settings() {
        let (public, protected) = sent(&LinuxAccessReset {
            username: Some("azureuser".into()),
            password: Some(SecretString::from("Sup3r-Secret!")),
            ssh_public_keys: vec!["ssh-ed25519 AAAA one".into(), "ssh-rsa AAAA two".into()],
            remove_prior_keys: true,
            expiration: Some("2027-06-30".into()),
            ..LinuxAccessReset::default()
        });
        assert_eq!(public, json!({}));
        assert_eq!(
            protected,
            json!({
                "username": "azureuser",
                "password": "Sup3r-Secret!",
                "ssh_key": "ssh-ed25519 AAAA one\nssh-rsa AAAA two",
                "remove_prior_keys": true,
                "expiration": "2027-06-30",
            })
        );
    }

    #[test]
    fn flags_are_json_true_or_absent_never_strings_or_false() {
        let (_, protected) = sent(&LinuxAccessReset {
            reset_ssh: true,
            ..LinuxAccessReset::default()
        });
        assert_eq!(protected, json!({"reset_ssh": true}));
        let (_, protected) = sent(&LinuxAccessReset {
            remove_user: Some("olduser".into()),
            ..LinuxAccessReset::default()
        });
        assert_eq!(protected, json!({"remove_user": "olduser"}));
        // Nothing asked: nothing sent (an `sshd` restart only).
        let (_, protected) = sent(&LinuxAccessReset::default());
        assert_eq!(protected, json!({}));
    }

    #[test]
    fn the_password_stays_out_of_debug_output_and_the_user_name_is_never_read_back() {
        let input = LinuxAccessReset {
            username: Some("azureuser".into()),
            password: Some(SecretString::from("Sup3r-Secret!")),
            ..LinuxAccessReset::default()
        };
        let (_, protected) = LinuxVmAccess::settings(&input);
        assert!(!format!("{protected:?} {input:?}").contains("Sup3r"));
        assert_eq!(
            LinuxVmAccess::username(&json!({"username": "azureuser"})),
            None
        );
    }
}
