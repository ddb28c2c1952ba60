//! One debug line per exchange (method, redacted URL, status, time, ARM's request id) and, at
//! trace level, bodies with every secret value replaced.

use azure_core::http::Request;
use azure_core::http::policies::PolicyResult;

use tokio::time::Instant;

use super::super::response::header;
use super::step::{Next, Step, buffer, rebuild};

#[derive(Debug)]
pub(crate) struct Logging;

#[async_trait::async_trait]
impl Step for Logging {
    async fn send(&self, request: &mut Request, next: Next<'_, '_>) -> PolicyResult {
        let method = request.method().as_str();
        let url = redact_url(request.url());
        if let azure_core::http::Body::Bytes(b) = request.body() {
            if !b.is_empty() {
                tracing::trace!(method, url = %url, body = %redact_body(b), "request body");
            }
        }
        tracing::debug!(method, url = %url, "sending request");
        let started = Instant::now();
        let result = next.send(request).await;
        let elapsed_ms = started.elapsed().as_millis();
        match result {
            Ok(response) => {
                let (status, headers, body) = buffer(response).await?;
                tracing::debug!(
                    method,
                    url = %url,
                    status = status.as_u16(),
                    elapsed_ms,
                    request_id = header(&headers, "x-ms-request-id").unwrap_or(""),
                    "received response"
                );
                if !body.is_empty() {
                    tracing::trace!(status = status.as_u16(), body = %redact_body(&body), "response body");
                }
                Ok(rebuild(status, headers, body))
            }
            Err(e) => {
                tracing::debug!(method, url = %url, elapsed_ms, error = %e, "request failed without a response");
                Err(e)
            }
        }
    }
}

/// Query parameters safe to log; every other value is replaced (status URLs may carry
/// signatures, e.g. `?p=…`).
const LOGGABLE_QUERY: &[&str] = &["api-version", "$expand"];

pub(crate) fn redact_url(url: &reqwest::Url) -> String {
    let mut out = url.clone();
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let keep = LOGGABLE_QUERY.iter().any(|a| a.eq_ignore_ascii_case(&k));
                (
                    k.into_owned(),
                    if keep {
                        v.into_owned()
                    } else {
                        "REDACTED".to_owned()
                    },
                )
            })
            .collect();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let _ = out.set_password(None);
    out.to_string()
}

/// Keys whose values never reach a log, compared case-insensitively.
const SECRET_KEYS: &[&str] = &[
    "protectedsettings",
    "password",
    "adminpassword",
    "client_secret",
    "clientsecret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
    "authorization",
];

/// A body as it may appear in a trace log: JSON with secret values replaced; anything that is not
/// JSON is summarised by its length rather than risked.
pub(crate) fn redact_body(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) => format!("<{} bytes, not JSON>", body.len()),
    }
}

fn redact_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if SECRET_KEYS.contains(&lower.as_str())
                    || lower.contains("password")
                    || lower.contains("secret")
                {
                    *val = serde_json::Value::String("REDACTED".into());
                } else {
                    redact_value(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_of_bodies_and_urls() {
        let body = br#"{"location":"westeurope","properties":{"settings":{"UserName":"admin"},"protectedSettings":{"Password":"Hunter2!x"}},"client_secret":"abc","nested":[{"access_token":"tok"}]}"#;
        let out = redact_body(body);
        assert!(
            !out.contains("Hunter2!x") && !out.contains("abc\"") && !out.contains("tok\""),
            "{out}"
        );
        assert!(out.contains("admin"));
        assert_eq!(
            redact_body(b"client_secret=abc&x=y"),
            "<21 bytes, not JSON>"
        );
        let url = reqwest::Url::parse("https://h/x?api-version=1&p=secret&$expand=instanceView")
            .expect("url");
        let s = redact_url(&url);
        assert!(!s.contains("secret") && s.contains("api-version=1"), "{s}");
    }
}
