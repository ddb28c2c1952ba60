//! Acceptance: resource identity of `vm_access_reset` with the real terraform
//! CLI against the emulator. Identity needs Terraform 1.12 or later, so
//! every test here first checks the version of the binary it was given
//! (`TF_ACC_TERRAFORM_PATH`, else `terraform` on PATH) and fails, never
//! skips, when it is older. The upgrade test also runs Terraform 1.11
//! (`TF_ACC_TERRAFORM_OLD_PATH`, else `terraform` on PATH).

use std::path::PathBuf;
use vm_emulator::admin::ExtensionSeed;

use serde_json::{Value, json};
use terraform_provider_vm::azure::VirtualMachineId;
use vm_test_support::acceptance::{Acceptance, actions_of, reset_block};
use vm_test_support::terraform::{
    TerraformVersion, hcl_string, older_terraform, require_terraform, terraform_binary,
};

const ADDR: &str = "vm_access_reset.web";
const USER: &str = "opsadmin";
const PW: &str = "Identity-Passw0rd!2026";

const VARS: &str = "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\nvariable \"ver\" {\n  type = number\n}\n";

/// Fails the test loudly unless the configured terraform has identity.
fn require_identity_terraform() {
    require_terraform(TerraformVersion(1, 12, 0), "resource identity");
}

/// Terraform 1.11 (no identity) for the state-upgrade test.
fn old_terraform() -> PathBuf {
    older_terraform(
        TerraformVersion(1, 12, 0),
        "the state-upgrade test (state without identity)",
    )
}

fn config(vm: &VirtualMachineId, extra_hcl: &str) -> String {
    let block = reset_block(
        "web",
        vm,
        &[
            "username            = \"opsadmin\"",
            "password_wo         = var.pw",
            "password_wo_version = var.ver",
        ],
    );
    format!("{VARS}\n{block}\n{extra_hcl}")
}

fn import_by_identity(lines: &[&str]) -> String {
    let body: String = lines.iter().map(|l| format!("    {l}\n")).collect();
    format!("import {{\n  to = {ADDR}\n  identity = {{\n{body}  }}\n}}\n")
}

async fn setup() -> (Acceptance, VirtualMachineId) {
    require_identity_terraform();
    let mut acc = Acceptance::start().await;
    let vm = acc.emu.seed_locked_out_vm("web").await;
    acc.tf.set_env("TF_VAR_pw", PW).set_env("TF_VAR_ver", "1");
    (acc, vm)
}

/// The resource in `terraform show -json` state (with `identity`).
fn state_resource(acc: &Acceptance) -> Value {
    let state = acc.run(&["show", "-json"]).assert_success().json();
    state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["address"] == ADDR).cloned())
        .unwrap_or_else(|| panic!("{ADDR} not in state: {state:#}"))
}

fn identity_of(vm: &VirtualMachineId, extension: &str) -> Value {
    json!({
        "subscription_id": vm.subscription_id(),
        "resource_group_name": vm.resource_group(),
        "virtual_machine_scale_set_name": null,
        "virtual_machine_name": vm.name(),
        "extension_name": extension,
    })
}

/// Identity as expected in `show -json`, and no secret anywhere in state.
fn assert_identity(acc: &Acceptance, vm: &VirtualMachineId, extension: &str) {
    let resource = state_resource(acc);
    assert_eq!(
        resource["identity"],
        identity_of(vm, extension),
        "{resource:#}"
    );
    assert_eq!(resource["identity_schema_version"], 2, "{resource:#}");
    let state = acc.state_file();
    for secret in [PW, acc.emu.client_secret()] {
        assert!(!state.contains(secret), "a secret reached the state file");
    }
}

/// Nothing but the dev_overrides warning every test run prints.
fn assert_no_warnings(out: &vm_test_support::terraform::TfOutput) {
    let text = format!("{}{}", out.stdout, out.stderr);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("Warning:") && !l.contains("Provider development overrides are in effect")
        })
        .collect();
    assert!(
        warnings.is_empty(),
        "unexpected warnings {warnings:?}:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_identity_adopts_the_portal_extension_found_by_default() {
    let (acc, vm) = setup().await;
    // What the portal's "Reset password" leaves behind.
    acc.emu.put_portal_reset(&vm, "enablevmaccess").await;
    let import = import_by_identity(&[
        &format!("resource_group_name  = {}", hcl_string(vm.resource_group())),
        &format!("virtual_machine_name = {}", hcl_string(vm.name())),
    ]);
    acc.tf.write_main(&config(&vm, &import));

    let plan = acc.plan_json(&[]);
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == ADDR))
        .unwrap_or_else(|| panic!("no change for {ADDR}: {plan:#}"));
    // The defaults resolved: the provider's subscription, the portal's name.
    let want = identity_of(&vm, "enablevmaccess");
    assert_eq!(
        change["change"]["importing"]["identity"], want,
        "{change:#}"
    );
    assert_eq!(change["change"]["after_identity"], want, "{change:#}");
    assert_eq!(
        change["change"]["before"]["id"],
        vm.extension("enablevmaccess").to_string()
    );
    assert_eq!(
        actions_of(&plan, ADDR),
        ["update"],
        "imported, then rerun in place"
    );

    acc.apply();
    let view = acc.emu.vm_view(&vm).await;
    let extensions = &view.extensions;
    assert_eq!(
        extensions.len(),
        1,
        "the portal's extension was reused: {view:#?}"
    );
    assert_eq!(extensions[0].name, "enablevmaccess");
    assert!(acc.emu.login(&vm, USER, PW).await, "the new password works");
    assert_identity(&acc, &vm, "enablevmaccess");
    assert_eq!(acc.plan_exit_code(&[]), 0, "converged after the import");
}

