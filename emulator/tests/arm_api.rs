//! ARM wire behaviour: validation errors, authentication, secrets, LRO styles.

use reqwest::Method;
use serde_json::{Value, json};
use support::{expect_error, header, seed, send};
use vm_emulator::PowerState;
use vm_emulator::admin::ConfigChange;
use vm_emulator_test_support as support;

#[tokio::test]
async fn second_vmaccess_under_another_name_is_rejected() {
    let f = support::seeded().await;
    assert_eq!(f.run_rdp_reset(None).await["status"], "Succeeded");
    let response = f
        .put_vmaccess("VMAccessAgent", json!({}), json!({}), None)
        .await;
    let body = expect_error(response, 400, "BadRequest").await;
    assert_eq!(
        body["error"]["innererror"]["internalErrorCode"],
        "MultipleExtensionsPerHandlerNotAllowed"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(
                "VMExtension 'enablevmaccess' with handler 'Microsoft.Compute.VMAccessAgent'"
            )
    );
}

#[tokio::test]
async fn an_extension_keeps_its_handler_under_its_name() {
    let f = support::seeded().await;
    assert_eq!(f.run_rdp_reset(None).await["status"], "Succeeded");
    let handler = ("Microsoft.Compute", "CustomScriptExtension", "1.10");
    let response = f
        .put_extension("enablevmaccess", handler, json!({}), json!({}), None)
        .await;
    let body = expect_error(response, 400, "PropertyChangeNotAllowed").await;
    assert_eq!(
        body["error"]["message"],
        "Changing property 'type' is not allowed."
    );
}

#[tokio::test]
async fn stopped_vm_refuses_extension_changes() {
    let f = support::seeded_with(|vm| vm.power_state = PowerState::Deallocated).await;
    let response = f.put_rdp_reset(None).await;
    let body = expect_error(response, 409, "OperationNotAllowed").await;
    assert_eq!(
        body["error"]["innererror"]["internalErrorCode"],
        "CannotModifyExtensionsWhenVMNotRunning"
    );
}

