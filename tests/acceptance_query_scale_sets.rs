//! Acceptance: `terraform query` over scale sets (Terraform 1.14+) against the emulator — a
//! resource group with a VM, a uniform scale set of 3 instances (one with a VMAccess extension)
//! and a flexible one of 2. Without `include_scale_set_instances` the list has the VM and the
//! flexible set's VMs (ordinary VMs); with it, the uniform instances too, whose identities name
//! the scale set and import into `vm_access_reset` (generated configuration, then a clean plan).
//! Also an import of a uniform instance's extension by ID with Terraform 1.11, which has no
//! identity. Every test fails, never skips, when its terraform is of the wrong version.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use terraform_provider_vm::azure::{ExtensionId, ExtensionPut, ProtectedSettings, ScaleSetId};
use vm_emulator::admin::{ScaleSetRef, ScaleSetSeed};
use vm_emulator::{ScaleSetView, VmSeed};
use vm_test_support::acceptance::Acceptance;
use vm_test_support::azure_emulator::{RESOURCE_GROUP, ctx};
use vm_test_support::terraform::{
    TerraformVersion, TfOutput, hcl_string, older_terraform, require_terraform,
};

const UNIFORM: &str = "vmss-uni";
const FLEXIBLE: &str = "vmss-flex";
/// The portal's name for the extension on instance 1.
const EXTENSION: &str = "enablevmaccess";

/// A resource group with the VM `web`, a uniform Windows scale set of 3 instances whose instance
/// 1 had a Remote Desktop reset (a `Succeeded` VMAccessAgent named [`EXTENSION`]), and a
/// flexible Windows scale set of 2. Returns the fixture, the uniform set's ID and the flexible
/// set's VM names.
async fn setup() -> (Acceptance, ScaleSetId, Vec<String>) {
    let acc = Acceptance::start().await;
    acc.emu.seed_windows_vm("web").await;
    let sub = acc.emu.subscription_id().to_owned();
    let seed = |name: &str, seed: ScaleSetSeed| {
        let admin = &acc.emu.admin;
        let at = ScaleSetRef::new(&sub, RESOURCE_GROUP, name);
        async move {
            admin
                .seed_scale_set(&at, &seed)
                .await
                .expect("scale set seeded")
        }
    };
    seed(UNIFORM, ScaleSetSeed::uniform(3, VmSeed::locked_out())).await;
    let flexible: ScaleSetView =
        seed(FLEXIBLE, ScaleSetSeed::flexible(2, VmSeed::locked_out())).await;
    let uniform = ScaleSetId::new(&sub, RESOURCE_GROUP, UNIFORM);
    remote_desktop_reset(&acc, &uniform.instance("1").extension(EXTENSION)).await;
    let mut flexible_vms: Vec<String> = flexible.instances.iter().map(|i| i.name.clone()).collect();
    flexible_vms.sort();
    (acc, uniform, flexible_vms)
}

/// Runs a Remote Desktop–only VMAccessAgent on a uniform instance through the per-instance
/// extension API, as the portal or another tool would.
async fn remote_desktop_reset(acc: &Acceptance, id: &ExtensionId) {
    let body = ExtensionPut {
        location: None,
        publisher: "Microsoft.Compute".into(),
        extension_type: "VMAccessAgent".into(),
        type_handler_version: "2.4".into(),
        auto_upgrade_minor_version: true,
        force_update_tag: "portal-1".into(),
        settings: json!({}),
        protected_settings: ProtectedSettings::new(json!({})),
    };
    let client = acc.emu.client();
    let c = ctx(60);
    let op = client
        .begin_put_extension(id, &body, &c)
        .await
        .expect("the extension PUT is accepted");
    client.wait(op, &c).await.expect("the extension runs");
}

/// One result of `terraform query -json`: its identity and display name.
#[derive(Debug, Clone)]
struct Found {
    identity: Value,
    display_name: String,
}

impl Found {
    fn attr(&self, name: &str) -> Option<&str> {
        self.identity[name].as_str()
    }

    /// `vm` for a VM, `scale set/instance` for a uniform instance.
    fn place(&self) -> String {
        let vm = self.attr("virtual_machine_name").unwrap_or_default();
        match self.attr("virtual_machine_scale_set_name") {
            Some(scale_set) => format!("{scale_set}/{vm}"),
            None => vm.to_owned(),
        }
    }
}

