//! Acceptance: the `vm_access_reset` lifecycle with the real terraform CLI
//! against the emulator, asserted on plans (`show -json`, `-detailed-exitcode`)
//! and on the VM itself (can the account log in, is Remote Desktop on).

mod support;

use serde_json::json;
use support::acceptance::{Acceptance, reset_block};

const ADDR: &str = "vm_access_reset.web";

fn password_wo_config(vm: &terraform_provider_vm::azure::VirtualMachineId) -> String {
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
    let vm = acc
        .seed_windows_vm(
            "web",
            json!([{"name": "opsadmin", "password": "Forgotten-Passw0rd!", "enabled": false}]),
        )
        .await;
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
        !acc.emu.login(&vm, "opsadmin", "Forgotten-Passw0rd!").await,
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
