//! `vm_access_reset`: runs the VMAccessAgent extension on an Azure Windows
//! VM to reset a local administrator's password (or create the account), or
//! to reset the Remote Desktop configuration when no user name is given.
//!
//! Reads top-down like Terraform's `terraform_data`: schema, validate, plan,
//! apply, read, delete, import — each a short function over the typed
//! [`Model`] and the engine (`crate::vmaccess`), which does the Azure work.

use std::sync::Arc;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;

use crate::azure::{ArmClient, ExtensionId, OpContext, VirtualMachineId};
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::attributes::{
    AUTO_UPGRADE_MINOR_VERSION, EXTENSION_NAME, FORCE_UPDATE_TAG, ID, LAST_RUN_AT, PASSWORD,
    PASSWORD_WO, PASSWORD_WO_VERSION, PROVISIONING_STATE, REMOVE_EXTENSION_ON_DESTROY, TIMEOUTS,
    TRIGGERS, TYPE_HANDLER_VERSION, USERNAME, VIRTUAL_MACHINE_ID,
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
    AccountReset, Engine, ExtensionKind, Lookup, NameChoice, Outcome, Progress, Removal, RunError,
    RunRequest, Status, WindowsVmAccess,
};

pub mod identity;
mod model;
mod plan;
mod private;

use model::{Model, Timeouts};
use private::Private;

