//! VMAccessAgent semantics, asserted on the guest model (admin API, login).

use serde_json::{Value, json};
use support::credentials;
use vm_emulator::admin::LoginOutcome;
use vm_emulator::{AccountSeed, OsType, VmPatch, VmSeed};
use vm_emulator_test_support as support;

#[tokio::test]
async fn password_reset_takes_effect_in_the_guest() {
    let f = support::seeded().await;
    let (s, p) = credentials("azureadmin", "New-Passw0rd!");
    let op = f.run_vmaccess(s, p, None).await;
    assert_eq!(op["status"], "Succeeded");
    assert!(f.login("azureadmin", "New-Passw0rd!").await.ok);
    let LoginOutcome { ok, reason } = f.login("azureadmin", "Old-Passw0rd!").await;
    assert!(!ok);
    assert_eq!(reason.as_deref(), Some("wrong password"));
    let vm = f.vm().await;
    assert_eq!(vm.vmaccess_runs, 1);
    assert_eq!(
        vm.account("azureadmin").map(|a| a.password_set_count),
        Some(2)
    );
    assert_eq!(
        f.extension_state("enablevmaccess").await.as_deref(),
        Some("Succeeded")
    );
}

#[tokio::test]
async fn new_username_creates_an_administrator() {
    let f = support::seeded().await;
    let (s, p) = (
        json!({"username": "rescue"}),
        json!({"password": "Str0ng-Secret!"}),
    );
    assert_eq!(f.run_vmaccess(s, p, None).await["status"], "Succeeded");
    let vm = f.vm().await;
    let account = vm.account("rescue").expect("account created");
    assert!(account.administrator && account.enabled);
    assert!(f.login("rescue", "Str0ng-Secret!").await.ok);
    assert!(
        f.login("azureadmin", "Old-Passw0rd!").await.ok,
        "other accounts untouched"
    );
}

#[tokio::test]
async fn disabled_account_is_enabled_by_reset() {
    let f = support::seeded().await;
    let disable = VmPatch {
        disable_account: Some("azureadmin".into()),
        ..VmPatch::default()
    };
    f.admin
        .patch_vm(&f.vm_ref(), &disable)
        .await
        .expect("account disabled");
    assert_eq!(
        f.login("azureadmin", "Old-Passw0rd!")
            .await
            .reason
            .as_deref(),
        Some("the account is disabled")
    );
    let (s, p) = credentials("azureadmin", "New-Passw0rd!");
    assert_eq!(f.run_vmaccess(s, p, None).await["status"], "Succeeded");
    assert!(
        f.vm()
            .await
            .account("azureadmin")
            .is_some_and(|a| a.enabled)
    );
    assert!(f.login("azureadmin", "New-Passw0rd!").await.ok);
}

#[tokio::test]
async fn rdp_only_run_restores_remote_desktop_without_touching_accounts() {
    let f = support::seeded_with(|vm| {
        vm.rdp_enabled = false;
        vm.rdp_firewall_rule = false;
    })
    .await;
    assert!(!f.login("azureadmin", "Old-Passw0rd!").await.ok);
    assert_eq!(f.run_rdp_reset(None).await["status"], "Succeeded");
    let vm = f.vm().await;
    assert!(vm.rdp_enabled && vm.rdp_firewall_rule);
    assert_eq!(
        vm.account("azureadmin").map(|a| a.password_set_count),
        Some(1)
    );
    assert!(f.login("azureadmin", "Old-Passw0rd!").await.ok);
}

#[tokio::test]
async fn unchanged_settings_and_tag_do_not_rerun_but_a_new_tag_does() {
    let f = support::seeded().await;
    assert_eq!(f.run_rdp_reset(Some("1")).await["status"], "Succeeded");
    assert_eq!(f.vm().await.vmaccess_runs, 1);
    assert_eq!(f.run_rdp_reset(Some("1")).await["status"], "Succeeded");
    assert_eq!(
        f.vm().await.vmaccess_runs,
        1,
        "same goal state: no guest run"
    );
    assert_eq!(f.run_rdp_reset(Some("2")).await["status"], "Succeeded");
    assert_eq!(f.vm().await.vmaccess_runs, 2);
    let (s, p) = credentials("azureadmin", "New-Passw0rd!");
    assert_eq!(f.run_vmaccess(s, p, Some("2")).await["status"], "Succeeded");
    assert_eq!(f.vm().await.vmaccess_runs, 3, "changed settings rerun");
}

