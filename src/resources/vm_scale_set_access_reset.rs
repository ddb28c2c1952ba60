//! `vm_scale_set_access_reset`: keeps access reset on every instance of a VM scale set (uniform
//! or flexible, Windows or Linux) by running VMAccess on each running instance, a batch at a time.
//! State keeps each instance's result, never a secret. Refresh lists the instances again: an
//! instance that failed, was stopped and has started, or was added since, plans a rerun of those
//! instances only; a change of the inputs reruns every instance. The scale set's model is left
//! alone unless `update_model` is `true`.
//!
//! Reads top-down: schema, validate, plan, apply, read, delete, import. The Azure work is the
//! engine's ([`crate::vmaccess`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::azure::{OsType, ScaleSetId};
use crate::runtime::Runtime;
use crate::surface;
use crate::surface::access::{AccessSettings, linux_warnings};
use crate::surface::attributes::{
    EXPIRATION, ID, INSTANCES, MAX_PARALLEL_INSTANCES, ORCHESTRATION_MODE, OS_TYPE, PASSWORD_WO,
    PASSWORD_WO_VERSION, REMOVE_PRIOR_KEYS, RESET_SSH, SSH_PUBLIC_KEYS, TIMEOUTS, TRIGGERS,
    TYPE_HANDLER_VERSION, UPDATE_MODEL, USERNAME, VIRTUAL_MACHINE_SCALE_SET_ID,
};
use crate::surface::diagnostics::run_error;
use crate::surface::scale_set::{self, DEFAULT_MAX_PARALLEL, MAX_PARALLEL_LIMIT};
use crate::surface::validation::{self, PasswordAttributes};
use crate::tfprotocol::timeouts::{self, Operation};
use crate::tfprotocol::{
    ApplyRequest, Attribute, Block, DeleteRequest, Diagnostic, Diagnostics, ImportRequest, Object,
    PlanRequest, PlanResponse, ReadRequest, Resource, Schema, StateResponse, Type, ValidateRequest,
    Value,
};
use crate::vmaccess::{InstanceOutcome, RunError, ScaleSetFacts, ScaleSetRequest, for_os};

/// The resource type.
pub const TYPE_NAME: &str = "vm_scale_set_access_reset";
/// Each operation's timeout when `timeouts` does not set it.
pub const DEFAULT_TIMEOUTS: [(Operation, Duration); 4] = [
    (Operation::Create, Duration::from_secs(60 * 60)),
    (Operation::Update, Duration::from_secs(60 * 60)),
    (Operation::Read, Duration::from_secs(5 * 60)),
    (Operation::Delete, Duration::from_secs(5 * 60)),
];

/// An instance's result in state.
const NAME: &str = "name";
const RESULT: &str = "result";
const MESSAGE: &str = "message";
const EXTENSION_NAME: &str = "extension_name";
/// The result of an instance that has not been reset yet (added, or started, since the last run).
const PENDING: &str = "pending";
const SUCCEEDED: &str = "succeeded";
const SKIPPED: &str = "skipped";

/// Inputs whose change reruns every instance.
const RERUN_INPUTS: &[&str] = &[
    USERNAME,
    PASSWORD_WO_VERSION,
    SSH_PUBLIC_KEYS,
    REMOVE_PRIOR_KEYS,
    RESET_SSH,
    EXPIRATION,
    TRIGGERS,
    TYPE_HANDLER_VERSION,
    UPDATE_MODEL,
];

pub(crate) struct VmScaleSetAccessReset {
    runtime: Arc<Runtime>,
}

impl VmScaleSetAccessReset {
    pub(crate) fn new(runtime: Arc<Runtime>) -> VmScaleSetAccessReset {
        VmScaleSetAccessReset { runtime }
    }
}

fn instance_type() -> Type {
    Type::Object(BTreeMap::from(
        [ID, NAME, RESULT, MESSAGE, EXTENSION_NAME].map(|a| (a.to_string(), Type::String)),
    ))
}

