//! How a scale set's model reaches its instances: the completion of a scale-set operation
//! (a model change, or `manualupgrade`) and the upgrade of one instance.
//!
//! Upgrading an instance makes its extensions those of the model, under the model's names:
//! a model extension removed since the last upgrade is removed, an instance extension of a
//! model extension's handler under another name gives way to it (one extension per
//! handler), and each model extension runs in the guest when its configuration is a new
//! goal state for that instance, exactly as a VM's extension PUT would
//! ([`super::operations::apply_put`]). Azure does not document what happens to a
//! same-handler instance extension; replacing it is the emulator's choice.
//!
//! An instance that is not running is skipped and keeps `latestModelApplied: false`, as is
//! one whose extension failed (so that a later `manualupgrade` tries it again).

use std::collections::HashMap;

use super::extension::Extension;
use super::operations::{Operation, OperationKind, ScaleSetChange, apply_put, not_reporting};
use super::scale_set::ScaleSet;
use super::vm::{PowerState, Vm};
use super::vmaccess::OperationError;

/// Completes the scale-set operation `operation` on `scale_set` (`None` if it was deleted
/// meanwhile) and the instances it names.
pub(crate) fn complete(
    operation: &mut Operation,
    scale_set: Option<&mut ScaleSet>,
    vms: &mut HashMap<String, Vm>,
) {
    let Some(scale_set) = scale_set else {
        operation.finish(Err(OperationError::new(
            "ResourceNotFound",
            "The scale set was deleted while the operation was running.",
        )));
        return;
    };
    let OperationKind::ScaleSet { change, instances } = &operation.kind else {
        return;
    };
    if let Some(error) = operation.forced_failure.clone() {
        if let Some(extension) = scale_set.extensions.get_mut(&operation.extension_key) {
            extension.provisioning_state = "Failed".into();
        }
        operation.finish(Err(error));
        return;
    }
    match change {
        ScaleSetChange::ExtensionDelete => {
            scale_set.extensions.remove(&operation.extension_key);
        }
        ScaleSetChange::ExtensionPut { .. } | ScaleSetChange::Update => {
            for extension in scale_set.extensions.values_mut() {
                extension.provisioning_state = "Succeeded".into();
            }
        }
        ScaleSetChange::ManualUpgrade => {}
    }
    let mut failures: Vec<(String, OperationError)> = Vec::new();
    for key in instances {
        if let Some(vm) = vms.get_mut(key) {
            if let Err(error) = upgrade_instance(scale_set, vm) {
                failures.push((vm.name.clone(), error));
            }
        }
    }
    let result = match failures.first() {
        None => Ok(()),
        Some((_, first)) => Err(OperationError::new(
            &first.code,
            failures
                .iter()
                .map(|(name, e)| format!("Instance '{name}': {}", e.message))
                .collect::<Vec<_>>()
                .join(" "),
        )),
    };
    operation.finish(result);
}

/// Brings one instance to the scale set's model; `Ok` also when it is skipped (not running).
pub(crate) fn upgrade_instance(scale_set: &ScaleSet, vm: &mut Vm) -> Result<(), OperationError> {
    if vm.power_state != PowerState::Running {
        return Ok(());
    }
    let previous = vm
        .scale_set
        .as_ref()
        .map(|m| m.applied_model.clone())
        .unwrap_or_default();
    let previous_keys = previous.clone();
    let mut result = Ok(());
    for key in previous {
        if scale_set.extensions.contains_key(&key) {
            continue;
        }
        // As a VM's extension DELETE: an agent that is not ready removes nothing.
        if !vm.agent_ready {
            if let Some(extension) = vm.extensions.get_mut(&key) {
                extension.provisioning_state = "Failed".into();
                result = Err(not_reporting(vm));
            }
        } else {
            vm.extensions.remove(&key);
        }
    }
    for (key, model) in &scale_set.extensions {
        vm.extensions
            .retain(|k, e| k == key || !e.config.same_handler(&model.config));
        let mut config = model.config.clone();
        config.location = vm.location.clone();
        let existing = vm.extensions.get(key);
        let guest_run = config.needs_guest_run(existing.map(|e| &e.config));
        let (statuses, substatuses) = existing
            .map(|e| (e.statuses.clone(), e.substatuses.clone()))
            .unwrap_or_default();
        let state = if existing.is_some() {
            "Updating"
        } else {
            "Creating"
        };
        vm.extensions.insert(
            key.clone(),
            Extension {
                name: model.name.clone(),
                config: config.clone(),
                provisioning_state: state.into(),
                statuses,
                substatuses,
            },
        );
        if let Err(error) = apply_put(vm, key, &config, guest_run, None) {
            result = result.and(Err(error));
        }
    }
    // A removal that failed stays to do on the next upgrade.
    let mut applied: Vec<String> = scale_set.extensions.keys().cloned().collect();
    applied.extend(
        previous_keys
            .into_iter()
            .filter(|k| vm.extensions.contains_key(k) && !scale_set.extensions.contains_key(k)),
    );
    if let Some(membership) = vm.scale_set.as_mut() {
        membership.applied_model = applied;
        membership.latest_model_applied = result.is_ok();
    }
    result
}
