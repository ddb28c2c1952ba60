//! The admin API of scale sets (`/_emulator/scale-sets/{sub}/{rg}/{name}`): seed a scale set
//! with its instances, show it, and reach one instance (by instance ID for Uniform, by VM
//! name for Flexible) with the VM admin routes' bodies and answers: show, patch, RDP and SSH
//! logins, the Linux guest. Also the conversions of its seed and view.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use sha2::{Digest, Sha256};

use super::admin::{AdminJson, admin_error, linux_guest, patched, rdp_login, ssh_login_to};
use super::convert::{extension_from_seed, vm_from_seed, vm_view};
use crate::admin_messages::{
    Credentials, InstanceView, ModelExtensionView, ScaleSetSeed, ScaleSetView, SshLogin, VmPatch,
};
use crate::model::membership::{Membership, scale_set_key};
use crate::model::scale_set::{ModelExtension, OrchestrationMode, ScaleSet};
use crate::model::vm::{PowerState, Vm};
use crate::state::{AppState, World};

type AppStateRef = State<Arc<AppState>>;
type ScaleSetAt = (String, String, String);
type InstanceAt = (String, String, String, String);

pub(super) fn routes() -> Router<Arc<AppState>> {
    const INSTANCE: &str = "/_emulator/scale-sets/{sub}/{rg}/{name}/instances/{key}";
    Router::new()
        .route(
            "/_emulator/scale-sets/{sub}/{rg}/{name}",
            put(put_scale_set).get(get_scale_set),
        )
        .route(INSTANCE, get(get_instance).patch(patch_instance))
        .route(&format!("{INSTANCE}/login"), post(login))
        .route(&format!("{INSTANCE}/ssh-login"), post(ssh_login))
        .route(&format!("{INSTANCE}/linux"), get(get_linux))
}

async fn put_scale_set(
    State(app): AppStateRef,
    Path((sub, rg, name)): Path<ScaleSetAt>,
    AdminJson(seed): AdminJson<ScaleSetSeed>,
) -> Response {
    let mut world = app.world();
    match insert_scale_set(&mut world, (&sub, &rg, &name), &seed) {
        Ok(key) => match world.scale_sets.get(&key) {
            Some(scale_set) => Json(scale_set_view(&world, scale_set)).into_response(),
            None => scale_set_missing(&sub, &rg, &name),
        },
        Err(message) => admin_error(StatusCode::BAD_REQUEST, message),
    }
}

async fn get_scale_set(
    State(app): AppStateRef,
    Path((sub, rg, name)): Path<ScaleSetAt>,
) -> Response {
    let world = app.world();
    match world.scale_sets.get(&scale_set_key(&sub, &rg, &name)) {
        Some(scale_set) => Json(scale_set_view(&world, scale_set)).into_response(),
        None => scale_set_missing(&sub, &rg, &name),
    }
}

async fn get_instance(State(app): AppStateRef, Path(at): Path<InstanceAt>) -> Response {
    with_instance(&app, &at, |vm| Json(vm_view(vm)).into_response())
}

async fn patch_instance(
    State(app): AppStateRef,
    Path(at): Path<InstanceAt>,
    AdminJson(patch): AdminJson<VmPatch>,
) -> Response {
    with_instance(&app, &at, |vm| patched(vm, &patch))
}

async fn login(
    State(app): AppStateRef,
    Path(at): Path<InstanceAt>,
    AdminJson(request): AdminJson<Credentials>,
) -> Response {
    with_instance(&app, &at, |vm| rdp_login(vm, &request))
}

async fn ssh_login(
    State(app): AppStateRef,
    Path(at): Path<InstanceAt>,
    AdminJson(request): AdminJson<SshLogin>,
) -> Response {
    with_instance(&app, &at, |vm| ssh_login_to(vm, &request))
}

async fn get_linux(State(app): AppStateRef, Path(at): Path<InstanceAt>) -> Response {
    with_instance(&app, &at, |vm| linux_guest(vm))
}

fn scale_set_missing(sub: &str, rg: &str, name: &str) -> Response {
    admin_error(
        StatusCode::NOT_FOUND,
        format!("no scale set {sub}/{rg}/{name}"),
    )
}

/// Runs `f` on the instance `key` of the scale set, or answers 404.
fn with_instance(
    app: &AppState,
    (sub, rg, name, key): &InstanceAt,
    f: impl FnOnce(&mut Vm) -> Response,
) -> Response {
    let mut world = app.world();
    let Some(scale_set) = world.scale_sets.get(&scale_set_key(sub, rg, name)) else {
        return scale_set_missing(sub, rg, name);
    };
    let found = scale_set.instances.iter().find(|k| {
        world
            .vms
            .get(*k)
            .is_some_and(|vm| instance_key_of(vm).eq_ignore_ascii_case(key))
    });
    match found.cloned().and_then(|k| world.vms.get_mut(&k)) {
        Some(vm) => f(vm),
        None => admin_error(
            StatusCode::NOT_FOUND,
            format!("no instance {key} in scale set {sub}/{rg}/{name}"),
        ),
    }
}

/// How the admin API addresses an instance: its instance ID (Uniform) or VM name (Flexible).
fn instance_key_of(vm: &Vm) -> &str {
    match vm.uniform_instance() {
        Some((_, id)) => id,
        None => &vm.name,
    }
}

/// A flexible instance's VM name: the scale set's name and 8 hex digits derived from the
/// index, so that a seed always names its VMs alike.
fn flexible_vm_name(scale_set: &str, index: u32) -> String {
    let digest = Sha256::new()
        .chain_update(scale_set.as_bytes())
        .chain_update(index.to_be_bytes())
        .finalize();
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{scale_set}_{hex}")
}

