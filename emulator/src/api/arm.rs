//! Azure Resource Manager: virtual machines, their extensions and Compute's
//! operation-status resource, and the routing, authentication, `api-version`
//! validation and throttling every ARM request passes (subscriptions and the
//! extension image catalogue are answered by their own modules). Segment
//! names and resource names match case-insensitively; responses echo the
//! stored casing.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::identity::challenge;
use super::versions::ResourceType;
use super::{arm_error, bearer, catalogue, json_response, subscriptions, versions};
use crate::admin::messages::LroStyle;
use crate::clock::now_rfc3339;
use crate::faults::{FaultAction, throttled_body};
use crate::model::extension::{Extension, ExtensionBody, ExtensionConfig, InstanceStatus};
use crate::model::operations::{Operation, OperationKind, OperationStatus};
use crate::model::vm::{OsType, PowerState, Vm};
use crate::model::vmaccess::OperationError;
use crate::state::{AppState, World, lock};
use crate::tenant::identity::TokenCheck;
use crate::throttle::{Draw, Policy};

/// A VM addressed by an ARM path.
#[derive(Debug, Clone, Copy)]
pub(super) struct VmPath<'a> {
    pub(super) subscription: &'a str,
    pub(super) resource_group: &'a str,
    pub(super) name: &'a str,
}

impl VmPath<'_> {
    fn key(&self) -> String {
        World::key(self.subscription, self.resource_group, self.name)
    }
}

/// An extension of a VM, addressed by an ARM path.
#[derive(Debug, Clone, Copy)]
struct ExtensionPath<'a> {
    vm: VmPath<'a>,
    name: &'a str,
}

