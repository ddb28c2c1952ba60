//! What a `vm_access_reset` configuration (resource or action) asks VMAccess to do, on either OS:
//! read once from the configuration, turned into the engine's input for the VM's OS, and the
//! plan-time warnings about what the Linux extension does to the whole VM.

use secrecy::SecretString;

use crate::azure::OsType;
use crate::tfprotocol::{Diagnostic, Diagnostics, Object, Value};
use crate::vmaccess::{AccessInput, AccountReset, LinuxAccessReset};

use super::attributes::{
    EXPIRATION, REMOVE_PRIOR_KEYS, REMOVE_USER, RESET_SSH, SSH_PUBLIC_KEYS, USERNAME,
};

/// The account and SSH settings of one run. Unknown values read as unset: apply reads them again.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccessSettings {
    pub(crate) username: Option<String>,
    pub(crate) password: Option<SecretString>,
    pub(crate) ssh_public_keys: Vec<String>,
    pub(crate) remove_prior_keys: bool,
    pub(crate) reset_ssh: bool,
    pub(crate) expiration: Option<String>,
    pub(crate) remove_user: Option<String>,
}

impl AccessSettings {
    /// From a configuration whose new password (if any) the surface already picked.
    pub(crate) fn from_config(config: &Object, password: Option<SecretString>) -> AccessSettings {
        let string = |name: &str| config.get_string(name).map(str::to_string);
        AccessSettings {
            username: string(USERNAME),
            password,
            ssh_public_keys: ssh_public_keys(config.get(SSH_PUBLIC_KEYS)),
            remove_prior_keys: config.get_bool(REMOVE_PRIOR_KEYS) == Some(true),
            reset_ssh: config.get_bool(RESET_SSH) == Some(true),
            expiration: string(EXPIRATION),
            remove_user: string(REMOVE_USER),
        }
    }

    /// The engine's input for a VM running `os`. The Linux-only settings are refused on Windows
    /// before this (`validation::for_os`).
    pub(crate) fn input(self, os: OsType) -> AccessInput {
        match os {
            OsType::Windows => AccessInput::Windows(AccountReset {
                username: self.username,
                password: self.password,
            }),
            OsType::Linux => AccessInput::Linux(LinuxAccessReset {
                username: self.username,
                password: self.password,
                ssh_public_keys: self.ssh_public_keys,
                remove_prior_keys: self.remove_prior_keys,
                reset_ssh: self.reset_ssh,
                expiration: self.expiration,
                remove_user: self.remove_user,
            }),
        }
    }

    /// What the run does, for progress messages: "reset the password of \"ops\"", ….
    pub(crate) fn describe(&self, os: OsType) -> String {
        let mut parts = Vec::new();
        if let Some(user) = &self.remove_user {
            parts.push(format!("remove the user {user:?}"));
        }
        if self.reset_ssh {
            parts.push("restore the default sshd configuration".to_string());
        }
        if let (Some(user), OsType::Windows) = (&self.username, os) {
            parts.push(format!("reset the password of {user:?}"));
        } else if let Some(user) = &self.username {
            let mut what = Vec::new();
            if self.password.is_some() {
                what.push("set the password");
            }
            match (self.ssh_public_keys.len(), self.remove_prior_keys) {
                (0, _) => {}
                (_, true) => what.push("replace the SSH keys"),
                (_, false) => what.push("add the SSH keys"),
            }
            parts.push(format!("{} of {user:?}", what.join(" and ")));
        }
        match (parts.is_empty(), os) {
            (true, OsType::Windows) => "reset the Remote Desktop configuration".to_string(),
            (true, OsType::Linux) => "restart the SSH daemon".to_string(),
            (false, _) => parts.join(", "),
        }
    }
}

/// The known keys of `ssh_public_keys`, trimmed, in the set's order.
fn ssh_public_keys(value: &Value) -> Vec<String> {
    match value.concrete() {
        Value::Set(items) | Value::List(items) => items
            .iter()
            .filter_map(|k| k.as_str().map(|k| k.trim().to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Warnings for a run planned on a Linux VM: what VMAccessForLinux changes beyond the account.
/// `password_authentication_disabled` is what Azure says of the VM (`None`: it does not say).
pub(crate) fn linux_warnings(
    settings: &AccessSettings,
    password_attr: Option<&str>,
    vm: &str,
    password_authentication_disabled: Option<bool>,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Some(attr) = password_attr
        && password_authentication_disabled != Some(false)
    {
        diags.push(
            Diagnostic::warning(
                "A password turns on SSH password logins for the whole VM",
                format!(
                    "Setting a password with VMAccessForLinux also sets `PasswordAuthentication yes` in VM {vm:?}'s \
                     sshd_config (and cloud-init's drop-in), so every account with a password can log in by password \
                     over SSH, not only this one. Use `ssh_public_keys` instead if the VM should accept keys only."
                ),
            )
            .at_attr(attr),
        );
    }
    if settings.reset_ssh {
        diags.push(
            Diagnostic::warning(
                "reset_ssh replaces the whole sshd_config",
                format!(
                    "VMAccessForLinux overwrites VM {vm:?}'s /etc/ssh/sshd_config with the distribution's default \
                     (without its Include of sshd_config.d, so drop-in files stop applying), opens port 22 and \
                     restarts sshd. Any hardening in the file is lost; reapply it afterwards."
                ),
            )
            .at_attr(RESET_SSH),
        );
    }
    diags
}
