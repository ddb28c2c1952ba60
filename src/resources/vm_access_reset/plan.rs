//! When a `vm_access_reset` plans a rerun, and why. The whole decision is
//! the `match`-like chain in [`rerun_reason`]; the rest keeps the plan honest.

use crate::surface::attributes::{
    AUTO_UPGRADE_MINOR_VERSION, EXPIRATION, FORCE_UPDATE_TAG, LAST_RUN_AT, PASSWORD,
    PASSWORD_WO_VERSION, PROVISIONING_STATE, REMOVE_PRIOR_KEYS, RESET_SSH, SSH_PUBLIC_KEYS,
    TRIGGERS, TYPE_HANDLER_VERSION, USERNAME, VIRTUAL_MACHINE_ID,
};
use crate::tfprotocol::{AttributePath, Diagnostic, Object, PlanRequest, PlanResponse, Value};

use super::private::Private;

/// Inputs whose change reruns the extension in place.
pub(crate) const RERUN_INPUTS: &[&str] = &[
    USERNAME,
    PASSWORD,
    PASSWORD_WO_VERSION,
    SSH_PUBLIC_KEYS,
    REMOVE_PRIOR_KEYS,
    RESET_SSH,
    EXPIRATION,
    TRIGGERS,
    TYPE_HANDLER_VERSION,
    AUTO_UPGRADE_MINOR_VERSION,
];

/// The usual cause of foreign runs once actions exist: the same extension, run without this resource.
const LIKELY_ACTION: &str = "The likely cause is a `vm_access_reset` action invoked on this VM (`terraform apply \
                             -invoke` or an `action_trigger`), else a reset from the portal, the Azure CLI or PowerShell.";

/// Decided by apply on every run.
const RUN_OUTPUTS: &[&str] = &[FORCE_UPDATE_TAG, LAST_RUN_AT, PROVISIONING_STATE];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rerun {
    /// The configuration asks for it.
    InputChanged(&'static str),
    /// Refresh found the extension in a state other than Succeeded.
    NotSucceeded(String),
    /// Someone else reran the extension since this provider last did.
    TagChanged,
    /// Refresh found another user name in the extension's settings.
    UserNameChanged,
    /// The VM was imported without a VMAccess extension: it has never run.
    FirstRun,
}

impl Rerun {
    pub(crate) fn is_drift(&self) -> bool {
        !matches!(self, Rerun::InputChanged(_))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Rerun::InputChanged(attr) => format!("`{attr}` changed"),
            Rerun::NotSucceeded(state) => format!(
                "the extension's provisioning state in Azure is {state}, not Succeeded, so the last reset is not known to have \
                 taken effect"
            ),
            Rerun::TagChanged => format!(
                "the extension was rerun by something other than this resource (its forceUpdateTag is not the one this \
                 resource set), perhaps with other credentials. {LIKELY_ACTION}"
            ),
            Rerun::UserNameChanged => format!(
                "the extension in Azure was last run for another user name than the configured one. {LIKELY_ACTION}"
            ),
            Rerun::FirstRun => "the VM has no VMAccess extension yet (it was imported without one), so the extension \
                                runs for the first time"
                .to_string(),
        }
    }
}

/// Why an existing extension must run again, or `None` to leave it alone.
/// `planned` already carries defaults, so it compares like the prior state.
pub(crate) fn rerun_reason(prior: &Object, planned: &Object, private: &Private) -> Option<Rerun> {
    if private.awaiting_first_run {
        return Some(Rerun::FirstRun);
    }
    if let Some(attr) = RERUN_INPUTS.iter().find(|a| planned.get(a) != prior.get(a)) {
        if *attr == USERNAME && private.username_drifted {
            return Some(Rerun::UserNameChanged);
        }
        return Some(Rerun::InputChanged(attr));
    }
    // Failed, or still running from an interrupted apply: either way the
    // configuration is not known to be in effect.
    if let Some(state) = prior.get_string(PROVISIONING_STATE)
        && !state.eq_ignore_ascii_case("Succeeded")
    {
        return Some(Rerun::NotSucceeded(state.to_string()));
    }
    match (&private.last_tag, prior.get_string(FORCE_UPDATE_TAG)) {
        (Some(ours), Some(theirs)) if ours != theirs => Some(Rerun::TagChanged),
        _ => None,
    }
}

