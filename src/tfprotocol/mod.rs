//! The Terraform side of the provider: protocol 6 messages, the value codec,
//! schemas, diagnostics, and the traits a provider and its resources
//! implement. Resource code works on `Object`s and never sees the wire.

pub mod diagnostics;
pub mod json;
pub mod msgpack;
pub mod resource;
pub mod schema;
pub mod server;
pub mod timeouts;
pub mod types;
pub mod value;

/// Generated from `proto/tfplugin6.proto`.
#[allow(clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("tfplugin6");
}

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use resource::{ApplyRequest, PlanRequest, PlanResponse, Provider, Resource, StateResponse};
pub use schema::{Attribute, Block, Schema};
pub use types::Type;
pub use value::{AttributePath, Number, Object, Value};

/// A value that could not be encoded or decoded. Its text never quotes the
/// value itself, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

impl CodecError {
    pub fn new(message: String) -> CodecError {
        CodecError(message)
    }
}
