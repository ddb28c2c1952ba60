//! The engine across a scale set's instances, against a scripted ARM: paging, skipping, choosing
//! instances, batches, per-instance names, failures and the opt-in model write.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::azure::{
    AzureError, ExtensionId, ExtensionPut, InstancePageAt, ModelExtensionId, OpContext,
    Orchestration, ScaleSet, ScaleSetId, VirtualMachine, VirtualMachineId, VmExtension, VmPage,
};
use crate::vmaccess::{
    AccessInput, AccountReset, Arm, Engine, InstanceOutcome, ModelOutcome, ScaleSetFacts,
    ScaleSetRequest, VmLocks,
};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn scale_set_id() -> ScaleSetId {
    ScaleSetId::new(SUB, "rg", "vmss")
}

/// A uniform instance as ARM lists it with its instance view.
fn instance(id: u32, power: &str, agent: &str, extensions: &[(&str, &str)]) -> Value {
    let views: Vec<Value> = extensions
        .iter()
        .map(|(name, handler)| json!({"name": name, "type": handler}))
        .collect();
    json!({
        "id": scale_set_id().instance(id.to_string()).to_string(),
        "name": format!("vmss_{id}"),
        "instanceId": id.to_string(),
        "location": "westeurope",
        "properties": {
            "storageProfile": {"osDisk": {"osType": "Windows"}},
            "instanceView": {
                "vmAgent": {"statuses": [{"displayStatus": agent, "message": "agent message"}]},
                "extensions": views,
                "statuses": [{"code": format!("PowerState/{power}")}]
            }
        }
    })
}

fn running(id: u32) -> Value {
    instance(id, "running", "Ready", &[])
}

struct FakeScaleSet {
    model: Value,
    instances: Vec<Value>,
    page_size: usize,
    /// Instances whose run fails in the guest, by name.
    failing: BTreeSet<String>,
    puts: Mutex<Vec<(ExtensionId, ExtensionPut)>>,
    model_puts: Mutex<Vec<(ModelExtensionId, ExtensionPut)>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl FakeScaleSet {
    fn new(instances: Vec<Value>) -> FakeScaleSet {
        FakeScaleSet {
            model: json!({
                "id": scale_set_id().to_string(), "name": "vmss", "location": "westeurope",
                "properties": {
                    "orchestrationMode": "Uniform",
                    "upgradePolicy": {"mode": "Manual"},
                    "virtualMachineProfile": {"storageProfile": {"osDisk": {"osType": "Windows"}}}
                }
            }),
            instances,
            page_size: 2,
            failing: BTreeSet::new(),
            puts: Mutex::new(Vec::new()),
            model_puts: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        }
    }

    fn put_names(&self) -> Vec<String> {
        self.puts
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| format!("{}:{}", id.vm().name(), id.name()))
            .collect()
    }
}

#[async_trait::async_trait]
impl Arm for Arc<FakeScaleSet> {
    /// The instance whose extension was written.
    type Pending = Option<String>;

    async fn get_virtual_machine(
        &self,
        id: &VirtualMachineId,
        _: &OpContext,
    ) -> Result<VirtualMachine, AzureError> {
        let found = self
            .instances
            .iter()
            .find(|i| i["id"] == id.to_string())
            .expect("a listed instance");
        Ok(serde_json::from_value(found.clone()).unwrap())
    }

    async fn get_extension(
        &self,
        _: &ExtensionId,
        _: &OpContext,
    ) -> Result<Option<VmExtension>, AzureError> {
        Ok(None)
    }

    async fn begin_put_extension(
        &self,
        id: &ExtensionId,
        body: &ExtensionPut,
        _: &OpContext,
    ) -> Result<Option<String>, AzureError> {
        self.puts.lock().unwrap().push((id.clone(), body.clone()));
        Ok(Some(format!("vmss_{}", id.vm().name())))
    }

    async fn begin_delete_extension(
        &self,
        _: &ExtensionId,
        _: &OpContext,
    ) -> Result<Option<Option<String>>, AzureError> {
        Ok(None)
    }

