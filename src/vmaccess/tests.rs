//! The engine's decisions against a scripted ARM: no network, no terraform, milliseconds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::run::Run;
use super::*;

/// The same engine running `VMAccessForLinux`.
mod linux;
/// The engine over a scale set's instances.
mod scale_set;
use crate::azure::{
    AzureError, ExtensionId, ExtensionPut, OpContext, VirtualMachine, VirtualMachineId, VmExtension,
};

/// How the fake answers `wait`.
enum Wait {
    Succeed,
    Fail(AzureError),
    /// Azure never finishes: only the deadline ends the wait.
    Forever,
}

struct FakeArm {
    vm: Result<Value, fn() -> AzureError>,
    put_error: Mutex<Option<AzureError>>,
    wait: Mutex<Option<Wait>>,
    extension: Option<VmExtension>,
    delete_error: Mutex<Option<AzureError>>,
    puts: Mutex<Vec<(ExtensionId, ExtensionPut)>>,
}

impl FakeArm {
    fn with_vm(vm: Value) -> FakeArm {
        FakeArm {
            vm: Ok(vm),
            put_error: Mutex::new(None),
            wait: Mutex::new(Some(Wait::Succeed)),
            extension: None,
            delete_error: Mutex::new(None),
            puts: Mutex::new(Vec::new()),
        }
    }

    fn put_fails(self, e: AzureError) -> FakeArm {
        *self.put_error.lock().unwrap() = Some(e);
        self
    }

    fn wait_does(self, w: Wait) -> FakeArm {
        *self.wait.lock().unwrap() = Some(w);
        self
    }

