//! VMAccessForLinux semantics, asserted on the Linux guest (admin API, SSH login checks).
//! Facts: `shared/facts/azure-vmaccess-linux-and-vmss.md` §A and §C.

use serde_json::{Value, json};
use support::{ed25519_key, expect_error};
use vm_emulator::admin::{LinuxUserProfile, LinuxUserSeed};
use vm_emulator::{
    LOCKED_OUT_USER, LinuxDistro, LinuxGuestSeed, LinuxSudo, OsType, SshState, SshdConfig, VmSeed,
};
use vm_emulator_test_support as support;

/// A guest whose admin `azureuser` logs in with `ed25519_key("old")`; passwords are off.
fn guest() -> LinuxGuestSeed {
    LinuxGuestSeed {
        users: vec![LinuxUserSeed::new("azureuser", &[&ed25519_key("old")])],
        ..LinuxGuestSeed::default()
    }
}

/// SSH state whose `sshd_config` says `PasswordAuthentication yes`.
fn passwords_on() -> SshState {
    SshState {
        sshd_config: SshdConfig {
            password_authentication: true,
            ..SshdConfig::default()
        },
        ..SshState::default()
    }
}

async fn succeeds(f: &support::Fixture, protected: Value) {
    let op = f.run_linux_vmaccess(protected, None).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
}

/// Runs the handler, which must fail with a message that contains `says`.
async fn fails_saying(f: &support::Fixture, protected: Value, says: &str) {
    let message = fails(f, protected).await;
    assert!(message.contains(says), "{message}");
}

/// Runs the handler, which must fail; returns the operation's error message.
async fn fails(f: &support::Fixture, protected: Value) -> String {
    let op = f.run_linux_vmaccess(protected, None).await;
    assert_eq!(op["status"], "Failed", "{op}");
    assert_eq!(op["error"]["code"], "VMExtensionProvisioningError", "{op}");
    op["error"]["message"]
        .as_str()
        .expect("error message")
        .to_string()
}

/// `azureuser`'s password login is refused for `PasswordAuthentication no`; a password
/// reset makes it work.
async fn password_reset_opens_password_login(f: &support::Fixture) {
    let (user, password) = ("azureuser", "New-Passw0rd!");
    let refused = f.ssh_password(user, password).await;
    assert_eq!(refused.reason.as_deref(), Some("PasswordAuthentication no"));
    succeeds(f, json!({"username": user, "password": password})).await;
    assert!(f.ssh_password(user, password).await.ok);
}

#[tokio::test]
async fn password_reset_turns_password_login_on() {
    let f = support::seeded_linux(guest()).await;
    password_reset_opens_password_login(&f).await;
    let wrong = f.ssh_password("azureuser", "Other-Passw0rd!").await;
    assert_eq!(wrong.reason.as_deref(), Some("wrong password"));
    assert!(f.ssh_key("azureuser", &ed25519_key("old")).await.ok);
    let guest = f.linux_guest().await;
    assert!(guest.ssh.sshd_config.password_authentication);
    assert!(
        guest.ssh.sshd_config_backup.is_some(),
        "backed up before the edit"
    );
    assert_eq!(guest.ssh.sshd_restarts, 2, "the CHAP step and the password");
    let user = guest.user("azureuser").expect("user");
    assert_eq!(user.profile.sudo, LinuxSudo::Password);
    assert_eq!(user.password_set_count, 1);
    assert_eq!(f.vm().await.vmaccess_runs, 1);
}

#[tokio::test]
async fn password_also_turns_cloud_init_drop_in_on() {
    let f = support::seeded_linux(LinuxGuestSeed {
        ssh: SshState {
            cloud_init_password_authentication: Some(false),
            ..passwords_on()
        },
        ..guest()
    })
    .await;
    password_reset_opens_password_login(&f).await;
    assert_eq!(
        f.linux_guest().await.ssh.cloud_init_password_authentication,
        Some(true)
    );
}

