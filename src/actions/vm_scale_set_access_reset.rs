//! The `vm_scale_set_access_reset` action: a one-shot reset of every instance of a VM scale set
//! (`terraform apply -invoke=action.vm_scale_set_access_reset.NAME`), uniform or flexible, Windows
//! or Linux. It lists the instances, skips the stopped ones, resets the rest a batch at a time
//! and streams each instance's progress; it ends with an error naming every instance that did not
//! take the reset. The model is left alone unless `update_model` asks otherwise.
//!
//! Reads like the `vm_access_reset` action: schema, validate, plan (the engine's read of the
//! scale set), invoke. The Azure work is the engine's ([`crate::vmaccess`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::azure::OsType;
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::access::{AccessSettings, linux_warnings};
use crate::surface::attributes::{
    EXPIRATION, MAX_PARALLEL_INSTANCES, PASSWORD, REMOVE_PRIOR_KEYS, REMOVE_USER, RESET_SSH,
    SSH_PUBLIC_KEYS, TIMEOUT, TYPE_HANDLER_VERSION, UPDATE_MODEL, USERNAME,
    VIRTUAL_MACHINE_SCALE_SET_ID,
};
use crate::surface::diagnostics::run_error;
use crate::surface::scale_set::{self, DEFAULT_MAX_PARALLEL, MAX_PARALLEL_LIMIT};
use crate::surface::validation::{self, ACTION_PASSWORDS};
use crate::tfprotocol::timeouts::parse_duration;
use crate::tfprotocol::{Action, Attribute, Block, Diagnostics, Object, Progress, Schema, Type};
use crate::vmaccess::{
    ModelOutcome, Progress as RunProgress, ScaleSetProgress, ScaleSetRequest, for_os,
};

pub(crate) const TYPE_NAME: &str = "vm_scale_set_access_reset";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Reading the scale set and its instances at plan time: a few reads.
const PLAN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub(crate) struct VmScaleSetAccessResetAction {
    runtime: Arc<Runtime>,
}

impl VmScaleSetAccessResetAction {
    pub(crate) fn new(runtime: Arc<Runtime>) -> VmScaleSetAccessResetAction {
        VmScaleSetAccessResetAction { runtime }
    }
}

/// The action's `config` block.
pub fn schema() -> Schema {
    let block = Block::new(
        "Resets access on every instance of a VM scale set, uniform or flexible, by running its VMAccess extension on each \
         running instance: on Windows (`VMAccessAgent`) an administrator's password or the Remote Desktop configuration; on \
         Linux (`VMAccessForLinux`) an account's password or SSH keys, the default sshd configuration, or the removal of a \
         user. Instances run a batch at a time and report their progress; stopped and deallocated instances are skipped. The \
         scale set's model is left alone unless `update_model` is `true`, so instances created later come up with the \
         model's own credentials. Nothing is written to state.",
    )
    .attribute(Attribute::string(VIRTUAL_MACHINE_SCALE_SET_ID).required().description(
        "The ARM ID of the scale set, `/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}`.",
    ))
    .attribute(Attribute::string(USERNAME).optional().description(
        "The account to reset on every instance, as for `vm_access_reset`. On Windows, leave it out to reset the Remote \
         Desktop configuration only.",
    ))
    .attribute(Attribute::string(PASSWORD).optional().sensitive().write_only().description(
        "The new password, write-only: it goes to Azure's protected settings and is never stored in the plan, the state or \
         any message. On Linux a password also turns on SSH password logins on every instance.",
    ))
    .attribute(Attribute::new(SSH_PUBLIC_KEYS, Type::set(Type::String)).optional().description(
        "Linux only. OpenSSH public keys added to `username`'s `~/.ssh/authorized_keys` on every instance.",
    ))
    .attribute(Attribute::bool(REMOVE_PRIOR_KEYS).optional().description(
        "Linux only. `true` replaces `username`'s authorized keys with `ssh_public_keys`: the way to revoke a lost key.",
    ))
    .attribute(Attribute::bool(RESET_SSH).optional().description(
        "Linux only. `true` replaces every instance's `/etc/ssh/sshd_config` with the distribution's default.",
    ))
    .attribute(Attribute::string(EXPIRATION).optional().description(
        "Linux only. The date (`yyyy-mm-dd`, in the future) on which an account the run creates expires.",
    ))
    .attribute(Attribute::string(REMOVE_USER).optional().description(
        "Linux only. An account to delete, with its home directory, on every instance.",
    ))
    .attribute(Attribute::string(TYPE_HANDLER_VERSION).optional().description(
        "The handler version: on Windows `2.0` or later, default `2.4`; on Linux `1.x`, default `1.5`.",
    ))
    .attribute(Attribute::number(MAX_PARALLEL_INSTANCES).optional().description(&format!(
        "How many instances are reset at once, 1 to {MAX_PARALLEL_LIMIT}. Defaults to {DEFAULT_MAX_PARALLEL}. Writes are \
         also paced by the subscription's ARM write budget."
    )))
    .attribute(Attribute::bool(UPDATE_MODEL).optional().description(
        "`true` also sets the VMAccess extension of the scale set's model, so that instances created or reimaged later get \
         the same access. The credentials then live in the model and run again on every scale-out and reimage. Defaults to \
         `false`: the model is not touched.",
    ))
    .attribute(Attribute::string(TIMEOUT).optional().description(
        "How long the whole run may take, a duration such as `30m` or `2h`. Defaults to `1h`.",
    ));
    Schema { version: 0, block }
}

