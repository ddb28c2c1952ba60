//! Library of the provider: see the modules for the layers.

pub mod azure;