/// Creates (or replaces, with its instances) the scale set `name` as `seed` describes it;
/// returns its world key. Fails on an index past the instances, or on two model extensions
/// of one handler.
fn insert_scale_set(
    world: &mut World,
    (sub, rg, name): (&str, &str, &str),
    seed: &ScaleSetSeed,
) -> Result<String, String> {
    if name.is_empty() || rg.is_empty() {
        return Err("a scale set needs a resource group and a name".into());
    }
    for (field, indexes) in [
        ("stopped", &seed.stopped),
        ("deallocated", &seed.deallocated),
        ("agent_not_ready", &seed.agent_not_ready),
    ] {
        if let Some(i) = indexes.iter().find(|i| **i >= seed.instances) {
            return Err(format!(
                "{field}: index {i} is not below the {} instances",
                seed.instances
            ));
        }
    }
    let mut extensions: BTreeMap<String, ModelExtension> = BTreeMap::new();
    for extension in &seed.model_extensions {
        let name = extension.extension_type.clone();
        let config = extension_from_seed(extension.clone(), &name, &seed.instance.location).config;
        if extensions.values().any(|e| e.config.same_handler(&config)) {
            return Err(format!(
                "two model extensions of handler {}",
                config.handler()
            ));
        }
        extensions.insert(
            name.to_ascii_lowercase(),
            ModelExtension {
                name,
                config,
                provisioning_state: "Succeeded".into(),
            },
        );
    }
    let key = scale_set_key(sub, rg, name);
    if let Some(old) = world.scale_sets.remove(&key) {
        for instance in old.instances {
            world.vms.remove(&instance);
        }
    }
    let mut scale_set = ScaleSet {
        subscription: sub.to_string(),
        resource_group: rg.to_string(),
        name: name.to_string(),
        location: seed.instance.location.clone(),
        unique_id: uuid::Uuid::new_v4().to_string(),
        orchestration_mode: seed.orchestration_mode,
        upgrade_policy: seed.upgrade_policy,
        os_type: seed.instance.os_type,
        admin_username: String::new(),
        disable_password_authentication: true,
        extensions,
        instances: Vec::new(),
    };
    for index in 0..seed.instances {
        let vm = instance_from_seed(&scale_set, seed, index);
        if index == 0 {
            scale_set.admin_username = vm.admin_username().unwrap_or("azureuser").to_string();
            scale_set.disable_password_authentication = !vm.linux.created_with_password_logins;
        }
        let vm_key = vm.key();
        scale_set.instances.push(vm_key.clone());
        world.vms.insert(vm_key, vm);
    }
    world.scale_sets.insert(key.clone(), scale_set);
    Ok(key)
}

/// Instance `index` of the scale set: the seed's guest, its power state and agent, and the
/// model's extensions already applied.
fn instance_from_seed(scale_set: &ScaleSet, seed: &ScaleSetSeed, index: u32) -> Vm {
    let (sub, rg) = (&scale_set.subscription, &scale_set.resource_group);
    let uniform = scale_set.orchestration_mode == OrchestrationMode::Uniform;
    let (vm_name, instance_id) = if uniform {
        (
            format!("{}_{index}", scale_set.name),
            Some(index.to_string()),
        )
    } else {
        (flexible_vm_name(&scale_set.name, index), None)
    };
    let mut vm = vm_from_seed(sub, rg, &vm_name, &seed.instance);
    if seed.stopped.contains(&index) {
        vm.power_state = PowerState::Stopped;
    }
    if seed.deallocated.contains(&index) {
        vm.power_state = PowerState::Deallocated;
    }
    if seed.agent_not_ready.contains(&index) {
        vm.agent_ready = false;
    }
    for extension in &seed.model_extensions {
        let name = &extension.extension_type;
        let extension = extension_from_seed(extension.clone(), name, &vm.location);
        vm.extensions.insert(name.to_ascii_lowercase(), extension);
    }
    vm.scale_set = Some(Membership {
        scale_set: scale_set.name.clone(),
        scale_set_id: scale_set.id(),
        instance_id,
        latest_model_applied: true,
        applied_model: scale_set.extensions.keys().cloned().collect(),
    });
    vm
}

/// What the admin API shows of a scale set: never a setting's value.
fn scale_set_view(world: &World, scale_set: &ScaleSet) -> ScaleSetView {
    let keys = |value: &Option<serde_json::Value>| -> Vec<String> {
        value
            .as_ref()
            .and_then(serde_json::Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    ScaleSetView {
        id: scale_set.id(),
        orchestration_mode: scale_set.orchestration_mode,
        upgrade_policy: scale_set.upgrade_policy,
        model_extensions: scale_set
            .extensions
            .values()
            .map(|e| ModelExtensionView {
                name: e.name.clone(),
                publisher: e.config.publisher.clone(),
                extension_type: e.config.extension_type.clone(),
                type_handler_version: e.config.type_handler_version.clone(),
                setting_keys: keys(&e.config.options.settings),
                protected_setting_keys: keys(&e.config.options.protected_settings),
                force_update_tag: e.config.options.force_update_tag.clone(),
            })
            .collect(),
        instances: scale_set
            .instances
            .iter()
            .filter_map(|k| world.vms.get(k))
            .map(|vm| InstanceView {
                key: instance_key_of(vm).to_string(),
                id: vm.id(),
                name: vm.name.clone(),
                power_state: vm.power_state,
                latest_model_applied: vm
                    .scale_set
                    .as_ref()
                    .is_some_and(|m| m.latest_model_applied),
                vm: vm_view(vm),
            })
            .collect(),
    }
}
