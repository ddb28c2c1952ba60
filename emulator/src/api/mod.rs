//! The HTTP surface: every route, and the fallback that sends the remaining paths to ARM
//! (lists first, then single resources).
//!
//! Submodules in layers; a file imports its own layer or lower ones, and no two files
//! import each other:
//! 0. [`response`] (JSON answers, ARM's error shape) and [`convert`] (admin messages to and
//!    from the model);
//! 1. [`versions`]: `api-version` validation;
//! 2. [`request`]: what every ARM handler shares (addressing, bearer token and
//!    authentication, `api-version`, subscription check, throttling, finding a VM);
//! 3. handlers of their own paths: [`front`] (request log and faults, before every route),
//!    [`admin`], [`identity`] (Entra's token endpoints), [`metadata`], and the ARM resources
//!    [`catalogue`], [`vms`] (VMs and uniform scale-set instances) and [`operations`];
//! 4. handlers built on layer 3: [`discovery`] (OpenID documents, on `identity`'s tenant
//!    check), [`subscriptions`] and [`scale_set_admin`] (on `admin`'s body extractor and VM
//!    answers), [`extensions`] (which start `operations`; VMs' and uniform instances'),
//!    [`scale_sets`] then [`model_extensions`] (scale sets and their model, whose operations
//!    upgrade instances), [`scale_set_lists`] then [`listing`] (VM, instance, scale-set and
//!    extension lists, on `vms`' JSON, and the fleet and listing admin endpoints), and
//!    [`spec_log`] (on `front`'s body limit): every ARM request and its answer, logged for
//!    `spec-check` when asked;
//! 5. [`arm`]: routes a single ARM resource to its handler after ARM's checks;
//! 6. this module: the router.

mod admin;
mod arm;
mod catalogue;
mod convert;
mod discovery;
mod extensions;
mod front;
mod identity;
mod listing;
mod metadata;
mod model_extensions;
mod operations;
mod request;
mod response;
mod scale_set_admin;
mod scale_set_lists;
mod scale_sets;
mod spec_log;
mod subscriptions;
mod versions;
mod vms;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};

use crate::state::AppState;
use request::Incoming;

pub(crate) use convert::insert_seeded;
pub(crate) use spec_log::SpecLog;

/// All routes. ARM paths are matched by [`arm_fallback`] because ARM
/// treats segment names case-insensitively. With a spec log, its middleware comes first,
/// before even the faults of [`front`]; without one, it is not there at all.
pub(crate) fn router(state: Arc<AppState>, spec_log: Option<SpecLog>) -> Router {
    let router = Router::new()
        .route("/metadata/endpoints", get(metadata::endpoints))
        .merge(identity::routes())
        .merge(discovery::routes())
        .route("/_emulator/subscriptions", post(subscriptions::register))
        .merge(admin::routes())
        .merge(listing::admin_routes())
        .merge(scale_set_admin::routes())
        .fallback(arm_fallback)
        .layer(middleware::from_fn_with_state(state.clone(), front::front));
    let router = match spec_log {
        Some(log) => router.layer(middleware::from_fn_with_state(
            Arc::new(log),
            spec_log::record,
        )),
        None => router,
    };
    router.with_state(state)
}

/// Fallback handler: every path not routed elsewhere is an ARM request, a list
/// ([`listing`]) or a single resource ([`arm`]). Both carry ARM's request IDs.
async fn arm_fallback(
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
    let incoming = Incoming {
        method: &method,
        path: uri.path(),
        query: &query,
        headers: &headers,
        body: &body,
    };
    let mut response =
        listing::handle(&app, &incoming).unwrap_or_else(|| arm::handle(&app, &incoming));
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