/// The resource's schema.
pub fn schema() -> Schema {
    let block = Block::new(
        "Resets access on every instance of a VM scale set, uniform or flexible, by running VMAccess on each running \
         instance as `vm_access_reset` does on one VM: on Windows an administrator's password or the Remote Desktop \
         configuration, on Linux a password, SSH keys or the default sshd configuration. Instances run a batch at a time; \
         stopped and deallocated ones are skipped. `instances` keeps each instance's result. An instance that failed, \
         started since, or was added since plans a rerun of those instances only; a change of the inputs, a bump of \
         `password_wo_version` or a change of `triggers` reruns every instance. The scale set's model is not changed unless \
         `update_model` is `true`, so instances created later come up with the model's own credentials.",
    )
    .attribute(
        Attribute::string(ID)
            .computed()
            .use_state_for_unknown()
            .description("The ARM ID of the scale set."),
    )
    .attribute(
        Attribute::string(VIRTUAL_MACHINE_SCALE_SET_ID).required().requires_replace().description(
            "The ARM ID of the scale set, `/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}`. \
             Changing it replaces the resource.",
        ),
    )
    .attribute(Attribute::string(OS_TYPE).computed().use_state_for_unknown().description(
        "The OS of the scale set's model, `Windows` or `Linux`, read at plan time; it picks the extension.",
    ))
    .attribute(Attribute::string(ORCHESTRATION_MODE).computed().use_state_for_unknown().description(
        "The scale set's orchestration mode, `Uniform` (instances reached through the scale set) or `Flexible` (instances are \
         VMs).",
    ))
    .attribute(Attribute::string(USERNAME).optional().description(
        "The account to reset on every instance, as for `vm_access_reset`. On Windows, leave it out to reset the Remote \
         Desktop configuration only.",
    ))
    .attribute(Attribute::string(PASSWORD_WO).optional().write_only().description(
        "The new password, write-only: sent to Azure, never stored in plan or state. Bump `password_wo_version` to rotate.",
    ))
    .attribute(Attribute::number(PASSWORD_WO_VERSION).optional().description(
        "Required with `password_wo`. Any change reruns every instance with the current `password_wo`.",
    ))
    .attribute(Attribute::new(SSH_PUBLIC_KEYS, Type::set(Type::String)).optional().description(
        "Linux only. OpenSSH public keys added to `username`'s `~/.ssh/authorized_keys` on every instance.",
    ))
    .attribute(Attribute::bool(REMOVE_PRIOR_KEYS).optional().description(
        "Linux only. `true` replaces `username`'s authorized keys with `ssh_public_keys`. Needs `ssh_public_keys`.",
    ))
    .attribute(Attribute::bool(RESET_SSH).optional().description(
        "Linux only. `true` replaces every instance's `/etc/ssh/sshd_config` with the distribution's default.",
    ))
    .attribute(Attribute::string(EXPIRATION).optional().description(
        "Linux only. The date (`yyyy-mm-dd`, in the future) on which an account the run creates expires.",
    ))
    .attribute(Attribute::new(TRIGGERS, Type::map(Type::String)).optional().description(
        "Arbitrary values; any change reruns every instance.",
    ))
    .attribute(Attribute::string(TYPE_HANDLER_VERSION).optional().computed().use_state_for_unknown().description(
        "The handler version: on Windows `2.0` or later, default `2.4`; on Linux `1.x`, default `1.5`. A change reruns every \
         instance.",
    ))
    .attribute(Attribute::number(MAX_PARALLEL_INSTANCES).default(Value::int(DEFAULT_MAX_PARALLEL)).description(&format!(
        "How many instances are reset at once, 1 to {MAX_PARALLEL_LIMIT}. Defaults to {DEFAULT_MAX_PARALLEL}. Writes are also \
         paced by the subscription's ARM write budget. A change alone reruns nothing."
    )))
    .attribute(Attribute::bool(UPDATE_MODEL).default(Value::Bool(false)).description(
        "`true` also sets the VMAccess extension of the scale set's model, so that instances created or reimaged later get \
         the same access; the plan then warns that the credentials live in the model and run again on every scale-out and \
         reimage. Defaults to `false`: the model is not touched.",
    ))
    .attribute(Attribute::new(INSTANCES, Type::list(instance_type())).computed().description(
        "Each instance's result, in the scale set's order: `id`, `name`, `result` (`succeeded`, `failed`, `unknown`, \
         `not started`, `skipped` for a stopped or deallocated instance, `pending` for one added or started since the last \
         run), `message` (why, when not `succeeded`) and `extension_name` (the VMAccess extension on the instance).",
    ))
    .block(TIMEOUTS, timeouts::block(&DEFAULT_TIMEOUTS));
    Schema { version: 0, block }
}

