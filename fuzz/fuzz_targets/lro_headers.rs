//! Retry-After and the long-running-operation headers of an initial response.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_vm::fuzzing::lro_headers(data));
