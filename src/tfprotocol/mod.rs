//! The Terraform side of the provider: protocol 6 messages, the value codec,
//! schemas, diagnostics, and the traits a provider and the objects it offers
//! implement. Implementations work on `Object`s and never see the wire.
//!
//! - [`Provider`], [`Resource`]: what every provider has;
//! - optional capabilities, none by default: [`ResourceIdentity`]
//!   (`Resource::identity`), [`Action`] (`Provider::actions`),
//!   [`ListResource`] (`Provider::list_resources`);
//! - [`server`]: the thin tonic adapter, helped by `codec`, `dispatch`,
//!   `plan_rules`, `capabilities`, `upgrade` and `streams`.

pub mod action;
mod capabilities;
pub mod codec;
pub mod declared;
pub mod diagnostics;
mod dispatch;
pub mod identity;
pub mod json;
pub mod list;
pub mod msgpack;
mod plan_rules;
pub mod provider;
pub mod resource;
pub mod schema;
pub mod server;
mod streams;
#[cfg(test)]
mod tests;
pub mod timeouts;
pub mod types;
mod upgrade;
pub mod value;

/// Generated from `proto/tfplugin6.proto`.
#[allow(clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("tfplugin6");
}

pub use action::{Action, ActionEvent, Progress};
pub use declared::Declared;
pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use identity::{IdentityAttribute, IdentitySchema, ImportRule, ResourceIdentity};
pub use list::{Closed, ListRequest, ListResource, ListResult, ListSink};
pub use provider::Provider;
pub use resource::{ApplyRequest, PlanRequest, PlanResponse, Resource, StateResponse};
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
