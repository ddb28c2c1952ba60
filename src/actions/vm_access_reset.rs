//! The `vm_access_reset` action: a one-shot, break-glass run of a VM's VMAccess extension
//! (`terraform apply -invoke=action.vm_access_reset.NAME`, or an `action_trigger` of another
//! resource). On Windows it resets a local administrator's password, or with no `username` the
//! Remote Desktop configuration; on Linux it sets a password or SSH keys, restores the default
//! sshd configuration, or removes a user. It streams what happens and leaves nothing in state.
//!
//! Reads top-down: schema, validate (the resource's rules), plan (the engine's read-only checks),
//! invoke (the engine's run, its progress turned into messages a person can follow). The Azure
//! work is the engine's (`crate::vmaccess`), the same one the resource uses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::azure::{AzureError, OsType, VirtualMachineId};
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::access::{AccessSettings, linux_warnings};
use crate::surface::attributes::{
    EXPIRATION, EXTENSION_NAME, PASSWORD, REMOVE_EXTENSION_AFTER_SUCCESS, REMOVE_PRIOR_KEYS,
    REMOVE_USER, RESET_SSH, SSH_PUBLIC_KEYS, TIMEOUT, TYPE_HANDLER_VERSION, USERNAME,
    VIRTUAL_MACHINE_ID,
};
use crate::surface::diagnostics::{diagnostic, reusing_existing, run_error};
use crate::surface::validation::{self, ACTION_PASSWORDS};
use crate::tfprotocol::timeouts::parse_duration;
use crate::tfprotocol::{
    Action, Attribute, Block, Diagnostic, Diagnostics, Object, Progress, Schema, Type,
};
use crate::vmaccess::{Lookup, NameChoice, Outcome, Progress as RunProgress, RunRequest, for_os};

