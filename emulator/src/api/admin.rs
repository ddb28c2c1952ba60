//! The admin API under `/_emulator/`: seed and inspect VMs (including the
//! guest's accounts), change them out of band, inject faults, expire tokens,
//! register clients, change run-time settings and read the request log.
//! No bearer token is needed; errors are `{"error": "<message>"}`. Bodies are
//! the admin messages; their conversions to and from the model are `convert`'s.

// Handlers return early with a finished `Response` as the error; it is built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::convert::{
    apply_extension_patch, apply_patch, armed_faults, extension_from_seed, extension_view,
    linux_guest_view, replace_if_some, vm_from_seed, vm_view,
};
use super::response::json_response;
use crate::admin_messages::{
    ClientRegistered, ClientRegistration, ConfigChange, Credentials, ExtensionPatch, ExtensionSeed,
    FaultAdded, LoginOutcome, RuntimeConfig, SshLogin, VmPatch, VmSeed,
};
use crate::faults::FaultSpec;
use crate::model::linux_guest::SshCredential;
use crate::model::vm::{OsType, Vm};
use crate::state::{AppState, World, lock};
use crate::tenant::subject_trust::TrustedSubject;

type AppStateRef = State<Arc<AppState>>;

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_emulator/vms", get(list_vms))
        .route(
            "/_emulator/vms/{sub}/{rg}/{name}",
            put(put_vm).get(get_vm).patch(patch_vm).delete(delete_vm),
        )
        .route("/_emulator/vms/{sub}/{rg}/{name}/login", post(login))
        .route(
            "/_emulator/vms/{sub}/{rg}/{name}/linux",
            get(get_linux_guest),
        )
        .route(
            "/_emulator/vms/{sub}/{rg}/{name}/ssh-login",
            post(ssh_login),
        )
        .route(
            "/_emulator/vms/{sub}/{rg}/{name}/extensions/{ext}",
            put(put_extension)
                .patch(patch_extension)
                .delete(delete_extension),
        )
        .route(
            "/_emulator/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/_emulator/tokens/expire", post(expire_tokens))
        .route("/_emulator/clients", post(register_client))
        .route("/_emulator/config", post(set_config).get(get_config))
        .route(
            "/_emulator/requests",
            get(list_requests).delete(clear_requests),
        )
}

pub(super) fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, json!({"error": message.into()}))
}

/// An admin request's JSON body (an empty body means `{}`); a body that does not parse is
/// answered 400 with the admin error shape.
pub(super) struct AdminJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AdminJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &body
        };
        serde_json::from_slice(body)
            .map(AdminJson)
            .map_err(|e| admin_error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
    }
}

fn vm_missing(sub: &str, rg: &str, name: &str) -> Response {
    admin_error(StatusCode::NOT_FOUND, format!("no VM {sub}/{rg}/{name}"))
}

/// Runs `f` on the VM, or answers 404.
fn with_vm(
    app: &AppState,
    (sub, rg, name): &(String, String, String),
    f: impl FnOnce(&mut Vm) -> Response,
) -> Response {
    let mut world = app.world();
    match world.vms.get_mut(&World::key(sub, rg, name)) {
        Some(vm) => f(vm),
        None => vm_missing(sub, rg, name),
    }
}

async fn list_vms(State(app): AppStateRef) -> Response {
    let world = app.world();
    // A uniform scale set's instances are not VMs (the scale-set routes show them).
    let views: Vec<_> = world
        .vms
        .values()
        .filter(|vm| vm.uniform_instance().is_none())
        .map(vm_view)
        .collect();
    Json(views).into_response()
}

async fn put_vm(
    State(app): AppStateRef,
    Path((sub, rg, name)): Path<(String, String, String)>,
    AdminJson(seed): AdminJson<VmSeed>,
) -> Response {
    let vm = vm_from_seed(&sub, &rg, &name, &seed);
    let view = vm_view(&vm);
    app.world().vms.insert(World::key(&sub, &rg, &name), vm);
    Json(view).into_response()
}

async fn get_vm(State(app): AppStateRef, Path(path): Path<(String, String, String)>) -> Response {
    with_vm(&app, &path, |vm| Json(vm_view(vm)).into_response())
}

