//! A scale set (`Microsoft.Compute/virtualMachineScaleSets`): get, the whole-scale-set PUT
//! that `az vmss extension set` sends (only its model's extensions are taken from the body),
//! and `manualupgrade`. A PUT or upgrade starts a long-running operation whose completion
//! brings the model to the instances (`model::upgrade`); this module also starts those
//! operations for the model's extension API (`model_extensions`).
//!
//! A model change marks every instance `latestModelApplied: false`; under an Automatic (or
//! Rolling) upgrade policy the operation then upgrades every instance, under Manual only
//! `manualupgrade` does.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::extensions::{
    conflict, invalid_parameter, operation_faults, parse_extension, record_and_respond,
};
use super::request::{ArmRequest, ScaleSetPath, find_scale_set, normalize_location};
use super::response::{arm_error, json_response};
use crate::clock::now_rfc3339;
use crate::model::operations::{Operation, OperationKind, OperationStatus, ScaleSetChange};
use crate::model::scale_set::{ModelExtension, OrchestrationMode, ScaleSet};
use crate::state::{AppState, Runtime, World};

/// `GET {ss}`.
pub(super) fn get(app: &AppState, path: &ScaleSetPath<'_>) -> Response {
    let world = app.world();
    match find_scale_set(&world, path) {
        Ok(scale_set) => json_response(StatusCode::OK, scale_set.to_arm()),
        Err(response) => response,
    }
}

/// `PUT {ss}`: replaces the model's extensions with the body's
/// (`properties.virtualMachineProfile.extensionProfile.extensions`); other properties are
/// ignored. A body built from a GET has no protected settings, so an extension of the same
/// name and handler without them keeps the ones the model has (Azure does not document this
/// case; dropping them would rerun VMAccess without credentials on every instance).
pub(super) fn put(app: &AppState, path: &ScaleSetPath<'_>, request: &ArmRequest<'_>) -> Response {
    let body: Value = match serde_json::from_slice(request.body) {
        Ok(body) => body,
        Err(e) => return invalid_content(&e.to_string()),
    };
    let runtime = app.runtime();
    let mut world = app.world();
    let scale_set = match find_scale_set(&world, path) {
        Ok(scale_set) => scale_set,
        Err(_) => {
            return arm_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                format!(
                    "The Resource 'Microsoft.Compute/virtualMachineScaleSets/{}' under resource group '{}' was not found. The emulator creates scale sets only through its admin API (PUT /_emulator/scale-sets/…).",
                    path.name, path.resource_group
                ),
            );
        }
    };
    let profile = &body["properties"]["virtualMachineProfile"]["extensionProfile"];
    let extensions = if profile.is_null() {
        None
    } else {
        match model_from_body(profile, scale_set) {
            Ok(extensions) => Some(extensions),
            Err(response) => return response,
        }
    };
    if world.running_operation(&path.key()).is_some() {
        return conflict();
    }
    let key = path.key();
    let mut instances = Vec::new();
    if let Some(new) = extensions {
        let changed = {
            let old = &scale_set.extensions;
            old.len() != new.len()
                || new
                    .iter()
                    .any(|(k, e)| old.get(k).is_none_or(|o| o.config != e.config))
        };
        if changed {
            if let Some(scale_set) = world.scale_sets.get_mut(&key) {
                scale_set.extensions = new;
            }
            instances = model_changed(&mut world, &key);
        }
    }
    let Some(scale_set) = world.scale_sets.get(&key) else {
        return conflict();
    };
    let change = ScaleSetChange::Update;
    let operation = start(app, &runtime, request, scale_set, "", change, instances);
    record_and_respond(app, &runtime, &mut world, operation, request)
}

/// The model's extensions as the body's `extensionProfile` gives them, checked like a VM
/// extension's PUT, with the stored protected settings kept where the body has none.
fn model_from_body(
    profile: &Value,
    scale_set: &ScaleSet,
) -> Result<BTreeMap<String, ModelExtension>, Response> {
    let entries = match &profile["extensions"] {
        Value::Null => Vec::new(),
        Value::Array(entries) => entries.clone(),
        _ => return Err(invalid_content("extensionProfile.extensions is not a list")),
    };
    let mut model: BTreeMap<String, ModelExtension> = BTreeMap::new();
    for entry in entries {
        let Some(name) = entry["name"].as_str().filter(|n| !n.trim().is_empty()) else {
            return Err(invalid_parameter(
                "extensionProfile.extensions.name",
                "Required parameter 'name' is missing (null).".into(),
            ));
        };
        let properties = json!({"properties": entry["properties"]});
        let mut config = parse_extension(properties.to_string().as_bytes(), false)?;
        config.location = scale_set.location.clone();
        let key = name.to_ascii_lowercase();
        if config.options.protected_settings.is_none() {
            if let Some(stored) = scale_set
                .extensions
                .get(&key)
                .filter(|e| e.config.same_handler(&config))
            {
                config.options.protected_settings =
                    stored.config.options.protected_settings.clone();
            }
        }
        if let Some(other) = model
            .values()
            .find(|e| e.name.eq_ignore_ascii_case(name) || e.config.same_handler(&config))
        {
            return Err(multiple_per_handler(scale_set, other));
        }
        let state = match scale_set.extensions.get(&key) {
            Some(old) if old.config == config => old.provisioning_state.clone(),
            Some(_) => "Updating".into(),
            None => "Creating".into(),
        };
        model.insert(
            key,
            ModelExtension {
                name: name.to_string(),
                config,
                provisioning_state: state,
            },
        );
    }
    Ok(model)
}

