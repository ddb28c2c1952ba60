//! Acceptance: `vm_access_reset` on Linux VMs (`VMAccessForLinux`) with the real terraform CLI
//! (1.11 or later) against the emulator's Linux guest, asserted on plans (`show -json`,
//! `-detailed-exitcode`, warnings) and on the guest itself: who can log in over SSH, by password
//! or by key, what `authorized_keys` and `sshd_config` hold. Also the rules that follow the VM's
//! OS — Linux-only attributes on a Windows VM, Windows-only input on a Linux VM — which fail at
//! plan time without a request that changes anything.

use std::ops::RangeInclusive;

use serde_json::{Value, json};
use terraform_provider_vm::azure::VirtualMachineId;
use vm_emulator::admin::{ExtensionView, LOST_PUBLIC_KEY, LinuxUserSeed};
use vm_emulator::{LOCKED_OUT_USER, LinuxDistro, LinuxGuestSeed, PowerState, VmSeed};
use vm_test_support::acceptance::{Acceptance, actions_of, reset_block, ssh_public_keys_line};
use vm_test_support::azure_emulator::{LINUX_VMACCESS_PUBLISHER, LINUX_VMACCESS_TYPE};
use vm_test_support::secrets::{Traced, assert_clean};
use vm_test_support::ssh_keys::{ed25519_public_key, rsa_public_key};
use vm_test_support::terraform::{TfOutput, hcl_string};

const ADDR: &str = "vm_access_reset.web";
/// The guest's administrator, as Azure's Linux images name it.
const USER: &str = "azureuser";
const PW: &str = "Linux-Passw0rd!2026";
const APPLY: &[&str] = &["apply", "-auto-approve", "-no-color", "-input=false"];
const PLAN_TO_FILE: &[&str] = &["plan", "-out=tfplan", "-no-color", "-input=false"];
const SHOW_PLAN_FILE: &[&str] = &["show", "-json", "tfplan"];
const APPLY_PLAN_FILE: &[&str] = &["apply", "-no-color", "-input=false", "tfplan"];

const VARS: &str = "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\nvariable \"ver\" {\n  type = number\n}\n";

// ---------------------------------------------------------------------------
// Helpers local to this file.
// ---------------------------------------------------------------------------

/// The key `azureuser` was provisioned with.
fn old_key() -> String {
    ed25519_public_key("old")
}

/// A guest as an Azure Linux image provisioned with an SSH key leaves it: `azureuser` logs in
/// with [`old_key`] only, has no password, and `sshd_config` says `PasswordAuthentication no`.
fn guest() -> LinuxGuestSeed {
    LinuxGuestSeed {
        users: vec![LinuxUserSeed::new(USER, &[&old_key()])],
        ..LinuxGuestSeed::default()
    }
}

/// A fixture with the Linux VM "web" holding [`guest`].
async fn linux_vm() -> (Acceptance, VirtualMachineId) {
    let acc = Acceptance::start().await;
    let vm = acc.emu.seed_linux_vm("web", guest()).await;
    (acc, vm)
}

/// `vm_access_reset.web` resetting `azureuser`'s password with `password_wo`, plus `extra` lines.
fn password_wo_config(vm: &VirtualMachineId, extra: &[&str]) -> String {
    let user = format!("username            = \"{USER}\"");
    let mut lines = vec![
        user.as_str(),
        "password_wo         = var.pw",
        "password_wo_version = var.ver",
    ];
    lines.extend_from_slice(extra);
    format!("{VARS}\n{}", reset_block("web", vm, &lines))
}

/// `vm_access_reset.web` giving `username` these keys, plus `extra` lines.
fn keys_config(vm: &VirtualMachineId, username: &str, keys: &[&str], extra: &[&str]) -> String {
    let user = format!("username = {}", hcl_string(username));
    let keys = ssh_public_keys_line(keys);
    let mut lines = vec![user.as_str(), keys.as_str()];
    lines.extend_from_slice(extra);
    reset_block("web", vm, &lines)
}

/// Saves a plan; returns its JSON and the human output (where plan-time warnings appear).
fn plan_with_output(acc: &Acceptance) -> (Value, TfOutput) {
    let out = acc.run(PLAN_TO_FILE);
    out.assert_success();
    let plan = acc.run(SHOW_PLAN_FILE).json();
    (plan, out)
}

/// The planned values of `address` in a JSON plan.
fn planned_after<'p>(plan: &'p Value, address: &str) -> &'p Value {
    plan["resource_changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == address))
        .map(|c| &c["change"]["after"])
        .unwrap_or_else(|| panic!("no change for {address}: {plan:#}"))
}

fn state_str(acc: &Acceptance, attr: &str) -> String {
    acc.state_values(ADDR)[attr]
        .as_str()
        .unwrap_or_else(|| panic!("{attr} is not a string in state"))
        .to_string()
}

/// The VM's `VMAccessForLinux` extensions, whatever their names.
async fn linux_vmaccess_extensions(acc: &Acceptance, vm: &VirtualMachineId) -> Vec<ExtensionView> {
    let mut extensions = acc.emu.vm_view(vm).await.extensions;
    extensions.retain(|e| {
        e.publisher == LINUX_VMACCESS_PUBLISHER && e.extension_type == LINUX_VMACCESS_TYPE
    });
    extensions
}

