//! The fuzz targets' seed corpora (`fuzz/seeds/<target>/`), made with the provider's own
//! encoders so they start from inputs Terraform and Azure really send.
//!
//! `cargo test --features fuzzing --test fuzz_seeds` checks that the checked-in seeds are what
//! the encoders produce today; with `FUZZ_SEEDS_WRITE=1` it rewrites them.
#![cfg(feature = "fuzzing")]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use terraform_provider_vm::azure::VirtualMachineId;
use terraform_provider_vm::fuzzing::{self, ArmDoc, Rpc, frame};
use terraform_provider_vm::tfprotocol::timeouts::format_duration;
use terraform_provider_vm::tfprotocol::{Number, Object, Type, Value, json, msgpack};
use vm_test_support::state_json::to_state_json;

const VM: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web01";

/// A value of `ty` with every attribute set, strings chosen by attribute name.
fn full(ty: &Type, name: &str, unknown_computed: bool) -> Value {
    match ty {
        Type::String => Value::string(match name {
            "virtual_machine_id" => VM.to_string(),
            "id" => format!("{VM}/extensions/VMAccessAgent"),
            "username" => "opsadmin".into(),
            "password" | "password_wo" | "client_secret" => "not-a-real-password-1!".into(),
            "create" | "update" | "delete" => "30m".into(),
            "read" => "5m".into(),
            "type_handler_version" => "2.4".into(),
            "extension_name" => "VMAccessAgent".into(),
            "provisioning_state" => "Succeeded".into(),
            "environment" => "public".into(),
            _ => format!("{name}-value"),
        }),
        Type::Bool => Value::Bool(true),
        Type::Number => Value::Number(Number::Int(3)),
        Type::Map(elem) => Value::Map(BTreeMap::from([
            ("rotation".to_string(), full(elem, "rotation", false)),
            ("ticket".to_string(), full(elem, "ticket", false)),
        ])),
        Type::List(elem) => Value::List(vec![full(elem, name, false)]),
        Type::Set(elem) => Value::Set(vec![full(elem, name, false)]),
        Type::Tuple(types) => Value::Tuple(types.iter().map(|t| full(t, name, false)).collect()),
        Type::Dynamic => Value::Dynamic(Type::String, Box::new(Value::string("dynamic"))),
        Type::Object(attrs) => {
            let mut obj = Object::new();
            for (n, t) in attrs {
                let v = if unknown_computed
                    && ["force_update_tag", "last_run_at"].contains(&n.as_str())
                {
                    Value::Unknown
                } else {
                    full(t, n, false)
                };
                obj.set(n, v);
            }
            Value::Object(obj)
        }
    }
}

/// The same object with only `keep` set, the rest null.
fn sparse(ty: &Type, keep: &[&str]) -> Value {
    let Value::Object(full_obj) = full(ty, "", false) else {
        return Value::Null;
    };
    let mut obj = Object::new();
    for (n, v) in full_obj.attrs {
        obj.set(
            &n,
            if keep.contains(&n.as_str()) {
                v
            } else {
                Value::Null
            },
        );
    }
    Value::Object(obj)
}

fn pack(v: &Value, ty: &Type) -> Vec<u8> {
    msgpack::encode(v, ty).unwrap_or_else(|e| panic!("seed encodes: {e}"))
}

/// The values of the `value_type` selectors 0..6.
fn sample_values() -> Vec<(u8, Value)> {
    let resource = fuzzing::resource_type();
    let provider = fuzzing::provider_type();
    vec![
        (0, full(&resource, "", true)),
        (
            0,
            sparse(
                &resource,
                &["virtual_machine_id", "username", "password_wo"],
            ),
        ),
        (1, full(&provider, "", false)),
        (1, sparse(&provider, &["subscription_id", "use_cli"])),
        (
            2,
            Value::Dynamic(
                Type::map(Type::String),
                Box::new(Value::Map(BTreeMap::from([(
                    "a".to_string(),
                    Value::string("b"),
                )]))),
            ),
        ),
        (
            3,
            Value::List(vec![Value::Map(BTreeMap::from([
                ("int".to_string(), Value::Number(Number::Int(-7))),
                ("float".to_string(), Value::Number(Number::Float(0.5))),
                (
                    "decimal".to_string(),
                    Value::Number(Number::Decimal("123456789012345678901234567890.5".into())),
                ),
                ("big".to_string(), Value::Number(Number::Float(1e300))),
            ]))]),
        ),
        (
            4,
            Value::Tuple(vec![
                Value::string("x"),
                Value::Set(vec![Value::Bool(true), Value::Bool(false)]),
                Value::Unknown,
            ]),
        ),
        (
            5,
            Value::Map(BTreeMap::from([
                (
                    "n".to_string(),
                    Value::Dynamic(Type::Number, Box::new(Value::Number(Number::Int(1)))),
                ),
                ("u".to_string(), Value::Unknown),
            ])),
        ),
    ]
}

fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add =
        |target: &'static str, name: String, bytes: Vec<u8>| out.push((target, name, bytes));

    for (i, (sel, v)) in sample_values().iter().enumerate() {
        let ty = fuzzing::value_type(*sel);
        add(
            "msgpack_roundtrip",
            format!("value-{i}"),
            [vec![*sel], pack(v, &ty)].concat(),
        );
        let state = serde_json::to_vec(&to_state_json(v)).unwrap_or_default();
        add(
            "json_state",
            format!("state-{i}"),
            [vec![*sel], state].concat(),
        );
    }

    let ty = fuzzing::resource_type();
    let config = full(&ty, "", false);
    let planned = full(&ty, "", true);
    let minimal = sparse(&ty, &["virtual_machine_id"]);
    let private = br#"{"last_tag":"3f6e2a1c-0000-4000-8000-000000000001"}"#.as_slice();
    let drifted = br#"{"last_tag":"3f6e2a1c-0000-4000-8000-000000000001","username_drifted":true}"#;
    let g = |rpc: Rpc, parts: &[&[u8]]| frame(rpc.selector(), parts);
    let ext_id = VirtualMachineId::parse(VM)
        .unwrap_or_else(|e| panic!("{e}"))
        .extension("VMAccessAgent");
    let identity_obj = fuzzing::identity_of(&ext_id);
    let identity = pack(
        &Value::Object(identity_obj.clone()),
        &fuzzing::identity_type(),
    );
    let state = serde_json::to_vec(&to_state_json(&config)).unwrap_or_default();
    let provider_ty = fuzzing::provider_type();
    let provider = full(&provider_ty, "", false);
    let (config_mp, planned_mp) = (pack(&config, &ty), pack(&planned, &ty));
    // One seed per RPC shape the handler target decodes.
    let handlers: Vec<(&str, Vec<u8>)> = vec![
        (
            "validate-full",
            g(Rpc::ValidateResourceConfig, &[&config_mp]),
        ),
        (
            "validate-minimal",
            g(Rpc::ValidateResourceConfig, &[&pack(&minimal, &ty)]),
        ),
        (
            "plan-update",
            g(
                Rpc::PlanResourceChange,
                &[&config_mp, &planned_mp, &config_mp, private, &identity],
            ),
        ),
        (
            "plan-drifted",
            g(
                Rpc::PlanResourceChange,
                &[&config_mp, &config_mp, &config_mp, drifted],
            ),
        ),
        (
            "plan-create",
            g(
                Rpc::PlanResourceChange,
                &[&[0xc0], &planned_mp, &config_mp, b""],
            ),
        ),
        (
            "upgrade",
            // High bits 1: schema version 0.
            frame(Rpc::UpgradeResourceState.selector() | 0x10, &[&state]),
        ),
        (
            "validate-provider",
            g(
                Rpc::ValidateProviderConfig,
                &[&pack(&provider, &provider_ty)],
            ),
        ),
        // Protocol 6.10.
        (
            "upgrade-identity",
            frame(
                Rpc::UpgradeResourceIdentity.selector() | 0x10,
                &[
                    &serde_json::to_vec(&to_state_json(&Value::Object(identity_obj.clone())))
                        .unwrap_or_default(),
                ],
            ),
        ),
        (
            "validate-list",
            g(
                Rpc::ValidateListResourceConfig,
                &[&config_mp, &[0xc3], &[0x0a]],
            ),
        ),
        (
            "validate-action",
            g(Rpc::ValidateActionConfig, &[&config_mp]),
        ),
    ];
    for (name, bytes) in handlers {
        add("grpc_handlers", name.into(), bytes);
    }

    let vm = VirtualMachineId::parse(VM).unwrap_or_else(|e| panic!("{e}"));
    add("arm_ids", "vm".into(), vm.to_string().into_bytes());
    add(
        "arm_ids",
        "extension".into(),
        vm.extension("VMAccessAgent").to_string().into_bytes(),
    );
    add(
        "arm_ids",
        "other-casing".into(),
        VM.to_uppercase().into_bytes(),
    );

    for (name, d) in [
        ("default-create", 1800),
        ("default-read", 300),
        ("mixed", 5430),
    ] {
        add(
            "durations",
            name.into(),
            format_duration(std::time::Duration::from_secs(d)).into_bytes(),
        );
    }
    add("durations", "fraction".into(), b"1.5h250ms".to_vec());

    let ext = json!({
        "id": format!("{VM}/extensions/VMAccessAgent"), "name": "VMAccessAgent", "location": "westeurope",
        "properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4",
            "autoUpgradeMinorVersion": true, "forceUpdateTag": "tag-1", "provisioningState": "Succeeded",
            "settings": {"UserName": "opsadmin"},
            "instanceView": {"name": "VMAccessAgent", "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": "Reset password"}],
                "substatuses": [{"code": "ComponentStatus/vmaccess/succeeded", "level": "Info", "message": "ok"}]}}
    });
    let vm_doc = json!({
        "id": VM, "name": "web01", "location": "westeurope",
        "properties": {"storageProfile": {"osDisk": {"osType": "Windows"}},
            "osProfile": {"computerName": "web01", "adminUsername": "azureuser", "windowsConfiguration": {}},
            "instanceView": {"statuses": [{"code": "PowerState/running"}], "vmAgent": {"vmAgentVersion": "2.7", "statuses": [{"code": "ProvisioningState/succeeded", "displayStatus": "Ready"}]},
                "extensions": [{"name": "VMAccessAgent", "type": "Microsoft.Compute.VMAccessAgent", "statuses": []}]}},
        "resources": [{"id": format!("{VM}/extensions/VMAccessAgent"), "properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent"}}]
    });
    let docs = [
        (ArmDoc::VirtualMachine, "vm", vm_doc),
        (ArmDoc::Extension, "extension", ext),
        (
            ArmDoc::ErrorResponse,
            "cloud-error",
            json!({"error": {"code": "OperationNotAllowed", "message": "VM not running", "innererror": {"internalErrorCode": "CannotModifyExtensionsWhenVMNotRunning"}, "details": [{"code": "x", "message": "y"}]}}),
        ),
        (
            ArmDoc::ErrorResponse,
            "throttled",
            json!({"code": "TooManyRequests", "message": "Rate limit exceeded"}),
        ),
        (
            ArmDoc::CloudMetadata,
            "metadata",
            json!({"resourceManager": "https://management.azure.com/", "authentication": {"loginEndpoint": "https://login.microsoftonline.com/", "audiences": ["https://management.core.windows.net/"]}}),
        ),
        (
            ArmDoc::CloudMetadata,
            "metadata-array",
            json!([{"resourceManager": "https://management.local/", "authentication": {"loginEndpoint": "https://login.local/", "audiences": ["https://management.local/"]}}]),
        ),
        (
            ArmDoc::OperationStatus,
            "operation-failed",
            json!({"status": "Failed", "error": {"code": "VMExtensionProvisioningError", "message": "boom"}}),
        ),
        (
            ArmDoc::OperationStatus,
            "operation-running",
            json!({"status": "InProgress", "startTime": "2026-11-30T00:00:00Z"}),
        ),
        (
            ArmDoc::LocationResult,
            "location-final",
            json!({"properties": {"provisioningState": "Failed"}, "error": {"code": "c", "message": "m"}}),
        ),
    ];
    for (doc, name, body) in docs {
        let body = serde_json::to_vec(&body).unwrap_or_default();
        add("arm_json", name.into(), frame(doc.selector(), &[&body]));
    }

    let h = |status: u8, pairs: &[(&str, &str)]| {
        let parts: Vec<&[u8]> = pairs
            .iter()
            .flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()])
            .collect();
        frame(status, &parts)
    };
    add(
        "lro_headers",
        "async-operation".into(),
        h(
            1,
            &[
                (
                    "azure-asyncoperation",
                    "https://management.azure.com/op/1?api-version=2024-07-01",
                ),
                ("retry-after", "3"),
            ],
        ),
    );
    add(
        "lro_headers",
        "location".into(),
        h(
            2,
            &[
                ("location", "https://management.azure.com/loc/1"),
                ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ],
        ),
    );
    add(
        "lro_headers",
        "retry-after-ms".into(),
        h(
            0,
            &[
                ("x-ms-retry-after-ms", "250"),
                ("retry-after-ms", "100"),
                ("retry-after", "1.5"),
            ],
        ),
    );
    out
}

