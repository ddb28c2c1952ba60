//! The identity of a `vm_access_reset` (Terraform 1.12+): where its
//! VMAccess extension (Windows or Linux) lives, named as azurerm names a VM's child
//! resources. Derived from the resource's `id` (the extension's ARM ID);
//! never a secret. `import { identity = … }` resolves it to that ID and
//! then imports exactly as an import by ID does.
//!
//! A uniform scale set's instance is named by `virtual_machine_scale_set_name` (null for a VM,
//! a flexible scale set's instances included) with the instance ID in `virtual_machine_name`.
//! That attribute came with version 2; a version 1 identity reads with it null.

use std::sync::Arc;
use std::time::Duration;

use crate::azure::{ExtensionId, ScaleSetId, VirtualMachineId};
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::attributes::ID;
use crate::surface::diagnostics::{diagnostic, run_error};
use crate::tfprotocol::{
    Diagnostic, Diagnostics, IdentityAttribute, IdentitySchema, ImportRule, Object,
    ResourceIdentity, Value,
};
use crate::vmaccess::{Lookup, RunError, for_os};

pub(crate) const VERSION: i64 = 2;
pub(crate) const SUBSCRIPTION_ID: &str = "subscription_id";
pub(crate) const RESOURCE_GROUP_NAME: &str = "resource_group_name";
pub(crate) const VIRTUAL_MACHINE_SCALE_SET_NAME: &str = "virtual_machine_scale_set_name";
pub(crate) const VIRTUAL_MACHINE_NAME: &str = "virtual_machine_name";
pub(crate) const EXTENSION_NAME: &str = "extension_name";

/// How long resolving an import identity may take (two GETs).
const IMPORT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The resource identity: the VM and the extension name.
pub fn schema() -> IdentitySchema {
    IdentitySchema {
        version: VERSION,
        attributes: vec![
            IdentityAttribute::string(
                SUBSCRIPTION_ID,
                ImportRule::Optional,
                "The ID of the VM's subscription. Defaults to the provider's `subscription_id`.",
            ),
            IdentityAttribute::string(
                RESOURCE_GROUP_NAME,
                ImportRule::Required,
                "The name of the VM's resource group.",
            ),
            IdentityAttribute::string(
                VIRTUAL_MACHINE_SCALE_SET_NAME,
                ImportRule::Optional,
                "The name of the uniform VM scale set whose instance this is; null for a VM (a flexible scale set's \
                 instances are VMs).",
            ),
            IdentityAttribute::string(
                VIRTUAL_MACHINE_NAME,
                ImportRule::Required,
                "The name of the VM; for a uniform scale set's instance, its instance ID (`0`, `1`, …).",
            ),
            IdentityAttribute::string(
                EXTENSION_NAME,
                ImportRule::Optional,
                "The name of the VMAccess extension on the VM. Defaults to the VM's existing VMAccess extension (the portal \
                 and the Azure CLI name it `enablevmaccess`), else `VMAccessAgent` on Windows and `VMAccessForLinux` on \
                 Linux.",
            ),
        ],
    }
}

/// The identity of the extension with ARM ID `id`.
pub fn of_extension(id: &ExtensionId) -> Object {
    of_vm(id.vm()).with(EXTENSION_NAME, Value::string(id.name()))
}

/// The identity of a VM (or uniform instance) that has no VMAccess extension yet: its
/// `extension_name` is null, and importing it adopts the VM (see `import_id`).
pub(crate) fn of_vm(vm: &VirtualMachineId) -> Object {
    let scale_set = vm
        .scale_set()
        .map_or(Value::Null, |s| Value::string(s.name()));
    Object::new()
        .with(SUBSCRIPTION_ID, Value::string(vm.subscription_id()))
        .with(RESOURCE_GROUP_NAME, Value::string(vm.resource_group()))
        .with(VIRTUAL_MACHINE_SCALE_SET_NAME, scale_set)
        .with(VIRTUAL_MACHINE_NAME, Value::string(vm.name()))
        .with(EXTENSION_NAME, Value::Null)
}

