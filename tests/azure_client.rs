//! Integration tests of `terraform_provider_vm::azure` against the in-process emulator: real
//! HTTPS, real `azure_identity` tokens, no mocks.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use terraform_provider_vm::azure::Setting;
use terraform_provider_vm::azure::{
    ArmClient, AzureError, AzureSettings, ExtensionId, ExtensionPut, OpContext, OsType,
    PendingOperation, ProtectedSettings, VirtualMachine, VirtualMachineId,
};
use terraform_provider_vm::surface::diagnostics::general_diagnostic;
use tokio_util::sync::CancellationToken;
use vm_emulator::admin::ClientRegistration;
use vm_emulator::{AccountSeed, FaultAction, FaultSpec, LroStyle, PowerState, VmSeed};
use vm_test_support::azure_emulator::{AzureEmulator, LogCapture, ctx};
use vm_test_support::certificates::IssuedCertificate;

/// A VMAccessAgent body as `Set-AzVMAccessExtension` sends it.
fn put_body(location: &str, username: Option<&str>, password: Option<&str>) -> ExtensionPut {
    ExtensionPut {
        location: Some(location.to_owned()),
        publisher: VMACCESS.0.into(),
        extension_type: VMACCESS.1.into(),
        type_handler_version: "2.4".into(),
        auto_upgrade_minor_version: true,
        force_update_tag: uuid::Uuid::new_v4().to_string(),
        settings: username.map_or(json!({}), |u| json!({ "UserName": u })),
        protected_settings: ProtectedSettings::new(
            password.map_or(json!({}), |p| json!({ "Password": p })),
        ),
    }
}

const VMACCESS: (&str, &str) = ("Microsoft.Compute", "VMAccessAgent");

/// An emulator with one VM, and a client for it.
struct OneVm {
    emu: AzureEmulator,
    vm_id: VirtualMachineId,
    client: ArmClient,
}

/// Where most tests start: one running Windows VM `win01`.
async fn win01() -> OneVm {
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_windows_vm("win01").await;
    let client = emu.client();
    OneVm { emu, vm_id, client }
}

/// An emulator with the VM `name` seeded as `seed` (see the emulator's `VmSeed`), and a client.
async fn with_vm(name: &str, seed: VmSeed) -> OneVm {
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_vm(name, &seed).await;
    let client = emu.client();
    OneVm { emu, vm_id, client }
}

/// `win01` after one successful read (token and cloud metadata cached), with the next `times`
/// reads of the VM answered by the fault `action`.
async fn win01_with_faulted_reads(times: u32, action: FaultAction) -> OneVm {
    let fixture = win01().await;
    read_vm(&fixture.client, &fixture.vm_id)
        .await
        .expect("warm up");
    let fault = FaultSpec::new(action)
        .on("GET", "/virtualMachines/win01")
        .times(times);
    fixture.emu.add_fault(&fault).await;
    fixture
}

/// `win01` with a VMAccess run started that Azure takes a minute to finish.
async fn win01_with_a_minute_long_run(c: &OpContext) -> (OneVm, PendingOperation) {
    let fixture = win01().await;
    let slow = FaultSpec::new(FaultAction::SlowOperationMs(60_000)).on("PUT", "/extensions/");
    fixture.emu.add_fault(&slow).await;
    let ext = fixture.vm_id.extension("enablevmaccess");
    let op = begin_put(&fixture.client, &ext, None, None, c)
        .await
        .expect("PUT accepted");
    (fixture, op)
}

/// Whether the extension exists, read through the client.
async fn extension_exists(client: &ArmClient, ext: &ExtensionId, c: &OpContext) -> bool {
    client.get_extension(ext, c).await.expect("read").is_some()
}

/// The next extension PUT starts an operation that fails with this error.
fn fail_next_extension_put(code: &str, message: &str) -> FaultSpec {
    let action = FaultAction::FailOperation {
        code: code.into(),
        message: message.into(),
    };
    FaultSpec::new(action).on("PUT", "/extensions/")
}

/// Reads the VM with 30 s of budget.
async fn read_vm(client: &ArmClient, vm: &VirtualMachineId) -> Result<VirtualMachine, AzureError> {
    client.get_virtual_machine(vm, &ctx(30)).await
}

