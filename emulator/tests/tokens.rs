//! Issued access tokens, decoded and verified independently (the
//! `jsonwebtoken` crate) against the keys the discovery document publishes,
//! for every credential flow the emulator serves; the scope forms Azure
//! accepts; and ARM's checks of signature, audience and expiry.

use std::collections::HashMap;
use vm_emulator_test_support as support;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use support::{CertificateClient, Credential, Fixture, b64, client_credentials, send, unix_now};

const ARM_SCOPE: &str = "https://management.azure.com/.default";

async fn get_json(f: &Fixture, url: &str) -> Value {
    let (status, body) = send(f.http.get(url)).await;
    assert_eq!(status, 200, "GET {url}");
    body
}

/// What a relying party learns from discovery: the v1 issuer (ARM and Graph
/// tokens are v1) and the keys by `kid`.
struct Published {
    issuer: String,
    keys: HashMap<String, Value>,
}

/// A fresh emulator and what its discovery endpoints publish.
async fn start_and_read_published_keys() -> (Fixture, Published) {
    let f = support::start().await;
    let published = published(&f).await;
    (f, published)
}

async fn published(f: &Fixture) -> Published {
    let tenant = &f.emulator.config().tenant_id;
    let v1 = get_json(
        f,
        &f.url(&format!("/{tenant}/.well-known/openid-configuration")),
    )
    .await;
    let v2 = get_json(
        f,
        &f.url(&format!("/{tenant}/v2.0/.well-known/openid-configuration")),
    )
    .await;
    for doc in [&v1, &v2] {
        for field in [
            "token_endpoint",
            "authorization_endpoint",
            "issuer",
            "jwks_uri",
        ] {
            assert!(doc[field].is_string(), "{field} in {doc}");
        }
    }
    assert_eq!(
        v2["token_endpoint"],
        f.token_url(),
        "MSAL posts to the document's token endpoint"
    );
    let jwks = get_json(f, v1["jwks_uri"].as_str().expect("jwks_uri")).await;
    let jwks_v2 = get_json(f, v2["jwks_uri"].as_str().expect("jwks_uri")).await;
    let keys: HashMap<String, Value> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| (k["kid"].as_str().expect("kid").to_string(), k.clone()))
        .collect();
    assert_eq!(
        jwks_v2["keys"][0]["n"], jwks["keys"][0]["n"],
        "one signing key behind both documents"
    );
    Published {
        issuer: v1["issuer"].as_str().expect("issuer").to_string(),
        keys,
    }
}

/// Verifies signature, issuer, audience and lifetime; returns the claims.
/// A 200 token answer for `resource`: its body, its access token and the token's verified claims.
async fn issued(
    published: &Published,
    response: reqwest::Response,
    resource: &str,
) -> (Value, String, Value) {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["resource"], resource);
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let claims = verify(published, &token, resource);
    (body, token, claims)
}

