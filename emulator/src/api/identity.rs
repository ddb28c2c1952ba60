//! Entra ID, as far as the provider needs it: the v2.0 client-credentials
//! token endpoint (client secret, client certificate assertion, federated
//! assertion), the GitHub Actions ID-token protocol that produces federated
//! tokens, and the App Service managed-identity protocol.
//!
//! Access tokens are signed JWTs (`tenant::tokens`); each carries a `uti`
//! that ARM looks up in the issued set, so `/_emulator/tokens/expire` can
//! still expire them early.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::bearer;
use super::response::json_response;
use crate::clock::{now_rfc3339, unix_now};
use crate::config::{DEFAULT_IDENTITY_HEADER, DEFAULT_PIPELINES_ACCESS_TOKEN};
use crate::state::{AppState, lock};
use crate::tenant::identity::{Client, Identity};
use crate::tenant::subject_trust::{ChainRejection, PresentedChain, check_chain};
use crate::tenant::tokens::{Principal, Resource};

/// Entra's token endpoints (v2.0 and v1), and the sources of the credentials exchanged there:
/// CI systems' OIDC tokens and the managed-identity endpoint.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/oauth2/token", post(token_v1))
        .route("/_emulator/oidc/github", get(github_id_token))
        .route("/_emulator/oidc/ado", post(pipelines_id_token))
        .route("/_emulator/oidc/token", post(issue_federated))
        .route("/_emulator/msi/token", get(managed_identity_token))
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// An Entra error response.
struct EntraError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

impl EntraError {
    fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        EntraError {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    fn into_response(self) -> Response {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let timestamp = now_rfc3339();
        json_response(
            self.status,
            json!({
                "error": self.error,
                "error_description": format!(
                    "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                    self.code, self.description
                ),
                "error_codes": [self.code],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
            }),
        )
    }
}

/// `POST /{tenant}/oauth2/v2.0/token` (`scope=`; numbers in the answer).
async fn token(
    State(app): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    match issue_for_form(&app, &tenant, &form, Endpoint::V2) {
        Ok(issued) => json_response(
            StatusCode::OK,
            json!({
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "ext_expires_in": issued.expires_in,
                "access_token": issued.token,
            }),
        ),
        Err(e) => e.into_response(),
    }
}

/// `POST /{tenant}/oauth2/token`, the v1 endpoint the v1 discovery document
/// names (`resource=`; strings in the answer, as Entra sends them).
async fn token_v1(
    State(app): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    match issue_for_form(&app, &tenant, &form, Endpoint::V1) {
        Ok(issued) => {
            let now = unix_now();
            json_response(
                StatusCode::OK,
                json!({
                    "token_type": "Bearer",
                    "expires_in": issued.expires_in.to_string(),
                    "ext_expires_in": issued.expires_in.to_string(),
                    "expires_on": (now + issued.expires_in).to_string(),
                    "not_before": now.to_string(),
                    "resource": issued.audience,
                    "access_token": issued.token,
                }),
            )
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    V1,
    V2,
}

struct Issued {
    token: String,
    expires_in: u64,
    audience: String,
}

/// Entra's answer for a tenant it does not know.
fn unknown_tenant(tenant: &str) -> EntraError {
    EntraError::new(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
    )
}

/// The discovery answer for a tenant path segment: the configured tenant,
/// or `common` / `organizations`; anything else is Entra's AADSTS90002.
pub(super) fn discovery_tenant_error(app: &AppState, tenant: &str) -> Option<Response> {
    let known = tenant.eq_ignore_ascii_case(&app.config.tenant_id)
        || tenant.eq_ignore_ascii_case("common")
        || tenant.eq_ignore_ascii_case("organizations");
    (!known).then(|| unknown_tenant(tenant).into_response())
}

fn issue_for_form(
    app: &AppState,
    tenant: &str,
    form: &HashMap<String, String>,
    endpoint: Endpoint,
) -> Result<Issued, EntraError> {
    let mut identity = lock(&app.identity);
    if !tenant.eq_ignore_ascii_case(&identity.tenant) {
        return Err(unknown_tenant(tenant));
    }
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let grant = field("grant_type").unwrap_or_default();
    if grant != "client_credentials" {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = field("client_id").ok_or_else(|| {
        EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    })?;
    let client = identity.clients.get(&client_id.to_ascii_lowercase()).ok_or_else(|| {
        EntraError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
        )
    })?;
    let principal = if let Some(secret) = field("client_secret") {
        if !client.secrets.iter().any(|s| s == secret) {
            return Err(EntraError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            ));
        }
        Principal::Secret
    } else if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(JWT_BEARER) {
            return Err(EntraError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                7000216,
                format!("'client_assertion_type' must be '{JWT_BEARER}'."),
            ));
        }
        let path = match endpoint {
            Endpoint::V1 => "oauth2/token",
            Endpoint::V2 => "oauth2/v2.0/token",
        };
        let token_url = format!("{}/{}/{path}", app.endpoint, identity.tenant);
        check_assertion(&identity, client, client_id, assertion, &token_url)?;
        Principal::Assertion
    } else {
        return Err(EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        ));
    };
    let (resource, audience) = match endpoint {
        Endpoint::V2 => resource_for_scope(&identity, tenant, field("scope").unwrap_or_default())?,
        Endpoint::V1 => {
            let requested = field("resource").unwrap_or_default();
            identity
                .resource_for(requested)
                .ok_or_else(|| unknown_resource(requested, tenant))?
        }
    };
    let client_id = client_id.to_string();
    let (token, expires_in) = identity.issue(&client_id, &principal, resource, &audience);
    Ok(Issued {
        token,
        expires_in,
        audience,
    })
}

