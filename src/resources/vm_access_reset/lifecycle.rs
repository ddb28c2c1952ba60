//! Create, update, read, delete and import of a `vm_access_reset`, against
//! Azure through the provider's shared client. Every wait is bounded by the
//! resource's `timeouts` and ends promptly on StopProvider.

use secrecy::SecretString;
use time::format_description::well_known::Rfc3339;

use crate::azure::{
    AzureError, ExtensionId, ExtensionPut, OpContext, OsType, VirtualMachine, VirtualMachineId,
};
use crate::provider::ProviderState;
use crate::resources::azure_diagnostics::diagnostic;
use crate::tfprotocol::timeouts::{self, Operation};
use crate::tfprotocol::{ApplyRequest, Diagnostic, Diagnostics, Object, StateResponse, Value};

use super::private::Private;
use super::{DEFAULT_EXTENSION_NAME, DEFAULT_HANDLER_VERSION, DEFAULT_TIMEOUTS, validate_config};

fn default_timeout(op: Operation) -> std::time::Duration {
    DEFAULT_TIMEOUTS
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, d)| *d)
        .unwrap_or_default()
}

/// The operation's deadline from the resource's `timeouts`, cancelled by
/// StopProvider.
fn context(
    state: &ProviderState,
    resource: &Object,
    op: Operation,
) -> Result<OpContext, Diagnostic> {
    let timeout = timeouts::get(resource, op, default_timeout(op))?;
    Ok(OpContext::new(timeout, state.stop.child_token()))
}

pub fn parse_vm_id(text: &str) -> Result<VirtualMachineId, Diagnostic> {
    VirtualMachineId::parse(text).map_err(|e| {
        Diagnostic::error("Invalid virtual machine ID", e.to_string()).at_attr("virtual_machine_id")
    })
}

fn state_id(resource: &Object) -> Result<ExtensionId, Diagnostic> {
    ExtensionId::parse(resource.get_string("id").unwrap_or_default())
        .map_err(|e| Diagnostic::error("Invalid resource ID in state", e.to_string()).at_attr("id"))
}

fn client(state: &ProviderState) -> Result<crate::azure::ArmClient, Diagnostic> {
    state
        .client()
        .map_err(|e| diagnostic(&e, "setting up the Azure client"))
}

