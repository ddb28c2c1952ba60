//! Test support shared by the integration tests: launching the provider
//! binary as Terraform does (`plugin`) and driving the real `terraform`
//! CLI against it (`terraform`). Each test crate uses a part of it.
#![allow(dead_code)]

pub mod plugin;
pub mod terraform;