fn unknown_resource(resource: &str, tenant: &str) -> EntraError {
    EntraError::new(
        StatusCode::BAD_REQUEST,
        "invalid_resource",
        500011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
        ),
    )
}

/// The client-credentials scope: exactly one `{resource}/.default`. The
/// resource keeps the client's spelling (`…core.windows.net//.default` asks
/// for `https://management.core.windows.net/`).
fn resource_for_scope(
    identity: &Identity,
    tenant: &str,
    scope: &str,
) -> Result<(Resource, String), EntraError> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let resource = match scopes.as_slice() {
        [single] => single.strip_suffix("/.default"),
        _ => None,
    };
    let Some(resource) = resource.filter(|r| !r.is_empty()) else {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    identity
        .resource_for(resource)
        .ok_or_else(|| unknown_resource(resource, tenant))
}

fn invalid_assertion(code: u32, description: impl Into<String>) -> EntraError {
    EntraError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    )
}

#[derive(Debug, Deserialize)]
struct JwtHeader {
    alg: String,
    /// The signing certificate's chain (standard base64 DER, the certificate first).
    x5c: Option<Vec<String>>,
    /// The signing certificate's SHA-256 thumbprint (base64url).
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<String>,
    /// Its SHA-1 thumbprint (base64url), which older clients send instead.
    x5t: Option<String>,
}

impl JwtHeader {
    /// The thumbprint the client named, in hex as Entra's messages print it.
    fn thumbprint_hex(&self) -> String {
        let named = self.x5t_s256.as_deref().or(self.x5t.as_deref());
        named
            .and_then(|t| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok())
            .map(|bytes| bytes.iter().map(|b| format!("{b:02X}")).collect())
            .unwrap_or_default()
    }
}

/// Entra's answer when no credential of the application matches the assertion's certificate
/// (an application trusting subject name + issuer answers so to an assertion without `x5c`).
fn key_not_registered(client_id: &str, header: &JwtHeader) -> EntraError {
    invalid_assertion(
        700027,
        format!(
            "The certificate with the identifier used to sign the client assertion is not registered on the application. [Reason: The key was not found.] Thumbprint of the key used by the client: '{}'. Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.",
            header.thumbprint_hex()
        ),
    )
}

const INVALID_SIGNATURE: &str = "Client assertion failed signature validation.";

/// Entra's answer to a chain that does not hold up.
fn invalid_chain() -> EntraError {
    invalid_assertion(7000213, "Invalid certificate chain.")
}

