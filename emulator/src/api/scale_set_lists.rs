//! The lists of scale sets (`VirtualMachineScaleSets_ListAll` of a subscription, `_List` of a
//! resource group), of a uniform
//! scale set's instances (`VirtualMachineScaleSetVMs_List`, paged like the VM lists) and of a
//! scale set model's extensions (`VirtualMachineScaleSetExtensions_List`); and the
//! `$filter` that lists a flexible scale set's VMs among a resource group's VMs. `listing`
//! routes the requests here after its checks and draws.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{
    ScaleSetPath, VmPath, decode_skiptoken, encode_skiptoken, find_scale_set,
    resource_group_not_found,
};
use super::response::json_response;
use super::vms::instance_body;
use crate::state::AppState;

/// `GET /subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.Compute/virtualMachineScaleSets`:
/// every scale set of the subscription or group, in one page.
pub(super) fn list_scale_sets(
    app: &AppState,
    subscription: &str,
    resource_group: Option<&str>,
) -> Result<Response, Response> {
    let world = app.world();
    let prefix = match resource_group {
        Some(rg) => {
            if !world.resource_group_exists(subscription, rg) {
                return Err(resource_group_not_found(&VmPath::vm(subscription, rg, "")));
            }
            format!("{subscription}/{rg}/")
        }
        None => format!("{subscription}/"),
    }
    .to_ascii_lowercase();
    let mut keys: Vec<&String> = world
        .scale_sets
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    keys.sort();
    let value: Vec<Value> = keys
        .iter()
        .filter_map(|k| world.scale_sets.get(*k))
        .map(|s| s.to_arm())
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "value": value })))
}

/// What a list of instances needs of the request.
pub(super) struct InstanceList<'a> {
    pub query: &'a HashMap<String, String>,
    pub api_version: &'a str,
    pub with_instance_view: bool,
}

/// `GET {ss}/virtualMachines`: one page of a uniform scale set's instances, in instance
/// order, continuing after the instance ID `$skiptoken` names.
pub(super) fn list_instances(
    app: &AppState,
    path: &ScaleSetPath<'_>,
    list: &InstanceList<'_>,
) -> Result<Response, Response> {
    let after: Option<u64> = match list.query.get("$skiptoken") {
        None => None,
        Some(token) => Some(
            decode_skiptoken(token)?
                .parse()
                .map_err(|_| bad_skiptoken())?,
        ),
    };
    let page_size = app.list_page_size.load(Ordering::Relaxed).max(1);
    let world = app.world();
    let scale_set = find_scale_set(&world, path)?;
    let mut instances: Vec<(u64, &crate::model::vm::Vm)> = scale_set
        .instances
        .iter()
        .filter_map(|key| world.vms.get(key))
        .filter_map(|vm| {
            let (_, id) = vm.uniform_instance()?;
            Some((id.parse().ok()?, vm))
        })
        .filter(|(id, _)| after.is_none_or(|a| *id > a))
        .collect();
    instances.sort_by_key(|(id, _)| *id);
    let more = instances.len() > page_size;
    instances.truncate(page_size);
    let value: Vec<Value> = instances
        .iter()
        .map(|(_, vm)| instance_body(vm, list.with_instance_view))
        .collect();
    let mut body = json!({ "value": value });
    if let (true, Some((last, _))) = (more, instances.last()) {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        pairs.append_pair("api-version", list.api_version);
        if let Some(expand) = list.query.get("$expand") {
            pairs.append_pair("$expand", expand);
        }
        pairs.append_pair("$skiptoken", &encode_skiptoken(&last.to_string()));
        body["nextLink"] = json!(format!(
            "{}{}/virtualMachines?{}",
            app.endpoint,
            path.arm_path(),
            pairs.finish()
        ));
    }
    Ok(json_response(StatusCode::OK, body))
}

fn bad_skiptoken() -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": {
            "code": "InvalidParameter",
            "target": "$skiptoken",
            "message": "The value of parameter $skiptoken is invalid.",
        }}),
    )
}

/// `GET {ss}/extensions`: the model's extensions (never their protected settings).
pub(super) fn list_model_extensions(
    app: &AppState,
    path: &ScaleSetPath<'_>,
) -> Result<Response, Response> {
    let world = app.world();
    let scale_set = find_scale_set(&world, path)?;
    let id = scale_set.id();
    let value: Vec<Value> = scale_set
        .extensions
        .values()
        .map(|e| e.to_arm(&id))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "value": value })))
}

/// The scale set ID of `$filter='virtualMachineScaleSet/id' eq '{id}'` (the only filter of
/// a VM list the emulator knows; the property name in any casing, quoted or not); else
/// ARM's 400.
pub(super) fn scale_set_filter(filter: &str) -> Result<String, Response> {
    let unquote = |s: &str| s.trim().trim_matches('\'').trim().to_string();
    let lower = filter.to_ascii_lowercase();
    let parsed = lower.find(" eq ").and_then(|at| {
        let property = unquote(&filter[..at]);
        let value = unquote(&filter[at + 4..]);
        (property.eq_ignore_ascii_case("virtualMachineScaleSet/id") && !value.is_empty())
            .then_some(value)
    });
    parsed.ok_or_else(|| {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {
                "code": "InvalidParameter",
                "target": "$filter",
                "message": format!("The value of parameter $filter is invalid: '{filter}'. The supported filter is 'virtualMachineScaleSet/id' eq '<scale set ID>'."),
            }}),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::scale_set_filter;

    #[test]
    fn the_scale_set_filter_is_read_in_any_casing() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web";
        for filter in [
            format!("'virtualMachineScaleSet/id' eq '{id}'"),
            format!("virtualmachinescaleset/ID EQ '{id}'"),
        ] {
            assert_eq!(scale_set_filter(&filter).ok(), Some(id.to_string()));
        }
        assert!(scale_set_filter("name eq 'web'").is_err());
        assert!(scale_set_filter("'virtualMachineScaleSet/id' eq ''").is_err());
    }
}
