//! HTTP surface: routing, the front middleware every emulated-Azure request
//! passes (request log, injected faults), and response helpers.

pub mod admin;
pub mod arm;
pub mod catalogue;
mod convert;
pub mod discovery;
pub mod identity;
pub mod listing;
pub mod metadata;
pub mod subscriptions;
pub mod versions;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::admin::messages::LoggedRequest;
use crate::faults::{FaultAction, StatusFault};
use crate::server::ConnectionKiller;
use crate::state::{AppState, lock};
use crate::tenant::identity::TokenCheck;

pub(crate) use convert::insert_seeded;

const MAX_BODY: usize = 4 * 1024 * 1024;
const REDACTED: &str = "[REDACTED]";

/// All routes. ARM paths are matched by [`arm::dispatch`] because ARM
/// treats segment names case-insensitively.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metadata/endpoints", get(metadata::endpoints))
        .merge(identity::routes())
        .merge(discovery::routes())
        .route("/_emulator/subscriptions", post(subscriptions::register))
        .merge(admin::routes())
        .merge(listing::admin_routes())
        .fallback(arm::dispatch)
        .layer(middleware::from_fn_with_state(state.clone(), front))
        .with_state(state)
}

/// Admin requests pass straight through; everything else is logged (with
/// secrets redacted) and subject to injected request faults.
async fn front(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/_emulator/") && !path.starts_with("/_emulator/msi/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": {"code": "RequestTooLarge", "message": "The request body is too large."}}),
        );
    };
    let authorized = lock(&app.identity).check(bearer(&parts.headers)) == TokenCheck::Valid;
    let index = {
        let mut log = lock(&app.requests);
        log.push(LoggedRequest {
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_string),
            status: None,
            authorized,
            body: redacted_body(&parts.headers, &bytes),
        });
        log.len() - 1
    };
    let fault = lock(&app.faults).take(parts.method.as_str(), &path, false);
    let response = match fault {
        Some(FaultAction::Status(fault)) => status_fault_response(&fault),
        Some(FaultAction::DropConnection) => {
            if let Some(killer) = parts.extensions.get::<ConnectionKiller>() {
                killer.kill();
            }
            // The connection task drops this future when it closes the socket.
            return std::future::pending::<Response>().await;
        }
        Some(FaultAction::DelayMs(ms)) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    if let Some(entry) = lock(&app.requests).get_mut(index) {
        entry.status = Some(response.status().as_u16());
    }
    response
}

fn status_fault_response(fault: &StatusFault) -> Response {
    let status = StatusCode::from_u16(fault.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, fault.body_or_default());
    if let Some(retry_after) = fault
        .retry_after
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after);
    }
    response
}

/// The request body for the log: JSON or a form, with secrets replaced.
fn redacted_body(headers: &HeaderMap, bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let mut value = if is_form {
        let map: Map<String, Value> = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(map)
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String("<non-JSON body>".into()))
    };
    redact(&mut value);
    Some(value)
}

/// Replaces every secret-bearing field, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let key = key.to_ascii_lowercase();
                if matches!(
                    key.as_str(),
                    "protectedsettings"
                        | "password"
                        | "adminpassword"
                        | "client_secret"
                        | "client_assertion"
                        | "access_token"
                ) {
                    *field = Value::String(REDACTED.into());
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// ARM's `{"error":{"code","message"}}`.
pub fn arm_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json_response(
        status,
        json!({"error": {"code": code, "message": message.into()}}),
    )
}
