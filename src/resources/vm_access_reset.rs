//! `vm_access_reset`: runs VMAccess on an Azure VM — `VMAccessAgent` on Windows (reset a local
//! administrator's password, or the Remote Desktop configuration when no user name is given),
//! `VMAccessForLinux` on Linux (password, SSH keys, sshd configuration). The VM's OS, read at
//! plan time, picks the extension, as `az vm user update` does.
//!
//! Reads top-down like Terraform's `terraform_data`: schema, validate, plan,
//! apply, read, delete, import — each a short function over the typed
//! [`Model`] and the engine (`crate::vmaccess`), which does the Azure work.

use std::sync::Arc;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;

use crate::azure::{ArmClient, ExtensionId, OpContext, OsType, VirtualMachineId};
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::access::{AccessSettings, linux_warnings};
use crate::surface::attributes::{
    AUTO_UPGRADE_MINOR_VERSION, EXPIRATION, EXTENSION_NAME, FORCE_UPDATE_TAG, ID, LAST_RUN_AT,
    OS_TYPE, PASSWORD, PASSWORD_WO, PASSWORD_WO_VERSION, PROVISIONING_STATE,
    REMOVE_EXTENSION_ON_DESTROY, REMOVE_PRIOR_KEYS, RESET_SSH, SSH_PUBLIC_KEYS, TIMEOUTS, TRIGGERS,
    TYPE_HANDLER_VERSION, USERNAME, VIRTUAL_MACHINE_ID,
};
use crate::surface::diagnostics::{diagnostic, reusing_existing, run_error};
use crate::surface::validation::{self, PasswordAttributes};
use crate::tfprotocol::timeouts::{self, Operation};
use crate::tfprotocol::{
    ApplyRequest, Attribute, Block, DeleteRequest, Diagnostic, Diagnostics, ImportRequest, Object,
    PlanRequest, PlanResponse, ReadRequest, Resource, ResourceIdentity, Schema, StateResponse,
    Type, ValidateRequest, Value,
};
use crate::vmaccess::{
    Engine, Kind, Lookup, NameChoice, Outcome, Progress, Removal, RunError, RunRequest, Status,
    for_os,
};

pub mod identity;
mod model;
mod plan;
mod private;

use model::{Model, Timeouts};
use private::Private;

/// The resource type (also the name of its action and list resource).
pub const TYPE_NAME: &str = "vm_access_reset";
/// Each operation's timeout when `timeouts` does not set it.
pub const DEFAULT_TIMEOUTS: [(Operation, Duration); 4] = Timeouts::DEFAULT.table();

pub(crate) struct VmAccessReset {
    identity: identity::VmAccessIdentity,
    runtime: Arc<Runtime>,
}

impl VmAccessReset {
    pub(crate) fn new(runtime: Arc<Runtime>) -> VmAccessReset {
        VmAccessReset {
            identity: identity::VmAccessIdentity::new(runtime.clone()),
            runtime,
        }
    }
}

