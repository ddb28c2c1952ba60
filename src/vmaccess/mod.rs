//! The VMAccess engine: what the Terraform surfaces (resource, list resource) run against Azure.

pub mod discovery;
