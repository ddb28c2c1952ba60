//! Fleet discovery through the real `ArmClient` against the in-process emulator: real HTTPS, real
//! tokens, ARM paging and the emulator's throttle model. No fakes.

use vm_test_support::fleet;

use std::sync::Arc;

use futures_util::StreamExt;
use terraform_provider_vm::azure::OsType;
use terraform_provider_vm::vmaccess::discovery::{
    DiscoveredVm, DiscoveryError, DiscoveryMode, DiscoveryRequest, FleetReader, discover,
};
use tokio_util::sync::CancellationToken;
use vm_emulator::ThrottleSettings;
use vm_test_support::azure_emulator::AzureEmulator;

async fn seeded(
    groups: usize,
    per_group: usize,
    page_size: usize,
) -> (AzureEmulator, fleet::Fleet) {
    let emu = AzureEmulator::start().await;
    let fleet = fleet::seeded_fleet(&emu, groups, per_group, page_size).await;
    (emu, fleet)
}

async fn collect(
    emu: &AzureEmulator,
    request: DiscoveryRequest,
) -> Vec<Result<DiscoveredVm, DiscoveryError>> {
    let reader: Arc<dyn FleetReader> = Arc::new(emu.client());
    discover(reader, request, &CancellationToken::new())
        .expect("valid request")
        .collect()
        .await
}