#[derive(Debug)]
enum Route<'a> {
    Vm(VmPath<'a>),
    VmInstanceView(VmPath<'a>),
    Extension(ExtensionPath<'a>),
    Operation {
        subscription: &'a str,
        location: &'a str,
        id: &'a str,
    },
    Subscriptions,
    Subscription(&'a str),
    Catalogue {
        subscription: &'a str,
        location: &'a str,
        path: catalogue::Path<'a>,
    },
}

impl<'a> Route<'a> {
    fn parse(segments: &[&'a str]) -> Option<Route<'a>> {
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        match lower.as_slice() {
            ["subscriptions"] => Some(Route::Subscriptions),
            ["subscriptions", _] => Some(Route::Subscription(segments[1])),
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.compute",
                "locations",
                _,
                "operations",
                _,
            ] => Some(Route::Operation {
                subscription: segments[1],
                location: segments[5],
                id: segments[7],
            }),
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.compute",
                "locations",
                _,
                "publishers",
                ..,
            ] => Some(Route::Catalogue {
                subscription: segments[1],
                location: segments[5],
                path: catalogue::Path::parse(&segments[6..])?,
            }),
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.compute",
                "virtualmachines",
                _,
                rest @ ..,
            ] => {
                let vm = VmPath {
                    subscription: segments[1],
                    resource_group: segments[3],
                    name: segments[7],
                };
                match rest {
                    [] => Some(Route::Vm(vm)),
                    ["instanceview"] => Some(Route::VmInstanceView(vm)),
                    ["extensions", _] => Some(Route::Extension(ExtensionPath {
                        vm,
                        name: segments[9],
                    })),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The subscription the resource lives in (none for the subscription list).
    fn subscription(&self) -> Option<&'a str> {
        match self {
            Route::Vm(vm)
            | Route::VmInstanceView(vm)
            | Route::Extension(ExtensionPath { vm, .. }) => Some(vm.subscription),
            Route::Operation { subscription, .. }
            | Route::Subscription(subscription)
            | Route::Catalogue { subscription, .. } => Some(subscription),
            Route::Subscriptions => None,
        }
    }

    fn resource_type(&self) -> ResourceType {
        match self {
            Route::Vm(_) | Route::VmInstanceView(_) => ResourceType::VirtualMachines,
            Route::Extension(..) => ResourceType::Extensions,
            Route::Operation { .. } => ResourceType::Operations,
            Route::Subscriptions | Route::Subscription(_) => ResourceType::Subscriptions,
            Route::Catalogue { path, .. } => path.resource_type(),
        }
    }

    /// The location ARM names in `NoRegisteredProviderFound`: the path's, or
    /// the addressed VM's.
    fn location(&self, app: &AppState) -> Option<String> {
        match self {
            Route::Operation { location, .. } | Route::Catalogue { location, .. } => {
                Some(location.to_ascii_lowercase())
            }
            Route::Vm(vm)
            | Route::VmInstanceView(vm)
            | Route::Extension(ExtensionPath { vm, .. }) => app
                .world()
                .vms
                .get(&vm.key())
                .map(|v| normalize_location(&v.location)),
            Route::Subscriptions | Route::Subscription(_) => None,
        }
    }
}

/// What a handler needs from the request.
struct ArmRequest<'a> {
    method: &'a Method,
    api_version: &'a str,
    expand_instance_view: bool,
    monitor: bool,
    body: &'a [u8],
}

/// Fallback handler: every path not routed elsewhere is an ARM request.
pub async fn dispatch(
    State(app): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut response = super::listing::handle(&app, &method, uri.path(), &query, &headers)
        .unwrap_or_else(|| handle(&app, &method, uri.path(), &query, &headers, &body));
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert("x-ms-request-id", value.clone());
        response
            .headers_mut()
            .insert("x-ms-correlation-request-id", value);
    }
    response
}

fn handle(
    app: &AppState,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let Some(route) = Route::parse(&segments) else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!("The resource path '{path}' is not served by the emulator."),
        );
    };
    if let Some(response) = authenticate(app, headers) {
        return response;
    }
    let api_version =
        match checked_api_version(query, route.resource_type(), route.location(app).as_deref()) {
            Ok(v) => v,
            Err(response) => return response,
        };
    if let Some(response) = route
        .subscription()
        .and_then(|subscription| unknown_subscription(app, subscription))
    {
        return response;
    }
    let remaining = match throttle(app, method, &route) {
        Ok(remaining) => remaining,
        Err(response) => return response,
    };
    let request = ArmRequest {
        method,
        api_version,
        expand_instance_view: query
            .get("$expand")
            .is_some_and(|e| e.eq_ignore_ascii_case("instanceView")),
        monitor: query
            .get("monitor")
            .is_some_and(|m| m.eq_ignore_ascii_case("true")),
        body,
    };
    let mut response = match (&route, method.clone()) {
        (Route::Subscriptions, Method::GET) => subscriptions::list(
            app,
            api_version,
            query.get("$skiptoken").map(String::as_str),
        ),
        (Route::Subscription(id), Method::GET) => subscriptions::get(app, id),
        (
            Route::Catalogue {
                subscription,
                location,
                path,
            },
            Method::GET,
        ) => catalogue::handle(
            app,
            subscription,
            location,
            path,
            &catalogue::ListOptions {
                top: query.get("$top").map(String::as_str),
                orderby: query.get("$orderby").map(String::as_str),
            },
        ),
        (Route::Vm(vm), Method::GET) => get_vm(app, vm, request.expand_instance_view),
        (Route::VmInstanceView(vm), Method::GET) => get_vm_instance_view(app, vm),
        (Route::Extension(at), Method::GET) => get_extension(app, at, request.expand_instance_view),
        (Route::Extension(at), Method::PUT) => put_extension(app, at, &request),
        (Route::Extension(at), Method::DELETE) => delete_extension(app, at, &request),
        (
            Route::Operation {
                subscription, id, ..
            },
            Method::GET,
        ) => get_operation(app, subscription, id, &request),
        _ => arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!(
                "The method '{}' is not supported by the emulator for this resource.",
                request.method
            ),
        ),
    };
    add_remaining(&mut response, &remaining);
    response
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

/// The request's `api-version`, or ARM's 400 when it is missing or malformed.
/// The request's `api-version` if Compute's virtual machines serve it (the
/// listing routes); see [`checked_api_version`].
pub(super) fn api_version(query: &HashMap<String, String>) -> Result<&str, Response> {
    checked_api_version(query, ResourceType::VirtualMachines, None)
}

/// The request's `api-version` if `resource_type` serves it; else ARM's 400
/// (missing, or not supported: [`versions::check`]).
fn checked_api_version<'q>(
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
    (!lock(&app.subscriptions).exists(subscription)).then(|| subscriptions::not_found(subscription))
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

/// Draws from the buckets the request uses; a 429 when one is empty.
fn throttle(
    app: &AppState,
    method: &Method,
    route: &Route<'_>,
) -> Result<Vec<(Policy, u64)>, Response> {
    // Tenant-level reads (the subscription list) count against the tenant.
    let subscription = route
        .subscription()
        .unwrap_or(app.config.tenant_id.as_str())
        .to_ascii_lowercase();
    let mut wanted = vec![if *method == Method::GET {
        (Policy::SubscriptionReads, subscription.clone())
    } else {
        (Policy::SubscriptionWrites, subscription.clone())
    }];
    match route {
        Route::Extension(ExtensionPath { vm, .. }) if *method != Method::GET => {
            wanted.push((Policy::UpdateVm, vm.key()))
        }
        Route::Operation { id, .. } => {
            let scope = app
                .world()
                .operations
                .get(&id.to_ascii_lowercase())
                .map(|op| op.vm_key.clone())
                .unwrap_or_else(|| subscription.clone());
            wanted.push((Policy::GetOperation, scope));
        }
        _ => {}
    }
    draw(app, &subscription, &wanted)
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

fn vm_not_found(vm: &VmPath<'_>) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.Compute/virtualMachines/{}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            vm.name, vm.resource_group
        ),
    )
}

fn resource_group_not_found(vm: &VmPath<'_>) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceGroupNotFound",
        format!("Resource group '{}' could not be found.", vm.resource_group),
    )
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

fn get_vm(app: &AppState, path: &VmPath<'_>, with_instance_view: bool) -> Response {
    let world = app.world();
    match find_vm(&world, path) {
        Ok(vm) => json_response(StatusCode::OK, vm_body(vm, with_instance_view)),
        Err(response) => response,
    }
}