/// Two VM IDs that differ only in casing name the same VM: ARM's segment
/// names and resource names are case-insensitive.
pub(crate) fn same_vm_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Completes the plan the server derived from the schema.
pub(crate) fn modify(request: &PlanRequest, response: &mut PlanResponse, type_name: &str) {
    let Some(prior) = &request.prior else { return };
    let planned = &mut response.planned;

    // Normalisation is not a change: keep the prior spelling of the VM ID.
    if let (Some(p), Some(c)) = (
        prior.get_string(VIRTUAL_MACHINE_ID),
        planned.get_string(VIRTUAL_MACHINE_ID),
    ) && p != c
        && same_vm_id(p, c)
    {
        planned.set(VIRTUAL_MACHINE_ID, Value::string(p));
        response
            .requires_replace
            .retain(|path| *path != AttributePath::attr(VIRTUAL_MACHINE_ID));
    }
    if !response.requires_replace.is_empty() {
        return; // A replacement creates afresh; nothing to decide here.
    }

    let private = Private::decode(&request.prior_private);
    match rerun_reason(prior, planned, &private) {
        Some(reason) => {
            for attr in RUN_OUTPUTS {
                planned.set(attr, Value::Unknown);
            }
            if reason.is_drift() {
                let vm = prior
                    .get_string(VIRTUAL_MACHINE_ID)
                    .and_then(|id| id.rsplit('/').next())
                    .unwrap_or("?");
                response.diagnostics.push(Diagnostic::warning(
                    format!("{type_name} will rerun the VMAccess extension on VM {vm:?}"),
                    format!(
                        "Refresh found that {}. Applying this plan runs the extension again.",
                        reason.describe()
                    ),
                ));
            }
        }
        // Settings that only matter to Terraform (timeouts, destroy
        // behaviour) update state without touching Azure.
        None => {
            for attr in RUN_OUTPUTS {
                planned.set(attr, prior.get(attr).clone());
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::tfprotocol::Diagnostics;

    /// A state after a successful run.
    pub(crate) fn prior() -> Object {
        Object::new()
            .with(
                "id",
                Value::string(
                    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web/extensions/VMAccessAgent",
                ),
            )
            .with(
                "virtual_machine_id",
                Value::string("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web"),
            )
            .with("username", Value::string("opsadmin"))
            .with("password_wo_version", Value::int(1))
            .with("type_handler_version", Value::string("2.4"))
            .with("auto_upgrade_minor_version", Value::Bool(true))
            .with("remove_extension_on_destroy", Value::Bool(true))
            .with("force_update_tag", Value::string("tag-1"))
            .with("provisioning_state", Value::string("Succeeded"))
            .with("last_run_at", Value::string("2026-11-25T06:00:00Z"))
    }

    fn ours() -> Private {
        Private::ours("tag-1")
    }

    #[test]
    fn unchanged_config_and_matching_tag_plans_nothing() {
        assert_eq!(rerun_reason(&prior(), &prior(), &ours()), None);
    }

    #[test]
    fn each_rerun_input_triggers_a_rerun() {
        let changes = [
            ("username", Value::string("other")),
            ("password", Value::string("N3w-Passw0rd!")),
            ("password_wo_version", Value::int(2)),
            (
                "triggers",
                Value::Map([("k".to_string(), Value::string("v"))].into()),
            ),
            ("type_handler_version", Value::string("2.5")),
            ("auto_upgrade_minor_version", Value::Bool(false)),
        ];
        for (attr, value) in changes {
            let planned = prior().with(attr, value);
            assert_eq!(
                rerun_reason(&prior(), &planned, &ours()),
                Some(Rerun::InputChanged(attr)),
                "{attr}"
            );
        }
    }

    #[test]
    fn settings_without_effect_in_azure_do_not_rerun() {
        let planned = prior().with("remove_extension_on_destroy", Value::Bool(false));
        assert_eq!(rerun_reason(&prior(), &planned, &ours()), None);
        let planned = prior().with(
            "timeouts",
            Object::new().with("create", Value::string("1h")).into(),
        );
        assert_eq!(rerun_reason(&prior(), &planned, &ours()), None);
    }

    #[test]
    fn failed_extension_is_drift() {
        let failed = prior().with("provisioning_state", Value::string("Failed"));
        let reason = rerun_reason(&failed, &failed, &ours()).unwrap();
        assert!(reason.is_drift());
        assert_eq!(reason, Rerun::NotSucceeded("Failed".into()));
    }

    #[test]
    fn foreign_tag_is_drift_but_unknown_ownership_is_not() {
        let rerun_elsewhere = prior().with("force_update_tag", Value::string("someone-else"));
        assert_eq!(
            rerun_reason(&rerun_elsewhere, &rerun_elsewhere, &ours()),
            Some(Rerun::TagChanged)
        );
        assert_eq!(
            rerun_reason(&rerun_elsewhere, &rerun_elsewhere, &Private::default()),
            None
        );
    }

    #[test]
    fn user_name_changed_in_azure_is_drift() {
        let refreshed = prior().with("username", Value::string("someoneelse"));
        let private = Private {
            username_drifted: true,
            ..ours()
        };
        let first = Private {
            awaiting_first_run: true,
            ..Private::default()
        };
        assert_eq!(
            rerun_reason(&prior(), &prior(), &first),
            Some(Rerun::FirstRun),
            "a VM adopted without an extension runs it"
        );
        assert_eq!(
            rerun_reason(&refreshed, &prior(), &private),
            Some(Rerun::UserNameChanged)
        );
        assert!(Rerun::UserNameChanged.is_drift());
    }

    fn plan(prior: Object, planned: Object, private: Private) -> PlanResponse {
        let request = PlanRequest {
            prior: Some(prior),
            config: Object::new(),
            prior_private: private.encode(),
        };
        let mut response = PlanResponse {
            planned,
            requires_replace: vec![],
            planned_private: vec![],
            diagnostics: Diagnostics::new(),
        };
        modify(&request, &mut response, "vm_access_reset");
        response
    }

    #[test]
    fn rerun_makes_run_outputs_unknown_and_drift_warns() {
        let failed = prior().with("provisioning_state", Value::string("Failed"));
        let response = plan(failed.clone(), failed, ours());
        assert_eq!(response.planned.get("force_update_tag"), &Value::Unknown);
        assert_eq!(response.planned.get("last_run_at"), &Value::Unknown);
        assert_eq!(response.diagnostics.0.len(), 1);
        assert!(response.diagnostics.0[0].detail.contains("Failed"));
    }

    #[test]
    fn config_rerun_does_not_warn() {
        let response = plan(
            prior(),
            prior().with("password_wo_version", Value::int(2)),
            ours(),
        );
        assert_eq!(response.planned.get("force_update_tag"), &Value::Unknown);
        assert!(response.diagnostics.0.is_empty());
    }

    #[test]
    fn no_rerun_keeps_prior_outputs_even_if_marked_unknown() {
        let mut planned = prior().with("remove_extension_on_destroy", Value::Bool(false));
        planned.set("force_update_tag", Value::Unknown);
        let response = plan(prior(), planned, ours());
        assert_eq!(
            response.planned.get("force_update_tag"),
            &Value::string("tag-1")
        );
        assert_eq!(
            response.planned.get("provisioning_state"),
            &Value::string("Succeeded")
        );
    }

    #[test]
    fn vm_id_casing_is_not_a_replacement() {
        let upper = prior()
            .get_string("virtual_machine_id")
            .unwrap()
            .replace("resourceGroups", "RESOURCEGROUPS");
        let planned = prior().with("virtual_machine_id", Value::string(upper));
        let request = PlanRequest {
            prior: Some(prior()),
            config: Object::new(),
            prior_private: ours().encode(),
        };
        let mut response = PlanResponse {
            planned,
            requires_replace: vec![AttributePath::attr("virtual_machine_id")],
            planned_private: vec![],
            diagnostics: Diagnostics::new(),
        };
        modify(&request, &mut response, "vm_access_reset");
        assert!(response.requires_replace.is_empty());
        assert_eq!(response.planned, prior());
    }

    #[test]
    fn foreign_run_warning_names_an_invoked_action_as_likely_cause() {
        let rerun_elsewhere = prior().with("force_update_tag", Value::string("someone-else"));
        let response = plan(rerun_elsewhere.clone(), rerun_elsewhere, ours());
        assert_eq!(response.diagnostics.0.len(), 1);
        assert!(
            response.diagnostics.0[0]
                .detail
                .contains("likely cause is a `vm_access_reset` action"),
            "{:?}",
            response.diagnostics
        );
    }
}