/// The emulator's view of the extension `name` on `vm`.
async fn extension(acc: &Acceptance, vm: &VirtualMachineId, name: &str) -> ExtensionView {
    let view = acc.emu.vm_view(vm).await;
    view.extension(name)
        .cloned()
        .unwrap_or_else(|| panic!("no extension {name}: {view:#?}"))
}

/// The guest lets `user` in with `key`, and the next plan has nothing to do.
async fn assert_settled_by_key(acc: &Acceptance, vm: &VirtualMachineId, user: &str, key: &str) {
    assert_eq!(
        acc.emu.ssh_login_key(vm, user, key).await,
        Ok(()),
        "{user}'s key after the apply"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "not settled after the apply");
}

async fn vmaccess_runs(acc: &Acceptance, vm: &VirtualMachineId) -> u32 {
    acc.emu.vm_view(vm).await.vmaccess_runs
}

/// How many requests that change something (PUT, PATCH, DELETE, POST) reached ARM.
async fn writes(acc: &Acceptance) -> usize {
    let mut requests = acc.emu.requests().await;
    requests.retain(|r| r.method != "GET" && r.path.contains("/subscriptions/"));
    requests.len()
}

/// The error diagnostics of a `terraform plan -json` that must fail, and its output.
fn plan_errors(acc: &Acceptance) -> (Vec<Value>, TfOutput) {
    let out = acc.run(&["plan", "-json", "-input=false"]);
    out.assert_failure();
    let errors = out
        .json_lines()
        .into_iter()
        .filter(|m| m["type"] == "diagnostic" && m["diagnostic"]["severity"] == "error")
        .map(|m| m["diagnostic"].clone())
        .collect::<Vec<_>>();
    for error in &errors {
        eprintln!("--- plan error: {}", diagnostic_text(error));
    }
    (errors, out)
}

/// The 1-based lines of `main` from `resource "vm_access_reset" "name" {` to its closing `}`.
fn block_lines(main: &str, name: &str) -> RangeInclusive<i64> {
    let header = format!("resource \"vm_access_reset\" \"{name}\" {{");
    let lines: Vec<&str> = main.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(&header))
        .unwrap_or_else(|| panic!("no block {name} in:\n{main}"));
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == "}")
            .expect("the block ends");
    (start as i64 + 1)..=(end as i64 + 1)
}