/// The resource's schema.
pub fn schema() -> Schema {
    let block = Block::new(
        "Resets access to an Azure VM by running its VMAccess extension, as the portal's *Reset password* and \
         `az vm user update` do. On Windows (`VMAccessAgent`) it resets a local administrator's password, or the Remote \
         Desktop configuration; on Linux (`VMAccessForLinux`) it sets an account's password or SSH keys, or restores the \
         default sshd configuration. The VM's OS, read at plan time, picks the extension. Any change of the inputs, a bump \
         of `password_wo_version`, a change of `triggers`, or drift found on refresh (the extension failed, was rerun by \
         someone else, or was removed) plans an in-place update that reruns the extension. Use one `vm_access_reset` per \
         VM: a VM has a single VMAccess extension, so two resources would see each other's runs as drift.",
    )
    .attribute(
        Attribute::string(ID)
            .computed()
            .use_state_for_unknown()
            .description("The ARM ID of the VMAccess extension on the VM."),
    )
    .attribute(
        Attribute::string(VIRTUAL_MACHINE_ID).required().requires_replace().description(
            "The ARM ID of the VM, `/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}`. \
             Segment names are matched case-insensitively. Changing it replaces the resource.",
        ),
    )
    .attribute(Attribute::string(OS_TYPE).computed().use_state_for_unknown().description(
        "The VM's OS as Azure reports it, `Windows` or `Linux`, read at plan time; it picks the extension (`VMAccessAgent` or \
         `VMAccessForLinux`). Unknown in a plan whose VM does not exist yet.",
    ))
    .attribute(Attribute::string(USERNAME).optional().description(
        "The account to reset. On Windows, a local administrator: an account that does not exist is created as an \
         administrator, a disabled one is enabled; leave it out to reset the Remote Desktop configuration only (enable Remote \
         Desktop and its firewall rule for port 3389). On Linux, an account that does not exist is created and made a sudoer; \
         it needs a new password or `ssh_public_keys`. Azure never shows a Linux run's user name, so refresh keeps the \
         configured one.",
    ))
    .attribute(Attribute::string(PASSWORD).optional().sensitive().description(
        "The new password, stored (marked sensitive) in state. For Terraform older than 1.11 only: prefer `password_wo`, which \
         never reaches plan or state. Azure's rules apply: on Windows 8 to 123 characters, on Linux 6 to 72, with three of \
         lower case, upper case, digit and special character. On Linux a password also turns on SSH password logins \
         (`PasswordAuthentication yes`) for the whole VM.",
    ))
    .attribute(Attribute::string(PASSWORD_WO).optional().write_only().description(
        "The new password, write-only: sent to Azure, never stored in plan or state (Terraform 1.11 or later). Terraform cannot \
         see a change of a write-only value, so changing it alone does nothing: bump `password_wo_version` to rotate.",
    ))
    .attribute(Attribute::number(PASSWORD_WO_VERSION).optional().description(
        "Required with `password_wo`. Any change of this number reruns the reset with the current `password_wo`; bump it \
         whenever the password changes.",
    ))
    .attribute(Attribute::new(SSH_PUBLIC_KEYS, Type::set(Type::String)).optional().description(
        "Linux only. OpenSSH public keys (`ssh-ed25519`, or `ssh-rsa` of at least 2048 bits), one per element, added to \
         `username`'s `~/.ssh/authorized_keys`. Keys already there stay unless `remove_prior_keys` is `true`.",
    ))
    .attribute(Attribute::bool(REMOVE_PRIOR_KEYS).optional().description(
        "Linux only. `true` replaces `username`'s authorized keys with `ssh_public_keys` instead of adding to them: the way \
         to revoke a lost or leaked key. Needs `ssh_public_keys`.",
    ))
    .attribute(Attribute::bool(RESET_SSH).optional().description(
        "Linux only. `true` replaces the whole `/etc/ssh/sshd_config` with the distribution's default, opens port 22 and \
         restarts sshd: the repair for a broken SSH configuration. Hardening in the file is lost. Works with or without \
         `username`; a change of `triggers` runs it again.",
    ))
    .attribute(Attribute::string(EXPIRATION).optional().description(
        "Linux only. The date (`yyyy-mm-dd`, in the future) on which `username`'s account expires. VMAccessForLinux applies \
         it only when it creates the account; an existing account keeps its own expiry.",
    ))
    .attribute(Attribute::new(TRIGGERS, Type::map(Type::String)).optional().description(
        "Arbitrary values; any change reruns the extension in place. Useful to rerun a Remote Desktop reset on demand.",
    ))
    .attribute(
        Attribute::string(EXTENSION_NAME).optional().computed().requires_replace().use_state_for_unknown().description(
            "The name of the extension resource on the VM. Defaults to the name of a VMAccess extension already on the VM (the \
             portal and the Azure CLI use `enablevmaccess`), else `VMAccessAgent` on Windows and `VMAccessForLinux` on Linux. A \
             VM can have only one VMAccess extension, so a name different from an existing one is an error. Changing it \
             replaces the resource.",
        ),
    )
    .attribute(Attribute::string(TYPE_HANDLER_VERSION).optional().computed().use_state_for_unknown().description(
        "The handler version: on Windows `2.0` or later (VMAccessAgent 1.x is deprecated), default `2.4`; on Linux `1.x`, \
         default `1.5`. A change reruns the extension.",
    ))
    .attribute(Attribute::bool(AUTO_UPGRADE_MINOR_VERSION).default(Value::Bool(true)).description(
        "Whether Azure may use a newer minor handler version when the extension runs. Defaults to `true`. A change reruns the \
         extension.",
    ))
    .attribute(Attribute::bool(REMOVE_EXTENSION_ON_DESTROY).default(Value::Bool(true)).description(
        "Whether destroying the resource removes the extension from the VM (the account, its password and keys stay as they are). \
         Defaults to `true`. When the VM is stopped the extension cannot be removed; destroy then succeeds with a warning.",
    ))
    .attribute(Attribute::string(FORCE_UPDATE_TAG).computed().description(
        "The `forceUpdateTag` this provider sent on its last run: a fresh UUID every run, which makes Azure rerun the extension. \
         A different tag found on refresh means someone else reran the extension, and plans a rerun.",
    ))
    .attribute(
        Attribute::string(PROVISIONING_STATE)
            .computed()
            .description("The extension's provisioning state in Azure as last read, for example `Succeeded` or `Failed`."),
    )
    .attribute(Attribute::string(LAST_RUN_AT).computed().description("When this provider last ran the extension (RFC 3339)."))
    .block(TIMEOUTS, timeouts::block(&DEFAULT_TIMEOUTS));
    Schema { version: 0, block }
}

