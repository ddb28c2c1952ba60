//! Test support shared by the integration tests: launching the provider
//! binary as Terraform does (`plugin`) and driving the real `terraform`
//! CLI against it (`terraform`), the in-process Azure emulator
//! (`azure_emulator`), and both together as a pipeline would run them
//! (`acceptance`); a static HTTPS server for the registry protocols
//! (`registry`). Each test crate uses a part of it.
#![allow(dead_code)]

pub mod acceptance;
pub mod azure_emulator;
pub mod fleet;
pub mod plugin;
pub mod protocol;
pub mod registry;
pub mod terraform;