/// The inputs of every bug the fuzzers found (issue 14), run by CI's smoke run on each target.
fn regressions() -> Vec<(&'static str, String, Vec<u8>)> {
    let overflow = "10000000000000000000s10000000000000000000s";
    let ty = fuzzing::resource_type();
    let Value::Object(mut config) = sparse(&ty, &["virtual_machine_id"]) else {
        panic!("the resource type is an object");
    };
    let mut timeouts = Object::new();
    for op in ["create", "read", "update", "delete"] {
        timeouts.set(op, Value::Null);
    }
    timeouts.set("create", Value::string(overflow));
    config.set("timeouts", Value::Object(timeouts));
    let config = pack(&Value::Object(config), &ty);

    // array32 headers, each announcing as many elements as bytes remain, nested past the depth
    // limit (the issue's input was 4 MiB; 64 KiB shows the same shape).
    let size = 64 << 10;
    let mut forged = vec![3u8];
    while forged.len() + 5 <= 70 * 5 {
        let left = u32::try_from(size - forged.len() - 5).unwrap_or(0);
        forged.push(0xdd);
        forged.extend_from_slice(&left.to_be_bytes());
    }
    forged.resize(size, 0xc0);

    let nan_str = {
        let v = Value::List(vec![Value::Map(BTreeMap::from([(
            "n".to_string(),
            Value::Number(Number::Decimal("NaN".into())),
        )]))]);
        // Encoded by hand-built value: the encoder writes whatever Decimal holds.
        [vec![3u8], pack(&v, &fuzzing::value_type(3))].concat()
    };
    let space = format!("{VM} /");
    vec![
        (
            "grpc_handlers",
            "timeouts-sum-overflow".into(),
            frame(Rpc::ValidateResourceConfig.selector(), &[&config]),
        ),
        (
            "durations",
            "sum-overflow".into(),
            overflow.as_bytes().to_vec(),
        ),
        (
            "arm_ids",
            "vm-trailing-space-slash".into(),
            space.clone().into_bytes(),
        ),
        (
            "arm_ids",
            "extension-trailing-space-slash".into(),
            format!("{VM}/extensions/e /").into_bytes(),
        ),
        ("msgpack_roundtrip", "nested-forged-lengths".into(), forged),
        ("msgpack_roundtrip", "nan-string".into(), nan_str),
        (
            "json_state",
            "nan-string".into(),
            br#"[{"n":"NaN"},{"i":"infinity"}]"#
                .iter()
                .fold(vec![3u8], |mut v, b| {
                    v.push(*b);
                    v
                }),
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn checked_in_seeds_come_from_the_encoders() {
    let write = std::env::var_os("FUZZ_SEEDS_WRITE").is_some();
    let all = seeds().into_iter().map(|s| ("seeds", s));
    let all = all.chain(regressions().into_iter().map(|s| ("regressions", s)));
    for (kind, (target, name, bytes)) in all {
        let path = dir().join(kind).join(target).join(&name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap_or(&dir())).expect("seed dir");
            std::fs::write(&path, &bytes).expect("write seed");
        } else {
            let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; regenerate with FUZZ_SEEDS_WRITE=1",
                    path.display()
                )
            });
            assert_eq!(
                on_disk,
                bytes,
                "{} is stale; regenerate with FUZZ_SEEDS_WRITE=1",
                path.display()
            );
        }
    }
}

#[test]
fn every_seed_and_regression_runs_clean_through_its_target() {
    let regressions = regressions().into_iter().map(|(t, n, b)| (t, n, b, false));
    for (target, name, bytes, must_decode) in seeds()
        .into_iter()
        .map(|(t, n, b)| (t, n, b, true))
        .chain(regressions)
    {
        if let Some((sel, rest)) = bytes.split_first().filter(|_| must_decode) {
            let ty = fuzzing::value_type(*sel);
            match target {
                "msgpack_roundtrip" => assert!(msgpack::decode(rest, &ty).is_ok(), "{name}"),
                "json_state" => assert!(json::decode(rest, &ty).is_ok(), "{name}"),
                _ => {}
            }
        }
        match target {
            "msgpack_roundtrip" => fuzzing::msgpack_roundtrip(&bytes),
            "json_state" => fuzzing::json_state(&bytes),
            "grpc_handlers" => fuzzing::grpc(&bytes),
            "arm_ids" => fuzzing::ids(&bytes),
            "durations" => fuzzing::duration(&bytes),
            "arm_json" => fuzzing::arm_json(&bytes),
            "lro_headers" => fuzzing::lro_headers(&bytes),
            other => panic!("no target {other}"),
        }
    }
}