/// `examples/resources/vm_access_reset/import-identity.tf` as the docs show
/// it (VM `web01` in `rg-web`), with the provider and resource examples.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_identity_example_adopts_the_vms_extension() {
    require_identity_terraform();
    let mut acc = Acceptance::start().await;
    let vm = acc.emu.seed_locked_out_vm_in("rg-web", "web01").await;
    acc.emu
        .put_extension(
            &vm,
            "enablevmaccess",
            &ExtensionSeed {
                settings: Some(json!({"UserName": USER})),
                ..ExtensionSeed::default()
            },
        )
        .await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "examples/provider/provider.tf",
        "examples/resources/vm_access_reset/resource.tf",
        "examples/resources/vm_access_reset/import-identity.tf",
    ] {
        let name = std::path::Path::new(file)
            .file_name()
            .unwrap()
            .to_string_lossy();
        let text = std::fs::read_to_string(root.join(file)).expect("read the example");
        acc.tf.write(&name, &text);
    }
    acc.tf
        .set_env("TF_VAR_virtual_machine_id", &vm.to_string())
        .set_env("TF_VAR_admin_password", PW);
    acc.run(&["validate", "-no-color"]).assert_success();
    let plan = acc.plan_json(&[]);
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == "vm_access_reset.example"))
        .unwrap_or_else(|| panic!("no change: {plan:#}"));
    assert_eq!(
        change["change"]["importing"]["identity"],
        identity_of(&vm, "enablevmaccess"),
        "{change:#}"
    );
    acc.apply_and_settle(&vm, USER, PW).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_full_identity_and_show_json_after_create() {
    let (acc, vm) = setup().await;
    // Created by this provider: the identity is in state right away.
    acc.tf.write_main(&config(&vm, ""));
    acc.apply();
    assert_identity(&acc, &vm, "VMAccessAgent");

    // Forgotten, then imported again by a fully spelt identity.
    acc.run(&["state", "rm", ADDR]).assert_success();
    let import = import_by_identity(&[
        &format!(
            "subscription_id      = {}",
            hcl_string(vm.subscription_id())
        ),
        &format!("resource_group_name  = {}", hcl_string(vm.resource_group())),
        &format!("virtual_machine_name = {}", hcl_string(vm.name())),
        "extension_name       = \"VMAccessAgent\"",
    ]);
    acc.tf.write_main(&config(&vm, &import));
    acc.apply();
    assert_identity(&acc, &vm, "VMAccessAgent");
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_identities_fail_with_the_attribute_named() {
    let (acc, vm) = setup().await;
    acc.emu.put_monitoring_agent(&vm, "monitor").await;
    let rg = format!("resource_group_name  = {}", hcl_string(vm.resource_group()));
    let name = format!("virtual_machine_name = {}", hcl_string(vm.name()));
    // (A VM without a VMAccess extension and no `extension_name` is adopted, not an error:
    // acceptance_query covers it.)
    let cases: [(&str, Vec<&str>, &str); 4] = [
        ("missing", vec![rg.as_str()], "virtual_machine_name"),
        (
            "malformed",
            vec!["resource_group_name  = \"rg/oops\"", name.as_str()],
            "resource_group_name",
        ),
        (
            "no such VM",
            vec![rg.as_str(), "virtual_machine_name = \"nosuchvm\""],
            "virtual_machine_name",
        ),
        (
            "another kind of extension",
            vec![rg.as_str(), name.as_str(), "extension_name = \"monitor\""],
            "extension_name",
        ),
    ];
    for (case, lines, attr) in cases {
        acc.tf.write_main(&config(&vm, &import_by_identity(&lines)));
        let out = acc.run(&["plan", "-no-color", "-input=false"]);
        out.assert_failure();
        eprintln!("--- {case}:\n{}", out.stderr);
        assert!(out.stderr.contains("Error"), "{case}: {out}");
        assert!(
            out.stderr.contains(attr),
            "{case}: the error names {attr}:\n{out}"
        );
        assert!(!out.stderr.contains("panic"), "{case}: {out}");
        for secret in [PW, acc.emu.client_secret()] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{case}"
            );
        }
    }
    assert_eq!(acc.state_file(), "", "nothing was imported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_from_terraform_1_11_gains_identity_silently_on_refresh() {
    let (mut acc, vm) = setup().await;
    let old = old_terraform();
    let new = terraform_binary();
    acc.tf.write_main(&config(&vm, ""));

    acc.tf.use_terraform(old);
    acc.apply();
    let state: Value = serde_json::from_str(&acc.state_file()).expect("state JSON");
    let instance = &state["resources"][0]["instances"][0];
    assert!(
        instance.get("identity").is_none(),
        "1.11 stores no identity: {instance:#}"
    );

    acc.tf.use_terraform(new);
    // The first plan under 1.15 upgrades and refreshes: nothing to do, and
    // nothing said about it.
    let out = acc.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_no_warnings(&out);
    let out = acc.run(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-no-color",
        "-input=false",
    ]);
    out.assert_success();
    assert_no_warnings(&out);
    assert_identity(&acc, &vm, "VMAccessAgent");
    assert_eq!(acc.emu.vm_view(&vm).await.vmaccess_runs, 1, "no rerun");
}
