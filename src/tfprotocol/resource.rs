//! What a managed resource implements. The server owns the wire:
//! decoding, null/unknown handling, write-only nulling, defaults,
//! replacement, identity and diagnostics conversion; implementations see
//! typed `Object`s in lifecycle order.

use super::diagnostics::Diagnostics;
use super::identity::ResourceIdentity;
use super::value::{AttributePath, Object};

pub(crate) struct PlanRequest {
    /// `None` when the resource is being created.
    pub(crate) prior: Option<Object>,
    pub(crate) prior_private: Vec<u8>,
}

pub(crate) struct PlanResponse {
    pub(crate) planned: Object,
    pub(crate) requires_replace: Vec<AttributePath>,
    pub(crate) planned_private: Vec<u8>,
    pub(crate) diagnostics: Diagnostics,
}

pub(crate) struct ApplyRequest {
    pub(crate) prior: Option<Object>,
    pub(crate) planned: Object,
    /// The only place write-only values arrive.
    pub(crate) config: Object,
    pub(crate) planned_private: Vec<u8>,
}

/// The result of a lifecycle call. A state returned together with errors is
/// saved by Terraform (tainted after a failed create), which is how a
/// half-finished operation stays tracked.
#[derive(Default)]
pub(crate) struct StateResponse {
    pub(crate) state: Option<Object>,
    pub(crate) private: Vec<u8>,
    pub(crate) diagnostics: Diagnostics,
}

impl StateResponse {
    pub(crate) fn error(diagnostics: impl Into<Diagnostics>) -> StateResponse {
        StateResponse {
            state: None,
            private: Vec::new(),
            diagnostics: diagnostics.into(),
        }
    }
}

#[async_trait::async_trait]
pub(crate) trait Resource: Send + Sync + 'static {
    /// Plan-time checks of the configuration. Values still unknown are
    /// skipped here and checked at apply.
    fn validate(&self, _config: &Object) -> Diagnostics {
        Diagnostics::new()
    }

    /// Refresh. `None` in the response means the object is gone.
    async fn read(&self, state: Object, private: Vec<u8>) -> StateResponse;

    /// Adjusts the plan the server derived from the schema's plan rules
    /// (`planned` arrives with defaults, write-only nulling, unknown
    /// computed values and schema-declared replacements already applied).
    async fn modify_plan(&self, request: &PlanRequest, response: &mut PlanResponse);

    async fn create(&self, request: ApplyRequest) -> StateResponse;
    async fn update(&self, request: ApplyRequest) -> StateResponse;
    /// Returns `state: None` on success.
    async fn delete(&self, prior: Object, private: Vec<u8>) -> StateResponse;
    /// Returns the imported state; Terraform reads it right after.
    async fn import(&self, id: &str) -> StateResponse;

    /// The identity capability (Terraform 1.12+); none by default.
    fn identity(&self) -> Option<&dyn ResourceIdentity> {
        None
    }
}
