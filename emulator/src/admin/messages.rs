//! The bodies of the admin API (`/_emulator/…`), one definition shared by the server's
//! handlers (which deserialize requests and serialize answers) and [`super::AdminClient`]
//! (which does the opposite). An absent field and `null` mean the same (its default), so a
//! typed change and a hand-written `{"field": value}` body are the same request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::LroStyle;
use crate::compute_reads::ComputeReadSettings;
use crate::faults::FaultSpec;
use crate::model::extension::{VMACCESS_PUBLISHER, VMACCESS_TYPE};
use crate::model::vm::{AccountSeed, OsType, PowerState};
use crate::state::SeededVm;
use crate::throttle::ThrottleSettings;

/// Out-of-band changes to a VM (admin `PATCH`). Absent fields are left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VmPatch {
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
    pub enable_account: Option<String>,
    pub delete_account: Option<String>,
    pub set_password: Option<Credentials>,
    /// Fails if an account of that name exists.
    pub add_account: Option<AccountSeed>,
}

/// A username and password: an admin `set_password`, or an RDP login attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// An extension created directly (admin `PUT …/extensions/{name}`, or in a [`Fleet`]), as if
/// an earlier deployment had left it. Defaults: a succeeded `Microsoft.Compute.VMAccessAgent`
/// 2.4 without settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtensionSeed {
    pub publisher: String,
    #[serde(rename = "type")]
    pub extension_type: String,
    pub type_handler_version: String,
    /// `true` when absent, as the portal sets it.
    pub auto_upgrade_minor_version: Option<bool>,
    /// Public settings, returned by ARM (VMAccess: `{"UserName": …}`).
    pub settings: Option<Value>,
    /// Never returned by ARM.
    pub protected_settings: Option<Value>,
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

/// Out-of-band changes to an extension (admin `PATCH …/extensions/{name}`). Absent fields
/// are left alone; a status message replaces the status, at the (new) provisioning state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtensionPatch {
    pub provisioning_state: Option<String>,
    /// The tag of the run that last changed the extension, as if another tool had run it.
    pub force_update_tag: Option<String>,
    pub status_message: Option<String>,
    /// Replaces the public settings.
    pub settings: Option<Value>,
}

/// A VM of a [`Fleet`]: where it is, its seed, and extensions (by name) as earlier
/// deployments left them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetVm {
    #[serde(flatten)]
    pub vm: SeededVm,
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
                vm: crate::VmSeed {
                    os_type,
                    ..crate::VmSeed::default()
                },
            },
            extensions: BTreeMap::new(),
        }
    }
}

/// Many VMs created in one request (`POST /_emulator/fleet`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fleet {
    pub vms: Vec<FleetVm>,
}

/// The answer to a fleet: how many VMs were created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetCreated {
    pub created: usize,
}

/// Whether the guest accepted a login, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOutcome {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to a new fault: its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultAdded {
    pub id: String,
}

/// An armed fault as `GET /_emulator/faults` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmedFaultView {
    pub id: String,
    pub spec: FaultSpec,
    /// Firings left; `None` fires until cleared.
    pub remaining: Option<u32>,
}

/// An application registration (`POST /_emulator/clients`): a client secret, a certificate
/// (PEM) for signed assertions, or both.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub certificate_pem: Option<String>,
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistered {
    pub client_id: String,
}

/// Run-time settings to change (`POST /_emulator/config`). Absent fields are left alone;
/// `throttling` replaces the settings (and refills the buckets).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigChange {
    /// How long operations started from now on take.
    pub operation_delay_ms: Option<u64>,
    pub lro_style: Option<LroStyle>,
    /// The `Retry-After` of operation responses and polls.
    pub poll_retry_after_secs: Option<u64>,
    /// The bearer token `/_emulator/oidc/github` accepts (default
    /// [`crate::DEFAULT_GITHUB_REQUEST_TOKEN`]).
    pub github_request_token: Option<String>,
    pub throttling: Option<ThrottleSettings>,
}

/// The run-time settings (`GET /_emulator/config`, and the answer to a change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeConfig {
    pub operation_delay_ms: u64,
    pub lro_style: LroStyle,
    pub poll_retry_after_secs: u64,
    pub throttling: ThrottleSettings,
}

/// Listing settings to change (`POST /_emulator/listing`). Absent fields are left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListingChange {
    /// VMs per page of a VM list; at least 1.
    pub page_size: Option<usize>,
    pub compute_reads: Option<ComputeReadSettings>,
}

/// The listing settings (`GET /_emulator/listing`, and the answer to a change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListingConfig {
    pub page_size: usize,
    pub compute_reads: ComputeReadSettings,
}

/// Adds or updates a subscription, and/or sets the page size of the subscription list
/// (`POST /_emulator/subscriptions`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SubscriptionChange {
    pub subscription_id: Option<String>,
    pub display_name: Option<String>,
    /// `Enabled` unless given (ARM also knows `Disabled`, `Warned`, `PastDue`, `Deleted`).
    pub state: Option<String>,
    pub page_size: Option<usize>,
}

/// The subscriptions after a change: how many, and the list's page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionsSummary {
    pub count: usize,
    pub page_size: usize,
}