const PASSWORDS: PasswordAttributes = PasswordAttributes {
    names: &[PASSWORD_WO],
    missing_at: USERNAME,
    missing_advice: "A `username` needs a new password: set `password_wo` with `password_wo_version`.",
};

/// Plan-time validation; values still unknown are checked at apply.
pub(crate) fn validate_config(config: &Object) -> Diagnostics {
    let mut diags = validation::account(config, &PASSWORDS);
    diags.extend(validation::write_only_password(config));
    diags.extend(scale_set::target(config));
    for (op, default) in DEFAULT_TIMEOUTS {
        if let Err(d) = timeouts::get(config, op, default) {
            diags.push(d);
        }
    }
    diags
}

/// One instance's entry in state.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    id: String,
    name: String,
    result: String,
    message: Option<String>,
    extension_name: Option<String>,
}

impl Entry {
    fn from_value(v: &Value) -> Option<Entry> {
        let o = v.as_object()?;
        let s = |a: &str| o.get_string(a).map(str::to_string);
        Some(Entry {
            id: s(ID)?,
            name: s(NAME)?,
            result: s(RESULT)?,
            message: s(MESSAGE),
            extension_name: s(EXTENSION_NAME),
        })
    }

    fn to_value(&self) -> Value {
        Value::Object(
            Object::new()
                .with(ID, Value::string(&self.id))
                .with(NAME, Value::string(&self.name))
                .with(RESULT, Value::string(&self.result))
                .with(MESSAGE, Value::opt_string(self.message.clone()))
                .with(
                    EXTENSION_NAME,
                    Value::opt_string(self.extension_name.clone()),
                ),
        )
    }

    /// Whether the next apply runs this instance again (a stopped one is `skipped`, not rerun).
    fn needs_run(&self) -> bool {
        !matches!(self.result.as_str(), SUCCEEDED | SKIPPED)
    }
}

fn entries(state: &Object) -> Vec<Entry> {
    match state.get(INSTANCES).concrete() {
        Value::List(items) => items.iter().filter_map(Entry::from_value).collect(),
        _ => Vec::new(),
    }
}

fn entries_value(entries: &[Entry]) -> Value {
    Value::List(entries.iter().map(Entry::to_value).collect())
}

/// The prior results brought up to date with the instances Azure lists now: instances gone are
/// dropped; a stopped instance that has not taken the reset is `skipped`; one that started, or
/// was added, since the last run is `pending`.
fn refreshed(prior: &[Entry], facts: &ScaleSetFacts) -> Vec<Entry> {
    facts
        .instances
        .iter()
        .map(|instance| {
            let before = prior
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(&instance.name));
            let stopped = instance.skip_reason();
            match (before, stopped) {
                (Some(e), _) if e.result == SUCCEEDED => e.clone(),
                (before, Some(reason)) => Entry {
                    id: instance.id.to_string(),
                    name: instance.name.clone(),
                    result: SKIPPED.into(),
                    message: Some(reason),
                    extension_name: before.and_then(|e| e.extension_name.clone()),
                },
                (Some(e), None) if e.result == SKIPPED => Entry {
                    result: PENDING.into(),
                    message: Some("the instance has started since the last run".into()),
                    ..e.clone()
                },
                (Some(e), None) => e.clone(),
                (None, None) => Entry {
                    id: instance.id.to_string(),
                    name: instance.name.clone(),
                    result: PENDING.into(),
                    message: Some("the instance was added since the last run".into()),
                    extension_name: None,
                },
            }
        })
        .collect()
}

