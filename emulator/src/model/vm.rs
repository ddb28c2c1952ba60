//! A virtual machine as the emulator models it: ARM-visible properties plus
//! the guest state VMAccess changes (a Windows guest's local accounts and Remote
//! Desktop here; a Linux guest's in [`super::linux_guest`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extension::Extension;
use super::linux_guest::{LinuxGuest, SshCredential};
use super::membership::{Membership, instance_key};
use super::secret::Secret;

/// The guest operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OsType {
    /// Windows Server; VMAccessAgent runs on it.
    #[default]
    Windows,
    /// Linux; VMAccessForLinux runs on it, VMAccessAgent refuses to.
    Linux,
}

/// Whether the VM runs. Only a running VM takes extension changes and logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    /// Running.
    #[default]
    Running,
    /// Stopped, still allocated.
    Stopped,
    /// Stopped and deallocated.
    Deallocated,
}

impl PowerState {
    /// The `PowerState/{code}` of ARM's instance view.
    pub(crate) fn code(self) -> &'static str {
        match self {
            PowerState::Running => "running",
            PowerState::Stopped => "stopped",
            PowerState::Deallocated => "deallocated",
        }
    }
}

/// A local account of a Windows guest.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub name: String,
    password: Option<Secret>,
    pub enabled: bool,
    pub administrator: bool,
    pub password_set_count: u32,
}

impl Account {
    pub(crate) fn new(name: &str, administrator: bool) -> Account {
        Account {
            name: name.to_string(),
            password: None,
            enabled: true,
            administrator,
            password_set_count: 0,
        }
    }

    pub(crate) fn set_password(&mut self, password: &str) {
        self.password = Some(Secret::new(password));
        self.password_set_count += 1;
    }

    pub(crate) fn password_matches(&self, password: &str) -> bool {
        self.password.as_ref().is_some_and(|s| s.matches(password))
    }
}

/// A virtual machine.
#[derive(Debug, Clone)]
pub(crate) struct Vm {
    /// In the casing it was created with, like the resource group and name.
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    /// ARM's `vmId`, a GUID.
    pub vm_id: String,
    /// The region, as seeded.
    pub location: String,
    pub os_type: OsType,
    /// Only a running VM takes extension changes and logins.
    pub power_state: PowerState,
    /// A VM agent that is not ready fails every extension operation.
    pub agent_ready: bool,
    /// What the agent's status says while it is not ready.
    pub agent_status_message: String,
    /// A domain controller has no local accounts, so VMAccess fails on it.
    pub domain_controller: bool,
    /// The guest's password policy: at least this many characters.
    pub password_min_length: usize,
    /// The guest's local accounts.
    pub accounts: Vec<Account>,
    /// Remote Desktop connections allowed (`fDenyTSConnections` = 0).
    pub rdp_enabled: bool,
    /// The firewall lets port 3389 in.
    pub rdp_firewall_rule: bool,
    /// How many times the VMAccess handler ran in the guest.
    pub vmaccess_runs: u32,
    /// What VMAccessForLinux works on when the VM runs Linux.
    pub linux: LinuxGuest,
    /// Keyed by lower-cased name; each keeps its own casing.
    pub extensions: BTreeMap<String, Extension>,
    /// The scale set this VM is an instance of, if any.
    pub scale_set: Option<Membership>,
}

/// The world key of a VM: subscription, resource group and name, lower-cased.
pub(crate) fn vm_key(subscription: &str, resource_group: &str, name: &str) -> String {
    format!("{subscription}/{resource_group}/{name}").to_ascii_lowercase()
}

impl Vm {
    /// The ARM ID: a VM's, or a uniform instance's below its scale set.
    pub(crate) fn id(&self) -> String {
        match self.uniform_instance() {
            Some((membership, instance_id)) => {
                format!("{}/virtualMachines/{instance_id}", membership.scale_set_id)
            }
            None => format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachines/{}",
                self.subscription, self.resource_group, self.name
            ),
        }
    }

    /// The key of the VM in the world (and of its per-VM throttling budgets).
    pub(crate) fn key(&self) -> String {
        match self.uniform_instance() {
            Some((membership, instance_id)) => instance_key(
                &self.subscription,
                &self.resource_group,
                &membership.scale_set,
                instance_id,
            ),
            None => vm_key(&self.subscription, &self.resource_group, &self.name),
        }
    }

    /// The scale set membership and instance ID of a uniform scale set's instance.
    pub(crate) fn uniform_instance(&self) -> Option<(&Membership, &str)> {
        let membership = self.scale_set.as_ref()?;
        Some((membership, membership.instance_id.as_deref()?))
    }

    /// The ARM type of this VM's extensions.
    pub(crate) fn extension_type(&self) -> &'static str {
        if self.uniform_instance().is_some() {
            "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions"
        } else {
            "Microsoft.Compute/virtualMachines/extensions"
        }
    }

    /// The ARM JSON of one of this VM's extensions.
    pub(crate) fn extension_json(&self, extension: &Extension, with_instance_view: bool) -> Value {
        extension.to_arm(&self.id(), self.extension_type(), with_instance_view)
    }

    pub(crate) fn account_mut(&mut self, name: &str) -> Option<&mut Account> {
        self.accounts
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The account ARM reports as `osProfile.adminUsername`: the first administrator, else
    /// a Linux guest's first user.
    pub(crate) fn admin_username(&self) -> Option<&str> {
        self.accounts
            .iter()
            .find(|a| a.administrator)
            .map(|a| a.name.as_str())
            .or_else(|| self.linux.first_login_user())
    }

    /// Models an RDP login: the reason it fails, if it does.
    pub(crate) fn login(&self, username: &str, password: &str) -> Result<(), &'static str> {
        self.running()?;
        let account = self
            .accounts
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(username))
            .ok_or("no such account")?;
        if !account.enabled {
            return Err("the account is disabled");
        }
        if !account.password_matches(password) {
            return Err("wrong password");
        }
        if !self.rdp_enabled {
            return Err("Remote Desktop is disabled");
        }
        if !self.rdp_firewall_rule {
            return Err("the firewall blocks port 3389");
        }
        Ok(())
    }

    /// Models an SSH login to a Linux guest: the reason it fails, if it does.
    pub(crate) fn ssh_login(
        &self,
        username: &str,
        credential: SshCredential<'_>,
    ) -> Result<(), &'static str> {
        self.running()?;
        self.linux.ssh_login(username, credential)
    }

    fn running(&self) -> Result<(), &'static str> {
        match self.power_state {
            PowerState::Running => Ok(()),
            _ => Err("the VM is not running"),
        }
    }

    /// Whether `password` satisfies the guest's password policy for `username`:
    /// minimum length, 3 of 4 character classes, and not containing the account name.
    pub(crate) fn password_meets_policy(&self, username: &str, password: &str) -> bool {
        let classes = [
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_ascii_alphanumeric()),
        ];
        let contains_name = username.chars().count() >= 3
            && password.to_lowercase().contains(&username.to_lowercase());
        password.chars().count() >= self.password_min_length
            && classes.iter().filter(|c| **c).count() >= 3
            && !contains_name
    }
}
