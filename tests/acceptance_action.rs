//! Acceptance: the `vm_access_reset` action with the real terraform CLI (1.14 or later) against
//! the emulator: `terraform apply -invoke`, plan-time checks, failures, `action_trigger`, and
//! the password kept out of every output. Every test first checks the terraform it was given
//! and fails, never skips, when it has no actions.

use serde_json::{Value, json};
use terraform_provider_vm::azure::VirtualMachineId;
use vm_emulator::{OsType, PowerState, VmSeed};
use vm_test_support::acceptance::{Acceptance, action_block, progress_lines};
use vm_test_support::azure_emulator::LOCKED_OUT_PASSWORD;
use vm_test_support::terraform::{TerraformVersion, TfOutput, require_terraform};

const USER: &str = "opsadmin";
const PW: &str = "Break-Glass-Passw0rd!2026";

const PW_VAR: &str =
    "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n";

/// The examples the docs embed, used here as written.
const ACTION_TF: &str = "examples/actions/vm_access_reset/action.tf";
const RDP_TF: &str = "examples/actions/vm_access_reset/rdp.tf";
const TRIGGER_TF: &str = "examples/actions/vm_access_reset/trigger.tf";
const LINUX_REPLACE_KEY_TF: &str = "examples/actions/vm_access_reset/linux-replace-key.tf";
const LINUX_REMOVE_USER_TF: &str = "examples/actions/vm_access_reset/linux-remove-user.tf";

/// Writes the example files (with the `required_providers` block) into the working directory.
fn write_examples(acc: &Acceptance, files: &[&str]) {
    let text: String = files
        .iter()
        .map(|f| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {f}: {e}")) + "\n"
        })
        .collect();
    acc.tf.write_main(&text);
}

/// The example's variables, set as a pipeline sets them.
fn example_vars<'a>(vm: &'a str, pw: &'a str) -> [(&'static str, &'a str); 2] {
    [
        ("TF_VAR_virtual_machine_id", vm),
        ("TF_VAR_breakglass_password", pw),
    ]
}

async fn start() -> Acceptance {
    require_terraform(TerraformVersion(1, 14, 0), "actions");
    Acceptance::start().await
}

/// The locked-out VM "web" and the example files written for it; returns its ID also as text.
async fn with_examples(files: &[&str]) -> (Acceptance, VirtualMachineId, String) {
    let acc = start().await;
    let vm = acc.emu.seed_locked_out_vm("web").await;
    write_examples(&acc, files);
    let vm_text = vm.to_string();
    (acc, vm, vm_text)
}

fn reset_password(name: &str, vm: &VirtualMachineId) -> String {
    action_block(
        name,
        vm,
        &[&format!("username = \"{USER}\""), "password = var.pw"],
    )
}

/// `terraform plan -invoke=…`: the action's PlanAction only.
fn plan_invoke(acc: &Acceptance, name: &str, env: &[(&str, &str)]) -> TfOutput {
    let target = format!("-invoke=action.vm_access_reset.{name}");
    acc.run_with_env(&["plan", &target, "-no-color", "-input=false"], env)
}

/// Asserts each needle appears in `lines`, each in a later line than the one before.
fn assert_in_order(lines: &[String], needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        let found = lines[from..]
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| {
                panic!(
                    "{needle:?} not found after line {from} in:\n{}",
                    lines.join("\n")
                )
            });
        from += found + 1;
    }
}

