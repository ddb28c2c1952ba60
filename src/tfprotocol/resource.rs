//! What a managed resource implements. The server owns the wire:
//! decoding, null/unknown handling, write-only nulling, defaults,
//! replacement, identity and diagnostics conversion; implementations see
//! typed `Object`s in lifecycle order.

use super::diagnostics::Diagnostics;
use super::identity::ResourceIdentity;
use super::value::{AttributePath, Object};

/// `ValidateResourceConfig`: the configuration, values still unknown included.
pub(crate) struct ValidateRequest<'a> {
    pub(crate) config: &'a Object,
}

/// `ReadResource`: refresh the stored object.
pub(crate) struct ReadRequest {
    pub(crate) state: Object,
    pub(crate) private: Vec<u8>,
}

/// `PlanResourceChange` of an object that is not being destroyed.
pub(crate) struct PlanRequest {
    /// `None` when the resource is being created.
    pub(crate) prior: Option<Object>,
    /// The configuration, write-only values included.
    pub(crate) config: Object,
    pub(crate) prior_private: Vec<u8>,
}

/// What a plan becomes: the server fills it from the schema's plan rules, the resource adjusts it.
pub(crate) struct PlanResponse {
    pub(crate) planned: Object,
    pub(crate) requires_replace: Vec<AttributePath>,
    pub(crate) planned_private: Vec<u8>,
    pub(crate) diagnostics: Diagnostics,
}

/// `ApplyResourceChange` that creates or updates.
pub(crate) struct ApplyRequest {
    pub(crate) prior: Option<Object>,
    pub(crate) planned: Object,
    /// The only place write-only values arrive.
    pub(crate) config: Object,
    pub(crate) planned_private: Vec<u8>,
}

/// `ApplyResourceChange` that destroys. (Terraform also sends the private state; no resource
/// needs it to delete.)
pub(crate) struct DeleteRequest {
    pub(crate) prior: Object,
}

/// `ImportResourceState` by ID (an import by identity arrives here resolved to its ID).
pub(crate) struct ImportRequest<'a> {
    pub(crate) id: &'a str,
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

/// A managed resource. Each method serves one step of an RPC and takes that step's request, as
/// terraform-plugin-framework's Request/Response pairs do.
#[async_trait::async_trait]
pub(crate) trait Resource: Send + Sync + 'static {
    /// `ValidateResourceConfig`: plan-time checks of the configuration. Values still unknown are
    /// skipped here and checked at apply.
    fn validate(&self, _request: ValidateRequest<'_>) -> Diagnostics {
        Diagnostics::new()
    }

    /// `ReadResource` (refresh). `None` in the response means the object is gone.
    async fn read(&self, request: ReadRequest) -> StateResponse;

    /// `PlanResourceChange`: adjusts the plan the server derived from the schema's plan rules
    /// (`planned` arrives with defaults, write-only nulling, unknown computed values and
    /// schema-declared replacements already applied).
    async fn plan(&self, request: &PlanRequest, response: &mut PlanResponse);

    /// `ApplyResourceChange` without a prior state.
    async fn create(&self, request: ApplyRequest) -> StateResponse;
    /// `ApplyResourceChange` with a prior and a planned state.
    async fn update(&self, request: ApplyRequest) -> StateResponse;
    /// `ApplyResourceChange` without a planned state. Returns `state: None` on success.
    async fn delete(&self, request: DeleteRequest) -> StateResponse;
    /// `ImportResourceState`. Returns the imported state; Terraform reads it right after.
    async fn import(&self, request: ImportRequest<'_>) -> StateResponse;

    /// The identity capability (Terraform 1.12+); none by default.
    fn identity(&self) -> Option<&dyn ResourceIdentity> {
        None
    }
}
