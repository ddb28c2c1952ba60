//! Token endpoint, federated credentials, injected faults and throttling.

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use support::{
    CertificateClient, Credential, EMULATOR_SCOPE as SCOPE, SniClient, client_credentials,
    expect_error, header, send, x5c, x5t_s256,
};
use vm_emulator::{BucketSpec, FaultAction, FaultSpec, ThrottleSettings};
use vm_emulator_test_support as support;

#[tokio::test]
async fn token_endpoint_rejects_wrong_secret_tenant_and_client() {
    let f = support::start().await;
    let client_id = f.emulator.config().client_id.clone();
    let wrong_secret = f
        .token_response(&client_id, Credential::Secret("nope"), SCOPE)
        .await;
    assert_eq!(wrong_secret.status(), 401);
    let body: Value = wrong_secret.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);
    let wrong_tenant = f
        .post_form(
            &f.url("/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token"),
            &client_credentials(&client_id, Credential::Secret("x"), SCOPE),
        )
        .await;
    assert_eq!(wrong_tenant.status(), 400);
    let body: Value = wrong_tenant.json().await.expect("json");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("AADSTS90002:")
    );
    let unknown = f
        .token_response("unknown", Credential::Secret("x"), SCOPE)
        .await;
    let body: Value = unknown.json().await.expect("json");
    assert_eq!(body["error_codes"][0], 700016);
}

#[tokio::test]
async fn federated_tokens_from_the_github_protocol_are_accepted_as_assertions() {
    let f = support::start().await;
    let without_token = f.url("/_emulator/oidc/github?audience=api://AzureADTokenExchange");
    assert_eq!(send(f.http.get(without_token)).await.0, 401);
    let assertion = f.github_id_token().await;
    let client_id = f.emulator.config().client_id.clone();
    let response = f
        .token_response(&client_id, Credential::Assertion(&assertion), SCOPE)
        .await;
    assert_eq!(response.status(), 200);
    let forged = f
        .token_response(&client_id, Credential::Assertion("a.b.c"), SCOPE)
        .await;
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn injected_429_carries_retry_after_and_the_unwrapped_body() {
    let f = support::seeded().await;
    f.add_fault(
        FaultSpec::new(FaultAction::status_retry_after(429, "2")).on("PUT", "/extensions/"),
    )
    .await;
    let throttled = f.put_rdp_reset(None).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(header(&throttled, "retry-after"), Some("2"));
    let body: Value = throttled.json().await.expect("json");
    assert_eq!(body["code"], "OperationNotAllowed");
    assert_eq!(body["details"][0]["code"], "TooManyRequests");
    let retried = f.put_rdp_reset(None).await;
    assert_eq!(retried.status(), 201, "the fault fires once");
}

#[tokio::test]
async fn drop_connection_closes_without_a_response() {
    let f = support::seeded().await;
    f.add_fault(FaultSpec::new(FaultAction::DropConnection).on("GET", "virtualMachines"))
        .await;
    let url = f.vm_url();
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
    let f = support::seeded().await;
    f.add_fault(FaultSpec {
        method: Some("PUT".into()),
        ..FaultSpec::new(FaultAction::status(409))
    })
    .await;
    let conflict = f.put_rdp_reset(None).await;
    expect_error(conflict, 409, "Conflict").await;
    f.add_fault(FaultSpec::new(FaultAction::FailOperation {
        code: "VMExtensionProvisioningTimeout".into(),
        message: "Provisioning of VM extension enablevmaccess has timed out.".into(),
    }))
    .await;
    let op = f.run_rdp_reset(None).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "VMExtensionProvisioningTimeout");
}