/// `POST {ss}/manualupgrade` with `{"instanceIds": [...]}`: instance IDs (Uniform) or VM names
/// (Flexible), `"*"` for all. The operation brings the model to those instances.
pub(super) fn manual_upgrade(
    app: &AppState,
    path: &ScaleSetPath<'_>,
    request: &ArmRequest<'_>,
) -> Response {
    let body: Value = if request.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(request.body) {
            Ok(body) => body,
            Err(e) => return invalid_content(&e.to_string()),
        }
    };
    let wanted: Vec<&str> = match body["instanceIds"].as_array() {
        Some(ids) if !ids.is_empty() => ids.iter().filter_map(Value::as_str).collect(),
        _ => {
            return invalid_parameter(
                "instanceIds",
                "Required parameter 'instanceIds' is missing (null).".into(),
            );
        }
    };
    let runtime = app.runtime();
    let mut world = app.world();
    let scale_set = match find_scale_set(&world, path) {
        Ok(scale_set) => scale_set,
        Err(response) => return response,
    };
    let mut instances = Vec::new();
    for id in &wanted {
        let found: Vec<String> = scale_set
            .instances
            .iter()
            .filter(|key| {
                *id == "*"
                    || world
                        .vms
                        .get(*key)
                        .is_some_and(|vm| instance_name(scale_set, vm).eq_ignore_ascii_case(id))
            })
            .cloned()
            .collect();
        if found.is_empty() {
            return invalid_parameter(
                "instanceIds",
                format!(
                    "The instance ID '{id}' is not an instance of virtual machine scale set '{}'.",
                    scale_set.name
                ),
            );
        }
        for key in found {
            if !instances.contains(&key) {
                instances.push(key);
            }
        }
    }
    if world.running_operation(&path.key()).is_some() {
        return conflict();
    }
    let change = ScaleSetChange::ManualUpgrade;
    let operation = start(app, &runtime, request, scale_set, "", change, instances);
    record_and_respond(app, &runtime, &mut world, operation, request)
}

/// How `manualupgrade` names an instance: its ID (Uniform) or its VM name (Flexible).
fn instance_name<'v>(scale_set: &ScaleSet, vm: &'v crate::model::vm::Vm) -> &'v str {
    match (scale_set.orchestration_mode, vm.uniform_instance()) {
        (OrchestrationMode::Uniform, Some((_, id))) => id,
        _ => &vm.name,
    }
}

/// Records that the model of scale set `key` changed: every instance lags behind it. Returns
/// the instances the change's operation upgrades (all of them unless the policy is Manual).
pub(super) fn model_changed(world: &mut World, key: &str) -> Vec<String> {
    let Some(scale_set) = world.scale_sets.get(key) else {
        return Vec::new();
    };
    let instances = scale_set.instances.clone();
    let applies = scale_set.upgrade_policy.applies_changes();
    for instance in &instances {
        if let Some(membership) = world
            .vms
            .get_mut(instance)
            .and_then(|vm| vm.scale_set.as_mut())
        {
            membership.latest_model_applied = false;
        }
    }
    if applies { instances } else { Vec::new() }
}

/// A new operation on `scale_set` (its model extension `extension_key`, if any), with the
/// operation faults it draws.
pub(super) fn start(
    app: &AppState,
    runtime: &Runtime,
    request: &ArmRequest<'_>,
    scale_set: &ScaleSet,
    extension_key: &str,
    change: ScaleSetChange,
    instances: Vec<String>,
) -> Operation {
    let target = match change {
        ScaleSetChange::ManualUpgrade => format!("{}/manualupgrade", scale_set.id()),
        ScaleSetChange::Update => scale_set.id(),
        _ => format!("{}/extensions/{extension_key}", scale_set.id()),
    };
    let (delay, forced_failure) =
        operation_faults(app, request.method, &target, runtime.operation_delay);
    Operation {
        id: uuid::Uuid::new_v4().to_string(),
        vm_key: scale_set.key(),
        subscription: scale_set.subscription.clone(),
        location: normalize_location(&scale_set.location),
        extension_key: extension_key.to_ascii_lowercase(),
        kind: OperationKind::ScaleSet { change, instances },
        started: now_rfc3339(),
        due: Instant::now() + delay,
        forced_failure,
        status: OperationStatus::InProgress,
        error: None,
        ended: None,
    }
}

/// Compute's 400 for two extensions of one handler in a scale set's model.
pub(super) fn multiple_per_handler(scale_set: &ScaleSet, other: &ModelExtension) -> Response {
    let os = match scale_set.os_type {
        crate::model::vm::OsType::Windows => "Windows",
        crate::model::vm::OsType::Linux => "Linux",
    };
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": {
            "code": "BadRequest",
            "message": format!(
                "Multiple VMExtensions per handler not supported for OS type '{os}'. VMExtension '{}' with handler '{}' already added or specified in input.",
                other.name,
                other.config.handler()
            ),
            "innererror": {"internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed"},
        }}),
    )
}

/// ARM's 400 for a body that does not parse or has the wrong shape.
fn invalid_content(reason: &str) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestContent",
        format!("The request content was invalid and could not be deserialized: '{reason}'."),
    )
}
