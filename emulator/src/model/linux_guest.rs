//! The inside of a Linux guest, as far as VMAccessForLinux touches it: users with their
//! password, sudo line, expiry date and `authorized_keys`; `/etc/ssh/sshd_config`, its
//! backup under `/var/cache/vmaccess`, cloud-init's drop-in; the firewall's port 22; and the
//! SSH logins that state lets in.
//!
//! What changes it is the handler (`super::vmaccess_linux`); this module only holds the
//! state and answers "would this login work, and if not, why".
//! Facts: `shared/facts/azure-vmaccess-linux-and-vmss.md` §A4–A6.

use serde::{Deserialize, Serialize};

use super::secret::Secret;
use crate::clock::today;

/// The distribution, as VMAccess tells it from os-release `NAME` to pick the `sshd_config`
/// default that `reset_ssh` copies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinuxDistro {
    /// Ubuntu: VMAccess asks for `ubuntu_default`, which does not exist, so `default` is used.
    #[default]
    Ubuntu,
    /// Debian (`debian_default`).
    Debian,
    /// CentOS (`centos_default`).
    Centos,
    /// Red Hat Enterprise Linux (`redhat_default`).
    Redhat,
    /// Fedora (`fedora_default`).
    Fedora,
    /// SUSE Linux Enterprise and openSUSE (`SuSE_default`, the one with
    /// `PasswordAuthentication no`).
    Suse,
    /// Anything else (`default`).
    Other,
}

impl LinuxDistro {
    /// The `sshd_config` VMAccess copies in on `reset_ssh`. Every default sets
    /// `PasswordAuthentication yes` but SuSE's; none has an `Include` line (facts §A4).
    pub(crate) fn default_sshd_config(self) -> SshdConfig {
        SshdConfig {
            password_authentication: self != LinuxDistro::Suse,
            challenge_response_authentication: false,
            includes_drop_ins: false,
            broken: false,
            default_of: Some(self),
        }
    }
}

/// The line `/etc/sudoers.d/waagent` holds for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinuxSudo {
    /// No line: the user has no sudo.
    #[default]
    None,
    /// `<user> ALL = (ALL) ALL`: sudo asks for the user's password.
    Password,
    /// `<user> ALL = (ALL) NOPASSWD: ALL`.
    NoPassword,
}

/// The settings of `/etc/ssh/sshd_config` that matter to VMAccess and to a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SshdConfig {
    /// `PasswordAuthentication yes`.
    pub password_authentication: bool,
    /// `ChallengeResponseAuthentication yes`; VMAccess turns it off on every run.
    pub challenge_response_authentication: bool,
    /// An `Include /etc/ssh/sshd_config.d/*.conf` line at the top: a drop-in's
    /// `PasswordAuthentication` (cloud-init's) comes first and wins.
    pub includes_drop_ins: bool,
    /// sshd cannot start with this file: every SSH login fails.
    pub broken: bool,
    /// The distro default `reset_ssh` copied in; absent for the image's own (or an edited) file.
    pub default_of: Option<LinuxDistro>,
}

impl Default for SshdConfig {
    /// An Azure marketplace image provisioned with an SSH key: passwords off, drop-ins read.
    fn default() -> Self {
        SshdConfig {
            password_authentication: false,
            challenge_response_authentication: false,
            includes_drop_ins: true,
            broken: false,
            default_of: None,
        }
    }
}

/// The SSH side of the guest: `sshd_config`, VMAccess's backup of it, cloud-init's drop-in,
/// the firewall and sshd's restarts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SshState {
    /// `/etc/ssh/sshd_config`; an image's file with passwords off when absent.
    pub sshd_config: SshdConfig,
    /// `/var/cache/vmaccess/backup`, taken before VMAccess's first edit of `sshd_config`.
    pub sshd_config_backup: Option<SshdConfig>,
    /// `PasswordAuthentication` of `/etc/ssh/sshd_config.d/50-cloud-init.conf`; no such file
    /// when absent.
    pub cloud_init_password_authentication: Option<bool>,
    /// The firewall lets TCP port 22 in; `true` when absent.
    pub ssh_port_open: bool,
    /// How many times sshd was restarted.
    pub sshd_restarts: u32,
}

impl Default for SshState {
    fn default() -> Self {
        SshState {
            sshd_config: SshdConfig::default(),
            sshd_config_backup: None,
            cloud_init_password_authentication: None,
            ssh_port_open: true,
            sshd_restarts: 0,
        }
    }
}

/// What the guest keeps of a user besides the name, uid and password: the sudoers line, the
/// expiry date, `~/.ssh/authorized_keys` and the password lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinuxUserProfile {
    /// The lines of `~/.ssh/authorized_keys`, in order.
    pub authorized_keys: Vec<String>,
    /// The user's line in `/etc/sudoers.d/waagent`; none when absent.
    pub sudo: LinuxSudo,
    /// `yyyy-mm-dd`; from that day on the account is expired.
    pub expiration: Option<String>,
    /// `!` in front of the shadow hash (`passwd -l`): the password opens no login.
    pub password_locked: bool,
}

/// A user of the guest (`/etc/passwd`, `/etc/shadow`, sudoers, `authorized_keys`).
#[derive(Debug, Clone)]
pub(crate) struct LinuxUser {
    pub name: String,
    pub uid: u32,
    pub password: Option<Secret>,
    pub password_set_count: u32,
    pub profile: LinuxUserProfile,
}

