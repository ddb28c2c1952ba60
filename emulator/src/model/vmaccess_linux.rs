//! What the VMAccessForLinux handler (`Microsoft.OSTCExtensions`, 1.5) does inside a Linux
//! guest when it runs: `vmaccess.py enable()`, step by step, as
//! `shared/facts/azure-vmaccess-linux-and-vmss.md` §A2–A7 describes it.
//!
//! - Only protected settings are read; keys in public settings are ignored.
//! - Flags are Python-truthy (the string `"false"` is true); `remove_prior_keys` must equal
//!   `True` (JSON `true`, or `1`).
//! - A failure is "Enable failed: <text>", with no substatuses, instance-view code
//!   `ProvisioningState/failed/0`, wrapped by CRP into a `VMExtensionProvisioningError`.
//!   What the steps before the failure did stays done, as in the guest.
//!
//! A run happens only for a new goal state (`ExtensionConfig::needs_guest_run`): identical
//! settings without a new `forceUpdateTag` give no new sequence number, so nothing runs and
//! the extension reports its last status again ([`last_failure`]).
//! The disk settings (`check_disk`, `repair_disk`) and X.509 certificates as `ssh_key` are
//! not modelled.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::extension::{Extension, ExtensionConfig, VMACCESS_LINUX_PUBLISHER, VMACCESS_LINUX_TYPE};
use super::linux_guest::{LinuxGuest, LinuxSudo, LinuxUser};
use super::vm::{OsType, Vm};
use super::vmaccess::{GuestFailure, Handler, provisioning_error};

const TROUBLESHOOT: &str = "https://aka.ms/vmextensionlinuxtroubleshoot";

/// VMAccessForLinux, for Linux.
pub(crate) const LINUX: Handler = Handler {
    name: "Microsoft.OSTCExtensions.VMAccessForLinux",
    os: OsType::Linux,
    other_os: "VMAccessForLinux is a Linux extension and is not supported on Windows. Use Microsoft.Compute.VMAccessAgent instead.",
    enable,
};

/// `vmaccess.py -enable` on the settings of a new sequence number.
fn enable(
    vm: &mut Vm,
    extension_name: &str,
    config: &ExtensionConfig,
) -> Result<String, GuestFailure> {
    let guest = &mut vm.linux;
    guest.last_sequence_number = Some(guest.last_sequence_number.map_or(0, |n| n + 1));
    guest.last_log.clear();
    let empty = Map::new();
    let settings = Settings(
        config
            .options
            .protected_settings
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty),
    );
    run_steps(guest, &settings)
        .map(|()| "Enable succeeded.".to_string())
        .map_err(|reason| failure(extension_name, &format!("Enable failed: {reason}")))
}

/// What an extension reports when its configuration is unchanged, so the handler does not
/// run (no new sequence number): the last run's failure again, if it failed in the guest.
pub(crate) fn last_failure(extension: &Extension) -> Option<GuestFailure> {
    let status = extension.statuses.first().filter(|s| s.level == "Error")?;
    let message = status.message.as_deref()?;
    message
        .starts_with("Enable failed: ")
        .then(|| failure(&extension.name, message))
}

/// A failure the handler reported: status code 0, as CRP wraps it.
fn failure(extension_name: &str, guest: &str) -> GuestFailure {
    let mut failure = provisioning_error(
        extension_name,
        VMACCESS_LINUX_PUBLISHER,
        VMACCESS_LINUX_TYPE,
        guest,
        TROUBLESHOOT,
    );
    failure.status_code = 0;
    failure
}

/// The protected settings as the handler reads them.
struct Settings<'a>(&'a Map<String, Value>);

impl Settings<'_> {
    /// A string setting that Python finds truthy: present and not empty.
    fn text(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A flag tested with `if settings.get(key):`, so any non-empty string counts.
    fn flag(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(truthy)
    }

    /// A flag tested with `== True`: JSON `true`, or a number equal to 1.
    fn equals_true(&self, key: &str) -> bool {
        match self.0.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64() == Some(1.0),
            _ => false,
        }
    }
}

/// Python's truthiness of a decoded JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `enable()` from the check of invalid combinations on (facts §A3 steps 2–7).
fn run_steps(guest: &mut LinuxGuest, settings: &Settings<'_>) -> Result<(), String> {
    let password = settings.text("password");
    let reset = settings.flag("reset_ssh");
    let restore = settings.flag("restore_backup_ssh");
    let remove_user = settings.text("remove_user");
    if remove_user.is_some() && (reset || restore || password.is_some()) {
        return Err("Cannot reset sshd_config and remove a user in one operation.".into());
    }
    guest.edit_sshd_config(|c| c.challenge_response_authentication = false);
    guest.ssh.sshd_restarts += 1;
    if reset || restore {
        let ssh = &mut guest.ssh;
        ssh.ssh_port_open = true;
        let backup = if restore {
            ssh.sshd_config_backup.take()
        } else {
            None
        };
        ssh.sshd_config = backup.unwrap_or_else(|| guest.distro.default_sshd_config());
        ssh.sshd_restarts += 1;
    }
    if let Some(name) = remove_user {
        remove(guest, name);
    }
    if let Some(name) = settings.text("username") {
        set_user(guest, name, settings)?;
    }
    if password.is_some() || reset || restore {
        guest.ssh.sshd_restarts += 1;
    }
    Ok(())
}

