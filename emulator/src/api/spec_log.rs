//! The spec log: when [`EmulatorConfig::spec_log`](crate::EmulatorConfig::spec_log) names a
//! directory (by default `VM_EMULATOR_SPEC_LOG`), every ARM request and the answer it got,
//! one JSON object per line, in a file of this instance's own, `<dir>/<pid>-<n>.jsonl`, for
//! `spec-check validate-log` to hold against Azure's published REST API specification.
//!
//! One middleware, [`record`], outside everything else (so that injected faults are logged
//! too), added to the router only when the log is on: with it off, nothing here runs. Only
//! ARM routes (`/subscriptions…`, `/providers/…`) are logged, not Entra ID, the cloud
//! metadata or the admin API. Each line is one `write` to a file opened for appending, so
//! lines of concurrent requests do not interleave. Values under `protectedSettings` are
//! replaced leaf by leaf, so no password reaches the disk. A failed write is reported once
//! on stderr and never changes the answer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::front::{MAX_BODY, body_too_large};

/// What a `protectedSettings` leaf becomes.
const REDACTED: &str = "<redacted>";

/// Instances started by this process so far: the `<n>` of the file names.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// One emulator instance's log file.
#[derive(Debug)]
pub(crate) struct SpecLog {
    file: File,
    path: PathBuf,
    /// Set by the first failed write, which alone is reported.
    failed: AtomicBool,
}

impl SpecLog {
    /// Creates `dir` if need be and opens this instance's own file in it.
    pub(crate) fn open(dir: &Path) -> std::io::Result<SpecLog> {
        std::fs::create_dir_all(dir)?;
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{}-{n}.jsonl", std::process::id()));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(SpecLog {
            file,
            path,
            failed: AtomicBool::new(false),
        })
    }

    /// Appends one line; reports the first failure on stderr and ignores the rest.
    fn append(&self, record: &Record<'_>) {
        let written = serde_json::to_vec(record)
            .map_err(std::io::Error::from)
            .and_then(|mut line| {
                line.push(b'\n');
                (&self.file).write_all(&line)
            });
        if let Err(e) = written
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            eprintln!(
                "vm-emulator: cannot write the spec log {}: {e} (later failures are not reported)",
                self.path.display()
            );
        }
    }
}

/// One line of the log.
#[derive(Debug, Serialize)]
struct Record<'a> {
    method: &'a str,
    /// As received: percent-encoded as the client sent it.
    path: &'a str,
    /// The raw query string, `""` when there is none.
    query: &'a str,
    status: u16,
    request_body: Option<Value>,
    response_body: Option<Value>,
    /// A body (of the request or of the answer) that is not JSON, logged as `null`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    non_json_body: bool,
}

/// The middleware: serves the request and logs it with its answer if it is an ARM request.
pub(super) async fn record(
    State(log): State<Arc<SpecLog>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_arm(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    // The limit and the answer are the front middleware's own, so behaviour is unchanged.
    let (request_bytes, response) = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            let request = Request::from_parts(parts, Body::from(bytes.clone()));
            (bytes, next.run(request).await)
        }
        Err(_) => (Bytes::new(), body_too_large()),
    };
    let (response_parts, response_body) = response.into_parts();
    // Every ARM answer is built in memory, so reading it whole cannot fail in practice.
    let response_bytes = to_bytes(response_body, usize::MAX)
        .await
        .unwrap_or_default();
    let (request_body, request_not_json) = body_json(&request_bytes);
    let (response_body, response_not_json) = body_json(&response_bytes);
    log.append(&Record {
        method: &method,
        path: &path,
        query: &query,
        status: response_parts.status.as_u16(),
        request_body,
        response_body,
        non_json_body: request_not_json || response_not_json,
    });
    Response::from_parts(response_parts, Body::from(response_bytes))
}

/// Whether `path` is one of Resource Manager's (`/subscriptions`, `/providers/…`).
fn is_arm(path: &str) -> bool {
    let first = path
        .strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .next()
        .unwrap_or_default();
    first.eq_ignore_ascii_case("subscriptions") || first.eq_ignore_ascii_case("providers")
}

/// A body as logged: `None` when empty, and `None` with `true` when it is not JSON;
/// `protectedSettings` redacted.
fn body_json(bytes: &[u8]) -> (Option<Value>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            redact_protected_settings(&mut value);
            (Some(value), false)
        }
        Err(_) => (None, true),
    }
}

