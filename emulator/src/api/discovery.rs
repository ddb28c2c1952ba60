//! Entra's OpenID Connect discovery: the v2.0 and v1 configuration documents
//! MSAL (the az CLI, azure-identity) reads before its first token request,
//! and the signing keys (`jwks_uri`). Shapes follow
//! `shared/facts/azure-identity-and-arm-shapes.md` §1–2.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::identity::discovery_tenant_error;
use super::response::json_response;
use crate::state::{AppState, lock};
use crate::tenant::tokens::GRAPH_RESOURCE;

type AppStateRef = State<Arc<AppState>>;

/// The two generations of Entra's endpoints: v1 (`/{tenant}/oauth2/token`) and v2.0
/// (`/{tenant}/oauth2/v2.0/token`). ARM and Graph tokens are v1 whichever issued them.
#[derive(Debug, Clone, Copy)]
enum Version {
    V1,
    V2,
}

impl Version {
    /// What follows `oauth2` and `discovery` in the endpoints' paths.
    fn path(self) -> &'static str {
        match self {
            Version::V1 => "",
            Version::V2 => "/v2.0",
        }
    }
}

/// Both versions' discovery documents and signing keys:
/// `/{tenant}[/v2.0]/.well-known/openid-configuration` and `/{tenant}/discovery[/v2.0]/keys`.
pub(super) fn routes() -> Router<Arc<AppState>> {
    [Version::V1, Version::V2]
        .into_iter()
        .fold(Router::new(), |router, version| {
            let v = version.path();
            router
                .route(
                    &format!("/{{tenant}}{v}/.well-known/openid-configuration"),
                    get(
                        move |State(app): AppStateRef, Path(tenant): Path<String>| async move {
                            openid_configuration(&app, &tenant, version)
                        },
                    ),
                )
                .route(
                    &format!("/{{tenant}}/discovery{v}/keys"),
                    get(
                        move |State(app): AppStateRef, Path(tenant): Path<String>| async move {
                            keys(&app, &tenant, version)
                        },
                    ),
                )
        })
}

/// The discovery document: what both versions publish, plus the fields only one has.
fn openid_configuration(app: &AppState, tenant: &str, version: Version) -> Response {
    if let Some(error) = discovery_tenant_error(app, tenant) {
        return error;
    }
    let base = format!("{}/{tenant}", app.endpoint);
    let oauth2 = format!("{base}/oauth2{}", version.path());
    let mut document = json!({
        "token_endpoint": format!("{oauth2}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery{}/keys", version.path()),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": issuer_for(app, tenant, version),
        "authorization_endpoint": format!("{oauth2}/authorize"),
        "device_authorization_endpoint": format!("{oauth2}/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{oauth2}/logout"),
        "claims_supported": claims_supported(),
        "kerberos_endpoint": format!("{base}/kerberos"),
        "tenant_region_scope": "WW",
        "cloud_instance_name": "emulator.local",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    let only_this_version = match version {
        Version::V2 => json!({
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": format!("{}/oidc/userinfo", GRAPH_RESOURCE.trim_end_matches('/')),
        }),
        Version::V1 => json!({
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "scopes_supported": ["openid"],
            "microsoft_multi_refresh_token": true,
            "check_session_iframe": format!("{oauth2}/checksession"),
            "userinfo_endpoint": format!("{base}/openid/userinfo"),
        }),
    };
    if let (Some(document), Value::Object(fields)) = (document.as_object_mut(), only_this_version) {
        document.extend(fields);
    }
    cacheable(document)
}

fn keys(app: &AppState, tenant: &str, version: Version) -> Response {
    if let Some(error) = discovery_tenant_error(app, tenant) {
        return error;
    }
    let issuer = issuer_for(app, tenant, version);
    let jwk = lock(&app.identity).signing_key().jwk(&issuer);
    cacheable(json!({"keys": [jwk]}))
}

/// The issuer for a tenant segment; `common`/`organizations` get the
/// templated `{tenantid}` form, as Entra publishes it.
fn issuer_for(app: &AppState, tenant: &str, version: Version) -> String {
    let tenant = if tenant.eq_ignore_ascii_case(&app.config.tenant_id) {
        app.config.tenant_id.as_str()
    } else {
        "{tenantid}"
    };
    match version {
        Version::V1 => format!("{}/{tenant}/", app.endpoint),
        Version::V2 => format!("{}/{tenant}/v2.0", app.endpoint),
    }
}

fn claims_supported() -> Value {
    json!([
        "sub",
        "iss",
        "cloud_instance_name",
        "cloud_instance_host_name",
        "cloud_graph_host_name",
        "msgraph_host",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "acr",
        "nonce",
        "preferred_username",
        "name",
        "tid",
        "ver",
        "at_hash",
        "c_hash",
        "email"
    ])
}

/// Entra's discovery headers: cacheable for a day, readable cross-origin.
fn cacheable(body: Value) -> Response {
    let mut response = json_response(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
