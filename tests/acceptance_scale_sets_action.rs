//! Acceptance: the `vm_scale_set_access_reset` action (`terraform apply -invoke`, Terraform 1.14
//! or later) against the emulator's scale sets: a 50-instance uniform Linux scale set reset with
//! a line of progress per instance, a stopped instance skipped with a note, an instance whose
//! agent is not ready reported as failed while the others succeed; a flexible Windows scale
//! set's Remote Desktop reset; the model untouched; no secret in the output or the trace. Every
//! test first checks the terraform it was given and fails, never skips, when it is older;
//! `scripts/test.sh` runs this file only under the newest Terraform.

use vm_emulator::admin::{ScaleSetRef, ScaleSetSeed, SshLogin};
use vm_emulator::{LinuxGuestSeed, LinuxUserSeed, ScaleSetView, VmSeed};
use vm_test_support::acceptance::{Acceptance, action_progress_lines};
use vm_test_support::azure_emulator::RESOURCE_GROUP;
use vm_test_support::secrets::{Traced, assert_clean};
use vm_test_support::terraform::{TerraformVersion, TfOutput, require_terraform};

const PW: &str = "Fleet-Linux-Passw0rd!7";
const PW_VAR: &str =
    "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n";

async fn start() -> Acceptance {
    require_terraform(
        TerraformVersion(1, 14, 0),
        "the vm_scale_set_access_reset action",
    );
    Acceptance::start().await
}

fn scale_set_ref(acc: &Acceptance, name: &str) -> ScaleSetRef {
    ScaleSetRef::new(acc.emu.subscription_id(), RESOURCE_GROUP, name)
}

async fn seed(acc: &Acceptance, name: &str, seed: ScaleSetSeed) -> ScaleSetView {
    acc.emu
        .admin
        .seed_scale_set(&scale_set_ref(acc, name), &seed)
        .await
        .expect("scale set seeded")
}

fn action(name: &str, set: &ScaleSetView, lines: &[&str]) -> String {
    let body: String = lines.iter().map(|l| format!("    {l}\n")).collect();
    format!(
        "action \"vm_scale_set_access_reset\" \"{name}\" {{\n  config {{\n    virtual_machine_scale_set_id = \"{}\"\n{body}  }}\n}}\n",
        set.id
    )
}

const ACTION: &str = "vm_scale_set_access_reset";

/// The action's progress messages, in order.
fn progress(stdout: &str) -> Vec<String> {
    action_progress_lines(stdout, ACTION)
}

fn invoke(acc: &Acceptance, name: &str, env: &[(&str, &str)]) -> TfOutput {
    acc.invoke_action(ACTION, name, env)
}

