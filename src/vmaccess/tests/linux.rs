//! The engine running the Linux kind (`VMAccessForLinux`): the same decisions, the other OS.

use super::super::kind::linux::{LinuxAccessReset, LinuxVmAccess};
use super::*;

fn linux_vm(extensions: &[(&str, &str)]) -> Value {
    vm("Linux", "running", "Ready", extensions)
}

fn key_reset(name: NameChoice) -> RunRequest<LinuxAccessReset> {
    RunRequest {
        vm: vm_id(),
        name,
        handler_version: "1.5".into(),
        auto_upgrade_minor_version: true,
        input: LinuxAccessReset {
            username: Some("azureuser".into()),
            ssh_public_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq new@laptop".into()],
            remove_prior_keys: true,
            ..LinuxAccessReset::default()
        },
    }
}

async fn run_linux(engine: &Engine<Arc<FakeArm>>, name: NameChoice) -> Result<Run, RunError> {
    engine
        .run::<LinuxVmAccess>(key_reset(name), &ctx(), &|_| {})
        .await
}

#[tokio::test]
async fn a_linux_run_puts_vmaccess_for_linux_with_every_setting_protected() {
    let (engine, fake) = over(FakeArm::with_vm(linux_vm(&[])));
    let run = run_linux(&engine, NameChoice::Choose(None)).await.unwrap();
    assert!(matches!(run.outcome, Outcome::Succeeded));
    assert_eq!(run.extension.name(), "VMAccessForLinux");
    let wire = serde_json::to_value(&fake.puts()[0].1).unwrap();
    let properties = &wire["properties"];
    assert_eq!(properties["publisher"], "Microsoft.OSTCExtensions");
    assert_eq!(properties["type"], "VMAccessForLinux");
    assert_eq!(properties["typeHandlerVersion"], "1.5");
    assert_eq!(properties["settings"], json!({}));
    assert_eq!(properties["protectedSettings"]["username"], "azureuser");
    assert_eq!(properties["protectedSettings"]["remove_prior_keys"], true);
    assert_eq!(properties["forceUpdateTag"], run.tag.as_str());
}