#[tokio::test]
async fn key_is_appended_unless_remove_prior_keys_is_true() {
    let f = support::seeded_linux(guest()).await;
    let (new, newer) = (ed25519_key("new"), ed25519_key("newer"));
    let refused = f.ssh_key("azureuser", &new).await;
    assert_eq!(
        refused.reason.as_deref(),
        Some("key not in authorized_keys")
    );
    succeeds(&f, json!({"username": "azureuser", "ssh_key": new})).await;
    assert!(f.ssh_key("azureuser", &new).await.ok);
    assert!(f.ssh_key("azureuser", &ed25519_key("old")).await.ok);
    let user = f
        .linux_guest()
        .await
        .user("azureuser")
        .cloned()
        .expect("user");
    assert_eq!(
        user.profile.authorized_keys,
        [ed25519_key("old"), new.clone()]
    );
    assert_eq!(user.profile.sudo, LinuxSudo::NoPassword);

    let replace = json!({"username": "azureuser", "ssh_key": newer, "remove_prior_keys": true});
    succeeds(&f, replace).await;
    assert!(f.ssh_key("azureuser", &newer).await.ok);
    assert!(!f.ssh_key("azureuser", &new).await.ok);
    assert!(!f.ssh_key("azureuser", &ed25519_key("old")).await.ok);
}

#[tokio::test]
async fn several_key_lines_are_each_appended() {
    let f = support::seeded_linux(guest()).await;
    let (a, b) = (ed25519_key("a"), ed25519_key("b"));
    let ssh_key = format!("{a}\n{b}\n");
    succeeds(&f, json!({"username": "azureuser", "ssh_key": ssh_key})).await;
    assert!(f.ssh_key("azureuser", &a).await.ok);
    assert!(f.ssh_key("azureuser", &b).await.ok);
}

#[tokio::test]
async fn ssh2_key_is_converted_and_other_key_types_fail() {
    let f = support::seeded_linux(guest()).await;
    let key = ed25519_key("ssh2");
    let blob = key.split_whitespace().nth(1).expect("blob");
    let block = format!(
        "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"a long \\\ncomment\"\n{}\n{}\n---- END SSH2 PUBLIC KEY ----",
        &blob[..40],
        &blob[40..]
    );
    succeeds(&f, json!({"username": "azureuser", "ssh_key": block})).await;
    assert!(f.ssh_key("azureuser", &key).await.ok);
    let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= me";
    let says = "Error message: 'Enable failed: Failed to generate public key file.'";
    fails_saying(&f, json!({"username": "azureuser", "ssh_key": ecdsa}), says).await;
}

#[tokio::test]
async fn reset_ssh_repairs_a_broken_sshd_config_and_lets_a_new_key_in() {
    let f = support::seeded_linux(LinuxGuestSeed::locked_out()).await;
    let key = ed25519_key("replacement");
    let refused = f.ssh_key(LOCKED_OUT_USER, &key).await;
    assert_eq!(
        refused.reason.as_deref(),
        Some("sshd_config broken: sshd does not run")
    );
    let run = json!({"reset_ssh": true, "username": LOCKED_OUT_USER, "ssh_key": key, "remove_prior_keys": true});
    succeeds(&f, run).await;
    assert!(f.ssh_key(LOCKED_OUT_USER, &key).await.ok);
    let guest = f.linux_guest().await;
    let default = &guest.ssh.sshd_config;
    assert_eq!(default.default_of, Some(LinuxDistro::Ubuntu));
    assert!(!default.broken && default.password_authentication && !default.includes_drop_ins);
    assert_eq!(guest.ssh.sshd_restarts, 3, "CHAP step, reset, end of run");
    assert!(guest.ssh.ssh_port_open);
}