/// The inputs that changed between the prior state and the plan, if any.
fn changed_input(prior: &Object, planned: &Object) -> Option<&'static str> {
    RERUN_INPUTS
        .iter()
        .copied()
        .find(|a| planned.get(a) != prior.get(a))
}

#[async_trait::async_trait]
impl Resource for VmScaleSetAccessReset {
    fn validate(&self, request: ValidateRequest<'_>) -> Diagnostics {
        validate_config(request.config)
    }

    /// A run is planned on create, on a changed input (every instance) and when refresh left
    /// instances that have not taken the reset (those only). A planned run reads the scale set
    /// once: its OS sets the rules, and the plan warns of skipped instances and of the model.
    async fn plan(&self, request: &PlanRequest, response: &mut PlanResponse) {
        let config = &request.config;
        let rerun: Option<Vec<String>> = match &request.prior {
            None => None,
            Some(_) if !response.requires_replace.is_empty() => None,
            Some(prior) => {
                if let Some(attr) = changed_input(prior, &response.planned) {
                    tracing::debug!(attr, "input changed: every instance reruns");
                    None
                } else {
                    let pending: Vec<Entry> = entries(prior)
                        .into_iter()
                        .filter(Entry::needs_run)
                        .collect();
                    if pending.is_empty() {
                        // Nothing to run: keep the results (a changed batch size alone runs nothing).
                        response
                            .planned
                            .set(INSTANCES, prior.get(INSTANCES).clone());
                        return;
                    }
                    response.planned.set(INSTANCES, Value::Unknown);
                    response.diagnostics.push(Diagnostic::warning(
                        "Instances that did not take the reset will run again",
                        format!(
                            "{} instance(s) of the scale set have not taken the reset, so this apply runs it on them \
                             only:\n{}",
                            pending.len(),
                            pending
                                .iter()
                                .map(|e| format!(
                                    "- {:?}: {}{}",
                                    e.name,
                                    e.result,
                                    e.message.as_deref().map(|m| format!(", {m}")).unwrap_or_default()
                                ))
                                .collect::<Vec<_>>()
                                .join("\n")
                        ),
                    ));
                    Some(pending.into_iter().map(|e| e.name).collect())
                }
            }
        };
        let Some(id) = config
            .get_string(VIRTUAL_MACHINE_SCALE_SET_ID)
            .and_then(|id| scale_set::scale_set_id(id).ok())
        else {
            return; // Known at apply.
        };
        let engine = match surface::engine(&self.runtime) {
            Ok(engine) => engine,
            Err(d) => return response.diagnostics.push(d),
        };
        let read = timeouts::get(config, Operation::Read, DEFAULT_TIMEOUTS[2].1)
            .unwrap_or(DEFAULT_TIMEOUTS[2].1);
        let ctx = self.runtime.context(read);
        let facts = match engine.inspect_scale_set(&id, &ctx).await {
            Ok(facts) => facts,
            // A scale set created in the same apply: apply reads it.
            Err(RunError::ScaleSetNotFound { .. }) if request.prior.is_none() => return,
            Err(e) => {
                let doing = format!("reading scale set {:?}", id.name());
                return response
                    .diagnostics
                    .push(run_error(&e, &doing, for_os(None)));
            }
        };
        let kind = facts.kind();
        let planned = &mut response.planned;
        planned.set(OS_TYPE, Value::string(kind.os.as_str()));
        planned.set(
            ORCHESTRATION_MODE,
            Value::string(facts.orchestration.as_str()),
        );
        if config.is_null(TYPE_HANDLER_VERSION) {
            planned.set(
                TYPE_HANDLER_VERSION,
                Value::string(kind.default_handler_version),
            );
        }
        let label = format!("scale set {}", id.name());
        let diags = &mut response.diagnostics;
        diags.extend(validation::for_os(config, kind.os, &label, &PASSWORDS));
        if kind.os == OsType::Linux {
            let settings = AccessSettings::from_config(config, None);
            let password = (!config.is_null(PASSWORD_WO)).then_some(PASSWORD_WO);
            diags.extend(linux_warnings(&settings, password, &label, None));
        }
        let names: Vec<&str> = match &rerun {
            Some(names) => names.iter().map(String::as_str).collect(),
            None => facts.instances.iter().map(|i| i.name.as_str()).collect(),
        };
        diags.extend(scale_set::plan_warnings(
            &facts,
            kind,
            config.get_bool(UPDATE_MODEL) == Some(true),
            &names,
            "apply again",
        ));
    }

