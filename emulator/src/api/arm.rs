//! Azure Resource Manager's front for single resources: parses the path into a route (VMs,
//! extensions, scale sets with their model's extensions, `manualupgrade` and uniform
//! instances, Compute's operation status, subscriptions, the extension image catalogue),
//! runs the checks every ARM request passes (authentication, `api-version`, subscription,
//! throttling) and hands the request to the module that serves the resource. Segment names
//! and resource names match case-insensitively; responses echo the stored casing. Lists are
//! `listing`'s.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::request::{
    ArmRequest, ExtensionPath, Incoming, ScaleSetPath, VmPath, add_remaining, authenticate,
    checked_api_version, draw, normalize_location, uniform_scale_set_refusal, unknown_subscription,
};
use super::response::arm_error;
use super::versions::ResourceType;
use super::{catalogue, extensions, model_extensions, operations, scale_sets, subscriptions, vms};
use crate::state::AppState;
use crate::throttle::Policy;

/// What an ARM path addresses.
#[derive(Debug)]
enum Route<'a> {
    /// A VM, or a uniform scale set's instance (`VmPath::scale_set`).
    Vm(VmPath<'a>),
    VmInstanceView(VmPath<'a>),
    Extension(ExtensionPath<'a>),
    ScaleSet(ScaleSetPath<'a>),
    ScaleSetExtension(ScaleSetPath<'a>, &'a str),
    ManualUpgrade(ScaleSetPath<'a>),
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
                let vm = VmPath::vm(segments[1], segments[3], segments[7]);
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
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.compute",
                "virtualmachinescalesets",
                _,
                rest @ ..,
            ] => {
                let scale_set = ScaleSetPath {
                    subscription: segments[1],
                    resource_group: segments[3],
                    name: segments[7],
                };
                let instance = |id| VmPath {
                    scale_set: Some(segments[7]),
                    ..VmPath::vm(segments[1], segments[3], id)
                };
                match rest {
                    [] => Some(Route::ScaleSet(scale_set)),
                    ["extensions", _] => Some(Route::ScaleSetExtension(scale_set, segments[9])),
                    ["manualupgrade"] => Some(Route::ManualUpgrade(scale_set)),
                    ["virtualmachines", _] => Some(Route::Vm(instance(segments[9]))),
                    ["virtualmachines", _, "instanceview"] => {
                        Some(Route::VmInstanceView(instance(segments[9])))
                    }
                    ["virtualmachines", _, "extensions", _] => {
                        Some(Route::Extension(ExtensionPath {
                            vm: instance(segments[9]),
                            name: segments[11],
                        }))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The VM or instance the route addresses.
    fn vm(&self) -> Option<&VmPath<'a>> {
        match self {
            Route::Vm(vm)
            | Route::VmInstanceView(vm)
            | Route::Extension(ExtensionPath { vm, .. }) => Some(vm),
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
            Route::ScaleSet(path)
            | Route::ScaleSetExtension(path, _)
            | Route::ManualUpgrade(path) => Some(path.subscription),
            Route::Subscriptions => None,
        }
    }

    fn resource_type(&self) -> ResourceType {
        let instance = self.vm().is_some_and(|vm| vm.scale_set.is_some());
        match self {
            Route::Vm(_) | Route::VmInstanceView(_) if instance => ResourceType::ScaleSetVms,
            Route::Extension(..) if instance => ResourceType::ScaleSetVmExtensions,
            Route::Vm(_) | Route::VmInstanceView(_) => ResourceType::VirtualMachines,
            Route::Extension(..) => ResourceType::Extensions,
            Route::ScaleSet(_) | Route::ManualUpgrade(_) => ResourceType::ScaleSets,
            Route::ScaleSetExtension(..) => ResourceType::ScaleSetExtensions,
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
            Route::ScaleSet(path)
            | Route::ScaleSetExtension(path, _)
            | Route::ManualUpgrade(path) => app
                .world()
                .scale_sets
                .get(&path.key())
                .map(|s| normalize_location(&s.location)),
            Route::Subscriptions | Route::Subscription(_) => None,
        }
    }
}

/// Answers an ARM request that is not a list: checks the token, the `api-version`, the
/// subscription and the throttling buckets, then dispatches on the route and method.
pub(super) fn handle(app: &AppState, incoming: &Incoming<'_>) -> Response {
    let Incoming {
        method,
        path,
        query,
        headers,
        body,
    } = *incoming;
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
    // Instance routes exist only below a uniform scale set.
    if let Some(refusal) = route
        .vm()
        .and_then(VmPath::scale_set_path)
        .and_then(|path| uniform_scale_set_refusal(app, &path))
    {
        let mut refusal = refusal;
        add_remaining(&mut refusal, &remaining);
        return refusal;
    }
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
        (Route::Vm(vm), Method::GET) => vms::get(app, vm, request.expand_instance_view),
        (Route::VmInstanceView(vm), Method::GET) => vms::get_instance_view(app, vm),
        (Route::Extension(at), Method::GET) => {
            extensions::get(app, at, request.expand_instance_view)
        }
        (Route::Extension(at), Method::PUT) => extensions::put(app, at, &request),
        (Route::Extension(at), Method::DELETE) => extensions::delete(app, at, &request),
        (Route::ScaleSet(path), Method::GET) => scale_sets::get(app, path),
        (Route::ScaleSet(path), Method::PUT) => scale_sets::put(app, path, &request),
        (Route::ManualUpgrade(path), Method::POST) => {
            scale_sets::manual_upgrade(app, path, &request)
        }
        (Route::ScaleSetExtension(path, name), Method::GET) => {
            model_extensions::get(app, path, name)
        }
        (Route::ScaleSetExtension(path, name), Method::PUT) => {
            model_extensions::put(app, path, name, &request)
        }
        (Route::ScaleSetExtension(path, name), Method::DELETE) => {
            model_extensions::delete(app, path, name, &request)
        }
        (
            Route::Operation {
                subscription, id, ..
            },
            Method::GET,
        ) => operations::get(app, subscription, id, &request),
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
