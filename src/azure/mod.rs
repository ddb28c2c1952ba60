//! Azure Resource Manager client for the VMAccessAgent extension.
//!
//! The modules, bottom up; each imports only modules on the lines above its own, so no two of
//! them import each other (`tests/layers.rs` fails on any circle):
//!
//! - `setting`, `ids`, `models`, `client_certificate` — leaves: the name of a setting, resource
//!   IDs, the ARM documents, the certificate assertion;
//! - `error` — the one [`AzureError`] (it names a `Setting`);
//! - `context` (deadline and cancellation), `transport` (the one HTTPS client), `settings` (the
//!   values of the settings), `response` (a buffered response, headers, `Retry-After`);
//! - `cloud` (endpoints), `lro` (what a long-running operation's responses mean), `pacing` (the
//!   per-subscription gate for writes and listing reads);
//! - `credentials` (which Entra credential, token cache);
//! - `pipeline` — `azure_core` policies: request id, retries and polling, auth, redacted logging,
//!   the exchange; the only code that sends requests;
//! - `operations` — the [`ArmClient`] methods the engine calls;
//! - `listing` — its list operations.
//!
//! This file only declares the modules and re-exports what the rest of the crate uses.
//!
//! Not here: Terraform types. The provider maps [`AzureError`] to diagnostics at its boundary.

mod client_certificate;
mod cloud;
mod context;
mod credentials;
mod error;
mod ids;
mod listing;
mod lro;
mod models;
mod operations;
mod pacing;
mod pipeline;
mod response;
mod setting;
mod settings;
mod transport;

pub use context::OpContext;
pub use error::AzureError;
pub use ids::{
    ExtensionId, ExtensionTarget, ModelExtensionId, ParseError, ScaleSetId, VirtualMachineId,
};
pub use listing::{InstancePageAt, ScaleSetPage, VmListScope, VmPage, VmPageAt};
pub use lro::{PendingOperation, PollPolicy};
pub(crate) use models::{AgentStatus, VmExtension};
pub use models::{
    ExtensionPut, Orchestration, OsType, ProtectedSettings, ScaleSet, VirtualMachine,
};
pub use operations::ArmClient;
pub use operations::ArmClientBuilder;
pub use pipeline::RetryPolicy;
pub use setting::Setting;
pub use settings::{AzureSettings, Environment};

/// What the provider's spec tests (`crate::spec_tests`) decode the specification's examples
/// through: the same decoders and the same api-version the client uses.
#[cfg(test)]
pub(crate) mod spec_access {
    pub(crate) use super::listing::{decode_extension_list, decode_page};
    pub(crate) use super::lro::{PollOutcome, PollTarget, interpret};
    pub(crate) use super::models::{
        ExtensionWire, InstanceViewStatus, VmExtensionResource, VmInstanceView,
    };
    pub(crate) use super::operations::COMPUTE_API_VERSION;
    pub(crate) use super::response::ArmResponse;
}

/// Crate-private decoders, reached by `crate::fuzzing` only (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzz_access {
    pub(crate) use super::cloud::CloudEndpoints;
    pub(crate) use super::error::CloudError;
    pub(crate) use super::lro::{PollTarget, interpret};
    pub(crate) use super::models::ExtensionWire;
    pub(crate) use super::pipeline::logging::{redact_body, redact_url};
    pub(crate) use super::response::{ArmResponse, parse_retry_after};

    pub(crate) fn pending_from_initial(
        resp: &ArmResponse,
        extension: super::ExtensionId,
    ) -> super::PendingOperation {
        super::PendingOperation::from_initial(resp, extension, "creating")
    }
}
