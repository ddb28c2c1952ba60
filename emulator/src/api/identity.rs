//! Entra ID, as far as the provider needs it: the v2.0 client-credentials
//! token endpoint (client secret, client certificate assertion, federated
//! assertion), the GitHub Actions ID-token protocol that produces federated
//! tokens, and the App Service managed-identity protocol.
//!
//! Access tokens are opaque random strings checked against the issued set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_response;
use crate::state::{AppState, lock, now_rfc3339};
use crate::{ARM_AUDIENCE, EmulatorConfig};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

#[derive(Debug, Default)]
struct Client {
    secrets: Vec<String>,
    /// DER certificates whose keys may sign client assertions.
    certificates: Vec<Vec<u8>>,
}

#[derive(Debug)]
struct IssuedToken {
    expires_at: Instant,
}

/// The result of checking a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    Missing,
    Invalid,
    Expired,
    Valid,
}

/// Registered clients and issued tokens.
#[derive(Debug)]
pub struct Identity {
    tenant: String,
    lifetime: Duration,
    clients: HashMap<String, Client>,
    tokens: HashMap<String, IssuedToken>,
    federated: HashMap<String, Instant>,
}

impl Identity {
    pub fn new(config: &EmulatorConfig) -> Identity {
        let mut identity = Identity {
            tenant: config.tenant_id.clone(),
            lifetime: config.token_lifetime,
            clients: HashMap::new(),
            tokens: HashMap::new(),
            federated: HashMap::new(),
        };
        identity.register(&config.client_id, Some(&config.client_secret), None);
        identity
    }

    /// Adds a client, or more credentials to an existing one.
    pub fn register(
        &mut self,
        client_id: &str,
        secret: Option<&str>,
        certificate_der: Option<Vec<u8>>,
    ) {
        let client = self
            .clients
            .entry(client_id.to_ascii_lowercase())
            .or_default();
        client.secrets.extend(secret.map(str::to_string));
        client.certificates.extend(certificate_der);
    }

    /// Issues an access token; returns it and its lifetime in seconds.
    pub fn issue(&mut self) -> (String, u64) {
        let token = format!(
            "emu.{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                expires_at: Instant::now() + self.lifetime,
            },
        );
        (token, self.lifetime.as_secs().saturating_sub(1))
    }

    pub fn check(&self, token: Option<&str>) -> TokenCheck {
        let Some(token) = token else {
            return TokenCheck::Missing;
        };
        match self.tokens.get(token) {
            None => TokenCheck::Invalid,
            Some(t) if t.expires_at <= Instant::now() => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }

    /// Makes every issued access token expired.
    pub fn expire_all(&mut self) {
        let past = Instant::now();
        for token in self.tokens.values_mut() {
            token.expires_at = past;
        }
    }

    /// Issues a federated (workload identity) token the token endpoint
    /// accepts as a client assertion.
    pub fn issue_federated(&mut self, issuer: &str, audience: &str, subject: &str) -> String {
        let now = unix_now();
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": "vm-emulator"});
        let claims = json!({
            "iss": issuer, "sub": subject, "aud": audience,
            "iat": now, "nbf": now, "exp": now + self.lifetime.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()),
        );
        self.federated
            .insert(token.clone(), Instant::now() + self.lifetime);
        token
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

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

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(app): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    match issue_for_form(&app, &tenant, &form) {
        Ok((token, expires_in)) => json_response(
            StatusCode::OK,
            json!({
                "token_type": "Bearer",
                "expires_in": expires_in,
                "ext_expires_in": expires_in,
                "access_token": token,
            }),
        ),
        Err(e) => e.into_response(),
    }
}

fn issue_for_form(
    app: &AppState,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Result<(String, u64), EntraError> {
    let mut identity = lock(&app.identity);
    if !tenant.eq_ignore_ascii_case(&identity.tenant) {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        ));
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
    if let Some(secret) = field("client_secret") {
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
    } else if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(JWT_BEARER) {
            return Err(EntraError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                7000216,
                format!("'client_assertion_type' must be '{JWT_BEARER}'."),
            ));
        }
        let token_url = format!("{}/{}/oauth2/v2.0/token", app.endpoint, identity.tenant);
        check_assertion(&identity, client, client_id, assertion, &token_url)?;
    } else {
        return Err(EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        ));
    }
    let scope = field("scope").unwrap_or_default();
    if !scope_is_arm(scope) {
        return Err(if scope.ends_with("/.default") {
            EntraError::new(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                500011,
                format!(
                    "The resource principal named {} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
                    scope.trim_end_matches("/.default")
                ),
            )
        } else {
            EntraError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            )
        });
    }
    Ok(identity.issue())
}

fn scope_is_arm(scope: &str) -> bool {
    let audience = ARM_AUDIENCE.trim_end_matches('/');
    scope.split_whitespace().any(|s| {
        s.trim_end_matches("/.default").trim_end_matches('/') == audience
            && s.ends_with("/.default")
    })
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
}

