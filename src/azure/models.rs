//! Typed views of the ARM documents we read and write.
//!
//! Only the fields the provider needs are modelled; everything is `#[serde(default)]` because
//! ARM omits fields freely. [`ExtensionPut`] holds the protected settings (passwords): they are
//! serialised for the wire only, and its `Debug` never shows them. Which extension, and what its
//! settings mean, is the engine's business (`crate::vmaccess`), not this layer's.
//!
//! A leaf: imports nothing of the Azure layer.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `{code, level, displayStatus, message, time}`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct InstanceViewStatus {
    pub(crate) code: Option<String>,
    pub(crate) level: Option<String>,
    pub(crate) display_status: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) time: Option<String>,
}

/// The OS family of a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsType {
    /// A Windows guest.
    Windows,
    /// A Linux guest.
    Linux,
}

impl OsType {
    /// How Azure spells it (`storageProfile.osDisk.osType`).
    pub fn as_str(self) -> &'static str {
        match self {
            OsType::Windows => "Windows",
            OsType::Linux => "Linux",
        }
    }

    /// Azure's spelling, case-insensitively.
    pub fn parse(text: &str) -> Option<OsType> {
        [OsType::Windows, OsType::Linux]
            .into_iter()
            .find(|os| os.as_str().eq_ignore_ascii_case(text))
    }
}

impl std::fmt::Display for OsType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The guest agent as the instance view reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentStatus {
    /// `displayStatus == "Ready"`: the agent accepts new extension configurations.
    pub ready: bool,
    pub(crate) display_status: Option<String>,
    pub(crate) message: Option<String>,
}

/// A VM read with `$expand=instanceView`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VirtualMachine {
    pub(crate) id: String,
    /// The VM's name (a uniform scale set's instance: `{scale set}_{instance ID}`).
    pub name: String,
    /// Its Azure region.
    pub location: String,
    pub(crate) properties: VirtualMachineProperties,
    /// Child extension resources.
    pub(crate) resources: Vec<VmExtensionResource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct VirtualMachineProperties {
    pub(crate) provisioning_state: Option<String>,
    pub(crate) storage_profile: Option<StorageProfile>,
    pub(crate) os_profile: Option<OsProfile>,
    pub(crate) instance_view: Option<VmInstanceView>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct StorageProfile {
    pub(crate) os_disk: Option<OsDisk>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OsDisk {
    pub(crate) os_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OsProfile {
    pub(crate) computer_name: Option<String>,
    pub(crate) admin_username: Option<String>,
    pub(crate) windows_configuration: Option<Value>,
    pub(crate) linux_configuration: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct VmInstanceView {
    pub(crate) os_name: Option<String>,
    pub(crate) os_version: Option<String>,
    pub(crate) vm_agent: Option<VmAgentInstanceView>,
    pub(crate) extensions: Vec<ExtensionInstanceView>,
    pub(crate) statuses: Vec<InstanceViewStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct VmAgentInstanceView {
    pub(crate) vm_agent_version: Option<String>,
    pub(crate) statuses: Vec<InstanceViewStatus>,
}

/// An extension's instance view: `type` is `<publisher>.<type>` here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ExtensionInstanceView {
    pub(crate) name: Option<String>,
    #[serde(rename = "type")]
    pub(crate) extension_type: Option<String>,
    pub(crate) type_handler_version: Option<String>,
    pub(crate) statuses: Vec<InstanceViewStatus>,
    pub(crate) substatuses: Vec<InstanceViewStatus>,
}

/// An entry of the VM's `resources[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct VmExtensionResource {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) properties: ExtensionProperties,
}

impl VirtualMachine {
    /// The ARM ID as Azure gave it.
    pub(crate) fn arm_id(&self) -> &str {
        &self.id
    }

    /// `storageProfile.osDisk.osType`, falling back to the presence of a Linux configuration.
    pub fn os_type(&self) -> Option<OsType> {
        os_type_of(
            self.properties.storage_profile.as_ref(),
            self.properties.os_profile.as_ref(),
        )
    }

    fn instance_statuses(&self) -> &[InstanceViewStatus] {
        self.properties
            .instance_view
            .as_ref()
            .map(|iv| iv.statuses.as_slice())
            .unwrap_or_default()
    }

    /// `osProfile.linuxConfiguration.disablePasswordAuthentication`: whether the VM was created
    /// with SSH password logins turned off. `None` when Azure does not say (or on Windows).
    pub(crate) fn password_authentication_disabled(&self) -> Option<bool> {
        self.properties
            .os_profile
            .as_ref()?
            .linux_configuration
            .as_ref()?
            .get("disablePasswordAuthentication")?
            .as_bool()
    }

    /// The `PowerState/*` code suffix: "running", "stopped", "deallocated", …
    pub fn power_state(&self) -> Option<String> {
        self.instance_statuses().iter().find_map(|s| {
            let code = s.code.as_deref()?;
            let (prefix, state) = code.split_once('/')?;
            prefix
                .eq_ignore_ascii_case("PowerState")
                .then(|| state.to_ascii_lowercase())
        })
    }

    /// Whether the instance view says `PowerState/running`.
    pub fn is_running(&self) -> bool {
        self.power_state().as_deref() == Some("running")
    }

    /// The guest agent's state; not ready when the instance view has no agent section.
    pub fn agent(&self) -> AgentStatus {
        let status = self
            .properties
            .instance_view
            .as_ref()
            .and_then(|iv| iv.vm_agent.as_ref())
            .and_then(|a| a.statuses.first());
        match status {
            Some(s) => AgentStatus {
                ready: s
                    .display_status
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case("Ready")),
                display_status: s.display_status.clone(),
                message: s.message.clone(),
            },
            None => AgentStatus::default(),
        }
    }

    /// The name of an installed extension of the given publisher and type, whatever it is called
    /// (Compute allows one per handler, so a new one must reuse this name).
    pub fn extension_name_of(&self, publisher: &str, extension_type: &str) -> Option<String> {
        let handler = format!("{publisher}.{extension_type}");
        let from_view = self
            .properties
            .instance_view
            .as_ref()
            .and_then(|iv| {
                iv.extensions.iter().find(|e| {
                    e.extension_type
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case(&handler))
                })
            })
            .and_then(|e| e.name.clone());
        from_view.or_else(|| {
            self.resources
                .iter()
                .find(|r| r.properties.is_of(publisher, extension_type))
                .and_then(|r| {
                    r.name.clone().map(|n| {
                        // `resources[].name` may be just the extension name or "vm/extension".
                        n.rsplit('/').next().unwrap_or(&n).to_owned()
                    })
                })
        })
    }
}

/// `storageProfile.osDisk.osType`, falling back to which OS configuration the profile has.
fn os_type_of(storage: Option<&StorageProfile>, os: Option<&OsProfile>) -> Option<OsType> {
    let declared = storage
        .and_then(|s| s.os_disk.as_ref())
        .and_then(|d| d.os_type.as_deref())
        .and_then(OsType::parse);
    declared.or_else(|| {
        let os = os?;
        let has = |config: &Option<Value>| config.as_ref().is_some_and(|v| !v.is_null());
        if has(&os.linux_configuration) {
            Some(OsType::Linux)
        } else if has(&os.windows_configuration) {
            Some(OsType::Windows)
        } else {
            None
        }
    })
}

/// How a scale set manages its instances (fixed when it is created).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orchestration {
    /// Instances are `virtualMachineScaleSets/virtualMachines`, reached through the scale set.
    Uniform,
    /// Instances are ordinary VMs that name the scale set.
    Flexible,
}

