//! A VM's extensions (`Microsoft.Compute/virtualMachines/extensions`), and a uniform scale
//! set instance's (`…/virtualMachineScaleSets/virtualMachines/extensions`, whose body may omit
//! `location`): get, create or update (PUT) and delete. The same rules hold for both. A PUT or DELETE validates the request against the VM and any running
//! operation, then starts a long-running operation (`model::operations`) and answers as
//! `operations` says.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::operations::lro_response;
use super::request::{
    ArmRequest, ExtensionPath, VmPath, find_vm, normalize_location, resource_group_not_found,
    resource_not_found, vm_not_found,
};
use super::response::{arm_error, json_response};
use crate::clock::now_rfc3339;
use crate::faults::FaultAction;
use crate::model::extension::{Extension, ExtensionBody, ExtensionConfig, InstanceStatus};
use crate::model::operations::{Operation, OperationKind, OperationStatus};
use crate::model::vm::{OsType, PowerState, Vm};
use crate::model::vmaccess::OperationError;
use crate::state::{AppState, Runtime, World, lock};

/// `GET …/extensions/{name}`.
pub(super) fn get(app: &AppState, at: &ExtensionPath<'_>, with_instance_view: bool) -> Response {
    let ExtensionPath { vm: path, name } = at;
    let world = app.world();
    let vm = match find_vm(&world, path) {
        Ok(vm) => vm,
        Err(response) => return response,
    };
    match vm.extensions.get(&name.to_ascii_lowercase()) {
        Some(extension) => json_response(
            StatusCode::OK,
            vm.extension_json(extension, with_instance_view),
        ),
        None => extension_not_found(path, name),
    }
}

/// `PUT …/extensions/{name}`: creates or updates the extension through an operation.
pub(super) fn put(app: &AppState, at: &ExtensionPath<'_>, request: &ArmRequest<'_>) -> Response {
    let ExtensionPath { vm: ref path, name } = *at;
    // A scale set's instance takes its location from the instance (Azure's body has none).
    let location_required = path.scale_set.is_none();
    let mut config = match parse_extension(request.body, location_required) {
        Ok(config) => config,
        Err(response) => return response,
    };
    let runtime = app.runtime();
    let mut world = app.world();
    let vm_key = path.key();
    let extension_key = name.to_ascii_lowercase();
    let Some(vm) = world.vms.get(&vm_key) else {
        return if world.resource_group_exists(path.subscription, path.resource_group) {
            arm_error(
                StatusCode::NOT_FOUND,
                "ParentResourceNotFound",
                format!(
                    "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
                    path.name
                ),
            )
        } else {
            resource_group_not_found(path)
        };
    };
    if vm.power_state != PowerState::Running {
        return not_running();
    }
    if config.location.is_empty() {
        config.location = vm.location.clone();
    }
    let existing = vm.extensions.get(&extension_key);
    if let Some(field) = existing.and_then(|e| config.changed_immutable(&e.config)) {
        return property_change_not_allowed(field);
    }
    if let Some(other) = vm
        .extensions
        .iter()
        .find(|(key, e)| **key != extension_key && e.config.same_handler(&config))
        .map(|(_, e)| e)
    {
        let os = if vm.os_type == OsType::Windows {
            "Windows"
        } else {
            "Linux"
        };
        return json_response(
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
        );
    }
    if let Some(running) = world.running_operation(&vm_key) {
        if !running.is_same_put(&extension_key, &config) {
            return conflict();
        }
        return lro_response(app, &runtime, &world, running, request);
    }
    let guest_run = config.needs_guest_run(existing.map(|e| &e.config));
    let created = existing.is_none();
    let display_name = existing.map_or_else(|| name.to_string(), |e| e.name.clone());
    let operation = start_operation(
        app,
        &runtime,
        request,
        vm,
        name,
        OperationKind::Put {
            created,
            guest_run,
            config: Box::new(config.clone()),
        },
    );
    let Some(vm) = world.vms.get_mut(&vm_key) else {
        return vm_not_found(path);
    };
    let (statuses, substatuses) = existing_statuses(vm, &extension_key);
    vm.extensions.insert(
        extension_key,
        Extension {
            name: display_name,
            config,
            provisioning_state: if created { "Creating" } else { "Updating" }.into(),
            statuses,
            substatuses,
        },
    );
    record_and_respond(app, &runtime, &mut world, operation, request)
}

/// `DELETE …/extensions/{name}`: 204 when there is nothing to delete, else an operation.
pub(super) fn delete(app: &AppState, at: &ExtensionPath<'_>, request: &ArmRequest<'_>) -> Response {
    let ExtensionPath { vm: ref path, name } = *at;
    let runtime = app.runtime();
    let mut world = app.world();
    let vm_key = path.key();
    let extension_key = name.to_ascii_lowercase();
    let Some(vm) = world.vms.get(&vm_key) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    if !vm.extensions.contains_key(&extension_key) {
        return StatusCode::NO_CONTENT.into_response();
    }
    if vm.power_state != PowerState::Running {
        return not_running();
    }
    if let Some(running) = world.running_operation(&vm_key) {
        if matches!(running.kind, OperationKind::Delete) && running.extension_key == extension_key {
            return lro_response(app, &runtime, &world, running, request);
        }
        return conflict();
    }
    let operation = start_operation(app, &runtime, request, vm, name, OperationKind::Delete);
    if let Some(extension) = world
        .vms
        .get_mut(&vm_key)
        .and_then(|vm| vm.extensions.get_mut(&extension_key))
    {
        extension.provisioning_state = "Deleting".into();
    }
    record_and_respond(app, &runtime, &mut world, operation, request)
}

