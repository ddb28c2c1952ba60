//! ARM list operations: the VMs of a subscription (`VirtualMachines_ListAll`) or of a resource
//! group (`VirtualMachines_List`, with the `$filter` that selects a flexible scale set's VMs),
//! paged with `nextLink`, and the extensions of a VM or uniform instance
//! (`VirtualMachineExtensions_List`, not paged); the scale-set lists are
//! `scale_set_lists`'s, after the same checks. Also the admin endpoints that build a fleet in
//! one request and set the page size and Compute's read budgets.
//!
//! Shapes follow ARM: `{"value": [...], "nextLink": "…&$skiptoken=…"}`; listed VMs carry no
//! `instanceView` unless asked (`$expand=instanceView`, or `statusOnly=true` on the subscription
//! list), and their `resources` hold only extension IDs, as Compute's list does
//! (Azure/azure-sdk-for-net#13378). Every request draws from ARM's subscription read bucket and
//! from Compute's `HighCostGet` (VM lists) or per-VM and per-subscription `LowCostGet` (extension
//! lists) buckets, and reports what is left in `x-ms-ratelimit-remaining-*` headers.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::admin::{AdminJson, admin_error};
use super::convert::{extension_from_seed, insert_seeded};
use super::request::{
    Incoming, ScaleSetPath, VmPath, add_remaining, api_version, authenticate, decode_skiptoken,
    draw, encode_skiptoken, find_vm, uniform_scale_set_refusal, unknown_subscription,
};
use super::response::{arm_error, json_response};
use super::scale_set_lists::{
    InstanceList, list_instances, list_model_extensions, list_scale_sets, scale_set_filter,
};
use super::vms::vm_body;
use crate::admin_messages::{Fleet, FleetCreated, ListingChange, ListingConfig};
use crate::compute_reads::{ReadPolicy, ReadThrottled};
use crate::faults::throttled_body;
use crate::model::vm::Vm;
use crate::state::{AppState, lock};
use crate::throttle::Policy;