/// Replaces every leaf under a `protectedSettings` key (any case, at any depth).
fn redact_protected_settings(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if key.eq_ignore_ascii_case("protectedSettings") {
                    redact_leaves(field);
                } else {
                    redact_protected_settings(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_protected_settings),
        _ => {}
    }
}

/// Keeps objects and arrays, replaces every string, number and bool; a `null` says nothing.
fn redact_leaves(value: &mut Value) {
    match value {
        Value::Object(map) => map.values_mut().for_each(redact_leaves),
        Value::Array(items) => items.iter_mut().for_each(redact_leaves),
        Value::Null => {}
        leaf => *leaf = Value::String(REDACTED.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn protected_settings_are_redacted_leaf_by_leaf_at_any_depth() {
        let mut body = json!({
            "location": "westeurope",
            "properties": {
                "settings": {"username": "opsadmin"},
                "protectedSettings": {
                    "password": "S3cret!",
                    "ssh_key": "ssh-ed25519 AAAA",
                    "reset_ssh": true,
                    "expiration": 7,
                    "keys": ["a", {"b": "c"}],
                    "none": null
                }
            },
            "value": [{"properties": {"PROTECTEDSETTINGS": "opaque"}}]
        });
        redact_protected_settings(&mut body);
        assert_eq!(
            body,
            json!({
                "location": "westeurope",
                "properties": {
                    "settings": {"username": "opsadmin"},
                    "protectedSettings": {
                        "password": "<redacted>",
                        "ssh_key": "<redacted>",
                        "reset_ssh": "<redacted>",
                        "expiration": "<redacted>",
                        "keys": ["<redacted>", {"b": "<redacted>"}],
                        "none": null
                    }
                },
                "value": [{"properties": {"PROTECTEDSETTINGS": "<redacted>"}}]
            })
        );
    }

    #[test]
    fn bodies_are_json_null_when_empty_and_flagged_when_not_json() {
        assert_eq!(body_json(b""), (None, false));
        assert_eq!(body_json(b"<html>"), (None, true));
        assert_eq!(
            body_json(br#"{"protectedSettings":{"password":"x"}}"#),
            (
                Some(json!({"protectedSettings": {"password": "<redacted>"}})),
                false
            )
        );
    }

    #[test]
    fn only_resource_manager_paths_are_logged() {
        for path in [
            "/subscriptions",
            "/subscriptions/s/resourceGroups/rg",
            "/SUBSCRIPTIONS/s",
            "/providers/Microsoft.Compute/operations",
        ] {
            assert!(is_arm(path), "{path}");
        }
        for path in [
            "/",
            "/metadata/endpoints",
            "/_emulator/vms",
            "/tenant/oauth2/v2.0/token",
            "/subscriptionsX",
        ] {
            assert!(!is_arm(path), "{path}");
        }
    }

    #[test]
    fn a_line_has_the_documented_fields_and_the_flag_only_when_set() {
        let line = |non_json_body| {
            serde_json::to_value(Record {
                method: "PUT",
                path: "/subscriptions/s/x%20y",
                query: "api-version=2025-04-01",
                status: 201,
                request_body: Some(json!({"a": 1})),
                response_body: None,
                non_json_body,
            })
            .expect("serializes")
        };
        assert_eq!(
            line(false),
            json!({"method": "PUT", "path": "/subscriptions/s/x%20y", "query": "api-version=2025-04-01",
                   "status": 201, "request_body": {"a": 1}, "response_body": null})
        );
        assert_eq!(line(true)["non_json_body"], true);
    }

    #[test]
    fn each_instance_has_its_own_file_of_whole_lines() {
        let dir = std::env::temp_dir().join(format!("spec-log-unit-{}", uuid::Uuid::new_v4()));
        let first = SpecLog::open(&dir).expect("opens");
        let second = SpecLog::open(&dir).expect("opens");
        assert_ne!(first.path, second.path);
        let record = Record {
            method: "GET",
            path: "/subscriptions",
            query: "",
            status: 200,
            request_body: None,
            response_body: Some(json!({"value": []})),
            non_json_body: false,
        };
        first.append(&record);
        first.append(&record);
        let text = std::fs::read_to_string(&first.path).expect("reads");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["response_body"], json!({"value": []}));
        assert_eq!(
            std::fs::read_to_string(&second.path).expect("reads"),
            "",
            "nothing in the other instance's file"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
