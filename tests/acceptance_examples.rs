//! Acceptance: the `.tf` files in `examples/` (the ones the docs embed) work
//! against the emulator as written — applied, or for `import.tf` planned —
//! with their inputs set the way a user sets them, through `TF_VAR_…`.
//! Every `.tf` file under `examples/` must be covered by a test here.

use std::path::{Path, PathBuf};

use serde_json::json;
use terraform_provider_vm::azure::VirtualMachineId;
use vm_emulator::admin::{LOST_PUBLIC_KEY, ScaleSetRef, ScaleSetSeed, SshLogin};
use vm_emulator::{LinuxGuestSeed, LinuxUserSeed, VmSeed};
use vm_test_support::acceptance::{Acceptance, actions_of};
use vm_test_support::azure_emulator::{PORTAL_TAG, RESOURCE_GROUP, vm_ref};

const PROVIDER_TF: &str = "examples/provider/provider.tf";
const RESOURCE_TF: &str = "examples/resources/vm_access_reset/resource.tf";
const IMPORT_TF: &str = "examples/resources/vm_access_reset/import.tf";
/// Needs Terraform 1.12+: exercised by `tests/acceptance_identity.rs`.
const IMPORT_IDENTITY_TF: &str = "examples/resources/vm_access_reset/import-identity.tf";

/// Need Terraform 1.14+: exercised by `tests/acceptance_action.rs`.
const ACTION_TFS: [&str; 3] = [
    "examples/actions/vm_access_reset/action.tf",
    "examples/actions/vm_access_reset/rdp.tf",
    "examples/actions/vm_access_reset/trigger.tf",
];
const LINUX_TF: &str = "examples/resources/vm_access_reset/linux.tf";
const LINUX_SSH_KEY_TF: &str = "examples/resources/vm_access_reset/linux-ssh-key.tf";
const LINUX_RESET_SSH_TF: &str = "examples/resources/vm_access_reset/linux-reset-ssh.tf";
/// Need Terraform 1.14+: exercised by `tests/acceptance_action.rs`.
const LINUX_ACTION_TFS: [&str; 2] = [
    "examples/actions/vm_access_reset/linux-replace-key.tf",
    "examples/actions/vm_access_reset/linux-remove-user.tf",
];
const SCALE_SET_TF: &str = "examples/resources/vm_scale_set_access_reset/resource.tf";
const SCALE_SET_LINUX_TF: &str = "examples/resources/vm_scale_set_access_reset/linux.tf";
/// Needs Terraform 1.14+: exercised by `tests/acceptance_scale_sets_action.rs`.
const SCALE_SET_ACTION_TF: &str = "examples/actions/vm_scale_set_access_reset/action.tf";
/// The public half of the example user's new key pair (the emulator compares public keys only).
const NEW_PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2UqqugBUcq15fYUzEo2Bgbp/3qAZNui/VpOuXHzMic ops@new-laptop";

/// The example files the tests below use; adding an example without a test
/// fails `every_tf_example_is_tested`.
const COVERED: &[&str] = &[
    PROVIDER_TF,
    RESOURCE_TF,
    IMPORT_TF,
    IMPORT_IDENTITY_TF,
    ACTION_TFS[0],
    ACTION_TFS[1],
    ACTION_TFS[2],
    LINUX_TF,
    LINUX_SSH_KEY_TF,
    LINUX_RESET_SSH_TF,
    LINUX_ACTION_TFS[0],
    LINUX_ACTION_TFS[1],
    SCALE_SET_TF,
    SCALE_SET_LINUX_TF,
    SCALE_SET_ACTION_TF,
];

const ADDR: &str = "vm_access_reset.example";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn tf_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read examples/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            tf_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "tf") {
            found.push(path);
        }
    }
}

#[test]
fn every_tf_example_is_tested() {
    let mut found = Vec::new();
    tf_files(&root().join("examples"), &mut found);
    assert!(!found.is_empty(), "no examples found");
    for path in found {
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(
            COVERED.contains(&rel.as_str()),
            "{rel} is not exercised by tests/acceptance_examples.rs; add it to a test and to COVERED"
        );
    }
}

