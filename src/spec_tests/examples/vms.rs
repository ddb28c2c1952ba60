//! VMs and scale sets' instances: a VM read with its instance view, the instance view itself,
//! pages of VMs; as the model reads them and as the engine inspects them.

use serde_json::{Value, json};

use crate::azure::spec_access::{VmInstanceView, decode_page};
use crate::azure::{
    AgentStatus, Orchestration, ScaleSet, ScaleSetId, VirtualMachine, VirtualMachineId, VmPage,
};

use super::super::fake::{self, ExampleArm};
use super::{Check, declared_os, flag, items, next_link, text};

/// A VM (or a uniform scale set's instance) read with `$expand=instanceView`.
pub(super) async fn virtual_machine(check: &mut Check<'_>, body: &Value) {
    let Some(vm) = check.decode::<VirtualMachine>(body, "the virtual machine") else {
        return;
    };
    read_vm(check, &vm, body);
    let (engine, _) = fake::engine(ExampleArm::with_vm(vm));
    let id = VirtualMachineId::new("sub", "rg", "vm");
    let facts = match engine.inspect(&id, &fake::ctx()).await {
        Ok(facts) => facts,
        Err(error) => return check.fail(format!("the engine cannot inspect it: {error}")),
    };
    let (power, agent) = (power(body), agent(body));
    let ready = power.as_deref() == Some("running") && agent.ready;
    check.eq(
        "the engine's VM name",
        facts.name.clone(),
        string(body, "/name"),
    );
    check.eq(
        "the engine's location",
        facts.location.clone(),
        string(body, "/location"),
    );
    check.eq(
        "the engine's OS",
        facts.os,
        declared_os(&body["properties"]),
    );
    check.eq("the engine's power state", facts.power.clone(), power);
    check.eq("the engine's agent status", facts.agent.clone(), agent);
    check.eq(
        "the engine's password-login flag",
        facts.password_authentication_disabled,
        password_logins_off(body),
    );
    check.eq(
        "the engine's preflight passes (running, agent ready)",
        facts.preflight(facts.kind()).is_ok(),
        ready,
    );
}

/// `VirtualMachines_InstanceView`'s answer is the instance view a VM read with
/// `$expand=instanceView` carries in `properties.instanceView`: it decodes as the provider's
/// instance view, and a VM holding it reads as one.
pub(super) async fn instance_view(check: &mut Check<'_>, body: &Value) {
    if check
        .decode::<VmInstanceView>(body, "the instance view")
        .is_some()
    {
        let vm = json!({ "properties": { "instanceView": body } });
        virtual_machine(check, &vm).await;
    }
}

/// A page of VMs (a VM list, or a scale set's instances): decoded as the client pages it, each
/// VM read, then listed to the engine as the instances of a scale set of `orchestration`.
pub(super) async fn page(check: &mut Check<'_>, body: &Value, orchestration: Orchestration) {
    let decoded = decode_page::<VirtualMachine>(&check.response(body), None, "the example");
    let (vms, next) = match decoded {
        Ok(page) => page,
        Err(error) => return check.fail(format!("does not decode as a page: {error}")),
    };
    let listed = items(body, "/value");
    check.eq("nextLink", next.clone(), next_link(body));
    check.eq("the number of VMs", vms.len(), listed.len());
    for (index, (vm, item)) in vms.iter().zip(listed).enumerate() {
        read_vm(&mut check.part(&format!("/value/{index}")), vm, item);
    }

    let scale_set: ScaleSet = serde_json::from_value(json!({
        "properties": { "orchestrationMode": orchestration.as_str() }
    }))
    .expect("a scale set");
    let pages = vec![VmPage {
        vms,
        next_link: next,
    }];
    let (engine, _) = fake::engine(ExampleArm::with_scale_set(scale_set, pages));
    let id = ScaleSetId::new("sub", "rg", "vmss");
    let facts = match engine.inspect_scale_set(&id, &fake::ctx()).await {
        Ok(facts) => facts,
        Err(error) => return check.fail(format!("the engine cannot list them: {error}")),
    };
    check.eq(
        "the engine's number of instances",
        facts.instances.len(),
        listed.len(),
    );
    for (index, (instance, item)) in facts.instances.iter().zip(listed).enumerate() {
        let mut check = check.part(&format!("/value/{index}"));
        check.eq(
            "the engine's instance ID",
            instance.id.to_string(),
            string(item, "/id"),
        );
        check.eq(
            "the engine's instance name",
            instance.name.clone(),
            string(item, "/name"),
        );
        check.eq(
            "the engine's instance power state",
            instance.power.clone(),
            power(item),
        );
    }
}