fn verify(published: &Published, token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.expect("kid");
    let key = &published.keys[&kid];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(header.x5t.as_deref(), key["x5t"].as_str());
    let decoding = DecodingKey::from_rsa_components(
        key["n"].as_str().expect("n"),
        key["e"].as_str().expect("e"),
    )
    .expect("RSA key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[&published.issuer]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .expect("signature and claims verify against the published key")
        .claims
}

/// The claims every app-only ARM token carries (facts §3).
fn check_app_claims(f: &Fixture, claims: &Value, client_id: &str, appidacr: &str) {
    let config = f.emulator.config();
    assert_eq!(claims["tid"], config.tenant_id.as_str());
    assert_eq!(claims["appid"], client_id);
    assert_eq!(claims["appidacr"], appidacr);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["idp"], claims["iss"]);
    assert_eq!(
        claims["sub"], claims["oid"],
        "sub is the object ID for apps"
    );
    assert!(uuid::Uuid::parse_str(claims["oid"].as_str().expect("oid")).is_ok());
    assert!(claims["uti"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(claims["aio"].is_string() && claims["rh"].is_string());
    let iat = claims["iat"].as_u64().expect("iat is an integer");
    assert_eq!(claims["nbf"].as_u64(), Some(iat));
    assert_eq!(
        claims["exp"].as_u64(),
        Some(iat + config.token_lifetime.as_secs())
    );
    assert!(claims.get("scp").is_none(), "app-only tokens carry no scp");
}

/// An app-only token for `https://management.azure.com`: it verifies against the published
/// keys, carries the app claims, and ARM accepts it.
async fn check_arm_token(
    f: &Fixture,
    published: &Published,
    token: &str,
    client_id: &str,
    appidacr: &str,
) {
    let claims = verify(published, token, "https://management.azure.com");
    check_app_claims(f, &claims, client_id, appidacr);
    arm_accepts(f, token).await;
}

/// ARM accepts `token`.
async fn arm_accepts(f: &Fixture, token: &str) {
    let response = f
        .http
        .get(f.url(&format!(
            "/subscriptions/{}?api-version=2022-12-01",
            f.sub()
        )))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
}

async fn arm_error(f: &Fixture, token: &str) -> (u16, String) {
    let response = f
        .http
        .get(f.url("/subscriptions?api-version=2022-12-01"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON");
    (status, body["error"]["code"].as_str().unwrap_or("").into())
}

async fn federated_assertion_for(f: &Fixture, client_id: &str, assertion: &str) -> String {
    f.token(client_id, Credential::Assertion(assertion), ARM_SCOPE)
        .await
}

#[tokio::test]
async fn client_secret_token_verifies_against_the_published_keys() {
    let (f, published) = start_and_read_published_keys().await;
    let token = f.secret_token(ARM_SCOPE).await;
    let client_id = &f.emulator.config().client_id;
    check_arm_token(&f, &published, &token, client_id, "1").await;
}

#[tokio::test]
async fn client_certificate_token_verifies_against_the_published_keys() {
    let (f, published) = start_and_read_published_keys().await;
    let client_id = "00000000-0000-0000-0000-0000000000de";
    let client = CertificateClient::register(&f, client_id).await;
    let token = federated_assertion_for(&f, client_id, &client.assertion(&f, 600)).await;
    check_arm_token(&f, &published, &token, client_id, "2").await;
}

#[tokio::test]
async fn federated_tokens_from_github_and_azure_pipelines_verify() {
    let (f, published) = start_and_read_published_keys().await;
    let client_id = f.emulator.config().client_id.clone();
    let github = f.github_id_token().await;
    let request = f.http.post(f.url(
        "/_emulator/oidc/ado?api-version=7.1&serviceConnectionId=00000000-0000-0000-0000-00000000a110",
    ));
    let (_, pipelines) =
        send(request.bearer_auth(vm_emulator::DEFAULT_PIPELINES_ACCESS_TOKEN)).await;
    let pipelines = pipelines["oidcToken"].as_str().expect("a federated token");
    for assertion in [github.as_str(), pipelines] {
        let token = federated_assertion_for(&f, &client_id, assertion).await;
        check_arm_token(&f, &published, &token, &client_id, "2").await;
    }
}

#[tokio::test]
async fn managed_identity_token_verifies_and_names_the_identity() {
    let (f, published) = start_and_read_published_keys().await;
    let client_id = "00000000-0000-0000-0000-000000000042";
    let response = f
        .http
        .get(f.url(&format!(
            "/_emulator/msi/token?api-version=2019-08-01&resource=https://management.azure.com/&client_id={client_id}"
        )))
        .header("x-identity-header", vm_emulator::DEFAULT_IDENTITY_HEADER)
        .send()
        .await
        .expect("send");
    let (_, token, claims) = issued(&published, response, "https://management.azure.com/").await;
    check_app_claims(&f, &claims, client_id, "2");
    assert_eq!(
        claims["xms_mirid"],
        format!(
            "/subscriptions/{}/resourcegroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{client_id}",
            f.sub()
        )
    );
    arm_accepts(&f, &token).await;
}

#[tokio::test]
async fn v1_endpoint_issues_the_same_tokens_with_string_numbers() {
    let (f, published) = start_and_read_published_keys().await;
    let config = f.emulator.config();
    let response = f
        .post_form(
            &f.url(&format!("/{}/oauth2/token", config.tenant_id)),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", config.client_id.as_str()),
                ("client_secret", config.client_secret.as_str()),
                ("resource", "https://management.core.windows.net/"),
            ],
        )
        .await;
    let (body, token, claims) =
        issued(&published, response, "https://management.core.windows.net/").await;
    assert!(body["expires_in"].is_string() && body["expires_on"].is_string());
    check_app_claims(&f, &claims, &config.client_id, "1");
    arm_accepts(&f, &token).await;
}

#[tokio::test]
async fn every_arm_scope_form_is_accepted_and_graph_is_refused_by_arm() {
    let (f, published) = start_and_read_published_keys().await;
    let config = f.emulator.config();
    let endpoint = f.emulator.endpoint();
    let secret = Credential::Secret(&config.client_secret);
    let arm_forms = [
        (
            "https://management.azure.com/.default",
            "https://management.azure.com",
        ),
        (
            "https://management.azure.com//.default",
            "https://management.azure.com/",
        ),
        (
            "https://management.core.windows.net//.default",
            "https://management.core.windows.net/",
        ),
        (
            "https://management.core.windows.net/.default",
            "https://management.core.windows.net",
        ),
        (
            "https://management.emulator.local//.default",
            "https://management.emulator.local/",
        ),
        (
            "https://management.emulator.local/.default",
            "https://management.emulator.local",
        ),
        (&format!("{endpoint}/.default"), endpoint.as_str()),
        (&format!("{endpoint}//.default"), &format!("{endpoint}/")),
    ];
    for (scope, audience) in arm_forms {
        let token = f.token(&config.client_id, secret, scope).await;
        verify(&published, &token, audience);
        arm_accepts(&f, &token).await;
    }
    for (scope, audience) in [
        (
            "https://graph.microsoft.com/.default",
            "https://graph.microsoft.com",
        ),
        (
            "00000003-0000-0000-c000-000000000000/.default",
            "00000003-0000-0000-c000-000000000000",
        ),
    ] {
        let token = f.token(&config.client_id, secret, scope).await;
        let claims = verify(&published, &token, audience);
        assert_eq!(claims["roles"], json!([]));
        assert_eq!(
            arm_error(&f, &token).await,
            (401, "InvalidAuthenticationTokenAudience".into())
        );
    }
    let unknown = f
        .token_response(
            &config.client_id,
            secret,
            "https://vault.azure.net/.default",
        )
        .await;
    assert_eq!(unknown.status(), 400);
    let body: Value = unknown.json().await.expect("json");
    assert_eq!(body["error"], "invalid_resource");
    assert_eq!(body["error_codes"][0], 500011);
}

#[tokio::test]
async fn arm_rejects_tampered_foreign_and_expired_tokens() {
    let f = support::start().await;
    // Re-signing the claims under a different key: a valid JWT ARM never issued.
    let (header, rest) = f.token.split_once('.').expect("JWT");
    let (claims, _) = rest.split_once('.').expect("JWT");
    let mut forged_claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims)
            .expect("base64"),
    )
    .expect("claims");
    forged_claims["exp"] = json!(unix_now() + 86_400);
    let tampered = format!(
        "{header}.{}.{}",
        b64(forged_claims.to_string().as_bytes()),
        rest.split_once('.').expect("signature").1
    );
    assert_eq!(
        arm_error(&f, &tampered).await,
        (401, "InvalidAuthenticationToken".into())
    );
    let other = support::start().await;
    assert_eq!(
        arm_error(&f, &other.token).await,
        (401, "InvalidAuthenticationToken".into()),
        "another emulator's key"
    );
    arm_accepts(&f, &f.token).await;
    f.admin.expire_tokens().await.expect("tokens expired");
    assert_eq!(
        arm_error(&f, &f.token).await,
        (401, "ExpiredAuthenticationToken".into())
    );
}

#[tokio::test]
async fn discovery_rejects_unknown_tenants_and_templates_common() {
    let f = support::start().await;
    let unknown_tenant =
        f.url("/11111111-1111-1111-1111-111111111111/v2.0/.well-known/openid-configuration");
    let (status, body) = send(f.http.get(unknown_tenant)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_tenant");
    assert_eq!(body["error_codes"][0], 90002);
    let common = get_json(
        &f,
        &f.url("/organizations/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(
        common["issuer"],
        format!("{}/{{tenantid}}/v2.0", f.emulator.endpoint())
    );
    assert_eq!(
        common["token_endpoint"],
        f.url("/organizations/oauth2/v2.0/token")
    );
}

/// What azurerm's sign-in (go-azure-sdk `environments.FromEndpoint` and
/// `claims.ParseClaims`) requires of the metadata document and the tokens,
/// checked the way it reads them (facts §4 and §7).
#[tokio::test]
async fn azurerm_sign_in_requirements() {
    use base64::Engine;
    let f = support::start().await;
    let metadata = get_json(&f, &f.url("/metadata/endpoints?api-version=2022-09-01")).await;
    assert!(metadata["name"].is_string());
    let authentication = &metadata["authentication"];
    assert!(
        authentication["identityProvider"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("AAD"))
    );
    assert!(
        authentication["tenant"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("common")),
        "not Azure Stack"
    );
    for suffix in ["storage", "keyVaultDns"] {
        assert!(
            metadata["suffixes"][suffix]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{suffix}"
        );
    }
    let login = authentication["loginEndpoint"]
        .as_str()
        .expect("loginEndpoint");
    let graph = metadata["microsoftGraphResourceId"]
        .as_str()
        .expect("microsoftGraphResourceId");
    let arm = metadata["resourceManager"]
        .as_str()
        .expect("resourceManager");
    assert!(!graph.is_empty() && !arm.is_empty());
    let config = f.emulator.config();
    // Client-secret auth posts straight to the token URL (no discovery), for
    // Graph first, then for `{resourceManager}/.default`.
    for resource in [graph, arm] {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            login.trim_end_matches('/'),
            config.tenant_id
        );
        let scope = format!("{}/.default", resource.trim_end_matches('/'));
        let form = client_credentials(
            &config.client_id,
            Credential::Secret(&config.client_secret),
            &scope,
        );
        let response = f.post_form(&url, &form).await;
        assert_eq!(response.status(), 200, "a token for {resource}");
        let body: Value = response.json().await.expect("json");
        let token = body["access_token"].as_str().expect("access_token");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "does not have 3 parts");
        // Go's RawURLEncoding: unpadded base64url only.
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .expect("unpadded base64url");
        let claims: Value = serde_json::from_slice(&payload).expect("claims JSON");
        assert!(
            claims["aud"].is_string(),
            "aud must be a string, not an array"
        );
        assert!(claims["exp"].is_i64() && claims["iat"].is_i64());
        for claim in ["tid", "oid", "appid", "idtyp", "iss", "idp", "sub", "ver"] {
            assert!(claims[claim].is_string(), "{claim}");
        }
        assert!(
            !claims["scp"]
                .as_str()
                .unwrap_or("")
                .to_ascii_lowercase()
                .contains("openid"),
            "a service principal, not a user"
        );
    }
}