/// The resource type (also the name of its action and list resource).
pub const TYPE_NAME: &str = "vm_access_reset";
/// The extension this resource runs.
type Kind = WindowsVmAccess;
const DEFAULT_EXTENSION_NAME: &str = Kind::KIND.default_name;
const DEFAULT_HANDLER_VERSION: &str = Kind::KIND.default_handler_version;
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
        "Resets a local administrator's password on an Azure Windows VM, or its Remote Desktop configuration, by running the \
         `VMAccessAgent` extension (what the portal's *Reset password* and `Set-AzVMAccessExtension` do). Any change of the \
         inputs, a bump of `password_wo_version`, a change of `triggers`, or drift found on refresh (the extension failed, was \
         rerun by someone else, or was removed) plans an in-place update that reruns the extension. Use one `vm_access_reset` \
         per VM: a VM has a single VMAccessAgent extension, so two resources would see each other's runs as drift.",
    )
    .attribute(
        Attribute::string(ID)
            .computed()
            .use_state_for_unknown()
            .description("The ARM ID of the VMAccessAgent extension on the VM."),
    )
    .attribute(
        Attribute::string(VIRTUAL_MACHINE_ID).required().requires_replace().description(
            "The ARM ID of the Windows VM, `/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}`. \
             Segment names are matched case-insensitively. Changing it replaces the resource.",
        ),
    )
    .attribute(Attribute::string(USERNAME).optional().description(
        "The local administrator whose password is reset. An account that does not exist is created as an administrator; a \
         disabled one is enabled. Leave it out to reset the Remote Desktop configuration only (enable Remote Desktop and its \
         firewall rule for port 3389).",
    ))
    .attribute(Attribute::string(PASSWORD).optional().sensitive().description(
        "The new password, stored (marked sensitive) in state. For Terraform older than 1.11 only: prefer `password_wo`, which \
         never reaches plan or state. Azure's Windows rules apply: 8 to 123 characters with three of lower case, upper case, \
         digit and special character.",
    ))
    .attribute(Attribute::string(PASSWORD_WO).optional().write_only().description(
        "The new password, write-only: sent to Azure, never stored in plan or state (Terraform 1.11 or later). Terraform cannot \
         see a change of a write-only value, so changing it alone does nothing: bump `password_wo_version` to rotate.",
    ))
    .attribute(Attribute::number(PASSWORD_WO_VERSION).optional().description(
        "Required with `password_wo`. Any change of this number reruns the reset with the current `password_wo`; bump it \
         whenever the password changes.",
    ))
    .attribute(Attribute::new(TRIGGERS, Type::map(Type::String)).optional().description(
        "Arbitrary values; any change reruns the extension in place. Useful to rerun a Remote Desktop reset on demand.",
    ))
    .attribute(
        Attribute::string(EXTENSION_NAME).optional().computed().requires_replace().use_state_for_unknown().description(
            "The name of the extension resource on the VM. Defaults to the name of a VMAccessAgent extension already on the VM \
             (the portal and the Azure CLI use `enablevmaccess`), else `VMAccessAgent`. A VM can have only one VMAccessAgent \
             extension, so a name different from an existing one is an error. Changing it replaces the resource.",
        ),
    )
    .attribute(Attribute::string(TYPE_HANDLER_VERSION).default(Value::string(DEFAULT_HANDLER_VERSION)).description(
        "The VMAccessAgent handler version, `2.0` or later (version 1 is deprecated). Defaults to `2.4`. A change reruns the \
         extension.",
    ))
    .attribute(Attribute::bool(AUTO_UPGRADE_MINOR_VERSION).default(Value::Bool(true)).description(
        "Whether Azure may use a newer minor handler version when the extension runs. Defaults to `true`. A change reruns the \
         extension.",
    ))
    .attribute(Attribute::bool(REMOVE_EXTENSION_ON_DESTROY).default(Value::Bool(true)).description(
        "Whether destroying the resource removes the extension from the VM (the account and its password stay as they are). \
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

/// Plan-time validation; values still unknown are checked at apply.
pub(crate) fn validate_config(config: &Object) -> Diagnostics {
    let mut diags = validation::account(config, &PASSWORDS);
    let password_wo_set = !config.is_null(PASSWORD_WO);
    if password_wo_set && config.is_null(PASSWORD_WO_VERSION) {
        diags.push(
            Diagnostic::error(
                "Missing password_wo_version",
                "`password_wo` needs `password_wo_version`: Terraform cannot see changes of write-only values, so the version \
                 number is what tells it to rerun. Set it to 1 and bump it whenever the password changes.",
            )
            .at_attr(PASSWORD_WO_VERSION),
        );
    }
    if !password_wo_set && !config.is_unknown(PASSWORD_WO) && !config.is_null(PASSWORD_WO_VERSION) {
        diags.push(
            Diagnostic::error(
                "password_wo_version without password_wo",
                "`password_wo_version` only has a meaning together with `password_wo`. Remove it, or set `password_wo`.",
            )
            .at_attr(PASSWORD_WO_VERSION),
        );
    }
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

    async fn plan(&self, request: &PlanRequest, response: &mut PlanResponse) {
        plan::modify(request, response, TYPE_NAME);
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
        let lookup = async {
            let ctx = self.context(&current, |t| t.read)?;
            let id = state_id(state.id.as_deref())?;
            self.engine()?
                .status::<Kind>(&id, &ctx)
                .await
                .map_err(|e| diagnostic(&e, &format!("reading extension {id}"), Kind::KIND).into())
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
        private.username_drifted = status.username != state.username;
        state.username = status.username;
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
        let removal = async {
            let ctx = self.context(&prior, |t| t.delete)?;
            let id = state_id(model.id.as_deref())?;
            let removal = self.engine()?.remove(&id, &ctx).await;
            removal
                .map(|r| (r, id.clone()))
                .map_err(|e| diagnostic(&e, &format!("removing extension {id}"), Kind::KIND).into())
        };
        match removal.await {
            Ok((Removal::Removed, _)) => StateResponse::default(),
            // A destroy must not wedge on a stopped VM.
            Ok((Removal::VmNotRunning, id)) => StateResponse {
                diagnostics: Diagnostic::warning(
                    "The VMAccess extension stays on the stopped VM",
                    format!(
                        "VM {:?} is not running, so Azure cannot remove the extension {:?}. Terraform forgets it; the \
                         account and its password are unaffected. Start the VM and remove the extension by hand if you \
                         want it gone.",
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

    /// Import by the ARM ID of the VMAccessAgent extension, or by the VM's ARM ID: that adopts
    /// the VM's VMAccess extension whatever its name, or, when the VM has none yet, the VM itself
    /// (the first apply then runs the extension). Secrets cannot be read back, so the first plan
    /// after an import reruns unless the configuration ignores them.
    async fn import(&self, request: ImportRequest<'_>) -> StateResponse {
        let id_text = request.id;
        let id = match self.import_target(id_text).await {
            Ok(Target::Extension(id)) => id,
            Ok(Target::VmWithoutExtension(vm)) => {
                let (state, private) = awaiting_first_run(&vm);
                return StateResponse {
                    state: Some(state),
                    private: private.encode(),
                    diagnostics: Diagnostics::new(),
                };
            }
            Err(d) => return StateResponse::error(d),
        };
        let lookup = async {
            let ctx = self.runtime.context(Timeouts::DEFAULT.read);
            self.engine()?
                .status::<Kind>(&id, &ctx)
                .await
                .map_err(|e| diagnostic(&e, &format!("reading extension {id}"), Kind::KIND))
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
                        "{id} is a {publisher}/{extension_type} extension; vm_access_reset manages only \
                         Microsoft.Compute/VMAccessAgent extensions."
                    ),
                ));
            }
            Err(d) => return StateResponse::error(d),
        };
        let (state, private) = adopted(&id, status);
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
        let run = RunRequest {
            vm,
            name: match &request.prior {
                Some(prior) => NameChoice::Keep(
                    prior
                        .get_string(EXTENSION_NAME)
                        .unwrap_or(DEFAULT_EXTENSION_NAME)
                        .to_string(),
                ),
                None => NameChoice::Choose(config.extension_name.clone()),
            },
            handler_version: state
                .type_handler_version
                .clone()
                .unwrap_or_else(|| DEFAULT_HANDLER_VERSION.to_string()),
            auto_upgrade_minor_version: state.auto_upgrade_minor_version.unwrap_or(true),
            input: AccountReset {
                username: config.username.clone(),
                password: config.new_password(),
            },
        };
        let run = match engine.run::<Kind>(run, &ctx, &log_progress).await {
            Ok(run) => run,
            Err(e) => {
                diags.push(run_error(&e, &doing, Kind::KIND));
                return StateResponse::error(diags);
            }
        };
        if let Some(existing) = &run.adopted {
            diags.push(reusing_existing(
                run.extension.vm().name(),
                existing,
                Kind::KIND,
                "this resource manages that one",
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
            diags.push(diagnostic(e, &doing, Kind::KIND));
        }
        // A create Azure never started leaves nothing to track.
        let keep = creating && matches!(run.outcome, Outcome::NotStarted(_));
        StateResponse {
            state: (!keep).then(|| state.into_object()),
            private: Private::ours(run.tag).encode(),
            diagnostics: diags,
        }
    }

    /// What an import ID names: an extension, or a VM (whose VMAccess extension it means, if any).
    async fn import_target(&self, id_text: &str) -> Result<Target, Diagnostic> {
        let vm = match ExtensionId::parse(id_text) {
            Ok(id) => return Ok(Target::Extension(id)),
            Err(e) => VirtualMachineId::parse(id_text).map_err(|_| {
                Diagnostic::error(
                    "Invalid import ID",
                    format!(
                        "{e} Import a vm_access_reset by the ARM ID of the VMAccessAgent extension on the VM, or by \
                         the VM's ARM ID."
                    ),
                )
            })?,
        };
        let ctx = self.runtime.context(Timeouts::DEFAULT.read);
        let doing = format!("reading VM {:?}", vm.name());
        let facts = match self.engine()?.inspect(&vm, Kind::KIND, &ctx).await {
            Ok(facts) => facts,
            Err(RunError::Azure(e)) => return Err(diagnostic(&e, &doing, Kind::KIND)),
            Err(e) => return Err(run_error(&e, &doing, Kind::KIND)),
        };
        if let Some(found) = facts.os.filter(|os| *os != Kind::KIND.os) {
            return Err(run_error(
                &RunError::WrongOs {
                    vm: facts.name,
                    found,
                    kind: Kind::KIND,
                },
                &doing,
                Kind::KIND,
            ));
        }
        Ok(match facts.existing_name {
            Some(name) => Target::Extension(vm.extension(name)),
            None => Target::VmWithoutExtension(vm),
        })
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

/// The object (and private state) an import of the extension `id`, found in `status`, stores;
/// also what the list resource reports. The current run counts as ours: importing adopts it.
pub(crate) fn adopted(id: &ExtensionId, status: Status) -> (Object, Private) {
    let private = Private {
        last_tag: status.force_update_tag.clone(),
        ..Private::default()
    };
    let imported = Model {
        id: Some(id.to_string()),
        virtual_machine_id: Some(id.vm().to_string()),
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

/// The object an import of a VM without a VMAccess extension stores: the extension this resource
/// will create, never run (no tag, no provisioning state), marked so refresh keeps it and the
/// plan runs it.
pub(crate) fn awaiting_first_run(vm: &VirtualMachineId) -> (Object, Private) {
    let private = Private {
        awaiting_first_run: true,
        ..Private::default()
    };
    let imported = Model {
        id: Some(vm.extension(DEFAULT_EXTENSION_NAME).to_string()),
        virtual_machine_id: Some(vm.to_string()),
        extension_name: Some(DEFAULT_EXTENSION_NAME.to_string()),
        type_handler_version: Some(DEFAULT_HANDLER_VERSION.to_string()),
        auto_upgrade_minor_version: Some(true),
        remove_extension_on_destroy: Some(true),
        ..Model::default()
    };
    (imported.into_object(), private)
}
