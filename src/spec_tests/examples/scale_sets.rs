//! Scale sets and their model's extensions: a scale set read, pages of them, a model extension;
//! as the model reads them and as the engine inspects a scale set.

use serde_json::{Value, json};

use crate::azure::spec_access::{VmExtensionResource, decode_page};
use crate::azure::{Orchestration, OsType, ScaleSet, ScaleSetId};
use crate::vmaccess::for_os;

use super::super::fake::{self, ExampleArm};
use super::{Check, declared_os, flag, items, next_link, text};

/// A scale set, as `ArmClient::get_scale_set` decodes it; then the engine's `inspect_scale_set`.
pub(super) async fn scale_set(check: &mut Check<'_>, body: &Value) {
    let Some(set) = check.decode::<ScaleSet>(body, "the virtual machine scale set") else {
        return;
    };
    read_scale_set(check, &set, body);
    let (engine, _) = fake::engine(ExampleArm::with_scale_set(set, Vec::new()));
    let id = ScaleSetId::new("sub", "rg", "vmss");
    let facts = match engine.inspect_scale_set(&id, &fake::ctx()).await {
        Ok(facts) => facts,
        Err(error) => return check.fail(format!("the engine cannot inspect it: {error}")),
    };
    let properties = &body["properties"];
    check.eq(
        "the engine's orchestration",
        facts.orchestration,
        orchestration(body),
    );
    check.eq(
        "the engine's OS",
        facts.os,
        declared_os(&properties["virtualMachineProfile"]),
    );
    check.eq(
        "the engine's upgrade mode",
        facts.upgrade_mode.clone(),
        text(properties, "/upgradePolicy/mode"),
    );
    for os in [OsType::Windows, OsType::Linux] {
        let kind = for_os(Some(os));
        check.eq(
            &format!("the engine's model {} extension", kind.extension_type),
            facts.model_extension(kind).map(str::to_owned),
            model_extension_named(body, kind.publisher, kind.extension_type),
        );
    }
}

/// A page of scale sets, as the client pages them.
pub(super) async fn page(check: &mut Check<'_>, body: &Value) {
    let decoded = decode_page::<ScaleSet>(&check.response(body), None, "the example");
    let (sets, next) = match decoded {
        Ok(page) => page,
        Err(error) => return check.fail(format!("does not decode as a page: {error}")),
    };
    let listed = items(body, "/value");
    check.eq("nextLink", next, next_link(body));
    check.eq("the number of scale sets", sets.len(), listed.len());
    for (index, (set, item)) in sets.iter().zip(listed).enumerate() {
        read_scale_set(&mut check.part(&format!("/value/{index}")), set, item);
    }
}

/// An extension of a scale set's model. The provider reads one as an entry of the model's
/// `extensionProfile.extensions` (the same definition, `VirtualMachineScaleSetExtension`): it
/// decodes as such an entry, and a scale set whose model holds it finds it by handler.
pub(super) fn model_extension(check: &mut Check<'_>, body: &Value) {
    let Some(extension) = check.decode::<VmExtensionResource>(body, "the model extension") else {
        return;
    };
    let property = |name: &str| text(body, &format!("/properties/{name}"));
    let read = &extension.properties;
    check.eq("id", extension.id.clone(), text(body, "/id"));
    check.eq("name", extension.name.clone(), text(body, "/name"));
    check.eq("publisher", read.publisher.clone(), property("publisher"));
    check.eq("type", read.extension_type.clone(), property("type"));
    check.eq(
        "typeHandlerVersion",
        read.type_handler_version.clone(),
        property("typeHandlerVersion"),
    );
    check.eq(
        "autoUpgradeMinorVersion",
        read.auto_upgrade_minor_version,
        flag(body, "/properties/autoUpgradeMinorVersion"),
    );
    check.eq(
        "forceUpdateTag",
        read.force_update_tag.clone(),
        property("forceUpdateTag"),
    );
    check.eq(
        "settings",
        read.settings.as_ref(),
        body.pointer("/properties/settings"),
    );
    check.eq(
        "provisioningState",
        read.provisioning_state.clone(),
        property("provisioningState"),
    );

    let (Some(publisher), Some(extension_type)) = (property("publisher"), property("type")) else {
        return;
    };
    let model = json!({
        "properties": { "virtualMachineProfile": { "extensionProfile": { "extensions": [body] } } }
    });
    if let Some(set) = check.decode::<ScaleSet>(&model, "a scale set holding it") {
        check.eq(
            "its name in a model that holds it",
            set.model_extension_name_of(&publisher, &extension_type),
            text(body, "/name"),
        );
    }
}

/// What the model reads of a scale set.
fn read_scale_set(check: &mut Check<'_>, set: &ScaleSet, body: &Value) {
    let properties = &body["properties"];
    check.eq("id", set.id.clone(), text(body, "/id").unwrap_or_default());
    check.eq(
        "name",
        set.name.clone(),
        text(body, "/name").unwrap_or_default(),
    );
    check.eq(
        "location",
        set.location.clone(),
        text(body, "/location").unwrap_or_default(),
    );
    check.eq(
        "orchestration mode",
        set.orchestration(),
        orchestration(body),
    );
    check.eq(
        "upgrade policy mode",
        set.upgrade_mode().map(str::to_owned),
        text(properties, "/upgradePolicy/mode"),
    );
    check.eq(
        "OS type of the model",
        set.os_type(),
        declared_os(&properties["virtualMachineProfile"]),
    );
    let extensions = items(
        properties,
        "/virtualMachineProfile/extensionProfile/extensions",
    );
    for extension in extensions {
        let property = |name: &str| text(extension, &format!("/properties/{name}"));
        if let (Some(publisher), Some(extension_type)) = (property("publisher"), property("type")) {
            check.eq(
                &format!("the name of the model's {publisher}.{extension_type} extension"),
                set.model_extension_name_of(&publisher, &extension_type),
                model_extension_named(body, &publisher, &extension_type),
            );
        }
    }
}

/// `Flexible` when the example says so (any casing), else `Uniform` (older scale sets do not
/// say).
fn orchestration(body: &Value) -> Orchestration {
    match text(body, "/properties/orchestrationMode") {
        Some(mode) if mode.eq_ignore_ascii_case("Flexible") => Orchestration::Flexible,
        _ => Orchestration::Uniform,
    }
}

/// The name of the first extension of the model with this publisher and type.
fn model_extension_named(body: &Value, publisher: &str, extension_type: &str) -> Option<String> {
    items(
        body,
        "/properties/virtualMachineProfile/extensionProfile/extensions",
    )
    .iter()
    .find(|extension| {
        let property = |name: &str| text(extension, &format!("/properties/{name}"));
        property("publisher").is_some_and(|p| p.eq_ignore_ascii_case(publisher))
            && property("type").is_some_and(|t| t.eq_ignore_ascii_case(extension_type))
    })
    .and_then(|extension| text(extension, "/name"))
}
