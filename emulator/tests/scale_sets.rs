//! Scale sets over real HTTP: the scale set and its model, a uniform set's instances (paged
//! lists, instance views, per-instance extensions running VMAccess in the guest), a flexible
//! set's VMs, `manualupgrade` and the upgrade policies, and the admin API around them.
//! Facts: `shared/facts/azure-vmaccess-linux-and-vmss.md` §D.

use reqwest::Method;
use serde_json::{Value, json};
use support::{API, Fixture, RG, expect_error, header_values, items};
use vm_emulator::admin::{
    ExtensionSeed, ListingChange, ScaleSetRef, ScaleSetSeed, SshLogin, UpgradePolicy, VmPatch,
};
use vm_emulator::{LinuxGuestSeed, LinuxUserSeed, PowerState, VmSeed};
use vm_emulator_test_support as support;

const USER: &str = "azureuser";
const OLD: &str = "Old-Passw0rd!";
const NEW: &str = "New-Passw0rd!2";
const SS: &str = "vmss-web";

/// Linux instances whose `azureuser` has the password [`OLD`] (passwords on).
fn linux_instance() -> VmSeed {
    let mut guest = LinuxGuestSeed {
        users: vec![LinuxUserSeed::new(USER, &[]).with_password(OLD)],
        ..LinuxGuestSeed::default()
    };
    guest.ssh.sshd_config.password_authentication = true;
    VmSeed::linux(guest)
}

/// VMAccessForLinux 1.5 as the model (or an instance) carries it, with protected credentials.
fn linux_vmaccess(password: &str) -> Value {
    json!({
        "publisher": "Microsoft.OSTCExtensions",
        "type": "VMAccessForLinux",
        "typeHandlerVersion": "1.5",
        "autoUpgradeMinorVersion": true,
        "settings": {},
        "protectedSettings": {"username": USER, "password": password},
    })
}

/// PUTs an extension whose `properties` are `properties` (no location, as Azure's examples of
/// instance and model extensions).
async fn put_extension(f: &Fixture, url: &str, properties: Value) -> reqwest::Response {
    f.arm(Method::PUT, url, Some(json!({ "properties": properties })))
        .await
}

fn scale_set(f: &Fixture) -> ScaleSetRef {
    ScaleSetRef::new(f.sub(), RG, SS)
}

async fn seed(f: &Fixture, seed: ScaleSetSeed) -> vm_emulator::ScaleSetView {
    f.admin
        .seed_scale_set(&scale_set(f), &seed)
        .await
        .expect("scale set seeded")
}

/// The ARM URL of `rest` below the scale set (`""` for the scale set), with the API version.
fn url(f: &Fixture, rest: &str, query: &str) -> String {
    f.url(&format!("{}{rest}?{API}{query}", scale_set(f).arm_id()))
}

async fn ssh(f: &Fixture, key: &str, password: &str) -> bool {
    let login = SshLogin::password(USER, password);
    let outcome = f.admin.instance_ssh_login(&scale_set(f), key, &login).await;
    outcome.expect("SSH login answered").ok
}

/// Every page of a list, following `nextLink`; returns the items and how many pages.
async fn all_pages(f: &Fixture, first: &str) -> (Vec<Value>, usize) {
    let (mut found, mut pages, mut next) = (Vec::new(), 0, Some(first.to_string()));
    while let Some(url) = next {
        let (status, body) = f.get(&url).await;
        assert_eq!(status, 200, "{body}");
        found.extend(items(&body).iter().cloned());
        pages += 1;
        next = body["nextLink"].as_str().map(str::to_string);
    }
    (found, pages)
}

