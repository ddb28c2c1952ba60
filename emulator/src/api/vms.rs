//! Reads of a virtual machine (`Microsoft.Compute/virtualMachines`): the VM, with or without
//! its instance view, and the instance view alone; also a uniform scale set's instance
//! ([`instance_body`]). [`vm_body`] is also the shape the VM lists of `listing` start from.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{VmPath, find_vm};
use super::response::json_response;
use crate::clock::now_rfc3339;
use crate::model::extension::{Extension, InstanceStatus};
use crate::model::vm::{OsType, PowerState, Vm};
use crate::state::AppState;

/// `GET …/virtualMachines/{vm}` (`$expand=instanceView` adds the instance view), also of a
/// uniform scale set's instance.
pub(super) fn get(app: &AppState, path: &VmPath<'_>, with_instance_view: bool) -> Response {
    let world = app.world();
    match find_vm(&world, path) {
        Ok(vm) if vm.uniform_instance().is_some() => {
            json_response(StatusCode::OK, instance_body(vm, with_instance_view))
        }
        Ok(vm) => json_response(StatusCode::OK, vm_body(vm, with_instance_view)),
        Err(response) => response,
    }
}

/// `VirtualMachineScaleSetVM`: a uniform instance, the VM's shape with the scale set's
/// fields (`instanceId`, `latestModelApplied`, its own ARM type and name).
pub(super) fn instance_body(vm: &Vm, with_instance_view: bool) -> Value {
    let mut body = vm_body(vm, with_instance_view);
    if let Some((membership, instance_id)) = vm.uniform_instance() {
        body["instanceId"] = json!(instance_id);
        body["type"] = json!("Microsoft.Compute/virtualMachineScaleSets/virtualMachines");
        body["sku"] = json!({"name": "Standard_D2s_v3", "tier": "Standard"});
        let properties = &mut body["properties"];
        properties["latestModelApplied"] = json!(membership.latest_model_applied);
        properties["osProfile"]["computerName"] =
            json!(computer_name(&membership.scale_set, instance_id));
        if let Some(view) = properties.get_mut("instanceView") {
            view["computerName"] = json!(computer_name(&membership.scale_set, instance_id));
        }
    }
    body
}

/// A uniform instance's computer name: the scale set's name (the default
/// `computerNamePrefix`) and the instance ID in six base-36 digits, as Azure names them.
fn computer_name(prefix: &str, instance_id: &str) -> String {
    let mut n: u64 = instance_id.parse().unwrap_or(0);
    let mut digits = Vec::new();
    for _ in 0..6 {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
    }
    digits.reverse();
    format!("{prefix}{}", digits.into_iter().collect::<String>())
}

/// `GET …/virtualMachines/{vm}/instanceView` (also `{ss}/virtualMachines/{id}/instanceView`).
pub(super) fn get_instance_view(app: &AppState, path: &VmPath<'_>) -> Response {
    let world = app.world();
    match find_vm(&world, path) {
        Ok(vm) => json_response(StatusCode::OK, vm_instance_view(vm)),
        Err(response) => response,
    }
}

