//! ARM VM and extension IDs: parse, print, parse to the same ID.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_vm::fuzzing::ids(data));
