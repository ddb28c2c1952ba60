//! A scale set as a target of the reset: read the scale set and its instances, run the access
//! extension on each running instance (a uniform set's instance through its own extension API, a
//! flexible set's VM as any VM) a few at a time, and report each instance's result. The model is
//! left alone unless the caller asks for its access extension to be set too.
//!
//! Every instance goes through [`Engine::reset`], so it gets the same preflight, single-handler
//! naming, fresh `forceUpdateTag` and classification as a single VM; writes are paced by the
//! client's gate, and instances run at most `max_parallel` at a time.

use std::collections::BTreeSet;

use futures_util::stream::{self, StreamExt};

use crate::azure::{
    AzureError, ExtensionPut, InstancePageAt, OpContext, Orchestration, OsType, ScaleSet,
    ScaleSetId, VirtualMachine, VirtualMachineId,
};

use super::access::AccessInput;
use super::error::RunError;
use super::inspect::VmFacts;
use super::kind::{self, Kind};
use super::run::{NameChoice, Outcome, Progress, RunRequest};
use super::{Arm, Engine};

/// The most pages of instances read before giving up: a scale set holds at most 1,000 uniform
/// instances (ARM pages them by the hundred at least), so more means a looping `nextLink`.
const MAX_PAGES: usize = 1_000;

/// A scale set as the engine sees it.
#[derive(Debug, Clone)]
pub(crate) struct ScaleSetFacts {
    pub(crate) id: ScaleSetId,
    pub(crate) orchestration: Orchestration,
    /// The OS of the model (every instance is built from it).
    pub(crate) os: Option<OsType>,
    /// `upgradePolicy.mode`, as Azure spells it.
    pub(crate) upgrade_mode: Option<String>,
    /// The model's access extensions, each under its resource name.
    model_extensions: Vec<(&'static Kind, String)>,
    pub(crate) instances: Vec<InstanceFacts>,
}

/// One instance of a scale set, from the paged list with instance views.
#[derive(Debug, Clone)]
pub(crate) struct InstanceFacts {
    /// The VM ID (flexible) or the instance's ID under the scale set (uniform).
    pub(crate) id: VirtualMachineId,
    /// The VM's name; a uniform instance's is `{scale set}_{instance ID}`.
    pub(crate) name: String,
    /// The `PowerState/*` suffix, when the instance view gives one.
    pub(crate) power: Option<String>,
    /// The instance as the engine checks a VM, from the listing's instance view.
    vm: VmFacts,
}

impl InstanceFacts {
    fn from_vm(vm: &VirtualMachine) -> Result<InstanceFacts, AzureError> {
        let id =
            VirtualMachineId::parse(vm.arm_id()).map_err(|e| AzureError::UnexpectedResponse {
                status: 200,
                detail: format!("the scale set listed an instance with an unusable ID: {e}"),
            })?;
        Ok(InstanceFacts {
            id,
            name: vm.name.clone(),
            power: vm.power_state(),
            vm: VmFacts::new(vm),
        })
    }

    /// Why the extension cannot run on this instance now (it runs inside the guest), if so: the
    /// instance is stopped or deallocated, or on its way there. Any other state (starting, or
    /// not reported) goes to the run's own preflight, which fails it with the reason.
    pub(crate) fn skip_reason(&self) -> Option<String> {
        const DOWN: [&str; 4] = ["stopped", "stopping", "deallocated", "deallocating"];
        let power = self.power.as_deref()?;
        DOWN.contains(&power)
            .then(|| format!("the instance is {power}; extensions run inside the guest"))
    }
}

impl ScaleSetFacts {
    fn new(id: ScaleSetId, set: &ScaleSet, instances: Vec<InstanceFacts>) -> ScaleSetFacts {
        ScaleSetFacts {
            id,
            orchestration: set.orchestration(),
            os: set.os_type(),
            upgrade_mode: set.upgrade_mode().map(str::to_string),
            model_extensions: kind::ALL
                .iter()
                .filter_map(|k| {
                    Some((
                        *k,
                        set.model_extension_name_of(k.publisher, k.extension_type)?,
                    ))
                })
                .collect(),
            instances,
        }
    }

    /// The access extension for the model's OS.
    pub(crate) fn kind(&self) -> &'static Kind {
        kind::for_os(self.os)
    }

    /// The name of the model's extension of `kind`, if the model has one.
    pub(crate) fn model_extension(&self, kind: &Kind) -> Option<&str> {
        self.model_extensions
            .iter()
            .find(|(k, _)| k.is(kind))
            .map(|(_, name)| name.as_str())
    }
}