/// `VirtualMachine`, shaped like Azure's `VirtualMachine_Get_InstanceView` example.
pub(super) fn vm_body(vm: &Vm, with_instance_view: bool) -> Value {
    let windows = vm.os_type == OsType::Windows;
    let os_disk = format!("{}_OsDisk_1", vm.name);
    let mut os_profile = json!({
        "computerName": vm.name,
        "adminUsername": vm.admin_username().unwrap_or("azureuser"),
        "secrets": [],
        "allowExtensionOperations": true,
        "requireGuestProvisionSignal": true,
    });
    if windows {
        os_profile["windowsConfiguration"] = json!({"provisionVMAgent": true, "enableAutomaticUpdates": true, "patchSettings": {"patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault"}});
    } else {
        os_profile["linuxConfiguration"] = json!({"disablePasswordAuthentication": !vm.linux.created_with_password_logins, "provisionVMAgent": true, "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"}});
    }
    let image = if windows {
        json!({"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter-azure-edition", "version": "latest", "exactVersion": "20348.2227.240104"})
    } else {
        json!({"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest", "exactVersion": "24.04.202401010"})
    };
    let mut properties = json!({
        "vmId": vm.vm_id,
        "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
        "storageProfile": {
            "imageReference": image,
            "osDisk": {
                "osType": if windows { "Windows" } else { "Linux" },
                "name": os_disk,
                "createOption": "FromImage",
                "caching": "ReadWrite",
                "managedDisk": {
                    "storageAccountType": "Premium_LRS",
                    "id": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/disks/{}", vm.subscription, vm.resource_group, os_disk),
                },
                "deleteOption": "Delete",
                "diskSizeGB": if windows { 127 } else { 30 },
            },
            "dataDisks": [],
        },
        "osProfile": os_profile,
        "networkProfile": {"networkInterfaces": [{"id": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/networkInterfaces/{}-nic", vm.subscription, vm.resource_group, vm.name)}]},
        "diagnosticsProfile": {"bootDiagnostics": {"enabled": true}},
        "provisioningState": "Succeeded",
        "timeCreated": "2025-01-01T00:00:00+00:00",
    });
    if with_instance_view {
        properties["instanceView"] = vm_instance_view(vm);
    }
    if let Some(membership) = vm.scale_set.as_ref().filter(|m| m.instance_id.is_none()) {
        properties["virtualMachineScaleSet"] = json!({"id": membership.scale_set_id});
    }
    let mut body = json!({
        "name": vm.name,
        "id": vm.id(),
        "type": "Microsoft.Compute/virtualMachines",
        "location": vm.location,
        "properties": properties,
    });
    if !vm.extensions.is_empty() {
        body["resources"] = Value::Array(
            vm.extensions
                .values()
                .map(|e| vm.extension_json(e, false))
                .collect(),
        );
    }
    body
}

/// `VirtualMachineInstanceView`.
fn vm_instance_view(vm: &Vm) -> Value {
    let windows = vm.os_type == OsType::Windows;
    let power = vm.power_state;
    let mut view = json!({});
    if power == PowerState::Running {
        view["computerName"] = json!(vm.name);
        view["osName"] = json!(if windows {
            "Windows Server 2022 Datacenter Azure Edition"
        } else {
            "ubuntu"
        });
        view["osVersion"] = json!(if windows { "10.0.20348.2227" } else { "24.04" });
        view["vmAgent"] = if vm.agent_ready {
            json!({
                "vmAgentVersion": if windows { "2.7.41491.1102" } else { "2.10.0.8" },
                "statuses": [status("ProvisioningState/succeeded", "Info", "Ready", Some("GuestAgent is running and processing the extensions."), true)],
                "extensionHandlers": vm.extensions.values().map(|e| json!({
                    "type": e.config.handler(),
                    "typeHandlerVersion": e.config.type_handler_version,
                    "status": status("ProvisioningState/succeeded", "Info", "Ready", None, false),
                })).collect::<Vec<_>>(),
            })
        } else {
            json!({
                "vmAgentVersion": "Unknown",
                "statuses": [status("ProvisioningState/Unavailable", "Warning", "Not Ready", Some(&vm.agent_status_message), true)],
                "extensionHandlers": [],
            })
        };
    }
    view["hyperVGeneration"] = json!("V2");
    view["disks"] = json!([{
        "name": format!("{}_OsDisk_1", vm.name),
        "statuses": [status("ProvisioningState/succeeded", "Info", "Provisioning succeeded", None, true)],
    }]);
    view["extensions"] = Value::Array(
        vm.extensions
            .values()
            .map(Extension::instance_view)
            .collect(),
    );
    let display = match power {
        PowerState::Running => "VM running",
        PowerState::Stopped => "VM stopped",
        PowerState::Deallocated => "VM deallocated",
    };
    view["statuses"] = json!([
        status(
            "ProvisioningState/succeeded",
            "Info",
            "Provisioning succeeded",
            None,
            true
        ),
        status(
            &format!("PowerState/{}", power.code()),
            "Info",
            display,
            None,
            false
        ),
    ]);
    view
}

fn status(code: &str, level: &str, display: &str, message: Option<&str>, with_time: bool) -> Value {
    serde_json::to_value(InstanceStatus {
        code: code.into(),
        level: level.into(),
        display_status: display.into(),
        message: message.map(str::to_string),
        time: with_time.then(now_rfc3339),
    })
    .unwrap_or(Value::Null)
}
