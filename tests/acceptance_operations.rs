//! Acceptance: `vm_access_reset` under operational conditions, with the real
//! terraform CLI against the emulator — transient Azure faults during apply,
//! import (CLI and `import` blocks), destroy in its awkward cases, an
//! interrupted apply, secrets kept out of state/plans/logs, and a fleet of
//! 50 VMs under throttling.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use terraform_provider_vm::azure::VirtualMachineId;
use vm_emulator::{
    AccountSeed, AccountView, BucketSpec, DEFAULT_GITHUB_REQUEST_TOKEN,
    DEFAULT_PIPELINES_ACCESS_TOKEN, FaultAction, FaultSpec, LoggedRequest, PowerState,
    ThrottleSettings, VmView,
};
use vm_test_support::acceptance::{Acceptance, actions_of, reset_block};
use vm_test_support::azure_emulator::PORTAL_TAG;
use vm_test_support::certificates::IssuedCertificate;
use vm_test_support::secrets::{Traced, assert_clean, find_token};
use vm_test_support::terraform::{TfOutput, hcl_string, terraform_binary};

const ADDR: &str = "vm_access_reset.web";
const USER: &str = "opsadmin";
const OLD_PW: &str = vm_test_support::azure_emulator::LOCKED_OUT_PASSWORD;
const PW: &str = "Fresh-Passw0rd!2026";
const APPLY: &[&str] = &["apply", "-auto-approve", "-no-color", "-input=false"];
const PLAN_TO_FILE: &[&str] = &["plan", "-out=tfplan", "-no-color", "-input=false"];
const SHOW_PLAN_FILE: &[&str] = &["show", "-json", "tfplan"];
/// A saved plan applies without asking.
const APPLY_PLAN_FILE: &[&str] = &["apply", "-no-color", "-input=false", "tfplan"];

const VARS: &str = "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\nvariable \"ver\" {\n  type = number\n}\n";

/// `vm_access_reset.web` on `vm` with `password_wo`, plus extra lines
/// (e.g. a `lifecycle` block) and extra top-level HCL (e.g. an `import` block).
fn wo_config(vm: &VirtualMachineId, extra_lines: &[&str], extra_hcl: &str) -> String {
    let mut lines = vec![
        "username            = \"opsadmin\"",
        "password_wo         = var.pw",
        "password_wo_version = var.ver",
    ];
    lines.extend_from_slice(extra_lines);
    format!("{VARS}\n{}\n{extra_hcl}", reset_block("web", vm, &lines))
}

/// An acceptance dir with VM "web" (account `opsadmin` disabled, with a
/// forgotten password) and the `password_wo` configuration written.
async fn wo_setup() -> (Acceptance, VirtualMachineId) {
    let mut acc = Acceptance::start().await;
    let vm = acc.emu.seed_locked_out_vm("web").await;
    acc.tf.write_main(&wo_config(&vm, &[], ""));
    acc.tf.set_env("TF_VAR_pw", PW).set_env("TF_VAR_ver", "1");
    (acc, vm)
}

fn account<'a>(view: &'a VmView, name: &str) -> &'a AccountView {
    view.account(name)
        .unwrap_or_else(|| panic!("no account {name} in {view:#?}"))
}

/// The logged requests with `method` whose path contains `fragment` (case-insensitively).
fn matching<'a>(log: &'a [LoggedRequest], method: &str, fragment: &str) -> Vec<&'a LoggedRequest> {
    let fragment = fragment.to_ascii_lowercase();
    log.iter()
        .filter(|r| r.method == method && r.path.to_ascii_lowercase().contains(&fragment))
        .collect()
}

/// No request of `method` to a path containing `fragment` is in the log (`why` says what that
/// proves).
fn assert_none_sent(log: &[LoggedRequest], method: &str, fragment: &str, why: &str) {
    let sent = matching(log, method, fragment);
    assert!(sent.is_empty(), "{why}: {method} {fragment} sent {sent:?}");
}

/// What tells a rerun from a state-only update: the run's tag in state and the PUTs Azure
/// received.
struct RunMark {
    tag: serde_json::Value,
    puts: usize,
}

impl RunMark {
    async fn now(acc: &Acceptance) -> RunMark {
        let tag = acc.state_values(ADDR)["force_update_tag"].clone();
        let puts = matching(&acc.emu.requests().await, "PUT", "/extensions/").len();
        RunMark { tag, puts }
    }

    /// Nothing ran since the mark: the same tag in state and no PUT sent.
    async fn assert_no_rerun(&self, acc: &Acceptance, why: &str) {
        let now = RunMark::now(acc).await;
        assert_eq!(now.tag, self.tag, "no rerun: {why}");
        assert_eq!(now.puts, self.puts, "{why}");
    }
}

fn statuses(requests: &[&LoggedRequest]) -> Vec<Option<u16>> {
    requests.iter().map(|r| r.status).collect()
}

fn run_ok(acc: &Acceptance, args: &[&str]) -> TfOutput {
    let out = acc.run(args);
    out.assert_success();
    out
}

fn destroy(acc: &Acceptance, extra: &[&str]) -> TfOutput {
    let mut args = vec!["destroy", "-auto-approve", "-no-color", "-input=false"];
    args.extend_from_slice(extra);
    run_ok(acc, &args)
}

fn state_resource_count(acc: &Acceptance) -> usize {
    let state: Value = serde_json::from_str(&acc.state_file()).unwrap_or(Value::Null);
    state["resources"].as_array().map_or(0, Vec::len)
}