/// `userdel -f -r`: the user and the home directory go. An unknown or system user is only
/// logged, and the run still succeeds.
fn remove(guest: &mut LinuxGuest, name: &str) {
    let uid_min = guest.uid_min;
    match guest.user(name).map(|u| u.uid) {
        None => guest.last_log.push(format!("User '{name}' does not exist")),
        Some(uid) if uid < uid_min => guest
            .last_log
            .push(format!("User '{name}' is a system user; not removed")),
        Some(_) => {
            guest.users.retain(|u| u.name != name);
            guest.last_log.push(format!("User '{name}' removed"));
        }
    }
}

/// Step 6: create or update the user, set the password, write the key (facts §A5, §A6).
fn set_user(guest: &mut LinuxGuest, name: &str, settings: &Settings<'_>) -> Result<(), String> {
    let password = settings.text("password");
    let ssh_key = settings.text("ssh_key");
    if password.is_none() && ssh_key.is_none() && !guest.provisioning_keys {
        return Err("No password or ssh_key is specified.".into());
    }
    let uid_min = guest.uid_min;
    let next_uid = guest.next_uid();
    if guest.user(name).is_some_and(|u| u.uid < uid_min) {
        return Err(format!(
            "Failed to set password for system user: {name} (0x06)."
        ));
    }
    if guest.user(name).is_none() {
        let expiration = settings.text("expiration");
        if expiration.is_some_and(|date| !is_date(date)) {
            return Err(format!("Failed to create user account: {name} (0x07)."));
        }
        let mut user = LinuxUser::new(name, next_uid);
        user.profile.expiration = expiration.map(str::to_string);
        guest.users.push(user);
    }
    let passwordless = password.is_none() || settings.flag("enable_passwordless_access");
    let user = guest
        .user_mut(name)
        .ok_or_else(|| format!("Failed to create user account: {name} (0x07)."))?;
    user.profile.sudo = if passwordless {
        LinuxSudo::NoPassword
    } else {
        LinuxSudo::Password
    };
    if let Some(password) = password {
        user.set_password(password);
    }
    if let Some(value) = ssh_key {
        let lines = public_key_lines(value)?;
        let keys = &mut user.profile.authorized_keys;
        if settings.equals_true("remove_prior_keys") {
            keys.clear();
        }
        keys.extend(lines);
    }
    if password.is_some() {
        guest.edit_sshd_config(|c| c.password_authentication = true);
        let drop_in = &mut guest.ssh.cloud_init_password_authentication;
        if drop_in.is_some() {
            *drop_in = Some(true);
        }
    }
    Ok(())
}

/// `yyyy-mm-dd`, a date `useradd -e` takes.
fn is_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.len() == 10 && time::Date::parse(text, &format).is_ok()
}

/// The `authorized_keys` lines an `ssh_key` value becomes: an OpenSSH `ssh-rsa`/`ssh-ed25519`
/// value as it is, one line each; an SSH2 block converted (`ssh-keygen -i`); anything else
/// goes the X.509 way, which the emulator does not model, and fails.
fn public_key_lines(value: &str) -> Result<Vec<String>, String> {
    let value = value.trim();
    if value.starts_with("ssh-rsa") || value.starts_with("ssh-ed25519") {
        return Ok(value
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect());
    }
    if value.starts_with("---- BEGIN SSH2 PUBLIC KEY ----") {
        return ssh2_to_openssh(value)
            .map(|line| vec![line])
            .ok_or_else(|| "Failed to convert SSH2 key to OpenSSH key.".to_string());
    }
    Err("Failed to generate public key file.".into())
}

/// An RFC 4716 block as an OpenSSH line: the base64 body (header lines and their `\`
/// continuations left out), prefixed by the key type read from the blob.
fn ssh2_to_openssh(block: &str) -> Option<String> {
    let mut body = String::new();
    let mut continued = false;
    for line in block.lines().map(str::trim) {
        if line.starts_with("---- ") {
            continue;
        }
        let header = continued || line.contains(':');
        continued = header && line.ends_with('\\');
        if !header {
            body.push_str(line);
        }
    }
    let blob = STANDARD.decode(&body).ok()?;
    let length = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?);
    let key_type = blob.get(4..4 + usize::try_from(length).ok()?)?;
    let key_type = std::str::from_utf8(key_type).ok()?;
    Some(format!("{key_type} {body}"))
}