pub(crate) const TYPE_NAME: &str = "vm_access_reset";
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
        "Runs a VM's VMAccess extension once and reports its progress: on Windows (`VMAccessAgent`) it resets a local \
         administrator's password, or the Remote Desktop configuration; on Linux (`VMAccessForLinux`) it sets an account's \
         password or SSH keys, restores the default sshd configuration, or removes a user. The VM's OS picks the extension. \
         Nothing is written to state: use it for a break-glass reset (`terraform apply -invoke=action.vm_access_reset.NAME`) \
         or from an `action_trigger`; use the `vm_access_reset` resource to keep access under Terraform's management.",
    )
    .attribute(Attribute::string(VIRTUAL_MACHINE_ID).required().description(
        "The ARM ID of the VM, `/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}`.",
    ))
    .attribute(Attribute::string(USERNAME).optional().description(
        "The account to reset. On Windows, a local administrator: an account that does not exist is created as an \
         administrator, a disabled one is enabled; leave it out to reset the Remote Desktop configuration only (enable Remote \
         Desktop and its firewall rule for port 3389). On Linux, an account that does not exist is created and made a sudoer; \
         it needs a new `password` or `ssh_public_keys`.",
    ))
    .attribute(Attribute::string(PASSWORD).optional().sensitive().write_only().description(
        "The new password; on Windows required with `username`. Write-only, so an `ephemeral` variable or an ephemeral \
         resource can supply it: it goes to Azure's protected settings and is never stored in the plan, the state or any \
         message. Azure's rules apply: on Windows 8 to 123 characters, on Linux 6 to 72, with three of lower case, upper \
         case, digit and special character. On Linux a password also turns on SSH password logins for the whole VM.",
    ))
    .attribute(Attribute::new(SSH_PUBLIC_KEYS, Type::set(Type::String)).optional().description(
        "Linux only. OpenSSH public keys (`ssh-ed25519`, or `ssh-rsa` of at least 2048 bits) added to `username`'s \
         `~/.ssh/authorized_keys`. Keys already there stay unless `remove_prior_keys` is `true`.",
    ))
    .attribute(Attribute::bool(REMOVE_PRIOR_KEYS).optional().description(
        "Linux only. `true` replaces `username`'s authorized keys with `ssh_public_keys` instead of adding to them: the way \
         to lock out a lost or leaked key. Needs `ssh_public_keys`.",
    ))
    .attribute(Attribute::bool(RESET_SSH).optional().description(
        "Linux only. `true` replaces the whole `/etc/ssh/sshd_config` with the distribution's default, opens port 22 and \
         restarts sshd. Hardening in the file is lost.",
    ))
    .attribute(Attribute::string(EXPIRATION).optional().description(
        "Linux only. The date (`yyyy-mm-dd`, in the future) on which `username`'s account expires; applied only when the \
         run creates the account.",
    ))
    .attribute(Attribute::string(REMOVE_USER).optional().description(
        "Linux only. An account to delete, with its home directory (`userdel -r`). Cannot go with `password` or \
         `reset_ssh`, which the extension refuses in the same run. Removing an account that does not exist succeeds \
         without doing anything.",
    ))
    .attribute(Attribute::string(EXTENSION_NAME).optional().description(
        "The name of the extension resource on the VM. Defaults to the name of a VMAccess extension already on the VM (the \
         portal and the Azure CLI use `enablevmaccess`), else `VMAccessAgent` on Windows and `VMAccessForLinux` on Linux. A \
         VM can have only one VMAccess extension, so a name different from an existing one is an error.",
    ))
    .attribute(Attribute::string(TYPE_HANDLER_VERSION).optional().description(
        "The handler version: on Windows `2.0` or later (VMAccessAgent 1.x is deprecated), default `2.4`; on Linux `1.x`, \
         default `1.5`.",
    ))
    .attribute(Attribute::bool(REMOVE_EXTENSION_AFTER_SUCCESS).optional().description(
        "Whether to remove the extension from the VM after a successful run (the account and its new password or keys stay). \
         Defaults to `false`. Removing it leaves no VMAccess extension behind, so the VM's extension list shows no \
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
    access: AccessSettings,
    extension_name: Option<String>,
    /// `None`: the default of the VM's extension.
    handler_version: Option<String>,
    remove_after_success: bool,
    timeout: Duration,
}

impl Config {
    fn from_object(o: &Object) -> Config {
        let string = |name: &str| o.get_string(name).map(str::to_string);
        Config {
            vm: string(VIRTUAL_MACHINE_ID),
            access: AccessSettings::from_config(o, o.get_string(PASSWORD).map(SecretString::from)),
            extension_name: string(EXTENSION_NAME),
            handler_version: string(TYPE_HANDLER_VERSION),
            remove_after_success: o.get_bool(REMOVE_EXTENSION_AFTER_SUCCESS).unwrap_or(false),
            timeout: o
                .get_string(TIMEOUT)
                .and_then(|t| parse_duration(t).ok())
                .unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// The resource's rules on the action's attributes; values still unknown are checked at invoke.
pub(crate) fn validate_config(config: &Object) -> Diagnostics {
    let mut diags = validation::account(config, &ACTION_PASSWORDS);
    diags.extend(validation::target(config));
    diags.extend(validation::timeout(config, TIMEOUT));
    diags
}

#[async_trait::async_trait]
impl Action for VmAccessResetAction {
    fn validate(&self, config: &Object) -> Diagnostics {
        validate_config(config)
    }

    /// Everything that can be checked without changing anything: the VM exists and is running
    /// with a ready agent, the settings suit its OS, and which extension name the run will use.
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
        match engine.check(&vm, &name, None, &ctx).await {
            Ok(checked) => {
                tracing::debug!(vm = %vm, extension = %checked.name, "vm_access_reset action planned");
                let kind = checked.vm.kind();
                diags.extend(validation::for_os(
                    config,
                    kind.os,
                    vm.name(),
                    &ACTION_PASSWORDS,
                ));
                if kind.os == OsType::Linux {
                    let password = (!config.is_null(PASSWORD)).then_some(PASSWORD);
                    diags.extend(linux_warnings(
                        &settings.access,
                        password,
                        vm.name(),
                        checked.vm.password_authentication_disabled,
                    ));
                }
                if let Some(existing) = checked.adopted {
                    diags.push(reusing_existing(vm.name(), &existing, kind, REUSED));
                }
            }
            Err(e) => diags.push(run_error(&e, &doing, for_os(None))),
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
        progress
            .send(format!(
                "Checking VM {:?}: exists, its OS, is running, agent ready",
                vm.name()
            ))
            .await;
        // The OS picks the extension; settings unknown at plan meet its rules now.
        let name = NameChoice::Choose(settings.extension_name.clone());
        let os = match engine.check(&vm, &name, None, &ctx).await {
            Ok(checked) => checked.vm.kind().os,
            Err(e) => {
                diags.push(run_error(&e, &doing, for_os(None)));
                return diags;
            }
        };
        diags.extend(validation::for_os(
            &config,
            os,
            vm.name(),
            &ACTION_PASSWORDS,
        ));
        if diags.has_errors() {
            return diags;
        }
        let kind = for_os(Some(os));
        let what = settings.access.describe(os);
        let request = RunRequest {
            vm: vm.clone(),
            name,
            handler_version: settings
                .handler_version
                .clone()
                .unwrap_or_else(|| kind.default_handler_version.to_string()),
            auto_upgrade_minor_version: true,
            input: settings.access.clone().input(os),
        };
        let started = Instant::now();
        let result = surface::progress::forwarded(&progress, |lines| async move {
            let report = move |p: RunProgress| {
                lines.push(describe(&p, &what, os, started.elapsed()));
            };
            engine
                .reset(request, &ctx, &report)
                .await
                .map(|run| (run, engine, ctx))
        })
        .await;
        let (run, engine, ctx) = match result {
            Ok(done) => done,
            Err(e) => {
                diags.push(run_error(&e, &doing, kind));
                return diags;
            }
        };
        if let Some(existing) = &run.adopted {
            diags.push(reusing_existing(vm.name(), existing, kind, REUSED));
        }
        match &run.outcome {
            Outcome::Succeeded => {}
            Outcome::Unknown(e) => {
                diags.push(may_still_run(e, &vm, run.extension.name()));
                return diags;
            }
            Outcome::Failed(e) | Outcome::NotStarted(e) => {
                diags.push(diagnostic(e, &doing, kind));
                return diags;
            }
        }
        // The extension's own word on what it did.
        if let Ok(Lookup::Found(status)) = engine.status_of(kind, &run.extension, &ctx).await
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
                Err(e) => diags.push(Diagnostic::warning(
                    "The reset succeeded, but the extension stays on the VM",
                    format!(
                        "Removing extension {:?} failed: {e}. The reset is in effect; remove \
                             the extension by hand (`az vm extension delete`) if you want it gone.",
                        run.extension.name()
                    ),
                )),
            }
        }
        diags
    }
}

/// One line of progress for the terminal; `elapsed` is the time since the action started.
fn describe(progress: &RunProgress, what: &str, os: OsType, elapsed: Duration) -> String {
    let elapsed = surface::progress::elapsed(elapsed);
    match progress {
        RunProgress::VmChecked { vm } => {
            format!("VM {vm:?} is a running {os} VM and its agent is ready")
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