enum ListRoute<'a> {
    /// `/subscriptions/{s}/providers/Microsoft.Compute/virtualMachines`
    Subscription(&'a str),
    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines`
    ResourceGroup(&'a str, &'a str),
    /// `…/virtualMachines/{vm}/extensions`, or a uniform instance's
    /// (`{ss}/virtualMachines/{id}/extensions`)
    Extensions(VmPath<'a>),
    /// `/subscriptions/{s}/providers/Microsoft.Compute/virtualMachineScaleSets`, or a resource
    /// group's (`/subscriptions/{s}/resourceGroups/{rg}/providers/…`)
    ScaleSets(&'a str, Option<&'a str>),
    /// `{ss}/virtualMachines`: a uniform scale set's instances
    Instances(ScaleSetPath<'a>),
    /// `{ss}/extensions`: the scale set model's extensions
    ModelExtensions(ScaleSetPath<'a>),
}

impl<'a> ListRoute<'a> {
    fn parse(segments: &[&'a str]) -> Option<ListRoute<'a>> {
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        match lower.as_slice() {
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.compute",
                "virtualmachines",
            ] => Some(ListRoute::Subscription(segments[1])),
            [
                "subscriptions",
                _,
                "providers",
                "microsoft.compute",
                "virtualmachinescalesets",
            ] => Some(ListRoute::ScaleSets(segments[1], None)),
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.compute",
                "virtualmachines",
            ] => Some(ListRoute::ResourceGroup(segments[1], segments[3])),
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.compute",
                "virtualmachines",
                _,
                "extensions",
            ] => Some(ListRoute::Extensions(VmPath::vm(
                segments[1],
                segments[3],
                segments[7],
            ))),
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                "microsoft.compute",
                "virtualmachinescalesets",
                rest @ ..,
            ] => {
                let scale_set = |name| ScaleSetPath {
                    subscription: segments[1],
                    resource_group: segments[3],
                    name,
                };
                match rest {
                    [] => Some(ListRoute::ScaleSets(segments[1], Some(segments[3]))),
                    [_, "virtualmachines"] => Some(ListRoute::Instances(scale_set(segments[7]))),
                    [_, "extensions"] => Some(ListRoute::ModelExtensions(scale_set(segments[7]))),
                    [_, "virtualmachines", _, "extensions"] => {
                        Some(ListRoute::Extensions(VmPath {
                            scale_set: Some(segments[7]),
                            ..VmPath::vm(segments[1], segments[3], segments[9])
                        }))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The uniform scale set whose instances the request reads, if it reads some.
    fn instances_of(&self) -> Option<ScaleSetPath<'a>> {
        match self {
            ListRoute::Instances(path) => Some(*path),
            ListRoute::Extensions(vm) => vm.scale_set_path(),
            _ => None,
        }
    }

    fn subscription(&self) -> &'a str {
        match self {
            ListRoute::Subscription(s)
            | ListRoute::ResourceGroup(s, _)
            | ListRoute::ScaleSets(s, _) => s,
            ListRoute::Extensions(vm) => vm.subscription,
            ListRoute::Instances(path) | ListRoute::ModelExtensions(path) => path.subscription,
        }
    }

    /// Compute's buckets for this request.
    fn compute_policies(&self) -> Vec<(ReadPolicy, String)> {
        let subscription = self.subscription().to_ascii_lowercase();
        match self {
            ListRoute::Subscription(_)
            | ListRoute::ResourceGroup(..)
            | ListRoute::ScaleSets(..)
            | ListRoute::Instances(_) => {
                vec![(ReadPolicy::HighCostGet, subscription)]
            }
            ListRoute::Extensions(vm) => vec![
                (ReadPolicy::LowCostGetVm, vm.key()),
                (ReadPolicy::LowCostGetSubscription, subscription),
            ],
            ListRoute::ModelExtensions(_) => {
                vec![(ReadPolicy::LowCostGetSubscription, subscription)]
            }
        }
    }
}

/// Handles a GET on one of the list paths; `None` for every other request (ARM's router
/// takes it).
pub(super) fn handle(app: &AppState, incoming: &Incoming<'_>) -> Option<Response> {
    if incoming.method != Method::GET {
        return None;
    }
    let segments: Vec<&str> = incoming.path.trim_matches('/').split('/').collect();
    let route = ListRoute::parse(&segments)?;
    let answer = respond(app, &route, incoming.query, incoming.headers);
    Some(answer.unwrap_or_else(|response| response))
}

fn respond(
    app: &AppState,
    route: &ListRoute<'_>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    if let Some(response) = authenticate(app, headers) {
        return Err(response);
    }
    let api_version = api_version(query)?;
    if let Some(response) = unknown_subscription(app, route.subscription()) {
        return Err(response);
    }
    let subscription = route.subscription().to_ascii_lowercase();
    let arm_remaining = draw(
        app,
        route.subscription(),
        &[(Policy::SubscriptionReads, subscription)],
    )?;
    let enforce = lock(&app.throttle).settings.enabled;
    let compute_remaining = lock(&app.compute_reads)
        .draw(&route.compute_policies(), enforce, Instant::now())
        .map_err(compute_throttled)?;
    if let Some(refusal) = route
        .instances_of()
        .and_then(|path| uniform_scale_set_refusal(app, &path))
    {
        return Err(refusal);
    }
    let expand = query
        .get("$expand")
        .is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
    let mut response = match route {
        ListRoute::Subscription(s) => {
            let status_only = query
                .get("statusOnly")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let list = VmList {
                subscription: s,
                resource_group: None,
                query,
                api_version,
            };
            list_vms(app, &list, expand || status_only)?
        }
        ListRoute::ResourceGroup(s, rg) => {
            let list = VmList {
                subscription: s,
                resource_group: Some(rg),
                query,
                api_version,
            };
            list_vms(app, &list, expand)?
        }
        ListRoute::Extensions(vm) => list_extensions(app, vm, expand)?,
        ListRoute::ScaleSets(s, rg) => list_scale_sets(app, s, *rg)?,
        ListRoute::Instances(path) => {
            let list = InstanceList {
                query,
                api_version,
                with_instance_view: expand,
            };
            list_instances(app, path, &list)?
        }
        ListRoute::ModelExtensions(path) => list_model_extensions(app, path)?,
    };
    add_remaining(&mut response, &arm_remaining);
    for (policy, count) in compute_remaining {
        let value = format!("{};{count}", policy.header_name());
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .append("x-ms-ratelimit-remaining-resource", value);
        }
    }
    Ok(response)
}

/// Compute's 429: the bare `{code, message, details}` body with the policy and a Retry-After.
fn compute_throttled(refused: ReadThrottled) -> Response {
    let name = refused.policy.header_name();
    let policy = name.rsplit('/').next().unwrap_or(name);
    let mut response = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        throttled_body(policy, refused.capacity, refused.capacity + 1),
    );
    let headers = response.headers_mut();
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(refused.retry_after_secs),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("{name};0")) {
        headers.insert("x-ms-ratelimit-remaining-resource", value);
    }
    response
}

/// A request for a list of VMs: of a subscription, or of one of its resource groups.
struct VmList<'a> {
    subscription: &'a str,
    resource_group: Option<&'a str>,
    query: &'a HashMap<String, String>,
    api_version: &'a str,
}

/// One page of VMs in key order, continuing after the VM named by `$skiptoken`.
fn list_vms(
    app: &AppState,
    list: &VmList<'_>,
    with_instance_view: bool,
) -> Result<Response, Response> {
    let VmList {
        subscription,
        resource_group,
        query,
        ..
    } = *list;
    let after = match query.get("$skiptoken") {
        None => None,
        Some(token) => Some(decode_skiptoken(token)?),
    };
    let scale_set_id = match query.get("$filter") {
        None => None,
        Some(filter) => Some(scale_set_filter(filter)?),
    };
    let page_size = app.list_page_size.load(Ordering::Relaxed).max(1);
    let world = app.world();
    let prefix = match resource_group {
        Some(rg) => format!("{subscription}/{rg}/").to_ascii_lowercase(),
        None => format!("{subscription}/").to_ascii_lowercase(),
    };
    if let Some(rg) = resource_group {
        if !world.resource_group_exists(subscription, rg) {
            return Err(arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                format!("Resource group '{rg}' could not be found."),
            ));
        }
    }
    // A uniform scale set's instances are not VMs of the list; a filter keeps a flexible
    // scale set's VMs.
    let listed = |vm: &Vm| match (&vm.scale_set, &scale_set_id) {
        (Some(m), _) if m.instance_id.is_some() => false,
        (_, None) => true,
        (Some(m), Some(id)) => m.scale_set_id.eq_ignore_ascii_case(id),
        (None, Some(_)) => false,
    };
    let mut keys: Vec<&String> = world
        .vms
        .iter()
        .filter(|(k, vm)| k.starts_with(&prefix) && listed(vm))
        .map(|(k, _)| k)
        .filter(|k| after.as_deref().is_none_or(|a| k.as_str() > a))
        .collect();
    keys.sort();
    let more = keys.len() > page_size;
    keys.truncate(page_size);
    let value: Vec<Value> = keys
        .iter()
        .filter_map(|k| world.vms.get(*k))
        .map(|vm| listed_vm(vm, with_instance_view))
        .collect();
    let mut body = json!({ "value": value });
    if let (true, Some(last)) = (more, keys.last()) {
        body["nextLink"] = json!(next_link(app, list, last));
    }
    Ok(json_response(StatusCode::OK, body))
}

/// A VM as a list returns it: `resources` holds only the extensions' IDs.
fn listed_vm(vm: &Vm, with_instance_view: bool) -> Value {
    let mut body = vm_body(vm, with_instance_view);
    if !vm.extensions.is_empty() {
        body["resources"] = Value::Array(
            vm.extensions
                .values()
                .map(|e| json!({"id": e.id(&vm.id())}))
                .collect(),
        );
    }
    body
}

fn next_link(app: &AppState, list: &VmList<'_>, last_key: &str) -> String {
    let VmList {
        subscription,
        resource_group,
        query,
        api_version,
    } = *list;
    let path = match resource_group {
        Some(rg) => format!(
            "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines"
        ),
        None => {
            format!("/subscriptions/{subscription}/providers/Microsoft.Compute/virtualMachines")
        }
    };
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    pairs.append_pair("api-version", api_version);
    for kept in ["$expand", "statusOnly", "$filter"] {
        if let Some(v) = query.get(kept) {
            pairs.append_pair(kept, v);
        }
    }
    pairs.append_pair("$skiptoken", &encode_skiptoken(last_key));
    format!("{}{path}?{}", app.endpoint, pairs.finish())
}

fn list_extensions(
    app: &AppState,
    path: &VmPath<'_>,
    with_instance_view: bool,
) -> Result<Response, Response> {
    let world = app.world();
    let vm = find_vm(&world, path)?;
    let value: Vec<Value> = vm
        .extensions
        .values()
        .map(|e| vm.extension_json(e, with_instance_view))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "value": value })))
}

/// `/_emulator/fleet` (many VMs with their extensions in one request) and `/_emulator/listing`
/// (page size and Compute's read budgets).
pub(super) fn admin_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_emulator/fleet", post(seed_fleet))
        .route("/_emulator/listing", post(set_listing).get(get_listing))
}

async fn seed_fleet(
    State(app): State<Arc<AppState>>,
    AdminJson(fleet): AdminJson<Fleet>,
) -> Response {
    let mut world = app.world();
    let mut created = 0usize;
    for entry in fleet.vms {
        let vm = match insert_seeded(&mut world, &app.config.subscription_id, &entry.vm) {
            Ok(vm) => vm,
            Err(message) => return admin_error(StatusCode::BAD_REQUEST, message),
        };
        for (name, extension) in entry.extensions {
            let extension = extension_from_seed(extension, &name, &vm.location);
            vm.extensions.insert(name.to_ascii_lowercase(), extension);
        }
        created += 1;
    }
    Json(FleetCreated { created }).into_response()
}

async fn set_listing(
    State(app): State<Arc<AppState>>,
    AdminJson(change): AdminJson<ListingChange>,
) -> Response {
    if let Some(size) = change.page_size {
        if size == 0 {
            return admin_error(StatusCode::BAD_REQUEST, "page_size must be at least 1");
        }
        app.list_page_size.store(size, Ordering::Relaxed);
    }
    if let Some(settings) = change.compute_reads {
        lock(&app.compute_reads).configure(settings);
    }
    get_listing(State(app)).await
}

async fn get_listing(State(app): State<Arc<AppState>>) -> Response {
    let settings = lock(&app.compute_reads).settings.clone();
    Json(ListingConfig {
        page_size: app.list_page_size.load(Ordering::Relaxed),
        compute_reads: settings,
    })
    .into_response()
}
