//! Acceptance: Linux VMs (`VMAccessForLinux`) through the surfaces that need a Terraform newer
//! than 1.11 — the `vm_access_reset` action (`terraform apply -invoke`, 1.14), the list resource
//! (`terraform query`, 1.14) and resource identity (1.12) — with the real terraform CLI against
//! the emulator's Linux guest. Every test first checks the terraform it was given
//! (`TF_ACC_TERRAFORM_PATH`) and fails, never skips, when it is older; `scripts/test.sh` runs
//! this file only under the newest Terraform.

use std::collections::BTreeMap;

use serde_json::json;
use vm_emulator::admin::{ExtensionSeed, Fleet, FleetVm, LOST_PUBLIC_KEY, LinuxUserSeed};
use vm_emulator::{LOCKED_OUT_USER, LinuxGuestSeed, OsType};
use vm_test_support::acceptance::{
    Acceptance, action_block, actions_of, progress_lines, reset_block, ssh_public_keys_line,
};
use vm_test_support::azure_emulator::{RESOURCE_GROUP, linux_vmaccess_seed};
use vm_test_support::ssh_keys::ed25519_public_key;
use vm_test_support::terraform::{TerraformVersion, TfOutput, hcl_string, require_terraform};

const PW: &str = "Linux-Passw0rd!2026";
const PW_VAR: &str =
    "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n";

/// A fixture for a test of actions or `terraform query` (Terraform 1.14 or later).
async fn start_1_14(feature: &str) -> Acceptance {
    require_terraform(TerraformVersion(1, 14, 0), feature);
    Acceptance::start().await
}

// ---------------------------------------------------------------------------
// The action.
// ---------------------------------------------------------------------------