impl Orchestration {
    /// How Azure spells it (`properties.orchestrationMode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Orchestration::Uniform => "Uniform",
            Orchestration::Flexible => "Flexible",
        }
    }
}

/// A VM scale set, read without instance view.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScaleSet {
    pub(crate) id: String,
    /// The scale set's name.
    pub name: String,
    /// Its Azure region.
    pub location: String,
    pub(crate) properties: ScaleSetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ScaleSetProperties {
    pub(crate) orchestration_mode: Option<String>,
    pub(crate) upgrade_policy: Option<UpgradePolicy>,
    pub(crate) virtual_machine_profile: Option<ScaleSetVmProfile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UpgradePolicy {
    pub(crate) mode: Option<String>,
}

/// The model every new instance is built from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ScaleSetVmProfile {
    pub(crate) os_profile: Option<OsProfile>,
    pub(crate) storage_profile: Option<StorageProfile>,
    pub(crate) extension_profile: Option<ExtensionProfile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ExtensionProfile {
    pub(crate) extensions: Vec<VmExtensionResource>,
}

impl ScaleSet {
    /// `Uniform` unless Azure says `Flexible` (scale sets older than flexible orchestration do
    /// not say).
    pub fn orchestration(&self) -> Orchestration {
        match self.properties.orchestration_mode.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("flexible") => Orchestration::Flexible,
            _ => Orchestration::Uniform,
        }
    }

    /// The OS of the scale set's model.
    pub fn os_type(&self) -> Option<OsType> {
        let profile = self.properties.virtual_machine_profile.as_ref()?;
        os_type_of(
            profile.storage_profile.as_ref(),
            profile.os_profile.as_ref(),
        )
    }

    /// `upgradePolicy.mode`: "Manual", "Automatic" or "Rolling".
    pub(crate) fn upgrade_mode(&self) -> Option<&str> {
        self.properties.upgrade_policy.as_ref()?.mode.as_deref()
    }

    /// The name of the model's extension of this publisher and type, if it has one.
    pub(crate) fn model_extension_name_of(
        &self,
        publisher: &str,
        extension_type: &str,
    ) -> Option<String> {
        self.properties
            .virtual_machine_profile
            .as_ref()?
            .extension_profile
            .as_ref()?
            .extensions
            .iter()
            .find(|e| e.properties.is_of(publisher, extension_type))?
            .name
            .clone()
    }
}