impl LinuxUser {
    /// A user without password, sudo or keys.
    pub(crate) fn new(name: &str, uid: u32) -> LinuxUser {
        LinuxUser {
            name: name.to_string(),
            uid,
            password: None,
            password_set_count: 0,
            profile: LinuxUserProfile::default(),
        }
    }

    /// `usermod -p`: the new hash replaces the whole shadow field, lock mark included.
    pub(crate) fn set_password(&mut self, password: &str) {
        self.password = Some(Secret::new(password));
        self.profile.password_locked = false;
        self.password_set_count += 1;
    }

    /// `/home/<name>`: VMAccess hard-codes `/home` (facts §A6).
    pub(crate) fn home(&self) -> String {
        format!("/home/{}", self.name)
    }

    /// Whether the account's expiry date has come.
    pub(crate) fn expired(&self) -> bool {
        let expiration = self.profile.expiration.as_deref();
        expiration.is_some_and(|date| date <= today().as_str())
    }
}

/// The Linux guest of a VM.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinuxGuest {
    pub distro: LinuxDistro,
    /// `UID_MIN` of `/etc/login.defs`: users below it are system users VMAccess leaves alone.
    pub uid_min: u32,
    pub users: Vec<LinuxUser>,
    pub ssh: SshState,
    /// `ovf-env.xml` carries provisioning SSH keys, which make a run with a username alone
    /// valid.
    pub provisioning_keys: bool,
    /// Whether the VM was created with SSH password logins on: ARM's
    /// `osProfile.linuxConfiguration.disablePasswordAuthentication` is its negation and, as in
    /// Azure, does not follow later changes of `sshd_config`.
    pub created_with_password_logins: bool,
    /// The sequence number of the last configuration the handler processed (`mrseq`), and
    /// what it logged.
    pub last_sequence_number: Option<u32>,
    pub last_log: Vec<String>,
}

/// What an SSH login offers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SshCredential<'a> {
    Password(&'a str),
    /// An OpenSSH public key line; the client holds its private half.
    PublicKey(&'a str),
}

impl LinuxGuest {
    pub(crate) fn user(&self, name: &str) -> Option<&LinuxUser> {
        self.users.iter().find(|u| u.name == name)
    }

    pub(crate) fn user_mut(&mut self, name: &str) -> Option<&mut LinuxUser> {
        self.users.iter_mut().find(|u| u.name == name)
    }

    /// The first user who is not a system user.
    pub(crate) fn first_login_user(&self) -> Option<&str> {
        self.users
            .iter()
            .find(|u| u.uid >= self.uid_min)
            .map(|u| u.name.as_str())
    }

    /// The uid `useradd` gives the next user: above every user's, at least `UID_MIN`.
    pub(crate) fn next_uid(&self) -> u32 {
        self.users
            .iter()
            .map(|u| u.uid + 1)
            .filter(|uid| *uid >= self.uid_min)
            .max()
            .unwrap_or(self.uid_min)
    }

    /// The `PasswordAuthentication` sshd applies: a drop-in's when the file includes them.
    pub(crate) fn password_authentication(&self) -> bool {
        match self.ssh.cloud_init_password_authentication {
            Some(drop_in) if self.ssh.sshd_config.includes_drop_ins => drop_in,
            _ => self.ssh.sshd_config.password_authentication,
        }
    }

    /// Edits `sshd_config`, first backing it up if the edit changes it and there is no backup
    /// yet (facts §A4).
    pub(crate) fn edit_sshd_config(&mut self, edit: impl FnOnce(&mut SshdConfig)) {
        let ssh = &mut self.ssh;
        let mut edited = ssh.sshd_config.clone();
        edit(&mut edited);
        if edited != ssh.sshd_config {
            if ssh.sshd_config_backup.is_none() {
                ssh.sshd_config_backup = Some(ssh.sshd_config.clone());
            }
            edited.default_of = None;
            ssh.sshd_config = edited;
        }
    }

    /// Models an SSH login: the reason it fails, if it does.
    pub(crate) fn ssh_login(
        &self,
        username: &str,
        credential: SshCredential<'_>,
    ) -> Result<(), &'static str> {
        if !self.ssh.ssh_port_open {
            return Err("the firewall blocks port 22");
        }
        if self.ssh.sshd_config.broken {
            return Err("sshd_config broken: sshd does not run");
        }
        let user = self.user(username).ok_or("no such user")?;
        if user.expired() {
            return Err("account expired");
        }
        match credential {
            SshCredential::Password(password) => {
                if !self.password_authentication() {
                    return Err("PasswordAuthentication no");
                }
                if user.profile.password_locked {
                    return Err("the password is locked");
                }
                match &user.password {
                    Some(secret) if secret.matches(password) => Ok(()),
                    Some(_) => Err("wrong password"),
                    None => Err("the user has no password"),
                }
            }
            SshCredential::PublicKey(line) => {
                let offered = key_material(line).ok_or("not an OpenSSH public key")?;
                if user
                    .profile
                    .authorized_keys
                    .iter()
                    .any(|k| key_material(k) == Some(offered))
                {
                    Ok(())
                } else {
                    Err("key not in authorized_keys")
                }
            }
        }
    }
}

/// The key type and base64 blob of an OpenSSH public key or `authorized_keys` line (which may
/// start with options); the comment does not count.
pub(crate) fn key_material(line: &str) -> Option<(&str, &str)> {
    let mut words = line.split_whitespace();
    let key_type = words.find(|w| is_key_type(w))?;
    let blob = words.next()?;
    Some((key_type, blob))
}

fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-sha2-") || word.starts_with("sk-")
}