#[tokio::test]
async fn a_uniform_scale_set_and_its_model_are_read_without_protected_settings() {
    let f = support::start().await;
    let model = ExtensionSeed {
        protected_settings: Some(json!({"username": USER, "password": "Model-Passw0rd!"})),
        ..ExtensionSeed::of("Microsoft.OSTCExtensions", "VMAccessForLinux", "1.5")
    };
    seed(
        &f,
        ScaleSetSeed::uniform(3, linux_instance()).model_extension(model),
    )
    .await;
    let (status, body) = f.get(&url(&f, "", "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "Microsoft.Compute/virtualMachineScaleSets");
    assert_eq!(body["sku"]["capacity"], 3);
    let properties = &body["properties"];
    assert_eq!(properties["orchestrationMode"], "Uniform");
    assert_eq!(properties["upgradePolicy"]["mode"], "Manual");
    let profile = &properties["virtualMachineProfile"];
    assert_eq!(profile["storageProfile"]["osDisk"]["osType"], "Linux");
    assert_eq!(profile["osProfile"]["adminUsername"], USER);
    let extension = &profile["extensionProfile"]["extensions"][0];
    assert_eq!(extension["name"], "VMAccessForLinux");
    assert_eq!(extension["properties"]["typeHandlerVersion"], "1.5");
    assert!(!body.to_string().contains("protectedSettings"), "{body}");
    assert!(!body.to_string().contains("Model-Passw0rd!"));

    let groups = format!(
        "/subscriptions/{}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets?{API}",
        f.sub()
    );
    let (status, list) = f.get(&groups).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(support::item_fields(&list, "name"), [SS]);

    let (status, list) = f.get(&url(&f, "/extensions", "")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        items(&list)[0]["type"],
        "Microsoft.Compute/virtualMachineScaleSets/extensions"
    );
    assert!(!list.to_string().contains("protectedSettings"));

    let view = f.admin.scale_set(&scale_set(&f)).await.expect("view");
    let model = view
        .model_extension("VMAccessForLinux")
        .expect("model extension");
    assert_eq!(model.protected_setting_keys, ["password", "username"]);
    assert!(
        !serde_json::to_string(&view)
            .expect("JSON")
            .contains("Model-Passw0rd!")
    );
    assert!(view.instances.iter().all(|i| i.latest_model_applied));
    assert!(view.instances[0].vm.extension("VMAccessForLinux").is_some());
}

#[tokio::test]
async fn uniform_instances_are_listed_in_pages_with_their_instance_view() {
    let f = support::start().await;
    let change = ListingChange {
        page_size: Some(2),
        ..ListingChange::default()
    };
    f.admin.set_listing(&change).await.expect("page size");
    seed(
        &f,
        ScaleSetSeed::uniform(5, linux_instance())
            .stopped([1])
            .deallocated([3]),
    )
    .await;
    let (instances, pages) =
        all_pages(&f, &url(&f, "/virtualMachines", "&$expand=instanceView")).await;
    assert_eq!(pages, 3);
    let ids: Vec<&str> = instances
        .iter()
        .map(|i| i["instanceId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4"]);
    let first = &instances[0];
    assert_eq!(first["name"], format!("{SS}_0"));
    assert_eq!(
        first["type"],
        "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
    );
    assert_eq!(
        first["id"],
        format!("{}/virtualMachines/0", scale_set(&f).arm_id())
    );
    assert_eq!(first["properties"]["latestModelApplied"], true);
    assert_eq!(
        first["properties"]["osProfile"]["computerName"],
        format!("{SS}000000")
    );
    let power = |i: &Value| {
        i["properties"]["instanceView"]["statuses"][1]["code"]
            .as_str()
            .expect("power state")
            .to_string()
    };
    assert_eq!(power(first), "PowerState/running");
    assert_eq!(power(&instances[1]), "PowerState/stopped");
    assert_eq!(power(&instances[3]), "PowerState/deallocated");
    assert_eq!(
        first["properties"]["instanceView"]["vmAgent"]["statuses"][0]["displayStatus"],
        "Ready"
    );

    // Without $expand there is no instance view; a VM list does not show instances.
    let (_, plain) = f.get(&url(&f, "/virtualMachines", "")).await;
    assert!(items(&plain)[0]["properties"].get("instanceView").is_none());
    let vms = format!(
        "/subscriptions/{}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines?{API}",
        f.sub()
    );
    let (status, list) = f.get(&vms).await;
    assert_eq!(status, 200, "{list}");
    assert!(items(&list).is_empty(), "{list}");
}

#[tokio::test]
async fn a_uniform_instance_is_read_alone_and_its_instance_view_too() {
    let f = support::start().await;
    seed(
        &f,
        ScaleSetSeed::uniform(2, linux_instance()).agent_not_ready([1]),
    )
    .await;
    let (status, body) = f
        .get(&url(&f, "/virtualMachines/1", "&$expand=instanceView"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instanceId"], "1");
    let agent = &body["properties"]["instanceView"]["vmAgent"]["statuses"][0];
    assert_eq!(agent["displayStatus"], "Not Ready");
    let (status, view) = f.get(&url(&f, "/virtualMachines/0/instanceView", "")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["statuses"][1]["code"], "PowerState/running");
    let (status, missing) = f.get(&url(&f, "/virtualMachines/7", "")).await;
    assert_eq!(status, 404, "{missing}");
    assert_eq!(missing["error"]["code"], "ResourceNotFound");
    let (status, missing) = f
        .get(&f.url(&format!(
            "{}x/virtualMachines/0?{API}",
            scale_set(&f).arm_id()
        )))
        .await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn an_instance_extension_runs_vmaccess_for_linux_in_that_instance_only() {
    let f = support::start().await;
    seed(&f, ScaleSetSeed::uniform(2, linux_instance())).await;
    f.admin.clear_requests().await.expect("log cleared");
    let extension = url(&f, "/virtualMachines/0/extensions/enablevmaccess", "");
    // The body has no location, as Azure's VMSS VM extension example.
    let response = put_extension(&f, &extension, linux_vmaccess(NEW)).await;
    assert_eq!(response.status(), 201);
    let remaining = header_values(&response, "x-ms-ratelimit-remaining-resource");
    assert!(
        remaining
            .iter()
            .any(|v| v.starts_with("Microsoft.Compute/UpdateVM;")),
        "{remaining:?}"
    );
    let created: Value = {
        let op = f.wait(response).await;
        assert_eq!(op["status"], "Succeeded", "{op}");
        let (_, body) = f.get(&extension).await;
        body
    };
    assert_eq!(
        created["type"],
        "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions"
    );
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    assert!(!created.to_string().contains("protectedSettings"));
    assert!(ssh(&f, "0", NEW).await, "instance 0 took the new password");
    assert!(!ssh(&f, "1", NEW).await, "instance 1 did not");

    let (status, list) = f.get(&url(&f, "/virtualMachines/0/extensions", "")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(support::item_fields(&list, "name"), ["enablevmaccess"]);
    let logged = f
        .admin
        .count_requests("PUT", "/virtualMachines/0/extensions/")
        .await;
    assert_eq!(logged.expect("log"), 1);
    let log = f.admin.requests().await.expect("log");
    assert!(
        !serde_json::to_string(&log).expect("JSON").contains(NEW),
        "redacted"
    );

    let response = f.arm(Method::DELETE, &extension, None).await;
    assert_eq!(response.status(), 202);
    assert_eq!(f.wait(response).await["status"], "Succeeded");
    let (status, _) = f.get(&extension).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn instance_extensions_follow_the_vm_rules() {
    let f = support::start().await;
    let model = ExtensionSeed::of("Microsoft.OSTCExtensions", "VMAccessForLinux", "1.5");
    let seeded = ScaleSetSeed::uniform(3, linux_instance())
        .stopped([1])
        .agent_not_ready([2])
        .model_extension(model);
    seed(&f, seeded).await;
    let put = |id: &str, name: &str| {
        let extension = url(&f, &format!("/virtualMachines/{id}/extensions/{name}"), "");
        let f = &f;
        async move {
            let body = json!({"properties": linux_vmaccess(NEW)});
            f.arm(Method::PUT, &extension, Some(body)).await
        }
    };
    // A stopped instance refuses extension changes.
    let body = expect_error(
        put("1", "VMAccessForLinux").await,
        409,
        "OperationNotAllowed",
    )
    .await;
    assert!(body.to_string().contains("not running"), "{body}");
    // One extension per handler: the model's is on every instance.
    let body = expect_error(put("0", "other").await, 400, "BadRequest").await;
    assert!(
        body.to_string()
            .contains("MultipleExtensionsPerHandlerNotAllowed"),
        "{body}"
    );
    // An agent that is not ready fails the operation.
    let op = f.wait(put("2", "VMAccessForLinux").await).await;
    assert_eq!(op["status"], "Failed", "{op}");
    assert_eq!(op["error"]["code"], "VMAgentStatusCommunicationError");
    // The same name on a ready instance reuses the model's extension and runs it.
    assert_eq!(
        f.wait(put("0", "VMAccessForLinux").await).await["status"],
        "Succeeded"
    );
    assert!(ssh(&f, "0", NEW).await);
    // The instance's own change is not the model's, but the model is unchanged.
    let view = f.admin.scale_set(&scale_set(&f)).await.expect("view");
    assert!(view.instance("0").expect("instance 0").latest_model_applied);
}

#[tokio::test]
async fn instance_routes_of_a_flexible_scale_set_are_refused_and_its_vms_are_filtered() {
    let f = support::start().await;
    let view = seed(&f, ScaleSetSeed::flexible(3, linux_instance())).await;
    f.seed_vm(support::seed()).await;
    let names: Vec<&str> = view.instances.iter().map(|i| i.name.as_str()).collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with(&format!("{SS}_")) && n.len() == SS.len() + 9)
    );
    for rest in [
        "/virtualMachines",
        "/virtualMachines/0",
        "/virtualMachines/0/extensions",
    ] {
        let (status, body) = f.get(&url(&f, rest, "")).await;
        assert_eq!(status, 400, "{rest}: {body}");
        assert_eq!(body["error"]["code"], "OperationNotAllowed");
        assert!(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .contains("Flexible")
        );
    }
    let id = scale_set(&f).arm_id().to_uppercase();
    let filter = format!("'virtualMachineScaleSet/id' eq '{id}'");
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("api-version", "2024-11-01")
        .append_pair("$filter", &filter)
        .append_pair("$expand", "instanceView")
        .finish();
    let vms = format!(
        "/subscriptions/{}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines",
        f.sub()
    );
    let (listed, _) = all_pages(&f, &f.url(&format!("{vms}?{query}"))).await;
    let mut listed_names: Vec<&str> = listed
        .iter()
        .map(|v| v["name"].as_str().expect("name"))
        .collect();
    listed_names.sort();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(listed_names, expected);
    assert!(listed.iter().all(|v| {
        v["properties"]["virtualMachineScaleSet"]["id"]
            .as_str()
            .is_some_and(|i| i.eq_ignore_ascii_case(&id))
    }));
    let (status, all) = f.get(&format!("{vms}?{API}")).await;
    assert_eq!(status, 200);
    assert_eq!(items(&all).len(), 4, "the scale set's VMs and the other VM");
    let (status, body) = f.get(&format!("{vms}?{API}&$filter=name%20eq%20'x'")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "InvalidParameter");

    // A flexible instance is an ordinary VM: its extension API is the VM's.
    let vm = &view.instances[0];
    let extension = f.url(&format!("{}/extensions/enablevmaccess?{API}", vm.id));
    let body = json!({"location": "westeurope", "properties": linux_vmaccess(NEW)});
    let op = f
        .wait(f.arm(Method::PUT, &extension, Some(body)).await)
        .await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(ssh(&f, &vm.key, NEW).await);
    let patch = VmPatch {
        power_state: Some(PowerState::Stopped),
        ..VmPatch::default()
    };
    let patched = f
        .admin
        .patch_instance(&scale_set(&f), &vm.key, &patch)
        .await;
    assert_eq!(patched.expect("patched").power_state, PowerState::Stopped);
}

/// What `az vmss extension set` sends: the scale set from a GET, its model's VMAccessForLinux
/// replaced by one with new credentials.
async fn az_vmss_extension_set(f: &Fixture, password: &str) -> reqwest::Response {
    let (_, mut body) = f.get(&url(f, "", "")).await;
    body["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"] =
        json!([{"name": "VMAccessForLinux", "properties": linux_vmaccess(password)}]);
    f.arm(Method::PUT, &url(f, "", ""), Some(body)).await
}

#[tokio::test]
async fn manualupgrade_brings_the_models_password_to_the_running_instances() {
    let f = support::start().await;
    seed(&f, ScaleSetSeed::uniform(3, linux_instance()).stopped([2])).await;
    let response = az_vmss_extension_set(&f, NEW).await;
    assert_eq!(response.status(), 200);
    assert_eq!(f.wait(response).await["status"], "Succeeded");
    let view = f.admin.scale_set(&scale_set(&f)).await.expect("view");
    assert!(
        view.instances.iter().all(|i| !i.latest_model_applied),
        "Manual: instances lag"
    );
    assert!(!ssh(&f, "0", NEW).await, "not before the upgrade");
    let (_, model) = f.get(&url(&f, "", "")).await;
    assert!(!model.to_string().contains("protectedSettings"), "{model}");

    let upgrade = url(&f, "/manualupgrade", "");
    let response = f
        .arm(Method::POST, &upgrade, Some(json!({"instanceIds": ["*"]})))
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(f.wait(response).await["status"], "Succeeded");
    assert!(ssh(&f, "0", NEW).await && ssh(&f, "1", NEW).await);
    assert!(!ssh(&f, "0", OLD).await);
    let view = f.admin.scale_set(&scale_set(&f)).await.expect("view");
    let applied: Vec<bool> = view
        .instances
        .iter()
        .map(|i| i.latest_model_applied)
        .collect();
    assert_eq!(
        applied,
        [true, true, false],
        "the stopped instance is skipped"
    );
    let (_, instance) = f.get(&url(&f, "/virtualMachines/2", "")).await;
    assert_eq!(instance["properties"]["latestModelApplied"], false);

    // An unknown instance ID is refused.
    let response = f
        .arm(Method::POST, &upgrade, Some(json!({"instanceIds": ["9"]})))
        .await;
    expect_error(response, 400, "InvalidParameter").await;
}

#[tokio::test]
async fn a_model_extension_keeps_its_handler_under_its_name() {
    let f = support::start().await;
    seed(&f, ScaleSetSeed::uniform(1, linux_instance())).await;
    let extension = url(&f, "/extensions/VMAccessForLinux", "");
    let response = put_extension(&f, &extension, linux_vmaccess(NEW)).await;
    assert_eq!(response.status(), 201);
    f.wait(response).await;
    let mut other_publisher = linux_vmaccess(NEW);
    other_publisher["publisher"] = json!("Contoso.Extensions");
    let response = put_extension(&f, &extension, other_publisher).await;
    let body = expect_error(response, 400, "PropertyChangeNotAllowed").await;
    assert_eq!(
        body["error"]["message"],
        "Changing property 'publisher' is not allowed."
    );
}

#[tokio::test]
async fn an_automatic_policy_applies_a_model_extension_to_every_running_instance() {
    let f = support::start().await;
    let seeded = ScaleSetSeed::uniform(3, linux_instance())
        .upgrade_policy(UpgradePolicy::Automatic)
        .agent_not_ready([1]);
    seed(&f, seeded).await;
    let extension = url(&f, "/extensions/VMAccessForLinux", "");
    let response = put_extension(&f, &extension, linux_vmaccess(NEW)).await;
    assert_eq!(response.status(), 201);
    let op = f.wait(response).await;
    assert_eq!(
        op["status"], "Failed",
        "instance 1's agent is not ready: {op}"
    );
    assert!(
        op["error"]["message"]
            .as_str()
            .expect("message")
            .contains(&format!("{SS}_1"))
    );
    assert!(ssh(&f, "0", NEW).await && ssh(&f, "2", NEW).await);
    let (status, body) = f.get(&extension).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert!(!body.to_string().contains("protectedSettings"));
    let view = f.admin.scale_set(&scale_set(&f)).await.expect("view");
    let applied: Vec<bool> = view
        .instances
        .iter()
        .map(|i| i.latest_model_applied)
        .collect();
    assert_eq!(applied, [true, false, true]);

    // Deleting the model's extension removes it from the instances.
    let response = f.arm(Method::DELETE, &extension, None).await;
    assert_eq!(
        f.wait(response).await["status"],
        "Failed",
        "instance 1 still not ready"
    );
    let instance = f
        .admin
        .instance(&scale_set(&f), "0")
        .await
        .expect("instance 0");
    assert!(instance.extension("VMAccessForLinux").is_none());
    let (status, _) = f.get(&extension).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_windows_instance_takes_vmaccess_agent_and_the_admin_login_sees_it() {
    let f = support::start().await;
    seed(&f, ScaleSetSeed::uniform(1, support::seed())).await;
    let extension = url(&f, "/virtualMachines/0/extensions/enablevmaccess", "");
    let body = json!({"properties": {
        "publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4",
        "settings": {"UserName": "azureadmin"}, "protectedSettings": {"Password": "Win-Passw0rd!9"},
    }});
    let op = f
        .wait(f.arm(Method::PUT, &extension, Some(body)).await)
        .await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let login = f
        .admin
        .instance_login(&scale_set(&f), "0", "azureadmin", "Win-Passw0rd!9")
        .await;
    assert!(login.expect("login").ok);
    let linux = f.admin.instance_linux_guest(&scale_set(&f), "0").await;
    assert!(linux.is_err(), "a Windows instance has no Linux guest");
}

#[tokio::test]
async fn scale_sets_are_listed_per_subscription_and_per_resource_group() {
    let f = support::start().await;
    seed(&f, ScaleSetSeed::uniform(2, linux_instance())).await;
    let other = ScaleSetRef::new(f.sub(), "rg-other", "vmss-flex");
    f.admin
        .seed_scale_set(&other, &ScaleSetSeed::flexible(1, linux_instance()))
        .await
        .expect("scale set seeded");
    let names = |body: &Value| -> Vec<String> {
        let mut names: Vec<String> = items(body)
            .iter()
            .map(|s| s["name"].as_str().expect("name").to_string())
            .collect();
        names.sort();
        names
    };
    let list = |scope: String| {
        f.url(&format!(
            "{scope}/providers/Microsoft.Compute/virtualMachineScaleSets?{API}"
        ))
    };

    let (status, all) = f.get(&list(format!("/subscriptions/{}", f.sub()))).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(names(&all), ["vmss-flex", "vmss-web"]);
    let flex = items(&all)
        .iter()
        .find(|s| s["name"] == "vmss-flex")
        .expect("listed");
    assert_eq!(flex["properties"]["orchestrationMode"], "Flexible");
    assert_eq!(flex["id"], other.arm_id());

    let (status, group) = f
        .get(&list(format!(
            "/subscriptions/{}/resourceGroups/{RG}",
            f.sub()
        )))
        .await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(names(&group), ["vmss-web"]);

    // Keyword casing is free, as everywhere in ARM.
    let (status, lower) = f
        .get(&f.url(&format!(
            "/SUBSCRIPTIONS/{}/providers/microsoft.compute/VIRTUALMACHINESCALESETS?{API}",
            f.sub()
        )))
        .await;
    assert_eq!(status, 200, "{lower}");
    assert_eq!(names(&lower), ["vmss-flex", "vmss-web"]);
}
