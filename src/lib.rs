//! terraform-provider-vm: a Terraform provider that resets local
//! administrator passwords and Remote Desktop settings of Azure Windows VMs
//! through the VMAccessAgent extension.
//!
//! Layers, from Terraform inwards; each imports only layers below it (`ARCHITECTURE.md`,
//! enforced by `tests/layers.rs`):
//!
//! - [`plugin`]: go-plugin handshake, AutoMTLS, serving; imports [`tfprotocol`].
//! - [`provider`]: the provider's configuration; composes the objects below it.
//! - [`list_resources`]: `terraform query`; lists instances of a resource, so it builds their
//!   identities and objects through [`resources`].
//! - [`resources`] and [`actions`]: what users configure; neither imports the other.
//! - [`surface`]: what every surface shares (attribute names, validation, the settings table,
//!   errors as diagnostics, shared warnings).
//! - `runtime`: the configured Azure client and engine the surfaces share.
//! - [`vmaccess`]: the engine; knows nothing of Terraform.
//! - [`azure`]: the Resource Manager and Entra ID client.
//! - [`tfprotocol`]: protocol 6, values, schemas, diagnostics; knows nothing of Azure.
//!
//! The public items are what the binary, the integration tests, the benchmarks and the fuzz
//! targets use; everything else is `pub(crate)`.

pub mod actions;
pub mod azure;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod list_resources;
pub mod plugin;
pub mod provider;
pub mod resources;
mod runtime;
/// The provider held to Azure's published REST API specification (`spec/`).
#[cfg(test)]
mod spec_tests;
pub mod surface;
pub mod tfprotocol;
pub mod vmaccess;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// The provider's source address, used in debug (reattach) mode.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/vmaccess/vm";

/// Builds the provider's gRPC service.
pub fn protocol_server() -> tfprotocol::server::ProtocolServer {
    let stop = CancellationToken::new();
    let provider = provider::VmProvider::new(stop.clone());
    tfprotocol::server::ProtocolServer::new(Arc::new(provider), stop)
}