/// What to run across a scale set.
#[derive(Debug)]
pub(crate) struct ScaleSetRequest {
    /// The scale set as [`Engine::inspect_scale_set`] read it.
    pub(crate) facts: ScaleSetFacts,
    /// Only these instances (by name, any casing); `None` for all of them.
    pub(crate) only: Option<BTreeSet<String>>,
    pub(crate) handler_version: String,
    pub(crate) auto_upgrade_minor_version: bool,
    pub(crate) input: AccessInput,
    /// How many instances run at once (at least 1).
    pub(crate) max_parallel: usize,
    /// Also set the model's access extension, for instances created or reimaged later (not
    /// when every instance that ran failed: the settings are then suspect).
    pub(crate) update_model: bool,
}

/// How one instance's reset ended.
#[derive(Debug)]
pub(crate) enum InstanceOutcome {
    /// Not attempted: the instance is stopped or deallocated.
    Skipped(String),
    /// Stopped before anything was sent (preflight, naming).
    Refused(RunError),
    /// The run was sent; how it ended, under which extension name.
    Ran { extension: String, outcome: Outcome },
}

impl InstanceOutcome {
    /// `succeeded`, `failed`, `unknown`, `not started` or `skipped`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            InstanceOutcome::Skipped(_) => "skipped",
            InstanceOutcome::Refused(_) => "failed",
            InstanceOutcome::Ran { outcome, .. } => outcome.label(),
        }
    }

    /// Whether the instance holds the requested access now.
    pub(crate) fn succeeded(&self) -> bool {
        matches!(
            self,
            InstanceOutcome::Ran {
                outcome: Outcome::Succeeded,
                ..
            }
        )
    }
}

/// One instance's result.
#[derive(Debug)]
pub(crate) struct InstanceResult {
    pub(crate) id: VirtualMachineId,
    pub(crate) name: String,
    pub(crate) outcome: InstanceOutcome,
}

/// What a scale-set run did.
#[derive(Debug)]
pub(crate) struct ScaleSetRun {
    /// In the order the scale set lists its instances.
    pub(crate) instances: Vec<InstanceResult>,
    /// What became of the model when it was to be set too.
    pub(crate) model: Option<ModelOutcome>,
}

/// The model's access extension, when the run was to set it.
#[derive(Debug)]
pub(crate) enum ModelOutcome {
    /// Set, under this name.
    Set(String),
    /// Not sent: every instance that ran failed, so the settings are not known to work.
    NotSent,
    /// Azure refused it or it failed.
    Failed(AzureError),
}

/// What the caller hears during a scale-set run, instance by instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScaleSetProgress {
    /// The instances were listed: how many will run, how many are skipped.
    Listed { run: usize, skipped: usize },
    /// An instance is skipped, and why.
    Skipped { instance: String, reason: String },
    /// A step of one instance's run.
    Instance { instance: String, step: Progress },
    /// An instance's run stopped before anything was sent (its agent is not ready, …).
    Refused { instance: String, reason: String },
    /// The model's access extension is being set.
    SettingModel { extension: String },
}

