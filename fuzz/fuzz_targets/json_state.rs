//! Raw state JSON (UpgradeResourceState) to msgpack and back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_vm::fuzzing::json_state(data));