/// The 1-based line of attribute `attr` in block `name` of `main`.
fn attribute_line(main: &str, name: &str, attr: &str) -> i64 {
    let block = block_lines(main, name);
    let lines: Vec<&str> = main.lines().collect();
    block
        .clone()
        .find(|n| {
            let line = lines[(*n - 1) as usize].trim_start();
            line.strip_prefix(attr)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .unwrap_or_else(|| panic!("no {attr} in block {name} ({block:?}) of:\n{main}"))
}

/// The summary and detail of a diagnostic, as one line.
fn diagnostic_text(diagnostic: &Value) -> String {
    let text = format!(
        "{} {}",
        diagnostic["summary"].as_str().unwrap_or_default(),
        diagnostic["detail"].as_str().unwrap_or_default()
    );
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Asserts that an error starts at a line in `lines` and says every one of `phrases`; `what`
/// names the case.
fn assert_error_at(
    errors: &[Value],
    lines: RangeInclusive<i64>,
    phrases: &[&str],
    what: &str,
    out: &TfOutput,
) {
    let at: Vec<&Value> = errors
        .iter()
        .filter(|e| {
            e["range"]["start"]["line"]
                .as_i64()
                .is_some_and(|l| lines.contains(&l))
        })
        .collect();
    assert!(
        !at.is_empty(),
        "{what}: no error at lines {lines:?}:\n{out}"
    );
    let texts: Vec<String> = at.iter().map(|e| diagnostic_text(e)).collect();
    // Terraform's own refusal of an attribute the schema lacks is not the provider's rule.
    assert!(
        at.iter().all(|e| e["summary"] != "Unsupported argument"),
        "{what}: the schema lacks the attribute: {texts:#?}"
    );
    assert!(
        texts.iter().any(|t| phrases.iter().all(|p| t.contains(p))),
        "{what}: no error at lines {lines:?} says all of {phrases:?}: {texts:#?}"
    );
}

// ---------------------------------------------------------------------------
// Passwords.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_lets_the_user_log_in_by_password_and_warns_about_password_authentication() {
    const PW2: &str = "Linux-Rotated!2027";
    let (mut acc, vm) = linux_vm().await;
    acc.tf.write_main(&password_wo_config(&vm, &[]));
    acc.tf.set_env("TF_VAR_pw", PW).set_env("TF_VAR_ver", "1");
    assert_eq!(
        acc.emu.ssh_login_password(&vm, USER, PW).await,
        Err("PasswordAuthentication no".into()),
        "before the reset"
    );

    let (plan, out) = plan_with_output(&acc);
    assert_eq!(actions_of(&plan, ADDR), ["create"]);
    let after = planned_after(&plan, ADDR);
    assert_eq!(after["os_type"], "Linux", "read from the VM at plan time");
    assert_eq!(after["type_handler_version"], "1.5", "Linux's default");
    out.assert_mentions(&[
        "Warning: A password turns on SSH password logins for the whole VM",
        "PasswordAuthentication yes",
    ]);
    acc.run(APPLY_PLAN_FILE).assert_success();

    assert_eq!(
        acc.emu.ssh_login_password(&vm, USER, PW).await,
        Ok(()),
        "the new password"
    );
    assert_eq!(
        acc.emu.ssh_login_key(&vm, USER, &old_key()).await,
        Ok(()),
        "the key is untouched"
    );
    let guest = acc.emu.linux_guest(&vm).await;
    assert!(guest.password_authentication, "{guest:#?}");
    let user = guest.user(USER).expect("the user");
    assert_eq!(user.password_set_count, 1, "{user:#?}");
    let state = acc.state_values(ADDR);
    assert_eq!(state["os_type"], "Linux", "{state:#}");
    assert_eq!(state["type_handler_version"], "1.5", "{state:#}");
    assert_eq!(state["provisioning_state"], "Succeeded", "{state:#}");
    assert_eq!(state["username"], USER, "{state:#}");
    assert!(state["password_wo"].is_null(), "{state:#}");
    let name = state["extension_name"].as_str().expect("extension_name");
    let ext = extension(&acc, &vm, name).await;
    assert_eq!(
        (ext.publisher.as_str(), ext.extension_type.as_str()),
        (LINUX_VMACCESS_PUBLISHER, LINUX_VMACCESS_TYPE)
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "settled after the reset");

    // Rotation: a bumped version reruns with the new password.
    acc.tf.set_env("TF_VAR_pw", PW2).set_env("TF_VAR_ver", "2");
    assert_eq!(acc.planned_actions(ADDR), ["update"]);
    acc.apply();
    assert_eq!(
        acc.emu.ssh_login_password(&vm, USER, PW2).await,
        Ok(()),
        "the rotated password"
    );
    assert_eq!(
        acc.emu.ssh_login_password(&vm, USER, PW).await,
        Err("wrong password".into()),
        "the first password"
    );
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

/// The extension's own failure ("Enable failed: …", no substatuses on Linux) reaches the user
/// word for word, without the password; the failed run stays in state and the next plan reruns
/// it, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enable_failed_message_reaches_the_user_verbatim_and_the_next_plan_reruns() {
    let mut acc = Acceptance::start().await;
    // A system account (uid below UID_MIN): VMAccessForLinux refuses to set its password.
    let guest = LinuxGuestSeed {
        users: vec![LinuxUserSeed {
            uid: Some(50),
            ..LinuxUserSeed::new("svc", &[])
        }],
        ..LinuxGuestSeed::default()
    };
    let vm = acc.emu.seed_linux_vm("web", guest).await;
    let config = format!(
        "{VARS}\n{}",
        reset_block(
            "web",
            &vm,
            &[
                "username            = \"svc\"",
                "password_wo         = var.pw",
                "password_wo_version = var.ver",
            ],
        )
    );
    acc.tf.write_main(&config);
    acc.tf.set_env("TF_VAR_pw", PW).set_env("TF_VAR_ver", "1");
    let out = acc.run(APPLY);
    out.assert_failure();
    let said = out.flat();
    assert!(
        said.contains("Enable failed: Failed to set password for system user: svc (0x06)."),
        "the extension's own words:\n{out}"
    );
    assert!(
        !format!("{out}").contains(PW),
        "the password leaked:\n{out}"
    );
    let state = acc.state_values(ADDR);
    assert_eq!(state["provisioning_state"], "Failed", "{state:#}");
    assert_eq!(state["os_type"], "Linux", "{state:#}");

    let plan = acc.run(&["plan", "-no-color", "-input=false"]);
    plan.assert_success();
    let said = plan.flat();
    // A failed create is tainted: Terraform replaces it, which reruns the extension.
    assert!(
        said.contains("is tainted, so must be replaced"),
        "the failed run is rerun:\n{plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reaches_no_state_plan_file_show_json_trace_log_or_output() {
    const PW2: &str = "Linux-Rotated!2027";
    let (acc, vm) = linux_vm().await;
    acc.tf.write_main(&password_wo_config(&vm, &[]));
    let client_secret = acc.emu.client_secret().to_string();

    let mut trace = Traced::new(&acc);
    let first = [("TF_VAR_pw", PW), ("TF_VAR_ver", "1")];
    let out1 = trace.run(APPLY, &first);
    assert_eq!(
        acc.emu.ssh_login_password(&vm, USER, PW).await,
        Ok(()),
        "the password was really sent"
    );
    let rotation = [("TF_VAR_pw", PW2), ("TF_VAR_ver", "2")];
    let out2 = trace.run(PLAN_TO_FILE, &rotation);
    let plan_json = trace.run(SHOW_PLAN_FILE, &[]);
    let plan: Value = serde_json::from_str(plan_json.trim()).expect("plan JSON");
    assert_eq!(actions_of(&plan, ADDR), ["update"], "the plan rotates");
    let plan_file = std::fs::read(acc.tf.work_dir().join("tfplan")).expect("the plan file");
    let out3 = trace.run(APPLY_PLAN_FILE, &rotation);
    assert_eq!(
        acc.emu.ssh_login_password(&vm, USER, PW2).await,
        Ok(()),
        "the rotated password was really sent"
    );
    let show_json = trace.run(&["show", "-json"], &[]);

    let secrets = [
        ("password_wo (first)", PW),
        ("password_wo (rotated)", PW2),
        ("ARM_CLIENT_SECRET", client_secret.as_str()),
    ];
    assert_clean("the state file", &acc.state_file(), &secrets);
    assert_clean("the plan JSON", &plan_json, &secrets);
    assert_clean(
        "the plan file",
        &String::from_utf8_lossy(&plan_file),
        &secrets,
    );
    assert_clean("show -json", &show_json, &secrets);
    let logs = trace.logs("/extensions/");
    assert!(
        logs.contains(LINUX_VMACCESS_TYPE),
        "the Linux extension's requests are traced"
    );
    assert_clean("the trace logs", &logs, &secrets);
    assert_clean("terraform's output", &(out1 + &out2 + &out3), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_authentication_warning_on_a_vm_created_with_password_logins() {
    let mut acc = Acceptance::start().await;
    let mut seed = guest();
    seed.ssh.sshd_config.password_authentication = true;
    let vm = acc.emu.seed_linux_vm("web", seed).await;
    acc.tf.write_main(&password_wo_config(&vm, &[]));
    acc.tf.set_env("TF_VAR_pw", PW).set_env("TF_VAR_ver", "1");
    let (plan, out) = plan_with_output(&acc);
    assert_eq!(actions_of(&plan, ADDR), ["create"]);
    assert!(
        !out.flat().contains("PasswordAuthentication"),
        "Azure says the VM allows password logins already:\n{out}"
    );
}

// ---------------------------------------------------------------------------
// SSH keys, sshd_config, expiration.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_key_is_appended_then_replaced_with_remove_prior_keys() {
    let (acc, vm) = linux_vm().await;
    let (new, newer) = (ed25519_public_key("new"), ed25519_public_key("newer"));
    let not_there = Err("key not in authorized_keys".to_string());
    assert_eq!(
        acc.emu.ssh_login_key(&vm, USER, &new).await,
        not_there,
        "the new key before the run"
    );

    acc.tf.write_main(&keys_config(&vm, USER, &[&new], &[]));
    let (plan, out) = plan_with_output(&acc);
    assert_eq!(actions_of(&plan, ADDR), ["create"]);
    assert!(
        !out.flat().contains("PasswordAuthentication"),
        "no password, no PasswordAuthentication warning:\n{out}"
    );
    acc.run(APPLY_PLAN_FILE).assert_success();
    assert_eq!(
        acc.emu.ssh_login_key(&vm, USER, &new).await,
        Ok(()),
        "the added key"
    );
    assert_eq!(
        acc.emu.ssh_login_key(&vm, USER, &old_key()).await,
        Ok(()),
        "the prior key (appended, not replaced)"
    );
    let guest = acc.emu.linux_guest(&vm).await;
    let user = guest.user(USER).expect("the user");
    assert_eq!(user.profile.authorized_keys, [old_key(), new.clone()]);
    assert!(!guest.password_authentication, "passwords stay off");
    assert_eq!(acc.state_values(ADDR)["ssh_public_keys"], json!([new]));
    assert_eq!(acc.plan_exit_code(&[]), 0);

    acc.tf.write_main(&keys_config(
        &vm,
        USER,
        &[&newer],
        &["remove_prior_keys = true"],
    ));
    assert_eq!(acc.planned_actions(ADDR), ["update"]);
    acc.apply();
    assert_eq!(
        acc.emu.ssh_login_key(&vm, USER, &newer).await,
        Ok(()),
        "the replacing key"
    );
    for (key, what) in [(&new, "the replaced key"), (&old_key(), "the first key")] {
        assert_eq!(
            acc.emu.ssh_login_key(&vm, USER, key).await,
            not_there,
            "{what}"
        );
    }
    let user = acc.emu.linux_user(&vm, USER).await.expect("the user");
    assert_eq!(user.profile.authorized_keys, std::slice::from_ref(&newer));
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);
    assert_eq!(acc.plan_exit_code(&[]), 0);

    // Destroy removes the extension; the keys it set stay.
    acc.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
    assert!(linux_vmaccess_extensions(&acc, &vm).await.is_empty());
    assert_eq!(acc.emu.ssh_login_key(&vm, USER, &newer).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_ssh_repairs_a_broken_sshd_config_warns_and_then_plans_nothing() {
    let acc = Acceptance::start().await;
    let vm = acc
        .emu
        .seed_linux_vm("web", LinuxGuestSeed::locked_out())
        .await;
    assert_eq!(
        acc.emu
            .ssh_login_key(&vm, LOCKED_OUT_USER, LOST_PUBLIC_KEY)
            .await,
        Err("sshd_config broken: sshd does not run".into()),
        "seeded broken"
    );

    acc.tf
        .write_main(&reset_block("web", &vm, &["reset_ssh = true"]));
    let (plan, out) = plan_with_output(&acc);
    assert_eq!(actions_of(&plan, ADDR), ["create"]);
    out.assert_mentions(&["Warning:", "replaces the whole sshd_config"]);
    acc.run(APPLY_PLAN_FILE).assert_success();

    let guest = acc.emu.linux_guest(&vm).await;
    let config = &guest.ssh.sshd_config;
    assert!(!config.broken, "{guest:#?}");
    assert_eq!(config.default_of, Some(LinuxDistro::Ubuntu), "{guest:#?}");
    assert!(guest.ssh.ssh_port_open);
    assert_eq!(
        acc.emu
            .ssh_login_key(&vm, LOCKED_OUT_USER, LOST_PUBLIC_KEY)
            .await,
        Ok(()),
        "sshd runs again"
    );
    let user = guest.user(LOCKED_OUT_USER).expect("the user");
    assert_eq!(
        user.profile.authorized_keys,
        [LOST_PUBLIC_KEY],
        "no user touched"
    );
    let state = acc.state_values(ADDR);
    assert_eq!(state["reset_ssh"], json!(true), "{state:#}");
    assert!(state["username"].is_null(), "{state:#}");
    assert_eq!(state["os_type"], "Linux", "{state:#}");

    let second = acc.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(second.code(), Some(0), "a second plan is empty:\n{second}");
    assert_eq!(vmaccess_runs(&acc, &vm).await, 1);

    // `triggers` reruns the same settings: a new forceUpdateTag makes the handler really run.
    let restarts = guest.ssh.sshd_restarts;
    acc.tf.write_main(&reset_block(
        "web",
        &vm,
        &["reset_ssh = true", "triggers = { repair = \"2\" }"],
    ));
    assert_eq!(acc.planned_actions(ADDR), ["update"]);
    acc.apply();
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);
    let guest = acc.emu.linux_guest(&vm).await;
    assert!(
        guest.ssh.sshd_restarts > restarts,
        "sshd_config reset again"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiration_is_set_on_a_new_user_and_an_existing_user_keeps_it() {
    let (acc, vm) = linux_vm().await;
    let key = ed25519_public_key("contractor");
    acc.tf.write_main(&keys_config(
        &vm,
        "contractor",
        &[&key],
        &["expiration = \"2099-12-31\""],
    ));
    acc.apply();

    let user = acc
        .emu
        .linux_user(&vm, "contractor")
        .await
        .expect("the user was created");
    assert_eq!(user.profile.expiration.as_deref(), Some("2099-12-31"));
    assert!(!user.expired);
    assert_eq!(user.home, "/home/contractor");
    assert_eq!(
        acc.emu.ssh_login_key(&vm, "contractor", &key).await,
        Ok(()),
        "the new user's key"
    );
    assert_eq!(acc.state_values(ADDR)["expiration"], "2099-12-31");
    assert_eq!(acc.plan_exit_code(&[]), 0);

    // A new date reruns the extension, but an existing account keeps its expiry.
    acc.tf.write_main(&keys_config(
        &vm,
        "contractor",
        &[&key],
        &["expiration = \"2099-06-30\""],
    ));
    assert_eq!(acc.planned_actions(ADDR), ["update"]);
    acc.apply();
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);
    let user = acc.emu.linux_user(&vm, "contractor").await.expect("user");
    assert_eq!(user.profile.expiration.as_deref(), Some("2099-12-31"));
    assert_eq!(acc.plan_exit_code(&[]), 0);
}

// ---------------------------------------------------------------------------
// Drift and an extension already on the VM.
// ---------------------------------------------------------------------------

/// The plan is an in-place update with a warning that says why (`reason`); applying it settles.
async fn assert_drift_rerun_applies(acc: &Acceptance, reason: &str) {
    let (plan, out) = plan_with_output(acc);
    assert_eq!(actions_of(&plan, ADDR), ["update"], "{reason}");
    out.assert_mentions(&[
        "Warning:",
        "will rerun the VMAccess extension on VM \"web\"",
        reason,
    ]);
    acc.run(APPLY_PLAN_FILE).assert_success();
    assert_eq!(
        acc.plan_exit_code(&[]),
        0,
        "settled after the {reason} rerun"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_on_a_linux_extension_plans_a_rerun_with_its_reason() {
    let (acc, vm) = linux_vm().await;
    let key = ed25519_public_key("managed");
    acc.tf.write_main(&keys_config(&vm, USER, &[&key], &[]));
    acc.apply();
    let name = state_str(&acc, "extension_name");
    assert_eq!(vmaccess_runs(&acc, &vm).await, 1);

    // Rerun by someone else: a foreign forceUpdateTag.
    acc.emu
        .patch_extension(&vm, &name, |p| {
            p.force_update_tag = Some("rerun-by-az-cli".into())
        })
        .await;
    assert_drift_rerun_applies(&acc, "forceUpdateTag").await;
    let tag = state_str(&acc, "force_update_tag");
    assert_ne!(tag, "rerun-by-az-cli");
    let ext = extension(&acc, &vm, &name).await;
    assert_eq!(ext.force_update_tag, Some(tag));
    assert_eq!(vmaccess_runs(&acc, &vm).await, 2);

    // Failed since.
    acc.emu
        .patch_extension(&vm, &name, |p| {
            p.provisioning_state = Some("Failed".into());
            p.status_message = Some("Enable failed: something broke.".into());
        })
        .await;
    assert_drift_rerun_applies(&acc, "Failed").await;
    assert_eq!(state_str(&acc, "provisioning_state"), "Succeeded");
    assert_eq!(vmaccess_runs(&acc, &vm).await, 3);

    // Removed: refresh drops it from state, and it is created again (as on Windows).
    acc.emu.delete_extension(&vm, &name).await;
    assert_eq!(acc.planned_actions(ADDR), ["create"]);
    acc.apply();
    assert_eq!(linux_vmaccess_extensions(&acc, &vm).await.len(), 1);
    assert_eq!(vmaccess_runs(&acc, &vm).await, 4);
    assert_settled_by_key(&acc, &vm, USER, &key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_enablevmaccess_linux_extension_is_reused_under_its_name() {
    let (acc, vm) = linux_vm().await;
    // What `az vm user update` leaves behind.
    acc.emu
        .put_linux_vmaccess(&vm, "enablevmaccess", "az-cli-run-1")
        .await;
    let key = ed25519_public_key("reused");
    acc.tf.write_main(&keys_config(&vm, USER, &[&key], &[]));
    let out = acc.apply();
    out.assert_mentions(&[
        "Warning: Reusing the VM's existing VMAccess extension",
        "enablevmaccess",
    ]);

    let state = acc.state_values(ADDR);
    assert_eq!(state["extension_name"], "enablevmaccess", "{state:#}");
    let id = state["id"].as_str().unwrap_or_default();
    assert!(id.ends_with("/extensions/enablevmaccess"), "{id}");
    let extensions = linux_vmaccess_extensions(&acc, &vm).await;
    let names: Vec<&str> = extensions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["enablevmaccess"], "still exactly one");
    assert_eq!(
        extensions[0].force_update_tag.as_deref(),
        state["force_update_tag"].as_str(),
        "rerun with this resource's tag"
    );
    assert_settled_by_key(&acc, &vm, USER, &key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_extension_name_replaces_the_linux_extension() {
    let (acc, vm) = linux_vm().await;
    let key = ed25519_public_key("renamed");
    acc.tf.write_main(&keys_config(&vm, USER, &[&key], &[]));
    acc.apply();
    let first = state_str(&acc, "extension_name");

    acc.tf.write_main(&keys_config(
        &vm,
        USER,
        &[&key],
        &["extension_name = \"ResetAccess\""],
    ));
    assert_eq!(
        acc.planned_actions(ADDR),
        ["delete", "create"],
        "from {first}"
    );
    acc.apply();
    let names: Vec<String> = linux_vmaccess_extensions(&acc, &vm)
        .await
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["ResetAccess"], "the old one is gone");
    assert_eq!(state_str(&acc, "extension_name"), "ResetAccess");
    assert_settled_by_key(&acc, &vm, USER, &key).await;
}

// ---------------------------------------------------------------------------
// Input for the wrong OS, and invalid input: plan-time errors, nothing sent.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linux_only_attributes_on_a_windows_vm_fail_at_plan_naming_the_attribute_and_the_os() {
    let acc = Acceptance::start().await;
    let vm = acc.emu.seed_windows_vm("win").await;
    let key = ed25519_public_key("win");
    let user = "username = \"azureadmin\"";
    let pw = "password = \"Windows-Passw0rd!1\"";
    let keys = ssh_public_keys_line(&[&key]);
    let main = acc.tf.write_main(
        &[
            reset_block("keys", &vm, &[user, pw, &keys]),
            reset_block("prior", &vm, &[user, pw, &keys, "remove_prior_keys = true"]),
            reset_block("sshd", &vm, &["reset_ssh = true"]),
            reset_block("expiry", &vm, &[user, pw, "expiration = \"2099-12-31\""]),
        ]
        .concat(),
    );

    let (errors, out) = plan_errors(&acc);
    for (block, attr) in [
        ("keys", "ssh_public_keys"),
        ("prior", "ssh_public_keys"),
        ("prior", "remove_prior_keys"),
        ("sshd", "reset_ssh"),
        ("expiry", "expiration"),
    ] {
        let line = attribute_line(&main, block, attr);
        assert_error_at(
            &errors,
            line..=line,
            &[attr, "is for Linux VMs", "\"win\"", "Windows"],
            &format!("{block}.{attr}"),
            &out,
        );
    }
    apply_fails_without_writes(&acc, &vm).await;
    assert!(
        acc.emu.login(&vm, "azureadmin", "Initial-Passw0rd!").await,
        "the account is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_only_input_on_a_linux_vm_fails_at_plan_saying_the_vm_runs_linux() {
    let (acc, vm) = linux_vm().await;
    let user = format!("username = \"{USER}\"");
    let keys = ssh_public_keys_line(&[&ed25519_public_key("thv")]);
    let main = acc.tf.write_main(
        &[
            // Without a username, on Windows: a Remote Desktop reset.
            reset_block("rdp", &vm, &[]),
            reset_block(
                "thv",
                &vm,
                &[&user, &keys, "type_handler_version = \"2.4\""],
            ),
        ]
        .concat(),
    );

    let (errors, out) = plan_errors(&acc);
    assert_error_at(
        &errors,
        block_lines(&main, "rdp"),
        &[
            "VM \"web\" runs Linux",
            "Remote Desktop reset is Windows-only",
        ],
        "no username and no reset_ssh",
        &out,
    );
    let line = attribute_line(&main, "thv", "type_handler_version");
    assert_error_at(
        &errors,
        line..=line,
        &["2.4", "Linux"],
        "type_handler_version 2.4",
        &out,
    );
    apply_fails_without_writes(&acc, &vm).await;

    // A user name alone sets nothing: refused before the OS is known, naming the Linux way out.
    let main = acc.tf.write_main(&reset_block("nothing", &vm, &[&user]));
    let (errors, out) = plan_errors(&acc);
    let line = attribute_line(&main, "nothing", "username");
    assert_error_at(
        &errors,
        line..=line,
        &["ssh_public_keys", "Linux"],
        "a username without a password or key",
        &out,
    );
    apply_fails_without_writes(&acc, &vm).await;
    assert_eq!(
        acc.emu.ssh_login_key(&vm, USER, &old_key()).await,
        Ok(()),
        "the guest is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_name_and_password_rules_follow_the_vms_os() {
    let (mut acc, vm) = linux_vm().await;
    let keys = ssh_public_keys_line(&[&ed25519_public_key("rules")]);
    let main = acc.tf.write_main(
        &[
            reset_block("root", &vm, &["username = \"root\"", &keys]),
            reset_block("upper", &vm, &["username = \"OpsAdmin\"", &keys]),
        ]
        .concat(),
    );
    let (errors, out) = plan_errors(&acc);
    for (block, says) in [
        ("root", ["Invalid user name", "root"]),
        (
            "upper",
            [
                "Invalid user name",
                "Linux user name starts with a lower-case",
            ],
        ),
    ] {
        let line = attribute_line(&main, block, "username");
        assert_error_at(&errors, line..=line, &says, block, &out);
    }
    apply_fails_without_writes(&acc, &vm).await;

    // Seven characters: too short for Windows (8), enough for Linux (6).
    const SHORT: &str = "Ab1!xyz";
    acc.tf.write_main(&password_wo_config(&vm, &[]));
    acc.tf
        .set_env("TF_VAR_pw", SHORT)
        .set_env("TF_VAR_ver", "1");
    acc.apply();
    assert_eq!(acc.emu.ssh_login_password(&vm, USER, SHORT).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_ssh_keys_and_expiration_dates_fail_at_plan_naming_the_attribute() {
    let (acc, vm) = linux_vm().await;
    let user = format!("username = \"{USER}\"");
    let good = ssh_public_keys_line(&[&ed25519_public_key("good")]);
    let short_rsa = ssh_public_keys_line(&[&rsa_public_key(1024, "short")]);
    let bad_base64 = ssh_public_keys_line(&["ssh-ed25519 AAAA@@not-base64@@ me@laptop"]);
    let ecdsa =
        ssh_public_keys_line(&["ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= me@laptop"]);
    let private = ssh_public_keys_line(&["-----BEGIN OPENSSH PRIVATE KEY-----"]);
    let main = acc.tf.write_main(
        &[
            reset_block("short_rsa", &vm, &[&user, &short_rsa]),
            reset_block("bad_base64", &vm, &[&user, &bad_base64]),
            reset_block("ecdsa", &vm, &[&user, &ecdsa]),
            reset_block("private", &vm, &[&user, &private]),
            reset_block(
                "date_format",
                &vm,
                &[&user, &good, "expiration = \"31/12/2099\""],
            ),
            reset_block(
                "no_such_day",
                &vm,
                &[&user, &good, "expiration = \"2099-02-30\""],
            ),
        ]
        .concat(),
    );

    let (errors, out) = plan_errors(&acc);
    for (block, attr, says) in [
        ("short_rsa", "ssh_public_keys", "2048"),
        ("bad_base64", "ssh_public_keys", "Base64"),
        ("ecdsa", "ssh_public_keys", "unknown algorithm"),
        ("private", "ssh_public_keys", "This is a private key"),
        ("date_format", "expiration", "yyyy-mm-dd"),
        ("no_such_day", "expiration", "2099-02-30"),
    ] {
        // The error is on the attribute's line: Terraform names it there.
        let line = attribute_line(&main, block, attr);
        assert_error_at(&errors, line..=line, &[says], block, &out);
    }
    apply_fails_without_writes(&acc, &vm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_vm_and_agent_not_ready_are_refused_at_plan_without_a_put() {
    let acc = Acceptance::start().await;
    let mut stopped = VmSeed::linux(guest());
    stopped.power_state = PowerState::Deallocated;
    let stopped = acc.emu.seed_vm("stopped", &stopped).await;
    let mut no_agent = VmSeed::linux(guest());
    no_agent.agent_ready = false;
    no_agent.agent_status_message = Some("VM Agent has not reported for 17 minutes.".into());
    let no_agent = acc.emu.seed_vm("noagent", &no_agent).await;
    let user = format!("username = \"{USER}\"");
    let keys = ssh_public_keys_line(&[&ed25519_public_key("new")]);
    let main = acc.tf.write_main(
        &[
            reset_block("stopped", &stopped, &[&user, &keys]),
            reset_block("noagent", &no_agent, &[&user, &keys]),
        ]
        .concat(),
    );

    let (errors, out) = plan_errors(&acc);
    assert_error_at(
        &errors,
        block_lines(&main, "stopped"),
        &["The VM is not running", "deallocated"],
        "a deallocated Linux VM",
        &out,
    );
    assert_error_at(
        &errors,
        block_lines(&main, "noagent"),
        &["The VM agent is not ready", "17 minutes"],
        "a Linux VM whose agent is not ready",
        &out,
    );
    apply_fails_without_writes(&acc, &stopped).await;
    assert_eq!(vmaccess_runs(&acc, &no_agent).await, 0);
}

/// A VM ID known only at apply (the VM is "created" in the same run, here through
/// `terraform_data`): the plan cannot know the OS; apply reads it and applies its rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn os_type_of_a_vm_known_only_at_apply_is_read_at_apply() {
    let (acc, vm) = linux_vm().await;
    let key = ed25519_public_key("later");
    let vm_data = format!("resource \"terraform_data\" \"vm\" {{\n  input = \"{vm}\"\n}}\n");
    let reset = keys_config(&vm, USER, &[&key], &[])
        .replace(&format!("\"{vm}\""), "terraform_data.vm.output");
    acc.tf.write_main(&format!("{vm_data}\n{reset}"));

    let plan = acc.plan_json(&[]);
    assert_eq!(actions_of(&plan, ADDR), ["create"]);
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == ADDR))
        .expect("a change");
    assert_eq!(
        change["change"]["after_unknown"]["os_type"],
        json!(true),
        "unknown until the VM ID is: {change:#}"
    );
    acc.apply();
    let state = acc.state_values(ADDR);
    assert_eq!(state["os_type"], "Linux", "{state:#}");
    assert_eq!(state["type_handler_version"], "1.5", "{state:#}");
    assert_settled_by_key(&acc, &vm, USER, &key).await;

    // A Linux-only attribute on a Windows VM known only at apply: refused then, before any PUT.
    let win = acc.emu.seed_windows_vm("win").await;
    let win_data = format!("resource \"terraform_data\" \"win\" {{\n  input = \"{win}\"\n}}\n");
    let win_reset = format!(
        "resource \"vm_access_reset\" \"win\" {{\n  virtual_machine_id = terraform_data.win.output\n  username = \"azureadmin\"\n  {}\n}}\n",
        ssh_public_keys_line(&[&key])
    );
    acc.tf
        .write_main(&format!("{vm_data}\n{reset}\n{win_data}\n{win_reset}"));
    let out = acc.run(APPLY);
    out.assert_failure();
    out.assert_mentions(&["`ssh_public_keys` is for Linux VMs", "\"win\"", "Windows"]);
    assert_eq!(
        acc.emu.count_requests("PUT", "/virtualMachines/win/").await,
        0,
        "nothing sent to the Windows VM"
    );
    assert_eq!(vmaccess_runs(&acc, &win).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_vm_id_of_a_linux_vm_sets_os_type_and_without_username_plans_no_run() {
    let (acc, vm) = linux_vm().await;
    acc.emu
        .put_linux_vmaccess(&vm, "enablevmaccess", "az-cli-run-1")
        .await;
    acc.tf.write_main(&reset_block("web", &vm, &[]));
    let out = acc.run(&["import", "-no-color", "-input=false", ADDR, &vm.to_string()]);
    out.assert_success();

    let state = acc.state_values(ADDR);
    assert_eq!(state["os_type"], "Linux", "{state:#}");
    assert_eq!(state["extension_name"], "enablevmaccess", "{state:#}");
    assert_eq!(state["type_handler_version"], "1.5", "{state:#}");
    let plan = acc.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(
        plan.code(),
        Some(0),
        "no username, nothing to run, no error:\n{plan}"
    );
    assert_eq!(acc.emu.count_requests("PUT", "/subscriptions/").await, 0);
}

/// `terraform apply` fails too, and neither it nor the plans before sent a PUT (or any other
/// write) to ARM; the VM never ran VMAccess.
async fn apply_fails_without_writes(acc: &Acceptance, vm: &VirtualMachineId) {
    acc.run(APPLY).assert_failure();
    assert_eq!(
        acc.emu.count_requests("PUT", "/subscriptions/").await,
        0,
        "no PUT reached ARM: {:#?}",
        acc.emu.requests().await
    );
    assert_eq!(writes(acc).await, 0, "no write reached ARM");
    assert_eq!(vmaccess_runs(acc, vm).await, 0);
    assert!(acc.state_file().is_empty() || acc.state_values(ADDR).is_null());
}
