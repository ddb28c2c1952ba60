//! The bodies of the admin API (`/_emulator/…`) and of the seed file, one definition shared by
//! the server's handlers (which deserialize requests and serialize answers) and the typed
//! client (which does the opposite). An absent field and `null` mean the same (its default),
//! so a typed change and a hand-written `{"field": value}` body are the same request.
//!
//! Plain data: it names the model's vocabulary ([`OsType`], [`PowerState`], the VMAccess
//! handler) and the settings of faults and throttling, and nothing that serves requests. The
//! conversions between these bodies and the model are the admin handlers' (`api::convert`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compute_reads::ComputeReadSettings;
use crate::faults::FaultSpec;
use crate::model::extension::{VMACCESS_PUBLISHER, VMACCESS_TYPE};
pub use crate::model::linux_guest::{
    LinuxDistro, LinuxSudo, LinuxUserProfile, SshState, SshdConfig,
};
pub use crate::model::scale_set::{OrchestrationMode, UpgradePolicy};
use crate::model::vm::{OsType, PowerState};
use crate::throttle::ThrottleSettings;

// ---- Seeding VMs -------------------------------------------------------------------------

/// A local account to create when seeding a VM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountSeed {
    /// The account name; accounts are looked up without regard to case.
    pub name: String,
    /// The account has no password when absent.
    #[serde(default)]
    pub password: Option<String>,
    /// `true` when absent.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Member of the Administrators group; `true` when absent.
    #[serde(default = "yes")]
    pub administrator: bool,
}

impl AccountSeed {
    /// An enabled administrator with this password.
    pub fn new(name: &str, password: &str) -> AccountSeed {
        AccountSeed {
            name: name.to_string(),
            password: Some(password.to_string()),
            enabled: true,
            administrator: true,
        }
    }

    /// The same account, disabled.
    pub fn disabled(self) -> AccountSeed {
        AccountSeed {
            enabled: false,
            ..self
        }
    }

    /// The same account, outside the Administrators group.
    pub fn not_administrator(self) -> AccountSeed {
        AccountSeed {
            administrator: false,
            ..self
        }
    }
}

/// The administrator of the locked-out VM ([`VmSeed::locked_out`]).
pub const LOCKED_OUT_USER: &str = "opsadmin";
/// The forgotten password of the locked-out VM ([`VmSeed::locked_out`]).
pub const LOCKED_OUT_PASSWORD: &str = "Forgotten-Passw0rd!";

fn yes() -> bool {
    true
}

fn default_location() -> String {
    "westeurope".into()
}

fn default_min_length() -> usize {
    8
}

/// Everything needed to create a VM through the admin API; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmSeed {
    /// The Azure region; `westeurope` when absent.
    #[serde(default = "default_location")]
    pub location: String,
    /// Windows when absent.
    #[serde(default)]
    pub os_type: OsType,
    /// Running when absent.
    #[serde(default)]
    pub power_state: PowerState,
    /// Whether the VM agent reports ready; `true` when absent.
    #[serde(default = "yes")]
    pub agent_ready: bool,
    /// Message of the agent status when it is not ready.
    #[serde(default)]
    pub agent_status_message: Option<String>,
    /// A domain controller has no local accounts, so VMAccess fails on it.
    #[serde(default)]
    pub domain_controller: bool,
    /// The guest's password policy: at least this many characters (8 when absent).
    #[serde(default = "default_min_length")]
    pub password_min_length: usize,
    /// The guest's local accounts.
    #[serde(default)]
    pub accounts: Vec<AccountSeed>,
    /// Remote Desktop connections allowed; `true` when absent.
    #[serde(default = "yes")]
    pub rdp_enabled: bool,
    /// The firewall lets port 3389 in; `true` when absent.
    #[serde(default = "yes")]
    pub rdp_firewall_rule: bool,
    /// The guest VMAccessForLinux works on; a Linux VM without it gets the default guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<LinuxGuestSeed>,
}

impl Default for VmSeed {
    fn default() -> Self {
        VmSeed {
            location: default_location(),
            os_type: OsType::Windows,
            power_state: PowerState::Running,
            agent_ready: true,
            agent_status_message: None,
            domain_controller: false,
            password_min_length: default_min_length(),
            accounts: Vec::new(),
            rdp_enabled: true,
            rdp_firewall_rule: true,
            linux: None,
        }
    }
}

