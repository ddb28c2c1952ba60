//! Acceptance: the `vm_access_reset` lifecycle with the real terraform CLI
//! against the emulator, asserted on plans (`show -json`, `-detailed-exitcode`)
//! and on the VM itself (can the account log in, is Remote Desktop on).

use serde_json::json;
use terraform_provider_vm::azure::VirtualMachineId;
use vm_emulator::admin::ExtensionSeed;
use vm_emulator::{AccountSeed, ExtensionView, LoggedRequest, OsType, PowerState, VmSeed, VmView};
use vm_test_support::acceptance::{Acceptance, actions_of, reset_block};
use vm_test_support::azure_emulator::LOCKED_OUT_PASSWORD;
use vm_test_support::terraform::TfOutput;

const ADDR: &str = "vm_access_reset.web";

fn password_wo_config(vm: &VirtualMachineId) -> String {
    let vars = "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\nvariable \"ver\" {\n  type = number\n}\n";
    format!(
        "{vars}\n{}",
        reset_block(
            "web",
            vm,
            &[
                "username            = \"opsadmin\"",
                "password_wo         = var.pw",
                "password_wo_version = var.ver"
            ]
        )
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_wo_create_resets_the_password_and_then_plans_nothing() {
    let mut acc = Acceptance::start().await;
    let vm = acc.emu.seed_locked_out_vm("web").await;
    acc.tf.write_main(&password_wo_config(&vm));
    acc.tf
        .set_env("TF_VAR_pw", "Fresh-Passw0rd!2026")
        .set_env("TF_VAR_ver", "1");

    acc.apply();
    assert!(
        acc.emu.login(&vm, "opsadmin", "Fresh-Passw0rd!2026").await,
        "new password works"
    );
    assert!(
        !acc.emu.login(&vm, "opsadmin", LOCKED_OUT_PASSWORD).await,
        "old password no longer works"
    );

    assert_eq!(
        acc.plan_exit_code(&["-refresh=false"]),
        0,
        "no changes before refresh"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "no changes after refresh");
    assert_eq!(acc.planned_actions(ADDR), vec!["no-op"]);
}

// ---------------------------------------------------------------------------
// Helpers local to this file.
// ---------------------------------------------------------------------------

/// Saves a plan; returns its planned actions for `ADDR` and its human output (where
/// plan-time warnings appear).
fn plan_with_output(acc: &Acceptance) -> (Vec<String>, TfOutput) {
    let out = acc.run(&["plan", "-out=tfplan", "-no-color", "-input=false"]);
    out.assert_success();
    let plan = acc.run(&["show", "-json", "tfplan"]).json();
    (actions_of(&plan, ADDR), out)
}

/// Runs an apply that must fail; returns its output.
fn apply_failing(acc: &Acceptance) -> TfOutput {
    let out = acc.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    out.assert_failure();
    out
}

async fn vmaccess_runs(acc: &Acceptance, vm: &VirtualMachineId) -> u32 {
    acc.emu.vm_view(vm).await.vmaccess_runs
}

/// The VM's VMAccessAgent extensions, whatever their names.
async fn vmaccess_extensions(acc: &Acceptance, vm: &VirtualMachineId) -> Vec<ExtensionView> {
    let mut extensions = acc.emu.vm_view(vm).await.extensions;
    extensions
        .retain(|e| e.publisher == "Microsoft.Compute" && e.extension_type == "VMAccessAgent");
    extensions
}

/// VMAccess ran `runs` times in all on `vm`, and its extension ended Succeeded.
async fn assert_ran_and_succeeded(acc: &Acceptance, vm: &VirtualMachineId, runs: u32) {
    assert_eq!(vmaccess_runs(acc, vm).await, runs);
    let state = extension(acc, vm, "VMAccessAgent").await.provisioning_state;
    assert_eq!(state, "Succeeded");
}

/// The emulator's view of the extension named `name` on `vm`.
async fn extension(acc: &Acceptance, vm: &VirtualMachineId, name: &str) -> ExtensionView {
    let view = acc.emu.vm_view(vm).await;
    view.extensions
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| panic!("no extension {name}: {view:#?}"))
}

fn state_str(acc: &Acceptance, attr: &str) -> String {
    acc.state_values(ADDR)[attr]
        .as_str()
        .unwrap_or_else(|| panic!("{attr} is not a string in state"))
        .to_string()
}

/// The ARM requests that would change something (anything but GET).
async fn writes(acc: &Acceptance) -> Vec<LoggedRequest> {
    let mut requests = acc.emu.requests().await;
    requests.retain(|r| r.method != "GET" && r.path.contains("/subscriptions/"));
    requests
}

/// This file's VM: running Windows with a ready agent and the administrator `opsadmin`.
fn web_seed() -> VmSeed {
    VmSeed::windows([AccountSeed::new("opsadmin", "Initial-Passw0rd!")])
}

/// `vm_access_reset.web` with a stored `password` and extra lines.
fn password_config(
    vm: &VirtualMachineId,
    username: &str,
    password: &str,
    extra: &[&str],
) -> String {
    let user = format!("username = \"{username}\"");
    let pw = format!("password = \"{password}\"");
    let mut lines = vec![user.as_str(), pw.as_str()];
    lines.extend_from_slice(extra);
    reset_block("web", vm, &lines)
}

// ---------------------------------------------------------------------------
// Reruns asked for by the configuration.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bumping_password_wo_version_rotates_the_password_and_reapplying_changes_nothing() {
    let mut acc = Acceptance::start().await;
    let vm = acc.emu.seed_vm("web", &web_seed()).await;
    acc.tf.write_main(&password_wo_config(&vm));
    acc.tf
        .set_env("TF_VAR_pw", "First-Passw0rd!2026")
        .set_env("TF_VAR_ver", "1");
    acc.apply();
    let first_tag = state_str(&acc, "force_update_tag");
    assert_eq!(vmaccess_runs(&acc, &vm).await, 1);

    acc.tf
        .set_env("TF_VAR_pw", "Second-Passw0rd!2026")
        .set_env("TF_VAR_ver", "2");
    assert_eq!(acc.planned_actions(ADDR), vec!["update"]);
    acc.apply();

    assert!(acc.emu.login(&vm, "opsadmin", "Second-Passw0rd!2026").await);
    assert!(!acc.emu.login(&vm, "opsadmin", "First-Passw0rd!2026").await);
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);
    let second_tag = state_str(&acc, "force_update_tag");
    assert_ne!(
        second_tag, first_tag,
        "a rerun sends a fresh forceUpdateTag"
    );
    assert_eq!(
        extension(&acc, &vm, "VMAccessAgent").await.force_update_tag,
        Some(second_tag.clone()),
        "Azure holds the tag recorded in state"
    );

    // The same configuration again: nothing to do, nothing runs.
    assert_eq!(acc.planned_actions(ADDR), vec!["no-op"]);
    acc.apply();
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);
    assert_eq!(state_str(&acc, "force_update_tag"), second_tag);
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_triggers_or_the_stored_password_reruns_the_extension() {
    let acc = Acceptance::start().await;
    let vm = acc.emu.seed_vm("web", &web_seed()).await;
    // Each step: the stored password, the trigger, what the plan does, VMAccess runs so far.
    let steps = [
        ("Stored-Passw0rd!One", "1", "create", 1),
        // A new trigger value reruns with the same password.
        ("Stored-Passw0rd!One", "2", "update", 2),
        // A new stored password reruns and takes effect.
        ("Stored-Passw0rd!Two", "2", "update", 3),
    ];
    for (password, rotation, action, runs) in steps {
        let trigger = format!("triggers = {{ rotation = \"{rotation}\" }}");
        acc.tf
            .write_main(&password_config(&vm, "opsadmin", password, &[&trigger]));
        assert_eq!(acc.planned_actions(ADDR), vec![action]);
        acc.apply_and_settle(&vm, "opsadmin", password).await;
        assert_eq!(vmaccess_runs(&acc, &vm).await, runs);
    }
    assert!(!acc.emu.login(&vm, "opsadmin", "Stored-Passw0rd!One").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_that_does_not_exist_is_created_as_an_administrator() {
    let acc = Acceptance::start().await;
    let vm = acc
        .emu
        .seed_windows_vm_with("web", [AccountSeed::new("azureadmin", "Initial-Passw0rd!")])
        .await;
    assert!(acc.emu.vm_view(&vm).await.account("breakglass").is_none());

    acc.tf
        .write_main(&password_config(&vm, "breakglass", "Glass-Br3ak!Now", &[]));
    acc.apply();

    let view = acc.emu.vm_view(&vm).await;
    let account = view.account("breakglass").expect("the account was created");
    assert!(account.administrator);
    assert!(account.enabled);
    assert!(acc.emu.login(&vm, "breakglass", "Glass-Br3ak!Now").await);
    assert!(
        acc.emu.login(&vm, "azureadmin", "Initial-Passw0rd!").await,
        "the existing administrator is untouched"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_username_only_remote_desktop_is_restored() {
    let acc = Acceptance::start().await;
    let rdp_off = VmSeed {
        rdp_enabled: false,
        rdp_firewall_rule: false,
        ..web_seed()
    };
    let vm = acc.emu.seed_vm("web", &rdp_off).await;
    let before = acc.emu.vm_view(&vm).await;
    assert!(
        !acc.emu.login(&vm, "opsadmin", "Initial-Passw0rd!").await,
        "Remote Desktop is off before the reset"
    );

    acc.tf.write_main(&reset_block("web", &vm, &[]));
    acc.apply();

    let after = acc.emu.vm_view(&vm).await;
    assert!(after.rdp_enabled);
    assert!(after.rdp_firewall_rule);
    assert_eq!(after.vmaccess_runs, 1);
    let accounts = |view: &VmView| -> Vec<(String, bool, bool, u32)> {
        view.accounts
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    a.enabled,
                    a.administrator,
                    a.password_set_count,
                )
            })
            .collect()
    };
    assert_eq!(
        accounts(&after),
        accounts(&before),
        "accounts (and their password counts) are untouched"
    );
    assert!(acc.emu.login(&vm, "opsadmin", "Initial-Passw0rd!").await);
    assert!(acc.state_values(ADDR)["username"].is_null());
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

// ---------------------------------------------------------------------------
// Drift found on refresh.
// ---------------------------------------------------------------------------

/// A fresh acceptance fixture where `vm_access_reset.web` was created for opsadmin on VM "web".
async fn created() -> (Acceptance, VirtualMachineId) {
    let acc = Acceptance::start().await;
    let vm = acc.emu.seed_vm("web", &web_seed()).await;
    acc.tf
        .write_main(&password_config(&vm, "opsadmin", "Managed-Passw0rd!1", &[]));
    acc.apply();
    assert_eq!(vmaccess_runs(&acc, &vm).await, 1);
    (acc, vm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_deleted_out_of_band_is_created_again() {
    let (acc, vm) = created().await;
    acc.emu.delete_extension(&vm, "VMAccessAgent").await;
    assert!(vmaccess_extensions(&acc, &vm).await.is_empty());

    assert_eq!(acc.planned_actions(ADDR), vec!["create"]);
    acc.apply();
    assert_eq!(vmaccess_extensions(&acc, &vm).await.len(), 1);
    assert_ran_and_succeeded(&acc, &vm, 2).await;
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_extension_plans_a_rerun_with_a_warning() {
    let (acc, vm) = created().await;
    acc.emu
        .patch_extension(&vm, "VMAccessAgent", |p| {
            p.provisioning_state = Some("Failed".into());
            p.status_message = Some("Something broke.".into());
        })
        .await;

    let (actions, output) = plan_with_output(&acc);
    assert_eq!(actions, vec!["update"]);
    output.assert_mentions(&["Warning:", "will rerun the VMAccess extension", "Failed"]);

    acc.apply();
    assert_ran_and_succeeded(&acc, &vm, 2).await;
    assert_eq!(state_str(&acc, "provisioning_state"), "Succeeded");
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_rerun_by_someone_else_plans_a_rerun_with_a_warning() {
    let (acc, vm) = created().await;
    let ours = state_str(&acc, "force_update_tag");
    acc.emu
        .patch_extension(&vm, "VMAccessAgent", |p| {
            p.force_update_tag = Some("rerun-by-the-portal".into())
        })
        .await;

    let (actions, output) = plan_with_output(&acc);
    assert_eq!(actions, vec!["update"]);
    output.assert_mentions(&[
        "Warning:",
        "will rerun the VMAccess extension",
        "forceUpdateTag",
    ]);

    acc.apply();
    let tag = state_str(&acc, "force_update_tag");
    assert_ne!(tag, ours);
    assert_ne!(tag, "rerun-by-the-portal");
    assert_eq!(
        extension(&acc, &vm, "VMAccessAgent").await.force_update_tag,
        Some(tag.clone())
    );
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);
    acc.assert_settled(&vm, "opsadmin", "Managed-Passw0rd!1")
        .await;
}

// ---------------------------------------------------------------------------
// An extension already on the VM.
// ---------------------------------------------------------------------------

/// This file's VM with a VMAccess extension named `enablevmaccess` (as `seed` left it).
async fn with_enablevmaccess(seed: ExtensionSeed) -> (Acceptance, VirtualMachineId) {
    let acc = Acceptance::start().await;
    let vm = acc.emu.seed_vm("web", &web_seed()).await;
    acc.emu.put_extension(&vm, "enablevmaccess", &seed).await;
    (acc, vm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_enablevmaccess_extension_is_reused() {
    let (acc, vm) = with_enablevmaccess(ExtensionSeed {
        settings: Some(json!({"UserName": "opsadmin"})),
        ..ExtensionSeed::default()
    })
    .await;

    acc.tf
        .write_main(&password_config(&vm, "opsadmin", "Reused-Passw0rd!1", &[]));
    let output = acc.apply();
    output.assert_mentions(&[
        "Warning: Reusing the VM's existing VMAccess extension",
        "enablevmaccess",
    ]);

    let state = acc.state_values(ADDR);
    assert_eq!(state["extension_name"], "enablevmaccess");
    let id = state["id"].as_str().unwrap_or_default();
    assert!(id.ends_with("/extensions/enablevmaccess"), "{id}");
    let exts = vmaccess_extensions(&acc, &vm).await;
    assert_eq!(
        exts.len(),
        1,
        "still exactly one VMAccess extension: {exts:?}"
    );
    assert_eq!(exts[0].name, "enablevmaccess");
    acc.assert_settled(&vm, "opsadmin", "Reused-Passw0rd!1")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_extension_name_is_refused_with_one_per_vm_advice() {
    let (acc, vm) = with_enablevmaccess(ExtensionSeed::default()).await;

    acc.tf.write_main(&password_config(
        &vm,
        "opsadmin",
        "Other-Passw0rd!1",
        &["extension_name = \"other\""],
    ));
    let output = apply_failing(&acc);
    output.assert_mentions(&[
        "The VM already has a VMAccess extension under another name",
        "\"enablevmaccess\"",
        "can have only one",
        "Remove `extension_name`",
        "extension_name = \"other\"",
    ]);
    assert!(writes(&acc).await.is_empty(), "nothing was sent to Azure");
    let exts = vmaccess_extensions(&acc, &vm).await;
    assert_eq!(exts.len(), 1);
    assert_eq!(exts[0].name, "enablevmaccess");
    assert!(acc.state_values(ADDR).is_null());
}

// ---------------------------------------------------------------------------
// VMs the extension cannot run on.
// ---------------------------------------------------------------------------

/// Applies a password reset on this file's VM after `change` to its seed, and returns the
/// failed apply's output, after checking nothing was written to Azure.
async fn failing_create(change: impl FnOnce(&mut VmSeed)) -> TfOutput {
    let acc = Acceptance::start().await;
    let mut seed = web_seed();
    change(&mut seed);
    let vm = acc.emu.seed_vm("web", &seed).await;
    acc.tf
        .write_main(&password_config(&vm, "opsadmin", "Never-Passw0rd!1", &[]));
    let output = apply_failing(&acc);
    assert!(
        writes(&acc).await.is_empty(),
        "preflight stops before any PUT"
    );
    assert_eq!(vmaccess_runs(&acc, &vm).await, 0);
    assert!(acc.state_values(ADDR).is_null(), "nothing in state");
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_vm_is_refused_with_advice_to_start_it() {
    let output = failing_create(|vm| vm.power_state = PowerState::Deallocated).await;
    output.assert_mentions(&["Error: The VM is not running", "deallocated", "start it"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_desktop_reset_on_a_linux_vm_is_refused_at_plan_naming_the_os() {
    let acc = Acceptance::start().await;
    let mut seed = web_seed();
    seed.os_type = OsType::Linux;
    let vm = acc.emu.seed_vm("web", &seed).await;
    // No `username`: a Remote Desktop reset on Windows, nothing at all on Linux.
    acc.tf.write_main(&reset_block("web", &vm, &[]));
    let output = apply_failing(&acc);
    output.assert_mentions(&[
        "Error: Nothing to reset on a Linux VM",
        "runs Linux",
        "Windows-only",
        "reset_ssh",
    ]);
    assert!(writes(&acc).await.is_empty(), "refused before any PUT");
    assert!(acc.state_values(ADDR).is_null(), "nothing in state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_is_not_ready_is_refused_with_its_status_message() {
    let output = failing_create(|vm| {
        vm.agent_ready = false;
        vm.agent_status_message = Some("VM Agent has not reported for 17 minutes.".into());
    })
    .await;
    output.assert_mentions(&[
        "Error: The VM agent is not ready",
        "VM Agent has not reported for 17 minutes.",
        "virtual_machine_id",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_vm_is_an_error_on_virtual_machine_id() {
    let acc = Acceptance::start().await;
    let vm = VirtualMachineId::new(acc.emu.subscription_id(), "rg-test", "nowhere");
    let main = acc
        .tf
        .write_main(&password_config(&vm, "opsadmin", "Never-Passw0rd!1", &[]));
    let output = apply_failing(&acc);
    let line = vm_test_support::terraform::line_of(&main, "virtual_machine_id");
    output.assert_mentions(&[
        "Error: Virtual machine not found",
        "nowhere",
        &format!("on main.tf line {line}"),
        "virtual_machine_id = ",
    ]);
    assert!(writes(&acc).await.is_empty());
    assert!(acc.state_values(ADDR).is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_password_or_handler_version_1_fails_at_plan_without_calling_azure() {
    let acc = Acceptance::start().await;
    let vm = acc.emu.seed_vm("web", &web_seed()).await;

    acc.tf
        .write_main(&password_config(&vm, "opsadmin", "alllowercase1", &[]));
    let out = acc.run(&["plan", "-no-color", "-input=false"]);
    out.assert_failure();
    out.assert_mentions(&["Error: Password does not meet Azure's rules", "three of"]);
    apply_failing(&acc);

    acc.tf.write_main(&password_config(
        &vm,
        "opsadmin",
        "Good-Passw0rd!123",
        &["type_handler_version = \"1.5\""],
    ));
    let out = acc.run(&["plan", "-no-color", "-input=false"]);
    out.assert_failure();
    out.assert_mentions(&["Error: Unsupported handler version", "1.5", "deprecated"]);
    apply_failing(&acc);

    let puts: Vec<_> = acc
        .emu
        .requests()
        .await
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert!(puts.is_empty(), "no PUT reached ARM: {puts:?}");
    assert_eq!(vmaccess_runs(&acc, &vm).await, 0);
    assert!(acc.emu.login(&vm, "opsadmin", "Initial-Passw0rd!").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_on_a_domain_controller_is_tainted_and_the_next_apply_converges() {
    let acc = Acceptance::start().await;
    let vm = acc
        .emu
        .seed_vm(
            "dc",
            &VmSeed {
                domain_controller: true,
                ..web_seed()
            },
        )
        .await;
    acc.tf
        .write_main(&password_config(&vm, "opsadmin", "Domain-Passw0rd!1", &[]));

    let output = apply_failing(&acc);
    output.assert_mentions(&[
        "Error: The VMAccess extension failed on the VM",
        "VMAccess Extension does not support Domain Controller",
    ]);
    let shown = acc.run(&["show", "-json"]).json();
    let resource = shown["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == ADDR))
        .cloned()
        .expect("the failed create stays in state");
    assert_eq!(
        resource["tainted"],
        json!(true),
        "tainted in show -json: {resource}"
    );
    assert!(
        acc.state_file().contains("\"status\": \"tainted\""),
        "tainted in the state file"
    );
    assert_eq!(resource["values"]["provisioning_state"], "Failed");
    assert!(!acc.emu.login(&vm, "opsadmin", "Domain-Passw0rd!1").await);

    acc.emu
        .patch_vm(&vm, |p| p.domain_controller = Some(false))
        .await;
    assert_eq!(acc.planned_actions(ADDR), vec!["delete", "create"]);
    acc.apply();
    assert!(acc.emu.login(&vm, "opsadmin", "Domain-Passw0rd!1").await);
    assert_eq!(state_str(&acc, "provisioning_state"), "Succeeded");
    assert!(!acc.state_file().contains("tainted"));
    assert_eq!(vmaccess_extensions(&acc, &vm).await.len(), 1);
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

// ---------------------------------------------------------------------------
// Changes that must not rerun anything.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_only_settings_update_state_without_rerunning_the_extension() {
    let (acc, vm) = created().await;
    let tag = state_str(&acc, "force_update_tag");
    let last_run = state_str(&acc, "last_run_at");
    let writes_before = writes(&acc).await.len();

    let steps: [&[&str]; 2] = [
        &["remove_extension_on_destroy = false"],
        &[
            "remove_extension_on_destroy = false",
            "timeouts {\n    update = \"45m\"\n  }",
        ],
    ];
    for extra in steps {
        acc.tf.write_main(&password_config(
            &vm,
            "opsadmin",
            "Managed-Passw0rd!1",
            extra,
        ));
        let (actions, output) = plan_with_output(&acc);
        assert_eq!(actions, vec!["update"], "{extra:?}");
        assert!(
            !output.flat().contains("will rerun"),
            "no drift warning: {output}"
        );
        acc.apply();
        assert_eq!(
            vmaccess_runs(&acc, &vm).await,
            1,
            "{extra:?} reran the extension"
        );
        assert_eq!(state_str(&acc, "force_update_tag"), tag);
        assert_eq!(state_str(&acc, "last_run_at"), last_run);
        assert_eq!(
            extension(&acc, &vm, "VMAccessAgent").await.force_update_tag,
            Some(tag.clone())
        );
        assert_eq!(
            writes(&acc).await.len(),
            writes_before,
            "nothing sent to Azure"
        );
        assert_eq!(acc.plan_exit_code(&[]), 0);
    }
    let state = acc.state_values(ADDR);
    assert_eq!(state["remove_extension_on_destroy"], json!(false));
    assert_eq!(state["timeouts"]["update"], "45m");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_machine_id_in_another_casing_plans_no_change() {
    let (acc, vm) = created().await;
    let canonical = vm.to_string();
    assert!(canonical.contains("/resourceGroups/"));
    let lowered = canonical
        .replace("/resourceGroups/", "/resourcegroups/")
        .replace("/virtualMachines/", "/VirtualMachines/");
    acc.tf.write_main(&format!(
        "resource \"vm_access_reset\" \"web\" {{\n  virtual_machine_id = \"{lowered}\"\n  username = \"opsadmin\"\n  password = \"Managed-Passw0rd!1\"\n}}\n"
    ));

    assert_eq!(acc.plan_exit_code(&[]), 0);
    assert_eq!(acc.planned_actions(ADDR), vec!["no-op"]);
    acc.apply();
    assert_eq!(vmaccess_runs(&acc, &vm).await, 1);
    assert_eq!(
        acc.state_values(ADDR)["virtual_machine_id"],
        json!(canonical)
    );
}

// ---------------------------------------------------------------------------
// Replacement.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_to_another_vm_or_extension_name_replaces_the_resource() {
    let (acc, first) = created().await;
    let second = acc.emu.seed_vm("web2", &web_seed()).await;

    acc.tf.write_main(&password_config(
        &second,
        "opsadmin",
        "Managed-Passw0rd!1",
        &[],
    ));
    assert_eq!(acc.planned_actions(ADDR), vec!["delete", "create"]);
    acc.apply();
    assert!(
        vmaccess_extensions(&acc, &first).await.is_empty(),
        "the old VM's extension is removed"
    );
    assert_eq!(vmaccess_extensions(&acc, &second).await.len(), 1);
    assert!(
        acc.emu
            .login(&second, "opsadmin", "Managed-Passw0rd!1")
            .await
    );

    acc.tf.write_main(&password_config(
        &second,
        "opsadmin",
        "Managed-Passw0rd!1",
        &["extension_name = \"ResetAccess\""],
    ));
    assert_eq!(acc.planned_actions(ADDR), vec!["delete", "create"]);
    acc.apply();
    let names: Vec<String> = vmaccess_extensions(&acc, &second)
        .await
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["ResetAccess"]);
    assert_eq!(acc.plan_exit_code(&[]), 0);
}
