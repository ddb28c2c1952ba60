//! `vm_access_reset`: runs the VMAccessAgent extension on an Azure Windows
//! VM to reset a local administrator's password (or create the account), or
//! to reset the Remote Desktop configuration when no user name is given.

use std::sync::Arc;
use std::time::Duration;

use crate::provider::ProviderState;
use crate::resources::validation::{self, PasswordCheck};
use crate::tfprotocol::timeouts::{self, Operation};
use crate::tfprotocol::{
    ApplyRequest, Attribute, Block, Diagnostic, Diagnostics, Object, PlanRequest, PlanResponse,
    Resource, ResourceIdentity, Schema, StateResponse, Type, Value,
};

pub mod identity;
mod lifecycle;
mod plan;
mod private;

pub const TYPE_NAME: &str = "vm_access_reset";
pub const DEFAULT_EXTENSION_NAME: &str = "VMAccessAgent";
pub const DEFAULT_HANDLER_VERSION: &str = "2.4";

pub const DEFAULT_TIMEOUTS: [(Operation, Duration); 4] = [
    (Operation::Create, Duration::from_secs(30 * 60)),
    (Operation::Read, Duration::from_secs(5 * 60)),
    (Operation::Update, Duration::from_secs(30 * 60)),
    (Operation::Delete, Duration::from_secs(30 * 60)),
];

pub struct VmAccessReset {
    schema: Schema,
    identity: identity::VmAccessIdentity,
    provider: Arc<ProviderState>,
}

impl VmAccessReset {
    pub fn new(provider: Arc<ProviderState>) -> VmAccessReset {
        VmAccessReset {
            schema: schema(),
            identity: identity::VmAccessIdentity::new(provider.clone()),
            provider,
        }
    }
}

pub fn schema() -> Schema {
    let block = Block::new(
        "Resets a local administrator's password on an Azure Windows VM, or its Remote Desktop configuration, by running the \
         `VMAccessAgent` extension (what the portal's *Reset password* and `Set-AzVMAccessExtension` do). Any change of the \
         inputs, a bump of `password_wo_version`, a change of `triggers`, or drift found on refresh (the extension failed, was \
         rerun by someone else, or was removed) plans an in-place update that reruns the extension. Use one `vm_access_reset` \
         per VM: a VM has a single VMAccessAgent extension, so two resources would see each other's runs as drift.",
    )
    .attribute(
        Attribute::string("id")
            .computed()
            .use_state_for_unknown()
            .description("The ARM ID of the VMAccessAgent extension on the VM."),
    )
    .attribute(
        Attribute::string("virtual_machine_id").required().requires_replace().description(
            "The ARM ID of the Windows VM, `/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}`. \
             Segment names are matched case-insensitively. Changing it replaces the resource.",
        ),
    )
    .attribute(Attribute::string("username").optional().description(
        "The local administrator whose password is reset. An account that does not exist is created as an administrator; a \
         disabled one is enabled. Leave it out to reset the Remote Desktop configuration only (enable Remote Desktop and its \
         firewall rule for port 3389).",
    ))
    .attribute(Attribute::string("password").optional().sensitive().description(
        "The new password, stored (marked sensitive) in state. For Terraform older than 1.11 only: prefer `password_wo`, which \
         never reaches plan or state. Azure's Windows rules apply: 8 to 123 characters with three of lower case, upper case, \
         digit and special character.",
    ))
    .attribute(Attribute::string("password_wo").optional().write_only().description(
        "The new password, write-only: sent to Azure, never stored in plan or state (Terraform 1.11 or later). Terraform cannot \
         see a change of a write-only value, so changing it alone does nothing: bump `password_wo_version` to rotate.",
    ))
    .attribute(Attribute::number("password_wo_version").optional().description(
        "Required with `password_wo`. Any change of this number reruns the reset with the current `password_wo`; bump it \
         whenever the password changes.",
    ))
    .attribute(Attribute::new("triggers", Type::map(Type::String)).optional().description(
        "Arbitrary values; any change reruns the extension in place. Useful to rerun a Remote Desktop reset on demand.",
    ))
    .attribute(
        Attribute::string("extension_name").optional().computed().requires_replace().use_state_for_unknown().description(
            "The name of the extension resource on the VM. Defaults to the name of a VMAccessAgent extension already on the VM \
             (the portal and the Azure CLI use `enablevmaccess`), else `VMAccessAgent`. A VM can have only one VMAccessAgent \
             extension, so a name different from an existing one is an error. Changing it replaces the resource.",
        ),
    )
    .attribute(Attribute::string("type_handler_version").default(Value::string(DEFAULT_HANDLER_VERSION)).description(
        "The VMAccessAgent handler version, `2.0` or later (version 1 is deprecated). Defaults to `2.4`. A change reruns the \
         extension.",
    ))
    .attribute(Attribute::bool("auto_upgrade_minor_version").default(Value::Bool(true)).description(
        "Whether Azure may use a newer minor handler version when the extension runs. Defaults to `true`. A change reruns the \
         extension.",
    ))
    .attribute(Attribute::bool("remove_extension_on_destroy").default(Value::Bool(true)).description(
        "Whether destroying the resource removes the extension from the VM (the account and its password stay as they are). \
         Defaults to `true`. When the VM is stopped the extension cannot be removed; destroy then succeeds with a warning.",
    ))
    .attribute(Attribute::string("force_update_tag").computed().description(
        "The `forceUpdateTag` this provider sent on its last run: a fresh UUID every run, which makes Azure rerun the extension. \
         A different tag found on refresh means someone else reran the extension, and plans a rerun.",
    ))
    .attribute(
        Attribute::string("provisioning_state")
            .computed()
            .description("The extension's provisioning state in Azure as last read, for example `Succeeded` or `Failed`."),
    )
    .attribute(Attribute::string("last_run_at").computed().description("When this provider last ran the extension (RFC 3339)."))
    .block("timeouts", timeouts::block(&DEFAULT_TIMEOUTS));
    Schema { version: 0, block }
}

