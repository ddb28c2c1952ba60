//! A virtual machine as the emulator models it: ARM-visible properties plus
//! the guest state VMAccess changes (local accounts, Remote Desktop).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::extension::{Extension, ExtensionView};
use super::replace_if_some;
use crate::admin::VmPatch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OsType {
    #[default]
    Windows,
    Linux,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    #[default]
    Running,
    Stopped,
    Deallocated,
}

impl PowerState {
    pub fn code(self) -> &'static str {
        match self {
            PowerState::Running => "running",
            PowerState::Stopped => "stopped",
            PowerState::Deallocated => "deallocated",
        }
    }
}

/// A local account to create when seeding a VM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountSeed {
    pub name: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
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

    pub fn disabled(self) -> AccountSeed {
        AccountSeed {
            enabled: false,
            ..self
        }
    }

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

fn default_agent_message() -> String {
    "VM status blob not found.".into()
}

/// Everything needed to create a VM through the admin API; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmSeed {
    #[serde(default = "default_location")]
    pub location: String,
    #[serde(default)]
    pub os_type: OsType,
    #[serde(default)]
    pub power_state: PowerState,
    #[serde(default = "yes")]
    pub agent_ready: bool,
    /// Message of the agent status when it is not ready.
    #[serde(default)]
    pub agent_status_message: Option<String>,
    #[serde(default)]
    pub domain_controller: bool,
    #[serde(default = "default_min_length")]
    pub password_min_length: usize,
    #[serde(default)]
    pub accounts: Vec<AccountSeed>,
    #[serde(default = "yes")]
    pub rdp_enabled: bool,
    #[serde(default = "yes")]
    pub rdp_firewall_rule: bool,
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

    /// The VM of the README's story: a running Windows VM whose only administrator
    /// ([`LOCKED_OUT_USER`]) is disabled, with a forgotten password ([`LOCKED_OUT_PASSWORD`]).
    pub fn locked_out() -> VmSeed {
        VmSeed::windows([AccountSeed::new(LOCKED_OUT_USER, LOCKED_OUT_PASSWORD).disabled()])
    }
}

/// A local account. Only a salted hash of the password is kept.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    salt: String,
    password_hash: Option<String>,
    pub enabled: bool,
    pub administrator: bool,
    pub password_set_count: u32,
}

impl Account {
    pub fn new(name: &str, administrator: bool) -> Account {
        Account {
            name: name.to_string(),
            salt: String::new(),
            password_hash: None,
            enabled: true,
            administrator,
            password_set_count: 0,
        }
    }

    pub fn set_password(&mut self, password: &str) {
        self.salt = uuid::Uuid::new_v4().simple().to_string();
        self.password_hash = Some(hash(&self.salt, password));
        self.password_set_count += 1;
    }

    pub fn password_matches(&self, password: &str) -> bool {
        self.password_hash.as_deref() == Some(hash(&self.salt, password).as_str())
    }
}

