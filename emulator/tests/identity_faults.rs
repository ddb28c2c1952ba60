//! Token endpoint, federated credentials, injected faults and throttling.

mod support;

use reqwest::Method;
use serde_json::{Value, json};

const SCOPE: &str = "https://management.emulator.local/.default";

#[tokio::test]
async fn token_endpoint_rejects_wrong_secret_tenant_and_client() {
    let f = support::start().await;
    let client_id = f.emulator.config().client_id.clone();
    let wrong_secret = f
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", "nope"),
            ("scope", SCOPE),
        ])
        .await;
    assert_eq!(wrong_secret.status(), 401);
    let body: Value = wrong_secret.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);
    let wrong_tenant = f
        .http
        .post(f.url("/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", "x"),
            ("scope", SCOPE),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(wrong_tenant.status(), 400);
    let body: Value = wrong_tenant.json().await.expect("json");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("AADSTS90002:")
    );
    let unknown = f
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", "unknown"),
            ("client_secret", "x"),
            ("scope", SCOPE),
        ])
        .await;
    let body: Value = unknown.json().await.expect("json");
    assert_eq!(body["error_codes"][0], 700016);
}

#[tokio::test]
async fn federated_tokens_from_the_github_protocol_are_accepted_as_assertions() {
    let f = support::start().await;
    let unauthorized = f
        .http
        .get(f.url("/_emulator/oidc/github?audience=api://AzureADTokenExchange"))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthorized.status(), 401);
    let body: Value = f
        .http
        .get(f.url("/_emulator/oidc/github?audience=api://AzureADTokenExchange"))
        .bearer_auth(vm_emulator::DEFAULT_GITHUB_REQUEST_TOKEN)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let assertion = body["value"].as_str().expect("value").to_string();
    let client_id = f.emulator.config().client_id.clone();
    let response = f
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
            ("scope", SCOPE),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let forged = f
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", "a.b.c"),
            ("scope", SCOPE),
        ])
        .await;
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn injected_429_carries_retry_after_and_the_unwrapped_body() {
    let f = support::start().await;
    f.seed_vm(json!({})).await;
    f.admin(Method::POST, "/_emulator/faults", json!({"method": "PUT", "path_contains": "/extensions/", "times": 1, "action": {"status": {"code": 429, "retry_after": "2"}}})).await;
    let throttled = f
        .put_vmaccess("enablevmaccess", json!({}), json!({}), None)
        .await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(
        throttled
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let body: Value = throttled.json().await.expect("json");
    assert_eq!(body["code"], "OperationNotAllowed");
    assert_eq!(body["details"][0]["code"], "TooManyRequests");
    let retried = f
        .put_vmaccess("enablevmaccess", json!({}), json!({}), None)
        .await;
    assert_eq!(retried.status(), 201, "the fault fires once");
}

#[tokio::test]
async fn drop_connection_closes_without_a_response() {
    let f = support::start().await;
    f.seed_vm(json!({})).await;
    f.admin(
        Method::POST,
        "/_emulator/faults",
        json!({"method": "GET", "path_contains": "virtualMachines", "action": "drop_connection"}),
    )
    .await;
    let url = f.url(&format!("{}?{}", f.vm_path(), support::API));
    let result = f.http.get(&url).bearer_auth(&f.token).send().await;
    assert!(
        result.is_err(),
        "expected a connection error, got {:?}",
        result.map(|r| r.status())
    );
    assert_eq!(f.arm(Method::GET, &url, None).await.status(), 200);
}

#[tokio::test]
async fn injected_409_and_failed_operation() {
    let f = support::start().await;
    f.seed_vm(json!({})).await;
    f.admin(
        Method::POST,
        "/_emulator/faults",
        json!({"method": "PUT", "action": {"status": {"code": 409}}}),
    )
    .await;
    let conflict = f
        .put_vmaccess("enablevmaccess", json!({}), json!({}), None)
        .await;
    assert_eq!(conflict.status(), 409);
    let body: Value = conflict.json().await.expect("json");
    assert_eq!(body["error"]["code"], "Conflict");
    f.admin(Method::POST, "/_emulator/faults", json!({"action": {"fail_operation": {"code": "VMExtensionProvisioningTimeout", "message": "Provisioning of VM extension enablevmaccess has timed out."}}})).await;
    let op = f.run_vmaccess(json!({}), json!({}), None).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "VMExtensionProvisioningTimeout");
}