/// Plan-time checks that need no Azure call; values still unknown are checked at invoke.
pub(crate) fn validate_config(config: &Object) -> Diagnostics {
    let mut diags = validation::account(config, &ACTION_PASSWORDS);
    diags.extend(scale_set::target(config));
    diags.extend(validation::timeout(config, TIMEOUT));
    diags
}

#[async_trait::async_trait]
impl Action for VmScaleSetAccessResetAction {
    fn validate(&self, config: &Object) -> Diagnostics {
        validate_config(config)
    }

    /// Reads the scale set and its instances: the settings must suit the model's OS, and the
    /// plan warns of skipped instances and of credentials in the model.
    async fn plan(&self, config: &Object) -> Diagnostics {
        let mut diags = validate_config(config);
        if diags.has_errors() {
            return diags;
        }
        let Some(id) = config
            .get_string(VIRTUAL_MACHINE_SCALE_SET_ID)
            .and_then(|id| scale_set::scale_set_id(id).ok())
        else {
            return diags;
        };
        let engine = match surface::engine(&self.runtime) {
            Ok(engine) => engine,
            Err(d) => {
                diags.push(d);
                return diags;
            }
        };
        let ctx = self.runtime.context(PLAN_TIMEOUT);
        let facts = match engine.inspect_scale_set(&id, &ctx).await {
            Ok(facts) => facts,
            Err(e) => {
                let doing = format!("reading scale set {:?}", id.name());
                diags.push(run_error(&e, &doing, for_os(None)));
                return diags;
            }
        };
        let kind = facts.kind();
        let label = format!("scale set {}", id.name());
        diags.extend(validation::for_os(
            config,
            kind.os,
            &label,
            &ACTION_PASSWORDS,
        ));
        if kind.os == OsType::Linux {
            let settings = AccessSettings::from_config(config, None);
            let password = (!config.is_null(PASSWORD)).then_some(PASSWORD);
            diags.extend(linux_warnings(&settings, password, &label, None));
        }
        let all: Vec<&str> = facts.instances.iter().map(|i| i.name.as_str()).collect();
        diags.extend(scale_set::plan_warnings(
            &facts,
            kind,
            config.get_bool(UPDATE_MODEL) == Some(true),
            &all,
            "invoke the action again",
        ));
        diags
    }