// ---------------------------------------------------------------------------
// 7. Transient faults during apply
// ---------------------------------------------------------------------------

/// Arms `fault`, applies, and checks the apply converged on the VM: the new
/// password works, the old does not, the account is enabled, VMAccess ran
/// exactly once, and the fault was used up. Returns the request log.
async fn apply_through_fault(fault: FaultSpec) -> Vec<LoggedRequest> {
    let (acc, vm) = wo_setup().await;
    let before = acc.emu.vm_view(&vm).await;
    acc.emu.add_fault(&fault).await;

    acc.apply();

    assert!(
        acc.emu.faults_used_up().await,
        "the fault fired and was used up"
    );
    let after = acc.emu.vm_view(&vm).await;
    assert!(acc.emu.login(&vm, USER, PW).await, "new password works");
    assert!(
        !acc.emu.login(&vm, USER, OLD_PW).await,
        "old password is gone"
    );
    assert!(account(&after, USER).enabled, "account enabled");
    assert!(
        account(&after, USER).password_set_count > account(&before, USER).password_set_count,
        "the guest's password was set: {after:#?}"
    );
    assert_eq!(after.vmaccess_runs, 1, "VMAccess ran exactly once");
    let ext = &after.extensions;
    assert_eq!(ext.len(), 1, "one extension: {after:#?}");
    assert_eq!(ext[0].provisioning_state, "Succeeded");
    assert_eq!(
        acc.state_values(ADDR)["provisioning_state"],
        "Succeeded",
        "state records the success"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "converged: nothing to do next");
    acc.emu.requests().await
}

