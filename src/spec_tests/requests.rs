//! Every extension body the provider sends, built by the engine itself (`Engine::reset` for a VM,
//! `Engine::reset_scale_set` for a scale set's instances and its model) for every kind of input
//! the surfaces give it, serialised as the client sends it, validated against the request schema
//! of the operation its URL routes to (strict mode: no property the schema does not declare).

use secrecy::SecretString;
use serde_json::{Value, json};
use spec_check::FindingKind;

use crate::azure::{
    Orchestration, OsType, ScaleSet, ScaleSetId, VirtualMachine, VirtualMachineId, VmPage,
};
use crate::vmaccess::{
    AccessInput, AccountReset, LinuxAccessReset, ModelOutcome, NameChoice, Outcome, RunRequest,
    ScaleSetRequest,
};

use super::fake::{self, ExampleArm, Sent};
use super::{compute, operation};

const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000001";

/// Where an extension goes, and the operation its PUT is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Vm,
    UniformInstance,
    UniformModel,
    FlexibleInstance,
    FlexibleModel,
}

impl Target {
    fn operation_id(self) -> &'static str {
        match self {
            Target::Vm | Target::FlexibleInstance => "VirtualMachineExtensions_CreateOrUpdate",
            Target::UniformInstance => "VirtualMachineScaleSetVMExtensions_CreateOrUpdate",
            Target::UniformModel | Target::FlexibleModel => {
                "VirtualMachineScaleSetExtensions_CreateOrUpdate"
            }
        }
    }
}

/// Every kind of input the surfaces give the engine, by what it asks for.
fn inputs() -> Vec<(&'static str, AccessInput)> {
    let password = || Some(SecretString::from("Sup3r-Secret!"));
    let user = || Some("opsadmin".to_owned());
    let linux = LinuxAccessReset::default;
    vec![
        (
            "Windows password reset",
            AccessInput::Windows(AccountReset {
                username: user(),
                password: password(),
            }),
        ),
        (
            "Windows Remote Desktop reset",
            AccessInput::Windows(AccountReset::default()),
        ),
        (
            "Linux password",
            AccessInput::Linux(LinuxAccessReset {
                username: user(),
                password: password(),
                ..linux()
            }),
        ),
        (
            "Linux SSH keys replacing the old ones",
            AccessInput::Linux(LinuxAccessReset {
                username: user(),
                ssh_public_keys: vec![
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsadmin one".into(),
                    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ two".into(),
                ],
                remove_prior_keys: true,
                ..linux()
            }),
        ),
        (
            "Linux sshd_config reset",
            AccessInput::Linux(LinuxAccessReset {
                reset_ssh: true,
                ..linux()
            }),
        ),
        (
            "Linux user removal",
            AccessInput::Linux(LinuxAccessReset {
                remove_user: Some("olduser".into()),
                ..linux()
            }),
        ),
        (
            "Linux new account with an expiry date",
            AccessInput::Linux(LinuxAccessReset {
                username: user(),
                password: password(),
                expiration: Some("2027-06-30".into()),
                ..linux()
            }),
        ),
    ]
}

/// The 200 body of the example `file` of operation `id`.
fn example_body(id: &str, file: &str) -> Value {
    let examples = operation(id).examples().expect("the examples read");
    let example = examples
        .into_iter()
        .find(|example| example.path.ends_with(file))
        .unwrap_or_else(|| panic!("{id} has the example {file}"));
    example.value["responses"]["200"]["body"].clone()
}

/// A VM as the specification shows one (`VirtualMachine_Get.json`) with its instance view
/// (`VirtualMachine_Get_InstanceView.json`: running, agent ready), running `os`, at `id`.
fn running_vm(os: OsType, id: &VirtualMachineId) -> VirtualMachine {
    let mut vm = example_body("VirtualMachines_Get", "VirtualMachine_Get.json");
    vm["properties"]["instanceView"] = example_body(
        "VirtualMachines_InstanceView",
        "VirtualMachine_Get_InstanceView.json",
    );
    vm["properties"]["storageProfile"]["osDisk"]["osType"] = json!(os.as_str());
    vm["id"] = json!(id.to_string());
    serde_json::from_value(vm).expect("the example VM decodes")
}