fn found(items: &[Result<DiscoveredVm, DiscoveryError>]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|i| {
            let vm = i.as_ref().expect("no error reaches the caller");
            (vm.id.resource_group().to_owned(), vm.id.name().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn pages_are_crossed_and_filters_applied() {
    let (emu, fleet) = seeded(3, 12, 5).await;
    let sub = emu.subscription_id().to_owned();

    let items = collect(&emu, DiscoveryRequest::new(&sub)).await;
    assert_eq!(found(&items), fleet.with_vmaccess);
    let pages = emu.requests_ending_with("/virtualMachines").await.len();
    assert_eq!(pages, 36 / 5 + 1, "36 VMs, 5 a page");
    let extension_lists = emu.count_requests("GET", "/extensions").await;
    assert_eq!(
        extension_lists,
        fleet.windows + fleet.linux,
        "both OSes are searched by default"
    );
    let failed = items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .filter(|vm| {
            vm.vmaccess
                .as_ref()
                .is_some_and(|v| v.provisioning_state == "Failed")
        })
        .count();
    assert!(failed > 0, "Failed extensions are listed too");

    let mut request = DiscoveryRequest::new(&sub);
    request.resource_groups = vec!["RG-01".into()];
    request.name_filters = vec!["VM-00?".into()];
    request.mode = DiscoveryMode::All;
    request.os = Some(OsType::Windows);
    let items = collect(&emu, request).await;
    let expected: Vec<(String, String)> = [
        "vm-000", "vm-001", "vm-002", "vm-004", "vm-005", "vm-006", "vm-008", "vm-009",
    ]
    .iter()
    .map(|n| ("rg-01".to_owned(), (*n).to_owned()))
    .collect();
    assert_eq!(found(&items), expected);

    let mut request = DiscoveryRequest::new(&sub);
    request.limit = Some(4);
    let before = emu.count_requests("GET", "/extensions").await;
    let items = collect(&emu, request).await;
    assert_eq!(found(&items), fleet.with_vmaccess[..4]);
    let read = emu.count_requests("GET", "/extensions").await - before;
    assert!(read <= 6, "a limit of 4 read {read} extension lists");
}

#[tokio::test]
async fn an_unreadable_subscription_is_an_error_not_an_empty_list() {
    let (emu, _) = seeded(1, 2, 5).await;
    let items = collect(
        &emu,
        DiscoveryRequest::new("11111111-1111-1111-1111-111111111111"),
    )
    .await;
    assert_eq!(items.len(), 1);
    let error = items[0].as_ref().expect_err("an error").to_string();
    assert!(
        error.contains("11111111-1111-1111-1111-111111111111")
            && error.contains("SubscriptionNotFound"),
        "{error}"
    );
}

/// 1,000 VMs in 10 resource groups under ARM's real read budget (bucket 250, 25 per second)
/// and Compute's: every VMAccess VM is found, no 429 reaches the caller and hardly any is sent.
/// Wall time and request counts are printed by `scripts/bench-listing.sh`, not asserted here.
#[tokio::test]
async fn a_thousand_vms_list_without_a_429_reaching_the_caller() {
    let (emu, fleet) = seeded(10, 100, 50).await;
    emu.throttle(ThrottleSettings::default()).await;
    let items = collect(&emu, DiscoveryRequest::new(emu.subscription_id())).await;
    assert_eq!(found(&items).len(), fleet.with_vmaccess.len());
    assert_eq!(found(&items), fleet.with_vmaccess);
    // The reads wait for the subscription's read budget instead of running into it: before they
    // were paced, 8 extension reads in flight drew about 150 429s here.
    let throttled = emu
        .requests()
        .await
        .iter()
        .filter(|r| r.status == Some(429))
        .count();
    assert!(throttled <= 20, "{throttled} reads were answered 429");
}

/// Uniform instances through the real client: the subscription's scale-set list, each uniform
/// set's instances across pages, each instance's extensions; a flexible set's VMs listed once
/// (as VMs), with or without the option.
#[tokio::test]
async fn uniform_instances_are_listed_across_pages_and_flexible_vms_once() {
    use vm_emulator::VmSeed;
    use vm_emulator::admin::{ExtensionSeed, ScaleSetRef, ScaleSetSeed};

    let emu = AzureEmulator::start().await;
    emu.set_list_page_size(2).await;
    let sub = emu.subscription_id().to_owned();
    let seed = |rg: &str, name: &str, seed: ScaleSetSeed| {
        let at = ScaleSetRef::new(&sub, rg, name);
        let admin = &emu.admin;
        async move { admin.seed_scale_set(&at, &seed).await.expect("seeded") }
    };
    // Every instance carries the model's VMAccessAgent, already applied.
    let vmaccess = ExtensionSeed {
        settings: Some(serde_json::json!({"UserName": "ops"})),
        ..ExtensionSeed::default()
    };
    seed(
        "rg-a",
        "uni",
        ScaleSetSeed::uniform(5, VmSeed::locked_out()).model_extension(vmaccess.clone()),
    )
    .await;
    let flexible = seed(
        "rg-b",
        "flex",
        ScaleSetSeed::flexible(3, VmSeed::locked_out()).model_extension(vmaccess),
    )
    .await;
    let mut flexible_vms: Vec<(String, String)> = flexible
        .instances
        .iter()
        .map(|i| ("rg-b".to_owned(), i.name.clone()))
        .collect();
    flexible_vms.sort();

    let plain = found(&collect(&emu, DiscoveryRequest::new(&sub)).await);
    let mut sorted = plain.clone();
    sorted.sort();
    assert_eq!(
        sorted, flexible_vms,
        "without the option: the flexible VMs only"
    );

    let mut request = DiscoveryRequest::new(&sub);
    request.include_scale_set_instances = true;
    let items = collect(&emu, request).await;
    let listed = found(&items);
    let instances: Vec<(String, String)> =
        (0..5).map(|i| ("rg-a".to_owned(), i.to_string())).collect();
    assert_eq!(listed[..3].to_vec(), plain, "the VMs first");
    assert_eq!(
        listed[3..].to_vec(),
        instances,
        "then the uniform instances, in order"
    );
    for item in &items[3..] {
        let vm = item.as_ref().expect("ok");
        assert_eq!(
            vm.id.scale_set().map(|s| s.name().to_owned()),
            Some("uni".into())
        );
        let ext = vm.vmaccess.as_ref().expect("the model's VMAccessAgent");
        assert_eq!(ext.provisioning_state, "Succeeded");
    }
    assert_eq!(
        emu.requests_ending_with("/virtualMachineScaleSets/uni/virtualMachines")
            .await
            .len(),
        3,
        "5 instances at 2 a page"
    );
    assert_eq!(
        emu.requests_ending_with("/virtualMachineScaleSets/flex/virtualMachines")
            .await
            .len(),
        0,
        "a flexible set's instances are its VMs, already listed"
    );
}