    fn puts(&self) -> Vec<(ExtensionId, ExtensionPut)> {
        self.puts.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Arm for Arc<FakeArm> {
    type Pending = ();

    async fn get_virtual_machine(
        &self,
        _: &VirtualMachineId,
        _: &OpContext,
    ) -> Result<VirtualMachine, AzureError> {
        match &self.vm {
            Ok(v) => Ok(serde_json::from_value(v.clone()).unwrap()),
            Err(e) => Err(e()),
        }
    }

    async fn get_extension(
        &self,
        _: &ExtensionId,
        _: &OpContext,
    ) -> Result<Option<VmExtension>, AzureError> {
        Ok(self.extension.clone())
    }

    async fn begin_put_extension(
        &self,
        id: &ExtensionId,
        body: &ExtensionPut,
        _: &OpContext,
    ) -> Result<(), AzureError> {
        if let Some(e) = self.put_error.lock().unwrap().take() {
            return Err(e);
        }
        self.puts.lock().unwrap().push((id.clone(), body.clone()));
        Ok(())
    }

    async fn begin_delete_extension(
        &self,
        _: &ExtensionId,
        _: &OpContext,
    ) -> Result<Option<()>, AzureError> {
        match self.delete_error.lock().unwrap().take() {
            Some(e) => Err(e),
            None => Ok(Some(())),
        }
    }

    async fn wait(&self, _: (), ctx: &OpContext) -> Result<(), AzureError> {
        let wait = self.wait.lock().unwrap().take();
        match wait {
            None | Some(Wait::Succeed) => Ok(()),
            Some(Wait::Fail(e)) => Err(e),
            Some(Wait::Forever) => ctx.run("waiting", std::future::pending()).await,
        }
    }

    // A single VM's engine reads no scale set.
    async fn get_scale_set(
        &self,
        _: &crate::azure::ScaleSetId,
        _: &OpContext,
    ) -> Result<crate::azure::ScaleSet, AzureError> {
        Err(not_a_scale_set())
    }

    async fn list_instances_page(
        &self,
        _: crate::azure::InstancePageAt<'_>,
        _: &OpContext,
    ) -> Result<crate::azure::VmPage, AzureError> {
        Err(not_a_scale_set())
    }

    async fn begin_put_model_extension(
        &self,
        _: &crate::azure::ModelExtensionId,
        _: &ExtensionPut,
        _: &OpContext,
    ) -> Result<(), AzureError> {
        Err(not_a_scale_set())
    }
}

fn not_a_scale_set() -> AzureError {
    AzureError::Internal {
        detail: "the single-VM fake has no scale set".into(),
    }
}

/// A VM as ARM returns it with `$expand=instanceView`.
fn vm(os: &str, power: &str, agent: &str, extensions: &[(&str, &str)]) -> Value {
    let views: Vec<Value> = extensions
        .iter()
        .map(|(name, handler)| json!({"name": name, "type": handler}))
        .collect();
    json!({
        "id": vm_id().to_string(), "name": "web01", "location": "westeurope",
        "properties": {
            "storageProfile": {"osDisk": {"osType": os}},
            "instanceView": {
                "vmAgent": {"statuses": [{"displayStatus": agent, "message": "agent message"}]},
                "extensions": views,
                "statuses": [{"code": format!("PowerState/{power}")}]
            }
        }
    })
}

fn ready_vm() -> Value {
    vm("Windows", "running", "Ready", &[])
}

fn vm_id() -> VirtualMachineId {
    VirtualMachineId::new("sub", "rg", "web01")
}

fn over(fake: FakeArm) -> (Engine<Arc<FakeArm>>, Arc<FakeArm>) {
    let fake = Arc::new(fake);
    (
        Engine::new(fake.clone(), Arc::new(VmLocks::default())),
        fake,
    )
}

fn ctx() -> OpContext {
    OpContext::new(Duration::from_secs(5), CancellationToken::new())
}

fn reset(name: NameChoice) -> RunRequest<AccountReset> {
    RunRequest {
        vm: vm_id(),
        name,
        handler_version: "2.4".into(),
        auto_upgrade_minor_version: true,
        input: AccountReset {
            username: Some("opsadmin".into()),
            password: Some(SecretString::from("N3w-Passw0rd!")),
        },
    }
}

async fn run(
    engine: &Engine<Arc<FakeArm>>,
    name: NameChoice,
    ctx: &OpContext,
) -> (Result<Run, RunError>, Vec<Progress>) {
    let seen = Mutex::new(Vec::new());
    let result = engine
        .run::<WindowsVmAccess>(reset(name), ctx, &|p| seen.lock().unwrap().push(p))
        .await;
    (result, seen.into_inner().unwrap())
}

fn conflict() -> AzureError {
    AzureError::Conflict {
        code: "OperationNotAllowed".into(),
        message: "Another operation is in progress on the VM.".into(),
    }
}

#[tokio::test]
async fn success_puts_the_kind_with_a_fresh_tag_and_reports_each_step() {
    let (engine, fake) = over(FakeArm::with_vm(ready_vm()));
    let (first, progress) = run(&engine, NameChoice::Choose(None), &ctx()).await;
    let first = first.unwrap();
    assert!(matches!(first.outcome, Outcome::Succeeded));
    assert_eq!(first.extension.name(), "VMAccessAgent");
    assert_eq!(first.adopted, None);

    let (id, body) = &fake.puts()[0];
    assert_eq!(id, &first.extension);
    let wire = serde_json::to_value(body).unwrap();
    assert_eq!(wire["properties"]["publisher"], "Microsoft.Compute");
    assert_eq!(wire["properties"]["type"], "VMAccessAgent");
    assert_eq!(
        wire["properties"]["settings"],
        json!({"UserName": "opsadmin"})
    );
    assert_eq!(wire["properties"]["forceUpdateTag"], first.tag.as_str());
    assert_eq!(wire["location"], "westeurope");

    assert_eq!(progress.len(), 4, "{progress:?}");
    assert_eq!(progress[0], Progress::VmChecked { vm: "web01".into() });
    assert!(
        matches!(&progress[1], Progress::Sending { tag, handler, .. }
        if *tag == first.tag && handler == "Microsoft.Compute.VMAccessAgent")
    );
    assert_eq!(progress[2], Progress::Accepted);
    assert_eq!(
        progress[3],
        Progress::Finished {
            outcome: "succeeded",
            status: None
        }
    );

    let (second, _) = run(&engine, NameChoice::Keep("VMAccessAgent".into()), &ctx()).await;
    assert_ne!(second.unwrap().tag, first.tag, "every run sends a new tag");
}

#[tokio::test]
async fn checks_that_fail_send_nothing() {
    type Expect = fn(&RunError) -> bool;
    let cases: [(Value, Expect); 4] = [
        (
            vm("Windows", "stopped", "Ready", &[]),
            |e| matches!(e, RunError::NotRunning { power, .. } if power == "stopped"),
        ),
        (vm("Linux", "running", "Ready", &[]), |e| {
            matches!(e, RunError::WrongOs { .. })
        }),
        (
            vm("Windows", "running", "Not Ready", &[]),
            |e| matches!(e, RunError::AgentNotReady { status, .. } if status == "Not Ready"),
        ),
        (
            vm(
                "Windows",
                "running",
                "Ready",
                &[("enablevmaccess", "Microsoft.Compute.VMAccessAgent")],
            ),
            |e| matches!(e, RunError::NameTaken { existing, .. } if existing == "enablevmaccess"),
        ),
    ];
    for (vm, expected) in cases {
        let (engine, fake) = over(FakeArm::with_vm(vm));
        let (result, progress) = run(
            &engine,
            NameChoice::Choose(Some("VMAccessAgent".into())),
            &ctx(),
        )
        .await;
        let err = result.unwrap_err();
        assert!(expected(&err), "{err:?}");
        assert!(fake.puts().is_empty());
        assert!(
            !progress
                .iter()
                .any(|p| matches!(p, Progress::Sending { .. }))
        );
    }
}

#[tokio::test]
async fn missing_vm_is_named() {
    let mut fake = FakeArm::with_vm(Value::Null);
    fake.vm = Err(|| AzureError::NotFound {
        resource: "virtual machine".into(),
        code: "ResourceNotFound".into(),
        message: "gone".into(),
    });
    let (engine, _) = over(fake);
    let (result, _) = run(&engine, NameChoice::Choose(None), &ctx()).await;
    assert!(matches!(result, Err(RunError::VmNotFound { vm }) if vm == vm_id()));
}

#[tokio::test]
async fn existing_extension_under_another_name_is_adopted() {
    let existing = vm(
        "Windows",
        "running",
        "Ready",
        &[
            ("enablevmaccess", "Microsoft.Compute.VMAccessAgent"),
            ("other", "Microsoft.Azure.Monitor.Agent"),
        ],
    );
    let (engine, fake) = over(FakeArm::with_vm(existing.clone()));
    let (result, _) = run(&engine, NameChoice::Choose(None), &ctx()).await;
    let run = result.unwrap();
    assert_eq!(run.extension.name(), "enablevmaccess");
    assert_eq!(run.adopted.as_deref(), Some("enablevmaccess"));
    assert_eq!(fake.puts()[0].0.name(), "enablevmaccess");

    // Asking for that name explicitly (any casing) reuses it without a notice.
    let (engine, _) = over(FakeArm::with_vm(existing));
    let (result, _) = self::run(
        &engine,
        NameChoice::Choose(Some("EnableVMAccess".into())),
        &ctx(),
    )
    .await;
    assert_eq!(result.unwrap().adopted, None);
}

/// The outcome of a run on a ready VM whose PUT fails with `err`, and the last progress report.
async fn put_failing_with(err: AzureError) -> (Outcome, Option<Progress>) {
    let (engine, fake) = over(FakeArm::with_vm(ready_vm()).put_fails(err));
    let (result, mut progress) = run(&engine, NameChoice::Choose(None), &ctx()).await;
    assert!(fake.puts().is_empty());
    (result.unwrap().outcome, progress.pop())
}

/// A failed PUT: failed before anything was sent (encoding the body), lost
/// connection, 409 from a concurrent run, VM stopped between the check and the PUT.
#[tokio::test]
async fn failed_put_is_not_started_unless_azure_may_have_received_it() {
    let cases: [(&str, AzureError, &str); 4] = [
        (
            "failed before sending",
            AzureError::Internal {
                detail: "cannot encode the extension body".into(),
            },
            "not started",
        ),
        (
            "lost connection",
            AzureError::Transport {
                message: "connection reset".into(),
                sent: true,
            },
            "unknown",
        ),
        ("concurrent run", conflict(), "not started"),
        (
            "VM stopped after the check",
            AzureError::VmNotRunning {
                message: "The VM is deallocated.".into(),
            },
            "not started",
        ),
    ];
    for (case, err, expected) in cases {
        let (outcome, last) = put_failing_with(err).await;
        assert_eq!(outcome.label(), expected, "{case}: {outcome:?}");
        assert!(
            matches!(last, Some(Progress::Finished { outcome, .. }) if outcome == expected),
            "{case}"
        );
    }
}

#[tokio::test]
async fn vm_stopped_while_the_extension_runs_is_unknown() {
    let (engine, _) = over(FakeArm::with_vm(ready_vm()).wait_does(Wait::Fail(
        AzureError::VmNotRunning {
            message: "The VM was stopped.".into(),
        },
    )));
    let (result, _) = run(&engine, NameChoice::Choose(None), &ctx()).await;
    assert!(matches!(result.unwrap().outcome, Outcome::Unknown(_)));
}

#[tokio::test]
async fn timeout_while_azure_still_runs_is_unknown() {
    let (engine, fake) = over(FakeArm::with_vm(ready_vm()).wait_does(Wait::Forever));
    let short = OpContext::new(Duration::from_millis(30), CancellationToken::new());
    let (result, _) = run(&engine, NameChoice::Choose(None), &short).await;
    assert!(matches!(
        result.unwrap().outcome,
        Outcome::Unknown(AzureError::DeadlineExceeded { .. })
    ));
    assert_eq!(fake.puts().len(), 1);
}

#[tokio::test]
async fn extension_failure_carries_its_own_messages() {
    let (engine, _) = over(FakeArm::with_vm(ready_vm()).wait_does(Wait::Fail(
        AzureError::ExtensionFailed {
            code: "VMExtensionProvisioningError".into(),
            message: "VM has reported a failure".into(),
            statuses: vec!["Provisioning failed: does not support Domain Controller".into()],
        },
    )));
    let (result, progress) = run(&engine, NameChoice::Choose(None), &ctx()).await;
    assert!(matches!(result.unwrap().outcome, Outcome::Failed(_)));
    assert_eq!(
        progress.last(),
        Some(&Progress::Finished {
            outcome: "failed",
            status: Some("Provisioning failed: does not support Domain Controller".into()),
        })
    );
}

#[tokio::test]
async fn runs_on_one_vm_take_turns() {
    let (engine, fake) = over(FakeArm::with_vm(ready_vm()).wait_does(Wait::Forever));
    let engine = Arc::new(engine);
    let guard = engine.locks.lock(&vm_id()).await;
    let e = engine.clone();
    let queued = tokio::spawn(async move { run(&e, NameChoice::Choose(None), &ctx()).await.0 });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        fake.puts().is_empty(),
        "a run started while the VM was busy"
    );
    drop(guard);
    *fake.wait.lock().unwrap() = Some(Wait::Succeed);
    assert!(matches!(
        queued.await.unwrap().unwrap().outcome,
        Outcome::Succeeded
    ));
}

fn extension(publisher: &str, extension_type: &str, settings: Value) -> VmExtension {
    VmExtension {
        publisher: publisher.into(),
        extension_type: extension_type.into(),
        type_handler_version: "2.4".into(),
        force_update_tag: Some("tag-1".into()),
        settings,
        provisioning_state: "Failed".into(),
        ..VmExtension::default()
    }
}

#[tokio::test]
async fn status_tells_missing_other_kinds_and_ours_apart() {
    let id = vm_id().extension("VMAccessAgent");
    let (engine, _) = over(FakeArm::with_vm(Value::Null));
    assert_eq!(
        engine.status::<WindowsVmAccess>(&id, &ctx()).await.unwrap(),
        Lookup::Missing
    );
    let mut fake = FakeArm::with_vm(Value::Null);
    fake.extension = Some(extension(
        "Microsoft.Azure.Monitor",
        "AzureMonitorWindowsAgent",
        json!({}),
    ));
    let (engine, _) = over(fake);
    assert!(matches!(
        engine.status::<WindowsVmAccess>(&id, &ctx()).await.unwrap(),
        Lookup::OtherKind { .. }
    ));
    let mut fake = FakeArm::with_vm(Value::Null);
    fake.extension = Some(extension(
        "microsoft.compute",
        "vmaccessagent",
        json!({"username": "ops"}),
    ));
    let (engine, _) = over(fake);
    let Lookup::Found(status) = engine.status::<WindowsVmAccess>(&id, &ctx()).await.unwrap() else {
        panic!("not found")
    };
    assert_eq!(status.username.as_deref(), Some("ops"));
    assert_eq!(status.force_update_tag.as_deref(), Some("tag-1"));
    assert_eq!(status.provisioning_state, "Failed");
}

#[tokio::test]
async fn removal_of_a_gone_extension_succeeds_and_a_stopped_vm_is_reported() {
    let id = vm_id().extension("VMAccessAgent");
    let fake = FakeArm::with_vm(Value::Null).wait_does(Wait::Fail(AzureError::NotFound {
        resource: "extension".into(),
        code: "NotFound".into(),
        message: "gone".into(),
    }));
    let (engine, _) = over(fake);
    assert_eq!(engine.remove(&id, &ctx()).await.unwrap(), Removal::Removed);

    let fake = FakeArm::with_vm(Value::Null);
    *fake.delete_error.lock().unwrap() = Some(AzureError::VmNotRunning {
        message: "deallocated".into(),
    });
    let (engine, _) = over(fake);
    assert_eq!(
        engine.remove(&id, &ctx()).await.unwrap(),
        Removal::VmNotRunning
    );

    let fake = FakeArm::with_vm(Value::Null);
    *fake.delete_error.lock().unwrap() = Some(conflict());
    let (engine, _) = over(fake);
    assert!(matches!(
        engine.remove(&id, &ctx()).await,
        Err(AzureError::Conflict { .. })
    ));
}