/// Accepts a federated token issued by this emulator, or a JWT signed by one
/// of the client's registered certificates.
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
    let verified = client.certificates.iter().any(|der| {
        let der = rustls::pki_types::CertificateDer::from(der.as_slice());
        webpki::EndEntityCert::try_from(&der)
            .and_then(|cert| cert.verify_signature(algorithm, message.as_bytes(), &signature))
            .is_ok()
    });
    if !verified {
        return Err(invalid_assertion(
            700027,
            "Client assertion failed signature validation.",
        ));
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
    let now = unix_now();
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let nbf = claims.get("nbf").and_then(Value::as_u64).unwrap_or(0);
    if exp <= now || nbf > now + 300 {
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

#[derive(Debug, Deserialize)]
pub struct AudienceQuery {
    audience: Option<String>,
}

/// `GET /_emulator/oidc/github?audience=…`: the GitHub Actions ID-token request
/// protocol (`ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
pub async fn github_id_token(
    State(app): State<Arc<AppState>>,
    Query(query): Query<AudienceQuery>,
    headers: HeaderMap,
) -> Response {
    let expected = app.runtime().github_request_token;
    if super::bearer(&headers) != Some(expected.as_str()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Bad credentials"}),
        );
    }
    let audience = query.audience.unwrap_or_else(|| FEDERATED_AUDIENCE.into());
    let token = lock(&app.identity).issue_federated(
        &format!("{}/_emulator/oidc", app.endpoint),
        &audience,
        "repo:emulator/terraform-provider-vm:ref:refs/heads/main",
    );
    json_response(StatusCode::OK, json!({"value": token}))
}

#[derive(Debug, Deserialize)]
pub struct PipelinesQuery {
    #[serde(rename = "serviceConnectionId")]
    service_connection_id: Option<String>,
}

/// `POST /_emulator/oidc/ado?api-version=7.1&serviceConnectionId=…` with
/// `Authorization: Bearer $(System.AccessToken)`: the Azure Pipelines OIDC
/// request (`SYSTEM_OIDCREQUESTURI`), answered with `{"oidcToken": …}`.
pub async fn pipelines_id_token(
    State(app): State<Arc<AppState>>,
    Query(query): Query<PipelinesQuery>,
    headers: HeaderMap,
) -> Response {
    if super::bearer(&headers) != Some(crate::DEFAULT_PIPELINES_ACCESS_TOKEN) {
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
    let token = lock(&app.identity).issue_federated(
        &format!("{}/_emulator/oidc", app.endpoint),
        FEDERATED_AUDIENCE,
        &format!("sc://emulator/terraform-provider-vm/{connection}"),
    );
    json_response(StatusCode::OK, json!({"oidcToken": token}))
}

#[derive(Debug, Default, Deserialize)]
pub struct FederatedRequest {
    audience: Option<String>,
    subject: Option<String>,
}

/// `POST /_emulator/oidc/token`: a federated token for `ARM_OIDC_TOKEN`-style tests.
pub async fn issue_federated(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: FederatedRequest = serde_json::from_slice(&body).unwrap_or_default();
    let token = lock(&app.identity).issue_federated(
        &format!("{}/_emulator/oidc", app.endpoint),
        request.audience.as_deref().unwrap_or(FEDERATED_AUDIENCE),
        request.subject.as_deref().unwrap_or("system:emulator"),
    );
    json_response(StatusCode::OK, json!({"value": token}))
}

#[derive(Debug, Deserialize)]
pub struct ManagedIdentityQuery {
    resource: Option<String>,
}

/// `GET /_emulator/msi/token?resource=…&api-version=2019-08-01` with
/// `X-IDENTITY-HEADER`: the App Service managed-identity protocol.
pub async fn managed_identity_token(
    State(app): State<Arc<AppState>>,
    Query(query): Query<ManagedIdentityQuery>,
    headers: HeaderMap,
) -> Response {
    let header_ok = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == crate::DEFAULT_IDENTITY_HEADER);
    if !header_ok {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"statusCode": 401, "message": "Unauthorized: missing or invalid X-IDENTITY-HEADER."}),
        );
    }
    let resource = query.resource.unwrap_or_default();
    if !same_url(&resource, ARM_AUDIENCE) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "message": format!("Unsupported resource '{resource}'.")}),
        );
    }
    let (token, lifetime) = lock(&app.identity).issue();
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "expires_on": (unix_now() + lifetime).to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": app.config.client_id,
        }),
    )
}

/// The `WWW-Authenticate` challenge ARM sends with a 401.
pub fn challenge(app: &AppState, error: &str) -> (header::HeaderName, String) {
    (
        header::WWW_AUTHENTICATE,
        format!(
            "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"{error}\"",
            app.endpoint, app.config.tenant_id
        ),
    )
}