#[tokio::test]
async fn throttling_reports_remaining_and_refuses_when_empty() {
    let f = support::start().await;
    f.seed_vm(json!({})).await;
    f.admin(
        Method::POST,
        "/_emulator/config",
        json!({"throttling": {"enabled": true, "vm_updates": {"capacity": 2, "refill_per_sec": 0.01}}}),
    )
    .await;
    let first = f
        .put_vmaccess("enablevmaccess", json!({}), json!({}), Some("1"))
        .await;
    assert_eq!(first.status(), 201);
    let resource = first
        .headers()
        .get("x-ms-ratelimit-remaining-resource")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(resource.as_deref(), Some("Microsoft.Compute/UpdateVM;1"));
    assert!(
        first
            .headers()
            .get("x-ms-ratelimit-remaining-subscription-writes")
            .is_some()
    );
    let status = f.wait(first).await;
    assert_eq!(status["status"], "Succeeded");
    let second = f
        .put_vmaccess("enablevmaccess", json!({}), json!({}), Some("2"))
        .await;
    f.wait(second).await;
    let third = f
        .put_vmaccess("enablevmaccess", json!({}), json!({}), Some("3"))
        .await;
    assert_eq!(third.status(), 429);
    let retry_after: u64 = third
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry_after >= 1);
    let body: Value = third.json().await.expect("json");
    assert_eq!(body["code"], "OperationNotAllowed");
    assert_eq!(body["details"][0]["target"], "UpdateVM");
    let read = f
        .arm(
            Method::GET,
            &f.url(&format!("{}?{}", f.vm_path(), support::API)),
            None,
        )
        .await;
    assert!(
        read.headers()
            .get("x-ms-ratelimit-remaining-subscription-reads")
            .is_some()
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn certificate_signed_assertion_is_verified() {
    use rcgen::{CertificateParams, KeyPair, PKCS_RSA_SHA256, SigningKey};
    let f = support::start().await;
    let key = KeyPair::generate_for(&PKCS_RSA_SHA256).expect("RSA key");
    let cert = CertificateParams::new(vec!["client".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let client_id = "00000000-0000-0000-0000-0000000000dd";
    let registered = f
        .admin(
            Method::POST,
            "/_emulator/clients",
            json!({"client_id": client_id, "certificate_pem": cert.pem()}),
        )
        .await;
    assert_eq!(registered.status(), 200);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let header = b64(json!({"alg": "RS256", "typ": "JWT"}).to_string().as_bytes());
    let claims = b64(json!({"aud": f.token_url(), "iss": client_id, "sub": client_id, "nbf": now, "exp": now + 600, "jti": "1"}).to_string().as_bytes());
    let message = format!("{header}.{claims}");
    let signature = b64(&key.sign(message.as_bytes()).expect("sign"));
    let form = |assertion: String| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", client_id.to_string()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", assertion),
            ("scope", SCOPE.to_string()),
        ]
    };
    let ok = f
        .http
        .post(f.token_url())
        .form(&form(format!("{message}.{signature}")))
        .send()
        .await
        .expect("send");
    assert_eq!(ok.status(), 200);
    let tampered_claims = b64(json!({"aud": f.token_url(), "iss": client_id, "sub": client_id, "nbf": now, "exp": now + 6000, "jti": "1"}).to_string().as_bytes());
    let bad = f
        .http
        .post(f.token_url())
        .form(&form(format!("{header}.{tampered_claims}.{signature}")))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body["error_codes"][0], 700027);
}