#[tokio::test]
async fn validation_errors_match_azure() {
    let f = support::seeded().await;
    let no_location = f
        .arm(Method::PUT, &f.extension_url("x"), Some(json!({"properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4"}})))
        .await;
    assert_eq!(no_location.status(), 400);
    let bad_version = f
        .arm(Method::PUT, &f.extension_url("x"), Some(json!({"location": "westeurope", "properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "two"}})))
        .await;
    assert_eq!(bad_version.status(), 400);
    let body: Value = bad_version.json().await.expect("json");
    assert_eq!(body["error"]["target"], "typeHandlerVersion");
    let missing_vm = f
        .arm(
            Method::PUT,
            &f.url(&format!("{}-gone/extensions/x?{}", f.vm_path(), support::API)),
            Some(json!({"location": "westeurope", "properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4"}})),
        )
        .await;
    expect_error(missing_vm, 404, "ParentResourceNotFound").await;
    let vm_missing = f
        .arm(
            Method::GET,
            &f.url(&format!("{}-gone?{}", f.vm_path(), support::API)),
            None,
        )
        .await;
    let body: Value = vm_missing.json().await.expect("json");
    assert_eq!(body["error"]["code"], "ResourceNotFound");
    let no_api_version = f.arm(Method::GET, &f.url(&f.vm_path()), None).await;
    assert_eq!(no_api_version.status(), 400);
}

#[tokio::test]
async fn paths_are_case_insensitive_and_echo_stored_casing() {
    let f = support::seeded().await;
    let path = f
        .vm_path()
        .to_uppercase()
        .replace("SUBSCRIPTIONS", "subscriptions");
    let response = f
        .arm(
            Method::GET,
            &f.url(&format!("{path}?{}", support::API)),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["name"], support::VM);
    assert_eq!(
        body["properties"]["storageProfile"]["osDisk"]["osType"],
        "Windows"
    );
}

#[tokio::test]
async fn protected_settings_are_never_returned_and_are_redacted_in_the_log() {
    let f = support::seeded().await;
    let response = f
        .put_vmaccess(
            "enablevmaccess",
            json!({"UserName": "azureadmin"}),
            json!({"Password": "New-Passw0rd!"}),
            None,
        )
        .await;
    let put_body = response.text().await.expect("text");
    assert!(!put_body.contains("New-Passw0rd!") && !put_body.contains("protectedSettings"));
    f.poll(&f.extension_url("enablevmaccess"), |_, ext| {
        ext["properties"]["provisioningState"] == "Creating"
    })
    .await;
    for url in [
        f.extension_url("enablevmaccess"),
        format!("{}&$expand=instanceView", f.extension_url("enablevmaccess")),
        f.url(&format!("{}/extensions?{}", f.vm_path(), support::API)),
        f.url(&format!(
            "{}?{}&$expand=instanceView",
            f.vm_path(),
            support::API
        )),
    ] {
        let text = f
            .arm(Method::GET, &url, None)
            .await
            .text()
            .await
            .expect("text");
        assert!(
            !text.contains("protectedSettings") && !text.contains("New-Passw0rd!"),
            "{text}"
        );
    }
    let log = serde_json::to_string(&f.admin.requests().await.expect("log")).expect("text");
    assert!(!log.contains("New-Passw0rd!"), "{log}");
    assert!(
        !log.contains(&f.emulator.config().client_secret),
        "client secret redacted"
    );
    let view = serde_json::to_string(&f.vm().await).expect("text");
    assert!(!view.contains("New-Passw0rd!") && !view.contains("Old-Passw0rd!"));
}

#[tokio::test]
async fn unauthenticated_requests_get_401() {
    let f = support::seeded().await;
    let url = f.vm_url();
    let missing = f.http.get(&url).send().await.expect("send");
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().get("www-authenticate").is_some());
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    let (_, invalid) = send(f.http.get(&url).bearer_auth("nope")).await;
    assert_eq!(invalid["error"]["code"], "InvalidAuthenticationToken");
    f.admin.expire_tokens().await.expect("tokens expired");
    let expired = f.arm(Method::GET, &url, None).await;
    expect_error(expired, 401, "ExpiredAuthenticationToken").await;
    let fresh = f.fresh_token().await;
    assert_eq!(
        f.http
            .get(&url)
            .bearer_auth(fresh)
            .send()
            .await
            .expect("send")
            .status(),
        200
    );
}

#[tokio::test]
async fn wrong_subscription_is_not_found() {
    let f = support::start().await;
    let url = f.url(&format!("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm?{}", support::API));
    let (_, body) = f.get(&url).await;
    assert_eq!(body["error"]["code"], "SubscriptionNotFound");
}

#[tokio::test]
async fn location_only_style_polls_to_the_final_resource() {
    let f = support::start_location_style().await;
    f.seed_vm(seed()).await;
    let response = f.put_rdp_reset(None).await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("azure-asyncoperation").is_none());
    assert_eq!(header(&response, "retry-after"), Some("1"));
    let location = header(&response, "location").expect("Location").to_string();
    assert!(location.contains("monitor=true"));
    let first = f.arm(Method::GET, &location, None).await;
    assert_eq!(first.status(), 202);
    let (status, body) = f.poll(&location, |status, _| status == 202).await;
    assert_eq!(status, 200);
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    let delete = f
        .arm(Method::DELETE, &f.extension_url("enablevmaccess"), None)
        .await;
    assert_eq!(delete.status(), 202);
    let location = header(&delete, "location").expect("Location").to_string();
    let (status, _) = f.poll(&location, |status, _| status == 202).await;
    assert_eq!(status, 204);
    assert!(f.vm().await.extensions.is_empty());
}

#[tokio::test]
async fn concurrent_different_put_conflicts_and_identical_put_joins() {
    let f = support::seeded().await;
    let slower = ConfigChange {
        operation_delay_ms: Some(500),
        ..ConfigChange::default()
    };
    f.admin.set_config(&slower).await.expect("config changed");
    let first = f.put_rdp_reset(Some("a")).await;
    let first_op = first.headers().get("azure-asyncoperation").cloned();
    let same = f.put_rdp_reset(Some("a")).await;
    assert_eq!(same.status(), 201);
    let same_op = header(&same, "azure-asyncoperation")
        .map(|v| v.split('?').next().unwrap_or_default().to_string());
    assert_eq!(
        first_op.and_then(|v| v.to_str().ok().map(|v| v
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string())),
        same_op
    );
    let other = f.put_rdp_reset(Some("b")).await;
    expect_error(other, 409, "Conflict").await;
}

#[tokio::test]
async fn metadata_describes_the_emulated_cloud() {
    let f = support::start().await;
    let (_, body) = send(
        f.http
            .get(f.url("/metadata/endpoints?api-version=2022-09-01")),
    )
    .await;
    assert_eq!(
        body["resourceManager"],
        format!("{}/", f.emulator.endpoint())
    );
    assert_eq!(
        body["authentication"]["audiences"][0],
        "https://management.emulator.local/"
    );
}