impl VmSeed {
    /// A running Windows VM with a ready agent and these accounts.
    pub fn windows(accounts: impl IntoIterator<Item = AccountSeed>) -> VmSeed {
        VmSeed {
            accounts: accounts.into_iter().collect(),
            ..VmSeed::default()
        }
    }

    /// A running Linux VM with a ready agent and this guest.
    pub fn linux(guest: LinuxGuestSeed) -> VmSeed {
        VmSeed {
            os_type: OsType::Linux,
            linux: Some(guest),
            ..VmSeed::default()
        }
    }

    /// The VM of the README's story: a running Windows VM whose only administrator
    /// ([`LOCKED_OUT_USER`]) is disabled, with a forgotten password ([`LOCKED_OUT_PASSWORD`]).
    pub fn locked_out() -> VmSeed {
        VmSeed::windows([AccountSeed::new(LOCKED_OUT_USER, LOCKED_OUT_PASSWORD).disabled()])
    }
}

/// A key line of the Linux locked-out VM's user ([`LinuxGuestSeed::locked_out`]) whose private
/// half is lost.
pub const LOST_PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEJBVsQIYEGV17SQWlLerxAqyUdaU+v13FRmyLlGEfy+ lost@laptop";

fn uid_min() -> u32 {
    1000
}

/// A user to create in a Linux guest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LinuxUserSeed {
    /// The user name (case matters on Linux).
    pub name: String,
    /// The next uid from `uid_min` up when absent; below `uid_min` makes a system user.
    pub uid: Option<u32>,
    /// No password when absent.
    pub password: Option<String>,
    /// Shared with the view: sudo, expiry, keys, lock.
    #[serde(flatten)]
    pub profile: LinuxUserProfile,
}

impl LinuxUserSeed {
    /// A user with password-less sudo, as image provisioning creates the admin user, and
    /// these `authorized_keys` lines.
    pub fn new(name: &str, authorized_keys: &[&str]) -> LinuxUserSeed {
        LinuxUserSeed {
            name: name.to_string(),
            profile: LinuxUserProfile {
                sudo: LinuxSudo::NoPassword,
                authorized_keys: authorized_keys.iter().map(|k| k.to_string()).collect(),
                ..LinuxUserProfile::default()
            },
            ..LinuxUserSeed::default()
        }
    }

    /// The same user with this password.
    pub fn with_password(self, password: &str) -> LinuxUserSeed {
        LinuxUserSeed {
            password: Some(password.to_string()),
            ..self
        }
    }
}

/// The inside of a Linux VM; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinuxGuestSeed {
    /// Picks the `sshd_config` default `reset_ssh` restores; Ubuntu when absent.
    #[serde(default)]
    pub distro: LinuxDistro,
    /// `UID_MIN` of `/etc/login.defs`; 1000 when absent.
    #[serde(default = "uid_min")]
    pub uid_min: u32,
    /// The guest's users.
    #[serde(default)]
    pub users: Vec<LinuxUserSeed>,
    /// `sshd_config`, its backup, cloud-init's drop-in, port 22 (flattened).
    #[serde(flatten)]
    pub ssh: SshState,
    /// `ovf-env.xml` has provisioning SSH keys (a username alone is then a valid run).
    #[serde(default)]
    pub provisioning_keys: bool,
}

impl Default for LinuxGuestSeed {
    fn default() -> Self {
        LinuxGuestSeed {
            distro: LinuxDistro::default(),
            uid_min: uid_min(),
            users: Vec::new(),
            ssh: SshState::default(),
            provisioning_keys: false,
        }
    }
}

impl LinuxGuestSeed {
    /// The Linux story: [`LOCKED_OUT_USER`] has lost the private half of their only key
    /// ([`LOST_PUBLIC_KEY`]), has no password, and `sshd_config` is broken.
    pub fn locked_out() -> LinuxGuestSeed {
        LinuxGuestSeed {
            users: vec![LinuxUserSeed::new(LOCKED_OUT_USER, &[LOST_PUBLIC_KEY])],
            ssh: SshState {
                sshd_config: SshdConfig {
                    broken: true,
                    ..SshdConfig::default()
                },
                ..SshState::default()
            },
            ..LinuxGuestSeed::default()
        }
    }
}

