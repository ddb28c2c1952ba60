//! The rules both scale-set surfaces (the `vm_scale_set_access_reset` resource and action) share:
//! reading the target and the batch size, the plan-time warnings about the scale set's model and
//! its stopped instances, and each instance's result in words.

use crate::azure::{AzureError, ScaleSetId};
use crate::tfprotocol::{Diagnostic, Diagnostics, Object, Value};
use crate::vmaccess::{
    InstanceOutcome, InstanceResult, Kind, ModelOutcome, Outcome, ScaleSetFacts,
};

use super::attributes::{
    MAX_PARALLEL_INSTANCES, TYPE_HANDLER_VERSION, UPDATE_MODEL, VIRTUAL_MACHINE_SCALE_SET_ID,
};
use super::diagnostics::diagnostic;
use super::validation::handler_version;

/// Instances reset at once unless `max_parallel_instances` says otherwise. An instance's reset
/// is one write (its extension PUT) and a poll every Retry-After (about 15 s on Azure) while the
/// extension runs, typically for a minute: so each instance costs the subscription's write budget
/// (ARM: 200, refilled 10/s) one token, and 50 in flight poll about three times a second, well
/// inside ARM's read budget (refilled 25/s), with room left for other work in the subscription.
/// Compute's per-VM budgets see one write per instance and never bind. Fewer in flight would
/// leave the budget idle while extensions run (50 runs of a minute reset 500 instances in ten
/// minutes; 10 would take fifty); the client's pacer holds writes back when the budget runs low.
pub(crate) const DEFAULT_MAX_PARALLEL: i64 = 50;
/// The largest batch: ARM's per-subscription write bucket (200) starts at most that many at once.
pub(crate) const MAX_PARALLEL_LIMIT: i64 = 200;

/// The scale set ID in `text`, or an error on the attribute.
pub(crate) fn scale_set_id(text: &str) -> Result<ScaleSetId, Diagnostic> {
    ScaleSetId::parse(text).map_err(|e| {
        Diagnostic::error(
            "Invalid virtual machine scale set ID",
            format!("{e}. Use the scale set's `id` attribute (azurerm: `azurerm_linux_virtual_machine_scale_set.NAME.id`, `azurerm_windows_virtual_machine_scale_set.NAME.id` or `azurerm_orchestrated_virtual_machine_scale_set.NAME.id`)."),
        )
        .at_attr(VIRTUAL_MACHINE_SCALE_SET_ID)
    })
}

/// The checks of the target that need no Azure call; values still unknown are skipped.
pub(crate) fn target(config: &Object) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Some(id) = config.get_string(VIRTUAL_MACHINE_SCALE_SET_ID)
        && let Err(d) = scale_set_id(id)
    {
        diags.push(d);
    }
    if let Value::Number(n) = config.get(MAX_PARALLEL_INSTANCES).concrete() {
        let n = n.as_f64();
        if n.fract() != 0.0 || !(1.0..=MAX_PARALLEL_LIMIT as f64).contains(&n) {
            diags.push(
                Diagnostic::error(
                    "Invalid max_parallel_instances",
                    format!(
                        "{n} is not a whole number from 1 to {MAX_PARALLEL_LIMIT}. It is how many instances are reset at \
                         once; the default, {DEFAULT_MAX_PARALLEL}, suits most scale sets."
                    ),
                )
                .at_attr(MAX_PARALLEL_INSTANCES),
            );
        }
    }
    if let Some(v) = config.get_string(TYPE_HANDLER_VERSION) {
        diags
            .0
            .extend(handler_version(v, TYPE_HANDLER_VERSION, None));
    }
    diags
}

/// `max_parallel_instances`, or the default.
pub(crate) fn max_parallel(config: &Object) -> usize {
    match config.get(MAX_PARALLEL_INSTANCES).concrete() {
        Value::Number(n) => n.as_f64().clamp(1.0, MAX_PARALLEL_LIMIT as f64) as usize,
        _ => DEFAULT_MAX_PARALLEL as usize,
    }
}