/// Starts a VMAccess run (`put_body` in westeurope) on `ext`.
async fn begin_put(
    client: &ArmClient,
    ext: &ExtensionId,
    username: Option<&str>,
    password: Option<&str>,
    c: &OpContext,
) -> Result<PendingOperation, AzureError> {
    client
        .begin_put_extension(ext, &put_body("westeurope", username, password), c)
        .await
}

#[tokio::test]
async fn custom_cloud_from_metadata_host_and_client_secret_token() {
    let OneVm { emu, vm_id, client } = win01().await;

    let vm = read_vm(&client, &vm_id).await.expect("VM read");
    assert_eq!(vm.name, "win01");
    assert_eq!(vm.os_type(), Some(OsType::Windows));
    assert_eq!(vm.power_state().as_deref(), Some("running"));
    assert!(vm.is_running());
    assert!(vm.agent().ready, "{:?}", vm.agent());
    assert_eq!(client.subscription_id(), emu.subscription_id());

    assert_eq!(emu.count_requests("GET", "/metadata/endpoints").await, 1);
    assert_eq!(emu.count_requests("POST", "/oauth2/v2.0/token").await, 1);
    let vm_reads = emu.requests_ending_with("/virtualMachines/win01").await;
    assert_eq!(vm_reads.len(), 1);
    assert!(vm_reads[0].authorized);
    let query = vm_reads[0].query.as_deref().unwrap_or_default();
    assert!(
        query.contains("api-version=2025-04-01") && query.contains("instanceView"),
        "{query}"
    );
}

#[tokio::test]
async fn concurrent_operations_share_one_token_and_one_metadata_read() {
    let OneVm { emu, vm_id, client } = win01().await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (c, id) = (client.clone(), vm_id.clone());
        tasks.push(tokio::spawn(async move { read_vm(&c, &id).await }));
    }
    for t in tasks {
        t.await.expect("join").expect("VM read");
    }
    assert_eq!(emu.count_requests("POST", "/oauth2/v2.0/token").await, 1);
    assert_eq!(emu.count_requests("GET", "/metadata/endpoints").await, 1);
}

#[tokio::test]
async fn expired_token_is_dropped_and_the_request_retried_with_a_new_one() {
    let OneVm { emu, vm_id, client } = win01().await;
    read_vm(&client, &vm_id).await.expect("first read");
    emu.expire_tokens().await;
    read_vm(&client, &vm_id).await.expect("read after expiry");
    assert_eq!(emu.count_requests("POST", "/oauth2/v2.0/token").await, 2);
    let statuses: Vec<_> = emu
        .requests_ending_with("/virtualMachines/win01")
        .await
        .iter()
        .map(|r| r.status.unwrap_or(0))
        .collect();
    assert_eq!(statuses, vec![200, 401, 200]);
}

#[tokio::test]
async fn oidc_via_github_actions_token_request() {
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_windows_vm("win01").await;
    let settings = AzureSettings {
        client_secret: None,
        use_oidc: true,
        oidc_request_url: Some(format!(
            "{}/_emulator/oidc/github?api-version=2.0",
            emu.endpoint()
        )),
        oidc_request_token: Some(SecretString::from(
            vm_emulator::DEFAULT_GITHUB_REQUEST_TOKEN,
        )),
        ..emu.settings()
    };
    let client = emu.client_for(settings);
    read_vm(&client, &vm_id).await.expect("VM read with OIDC");
    // One token exchange, made with the federated assertion from the GitHub endpoint.
    assert_eq!(emu.count_requests("POST", "/oauth2/v2.0/token").await, 1);
}

#[tokio::test]
async fn oidc_with_a_token_file() {
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_windows_vm("win01").await;
    // A federated token as a workload-identity platform would write it to a file.
    let jwt = emu.federated_token().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{jwt}\n")).expect("write");
    let settings = AzureSettings {
        client_secret: None,
        use_oidc: true,
        oidc_token_file_path: Some(path),
        ..emu.settings()
    };
    read_vm(&emu.client_for(settings), &vm_id)
        .await
        .expect("VM read with a token file");
}