/// The password from `password` or the write-only `password_wo`: only the
/// configuration carries it, never planned or prior state.
fn secret(config: &Object) -> Option<SecretString> {
    config
        .get_string("password")
        .or_else(|| config.get_string("password_wo"))
        .map(SecretString::from)
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Checks the VM can run VMAccess before sending anything, so the user gets
/// the reason and the fix instead of Azure's 409 after a wait.
fn preflight(vm: &VirtualMachine) -> Result<(), Diagnostic> {
    if vm.os_type() == Some(OsType::Linux) {
        return Err(Diagnostic::error(
            "Not a Windows VM",
            format!(
                "VM {:?} runs Linux, and VMAccessAgent is the Windows extension. On Linux use the VMAccessForLinux extension \
                 (publisher Microsoft.OSTCExtensions), for example through `az vm user update`.",
                vm.name
            ),
        )
        .at_attr("virtual_machine_id"));
    }
    if !vm.is_running() {
        let power = vm
            .power_state()
            .unwrap_or_else(|| "not running".to_string());
        return Err(Diagnostic::error(
            "The VM is not running",
            format!(
                "VM {:?} is {power}. Extensions run inside the guest, so the VM must be running: start it (`az vm start`, \
                 `Start-AzVM` or the portal) and apply again.",
                vm.name
            ),
        )
        .at_attr("virtual_machine_id"));
    }
    let agent = vm.agent();
    if !agent.ready {
        return Err(Diagnostic::error(
            "The VM agent is not ready",
            format!(
                "The Azure VM agent on {:?} reports {:?}: {}. VMAccess needs a running agent that can reach Azure: check that \
                 the Windows Azure Guest Agent service runs and has outbound access to Azure, or let a new VM finish booting, \
                 then apply again.",
                vm.name,
                agent.display_status.unwrap_or_else(|| "no status".into()),
                agent.message.unwrap_or_else(|| "no message".into()),
            ),
        )
        .at_attr("virtual_machine_id"));
    }
    Ok(())
}

/// The extension name on create: the configured one, else the name of a
/// VMAccessAgent already on the VM (a VM may have only one), else ours.
fn extension_name(
    config: &Object,
    vm: &VirtualMachine,
    diags: &mut Diagnostics,
) -> Result<String, Diagnostic> {
    match (config.get_string("extension_name"), vm.vmaccess_extension_name()) {
        (Some(wanted), Some(existing)) if !wanted.eq_ignore_ascii_case(&existing) => Err(Diagnostic::error(
            "The VM already has a VMAccess extension under another name",
            format!(
                "VM {:?} has a VMAccessAgent extension named {existing:?}, and a VM can have only one. Remove \
                 `extension_name` (or set it to {existing:?}) to reuse it, or delete that extension first.",
                vm.name
            ),
        )
        .at_attr("extension_name")),
        (Some(wanted), _) => Ok(wanted.to_string()),
        (None, Some(existing)) => {
            if !existing.eq_ignore_ascii_case(DEFAULT_EXTENSION_NAME) {
                diags.push(Diagnostic::warning(
                    "Reusing the VM's existing VMAccess extension",
                    format!(
                        "VM {:?} already has a VMAccessAgent extension named {existing:?} (the portal and the Azure CLI create \
                         it under that name). A VM can have only one, so this resource manages that one.",
                        vm.name
                    ),
                ));
            }
            Ok(existing)
        }
        (None, None) => Ok(DEFAULT_EXTENSION_NAME.to_string()),
    }
}

/// Errors after which Azure may have started the run, so the resource must
/// stay tracked and the next apply rerun.
fn outcome_unknown(err: &AzureError) -> bool {
    err.may_have_reached_azure()
}

/// Create and update: PUT the extension with a fresh tag and wait for it.
pub async fn run(state: &ProviderState, request: ApplyRequest) -> StateResponse {
    let creating = request.prior.is_none();
    // Values unknown at plan time are checked now.
    let mut diags = validate_config(&request.config);
    if diags.has_errors() {
        return StateResponse::error(diags);
    }
    // The plan leaves the run outputs known only when nothing asks for a
    // rerun (a change of `timeouts` or `remove_extension_on_destroy`): record
    // the new settings as planned, without touching Azure.
    if !creating && !request.planned.is_unknown("force_update_tag") {
        return StateResponse {
            state: Some(request.planned),
            private: request.planned_private,
            diagnostics: diags,
        };
    }
    let setup = (|| {
        let ctx = context(
            state,
            &request.planned,
            if creating {
                Operation::Create
            } else {
                Operation::Update
            },
        )?;
        let vm_id = parse_vm_id(
            request
                .planned
                .get_string("virtual_machine_id")
                .unwrap_or_default(),
        )?;
        Ok::<_, Diagnostic>((ctx, vm_id, client(state)?))
    })();
    let (ctx, vm_id, client) = match setup {
        Ok(v) => v,
        Err(d) => {
            diags.push(d);
            return StateResponse::error(diags);
        }
    };
    let _vm_lock = state.lock_vm(&vm_id).await;
    let doing = format!("running VMAccess on VM {:?}", vm_id.name());

    let vm = match client.get_virtual_machine(&vm_id, &ctx).await {
        Ok(vm) => vm,
        Err(AzureError::NotFound { .. }) => {
            diags.push(
                Diagnostic::error(
                    "Virtual machine not found",
                    format!(
                        "No VM exists at {vm_id}. Check `virtual_machine_id`, and that the provider's subscription is the VM's."
                    ),
                )
                .at_attr("virtual_machine_id"),
            );
            return StateResponse::error(diags);
        }
        Err(e) => {
            diags.push(diagnostic(&e, &doing).at_attr("virtual_machine_id"));
            return StateResponse::error(diags);
        }
    };
    if let Err(d) = preflight(&vm) {
        diags.push(d);
        return StateResponse::error(diags);
    }
    let name = match &request.prior {
        Some(prior) => prior
            .get_string("extension_name")
            .unwrap_or(DEFAULT_EXTENSION_NAME)
            .to_string(),
        None => match extension_name(&request.config, &vm, &mut diags) {
            Ok(n) => n,
            Err(d) => {
                diags.push(d);
                return StateResponse::error(diags);
            }
        },
    };
    let ext_id = vm_id.extension(name.clone());
    let tag = uuid::Uuid::new_v4().to_string();
    let body = ExtensionPut {
        location: vm.location.clone(),
        type_handler_version: request
            .planned
            .get_string("type_handler_version")
            .unwrap_or(DEFAULT_HANDLER_VERSION)
            .to_string(),
        auto_upgrade_minor_version: request
            .planned
            .get_bool("auto_upgrade_minor_version")
            .unwrap_or(true),
        force_update_tag: tag.clone(),
        username: request.config.get_string("username").map(str::to_string),
        password: secret(&request.config),
    };

    // What Terraform records if anything below fails: the extension may
    // exist and be running, so the resource stays tracked (tainted after a
    // failed create) and the next apply reruns instead of tripping over it.
    let mut new_state = request.planned.clone();
    new_state.set("id", Value::string(ext_id.to_string()));
    new_state.set("extension_name", Value::string(name));
    new_state.set("force_update_tag", Value::string(tag.clone()));
    new_state.set("last_run_at", Value::string(now_rfc3339()));
    new_state.set(
        "provisioning_state",
        Value::string(if creating { "Creating" } else { "Updating" }),
    );
    let private = Private::ours(tag).encode();

    let pending = match client.begin_put_extension(&ext_id, &body, &ctx).await {
        Ok(p) => p,
        Err(e) => {
            diags.push(diagnostic(&e, &doing));
            let state = (outcome_unknown(&e) || !creating).then_some(new_state);
            return StateResponse {
                state,
                private,
                diagnostics: diags,
            };
        }
    };
    tracing::info!(extension = %ext_id, "VMAccess extension accepted; waiting for it to finish");
    match client.wait(pending, &ctx).await {
        Ok(()) => new_state.set("provisioning_state", Value::string("Succeeded")),
        Err(e) => {
            if matches!(e, AzureError::ExtensionFailed { .. }) {
                new_state.set("provisioning_state", Value::string("Failed"));
            }
            diags.push(diagnostic(&e, &doing));
        }
    }
    StateResponse {
        state: Some(new_state),
        private,
        diagnostics: diags,
    }
}

/// The extension's user name from its public settings, whatever the key's
/// casing (PowerShell writes `UserName`, the docs `username`).
fn settings_username(settings: &serde_json::Value) -> Option<String> {
    let (_, value) = settings
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("username"))?;
    value.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Refresh: what Azure says now, for the plan to compare.
pub async fn read(state: &ProviderState, mut current: Object, private: Vec<u8>) -> StateResponse {
    let fetch = async {
        let ctx = context(state, &current, Operation::Read)?;
        let id = state_id(&current)?;
        let client = client(state)?;
        client
            .get_extension(&id, &ctx)
            .await
            .map_err(|e| diagnostic(&e, &format!("reading extension {id}")))
    };
    let extension = match fetch.await {
        Ok(ext) => ext,
        Err(d) => {
            return StateResponse {
                state: Some(current),
                private,
                diagnostics: d.into(),
            };
        }
    };
    // Gone, its VM gone, or replaced by another kind of extension: Terraform
    // plans a create, which is the rerun.
    let Some(ext) = extension.filter(|e| e.is_vmaccess()) else {
        return StateResponse {
            state: None,
            private,
            diagnostics: Diagnostics::new(),
        };
    };
    let mut private = Private::decode(&private);
    let username = settings_username(&ext.settings);
    private.username_drifted = username.as_deref() != current.get_string("username");
    current.set("username", Value::opt_string(username));
    current.set("force_update_tag", Value::opt_string(ext.force_update_tag));
    current.set("provisioning_state", Value::string(ext.provisioning_state));
    StateResponse {
        state: Some(current),
        private: private.encode(),
        diagnostics: Diagnostics::new(),
    }
}

pub async fn delete(state: &ProviderState, prior: Object) -> StateResponse {
    if prior.get_bool("remove_extension_on_destroy") == Some(false) {
        return StateResponse::default();
    }
    let keep = |d: Diagnostic| StateResponse {
        state: Some(prior.clone()),
        private: Vec::new(),
        diagnostics: d.into(),
    };
    let setup = (|| {
        Ok::<_, Diagnostic>((
            context(state, &prior, Operation::Delete)?,
            state_id(&prior)?,
            client(state)?,
        ))
    })();
    let (ctx, id, client) = match setup {
        Ok(v) => v,
        Err(d) => return keep(d),
    };
    let _vm_lock = state.lock_vm(id.vm()).await;
    let result = match client.begin_delete_extension(&id, &ctx).await {
        Ok(Some(pending)) => client.wait(pending, &ctx).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) | Err(AzureError::NotFound { .. }) => StateResponse::default(),
        // A destroy must not wedge on a stopped VM.
        Err(AzureError::VmNotRunning { .. }) => StateResponse {
            diagnostics: Diagnostic::warning(
                "The VMAccess extension stays on the stopped VM",
                format!(
                    "VM {:?} is not running, so Azure cannot remove the extension {:?}. Terraform forgets it; the account and \
                     its password are unaffected. Start the VM and remove the extension by hand if you want it gone.",
                    id.vm().name(),
                    id.name()
                ),
            )
            .into(),
            ..StateResponse::default()
        },
        Err(e) => keep(diagnostic(&e, &format!("removing extension {id}"))),
    }
}