async fn failed_message(
    f: &support::Fixture,
    settings: Value,
    protected: Value,
) -> (String, String) {
    let op = f.run_vmaccess(settings, protected, None).await;
    assert_eq!(op["status"], "Failed", "{op}");
    (
        op["error"]["code"].as_str().unwrap_or_default().to_string(),
        op["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Runs VMAccess, which must fail with `code` and a message containing `says`.
async fn assert_run_fails(
    f: &support::Fixture,
    (settings, protected): (Value, Value),
    code: &str,
    says: &str,
) {
    let (actual_code, message) = failed_message(f, settings, protected).await;
    assert_eq!(actual_code, code, "{message}");
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn domain_controller_fails_the_operation() {
    let f = support::seeded_with(|vm| vm.domain_controller = true).await;
    assert_run_fails(
        &f,
        credentials("azureadmin", "New-Passw0rd!"),
        "VMExtensionProvisioningError",
        "Error message: 'VMAccess Extension does not support Domain Controller.'",
    )
    .await;
    assert!(
        f.login("azureadmin", "Old-Passw0rd!").await.ok,
        "password unchanged"
    );
    assert_eq!(
        f.extension_state("enablevmaccess").await.as_deref(),
        Some("Failed")
    );
}

#[tokio::test]
async fn linux_vm_fails_the_operation() {
    let f = support::seeded_with(|vm| vm.os_type = OsType::Linux).await;
    assert_run_fails(
        &f,
        (json!({}), json!({})),
        "VMExtensionHandlerNonTransientError",
        "not supported on Linux",
    )
    .await;
}

#[tokio::test]
async fn weak_password_fails_with_the_policy_message() {
    let f = support::seeded().await;
    assert_run_fails(
        &f,
        credentials("azureadmin", "short"),
        "VMExtensionProvisioningError",
        "The password does not meet the password policy requirements.",
    )
    .await;
    assert!(f.login("azureadmin", "Old-Passw0rd!").await.ok);
    let (_, ext) = f
        .get(&format!(
            "{}&$expand=instanceView",
            f.extension_url("enablevmaccess")
        ))
        .await;
    assert_eq!(ext["properties"]["provisioningState"], "Failed");
    assert_eq!(
        ext["properties"]["instanceView"]["statuses"][0]["level"],
        "Error"
    );
}

#[tokio::test]
async fn username_without_password_fails() {
    let f = support::seeded().await;
    let (_, message) = failed_message(&f, json!({"UserName": "azureadmin"}), json!({})).await;
    assert!(message.contains(
        "The Admin User Account password cannot be null or empty if provided the username."
    ));
}

#[tokio::test]
async fn non_admin_existing_account_is_refused() {
    let f = support::start().await;
    f.seed_vm(VmSeed::windows([
        AccountSeed::new("azureadmin", "Old-Passw0rd!"),
        AccountSeed::new("bob", "Bob-Passw0rd!").not_administrator(),
    ]))
    .await;
    let (s, p) = credentials("bob", "New-Passw0rd!");
    let (_, message) = failed_message(&f, s, p).await;
    assert!(message.contains("User account bob already exists but cannot be updated because it is not in the Administrators group."));
}

#[tokio::test]
async fn agent_not_ready_fails_with_communication_error() {
    let f = support::seeded_with(|vm| vm.agent_ready = false).await;
    let (_, vm) = f.get(&format!("{}&$expand=instanceView", f.vm_url())).await;
    let agent = &vm["properties"]["instanceView"]["vmAgent"];
    assert_eq!(agent["vmAgentVersion"], "Unknown");
    assert_eq!(agent["statuses"][0]["displayStatus"], "Not Ready");
    assert_eq!(agent["statuses"][0]["message"], "VM status blob not found.");
    let (code, message) = failed_message(&f, json!({}), json!({})).await;
    assert_eq!(code, "VMAgentStatusCommunicationError");
    assert!(
        message.starts_with("VM 'vm-test' has not reported status for VM agent or extensions.")
    );
    assert_eq!(f.vm().await.vmaccess_runs, 0);
}
