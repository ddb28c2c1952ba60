//! `Microsoft.Resources/subscriptions`: the list (paged with `nextLink`) and
//! get that `az login` and azurerm use to find the subscription
//! (`shared/facts/azure-identity-and-arm-shapes.md` §6). The configured
//! subscription always exists; tests add more through
//! `POST /_emulator/subscriptions`, which also sets the page size.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::admin::{AdminJson, admin_error};
use super::request::subscription_not_found;
use super::response::{arm_error, json_response};
use crate::admin_messages::{SubscriptionChange, SubscriptionsSummary};
use crate::state::{AppState, lock};
use crate::tenant::subscriptions::Subscription;

/// `GET /subscriptions?api-version=…[&$skiptoken=N]`.
pub(super) fn list(app: &AppState, api_version: &str, skip_token: Option<&str>) -> Response {
    let subscriptions = lock(&app.subscriptions);
    let start = match skip_token.map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) if n <= subscriptions.list.len() => n,
        Some(_) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidSkipToken",
                "The provided skip token is invalid.",
            );
        }
    };
    let end = (start + subscriptions.page_size).min(subscriptions.list.len());
    let value: Vec<Value> = subscriptions.list[start..end]
        .iter()
        .map(|s| subscriptions.body(s))
        .collect();
    let mut body = json!({
        "value": value,
        "count": {"type": "Total", "value": subscriptions.list.len()},
    });
    if end < subscriptions.list.len() {
        body["nextLink"] = json!(format!(
            "{}/subscriptions?api-version={api_version}&%24skiptoken={end}",
            app.endpoint
        ));
    }
    json_response(StatusCode::OK, body)
}

/// `GET /subscriptions/{id}`.
pub(super) fn get(app: &AppState, id: &str) -> Response {
    let subscriptions = lock(&app.subscriptions);
    match subscriptions
        .list
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
    {
        Some(s) => json_response(StatusCode::OK, subscriptions.body(s)),
        None => subscription_not_found(id),
    }
}

/// `POST /_emulator/subscriptions` with `{"subscription_id", "display_name"?,
/// "state"?}` adds (or updates) a subscription; `{"page_size": N}` sets how
/// many the list returns per page.
pub(super) async fn register(
    State(app): State<Arc<AppState>>,
    AdminJson(registration): AdminJson<SubscriptionChange>,
) -> Response {
    let mut subscriptions = lock(&app.subscriptions);
    if let Some(size) = registration.page_size {
        if size == 0 {
            return admin_error(StatusCode::BAD_REQUEST, "page_size must be at least 1");
        }
        subscriptions.page_size = size;
    }
    if let Some(id) = registration.subscription_id {
        let entry = Subscription {
            display_name: registration
                .display_name
                .unwrap_or_else(|| format!("Subscription {id}")),
            state: registration.state.unwrap_or_else(|| "Enabled".into()),
            id,
        };
        match subscriptions
            .list
            .iter_mut()
            .find(|s| s.id.eq_ignore_ascii_case(&entry.id))
        {
            Some(existing) => *existing = entry,
            None => subscriptions.list.push(entry),
        }
    }
    Json(SubscriptionsSummary {
        count: subscriptions.list.len(),
        page_size: subscriptions.page_size,
    })
    .into_response()
}