#[tokio::test]
async fn throttling_reports_remaining_and_refuses_when_empty() {
    let f = support::seeded().await;
    f.admin
        .set_throttling(ThrottleSettings {
            enabled: true,
            vm_updates: BucketSpec {
                capacity: 2.0,
                refill_per_sec: 0.01,
            },
            ..ThrottleSettings::default()
        })
        .await
        .expect("throttling on");
    let first = f.put_rdp_reset(Some("1")).await;
    assert_eq!(first.status(), 201);
    let resource = header(&first, "x-ms-ratelimit-remaining-resource").map(str::to_string);
    assert_eq!(resource.as_deref(), Some("Microsoft.Compute/UpdateVM;1"));
    assert!(
        first
            .headers()
            .get("x-ms-ratelimit-remaining-subscription-writes")
            .is_some()
    );
    let status = f.wait(first).await;
    assert_eq!(status["status"], "Succeeded");
    let second = f.put_rdp_reset(Some("2")).await;
    f.wait(second).await;
    let third = f.put_rdp_reset(Some("3")).await;
    assert_eq!(third.status(), 429);
    let retry_after: u64 = header(&third, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry_after >= 1);
    let body: Value = third.json().await.expect("json");
    assert_eq!(body["code"], "OperationNotAllowed");
    assert_eq!(body["details"][0]["target"], "UpdateVM");
    let read = f.arm(Method::GET, &f.vm_url(), None).await;
    assert!(
        read.headers()
            .get("x-ms-ratelimit-remaining-subscription-reads")
            .is_some()
    );
}

#[tokio::test]
async fn certificate_signed_assertion_is_verified() {
    let f = support::start().await;
    let client = CertificateClient::register(&f, "00000000-0000-0000-0000-0000000000dd").await;
    let assertion = client.assertion(&f, 600);
    let ok = f
        .token_response(&client.client_id, Credential::Assertion(&assertion), SCOPE)
        .await;
    assert_eq!(ok.status(), 200);
    // The claims of a longer-lived assertion under the signature of this one.
    let (_, signature) = assertion.rsplit_once('.').expect("JWT");
    let longer = client.assertion(&f, 6000);
    let (unsigned, _) = longer.rsplit_once('.').expect("JWT");
    let tampered = format!("{unsigned}.{signature}");
    let bad = f
        .token_response(&client.client_id, Credential::Assertion(&tampered), SCOPE)
        .await;
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body["error_codes"][0], 700027);
}

#[tokio::test]
async fn subject_name_issuer_app_takes_only_assertions_with_the_trusted_chain() {
    let f = support::start().await;
    let sni = SniClient::register(&f, "00000000-0000-0000-0000-00000000051a").await;
    let (leaf, ca, impostor) = (&sni.certificate, &sni.ca, &sni.impostor);
    let answer = |assertion: String| {
        let f = &f;
        let client_id = sni.client_id.clone();
        async move {
            let response = f
                .token_response(&client_id, Credential::Assertion(&assertion), SCOPE)
                .await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json");
            (status, body)
        }
    };

    // The chain: accepted.
    let good = json!({"x5t#S256": x5t_s256(leaf), "x5c": x5c(&[leaf, ca])});
    let (status, body) = answer(sni.assertion(&f, &sni.key, good)).await;
    assert_eq!(status, 200, "{body}");

    // No chain: the key is not registered on the application (Entra's AADSTS700027).
    let bare = json!({"x5t#S256": x5t_s256(leaf)});
    let (status, body) = answer(sni.assertion(&f, &sni.key, bare)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(body["error_codes"][0], 700027);
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with("AADSTS700027: The certificate with the identifier used to sign the client assertion is not registered on the application."),
        "{description}"
    );

    // Refused: no issuer after the certificate; the thumbprint of another certificate; the
    // trusted CA named after a certificate another CA issued; the chain in base64url.
    let url_safe = |der: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(der);
    let refusals = [
        (
            &sni.key,
            json!({"x5t#S256": x5t_s256(leaf), "x5c": x5c(&[leaf])}),
            700027,
        ),
        (
            &sni.key,
            json!({"x5t#S256": x5t_s256(ca), "x5c": x5c(&[leaf, ca])}),
            700027,
        ),
        (
            &sni.impostor_key,
            json!({"x5t#S256": x5t_s256(impostor), "x5c": x5c(&[impostor, ca])}),
            7000213,
        ),
        (
            &sni.key,
            json!({"x5t#S256": x5t_s256(leaf), "x5c": [url_safe(leaf), url_safe(ca)]}),
            7000213,
        ),
    ];
    for (key, header, code) in refusals {
        let (status, body) = answer(sni.assertion(&f, key, header.clone())).await;
        assert_eq!(status, 401, "{header} {body}");
        assert_eq!(body["error_codes"][0], code, "{header} {body}");
    }
}
