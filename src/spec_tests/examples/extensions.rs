//! Extensions of VMs and of uniform scale sets' instances: read, listed, or answered to a PUT;
//! as the model reads them and as the engine's status read sees them.

use serde_json::{Value, json};

use crate::azure::spec_access::{ExtensionWire, InstanceViewStatus, decode_extension_list};
use crate::azure::{OsType, VirtualMachineId, VmExtension};
use crate::vmaccess::{Kind, Lookup, Status, for_os};

use super::super::fake::{self, ExampleArm};
use super::{Check, flag, items, text};

/// An extension read with its instance view, as `ArmClient::get_extension` decodes it; then the
/// engine's status read of it as either access extension, and of the same example relabelled as
/// each access extension (so the engine reads its state, version, tag and message too).
pub(super) async fn extension(check: &mut Check<'_>, body: &Value) {
    let Some(wire) = check.decode::<ExtensionWire>(body, "the VM extension") else {
        return;
    };
    let extension = VmExtension::from(wire);
    read_extension(check, &extension, body);
    for os in [OsType::Windows, OsType::Linux] {
        let kind = for_os(Some(os));
        status(check, kind, extension.clone(), body).await;
        let mut relabelled = body.clone();
        relabelled["properties"]["publisher"] = json!(kind.publisher);
        relabelled["properties"]["type"] = json!(kind.extension_type);
        if let Some(wire) = check.decode::<ExtensionWire>(&relabelled, "the VM extension") {
            status(check, kind, wire.into(), &relabelled).await;
        }
    }
}

/// A VM's extensions, as `decode_extension_list` reads them.
pub(super) async fn list(check: &mut Check<'_>, body: &Value) {
    let extensions = match decode_extension_list(&check.response(body)) {
        Ok(extensions) => extensions,
        Err(error) => return check.fail(format!("does not decode as a list: {error}")),
    };
    let listed = items(body, "/value");
    check.eq("the number of extensions", extensions.len(), listed.len());
    for (index, (extension, item)) in extensions.iter().zip(listed).enumerate() {
        read_extension(&mut check.part(&format!("/value/{index}")), extension, item);
    }
}

/// What the model reads of an extension.
fn read_extension(check: &mut Check<'_>, extension: &VmExtension, body: &Value) {
    let property = |name: &str| text(body, &format!("/properties/{name}"));
    check.eq(
        "id",
        extension.id.clone(),
        text(body, "/id").unwrap_or_default(),
    );
    check.eq(
        "name",
        extension.name.clone(),
        text(body, "/name").unwrap_or_default(),
    );
    check.eq(
        "location",
        extension.location.clone(),
        text(body, "/location"),
    );
    check.eq(
        "publisher",
        extension.publisher.clone(),
        property("publisher").unwrap_or_default(),
    );
    check.eq(
        "type",
        extension.extension_type.clone(),
        property("type").unwrap_or_default(),
    );
    check.eq(
        "typeHandlerVersion",
        extension.type_handler_version.clone(),
        property("typeHandlerVersion").unwrap_or_default(),
    );
    check.eq(
        "autoUpgradeMinorVersion",
        extension.auto_upgrade_minor_version,
        flag(body, "/properties/autoUpgradeMinorVersion").unwrap_or(false),
    );
    check.eq(
        "forceUpdateTag",
        extension.force_update_tag.clone(),
        property("forceUpdateTag"),
    );
    check.eq(
        "settings",
        &extension.settings,
        body.pointer("/properties/settings").unwrap_or(&Value::Null),
    );
    check.eq(
        "provisioningState (absent: Succeeded)",
        extension.provisioning_state.clone(),
        property("provisioningState").unwrap_or_else(|| "Succeeded".to_owned()),
    );
    let view = body
        .pointer("/properties/instanceView")
        .unwrap_or(&Value::Null);
    statuses(
        check,
        "instance view status",
        &extension.statuses,
        view,
        "statuses",
    );
    statuses(
        check,
        "instance view substatus",
        &extension.substatuses,
        view,
        "substatuses",
    );
}

/// The statuses the provider read against the example's array `view[key]`, field by field.
fn statuses(
    check: &mut Check<'_>,
    what: &str,
    read: &[InstanceViewStatus],
    view: &Value,
    key: &str,
) {
    let listed = items(view, &format!("/{key}"));
    check.eq(&format!("the number of {what}es"), read.len(), listed.len());
    for (index, (status, example)) in read.iter().zip(listed).enumerate() {
        let field = |name: &str| text(example, &format!("/{name}"));
        let at = |name: &str| format!("{what} {index} {name}");
        check.eq(&at("code"), status.code.clone(), field("code"));
        check.eq(&at("level"), status.level.clone(), field("level"));
        check.eq(
            &at("displayStatus"),
            status.display_status.clone(),
            field("displayStatus"),
        );
        check.eq(&at("message"), status.message.clone(), field("message"));
        check.eq(&at("time"), status.time.clone(), field("time"));
    }
}

/// The engine's status read (`Engine::status_of`) of `extension` as `kind`: another kind's
/// extension is named as such; one of `kind` reads as the example says.
async fn status(check: &mut Check<'_>, kind: &'static Kind, extension: VmExtension, body: &Value) {
    let (engine, _) = fake::engine(ExampleArm::with_extension(extension));
    let id = VirtualMachineId::new("sub", "rg", "vm").extension("access");
    let lookup = match engine.status_of(kind, &id, &fake::ctx()).await {
        Ok(lookup) => lookup,
        Err(error) => return check.fail(format!("the engine cannot read it: {error}")),
    };
    let property = |name: &str| text(body, &format!("/properties/{name}")).unwrap_or_default();
    let (publisher, extension_type) = (property("publisher"), property("type"));
    let expected = if publisher.eq_ignore_ascii_case(kind.publisher)
        && extension_type.eq_ignore_ascii_case(kind.extension_type)
    {
        Lookup::Found(expected_status(body, kind))
    } else {
        Lookup::OtherKind {
            publisher,
            extension_type,
        }
    };
    check.eq(
        &format!("the engine's status read as {}", kind.extension_type),
        lookup,
        expected,
    );
}

/// What the engine's status read of an extension of `kind` holds, from the example.
fn expected_status(body: &Value, kind: &Kind) -> Status {
    let property = |name: &str| text(body, &format!("/properties/{name}"));
    // Windows' public settings name the user (any casing of `username`); Linux's never do.
    let username = match kind.os {
        OsType::Linux => None,
        OsType::Windows => body
            .pointer("/properties/settings")
            .and_then(Value::as_object)
            .and_then(|settings| {
                settings
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case("username"))
            })
            .and_then(|(_, name)| name.as_str())
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
    };
    Status {
        username,
        force_update_tag: property("forceUpdateTag"),
        provisioning_state: property("provisioningState").unwrap_or_else(|| "Succeeded".into()),
        type_handler_version: property("typeHandlerVersion").unwrap_or_default(),
        auto_upgrade_minor_version: flag(body, "/properties/autoUpgradeMinorVersion")
            .unwrap_or(false),
        message: items(body, "/properties/instanceView/statuses")
            .iter()
            .find_map(|status| text(status, "/message")),
    }
}
