//! What every ARM request handler shares, below the handlers that use it (`arm`, `listing`,
//! `vms`, `extensions`, `operations`, the scale-set handlers): how a VM, a scale set, a
//! uniform instance or an extension is addressed, the request's bearer token and its check,
//! `api-version` validation, the subscription check, drawing from the throttling buckets,
//! finding a VM or a scale set with ARM's 404s (and Compute's 400 for instance routes of a
//! Flexible scale set), and list continuation tokens.

// Checks return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::response::{arm_error, json_response};
use super::versions::{self, ResourceType};
use crate::clock::now_rfc3339;
use crate::faults::throttled_body;
use crate::model::membership::{instance_key, scale_set_key};
use crate::model::scale_set::{OrchestrationMode, ScaleSet};
use crate::model::vm::Vm;
use crate::state::{AppState, World, lock};
use crate::tenant::identity::TokenCheck;
use crate::throttle::{Draw, Policy};

/// An ARM request as the router's fallback received it, before any routing or check.
#[derive(Debug, Clone, Copy)]
pub(super) struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a HashMap<String, String>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A VM addressed by an ARM path, or a uniform scale set's instance (which has the same API
/// below its scale set).
#[derive(Debug, Clone, Copy)]
pub(super) struct VmPath<'a> {
    pub subscription: &'a str,
    pub resource_group: &'a str,
    /// The VM's name, or the instance ID of a scale set's instance.
    pub name: &'a str,
    /// The scale set's name, for an instance.
    pub scale_set: Option<&'a str>,
}

impl<'a> VmPath<'a> {
    /// The VM `name`.
    pub(super) fn vm(subscription: &'a str, resource_group: &'a str, name: &'a str) -> Self {
        VmPath {
            subscription,
            resource_group,
            name,
            scale_set: None,
        }
    }

    /// The VM's key in [`World`]: subscription, resource group and name, lower-cased (an
    /// instance's: see `model::membership::instance_key`).
    pub(super) fn key(&self) -> String {
        match self.scale_set {
            Some(scale_set) => {
                instance_key(self.subscription, self.resource_group, scale_set, self.name)
            }
            None => World::key(self.subscription, self.resource_group, self.name),
        }
    }

    /// The scale set of an instance.
    pub(super) fn scale_set_path(&self) -> Option<ScaleSetPath<'a>> {
        Some(ScaleSetPath {
            subscription: self.subscription,
            resource_group: self.resource_group,
            name: self.scale_set?,
        })
    }

    /// The resource as ARM names it in messages (`Microsoft.Compute/virtualMachines/{name}`).
    pub(super) fn resource(&self) -> String {
        match self.scale_set {
            Some(scale_set) => format!(
                "Microsoft.Compute/virtualMachineScaleSets/{scale_set}/virtualMachines/{}",
                self.name
            ),
            None => format!("Microsoft.Compute/virtualMachines/{}", self.name),
        }
    }
}

/// A scale set addressed by an ARM path.
#[derive(Debug, Clone, Copy)]
pub(super) struct ScaleSetPath<'a> {
    pub subscription: &'a str,
    pub resource_group: &'a str,
    pub name: &'a str,
}

impl ScaleSetPath<'_> {
    /// The scale set's key in [`World`].
    pub(super) fn key(&self) -> String {
        scale_set_key(self.subscription, self.resource_group, self.name)
    }

    /// The scale set's ARM path, in the request's casing.
    pub(super) fn arm_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

/// An extension of a VM, addressed by an ARM path.
#[derive(Debug, Clone, Copy)]
pub(super) struct ExtensionPath<'a> {
    pub vm: VmPath<'a>,
    pub name: &'a str,
}

/// What a handler needs of a request that passed ARM's checks.
pub(super) struct ArmRequest<'a> {
    pub method: &'a Method,
    pub api_version: &'a str,
    pub expand_instance_view: bool,
    pub monitor: bool,
    pub body: &'a [u8],
}

/// The bearer token of a request, if any.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `None` when the bearer token is valid, else ARM's 401.
pub(super) fn authenticate(app: &AppState, headers: &HeaderMap) -> Option<Response> {
    let check = lock(&app.identity).check(bearer(headers));
    let (code, message) = match check {
        TokenCheck::Valid => return None,
        TokenCheck::Missing => (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".to_string(),
        ),
        TokenCheck::Invalid => (
            "InvalidAuthenticationToken",
            "The access token is invalid.".to_string(),
        ),
        TokenCheck::WrongAudience(audience) => (
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{audience}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
            ),
        ),
        TokenCheck::WrongIssuer(issuer) => (
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer '{issuer}'. It must match the tenant '{}/{}/' associated with this subscription. Please use the authority (URL) '{}/{}' to get the token.",
                app.endpoint, app.config.tenant_id, app.endpoint, app.config.tenant_id
            ),
        ),
        TokenCheck::Expired => {
            let now = now_rfc3339();
            (
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time '{now}' is earlier than current UTC time '{now}'."
                ),
            )
        }
    };
    let mut response = arm_error(StatusCode::UNAUTHORIZED, code, message.clone());
    let (name, value) = challenge(app, &message);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(name, value);
    }
    Some(response)
}

/// The `WWW-Authenticate` challenge ARM sends with a 401.
fn challenge(app: &AppState, error: &str) -> (header::HeaderName, String) {
    (
        header::WWW_AUTHENTICATE,
        format!(
            "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"{error}\"",
            app.endpoint, app.config.tenant_id
        ),
    )
}

/// The request's `api-version` if Compute's virtual machines serve it (the
/// listing routes); see [`checked_api_version`].
pub(super) fn api_version(query: &HashMap<String, String>) -> Result<&str, Response> {
    checked_api_version(query, ResourceType::VirtualMachines, None)
}