#[tokio::test]
async fn put_through_azure_async_operation_resets_the_password() {
    let OneVm { emu, vm_id, client } = win01().await;
    let ext_id = vm_id.extension("enablevmaccess");
    let c = ctx(60);
    let vm = client.get_virtual_machine(&vm_id, &c).await.expect("VM");
    assert_eq!(vm.extension_name_of(VMACCESS.0, VMACCESS.1), None);

    let started = Instant::now();
    let op = client
        .begin_put_extension(
            &ext_id,
            &put_body(&vm.location, Some("azureadmin"), Some("N3w-Passw0rd!x")),
            &c,
        )
        .await
        .expect("PUT accepted");
    assert!(op.uses_async_operation_header());
    assert!(!op.is_done());
    client.wait(op, &c).await.expect("operation succeeds");
    // Retry-After: 1 from the emulator is the floor of the poll interval.
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(started.elapsed() < Duration::from_secs(10));

    assert!(emu.login(&vm_id, "azureadmin", "N3w-Passw0rd!x").await);
    assert!(!emu.login(&vm_id, "azureadmin", "Initial-Passw0rd!").await);

    let ext = client
        .get_extension(&ext_id, &c)
        .await
        .expect("read")
        .expect("exists");
    assert!(ext.is_of(VMACCESS.0, VMACCESS.1));
    assert_eq!(ext.settings["UserName"], "azureadmin");
    assert_eq!(ext.provisioning_state, "Succeeded");
    let vm = client.get_virtual_machine(&vm_id, &c).await.expect("VM");
    assert_eq!(
        vm.extension_name_of(VMACCESS.0, VMACCESS.1).as_deref(),
        Some("enablevmaccess")
    );
}

#[tokio::test]
async fn put_and_delete_through_location_only() {
    let emu = AzureEmulator::start().await;
    emu.set_lro_style(LroStyle::LocationOnly).await;
    let vm_id = emu.seed_windows_vm("win01").await;
    let client = emu.client();
    let ext_id = vm_id.extension("enablevmaccess");
    let c = ctx(60);

    let op = begin_put(&client, &ext_id, None, None, &c)
        .await
        .expect("PUT accepted");
    assert!(!op.uses_async_operation_header() && !op.is_done());
    client.wait(op, &c).await.expect("PUT finishes");
    assert!(extension_exists(&client, &ext_id, &c).await);

    let op = client
        .begin_delete_extension(&ext_id, &c)
        .await
        .expect("DELETE accepted")
        .expect("extension existed");
    client.wait(op, &c).await.expect("DELETE finishes");
    assert!(!extension_exists(&client, &ext_id, &c).await);
    assert!(
        client
            .begin_delete_extension(&ext_id, &c)
            .await
            .expect("DELETE")
            .is_none()
    );
    assert!(emu.count_requests("GET", "/operations/").await >= 2);
}

#[tokio::test]
async fn failed_operation_carries_the_extension_message() {
    let OneVm { vm_id, client, .. } = &with_vm(
        "dc01",
        VmSeed {
            domain_controller: true,
            ..VmSeed::windows([AccountSeed::new("azureadmin", "Initial-Passw0rd!")])
        },
    )
    .await;
    let ext_id = vm_id.extension("enablevmaccess");
    let c = ctx(60);
    let op = begin_put(
        client,
        &ext_id,
        Some("azureadmin"),
        Some("N3w-Passw0rd!x"),
        &c,
    )
    .await
    .expect("PUT accepted");
    let err = client.wait(op, &c).await.expect_err("operation fails");
    let text = err.to_string();
    match &err {
        AzureError::ExtensionFailed { statuses, .. } => {
            assert!(
                statuses.iter().any(|s| s.contains("Domain Controller")),
                "{statuses:?}"
            );
        }
        other => panic!("expected ExtensionFailed, got {other:?}"),
    }
    assert!(text.contains("Domain Controller"), "{text}");
    assert!(!text.contains("N3w-Passw0rd!x"));
}