/// Checks an assertion of an application registered for subject name + issuer authentication
/// that came with its chain.
fn check_presented_chain(
    client: &Client,
    client_id: &str,
    header: &JwtHeader,
    x5c: &[String],
    algorithm: &dyn rustls::pki_types::SignatureVerificationAlgorithm,
    message: &str,
    signature: &[u8],
) -> Result<(), EntraError> {
    // RFC 7515 §4.1.6: base64, not base64url.
    let x5c: Vec<Vec<u8>> = x5c
        .iter()
        .map(|c| STANDARD.decode(c))
        .collect::<Result<_, _>>()
        .map_err(|_| invalid_chain())?;
    let chain = PresentedChain {
        x5c: &x5c,
        x5t_s256: header.x5t_s256.as_deref(),
    };
    check_chain(
        &client.trusted_subjects,
        chain,
        algorithm,
        message.as_bytes(),
        signature,
    )
    .map_err(|rejection| match rejection {
        ChainRejection::Malformed | ChainRejection::InvalidChain(_) => invalid_chain(),
        ChainRejection::BadSignature => invalid_assertion(700027, INVALID_SIGNATURE),
        ChainRejection::ThumbprintMismatch => invalid_assertion(
            700027,
            format!("{INVALID_SIGNATURE} [Reason: x5t#S256 is not the thumbprint of the first certificate in x5c.]"),
        ),
        ChainRejection::Untrusted => key_not_registered(client_id, header),
    })
}

