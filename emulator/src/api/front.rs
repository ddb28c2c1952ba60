//! The middleware every emulated-Azure request passes first: the request log (with secrets
//! redacted) and the injected request faults (a canned status, a dropped connection, a
//! delay). Admin requests pass straight through.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::request::bearer;
use super::response::json_response;
use crate::admin_messages::LoggedRequest;
use crate::faults::{FaultAction, StatusFault};
use crate::server::ConnectionKiller;
use crate::state::{AppState, lock};
use crate::tenant::identity::TokenCheck;

/// The largest request body accepted.
pub(super) const MAX_BODY: usize = 4 * 1024 * 1024;
const REDACTED: &str = "[REDACTED]";

/// Admin requests pass straight through; everything else is logged (with
/// secrets redacted) and subject to injected request faults.
pub(super) async fn front(
    State(app): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/_emulator/") && !path.starts_with("/_emulator/msi/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return body_too_large();
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

/// The answer to a request body that is larger than [`MAX_BODY`] or cannot be read.
pub(super) fn body_too_large() -> Response {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"error": {"code": "RequestTooLarge", "message": "The request body is too large."}}),
    )
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
fn redact(value: &mut Value) {
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