    async fn invoke(&self, config: Object, progress: Progress) -> Diagnostics {
        let mut diags = validate_config(&config);
        if diags.has_errors() {
            return diags;
        }
        let id = match scale_set::scale_set_id(
            config
                .get_string(VIRTUAL_MACHINE_SCALE_SET_ID)
                .unwrap_or_default(),
        ) {
            Ok(id) => id,
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
        let timeout = config
            .get_string(TIMEOUT)
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(DEFAULT_TIMEOUT);
        let ctx = self.runtime.context(timeout);
        let doing = format!("resetting access on scale set {:?}", id.name());
        progress
            .send(format!(
                "Reading scale set {:?} and its instances",
                id.name()
            ))
            .await;
        let facts = match engine.inspect_scale_set(&id, &ctx).await {
            Ok(facts) => facts,
            Err(e) => {
                diags.push(run_error(&e, &doing, for_os(None)));
                return diags;
            }
        };
        let kind = facts.kind();
        let os = kind.os;
        let label = format!("scale set {}", id.name());
        diags.extend(validation::for_os(&config, os, &label, &ACTION_PASSWORDS));
        if diags.has_errors() {
            return diags;
        }
        progress
            .send(format!(
                "Scale set {:?}: {} orchestration, {os}, {} instance(s)",
                id.name(),
                facts.orchestration.as_str(),
                facts.instances.len()
            ))
            .await;
        let access = AccessSettings::from_config(
            &config,
            config.get_string(PASSWORD).map(SecretString::from),
        );
        let what = access.describe(os);
        let max_parallel = scale_set::max_parallel(&config);
        let request = ScaleSetRequest {
            facts,
            only: None,
            handler_version: config
                .get_string(TYPE_HANDLER_VERSION)
                .unwrap_or(kind.default_handler_version)
                .to_string(),
            auto_upgrade_minor_version: true,
            input: access.input(os),
            max_parallel,
            update_model: config.get_bool(UPDATE_MODEL) == Some(true),
        };
        let started = Instant::now();
        let run = surface::progress::forwarded(&progress, |lines| async move {
            let report = move |p: ScaleSetProgress| {
                if let Some(line) = describe(&p, &what, max_parallel, started.elapsed()) {
                    lines.push(line);
                }
            };
            engine.reset_scale_set(request, &ctx, &report).await
        })
        .await;
        let count = |label: &str| {
            run.instances
                .iter()
                .filter(|r| r.outcome.label() == label)
                .count()
        };
        progress
            .send(format!(
                "Scale set {:?}: {} succeeded, {} failed, {} skipped, {} unknown of {} instance(s)",
                id.name(),
                count("succeeded"),
                count("failed") + count("not started"),
                count("skipped"),
                count("unknown"),
                run.instances.len()
            ))
            .await;
        if let Some(d) = scale_set::failures(
            &run.instances,
            id.name(),
            kind,
            "invoke the action again (it runs on every instance again).",
            true,
        ) {
            diags.push(d);
        }
        match &run.model {
            Some(ModelOutcome::Set(name)) => {
                progress
                    .send(format!("The scale set model's extension {name:?} is set"))
                    .await;
            }
            Some(outcome) => {
                if let Some(d) = scale_set::model_diagnostic(outcome, id.name(), kind) {
                    diags.push(d);
                }
            }
            None => {}
        }
        diags
    }
}

/// One line of progress, or `None` for steps not worth a line per instance.
fn describe(
    progress: &ScaleSetProgress,
    what: &str,
    max_parallel: usize,
    elapsed: Duration,
) -> Option<String> {
    let elapsed = surface::progress::elapsed(elapsed);
    Some(match progress {
        ScaleSetProgress::Listed { run, skipped } => format!(
            "Resetting {run} instance(s), {max_parallel} at a time, to {what}; skipping {skipped} stopped or deallocated"
        ),
        ScaleSetProgress::Skipped { instance, reason } => {
            format!("Instance {instance:?}: skipped, {reason}")
        }
        ScaleSetProgress::Instance { instance, step } => match step {
            RunProgress::Sending { extension, tag, .. } => format!(
                "Instance {instance:?}: setting extension {:?} (forceUpdateTag {tag})",
                extension.rsplit('/').next().unwrap_or(extension)
            ),
            RunProgress::Finished { outcome, status } => match status {
                Some(message) => {
                    format!("Instance {instance:?}: {outcome} at {elapsed}: {message}")
                }
                None => format!("Instance {instance:?}: {outcome} at {elapsed}"),
            },
            RunProgress::VmChecked { .. } | RunProgress::Accepted | RunProgress::Running { .. } => {
                return None;
            }
        },
        ScaleSetProgress::Refused { instance, reason } => {
            format!("Instance {instance:?}: failed, nothing sent: {reason}")
        }
        ScaleSetProgress::SettingModel { extension } => {
            format!("Setting the scale set model's extension {extension}")
        }
    })
}