async fn patch_vm(
    State(app): AppStateRef,
    Path(path): Path<(String, String, String)>,
    AdminJson(patch): AdminJson<VmPatch>,
) -> Response {
    with_vm(&app, &path, |vm| patched(vm, &patch))
}

/// Applies an out-of-band change to a VM (or a scale set's instance) and shows it.
pub(super) fn patched(vm: &mut Vm, patch: &VmPatch) -> Response {
    match apply_patch(vm, patch) {
        Ok(()) => Json(vm_view(vm)).into_response(),
        Err(message) => admin_error(StatusCode::BAD_REQUEST, message),
    }
}

async fn delete_vm(
    State(app): AppStateRef,
    Path((sub, rg, name)): Path<(String, String, String)>,
) -> Response {
    match app.world().vms.remove(&World::key(&sub, &rg, &name)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => vm_missing(&sub, &rg, &name),
    }
}

async fn login(
    State(app): AppStateRef,
    Path(path): Path<(String, String, String)>,
    AdminJson(request): AdminJson<Credentials>,
) -> Response {
    with_vm(&app, &path, |vm| rdp_login(vm, &request))
}

/// The outcome of an RDP login to a VM (or a scale set's instance).
pub(super) fn rdp_login(vm: &Vm, request: &Credentials) -> Response {
    let refused = vm.login(&request.username, &request.password).err();
    Json(LoginOutcome {
        ok: refused.is_none(),
        reason: refused.map(str::to_string),
    })
    .into_response()
}

/// Runs `f` on a Linux VM, or answers 409 (a Windows VM).
fn if_linux(vm: &Vm, f: impl FnOnce(&Vm) -> Response) -> Response {
    match vm.os_type {
        OsType::Linux => f(vm),
        OsType::Windows => admin_error(
            StatusCode::CONFLICT,
            format!("VM {} runs Windows: it has no Linux guest", vm.name),
        ),
    }
}

async fn get_linux_guest(
    State(app): AppStateRef,
    Path(path): Path<(String, String, String)>,
) -> Response {
    with_vm(&app, &path, |vm| linux_guest(vm))
}

/// A Linux VM's (or scale set instance's) guest; 409 for Windows.
pub(super) fn linux_guest(vm: &Vm) -> Response {
    if_linux(vm, |vm| Json(linux_guest_view(&vm.linux)).into_response())
}

async fn ssh_login(
    State(app): AppStateRef,
    Path(path): Path<(String, String, String)>,
    AdminJson(request): AdminJson<SshLogin>,
) -> Response {
    with_vm(&app, &path, |vm| ssh_login_to(vm, &request))
}

/// The outcome of an SSH login to a Linux VM (or scale set instance); 400 unless exactly one
/// credential is given, 409 for Windows.
pub(super) fn ssh_login_to(vm: &Vm, request: &SshLogin) -> Response {
    let credential = match (&request.password, &request.public_key) {
        (Some(password), None) => SshCredential::Password(password),
        (None, Some(key)) => SshCredential::PublicKey(key),
        _ => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                "give either password or public_key",
            );
        }
    };
    if_linux(vm, |vm| {
        let refused = vm.ssh_login(&request.username, credential).err();
        Json(LoginOutcome {
            ok: refused.is_none(),
            reason: refused.map(str::to_string),
        })
        .into_response()
    })
}

async fn put_extension(
    State(app): AppStateRef,
    Path((sub, rg, name, ext)): Path<(String, String, String, String)>,
    AdminJson(seed): AdminJson<ExtensionSeed>,
) -> Response {
    with_vm(&app, &(sub, rg, name), |vm| {
        let extension = extension_from_seed(seed, &ext, &vm.location);
        let view = extension_view(&extension);
        vm.extensions.insert(ext.to_ascii_lowercase(), extension);
        Json(view).into_response()
    })
}

async fn patch_extension(
    State(app): AppStateRef,
    Path((sub, rg, name, ext)): Path<(String, String, String, String)>,
    AdminJson(patch): AdminJson<ExtensionPatch>,
) -> Response {
    with_vm(&app, &(sub, rg, name), |vm| {
        let Some(extension) = vm.extensions.get_mut(&ext.to_ascii_lowercase()) else {
            return admin_error(StatusCode::NOT_FOUND, format!("no extension {ext}"));
        };
        apply_extension_patch(extension, patch);
        Json(extension_view(extension)).into_response()
    })
}