#[tokio::test]
async fn the_az_cli_extension_is_reused_and_a_windows_one_is_not_taken_for_it() {
    let (engine, _) = over(FakeArm::with_vm(linux_vm(&[
        ("VMAccessAgent", "Microsoft.Compute.VMAccessAgent"),
        (
            "enablevmaccess",
            "Microsoft.OSTCExtensions.VMAccessForLinux",
        ),
    ])));
    let run = run_linux(&engine, NameChoice::Choose(None)).await.unwrap();
    assert_eq!(run.extension.name(), "enablevmaccess");
    assert_eq!(run.adopted.as_deref(), Some("enablevmaccess"));

    let (engine, fake) = over(FakeArm::with_vm(linux_vm(&[(
        "enablevmaccess",
        "Microsoft.OSTCExtensions.VMAccessForLinux",
    )])));
    let err = run_linux(&engine, NameChoice::Choose(Some("VMAccessForLinux".into())))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::NameTaken { existing, .. } if existing == "enablevmaccess"),
        "{err:?}"
    );
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn a_windows_vm_refuses_the_linux_kind_before_anything_is_sent() {
    let (engine, fake) = over(FakeArm::with_vm(ready_vm()));
    let err = run_linux(&engine, NameChoice::Choose(None))
        .await
        .unwrap_err();
    let RunError::WrongOs { found, kind, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*found, crate::azure::OsType::Windows);
    assert_eq!(kind.extension_type, "VMAccessForLinux");
    assert!(
        err.to_string()
            .contains("VMAccessForLinux is the Linux extension"),
        "{err}"
    );
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn status_reads_a_linux_extension_without_a_user_name() {
    let mut fake = FakeArm::with_vm(Value::Null);
    fake.extension = Some(VmExtension {
        type_handler_version: "1.5".into(),
        provisioning_state: "Succeeded".into(),
        ..extension("Microsoft.OSTCExtensions", "VMAccessForLinux", json!({}))
    });
    let (engine, _) = over(fake);
    let id = vm_id().extension("enablevmaccess");
    let Lookup::Found(status) = engine.status::<LinuxVmAccess>(&id, &ctx()).await.unwrap() else {
        panic!("found")
    };
    assert_eq!(status.username, None);
    assert_eq!(status.provisioning_state, "Succeeded");
    // The Windows kind sees it as another kind of extension.
    assert!(matches!(
        engine.status::<WindowsVmAccess>(&id, &ctx()).await.unwrap(),
        Lookup::OtherKind { .. }
    ));
}

// ---- The VM's OS picks the kind (what the surfaces that serve both OSes rely on).

#[tokio::test]
async fn a_check_without_a_kind_takes_the_vms_os_and_its_extension_of_that_kind() {
    let mut linux = linux_vm(&[
        ("VMAccessAgent", "Microsoft.Compute.VMAccessAgent"),
        (
            "enablevmaccess",
            "Microsoft.OSTCExtensions.VMAccessForLinux",
        ),
    ]);
    linux["properties"]["osProfile"] =
        json!({"linuxConfiguration": {"disablePasswordAuthentication": true}});
    let (engine, fake) = over(FakeArm::with_vm(linux));
    let checked = engine
        .check(&vm_id(), &NameChoice::Choose(None), None, &ctx())
        .await
        .unwrap();
    assert_eq!(checked.vm.kind().extension_type, "VMAccessForLinux");
    assert_eq!(checked.name, "enablevmaccess");
    assert_eq!(checked.adopted.as_deref(), Some("enablevmaccess"));
    assert_eq!(checked.vm.password_authentication_disabled, Some(true));
    assert!(fake.puts().is_empty(), "a check sends nothing");

    let (engine, _) = over(FakeArm::with_vm(ready_vm()));
    let checked = engine
        .check(&vm_id(), &NameChoice::Choose(None), None, &ctx())
        .await
        .unwrap();
    assert_eq!(checked.vm.kind().extension_type, "VMAccessAgent");
    assert_eq!(checked.name, "VMAccessAgent");
    assert_eq!(checked.vm.password_authentication_disabled, None);
}

#[tokio::test]
async fn a_vm_whose_os_azure_does_not_report_is_taken_for_windows_as_before_linux_support() {
    let mut unknown = ready_vm();
    unknown["properties"]["storageProfile"] = json!({});
    let (engine, _) = over(FakeArm::with_vm(unknown));
    let checked = engine
        .check(&vm_id(), &NameChoice::Choose(None), None, &ctx())
        .await
        .unwrap();
    assert_eq!(checked.vm.os, None);
    assert_eq!(checked.vm.kind().extension_type, "VMAccessAgent");
}

#[tokio::test]
async fn reset_runs_the_kind_of_its_input() {
    let (engine, fake) = over(FakeArm::with_vm(linux_vm(&[])));
    let request = key_reset(NameChoice::Choose(None));
    let request = RunRequest {
        vm: request.vm,
        name: request.name,
        handler_version: request.handler_version,
        auto_upgrade_minor_version: request.auto_upgrade_minor_version,
        input: AccessInput::Linux(request.input),
    };
    let run = engine.reset(request, &ctx(), &|_| {}).await.unwrap();
    assert_eq!(run.extension.name(), "VMAccessForLinux");
    assert_eq!(fake.puts()[0].1.publisher, "Microsoft.OSTCExtensions");

    // Windows input on the Linux VM: refused by the Windows kind's preflight, nothing sent.
    let (engine, fake) = over(FakeArm::with_vm(linux_vm(&[])));
    let request = RunRequest {
        vm: vm_id(),
        name: NameChoice::Choose(None),
        handler_version: "2.4".into(),
        auto_upgrade_minor_version: true,
        input: AccessInput::Windows(AccountReset::default()),
    };
    let err = engine.reset(request, &ctx(), &|_| {}).await.unwrap_err();
    assert!(matches!(err, RunError::WrongOs { .. }), "{err:?}");
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn a_linux_agent_that_is_not_ready_names_waagent() {
    let (engine, _) = over(FakeArm::with_vm(vm("Linux", "running", "Not Ready", &[])));
    let err = engine
        .check(&vm_id(), &NameChoice::Choose(None), None, &ctx())
        .await
        .unwrap_err();
    let RunError::AgentNotReady { kind, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        kind.agent_service.contains("waagent"),
        "{}",
        kind.agent_service
    );
}

#[tokio::test]
async fn status_of_reads_with_the_kind_it_is_given() {
    let mut fake = FakeArm::with_vm(Value::Null);
    fake.extension = Some(extension(
        "Microsoft.OSTCExtensions",
        "VMAccessForLinux",
        json!({}),
    ));
    let (engine, _) = over(fake);
    let id = vm_id().extension("enablevmaccess");
    let linux = for_os(Some(crate::azure::OsType::Linux));
    assert!(matches!(
        engine.status_of(linux, &id, &ctx()).await.unwrap(),
        Lookup::Found(_)
    ));
    assert!(matches!(
        engine.status_of(for_os(None), &id, &ctx()).await.unwrap(),
        Lookup::OtherKind { .. }
    ));
}
