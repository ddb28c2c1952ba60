//! VM and extension listing: paging with `nextLink`, list shapes, the fleet seed, and the read
//! budgets (ARM's subscription reads, Compute's HighCostGet and LowCostGet) with their headers.

use reqwest::Method;
use serde_json::{Value, json};
use support::{API, Fixture, expect_error, header_values, item_fields, item_named, items, start};
use vm_emulator::admin::{ExtensionSeed, Fleet, FleetVm, ListingChange, VmRef};
use vm_emulator::{BucketSpec, ComputeReadSettings, OsType, ThrottleSettings};
use vm_emulator_test_support as support;

/// `groups` resource groups (`rg-00`…) of `per_group` VMs (`vm-000`…): every fourth Linux,
/// every other Windows VM with `enablevmaccess` (last run for `ops`), every third with a
/// monitoring agent.
fn fleet(groups: usize, per_group: usize) -> Fleet {
    let mut vms = Vec::new();
    for g in 0..groups {
        for v in 0..per_group {
            let linux = v % 4 == 3;
            let os_type = if linux {
                OsType::Linux
            } else {
                OsType::Windows
            };
            let mut vm = FleetVm::new(format!("rg-{g:02}"), format!("vm-{v:03}"), os_type);
            if v % 2 == 0 && !linux {
                let vmaccess = ExtensionSeed {
                    settings: Some(json!({"UserName": "ops"})),
                    ..ExtensionSeed::default()
                };
                vm.extensions.insert("enablevmaccess".to_string(), vmaccess);
            }
            if v % 3 == 0 {
                let monitoring = ExtensionSeed::of(
                    "Microsoft.EnterpriseCloud.Monitoring",
                    "MicrosoftMonitoringAgent",
                    "1.0",
                );
                vm.extensions
                    .insert("MicrosoftMonitoringAgent".to_string(), monitoring);
            }
            vms.push(vm);
        }
    }
    Fleet { vms }
}

async fn seed_fleet(f: &Fixture, groups: usize, per_group: usize) {
    let created = f.admin.seed_fleet(&fleet(groups, per_group)).await;
    assert_eq!(created.expect("fleet seeded"), groups * per_group);
}

async fn set_listing(f: &Fixture, change: ListingChange) {
    f.admin.set_listing(&change).await.expect("listing set");
}

async fn set_page_size(f: &Fixture, size: usize) {
    let change = ListingChange {
        page_size: Some(size),
        ..ListingChange::default()
    };
    set_listing(f, change).await;
}

/// Follows `nextLink` from `url`; returns the names in order and the number of pages.
async fn list_all(f: &Fixture, url: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut next = Some(url.to_string());
    while let Some(url) = next {
        let r = f.arm(Method::GET, &url, None).await;
        assert_eq!(r.status(), 200, "{url}");
        let body: Value = r.json().await.expect("json");
        pages += 1;
        for vm in items(&body) {
            names.push(vm["id"].as_str().expect("id").to_string());
        }
        next = body["nextLink"].as_str().map(str::to_string);
        assert!(pages < 100, "paging does not end");
    }
    (names, pages)
}

#[tokio::test]
async fn subscription_list_pages_through_every_vm_once() {
    let f = start().await;
    seed_fleet(&f, 3, 7).await;
    set_page_size(&f, 4).await;
    let url = f.url(&format!(
        "/subscriptions/{}/providers/Microsoft.Compute/virtualMachines?{API}",
        f.sub()
    ));
    let (ids, pages) = list_all(&f, &url).await;
    assert_eq!(ids.len(), 21);
    assert_eq!(pages, 6, "21 VMs at 4 per page");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 21, "no VM twice");

    // The nextLink is on the same host, carries the api-version and an opaque skiptoken.
    let (_, first) = f.get(&url).await;
    let next = first["nextLink"].as_str().expect("nextLink");
    assert!(next.starts_with(&f.emulator.endpoint()), "{next}");
    assert!(
        next.contains("api-version=2025-04-01") && next.contains("%24skiptoken="),
        "{next}"
    );
}