/// Import by the extension's ARM ID. Secrets cannot be read back, so the
/// first plan after an import reruns unless the configuration ignores them.
pub async fn import(state: &ProviderState, id_text: &str) -> StateResponse {
    let fetch = async {
        let id = ExtensionId::parse(id_text).map_err(|e| {
            Diagnostic::error(
                "Invalid import ID",
                format!("{e} Import a vm_access_reset by the ARM ID of the VMAccessAgent extension on the VM."),
            )
        })?;
        let ctx = OpContext::new(default_timeout(Operation::Read), state.stop.child_token());
        let ext = client(state)?
            .get_extension(&id, &ctx)
            .await
            .map_err(|e| diagnostic(&e, &format!("reading extension {id}")))?;
        Ok::<_, Diagnostic>((id, ext))
    };
    let (id, ext) = match fetch.await {
        Ok(v) => v,
        Err(d) => return StateResponse::error(d),
    };
    let Some(ext) = ext else {
        return StateResponse::error(Diagnostic::error(
            "Cannot import a non-existent extension",
            format!(
                "There is no extension at {id}. Check the ID; `az vm extension list` shows a VM's extensions."
            ),
        ));
    };
    if !ext.is_vmaccess() {
        return StateResponse::error(Diagnostic::error(
            "Not a VMAccess extension",
            format!(
                "{id} is a {}/{} extension; vm_access_reset manages only Microsoft.Compute/VMAccessAgent extensions.",
                ext.publisher, ext.extension_type
            ),
        ));
    }
    let imported = Object::new()
        .with("id", Value::string(id.to_string()))
        .with("virtual_machine_id", Value::string(id.vm().to_string()))
        .with("extension_name", Value::string(id.name()))
        .with(
            "username",
            Value::opt_string(settings_username(&ext.settings)),
        )
        .with(
            "type_handler_version",
            Value::string(ext.type_handler_version),
        )
        .with(
            "auto_upgrade_minor_version",
            Value::Bool(ext.auto_upgrade_minor_version),
        )
        .with("remove_extension_on_destroy", Value::Bool(true))
        .with(
            "force_update_tag",
            Value::opt_string(ext.force_update_tag.clone()),
        )
        .with("provisioning_state", Value::string(ext.provisioning_state));
    // The current run counts as ours: importing adopts the extension.
    let private = Private {
        last_tag: ext.force_update_tag,
        username_drifted: false,
    }
    .encode();
    StateResponse {
        state: Some(imported),
        private,
        diagnostics: Diagnostics::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_is_read_from_either_key_casing() {
        assert_eq!(
            settings_username(&serde_json::json!({"UserName": "ops"})),
            Some("ops".into())
        );
        assert_eq!(
            settings_username(&serde_json::json!({"username": "ops"})),
            Some("ops".into())
        );
        assert_eq!(settings_username(&serde_json::json!({})), None);
        assert_eq!(settings_username(&serde_json::Value::Null), None);
    }

    #[test]
    fn secret_prefers_password_then_write_only() {
        use secrecy::ExposeSecret;
        let config = Object::new().with("password_wo", Value::string("Wo-Secret-123"));
        assert_eq!(secret(&config).unwrap().expose_secret(), "Wo-Secret-123");
        assert!(secret(&Object::new()).is_none());
    }
}
