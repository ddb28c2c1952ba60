//! The `vm_access_reset` action: a one-shot, break-glass run of the VMAccessAgent extension
//! (`terraform apply -invoke=action.vm_access_reset.NAME`, or an `action_trigger` of another
//! resource). It resets a local administrator's password, or with no `username` the Remote
//! Desktop configuration, streams what happens, and leaves nothing in state.
//!
//! Reads top-down: schema, validate (the resource's rules), plan (the engine's read-only checks),
//! invoke (the engine's run, its progress turned into messages a person can follow). The Azure
//! work is the engine's (`crate::vmaccess`), the same one the resource uses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::sync::mpsc;

use crate::azure::{AzureError, VirtualMachineId};
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::attributes::{
    EXTENSION_NAME, PASSWORD, REMOVE_EXTENSION_AFTER_SUCCESS, TIMEOUT, TYPE_HANDLER_VERSION,
    USERNAME, VIRTUAL_MACHINE_ID,
};
use crate::surface::diagnostics::{diagnostic, reusing_existing, run_error};
use crate::surface::validation::{self, PasswordAttributes};
use crate::tfprotocol::timeouts::{MAX_TIMEOUT, format_duration, parse_duration};
use crate::tfprotocol::{
    Action, Attribute, Block, Diagnostic, Diagnostics, Object, Progress, Schema,
};
use crate::vmaccess::{
    AccountReset, ExtensionKind, Lookup, NameChoice, Outcome, Progress as RunProgress, RunRequest,
    WindowsVmAccess,
};

pub(crate) const TYPE_NAME: &str = "vm_access_reset";
/// The extension this action runs.
type Kind = WindowsVmAccess;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Checking the VM at plan time is a single read.
const PLAN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub(crate) struct VmAccessResetAction {
    runtime: Arc<Runtime>,
}

impl VmAccessResetAction {
    pub(crate) fn new(runtime: Arc<Runtime>) -> VmAccessResetAction {
        VmAccessResetAction { runtime }
    }
}

/// The action's `config` block.
pub fn schema() -> Schema {
    let block = Block::new(
        "Runs the `VMAccessAgent` extension once on an Azure Windows VM to reset a local administrator's password, or its \
         Remote Desktop configuration, and reports its progress. Nothing is written to state: use it for a break-glass reset \
         (`terraform apply -invoke=action.vm_access_reset.NAME`) or from an `action_trigger`; use the `vm_access_reset` \
         resource to keep a password under Terraform's management.",
    )
    .attribute(Attribute::string(VIRTUAL_MACHINE_ID).required().description(
        "The ARM ID of the Windows VM, `/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}`.",
    ))
    .attribute(Attribute::string(USERNAME).optional().description(
        "The local administrator whose password is reset. An account that does not exist is created as an administrator; a \
         disabled one is enabled. Leave it out to reset the Remote Desktop configuration only (enable Remote Desktop and its \
         firewall rule for port 3389).",
    ))
    .attribute(Attribute::string(PASSWORD).optional().sensitive().write_only().description(
        "The new password; required with `username`. Write-only, so an `ephemeral` variable or an ephemeral resource can \
         supply it: it goes to Azure's protected settings and is never stored in the plan, the state or any message. Azure's \
         Windows rules apply: 8 to 123 characters with three of lower case, upper case, digit and special character.",
    ))
    .attribute(Attribute::string(EXTENSION_NAME).optional().description(
        "The name of the extension resource on the VM. Defaults to the name of a VMAccessAgent extension already on the VM \
         (the portal and the Azure CLI use `enablevmaccess`), else `VMAccessAgent`. A VM can have only one VMAccessAgent \
         extension, so a name different from an existing one is an error.",
    ))
    .attribute(Attribute::string(TYPE_HANDLER_VERSION).optional().description(
        "The VMAccessAgent handler version, `2.0` or later (version 1 is deprecated). Defaults to `2.4`.",
    ))
    .attribute(Attribute::bool(REMOVE_EXTENSION_AFTER_SUCCESS).optional().description(
        "Whether to remove the extension from the VM after a successful run (the account and its new password stay). \
         Defaults to `false`. Removing it leaves no VMAccessAgent extension behind, so the VM's extension list shows no \
         trace of the reset and a later reset (or a `vm_access_reset` resource) starts clean.",
    ))
    .attribute(Attribute::string(TIMEOUT).optional().description(
        "How long to wait for Azure to run the extension, a duration such as `10m` or `1h`. Defaults to `30m`.",
    ));
    Schema { version: 0, block }
}