#[tokio::test]
async fn reset_ssh_alone_needs_no_username() {
    let mut seed = LinuxGuestSeed::locked_out();
    seed.ssh.ssh_port_open = false;
    let f = support::seeded_linux(seed).await;
    succeeds(&f, json!({"reset_ssh": true})).await;
    let guest = f.linux_guest().await;
    assert!(guest.ssh.ssh_port_open && !guest.ssh.sshd_config.broken);
    assert!(
        guest.ssh.sshd_config.password_authentication,
        "Ubuntu's default allows passwords"
    );
}

#[tokio::test]
async fn suse_default_turns_password_authentication_off() {
    let f = support::seeded_linux(LinuxGuestSeed {
        distro: LinuxDistro::Suse,
        users: vec![LinuxUserSeed::new("azureuser", &[]).with_password("Old-Passw0rd!")],
        ssh: passwords_on(),
        ..LinuxGuestSeed::default()
    })
    .await;
    assert!(f.ssh_password("azureuser", "Old-Passw0rd!").await.ok);
    succeeds(&f, json!({"reset_ssh": true})).await;
    let guest = f.linux_guest().await;
    assert_eq!(guest.ssh.sshd_config.default_of, Some(LinuxDistro::Suse));
    assert!(!guest.password_authentication);
    let refused = f.ssh_password("azureuser", "Old-Passw0rd!").await;
    assert_eq!(refused.reason.as_deref(), Some("PasswordAuthentication no"));
}

#[tokio::test]
async fn restore_backup_ssh_brings_back_the_backup() {
    let mut seed = guest();
    seed.ssh.sshd_config.challenge_response_authentication = true;
    let f = support::seeded_linux(seed).await;
    succeeds(
        &f,
        json!({"username": "azureuser", "ssh_key": ed25519_key("x")}),
    )
    .await;
    let guest = f.linux_guest().await;
    let backup = guest.ssh.sshd_config_backup.clone().expect("backup taken");
    assert!(backup.challenge_response_authentication);
    assert!(!guest.ssh.sshd_config.challenge_response_authentication);
    succeeds(&f, json!({"restore_backup_ssh": true})).await;
    let guest = f.linux_guest().await;
    assert_eq!(guest.ssh.sshd_config, backup, "the CHAP step comes first");
    assert!(
        guest.ssh.sshd_config_backup.is_none(),
        "the backup is used up"
    );
}

#[tokio::test]
async fn expiration_applies_only_to_a_new_user() {
    let f = support::seeded_linux(guest()).await;
    let key = ed25519_key("temp");
    let new_user = json!({"username": "contractor", "ssh_key": key, "expiration": "2000-01-31"});
    succeeds(&f, new_user).await;
    let refused = f.ssh_key("contractor", &key).await;
    assert_eq!(refused.reason.as_deref(), Some("account expired"));
    let existing = json!({"username": "azureuser", "ssh_key": key, "expiration": "2000-01-31"});
    succeeds(&f, existing).await;
    let guest = f.linux_guest().await;
    let contractor = guest.user("contractor").expect("created");
    assert!(contractor.expired);
    assert_eq!(contractor.home, "/home/contractor");
    assert_eq!(contractor.uid, 1001);
    assert_eq!(
        guest.user("azureuser").expect("user").profile.expiration,
        None
    );
    assert!(f.ssh_key("azureuser", &key).await.ok);
}

#[tokio::test]
async fn malformed_expiration_fails_the_user_creation() {
    let f = support::seeded_linux(guest()).await;
    let run =
        json!({"username": "contractor", "password": "Pw-1234567", "expiration": "31/01/2000"});
    let says = "'Enable failed: Failed to create user account: contractor (0x07).'";
    fails_saying(&f, run, says).await;
    assert!(f.linux_guest().await.user("contractor").is_none());
}