#[tokio::test]
async fn failed_location_operation_is_reported_as_failed() {
    let emu = AzureEmulator::start().await;
    emu.set_lro_style(LroStyle::LocationOnly).await;
    let vm_id = emu.seed_windows_vm("win01").await;
    emu.add_fault(&fail_next_extension_put(
        "VMAgentStatusCommunicationError",
        "VM 'win01' has not reported status for VM agent or extensions.",
    ))
    .await;
    let client = emu.client();
    let c = ctx(60);
    let op = begin_put(&client, &vm_id.extension("enablevmaccess"), None, None, &c)
        .await
        .expect("PUT accepted");
    match client.wait(op, &c).await {
        Err(AzureError::ExtensionFailed { code, message, .. }) => {
            assert_eq!(code, "VMAgentStatusCommunicationError");
            assert!(message.contains("has not reported status"));
        }
        other => panic!("expected ExtensionFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn stopped_vm_is_vm_not_running_without_retries() {
    let OneVm { emu, vm_id, client } = &with_vm(
        "off01",
        VmSeed {
            power_state: PowerState::Deallocated,
            ..VmSeed::default()
        },
    )
    .await;
    let c = ctx(30);
    let vm = client.get_virtual_machine(vm_id, &c).await.expect("VM");
    assert_eq!(vm.power_state().as_deref(), Some("deallocated"));
    let err = begin_put(client, &vm_id.extension("enablevmaccess"), None, None, &c)
        .await
        .expect_err("refused");
    assert!(matches!(err, AzureError::VmNotRunning { .. }), "{err:?}");
    assert!(err.to_string().contains("not running"));
    assert_eq!(
        emu.count_requests("PUT", "/extensions/enablevmaccess")
            .await,
        1
    );
}

#[tokio::test]
async fn second_vmaccess_under_another_name_keeps_codes() {
    let f = win01().await;
    let c = ctx(60);
    let op = begin_put(&f.client, &f.vm_id.extension("first"), None, None, &c)
        .await
        .expect("PUT");
    f.client.wait(op, &c).await.expect("first succeeds");
    let err = begin_put(&f.client, &f.vm_id.extension("second"), None, None, &c)
        .await
        .expect_err("second is refused");
    match err {
        AzureError::Api {
            status, inner_code, ..
        } => {
            assert_eq!(status, 400);
            assert_eq!(
                inner_code.as_deref(),
                Some("MultipleExtensionsPerHandlerNotAllowed")
            );
        }
        other => panic!("expected Api, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_vm_and_extension() {
    let OneVm { emu, vm_id, client } = win01().await;
    let c = ctx(30);
    assert!(!extension_exists(&client, &vm_id.extension("nope"), &c).await);
    let ghost = VirtualMachineId::new(emu.subscription_id(), "rg-test", "ghost");
    assert!(!extension_exists(&client, &ghost.extension("x"), &c).await);
    let err = client
        .get_virtual_machine(&ghost, &c)
        .await
        .expect_err("404");
    assert!(matches!(err, AzureError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn throttled_request_honours_retry_after() {
    let f = win01_with_faulted_reads(1, FaultAction::status_retry_after(429, "1")).await;
    let started = Instant::now();
    read_vm(&f.client, &f.vm_id)
        .await
        .expect("read after throttling");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn throttling_past_the_deadline_fails_at_once_with_the_requested_wait() {
    let f = win01_with_faulted_reads(1, FaultAction::status_retry_after(429, "1200")).await;
    let started = Instant::now();
    let err = f
        .client
        .get_virtual_machine(&f.vm_id, &ctx(20))
        .await
        .expect_err("throttled");
    assert!(started.elapsed() < Duration::from_secs(2));
    match &err {
        AzureError::Throttled {
            retry_after,
            message,
        } => {
            assert_eq!(*retry_after, Duration::from_secs(1200));
            assert!(message.contains("OperationNotAllowed"), "{message}");
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert!(err.to_string().contains("1200s"), "{err}");
}

#[tokio::test]
async fn server_errors_then_success() {
    let OneVm { emu, vm_id, client } = win01_with_faulted_reads(2, FaultAction::status(503)).await;
    read_vm(&client, &vm_id).await.expect("read after 503s");
    assert_eq!(emu.count_requests("GET", "/virtualMachines/win01").await, 4);
}

#[tokio::test]
async fn persistent_bad_request_is_not_retried() {
    let OneVm { emu, vm_id, client } = win01_with_faulted_reads(3, FaultAction::status(400)).await;
    let err = read_vm(&client, &vm_id).await.expect_err("400");
    assert!(
        matches!(err, AzureError::Api { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(emu.count_requests("GET", "/virtualMachines/win01").await, 2);
}

#[tokio::test]
async fn dropped_connection_then_success() {
    let f = win01_with_faulted_reads(1, FaultAction::DropConnection).await;
    read_vm(&f.client, &f.vm_id)
        .await
        .expect("read after a dropped connection");
}

#[tokio::test]
async fn conflict_then_success() {
    let OneVm { emu, vm_id, client } = win01().await;
    let c = ctx(60);
    emu.add_fault(
        &FaultSpec::new(FaultAction::status(409)).on("PUT", "/extensions/enablevmaccess"),
    )
    .await;
    let op = begin_put(&client, &vm_id.extension("enablevmaccess"), None, None, &c)
        .await
        .expect("PUT after a 409");
    client.wait(op, &c).await.expect("succeeds");
    assert_eq!(
        emu.count_requests("PUT", "/extensions/enablevmaccess")
            .await,
        2
    );
}

#[tokio::test]
async fn deadline_expires_promptly_while_polling() {
    let c = OpContext::new(Duration::from_secs(3), CancellationToken::new());
    let (f, op) = win01_with_a_minute_long_run(&c).await;
    let started = Instant::now();
    let err = f.client.wait(op, &c).await.expect_err("times out");
    assert!(
        matches!(err, AzureError::DeadlineExceeded { .. }),
        "{err:?}"
    );
    assert!(c.remaining().is_zero());
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(
        err.to_string().contains("Azure may still be processing"),
        "{err}"
    );
}

#[tokio::test]
async fn cancellation_stops_polling_promptly() {
    let cancel = CancellationToken::new();
    let c = OpContext::new(Duration::from_secs(120), cancel.clone());
    let (f, op) = win01_with_a_minute_long_run(&c).await;
    // Cancelled once the client is polling the operation.
    let canceller = async {
        f.emu.wait_for_request("GET", "/operations/").await;
        cancel.cancel();
        Instant::now()
    };
    let waiter = async {
        let result = f.client.wait(op, &c).await;
        (result, Instant::now())
    };
    let (cancelled_at, (result, stopped)) = tokio::join!(canceller, waiter);
    let err = result.expect_err("cancelled");
    assert!(matches!(err, AzureError::Cancelled { .. }), "{err:?}");
    assert!(stopped.duration_since(cancelled_at) < Duration::from_millis(500));
}

#[tokio::test]
async fn missing_settings_are_clear_configuration_errors() {
    let err = ArmClient::new(AzureSettings::default()).expect_err("no subscription");
    assert!(
        matches!(
            err,
            AzureError::Configuration {
                setting: Setting::SubscriptionId,
                ..
            }
        ),
        "{err:?}"
    );
    // The provider's boundary names the attribute and its environment variable.
    let text = general_diagnostic(&err, "configuring").detail;
    assert!(
        text.contains("subscription_id") && text.contains("ARM_SUBSCRIPTION_ID"),
        "{text}"
    );

    let err = ArmClient::new(AzureSettings {
        subscription_id: Some("sub".into()),
        client_id: Some("client".into()),
        client_secret: Some(SecretString::from("shh-its-a-secret")),
        ..AzureSettings::default()
    })
    .expect_err("no tenant");
    let text = general_diagnostic(&err, "configuring").detail;
    assert!(text.contains("ARM_TENANT_ID"), "{text}");
    assert!(!text.contains("shh-its-a-secret"));

    let err = ArmClient::new(AzureSettings {
        subscription_id: Some("sub".into()),
        use_cli: false,
        ..AzureSettings::default()
    })
    .expect_err("no auth method");
    assert!(matches!(err, AzureError::Configuration { .. }), "{err:?}");
}

#[tokio::test]
async fn wrong_client_secret_is_an_authentication_error_without_the_secret() {
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_windows_vm("win01").await;
    let settings = AzureSettings {
        client_secret: Some(SecretString::from("definitely-wrong-secret-value")),
        ..emu.settings()
    };
    let err = read_vm(&emu.client_for(settings), &vm_id)
        .await
        .expect_err("bad secret");
    let text = err.to_string();
    assert!(matches!(err, AzureError::Authentication { .. }), "{err:?}");
    assert!(
        text.contains("AADSTS7000215") || text.contains("Invalid client secret"),
        "{text}"
    );
    assert!(!text.contains("definitely-wrong-secret-value"), "{text}");
}

#[tokio::test]
async fn untrusted_certificate_fails_fast_naming_ssl_cert_file() {
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_windows_vm("win01").await;
    // No extra root: the emulator's CA is unknown to the platform store.
    let client = ArmClient::new(emu.settings()).expect("client");
    let started = Instant::now();
    let err = client
        .get_virtual_machine(&vm_id, &ctx(60))
        .await
        .expect_err("untrusted");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, AzureError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
}

#[tokio::test]
async fn no_secret_reaches_trace_logs_or_error_messages() {
    let capture = LogCapture::default();
    let _guard = capture.install();
    let OneVm { emu, vm_id, client } = win01().await;
    let c = ctx(60);
    let password = "Pr0tected-Passw0rd-xyz!";
    let ext_id = vm_id.extension("enablevmaccess");

    let op = begin_put(&client, &ext_id, Some("azureadmin"), Some(password), &c)
        .await
        .expect("PUT");
    client.wait(op, &c).await.expect("done");
    emu.expire_tokens().await;
    client
        .get_extension(&ext_id, &c)
        .await
        .expect("read with a refreshed token");

    // Errors, including a failed authentication and a failed operation.
    let bad = emu.client_for(AzureSettings {
        client_secret: Some(SecretString::from("wrong-secret-abcdef")),
        ..emu.settings()
    });
    let auth_err = bad
        .get_virtual_machine(&vm_id, &c)
        .await
        .expect_err("bad secret");
    emu.add_fault(&fail_next_extension_put(
        "VMExtensionProvisioningError",
        "in-guest failure",
    ))
    .await;
    let op = begin_put(&client, &ext_id, Some("azureadmin"), Some(password), &c)
        .await
        .expect("PUT");
    let op_err = client.wait(op, &c).await.expect_err("fails");

    let logs = capture.text();
    assert!(logs.contains("sending request"), "tracing was not captured");
    assert!(
        logs.contains("REDACTED"),
        "protectedSettings should appear redacted in the trace body"
    );
    let errors = format!("{auth_err} {auth_err:?} {op_err} {op_err:?} {client:?}");
    for (what, secret) in [
        ("client secret", emu.client_secret()),
        ("wrong client secret", "wrong-secret-abcdef"),
        ("password", password),
        // Every emulator access token is a JWT starting with `{"typ":"JWT"`.
        ("access token prefix", "eyJ0eXAiOiJKV1Qi"),
        ("bearer header", "Bearer eyJ"),
    ] {
        assert!(!logs.contains(secret), "{what} found in the trace logs");
        assert!(!errors.contains(secret), "{what} found in an error message");
    }
}

/// A PKCS#12 file with a fresh RSA key and self-signed certificate, as
/// `az ad sp create-for-rbac --create-cert` would give; returns the
/// certificate's PEM (to register with the emulator) and the file path.
fn pfx_file(dir: &std::path::Path, password: &str) -> (String, std::path::PathBuf) {
    use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
    let key = PKey::from_rsa(Rsa::generate(2048).expect("RSA key")).expect("key");
    let mut name = x509::X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "terraform-provider-vm test principal")
        .expect("CN");
    let name = name.build();
    let mut cert = x509::X509Builder::new().expect("builder");
    cert.set_version(2).expect("version");
    cert.set_subject_name(&name).expect("subject");
    cert.set_issuer_name(&name).expect("issuer");
    cert.set_pubkey(&key).expect("pubkey");
    cert.set_not_before(&Asn1Time::days_from_now(0).expect("now"))
        .expect("not before");
    cert.set_not_after(&Asn1Time::days_from_now(30).expect("later"))
        .expect("not after");
    cert.sign(&key, MessageDigest::sha256()).expect("sign");
    let cert = cert.build();
    let pfx = openssl::pkcs12::Pkcs12::builder()
        .name("principal")
        .pkey(&key)
        .cert(&cert)
        .build2(password)
        .expect("PKCS#12");
    let path = dir.join("principal.pfx");
    std::fs::write(&path, pfx.to_der().expect("DER")).expect("write PFX");
    let pem = String::from_utf8(cert.to_pem().expect("PEM")).expect("UTF-8 PEM");
    (pem, path)
}

#[tokio::test]
async fn client_certificate_from_a_pfx_file_authenticates() {
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_windows_vm("win01").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (registered_pem, pfx) = pfx_file(dir.path(), "pfx-Passw0rd");
    let client_id = "00000000-0000-0000-0000-0000000000c1";
    let registration = ClientRegistration {
        client_id: client_id.into(),
        client_secret: None,
        certificate_pem: Some(registered_pem),
        trusted_subject: None,
    };
    emu.admin
        .register_client(&registration)
        .await
        .expect("register the certificate");
    let settings = AzureSettings {
        client_id: Some(client_id.to_string()),
        client_secret: None,
        client_certificate_path: Some(pfx.clone()),
        client_certificate_password: Some(SecretString::from("pfx-Passw0rd")),
        ..emu.settings()
    };
    let vm = read_vm(&emu.client_for(settings.clone()), &vm_id)
        .await
        .expect("the certificate's assertion is accepted");
    assert_eq!(vm.name, "win01");
    let token_posts = emu.requests_ending_with("/oauth2/v2.0/token").await.len();
    assert_eq!(token_posts, 1);

    // A certificate the tenant does not know is refused by Entra.
    let stranger_dir = tempfile::tempdir().expect("temp dir");
    let (_, stranger) = pfx_file(stranger_dir.path(), "pfx-Passw0rd");
    let err = emu
        .client_for(AzureSettings {
            client_certificate_path: Some(stranger),
            ..settings.clone()
        })
        .get_virtual_machine(&vm_id, &ctx(30))
        .await
        .expect_err("an unregistered certificate is refused");
    assert!(matches!(err, AzureError::Authentication { .. }), "{err:?}");

    // A wrong PFX password is a configuration error naming the setting.
    let err = emu
        .client_for(AzureSettings {
            client_certificate_password: Some(SecretString::from("wrong")),
            ..settings
        })
        .get_virtual_machine(&vm_id, &ctx(30))
        .await
        .expect_err("a wrong PFX password is refused");
    let text = general_diagnostic(&err, "configuring").detail;
    assert!(text.contains("client_certificate_path"), "{text}");
    assert!(!text.contains("pfx-Passw0rd"), "{text}");
}

/// An application that trusts its certificate by subject name and issuer (Entra's "SNI") has no
/// certificate registered: the assertion must bring the chain. With the chain switch on, the PFX's
/// certificate and CA go along in `x5c` and the token is issued; with it off, Entra's
/// AADSTS700027 comes back and the diagnostic names the switch. No secret reaches the logs or
/// the errors either way.
#[tokio::test]
async fn certificate_chain_switch_authenticates_a_subject_name_issuer_application() {
    let capture = LogCapture::default();
    let _guard = capture.install();
    let emu = AzureEmulator::start().await;
    let vm_id = emu.seed_windows_vm("win01").await;
    let password = "sni-Pfx-Passw0rd";
    let cert = IssuedCertificate::new(password);
    let client_id = "00000000-0000-0000-0000-0000000005c1";
    emu.admin
        .register_client(&cert.sni_registration(client_id))
        .await
        .expect("register the trusted subject");
    let settings = AzureSettings {
        client_id: Some(client_id.to_string()),
        client_secret: None,
        client_certificate_path: Some(cert.pfx_path.clone()),
        client_certificate_password: Some(SecretString::from(password)),
        client_send_certificate_chain: true,
        ..emu.settings()
    };
    let vm = read_vm(&emu.client_for(settings.clone()), &vm_id)
        .await
        .expect("the assertion with its chain is accepted");
    assert_eq!(vm.name, "win01");

    let err = read_vm(
        &emu.client_for(AzureSettings {
            client_send_certificate_chain: false,
            ..settings
        }),
        &vm_id,
    )
    .await
    .expect_err("without the chain the application knows no key");
    assert!(
        matches!(
            err,
            AzureError::Authentication {
                hint: Some(Setting::ClientSendCertificateChain),
                ..
            }
        ),
        "{err:?}"
    );
    let diagnostic = general_diagnostic(&err, "reading VM win01");
    let text = diagnostic.detail;
    for must in [
        "AADSTS700027",
        "subject name and issuer",
        "`client_send_certificate_chain`",
        "ARM_CLIENT_SEND_CERTIFICATE_CHAIN or AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    ] {
        assert!(text.contains(must), "{must:?} missing from: {text}");
    }

    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.encode(&cert.key_der);
    let logs = capture.text();
    assert!(logs.contains("REDACTED"), "the token requests were traced");
    for (what, secret) in [("PFX password", password), ("private key", &key[..64])] {
        assert!(!logs.contains(secret), "{what} found in the trace logs");
        assert!(!text.contains(secret), "{what} found in the diagnostic");
        assert!(!format!("{err:?}").contains(secret), "{what} in the error");
    }
}