/// The action's configuration, typed. Unknown values read as `None`.
struct Config {
    vm: Option<String>,
    username: Option<String>,
    password: Option<SecretString>,
    extension_name: Option<String>,
    handler_version: String,
    remove_after_success: bool,
    timeout: Duration,
}

impl Config {
    fn from_object(o: &Object) -> Config {
        let string = |name: &str| o.get_string(name).map(str::to_string);
        Config {
            vm: string(VIRTUAL_MACHINE_ID),
            username: string(USERNAME),
            password: o.get_string(PASSWORD).map(SecretString::from),
            extension_name: string(EXTENSION_NAME),
            handler_version: string(TYPE_HANDLER_VERSION)
                .unwrap_or_else(|| Kind::KIND.default_handler_version.to_string()),
            remove_after_success: o.get_bool(REMOVE_EXTENSION_AFTER_SUCCESS).unwrap_or(false),
            timeout: o
                .get_string(TIMEOUT)
                .and_then(|t| parse_duration(t).ok())
                .unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// Where the action takes a new password from.
const PASSWORDS: PasswordAttributes = PasswordAttributes {
    names: &[PASSWORD],
    missing_at: PASSWORD,
    missing_advice: "A `username` needs a new `password`.",
};

/// The resource's rules on the action's attributes; values still unknown are checked at invoke.
pub(crate) fn validate_config(config: &Object) -> Diagnostics {
    let mut diags = validation::account(config, &PASSWORDS);
    diags.extend(validation::target(config));
    if let Some(t) = config.get_string(TIMEOUT)
        && let Err(e) = parse_duration(t)
    {
        diags.push(
            Diagnostic::error(
                "Invalid timeout",
                format!(
                    "{t:?} is {e}. Write a duration of at most {} like \"30m\", \"1h30m\" or \"90s\".",
                    format_duration(MAX_TIMEOUT)
                ),
            )
            .at_attr(TIMEOUT),
        );
    }
    diags
}

#[async_trait::async_trait]
impl Action for VmAccessResetAction {
    fn validate(&self, config: &Object) -> Diagnostics {
        validate_config(config)
    }

    /// Everything that can be checked without changing anything: the VM exists, runs Windows,
    /// is running with a ready agent, and which extension name the run will use.
    async fn plan(&self, config: &Object) -> Diagnostics {
        let mut diags = validate_config(config);
        if diags.has_errors() || config.is_unknown(EXTENSION_NAME) {
            return diags;
        }
        let settings = Config::from_object(config);
        // An unknown VM ID is checked at invoke.
        let Some(vm) = settings
            .vm
            .as_deref()
            .and_then(|id| validation::vm_id(id, VIRTUAL_MACHINE_ID).ok())
        else {
            return diags;
        };
        let doing = format!("checking VM {:?}", vm.name());
        let engine = match surface::engine(&self.runtime) {
            Ok(engine) => engine,
            Err(d) => {
                diags.push(d);
                return diags;
            }
        };
        let ctx = self.runtime.context(PLAN_TIMEOUT);
        let name = NameChoice::Choose(settings.extension_name);
        match engine.check(&vm, &name, Kind::KIND, &ctx).await {
            Ok(checked) => {
                tracing::debug!(vm = %vm, extension = %checked.name, "vm_access_reset action planned");
                if let Some(existing) = checked.adopted {
                    diags.push(reusing_existing(vm.name(), &existing, Kind::KIND, REUSED));
                }
            }
            Err(e) => diags.push(run_error(&e, &doing, Kind::KIND)),
        }
        diags
    }

    async fn invoke(&self, config: Object, progress: Progress) -> Diagnostics {
        // Values unknown at plan time are checked now.
        let mut diags = validate_config(&config);
        if diags.has_errors() {
            return diags;
        }
        let settings = Config::from_object(&config);
        let vm = match validation::vm_id(
            settings.vm.as_deref().unwrap_or_default(),
            VIRTUAL_MACHINE_ID,
        ) {
            Ok(vm) => vm,
            Err(d) => {
                diags.push(d);
                return diags;
            }
        };
        let engine = match surface::engine(&self.runtime) {
            Ok(engine) => engine,
            Err(d) => {
                diags.push(d);
                return diags;
            }
        };
        let ctx = self.runtime.context(settings.timeout);
        let doing = format!("running VMAccess on VM {:?}", vm.name());
        let what = match &settings.username {
            Some(user) => format!("reset the password of {user:?}"),
            None => "reset the Remote Desktop configuration".to_string(),
        };
        progress
            .send(format!(
                "Checking VM {:?}: exists, runs Windows, is running, agent ready",
                vm.name()
            ))
            .await;
        let request = RunRequest {
            vm: vm.clone(),
            name: NameChoice::Choose(settings.extension_name.clone()),
            handler_version: settings.handler_version.clone(),
            auto_upgrade_minor_version: true,
            input: AccountReset {
                username: settings.username.clone(),
                password: settings.password.clone(),
            },
        };
        // The engine reports synchronously; a forwarder sends its reports on, in order.
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let started = Instant::now();
        let run = async move {
            let report = move |p: RunProgress| {
                let _ = tx.send(describe(&p, &what, started.elapsed()));
            };
            engine
                .run::<Kind>(request, &ctx, &report)
                .await
                .map(|run| (run, engine, ctx))
        };
        let forward = async {
            while let Some(message) = rx.recv().await {
                progress.send(message).await;
            }
        };
        let (result, ()) = tokio::join!(run, forward);
        let (run, engine, ctx) = match result {
            Ok(done) => done,
            Err(e) => {
                diags.push(run_error(&e, &doing, Kind::KIND));
                return diags;
            }
        };
        if let Some(existing) = &run.adopted {
            diags.push(reusing_existing(vm.name(), existing, Kind::KIND, REUSED));
        }
        match &run.outcome {
            Outcome::Succeeded => {}
            Outcome::Unknown(e) => {
                diags.push(may_still_run(e, &vm, run.extension.name()));
                return diags;
            }
            Outcome::Failed(e) | Outcome::NotStarted(e) => {
                diags.push(diagnostic(e, &doing, Kind::KIND));
                return diags;
            }
        }
        // The extension's own word on what it did.
        if let Ok(Lookup::Found(status)) = engine.status::<Kind>(&run.extension, &ctx).await
            && let Some(message) = status.message
        {
            progress.send(format!("Extension status: {message}")).await;
        }
        if settings.remove_after_success {
            progress
                .send(format!(
                    "Removing extension {:?} from the VM",
                    run.extension.name()
                ))
                .await;
            match engine.remove(&run.extension, &ctx).await {
                Ok(_) => {
                    progress.send("Extension removed").await;
                }
                Err(e) => diags.push(
                    Diagnostic::warning(
                        "The reset succeeded, but the extension stays on the VM",
                        format!(
                            "Removing extension {:?} failed: {e}. The account and its new password are in effect; remove \
                             the extension by hand (`az vm extension delete`) if you want it gone.",
                            run.extension.name()
                        ),
                    ),
                ),
            }
        }
        diags
    }
}

/// One line of progress for the terminal; `elapsed` is the time since the action started.
fn describe(progress: &RunProgress, what: &str, elapsed: Duration) -> String {
    let elapsed = match elapsed.as_secs() {
        0..60 => format!("{:.1}s", elapsed.as_secs_f64()),
        secs => format_duration(Duration::from_secs(secs)),
    };
    match progress {
        RunProgress::VmChecked { vm } => {
            format!("VM {vm:?} is a running Windows VM and its agent is ready")
        }
        RunProgress::Sending {
            extension,
            handler,
            handler_version,
            tag,
        } => format!(
            "Setting extension {:?} ({handler} {handler_version}, forceUpdateTag {tag}) to {what}",
            extension.rsplit('/').next().unwrap_or(extension)
        ),
        RunProgress::Accepted => {
            "Azure accepted the extension: operation InProgress, waiting for it to finish"
                .to_string()
        }
        RunProgress::Running { .. } => {
            format!("Azure is still running the extension: operation InProgress, {elapsed} elapsed")
        }
        RunProgress::Finished { outcome, status } => match status {
            Some(message) => format!("Extension run {outcome} after {elapsed}: {message}"),
            None => format!("Extension run {outcome} after {elapsed}"),
        },
    }
}

/// What the action does with a VMAccess extension it finds under another name.
const REUSED: &str = "the action runs that one";

/// The run was sent but its end is unknown (interrupted, timed out, connection lost).
fn may_still_run(err: &AzureError, vm: &VirtualMachineId, extension: &str) -> Diagnostic {
    let why = match err {
        AzureError::Cancelled { .. } => "Terraform was interrupted before the extension finished",
        AzureError::DeadlineExceeded { .. } => "the extension did not finish within `timeout`",
        _ => "the provider lost track of the extension before it finished",
    };
    Diagnostic::error(
        "The VMAccess run may still finish in Azure",
        format!(
            "{why} ({err}). Azure may still finish the run on VM {:?}, and the reset may then take effect. Check the \
             extension's status (`az vm extension show --vm-name {} --name {extension}`) before invoking the action again.",
            vm.name(),
            vm.name()
        ),
    )
}
