//! The extensions of a scale set's model (`Microsoft.Compute/virtualMachineScaleSets/extensions`):
//! get, create or update (PUT, whose body has no `location`) and delete. A PUT or DELETE
//! changes the model at once and starts a scale-set operation (`scale_sets::start`); the
//! instances take the change when it completes (Automatic) or on `manualupgrade` (Manual).
//! Protected settings are kept in the model and never returned.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::extensions::{
    conflict, parse_extension, property_change_not_allowed, record_and_respond,
};
use super::request::{ArmRequest, ScaleSetPath, find_scale_set, resource_not_found};
use super::response::json_response;
use super::scale_sets::{model_changed, multiple_per_handler, start};
use crate::model::operations::ScaleSetChange;
use crate::model::scale_set::ModelExtension;
use crate::state::AppState;

/// `GET {ss}/extensions/{name}`.
pub(super) fn get(app: &AppState, path: &ScaleSetPath<'_>, name: &str) -> Response {
    let world = app.world();
    let scale_set = match find_scale_set(&world, path) {
        Ok(scale_set) => scale_set,
        Err(response) => return response,
    };
    match scale_set.extensions.get(&name.to_ascii_lowercase()) {
        Some(extension) => json_response(StatusCode::OK, extension.to_arm(&scale_set.id())),
        None => not_found(path, name),
    }
}

/// `PUT {ss}/extensions/{name}`.
pub(super) fn put(
    app: &AppState,
    path: &ScaleSetPath<'_>,
    name: &str,
    request: &ArmRequest<'_>,
) -> Response {
    let mut config = match parse_extension(request.body, false) {
        Ok(config) => config,
        Err(response) => return response,
    };
    let runtime = app.runtime();
    let mut world = app.world();
    let scale_set = match find_scale_set(&world, path) {
        Ok(scale_set) => scale_set,
        Err(response) => return response,
    };
    config.location = scale_set.location.clone();
    let key = name.to_ascii_lowercase();
    let existing = scale_set.extensions.get(&key);
    if let Some(field) = existing.and_then(|e| config.changed_immutable(&e.config)) {
        return property_change_not_allowed(field);
    }
    if let Some(other) = scale_set
        .extensions
        .iter()
        .find(|(k, e)| **k != key && e.config.same_handler(&config))
        .map(|(_, e)| e)
    {
        return multiple_per_handler(scale_set, other);
    }
    if world.running_operation(&path.key()).is_some() {
        return conflict();
    }
    let created = existing.is_none();
    let changed = existing.is_none_or(|e| e.config != config);
    let display_name = existing.map_or_else(|| name.to_string(), |e| e.name.clone());
    let scale_set_key = path.key();
    let mut instances = Vec::new();
    if changed {
        if let Some(scale_set) = world.scale_sets.get_mut(&scale_set_key) {
            scale_set.extensions.insert(
                key.clone(),
                ModelExtension {
                    name: display_name,
                    config,
                    provisioning_state: if created { "Creating" } else { "Updating" }.into(),
                },
            );
        }
        instances = model_changed(&mut world, &scale_set_key);
    }
    let Some(scale_set) = world.scale_sets.get(&scale_set_key) else {
        return conflict();
    };
    let change = ScaleSetChange::ExtensionPut { created };
    let operation = start(app, &runtime, request, scale_set, &key, change, instances);
    record_and_respond(app, &runtime, &mut world, operation, request)
}

/// `DELETE {ss}/extensions/{name}`: 204 when there is nothing to delete.
pub(super) fn delete(
    app: &AppState,
    path: &ScaleSetPath<'_>,
    name: &str,
    request: &ArmRequest<'_>,
) -> Response {
    let runtime = app.runtime();
    let mut world = app.world();
    let scale_set_key = path.key();
    let key = name.to_ascii_lowercase();
    let exists = world
        .scale_sets
        .get(&scale_set_key)
        .is_some_and(|s| s.extensions.contains_key(&key));
    if !exists {
        return StatusCode::NO_CONTENT.into_response();
    }
    if world.running_operation(&scale_set_key).is_some() {
        return conflict();
    }
    if let Some(extension) = world
        .scale_sets
        .get_mut(&scale_set_key)
        .and_then(|s| s.extensions.get_mut(&key))
    {
        extension.provisioning_state = "Deleting".into();
    }
    let instances = model_changed(&mut world, &scale_set_key);
    let Some(scale_set) = world.scale_sets.get(&scale_set_key) else {
        return conflict();
    };
    let change = ScaleSetChange::ExtensionDelete;
    let operation = start(app, &runtime, request, scale_set, &key, change, instances);
    record_and_respond(app, &runtime, &mut world, operation, request)
}

fn not_found(path: &ScaleSetPath<'_>, name: &str) -> Response {
    resource_not_found(
        &format!(
            "Microsoft.Compute/virtualMachineScaleSets/{}/extensions/{name}",
            path.name
        ),
        path.resource_group,
    )
}
