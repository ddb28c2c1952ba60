//! The answers every handler builds: a JSON body with ARM's content type, and ARM's
//! `{"error": {"code", "message"}}`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A response with this status and JSON body.
pub(super) fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// ARM's `{"error":{"code","message"}}`.
pub(super) fn arm_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json_response(
        status,
        json!({"error": {"code": code, "message": message.into()}}),
    )
}