/// An acceptance fixture with the given example files copied in verbatim
/// and a locked-out VM to point them at.
async fn with_examples(
    files: &[&str],
) -> (Acceptance, terraform_provider_vm::azure::VirtualMachineId) {
    let mut acc = Acceptance::start().await;
    let vm = acc.emu.seed_locked_out_vm("web01").await;
    for file in files {
        let name = Path::new(file).file_name().unwrap().to_string_lossy();
        acc.tf.write(&name, &example(file));
    }
    acc.tf
        .set_env("TF_VAR_virtual_machine_id", &vm.to_string())
        .set_env("TF_VAR_admin_password", "Example-Passw0rd!1");
    (acc, vm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_and_resource_examples_apply_and_then_plan_nothing() {
    let (acc, vm) = with_examples(&[PROVIDER_TF, RESOURCE_TF]).await;

    acc.run(&["validate", "-no-color"]).assert_success();
    acc.apply();
    assert!(
        acc.emu.login(&vm, "opsadmin", "Example-Passw0rd!1").await,
        "the example's password works after apply"
    );
    assert!(
        !acc.state_file().contains("Example-Passw0rd!1"),
        "the write-only password is not in state"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "a second plan has no changes");

    // The rotation the example's comment describes.
    let rotate = [
        ("TF_VAR_admin_password", "Rotated-Passw0rd!2"),
        ("TF_VAR_admin_password_version", "2"),
    ];
    let plan = acc.run_with_env(
        &["plan", "-detailed-exitcode", "-no-color", "-input=false"],
        &rotate,
    );
    assert_eq!(
        plan.code(),
        Some(2),
        "bumping the version plans a change:\n{plan}"
    );
    assert!(plan.stdout.contains("~ update in-place"), "{plan}");
    acc.run_with_env(
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        &rotate,
    )
    .assert_success();
    assert!(acc.emu.login(&vm, "opsadmin", "Rotated-Passw0rd!2").await);

    acc.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
}

/// The import example, and what the portal's "Reset password" would have left on the VM.
async fn with_import_example() -> (Acceptance, terraform_provider_vm::azure::VirtualMachineId) {
    let (acc, vm) = with_examples(&[PROVIDER_TF, RESOURCE_TF, IMPORT_TF]).await;
    acc.emu.put_portal_reset(&vm, "VMAccessAgent").await;
    (acc, vm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_example_plans_an_import_and_a_rerun() {
    let (acc, vm) = with_import_example().await;

    acc.run(&["validate", "-no-color"]).assert_success();
    let plan = acc.plan_json(&[]);
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == ADDR))
        .unwrap_or_else(|| panic!("no change for {ADDR}: {plan}"));
    assert_eq!(
        change["change"]["importing"]["id"],
        format!("{vm}/extensions/VMAccessAgent"),
        "the import block's ID is the extension's ARM ID"
    );
    // Secrets cannot be imported: the first plan reruns to set the password.
    assert_eq!(actions_of(&plan, ADDR), vec!["update"]);

    acc.apply_and_settle(&vm, "opsadmin", "Example-Passw0rd!1")
        .await;
}

/// The documented way to skip the import's rerun.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_with_ignore_changes_plans_no_rerun() {
    let (acc, vm) = with_import_example().await;
    // An override file adds the lifecycle block the docs suggest.
    acc.tf.write(
        "ignore_override.tf",
        "resource \"vm_access_reset\" \"example\" {\n  lifecycle {\n    ignore_changes = [password_wo_version]\n  }\n}\n",
    );
    let plan = acc.plan_json(&[]);
    let change = &plan["resource_changes"][0]["change"];
    // Terraform may still call it an update (the state gains the sensitivity
    // mark of `password_wo`), but nothing is planned to run: the run outputs
    // stay as imported.
    assert_eq!(change["after_unknown"], json!({}), "{plan}");
    assert_eq!(change["after"]["force_update_tag"], PORTAL_TAG, "{plan}");

    acc.apply();
    let view = acc.emu.vm_view(&vm).await;
    assert_eq!(
        view.vmaccess_runs, 0,
        "the import's apply did not run VMAccess: {view:?}"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "settled");
}

/// A Linux VM for a Linux example: `opsadmin` has only the key whose private half is lost
/// (and with `broken_sshd`, sshd does not start).
async fn with_linux_example(file: &str, broken_sshd: bool) -> (Acceptance, VirtualMachineId) {
    let mut acc = Acceptance::start().await;
    let guest = if broken_sshd {
        LinuxGuestSeed::locked_out()
    } else {
        LinuxGuestSeed {
            users: vec![LinuxUserSeed::new("opsadmin", &[LOST_PUBLIC_KEY])],
            ..LinuxGuestSeed::default()
        }
    };
    let vm = acc.emu.seed_vm("app01", &VmSeed::linux(guest)).await;
    for f in [PROVIDER_TF, file] {
        let name = Path::new(f).file_name().unwrap().to_string_lossy();
        acc.tf.write(&name, &example(f));
    }
    acc.tf
        .set_env("TF_VAR_virtual_machine_id", &vm.to_string())
        .set_env("TF_VAR_admin_password", "Example-Passw0rd!1")
        .set_env("TF_VAR_ssh_public_key", NEW_PUBLIC_KEY);
    (acc, vm)
}

async fn ssh_login(acc: &Acceptance, vm: &VirtualMachineId, login: SshLogin) -> Option<String> {
    let outcome = acc
        .emu
        .admin
        .ssh_login(&vm_ref(vm), &login)
        .await
        .expect("ssh login");
    outcome.reason.or(if outcome.ok {
        None
    } else {
        Some("refused".into())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linux_examples_apply_and_then_plan_nothing() {
    // linux.tf: a password and a key for opsadmin.
    let (acc, vm) = with_linux_example(LINUX_TF, false).await;
    acc.run(&["validate", "-no-color"]).assert_success();
    let out = acc.apply();
    assert!(
        out.stdout.contains("PasswordAuthentication")
            || out.stderr.contains("PasswordAuthentication"),
        "the plan warns about PasswordAuthentication:\n{out}"
    );
    assert_eq!(
        ssh_login(
            &acc,
            &vm,
            SshLogin::password("opsadmin", "Example-Passw0rd!1")
        )
        .await,
        None
    );
    assert_eq!(
        ssh_login(&acc, &vm, SshLogin::public_key("opsadmin", NEW_PUBLIC_KEY)).await,
        None
    );
    assert_eq!(
        ssh_login(&acc, &vm, SshLogin::public_key("opsadmin", LOST_PUBLIC_KEY)).await,
        None,
        "appended, not replaced"
    );
    assert!(!acc.state_file().contains("Example-Passw0rd!1"));
    assert_eq!(acc.plan_exit_code(&[]), 0, "a second plan has no changes");
    drop(acc);

    // linux-ssh-key.tf: the new key replaces the lost one.
    let (acc, vm) = with_linux_example(LINUX_SSH_KEY_TF, false).await;
    acc.run(&["validate", "-no-color"]).assert_success();
    acc.apply();
    assert_eq!(
        ssh_login(&acc, &vm, SshLogin::public_key("opsadmin", NEW_PUBLIC_KEY)).await,
        None
    );
    assert!(
        ssh_login(&acc, &vm, SshLogin::public_key("opsadmin", LOST_PUBLIC_KEY))
            .await
            .is_some(),
        "the lost key is gone"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "a second plan has no changes");
    drop(acc);

    // linux-reset-ssh.tf: sshd starts again.
    let (acc, vm) = with_linux_example(LINUX_RESET_SSH_TF, true).await;
    assert!(
        ssh_login(&acc, &vm, SshLogin::public_key("opsadmin", LOST_PUBLIC_KEY))
            .await
            .is_some(),
        "sshd is broken before"
    );
    acc.run(&["validate", "-no-color"]).assert_success();
    acc.apply();
    assert_eq!(
        ssh_login(&acc, &vm, SshLogin::public_key("opsadmin", LOST_PUBLIC_KEY)).await,
        None,
        "sshd runs again"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "a second plan has no changes");
}

/// A scale set seeded in the emulator, the provider example and `file` copied in, and
/// `TF_VAR_virtual_machine_scale_set_id` pointing at the scale set.
async fn with_scale_set_example(
    file: &str,
    name: &str,
    seed: ScaleSetSeed,
) -> (Acceptance, ScaleSetRef) {
    let mut acc = Acceptance::start().await;
    let scale_set = ScaleSetRef::new(acc.emu.subscription_id(), RESOURCE_GROUP, name);
    let view = acc
        .emu
        .admin
        .seed_scale_set(&scale_set, &seed)
        .await
        .expect("scale set seeded");
    for f in [PROVIDER_TF, file] {
        let name = Path::new(f).file_name().unwrap().to_string_lossy();
        acc.tf.write(&name, &example(f));
    }
    acc.tf
        .set_env("TF_VAR_virtual_machine_scale_set_id", &view.id)
        .set_env("TF_VAR_admin_password", "Example-Passw0rd!1")
        .set_env("TF_VAR_ssh_public_key", NEW_PUBLIC_KEY);
    (acc, scale_set)
}

/// Each instance's `result` in the state of the examples' `vm_scale_set_access_reset.example`.
fn scale_set_results(acc: &Acceptance) -> Vec<String> {
    let state = acc.state_values("vm_scale_set_access_reset.example");
    state["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("instances is a list: {state:#}"))
        .iter()
        .map(|i| i["result"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether the model of the scale set has a VMAccess extension.
async fn model_has_vmaccess(acc: &Acceptance, scale_set: &ScaleSetRef) -> bool {
    let view = acc.emu.admin.scale_set(scale_set).await.expect("scale set");
    view.model_extensions
        .iter()
        .any(|e| e.extension_type.starts_with("VMAccess"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_set_example_resets_running_instances_and_skips_the_stopped_one() {
    let (acc, scale_set) = with_scale_set_example(
        SCALE_SET_TF,
        "vmss-web",
        ScaleSetSeed::uniform(4, VmSeed::locked_out()).stopped([2]),
    )
    .await;

    acc.run(&["validate", "-no-color"]).assert_success();
    let out = acc.apply();
    assert!(
        out.text().contains("Stopped instances will be skipped"),
        "the plan names the stopped instance:\n{out}"
    );
    assert!(
        out.stdout.contains("vmss-web_2") && out.stdout.contains("skipped"),
        "the example's output lists the skipped instance:\n{out}"
    );
    let mut results = scale_set_results(&acc);
    results.sort();
    assert_eq!(
        results,
        ["skipped", "succeeded", "succeeded", "succeeded"],
        "{}",
        acc.state_file()
    );
    for key in ["0", "1", "3"] {
        let login = acc
            .emu
            .admin
            .instance_login(&scale_set, key, "opsadmin", "Example-Passw0rd!1")
            .await
            .expect("login tried");
        assert!(login.ok, "instance {key} takes the example's password");
    }
    assert!(
        !acc.state_file().contains("Example-Passw0rd!1"),
        "the write-only password is not in state"
    );
    assert!(
        !model_has_vmaccess(&acc, &scale_set).await,
        "the model is left alone"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "a second plan has no changes");

    acc.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .assert_success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_set_linux_example_replaces_the_lost_key_on_every_instance() {
    let guest = LinuxGuestSeed {
        users: vec![LinuxUserSeed::new("opsadmin", &[LOST_PUBLIC_KEY])],
        ..LinuxGuestSeed::default()
    };
    let (acc, scale_set) = with_scale_set_example(
        SCALE_SET_LINUX_TF,
        "vmss-app",
        ScaleSetSeed::flexible(3, VmSeed::linux(guest)),
    )
    .await;

    acc.run(&["validate", "-no-color"]).assert_success();
    acc.apply();
    assert_eq!(
        scale_set_results(&acc),
        ["succeeded", "succeeded", "succeeded"]
    );
    let view = acc
        .emu
        .admin
        .scale_set(&scale_set)
        .await
        .expect("scale set");
    for instance in &view.instances {
        let login = |key: &str| SshLogin::public_key("opsadmin", key);
        let by_new = acc
            .emu
            .admin
            .instance_ssh_login(&scale_set, &instance.key, &login(NEW_PUBLIC_KEY))
            .await
            .expect("login tried");
        let by_lost = acc
            .emu
            .admin
            .instance_ssh_login(&scale_set, &instance.key, &login(LOST_PUBLIC_KEY))
            .await
            .expect("login tried");
        assert!(
            by_new.ok && !by_lost.ok,
            "{}: the new key opens the account, the lost one no longer does",
            instance.name
        );
    }
    assert!(
        !model_has_vmaccess(&acc, &scale_set).await,
        "the model is left alone"
    );
    assert_eq!(acc.plan_exit_code(&[]), 0, "a second plan has no changes");
}
