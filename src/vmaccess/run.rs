//! One run of an extension: preflight, choose the name, PUT with a fresh tag, wait, classify.

use std::time::Duration;

use crate::azure::{AzureError, ExtensionId, ExtensionPut, OpContext, VirtualMachineId};

use super::error::RunError;
use super::inspect::VmFacts;
use super::{Arm, Engine, ExtensionKind, Kind};

/// How often a long wait reports that Azure is still running the extension.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Which extension resource to PUT.
#[derive(Debug, Clone)]
pub(crate) enum NameChoice {
    /// A rerun of the extension this caller already manages.
    Keep(String),
    /// A first run: the wanted name, or `None` for the VM's existing one, else the default.
    Choose(Option<String>),
}

#[derive(Debug)]
pub(crate) struct RunRequest<I> {
    pub(crate) vm: VirtualMachineId,
    pub(crate) name: NameChoice,
    pub(crate) handler_version: String,
    pub(crate) auto_upgrade_minor_version: bool,
    pub(crate) input: I,
}

/// What the caller hears while a run goes on (an action streams it to the user).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Progress {
    /// The VM exists, runs the right OS, is running and its agent is ready.
    VmChecked { vm: String },
    /// The extension is being set.
    Sending {
        extension: String,
        handler: String,
        handler_version: String,
        tag: String,
    },
    /// Azure accepted the PUT and runs the extension.
    Accepted,
    /// Azure is still running it.
    Running { elapsed: Duration },
    /// The run ended; `status` is the extension's own message when it has one.
    Finished {
        outcome: &'static str,
        status: Option<String>,
    },
}

/// How a run that sent its PUT ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Succeeded,
    /// The extension ran and failed; the error carries its own messages.
    Failed(AzureError),
    /// Azure may have started the run and may still be running it (timeout, interrupt, lost
    /// connection): the caller must assume it did.
    Unknown(AzureError),
    /// Azure refused the PUT, or it was never sent: nothing runs on the VM.
    NotStarted(AzureError),
}

impl Outcome {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed(_) => "failed",
            Outcome::Unknown(_) => "unknown",
            Outcome::NotStarted(_) => "not started",
        }
    }

    pub(crate) fn error(&self) -> Option<&AzureError> {
        match self {
            Outcome::Succeeded => None,
            Outcome::Failed(e) | Outcome::Unknown(e) | Outcome::NotStarted(e) => Some(e),
        }
    }
}

/// A run that got as far as choosing its extension and tag.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) extension: ExtensionId,
    pub(crate) tag: String,
    /// The VM's existing extension of this kind under a non-default name, which this run adopted.
    pub(crate) adopted: Option<String>,
    pub(crate) outcome: Outcome,
}

/// Failures of the PUT after which Azure may have started the run: the Azure layer knows whether
/// the request may have reached Azure (a refused or internal failure never does).
fn put_may_have_started(err: &AzureError) -> bool {
    err.may_have_reached_azure()
}

/// The name on a first run: the wanted one, else the VM's existing extension (a VM may have only
/// one of a kind), else the kind's default. Also returns the existing name when it was adopted
/// under a name other than the default.
fn choose_name(
    wanted: Option<&str>,
    vm: &VmFacts,
    kind: &'static Kind,
) -> Result<(String, Option<String>), RunError> {
    match (wanted, vm.existing_name(kind)) {
        (Some(wanted), Some(existing)) if !wanted.eq_ignore_ascii_case(existing) => {
            Err(RunError::NameTaken {
                vm: vm.name.clone(),
                existing: existing.to_string(),
                kind,
            })
        }
        (Some(wanted), _) => Ok((wanted.to_string(), None)),
        (None, Some(existing)) => {
            let adopted =
                (!existing.eq_ignore_ascii_case(kind.default_name)).then(|| existing.to_string());
            Ok((existing.to_string(), adopted))
        }
        (None, None) => Ok((kind.default_name.to_string(), None)),
    }
}

/// [`Engine::check`] on a VM already read.
fn check_facts(
    facts: VmFacts,
    name: &NameChoice,
    kind: Option<&'static Kind>,
) -> Result<Checked, RunError> {
    let kind = kind.unwrap_or_else(|| facts.kind());
    facts.preflight(kind)?;
    let (name, adopted) = match name {
        NameChoice::Keep(name) => (name.clone(), None),
        NameChoice::Choose(wanted) => choose_name(wanted.as_deref(), &facts, kind)?,
    };
    Ok(Checked {
        vm: facts,
        name,
        adopted,
    })
}

