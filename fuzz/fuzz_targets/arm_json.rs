//! ARM JSON: VM model, extension, CloudError, cloud metadata, operation status.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_vm::fuzzing::arm_json(data));
