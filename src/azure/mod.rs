//! Azure Resource Manager client for the VMAccessAgent extension.
//!
//! Layers, bottom up: `transport` (the one HTTPS client and its trust store), `credentials`
//! (which Entra credential, token cache), `pipeline` (`azure_core` policies: request id,
//! retries and polling, auth, redacted logging, the exchange — the only code that sends
//! requests), `pacing` (the per-subscription write gate), `lro` (long-running operations),
//! `operations` (the [`ArmClient`] methods the resources call) and `listing` (its list
//! operations). `models`, `ids`, `error`,
//! `context` and `settings` are the types they exchange.
//!
//! Not here: Terraform types. The provider maps [`AzureError`] to diagnostics at its boundary.

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

pub use cloud::{CloudEndpoints, METADATA_API_VERSION};
pub use context::OpContext;
pub use error::{AzureError, CloudError, CloudErrorDetail, InnerError};
pub use ids::{ExtensionId, ParseError, VirtualMachineId};
pub use listing::{VmListScope, VmPage};
pub use lro::{PendingOperation, PollPolicy};
pub use models::{
    AgentStatus, ExtensionPut, InstanceViewStatus, OsType, ProtectedSettings, VirtualMachine,
    VmExtension,
};
pub use operations::{ArmClient, ArmClientBuilder, COMPUTE_API_VERSION};
pub use pipeline::{RetryPolicy, parse_retry_after};
pub use settings::{AzureSettings, Environment, Setting};