    async fn create(&self, request: ApplyRequest) -> StateResponse {
        self.apply(request).await
    }

    async fn update(&self, request: ApplyRequest) -> StateResponse {
        self.apply(request).await
    }

    /// Lists the instances again; `None` when the scale set is gone.
    async fn read(&self, request: ReadRequest) -> StateResponse {
        let state = request.state;
        let Some(id) = state
            .get_string(VIRTUAL_MACHINE_SCALE_SET_ID)
            .and_then(|id| ScaleSetId::parse(id).ok())
        else {
            return StateResponse {
                state: Some(state),
                ..StateResponse::default()
            };
        };
        let engine = match surface::engine(&self.runtime) {
            Ok(engine) => engine,
            Err(d) => return StateResponse::error(d),
        };
        let read = timeouts::get(&state, Operation::Read, DEFAULT_TIMEOUTS[2].1)
            .unwrap_or(DEFAULT_TIMEOUTS[2].1);
        let ctx = self.runtime.context(read);
        let facts = match engine.inspect_scale_set(&id, &ctx).await {
            Ok(facts) => facts,
            Err(RunError::ScaleSetNotFound { .. }) => {
                tracing::info!(scale_set = %id, "the scale set is gone; removing it from state");
                return StateResponse::default();
            }
            Err(e) => {
                let doing = format!("reading scale set {:?}", id.name());
                return StateResponse::error(run_error(&e, &doing, for_os(None)));
            }
        };
        let mut state = state;
        state.set(
            INSTANCES,
            entries_value(&refreshed(&entries(&state), &facts)),
        );
        StateResponse {
            state: Some(state),
            ..StateResponse::default()
        }
    }

    /// Forgets the results. The instances keep their access and their VMAccess extensions, as
    /// a reset cannot be undone.
    async fn delete(&self, _request: DeleteRequest) -> StateResponse {
        StateResponse::default()
    }

    async fn import(&self, _request: ImportRequest<'_>) -> StateResponse {
        StateResponse::error(Diagnostic::error(
            "vm_scale_set_access_reset cannot be imported",
            "A scale set reset has nothing in Azure to import: its results exist only in state. Declare the resource and \
             apply; it resets every running instance once. To adopt one VM's existing VMAccess extension, import a \
             `vm_access_reset` instead.",
        ))
    }
}

