//! The typed admin client against a real emulator: each operation round-trips, and a refused
//! call is an error naming the call and the emulator's message, not a panic.

use vm_emulator::admin::{AdminError, ConfigChange, ExtensionPatch, ExtensionSeed, VmRef};
use vm_emulator::{FaultAction, FaultSpec, LroStyle, PowerState, VmPatch, VmSeed};
use vm_emulator_test_support as support;

#[tokio::test]
async fn vms_and_extensions_round_trip() {
    let f = support::start().await;
    let vm = f.vm_ref();
    let seeded = f.seed_vm(VmSeed::locked_out()).await;
    assert_eq!(seeded.name, support::VM);
    let account = seeded
        .account(vm_emulator::LOCKED_OUT_USER)
        .expect("seeded");
    assert!(!account.enabled && account.administrator);
    let refused = f
        .login(
            vm_emulator::LOCKED_OUT_USER,
            vm_emulator::LOCKED_OUT_PASSWORD,
        )
        .await;
    assert_eq!(refused.reason.as_deref(), Some("the account is disabled"));

    let stopped = VmPatch {
        power_state: Some(PowerState::Stopped),
        ..VmPatch::default()
    };
    let view = f.admin.patch_vm(&vm, &stopped).await.expect("patched");
    assert_eq!(view.power_state, PowerState::Stopped);
    assert_eq!(f.admin.vms().await.expect("listed").len(), 1);

    let added = f
        .admin
        .put_extension(&vm, "enablevmaccess", &ExtensionSeed::default())
        .await
        .expect("extension put");
    assert_eq!(
        (
            added.extension_type.as_str(),
            added.provisioning_state.as_str()
        ),
        ("VMAccessAgent", "Succeeded")
    );
    let failed = ExtensionPatch {
        provisioning_state: Some("Failed".into()),
        status_message: Some("policy".into()),
        ..ExtensionPatch::default()
    };
    let patched = f
        .admin
        .patch_extension(&vm, "enablevmaccess", &failed)
        .await
        .expect("extension patched");
    assert_eq!(patched.provisioning_state, "Failed");
    assert_eq!(patched.status_message.as_deref(), Some("policy"));
    f.admin
        .delete_extension(&vm, "enablevmaccess")
        .await
        .expect("extension deleted");
    assert!(f.vm().await.extensions.is_empty());

    f.admin.delete_vm(&vm).await.expect("VM deleted");
    assert!(f.admin.vms().await.expect("listed").is_empty());
}

#[tokio::test]
async fn faults_settings_and_the_request_log_round_trip() {
    let f = support::seeded().await;
    let fault = FaultSpec::new(FaultAction::status(503))
        .on("GET", "/virtualMachines/")
        .times(2);
    let id = f.admin.add_fault(&fault).await.expect("armed");
    let armed = f.admin.faults().await.expect("listed");
    assert_eq!(armed.len(), 1);
    assert_eq!(
        (armed[0].id.as_str(), armed[0].remaining),
        (id.as_str(), Some(2))
    );
    f.admin.clear_faults().await.expect("cleared");
    assert!(f.admin.faults().await.expect("listed").is_empty());

    let change = ConfigChange {
        operation_delay_ms: Some(75),
        lro_style: Some(LroStyle::LocationOnly),
        ..ConfigChange::default()
    };
    let config = f.admin.set_config(&change).await.expect("changed");
    assert_eq!(config.operation_delay_ms, 75);
    let read = f.admin.config().await.expect("read");
    assert_eq!(read.lro_style, LroStyle::LocationOnly);
    assert!(!read.throttling.enabled);
    assert_eq!(
        f.admin.listing().await.expect("listing").page_size,
        vm_emulator::DEFAULT_LIST_PAGE_SIZE
    );

    f.admin.clear_requests().await.expect("log cleared");
    let (status, _) = f.get(&format!("{}?{}", f.vm_path(), support::API)).await;
    assert_eq!(status, 200);
    assert_eq!(
        f.admin
            .count_requests("GET", "/virtualMachines/")
            .await
            .expect("log"),
        1
    );
    let log = f.admin.requests().await.expect("log");
    assert_eq!((log[0].status, log[0].authorized), (Some(200), true));
}

#[tokio::test]
async fn refusals_are_errors_naming_the_call_and_the_reason() {
    let f = support::start().await;
    let missing = VmRef::new(f.sub(), "rg-none", "vm/with a slash");
    let err = f.admin.vm(&missing).await.expect_err("no such VM");
    match &err {
        AdminError::Refused { status, .. } => assert_eq!(*status, 404),
        other => panic!("expected Refused, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("GET /_emulator/vms/") && text.contains("vm%2Fwith%20a%20slash"),
        "the call, with the name escaped as one segment: {text}"
    );
    assert!(text.contains("no VM"), "the emulator's message: {text}");

    let zero = vm_emulator::admin::ListingChange {
        page_size: Some(0),
        ..Default::default()
    };
    let err = f.admin.set_listing(&zero).await.expect_err("refused");
    assert!(
        err.to_string().contains("page_size must be at least 1"),
        "{err}"
    );

    let err = vm_emulator::admin::AdminClient::new("not a URL", f.emulator.ca_pem())
        .expect_err("invalid endpoint");
    assert!(matches!(err, AdminError::Endpoint { .. }), "{err:?}");
}