/// VMs to create at start-up: a JSON list of `{subscription?, resource_group, name, …VmSeed}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seed(pub Vec<SeededVm>);

/// A VM of a [`Seed`] or a [`Fleet`]: where it is, and its seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededVm {
    /// Defaults to the configured subscription.
    #[serde(default)]
    pub subscription: Option<String>,
    /// Must not be empty.
    pub resource_group: String,
    /// Must not be empty.
    pub name: String,
    /// The VM's properties, flattened into the same JSON object.
    #[serde(flatten)]
    pub vm: VmSeed,
}

/// An extension created directly (admin `PUT …/extensions/{name}`, or in a [`Fleet`]), as if
/// an earlier deployment had left it. Defaults: a succeeded `Microsoft.Compute.VMAccessAgent`
/// 2.4 without settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtensionSeed {
    /// The handler's publisher (`Microsoft.Compute`).
    pub publisher: String,
    /// The handler's type (`VMAccessAgent`).
    #[serde(rename = "type")]
    pub extension_type: String,
    /// `major.minor`.
    pub type_handler_version: String,
    /// `true` when absent, as the portal sets it.
    pub auto_upgrade_minor_version: Option<bool>,
    /// Public settings, returned by ARM (VMAccess: `{"UserName": …}`).
    pub settings: Option<Value>,
    /// Never returned by ARM.
    pub protected_settings: Option<Value>,
    /// The tag of the run that left the extension.
    pub force_update_tag: Option<String>,
    /// `Succeeded` or `Failed` (the status is an error then).
    pub provisioning_state: String,
    /// The message of the extension's status; a fixed one when absent.
    pub status_message: Option<String>,
}

impl Default for ExtensionSeed {
    fn default() -> Self {
        ExtensionSeed {
            publisher: VMACCESS_PUBLISHER.into(),
            extension_type: VMACCESS_TYPE.into(),
            type_handler_version: "2.4".into(),
            auto_upgrade_minor_version: None,
            settings: None,
            protected_settings: None,
            force_update_tag: None,
            provisioning_state: "Succeeded".into(),
            status_message: None,
        }
    }
}

impl ExtensionSeed {
    /// A succeeded extension of another kind (a monitoring agent, Linux VMAccess, …).
    pub fn of(publisher: &str, extension_type: &str, type_handler_version: &str) -> ExtensionSeed {
        ExtensionSeed {
            publisher: publisher.into(),
            extension_type: extension_type.into(),
            type_handler_version: type_handler_version.into(),
            ..ExtensionSeed::default()
        }
    }
}

/// A VM of a [`Fleet`]: where it is, its seed, and extensions (by name) as earlier
/// deployments left them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetVm {
    /// Where the VM is, and its seed (flattened).
    #[serde(flatten)]
    pub vm: SeededVm,
    /// Extensions by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, ExtensionSeed>,
}

impl FleetVm {
    /// A running VM of `os_type` in `resource_group` of the emulator's subscription, with no
    /// accounts and no extensions yet.
    pub fn new(
        resource_group: impl Into<String>,
        name: impl Into<String>,
        os_type: OsType,
    ) -> FleetVm {
        FleetVm {
            vm: SeededVm {
                subscription: None,
                resource_group: resource_group.into(),
                name: name.into(),
                vm: VmSeed {
                    os_type,
                    ..VmSeed::default()
                },
            },
            extensions: BTreeMap::new(),
        }
    }
}

/// Many VMs created in one request (`POST /_emulator/fleet`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fleet {
    /// The VMs, created in this order.
    pub vms: Vec<FleetVm>,
}

/// The answer to a fleet: how many VMs were created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetCreated {
    /// How many VMs were created.
    pub created: usize,
}

// ---- Scale sets -----------------------------------------------------------------------------