/// The results of each `list` block, by address, in stream order.
fn results(out: &TfOutput) -> BTreeMap<String, Vec<Found>> {
    let mut by_list: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for message in out.json_lines() {
        if message["type"] != "list_resource_found" {
            continue;
        }
        let found = &message["list_resource_found"];
        by_list
            .entry(found["address"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(Found {
                identity: found["identity"].clone(),
                display_name: found["display_name"].as_str().unwrap_or_default().into(),
            });
    }
    by_list
}

fn places(found: &[Found]) -> Vec<String> {
    let mut places: Vec<String> = found.iter().map(Found::place).collect();
    places.sort();
    places
}

/// A `list` block over the test's resource group, every VM included, plus `extra` lines.
fn list_block(name: &str, extra: &[&str]) -> String {
    let extra: String = extra.iter().map(|l| format!("    {l}\n")).collect();
    format!(
        "list \"vm_access_reset\" \"{name}\" {{\n  provider = vm\n  config {{\n    resource_group_names = [{}]\n{extra}  }}\n}}\n",
        hcl_string(RESOURCE_GROUP)
    )
}

fn query(acc: &Acceptance, hcl: &str, extra: &[&str]) -> TfOutput {
    acc.tf.write("query.tfquery.hcl", hcl);
    let mut args = vec!["query", "-no-color"];
    args.extend_from_slice(extra);
    acc.run(&args)
}

fn assert_no_secret(acc: &Acceptance, text: &str, what: &str) {
    assert!(
        !text.contains(acc.emu.client_secret()),
        "the client secret reached {what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uniform_instances_are_listed_only_when_asked_and_flexible_vms_once() {
    require_terraform(TerraformVersion(1, 14, 0), "terraform query");
    let (acc, uniform, flexible_vms) = setup().await;
    acc.tf.write_main("");
    let hcl = format!(
        "{}\n{}",
        list_block("vms", &["include_vms_without_extension = true"]),
        list_block(
            "with_instances",
            &[
                "include_vms_without_extension = true",
                "include_scale_set_instances   = true",
            ],
        )
    );
    let out = query(&acc, &hcl, &["-json"]);
    out.assert_success();
    assert_no_secret(&acc, &out.text(), "the query output");
    let found = results(&out);

    let mut vms = vec!["web".to_owned()];
    vms.extend(flexible_vms.iter().cloned());
    vms.sort();
    let plain = &found["list.vm_access_reset.vms"];
    assert_eq!(places(plain), vms, "{out}");
    assert!(
        plain
            .iter()
            .all(|f| f.identity["virtual_machine_scale_set_name"].is_null()),
        "a VM's identity has a null scale set: {plain:?}"
    );

    let mut all = vms.clone();
    all.extend((0..3).map(|i| format!("{UNIFORM}/{i}")));
    all.sort();
    let with_instances = &found["list.vm_access_reset.with_instances"];
    assert_eq!(
        places(with_instances),
        all,
        "the flexible set's VMs once, the uniform instances added:\n{out}"
    );
    let instances: Vec<&Found> = with_instances
        .iter()
        .filter(|f| f.attr("virtual_machine_scale_set_name") == Some(UNIFORM))
        .collect();
    assert_eq!(instances.len(), 3);
    for f in &instances {
        assert_eq!(f.attr("resource_group_name"), Some(RESOURCE_GROUP));
        assert_eq!(f.attr("subscription_id"), Some(uniform.subscription_id()));
    }
    let one = instances
        .iter()
        .find(|f| f.attr("virtual_machine_name") == Some("1"))
        .expect("instance 1");
    assert_eq!(one.attr("extension_name"), Some(EXTENSION));
    assert_eq!(
        one.display_name,
        format!("{RESOURCE_GROUP}/{UNIFORM}_1: {EXTENSION} (Succeeded), Remote Desktop reset only")
    );
    assert!(
        instances
            .iter()
            .filter(|f| f.attr("virtual_machine_name") != Some("1"))
            .all(|f| f.identity["extension_name"].is_null()
                && f.display_name.ends_with("no VMAccess extension")),
        "{instances:?}"
    );

    // The scale sets were listed once (by the second block), the flexible one's instances
    // never through the uniform-only instance route.
    let scale_set_lists = acc
        .emu
        .requests_ending_with("/virtualMachineScaleSets")
        .await
        .len();
    assert_eq!(scale_set_lists, 1, "one list of scale sets, for the option");
    let flexible_instance_lists = acc
        .emu
        .requests_ending_with(&format!(
            "/virtualMachineScaleSets/{FLEXIBLE}/virtualMachines"
        ))
        .await
        .len();
    assert_eq!(flexible_instance_lists, 0);
}

/// `-generate-config-out` for the uniform instance with an extension, then one apply that only
/// imports (a Remote Desktop–only run that succeeded is left alone), then an empty plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uniform_instance_imports_by_identity_from_generated_configuration() {
    require_terraform(TerraformVersion(1, 14, 0), "terraform query");
    let (acc, uniform, _) = setup().await;
    acc.tf.write_main("");
    let hcl = list_block(
        "instances",
        &[
            "include_scale_set_instances = true",
            &format!("name_filters                = [\"{UNIFORM}_*\"]"),
        ],
    );
    let out = query(&acc, &hcl, &["-generate-config-out=generated.tf"]);
    out.assert_success();
    let generated = std::fs::read_to_string(acc.tf.work_dir().join("generated.tf"))
        .unwrap_or_else(|e| panic!("no generated.tf ({e}):\n{out}"));
    eprintln!("--- generated.tf:\n{generated}");
    assert_no_secret(&acc, &generated, "the generated configuration");
    assert_eq!(generated.matches("import {").count(), 1, "{generated}");
    let instance = uniform.instance("1");
    // Terraform aligns the `=`: compare with single spaces.
    let flat = generated.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!("virtual_machine_scale_set_name = \"{UNIFORM}\""))
            && flat.contains(&format!("virtual_machine_id = \"{instance}\"")),
        "the import names the scale set, the resource the instance:\n{generated}"
    );

    let before = acc.emu.count_requests("PUT", "/extensions/").await;
    let apply = acc.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    apply.assert_success();
    assert!(
        apply
            .stdout
            .contains("1 imported, 0 added, 0 changed, 0 destroyed"),
        "{apply}"
    );
    assert_eq!(
        acc.emu.count_requests("PUT", "/extensions/").await,
        before,
        "importing a succeeded Remote Desktop reset sends nothing to the instance"
    );

    let state = acc.run(&["show", "-json"]).assert_success().json();
    let resource = state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| panic!("no resource in state: {state:#}"));
    assert_eq!(
        resource["values"]["id"],
        instance.extension(EXTENSION).to_string()
    );
    assert_eq!(resource["identity_schema_version"], 2, "{resource:#}");
    assert_eq!(
        resource["identity"],
        json!({
            "subscription_id": uniform.subscription_id(),
            "resource_group_name": RESOURCE_GROUP,
            "virtual_machine_scale_set_name": UNIFORM,
            "virtual_machine_name": "1",
            "extension_name": EXTENSION,
        }),
        "{resource:#}"
    );
    assert_no_secret(&acc, &acc.state_file(), "the state");

    let plan = acc.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(
        plan.code(),
        Some(0),
        "the plan after the import is empty:\n{plan}"
    );
}