async fn extension_puts(acc: &Acceptance) -> usize {
    acc.emu.count_requests("PUT", "/extensions/").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_resets_the_password_with_progress_in_order_and_stores_nothing() {
    let (acc, vm, vm_text) = with_examples(&[ACTION_TF]).await;
    assert!(!acc.emu.login(&vm, USER, PW).await);

    let log = acc.tf.work_dir().join("..").join("trace.log");
    let log_path = log.to_string_lossy().into_owned();
    let mut env = example_vars(&vm_text, PW).to_vec();
    env.extend([("TF_LOG", "trace"), ("TF_LOG_PATH", log_path.as_str())]);
    let out = acc.invoke("breakglass", &env);
    out.assert_success();

    // The VM's own model: the account is enabled and takes the new password only.
    assert!(acc.emu.login(&vm, USER, PW).await, "{out}");
    assert!(!acc.emu.login(&vm, USER, LOCKED_OUT_PASSWORD).await);
    let view = acc.emu.vm_view(&vm).await;
    assert_eq!(view.vmaccess_runs, 1, "{view:#?}");
    // remove_extension_after_success: nothing left on the VM.
    assert!(view.extensions.is_empty(), "{view:#?}");

    assert_in_order(
        &progress_lines(&out),
        &[
            "Checking VM \"web\"",
            "VM \"web\" is a running Windows VM and its agent is ready",
            "Setting extension \"VMAccessAgent\" (Microsoft.Compute.VMAccessAgent 2.4, forceUpdateTag ",
            "Extension run succeeded",
            "Extension status: ",
            "Removing extension \"VMAccessAgent\"",
            "Extension removed",
        ],
    );
    assert!(
        progress_lines(&out)[2].contains("to reset the password of \"opsadmin\""),
        "{out}"
    );

    // Nothing in state: an empty state stays empty.
    let state = acc.run(&["show", "-json"]).assert_success().json();
    let resources = &state["values"]["root_module"]["resources"];
    assert!(resources.is_null() || *resources == json!([]), "{state:#}");
    let trace = std::fs::read_to_string(&log).expect("the TF_LOG_PATH file");
    assert!(
        trace.contains("InvokeAction"),
        "the trace log shows no InvokeAction"
    );
    for (what, text) in [
        ("CLI output", out.text()),
        ("TF_LOG=trace log", trace),
        ("state file", acc.state_file()),
    ] {
        assert!(!text.contains(PW), "the password reached the {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_password_is_absent_from_the_plan_file() {
    let (acc, _, vm_text) = with_examples(&[ACTION_TF]).await;
    let plan = acc.run_with_env(
        &[
            "plan",
            "-invoke=action.vm_access_reset.breakglass",
            "-out=tfplan",
            "-no-color",
            "-input=false",
        ],
        &example_vars(&vm_text, PW),
    );
    plan.assert_success();
    let shown = acc.run(&["show", "-json", "tfplan"]);
    shown.assert_success();
    let json = shown.json();
    assert!(
        json["action_invocations"]
            .to_string()
            .contains("action.vm_access_reset.breakglass"),
        "{json:#}"
    );
    let raw = std::fs::read(acc.tf.work_dir().join("tfplan")).expect("the plan file");
    for (what, text) in [
        ("plan output", plan.text()),
        ("plan JSON", shown.stdout.clone()),
        ("plan file", String::from_utf8_lossy(&raw).into_owned()),
    ] {
        assert!(!text.contains(PW), "the password reached the {what}");
    }
    // Planning ran nothing on the VM.
    assert_eq!(extension_puts(&acc).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdp_only_invocation_restores_remote_desktop_and_its_firewall_rule() {
    let acc = start().await;
    let vm = acc.emu.seed_locked_out_vm("web").await;
    let vm_text = vm.to_string();
    acc.emu
        .patch_vm(&vm, |p| {
            p.rdp_enabled = Some(false);
            p.rdp_firewall_rule = Some(false);
        })
        .await;
    write_examples(&acc, &[ACTION_TF, RDP_TF]);

    let out = acc.invoke("rdp", &example_vars(&vm_text, PW));
    out.assert_success();
    assert_in_order(
        &progress_lines(&out),
        &[
            "to reset the Remote Desktop configuration",
            "Extension run succeeded",
        ],
    );
    let view = acc.emu.vm_view(&vm).await;
    assert!(view.rdp_enabled, "{view:#?}");
    assert!(view.rdp_firewall_rule, "{view:#?}");
    // No account was touched, and only the RDP action ran.
    assert_eq!(view.vmaccess_runs, 1, "{view:#?}");
    assert!(!acc.emu.login(&vm, USER, PW).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_vms_are_reported_at_plan_time_and_nothing_is_sent() {
    let acc = start().await;
    let stopped = acc.emu.seed_locked_out_vm("stopped").await;
    acc.emu
        .patch_vm(&stopped, |p| p.power_state = Some(PowerState::Stopped))
        .await;
    // Linux VMs are served too, and refused for the same reasons as Windows ones.
    let linux_seed = VmSeed {
        os_type: OsType::Linux,
        power_state: PowerState::Deallocated,
        ..VmSeed::default()
    };
    let linux = acc.emu.seed_vm("linux", &linux_seed).await;
    let no_agent = acc.emu.seed_locked_out_vm("noagent").await;
    acc.emu
        .patch_vm(&no_agent, |p| p.agent_ready = Some(false))
        .await;
    let missing = VirtualMachineId::new(acc.emu.subscription_id(), "rg-test", "missing");
    let cases = [
        ("stopped", &stopped, "The VM is not running"),
        ("linux", &linux, "The VM is not running"),
        ("noagent", &no_agent, "The VM agent is not ready"),
        ("missing", &missing, "Virtual machine not found"),
    ];
    let config: String = cases
        .iter()
        .map(|(name, vm, _)| reset_password(name, vm))
        .collect();
    acc.tf.write_main(&format!("{PW_VAR}\n{config}"));

    for (name, _, summary) in cases {
        // PlanAction alone reports it.
        let plan = plan_invoke(&acc, name, &[("TF_VAR_pw", PW)]);
        plan.assert_failure();
        assert!(
            plan.stderr.contains(&format!("Error: {summary}")),
            "{name}:\n{plan}"
        );
        // And apply stops there: no progress, no extension PUT.
        let apply = acc.invoke(name, &[("TF_VAR_pw", PW)]);
        apply.assert_failure();
        assert!(
            apply.stderr.contains(&format!("Error: {summary}")),
            "{name}:\n{apply}"
        );
        assert!(progress_lines(&apply).is_empty(), "{name} ran:\n{apply}");
    }
    assert_eq!(
        extension_puts(&acc).await,
        0,
        "{:#?}",
        acc.emu.requests().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_controller_fails_at_invoke_with_the_extensions_message() {
    let acc = start().await;
    let vm = acc.emu.seed_locked_out_vm("dc01").await;
    acc.emu
        .patch_vm(&vm, |p| p.domain_controller = Some(true))
        .await;
    acc.tf
        .write_main(&format!("{PW_VAR}\n{}", reset_password("dc", &vm)));

    // Nothing at plan time can tell.
    let plan = plan_invoke(&acc, "dc", &[("TF_VAR_pw", PW)]);
    plan.assert_success();

    let out = acc.invoke("dc", &[("TF_VAR_pw", PW)]);
    out.assert_failure();
    let text = out.flat();
    // Terraform titles every invoke failure "Error when invoking action", then our summary.
    assert!(text.contains("Error: Error when invoking action"), "{out}");
    assert!(
        text.contains("The VMAccess extension failed on the VM"),
        "{out}"
    );
    assert!(
        text.contains("VMAccess Extension does not support Domain Controller."),
        "{out}"
    );
    assert!(
        text.contains("does not support domain controllers"),
        "the advice:\n{out}"
    );
    assert_in_order(
        &progress_lines(&out),
        &["Setting extension", "Extension run failed"],
    );
    assert!(!acc.emu.login(&vm, USER, PW).await);
    assert!(!text.contains(PW));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_password_is_rejected_at_validation_on_password() {
    let acc = start().await;
    let vm = acc.emu.seed_locked_out_vm("web").await;
    let main = acc.tf.write_main(&action_block(
        "weak",
        &vm,
        &[
            &format!("username = \"{USER}\""),
            "password = \"alllowercase1\"",
        ],
    ));
    let out = acc.run(&["validate", "-json", "-no-color"]);
    assert_eq!(out.json()["valid"], false, "{out}");
    let errors: Vec<Value> = out.json()["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert_eq!(
        errors[0]["summary"], "Password does not meet Azure's rules",
        "{out}"
    );
    let want = vm_test_support::terraform::line_of(&main, "password = ");
    assert_eq!(
        errors[0]["range"]["start"]["line"].as_i64(),
        Some(want),
        "{out}"
    );
    // Terraform's snippet quotes the configuration's own line; our words never repeat it.
    assert!(
        !errors[0]["detail"].to_string().contains("alllowercase1"),
        "{out}"
    );
    assert_eq!(
        acc.emu.requests().await.len(),
        0,
        "validation sent requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_trigger_after_update_reruns_the_reset_when_its_input_changes() {
    let (acc, vm, vm_text) = with_examples(&[ACTION_TF, TRIGGER_TF]).await;
    let apply = |rotation: &str, pw: &str| {
        let mut env = example_vars(&vm_text, pw).to_vec();
        env.push(("TF_VAR_rotation", rotation));
        acc.run_with_env(
            &["apply", "-auto-approve", "-no-color", "-input=false"],
            &env,
        )
    };
    let runs = || async { acc.emu.vm_view(&vm).await.vmaccess_runs };

    // Creating the terraform_data is not an update: nothing runs.
    apply("2026-q1", PW).assert_success();
    assert_eq!(runs().await, 0);

    // An unchanged input plans no update: nothing runs.
    apply("2026-q1", PW).assert_success();
    assert_eq!(runs().await, 0);

    // A new input updates it, which triggers the reset with the current password.
    let second = "Rotated-Passw0rd!2026-q2";
    let out = apply("2026-q2", second);
    out.assert_success();
    assert_in_order(
        &progress_lines(&out),
        &["Setting extension", "Extension run succeeded"],
    );
    assert_eq!(runs().await, 1);
    assert!(acc.emu.login(&vm, USER, second).await, "{out}");

    let third = "Rotated-Passw0rd!2026-q3";
    let out = apply("2026-q3", third);
    out.assert_success();
    assert_eq!(runs().await, 2);
    assert!(acc.emu.login(&vm, USER, third).await);
    assert!(!acc.state_file().contains(third));
    assert!(!out.text().contains(third));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoked_action_shows_as_drift_of_a_resource_naming_the_action() {
    let acc = start().await;
    let vm = acc.emu.seed_locked_out_vm("web").await;
    let resource = vm_test_support::acceptance::reset_block(
        "managed",
        &vm,
        &[
            &format!("username            = \"{USER}\""),
            "password_wo         = var.pw",
            "password_wo_version = 1",
        ],
    );
    acc.tf.write_main(&format!(
        "{PW_VAR}\n{resource}\n{}",
        reset_password("breakglass", &vm)
    ));
    let env = [("TF_VAR_pw", PW)];
    acc.run_with_env(
        &["apply", "-auto-approve", "-no-color", "-input=false"],
        &env,
    )
    .assert_success();
    acc.invoke("breakglass", &env).assert_success();

    let plan = acc.run_with_env(
        &["plan", "-detailed-exitcode", "-no-color", "-input=false"],
        &env,
    );
    assert_eq!(plan.code(), Some(2), "{plan}");
    let text = plan.flat();
    assert!(
        text.contains("will rerun the VMAccess extension on VM \"web\""),
        "{plan}"
    );
    assert!(
        text.contains("`vm_access_reset` action invoked on this VM"),
        "{plan}"
    );
}

/// The Linux action examples as written, next to `action.tf` (their variables do not clash): the
/// lost key is replaced, then the departed user removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linux_action_examples_replace_a_key_and_remove_a_user() {
    use vm_emulator::admin::{LOST_PUBLIC_KEY, SshLogin};
    use vm_emulator::{LinuxGuestSeed, LinuxUserSeed};
    const NEW_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2UqqugBUcq15fYUzEo2Bgbp/3qAZNui/VpOuXHzMic ops@new-laptop";
    let (acc, _, windows) =
        with_examples(&[ACTION_TF, LINUX_REPLACE_KEY_TF, LINUX_REMOVE_USER_TF]).await;
    let guest = LinuxGuestSeed {
        users: vec![
            LinuxUserSeed::new(USER, &[LOST_PUBLIC_KEY]),
            LinuxUserSeed::new("contractor", &[]),
        ],
        ..LinuxGuestSeed::default()
    };
    let linux = acc.emu.seed_vm("app01", &VmSeed::linux(guest)).await;
    let linux_text = linux.to_string();
    let env = [
        ("TF_VAR_virtual_machine_id", windows.as_str()),
        ("TF_VAR_breakglass_password", PW),
        ("TF_VAR_linux_virtual_machine_id", linux_text.as_str()),
        ("TF_VAR_new_ssh_public_key", NEW_KEY),
    ];
    let vm = vm_test_support::azure_emulator::vm_ref(&linux);
    let admin = &acc.emu.admin;
    let key_login = |key: &'static str| {
        let vm = vm.clone();
        async move {
            admin
                .ssh_login(&vm, &SshLogin::public_key(USER, key))
                .await
                .expect("ssh login")
                .ok
        }
    };

    acc.invoke("replace_key", &env).assert_success();
    assert!(key_login(NEW_KEY).await, "the new key opens the account");
    assert!(
        !key_login(LOST_PUBLIC_KEY).await,
        "the lost key no longer does"
    );

    acc.invoke("remove_contractor", &env).assert_success();
    let guest = admin.linux_guest(&vm).await.expect("the guest");
    assert!(guest.user("contractor").is_none(), "{guest:?}");
    assert!(guest.user(USER).is_some(), "{guest:?}");
}
