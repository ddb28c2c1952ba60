//! timeouts durations: parse, bound, print, deadline.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_vm::fuzzing::duration(data));