fn hash(salt: &str, password: &str) -> String {
    let digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(password.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A virtual machine.
#[derive(Debug, Clone)]
pub struct Vm {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub vm_id: String,
    pub location: String,
    pub os_type: OsType,
    pub power_state: PowerState,
    pub agent_ready: bool,
    pub agent_status_message: String,
    pub domain_controller: bool,
    pub password_min_length: usize,
    pub accounts: Vec<Account>,
    pub rdp_enabled: bool,
    pub rdp_firewall_rule: bool,
    pub vmaccess_runs: u32,
    /// Keyed by lower-cased name; each keeps its own casing.
    pub extensions: BTreeMap<String, Extension>,
}

impl Vm {
    pub fn from_seed(subscription: &str, resource_group: &str, name: &str, seed: &VmSeed) -> Vm {
        let accounts = seed
            .accounts
            .iter()
            .map(|a| {
                let mut account = Account::new(&a.name, a.administrator);
                account.enabled = a.enabled;
                if let Some(password) = &a.password {
                    account.set_password(password);
                }
                account
            })
            .collect();
        Vm {
            subscription: subscription.to_string(),
            resource_group: resource_group.to_string(),
            name: name.to_string(),
            vm_id: uuid::Uuid::new_v4().to_string(),
            location: seed.location.clone(),
            os_type: seed.os_type,
            power_state: seed.power_state,
            agent_ready: seed.agent_ready,
            agent_status_message: seed
                .agent_status_message
                .clone()
                .unwrap_or_else(default_agent_message),
            domain_controller: seed.domain_controller,
            password_min_length: seed.password_min_length,
            accounts,
            rdp_enabled: seed.rdp_enabled,
            rdp_firewall_rule: seed.rdp_firewall_rule,
            vmaccess_runs: 0,
            extensions: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachines/{}",
            self.subscription, self.resource_group, self.name
        )
    }

    pub fn account_mut(&mut self, name: &str) -> Option<&mut Account> {
        self.accounts
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The account ARM reports as `osProfile.adminUsername`: the first administrator.
    pub fn admin_username(&self) -> Option<&str> {
        self.accounts
            .iter()
            .find(|a| a.administrator)
            .map(|a| a.name.as_str())
    }

    /// Applies an out-of-band change. Errors name the unknown account.
    pub fn apply_patch(&mut self, patch: &VmPatch) -> Result<(), String> {
        replace_if_some(&mut self.os_type, &patch.os_type);
        replace_if_some(&mut self.power_state, &patch.power_state);
        replace_if_some(&mut self.agent_ready, &patch.agent_ready);
        replace_if_some(&mut self.agent_status_message, &patch.agent_status_message);
        replace_if_some(&mut self.domain_controller, &patch.domain_controller);
        replace_if_some(&mut self.password_min_length, &patch.password_min_length);
        replace_if_some(&mut self.rdp_enabled, &patch.rdp_enabled);
        replace_if_some(&mut self.rdp_firewall_rule, &patch.rdp_firewall_rule);
        if let Some(seed) = &patch.add_account {
            if self.account_mut(&seed.name).is_some() {
                return Err(format!("account '{}' already exists", seed.name));
            }
            let mut account = Account::new(&seed.name, seed.administrator);
            account.enabled = seed.enabled;
            if let Some(p) = &seed.password {
                account.set_password(p);
            }
            self.accounts.push(account);
        }
        let missing = |n: &str| format!("no account named '{n}'");
        if let Some(name) = &patch.disable_account {
            self.account_mut(name).ok_or_else(|| missing(name))?.enabled = false;
        }
        if let Some(name) = &patch.enable_account {
            self.account_mut(name).ok_or_else(|| missing(name))?.enabled = true;
        }
        if let Some(creds) = &patch.set_password {
            self.account_mut(&creds.username)
                .ok_or_else(|| missing(&creds.username))?
                .set_password(&creds.password);
        }
        if let Some(name) = &patch.delete_account {
            let before = self.accounts.len();
            self.accounts.retain(|a| !a.name.eq_ignore_ascii_case(name));
            if before == self.accounts.len() {
                return Err(missing(name));
            }
        }
        Ok(())
    }

    /// Models an RDP login: the reason it fails, if it does.
    pub fn login(&self, username: &str, password: &str) -> Result<(), &'static str> {
        if self.power_state != PowerState::Running {
            return Err("the VM is not running");
        }
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

    /// Whether `password` satisfies the guest's password policy for `username`:
    /// minimum length, 3 of 4 character classes, and not containing the account name.
    pub fn password_meets_policy(&self, username: &str, password: &str) -> bool {
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

    pub fn view(&self) -> VmView {
        VmView {
            id: self.id(),
            name: self.name.clone(),
            location: self.location.clone(),
            os_type: self.os_type,
            power_state: self.power_state,
            agent_ready: self.agent_ready,
            domain_controller: self.domain_controller,
            accounts: self
                .accounts
                .iter()
                .map(|a| AccountView {
                    name: a.name.clone(),
                    enabled: a.enabled,
                    administrator: a.administrator,
                    password_set_count: a.password_set_count,
                })
                .collect(),
            rdp_enabled: self.rdp_enabled,
            rdp_firewall_rule: self.rdp_firewall_rule,
            vmaccess_runs: self.vmaccess_runs,
            extensions: self.extensions.values().map(Extension::view).collect(),
        }
    }
}

/// What the admin API shows of an account. Never a password or hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountView {
    pub name: String,
    pub enabled: bool,
    pub administrator: bool,
    pub password_set_count: u32,
}

/// What the admin API shows of a VM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmView {
    pub id: String,
    pub name: String,
    pub location: String,
    pub os_type: OsType,
    pub power_state: PowerState,
    pub agent_ready: bool,
    pub domain_controller: bool,
    pub accounts: Vec<AccountView>,
    pub rdp_enabled: bool,
    pub rdp_firewall_rule: bool,
    pub vmaccess_runs: u32,
    pub extensions: Vec<ExtensionView>,
}

impl VmView {
    pub fn account(&self, name: &str) -> Option<&AccountView> {
        self.accounts
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn extension(&self, name: &str) -> Option<&ExtensionView> {
        self.extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    }
}