#[tokio::test]
async fn resource_group_list_and_shapes() {
    let f = start().await;
    seed_fleet(&f, 2, 4).await;
    let base = format!(
        "/subscriptions/{}/resourceGroups/RG-01/providers/Microsoft.Compute/virtualMachines",
        f.sub()
    );
    let (_, body) = f.get(&format!("{base}?{API}")).await;
    let vms = items(&body);
    assert_eq!(vms.len(), 4, "only rg-01, matched case-insensitively");
    assert!(body.get("nextLink").is_none(), "one page, no nextLink");
    let vm0 = &vms[0];
    assert!(
        vm0["id"]
            .as_str()
            .expect("id")
            .contains("/resourceGroups/rg-01/")
    );
    assert_eq!(
        vm0["properties"]["storageProfile"]["osDisk"]["osType"],
        "Windows"
    );
    assert!(vm0["properties"].get("instanceView").is_none());
    let resources = vm0["resources"].as_array().expect("extensions listed");
    assert!(
        resources
            .iter()
            .all(|r| r.as_object().is_some_and(|o| o.len() == 1) && r["id"].is_string()),
        "a list carries only extension IDs: {resources:?}"
    );
    assert_eq!(
        vms[3]["properties"]["storageProfile"]["osDisk"]["osType"],
        "Linux"
    );

    let (_, expanded) = f.get(&format!("{base}?{API}&$expand=instanceView")).await;
    assert!(expanded["value"][0]["properties"]["instanceView"]["statuses"].is_array());

    let missing = f
        .arm(
            Method::GET,
            &f.url(&format!(
                "/subscriptions/{}/resourceGroups/rg-none/providers/Microsoft.Compute/virtualMachines?{API}",
                f.sub()
            )),
            None,
        )
        .await;
    expect_error(missing, 404, "ResourceGroupNotFound").await;

    let bad_token = f
        .arm(
            Method::GET,
            &f.url(&format!("{base}?{API}&$skiptoken=%%%")),
            None,
        )
        .await;
    assert_eq!(bad_token.status(), 400);

    let other_sub = f
        .arm(
            Method::GET,
            &f.url(&format!(
                "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Compute/virtualMachines?{API}"
            )),
            None,
        )
        .await;
    assert_eq!(other_sub.status(), 404);

    let no_version = f.arm(Method::GET, &f.url(&base), None).await;
    assert_eq!(no_version.status(), 400);
    let unauthenticated = f
        .http
        .get(f.url(&format!("{base}?{API}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn extension_list_shows_every_extension_with_state_and_settings() {
    let f = start().await;
    seed_fleet(&f, 1, 1).await;
    let failed = ExtensionSeed {
        provisioning_state: "Failed".into(),
        status_message: Some("password policy".into()),
        ..ExtensionSeed::default()
    };
    f.admin
        .put_extension(
            &VmRef::new(f.sub(), "rg-00", "vm-000"),
            "VMAccessAgent",
            &failed,
        )
        .await
        .expect("extension seeded");
    let url = f.url(&format!(
        "/subscriptions/{}/resourceGroups/rg-00/providers/Microsoft.Compute/virtualMachines/vm-000/extensions?{API}",
        f.sub()
    ));
    let (_, body) = f.get(&url).await;
    let names = item_fields(&body, "name");
    assert_eq!(names.len(), 3, "{names:?}");
    let vmaccess = item_named(&body, "enablevmaccess");
    assert_eq!(vmaccess["properties"]["type"], "VMAccessAgent");
    assert_eq!(vmaccess["properties"]["settings"]["UserName"], "ops");
    assert!(vmaccess["properties"].get("protectedSettings").is_none());
    assert!(vmaccess["properties"].get("instanceView").is_none());
    let failed = item_named(&body, "VMAccessAgent");
    assert_eq!(failed["properties"]["provisioningState"], "Failed");

    let (_, expanded) = f.get(&format!("{url}&$expand=instanceView")).await;
    assert!(expanded["value"][0]["properties"]["instanceView"].is_object());
}

/// Two reads, then one every 100 s.
const SLOW_BUCKET_OF_2: BucketSpec = BucketSpec {
    capacity: 2.0,
    refill_per_sec: 0.01,
};

async fn throttle(f: &Fixture, settings: ThrottleSettings) {
    f.admin
        .set_throttling(settings)
        .await
        .expect("throttling set");
}

#[tokio::test]
async fn list_reads_spend_arm_and_compute_budgets() {
    let f = start().await;
    seed_fleet(&f, 1, 2).await;
    let list = f.url(&format!(
        "/subscriptions/{}/providers/Microsoft.Compute/virtualMachines?{API}",
        f.sub()
    ));
    let extensions = f.url(&format!(
        "/subscriptions/{}/resourceGroups/rg-00/providers/Microsoft.Compute/virtualMachines/vm-000/extensions?{API}",
        f.sub()
    ));
    // Counted even while throttling is off, so that clients can pace themselves.
    let r = f.arm(Method::GET, &list, None).await;
    assert_eq!(
        header_values(&r, "x-ms-ratelimit-remaining-subscription-reads"),
        ["249"]
    );
    assert_eq!(
        header_values(&r, "x-ms-ratelimit-remaining-resource"),
        ["Microsoft.Compute/HighCostGet;899"]
    );
    let r = f.arm(Method::GET, &extensions, None).await;
    assert_eq!(
        header_values(&r, "x-ms-ratelimit-remaining-resource"),
        [
            "Microsoft.Compute/LowCostGet;35",
            "Microsoft.Compute/LowCostGetSubscription;23999"
        ]
    );

    // Throttling on, with a per-VM LowCostGet bucket of 2: the third read of one VM is refused
    // by Compute, while another VM is still served.
    throttle(
        &f,
        ThrottleSettings {
            enabled: true,
            ..ThrottleSettings::default()
        },
    )
    .await;
    let reads = ComputeReadSettings {
        low_cost_get_vm: SLOW_BUCKET_OF_2,
        ..ComputeReadSettings::default()
    };
    set_listing(
        &f,
        ListingChange {
            compute_reads: Some(reads),
            ..ListingChange::default()
        },
    )
    .await;
    for _ in 0..2 {
        assert_eq!(f.arm(Method::GET, &extensions, None).await.status(), 200);
    }
    let refused = f.arm(Method::GET, &extensions, None).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(
        header_values(&refused, "retry-after"),
        ["100"],
        "one token per 100 s"
    );
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "OperationNotAllowed");
    assert_eq!(body["details"][0]["target"], "LowCostGet");
    let other = extensions.replace("vm-000", "vm-001");
    assert_eq!(f.arm(Method::GET, &other, None).await.status(), 200);

    // ARM's subscription read bucket refuses before Compute sees the request.
    throttle(
        &f,
        ThrottleSettings {
            enabled: true,
            subscription_reads: BucketSpec {
                capacity: 1.0,
                refill_per_sec: 0.01,
            },
            ..ThrottleSettings::default()
        },
    )
    .await;
    assert_eq!(f.arm(Method::GET, &list, None).await.status(), 200);
    let refused = f.arm(Method::GET, &list, None).await;
    expect_error(refused, 429, "SubscriptionRequestsThrottled").await;
}