/// Where the resource takes a new password from.
const PASSWORDS: PasswordAttributes = PasswordAttributes {
    names: &[PASSWORD, PASSWORD_WO],
    missing_at: USERNAME,
    missing_advice: "A `username` needs a new password: set `password_wo` (with `password_wo_version`), or `password`.",
};

/// The password attribute this configuration sets, if any (for warnings about it).
fn password_attribute(config: &Object) -> Option<&'static str> {
    [PASSWORD_WO, PASSWORD]
        .into_iter()
        .find(|a| !config.is_null(a))
}

/// Plan-time validation; values still unknown are checked at apply.
pub(crate) fn validate_config(config: &Object) -> Diagnostics {
    let mut diags = validation::account(config, &PASSWORDS);
    diags.extend(validation::write_only_password(config));
    diags.extend(validation::target(config));
    if let Err(d) = Timeouts::from_object(config) {
        diags.extend(d);
    }
    diags
}

#[async_trait::async_trait]
impl Resource for VmAccessReset {
    fn validate(&self, request: ValidateRequest<'_>) -> Diagnostics {
        validate_config(request.config)
    }

    /// Decides whether the extension runs (`plan::modify`); when it does and the VM is known, reads
    /// the VM once: its OS picks the extension and the rules the inputs follow, and a VM that
    /// cannot run it (stopped, agent not ready) fails here rather than at apply.
    async fn plan(&self, request: &PlanRequest, response: &mut PlanResponse) {
        plan::modify(request, response, TYPE_NAME);
        if !response.planned.is_unknown(FORCE_UPDATE_TAG) {
            return; // No run planned.
        }
        let fresh = request.prior.is_none() || !response.requires_replace.is_empty();
        if fresh {
            response.planned.set(OS_TYPE, Value::Unknown);
        }
        let config = &request.config;
        // A VM not known yet (created in the same apply) is read at apply.
        let Some(vm) = config
            .get_string(VIRTUAL_MACHINE_ID)
            .and_then(|id| validation::vm_id(id, VIRTUAL_MACHINE_ID).ok())
        else {
            return;
        };
        let name = match (&request.prior, config.get_string(EXTENSION_NAME)) {
            (Some(prior), _) if !fresh => NameChoice::Keep(
                prior
                    .get_string(EXTENSION_NAME)
                    .unwrap_or_else(|| prior_kind(prior).default_name)
                    .to_string(),
            ),
            // A name the configuration gives is checked at apply: Terraform plans the create of a
            // replacement before the prior extension, which may hold that name, is destroyed.
            (_, Some(wanted)) => NameChoice::Keep(wanted.to_string()),
            (_, None) => NameChoice::Choose(None),
        };
        let engine = match self.engine() {
            Ok(engine) => engine,
            Err(d) => return response.diagnostics.push(d),
        };
        let ctx = self.runtime.context(Timeouts::DEFAULT.read);
        let checked = match engine.check(&vm, &name, None, &ctx).await {
            Ok(checked) => checked,
            // An ID written out for a VM created in the same apply: apply reads it.
            Err(RunError::VmNotFound { .. }) if fresh => return,
            Err(e) => {
                let doing = format!("checking VM {:?}", vm.name());
                return response
                    .diagnostics
                    .push(run_error(&e, &doing, for_os(None)));
            }
        };
        let kind = checked.vm.kind();
        let os = kind.os;
        let planned = &mut response.planned;
        planned.set(OS_TYPE, Value::string(os.as_str()));
        if config.is_null(TYPE_HANDLER_VERSION) && (fresh || planned.is_null(TYPE_HANDLER_VERSION))
        {
            planned.set(
                TYPE_HANDLER_VERSION,
                Value::string(kind.default_handler_version),
            );
        }
        let diags = &mut response.diagnostics;
        diags.extend(validation::for_os(config, os, vm.name(), &PASSWORDS));
        if os == OsType::Linux {
            let settings = AccessSettings::from_config(config, None);
            diags.extend(linux_warnings(
                &settings,
                password_attribute(config),
                vm.name(),
                checked.vm.password_authentication_disabled,
            ));
        }
        if let Some(existing) = &checked.adopted
            && !config.is_unknown(EXTENSION_NAME)
        {
            diags.push(reusing_existing(vm.name(), existing, kind, REUSED));
        }
    }