fn extension_put_fault(action: FaultAction) -> FaultSpec {
    FaultSpec::new(action).on("PUT", "/extensions/VMAccessAgent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_extension_put_with_retry_after_is_retried_and_the_password_works() {
    let log = apply_through_fault(extension_put_fault(FaultAction::status_retry_after(
        429, "1",
    )))
    .await;
    let puts = matching(&log, "PUT", "/extensions/");
    assert_eq!(
        statuses(&puts),
        vec![Some(429), Some(201)],
        "one throttled PUT, then the retry created the extension"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_extension_put_is_retried_and_the_password_works() {
    let log = apply_through_fault(extension_put_fault(FaultAction::status(503))).await;
    let puts = matching(&log, "PUT", "/extensions/");
    assert_eq!(statuses(&puts), vec![Some(503), Some(201)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_extension_put_is_retried_and_the_password_works() {
    let log = apply_through_fault(extension_put_fault(FaultAction::status(409))).await;
    let puts = matching(&log, "PUT", "/extensions/");
    assert_eq!(statuses(&puts), vec![Some(409), Some(201)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_on_extension_put_is_retried_and_the_password_works() {
    let log = apply_through_fault(extension_put_fault(FaultAction::DropConnection)).await;
    let puts = matching(&log, "PUT", "/extensions/");
    assert_eq!(
        statuses(&puts),
        vec![None, Some(201)],
        "the first PUT got no answer (dropped), the retry created the extension"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_on_vm_get_is_retried_and_the_password_works() {
    let fault = FaultSpec::new(FaultAction::DropConnection).on("GET", "/virtualMachines/web");
    let log = apply_through_fault(fault).await;
    let vm_gets: Vec<&LoggedRequest> = matching(&log, "GET", "/virtualMachines/web")
        .into_iter()
        .filter(|r| {
            r.path
                .to_ascii_lowercase()
                .ends_with("/virtualmachines/web")
        })
        .collect();
    assert!(
        statuses(&vm_gets).starts_with(&[None, Some(200)]),
        "the first VM GET was dropped, the retry read the VM: {vm_gets:#?}"
    );
}

// ---------------------------------------------------------------------------
// 8. Import
// ---------------------------------------------------------------------------

const IGNORE_VERSION: &str = "lifecycle {\n    ignore_changes = [password_wo_version]\n  }";

/// The same configuration with `pw` ephemeral but not marked sensitive.
fn not_sensitive(config: String) -> String {
    let out = config.replace("  sensitive = true\n", "");
    assert_ne!(out, config);
    out
}

fn change_of(plan: &Value, address: &str) -> Value {
    plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == address))
        .unwrap_or_else(|| panic!("no change for {address} in {plan:#}"))["change"]
        .clone()
}

fn is_replace(actions: &[String]) -> bool {
    actions.iter().any(|a| a == "delete") && actions.iter().any(|a| a == "create")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_import_plans_only_an_in_place_rerun_and_nothing_when_the_version_is_ignored() {
    let (acc, vm) = wo_setup().await;
    acc.apply();
    let id = acc.state_values(ADDR)["id"]
        .as_str()
        .expect("id in state")
        .to_string();
    assert_eq!(id, vm.extension("VMAccessAgent").to_string());
    run_ok(&acc, &["state", "rm", ADDR]);
    assert_eq!(state_resource_count(&acc), 0);

    run_ok(&acc, &["import", "-no-color", "-input=false", ADDR, &id]);
    let imported = acc.state_values(ADDR);
    assert_eq!(imported["id"], id.as_str());
    assert_eq!(imported["virtual_machine_id"], vm.to_string());
    assert_eq!(imported["username"], USER);
    assert_eq!(imported["extension_name"], "VMAccessAgent");
    assert_eq!(imported["provisioning_state"], "Succeeded");

    // password_wo_version cannot be imported: the one documented difference.
    let plan = acc.plan_json(&[]);
    assert_eq!(
        actions_of(&plan, ADDR),
        vec!["update"],
        "in place, not a replacement"
    );
    let change = change_of(&plan, ADDR);
    assert!(
        change["before"]["password_wo_version"].is_null(),
        "{change:#}"
    );
    assert_eq!(change["after"]["password_wo_version"], 1);
    assert_eq!(
        change["before"]["virtual_machine_id"], change["after"]["virtual_machine_id"],
        "the VM is the same"
    );

    // With the version ignored there is nothing left to change…
    acc.tf
        .write_main(&not_sensitive(wo_config(&vm, &[IGNORE_VERSION], "")));
    assert_eq!(
        acc.plan_exit_code(&[]),
        0,
        "ignoring password_wo_version leaves nothing to do"
    );
    // …but a *sensitive* ephemeral variable marks `password_wo`, and an
    // imported state carries no marks: Terraform then plans an update of the
    // marks alone (nothing visible changes). Applying it must not rerun the
    // extension, and leaves nothing to do.
    acc.tf.write_main(&wo_config(&vm, &[IGNORE_VERSION], ""));
    let plan = acc.plan_json(&[]);
    let change = change_of(&plan, ADDR);
    assert_eq!(
        change["before"], change["after"],
        "no attribute changes: {change:#}"
    );
    assert!(!is_replace(&actions_of(&plan, ADDR)), "{change:#}");
    let before = RunMark::now(&acc).await;
    acc.apply();
    before.assert_no_rerun(&acc, "nothing sent to Azure").await;
    assert_eq!(acc.emu.vm_view(&vm).await.vmaccess_runs, 1);
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_block_adopts_a_portal_extension_and_reruns_it_in_place() {
    let (acc, vm) = wo_setup().await;
    // What the portal's "Reset password" leaves behind.
    acc.emu.put_portal_reset(&vm, "enablevmaccess").await;
    let id = vm.extension("enablevmaccess").to_string();
    let import = format!("import {{\n  to = {ADDR}\n  id = {}\n}}\n", hcl_string(&id));

    acc.tf
        .write_main(&not_sensitive(wo_config(&vm, &[IGNORE_VERSION], &import)));
    let plan = acc.plan_json(&[]);
    let change = &plan["resource_changes"][0];
    assert_eq!(change["address"], ADDR, "{plan:#}");
    assert_eq!(change["change"]["importing"]["id"], id.as_str());
    assert_eq!(
        actions_of(&plan, ADDR),
        vec!["no-op"],
        "with the version ignored, importing is all there is"
    );

    acc.tf.write_main(&wo_config(&vm, &[], &import));
    let plan = acc.plan_json(&[]);
    assert_eq!(
        plan["resource_changes"][0]["change"]["importing"]["id"],
        id.as_str()
    );
    assert_eq!(
        actions_of(&plan, ADDR),
        vec!["update"],
        "in place, not a replacement"
    );

    acc.apply();
    let view = acc.emu.vm_view(&vm).await;
    let ext = &view.extensions;
    assert_eq!(ext.len(), 1, "the portal's extension was reused: {view:#?}");
    assert_eq!(ext[0].name, "enablevmaccess");
    assert_ne!(
        ext[0].force_update_tag.as_deref(),
        Some(PORTAL_TAG),
        "rerun with a fresh tag"
    );
    assert!(acc.emu.login(&vm, USER, PW).await, "new password works");
    assert_eq!(acc.state_values(ADDR)["id"], id.as_str());
    assert_eq!(acc.plan_exit_code(&[]), 0, "converged after the import");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_another_kind_of_extension_fails_clearly() {
    let (acc, vm) = wo_setup().await;
    acc.emu
        .put_monitoring_agent(&vm, "AzureMonitorWindowsAgent")
        .await;
    let id = vm.extension("AzureMonitorWindowsAgent").to_string();

    let out = acc.run(&["import", "-no-color", "-input=false", ADDR, &id]);
    out.assert_failure();
    assert!(out.stderr.contains("Not a VMAccess extension"), "{out}");
    assert!(
        out.stderr
            .contains("Microsoft.Azure.Monitor/AzureMonitorWindowsAgent"),
        "names what it found: {out}"
    );
    assert_eq!(state_resource_count(&acc), 0, "nothing imported");

    let import = format!("import {{\n  to = {ADDR}\n  id = {}\n}}\n", hcl_string(&id));
    acc.tf.write_main(&wo_config(&vm, &[], &import));
    let out = acc.run(&["plan", "-no-color", "-input=false"]);
    out.assert_failure();
    assert!(out.stderr.contains("Not a VMAccess extension"), "{out}");

    let missing = vm.extension("NoSuchExtension").to_string();
    acc.tf.write_main(&wo_config(&vm, &[], ""));
    let out = acc.run(&["import", "-no-color", "-input=false", ADDR, &missing]);
    out.assert_failure();
    assert!(
        out.stderr
            .contains("Cannot import a non-existent extension"),
        "{out}"
    );

    let view = acc.emu.vm_view(&vm).await;
    assert_eq!(view.extensions.len(), 1, "the agent is untouched");
    assert_eq!(view.vmaccess_runs, 0);
}

// ---------------------------------------------------------------------------
// 9. Destroy
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_the_extension_and_keeps_the_password() {
    let (acc, vm) = wo_setup().await;
    acc.apply();
    assert_eq!(acc.emu.vm_view(&vm).await.extensions.len(), 1);

    destroy(&acc, &[]);
    let view = acc.emu.vm_view(&vm).await;
    assert!(view.extensions.is_empty(), "extension removed: {view:#?}");
    let log = acc.emu.requests().await;
    assert_eq!(
        statuses(&matching(&log, "DELETE", "/extensions/VMAccessAgent")),
        vec![Some(202)]
    );
    assert!(
        acc.emu.login(&vm, USER, PW).await,
        "the account keeps its password"
    );
    assert_eq!(state_resource_count(&acc), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_with_the_vm_deallocated_succeeds_and_warns_that_the_extension_stays() {
    let (acc, vm) = wo_setup().await;
    acc.apply();
    acc.emu
        .patch_vm(&vm, |p| p.power_state = Some(PowerState::Deallocated))
        .await;

    let out = destroy(&acc, &[]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("The VMAccess extension stays on the stopped VM"),
        "{out}"
    );
    assert_eq!(state_resource_count(&acc), 0, "Terraform forgot it");
    let view = acc.emu.vm_view(&vm).await;
    assert_eq!(view.power_state, PowerState::Deallocated);
    assert_eq!(view.extensions.len(), 1, "the extension stays: {view:#?}");
    let log = acc.emu.requests().await;
    assert_eq!(
        statuses(&matching(&log, "DELETE", "/extensions/")),
        vec![Some(409)],
        "Azure was asked once and refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_after_the_vm_was_deleted_succeeds() {
    let mut acc = Acceptance::start().await;
    let accounts = [AccountSeed::new(USER, OLD_PW)];
    let a = acc
        .emu
        .seed_windows_vm_with("gone-a", accounts.clone())
        .await;
    let b = acc.emu.seed_windows_vm_with("gone-b", accounts).await;
    let lines = [
        "username            = \"opsadmin\"",
        "password_wo         = var.pw",
        "password_wo_version = var.ver",
    ];
    acc.tf.write_main(&format!(
        "{VARS}\n{}\n{}",
        reset_block("a", &a, &lines),
        reset_block("b", &b, &lines)
    ));
    acc.tf.set_env("TF_VAR_pw", PW).set_env("TF_VAR_ver", "1");
    acc.apply();
    for vm in [&a, &b] {
        acc.emu.delete_vm(vm).await;
    }

    // Without a refresh the provider's delete runs against the missing VM…
    destroy(&acc, &["-refresh=false", "-target=vm_access_reset.a"]);
    let log = acc.emu.requests().await;
    assert_eq!(
        statuses(&matching(
            &log,
            "DELETE",
            "/virtualMachines/gone-a/extensions/"
        )),
        vec![Some(204)]
    );
    assert_eq!(state_resource_count(&acc), 1);
    // …and with one, refresh finds it gone and there is nothing left to delete.
    destroy(&acc, &[]);
    assert_eq!(state_resource_count(&acc), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_keeps_the_extension_when_asked_to() {
    let (acc, vm) = wo_setup().await;
    acc.tf.write_main(&wo_config(
        &vm,
        &["remove_extension_on_destroy = false"],
        "",
    ));
    acc.apply();

    destroy(&acc, &[]);
    assert_eq!(state_resource_count(&acc), 0);
    let view = acc.emu.vm_view(&vm).await;
    let ext = &view.extensions;
    assert_eq!(ext.len(), 1, "the extension stays: {view:#?}");
    assert_eq!(ext[0].provisioning_state, "Succeeded");
    let log = acc.emu.requests().await;
    assert_none_sent(&log, "DELETE", "/extensions/", "the extension is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_off_removal_later_updates_state_without_rerunning_and_destroy_keeps_it() {
    let (acc, vm) = wo_setup().await;
    acc.apply();
    let before = RunMark::now(&acc).await;

    acc.tf.write_main(&wo_config(
        &vm,
        &["remove_extension_on_destroy = false"],
        "",
    ));
    assert_eq!(acc.planned_actions(ADDR), vec!["update"]);
    acc.apply();
    assert_eq!(acc.state_values(ADDR)["remove_extension_on_destroy"], false);
    let why = "a Terraform-only setting sends nothing to Azure";
    before.assert_no_rerun(&acc, why).await;
    assert_eq!(acc.emu.vm_view(&vm).await.vmaccess_runs, 1);
    assert_eq!(acc.plan_exit_code(&[]), 0);

    destroy(&acc, &[]);
    assert_eq!(acc.emu.vm_view(&vm).await.extensions.len(), 1, "kept");
}

// ---------------------------------------------------------------------------
// 10. Interrupt
// ---------------------------------------------------------------------------

/// Kills the terraform child if the test fails while it runs.
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts terraform in the background the way `TfDir` runs it (same CLI
/// configuration, data dir, CA and `ARM_*`), with `env` on top. Output goes
/// to `out.log` / `err.log` next to the working dir.
fn spawn_terraform(acc: &Acceptance, args: &[&str], env: &[(&str, &str)]) -> (Child, PathBuf) {
    let work = acc.tf.work_dir();
    let root = work.parent().expect("work dir has a parent").to_path_buf();
    let rc = root.join("terraform.rc");
    let ca = root.join("emulator-ca.pem");
    assert!(rc.is_file() && ca.is_file(), "fixture layout changed");
    let config = acc.emu.emulator.config();
    let mut cmd = Command::new(terraform_binary());
    cmd.args(args).current_dir(&work).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TF_") || key.starts_with("ARM_") || key == "TERRAFORM_CONFIG" {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.env("TF_CLI_CONFIG_FILE", &rc)
        .env("TF_DATA_DIR", root.join("data"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("SSL_CERT_FILE", &ca)
        .env("ARM_METADATA_HOSTNAME", acc.emu.emulator.metadata_host())
        .env("ARM_TENANT_ID", &config.tenant_id)
        .env("ARM_CLIENT_ID", &config.client_id)
        .env("ARM_CLIENT_SECRET", &config.client_secret)
        .env("ARM_SUBSCRIPTION_ID", &config.subscription_id);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = std::fs::File::create(root.join("out.log")).expect("out.log");
    let err = std::fs::File::create(root.join("err.log")).expect("err.log");
    cmd.stdout(out).stderr(err);
    (cmd.spawn().expect("spawn terraform"), root)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_apply_keeps_the_resource_tracked_and_the_next_apply_converges() {
    const SLOW_MS: u64 = 12_000;
    let (acc, vm) = wo_setup().await;
    acc.emu
        .add_fault(&FaultSpec::new(FaultAction::SlowOperationMs(SLOW_MS)).on("PUT", "/extensions/"))
        .await;

    let (child, root) = spawn_terraform(&acc, APPLY, &[("TF_VAR_pw", PW), ("TF_VAR_ver", "1")]);
    let mut guard = ChildGuard(Some(child));
    let pid = guard.0.as_ref().unwrap().id();

    // Wait until Azure accepted the PUT: the slow operation is running.
    let started = Instant::now();
    loop {
        let log = acc.emu.requests().await;
        if statuses(&matching(&log, "PUT", "/extensions/")).contains(&Some(201)) {
            break;
        }
        let child = guard.0.as_mut().unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "terraform ended ({status}) before the PUT:\n{}\n{}",
                read(&root.join("out.log")),
                read(&root.join("err.log"))
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the PUT never reached the emulator"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let put_accepted = Instant::now();
    // The provider is polling the operation.
    acc.emu.wait_for_request("GET", "/operations/").await;

    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "SIGINT sent");
    let interrupted = Instant::now();
    let status = loop {
        if let Some(status) = guard.0.as_mut().unwrap().try_wait().unwrap() {
            break status;
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(8),
            "terraform did not exit within 8 s of SIGINT"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let exit_after = interrupted.elapsed();
    let out = format!(
        "{}\n{}",
        read(&root.join("out.log")),
        read(&root.join("err.log"))
    );
    println!("terraform exited {exit_after:?} after SIGINT ({status})");
    assert!(!status.success(), "an interrupted apply fails:\n{out}");
    assert!(
        put_accepted.elapsed() < Duration::from_millis(SLOW_MS - 3_000),
        "terraform exited well before the slow operation would end ({exit_after:?} after SIGINT)"
    );
    assert!(
        out.contains("Error: Interrupted") && out.contains("Azure may still be running it"),
        "the provider says what happened and what to do:\n{out}"
    );

    let state: Value = serde_json::from_str(&acc.state_file()).expect("state file written");
    let instance = &state["resources"][0]["instances"][0];
    assert_eq!(
        instance["attributes"]["id"],
        vm.extension("VMAccessAgent").to_string(),
        "the state records the extension: {state:#}"
    );
    assert_eq!(instance["status"], "tainted", "{state:#}");
    let view = acc.emu.vm_view(&vm).await;
    assert_eq!(
        view.extensions[0].provisioning_state, "Creating",
        "Azure is still running it"
    );

    // The next apply: the tainted resource is replaced, waiting out the
    // still-running operation, and then the password works.
    acc.emu.clear_faults().await;
    let actions = acc.planned_actions(ADDR);
    assert_eq!(actions, vec!["delete", "create"], "tainted → replace");
    acc.apply();
    assert!(acc.emu.login(&vm, USER, PW).await, "new password works");
    assert_eq!(acc.state_values(ADDR)["provisioning_state"], "Succeeded");
    assert_eq!(acc.plan_exit_code(&[]), 0, "converged");
}

// ---------------------------------------------------------------------------
// 11. No secret anywhere
// ---------------------------------------------------------------------------

/// Gets a token the way the provider does, to learn the issued shape.
async fn issue_own_token(acc: &Acceptance) -> String {
    let config = acc.emu.emulator.config();
    let ca = reqwest::Certificate::from_pem(acc.emu.emulator.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let resp: Value = client
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            acc.emu.endpoint(),
            config.tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("scope", "https://management.emulator.local/.default"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token JSON");
    resp["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_wo_client_secret_and_tokens_reach_no_state_plan_or_log() {
    const PW2: &str = "Rotated-Passw0rd!2027";
    let (acc, vm) = wo_setup().await;
    let own = issue_own_token(&acc).await;
    assert_eq!(
        find_token(&own),
        Some(own.as_str()),
        "token shape understood"
    );
    let client_secret = acc.emu.client_secret().to_string();

    let mut trace = Traced::new(&acc);
    let out1 = trace.run(APPLY, &[]);
    assert!(acc.emu.login(&vm, USER, PW).await);
    let rotation = [("TF_VAR_pw", PW2), ("TF_VAR_ver", "2")];
    let out2 = trace.run(PLAN_TO_FILE, &rotation);
    let plan_json = trace.run(SHOW_PLAN_FILE, &[]);
    let plan: Value = serde_json::from_str(plan_json.trim()).expect("plan JSON");
    assert_eq!(
        actions_of(&plan, ADDR),
        vec!["update"],
        "the plan carries the rotation"
    );
    let out4 = trace.run(APPLY_PLAN_FILE, &rotation);
    assert!(
        acc.emu.login(&vm, USER, PW2).await,
        "the rotated password was really sent"
    );

    let secrets = [
        ("password_wo (first)", PW),
        ("password_wo (rotated)", PW2),
        ("ARM_CLIENT_SECRET", client_secret.as_str()),
        ("the test's own token", own.as_str()),
    ];
    assert_clean("the state file", &acc.state_file(), &secrets);
    assert_clean("the plan JSON", &plan_json, &secrets);
    assert_clean(
        "the trace logs",
        &trace.logs("/extensions/VMAccessAgent"),
        &secrets,
    );
    assert_clean("terraform's output", &(out1 + &out2 + &out4), &secrets);
    let requests = acc.emu.requests().await;
    assert!(
        requests.iter().any(|r| r.authorized),
        "terraform did use access tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_stays_out_of_logs_and_is_marked_sensitive_in_the_plan() {
    let mut acc = Acceptance::start().await;
    let vm = acc
        .emu
        .seed_windows_vm_with("web", [AccountSeed::new(USER, OLD_PW)])
        .await;
    acc.tf.write_main(&format!(
        "variable \"pw\" {{\n  type      = string\n  sensitive = true\n}}\n{}",
        reset_block(
            "web",
            &vm,
            &["username = \"opsadmin\"", "password = var.pw"]
        )
    ));
    acc.tf.set_env("TF_VAR_pw", PW);
    let client_secret = acc.emu.client_secret().to_string();

    let mut trace = Traced::new(&acc);
    let plan_out = trace.run(PLAN_TO_FILE, &[]);
    let plan_json = trace.run(SHOW_PLAN_FILE, &[]);
    let plan: Value = serde_json::from_str(plan_json.trim()).expect("plan JSON");
    let change = &plan["resource_changes"][0]["change"];
    assert_eq!(change["actions"], json!(["create"]));
    assert_eq!(
        change["after_sensitive"]["password"], true,
        "the plan marks the password sensitive: {change:#}"
    );
    let apply_out = trace.run(APPLY_PLAN_FILE, &[]);
    assert!(
        acc.emu.login(&vm, USER, PW).await,
        "the password was really sent"
    );
    assert!(
        apply_out.contains("(sensitive value)") || plan_out.contains("(sensitive value)"),
        "the CLI shows the password as sensitive:\n{plan_out}"
    );

    let logs = trace.logs("/extensions/VMAccessAgent");
    let secrets = [
        ("password", PW),
        ("ARM_CLIENT_SECRET", client_secret.as_str()),
    ];
    assert_clean("the trace logs", &logs, &secrets);
    assert_clean("terraform's output", &(plan_out + &apply_out), &secrets);
    // `password` is stored in state by design; the credentials are not.
    let state = acc.state_file();
    assert!(
        state.contains(PW),
        "password is state-stored, as documented"
    );
    assert_clean("the state file", &state, &secrets[1..]);
    assert_clean("the plan JSON", &plan_json, &secrets[1..]);
}

// ---------------------------------------------------------------------------
// 12. Scale
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_vms_under_throttling_all_converge() {
    const N: usize = 50;
    let mut acc = Acceptance::start().await;
    let mut vms = Vec::new();
    for i in 0..N {
        let name = format!("vm{i:02}");
        let id = acc
            .emu
            .seed_windows_vm_with(&name, [AccountSeed::new(USER, OLD_PW)])
            .await;
        vms.push((name, id));
    }
    let map = vms
        .iter()
        .map(|(name, id)| format!("    {name} = {}", hcl_string(&id.to_string())))
        .collect::<Vec<_>>()
        .join("\n");
    acc.tf.write_main(&format!(
        "{VARS}\nlocals {{\n  vms = {{\n{map}\n  }}\n}}\n\nresource \"vm_access_reset\" \"fleet\" {{\n  for_each            = local.vms\n  virtual_machine_id  = each.value\n  username            = \"opsadmin\"\n  password_wo         = \"${{var.pw}}-${{each.key}}\"\n  password_wo_version = var.ver\n}}\n"
    ));
    acc.tf.set_env("TF_VAR_pw", PW).set_env("TF_VAR_ver", "1");
    // A small subscription write bucket: 10 resources at a time need about
    // 8 PUTs a second; 4 a second refill, so PUTs get 429 + Retry-After.
    let throttling = ThrottleSettings {
        subscription_writes: BucketSpec {
            capacity: 5.0,
            refill_per_sec: 4.0,
        },
        ..ThrottleSettings::default()
    };
    acc.emu.throttle(throttling).await;

    let started = Instant::now();
    let out = acc.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-parallelism=10",
    ]);
    let elapsed = started.elapsed();
    println!("apply of {N} resources with -parallelism=10 under throttling took {elapsed:?}");
    out.assert_success();
    assert!(
        out.stdout
            .contains(&format!("{N} added, 0 changed, 0 destroyed")),
        "{out}"
    );

    let log = acc.emu.requests().await;
    let puts = matching(&log, "PUT", "/extensions/");
    let throttled = puts.iter().filter(|r| r.status == Some(429)).count();
    println!("{} extension PUTs, {throttled} throttled", puts.len());
    // The bucket really constrained the run: ARM refused writes, or the provider's write gate
    // held them back to the refill rate (a perfect gate needs no 429 at all).
    let floor = Duration::from_secs_f64((N as f64 - 5.0) / 4.0);
    assert!(
        throttled >= 1 || elapsed >= floor,
        "throttling really happened: {throttled} throttled, {elapsed:?} against a {floor:?} floor"
    );
    assert_eq!(
        puts.iter().filter(|r| r.status == Some(201)).count(),
        N,
        "one successful PUT per VM"
    );
    for (name, id) in &vms {
        assert!(
            acc.emu.login(id, USER, &format!("{PW}-{name}")).await,
            "{name}: its own new password works"
        );
    }
    assert_eq!(acc.plan_exit_code(&[]), 0, "the next plan is empty");
}

// ---------------------------------------------------------------------------
// Concurrency: one VM at a time, different VMs in parallel.
// ---------------------------------------------------------------------------

/// Two resources on one VM share its single VMAccess extension, so the
/// provider runs them one after the other (Azure would answer a concurrent
/// change with 409); a resource on another VM does not wait for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_on_one_vm_are_serialised_and_other_vms_run_in_parallel() {
    let config = vm_emulator::EmulatorConfig {
        operation_delay: Duration::from_millis(1500),
        poll_retry_after_secs: 1,
        ..vm_emulator::EmulatorConfig::default()
    };
    let acc = Acceptance::with_emulator(
        vm_test_support::azure_emulator::AzureEmulator::start_with(config).await,
    );
    let shared = acc.emu.seed_windows_vm_with("shared", []).await;
    let other = acc.emu.seed_windows_vm_with("other", []).await;
    // Remote Desktop resets: no credentials needed.
    acc.tf.write_main(&format!(
        "{}{}{}",
        reset_block("a1", &shared, &[]),
        reset_block("a2", &shared, &[]),
        reset_block("b1", &other, &[])
    ));
    acc.apply();

    let log = acc.emu.requests().await;
    let puts = matching(&log, "PUT", "/extensions/");
    assert!(
        puts.iter().all(|r| r.status != Some(409)),
        "no concurrent change reached Azure: {:?}",
        statuses(&puts)
    );
    let on = |vm: &VirtualMachineId| -> Vec<usize> {
        let fragment = format!("/virtualmachines/{}/", vm.name()).to_ascii_lowercase();
        puts.iter()
            .enumerate()
            .filter(|(_, r)| r.path.to_ascii_lowercase().contains(&fragment))
            .map(|(i, _)| i)
            .collect()
    };
    let (shared_puts, other_puts) = (on(&shared), on(&other));
    assert_eq!(shared_puts.len(), 2, "both resources ran on the shared VM");
    assert_eq!(other_puts.len(), 1);
    assert!(
        other_puts[0] < shared_puts[1],
        "the other VM's run did not wait for the shared VM's second run: {shared_puts:?} {other_puts:?}"
    );
    let view = acc.emu.vm_view(&shared).await;
    assert_eq!(view.vmaccess_runs, 2);
    assert_eq!(view.extensions.len(), 1, "still one VMAccess extension");
}

// ---------------------------------------------------------------------------
// Pipelines: GitHub Actions OIDC, environment only.
// ---------------------------------------------------------------------------

/// A login without a client secret: the switch (`ARM_USE_OIDC`, `ARM_USE_MSI`) on, the
/// credential's own variables set, and `ARM_CLIENT_SECRET` emptied.
#[derive(Clone)]
struct Secretless<'a> {
    /// Names the credential in failure messages.
    named: &'a str,
    env: Vec<(&'a str, &'a str)>,
}

impl<'a> Secretless<'a> {
    fn new(switch: &'a str, named: &'a str) -> Self {
        let env = vec![("ARM_CLIENT_SECRET", ""), (switch, "true")];
        Secretless { named, env }
    }

    fn with(mut self, variable: &'a str, value: &'a str) -> Self {
        self.env.push((variable, value));
        self
    }

    fn run(&self, acc: &Acceptance, args: &[&str]) -> TfOutput {
        acc.run_with_env(args, &self.env)
    }

    /// Applies with this login; the reset must have run on `vm`.
    async fn apply(&self, acc: &Acceptance, vm: &VirtualMachineId) {
        self.run(acc, APPLY).assert_success();
        let named = self.named;
        assert!(
            acc.emu.login(vm, USER, PW).await,
            "the reset ran with {named}"
        );
    }
}

/// The variables a GitHub Actions job with `id-token: write` has, and no
/// client secret: the provider exchanges the job's ID token for an Azure one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_oidc_from_the_environment_alone_applies() {
    let (acc, vm) = wo_setup().await;
    let request_url = format!(
        "{}/_emulator/oidc/github?api-version=2.0",
        acc.emu.endpoint()
    );
    Secretless::new("ARM_USE_OIDC", "OIDC credentials")
        .with("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url)
        .with(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            DEFAULT_GITHUB_REQUEST_TOKEN,
        )
        .apply(&acc, &vm)
        .await;
    assert_only_federated_token_exchanges(&acc.emu.requests().await);
}

/// Every token request succeeded and exchanged a federated assertion, never
/// a client secret (the emulator's log redacts both values).
fn assert_only_federated_token_exchanges(log: &[LoggedRequest]) {
    let token_requests = matching(log, "POST", "/oauth2/v2.0/token");
    assert!(!token_requests.is_empty(), "no token was requested");
    assert!(
        token_requests.iter().all(|r| r.status == Some(200)),
        "every token exchange succeeded: {:?}",
        statuses(&token_requests)
    );
    let has = |r: &LoggedRequest, field: &str| r.body.as_ref().and_then(|b| b.get(field)).is_some();
    assert!(
        token_requests
            .iter()
            .all(|r| has(r, "client_assertion") && !has(r, "client_secret")),
        "{token_requests:?}"
    );
}

/// A service principal that Entra trusts by subject name and issuer (SNI), from the environment
/// alone: the PFX holds its certificate and the CA that issued it, and the Azure SDKs' variable
/// `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` sends both in the assertion's `x5c`. Without the chain the
/// plan fails with Entra's AADSTS700027 and names the setting. Neither the PFX password nor the key
/// reaches a trace log, the output or the state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_chain_from_the_environment_applies_for_a_subject_name_issuer_principal() {
    let (acc, vm) = wo_setup().await;
    let password = "Sni-Pfx-Passw0rd!";
    let cert = IssuedCertificate::new(password);
    let client_id = "00000000-0000-0000-0000-0000000005c2";
    acc.emu
        .admin
        .register_client(&cert.sni_registration(client_id))
        .await
        .expect("register the trusted subject");
    let path = cert.path_str();
    let certificate = [
        ("ARM_CLIENT_SECRET", ""),
        ("ARM_CLIENT_ID", client_id),
        ("ARM_CLIENT_CERTIFICATE_PATH", path.as_str()),
        ("ARM_CLIENT_CERTIFICATE_PASSWORD", password),
    ];
    let mut with_chain = certificate.to_vec();
    with_chain.push(("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true"));

    let mut trace = Traced::new(&acc);
    let applied = trace.run(APPLY, &with_chain);
    assert!(
        acc.emu.login(&vm, USER, PW).await,
        "the reset ran with the certificate"
    );
    let log = acc.emu.requests().await;
    let token_requests = matching(&log, "POST", "/oauth2/v2.0/token");
    assert!(
        !token_requests.is_empty() && token_requests.iter().all(|r| r.status == Some(200)),
        "every token request succeeded: {:?}",
        statuses(&token_requests)
    );

    let refused = acc.run_with_env(&["plan", "-no-color", "-input=false"], &certificate);
    assert!(!refused.success(), "{refused}");
    for must in ["AADSTS700027", "client_send_certificate_chain"] {
        assert!(refused.stderr.contains(must), "{must} missing: {refused}");
    }

    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.encode(&cert.key_der);
    let secrets = [
        ("the PFX password", password),
        ("the private key", &key[..64]),
    ];
    assert_clean(
        "the trace logs",
        &trace.logs("/extensions/VMAccessAgent"),
        &secrets,
    );
    let output = applied + &refused.stdout + &refused.stderr;
    assert_clean("terraform's output", &output, &secrets);
    assert_clean("the state file", &acc.state_file(), &secrets);
}

/// A managed identity (the App Service / Functions protocol, which Terraform
/// Cloud agents on Azure containers also expose): no secret at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_from_the_environment_alone_applies() {
    let (acc, vm) = wo_setup().await;
    let endpoint = format!("{}/_emulator/msi/token", acc.emu.endpoint());
    Secretless::new("ARM_USE_MSI", "the managed identity")
        .with("IDENTITY_ENDPOINT", &endpoint)
        .with("IDENTITY_HEADER", vm_emulator::DEFAULT_IDENTITY_HEADER)
        .apply(&acc, &vm)
        .await;
    let log = acc.emu.requests().await;
    let msi = matching(&log, "GET", "/_emulator/msi/token");
    assert!(
        !msi.is_empty() && msi.iter().all(|r| r.status == Some(200)),
        "{:?}",
        statuses(&msi)
    );
    let why = "no secret or assertion exchange";
    assert_none_sent(&log, "POST", "/oauth2/v2.0/token", why);
}

/// An Azure Pipelines step with a workload-identity service connection:
/// `SYSTEM_ACCESSTOKEN` mapped into the step, no client secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_pipelines_service_connection_from_the_environment_alone_applies() {
    let (acc, vm) = wo_setup().await;
    let oidc_request_uri = format!("{}/_emulator/oidc/ado", acc.emu.endpoint());
    let service_connection = Secretless::new("ARM_USE_OIDC", "the pipeline's identity")
        .with(
            "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
            "sc-terraform-prod",
        )
        .with("SYSTEM_OIDCREQUESTURI", &oidc_request_uri);
    service_connection
        .clone()
        .with("SYSTEM_ACCESSTOKEN", DEFAULT_PIPELINES_ACCESS_TOKEN)
        .apply(&acc, &vm)
        .await;
    assert_only_federated_token_exchanges(&acc.emu.requests().await);

    // Without the access token mapped into the step, the error says so.
    let out = service_connection.run(
        &acc,
        &["plan", "-no-color", "-input=false", "-refresh=true"],
    );
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("SYSTEM_ACCESSTOKEN"), "{out}");
}