/// The request's `api-version` if `resource_type` serves it; else ARM's 400
/// (missing, or not supported: [`versions::check`]).
pub(super) fn checked_api_version<'q>(
    query: &'q HashMap<String, String>,
    resource_type: ResourceType,
    location: Option<&str>,
) -> Result<&'q str, Response> {
    let Some(version) = query.get("api-version") else {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    versions::check(resource_type, location, version)?;
    Ok(version)
}

/// ARM's 404 for a subscription the tenant does not have.
pub(super) fn unknown_subscription(app: &AppState, subscription: &str) -> Option<Response> {
    (!lock(&app.subscriptions).exists(subscription)).then(|| subscription_not_found(subscription))
}

/// ARM's answer for an unknown subscription.
pub(super) fn subscription_not_found(id: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "SubscriptionNotFound",
        format!("The subscription '{id}' could not be found."),
    )
}

/// Takes a token from each wanted bucket; ARM's or Compute's 429 when one is empty.
pub(super) fn draw(
    app: &AppState,
    subscription: &str,
    wanted: &[(Policy, String)],
) -> Result<Vec<(Policy, u64)>, Response> {
    match lock(&app.throttle).draw(wanted, Instant::now()) {
        Draw::Allowed(remaining) => Ok(remaining),
        Draw::Throttled {
            policy,
            capacity,
            retry_after_secs,
        } => {
            let mut response = match policy {
                Policy::SubscriptionReads | Policy::SubscriptionWrites => {
                    let kind = if policy == Policy::SubscriptionReads {
                        "read"
                    } else {
                        "write"
                    };
                    arm_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "SubscriptionRequestsThrottled",
                        format!(
                            "Number of '{kind}' requests for subscription '{}' actor '{}' exceeded. Please try again after '{retry_after_secs}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling",
                            subscription, app.config.client_id
                        ),
                    )
                }
                _ => json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    throttled_body(policy.name(), capacity, capacity + 1),
                ),
            };
            let (name, prefix) = policy.header();
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            if let Ok(value) = HeaderValue::from_str(&format!("{prefix}0")) {
                headers.insert(name, value);
            }
            Err(response)
        }
    }
}

/// The `x-ms-ratelimit-remaining-*` headers for the buckets a request drew from.
pub(super) fn add_remaining(response: &mut Response, remaining: &[(Policy, u64)]) {
    for (policy, count) in remaining {
        let (name, prefix) = policy.header();
        if let Ok(value) = HeaderValue::from_str(&format!("{prefix}{count}")) {
            response.headers_mut().append(name, value);
        }
    }
}

/// The VM, or the 404 ARM answers for it.
pub(super) fn find_vm<'w>(world: &'w World, vm: &VmPath<'_>) -> Result<&'w Vm, Response> {
    world.vms.get(&vm.key()).ok_or_else(|| {
        if world.resource_group_exists(vm.subscription, vm.resource_group) {
            vm_not_found(vm)
        } else {
            resource_group_not_found(vm)
        }
    })
}

/// ARM's 404 for a VM (or instance) that does not exist in an existing resource group.
pub(super) fn vm_not_found(vm: &VmPath<'_>) -> Response {
    resource_not_found(&vm.resource(), vm.resource_group)
}

/// ARM's 404 for `resource` (`Microsoft.Compute/…/{name}`) in an existing resource group.
pub(super) fn resource_not_found(resource: &str, resource_group: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource '{resource}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// ARM's 404 for a resource group that does not exist.
pub(super) fn resource_group_not_found(vm: &VmPath<'_>) -> Response {
    no_resource_group(vm.resource_group)
}

fn no_resource_group(resource_group: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceGroupNotFound",
        format!("Resource group '{resource_group}' could not be found."),
    )
}

/// The scale set, or the 404 ARM answers for it.
pub(super) fn find_scale_set<'w>(
    world: &'w World,
    path: &ScaleSetPath<'_>,
) -> Result<&'w ScaleSet, Response> {
    world.scale_sets.get(&path.key()).ok_or_else(|| {
        if world.resource_group_exists(path.subscription, path.resource_group) {
            resource_not_found(
                &format!("Microsoft.Compute/virtualMachineScaleSets/{}", path.name),
                path.resource_group,
            )
        } else {
            no_resource_group(path.resource_group)
        }
    })
}

/// `None` when the instance's scale set exists and is Uniform (the only mode with
/// `…/virtualMachines` below the scale set); else ARM's 404, or Compute's 400 for Flexible.
pub(super) fn uniform_scale_set_refusal(
    app: &AppState,
    path: &ScaleSetPath<'_>,
) -> Option<Response> {
    let world = app.world();
    match find_scale_set(&world, path) {
        Err(response) => Some(response),
        Ok(scale_set) if scale_set.orchestration_mode == OrchestrationMode::Flexible => {
            Some(arm_error(
                StatusCode::BAD_REQUEST,
                "OperationNotAllowed",
                format!(
                    "The operation is not supported for virtual machine scale set '{}' with Flexible orchestration mode. Use the operations of the virtual machines (Microsoft.Compute/virtualMachines) instead.",
                    scale_set.name
                ),
            ))
        }
        Ok(_) => None,
    }
}

/// The key a list's `$skiptoken` carries (see `listing`), or ARM's 400.
pub(super) fn decode_skiptoken(token: &str) -> Result<String, Response> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": {
                    "code": "InvalidParameter",
                    "target": "$skiptoken",
                    "message": "The value of parameter $skiptoken is invalid.",
                }}),
            )
        })
}

/// The `$skiptoken` that continues a list after `key`.
pub(super) fn encode_skiptoken(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// ARM location names are lower-case without spaces ("West Europe" → "westeurope").
pub(super) fn normalize_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}