/// A scale set to create through the admin API (`PUT /_emulator/scale-sets/{sub}/{rg}/{name}`).
/// Indexes in `stopped`, `deallocated` and `agent_not_ready` count instances from 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScaleSetSeed {
    /// Uniform when absent.
    pub orchestration_mode: OrchestrationMode,
    /// Manual when absent.
    pub upgrade_policy: UpgradePolicy,
    /// How many instances.
    pub instances: u32,
    /// The guest every instance gets (OS, accounts or Linux guest, location).
    pub instance: VmSeed,
    /// Instances that are stopped (still allocated).
    pub stopped: Vec<u32>,
    /// Instances that are deallocated.
    pub deallocated: Vec<u32>,
    /// Instances whose VM agent is not ready.
    pub agent_not_ready: Vec<u32>,
    /// The model's extensions, named by their type (as `az vmss extension set` names them);
    /// every instance has them too, already applied.
    pub model_extensions: Vec<ExtensionSeed>,
}

impl ScaleSetSeed {
    /// A uniform scale set of `instances` running instances like `instance`.
    pub fn uniform(instances: u32, instance: VmSeed) -> ScaleSetSeed {
        ScaleSetSeed {
            instances,
            instance,
            ..ScaleSetSeed::default()
        }
    }

    /// A flexible scale set of `instances` running VMs like `instance`.
    pub fn flexible(instances: u32, instance: VmSeed) -> ScaleSetSeed {
        ScaleSetSeed {
            orchestration_mode: OrchestrationMode::Flexible,
            ..ScaleSetSeed::uniform(instances, instance)
        }
    }

    /// The same scale set with these instances stopped.
    pub fn stopped(self, indexes: impl IntoIterator<Item = u32>) -> ScaleSetSeed {
        ScaleSetSeed {
            stopped: indexes.into_iter().collect(),
            ..self
        }
    }

    /// The same scale set with these instances deallocated.
    pub fn deallocated(self, indexes: impl IntoIterator<Item = u32>) -> ScaleSetSeed {
        ScaleSetSeed {
            deallocated: indexes.into_iter().collect(),
            ..self
        }
    }

    /// The same scale set with the VM agent of these instances not ready.
    pub fn agent_not_ready(self, indexes: impl IntoIterator<Item = u32>) -> ScaleSetSeed {
        ScaleSetSeed {
            agent_not_ready: indexes.into_iter().collect(),
            ..self
        }
    }

    /// The same scale set under this upgrade policy.
    pub fn upgrade_policy(self, upgrade_policy: UpgradePolicy) -> ScaleSetSeed {
        ScaleSetSeed {
            upgrade_policy,
            ..self
        }
    }

    /// The same scale set with this extension in its model (and on every instance).
    pub fn model_extension(mut self, extension: ExtensionSeed) -> ScaleSetSeed {
        self.model_extensions.push(extension);
        self
    }
}

/// What the admin API shows of an extension of a scale set's model: the names of its
/// settings, never their values (the model keeps credentials).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelExtensionView {
    /// In the casing it was created with.
    pub name: String,
    /// The handler's publisher.
    pub publisher: String,
    /// The handler's type.
    pub extension_type: String,
    /// `major.minor`.
    pub type_handler_version: String,
    /// The keys of the public settings.
    pub setting_keys: Vec<String>,
    /// The keys of the protected settings (the values are never shown).
    pub protected_setting_keys: Vec<String>,
    /// The model's `forceUpdateTag`.
    pub force_update_tag: Option<String>,
}

/// What the admin API shows of a scale set's instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceView {
    /// Addresses the instance in the admin routes: the instance ID (Uniform) or the VM's
    /// name (Flexible).
    pub key: String,
    /// The ARM ID (`…/virtualMachineScaleSets/{name}/virtualMachines/{id}` for Uniform).
    pub id: String,
    /// `{scaleSet}_{instanceId}` (Uniform) or `{scaleSet}_{8 hex digits}` (Flexible).
    pub name: String,
    /// Running, stopped or deallocated.
    pub power_state: PowerState,
    /// Whether the scale set's current model reached the instance.
    pub latest_model_applied: bool,
    /// The instance as a VM: accounts, extensions, VMAccess runs…
    pub vm: VmView,
}

