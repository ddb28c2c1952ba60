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

pub(crate) mod action;
mod capabilities;
pub(crate) mod codec;
pub(crate) mod declared;
pub(crate) mod diagnostics;
mod dispatch;
pub mod identity;
pub mod json;
pub mod list;
pub mod msgpack;
mod plan_rules;
pub(crate) mod provider;
pub(crate) mod resource;
pub(crate) mod schema;
pub(crate) mod server;
mod streams;
#[cfg(test)]
mod tests;
pub mod timeouts;
pub(crate) mod types;
mod upgrade;
pub(crate) mod value;

/// Generated from `proto/tfplugin6.proto`; documented there.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod proto {
    tonic::include_proto!("tfplugin6");
}

pub(crate) use action::{Action, Progress};
pub(crate) use declared::Declared;
pub(crate) use diagnostics::{Diagnostic, Diagnostics};
pub use identity::ImportRule;
pub(crate) use identity::{IdentityAttribute, IdentitySchema, ResourceIdentity};
pub(crate) use list::{ListRequest, ListResource, ListResult, ListSink};
pub(crate) use provider::Provider;
pub(crate) use resource::{
    ApplyRequest, DeleteRequest, ImportRequest, PlanRequest, PlanResponse, ReadRequest, Resource,
    StateResponse, ValidateRequest,
};
pub(crate) use schema::Schema;
pub use schema::{Attribute, Block};
pub use types::Type;
pub use value::{AttributePath, Number, Object, Value};

/// A value that could not be encoded or decoded. Its text never quotes the
/// value itself, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

impl CodecError {
    pub(crate) fn new(message: String) -> CodecError {
        CodecError(message)
    }
}