/// Accepts a federated token issued by this emulator, or a JWT signed by one
/// of the client's registered certificates, or (for an application registered for subject
/// name + issuer authentication) by a certificate whose chain in `x5c` it trusts.
fn check_assertion(
    identity: &Identity,
    client: &Client,
    client_id: &str,
    assertion: &str,
    token_url: &str,
) -> Result<(), EntraError> {
    if let Some(expires_at) = identity.federated.get(assertion) {
        if *expires_at <= Instant::now() {
            return Err(invalid_assertion(
                700024,
                "Client assertion is not within its valid time range.",
            ));
        }
        return Ok(());
    }
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts[..] else {
        return Err(invalid_assertion(
            50027,
            "JWT token is invalid or malformed.",
        ));
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
    let header: JwtHeader = decode(header_b64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid_assertion(50027, "JWT token is invalid or malformed."))?;
    let claims: Value = decode(claims_b64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid_assertion(50027, "JWT token is invalid or malformed."))?;
    let signature = decode(signature_b64)
        .ok_or_else(|| invalid_assertion(50027, "JWT token is invalid or malformed."))?;
    if claims
        .get("iss")
        .and_then(Value::as_str)
        .is_some_and(|i| i.contains("/_emulator/oidc"))
    {
        return Err(invalid_assertion(
            700211,
            "No matching federated identity record found for presented assertion issuer.",
        ));
    }
    let algorithm: &dyn rustls::pki_types::SignatureVerificationAlgorithm =
        match header.alg.as_str() {
            "RS256" => webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
            "PS256" => webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            other => {
                return Err(invalid_assertion(
                    5002738,
                    format!("Invalid JWT token. '{other}' is not a supported signature algorithm."),
                ));
            }
        };
    let message = format!("{header_b64}.{claims_b64}");
    let subject_trust = !client.trusted_subjects.is_empty();
    match &header.x5c {
        Some(x5c) if subject_trust => check_presented_chain(
            client, client_id, &header, x5c, algorithm, &message, &signature,
        )?,
        _ => {
            let verified = client.certificates.iter().any(|der| {
                let der = rustls::pki_types::CertificateDer::from(der.as_slice());
                webpki::EndEntityCert::try_from(&der)
                    .and_then(|cert| {
                        cert.verify_signature(algorithm, message.as_bytes(), &signature)
                    })
                    .is_ok()
            });
            if !verified && subject_trust {
                return Err(key_not_registered(client_id, &header));
            }
            if !verified {
                return Err(invalid_assertion(700027, INVALID_SIGNATURE));
            }
        }
    }
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    if !claim("iss").eq_ignore_ascii_case(client_id)
        || !claim("sub").eq_ignore_ascii_case(client_id)
    {
        return Err(invalid_assertion(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => same_url(a, token_url),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| same_url(a, token_url)),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid_assertion(
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience. The audience must be '{token_url}'."
            ),
        ));
    }
    // NumericDate may have a fraction (RFC 7519 §2); MSAL Python sends one.
    let now = unix_now() as f64;
    let exp = claims.get("exp").and_then(Value::as_f64).unwrap_or(0.0);
    let nbf = claims.get("nbf").and_then(Value::as_f64).unwrap_or(0.0);
    if exp <= now || nbf > now + 300.0 {
        return Err(invalid_assertion(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// A token of the emulator's own OIDC issuer (standing in for GitHub, Azure Pipelines…).
fn federated_token(app: &AppState, audience: &str, subject: &str) -> String {
    let issuer = format!("{}/_emulator/oidc", app.endpoint);
    lock(&app.identity).issue_federated(&issuer, audience, subject)
}

#[derive(Debug, Deserialize)]
pub(super) struct AudienceQuery {
    audience: Option<String>,
}

/// `GET /_emulator/oidc/github?audience=…`: the GitHub Actions ID-token request
/// protocol (`ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
async fn github_id_token(
    State(app): State<Arc<AppState>>,
    Query(query): Query<AudienceQuery>,
    headers: HeaderMap,
) -> Response {
    let expected = app.runtime().github_request_token;
    if bearer(&headers) != Some(expected.as_str()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Bad credentials"}),
        );
    }
    let audience = query.audience.unwrap_or_else(|| FEDERATED_AUDIENCE.into());
    let subject = "repo:emulator/terraform-provider-vm:ref:refs/heads/main";
    json_response(
        StatusCode::OK,
        json!({"value": federated_token(&app, &audience, subject)}),
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct PipelinesQuery {
    #[serde(rename = "serviceConnectionId")]
    service_connection_id: Option<String>,
}

/// `POST /_emulator/oidc/ado?api-version=7.1&serviceConnectionId=…` with
/// `Authorization: Bearer $(System.AccessToken)`: the Azure Pipelines OIDC
/// request (`SYSTEM_OIDCREQUESTURI`), answered with `{"oidcToken": …}`.
async fn pipelines_id_token(
    State(app): State<Arc<AppState>>,
    Query(query): Query<PipelinesQuery>,
    headers: HeaderMap,
) -> Response {
    if bearer(&headers) != Some(DEFAULT_PIPELINES_ACCESS_TOKEN) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "TF400813: The user is not authorized to access this resource."}),
        );
    }
    let Some(connection) = query.service_connection_id.filter(|c| !c.is_empty()) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": "serviceConnectionId is required."}),
        );
    };
    let subject = format!("sc://emulator/terraform-provider-vm/{connection}");
    json_response(
        StatusCode::OK,
        json!({"oidcToken": federated_token(&app, FEDERATED_AUDIENCE, &subject)}),
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FederatedRequest {
    audience: Option<String>,
    subject: Option<String>,
}

/// `POST /_emulator/oidc/token`: a federated token for `ARM_OIDC_TOKEN`-style tests.
async fn issue_federated(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: FederatedRequest = serde_json::from_slice(&body).unwrap_or_default();
    let token = federated_token(
        &app,
        request.audience.as_deref().unwrap_or(FEDERATED_AUDIENCE),
        request.subject.as_deref().unwrap_or("system:emulator"),
    );
    json_response(StatusCode::OK, json!({"value": token}))
}

#[derive(Debug, Deserialize)]
pub(super) struct ManagedIdentityQuery {
    resource: Option<String>,
    /// A user-assigned identity's client ID.
    client_id: Option<String>,
}

/// `GET /_emulator/msi/token?resource=…&api-version=2019-08-01` with
/// `X-IDENTITY-HEADER`: the App Service managed-identity protocol.
async fn managed_identity_token(
    State(app): State<Arc<AppState>>,
    Query(query): Query<ManagedIdentityQuery>,
    headers: HeaderMap,
) -> Response {
    let header_ok = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == DEFAULT_IDENTITY_HEADER);
    if !header_ok {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"statusCode": 401, "message": "Unauthorized: missing or invalid X-IDENTITY-HEADER."}),
        );
    }
    let resource = query.resource.unwrap_or_default();
    let mut identity = lock(&app.identity);
    let Some((kind, audience)) = identity.resource_for(&resource) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "message": format!("Unsupported resource '{resource}'.")}),
        );
    };
    let client_id = query
        .client_id
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| app.config.client_id.clone());
    let principal = Principal::ManagedIdentity {
        mirid: format!(
            "/subscriptions/{}/resourcegroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{client_id}",
            app.config.subscription_id
        ),
    };
    let (token, lifetime) = identity.issue(&client_id, &principal, kind, &audience);
    drop(identity);
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "expires_on": (unix_now() + lifetime).to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }),
    )
}