/// What a run would do, found without changing anything.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) vm: VmFacts,
    pub(crate) name: String,
    /// As [`Run::adopted`].
    pub(crate) adopted: Option<String>,
}

impl<A: Arm> Engine<A> {
    /// The read-only start of a run: the VM passes `kind`'s preflight (`None`: the kind of the
    /// VM's OS), and the extension name the run would use. Plans call it alone, so plan and run
    /// decide alike.
    pub(crate) async fn check(
        &self,
        vm: &VirtualMachineId,
        name: &NameChoice,
        kind: Option<&'static Kind>,
        ctx: &OpContext,
    ) -> Result<Checked, RunError> {
        let facts = self.inspect(vm, ctx).await?;
        check_facts(facts, name, kind)
    }

    /// Runs extension `K` on a VM; operations on one VM are serialised. `Err` means nothing was
    /// sent; `Ok` carries the extension, the tag and how the run ended.
    #[cfg(test)]
    pub(crate) async fn run<K: ExtensionKind>(
        &self,
        request: RunRequest<K::Input>,
        ctx: &OpContext,
        report: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Run, RunError> {
        self.run_on::<K>(request, None, ctx, report).await
    }

    /// [`Engine::run`]; `listed` is the VM as a listing with instance views has just read it,
    /// which spares the run its own read (a scale set's instances: one read fewer per instance).
    pub(crate) async fn run_on<K: ExtensionKind>(
        &self,
        request: RunRequest<K::Input>,
        listed: Option<VmFacts>,
        ctx: &OpContext,
        report: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Run, RunError> {
        let kind = K::KIND;
        let _turn = self.locks.lock(&request.vm).await;
        let Checked { vm, name, adopted } = match listed {
            Some(facts) => check_facts(facts, &request.name, Some(kind))?,
            None => {
                self.check(&request.vm, &request.name, Some(kind), ctx)
                    .await?
            }
        };
        report(Progress::VmChecked {
            vm: vm.name.clone(),
        });
        let extension = request.vm.extension(name);
        let tag = uuid::Uuid::new_v4().to_string();
        let (settings, protected_settings) = K::settings(&request.input);
        let body = ExtensionPut {
            // A uniform scale set instance's extension body has no location.
            location: request.vm.scale_set().is_none().then_some(vm.location),
            publisher: kind.publisher.to_string(),
            extension_type: kind.extension_type.to_string(),
            type_handler_version: request.handler_version,
            auto_upgrade_minor_version: request.auto_upgrade_minor_version,
            force_update_tag: tag.clone(),
            settings,
            protected_settings,
        };
        report(Progress::Sending {
            extension: extension.to_string(),
            handler: format!("{}.{}", kind.publisher, kind.extension_type),
            handler_version: body.type_handler_version.clone(),
            tag: tag.clone(),
        });
        let outcome = match self.arm.begin_put_extension(&extension, &body, ctx).await {
            Err(e) if put_may_have_started(&e) => Outcome::Unknown(e),
            Err(e) => Outcome::NotStarted(e),
            Ok(pending) => {
                tracing::info!(extension = %extension, "extension accepted; waiting for it to finish");
                report(Progress::Accepted);
                match self.wait_reporting(pending, ctx, report).await {
                    Ok(()) => Outcome::Succeeded,
                    Err(e @ AzureError::ExtensionFailed { .. }) => Outcome::Failed(e),
                    Err(e) => Outcome::Unknown(e),
                }
            }
        };
        report(Progress::Finished {
            outcome: outcome.label(),
            status: match outcome.error() {
                Some(AzureError::ExtensionFailed { statuses, .. }) => statuses.first().cloned(),
                _ => None,
            },
        });
        Ok(Run {
            extension,
            tag,
            adopted,
            outcome,
        })
    }

    /// `Arm::wait`, reporting the elapsed time while it lasts.
    async fn wait_reporting(
        &self,
        pending: A::Pending,
        ctx: &OpContext,
        report: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(), AzureError> {
        let wait = self.arm.wait(pending, ctx);
        tokio::pin!(wait);
        let start = tokio::time::Instant::now() + PROGRESS_EVERY;
        let mut ticks = tokio::time::interval_at(start, PROGRESS_EVERY);
        loop {
            tokio::select! {
                result = &mut wait => return result,
                _ = ticks.tick() => report(Progress::Running { elapsed: ctx.elapsed() }),
            }
        }
    }
}