impl VmScaleSetAccessReset {
    /// Create and update: run on every instance, or only on those that have not taken the reset
    /// when no input changed; then merge the results into the prior ones.
    async fn apply(&self, request: ApplyRequest) -> StateResponse {
        let ApplyRequest {
            prior,
            planned,
            config,
            ..
        } = request;
        let mut diags = validate_config(&config);
        if diags.has_errors() {
            return StateResponse::error(diags);
        }
        let id = match scale_set::scale_set_id(
            config
                .get_string(VIRTUAL_MACHINE_SCALE_SET_ID)
                .unwrap_or_default(),
        ) {
            Ok(id) => id,
            Err(d) => return StateResponse::error(d),
        };
        let engine = match surface::engine(&self.runtime) {
            Ok(engine) => engine,
            Err(d) => return StateResponse::error(d),
        };
        let op = if prior.is_some() {
            Operation::Update
        } else {
            Operation::Create
        };
        let timeout =
            timeouts::get(&planned, op, DEFAULT_TIMEOUTS[0].1).unwrap_or(DEFAULT_TIMEOUTS[0].1);
        let ctx = self.runtime.context(timeout);
        let doing = format!("resetting access on scale set {:?}", id.name());
        let facts = match engine.inspect_scale_set(&id, &ctx).await {
            Ok(facts) => facts,
            Err(e) => return StateResponse::error(run_error(&e, &doing, for_os(None))),
        };
        let kind = facts.kind();
        let os = kind.os;
        diags.extend(validation::for_os(
            &config,
            os,
            &format!("scale set {}", id.name()),
            &PASSWORDS,
        ));
        if diags.has_errors() {
            return StateResponse::error(diags);
        }
        let prior_entries = prior.as_ref().map(entries).unwrap_or_default();
        let only: Option<BTreeSet<String>> = match &prior {
            Some(p) if changed_input(p, &planned).is_none() => Some(
                refreshed(&prior_entries, &facts)
                    .into_iter()
                    .filter(Entry::needs_run)
                    .map(|e| e.name)
                    .collect(),
            ),
            _ => None,
        };
        let full_run = only.is_none();
        let handler_version = planned
            .get_string(TYPE_HANDLER_VERSION)
            .unwrap_or(kind.default_handler_version)
            .to_string();
        let access = AccessSettings::from_config(
            &config,
            config.get_string(PASSWORD_WO).map(SecretString::from),
        );
        let request = ScaleSetRequest {
            facts: facts.clone(),
            only,
            handler_version: handler_version.clone(),
            auto_upgrade_minor_version: true,
            input: access.input(os),
            max_parallel: scale_set::max_parallel(&planned),
            // The model is written with a full run only: a rerun of a few instances, or a change
            // of the batch size, leaves it as the last full run set it.
            update_model: planned.get_bool(UPDATE_MODEL) == Some(true) && full_run,
        };
        let report = |p| tracing::debug!(progress = ?p, "scale set reset");
        let run = engine.reset_scale_set(request, &ctx, &report).await;

        // This run's results, over the prior ones for instances it did not run.
        let mut merged = refreshed(&prior_entries, &facts);
        for result in &run.instances {
            let entry = Entry {
                id: result.id.to_string(),
                name: result.name.clone(),
                result: result.outcome.label().to_string(),
                message: scale_set::instance_message(&result.outcome),
                extension_name: match &result.outcome {
                    InstanceOutcome::Ran { extension, .. } => Some(extension.clone()),
                    _ => None,
                },
            };
            match merged
                .iter_mut()
                .find(|e| e.name.eq_ignore_ascii_case(&result.name))
            {
                Some(slot) => {
                    let keep_name = slot.extension_name.clone();
                    *slot = Entry {
                        extension_name: entry.extension_name.or(keep_name),
                        ..entry
                    };
                }
                None => merged.push(entry),
            }
        }
        let mut state = planned;
        state.set(ID, Value::string(id.to_string()));
        state.set(OS_TYPE, Value::string(os.as_str()));
        state.set(
            ORCHESTRATION_MODE,
            Value::string(facts.orchestration.as_str()),
        );
        state.set(TYPE_HANDLER_VERSION, Value::string(&handler_version));
        state.set(INSTANCES, entries_value(&merged));

        let ran = run
            .instances
            .iter()
            .filter(|r| r.outcome.label() != SKIPPED)
            .count();
        let succeeded = run
            .instances
            .iter()
            .filter(|r| r.outcome.succeeded())
            .count();
        // When some instances took the reset, their results must stay in state untainted (an
        // error on create taints, and the replacement would run every instance again), so that
        // the next apply reruns only the others: a warning. With none taken, an error.
        if let Some(d) = scale_set::failures(
            &run.instances,
            id.name(),
            kind,
            "apply again: only the instances that did not take the reset run again.",
            succeeded == 0 && ran > 0,
        ) {
            diags.push(d);
        }
        if let Some(d) = run
            .model
            .as_ref()
            .and_then(|outcome| scale_set::model_diagnostic(outcome, id.name(), kind))
        {
            diags.push(d);
        }
        StateResponse {
            state: Some(state),
            private: Vec::new(),
            diagnostics: diags,
        }
    }
}