fn get_vm_instance_view(app: &AppState, path: &VmPath<'_>) -> Response {
    let world = app.world();
    match find_vm(&world, path) {
        Ok(vm) => json_response(StatusCode::OK, vm_instance_view(vm)),
        Err(response) => response,
    }
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
        os_profile["linuxConfiguration"] = json!({"disablePasswordAuthentication": false, "provisionVMAgent": true, "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"}});
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
                .map(|e| e.to_arm(vm, false))
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

fn extension_not_found(vm: &VmPath<'_>, name: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.Compute/virtualMachines/{}/extensions/{name}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            vm.name, vm.resource_group
        ),
    )
}

fn get_extension(app: &AppState, at: &ExtensionPath<'_>, with_instance_view: bool) -> Response {
    let ExtensionPath { vm: path, name } = at;
    let world = app.world();
    let vm = match find_vm(&world, path) {
        Ok(vm) => vm,
        Err(response) => return response,
    };
    match vm.extensions.get(&name.to_ascii_lowercase()) {
        Some(extension) => json_response(StatusCode::OK, extension.to_arm(vm, with_instance_view)),
        None => extension_not_found(path, name),
    }
}

fn invalid_parameter(target: &str, message: String) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": "InvalidParameter", "target": target, "message": message}}),
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

fn conflict() -> Response {
    arm_error(
        StatusCode::CONFLICT,
        "Conflict",
        "The request failed due to conflict with a concurrent request. To resolve it, please refer to https://aka.ms/activitylog to get more details on the conflicting requests.",
    )
}

/// Validates a PUT body into the extension's configuration.
fn parse_extension(body: &[u8]) -> Result<ExtensionConfig, Response> {
    let body: ExtensionBody = serde_json::from_slice(body).map_err(|e| {
        arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })?;
    let location = body
        .location
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            arm_error(
                StatusCode::BAD_REQUEST,
                "LocationRequired",
                "The location property is required for this definition.",
            )
        })?;
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

fn put_extension(app: &AppState, at: &ExtensionPath<'_>, request: &ArmRequest<'_>) -> Response {
    let ExtensionPath { vm: ref path, name } = *at;
    let config = match parse_extension(request.body) {
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
    let existing = vm.extensions.get(&extension_key);
    if let Some(existing) = existing {
        for (field, old, new) in [
            ("publisher", &existing.config.publisher, &config.publisher),
            (
                "type",
                &existing.config.extension_type,
                &config.extension_type,
            ),
        ] {
            if !old.eq_ignore_ascii_case(new) {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "PropertyChangeNotAllowed",
                    format!("Changing property '{field}' is not allowed."),
                );
            }
        }
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

/// A new operation on extension `name` of `vm`, with the operation faults it draws.
fn start_operation(
    app: &AppState,
    runtime: &crate::state::Runtime,
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
        vm_key: World::key(&vm.subscription, &vm.resource_group, &vm.name),
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
fn record_and_respond(
    app: &AppState,
    runtime: &crate::state::Runtime,
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
fn operation_faults(
    app: &AppState,
    method: &Method,
    path: &str,
    delay: std::time::Duration,
) -> (std::time::Duration, Option<OperationError>) {
    match lock(&app.faults).take(method.as_str(), path, true) {
        Some(FaultAction::FailOperation { code, message }) => {
            (delay, Some(OperationError { code, message }))
        }
        Some(FaultAction::SlowOperationMs(ms)) => (std::time::Duration::from_millis(ms), None),
        _ => (delay, None),
    }
}

/// ARM location names are lower-case without spaces ("West Europe" → "westeurope").
fn normalize_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The response that starts (or repeats) a long-running operation.
fn lro_response(
    app: &AppState,
    runtime: &crate::state::Runtime,
    world: &World,
    operation: &Operation,
    request: &ArmRequest<'_>,
) -> Response {
    let status = match operation.kind {
        OperationKind::Put { created: true, .. } => StatusCode::CREATED,
        OperationKind::Put { created: false, .. } => StatusCode::OK,
        OperationKind::Delete => StatusCode::ACCEPTED,
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
    let body = match &operation.kind {
        OperationKind::Put { .. } => extension_of(world, operation),
        OperationKind::Delete => None,
    };
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

fn delete_extension(app: &AppState, at: &ExtensionPath<'_>, request: &ArmRequest<'_>) -> Response {
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

/// The ARM JSON of the extension an operation works on, if it (still) exists.
fn extension_of(world: &World, operation: &Operation) -> Option<Value> {
    let vm = world.vms.get(&operation.vm_key)?;
    let extension = vm.extensions.get(&operation.extension_key)?;
    Some(extension.to_arm(vm, false))
}

/// Compute's operation-status resource. With `monitor=true` it behaves as a
/// `Location` URL: 202 while running, then the final result.
fn get_operation(
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
        (OperationStatus::Succeeded, OperationKind::Delete) => {
            StatusCode::NO_CONTENT.into_response()
        }
        (OperationStatus::Succeeded, OperationKind::Put { .. }) => {
            let body = extension_of(&world, operation).unwrap_or_else(|| json!({}));
            json_response(StatusCode::OK, body)
        }
    }
}