impl<A: Arm> Engine<A> {
    /// Reads the scale set and every page of its instances (with instance views).
    pub(crate) async fn inspect_scale_set(
        &self,
        id: &ScaleSetId,
        ctx: &OpContext,
    ) -> Result<ScaleSetFacts, RunError> {
        let set = match self.arm.get_scale_set(id, ctx).await {
            Ok(set) => set,
            Err(AzureError::NotFound { .. }) => {
                return Err(RunError::ScaleSetNotFound {
                    scale_set: id.clone(),
                });
            }
            Err(e) => return Err(RunError::Azure(e)),
        };
        let orchestration = set.orchestration();
        let mut instances = Vec::new();
        let mut next_link: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let at = InstancePageAt {
                scale_set: id,
                orchestration,
                next_link: next_link.as_deref(),
            };
            let page = self
                .arm
                .list_instances_page(at, ctx)
                .await
                .map_err(RunError::Azure)?;
            for vm in &page.vms {
                instances.push(InstanceFacts::from_vm(vm).map_err(RunError::Azure)?);
            }
            match page.next_link {
                Some(link) => next_link = Some(link),
                None => return Ok(ScaleSetFacts::new(id.clone(), &set, instances)),
            }
        }
        Err(RunError::Azure(AzureError::UnexpectedResponse {
            status: 200,
            detail: format!(
                "listing the instances of {id}: more than {MAX_PAGES} pages; the next page links \
                 do not end"
            ),
        }))
    }

    /// Resets the requested instances, `max_parallel` at a time; stopped and deallocated ones
    /// are skipped. Then, when asked, sets the model's access extension.
    pub(crate) async fn reset_scale_set(
        &self,
        request: ScaleSetRequest,
        ctx: &OpContext,
        report: &(dyn Fn(ScaleSetProgress) + Send + Sync),
    ) -> ScaleSetRun {
        let ScaleSetRequest {
            facts,
            only,
            handler_version,
            auto_upgrade_minor_version,
            input,
            max_parallel,
            update_model,
        } = request;
        let chosen: Vec<InstanceFacts> = facts
            .instances
            .iter()
            .filter(|i| {
                only.as_ref()
                    .is_none_or(|names| names.iter().any(|n| n.eq_ignore_ascii_case(&i.name)))
            })
            .cloned()
            .collect();
        let skipped = chosen.iter().filter(|i| i.skip_reason().is_some()).count();
        report(ScaleSetProgress::Listed {
            run: chosen.len() - skipped,
            skipped,
        });
        let runs: Vec<_> = chosen
            .into_iter()
            .map(|instance| {
                let request = RunRequest {
                    vm: instance.id.clone(),
                    name: NameChoice::Choose(None),
                    handler_version: handler_version.clone(),
                    auto_upgrade_minor_version,
                    input: input.clone(),
                };
                self.reset_instance(instance, request, ctx, report)
            })
            .collect();
        // `buffered` keeps the scale set's order in the results while running ahead.
        let instances: Vec<InstanceResult> = stream::iter(runs)
            .buffered(max_parallel.max(1))
            .collect()
            .await;
        let ran = instances
            .iter()
            .filter(|r| !matches!(r.outcome, InstanceOutcome::Skipped(_)))
            .count();
        let none_took_it = ran > 0 && !instances.iter().any(|r| r.outcome.succeeded());
        let model = match (update_model, none_took_it) {
            (false, _) => None,
            (true, true) => Some(ModelOutcome::NotSent),
            (true, false) => {
                let set = self.set_model(
                    &facts,
                    &handler_version,
                    auto_upgrade_minor_version,
                    &input,
                    ctx,
                    report,
                );
                Some(match set.await {
                    Ok(name) => ModelOutcome::Set(name),
                    Err(e) => ModelOutcome::Failed(e),
                })
            }
        };
        ScaleSetRun { instances, model }
    }

    /// One instance: skipped when stopped, else [`Engine::reset`].
    async fn reset_instance(
        &self,
        instance: InstanceFacts,
        request: RunRequest<AccessInput>,
        ctx: &OpContext,
        report: &(dyn Fn(ScaleSetProgress) + Send + Sync),
    ) -> InstanceResult {
        let outcome = match instance.skip_reason() {
            Some(reason) => {
                report(ScaleSetProgress::Skipped {
                    instance: instance.name.clone(),
                    reason: reason.clone(),
                });
                InstanceOutcome::Skipped(reason)
            }
            None => {
                let step = |step| {
                    report(ScaleSetProgress::Instance {
                        instance: instance.name.clone(),
                        step,
                    })
                };
                match self.reset_on(request, Some(instance.vm), ctx, &step).await {
                    Ok(run) => InstanceOutcome::Ran {
                        extension: run.extension.name().to_string(),
                        outcome: run.outcome,
                    },
                    Err(e) => {
                        report(ScaleSetProgress::Refused {
                            instance: instance.name.clone(),
                            reason: e.to_string(),
                        });
                        InstanceOutcome::Refused(e)
                    }
                }
            }
        };
        InstanceResult {
            id: instance.id,
            name: instance.name,
            outcome,
        }
    }

    /// PUTs the model's access extension (the model's existing one of the kind, else the kind's
    /// default name) with the same settings, and waits for it.
    async fn set_model(
        &self,
        facts: &ScaleSetFacts,
        handler_version: &str,
        auto_upgrade_minor_version: bool,
        input: &AccessInput,
        ctx: &OpContext,
        report: &(dyn Fn(ScaleSetProgress) + Send + Sync),
    ) -> Result<String, AzureError> {
        let kind = input.kind();
        let name = facts
            .model_extension(kind)
            .unwrap_or(kind.default_name)
            .to_string();
        let (settings, protected_settings) = input.settings();
        let body = ExtensionPut {
            location: None,
            publisher: kind.publisher.to_string(),
            extension_type: kind.extension_type.to_string(),
            type_handler_version: handler_version.to_string(),
            auto_upgrade_minor_version,
            force_update_tag: uuid::Uuid::new_v4().to_string(),
            settings,
            protected_settings,
        };
        let id = facts.id.model_extension(name.clone());
        report(ScaleSetProgress::SettingModel {
            extension: id.to_string(),
        });
        let pending = self.arm.begin_put_model_extension(&id, &body, ctx).await?;
        self.arm.wait(pending, ctx).await?;
        Ok(name)
    }
}