pub(crate) struct VmAccessIdentity {
    schema: IdentitySchema,
    runtime: Arc<Runtime>,
}

impl VmAccessIdentity {
    pub(crate) fn new(runtime: Arc<Runtime>) -> VmAccessIdentity {
        VmAccessIdentity {
            schema: schema(),
            runtime,
        }
    }
}

fn invalid(attr: &str, detail: String) -> Diagnostics {
    Diagnostic::error(format!("Invalid identity attribute `{attr}`"), detail).into()
}

/// A name from the import identity: one ARM path segment.
fn segment<'a>(identity: &'a Object, attr: &str) -> Result<Option<&'a str>, Diagnostics> {
    let value = identity.get(attr);
    if value.is_null() {
        return Ok(None);
    }
    let Some(text) = value.as_str() else {
        return Err(invalid(attr, format!("`{attr}` must be a string.")));
    };
    if text.trim().is_empty() || text.contains('/') || text.trim() != text {
        return Err(invalid(
            attr,
            format!(
                "`{attr}` = {text:?} is not a name: give the bare name, without slashes or surrounding spaces."
            ),
        ));
    }
    Ok(Some(text))
}

fn required<'a>(identity: &'a Object, attr: &str) -> Result<&'a str, Diagnostics> {
    segment(identity, attr)?.ok_or_else(|| {
        Diagnostic::error(
            "Missing identity attribute",
            format!("The import identity needs `{attr}`."),
        )
        .into()
    })
}

#[async_trait::async_trait]
impl ResourceIdentity for VmAccessIdentity {
    fn schema(&self) -> &IdentitySchema {
        &self.schema
    }

    fn identity_of_state(&self, state: &Object) -> Option<Object> {
        let id = ExtensionId::parse(state.get_string(ID)?).ok()?;
        Some(of_extension(&id))
    }

    /// Version 1 lacked `virtual_machine_scale_set_name`: every identity it stored is a VM's, so
    /// the attribute is null. Version 1 is the first: anything older is state without identity.
    fn upgrade(&self, version: i64, stored: Option<Object>) -> Result<Option<Object>, Diagnostics> {
        Ok(match version {
            1 => stored.map(|o| {
                self.schema
                    .complete(o)
                    .with(VIRTUAL_MACHINE_SCALE_SET_NAME, Value::Null)
            }),
            _ => None,
        })
    }