#[tokio::test]
async fn remove_user_deletes_the_user_and_unknown_users_only_log() {
    let f = support::seeded_linux(LinuxGuestSeed {
        users: vec![
            LinuxUserSeed::new("azureuser", &[&ed25519_key("old")]),
            LinuxUserSeed::new("leaver", &[&ed25519_key("leaver")]),
            LinuxUserSeed {
                uid: Some(2),
                ..LinuxUserSeed::new("daemon", &[])
            },
        ],
        ..LinuxGuestSeed::default()
    })
    .await;
    succeeds(&f, json!({"remove_user": "leaver"})).await;
    let guest = f.linux_guest().await;
    assert!(guest.user("leaver").is_none());
    assert!(guest.user("azureuser").is_some());
    let refused = f.ssh_key("leaver", &ed25519_key("leaver")).await;
    assert_eq!(refused.reason.as_deref(), Some("no such user"));

    let op = f
        .run_linux_vmaccess(json!({"remove_user": "ghost"}), None)
        .await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(
        f.linux_guest().await.last_log,
        ["User 'ghost' does not exist"]
    );
    succeeds(&f, json!({"remove_user": "daemon"})).await;
    assert!(
        f.linux_guest().await.user("daemon").is_some(),
        "a system user stays"
    );
}

#[tokio::test]
async fn remove_user_with_a_password_is_refused_with_the_real_message() {
    let f = support::seeded_linux(guest()).await;
    let run = json!({"remove_user": "azureuser", "password": "New-Passw0rd!"});
    let message = fails(&f, run).await;
    assert_eq!(
        message,
        "VM has reported a failure when processing extension 'enablevmaccess' (publisher 'Microsoft.OSTCExtensions' and type 'VMAccessForLinux'). Error message: 'Enable failed: Cannot reset sshd_config and remove a user in one operation.'. More information on troubleshooting is available at https://aka.ms/vmextensionlinuxtroubleshoot"
    );
    assert!(f.linux_guest().await.user("azureuser").is_some());
}

#[tokio::test]
async fn failed_run_instance_view_has_one_error_status_and_no_substatuses() {
    let f = support::seeded_linux(guest()).await;
    let says = "'Enable failed: No password or ssh_key is specified.'";
    fails_saying(&f, json!({"username": "azureuser"}), says).await;
    let ext = f.extension_with_instance_view("enablevmaccess").await;
    assert_eq!(ext["properties"]["provisioningState"], "Failed");
    let view = &ext["properties"]["instanceView"];
    assert_eq!(view["type"], "Microsoft.OSTCExtensions.VMAccessForLinux");
    assert!(view.get("substatuses").is_none(), "{view}");
    assert_eq!(
        view["statuses"],
        json!([{
            "code": "ProvisioningState/failed/0",
            "level": "Error",
            "displayStatus": "Provisioning failed",
            "message": "Enable failed: No password or ssh_key is specified.",
            "time": view["statuses"][0]["time"],
        }])
    );
    let (_, vm) = f.get(&format!("{}&$expand=instanceView", f.vm_url())).await;
    let extensions = &vm["properties"]["instanceView"]["extensions"];
    assert_eq!(
        extensions[0]["type"],
        "Microsoft.OSTCExtensions.VMAccessForLinux"
    );
    assert_eq!(vm["properties"]["osProfile"]["adminUsername"], "azureuser");
}

#[tokio::test]
async fn provisioning_keys_make_a_username_alone_valid() {
    let f = support::seeded_linux(LinuxGuestSeed {
        provisioning_keys: true,
        ..guest()
    })
    .await;
    succeeds(&f, json!({"username": "rescue"})).await;
    let guest = f.linux_guest().await;
    assert_eq!(
        guest.user("rescue").expect("created").profile.sudo,
        LinuxSudo::NoPassword
    );
}

#[tokio::test]
async fn system_users_are_refused() {
    let f = support::seeded_linux(LinuxGuestSeed {
        users: vec![LinuxUserSeed {
            uid: Some(0),
            ..LinuxUserSeed::new("root", &[])
        }],
        ..LinuxGuestSeed::default()
    })
    .await;
    let run = json!({"username": "root", "password": "Pw-1234567"});
    let says = "'Enable failed: Failed to set password for system user: root (0x06).'";
    fails_saying(&f, run, says).await;
}

