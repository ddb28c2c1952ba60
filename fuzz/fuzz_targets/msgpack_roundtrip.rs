//! msgpack DynamicValue decode, re-encode, to a fixed point.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_vm::fuzzing::msgpack_roundtrip(data));