    async fn create(&self, request: ApplyRequest) -> StateResponse {
        self.apply(request).await
    }

    async fn update(&self, request: ApplyRequest) -> StateResponse {
        self.apply(request).await
    }

    /// What Azure says now, for the plan to compare.
    async fn read(&self, request: ReadRequest) -> StateResponse {
        let ReadRequest {
            state: current,
            private,
        } = request;
        let mut state = Model::from_object(&current);
        let kind = for_os(state.os_type);
        let lookup = async {
            let ctx = self.context(&current, |t| t.read)?;
            let id = state_id(state.id.as_deref())?;
            self.engine()?
                .status_of(kind, &id, &ctx)
                .await
                .map_err(|e| diagnostic(&e, &format!("reading extension {id}"), kind).into())
        };
        let status = match lookup.await {
            Ok(Lookup::Found(status)) => status,
            // Adopted before its first run: nothing to find yet; the plan runs it.
            Ok(Lookup::Missing) if Private::decode(&private).awaiting_first_run => {
                return StateResponse {
                    state: Some(current),
                    private,
                    diagnostics: Diagnostics::new(),
                };
            }
            // Gone, its VM gone, or replaced by another kind of extension:
            // Terraform plans a create, which is the rerun.
            Ok(Lookup::Missing | Lookup::OtherKind { .. }) => {
                return StateResponse {
                    state: None,
                    private,
                    diagnostics: Diagnostics::new(),
                };
            }
            Err(diagnostics) => {
                return StateResponse {
                    state: Some(current),
                    private,
                    diagnostics,
                };
            }
        };
        let mut private = Private::decode(&private);
        // Azure shows a Windows run's user name, never a Linux one's (a protected setting): on
        // Linux the state keeps the configured name.
        if kind.os == OsType::Windows {
            private.username_drifted = status.username != state.username;
            state.username = status.username;
        }
        state.force_update_tag = status.force_update_tag;
        state.provisioning_state = Some(status.provisioning_state);
        StateResponse {
            state: Some(state.into_object()),
            private: private.encode(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn delete(&self, request: DeleteRequest) -> StateResponse {
        let prior = request.prior;
        let model = Model::from_object(&prior);
        if model.remove_extension_on_destroy == Some(false) {
            return StateResponse::default();
        }
        let kind = for_os(model.os_type);
        let removal = async {
            let ctx = self.context(&prior, |t| t.delete)?;
            let id = state_id(model.id.as_deref())?;
            let removal = self.engine()?.remove(&id, &ctx).await;
            removal
                .map(|r| (r, id.clone()))
                .map_err(|e| diagnostic(&e, &format!("removing extension {id}"), kind).into())
        };
        match removal.await {
            Ok((Removal::Removed, _)) => StateResponse::default(),
            // A destroy must not wedge on a stopped VM.
            Ok((Removal::VmNotRunning, id)) => StateResponse {
                diagnostics: Diagnostic::warning(
                    "The VMAccess extension stays on the stopped VM",
                    format!(
                        "VM {:?} is not running, so Azure cannot remove the extension {:?}. Terraform forgets it; the \
                         account, its password and keys are unaffected. Start the VM and remove the extension by hand if \
                         you want it gone.",
                        id.vm().name(),
                        id.name()
                    ),
                )
                .into(),
                ..StateResponse::default()
            },
            Err(diagnostics) => StateResponse {
                state: Some(prior),
                private: Vec::new(),
                diagnostics,
            },
        }
    }

    /// Import by the ARM ID of the VM's VMAccess extension, or by the VM's ARM ID: that adopts
    /// the VM's VMAccess extension whatever its name, or, when the VM has none yet, the VM itself
    /// (the first apply then runs the extension). Secrets cannot be read back, so the first plan
    /// after an import reruns unless the configuration ignores them.
    async fn import(&self, request: ImportRequest<'_>) -> StateResponse {
        let (target, os) = match self.import_target(request.id).await {
            Ok(found) => found,
            Err(d) => return StateResponse::error(d),
        };
        let id = match target {
            Target::Extension(id) => id,
            Target::VmWithoutExtension(vm) => {
                let (state, private) = awaiting_first_run(&vm, os);
                return StateResponse {
                    state: Some(state),
                    private: private.encode(),
                    diagnostics: Diagnostics::new(),
                };
            }
        };
        let kind = for_os(Some(os));
        let lookup = async {
            let ctx = self.runtime.context(Timeouts::DEFAULT.read);
            self.engine()?
                .status_of(kind, &id, &ctx)
                .await
                .map_err(|e| diagnostic(&e, &format!("reading extension {id}"), kind))
        };
        let status = match lookup.await {
            Ok(Lookup::Found(status)) => status,
            Ok(Lookup::Missing) => {
                return StateResponse::error(Diagnostic::error(
                    "Cannot import a non-existent extension",
                    format!(
                        "There is no extension at {id}. Check the ID; `az vm extension list` shows a VM's extensions. \
                         Import by the VM's ID to adopt a VM that has no VMAccess extension yet."
                    ),
                ));
            }
            Ok(Lookup::OtherKind {
                publisher,
                extension_type,
            }) => {
                return StateResponse::error(Diagnostic::error(
                    "Not a VMAccess extension",
                    format!(
                        "{id} is a {publisher}/{extension_type} extension; on this {os} VM vm_access_reset manages only \
                         {}/{} extensions.",
                        kind.publisher, kind.extension_type
                    ),
                ));
            }
            Err(d) => return StateResponse::error(d),
        };
        let (state, private) = adopted(&id, status, os);
        StateResponse {
            state: Some(state),
            private: private.encode(),
            diagnostics: Diagnostics::new(),
        }
    }

    fn identity(&self) -> Option<&dyn ResourceIdentity> {
        Some(&self.identity)
    }
}

/// What the resource does with a VMAccess extension it finds under another name.
const REUSED: &str = "this resource manages that one";

/// The extension kind of a stored object (state written before Linux was supported is Windows).
fn prior_kind(prior: &Object) -> &'static Kind {
    for_os(prior.get_string(OS_TYPE).and_then(OsType::parse))
}

impl VmAccessReset {
    /// Create and update: run the extension with a fresh tag and wait for it.
    async fn apply(&self, request: ApplyRequest) -> StateResponse {
        let creating = request.prior.is_none();
        // Values unknown at plan time are checked now.
        let mut diags = validate_config(&request.config);
        if diags.has_errors() {
            return StateResponse::error(diags);
        }
        // The plan leaves the run outputs known only when nothing asks for a
        // rerun (a change of `timeouts` or `remove_extension_on_destroy`): record
        // the new settings as planned, without touching Azure.
        if !creating && !request.planned.is_unknown(FORCE_UPDATE_TAG) {
            return StateResponse {
                state: Some(request.planned),
                private: request.planned_private,
                diagnostics: diags,
            };
        }
        let mut state = Model::from_object(&request.planned);
        let config = Model::from_object(&request.config);
        let setup = (|| {
            let timeouts = Timeouts::from_object(&request.planned)?;
            let timeout = if creating {
                timeouts.create
            } else {
                timeouts.update
            };
            let vm = parse_vm_id(state.virtual_machine_id.as_deref().unwrap_or_default())?;
            Ok::<_, Diagnostics>((self.runtime.context(timeout), vm, self.engine()?))
        })();
        let (ctx, vm, engine) = match setup {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                return StateResponse::error(diags);
            }
        };
        let doing = format!("running VMAccess on VM {:?}", vm.name());
        let name = match &request.prior {
            Some(prior) => NameChoice::Keep(
                prior
                    .get_string(EXTENSION_NAME)
                    .unwrap_or_else(|| prior_kind(prior).default_name)
                    .to_string(),
            ),
            None => NameChoice::Choose(config.extension_name.clone()),
        };
        // The OS the plan read; a VM unknown then is read now, and its OS's rules apply now.
        let os = match request.planned.get_string(OS_TYPE).and_then(OsType::parse) {
            Some(os) => os,
            None => match engine.check(&vm, &name, None, &ctx).await {
                Ok(checked) => {
                    let os = checked.vm.kind().os;
                    diags.extend(validation::for_os(
                        &request.config,
                        os,
                        vm.name(),
                        &PASSWORDS,
                    ));
                    if diags.has_errors() {
                        return StateResponse::error(diags);
                    }
                    os
                }
                Err(e) => {
                    diags.push(run_error(&e, &doing, for_os(None)));
                    return StateResponse::error(diags);
                }
            },
        };
        let kind = for_os(Some(os));
        state.os_type = Some(os);
        let handler_version = state
            .type_handler_version
            .clone()
            .unwrap_or_else(|| kind.default_handler_version.to_string());
        state.type_handler_version = Some(handler_version.clone());
        let run = RunRequest {
            vm,
            name,
            handler_version,
            auto_upgrade_minor_version: state.auto_upgrade_minor_version.unwrap_or(true),
            input: AccessSettings::from_config(&request.config, config.new_password()).input(os),
        };
        let run = match engine.reset(run, &ctx, &log_progress).await {
            Ok(run) => run,
            Err(e) => {
                diags.push(run_error(&e, &doing, kind));
                return StateResponse::error(diags);
            }
        };
        if let Some(existing) = &run.adopted {
            diags.push(reusing_existing(
                run.extension.vm().name(),
                existing,
                kind,
                REUSED,
            ));
        }
        // What Terraform records even if the run failed: the extension may
        // exist and be running, so the resource stays tracked (tainted after a
        // failed create) and the next apply reruns instead of tripping over it.
        state.id = Some(run.extension.to_string());
        state.extension_name = Some(run.extension.name().to_string());
        state.force_update_tag = Some(run.tag.clone());
        state.last_run_at = Some(now_rfc3339());
        state.provisioning_state = Some(
            match run.outcome {
                Outcome::Succeeded => "Succeeded",
                Outcome::Failed(_) => "Failed",
                _ if creating => "Creating",
                _ => "Updating",
            }
            .to_string(),
        );
        if let Some(e) = run.outcome.error() {
            diags.push(diagnostic(e, &doing, kind));
        }
        // A create Azure never started leaves nothing to track.
        let keep = creating && matches!(run.outcome, Outcome::NotStarted(_));
        StateResponse {
            state: (!keep).then(|| state.into_object()),
            private: Private::ours(run.tag).encode(),
            diagnostics: diags,
        }
    }

    /// What an import ID names — an extension, or a VM (whose VMAccess extension it means, if
    /// any) — and the VM's OS, which says which extension kind to look for.
    async fn import_target(&self, id_text: &str) -> Result<(Target, OsType), Diagnostic> {
        let (vm, extension) = match ExtensionId::parse(id_text) {
            Ok(id) => (id.vm().clone(), Some(id)),
            Err(e) => {
                let vm = VirtualMachineId::parse(id_text).map_err(|_| {
                    Diagnostic::error(
                        "Invalid import ID",
                        format!(
                            "{e} Import a vm_access_reset by the ARM ID of the VMAccess extension on the VM, or by \
                             the VM's ARM ID."
                        ),
                    )
                })?;
                (vm, None)
            }
        };
        let ctx = self.runtime.context(Timeouts::DEFAULT.read);
        let doing = format!("reading VM {:?}", vm.name());
        let facts = match self.engine()?.inspect(&vm, &ctx).await {
            Ok(facts) => facts,
            Err(RunError::Azure(e)) => return Err(diagnostic(&e, &doing, for_os(None))),
            Err(e) => match (e, extension) {
                // The extension's own lookup says what is missing.
                (RunError::VmNotFound { .. }, Some(id)) => {
                    return Ok((Target::Extension(id), OsType::Windows));
                }
                (e, _) => return Err(run_error(&e, &doing, for_os(None))),
            },
        };
        let kind = facts.kind();
        let target = match (extension, facts.existing_name(kind)) {
            (Some(id), _) => Target::Extension(id),
            (None, Some(name)) => Target::Extension(vm.extension(name.to_string())),
            (None, None) => Target::VmWithoutExtension(vm),
        };
        Ok((target, kind.os))
    }

    fn engine(&self) -> Result<Engine<ArmClient>, Diagnostic> {
        surface::engine(&self.runtime)
    }

    /// The operation's deadline from the resource's `timeouts`.
    fn context(
        &self,
        resource: &Object,
        pick: fn(&Timeouts) -> Duration,
    ) -> Result<OpContext, Diagnostics> {
        Ok(self
            .runtime
            .context(pick(&Timeouts::from_object(resource)?)))
    }
}

fn log_progress(progress: Progress) {
    tracing::debug!(?progress, "VMAccess run");
}

fn parse_vm_id(text: &str) -> Result<VirtualMachineId, Diagnostic> {
    validation::vm_id(text, VIRTUAL_MACHINE_ID)
}

fn state_id(id: Option<&str>) -> Result<ExtensionId, Diagnostic> {
    ExtensionId::parse(id.unwrap_or_default())
        .map_err(|e| Diagnostic::error("Invalid resource ID in state", e.to_string()).at_attr(ID))
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// What an import ID names.
enum Target {
    Extension(ExtensionId),
    VmWithoutExtension(VirtualMachineId),
}

/// The object (and private state) an import of the extension `id` on a VM running `os`, found
/// in `status`, stores; also what the list resource reports. The current run counts as ours:
/// importing adopts it. A Linux extension never shows its user name, so it imports without one.
pub(crate) fn adopted(id: &ExtensionId, status: Status, os: OsType) -> (Object, Private) {
    let private = Private {
        last_tag: status.force_update_tag.clone(),
        ..Private::default()
    };
    let imported = Model {
        id: Some(id.to_string()),
        virtual_machine_id: Some(id.vm().to_string()),
        os_type: Some(os),
        extension_name: Some(id.name().to_string()),
        username: status.username,
        type_handler_version: Some(status.type_handler_version),
        auto_upgrade_minor_version: Some(status.auto_upgrade_minor_version),
        remove_extension_on_destroy: Some(true),
        force_update_tag: status.force_update_tag,
        provisioning_state: Some(status.provisioning_state),
        ..Model::default()
    };
    (imported.into_object(), private)
}

/// The object an import of a VM running `os` without a VMAccess extension stores: the extension
/// this resource will create, never run (no tag, no provisioning state), marked so refresh keeps
/// it and the plan runs it.
pub(crate) fn awaiting_first_run(vm: &VirtualMachineId, os: OsType) -> (Object, Private) {
    let kind = for_os(Some(os));
    let private = Private {
        awaiting_first_run: true,
        ..Private::default()
    };
    let imported = Model {
        id: Some(vm.extension(kind.default_name).to_string()),
        virtual_machine_id: Some(vm.to_string()),
        os_type: Some(os),
        extension_name: Some(kind.default_name.to_string()),
        type_handler_version: Some(kind.default_handler_version.to_string()),
        auto_upgrade_minor_version: Some(true),
        remove_extension_on_destroy: Some(true),
        ..Model::default()
    };
    (imported.into_object(), private)
}
