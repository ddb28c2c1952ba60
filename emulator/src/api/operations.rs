//! Long-running operations as clients see them: the response that starts (or repeats) one,
//! with its `Azure-AsyncOperation` or `Location` header, and Compute's operation-status
//! resource (`…/locations/{loc}/operations/{id}`) that clients poll. The operations change
//! a VM's (or a uniform instance's) extension, or a scale set.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request::ArmRequest;
use super::response::{arm_error, json_response};
use crate::admin_messages::LroStyle;
use crate::model::operations::{Operation, OperationKind, OperationStatus, ScaleSetChange};
use crate::model::vmaccess::OperationError;
use crate::state::{AppState, Runtime, World};

/// The response that starts (or repeats) a long-running operation.
pub(super) fn lro_response(
    app: &AppState,
    runtime: &Runtime,
    world: &World,
    operation: &Operation,
    request: &ArmRequest<'_>,
) -> Response {
    let status = match &operation.kind {
        OperationKind::Put { created: true, .. }
        | OperationKind::ScaleSet {
            change: ScaleSetChange::ExtensionPut { created: true },
            ..
        } => StatusCode::CREATED,
        OperationKind::Put { created: false, .. }
        | OperationKind::ScaleSet {
            change: ScaleSetChange::ExtensionPut { created: false } | ScaleSetChange::Update,
            ..
        } => StatusCode::OK,
        OperationKind::Delete
        | OperationKind::ScaleSet {
            change: ScaleSetChange::ExtensionDelete | ScaleSetChange::ManualUpgrade,
            ..
        } => StatusCode::ACCEPTED,
    };
    let base = format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{}/operations/{}",
        app.endpoint, operation.subscription, operation.location, operation.id
    );
    let (name, url) = match runtime.lro_style {
        LroStyle::AsyncOperation => (
            HeaderName::from_static("azure-asyncoperation"),
            format!(
                "{base}?p={}&api-version={}",
                uuid::Uuid::new_v4(),
                request.api_version
            ),
        ),
        LroStyle::LocationOnly => (
            header::LOCATION,
            format!("{base}?monitor=true&api-version={}", request.api_version),
        ),
    };
    let body = result_of(world, operation);
    let mut response = match body {
        Some(body) => json_response(status, body),
        None => status.into_response(),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&url) {
        headers.insert(name, value);
    }
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(runtime.poll_retry_after_secs),
    );
    response
}

/// Compute's operation-status resource. With `monitor=true` it behaves as a
/// `Location` URL: 202 while running, then the final result.
pub(super) fn get(
    app: &AppState,
    subscription: &str,
    id: &str,
    request: &ArmRequest<'_>,
) -> Response {
    let runtime = app.runtime();
    let world = app.world();
    let Some(operation) = world
        .operations
        .get(&id.to_ascii_lowercase())
        .filter(|op| op.subscription.eq_ignore_ascii_case(subscription))
    else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The entity was not found.",
        );
    };
    let retry_after = |mut response: Response| {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(runtime.poll_retry_after_secs),
        );
        response
    };
    if !request.monitor {
        let response = json_response(StatusCode::OK, operation.status_body());
        return if operation.is_running() {
            retry_after(response)
        } else {
            response
        };
    }
    match (operation.status, &operation.kind) {
        (OperationStatus::InProgress, _) => retry_after(StatusCode::ACCEPTED.into_response()),
        (OperationStatus::Failed, _) => {
            let error = operation.error.clone().unwrap_or_else(|| {
                OperationError::new("InternalServerError", "The operation failed.")
            });
            arm_error(StatusCode::BAD_REQUEST, &error.code, error.message)
        }
        (
            OperationStatus::Succeeded,
            OperationKind::Delete
            | OperationKind::ScaleSet {
                change: ScaleSetChange::ExtensionDelete,
                ..
            },
        ) => StatusCode::NO_CONTENT.into_response(),
        (
            OperationStatus::Succeeded,
            OperationKind::ScaleSet {
                change: ScaleSetChange::ManualUpgrade,
                ..
            },
        ) => StatusCode::OK.into_response(),
        (
            OperationStatus::Succeeded,
            OperationKind::Put { .. } | OperationKind::ScaleSet { .. },
        ) => {
            let body = result_of(&world, operation).unwrap_or_else(|| json!({}));
            json_response(StatusCode::OK, body)
        }
    }
}

/// The ARM JSON of the resource an operation creates or updates, if it (still) exists: a
/// VM's (or instance's) extension, a scale set, or one of its model's extensions. Deletes
/// and `manualupgrade` have none.
fn result_of(world: &World, operation: &Operation) -> Option<Value> {
    match &operation.kind {
        OperationKind::Put { .. } => {
            let vm = world.vms.get(&operation.vm_key)?;
            let extension = vm.extensions.get(&operation.extension_key)?;
            Some(vm.extension_json(extension, false))
        }
        OperationKind::ScaleSet { change, .. } => {
            let scale_set = world.scale_sets.get(&operation.vm_key)?;
            match change {
                ScaleSetChange::Update => Some(scale_set.to_arm()),
                ScaleSetChange::ExtensionPut { .. } => scale_set
                    .extensions
                    .get(&operation.extension_key)
                    .map(|e| e.to_arm(&scale_set.id())),
                ScaleSetChange::ExtensionDelete | ScaleSetChange::ManualUpgrade => None,
            }
        }
        OperationKind::Delete => None,
    }
}