/// Terraform 1.11 (no identity, no query): `import { id = … }` of a uniform instance's extension
/// adopts it, plans nothing, and a changed `triggers` reruns it on that instance only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uniform_instance_extension_imports_by_id_with_terraform_1_11() {
    let old = older_terraform(
        TerraformVersion(1, 12, 0),
        "importing a uniform instance by ID without identity",
    );
    let (mut acc, uniform, _) = setup().await;
    acc.tf.use_terraform(old);
    let instance = uniform.instance("1");
    let id = instance.extension(EXTENSION);
    let config = |trigger: &str| {
        format!(
            "resource \"vm_access_reset\" \"instance\" {{\n  virtual_machine_id = {}\n  extension_name     = {}\n  triggers           = {{ run = {} }}\n}}\n\nimport {{\n  to = vm_access_reset.instance\n  id = {}\n}}\n",
            hcl_string(&instance.to_string()),
            hcl_string(EXTENSION),
            hcl_string(trigger),
            hcl_string(&id.to_string()),
        )
    };
    acc.tf.write_main(&config("1"));
    let apply = acc.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    apply.assert_success();
    assert!(apply.stdout.contains("1 imported"), "{apply}");
    let plan = acc.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(
        plan.code(),
        Some(0),
        "nothing to do after the import:\n{plan}"
    );

    acc.tf.write_main(&config("2"));
    let puts = |path: String| {
        let emu = &acc.emu;
        async move { emu.count_requests("PUT", &path).await }
    };
    let other = uniform.instance("0").extension(EXTENSION).to_string();
    let before = puts(id.to_string()).await;
    acc.apply();
    assert_eq!(
        puts(id.to_string()).await,
        before + 1,
        "the new trigger reruns the extension on instance 1"
    );
    assert_eq!(puts(other).await, 0, "and on no other instance");
    assert_no_secret(&acc, &acc.state_file(), "the state");
}