/// What the admin API shows of a scale set (`GET /_emulator/scale-sets/{sub}/{rg}/{name}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleSetView {
    /// The ARM resource ID.
    pub id: String,
    /// Uniform or Flexible.
    pub orchestration_mode: OrchestrationMode,
    /// Manual, Automatic or Rolling.
    pub upgrade_policy: UpgradePolicy,
    /// The model's extensions (no setting values).
    pub model_extensions: Vec<ModelExtensionView>,
    /// The instances, in order.
    pub instances: Vec<InstanceView>,
}

impl ScaleSetView {
    /// The instance whose key (instance ID or VM name) is `key`.
    pub fn instance(&self, key: &str) -> Option<&InstanceView> {
        self.instances
            .iter()
            .find(|i| i.key.eq_ignore_ascii_case(key))
    }

    /// The model extension named `name` (any case).
    pub fn model_extension(&self, name: &str) -> Option<&ModelExtensionView> {
        self.model_extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    }
}

// ---- Changing VMs and extensions out of band ----------------------------------------------

/// Out-of-band changes to a VM (admin `PATCH`). Absent fields are left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VmPatch {
    /// Windows or Linux.
    pub os_type: Option<OsType>,
    /// A stopped or deallocated VM refuses extension changes.
    pub power_state: Option<PowerState>,
    /// A VM agent that is not ready fails every extension run.
    pub agent_ready: Option<bool>,
    /// What the agent's status says while it is not ready.
    pub agent_status_message: Option<String>,
    /// A domain controller has no local accounts, so VMAccess fails on it.
    pub domain_controller: Option<bool>,
    /// The guest's password policy: at least this many characters.
    pub password_min_length: Option<usize>,
    /// Remote Desktop connections allowed (`fDenyTSConnections` = 0).
    pub rdp_enabled: Option<bool>,
    /// The firewall lets port 3389 in.
    pub rdp_firewall_rule: Option<bool>,
    /// These account changes name an existing account (case-insensitively).
    pub disable_account: Option<String>,
    /// Enables the account of this name.
    pub enable_account: Option<String>,
    /// Deletes the account of this name.
    pub delete_account: Option<String>,
    /// Sets the password of the account `username`.
    pub set_password: Option<Credentials>,
    /// Fails if an account of that name exists.
    pub add_account: Option<AccountSeed>,
}

/// A username and password: an admin `set_password`, or an RDP login attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// The account name (any case).
    pub username: String,
    /// The password, in clear text.
    pub password: String,
}

/// Out-of-band changes to an extension (admin `PATCH …/extensions/{name}`). Absent fields
/// are left alone; a status message replaces the status, at the (new) provisioning state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtensionPatch {
    /// `Succeeded`, `Failed`, …
    pub provisioning_state: Option<String>,
    /// The tag of the run that last changed the extension, as if another tool had run it.
    pub force_update_tag: Option<String>,
    /// Replaces the extension's status.
    pub status_message: Option<String>,
    /// Replaces the public settings.
    pub settings: Option<Value>,
}

// ---- What the admin API shows --------------------------------------------------------------

/// What the admin API shows of an account. Never a password or hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountView {
    /// In the casing it was created with.
    pub name: String,
    /// Whether the account may log in.
    pub enabled: bool,
    /// Member of the Administrators group.
    pub administrator: bool,
    /// How many times a password was set (seeding counts).
    pub password_set_count: u32,
}

/// What the admin API shows of a VM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmView {
    /// The ARM resource ID.
    pub id: String,
    /// The VM's name.
    pub name: String,
    /// The Azure region, as seeded.
    pub location: String,
    /// Windows or Linux.
    pub os_type: OsType,
    /// Running, stopped or deallocated.
    pub power_state: PowerState,
    /// Whether the VM agent reports ready.
    pub agent_ready: bool,
    /// A domain controller has no local accounts.
    pub domain_controller: bool,
    /// The guest's local accounts.
    pub accounts: Vec<AccountView>,
    /// Remote Desktop connections allowed.
    pub rdp_enabled: bool,
    /// The firewall lets port 3389 in.
    pub rdp_firewall_rule: bool,
    /// How many times the VMAccess handler ran in the guest.
    pub vmaccess_runs: u32,
    /// The VM's extensions.
    pub extensions: Vec<ExtensionView>,
}