/// What the model reads of a VM: identity, OS, state, agent, and its extensions' names.
fn read_vm(check: &mut Check<'_>, vm: &VirtualMachine, body: &Value) {
    check.eq("id", vm.arm_id().to_owned(), string(body, "/id"));
    check.eq("name", vm.name.clone(), string(body, "/name"));
    check.eq("location", vm.location.clone(), string(body, "/location"));
    check.eq(
        "provisioningState",
        vm.properties.provisioning_state.clone(),
        text(body, "/properties/provisioningState"),
    );
    check.eq("OS type", vm.os_type(), declared_os(&body["properties"]));
    check.eq("power state", vm.power_state(), power(body));
    check.eq(
        "running",
        vm.is_running(),
        power(body).as_deref() == Some("running"),
    );
    check.eq("VM agent status", vm.agent(), agent(body));
    check.eq(
        "password logins off",
        vm.password_authentication_disabled(),
        password_logins_off(body),
    );
    for (publisher, extension_type, name) in installed(body) {
        check.eq(
            &format!("the name of its {publisher}.{extension_type} extension"),
            vm.extension_name_of(&publisher, &extension_type),
            Some(name),
        );
    }
}

/// The string at `pointer`, empty when absent (as the provider's types default it).
fn string(value: &Value, pointer: &str) -> String {
    text(value, pointer).unwrap_or_default()
}

/// The state of the first `PowerState/…` status of the instance view, in lower case.
fn power(vm: &Value) -> Option<String> {
    items(vm, "/properties/instanceView/statuses")
        .iter()
        .filter_map(|status| text(status, "/code"))
        .find_map(|code| {
            let (prefix, state) = code.split_at_checked("PowerState/".len())?;
            prefix
                .eq_ignore_ascii_case("PowerState/")
                .then(|| state.to_ascii_lowercase())
        })
}

/// The VM agent's first status: ready when its display status is `Ready`.
fn agent(vm: &Value) -> AgentStatus {
    let Some(status) = items(vm, "/properties/instanceView/vmAgent/statuses").first() else {
        return AgentStatus::default();
    };
    let display_status = text(status, "/displayStatus");
    AgentStatus {
        ready: display_status
            .as_deref()
            .is_some_and(|display| display.eq_ignore_ascii_case("Ready")),
        display_status,
        message: text(status, "/message"),
    }
}

fn password_logins_off(vm: &Value) -> Option<bool> {
    flag(
        vm,
        "/properties/osProfile/linuxConfiguration/disablePasswordAuthentication",
    )
}

/// The extensions a VM shows, one per handler (`publisher.type`) with the name the provider must
/// find for it: the instance view's entry first (its `type` is `publisher.type`), else the
/// `resources` entry (whose name may be `vm/extension`).
fn installed(vm: &Value) -> Vec<(String, String, String)> {
    let mut found: Vec<(String, String, String)> = Vec::new();
    let mut add = |publisher: &str, extension_type: &str, name: &str| {
        let handler = format!("{publisher}.{extension_type}");
        let known = found
            .iter()
            .any(|(p, t, _)| format!("{p}.{t}").eq_ignore_ascii_case(&handler));
        if !known {
            found.push((publisher.into(), extension_type.into(), name.into()));
        }
    };
    for view in items(vm, "/properties/instanceView/extensions") {
        if let (Some(handler), Some(name)) = (text(view, "/type"), text(view, "/name"))
            && let Some((publisher, extension_type)) = handler.rsplit_once('.')
        {
            add(publisher, extension_type, &name);
        }
    }
    for resource in items(vm, "/resources") {
        let publisher = text(resource, "/properties/publisher");
        let extension_type = text(resource, "/properties/type");
        if let (Some(publisher), Some(extension_type), Some(name)) =
            (publisher, extension_type, text(resource, "/name"))
        {
            let name = name.rsplit('/').next().unwrap_or(&name);
            add(&publisher, &extension_type, name);
        }
    }
    found
}