/// What a plan says about the scale set before anything runs: the instances that will be
/// skipped, and where credentials live in the model.
/// `again` completes "Start them and …" (apply again, invoke the action again).
pub(crate) fn plan_warnings(
    facts: &ScaleSetFacts,
    kind: &Kind,
    update_model: bool,
    planned_instances: &[&str],
    again: &str,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let name = facts.id.name();
    let skipped: Vec<&str> = facts
        .instances
        .iter()
        .filter(|i| {
            planned_instances
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&i.name))
        })
        .filter(|i| i.skip_reason().is_some())
        .map(|i| i.name.as_str())
        .collect();
    if !skipped.is_empty() {
        diags.push(Diagnostic::warning(
            "Stopped instances will be skipped",
            format!(
                "{} of scale set {name:?}'s instances are stopped or deallocated, and extensions run inside the guest, so \
                 they will be skipped: {}. Start them and {again} to reset them too; until then they keep their old \
                 credentials.",
                skipped.len(),
                names(&skipped)
            ),
        ));
    }
    let existing = facts.model_extension(kind);
    if update_model {
        diags.push(
            Diagnostic::warning(
                "The credentials will live in the scale set's model",
                format!(
                    "`{UPDATE_MODEL} = true` also sets the {} extension {:?} of scale set {name:?}'s model, with the same \
                     settings, protected ones included. Azure then runs it, with these credentials, on every instance the \
                     scale set creates or reimages from now on, and on every instance it upgrades to the latest model{}. \
                     Leave `{UPDATE_MODEL}` unset to reset the current instances only.",
                    kind.extension_type,
                    existing.unwrap_or(kind.default_name),
                    match facts.upgrade_mode.as_deref() {
                        Some(m) if m.eq_ignore_ascii_case("manual") => {
                            " (the upgrade policy is Manual, so existing instances show as not on the latest model until \
                             upgraded)"
                        }
                        _ => "",
                    }
                ),
            )
            .at_attr(UPDATE_MODEL),
        );
    } else if let Some(existing) = existing {
        diags.push(Diagnostic::warning(
            "The scale set's model has its own VMAccess extension",
            format!(
                "Scale set {name:?}'s model has a {} extension named {existing:?}; this run leaves the model alone, so \
                 instances created or reimaged later run that extension with whatever settings it holds, not these. Each \
                 current instance's extension is rerun under that name.",
                kind.extension_type
            ),
        ));
    }
    diags
}

/// Up to ten names, then how many more.
fn names(all: &[&str]) -> String {
    const SHOWN: usize = 10;
    let mut text = all
        .iter()
        .take(SHOWN)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > SHOWN {
        text.push_str(&format!(" and {} more", all.len() - SHOWN));
    }
    text
}

/// One line on how an instance's reset ended, when there is more to say than its label.
pub(crate) fn instance_message(outcome: &InstanceOutcome) -> Option<String> {
    match outcome {
        InstanceOutcome::Skipped(reason) => Some(reason.clone()),
        InstanceOutcome::Refused(e) => Some(e.to_string()),
        InstanceOutcome::Ran { outcome, .. } => match outcome {
            Outcome::Succeeded => None,
            Outcome::Failed(AzureError::ExtensionFailed {
                statuses, message, ..
            }) => Some(statuses.first().cloned().unwrap_or_else(|| message.clone())),
            Outcome::Failed(e) | Outcome::NotStarted(e) => Some(e.to_string()),
            Outcome::Unknown(e) => Some(format!(
                "the run may still finish in Azure: {e}; check the instance's extension before running again"
            )),
        },
    }
}

/// The diagnostic that lists the instances whose reset did not take, if any: an error, or a
/// warning when `as_error` is false; `again` says what running the surface again does.
pub(crate) fn failures(
    results: &[InstanceResult],
    scale_set: &str,
    kind: &Kind,
    again: &str,
    as_error: bool,
) -> Option<Diagnostic> {
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.outcome.succeeded() && !matches!(r.outcome, InstanceOutcome::Skipped(_)))
        .map(|r| {
            format!(
                "- {:?} ({}): {}",
                r.name,
                r.outcome.label(),
                instance_message(&r.outcome).unwrap_or_default()
            )
        })
        .collect();
    if failed.is_empty() {
        return None;
    }
    let succeeded = results.iter().filter(|r| r.outcome.succeeded()).count();
    let severity = if as_error {
        Diagnostic::error
    } else {
        Diagnostic::warning
    };
    Some(severity(
        format!(
            "The {} reset failed on {} instance(s)",
            kind.label,
            failed.len()
        ),
        format!(
            "On scale set {scale_set:?}, {succeeded} instance(s) took the reset and these did not:\n{}\n\nFix the cause \
             (an instance whose agent is not ready needs its guest agent running with outbound access to Azure), then \
             {again}",
            failed.join("\n")
        ),
    ))
}

/// What a surface says of the model when the run was to set it: nothing when it was set.
pub(crate) fn model_diagnostic(
    outcome: &ModelOutcome,
    scale_set: &str,
    kind: &Kind,
) -> Option<Diagnostic> {
    match outcome {
        ModelOutcome::Set(_) => None,
        ModelOutcome::NotSent => Some(Diagnostic::warning(
            "The scale set's model was not changed",
            format!(
                "`{UPDATE_MODEL} = true` asks for scale set {scale_set:?}'s model to get these settings, but no instance \
                 took the reset, so they are not known to work and were kept out of the model. Fix the cause and run \
                 again."
            ),
        )),
        ModelOutcome::Failed(e) => Some(diagnostic(
            e,
            &format!(
                "setting the {} extension of scale set {scale_set:?}'s model",
                kind.label
            ),
            kind,
        )),
    }
}