impl VmView {
    /// The account named `name` (any case).
    pub fn account(&self, name: &str) -> Option<&AccountView> {
        self.accounts
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The extension named `name` (any case).
    pub fn extension(&self, name: &str) -> Option<&ExtensionView> {
        self.extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    }
}

/// What the admin API shows of an extension (no protected settings).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtensionView {
    /// In the casing it was created with.
    pub name: String,
    /// The handler's publisher.
    pub publisher: String,
    /// The handler's type.
    #[serde(rename = "type")]
    pub extension_type: String,
    /// `major.minor`.
    pub type_handler_version: String,
    /// The tag of the run that last changed it.
    pub force_update_tag: Option<String>,
    /// `Creating`, `Updating`, `Deleting`, `Succeeded` or `Failed`.
    pub provisioning_state: String,
    /// The public settings.
    pub settings: Option<Value>,
    /// The message of the extension's first status.
    pub status_message: Option<String>,
}

/// What the admin API shows of a Linux user. Never a password or hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinuxUserView {
    /// The user name.
    pub name: String,
    /// The user id.
    pub uid: u32,
    /// `/home/<name>`.
    pub home: String,
    /// Whether a password is set.
    pub has_password: bool,
    /// How many times a password was set (seeding counts).
    pub password_set_count: u32,
    /// The expiry date has come.
    pub expired: bool,
    /// Sudo, expiry date, keys, lock.
    #[serde(flatten)]
    pub profile: LinuxUserProfile,
}

/// What the admin API shows of a Linux guest (`GET …/linux`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinuxGuestView {
    /// The distribution.
    pub distro: LinuxDistro,
    /// `UID_MIN`.
    pub uid_min: u32,
    /// The users, system users included.
    pub users: Vec<LinuxUserView>,
    /// `sshd_config`, its backup, cloud-init's drop-in, port 22, sshd restarts (flattened).
    #[serde(flatten)]
    pub ssh: SshState,
    /// The `PasswordAuthentication` sshd applies.
    pub password_authentication: bool,
    /// The sequence number of the last configuration the handler processed.
    pub last_sequence_number: Option<u32>,
    /// What the handler logged in its last run.
    pub last_log: Vec<String>,
}

impl LinuxGuestView {
    /// The user named `name` (case matters).
    pub fn user(&self, name: &str) -> Option<&LinuxUserView> {
        self.users.iter().find(|u| u.name == name)
    }
}

/// An SSH login attempt (`POST …/ssh-login`): a password or a public key, not both.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SshLogin {
    /// The user name.
    pub username: String,
    /// Log in with this password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Log in with the private half of this OpenSSH public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl SshLogin {
    /// A login of `username` with `password`.
    pub fn password(username: &str, password: &str) -> SshLogin {
        SshLogin {
            username: username.to_string(),
            password: Some(password.to_string()),
            public_key: None,
        }
    }

    /// A login of `username` with the private half of `public_key` (an OpenSSH line).
    pub fn public_key(username: &str, public_key: &str) -> SshLogin {
        SshLogin {
            username: username.to_string(),
            password: None,
            public_key: Some(public_key.to_string()),
        }
    }
}

/// Whether the guest accepted a login, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOutcome {
    /// The login succeeded.
    pub ok: bool,
    /// Why it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One request as `/_emulator/requests` reports it; secrets are redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// `GET`, `PUT`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// `None` when no response was sent (a dropped connection).
    pub status: Option<u16>,
    /// Whether it carried a bearer token ARM accepts.
    pub authorized: bool,
    /// The JSON or form body, with secret fields replaced.
    pub body: Option<Value>,
}

// ---- Faults, clients and settings ---------------------------------------------------------

/// The answer to a new fault: its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultAdded {
    /// The fault's id.
    pub id: String,
}

/// An armed fault as `GET /_emulator/faults` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmedFaultView {
    /// The fault's id.
    pub id: String,
    /// The fault as posted.
    pub spec: FaultSpec,
    /// Firings left; `None` fires until cleared.
    pub remaining: Option<u32>,
}