/// A scale set as the specification shows one (`VirtualMachineScaleSet_Get.json`), with its
/// model running `os`.
fn scale_set(orchestration: Orchestration, os: OsType) -> ScaleSet {
    let mut set = example_body(
        "VirtualMachineScaleSets_Get",
        "VirtualMachineScaleSet_Get.json",
    );
    set["properties"]["orchestrationMode"] = json!(orchestration.as_str());
    set["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]["osType"] =
        json!(os.as_str());
    serde_json::from_value(set).expect("the example scale set decodes")
}

/// What the engine sends for `input`: on a VM, then on a uniform and on a flexible scale set of
/// one running instance with the model's extension set too.
async fn sent_for(label: &str, input: &AccessInput) -> Vec<(Target, Sent)> {
    let kind = input.kind();
    let mut sent = Vec::new();

    let vm = VirtualMachineId::new(SUBSCRIPTION, "rg", "web01");
    let (engine, arm) = fake::engine(ExampleArm::with_vm(running_vm(kind.os, &vm)));
    let request = RunRequest {
        vm,
        name: NameChoice::Choose(None),
        handler_version: kind.default_handler_version.to_owned(),
        auto_upgrade_minor_version: true,
        input: input.clone(),
    };
    let run = engine.reset(request, &fake::ctx(), &|_| {}).await;
    let run = run.unwrap_or_else(|error| panic!("{label} on a VM: {error}"));
    assert!(
        matches!(run.outcome, Outcome::Succeeded),
        "{label} on a VM: {:?}",
        run.outcome
    );
    sent.extend(arm.sent().into_iter().map(|body| (Target::Vm, body)));

    let id = ScaleSetId::new(SUBSCRIPTION, "rg", "vmss");
    for (orchestration, instance, model) in [
        (
            Orchestration::Uniform,
            Target::UniformInstance,
            Target::UniformModel,
        ),
        (
            Orchestration::Flexible,
            Target::FlexibleInstance,
            Target::FlexibleModel,
        ),
    ] {
        let instance_id = match orchestration {
            Orchestration::Uniform => id.instance("0"),
            Orchestration::Flexible => VirtualMachineId::new(SUBSCRIPTION, "rg", "vmss_1a2b3c"),
        };
        let page = VmPage {
            vms: vec![running_vm(kind.os, &instance_id)],
            next_link: None,
        };
        let set = scale_set(orchestration, kind.os);
        let (engine, arm) = fake::engine(ExampleArm::with_scale_set(set, vec![page]));
        let facts = engine.inspect_scale_set(&id, &fake::ctx()).await;
        let request = ScaleSetRequest {
            facts: facts.unwrap_or_else(|error| panic!("{label}: {error}")),
            only: None,
            handler_version: kind.default_handler_version.to_owned(),
            auto_upgrade_minor_version: true,
            input: input.clone(),
            max_parallel: 1,
            update_model: true,
        };
        let run = engine.reset_scale_set(request, &fake::ctx(), &|_| {}).await;
        let at = format!("{label} on a {} scale set", orchestration.as_str());
        assert!(
            run.instances.iter().all(|i| i.outcome.succeeded()),
            "{at}: {:?}",
            run.instances
        );
        assert!(
            matches!(run.model, Some(ModelOutcome::Set(_))),
            "{at}: {:?}",
            run.model
        );
        for body in arm.sent() {
            // An instance's extension is under `…/virtualMachines/{vm or instance}`.
            let target = if body.path.contains("/virtualMachines/") {
                instance
            } else {
                model
            };
            sent.push((target, body));
        }
    }
    sent
}

#[tokio::test]
async fn spec_request_bodies_validate_against_their_operations() {
    let (mut validated, mut failures) = (0, Vec::new());
    let targets = [
        Target::Vm,
        Target::UniformInstance,
        Target::UniformModel,
        Target::FlexibleInstance,
        Target::FlexibleModel,
    ];
    for (label, input) in inputs() {
        let sent = sent_for(label, &input).await;
        let mut seen: Vec<Target> = sent.iter().map(|(target, _)| *target).collect();
        seen.sort_by_key(|target| targets.iter().position(|t| t == target));
        assert_eq!(seen, targets, "{label}: one body for each target");
        for (target, Sent { method, path, body }) in sent {
            let at = format!("{label} on {target:?} ({method} {path})");
            let Some(operation) = compute().operation_for(method, &path) else {
                failures.push(format!("{at}: no operation of the specification serves it"));
                continue;
            };
            if operation.id() != target.operation_id() {
                failures.push(format!(
                    "{at}: routes to {}, not {}",
                    operation.id(),
                    target.operation_id()
                ));
            }
            let findings = operation.validate_request_body(&body);
            failures.extend(findings.iter().map(|finding| format!("{at}: {finding}")));
            validated += 1;
        }
    }
    println!("spec request bodies validated: {validated}");
    assert!(
        failures.is_empty(),
        "{} differences between what the provider sends and the request schemas:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The schemas the bodies are held to do refuse what Azure would not take: a read-only property,
/// one the schema does not declare, a wrong type, and a location on a model extension.
#[tokio::test]
async fn spec_request_schemas_refuse_read_only_unknown_and_mistyped_properties() {
    let input = AccessInput::Windows(AccountReset {
        username: Some("opsadmin".into()),
        password: Some(SecretString::from("Sup3r-Secret!")),
    });
    let sent = sent_for("Windows password reset", &input).await;
    let body = |wanted: Target| {
        let (_, sent) = sent
            .iter()
            .find(|(target, _)| *target == wanted)
            .expect("sent");
        sent.body.clone()
    };
    let put = operation(Target::Vm.operation_id());
    let vm = body(Target::Vm);
    assert_eq!(put.validate_request_body(&vm), []);

    let only = |findings: Vec<spec_check::Finding>, kind: FindingKind, pointer: &str| {
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(
            (findings[0].kind, findings[0].pointer.as_str()),
            (kind, pointer)
        );
        findings[0].message.clone()
    };

    let mut read_only = vm.clone();
    read_only["properties"]["provisioningState"] = json!("Succeeded");
    only(
        put.validate_request_body(&read_only),
        FindingKind::ReadOnlyInRequest,
        "/properties/provisioningState",
    );

    let mut unknown = vm.clone();
    unknown["properties"]["userName"] = json!("opsadmin");
    let message = only(
        put.validate_request_body(&unknown),
        FindingKind::Schema,
        "/properties",
    );
    assert!(message.contains("'userName' was unexpected"), "{message}");

    let mut mistyped = vm;
    mistyped["properties"]["typeHandlerVersion"] = json!(2.4);
    only(
        put.validate_request_body(&mistyped),
        FindingKind::Schema,
        "/properties/typeHandlerVersion",
    );

    let model_put = operation(Target::UniformModel.operation_id());
    let mut model = body(Target::UniformModel);
    assert_eq!(model_put.validate_request_body(&model), []);
    model["location"] = json!("westeurope");
    let message = only(
        model_put.validate_request_body(&model),
        FindingKind::Schema,
        "",
    );
    assert!(message.contains("'location' was unexpected"), "{message}");
}
