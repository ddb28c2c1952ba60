//! Azure Resource Manager client for the VMAccessAgent extension.
//!
//! Layers, bottom up: `transport` (the one HTTPS client and its trust store), `credentials`
//! (which Entra credential, token cache), `pipeline` (`azure_core` policies: request id,
//! retries and polling, auth, redacted logging, the exchange — the only code that sends
//! requests), `pacing` (the per-subscription gate for writes and listing reads), `lro`
//! (long-running operations), `operations` (the [`ArmClient`] methods the resources call) and
//! `listing` (its list operations). `models`, `ids`, `error`,
//! `context` and `settings` are the types they exchange.
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
mod settings;
mod transport;

pub use context::OpContext;
pub use error::AzureError;
pub use ids::{ExtensionId, ParseError, VirtualMachineId};
pub use listing::{VmListScope, VmPage, VmPageAt};
pub use lro::{PendingOperation, PollPolicy};
pub(crate) use models::{AgentStatus, VmExtension};
pub use models::{ExtensionPut, OsType, ProtectedSettings, VirtualMachine};
pub use operations::ArmClient;
pub use operations::ArmClientBuilder;
pub use pipeline::RetryPolicy;
pub use settings::{AzureSettings, Environment, Setting};

/// Crate-private decoders, reached by `crate::fuzzing` only (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzz_access {
    pub(crate) use super::cloud::CloudEndpoints;
    pub(crate) use super::error::CloudError;
    pub(crate) use super::lro::{PollTarget, interpret};
    pub(crate) use super::models::ExtensionWire;
    pub(crate) use super::pipeline::ArmResponse;
    pub(crate) use super::pipeline::logging::{redact_body, redact_url};
    pub(crate) use super::pipeline::parse_retry_after;

    pub(crate) fn pending_from_initial(
        resp: &ArmResponse,
        extension: super::ExtensionId,
    ) -> super::PendingOperation {
        super::PendingOperation::from_initial(resp, extension, "creating")
    }
}