/// Plan-time validation; values still unknown are checked at apply.
pub fn validate_config(config: &Object) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let username_set = !config.is_null("username");
    let password_set = !config.is_null("password");
    let password_wo_set = !config.is_null("password_wo");

    if let Some(name) = config.get_string("username")
        && let Some(problem) = validation::username_problem(name)
    {
        diags.push(Diagnostic::error("Invalid user name", problem).at_attr("username"));
    }

    if username_set && password_set && password_wo_set {
        diags.push(
            Diagnostic::error(
                "Conflicting passwords",
                "Set only one of `password` and `password_wo`. Prefer `password_wo`, which is never stored in state.",
            )
            .at_attr("password"),
        );
    } else if username_set && !password_set && !password_wo_set {
        diags.push(
            Diagnostic::error(
                "Missing password",
                "A `username` needs a new password: set `password_wo` (with `password_wo_version`), or `password`. Leave out \
                 `username` to reset only the Remote Desktop configuration.",
            )
            .at_attr("username"),
        );
    } else if !username_set && !config.is_unknown("username") {
        for attr in ["password", "password_wo"]
            .into_iter()
            .filter(|a| !config.is_null(a))
        {
            diags.push(
                Diagnostic::error(
                    "Password without a user name",
                    format!(
                        "`{attr}` is set but `username` is not. Set `username` to the account whose password to reset, or \
                         remove `{attr}` to reset only the Remote Desktop configuration."
                    ),
                )
                .at_attr(attr),
            );
        }
    }

    if password_wo_set && config.is_null("password_wo_version") {
        diags.push(
            Diagnostic::error(
                "Missing password_wo_version",
                "`password_wo` needs `password_wo_version`: Terraform cannot see changes of write-only values, so the version \
                 number is what tells it to rerun. Set it to 1 and bump it whenever the password changes.",
            )
            .at_attr("password_wo_version"),
        );
    }
    if !password_wo_set
        && !config.is_unknown("password_wo")
        && !config.is_null("password_wo_version")
    {
        diags.push(
            Diagnostic::error(
                "password_wo_version without password_wo",
                "`password_wo_version` only has a meaning together with `password_wo`. Remove it, or set `password_wo`.",
            )
            .at_attr("password_wo_version"),
        );
    }

    for attr in ["password", "password_wo"] {
        if let Some(pw) = config.get_string(attr) {
            match validation::check_password(pw) {
                PasswordCheck::Ok => {}
                PasswordCheck::Weak(m) => {
                    diags.push(Diagnostic::warning("Weak password", m).at_attr(attr))
                }
                PasswordCheck::Rejected(m) => diags.push(
                    Diagnostic::error("Password does not meet Azure's rules", m).at_attr(attr),
                ),
            }
        }
    }

    if let Some(id) = config.get_string("virtual_machine_id")
        && let Err(d) = lifecycle::parse_vm_id(id)
    {
        diags.push(d);
    }

    if let Some(v) = config.get_string("type_handler_version")
        && let Some(problem) = validation::handler_version_problem(v)
    {
        diags.push(
            Diagnostic::error("Unsupported handler version", problem)
                .at_attr("type_handler_version"),
        );
    }

    for (op, default) in DEFAULT_TIMEOUTS {
        if let Err(d) = timeouts::get(config, op, default) {
            diags.push(d);
        }
    }
    diags
}

#[async_trait::async_trait]
impl Resource for VmAccessReset {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Object) -> Diagnostics {
        validate_config(config)
    }

    async fn read(&self, state: Object, private: Vec<u8>) -> StateResponse {
        lifecycle::read(&self.provider, state, private).await
    }

    async fn modify_plan(&self, request: &PlanRequest, response: &mut PlanResponse) {
        plan::modify(request, response, TYPE_NAME);
    }

    async fn create(&self, request: ApplyRequest) -> StateResponse {
        lifecycle::run(&self.provider, request).await
    }

    async fn update(&self, request: ApplyRequest) -> StateResponse {
        lifecycle::run(&self.provider, request).await
    }

    async fn delete(&self, prior: Object, _private: Vec<u8>) -> StateResponse {
        lifecycle::delete(&self.provider, prior).await
    }

    async fn import(&self, id: &str) -> StateResponse {
        lifecycle::import(&self.provider, id).await
    }

    fn identity(&self) -> Option<&dyn ResourceIdentity> {
        Some(&self.identity)
    }
}
