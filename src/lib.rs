//! terraform-provider-vm: a Terraform provider that resets local
//! administrator passwords and Remote Desktop settings of Azure Windows VMs
//! through the VMAccessAgent extension.
//!
//! Layers, from Terraform inwards: [`plugin`] (go-plugin handshake, AutoMTLS,
//! serving), [`tfprotocol`] (protocol 6, values, schemas, diagnostics),
//! [`provider`], [`resources`] and [`actions`] (what users configure), and [`azure`] (the
//! Resource Manager client).
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