/// An application registration (`POST /_emulator/clients`): a client secret, a certificate
/// (PEM) for signed assertions, a trusted certificate subject, or any of them together.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// The application (client) ID.
    pub client_id: String,
    /// A secret the token endpoint accepts.
    pub client_secret: Option<String>,
    /// A certificate whose key signs client assertions.
    pub certificate_pem: Option<String>,
    /// Subject name + issuer ("SNI") authentication: a certificate never registered itself is
    /// accepted when its subject and issuing CA are these and the assertion carries its chain.
    #[serde(default)]
    pub trusted_subject: Option<TrustedCertificateSubject>,
}

/// A trusted certificate subject, as Entra's `trustedCertificateSubjects` holds one: a client
/// assertion may be signed by any certificate with this subject that this CA issued. The
/// assertion must then carry the chain in its `x5c` header (the certificate first, its issuer
/// second) and the certificate's `x5t#S256`; an assertion without `x5c` is refused with
/// AADSTS700027 (the key is not registered).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrustedCertificateSubject {
    /// The certificate's subject as RFC 4514 prints it (`CN=app.contoso.com, O=Contoso`),
    /// compared without regard to case.
    pub subject_name: String,
    /// The issuing CA's certificate (PEM).
    pub issuer_pem: String,
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistered {
    /// The registered application (client) ID.
    pub client_id: String,
}

/// How the emulator tells clients to poll long-running operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LroStyle {
    /// `Azure-AsyncOperation` header pointing at an operation-status resource.
    #[default]
    #[serde(alias = "async")]
    AsyncOperation,
    /// Only a `Location` header; the poll answers 202 until done, then the result.
    #[serde(alias = "location")]
    LocationOnly,
}

/// Run-time settings to change (`POST /_emulator/config`). Absent fields are left alone;
/// `throttling` replaces the settings (and refills the buckets).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigChange {
    /// How long operations started from now on take.
    pub operation_delay_ms: Option<u64>,
    /// How clients are told to poll.
    pub lro_style: Option<LroStyle>,
    /// The `Retry-After` of operation responses and polls.
    pub poll_retry_after_secs: Option<u64>,
    /// The bearer token `/_emulator/oidc/github` accepts (default
    /// `DEFAULT_GITHUB_REQUEST_TOKEN`).
    pub github_request_token: Option<String>,
    /// ARM's and Compute's throttling.
    pub throttling: Option<ThrottleSettings>,
}

/// The run-time settings (`GET /_emulator/config`, and the answer to a change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// How long operations take.
    pub operation_delay_ms: u64,
    /// How clients are told to poll.
    pub lro_style: LroStyle,
    /// The `Retry-After` of operation responses and polls.
    pub poll_retry_after_secs: u64,
    /// ARM's and Compute's throttling.
    pub throttling: ThrottleSettings,
}

/// Listing settings to change (`POST /_emulator/listing`). Absent fields are left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListingChange {
    /// VMs per page of a VM list; at least 1.
    pub page_size: Option<usize>,
    /// Compute's read budgets (replaced, and the buckets refilled).
    pub compute_reads: Option<ComputeReadSettings>,
}

/// The listing settings (`GET /_emulator/listing`, and the answer to a change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListingConfig {
    /// VMs per page of a VM list.
    pub page_size: usize,
    /// Compute's read budgets.
    pub compute_reads: ComputeReadSettings,
}

/// Adds or updates a subscription, and/or sets the page size of the subscription list
/// (`POST /_emulator/subscriptions`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SubscriptionChange {
    /// The subscription to add or update.
    pub subscription_id: Option<String>,
    /// `Subscription {id}` unless given.
    pub display_name: Option<String>,
    /// `Enabled` unless given (ARM also knows `Disabled`, `Warned`, `PastDue`, `Deleted`).
    pub state: Option<String>,
    /// Subscriptions per page of the list.
    pub page_size: Option<usize>,
}

/// The subscriptions after a change: how many, and the list's page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionsSummary {
    /// How many subscriptions the tenant has.
    pub count: usize,
    /// Subscriptions per page of the list.
    pub page_size: usize,
}