/// The `properties` of an extension as ARM returns them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ExtensionProperties {
    pub(crate) publisher: Option<String>,
    #[serde(rename = "type")]
    pub(crate) extension_type: Option<String>,
    pub(crate) type_handler_version: Option<String>,
    pub(crate) auto_upgrade_minor_version: Option<bool>,
    pub(crate) force_update_tag: Option<String>,
    pub(crate) settings: Option<Value>,
    pub(crate) provisioning_state: Option<String>,
    pub(crate) instance_view: Option<ExtensionInstanceView>,
}

impl ExtensionProperties {
    fn is_of(&self, publisher: &str, extension_type: &str) -> bool {
        self.publisher
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(publisher))
            && self
                .extension_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(extension_type))
    }
}

/// The wire shape of `GET …/extensions/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ExtensionWire {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) location: Option<String>,
    pub(crate) properties: ExtensionProperties,
}

/// A VM extension read with `$expand=instanceView`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmExtension {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) location: Option<String>,
    pub(crate) publisher: String,
    pub(crate) extension_type: String,
    pub(crate) type_handler_version: String,
    pub(crate) auto_upgrade_minor_version: bool,
    pub(crate) force_update_tag: Option<String>,
    /// Public settings (`protectedSettings` are never returned by ARM).
    pub settings: Value,
    /// ARM omits the state only when it is `Succeeded`.
    pub provisioning_state: String,
    pub(crate) statuses: Vec<InstanceViewStatus>,
    pub(crate) substatuses: Vec<InstanceViewStatus>,
}

impl From<ExtensionWire> for VmExtension {
    fn from(w: ExtensionWire) -> Self {
        let p = w.properties;
        let (statuses, substatuses) = p
            .instance_view
            .map(|iv| (iv.statuses, iv.substatuses))
            .unwrap_or_default();
        VmExtension {
            id: w.id,
            name: w.name,
            location: w.location,
            publisher: p.publisher.unwrap_or_default(),
            extension_type: p.extension_type.unwrap_or_default(),
            type_handler_version: p.type_handler_version.unwrap_or_default(),
            auto_upgrade_minor_version: p.auto_upgrade_minor_version.unwrap_or(false),
            force_update_tag: p.force_update_tag,
            settings: p.settings.unwrap_or(Value::Null),
            provisioning_state: p
                .provisioning_state
                .unwrap_or_else(|| "Succeeded".to_owned()),
            statuses,
            substatuses,
        }
    }
}

impl VmExtension {
    /// Whether it has this publisher and type, case-insensitively (as ARM compares them).
    pub fn is_of(&self, publisher: &str, extension_type: &str) -> bool {
        self.publisher.eq_ignore_ascii_case(publisher)
            && self.extension_type.eq_ignore_ascii_case(extension_type)
    }

    /// The human-readable messages of the instance view (statuses then substatuses), the in-guest
    /// explanation of a failure.
    pub(crate) fn status_messages(&self) -> Vec<String> {
        self.statuses
            .iter()
            .chain(self.substatuses.iter())
            .filter_map(|s| {
                let msg = s
                    .message
                    .as_deref()
                    .map(str::trim)
                    .filter(|m| !m.is_empty());
                match (msg, s.display_status.as_deref()) {
                    (Some(m), Some(d)) if !d.is_empty() => Some(format!("{d}: {m}")),
                    (Some(m), _) => Some(m.to_owned()),
                    (None, _) => None,
                }
            })
            .collect()
    }
}

/// An extension's `protectedSettings` (passwords, keys): sent to ARM, which never returns them,
/// and shown as `REDACTED` by `Debug`.
#[derive(Clone, Default)]
pub struct ProtectedSettings(Value);

impl ProtectedSettings {
    /// Wraps the JSON to send.
    pub fn new(value: Value) -> ProtectedSettings {
        ProtectedSettings(value)
    }
}

impl std::fmt::Debug for ProtectedSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("REDACTED")
    }
}