async fn delete_extension(
    State(app): AppStateRef,
    Path((sub, rg, name, ext)): Path<(String, String, String, String)>,
) -> Response {
    with_vm(&app, &(sub, rg, name), |vm| {
        match vm.extensions.remove(&ext.to_ascii_lowercase()) {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => admin_error(StatusCode::NOT_FOUND, format!("no extension {ext}")),
        }
    })
}

async fn add_fault(State(app): AppStateRef, AdminJson(spec): AdminJson<FaultSpec>) -> Response {
    let id = lock(&app.faults).add(spec);
    Json(FaultAdded { id }).into_response()
}

async fn list_faults(State(app): AppStateRef) -> Response {
    Json(armed_faults(&lock(&app.faults))).into_response()
}

async fn clear_faults(State(app): AppStateRef) -> Response {
    lock(&app.faults).clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn expire_tokens(State(app): AppStateRef) -> Response {
    lock(&app.identity).expire_all();
    StatusCode::NO_CONTENT.into_response()
}

async fn register_client(
    State(app): AppStateRef,
    AdminJson(registration): AdminJson<ClientRegistration>,
) -> Response {
    let der = |field: &str, pem: &str| {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .map(|der| der.to_vec())
            .map_err(|e| admin_error(StatusCode::BAD_REQUEST, format!("invalid {field}: {e}")))
    };
    let certificate = match registration.certificate_pem.as_deref() {
        None => None,
        Some(pem) => match der("certificate_pem", pem) {
            Ok(der) => Some(der),
            Err(response) => return response,
        },
    };
    let trusted_subject = match &registration.trusted_subject {
        None => None,
        Some(t) if t.subject_name.trim().is_empty() => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                "trusted_subject.subject_name is empty",
            );
        }
        Some(t) => match der("trusted_subject.issuer_pem", &t.issuer_pem) {
            Ok(issuer_der) => Some(TrustedSubject {
                subject_name: t.subject_name.clone(),
                issuer_der,
            }),
            Err(response) => return response,
        },
    };
    if registration.client_secret.is_none() && certificate.is_none() && trusted_subject.is_none() {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "give client_secret, certificate_pem, trusted_subject or several",
        );
    }
    lock(&app.identity).register(
        &registration.client_id,
        registration.client_secret.as_deref(),
        certificate,
        trusted_subject,
    );
    Json(ClientRegistered {
        client_id: registration.client_id,
    })
    .into_response()
}

async fn set_config(
    State(app): AppStateRef,
    AdminJson(change): AdminJson<ConfigChange>,
) -> Response {
    {
        let mut runtime = lock(&app.runtime);
        let delay = change.operation_delay_ms.map(Duration::from_millis);
        replace_if_some(&mut runtime.operation_delay, &delay);
        replace_if_some(&mut runtime.lro_style, &change.lro_style);
        replace_if_some(
            &mut runtime.poll_retry_after_secs,
            &change.poll_retry_after_secs,
        );
        replace_if_some(
            &mut runtime.github_request_token,
            &change.github_request_token,
        );
    }
    if let Some(throttling) = change.throttling {
        lock(&app.throttle).configure(throttling);
    }
    get_config(State(app)).await
}

async fn get_config(State(app): AppStateRef) -> Response {
    let runtime = app.runtime();
    let throttling = lock(&app.throttle).settings.clone();
    Json(RuntimeConfig {
        operation_delay_ms: u64::try_from(runtime.operation_delay.as_millis()).unwrap_or(u64::MAX),
        lro_style: runtime.lro_style,
        poll_retry_after_secs: runtime.poll_retry_after_secs,
        throttling,
    })
    .into_response()
}

async fn list_requests(State(app): AppStateRef) -> Response {
    Json(lock(&app.requests).clone()).into_response()
}

async fn clear_requests(State(app): AppStateRef) -> Response {
    lock(&app.requests).clear();
    StatusCode::NO_CONTENT.into_response()
}