/// Validates a PUT body into the extension's configuration; without `location_required`, an
/// absent location is left empty for the caller to fill in.
pub(super) fn parse_extension(
    body: &[u8],
    location_required: bool,
) -> Result<ExtensionConfig, Response> {
    let body: ExtensionBody = serde_json::from_slice(body).map_err(|e| {
        arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })?;
    let location = match body.location.filter(|l| !l.trim().is_empty()) {
        Some(location) => location,
        None if !location_required => String::new(),
        None => {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "LocationRequired",
                "The location property is required for this definition.",
            ));
        }
    };
    let properties = body.properties.unwrap_or_default();
    let required = |value: Option<String>, name: &str| {
        value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            invalid_parameter(
                name,
                format!("Required parameter '{name}' is missing (null)."),
            )
        })
    };
    let publisher = required(properties.publisher, "publisher")?;
    let extension_type = required(properties.extension_type, "type")?;
    let version = required(properties.type_handler_version, "typeHandlerVersion")?;
    let well_formed = version.split_once('.').is_some_and(|(major, minor)| {
        !major.is_empty()
            && !minor.is_empty()
            && major
                .chars()
                .chain(minor.chars())
                .all(|c| c.is_ascii_digit())
    });
    if !well_formed {
        return Err(invalid_parameter(
            "typeHandlerVersion",
            "The value of parameter typeHandlerVersion is invalid.".into(),
        ));
    }
    Ok(ExtensionConfig {
        location,
        tags: body.tags,
        publisher,
        extension_type,
        type_handler_version: version,
        options: properties.options,
    })
}

/// A new operation on extension `name` of `vm`, with the operation faults it draws.
fn start_operation(
    app: &AppState,
    runtime: &Runtime,
    request: &ArmRequest<'_>,
    vm: &Vm,
    name: &str,
    kind: OperationKind,
) -> Operation {
    let (delay, forced_failure) = operation_faults(
        app,
        request.method,
        &format!("{}/extensions/{}", vm.id(), name),
        runtime.operation_delay,
    );
    Operation {
        id: uuid::Uuid::new_v4().to_string(),
        vm_key: vm.key(),
        subscription: vm.subscription.clone(),
        location: normalize_location(&vm.location),
        extension_key: name.to_ascii_lowercase(),
        kind,
        started: now_rfc3339(),
        due: Instant::now() + delay,
        forced_failure,
        status: OperationStatus::InProgress,
        error: None,
        ended: None,
    }
}

/// Stores a started operation and answers the request that started it.
pub(super) fn record_and_respond(
    app: &AppState,
    runtime: &Runtime,
    world: &mut World,
    operation: Operation,
    request: &ArmRequest<'_>,
) -> Response {
    let response = lro_response(app, runtime, world, &operation, request);
    world.operations.insert(operation.id.clone(), operation);
    response
}

/// Keeps the last reported statuses of an extension being updated.
fn existing_statuses(vm: &Vm, extension_key: &str) -> (Vec<InstanceStatus>, Vec<InstanceStatus>) {
    vm.extensions
        .get(extension_key)
        .map(|e| (e.statuses.clone(), e.substatuses.clone()))
        .unwrap_or_default()
}

/// Applies operation-level faults: returns the operation's delay and forced failure.
pub(super) fn operation_faults(
    app: &AppState,
    method: &Method,
    path: &str,
    delay: Duration,
) -> (Duration, Option<OperationError>) {
    match lock(&app.faults).take(method.as_str(), path, true) {
        Some(FaultAction::FailOperation { code, message }) => {
            (delay, Some(OperationError { code, message }))
        }
        Some(FaultAction::SlowOperationMs(ms)) => (Duration::from_millis(ms), None),
        _ => (delay, None),
    }
}

fn extension_not_found(vm: &VmPath<'_>, name: &str) -> Response {
    resource_not_found(
        &format!("{}/extensions/{name}", vm.resource()),
        vm.resource_group,
    )
}

pub(super) fn invalid_parameter(target: &str, message: String) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": "InvalidParameter", "target": target, "message": message}}),
    )
}

/// ARM's 400 for a PUT that changes a property fixed at creation.
pub(super) fn property_change_not_allowed(field: &str) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        "PropertyChangeNotAllowed",
        format!("Changing property '{field}' is not allowed."),
    )
}

fn not_running() -> Response {
    json_response(
        StatusCode::CONFLICT,
        json!({"error": {
            "code": "OperationNotAllowed",
            "message": "Cannot modify extensions in the VM when the VM is not running.",
            "innererror": {"internalErrorCode": "CannotModifyExtensionsWhenVMNotRunning"},
        }}),
    )
}

pub(super) fn conflict() -> Response {
    arm_error(
        StatusCode::CONFLICT,
        "Conflict",
        "The request failed due to conflict with a concurrent request. To resolve it, please refer to https://aka.ms/activitylog to get more details on the conflicting requests.",
    )
}