/// The body of an extension PUT: `{"location"?, "properties": {"publisher", "type",
/// "typeHandlerVersion", "autoUpgradeMinorVersion", "forceUpdateTag", "settings",
/// "protectedSettings"}}`. Absent settings are sent as `{}` (not null), like the Az cmdlets.
#[derive(Clone, Debug)]
pub struct ExtensionPut {
    /// The VM's region (an extension lives where its VM does); `None` for the extension of a
    /// uniform scale set's instance or of a scale set's model, whose bodies have no location.
    pub location: Option<String>,
    /// The extension's publisher, e.g. `Microsoft.Compute`.
    pub publisher: String,
    /// The extension's type, e.g. `VMAccessAgent`.
    pub extension_type: String,
    /// The handler version, `major.minor`.
    pub type_handler_version: String,
    /// Whether Azure may move to newer minor versions.
    pub auto_upgrade_minor_version: bool,
    /// A value that changes on every run, so ARM reruns an unchanged extension.
    pub force_update_tag: String,
    /// The public settings.
    pub settings: Value,
    /// The secret settings.
    pub protected_settings: ProtectedSettings,
}

impl ExtensionPut {
    /// The JSON sent to ARM. This is the only place the protected settings are exposed.
    pub(crate) fn to_wire(&self) -> Value {
        let or_empty = |v: &Value| if v.is_null() { json!({}) } else { v.clone() };
        let mut body = json!({
            "properties": {
                "publisher": self.publisher,
                "type": self.extension_type,
                "typeHandlerVersion": self.type_handler_version,
                "autoUpgradeMinorVersion": self.auto_upgrade_minor_version,
                "forceUpdateTag": self.force_update_tag,
                "settings": or_empty(&self.settings),
                "protectedSettings": or_empty(&self.protected_settings.0),
            }
        });
        if let Some(location) = &self.location {
            body["location"] = json!(location);
        }
        body
    }
}

impl Serialize for ExtensionPut {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_body_shape_and_debug() {
        let put = ExtensionPut {
            location: Some("westeurope".into()),
            publisher: "Example.Publisher".into(),
            extension_type: "ExampleType".into(),
            type_handler_version: "2.4".into(),
            auto_upgrade_minor_version: true,
            force_update_tag: "tag-1".into(),
            settings: json!({"user": "azureadmin"}),
            protected_settings: ProtectedSettings::new(json!({"secret": "Sup3r-Secret!"})),
        };
        let v = put.to_wire();
        assert_eq!(v["properties"]["settings"]["user"], "azureadmin");
        assert_eq!(
            v["properties"]["protectedSettings"]["secret"],
            "Sup3r-Secret!"
        );
        assert_eq!(v["properties"]["type"], "ExampleType");
        assert_eq!(v["properties"]["publisher"], "Example.Publisher");
        assert!(!format!("{put:?}").contains("Sup3r-Secret!"));

        let empty = ExtensionPut {
            settings: Value::Null,
            protected_settings: ProtectedSettings::default(),
            ..put
        };
        let v = empty.to_wire();
        assert_eq!(v["properties"]["settings"], json!({}));
        assert_eq!(v["properties"]["protectedSettings"], json!({}));
    }

    #[test]
    fn vm_helpers() {
        let vm: VirtualMachine = serde_json::from_value(json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
            "name": "vm", "location": "westeurope",
            "properties": {
                "storageProfile": {"osDisk": {"osType": "Windows"}},
                "instanceView": {
                    "vmAgent": {"statuses": [{"code": "ProvisioningState/succeeded", "displayStatus": "Ready", "message": "GuestAgent is running"}]},
                    "extensions": [{"name": "myaccess", "type": "microsoft.compute.vmaccessagent"}],
                    "statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/deallocated"}]
                }
            },
            "resources": []
        }))
        .expect("valid");
        assert_eq!(vm.os_type(), Some(OsType::Windows));
        assert_eq!(vm.power_state().as_deref(), Some("deallocated"));
        assert!(!vm.is_running());
        assert!(vm.agent().ready);
        assert_eq!(
            vm.extension_name_of("Microsoft.Compute", "VMAccessAgent")
                .as_deref(),
            Some("myaccess")
        );

        let linux: VirtualMachine = serde_json::from_value(json!({
            "properties": {"osProfile": {"linuxConfiguration": {"disablePasswordAuthentication": true}},
            "storageProfile": {"osDisk": {"osType": null}}},
            "resources": [{"name": "acc", "properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent"}}]
        }))
        .expect("valid");
        assert_eq!(linux.os_type(), Some(OsType::Linux));
        assert!(!linux.agent().ready);
        assert_eq!(
            linux
                .extension_name_of("Microsoft.Compute", "VMAccessAgent")
                .as_deref(),
            Some("acc")
        );
    }
}