#[tokio::test]
async fn string_false_counts_as_true_but_remove_prior_keys_needs_json_true() {
    let f = support::seeded_linux(LinuxGuestSeed::locked_out()).await;
    succeeds(&f, json!({"reset_ssh": "false"})).await;
    assert!(
        !f.linux_guest().await.ssh.sshd_config.broken,
        "\"false\" is a non-empty string: sshd_config was reset"
    );
    let key = ed25519_key("new");
    let run = json!({"username": LOCKED_OUT_USER, "ssh_key": key, "remove_prior_keys": "true"});
    succeeds(&f, run).await;
    let guest = f.linux_guest().await;
    let keys = &guest.user(LOCKED_OUT_USER).expect("user").profile;
    assert_eq!(keys.authorized_keys.len(), 2, "a string is not == True");
    let run = json!({"username": LOCKED_OUT_USER, "ssh_key": key, "reset_ssh": false, "remove_prior_keys": 1});
    succeeds(&f, run).await;
    let guest = f.linux_guest().await;
    let LinuxUserProfile {
        authorized_keys, ..
    } = &guest.user(LOCKED_OUT_USER).expect("user").profile;
    assert_eq!(authorized_keys, &[key], "1 == True in Python");
}

#[tokio::test]
async fn public_settings_are_ignored() {
    let f = support::seeded_linux(guest()).await;
    let response = f
        .put_extension(
            "enablevmaccess",
            ("Microsoft.OSTCExtensions", "VMAccessForLinux", "1.5"),
            json!({"username": "azureuser", "password": "New-Passw0rd!"}),
            json!({}),
            None,
        )
        .await;
    assert_eq!(f.wait(response).await["status"], "Succeeded");
    let refused = f.ssh_password("azureuser", "New-Passw0rd!").await;
    assert_eq!(refused.reason.as_deref(), Some("PasswordAuthentication no"));
}

#[tokio::test]
async fn identical_put_without_a_new_tag_does_not_rerun() {
    let f = support::seeded_linux(guest()).await;
    let run = json!({"username": "azureuser", "password": "New-Passw0rd!"});
    succeeds(&f, run.clone()).await;
    let first = f.linux_guest().await;
    assert_eq!(first.last_sequence_number, Some(0));
    succeeds(&f, run.clone()).await;
    let second = f.linux_guest().await;
    assert_eq!(
        second.last_sequence_number,
        Some(0),
        "no new sequence number"
    );
    assert_eq!(
        second.ssh.sshd_restarts, first.ssh.sshd_restarts,
        "nothing ran"
    );
    let op = f.run_linux_vmaccess(run, Some("2")).await;
    assert_eq!(op["status"], "Succeeded");
    assert_eq!(f.linux_guest().await.last_sequence_number, Some(1));
    assert_eq!(f.vm().await.vmaccess_runs, 2);
}

#[tokio::test]
async fn identical_put_after_a_failure_reports_the_failure_again_without_running() {
    let f = support::seeded_linux(guest()).await;
    let first = fails(&f, json!({"username": "azureuser"})).await;
    let again = fails(&f, json!({"username": "azureuser"})).await;
    assert_eq!(again, first);
    assert_eq!(f.vm().await.vmaccess_runs, 1, "the handler ran once");
    let ext = f.extension_with_instance_view("enablevmaccess").await;
    let status = &ext["properties"]["instanceView"]["statuses"][0];
    assert_eq!(
        status["code"], "ProvisioningState/failed/0",
        "the last status"
    );
    assert_eq!(f.linux_guest().await.last_sequence_number, Some(0));
}