    async fn import_id(&self, identity: &Object) -> Result<String, Diagnostics> {
        let resource_group = required(identity, RESOURCE_GROUP_NAME)?;
        let scale_set = segment(identity, VIRTUAL_MACHINE_SCALE_SET_NAME)?;
        let vm_name = required(identity, VIRTUAL_MACHINE_NAME)?;
        let wanted_extension = segment(identity, EXTENSION_NAME)?;
        let subscription = match segment(identity, SUBSCRIPTION_ID)? {
            Some(s) => s.to_string(),
            None => self.runtime.subscription_id().ok_or_else(|| {
                Diagnostic::error(
                    "Missing identity attribute",
                    "The import identity has no `subscription_id` and the provider has none configured: set \
                     `subscription_id` in the identity, or the provider's `subscription_id` (ARM_SUBSCRIPTION_ID).",
                )
            })?,
        };
        let vm_id = match scale_set {
            Some(scale_set) => {
                ScaleSetId::new(subscription, resource_group, scale_set).instance(vm_name)
            }
            None => VirtualMachineId::new(subscription, resource_group, vm_name),
        };
        // How the errors below name the machine.
        let machine = match scale_set {
            Some(scale_set) => format!("instance {vm_name:?} of scale set {scale_set:?}"),
            None => format!("VM {vm_name:?}"),
        };
        let engine = surface::engine(&self.runtime)?;
        let ctx = self.runtime.context(IMPORT_TIMEOUT);
        let vm = match engine.inspect(&vm_id, &ctx).await {
            Ok(vm) => vm,
            Err(RunError::VmNotFound { .. }) => {
                let check = match scale_set {
                    Some(_) => {
                        format!("`{VIRTUAL_MACHINE_SCALE_SET_NAME}`, `{VIRTUAL_MACHINE_NAME}`")
                    }
                    None => format!("`{VIRTUAL_MACHINE_NAME}`"),
                };
                return Err(invalid(
                    VIRTUAL_MACHINE_NAME,
                    format!(
                        "No {machine} exists in resource group {resource_group:?} of subscription {:?}. Check \
                         {check}, `{RESOURCE_GROUP_NAME}` and `{SUBSCRIPTION_ID}`.",
                        vm_id.subscription_id()
                    ),
                ));
            }
            Err(RunError::Azure(e)) => {
                let kind = for_os(None);
                return Err(diagnostic(&e, &format!("reading {machine}"), kind).into());
            }
            // `inspect` makes no other decision; named the same way should that change.
            Err(e) => {
                let kind = for_os(None);
                return Err(run_error(&e, &format!("reading {machine}"), kind).into());
            }
        };
        // The VM's OS says which extension to look for.
        let kind = vm.kind();
        let existing = vm.existing_name(kind).map(str::to_string);
        // Without a name, a VM that has no VMAccess extension yet is adopted as it is: its import
        // ID is the VM's, and the first apply runs the extension. A name must exist.
        if wanted_extension.is_none() && existing.is_none() {
            return Ok(vm_id.to_string());
        }
        let name = wanted_extension
            .map(str::to_string)
            .or(existing)
            .unwrap_or_else(|| kind.default_name.to_string());
        let lister = match scale_set {
            Some(_) => "`az vmss get-instance-view --instance-id`",
            None => "`az vm extension list`",
        };
        let ext_id = vm_id.extension(name.clone());
        let how = if wanted_extension.is_some() {
            "named by `extension_name`"
        } else {
            "the default for `extension_name`"
        };
        let lookup = engine
            .status_of(kind, &ext_id, &ctx)
            .await
            .map_err(|e| diagnostic(&e, &format!("reading extension {ext_id}"), kind))?;
        match lookup {
            Lookup::Missing => Err(invalid(
                EXTENSION_NAME,
                format!(
                    "The {machine} has no extension {name:?} ({how}). Set `{EXTENSION_NAME}` to the name of its \
                     {} extension; {lister} shows its extensions.",
                    kind.extension_type
                ),
            )),
            Lookup::OtherKind {
                publisher,
                extension_type,
            } => Err(invalid(
                EXTENSION_NAME,
                format!(
                    "Extension {name:?} on {machine} ({how}) is a {publisher}/{extension_type} extension; on this \
                     {} VM vm_access_reset manages only {}/{} extensions.",
                    kind.os, kind.publisher, kind.extension_type
                ),
            )),
            Lookup::Found(_) => Ok(ext_id.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    fn capability() -> VmAccessIdentity {
        VmAccessIdentity::new(Arc::new(Runtime::new(CancellationToken::new())))
    }

    #[test]
    fn identity_comes_from_the_extension_id_only() {
        let state = Object::new()
            .with(
                "id",
                Value::string("/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/web/extensions/enablevmaccess"),
            )
            .with("password", Value::string("Secret-Passw0rd!"))
            .with("username", Value::string("opsadmin"));
        let identity = capability().identity_of_state(&state).expect("an identity");
        assert_eq!(
            identity,
            Object::new()
                .with(SUBSCRIPTION_ID, Value::string("s1"))
                .with(RESOURCE_GROUP_NAME, Value::string("RG"))
                .with(VIRTUAL_MACHINE_SCALE_SET_NAME, Value::Null)
                .with(VIRTUAL_MACHINE_NAME, Value::string("web"))
                .with(EXTENSION_NAME, Value::string("enablevmaccess"))
        );
        // Not known yet (a planned create) or not an extension ID: none.
        assert_eq!(
            capability().identity_of_state(&Object::new().with("id", Value::Unknown)),
            None
        );
        assert_eq!(
            capability().identity_of_state(&Object::new().with("id", Value::string("/x"))),
            None
        );
    }

    #[test]
    fn a_uniform_instance_extension_names_its_scale_set_and_round_trips() {
        let text = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web/virtualMachines/3/extensions/VMAccessAgent";
        let state = Object::new().with("id", Value::string(text));
        let identity = capability().identity_of_state(&state).expect("an identity");
        assert_eq!(
            identity,
            Object::new()
                .with(SUBSCRIPTION_ID, Value::string("s1"))
                .with(RESOURCE_GROUP_NAME, Value::string("rg"))
                .with(VIRTUAL_MACHINE_SCALE_SET_NAME, Value::string("vmss-web"))
                .with(VIRTUAL_MACHINE_NAME, Value::string("3"))
                .with(EXTENSION_NAME, Value::string("VMAccessAgent"))
        );
        // Back from the identity's parts to the same ID (what `import_id` builds).
        let id = ScaleSetId::new("s1", "rg", "vmss-web")
            .instance("3")
            .extension("VMAccessAgent");
        assert_eq!(id.to_string(), text);
        assert_eq!(of_extension(&id), identity);
        let vm = id.vm();
        assert_eq!(
            of_vm(vm).get_string(VIRTUAL_MACHINE_SCALE_SET_NAME),
            Some("vmss-web")
        );
    }

    #[test]
    fn a_version_1_identity_upgrades_to_a_vm_and_older_state_has_none() {
        let v1 = Object::new()
            .with(SUBSCRIPTION_ID, Value::string("s1"))
            .with(RESOURCE_GROUP_NAME, Value::string("rg"))
            .with(VIRTUAL_MACHINE_NAME, Value::string("web"))
            .with(EXTENSION_NAME, Value::string("enablevmaccess"));
        let upgraded = capability()
            .upgrade(1, Some(v1.clone()))
            .expect("upgrades")
            .expect("an identity");
        assert_eq!(
            upgraded,
            v1.with(VIRTUAL_MACHINE_SCALE_SET_NAME, Value::Null)
        );
        assert_eq!(capability().upgrade(1, None).expect("ok"), None);
        assert_eq!(capability().upgrade(0, None).expect("ok"), None);
    }

    #[test]
    fn schema_matches_the_objects_it_describes() {
        let schema = schema();
        let names: Vec<&str> = schema.attributes.iter().map(|a| a.name.as_str()).collect();
        let id = ExtensionId::parse(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v/extensions/e",
        )
        .expect("valid ID");
        let of: Vec<String> = of_extension(&id).attrs.into_keys().collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(of, sorted);
        assert!(
            schema
                .attributes
                .iter()
                .all(|a| a.ty == crate::tfprotocol::Type::String)
        );
    }

    #[tokio::test]
    async fn malformed_or_missing_attributes_are_named_before_any_request() {
        let cap = capability();
        let base = schema().complete(
            Object::new()
                .with(RESOURCE_GROUP_NAME, Value::string("rg"))
                .with(VIRTUAL_MACHINE_NAME, Value::string("web")),
        );
        let cases = [
            (
                base.clone().with(VIRTUAL_MACHINE_NAME, Value::Null),
                VIRTUAL_MACHINE_NAME,
            ),
            (
                base.clone()
                    .with(RESOURCE_GROUP_NAME, Value::string("rg/x")),
                RESOURCE_GROUP_NAME,
            ),
            (
                base.clone().with(EXTENSION_NAME, Value::string(" ")),
                EXTENSION_NAME,
            ),
            (
                base.clone().with(SUBSCRIPTION_ID, Value::string("a/b")),
                SUBSCRIPTION_ID,
            ),
            (
                base.clone().with(
                    VIRTUAL_MACHINE_SCALE_SET_NAME,
                    Value::string("ss/virtualMachines"),
                ),
                VIRTUAL_MACHINE_SCALE_SET_NAME,
            ),
            // No subscription in the identity and an unconfigured provider.
            (base.clone(), SUBSCRIPTION_ID),
        ];
        for (identity, attr) in cases {
            let err = cap.import_id(&identity).await.expect_err(attr);
            let text = format!("{:?}", err.0);
            assert!(text.contains(&format!("`{attr}`")), "{attr}: {text}");
        }
    }
}