fn model_vmaccess(view: &ScaleSetView) -> usize {
    view.model_extensions
        .iter()
        .filter(|e| e.extension_type.starts_with("VMAccess"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uniform_linux_scale_set_of_50_streams_each_instance_and_fails_on_the_one_without_agent() {
    let acc = start().await;
    let mut guest = LinuxGuestSeed {
        users: vec![LinuxUserSeed::new("azureuser", &[]).with_password("Old-Passw0rd!1")],
        ..LinuxGuestSeed::default()
    };
    guest.ssh.sshd_config.password_authentication = true;
    let set = seed(
        &acc,
        "vmss-act",
        ScaleSetSeed::uniform(50, VmSeed::linux(guest))
            .stopped([5])
            .agent_not_ready([20]),
    )
    .await;
    acc.tf.write_main(&format!(
        "{PW_VAR}\n{}",
        action(
            "rotate",
            &set,
            &[
                "username = \"azureuser\"",
                "password = var.pw",
                "max_parallel_instances = 8",
            ],
        )
    ));
    let env = [("TF_VAR_pw", PW)];
    let out = invoke(&acc, "rotate", &env);
    out.assert_failure();
    let lines = progress(&out.stdout);
    let text = out.text();
    for i in (0..50).filter(|i| ![5, 20].contains(i)) {
        let done = format!("Instance \"vmss-act_{i}\": succeeded");
        assert!(
            lines.iter().any(|l| l.starts_with(&done)),
            "a progress line for instance {i}: {lines:#?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Instance \"vmss-act_5\": skipped") && l.contains("stopped")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Instance \"vmss-act_20\": failed") && l.contains("agent")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("48 succeeded, 1 failed, 1 skipped")),
        "a summary line: {lines:#?}"
    );
    assert!(
        text.contains("failed on 1 instance(s)") && text.contains("vmss-act_20"),
        "the error names the failed instance: {text}"
    );
    let ss = scale_set_ref(&acc, "vmss-act");
    for key in ["0", "49"] {
        let login = acc
            .emu
            .admin
            .instance_ssh_login(&ss, key, &SshLogin::password("azureuser", PW))
            .await
            .expect("login tried");
        assert!(login.ok, "instance {key} takes the new password");
    }
    let after = acc.emu.admin.scale_set(&ss).await.expect("scale set read");
    assert_eq!(
        model_vmaccess(&after),
        0,
        "the model carries no VMAccess settings"
    );
    assert_clean(
        "action output",
        &text,
        &[("password", PW), ("client secret", acc.emu.client_secret())],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flexible_windows_scale_set_remote_desktop_reset_leaves_no_secret_in_the_trace() {
    let acc = start().await;
    let set = seed(
        &acc,
        "vmss-rdp",
        ScaleSetSeed::flexible(3, VmSeed::locked_out()),
    )
    .await;
    acc.tf.write_main(&format!(
        "{PW_VAR}\n{}{}",
        action("rdp", &set, &[]),
        action(
            "admin",
            &set,
            &["username = \"opsadmin\"", "password = var.pw"],
        )
    ));
    let env = [("TF_VAR_pw", PW)];
    let mut traced = Traced::new(&acc);
    let rdp = traced.run(
        &[
            "apply",
            &format!("-invoke=action.{ACTION}.rdp"),
            "-auto-approve",
            "-no-color",
            "-input=false",
        ],
        &env,
    );
    let lines = progress(&rdp);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Flexible orchestration, Windows, 3 instance(s)")),
        "{lines:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("\": succeeded")).count(),
        3,
        "{lines:#?}"
    );
    let admin = traced.run(
        &[
            "apply",
            &format!("-invoke=action.{ACTION}.admin"),
            "-auto-approve",
            "-no-color",
            "-input=false",
        ],
        &env,
    );
    let ss = scale_set_ref(&acc, "vmss-rdp");
    let view = acc.emu.admin.scale_set(&ss).await.expect("scale set read");
    for instance in &view.instances {
        let login = acc
            .emu
            .admin
            .instance_login(&ss, &instance.key, "opsadmin", PW)
            .await
            .expect("login tried");
        assert!(login.ok, "{} takes the new password", instance.name);
    }
    assert_eq!(
        model_vmaccess(&view),
        0,
        "the model carries no VMAccess settings"
    );
    let logs = traced.logs("/extensions/VMAccessAgent");
    for (what, text) in [
        ("RDP output", rdp.as_str()),
        ("admin output", admin.as_str()),
        ("trace logs", logs.as_str()),
    ] {
        assert_clean(
            what,
            text,
            &[("password", PW), ("client secret", acc.emu.client_secret())],
        );
    }
}

/// `examples/actions/vm_scale_set_access_reset/action.tf` as the docs show it (listed in
/// `COVERED` of `tests/acceptance_examples.rs`, which runs under Terraform 1.11 and so cannot
/// invoke it): every running instance takes the password, the stopped one is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_documented_action_example_resets_every_running_instance() {
    let acc = start().await;
    let set = seed(
        &acc,
        "vmss-web",
        ScaleSetSeed::uniform(4, VmSeed::locked_out()).stopped([2]),
    )
    .await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, file) in [
        ("provider.tf", "examples/provider/provider.tf"),
        (
            "action.tf",
            "examples/actions/vm_scale_set_access_reset/action.tf",
        ),
    ] {
        acc.tf.write(
            name,
            &std::fs::read_to_string(root.join(file)).expect("example"),
        );
    }
    let env = [
        ("TF_VAR_virtual_machine_scale_set_id", set.id.as_str()),
        ("TF_VAR_breakglass_password", PW),
    ];
    let out = invoke(&acc, "breakglass", &env);
    out.assert_success();
    let lines = progress(&out.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("3 succeeded, 0 failed, 1 skipped")),
        "{lines:#?}"
    );
    let ss = scale_set_ref(&acc, "vmss-web");
    for key in ["0", "1", "3"] {
        let login = acc
            .emu
            .admin
            .instance_login(&ss, key, "opsadmin", PW)
            .await
            .expect("login tried");
        assert!(login.ok, "instance {key} takes the new password");
    }
    let view = acc.emu.admin.scale_set(&ss).await.expect("scale set read");
    assert_eq!(model_vmaccess(&view), 0, "the model is left alone");
    assert_clean(
        "action output",
        &out.text(),
        &[("password", PW), ("client secret", acc.emu.client_secret())],
    );
}
