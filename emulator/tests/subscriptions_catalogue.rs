//! The subscription list (paged), the VM extension image catalogue and
//! per-type `api-version` validation, shaped as ARM answers them.

use serde_json::json;
use vm_emulator::admin::{ExtensionSeed, SubscriptionChange};
use vm_emulator_test_support as support;

#[tokio::test]
async fn subscriptions_are_listed_page_by_page_and_got_by_id() {
    let f = support::start().await;
    for n in 1..=2 {
        let extra = SubscriptionChange {
            subscription_id: Some(format!("00000000-0000-0000-0000-00000000000{n}")),
            display_name: Some(format!("Extra {n}")),
            ..SubscriptionChange::default()
        };
        let added = f.admin.change_subscriptions(&extra).await;
        assert_eq!(added.expect("subscription added").count, n + 1);
    }
    let paged = SubscriptionChange {
        page_size: Some(2),
        ..SubscriptionChange::default()
    };
    f.admin
        .change_subscriptions(&paged)
        .await
        .expect("page size set");
    let (status, first) = f.get("/subscriptions?api-version=2022-12-01").await;
    assert_eq!(status, 200);
    assert_eq!(first["count"], json!({"type": "Total", "value": 3}));
    let page: Vec<&str> = first["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|s| s["subscriptionId"].as_str().expect("id"))
        .collect();
    assert_eq!(
        page,
        [f.sub().as_str(), "00000000-0000-0000-0000-000000000001"]
    );
    let own = &first["value"][0];
    assert_eq!(own["id"], format!("/subscriptions/{}", f.sub()));
    assert_eq!(own["tenantId"], f.emulator.config().tenant_id.as_str());
    assert_eq!(own["state"], "Enabled");
    assert_eq!(own["displayName"], "Emulator Subscription");
    assert_eq!(
        own["subscriptionPolicies"]["locationPlacementId"],
        "Public_2014-09-01"
    );
    let next = first["nextLink"].as_str().expect("nextLink");
    assert!(next.contains("api-version=2022-12-01"));
    let (_, second) = f.get(next).await;
    assert_eq!(second["value"][0]["displayName"], "Extra 2");
    assert!(
        second.get("nextLink").is_none(),
        "the last page has no nextLink"
    );

    let (status, one) = f
        .get("/subscriptions/00000000-0000-0000-0000-000000000002?api-version=2022-12-01")
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["displayName"], "Extra 2");
    let (status, missing) = f
        .get("/subscriptions/99999999-0000-0000-0000-000000000000?api-version=2022-12-01")
        .await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], "SubscriptionNotFound");
}

#[tokio::test]
async fn extension_catalogue_lists_publishers_types_and_versions() {
    let f = support::start().await;
    let base = format!(
        "/subscriptions/{}/providers/Microsoft.Compute/locations/westeurope/publishers",
        f.sub()
    );
    let (status, publishers) = f.get(&format!("{base}?api-version=2024-11-01")).await;
    assert_eq!(status, 200);
    let compute = publishers
        .as_array()
        .expect("a bare array")
        .iter()
        .find(|p| p["name"] == "Microsoft.Compute")
        .expect("Microsoft.Compute is published");
    assert_eq!(compute["location"], "westeurope");
    assert_eq!(
        compute["id"],
        format!(
            "/Subscriptions/{}/Providers/Microsoft.Compute/Locations/westeurope/Publishers/Microsoft.Compute",
            f.sub()
        )
    );
    let (_, types) = f
        .get(&format!(
            "{base}/microsoft.compute/artifacttypes/vmextension/types?api-version=2024-11-01"
        ))
        .await;
    assert!(
        types
            .as_array()
            .expect("array")
            .iter()
            .any(|t| t["name"] == "VMAccessAgent")
    );
    let (_, versions) = f.get(
        &format!("{base}/Microsoft.Compute/artifacttypes/vmextension/types/VMAccessAgent/versions?api-version=2026-04-01"),
    )
    .await;
    let names: Vec<&str> = versions
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"2.4.9") && names.iter().all(|n| n.starts_with("2.")));
    assert!(
        versions[0]["id"]
            .as_str()
            .expect("id")
            .contains("/ArtifactTypes/VMExtension/Types/VMAccessAgent/Versions/")
    );
    let (_, newest) = f.get(
        &format!("{base}/Microsoft.Compute/artifacttypes/vmextension/types/VMAccessAgent/versions?api-version=2024-11-01&$orderby=name%20desc&$top=1"),
    )
    .await;
    assert_eq!(newest[0]["name"], "2.4.9");
    let (status, one) = f.get(
        &format!("{base}/Microsoft.Compute/artifacttypes/vmextension/types/VMAccessAgent/versions/2.4.9?api-version=2024-11-01"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["properties"]["operatingSystem"], "Windows");
    assert_eq!(one["properties"]["supportsMultipleExtensions"], false);
    let (status, _) = f
        .get(&format!(
            "{base}/Contoso.Unknown/artifacttypes/vmextension/types?api-version=2024-11-01"
        ))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn extensions_seeded_on_vms_join_the_catalogue() {
    let f = support::seeded().await;
    let monitor = ExtensionSeed {
        publisher: "Contoso.Extensions".into(),
        extension_type: "Monitor".into(),
        type_handler_version: "3.1".into(),
        ..ExtensionSeed::default()
    };
    f.admin
        .put_extension(&f.vm_ref(), "monitor", &monitor)
        .await
        .expect("extension seeded");
    let (_, versions) = f.get(
        &format!(
            "/subscriptions/{}/providers/Microsoft.Compute/locations/westeurope/publishers/Contoso.Extensions/artifacttypes/vmextension/types/Monitor/versions?api-version=2024-11-01",
            f.sub()
        ),
    )
    .await;
    assert_eq!(versions[0]["name"], "3.1.0");
}

#[tokio::test]
async fn api_versions_are_validated_per_resource_type() {
    let f = support::seeded().await;
    for version in ["2024-11-01", "2025-04-01", "2026-04-01"] {
        let (status, _) = f
            .get(&format!("{}?api-version={version}", f.vm_path()))
            .await;
        assert_eq!(status, 200, "virtualMachines at {version}");
    }
    let (status, body) = f
        .get(&format!("{}?api-version=2014-01-01", f.vm_path()))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "NoRegisteredProviderFound");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("No registered resource provider found for location 'westeurope' and API version '2014-01-01' for type 'virtualMachines'. The supported api-versions are '2026-04-01, 2025-11-01, 2025-04-01, 2024-11-01,"),
        "{message}"
    );
    assert!(message.contains("The supported locations are 'eastus, "));
    let (status, body) = f.get(&format!("{}?api-version=latest", f.vm_path())).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "InvalidApiVersionParameter");
    let (status, body) = f.get("/subscriptions?api-version=2024-11-04").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "InvalidApiVersionParameter");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("The api-version '2024-11-04' is invalid. The supported versions are '2025-04-01, 2024-11-01, ")
    );
    let (status, body) = f.get(f.vm_path().as_str()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "MissingApiVersionParameter");
}
