//! VM extensions: the configuration a PUT carries, the stored resource and its
//! ARM JSON shape (`Microsoft.Compute/virtualMachines/extensions`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::now_rfc3339;

pub(crate) const VMACCESS_PUBLISHER: &str = "Microsoft.Compute";
pub(crate) const VMACCESS_TYPE: &str = "VMAccessAgent";
pub(crate) const VMACCESS_LINUX_PUBLISHER: &str = "Microsoft.OSTCExtensions";
pub(crate) const VMACCESS_LINUX_TYPE: &str = "VMAccessForLinux";

/// The PUT body of a VM extension, as clients send it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExtensionBody {
    pub location: Option<String>,
    pub tags: Option<Value>,
    pub properties: Option<ExtensionBodyProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExtensionBodyProperties {
    pub publisher: Option<String>,
    #[serde(rename = "type")]
    pub extension_type: Option<String>,
    pub type_handler_version: Option<String>,
    #[serde(flatten)]
    pub options: ExtensionOptions,
}

/// The optional properties a client sets on an extension, named as in ARM's JSON. They
/// serialize as ARM returns them: absent ones left out, `protectedSettings` never.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExtensionOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_upgrade_minor_version: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_automatic_upgrade: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress_failures: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_update_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
    /// Write-only: the guest handler reads it, ARM never returns it.
    #[serde(skip_serializing)]
    pub protected_settings: Option<Value>,
}

/// The user-controlled configuration of an extension.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExtensionConfig {
    pub location: String,
    pub tags: Option<Value>,
    pub publisher: String,
    pub extension_type: String,
    pub type_handler_version: String,
    pub options: ExtensionOptions,
}

impl ExtensionConfig {
    pub(crate) fn is_vmaccess(&self) -> bool {
        self.is(VMACCESS_PUBLISHER, VMACCESS_TYPE)
    }

    pub(crate) fn is_vmaccess_linux(&self) -> bool {
        self.is(VMACCESS_LINUX_PUBLISHER, VMACCESS_LINUX_TYPE)
    }

    fn is(&self, publisher: &str, extension_type: &str) -> bool {
        self.publisher.eq_ignore_ascii_case(publisher)
            && self.extension_type.eq_ignore_ascii_case(extension_type)
    }

    /// `Publisher.Type`, the handler name ARM reports in instance views.
    pub(crate) fn handler(&self) -> String {
        format!("{}.{}", self.publisher, self.extension_type)
    }

    /// The property ARM refuses to change when `self` replaces `previous` under the same name
    /// (`PropertyChangeNotAllowed`): the handler's publisher or type.
    pub(crate) fn changed_immutable(&self, previous: &ExtensionConfig) -> Option<&'static str> {
        if !self.publisher.eq_ignore_ascii_case(&previous.publisher) {
            Some("publisher")
        } else if !self
            .extension_type
            .eq_ignore_ascii_case(&previous.extension_type)
        {
            Some("type")
        } else {
            None
        }
    }

    pub(crate) fn same_handler(&self, other: &ExtensionConfig) -> bool {
        self.publisher.eq_ignore_ascii_case(&other.publisher)
            && self
                .extension_type
                .eq_ignore_ascii_case(&other.extension_type)
    }

    /// Whether the guest handler runs when `self` replaces `previous`: a new
    /// extension, a changed `forceUpdateTag`, changed (protected) settings or
    /// a changed handler version. Otherwise the goal state is unchanged.
    pub(crate) fn needs_guest_run(&self, previous: Option<&ExtensionConfig>) -> bool {
        let Some(previous) = previous else {
            return true;
        };
        let (new, old) = (&self.options, &previous.options);
        new.force_update_tag != old.force_update_tag
            || normalized(&new.settings) != normalized(&old.settings)
            || normalized(&new.protected_settings) != normalized(&old.protected_settings)
            || self.type_handler_version != previous.type_handler_version
    }
}

/// An absent settings object and `{}` mean the same to the handler.
fn normalized(value: &Option<Value>) -> Value {
    match value {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v) => v.clone(),
    }
}

/// `InstanceViewStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceStatus {
    pub code: String,
    pub level: String,
    pub display_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

impl InstanceStatus {
    pub(crate) fn succeeded(message: &str) -> InstanceStatus {
        InstanceStatus::provisioning("succeeded", "Info", "Provisioning succeeded", message)
    }

    pub(crate) fn failed(message: &str) -> InstanceStatus {
        InstanceStatus::failed_with_code(1, message)
    }

    /// `ProvisioningState/failed/{code}`: the handler's status code (VMAccessForLinux
    /// always reports 0).
    pub(crate) fn failed_with_code(code: u32, message: &str) -> InstanceStatus {
        let state = format!("failed/{code}");
        InstanceStatus::provisioning(&state, "Error", "Provisioning failed", message)
    }

    /// A `ProvisioningState/{state}` status stamped now.
    fn provisioning(state: &str, level: &str, display: &str, message: &str) -> InstanceStatus {
        InstanceStatus {
            code: format!("ProvisioningState/{state}"),
            level: level.into(),
            display_status: display.into(),
            message: Some(message.to_string()),
            time: Some(now_rfc3339()),
        }
    }
}

/// A stored extension resource.
#[derive(Debug, Clone)]
pub(crate) struct Extension {
    pub name: String,
    pub config: ExtensionConfig,
    pub provisioning_state: String,
    pub statuses: Vec<InstanceStatus>,
    pub substatuses: Vec<InstanceStatus>,
}

impl Extension {
    /// The extension's ARM ID, below its VM's (`vm_arm_id`, see `Vm::id`).
    pub(crate) fn id(&self, vm_arm_id: &str) -> String {
        format!("{vm_arm_id}/extensions/{}", self.name)
    }

    /// The ARM JSON of the extension of the VM (or scale-set instance) `vm_arm_id`, of ARM
    /// type `resource_type`. `protectedSettings` is never included.
    pub(crate) fn to_arm(
        &self,
        vm_arm_id: &str,
        resource_type: &str,
        with_instance_view: bool,
    ) -> Value {
        let c = &self.config;
        let mut props = match serde_json::to_value(&c.options) {
            Ok(Value::Object(options)) => options,
            _ => Map::new(),
        };
        props.insert("provisioningState".into(), json!(self.provisioning_state));
        props.insert("publisher".into(), json!(c.publisher));
        props.insert("type".into(), json!(c.extension_type));
        props.insert("typeHandlerVersion".into(), json!(c.type_handler_version));
        if with_instance_view {
            props.insert("instanceView".into(), self.instance_view());
        }
        let mut body = Map::new();
        body.insert("name".into(), json!(self.name));
        body.insert("id".into(), json!(self.id(vm_arm_id)));
        body.insert("type".into(), json!(resource_type));
        body.insert("location".into(), json!(c.location));
        if let Some(tags) = &c.tags {
            body.insert("tags".into(), tags.clone());
        }
        body.insert("properties".into(), Value::Object(props));
        Value::Object(body)
    }

    /// `VirtualMachineExtensionInstanceView`, also used in the VM's instance view.
    pub(crate) fn instance_view(&self) -> Value {
        let mut view = Map::new();
        view.insert("name".into(), json!(self.name));
        view.insert("type".into(), json!(self.config.handler()));
        view.insert(
            "typeHandlerVersion".into(),
            json!(self.config.type_handler_version),
        );
        if !self.substatuses.is_empty() {
            view.insert("substatuses".into(), json!(self.substatuses));
        }
        view.insert("statuses".into(), json!(self.statuses));
        Value::Object(view)
    }
}
