//! The shared surface layer: the rules every Terraform surface of the provider (the resource,
//! the action, the list resource) needs, each written once. Attribute names, plan-time
//! validation, the provider settings table, Azure and engine errors as diagnostics, the warnings
//! more than one surface gives, and reaching the engine through the shared `Runtime`.
//!
//! It sits below `resources`, `actions`, `list_resources` and `provider`, and above `runtime`,
//! `vmaccess`, `azure` and `tfprotocol`: it imports only those lower layers, never a surface or
//! the provider (`ARCHITECTURE.md`, checked by `tests/layers.rs`).

pub(crate) mod access;
pub(crate) mod attributes;
pub mod diagnostics;
mod engine;
pub(crate) mod progress;
pub(crate) mod scale_set;
pub mod settings;
pub(crate) mod validation;

pub(crate) use engine::{engine, fleet_reader};
