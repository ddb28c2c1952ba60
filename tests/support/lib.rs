//! Fixtures shared by the integration tests and the benchmarks: launching the
//! provider binary as Terraform does (`plugin`, `protocol`) and driving the
//! real `terraform` CLI against it (`terraform`), the in-process Azure
//! emulator (`azure_emulator`, `fleet`), and both together as a pipeline
//! would run them (`acceptance`), with the "no secret anywhere" checks and
//! traced runs (`secrets`); a client certificate issued by a test CA, in a
//! PFX (`certificates`); a static HTTPS server for the registry protocols
//! (`registry`); scripts and tools that must succeed (`command`); values in
//! state JSON form (`state_json`); made-up OpenSSH public keys (`ssh_keys`).
//!
//! A library rather than a `mod support;` in every test crate: each test
//! uses a part of it, and only a library's public items are not dead code
//! where they go unused.

pub mod acceptance;
pub mod azure_emulator;
pub mod certificates;
pub mod command;
pub mod fleet;
pub mod plugin;
pub mod protocol;
pub mod registry;
pub mod secrets;
pub mod ssh_keys;
pub mod state_json;
pub mod terraform;