    async fn wait(&self, op: Option<String>, _: &OpContext) -> Result<(), AzureError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        match op {
            Some(name) if self.failing.contains(&name) => Err(AzureError::ExtensionFailed {
                code: "VMExtensionProvisioningError".into(),
                message: "VM has reported a failure".into(),
                statuses: vec!["Enable failed: the account is locked by policy".into()],
            }),
            _ => Ok(()),
        }
    }

    async fn get_scale_set(&self, _: &ScaleSetId, _: &OpContext) -> Result<ScaleSet, AzureError> {
        Ok(serde_json::from_value(self.model.clone()).unwrap())
    }

    async fn list_instances_page(
        &self,
        at: InstancePageAt<'_>,
        _: &OpContext,
    ) -> Result<VmPage, AzureError> {
        assert_eq!(at.orchestration, Orchestration::Uniform);
        let start: usize = at.next_link.map_or(0, |l| l.parse().unwrap());
        let end = (start + self.page_size).min(self.instances.len());
        Ok(VmPage {
            vms: self.instances[start..end]
                .iter()
                .map(|v| serde_json::from_value(v.clone()).unwrap())
                .collect(),
            next_link: (end < self.instances.len()).then(|| end.to_string()),
        })
    }

    async fn begin_put_model_extension(
        &self,
        id: &ModelExtensionId,
        body: &ExtensionPut,
        _: &OpContext,
    ) -> Result<Option<String>, AzureError> {
        self.model_puts
            .lock()
            .unwrap()
            .push((id.clone(), body.clone()));
        Ok(None)
    }
}

fn ctx() -> OpContext {
    OpContext::new(Duration::from_secs(30), CancellationToken::new())
}

fn password_reset() -> AccessInput {
    AccessInput::Windows(AccountReset {
        username: Some("opsadmin".into()),
        password: Some(SecretString::from("N3w-Passw0rd!x")),
    })
}

/// A password reset of the scale set `facts` describe, `max_parallel` at a time.
fn request(facts: ScaleSetFacts, max_parallel: usize, update_model: bool) -> ScaleSetRequest {
    ScaleSetRequest {
        facts,
        only: None,
        handler_version: "2.4".into(),
        auto_upgrade_minor_version: true,
        input: password_reset(),
        max_parallel,
        update_model,
    }
}

async fn run(
    fake: &Arc<FakeScaleSet>,
    only: Option<&[&str]>,
    max_parallel: usize,
    update_model: bool,
) -> Vec<(String, &'static str)> {
    let engine = Engine::new(fake.clone(), Arc::new(VmLocks::default()));
    let facts = engine
        .inspect_scale_set(&scale_set_id(), &ctx())
        .await
        .expect("inspected");
    let request = ScaleSetRequest {
        only: only.map(|names| names.iter().map(|n| n.to_string()).collect()),
        ..request(facts, max_parallel, update_model)
    };
    let done = engine.reset_scale_set(request, &ctx(), &|_| {}).await;
    if update_model {
        assert!(
            matches!(done.model, Some(ModelOutcome::Set(_))),
            "{:?}",
            done.model
        );
    } else {
        assert!(done.model.is_none());
    }
    done.instances
        .iter()
        .map(|r| (r.name.clone(), r.outcome.label()))
        .collect()
}

#[tokio::test]
async fn every_page_is_read_and_stopped_instances_are_skipped_in_order() {
    let fake = Arc::new(FakeScaleSet::new(vec![
        running(0),
        instance(1, "stopped", "Ready", &[]),
        running(2),
        instance(3, "deallocated", "Not Ready", &[]),
        running(4),
    ]));
    let results = run(&fake, None, 3, false).await;
    assert_eq!(
        results,
        vec![
            ("vmss_0".into(), "succeeded"),
            ("vmss_1".into(), "skipped"),
            ("vmss_2".into(), "succeeded"),
            ("vmss_3".into(), "skipped"),
            ("vmss_4".into(), "succeeded"),
        ]
    );
    let puts = fake.puts.lock().unwrap().clone();
    assert_eq!(puts.len(), 3);
    for (id, body) in &puts {
        assert_eq!(id.vm().scale_set(), Some(scale_set_id()));
        assert!(
            id.to_string()
                .contains("/virtualMachineScaleSets/vmss/virtualMachines/"),
            "{id}"
        );
        assert_eq!(body.location, None, "an instance extension has no location");
    }
    assert!(
        fake.model_puts.lock().unwrap().is_empty(),
        "the model is left alone"
    );
}

