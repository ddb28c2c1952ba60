//! Virtual machine scale sets (`Microsoft.Compute/virtualMachineScaleSets`): the scale set's
//! model (its extensions, kept with their protected settings, never returned) and how its
//! instances belong to it.
//!
//! The instances themselves are [`Vm`]s in the world, so a uniform instance runs extensions
//! (VMAccess included) through the same code as a VM. A uniform instance is addressed below
//! its scale set (`…/virtualMachineScaleSets/{name}/virtualMachines/{instanceId}`) and has a
//! world key of that shape; a flexible instance is an ordinary VM that names its scale set
//! (both through [`super::membership`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::extension::ExtensionConfig;
use super::membership::scale_set_key;
use super::vm::OsType;

/// How a scale set's instances are managed (fixed at creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OrchestrationMode {
    /// Instances are `virtualMachineScaleSets/virtualMachines`, with their own API.
    #[default]
    Uniform,
    /// Instances are ordinary `virtualMachines` that name the scale set.
    Flexible,
}

impl OrchestrationMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrchestrationMode::Uniform => "Uniform",
            OrchestrationMode::Flexible => "Flexible",
        }
    }
}

/// When a change of the model reaches the instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UpgradePolicy {
    /// Only through `manualupgrade`; until then instances report `latestModelApplied: false`.
    #[default]
    Manual,
    /// Every running instance at once, as the change completes.
    Automatic,
    /// In batches in Azure; the emulator (which models no health probe) applies it like
    /// Automatic.
    Rolling,
}

impl UpgradePolicy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UpgradePolicy::Manual => "Manual",
            UpgradePolicy::Automatic => "Automatic",
            UpgradePolicy::Rolling => "Rolling",
        }
    }

    /// Whether a model change reaches the instances without `manualupgrade`.
    pub(crate) fn applies_changes(self) -> bool {
        self != UpgradePolicy::Manual
    }
}

/// An extension of the scale set's model.
#[derive(Debug, Clone)]
pub(crate) struct ModelExtension {
    pub name: String,
    /// `location` is the scale set's; protected settings are kept, never shown.
    pub config: ExtensionConfig,
    /// `Creating`/`Updating`/`Deleting` while a change runs, then `Succeeded`.
    pub provisioning_state: String,
}

impl ModelExtension {
    /// `VirtualMachineScaleSetExtension`: no location, never `protectedSettings`.
    pub(crate) fn to_arm(&self, scale_set_id: &str) -> Value {
        let c = &self.config;
        let mut props = match serde_json::to_value(&c.options) {
            Ok(Value::Object(options)) => options,
            _ => Map::new(),
        };
        props.insert("provisioningState".into(), json!(self.provisioning_state));
        props.insert("publisher".into(), json!(c.publisher));
        props.insert("type".into(), json!(c.extension_type));
        props.insert("typeHandlerVersion".into(), json!(c.type_handler_version));
        json!({
            "name": self.name,
            "id": format!("{scale_set_id}/extensions/{}", self.name),
            "type": "Microsoft.Compute/virtualMachineScaleSets/extensions",
            "properties": Value::Object(props),
        })
    }
}

/// A scale set: where it is, how it is orchestrated and upgraded, its model, its instances.
#[derive(Debug, Clone)]
pub(crate) struct ScaleSet {
    /// In the casing it was created with.
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    /// ARM's `uniqueId`, a GUID.
    pub unique_id: String,
    pub orchestration_mode: OrchestrationMode,
    pub upgrade_policy: UpgradePolicy,
    /// What every instance runs, as the model's `osProfile` and `storageProfile` report it.
    pub os_type: OsType,
    pub admin_username: String,
    pub disable_password_authentication: bool,
    /// The model's extensions, keyed by lower-cased name.
    pub extensions: BTreeMap<String, ModelExtension>,
    /// The world keys of the instances, in instance order.
    pub instances: Vec<String>,
}

impl ScaleSet {
    pub(crate) fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            self.subscription, self.resource_group, self.name
        )
    }

    pub(crate) fn key(&self) -> String {
        scale_set_key(&self.subscription, &self.resource_group, &self.name)
    }

    /// `computerNamePrefix`: the scale set's name, as Azure's default.
    pub(crate) fn computer_name_prefix(&self) -> &str {
        &self.name
    }

    /// The `VirtualMachineScaleSet` ARM JSON. Model extensions never carry
    /// `protectedSettings`.
    pub(crate) fn to_arm(&self) -> Value {
        let id = self.id();
        let windows = self.os_type == OsType::Windows;
        let mut os_profile = json!({
            "computerNamePrefix": self.computer_name_prefix(),
            "adminUsername": self.admin_username,
            "secrets": [],
            "allowExtensionOperations": true,
            "requireGuestProvisionSignal": true,
        });
        if windows {
            os_profile["windowsConfiguration"] =
                json!({"provisionVMAgent": true, "enableAutomaticUpdates": true});
        } else {
            os_profile["linuxConfiguration"] = json!({
                "disablePasswordAuthentication": self.disable_password_authentication,
                "provisionVMAgent": true,
            });
        }
        let extensions: Vec<Value> = self
            .extensions
            .values()
            .map(|e| {
                // The model's entries carry no `id`/`type`, as Azure's GET shows them.
                let mut value = e.to_arm(&id);
                if let Value::Object(map) = &mut value {
                    map.remove("id");
                    map.remove("type");
                }
                value
            })
            .collect();
        let provisioning_state = if self
            .extensions
            .values()
            .any(|e| e.provisioning_state != "Succeeded")
        {
            "Updating"
        } else {
            "Succeeded"
        };
        json!({
            "id": id,
            "name": self.name,
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": self.location,
            "sku": {"name": "Standard_D2s_v3", "tier": "Standard", "capacity": self.instances.len()},
            "properties": {
                "orchestrationMode": self.orchestration_mode.as_str(),
                "upgradePolicy": {"mode": self.upgrade_policy.as_str()},
                "provisioningState": provisioning_state,
                "uniqueId": self.unique_id,
                "singlePlacementGroup": false,
                "overprovision": false,
                "virtualMachineProfile": {
                    "osProfile": os_profile,
                    "storageProfile": {
                        "osDisk": {
                            "osType": if windows { "Windows" } else { "Linux" },
                            "createOption": "FromImage",
                            "caching": "ReadWrite",
                            "managedDisk": {"storageAccountType": "Premium_LRS"},
                        },
                    },
                    "extensionProfile": {"extensions": extensions},
                },
            },
        })
    }
}