#[tokio::test]
async fn a_second_linux_vmaccess_is_refused_by_the_single_handler_rule() {
    let f = support::seeded_linux(guest()).await;
    succeeds(&f, json!({"reset_ssh": true})).await;
    let response = f
        .put_linux_vmaccess("VMAccessForLinux", json!({"reset_ssh": true}), None)
        .await;
    let body = expect_error(response, 400, "BadRequest").await;
    let message = "Multiple VMExtensions per handler not supported for OS type 'Linux'. VMExtension 'enablevmaccess' with handler 'Microsoft.OSTCExtensions.VMAccessForLinux' already added or specified in input.";
    let inner = json!({"internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed"});
    assert_eq!(body["error"]["message"], message);
    assert_eq!(body["error"]["innererror"], inner);
}

#[tokio::test]
async fn linux_handler_on_a_windows_vm_fails_as_a_terminal_handler_error() {
    let f = support::seeded().await;
    let op = f
        .run_linux_vmaccess(json!({"username": "azureadmin", "password": "x"}), None)
        .await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "VMExtensionHandlerNonTransientError");
    let message = op["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("'Microsoft.OSTCExtensions.VMAccessForLinux'"),
        "{message}"
    );
    assert!(message.contains("not supported on Windows"), "{message}");
    assert_eq!(f.vm().await.vmaccess_runs, 0);
}

#[tokio::test]
async fn linux_guest_needs_a_running_vm_and_a_ready_agent() {
    let f = support::start().await;
    let mut seed = VmSeed::linux(guest());
    seed.agent_ready = false;
    f.seed_vm(seed).await;
    let op = f.run_linux_vmaccess(json!({"reset_ssh": true}), None).await;
    assert_eq!(op["error"]["code"], "VMAgentStatusCommunicationError");
    assert_eq!(f.linux_guest().await.last_sequence_number, None);
    let mut seed = VmSeed::linux(guest());
    seed.power_state = vm_emulator::PowerState::Stopped;
    f.seed_vm(seed).await;
    let response = f
        .put_linux_vmaccess("enablevmaccess", json!({"reset_ssh": true}), None)
        .await;
    expect_error(response, 409, "OperationNotAllowed").await;
    let refused = f.ssh_key("azureuser", &ed25519_key("old")).await;
    assert_eq!(refused.reason.as_deref(), Some("the VM is not running"));
}

#[tokio::test]
async fn admin_api_refuses_linux_calls_on_a_windows_vm_and_bad_logins() {
    let f = support::seeded().await;
    assert_eq!(f.vm().await.os_type, OsType::Windows);
    let err = f.admin.linux_guest(&f.vm_ref()).await.expect_err("Windows");
    assert!(err.to_string().contains("409"), "{err}");
    let f = support::seeded_linux(guest()).await;
    let both = vm_emulator::admin::SshLogin {
        username: "azureuser".into(),
        password: Some("x".into()),
        public_key: Some(ed25519_key("old")),
    };
    let err = f
        .admin
        .ssh_login(&f.vm_ref(), &both)
        .await
        .expect_err("both");
    assert!(
        err.to_string().contains("either password or public_key"),
        "{err}"
    );
}

#[tokio::test]
async fn a_locked_password_is_replaced_by_a_reset() {
    let mut locked = LinuxUserSeed::new("azureuser", &[]).with_password("Old-Passw0rd!");
    locked.profile.password_locked = true;
    let f = support::seeded_linux(LinuxGuestSeed {
        users: vec![locked],
        ssh: passwords_on(),
        ..LinuxGuestSeed::default()
    })
    .await;
    let refused = f.ssh_password("azureuser", "Old-Passw0rd!").await;
    assert_eq!(refused.reason.as_deref(), Some("the password is locked"));
    succeeds(
        &f,
        json!({"username": "azureuser", "password": "New-Passw0rd!"}),
    )
    .await;
    assert!(f.ssh_password("azureuser", "New-Passw0rd!").await.ok);
    let guest = f.linux_guest().await;
    assert!(
        !guest
            .user("azureuser")
            .expect("user")
            .profile
            .password_locked
    );
}
