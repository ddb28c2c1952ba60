//! The gRPC handlers end to end (ValidateResourceConfig, PlanResourceChange with hostile prior private state, UpgradeResourceState, ValidateProviderConfig).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_vm::fuzzing::grpc(data));
