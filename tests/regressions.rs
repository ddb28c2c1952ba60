//! Regressions of issue 14, with the exact inputs the fuzzers found, through the crate's public
//! API (the fuzz targets in `fuzz/` replay the same inputs in CI).

use std::time::Duration;

use terraform_provider_vm::azure::{ExtensionId, VirtualMachineId};
use terraform_provider_vm::tfprotocol::timeouts::{self, DurationError, MAX_TIMEOUT, Operation};
use terraform_provider_vm::tfprotocol::{AttributePath, Object, Type, Value, json, msgpack};

const VM: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v";

#[test]
fn a_duration_sum_that_overflows_is_an_error_on_the_attribute() {
    let text = "10000000000000000000s10000000000000000000s";
    assert_eq!(timeouts::parse_duration(text), Err(DurationError::TooLong));
    let mut t = Object::new();
    t.set("create", Value::string(text));
    let mut resource = Object::new();
    resource.set("timeouts", Value::Object(t));
    let diag = timeouts::get(&resource, Operation::Create, Duration::from_secs(1800))
        .expect_err("too long");
    assert_eq!(
        diag.path,
        Some(AttributePath::attr("timeouts").then_attr("create"))
    );
    assert!(diag.detail.contains("876000h"), "{}", diag.detail);
    assert_eq!(timeouts::parse_duration("876000h"), Ok(MAX_TIMEOUT));
    assert_eq!(
        timeouts::parse_duration("876000h1s"),
        Err(DurationError::TooLong)
    );
}

#[test]
fn ids_with_whitespace_are_refused_and_printed_ids_round_trip() {
    for bad in [
        format!("{VM} /"),
        format!("{VM}/extensions/e /"),
        format!(" {VM}"),
    ] {
        assert!(VirtualMachineId::parse(&bad).is_err(), "{bad:?}");
        assert!(ExtensionId::parse(&bad).is_err(), "{bad:?}");
    }
    let id = VirtualMachineId::parse(&format!("{VM}/")).expect("a trailing slash is fine");
    assert_eq!(id.to_string(), VM);
    assert_eq!(VirtualMachineId::parse(&id.to_string()), Ok(id));
}

#[test]
fn nan_and_infinity_strings_are_not_numbers() {
    for s in ["NaN", "inf", "infinity"] {
        let mut packed = Vec::new();
        rmp::encode::write_str(&mut packed, s).expect("encode");
        assert!(msgpack::decode(&packed, &Type::Number).is_err(), "{s}");
        assert!(
            json::decode(format!("{s:?}").as_bytes(), &Type::Number).is_err(),
            "{s}"
        );
    }
}

#[test]
fn nested_forged_lengths_are_refused_before_any_work() {
    // The shape: 4 MiB of array32 headers each announcing the bytes that remain.
    let size = 4 << 20;
    let mut input = Vec::with_capacity(size);
    while input.len() + 5 <= 70 * 5 {
        let left = u32::try_from(size - input.len() - 5).unwrap_or(u32::MAX);
        input.push(0xdd);
        input.extend_from_slice(&left.to_be_bytes());
    }
    input.resize(size, 0xc0);
    let ty = (0..80).fold(Type::String, |t, _| Type::List(Box::new(t)));
    let err = msgpack::decode(&input, &ty).expect_err("forged");
    assert!(err.to_string().contains("exceeds the input"), "{err}");
}