/// A guest whose `opsadmin` lost the private half of [`LOST_PUBLIC_KEY`] (sshd works), and a
/// `leaver` who logs in with the key `leaver`.
fn team_guest() -> LinuxGuestSeed {
    LinuxGuestSeed {
        users: vec![
            LinuxUserSeed::new(LOCKED_OUT_USER, &[LOST_PUBLIC_KEY]),
            LinuxUserSeed::new("leaver", &[&ed25519_public_key("leaver")]),
        ],
        ..LinuxGuestSeed::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_removes_a_user_and_in_another_invocation_replaces_a_lost_key() {
    let acc = start_1_14("actions").await;
    let vm = acc.emu.seed_linux_vm("web", team_guest()).await;
    let leaver_key = ed25519_public_key("leaver");
    let new_key = ed25519_public_key("replacement");
    let user = format!("username = \"{LOCKED_OUT_USER}\"");
    acc.tf.write_main(
        &[
            action_block("offboard", &vm, &["remove_user = \"leaver\""]),
            action_block(
                "rekey",
                &vm,
                &[
                    &user,
                    &ssh_public_keys_line(&[&new_key]),
                    "remove_prior_keys = true",
                ],
            ),
        ]
        .concat(),
    );
    assert_eq!(
        acc.emu.ssh_login_key(&vm, "leaver", &leaver_key).await,
        Ok(()),
        "leaver before the removal"
    );

    let out = acc.invoke("offboard", &[]);
    out.assert_success();
    let progress = progress_lines(&out);
    eprintln!("--- progress:\n{}", progress.join("\n"));
    for says in [
        "VM \"web\" is a running Linux VM",
        "(Microsoft.OSTCExtensions.VMAccessForLinux 1.5, forceUpdateTag ",
        "to remove the user \"leaver\"",
        "Extension run succeeded",
    ] {
        assert!(
            progress.iter().any(|l| l.contains(says)),
            "{says:?} not in the progress: {progress:#?}"
        );
    }
    let guest = acc.emu.linux_guest(&vm).await;
    assert!(guest.user("leaver").is_none(), "{guest:#?}");
    assert_eq!(
        acc.emu.ssh_login_key(&vm, "leaver", &leaver_key).await,
        Err("no such user".into())
    );
    assert_eq!(
        acc.emu
            .ssh_login_key(&vm, LOCKED_OUT_USER, LOST_PUBLIC_KEY)
            .await,
        Ok(()),
        "the other user is untouched"
    );
    assert_eq!(acc.emu.vm_view(&vm).await.vmaccess_runs, 1);

    let out = acc.invoke("rekey", &[]);
    out.assert_success();
    assert_eq!(
        acc.emu.ssh_login_key(&vm, LOCKED_OUT_USER, &new_key).await,
        Ok(()),
        "the replacing key"
    );
    assert_eq!(
        acc.emu
            .ssh_login_key(&vm, LOCKED_OUT_USER, LOST_PUBLIC_KEY)
            .await,
        Err("key not in authorized_keys".into()),
        "the lost key"
    );
    let user = acc
        .emu
        .linux_user(&vm, LOCKED_OUT_USER)
        .await
        .expect("the user");
    assert_eq!(user.profile.authorized_keys, [new_key]);
    assert_eq!(acc.emu.vm_view(&vm).await.vmaccess_runs, 2);

    // Actions keep nothing in state.
    let state = acc.run(&["show", "-json"]).assert_success().json();
    let resources = &state["values"]["root_module"]["resources"];
    assert!(resources.is_null() || *resources == json!([]), "{state:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_combining_remove_user_with_password_or_reset_ssh_fails_at_plan() {
    let acc = start_1_14("actions").await;
    let vm = acc.emu.seed_linux_vm("web", team_guest()).await;
    // One action per configuration: Terraform validates every action block on each run.
    let with_password = [
        "remove_user = \"leaver\"",
        "username = \"opsadmin\"",
        "password = var.pw",
    ];
    let with_reset_ssh = ["remove_user = \"leaver\"", "reset_ssh = true"];
    for (name, lines, other) in [
        ("with_password", &with_password[..], "`password`"),
        ("with_reset_ssh", &with_reset_ssh[..], "`reset_ssh`"),
    ] {
        acc.tf
            .write_main(&format!("{PW_VAR}\n{}", action_block(name, &vm, lines)));
        let target = format!("-invoke=action.vm_access_reset.{name}");
        let plan = acc.run_with_env(
            &["plan", &target, "-no-color", "-input=false"],
            &[("TF_VAR_pw", PW)],
        );
        plan.assert_failure();
        let text = plan.flat();
        eprintln!("--- {name}:\n{}", plan.stderr);
        assert!(
            text.contains(&format!("Error: `remove_user` cannot go with {other}")),
            "{name}: the error names remove_user and {other}:\n{plan}"
        );
        assert!(
            !text.contains("Unsupported argument"),
            "{name}: the schema lacks an attribute:\n{plan}"
        );
        assert!(!plan.text().contains(PW), "{name}: the password leaked");
        let apply = acc.invoke(name, &[("TF_VAR_pw", PW)]);
        apply.assert_failure();
        assert!(progress_lines(&apply).is_empty(), "{name} ran:\n{apply}");
    }
    assert_eq!(acc.emu.count_requests("PUT", "/subscriptions/").await, 0);
    let guest = acc.emu.linux_guest(&vm).await;
    assert!(guest.user("leaver").is_some(), "{guest:#?}");
    assert_eq!(acc.emu.vm_view(&vm).await.vmaccess_runs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_applies_the_vms_os_rules_at_plan() {
    let acc = start_1_14("actions").await;
    let linux = acc.emu.seed_linux_vm("web", team_guest()).await;
    let windows = acc.emu.seed_windows_vm("win").await;
    let keys = ssh_public_keys_line(&[&ed25519_public_key("win")]);
    acc.tf.write_main(
        &[
            action_block(
                "keys_on_windows",
                &windows,
                &["username = \"azureadmin\"", &keys],
            ),
            action_block("remove_on_windows", &windows, &["remove_user = \"leaver\""]),
            action_block("nothing_on_linux", &linux, &[]),
        ]
        .concat(),
    );
    for (name, says) in [
        (
            "keys_on_windows",
            ["`ssh_public_keys` is for Linux VMs", "\"win\" runs Windows"],
        ),
        (
            "remove_on_windows",
            ["`remove_user` is for Linux VMs", "\"win\" runs Windows"],
        ),
        ("nothing_on_linux", ["\"web\" runs Linux", "Windows-only"]),
    ] {
        let target = format!("-invoke=action.vm_access_reset.{name}");
        let plan = acc.run(&["plan", &target, "-no-color", "-input=false"]);
        plan.assert_failure();
        let text = plan.flat();
        for phrase in says {
            assert!(
                text.contains(phrase),
                "{name}: {phrase:?} not said:\n{plan}"
            );
        }
    }
    assert_eq!(acc.emu.count_requests("PUT", "/subscriptions/").await, 0);
}

// ---------------------------------------------------------------------------
// The list resource.
// ---------------------------------------------------------------------------

/// A mixed fleet in [`RESOURCE_GROUP`]: Windows and Linux VMs, each with and without its OS's
/// VMAccess extension, and a Linux VM with only a monitoring agent.
async fn seed_mixed_fleet(acc: &Acceptance) {
    let vm = |name: &str, os_type: OsType, extension: Option<(&str, ExtensionSeed)>| {
        let mut fleet_vm = FleetVm::new(RESOURCE_GROUP, name, os_type);
        if let Some((ext_name, seed)) = extension {
            fleet_vm.extensions.insert(ext_name.to_string(), seed);
        }
        fleet_vm
    };
    let windows_reset = ExtensionSeed {
        settings: Some(json!({"UserName": "ops"})),
        ..ExtensionSeed::default()
    };
    let monitoring = ExtensionSeed::of("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent", "1.0");
    let body = Fleet {
        vms: vec![
            vm(
                "win-ext",
                OsType::Windows,
                Some(("VMAccessAgent", windows_reset)),
            ),
            vm("win-bare", OsType::Windows, None),
            vm(
                "lin-ext",
                OsType::Linux,
                Some(("enablevmaccess", linux_vmaccess_seed())),
            ),
            vm("lin-bare", OsType::Linux, None),
            vm(
                "lin-mon",
                OsType::Linux,
                Some(("AzureMonitorLinuxAgent", monitoring)),
            ),
        ],
    };
    acc.emu.seed_fleet(&body).await;
    acc.tf.write_main("");
}

/// Writes `hcl` as the root module's query file and runs `terraform query` with `extra`.
fn query(acc: &Acceptance, hcl: &str, extra: &[&str]) -> TfOutput {
    acc.tf.write("query.tfquery.hcl", hcl);
    let mut args = vec!["query", "-no-color"];
    args.extend_from_slice(extra);
    acc.run(&args)
}

/// The results of each `list` block by its address: `(VM name, display name)`, sorted.
fn results(out: &TfOutput) -> BTreeMap<String, Vec<(String, String)>> {
    let mut by_list: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for message in out.json_lines() {
        if message["type"] != "list_resource_found" {
            continue;
        }
        let found = &message["list_resource_found"];
        by_list
            .entry(found["address"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push((
                found["identity"]["virtual_machine_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                found["display_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
    }
    for found in by_list.values_mut() {
        found.sort();
    }
    by_list
}

const MIXED_QUERY: &str = r#"
list "vm_access_reset" "both" {
  provider = vm
}

list "vm_access_reset" "linux" {
  provider = vm
  config {
    os_type = "Linux"
  }
}

list "vm_access_reset" "every_linux" {
  provider = vm
  config {
    os_type                       = "Linux"
    include_vms_without_extension = true
  }
}

list "vm_access_reset" "windows" {
  provider = vm
  config {
    os_type = "Windows"
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_lists_a_mixed_fleet_and_os_type_filters_it() {
    let acc = start_1_14("terraform query").await;
    seed_mixed_fleet(&acc).await;
    let out = query(&acc, MIXED_QUERY, &["-json"]);
    out.assert_success();
    let found = results(&out);
    let rg = RESOURCE_GROUP;
    let linux_ext = (
        "lin-ext".to_string(),
        format!("{rg}/lin-ext: enablevmaccess (Succeeded), Linux"),
    );
    let windows_ext = (
        "win-ext".to_string(),
        format!("{rg}/win-ext: VMAccessAgent (Succeeded), last reset ops"),
    );
    let get = |list: &str| found.get(list).cloned().unwrap_or_default();
    assert_eq!(
        get("list.vm_access_reset.both"),
        [linux_ext.clone(), windows_ext.clone()],
        "both OSes by default, only VMs with their OS's VMAccess extension:\n{out}"
    );
    assert_eq!(
        get("list.vm_access_reset.linux"),
        std::slice::from_ref(&linux_ext)
    );
    assert_eq!(
        get("list.vm_access_reset.every_linux"),
        [
            (
                "lin-bare".to_string(),
                format!("{rg}/lin-bare: no VMAccess extension, Linux")
            ),
            linux_ext,
            (
                "lin-mon".to_string(),
                format!("{rg}/lin-mon: no VMAccess extension, Linux")
            ),
        ],
        "{out}"
    );
    assert_eq!(get("list.vm_access_reset.windows"), [windows_ext]);

    // Any other OS is named before anything is read.
    let requests = acc.emu.requests().await.len();
    let out = query(
        &acc,
        "list \"vm_access_reset\" \"bad\" {\n  provider = vm\n  config {\n    os_type = \"Solaris\"\n  }\n}\n",
        &[],
    );
    out.assert_failure();
    let text = out.flat();
    assert!(
        text.contains("os_type") && text.contains("Solaris"),
        "{out}"
    );
    assert_eq!(acc.emu.requests().await.len(), requests, "nothing was read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_configuration_for_a_linux_vm_imports_and_plans_without_errors() {
    let acc = start_1_14("terraform query").await;
    seed_mixed_fleet(&acc).await;
    let out = query(
        &acc,
        "list \"vm_access_reset\" \"linux\" {\n  provider = vm\n  config {\n    os_type = \"Linux\"\n  }\n}\n",
        &["-generate-config-out=generated.tf"],
    );
    out.assert_success();
    let generated = std::fs::read_to_string(acc.tf.work_dir().join("generated.tf"))
        .unwrap_or_else(|e| panic!("no generated.tf ({e}):\n{out}"));
    eprintln!("--- generated.tf:\n{generated}");
    assert_eq!(generated.matches("import {").count(), 1, "{generated}");
    assert!(generated.contains("lin-ext"), "{generated}");

    let plan = acc.run(&["plan", "-no-color", "-input=false"]);
    plan.assert_success();
    assert!(!plan.flat().contains("Error"), "{plan}");
    assert!(plan.stdout.contains("1 to import"), "{plan}");
    let apply = acc.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    apply.assert_success();
    assert!(apply.stdout.contains("1 imported"), "{apply}");
    assert!(!apply.flat().contains("Error"), "{apply}");

    let address = generated
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("to")?.trim_start();
            rest.strip_prefix('=').map(str::trim)
        })
        .expect("the import's address")
        .to_string();
    let state = acc.state_values(&address);
    assert_eq!(state["os_type"], "Linux", "{state:#}");
    assert_eq!(state["extension_name"], "enablevmaccess", "{state:#}");
    assert_eq!(
        acc.emu.count_requests("PUT", "/extensions/").await,
        0,
        "importing a Linux VM's extension without a username runs nothing"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "the next plan is empty");
}

// ---------------------------------------------------------------------------
// Resource identity.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_identity_of_a_linux_extension_sets_os_type_and_reruns_it_in_place() {
    require_terraform(TerraformVersion(1, 12, 0), "resource identity");
    let acc = Acceptance::start().await;
    let key = ed25519_public_key("imported");
    let vm = acc
        .emu
        .seed_linux_vm(
            "web",
            LinuxGuestSeed {
                users: vec![LinuxUserSeed::new("azureuser", &[LOST_PUBLIC_KEY])],
                ..LinuxGuestSeed::default()
            },
        )
        .await;
    acc.emu
        .put_linux_vmaccess(&vm, "enablevmaccess", "az-cli-run-1")
        .await;
    let identity = json!({
        "subscription_id": vm.subscription_id(),
        "resource_group_name": vm.resource_group(),
        "virtual_machine_scale_set_name": null,
        "virtual_machine_name": vm.name(),
        "extension_name": "enablevmaccess",
    });
    let import = format!(
        "import {{\n  to = vm_access_reset.web\n  identity = {{\n    resource_group_name  = {}\n    virtual_machine_name = {}\n    extension_name       = \"enablevmaccess\"\n  }}\n}}\n",
        hcl_string(vm.resource_group()),
        hcl_string(vm.name())
    );
    let resource = reset_block(
        "web",
        &vm,
        &["username = \"azureuser\"", &ssh_public_keys_line(&[&key])],
    );
    acc.tf.write_main(&format!("{resource}\n{import}"));

    let plan = acc.plan_json(&[]);
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == "vm_access_reset.web"))
        .unwrap_or_else(|| panic!("no change: {plan:#}"));
    assert_eq!(
        change["change"]["importing"]["identity"], identity,
        "{change:#}"
    );
    assert_eq!(change["change"]["before"]["os_type"], "Linux", "{change:#}");
    assert_eq!(
        actions_of(&plan, "vm_access_reset.web"),
        ["update"],
        "imported, then run in place for the configured user"
    );

    acc.apply();
    let state = acc.run(&["show", "-json"]).assert_success().json();
    let resource = state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["address"] == "vm_access_reset.web"))
        .cloned()
        .unwrap_or_else(|| panic!("not in state: {state:#}"));
    assert_eq!(resource["values"]["os_type"], "Linux", "{resource:#}");
    assert_eq!(resource["identity"], identity, "{resource:#}");
    let names: Vec<String> = acc
        .emu
        .vm_view(&vm)
        .await
        .extensions
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["enablevmaccess"], "the extension was reused");
    assert_eq!(
        acc.emu.ssh_login_key(&vm, "azureuser", &key).await,
        Ok(()),
        "the key set after the import"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "converged after the import");
}