#[tokio::test]
async fn only_the_named_instances_run_and_batches_stay_within_max_parallel() {
    let fake = Arc::new(FakeScaleSet::new((0..12).map(running).collect()));
    let results = run(&fake, Some(&["VMSS_3", "vmss_7"]), 10, false).await;
    assert_eq!(
        results,
        vec![
            ("vmss_3".into(), "succeeded"),
            ("vmss_7".into(), "succeeded")
        ]
    );
    assert_eq!(fake.put_names(), vec!["3:VMAccessAgent", "7:VMAccessAgent"]);

    let fake = Arc::new(FakeScaleSet::new((0..12).map(running).collect()));
    let results = run(&fake, None, 4, false).await;
    assert_eq!(results.len(), 12);
    let most = fake.most_in_flight.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "at most 4 at once, ran {most}");
}

#[tokio::test]
async fn an_instance_without_agent_or_with_a_failing_run_fails_alone() {
    let mut fake = FakeScaleSet::new(vec![
        running(0),
        instance(1, "running", "Not Ready", &[]),
        running(2),
    ]);
    fake.failing.insert("vmss_2".into());
    let fake = Arc::new(fake);
    let engine = Engine::new(fake.clone(), Arc::new(VmLocks::default()));
    let facts = engine
        .inspect_scale_set(&scale_set_id(), &ctx())
        .await
        .unwrap();
    let done = engine
        .reset_scale_set(request(facts, 10, false), &ctx(), &|_| {})
        .await;
    let [ok, no_agent, failed] = &done.instances[..] else {
        panic!("three results: {:?}", done.instances);
    };
    assert!(ok.outcome.succeeded());
    assert!(
        matches!(&no_agent.outcome, InstanceOutcome::Refused(e) if e.to_string().contains("agent")),
        "{:?}",
        no_agent.outcome
    );
    assert_eq!(failed.outcome.label(), "failed");
    assert_eq!(fake.put_names(), vec!["0:VMAccessAgent", "2:VMAccessAgent"]);
}

#[tokio::test]
async fn existing_extension_names_are_reused_and_the_model_is_set_only_when_asked() {
    let mut fake = FakeScaleSet::new(vec![
        instance(
            0,
            "running",
            "Ready",
            &[("fromModel", "Microsoft.Compute.VMAccessAgent")],
        ),
        running(1),
    ]);
    fake.model["properties"]["virtualMachineProfile"]["extensionProfile"] = json!({
        "extensions": [{"name": "fromModel", "properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent"}}]
    });
    let fake = Arc::new(fake);
    run(&fake, None, 2, true).await;
    assert_eq!(
        fake.put_names(),
        vec!["0:fromModel", "1:VMAccessAgent"],
        "an instance's existing VMAccess extension keeps its name"
    );
    let model = fake.model_puts.lock().unwrap().clone();
    let [(id, body)] = &model[..] else {
        panic!("one model write: {model:?}");
    };
    assert_eq!(
        id.to_string(),
        format!("{}/extensions/fromModel", scale_set_id()),
        "the model's own VMAccess extension is the one set"
    );
    assert_eq!(body.location, None);
    assert_eq!(body.settings, json!({"UserName": "opsadmin"}));
}

#[tokio::test]
async fn the_model_is_not_sent_when_every_instance_that_ran_failed_and_starting_ones_are_not_skipped()
 {
    let fake = Arc::new(FakeScaleSet::new(vec![
        instance(0, "running", "Not Ready", &[]),
        instance(1, "starting", "Ready", &[]),
        instance(2, "deallocating", "Ready", &[]),
    ]));
    let engine = Engine::new(fake.clone(), Arc::new(VmLocks::default()));
    let facts = engine
        .inspect_scale_set(&scale_set_id(), &ctx())
        .await
        .unwrap();
    let done = engine
        .reset_scale_set(request(facts, 10, true), &ctx(), &|_| {})
        .await;
    let labels: Vec<_> = done.instances.iter().map(|r| r.outcome.label()).collect();
    assert_eq!(
        labels,
        ["failed", "failed", "skipped"],
        "a starting instance is refused, not skipped"
    );
    assert!(
        matches!(done.model, Some(ModelOutcome::NotSent)),
        "{:?}",
        done.model
    );
    assert!(fake.model_puts.lock().unwrap().is_empty());
}
